//! "Code par courriel": the second step of a password sign-in, when the deployment or the account
//! requires it.
//!
//! 1. the password was right: [`start`] records a pending step (random token for the browser,
//!    15 minutes) — no session yet;
//! 2. the user asks for a code: [`send_code`] draws 6 random digits, keeps only a salted hash, and
//!    writes the e-mail to the outbox, in one transaction (a new code replaces the previous one;
//!    one send a minute, five per step);
//! 3. [`check_code`] compares in constant time; five wrong codes end the step (back to the
//!    password), and wrong codes have a counter of their own per account that only a right code
//!    resets (not a right password: otherwise knowing the password would give five guesses per
//!    sign-in, forever); the right one, within its 10 minutes, completes the step — once
//!    ([`super::code_step`] then starts the session, or finishes the pending link). One
//!    step per account: a new sign-in replaces the pending one.
//!
//! Every send, success and failure is audited.

use rand::Rng;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::Portal;
use crate::accounts::Credentials;
use crate::audit::{self, Event, Outcome};
use crate::call::Call;
use crate::error::{Error, Result};
use crate::ids::{RegionCode, Username};
use crate::mail::{self, messages, outbox};
use crate::throttle::{self, Claim, Scope};

pub const STEP_LIFETIME: Duration = Duration::minutes(15);
pub const CODE_LIFETIME: Duration = Duration::minutes(10);
pub const MAX_ATTEMPTS: i32 = 5;
pub const MAX_SENDS: i32 = 5;
pub const RESEND_AFTER: Duration = Duration::seconds(60);
/// Codes e-mailed to one account in an hour, whatever the number of sign-ins.
pub const MAX_SENDS_PER_HOUR: i64 = 10;

pub use model::code::{CodeError, Delivery};

fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn hash_code(salt: &[u8], code: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(code.as_bytes());
    h.finalize().into()
}

/// Six digits, uniformly drawn from the OS generator.
pub fn new_code() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
}

/// `c.martin@chu.fr` → `c*****n@chu.fr`: enough for the user to recognise the address.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let chars: Vec<char> = local.chars().collect();
            let masked = match chars.as_slice() {
                [] => String::new(),
                [one] => format!("{one}*"),
                [first, .., last] => format!("{first}{}{last}", "*".repeat(chars.len() - 2)),
            };
            format!("{masked}@{domain}")
        }
        None => "***".into(),
    }
}

/// What the right code completes.
#[derive(Debug, Clone, Copy)]
pub enum Purpose<'a> {
    /// The password sign-in.
    SignIn,
    /// The one-time linking of a card or PSC identity (`linking`): the pending link's token hash,
    /// and the linking's audit action.
    Link {
        link_token_hash: &'a [u8],
        action: audit::Action,
    },
}

/// Step 1, in the transaction of the password check (sign-in or linking).
pub async fn start(
    tx: &mut PgConnection,
    user: &Credentials,
    purpose: Purpose<'_>,
    call: Call<'_>,
) -> Result<String> {
    let Call { now, .. } = call;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill(&mut bytes);
    let token = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    // One pending step per account: a new sign-in replaces the previous one (and its code), so
    // parallel steps cannot multiply the attempts.
    sqlx::query!("DELETE FROM sign_in_steps WHERE user_id = $1", user.id)
        .execute(&mut *tx)
        .await?;
    let (link_token_hash, action) = match purpose {
        Purpose::SignIn => (None, audit::Action::AuthPasswordSignIn),
        Purpose::Link {
            link_token_hash,
            action,
        } => (Some(link_token_hash), action),
    };
    sqlx::query!(
        "INSERT INTO sign_in_steps (token_hash, user_id, created_at, expires_at, link_token_hash)
         VALUES ($1, $2, $3, $4, $5)",
        &hash_token(&token)[..],
        user.id,
        now,
        now + STEP_LIFETIME,
        link_token_hash
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        tx,
        Event::new(action, Outcome::Success, &user.username)
            .actor(user.id)
            .target("user", user.id.to_string(), &user.username)
            .region(&user.region_code)
            .details(json!({ "next": "email_code" })),
        call,
    )
    .await?;
    Ok(token)
}

struct Step {
    user_id: Uuid,
    username: Username,
    region_code: RegionCode,
    code_hash: Option<Vec<u8>>,
    code_salt: Option<Vec<u8>>,
    code_expires_at: Option<OffsetDateTime>,
    last_sent_at: Option<OffsetDateTime>,
    sends: i32,
    attempts: i32,
    link_token_hash: Option<Vec<u8>>,
}

async fn load(conn: &mut PgConnection, token: &str, now: OffsetDateTime) -> Result<Step> {
    sqlx::query_as!(
        Step,
        r#"SELECT s.user_id, u.username AS "username: _", u.region_code AS "region_code: _", s.code_hash, s.code_salt,
                s.code_expires_at, s.last_sent_at, s.sends, s.attempts, s.link_token_hash
         FROM sign_in_steps s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.status = 'active'
         FOR UPDATE OF s"#,
        &hash_token(token)[..],
        now
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::Code(CodeError::StepExpired))
}

