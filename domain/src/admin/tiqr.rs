//! The desk's TIQR actions on an account: list its enrollments with their state, unblock one
//! after too many wrong PINs, revoke one (a lost phone), and start an enrollment for a holder who
//! is at the desk. Each is authorised against the account's region (and its own roles) through
//! `users::act_on_user`, and audited in the change's transaction; a refusal leaves one `denied`
//! row and changes nothing.
//!
//! Enrolling at the desk hands out a credential, so the desk must show the holder is there and
//! agrees (issue 14, M-1): [`send_holder_code`] e-mails the holder a 6-digit code, the holder
//! reads it out, and [`start_for_user`] needs it. A password typed on the desk's keyboard would do
//! as proof too, but teaches holders to give their password to whoever asks: not offered. The
//! phone then goes through the same confirmation as at home (the desk's browser shows the
//! confirmation QR), and the holder is e-mailed with the desk agent's name when it is confirmed.

use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::authz::{Action, Actor};
use super::event;
use super::users::{act_on_user, viewable_user};
use crate::accounts::UserStatus;
use crate::audit::{self, Outcome};
use crate::auth::Portal;
use crate::auth::browser::Browser;
use crate::auth::otp::{self, CodeError};
use crate::auth::tiqr::enrollment::{self, Enrollment, EnrollmentStart};
use crate::auth::tiqr::{DESK_CODE_ATTEMPTS, DESK_CODE_LIFETIME, TiqrService};
use crate::call::Call;
use crate::error::{Error, Result};
use crate::mail::{self, messages, outbox};

/// One code a minute per holder and desk agent: the holder's mailbox is not a channel to flood.
const DESK_CODE_RESEND_AFTER: time::Duration = time::Duration::seconds(60);

/// Every enrollment of the account, revoked ones included, newest first: name, state (active,
/// blocked, revoked), failures since the last right response, creation and last use.
pub async fn enrollments(
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    call: Call<'_>,
) -> Result<Vec<Enrollment>> {
    let mut conn = portal.pool.acquire().await?;
    viewable_user(
        &mut conn,
        portal,
        actor,
        user_id,
        audit::Action::AdminTiqrView,
        call,
    )
    .await?;
    enrollment::enrollments_of(&mut conn, user_id, true).await
}

/// Unblocks an enrollment blocked after too many wrong responses; its failures are forgotten.
/// An iOS app that already read `ACCOUNT_BLOCKED` has marked the account blocked on the phone
/// and still needs a new enrollment: the desk says so.
pub async fn unblock(
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    enrollment_id: Uuid,
    call: Call<'_>,
) -> Result<()> {
    act_on_user(
        portal,
        actor,
        Action::RevokeTiqr,
        audit::Action::TiqrUnblock,
        user_id,
        call,
        async |tx, user| {
            let (name, failures) = enrollment::unblock_in(tx, user.id, enrollment_id)
                .await?
                .ok_or(Error::NotFound)?;
            Ok((
                (),
                json!({
                    "enrollment": enrollment_id,
                    "name": name,
                    "before": { "state": "blocked", "failures": failures },
                    "after": { "state": "active", "failures": 0 },
                }),
            ))
        },
    )
    .await
}

/// Revokes an enrollment (a lost phone): its secret is erased and the app gets `INVALID_USERID`.
pub async fn revoke(
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    enrollment_id: Uuid,
    call: Call<'_>,
) -> Result<()> {
    let Call { now, .. } = call;
    act_on_user(
        portal,
        actor,
        Action::RevokeTiqr,
        audit::Action::TiqrRevoke,
        user_id,
        call,
        async |tx, user| {
            let by = actor.user_id.ok_or(Error::Forbidden)?;
            let name = enrollment::revoke_in(tx, user.id, enrollment_id, by, now)
                .await?
                .ok_or(Error::NotFound)?;
            Ok((
                (),
                json!({ "enrollment": enrollment_id, "name": name, "by": "support" }),
            ))
        },
    )
    .await
}

fn hash_code(salt: &[u8], code: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(code.as_bytes());
    h.finalize().to_vec()
}

