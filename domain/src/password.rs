//! Argon2id password hashing and verification.
//!
//! `verify` performs exactly one Argon2id verification whatever the account: when there is no
//! stored hash (unknown user, account never activated) it verifies against a dummy hash made with
//! the same parameters at start-up, so that the time taken says nothing about whether the account
//! exists. The counter lets the tests compare the code paths instead of wall time.
//!
//! Each computation needs `m_cost` KiB of working memory (19 MiB by default). Allocated per call,
//! as `PasswordHasher` does, it is not given back: the allocator keeps it in the arena of
//! whichever blocking thread ran the call, and a burst of sign-ins grew the server by hundreds of
//! megabytes. The memory is allocated once per slot instead and reused (`Blocks`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

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
    blocks: Blocks,
}

/// Argon2's working memory, kept between computations: at most one set per core is kept (the
/// slots let no more run at once from the async paths); a set taken beyond that is freed after.
struct Blocks {
    free: std::sync::Mutex<Vec<Vec<Block>>>,
    keep: usize,
}

impl Blocks {
    /// Working memory for at least `count` blocks.
    fn take(&self, count: usize) -> Vec<Block> {
        let reused = self
            .free
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .filter(|b| b.len() >= count);
        reused.unwrap_or_else(|| vec![Block::default(); count])
    }

    fn give_back(&self, blocks: Vec<Block>) {
        if let Ok(mut free) = self.free.lock()
            && free.len() < self.keep
        {
            free.push(blocks);
        }
    }
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
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let mut this = Self {
            argon,
            dummy_hash: String::new(),
            verifications: AtomicU64::new(0),
            slots: tokio::sync::Semaphore::new(cores),
            cores,
            waiting: AtomicUsize::new(0),
            blocks: Blocks {
                free: std::sync::Mutex::new(Vec::with_capacity(cores)),
                keep: cores,
            },
        };
        this.dummy_hash = this.hash("passerelle dummy password")?;
        Ok(this)
    }

    /// Argon2 of `password` and `salt` with `params` into `out`, in reused working memory.
    fn compute(
        &self,
        (algorithm, version, params): (Algorithm, Version, Params),
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> std::result::Result<(), argon2::Error> {
        let count = params.block_count();
        let argon = Argon2::new(algorithm, version, params);
        let mut blocks = self.blocks.take(count);
        let done = argon.hash_password_into_with_memory(password, salt, out, &mut blocks);
        self.blocks.give_back(blocks);
        done
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
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt
            .as_salt()
            .decode_b64(&mut salt_bytes)
            .map_err(hash_error)?;
        let params = self.argon.params().clone();
        let length = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let how = (Algorithm::Argon2id, Version::V0x13, params.clone());
        let output = Output::init_with(length, |out| {
            Ok(self.compute(how, password.as_bytes(), salt_bytes, out)?)
        })
        .map_err(hash_error)?;
        Ok(PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(hash_error)?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        }
        .to_string())
    }

    /// Whether `password` gives the stored hash, computed with the stored hash's own algorithm
    /// and parameters (an older cost still verifies; the caller then rehashes), compared in
    /// constant time.
    fn matches(&self, password: &str, stored: &PasswordHash<'_>) -> bool {
        let how = || -> std::result::Result<_, argon2::password_hash::Error> {
            let algorithm = Algorithm::try_from(stored.algorithm)?;
            let version = stored
                .version
                .map(Version::try_from)
                .transpose()?
                .unwrap_or_default();
            Ok((algorithm, version, Params::try_from(stored)?))
        };
        let (Ok(how), Some(salt), Some(expected)) = (how(), stored.salt, stored.hash) else {
            return false;
        };
        let mut salt_bytes = [0u8; 64];
        let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
            return false;
        };
        Output::init_with(expected.len(), |out| {
            Ok(self.compute(how, password.as_bytes(), salt_bytes, out)?)
        })
        .is_ok_and(|computed| computed == expected)
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
        self.matches(password, &parsed) && real
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

    /// The hash of a random secret nobody knows: what voids an account's password (an active
    /// account keeps one), off the async workers like `hash_async`.
    pub async fn hash_of_nothing(self: &Arc<Self>) -> Result<String> {
        let mut secret = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
        self.hash_async(&hex::encode(secret)).await
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

    /// The hashes are the standard PHC strings: the reference implementation (the crate's own
    /// `PasswordHasher`, which allocates its memory per call) verifies ours and ours verify its,
    /// also with another cost than the instance's.
    #[test]
    fn hashes_are_interchangeable_with_the_reference_implementation() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let p = cheap();
        let ours = p.hash("mot de passe").unwrap();
        let reference = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        );
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(reference.verify_password(b"mot de passe", &parsed).is_ok());
        assert!(
            reference
                .verify_password(b"mot de passe!", &parsed)
                .is_err()
        );
        for (m, t) in [(1024, 1), (512, 2), (2048, 1)] {
            let other = Argon2::new(
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(m, t, 1, None).unwrap(),
            );
            let salt = SaltString::generate(&mut OsRng);
            let theirs = other.hash_password(b"secret", &salt).unwrap().to_string();
            assert!(p.verify("secret", Some(&theirs)), "m={m} t={t}");
            assert!(!p.verify("Secret", Some(&theirs)), "m={m} t={t}");
        }
    }

    #[test]
    fn working_memory_is_kept_once_per_core_and_reused() {
        let p = cheap();
        let h = p.hash("pw").unwrap();
        for _ in 0..5 {
            assert!(p.verify("pw", Some(&h)));
        }
        let free = p.blocks.free.lock().unwrap();
        assert!(!free.is_empty() && free.len() <= p.cores);
        assert!(free.iter().all(|b| b.len() == 1024));
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
