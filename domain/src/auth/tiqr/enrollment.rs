//! Enrolling the TIQR app, top to bottom:
//! 1. [`start_enrollment`]: the signed-in user's security page (or the desk, `admin::tiqr`, with
//!    the holder's e-mailed code) gets a metadata key (32 hex, 300 s, bound to the browser and the
//!    user) and shows `tiqrenroll://<metadata URL>?key=<key>`; it polls [`enrollment_status`].
//!    The holder types their password again, unless the session's last strong authentication is
//!    less than [`RECENT_AUTHENTICATION`] old (an unattended session must not be enough to add a
//!    phone);
//! 2. [`metadata`]: the app fetches the metadata once; the key is erased and a second one-time
//!    secret (300 s) is put in `enrollmentUrl`, with a fresh opaque identity;
//! 3. [`finish_enrollment`]: the app posts its OCRA secret to `enrollmentUrl`; the secret is sealed,
//!    the enrollment stored (not confirmed yet) and audited, and the app gets exactly `OK`;
//! 4. the page's poll sees `processed` and shows [`confirmation_qr`]: a sign-in QR naming the new
//!    identity, bound to this browser. The phone answers it like any sign-in (PIN, OCRA) and the
//!    right answer confirms the phone ([`confirm_in`]): from then on it signs in, and the holder is
//!    e-mailed. Whoever scanned the enrolment QR first (someone behind you, a screen share) gets a
//!    phone that cannot sign in unless they also answer the confirmation QR shown only on this
//!    browser; the holder's own phone, which then failed on the first QR, cannot answer it, and
//!    the page says so ([`EnrollmentStatus::Unconfirmed`]) instead of "registered". A phone not
//!    confirmed within [`CONFIRMATION_LIFETIME`] never becomes usable.
//!
//! A user may hold several enrollments (old and new phone): [`list_enrollments`], [`rename`],
//! [`revoke_own`].

use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::sign_in::{self, SignInStart};
use super::{
    AppForm, CONFIRMATION_LIFETIME, ENROLLMENT_SECRET_LIFETIME, Identity, METADATA_LIFETIME,
    RECENT_AUTHENTICATION, Reply, SecretBox, TiqrService, ocra, one_time_key, random_hex, sha256,
    with_query,
};
use crate::accounts::{self, UserStatus};
use crate::audit::{self, Client, Event, Outcome};
use crate::auth::browser::Browser;
use crate::auth::{Portal, password};
use crate::call::Call;
use crate::error::{Error, Result};
use crate::sessions::{self, Session};

pub use model::tiqr::{EnrollmentStatus, PhoneState, TiqrState};

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "tiqr_enrollment_status", rename_all = "lowercase")]
enum StoredStatus {
    Initialized,
    Retrieved,
    Processed,
    Finalized,
}

/// One of a user's enrollments, as the security page and the desk show it.
#[derive(Debug, Clone, Serialize)]
pub struct Enrollment {
    pub id: Uuid,
    pub name: String,
    /// What the app shows in offline mode (and the desk may ask the user to read out).
    pub identity: String,
    pub state: TiqrState,
    pub failures: i32,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    /// Started at the desk by this administrator.
    pub enrolled_by: Option<Uuid>,
    /// Their username, for the console ("inscrit par support.idf"); `None` with `enrolled_by`
    /// unset: the holder enrolled it themself.
    pub enrolled_by_username: Option<String>,
    /// When the enrolling browser confirmed the phone; `None`: not confirmed (it cannot sign in).
    pub activated_at: Option<OffsetDateTime>,
}

/// What the page needs to show the enrollment QR.
#[derive(Debug, Clone)]
pub struct EnrollmentStart {
    /// 32 lowercase hex; only its hash is stored.
    pub metadata_key: String,
    /// `tiqrenroll://https://…/metadata?key=…`: the URL appended raw, as the apps expect.
    pub qr: String,
}

