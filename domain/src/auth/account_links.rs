//! Links to choose a password, sent by e-mail: account activation and password reset.
//!
//! - [`issue`] writes a single-use link (only its hash is stored) and its e-mail to the outbox in
//!   the caller's transaction; using one link voids the account's other ones. Account
//!   creation (pending activation), "Mot de passe oublié ?" and the support desk call it.
//! - [`request_reset`] answers the same whether or not the account exists.
//! - [`set_password`] checks the password policy, sets the password, activates a pending account,
//!   ends every session of the account (a reset is often a suspected compromise), releases the
//!   sign-in lock, removes the linked cards, PSC identities and phones when the holder asks for it,
//!   and audits it — in one transaction.

use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{Portal, means};
use crate::accounts::UserStatus;
use crate::audit::{self, Event, Outcome};
use crate::call::Call;
use crate::error::{Error, Result};
use crate::ids::{RegionCode, Username};
use crate::mail::{self, messages, outbox};
use crate::refusals::{self, Refusal};
use crate::throttle::{self, Scope};
use crate::{password_policy, sessions};

pub const ACTIVATION_LIFETIME: Duration = Duration::hours(72);
pub const RESET_LIFETIME: Duration = Duration::hours(1);
/// Reset e-mails per account and hour: the form cannot be used to flood someone's mailbox.
pub const RESETS_PER_HOUR: i64 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Activation,
    PasswordReset,
}

impl Purpose {
    /// The link an account in `status` can be sent: activation while pending, reset once active
    /// (or dormant: the link proves the mailbox as the wake link does, and the new password wakes
    /// the account), none while locked or disabled.
    pub fn for_status(status: UserStatus) -> Option<Self> {
        match status {
            UserStatus::PendingActivation => Some(Purpose::Activation),
            UserStatus::Active | UserStatus::Dormant => Some(Purpose::PasswordReset),
            UserStatus::Locked | UserStatus::Disabled => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Activation => "activation",
            Purpose::PasswordReset => "password_reset",
        }
    }

