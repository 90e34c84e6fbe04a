//! New-device alerts. Every browser carries a long-lived random cookie (its "device"; only its
//! hash reaches the domain, in `Client::device`). A sign-in remembers the device for the account;
//! a sign-in from a device the account has never used, when it has used others before, e-mails
//! the holder: when, how, from where, with which browser, and a « ce n'était pas moi » link.
//!
//! That link ([`not_me`]) throws the intruder out as the desk's « Compte compromis » does — every
//! session ends, every card, PSC identity, phone and passkey is removed (the intruder may have
//! added one), pending code steps and links are voided, the password stops working, the browsers
//! known for the account are forgotten — and locks the account until the support desk unlocks
//! it (after checking who is on the phone) and sends a link to choose a new password. It is single
//! use and valid for [`NOT_ME_LIFETIME`]; opening it shows a page whose button does it (a GET
//! never changes anything: mail scanners open links). Where the first browser of an account is
//! learnt (no other known yet: the feature's first days), nothing is sent.

use serde_json::json;
use sqlx::PgConnection;
use time::Duration;
use uuid::Uuid;

use super::Portal;
use super::browser::{hash_of, random_token};
use crate::accounts::UserStatus;
use crate::audit::{self, Event, Outcome};
use crate::call::Call;
use crate::error::{Error, Result};
use crate::ids::{RegionCode, Username};
use crate::mail::{self, messages, outbox};
use model::sign_in::Method;

/// How long the « ce n'était pas moi » link of an alert works.
pub const NOT_ME_LIFETIME: Duration = Duration::days(7);

/// What the sign-in learnt about the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// A browser this account signed in from before (or no device cookie: nothing to compare).
    Known,
    /// The account's first device: nothing to warn about.
    First,
    /// A browser never seen for an account that has used others: the holder was e-mailed.
    New,
}

/// Remembers the sign-in's device for the account and, for a new one, e-mails the holder, in the
/// sign-in's transaction.
pub(crate) async fn sign_in_from(
    tx: &mut PgConnection,
    portal: &Portal,
    user_id: Uuid,
    method: Method,
    call: Call<'_>,
) -> Result<Seen> {
    let Call { client, now } = call;
    let Some(device) = client.device else {
        return Ok(Seen::Known);
    };
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO known_devices (user_id, device_hash, first_seen_at, last_seen_at, user_agent)
           VALUES ($1, $2, $3, $3, $4)
           ON CONFLICT (user_id, device_hash) DO UPDATE
             SET last_seen_at = EXCLUDED.last_seen_at, user_agent = EXCLUDED.user_agent
           RETURNING (xmax = 0) AS "inserted!""#,
        user_id,
        &device[..],
        now,
        client
            .user_agent
            .as_deref()
            .map(|ua| ua.chars().take(512).collect::<String>()),
    )
    .fetch_one(&mut *tx)
    .await?;
    if !inserted {
        return Ok(Seen::Known);
    }
    let others: i64 = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM known_devices WHERE user_id = $1 AND device_hash <> $2"#,
        user_id,
        &device[..]
    )
    .fetch_one(&mut *tx)
    .await?;
    if others == 0 {
        return Ok(Seen::First);
    }
    let Some(recipient) = mail::recipient(tx, user_id).await? else {
        return Ok(Seen::New);
    };
    let (token, hash) = random_token();
    sqlx::query!(
        "INSERT INTO not_me_links (token_hash, user_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4)",
        &hash[..],
        user_id,
        now,
        now + NOT_ME_LIFETIME
    )
    .execute(&mut *tx)
    .await?;
    let place = model::activity::Place::of(client.ip.as_deref());
    let message = messages::new_device(
        &recipient,
        messages::Attempt {
            at: now,
            method,
            place: &place,
            browser: model::activity::browser_of(client.user_agent.as_deref()).as_deref(),
        },
        &format!("{}/connexion/pas-moi?jeton={token}", portal.public_origin),
        NOT_ME_LIFETIME.whole_days(),
    );
    outbox::enqueue(tx, &recipient, &message, now).await?;
    Ok(Seen::New)
}

/// « Ce n'était pas moi »: with a valid link, the account is cleaned as the module says and
/// locked until the desk unlocks it; audited. An unknown, used or expired link changes nothing
/// (`AccountLinkExpired`, audited as an anonymous refusal).
pub async fn not_me(portal: &Portal, token: &str, call: Call<'_>) -> Result<()> {
    let Call { now, .. } = call;
    // Hashed before the transaction: no connection waits on Argon2.
    let unknown = portal.passwords.hash_of_nothing().await?;
    let mut tx = portal.pool.begin().await?;
    let Some(user_id) = sqlx::query_scalar!(
        "UPDATE not_me_links SET used_at = $2
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
         RETURNING user_id",
        &hash_of(token)[..],
        now
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        drop(tx);
        crate::refusals::record(
            &portal.pool,
            crate::refusals::Refusal {
                action: audit::Action::AccountNotMe,
                reason: "link_expired",
                outcome: Outcome::Failure,
            },
            call,
            async |_| {
                Ok(Event::new(
                    audit::Action::AccountNotMe,
                    Outcome::Failure,
                    "lien « pas moi »",
                )
                .details(json!({ "reason": "link_expired" })))
            },
        )
        .await?;
        return Err(Error::AccountLinkExpired);
    };
    let account = sqlx::query!(
        r#"SELECT username AS "username: Username", region_code AS "region_code: RegionCode",
                  status AS "status: UserStatus"
           FROM users WHERE id = $1 FOR UPDATE"#,
        user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let out = super::means::throw_out(&mut tx, user_id, user_id, "not_me", now).await?;
    sqlx::query!("DELETE FROM known_devices WHERE user_id = $1", user_id)
        .execute(&mut *tx)
        .await?;
    // The password the intruder used stops working; a disabled account stays disabled (more than
    // locked), a pending one keeps waiting for its activation.
    let locked = matches!(account.status, UserStatus::Active | UserStatus::Dormant);
    if locked {
        sqlx::query!(
            "UPDATE users SET status = 'locked', password_hash = $3, updated_at = $2,
                              version = version + 1
             WHERE id = $1",
            user_id,
            now,
            unknown
        )
        .execute(&mut *tx)
        .await?;
    }
    // The other alerts' links of the account are spent too: one report is enough.
    sqlx::query!(
        "UPDATE not_me_links SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        user_id,
        now
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Event::new(
            audit::Action::AccountNotMe,
            Outcome::Success,
            &account.username,
        )
        .actor(user_id)
        .target("user", user_id.to_string(), &account.username)
        .region(&account.region_code)
        .details(json!({
            "sessions_ended": out.sessions_ended,
            "removed": super::means::details(&out.removed),
            "code_steps_cancelled": out.code_steps_cancelled,
            "password_voided": locked,
            "before": account.status,
            "locked": locked,
        })),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// How many browsers the account signed in from.
pub async fn count_of(conn: &mut PgConnection, user_id: Uuid) -> Result<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM known_devices WHERE user_id = $1"#,
        user_id
    )
    .fetch_one(&mut *conn)
    .await?)
}