/// Step 1 at the desk: e-mails the holder a 6-digit code (10 minutes, 5 tries, single use) that
/// names the desk agent; the holder reads it out. A new code replaces this agent's previous one
/// for the holder. Returns the masked address, for the desk to say where it went.
pub async fn send_holder_code(
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    call: Call<'_>,
) -> Result<String> {
    let Call { now, .. } = call;
    act_on_user(
        portal,
        actor,
        Action::EnrollTiqr,
        audit::Action::TiqrDeskCode,
        user_id,
        call,
        async |tx, user| {
            if user.status != UserStatus::Active {
                return Err(Error::AccountUnavailable(user.status));
            }
            let by = actor.user_id.ok_or(Error::Forbidden)?;
            let last = sqlx::query_scalar!(
                "SELECT created_at FROM tiqr_desk_codes WHERE user_id = $1 AND requested_by = $2",
                user.id,
                by
            )
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(last) = last.filter(|t| *t + DESK_CODE_RESEND_AFTER > now) {
                return Err(Error::Code(CodeError::ResendTooSoon {
                    seconds: (last + DESK_CODE_RESEND_AFTER - now).whole_seconds().max(1),
                }));
            }
            let code = otp::new_code();
            let mut salt = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut salt);
            sqlx::query!(
                "INSERT INTO tiqr_desk_codes (user_id, requested_by, salt, code_hash, attempts, created_at, expires_at, used_at)
                 VALUES ($1, $2, $3, $4, 0, $5, $6, NULL)
                 ON CONFLICT (user_id, requested_by) DO UPDATE
                 SET salt = EXCLUDED.salt, code_hash = EXCLUDED.code_hash, attempts = 0,
                     created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, used_at = NULL",
                user.id,
                by,
                &salt[..],
                hash_code(&salt, &code),
                now,
                now + DESK_CODE_LIFETIME
            )
            .execute(&mut *tx)
            .await?;
            let recipient = mail::recipient(tx, user.id)
                .await?
                .ok_or(Error::NotFound)?;
            let message = messages::tiqr_desk_code(
                &recipient,
                &code,
                &actor.label,
                DESK_CODE_LIFETIME.whole_minutes(),
            );
            outbox::enqueue(tx, &recipient, &message, now).await?;
            let masked = otp::mask_email(user.email.as_str());
            Ok((masked.clone(), json!({ "sent_to": masked })))
        },
    )
    .await
}

/// Step 2 at the desk: with the code the holder read out, starts an enrollment for the account on
/// the desk's screen (`browser` is the administrator's): the holder scans the QR with their phone,
/// then answers the confirmation QR the desk's page shows. The desk's page polls
/// `enrollment::enrollment_status(browser, user_id)`. A wrong code costs one of its 5 tries
/// (claimed and committed before it is compared) and is audited.
pub async fn start_for_user(
    portal: &Portal,
    service: &TiqrService,
    actor: &Actor,
    user_id: Uuid,
    holder_code: &str,
    browser: Browser,
    call: Call<'_>,
) -> Result<EnrollmentStart> {
    let Call { now, .. } = call;
    let typed: String = holder_code
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(16)
        .collect();
    // Only a code this agent asked for (through the authorised step 1) can be claimed.
    let claimed = match actor.user_id {
        Some(by) => {
            sqlx::query!(
                "UPDATE tiqr_desk_codes SET attempts = attempts + 1
                 WHERE user_id = $1 AND requested_by = $2 AND used_at IS NULL AND expires_at > $3
                   AND attempts < $4
                 RETURNING salt, code_hash, attempts",
                user_id,
                by,
                now,
                DESK_CODE_ATTEMPTS
            )
            .fetch_optional(&portal.pool)
            .await?
        }
        None => None,
    };
    let result = act_on_user(
        portal,
        actor,
        Action::EnrollTiqr,
        audit::Action::TiqrEnrollStart,
        user_id,
        call,
        async |tx, user| {
            if user.status != UserStatus::Active {
                return Err(Error::AccountUnavailable(user.status));
            }
            let by = actor.user_id.ok_or(Error::Forbidden)?;
            let Some(claimed) = claimed else {
                let asked = sqlx::query_scalar!(
                    "SELECT count(*) AS \"n!\" FROM tiqr_desk_codes WHERE user_id = $1 AND requested_by = $2",
                    user.id,
                    by
                )
                .fetch_one(&mut *tx)
                .await?;
                // Used, expired or out of tries: a new one is needed.
                return Err(Error::Code(if asked > 0 {
                    CodeError::Expired
                } else {
                    CodeError::NoCodeSent
                }));
            };
            let right: bool = subtle::ConstantTimeEq::ct_eq(
                &hash_code(&claimed.salt, &typed)[..],
                &claimed.code_hash[..],
            )
            .into();
            if !right {
                let left = DESK_CODE_ATTEMPTS - claimed.attempts;
                return Err(Error::Code(if left > 0 {
                    CodeError::Wrong {
                        attempts_left: left,
                    }
                } else {
                    CodeError::Expired
                }));
            }
            sqlx::query!(
                "UPDATE tiqr_desk_codes SET used_at = $3 WHERE user_id = $1 AND requested_by = $2",
                user.id,
                by,
                now
            )
            .execute(&mut *tx)
            .await?;
            let start = enrollment::start_in(tx, service, user.id, browser, Some(by), now).await?;
            Ok((start, json!({ "by": "support", "proof": "holder_code" })))
        },
    )
    .await;
    if let Err(Error::Code(refusal)) = &result {
        // The holder's code was wrong or unusable: audited (the desk may be guessing).
        let mut tx = portal.pool.begin().await?;
        let target = sqlx::query!(
            "SELECT username, region_code FROM users WHERE id = $1",
            user_id
        )
        .fetch_optional(&mut *tx)
        .await?
        .map(|u| super::Target {
            kind: "user",
            id: user_id.to_string(),
            label: u.username,
            region: Some(u.region_code),
        });
        audit::record(
            &mut tx,
            event(
                actor,
                audit::Action::TiqrEnrollStart,
                Outcome::Failure,
                target.as_ref(),
                json!({ "by": "support", "reason": "holder_code", "refusal": format!("{refusal:?}") }),
            ),
            call,
        )
        .await?;
        tx.commit().await?;
    }
    result
}