/// What the code page shows.
#[derive(Debug, Clone)]
pub struct StepView {
    pub masked_email: String,
    pub delivery: Delivery,
}

pub async fn view(portal: &Portal, token: &str, now: OffsetDateTime) -> Result<StepView> {
    let row = sqlx::query!(
        r#"SELECT u.email, s.code_hash IS NOT NULL AS "requested!",
                  m.state::text AS state, m.attempts AS "attempts?"
           FROM sign_in_steps s JOIN users u ON u.id = s.user_id
           LEFT JOIN mail_outbox m ON m.id = s.last_mail_id
           WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.status = 'active'"#,
        &hash_token(token)[..],
        now
    )
    .fetch_optional(&portal.pool)
    .await?
    .ok_or(Error::Code(CodeError::StepExpired))?;
    let delivery = match (row.requested, row.state.as_deref()) {
        (false, _) => Delivery::NotRequested,
        (true, Some("sent")) => Delivery::Sent,
        (true, Some("abandoned")) => Delivery::Abandoned,
        (true, _) => Delivery::Pending {
            failed: row.attempts.unwrap_or(0) > 0,
        },
    };
    Ok(StepView {
        masked_email: mask_email(&row.email),
        delivery,
    })
}

fn event(action: audit::Action, outcome: Outcome, step: &Step) -> Event {
    Event::new(action, outcome, &step.username)
        .actor(step.user_id)
        .target("user", step.user_id.to_string(), &step.username)
        .region(&step.region_code)
}