    fn lifetime(self) -> Duration {
        match self {
            Purpose::Activation => ACTIVATION_LIFETIME,
            Purpose::PasswordReset => RESET_LIFETIME,
        }
    }
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The page that receives the link.
pub fn link_url(public_origin: &str, token: &str) -> String {
    format!("{public_origin}/mot-de-passe?jeton={token}")
}

/// Writes a new link and its e-mail (outbox) in the caller's transaction.
pub async fn issue(
    tx: &mut PgConnection,
    public_origin: &str,
    user_id: Uuid,
    purpose: Purpose,
    now: OffsetDateTime,
) -> Result<i64> {
    let recipient = mail::recipient(tx, user_id).await?.ok_or(Error::NotFound)?;
    // Earlier links stay valid until one is used (`set_password` then voids the others): someone
    // who knows a username must not be able to kill a pending activation or reset link.
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    sqlx::query!(
        "INSERT INTO account_links (token_hash, user_id, purpose, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        hash(&token),
        user_id,
        purpose.as_str(),
        now,
        now + purpose.lifetime()
    )
    .execute(&mut *tx)
    .await?;
    let message = messages::password_link(
        &recipient,
        purpose == Purpose::Activation,
        &link_url(public_origin, &token),
        purpose.lifetime().whole_hours(),
    );
    outbox::enqueue(tx, &recipient, &message, now).await
}

/// `issue` for each of `user_ids`, in a few statements whatever their number (the bulk import's
/// activation e-mails); returns the e-mails' outbox ids, in the order of `user_ids`.
pub async fn issue_many(
    tx: &mut PgConnection,
    public_origin: &str,
    user_ids: &[Uuid],
    purpose: Purpose,
    now: OffsetDateTime,
) -> Result<Vec<i64>> {
    let found = mail::recipients(tx, user_ids).await?;
    let mut by_id: std::collections::HashMap<Uuid, &mail::Recipient> =
        found.iter().map(|r| (r.user_id, r)).collect();
    let mut recipients = Vec::with_capacity(user_ids.len());
    for id in user_ids {
        recipients.push(by_id.remove(id).ok_or(Error::NotFound)?);
    }
    let tokens: Vec<String> = recipients
        .iter()
        .map(|_| {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
        })
        .collect();
    let hashes: Vec<Vec<u8>> = tokens.iter().map(|t| hash(t)).collect();
    sqlx::query!(
        "INSERT INTO account_links (token_hash, user_id, purpose, created_at, expires_at)
         SELECT h, u, $3, $4, $5 FROM unnest($1::bytea[], $2::uuid[]) AS t(h, u)",
        &hashes,
        user_ids,
        purpose.as_str(),
        now,
        now + purpose.lifetime()
    )
    .execute(&mut *tx)
    .await?;
    let mails: Vec<(&mail::Recipient, messages::Mail)> = recipients
        .iter()
        .zip(&tokens)
        .map(|(r, token)| {
            let message = messages::password_link(
                r,
                purpose == Purpose::Activation,
                &link_url(public_origin, token),
                purpose.lifetime().whole_hours(),
            );
            (*r, message)
        })
        .collect();
    outbox::enqueue_many(tx, &mails, now).await
}

/// "Mot de passe oublié ?": the same answer (`Ok`) whether or not the identifier is known. A
/// pending account gets its activation link again.
pub async fn request_reset(portal: &Portal, typed: &str, call: Call<'_>) -> Result<()> {
    let Call { now, .. } = call;
    let typed = typed.trim().to_lowercase();
    let mut tx = portal.pool.begin().await?;
    let user = sqlx::query!(
        r#"SELECT id, username, region_code, status AS "status: UserStatus" FROM users
           WHERE username = $1 OR lower(email) = $1
           ORDER BY (username = $1) DESC, created_at LIMIT 1
           FOR UPDATE"#,
        typed
    )
    .fetch_optional(&mut *tx)
    .await?;
    // Refusals are anonymous and free to send: repeated ones are summarised (`refusals`).
    let refused = async |reason: &'static str, outcome, event: Event| {
        refusals::record(
            &portal.pool,
            Refusal {
                action: audit::Action::AuthPasswordResetRequest,
                reason,
                outcome,
            },
            call,
            async |_| Ok(event),
        )
        .await
        .map(|_| ())
    };
    let Some(user) = user else {
        drop(tx);
        return refused(
            "unknown",
            Outcome::Failure,
            // Not what was typed (it may be a password): a keyed hash of it.
            Event::new(
                audit::Action::AuthPasswordResetRequest,
                Outcome::Failure,
                portal.identifier_key.label(&typed),
            )
            .details(json!({ "reason": "unknown" })),
        )
        .await;
    };
    let recent: i64 = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM account_links WHERE user_id = $1 AND created_at > $2"#,
        user.id,
        now - Duration::hours(1)
    )
    .fetch_one(&mut *tx)
    .await?;
    let purpose = Purpose::for_status(user.status);
    let event = |outcome, details| {
        Event::new(
            audit::Action::AuthPasswordResetRequest,
            outcome,
            &user.username,
        )
        .target("user", user.id.to_string(), &user.username)
        .region(&user.region_code)
        .details(details)
    };
    match purpose {
        Some(purpose) if recent < RESETS_PER_HOUR => {
            let mail_id = issue(&mut tx, &portal.public_origin, user.id, purpose, now).await?;
            audit::record(
                &mut tx,
                event(
                    Outcome::Success,
                    json!({ "mail": mail_id, "purpose": purpose.as_str() }),
                ),
                call,
            )
            .await?;
        }
        Some(_) => {
            drop(tx);
            return refused(
                "rate_limited",
                Outcome::Denied,
                event(Outcome::Denied, json!({ "reason": "rate_limited" })),
            )
            .await;
        }
        None => {
            drop(tx);
            return refused(
                "account_unavailable",
                Outcome::Denied,
                event(Outcome::Denied, json!({ "reason": "account_unavailable" })),
            )
            .await;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// What the password page shows for a link.
#[derive(Debug, Clone)]
pub struct LinkInfo {
    pub user_id: Uuid,
    pub username: Username,
    pub region_code: RegionCode,
    pub activation: bool,
}

pub async fn link_info(portal: &Portal, token: &str, now: OffsetDateTime) -> Result<LinkInfo> {
    let row = sqlx::query!(
        r#"SELECT l.user_id, l.purpose, u.username AS "username: Username",
                u.region_code AS "region_code: RegionCode"
         FROM account_links l JOIN users u ON u.id = l.user_id
         WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > $2"#,
        hash(token),
        now
    )
    .fetch_optional(&portal.pool)
    .await?
    .ok_or(Error::AccountLinkExpired)?;
    Ok(LinkInfo {
        user_id: row.user_id,
        username: row.username,
        region_code: row.region_code,
        activation: row.purpose == "activation",
    })
}

/// Sets the password chosen through a link. With `remove_means` (the reset page's checkbox), every
/// linked card, Pro Santé Connect identity and TIQR phone goes too: a password reset alone would
/// leave whatever an attacker linked with the old password in place.
pub async fn set_password(
    portal: &Portal,
    token: &str,
    password: &str,
    confirmation: &str,
    remove_means: bool,
    call: Call<'_>,
) -> Result<LinkInfo> {
    let Call { now, .. } = call;
    let info = link_info(portal, token, now).await?;
    password_policy::check(password, confirmation, info.username.as_str())
        .map_err(Error::WeakPassword)?;
    // Hashed before the transaction: no connection waits on Argon2.
    let hashed = portal.passwords.hash_async(password).await?;

    let mut tx = portal.pool.begin().await?;
    let used = sqlx::query_scalar!(
        "UPDATE account_links SET used_at = $2
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
         RETURNING user_id",
        hash(token),
        now
    )
    .fetch_optional(&mut *tx)
    .await?;
    if used != Some(info.user_id) {
        return Err(Error::AccountLinkExpired);
    }
    let status = sqlx::query_scalar!(
        r#"UPDATE users SET password_hash = $2, updated_at = $3, version = version + 1,
                  kept_active_at = CASE WHEN status IN ('dormant', 'pending_activation') THEN $3
                                        ELSE kept_active_at END,
                  dormancy_warned_at = CASE WHEN status = 'dormant' THEN NULL ELSE dormancy_warned_at END,
                  status = CASE WHEN status IN ('pending_activation', 'dormant') THEN 'active'::user_status
                                ELSE status END
           WHERE id = $1
           RETURNING status AS "status: UserStatus""#,
        info.user_id,
        hashed,
        now
    )
    .fetch_one(&mut *tx)
    .await?;
    if status != UserStatus::Active {
        return Err(Error::AccountUnavailable(status));
    }
    sqlx::query!(
        "UPDATE account_links SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        info.user_id,
        now
    )
    .execute(&mut *tx)
    .await?;
    let ended = sessions::end_all_for_user(&mut tx, info.user_id, "password_reset", now).await?;
    // A sign-in waiting for its e-mail code was started with the old password.
    sqlx::query!("DELETE FROM sign_in_steps WHERE user_id = $1", info.user_id)
        .execute(&mut *tx)
        .await?;
    throttle::unlock(&mut tx, Scope::Account, info.username.as_str()).await?;
    // The reset link proved the mailbox: the wrong-code counter starts afresh too.
    throttle::unlock(&mut tx, Scope::EmailCode, info.username.as_str()).await?;
    // The account row was locked by the UPDATE above, as every other change of means locks it.
    let removed = if remove_means {
        means::remove_all_in(&mut tx, info.user_id, info.user_id, now).await?
    } else {
        Vec::new()
    };
    if !info.activation
        && let Some(recipient) = mail::recipient(&mut tx, info.user_id).await?
    {
        outbox::enqueue(
            &mut tx,
            &recipient,
            &messages::password_changed(&recipient, &means::descriptions(&removed)),
            now,
        )
        .await?;
    }
    audit::record(
        &mut tx,
        Event::new(
            if info.activation {
                audit::Action::AccountActivated
            } else {
                audit::Action::AuthPasswordResetDone
            },
            Outcome::Success,
            &info.username,
        )
        .actor(info.user_id)
        .target("user", info.user_id.to_string(), &info.username)
        .region(&info.region_code)
        .details(json!({
            "sessions_ended": ended,
            "remove_means": remove_means,
            "sign_in_means_removed": means::details(&removed),
        })),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(info)
}

/// The support desk (or an operator) sends an account its link: activation when the account is
/// pending, reset otherwise. Audited with who asked. The admin console calls this.
pub async fn send_by_support(
    portal: &Portal,
    actor_label: &str,
    actor_id: Option<Uuid>,
    user_id: Uuid,
    call: Call<'_>,
) -> Result<Purpose> {
    let Call { now, .. } = call;
    let mut tx = portal.pool.begin().await?;
    let user = sqlx::query!(
        r#"SELECT username, region_code, status AS "status: UserStatus" FROM users WHERE id = $1"#,
        user_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound)?;
    let purpose = Purpose::for_status(user.status).ok_or(Error::AccountUnavailable(user.status))?;
    let mail_id = issue(&mut tx, &portal.public_origin, user_id, purpose, now).await?;
    let mut event = Event::new(
        audit::Action::AccountLinkSent,
        Outcome::Success,
        actor_label,
    )
    .target("user", user_id.to_string(), &user.username)
    .region(&user.region_code)
    .details(json!({ "purpose": purpose.as_str(), "mail": mail_id }));
    if let Some(actor) = actor_id {
        event = event.actor(actor);
    }
    audit::record(&mut tx, event, call).await?;
    tx.commit().await?;
    Ok(purpose)
}