/// Whether the holder's security page must ask for the password before adding a phone.
pub fn password_needed(session: &Session, now: OffsetDateTime) -> bool {
    !sessions::recently_authenticated(session, RECENT_AUTHENTICATION, now)
}

/// Starts an enrollment for the signed-in user, on their own security page. A phone is a way in
/// for years: the password is asked again (through the sign-in's attempt counters) unless the
/// session's last strong authentication is less than [`RECENT_AUTHENTICATION`] old. An empty
/// password when it is needed is `ReauthenticationRequired` (no attempt counted); a typed one is
/// always checked.
pub async fn start_enrollment(
    portal: &Portal,
    service: &TiqrService,
    session: &Session,
    password_typed: &str,
    browser: Browser,
    call: Call<'_>,
) -> Result<EnrollmentStart> {
    let Call { now, .. } = call;
    let user_id = session.user_id;
    let checked = password::again_unless_recent(
        portal,
        session,
        password_typed,
        RECENT_AUTHENTICATION,
        audit::Action::TiqrEnrollStart,
        call,
    )
    .await?;
    let mut tx = portal.pool.begin().await?;
    if let Some(checked) = &checked {
        checked.settle(&mut tx, now).await?;
    }
    let account = accounts::account(&mut tx, user_id)
        .await?
        .ok_or(Error::NotFound)?;
    if account.status != UserStatus::Active {
        return Err(Error::AccountUnavailable(account.status));
    }
    let start = start_in(&mut tx, service, user_id, browser, None, now).await?;
    audit::record(
        &mut tx,
        Event::new(
            audit::Action::TiqrEnrollStart,
            Outcome::Success,
            &account.username,
        )
        .actor(user_id)
        .target("user", user_id.to_string(), &account.username)
        .region(&account.region_code)
        .details(json!({
            "by": "user",
            "proof": if checked.is_some() { "password" } else { "recent_authentication" },
        })),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(start)
}

/// The start itself, in the caller's transaction (shared with the desk's start). One enrollment
/// under way per browser: a new start replaces the previous one, which also bounds the rows a
/// browser can create.
pub(crate) async fn start_in(
    conn: &mut PgConnection,
    service: &TiqrService,
    user_id: Uuid,
    browser: Browser,
    started_by: Option<Uuid>,
    now: OffsetDateTime,
) -> Result<EnrollmentStart> {
    sqlx::query!(
        "DELETE FROM tiqr_enrollment_starts WHERE browser_hash = $1 OR expires_at < $2::timestamptz - interval '1 day'",
        &browser.hash()[..],
        now
    )
    .execute(&mut *conn)
    .await?;
    let metadata_key = random_hex(16);
    sqlx::query!(
        "INSERT INTO tiqr_enrollment_starts (id, user_id, browser_hash, metadata_key_hash, expires_at, started_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        Uuid::new_v4(),
        user_id,
        &browser.hash()[..],
        sha256(&metadata_key),
        now + METADATA_LIFETIME,
        started_by,
        now
    )
    .execute(&mut *conn)
    .await?;
    let qr = format!(
        "tiqrenroll://{}",
        with_query(&service.metadata_url, "key", &metadata_key)
    );
    Ok(EnrollmentStart { metadata_key, qr })
}

/// The status the enrollment page polls for, bound to the browser and the signed-in user (or the
/// account the desk enrols, for the desk's browser).
pub async fn enrollment_status(
    portal: &Portal,
    browser: Browser,
    user_id: Uuid,
    now: OffsetDateTime,
) -> Result<EnrollmentStatus> {
    let row = sqlx::query!(
        r#"SELECT s.status AS "status: StoredStatus", s.expires_at, s.secret_expires_at,
                  e.id AS "enrollment?", e.created_at AS "enrolled_at?", e.activated_at,
                  e.state AS "state?: TiqrState"
           FROM tiqr_enrollment_starts s LEFT JOIN tiqr_enrollments e ON e.id = s.enrollment_id
           WHERE s.browser_hash = $1 AND s.user_id = $2
           ORDER BY s.created_at DESC LIMIT 1"#,
        &browser.hash()[..],
        user_id
    )
    .fetch_optional(&portal.pool)
    .await?;
    let Some(row) = row else {
        return Ok(EnrollmentStatus::Idle);
    };
    Ok(match row.status {
        StoredStatus::Initialized if row.expires_at <= now => EnrollmentStatus::Expired,
        StoredStatus::Initialized => EnrollmentStatus::Initialized,
        StoredStatus::Retrieved if row.secret_expires_at.is_none_or(|t| t <= now) => {
            EnrollmentStatus::Expired
        }
        StoredStatus::Retrieved => EnrollmentStatus::Retrieved,
        StoredStatus::Finalized => EnrollmentStatus::Finalized,
        StoredStatus::Processed => match (row.enrollment, row.enrolled_at, row.state) {
            (Some(_), Some(at), Some(TiqrState::Active | TiqrState::Blocked))
                if row.activated_at.is_none() && at + CONFIRMATION_LIFETIME > now =>
            {
                EnrollmentStatus::Processed
            }
            (Some(id), _, _) if row.activated_at.is_none() => {
                expire_unconfirmed(portal, id, now).await?;
                EnrollmentStatus::Unconfirmed
            }
            // Confirmed (the start is marked finalized in the same transaction).
            _ => EnrollmentStatus::Finalized,
        },
    })
}

/// An enrollment nobody confirmed in time is revoked (its sealed secret erased) and audited: the
/// phone that scanned the QR was not the one the enrolling browser could confirm.
async fn expire_unconfirmed(
    portal: &Portal,
    enrollment_id: Uuid,
    now: OffsetDateTime,
) -> Result<()> {
    let mut tx = portal.pool.begin().await?;
    let revoked = sqlx::query!(
        r#"UPDATE tiqr_enrollments e
           SET state = 'revoked', revoked_at = $2, secret_nonce = NULL, secret_sealed = NULL
           FROM users u
           WHERE e.id = $1 AND e.activated_at IS NULL AND e.state <> 'revoked' AND u.id = e.user_id
           RETURNING e.user_id, e.name, e.identity, u.username, u.region_code"#,
        enrollment_id,
        now
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(r) = revoked {
        audit::record(
            &mut tx,
            Event::new(
                audit::Action::TiqrUnconfirmed,
                Outcome::Failure,
                &r.username,
            )
            .target("user", r.user_id.to_string(), &r.username)
            .region(&r.region_code)
            .details(json!({
                "enrollment": enrollment_id,
                "name": r.name,
                "identity": r.identity,
                "reason": "not_confirmed_in_time",
            })),
            Call::new(&Client::default(), now),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The confirmation QR for the phone that has just enrolled from this browser (status
/// `processed`): a `tiqrauth://<identity>@…` sign-in QR that only this enrollment may answer and
/// that signs nobody in; its right answer confirms the phone. `None` when nothing awaits
/// confirmation here. Each call replaces the browser's previous confirmation QR.
pub async fn confirmation_qr(
    portal: &Portal,
    service: &TiqrService,
    browser: Browser,
    user_id: Uuid,
    now: OffsetDateTime,
) -> Result<Option<SignInStart>> {
    let mut tx = portal.pool.begin().await?;
    let pending = sqlx::query!(
        "SELECT e.id, e.identity, e.created_at
         FROM tiqr_enrollment_starts s JOIN tiqr_enrollments e ON e.id = s.enrollment_id
         WHERE s.browser_hash = $1 AND s.user_id = $2 AND s.status = 'processed'
           AND e.activated_at IS NULL AND e.state = 'active' AND e.created_at > $3
         ORDER BY s.created_at DESC LIMIT 1",
        &browser.hash()[..],
        user_id,
        now - CONFIRMATION_LIFETIME
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(pending) = pending else {
        return Ok(None);
    };
    let identity = Identity::parse(&pending.identity)?;
    let start = sign_in::start_confirmation(
        &mut tx,
        service,
        browser,
        pending.id,
        &identity,
        pending.created_at + CONFIRMATION_LIFETIME,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(start))
}

/// The metadata the app fetches with the QR's key: served once (the key is erased), with a fresh
/// identity and the second one-time secret in `enrollmentUrl`. All nine strings are present and
/// non-null (Android refuses the enrollment otherwise).
pub async fn metadata(
    portal: &Portal,
    service: &TiqrService,
    metadata_key: &str,
    now: OffsetDateTime,
) -> Result<Value> {
    let key = one_time_key("key", metadata_key)?;
    let identity = Identity::generate();
    let secret = random_hex(16);
    let row = sqlx::query!(
        r#"UPDATE tiqr_enrollment_starts s
           SET status = 'retrieved', metadata_key_hash = NULL, identity = $3,
               enrollment_secret_hash = $4, secret_expires_at = $5
           FROM users u
           WHERE s.metadata_key_hash = $1 AND s.status = 'initialized' AND s.expires_at > $2
             AND u.id = s.user_id
           RETURNING u.given_name, u.family_name"#,
        sha256(&key),
        now,
        identity.as_str(),
        sha256(&secret),
        now + ENROLLMENT_SECRET_LIFETIME
    )
    .fetch_optional(&portal.pool)
    .await?
    .ok_or(Error::TiqrExpired)?;
    Ok(json!({
        "service": {
            "displayName": service.display_name,
            "identifier": service.identifier,
            "logoUrl": service.logo_url,
            "infoUrl": service.info_url,
            "authenticationUrl": service.authentication_url,
            "ocraSuite": ocra::TIQR_SUITE,
            "enrollmentUrl": with_query(&service.enrollment_url, "otp", &secret),
        },
        "identity": {
            "identifier": identity.as_str(),
            "displayName": format!("{} {}", row.given_name, row.family_name),
        },
    }))
}

/// The app's secret: 64 hex digits (lowercase from Android, UPPERCASE from iOS), 32 bytes.
fn parse_secret(form: &AppForm) -> Result<Vec<u8>> {
    let secret = form.secret.as_deref().ok_or(Error::TiqrRequest("secret"))?;
    if secret.len() != 64 {
        return Err(Error::TiqrRequest("secret"));
    }
    hex::decode(secret).map_err(|_| Error::TiqrRequest("secret"))
}

/// The app posts its secret to `enrollmentUrl` (`otp` = the second one-time secret). On success
/// the reply is exactly `OK`. A malformed form, or an unknown, used or expired secret, is refused
/// before anything is stored.
pub async fn finish_enrollment(
    portal: &Portal,
    secrets: &SecretBox,
    enrollment_secret: &str,
    form: &AppForm,
    call: Call<'_>,
) -> Result<Reply> {
    let Call { now, .. } = call;
    let otp = one_time_key("otp", enrollment_secret)?;
    if form.operation.as_deref().is_some_and(|o| o != "register") {
        return Err(Error::TiqrRequest("operation"));
    }
    let secret = parse_secret(form)?;
    // Notification type and address are accepted and ignored: push needs the app publisher's
    // credentials; sign-in is by QR.

    let mut tx = portal.pool.begin().await?;
    // Locked so that two posts of the same secret cannot both enroll.
    let start = sqlx::query!(
        r#"SELECT id, user_id, identity AS "identity!", started_by FROM tiqr_enrollment_starts
           WHERE enrollment_secret_hash = $1 AND status = 'retrieved' AND secret_expires_at > $2
           FOR UPDATE"#,
        sha256(&otp),
        now
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::TiqrExpired)?;
    let account = accounts::account(&mut tx, start.user_id)
        .await?
        .ok_or(Error::NotFound)?;
    if account.status != UserStatus::Active {
        return Err(Error::AccountUnavailable(account.status));
    }
    let enrollment_id = Uuid::new_v4();
    let sealed = secrets.seal(enrollment_id, &secret)?;
    let name = default_name(now);
    sqlx::query!(
        "INSERT INTO tiqr_enrollments (id, user_id, identity, name, secret_nonce, secret_sealed, created_at, enrolled_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        enrollment_id,
        start.user_id,
        start.identity,
        name,
        sealed.nonce,
        sealed.ciphertext,
        now,
        start.started_by
    )
    .execute(&mut *tx)
    .await?;
    // Single use: the second secret is gone with this.
    sqlx::query!(
        "UPDATE tiqr_enrollment_starts SET status = 'processed', enrollment_secret_hash = NULL, enrollment_id = $2
         WHERE id = $1",
        start.id,
        enrollment_id
    )
    .execute(&mut *tx)
    .await?;
    let mut event = Event::new(
        audit::Action::TiqrEnroll,
        Outcome::Success,
        &account.username,
    )
    .target("user", account.id.to_string(), &account.username)
    .region(&account.region_code)
    .details(json!({
        "enrollment": enrollment_id,
        "name": name,
        "identity": start.identity,
        "started_by": start.started_by,
        // Usable once the enrolling browser's confirmation QR is answered (`tiqr.confirmed`).
        "confirmed": false,
        "language": form.language.as_deref().map(|l| l.chars().take(16).collect::<String>()),
    }));
    event = event.actor(account.id);
    audit::record(&mut tx, event, call).await?;
    tx.commit().await?;
    Ok(Reply::Ok)
}

/// "Téléphone du 23/11/2026": the user can rename it.
fn default_name(now: OffsetDateTime) -> String {
    format!(
        "Téléphone du {:02}/{:02}/{}",
        now.day(),
        u8::from(now.month()),
        now.year()
    )
}

/// The user's enrollments, newest first (revoked and unconfirmed ones only with `all`, for the
/// desk).
pub(crate) async fn enrollments_of(
    conn: &mut PgConnection,
    user_id: Uuid,
    all: bool,
) -> Result<Vec<Enrollment>> {
    Ok(sqlx::query_as!(
        Enrollment,
        r#"SELECT e.id, e.name, e.identity, e.state AS "state: TiqrState", e.failures, e.created_at,
                  e.last_used_at, e.revoked_at, e.enrolled_by, e.activated_at,
                  d.username AS "enrolled_by_username?"
           FROM tiqr_enrollments e LEFT JOIN users d ON d.id = e.enrolled_by
           WHERE e.user_id = $1 AND ($2 OR (e.state <> 'revoked' AND e.activated_at IS NOT NULL))
           ORDER BY e.created_at DESC, e.id"#,
        user_id,
        all
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// The signed-in user's own enrollments (not the revoked ones, nor those not confirmed).
pub async fn list_enrollments(portal: &Portal, user_id: Uuid) -> Result<Vec<Enrollment>> {
    let mut conn = portal.pool.acquire().await?;
    enrollments_of(&mut conn, user_id, false).await
}

/// Renames one of the user's own enrollments ("iPhone pro", "ancien téléphone"…).
pub async fn rename(
    portal: &Portal,
    user_id: Uuid,
    enrollment_id: Uuid,
    name: &str,
    call: Call<'_>,
) -> Result<()> {
    let name = name.trim();
    let len = name.chars().count();
    if len == 0 || len > 60 || name.chars().any(char::is_control) {
        return Err(Error::InvalidInput {
            field: "name",
            reason: crate::ids::IdError::Shape,
        });
    }
    let mut tx = portal.pool.begin().await?;
    let before = sqlx::query_scalar!(
        "SELECT name FROM tiqr_enrollments WHERE id = $1 AND user_id = $2 AND state <> 'revoked' FOR UPDATE",
        enrollment_id,
        user_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound)?;
    sqlx::query!(
        "UPDATE tiqr_enrollments SET name = $2 WHERE id = $1",
        enrollment_id,
        name
    )
    .execute(&mut *tx)
    .await?;
    let account = accounts::account(&mut tx, user_id)
        .await?
        .ok_or(Error::NotFound)?;
    audit::record(
        &mut tx,
        Event::new(
            audit::Action::TiqrRename,
            Outcome::Success,
            &account.username,
        )
        .actor(user_id)
        .target("user", user_id.to_string(), &account.username)
        .region(&account.region_code)
        .details(json!({ "enrollment": enrollment_id, "before": before, "after": name })),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Revokes one of the user's own enrollments (a phone given away). The app then gets
/// `INVALID_USERID`; the sealed secret is erased.
pub async fn revoke_own(
    portal: &Portal,
    user_id: Uuid,
    enrollment_id: Uuid,
    call: Call<'_>,
) -> Result<()> {
    let Call { now, .. } = call;
    let mut tx = portal.pool.begin().await?;
    let account = accounts::account(&mut tx, user_id)
        .await?
        .ok_or(Error::NotFound)?;
    let name = revoke_in(&mut tx, user_id, enrollment_id, user_id, now)
        .await?
        .ok_or(Error::NotFound)?;
    audit::record(
        &mut tx,
        Event::new(
            audit::Action::TiqrRevoke,
            Outcome::Success,
            &account.username,
        )
        .actor(user_id)
        .target("user", user_id.to_string(), &account.username)
        .region(&account.region_code)
        .details(json!({ "by": "user", "enrollment": enrollment_id, "name": name })),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Revokes the enrollment if it is the user's and not revoked yet; its name when it was.
pub(crate) async fn revoke_in(
    conn: &mut PgConnection,
    user_id: Uuid,
    enrollment_id: Uuid,
    by: Uuid,
    now: OffsetDateTime,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar!(
        "UPDATE tiqr_enrollments
         SET state = 'revoked', revoked_at = $3, revoked_by = $4, secret_nonce = NULL, secret_sealed = NULL
         WHERE id = $1 AND user_id = $2 AND state <> 'revoked'
         RETURNING name",
        enrollment_id,
        user_id,
        now,
        by
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// Unblocks a blocked enrollment of the user (failures forgotten); its name when it was blocked.
pub(crate) async fn unblock_in(
    conn: &mut PgConnection,
    user_id: Uuid,
    enrollment_id: Uuid,
) -> Result<Option<(String, i32)>> {
    let row = sqlx::query!(
        "UPDATE tiqr_enrollments e SET state = 'active', failures = 0, blocked_at = NULL
         FROM (SELECT id, failures FROM tiqr_enrollments WHERE id = $1 FOR UPDATE) old
         WHERE e.id = old.id AND e.user_id = $2 AND e.state = 'blocked'
         RETURNING e.name, old.failures",
        enrollment_id,
        user_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| (r.name, r.failures)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_either_case_are_the_same_bytes() {
        let lower = AppForm {
            secret: Some("ab".repeat(32)),
            ..AppForm::default()
        };
        let upper = AppForm {
            secret: Some("AB".repeat(32)),
            ..AppForm::default()
        };
        assert_eq!(parse_secret(&lower).ok(), parse_secret(&upper).ok());
        assert_eq!(parse_secret(&lower).ok().map(|s| s.len()), Some(32));
        for bad in ["ab".repeat(31), "zz".repeat(32), String::new()] {
            let form = AppForm {
                secret: Some(bad),
                ..AppForm::default()
            };
            assert!(parse_secret(&form).is_err());
        }
        assert!(parse_secret(&AppForm::default()).is_err());
    }

    #[test]
    fn default_names_carry_the_date() {
        let t = time::macros::datetime!(2026-11-03 09:00 UTC);
        assert_eq!(default_name(t), "Téléphone du 03/11/2026");
    }
}