/// Step 2: a new code, by e-mail (through the outbox).
pub async fn send_code(portal: &Portal, token: &str, call: Call<'_>) -> Result<()> {
    let Call { now, .. } = call;
    let mut tx = portal.pool.begin().await?;
    let step = load(&mut tx, token, now).await?;
    // Codes are locked after too many wrong ones: sending more would only fill the holder's inbox.
    if let Some(until) =
        throttle::locked_until(&mut tx, Scope::EmailCode, step.username.as_str(), now).await?
    {
        audit::record(
            &mut tx,
            event(audit::Action::AuthEmailCodeSend, Outcome::Denied, &step)
                .details(json!({ "reason": "locked" })),
            call,
        )
        .await?;
        tx.commit().await?;
        return Err(Error::locked(until, now));
    }
    let sent_last_hour: i64 = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM mail_outbox
           WHERE user_id = $1 AND kind = 'sign_in_code' AND created_at > $2"#,
        step.user_id,
        now - Duration::hours(1)
    )
    .fetch_one(&mut *tx)
    .await?;
    let refusal = if step.sends >= MAX_SENDS || sent_last_hour >= MAX_SENDS_PER_HOUR {
        Some(CodeError::TooManySends)
    } else {
        step.last_sent_at
            .map(|at| (at + RESEND_AFTER - now).whole_seconds())
            .filter(|wait| *wait > 0)
            .map(|seconds| CodeError::ResendTooSoon { seconds })
    };
    if let Some(refusal) = refusal {
        audit::record(
            &mut tx,
            event(audit::Action::AuthEmailCodeSend, Outcome::Denied, &step)
                .details(json!({ "reason": format!("{refusal:?}") })),
            call,
        )
        .await?;
        tx.commit().await?;
        return Err(Error::Code(refusal));
    }
    let code = new_code();
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill(&mut salt);
    sqlx::query!(
        "UPDATE sign_in_steps SET code_hash = $2, code_salt = $3, code_expires_at = $4,
                last_sent_at = $5, sends = sends + 1
         WHERE token_hash = $1",
        &hash_token(token)[..],
        &hash_code(&salt, &code)[..],
        &salt[..],
        now + portal.code_lifetime,
        now
    )
    .execute(&mut *tx)
    .await?;
    let recipient = mail::recipient(&mut tx, step.user_id)
        .await?
        .ok_or(Error::NotFound)?;
    // Whole minutes, rounded up: "valable 1 minute" for a short test lifetime.
    let minutes = (portal.code_lifetime.whole_seconds() + 59) / 60;
    let message = messages::sign_in_code(&recipient, &code, minutes);
    // The replaced code's e-mail, if still waiting (server down), must not arrive after this one.
    outbox::supersede_codes(&mut tx, step.user_id).await?;
    let mail_id = outbox::enqueue(&mut tx, &recipient, &message, now).await?;
    sqlx::query!(
        "UPDATE sign_in_steps SET last_mail_id = $2 WHERE token_hash = $1",
        &hash_token(token)[..],
        mail_id
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        event(audit::Action::AuthEmailCodeSend, Outcome::Success, &step)
            .details(json!({ "mail": mail_id, "send": step.sends + 1 })),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A right code: the step it ended, and the transaction it was checked in (still open), in which
/// the caller completes what the step was started for ([`super::code_step`]).
pub(crate) struct RightCode {
    pub tx: sqlx::Transaction<'static, sqlx::Postgres>,
    pub user_id: Uuid,
    pub username: Username,
    pub region_code: RegionCode,
    /// The pending link the step was started for (`Purpose::Link`), by its token's hash.
    pub link_token_hash: Option<Vec<u8>>,
}

/// Step 3: the code typed. A wrong, expired or locked-out code is refused here (its audit row
/// committed); a right one ends the step and is audited in the returned transaction.
pub(crate) async fn check_code(
    portal: &Portal,
    token: &str,
    typed: &str,
    call: Call<'_>,
) -> Result<RightCode> {
    let Call { now, .. } = call;
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    let mut tx = portal.pool.begin().await?;
    let step = load(&mut tx, token, now).await?;
    // Wrong codes have their own counter, which a right password does not reset: someone who
    // knows the password cannot guess codes sign-in after sign-in.
    let attempt = match throttle::claim(
        &mut tx,
        Scope::EmailCode,
        step.username.as_str(),
        throttle::Policy::EMAIL_CODE_DEFAULT,
        now,
    )
    .await?
    {
        Claim::Allowed { attempt } => attempt,
        Claim::Locked { until, .. } => {
            end_step(&mut tx, token).await?;
            audit::record(
                &mut tx,
                event(audit::Action::AuthEmailCodeVerify, Outcome::Denied, &step)
                    .details(json!({ "reason": "locked" })),
                call,
            )
            .await?;
            tx.commit().await?;
            return Err(Error::locked(until, now));
        }
    };
    let (Some(hash), Some(salt), Some(expires)) =
        (&step.code_hash, &step.code_salt, step.code_expires_at)
    else {
        return Err(Error::Code(CodeError::NoCodeSent));
    };
    let right = typed.len() == 6
        && typed.bytes().all(|b| b.is_ascii_digit())
        && bool::from(hash_code(salt, &typed)[..].ct_eq(&hash[..]));
    let failure = if !right {
        let attempts = step.attempts + 1;
        if attempts >= MAX_ATTEMPTS {
            Some(CodeError::TooManyAttempts)
        } else {
            Some(CodeError::Wrong {
                attempts_left: MAX_ATTEMPTS - attempts,
            })
        }
    } else if expires <= now {
        Some(CodeError::Expired)
    } else {
        None
    };
    if let Some(failure) = failure {
        let locked = if matches!(
            failure,
            CodeError::Wrong { .. } | CodeError::TooManyAttempts
        ) {
            throttle::failed(
                &mut tx,
                Scope::EmailCode,
                step.username.as_str(),
                attempt,
                throttle::Policy::EMAIL_CODE_DEFAULT,
                now,
            )
            .await?
        } else {
            None
        };
        // A wrong code that reaches the account's limit (wrong codes of earlier steps count)
        // ends the step with the lock's answer rather than "n tries left".
        let locked = locked.filter(|_| failure != CodeError::TooManyAttempts);
        match failure {
            _ if locked.is_some() => {
                end_step(&mut tx, token).await?;
            }
            CodeError::TooManyAttempts => {
                end_step(&mut tx, token).await?;
            }
            _ => {
                sqlx::query!(
                    "UPDATE sign_in_steps SET attempts = attempts + 1 WHERE token_hash = $1",
                    &hash_token(token)[..]
                )
                .execute(&mut *tx)
                .await?;
            }
        }
        audit::record(
            &mut tx,
            event(audit::Action::AuthEmailCodeVerify, Outcome::Failure, &step).details(json!({
                "reason": format!("{failure:?}"),
                "locked_until": locked.map(OffsetDateTime::unix_timestamp),
            })),
            call,
        )
        .await?;
        tx.commit().await?;
        return Err(match locked {
            Some(until) => Error::locked(until, now),
            None => Error::Code(failure),
        });
    }
    throttle::succeeded(&mut tx, Scope::EmailCode, step.username.as_str()).await?;
    end_step(&mut tx, token).await?;
    audit::record(
        &mut tx,
        event(audit::Action::AuthEmailCodeVerify, Outcome::Success, &step),
        call,
    )
    .await?;
    Ok(RightCode {
        tx,
        user_id: step.user_id,
        username: step.username,
        region_code: step.region_code,
        link_token_hash: step.link_token_hash,
    })
}

/// The step is over (used, or too many wrong codes).
async fn end_step(tx: &mut PgConnection, token: &str) -> Result<()> {
    sqlx::query!(
        "DELETE FROM sign_in_steps WHERE token_hash = $1",
        &hash_token(token)[..]
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..200 {
            let c = new_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn addresses_are_masked() {
        assert_eq!(mask_email("c.martin@chu.fr"), "c******n@chu.fr");
        assert_eq!(mask_email("a@b.fr"), "a*@b.fr");
    }
}
