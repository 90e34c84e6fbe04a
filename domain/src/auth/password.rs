//! "Identifiant et mot de passe": sign-in with a username and an Argon2id-hashed password.
//!
//! The flow, top to bottom:
//! 1. claim an attempt for the client address, then for the identifier (known or not), each with
//!    one atomic SQL upsert committed at once (see `throttle`); a locked one stops here;
//! 2. one Argon2id verification, against the account's hash or the dummy hash;
//! 3. failure: the identifier's lock is set when this was the last allowed failure; audited;
//! 4. success: counters released, password rehashed if the cost changed, session started with the
//!    establishment routing, audited, in one transaction.
//!
//! Every refusal before step 4 returns `InvalidCredentials` or `Locked`, the same for an unknown
//! identifier as for a known one.

use serde_json::json;
use time::OffsetDateTime;

use super::{Auth, SignedIn, Verified, complete_sign_in};
use crate::accounts::{self, UserStatus};
use crate::audit::{self, Client, Event, Outcome};
use crate::error::{Error, Result};
use crate::ids::Username;
use crate::sessions::Token;
use crate::throttle::{self, Claim, Scope};

/// The throttle key for what was typed: normalised like a username, bounded, so that "Martin" and
/// "martin " share one counter and a megabyte of input does not become a key.
fn account_key(typed: &str) -> String {
    typed.trim().to_lowercase().chars().take(64).collect()
}

async fn audit_failure(
    auth: &Auth,
    typed: &str,
    reason: &str,
    client: &Client,
    now: OffsetDateTime,
    locked_until: Option<OffsetDateTime>,
) -> Result<()> {
    let mut tx = auth.pool.begin().await?;
    let label: String = typed.trim().chars().take(64).collect();
    let user = match Username::parse(typed) {
        Ok(u) => accounts::credentials_by_username(&mut tx, &u).await?,
        Err(_) => None,
    };
    let mut event = Event::new("auth.password.sign_in", Outcome::Failure, &label)
        .details(json!({ "reason": reason }));
    if let Some(u) = &user {
        event = event
            .target("user", u.id.to_string(), &u.username)
            .region(&u.region_code);
    }
    audit::record(&mut tx, event, client, now).await?;
    if let Some(until) = locked_until {
        let mut lock = Event::new("auth.lockout", Outcome::Failure, &label).details(json!({
            "scope": "account",
            "until": until.unix_timestamp(),
        }));
        if let Some(u) = &user {
            lock = lock
                .target("user", u.id.to_string(), &u.username)
                .region(&u.region_code);
        }
        audit::record(&mut tx, lock, client, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn sign_in(
    auth: &Auth,
    typed_username: &str,
    password: &str,
    previous: Option<&Token>,
    client: &Client,
    now: OffsetDateTime,
) -> Result<SignedIn> {
    let key = account_key(typed_username);
    let address = client.ip.clone().unwrap_or_else(|| "unknown".to_string());

    // 1. Claim attempt slots, address first so that one address cannot lock every account it tries
    // beyond its own limit.
    let mut conn = auth.pool.acquire().await?;
    let address_attempt = match throttle::claim(
        &mut conn,
        Scope::Address,
        &address,
        auth.address_throttle,
        now,
    )
    .await?
    {
        Claim::Allowed { attempt } => attempt,
        Claim::Locked { until } => {
            // Never hold a pooled connection while waiting for another (the audit transaction).
            drop(conn);
            audit_failure(auth, typed_username, "address_throttled", client, now, None).await?;
            return Err(Error::AddressThrottled { until });
        }
    };
    let attempt =
        match throttle::claim(&mut conn, Scope::Account, &key, auth.account_throttle, now).await? {
            Claim::Allowed { attempt } => attempt,
            Claim::Locked { until } => {
                throttle::succeeded(&mut conn, Scope::Address, &address).await?;
                drop(conn);
                audit_failure(auth, typed_username, "locked", client, now, None).await?;
                return Err(Error::Locked { until });
            }
        };

    // 2. Exactly one Argon2id verification whatever the account.
    let user = match Username::parse(typed_username) {
        Ok(u) => accounts::credentials_by_username(&mut conn, &u).await?,
        Err(_) => None,
    };
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let verified = {
        // Argon2 is CPU-bound for tens of milliseconds: keep it off the async workers.
        let (passwords, candidate, hash) =
            (auth.passwords.clone(), password.to_string(), stored.clone());
        tokio::task::spawn_blocking(move || passwords.verify(&candidate, hash.as_deref()))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
    };

    // 3. Failure.
    let Some(user) = user.filter(|_| verified) else {
        let locked = throttle::failed(
            &mut conn,
            Scope::Account,
            &key,
            attempt,
            auth.account_throttle,
            now,
        )
        .await?;
        throttle::failed(
            &mut conn,
            Scope::Address,
            &address,
            address_attempt,
            auth.address_throttle,
            now,
        )
        .await?;
        drop(conn);
        audit_failure(
            auth,
            typed_username,
            "invalid_credentials",
            client,
            now,
            locked,
        )
        .await?;
        return Err(match locked {
            Some(until) => Error::Locked { until },
            None => Error::InvalidCredentials,
        });
    };
    drop(conn);

    // The password is right: only now may the answer depend on the account's state.
    if user.status != UserStatus::Active {
        let mut conn = auth.pool.acquire().await?;
        throttle::succeeded(&mut conn, Scope::Account, &key).await?;
        throttle::succeeded(&mut conn, Scope::Address, &address).await?;
        drop(conn);
        let reason = match user.status {
            UserStatus::Disabled => "account_disabled",
            UserStatus::Locked => "account_locked_by_support",
            _ => "account_not_active",
        };
        audit_failure(auth, typed_username, reason, client, now, None).await?;
        return Err(Error::AccountUnavailable(user.status));
    }

    // 4. Success.
    let mut tx = auth.pool.begin().await?;
    throttle::succeeded(&mut tx, Scope::Account, &key).await?;
    throttle::succeeded(&mut tx, Scope::Address, &address).await?;
    if stored
        .as_deref()
        .is_some_and(|h| auth.passwords.needs_rehash(h))
    {
        // The configured cost changed since this hash was made: upgrade it while we know the password.
        let (passwords, candidate) = (auth.passwords.clone(), password.to_string());
        let fresh = tokio::task::spawn_blocking(move || passwords.hash(&candidate))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        accounts::set_password_hash(&mut tx, user.id, &fresh, now).await?;
    }
    let signed_in = complete_sign_in(
        &mut tx,
        auth,
        Verified {
            user_id: user.id,
            username: &user.username,
            region_code: &user.region_code,
            method: "password",
        },
        previous,
        client,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(signed_in)
}

#[cfg(test)]
mod tests {
    use super::account_key;

    #[test]
    fn throttle_key_is_normalised_and_bounded() {
        assert_eq!(account_key("  Dr.Martin "), "dr.martin");
        assert_eq!(account_key(&"x".repeat(10_000)).len(), 64);
    }
}
