//! Argon2id password hashing and verification.
//!
//! `verify` performs exactly one Argon2id verification whatever the account: when there is no
//! stored hash (unknown user, account never activated) it verifies against a dummy hash made with
//! the same parameters at start-up, so that the time taken says nothing about whether the account
//! exists. The counter lets the tests compare the code paths instead of wall time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{Error, Result};

/// Argon2id cost; the defaults are OWASP's minimum for Argon2id (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Cost {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

pub struct Passwords {
    argon: Argon2<'static>,
    dummy_hash: String,
    verifications: AtomicU64,
    /// At most one Argon2 computation per core at a time: a burst of sign-ins queues here instead
    /// of starving the machine (each computation also holds its 19 MiB).
    slots: tokio::sync::Semaphore,
    cores: usize,
    /// Computations waiting for a slot (the metrics' Argon2 queue).
    waiting: AtomicUsize,
}

/// How busy the Argon2 slots are, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    pub running: usize,
    pub waiting: usize,
}

/// Counts a computation as waiting until its slot is granted (or the request is dropped).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn start(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("params", self.argon.params())
            .finish_non_exhaustive()
    }
}

fn hash_error(e: impl std::fmt::Display) -> Error {
    Error::PasswordHash(e.to_string())
}

impl Passwords {
    pub fn new(cost: Cost) -> Result<Self> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(hash_error)?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::generate(&mut OsRng);
        let dummy_hash = argon
            .hash_password(b"passerelle dummy password", &salt)
            .map_err(hash_error)?
            .to_string();
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Ok(Self {
            argon,
            dummy_hash,
            verifications: AtomicU64::new(0),
            slots: tokio::sync::Semaphore::new(cores),
            cores,
            waiting: AtomicUsize::new(0),
        })
    }

    /// Computations running and waiting for a slot now.
    pub fn load(&self) -> Load {
        Load {
            running: self.cores.saturating_sub(self.slots.available_permits()),
            waiting: self.waiting.load(Ordering::Relaxed),
        }
    }

    async fn slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>> {
        let _waiting = Waiting::start(&self.waiting);
        self.slots.acquire().await.map_err(hash_error)
    }

    /// A PHC-format Argon2id hash with a fresh random salt.
    pub fn hash(&self, password: &str) -> Result<String> {
        let salt = SaltString::generate(&mut OsRng);
        Ok(self
            .argon
            .hash_password(password.as_bytes(), &salt)
            .map_err(hash_error)?
            .to_string())
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is none. A
    /// malformed stored hash counts as a mismatch (and is logged), never as a success.
    pub fn verify(&self, password: &str, stored: Option<&str>) -> bool {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        let (phc, real) = match stored {
            Some(h) => (h, true),
            None => (self.dummy_hash.as_str(), false),
        };
        let parsed = match PasswordHash::new(phc) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!("unreadable password hash in the database: {e}");
                return false;
            }
        };
        self.argon
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && real
    }

    /// `verify` off the async workers, within the machine's Argon2 slots.
    pub async fn verify_async(
        self: &Arc<Self>,
        password: &str,
        stored: Option<&str>,
    ) -> Result<bool> {
        let _slot = self.slot().await?;
        let (this, candidate, stored) = (
            self.clone(),
            password.to_string(),
            stored.map(str::to_string),
        );
        tokio::task::spawn_blocking(move || this.verify(&candidate, stored.as_deref()))
            .await
            .map_err(hash_error)
    }

    /// `hash` off the async workers, within the machine's Argon2 slots.
    pub async fn hash_async(self: &Arc<Self>, password: &str) -> Result<String> {
        let _slot = self.slot().await?;
        let (this, candidate) = (self.clone(), password.to_string());
        tokio::task::spawn_blocking(move || this.hash(&candidate))
            .await
            .map_err(hash_error)?
    }

    /// True when `stored` was made with other parameters than today's (rehash after sign-in).
    pub fn needs_rehash(&self, stored: &str) -> bool {
        match PasswordHash::new(stored).and_then(|h| Params::try_from(&h)) {
            Ok(p) => {
                p.m_cost() != self.argon.params().m_cost()
                    || p.t_cost() != self.argon.params().t_cost()
                    || p.p_cost() != self.argon.params().p_cost()
            }
            Err(_) => true,
        }
    }

    /// How many verifications this instance has run.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// The parameters of the dummy hash (equal to those of new hashes).
    pub fn dummy_params(&self) -> Option<Params> {
        PasswordHash::new(&self.dummy_hash)
            .and_then(|h| Params::try_from(&h))
            .ok()
    }
}

/// Parameters of a stored hash.
pub fn params_of(stored: &str) -> Option<Params> {
    PasswordHash::new(stored)
        .and_then(|h| Params::try_from(&h))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Passwords {
        Passwords::new(Cost {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    #[test]
    fn hash_then_verify() {
        let p = cheap();
        let h = p.hash("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(p.verify("correct horse battery staple", Some(&h)));
        assert!(!p.verify("Correct horse battery staple", Some(&h)));
    }

    #[test]
    fn no_stored_hash_never_matches_but_still_verifies_once() {
        let p = cheap();
        let before = p.verifications();
        assert!(!p.verify("passerelle dummy password", None));
        assert_eq!(p.verifications(), before + 1);
        assert!(!p.verify("x", Some("not a hash")));
    }

    #[tokio::test]
    async fn the_load_counts_computations_running_and_waiting_for_a_slot() {
        let p = Arc::new(cheap());
        assert_eq!(
            p.load(),
            Load {
                running: 0,
                waiting: 0
            }
        );
        let cores = u32::try_from(p.cores).unwrap();
        let all = p.slots.acquire_many(cores).await.unwrap();
        let queued = tokio::spawn({
            let p = p.clone();
            async move { p.verify_async("x", None).await }
        });
        while p.load().waiting == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            p.load(),
            Load {
                running: p.cores,
                waiting: 1
            }
        );
        drop(all);
        assert!(!queued.await.unwrap().unwrap());
        assert_eq!(
            p.load(),
            Load {
                running: 0,
                waiting: 0
            }
        );
    }

    #[test]
    fn default_cost_is_at_least_owasp_minimum() {
        let c = Cost::default();
        assert!(c.memory_kib >= 19_456 && c.iterations >= 2 && c.parallelism >= 1);
    }

    #[test]
    fn rehash_when_parameters_change() {
        let p = cheap();
        let h = p.hash("pw").unwrap();
        assert!(!p.needs_rehash(&h));
        let stronger = Passwords::new(Cost {
            memory_kib: 2048,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap();
        assert!(stronger.needs_rehash(&h));
    }
}
