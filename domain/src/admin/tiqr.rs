//! The desk's TIQR actions on an account: list its enrollments with their state, unblock one
//! after too many wrong PINs, revoke one (a lost phone), and start an enrollment for a holder who
//! is at the desk. Each is authorised against the account's region (and its own roles) through
//! `users::act_on_user`, and audited in the change's transaction; a refusal leaves one `denied`
//! row and changes nothing.

use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::authz::{Action, Actor};
use super::users::{act_on_user, viewable_user};
use crate::accounts::UserStatus;
use crate::audit::Client;
use crate::auth::Auth;
use crate::auth::card::Browser;
use crate::auth::tiqr::TiqrService;
use crate::auth::tiqr::enrollment::{self, Enrollment, EnrollmentStart};
use crate::error::{Error, Result};

/// Every enrollment of the account, revoked ones included, newest first: name, state (active,
/// blocked, revoked), failures since the last right response, creation and last use.
pub async fn enrollments(
    auth: &Auth,
    actor: &Actor,
    user_id: Uuid,
    client: &Client,
    now: OffsetDateTime,
) -> Result<Vec<Enrollment>> {
    let mut conn = auth.pool.acquire().await?;
    viewable_user(
        &mut conn,
        auth,
        actor,
        user_id,
        "admin.tiqr.view",
        client,
        now,
    )
    .await?;
    enrollment::enrollments_of(&mut conn, user_id, true).await
}

/// Unblocks an enrollment blocked after too many wrong responses; its failures are forgotten.
/// An iOS app that already read `ACCOUNT_BLOCKED` has marked the account blocked on the phone
/// and still needs a new enrollment: the desk says so.
pub async fn unblock(
    auth: &Auth,
    actor: &Actor,
    user_id: Uuid,
    enrollment_id: Uuid,
    client: &Client,
    now: OffsetDateTime,
) -> Result<()> {
    act_on_user(
        auth,
        actor,
        Action::RevokeTiqr,
        "tiqr.unblock",
        user_id,
        client,
        now,
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
    auth: &Auth,
    actor: &Actor,
    user_id: Uuid,
    enrollment_id: Uuid,
    client: &Client,
    now: OffsetDateTime,
) -> Result<()> {
    act_on_user(
        auth,
        actor,
        Action::RevokeTiqr,
        "tiqr.revoke",
        user_id,
        client,
        now,
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

/// Starts an enrollment for the account on the desk's screen (`browser` is the administrator's):
/// the holder, at the desk, scans the QR with their phone. The desk's page polls
/// `enrollment::enrollment_status(browser, user_id)`.
pub async fn start_for_user(
    auth: &Auth,
    service: &TiqrService,
    actor: &Actor,
    user_id: Uuid,
    browser: Browser,
    client: &Client,
    now: OffsetDateTime,
) -> Result<EnrollmentStart> {
    act_on_user(
        auth,
        actor,
        Action::EnrollTiqr,
        "tiqr.enroll_start",
        user_id,
        client,
        now,
        async |tx, user| {
            if user.status != UserStatus::Active {
                return Err(Error::AccountUnavailable(user.status));
            }
            let by = actor.user_id.ok_or(Error::Forbidden)?;
            let start = enrollment::start_in(tx, service, user.id, browser, Some(by), now).await?;
            Ok((start, json!({ "by": "support" })))
        },
    )
    .await
}
