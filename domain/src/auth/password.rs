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

use super::{PasswordOutcome, Portal, Verified, complete_sign_in, otp};
use crate::accounts::{self, UserStatus};
use crate::address;
use crate::audit::{self, Event, Outcome};
use crate::call::Call;
use crate::error::{Error, Result};
use crate::ids::Username;
use crate::refusals::{self, Refusal};
use crate::sessions::Token;
use crate::throttle::{self, Claim, Scope};
use model::sign_in::Method;

/// The throttle key for what was typed: normalised like a username, bounded, so that "Martin" and
/// "martin " share one counter and a megabyte of input does not become a key.
fn account_key(typed: &str) -> String {
    typed.trim().to_lowercase().chars().take(64).collect()
}

async fn audit_failure(
    portal: &Portal,
    action: audit::Action,
    typed: &str,
    reason: &'static str,
    call: Call<'_>,
    lockouts: &[(&'static str, OffsetDateTime)],
) -> Result<()> {
    let failure = async |tx: &mut sqlx::PgConnection| -> Result<(Event, Option<accounts::Credentials>, String)> {
        let user = match Username::parse(typed) {
            Ok(u) => accounts::credentials_by_username(tx, &u).await?,
            Err(_) => None,
        };
        // The account's name, or for no account a keyed hash: what was typed may be a password.
        let label = match &user {
            Some(u) => u.username.to_string(),
            None => portal.identifier_key.label(typed),
        };
        let event = about_user(Event::new(action, Outcome::Failure, &label), user.as_ref())
            .details(json!({ "reason": reason }));
        Ok((event, user, label))
    };
    // Refused before any password is checked (the address or the account is locked): cheap for
    // the sender, so repeated ones are summarised. A lock set by this attempt is written in full.
    if lockouts.is_empty() && matches!(reason, "address_throttled" | "locked") {
        refusals::record(
            &portal.pool,
            Refusal {
                action,
                reason,
                outcome: Outcome::Failure,
            },
            call,
            async |tx| Ok(failure(tx).await?.0),
        )
        .await?;
        return Ok(());
    }
    let mut tx = portal.pool.begin().await?;
    let (event, user, label) = failure(&mut tx).await?;
    audit::record(&mut tx, event, call).await?;
    for (scope, until) in lockouts {
        let lock = Event::new(audit::Action::AuthLockout, Outcome::Failure, &label)
            .details(json!({ "scope": scope, "until": until.unix_timestamp() }));
        audit::record(&mut tx, about_user(lock, user.as_ref()), call).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn about_user(event: Event, user: Option<&accounts::Credentials>) -> Event {
    match user {
        Some(u) => event
            .target("user", u.id.to_string(), &u.username)
            .region(&u.region_code),
        None => event,
    }
}

/// A password that was checked and found right, for an active account. The attempt counters are
/// released (and an outdated hash upgraded) by [`PasswordChecked::settle`], in the caller's
/// transaction, together with whatever the caller does next.
#[derive(Debug)]
pub(crate) struct PasswordChecked {
    pub user: accounts::Credentials,
    key: String,
    address: String,
    fresh_hash: Option<String>,
}

impl PasswordChecked {
    pub(crate) async fn settle(
        &self,
        tx: &mut sqlx::PgConnection,
        now: OffsetDateTime,
    ) -> Result<()> {
        throttle::password_right(tx, &self.key, &self.address).await?;
        if let Some(fresh) = &self.fresh_hash {
            accounts::set_password_hash(tx, self.user.id, fresh, now).await?;
        }
        Ok(())
    }
}

pub async fn sign_in(
    portal: &Portal,
    typed_username: &str,
    password: &str,
    previous: Option<&Token>,
    call: Call<'_>,
) -> Result<PasswordOutcome> {
    let checked = check(
        portal,
        audit::Action::AuthPasswordSignIn,
        typed_username,
        password,
        call,
    )
    .await?;
    // The password's check (its attempt slot, the hash) is done and kept; what follows is one
    // transaction, run once more if the database lost it (a restart, a failover, a lost race).
    crate::transaction!(&portal.pool, |tx| settle_and_sign_in(
        tx, portal, &checked, previous, call
    ))?
}

/// After a right password: releases the counters and either opens the session or starts the
/// e-mail code step. A refusal that must be kept (and audited) is the inner `Err`.
async fn settle_and_sign_in(
    tx: &mut sqlx::PgConnection,
    portal: &Portal,
    checked: &PasswordChecked,
    previous: Option<&Token>,
    call: Call<'_>,
) -> Result<Result<PasswordOutcome>> {
    let now = call.now;
    checked.settle(tx, now).await?;
    let user = &checked.user;
    if portal.otp_for_all || user.otp_required {
        // Too many wrong codes lately (their counter survives right passwords): no new step.
        if let Some(until) =
            throttle::locked_until(tx, Scope::EmailCode, user.username.as_str(), now).await?
        {
            audit::record(
                tx,
                Event::new(
                    audit::Action::AuthPasswordSignIn,
                    Outcome::Denied,
                    &user.username,
                )
                .actor(user.id)
                .target("user", user.id.to_string(), &user.username)
                .region(&user.region_code)
                .details(json!({ "reason": "email_code_locked" })),
                call,
            )
            .await?;
            return Ok(Err(Error::locked(until, now)));
        }
        // The password is right; the session waits for the e-mail code.
        let token = otp::start(tx, user, otp::Purpose::SignIn, call).await?;
        return Ok(Ok(PasswordOutcome::CodeRequired { token }));
    }
    let signed_in = complete_sign_in(
        tx,
        portal,
        Verified {
            user_id: user.id,
            username: &user.username,
            region_code: &user.region_code,
            method: Method::Password,
            psc: None,
        },
        previous,
        call,
    )
    .await?;
    Ok(Ok(PasswordOutcome::SignedIn(signed_in)))
}

/// Before adding a way in (a TIQR phone, a passkey): the signed-in holder's password, checked
/// with the sign-in's limits, unless the session's last strong authentication is younger than
/// `recent` (an unattended session must not be enough). Empty while it is needed is
/// `ReauthenticationRequired` (no attempt counted); a typed one is always checked. The check to
/// settle in the caller's transaction, if a password was typed.
pub(crate) async fn again_unless_recent(
    portal: &Portal,
    session: &crate::sessions::Session,
    typed: &str,
    recent: time::Duration,
    action: audit::Action,
    call: Call<'_>,
) -> Result<Option<PasswordChecked>> {
    if typed.is_empty() {
        if !crate::sessions::recently_authenticated(session, recent, call.now) {
            return Err(Error::ReauthenticationRequired);
        }
        return Ok(None);
    }
    let checked = check(portal, action, session.username.as_str(), typed, call).await?;
    if checked.user.id != session.user_id {
        return Err(Error::Forbidden);
    }
    Ok(Some(checked))
}

/// Checks a username and password with the brute-force limits, for every flow that asks for them
/// (sign-in, the one-time card linking, re-authentication before unlinking a card). Failures are
/// audited under `action`.
pub(crate) async fn check(
    portal: &Portal,
    action: audit::Action,
    typed_username: &str,
    password: &str,
    call: Call<'_>,
) -> Result<PasswordChecked> {
    let Call { client, now } = call;
    let key = account_key(typed_username);
    let address = address::key(client.ip.as_deref());

    // 1. Claim attempt slots, address first so that one address cannot lock every account it tries
    // beyond its own limit.
    let mut conn = portal.pool.acquire().await?;
    let address_attempt = match throttle::claim(
        &mut conn,
        Scope::Address,
        &address,
        portal.address_throttle,
        now,
    )
    .await?
    {
        Claim::Allowed { attempt } => attempt,
        Claim::Locked { until, newly } => {
            // Never hold a pooled connection while waiting for another (the audit transaction).
            drop(conn);
            let lockouts: &[_] = if newly { &[("address", until)] } else { &[] };
            audit_failure(
                portal,
                action,
                typed_username,
                "address_throttled",
                call,
                lockouts,
            )
            .await?;
            return Err(Error::AddressThrottled { until });
        }
    };
    let attempt = match throttle::claim(
        &mut conn,
        Scope::Account,
        &key,
        portal.account_throttle,
        now,
    )
    .await?
    {
        Claim::Allowed { attempt } => attempt,
        Claim::Locked { until, newly } => {
            throttle::succeeded(&mut conn, Scope::Address, &address).await?;
            drop(conn);
            let lockouts: &[_] = if newly { &[("account", until)] } else { &[] };
            audit_failure(portal, action, typed_username, "locked", call, lockouts).await?;
            return Err(Error::locked(until, now));
        }
    };

    // 2. Exactly one Argon2id verification whatever the account.
    let user = match Username::parse(typed_username) {
        Ok(u) => accounts::credentials_by_username(&mut conn, &u).await?,
        Err(_) => None,
    };
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    // No pooled connection is held during the (queued, CPU-bound) verification.
    drop(conn);
    let verified = portal
        .passwords
        .verify_async(password, stored.as_deref())
        .await?;
    let mut conn = portal.pool.acquire().await?;

    // 3. Failure.
    let Some(user) = user.filter(|_| verified) else {
        let locked = throttle::failed(
            &mut conn,
            Scope::Account,
            &key,
            attempt,
            portal.account_throttle,
            now,
        )
        .await?;
        let address_locked = throttle::failed(
            &mut conn,
            Scope::Address,
            &address,
            address_attempt,
            portal.address_throttle,
            now,
        )
        .await?;
        drop(conn);
        let lockouts: Vec<_> = [
            locked.map(|u| ("account", u)),
            address_locked.map(|u| ("address", u)),
        ]
        .into_iter()
        .flatten()
        .collect();
        audit_failure(
            portal,
            action,
            typed_username,
            "invalid_credentials",
            call,
            &lockouts,
        )
        .await?;
        return Err(match locked {
            Some(until) => Error::locked(until, now),
            None => Error::InvalidCredentials,
        });
    };
    drop(conn);

    // The password is right: only now may the answer depend on the account's state.
    if user.status != UserStatus::Active {
        let mut conn = portal.pool.acquire().await?;
        throttle::password_right(&mut conn, &key, &address).await?;
        if user.status == UserStatus::Dormant {
            super::dormancy::sign_in_met(&mut conn, portal, user.id, Method::Password, call)
                .await?;
        }
        drop(conn);
        let reason = match user.status {
            UserStatus::Disabled => "account_disabled",
            UserStatus::Locked => "account_locked_by_support",
            UserStatus::Dormant => "account_dormant",
            _ => "account_not_active",
        };
        audit_failure(portal, action, typed_username, reason, call, &[]).await?;
        return Err(Error::AccountUnavailable(user.status));
    }

    // A hash made with another cost is upgraded while we know the password (computed before any
    // transaction opens, so no connection waits on Argon2).
    let fresh_hash = match stored.as_deref() {
        Some(h) if portal.passwords.needs_rehash(h) => {
            Some(portal.passwords.hash_async(password).await?)
        }
        _ => None,
    };
    Ok(PasswordChecked {
        user,
        key,
        address,
        fresh_hash,
    })
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
