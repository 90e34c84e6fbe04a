//! Signing in with the TIQR app, top to bottom:
//! 1. [`start_sign_in`]: the page gets a sessionKey (32 hex) and a challenge (10 hex), 180 s,
//!    bound to its browser, and shows `tiqrauth://[identity@]host/sessionKey/challenge/sp/2`;
//! 2. [`app_login`]: the app posts `sessionKey`, `userId` and its OCRA `response`; the answer is
//!    checked with the attempt counters (per client address, then per enrollment, each claimed
//!    BEFORE verifying) and the app gets one of the exact [`Reply`] strings. A wrong response
//!    keeps the QR (the user retries the PIN); the right one uses it up;
//! 3. [`poll`]: the page asks with its own cookie (never with the sessionKey, which anyone who saw
//!    the QR has) and, once the app's response was right, gets its session through
//!    [`complete_sign_in`] (the establishment routing and the audit row);
//! 4. without network, the app shows its identity and the response: [`offline_code`] checks them
//!    through the same counters and signs the browser in.
//!
//! A phone enrolled but not yet confirmed answers only its confirmation QR
//! ([`start_confirmation`], see `enrollment`), which signs nobody in. A session signed in with a
//! phone confirmed less than `new_phone` ago is not a strong authentication
//! (`sessions::not_strong`): the admin console asks for the password.

use serde_json::json;
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::confirmation;
use super::{
    AppForm, AttemptsLeft, CONFIRMATION_LIFETIME, Identity, MAX_ATTEMPTS, Reply, SIGN_IN_LIFETIME,
    SecretBox, TiqrService, ocra, one_time_key, random_hex, secret_box::Sealed,
};
use crate::accounts::{self, UserStatus};
use crate::audit::{self, Client, Event, Outcome};
use crate::auth::browser::Browser;
use crate::auth::{Portal, SignedIn, Verified, complete_sign_in};
use crate::call::Call;
use crate::error::{Error, Result};
use crate::refusals::{self, Refusal};
use crate::sessions::{self, Token};
use crate::throttle::{self, Claim, Scope};
use model::sign_in::Method;
use model::tiqr::TiqrState;

/// How long after the app's right response the page may still pick its session up (a page that
/// polls every few seconds needs far less).
const PICK_UP_WITHIN: Duration = Duration::minutes(2);

/// What the page needs to show the sign-in QR.
#[derive(Debug, Clone)]
pub struct SignInStart {
    pub session_key: String,
    pub challenge: String,
    /// `tiqrauth://…/2`, for the QR and the link on mobile.
    pub url: String,
    /// The QR names this identity (the app does not ask which account).
    pub bound: bool,
}

/// What the page's poll learns.
#[derive(Debug)]
pub enum Poll {
    /// Waiting for the app.
    Pending,
    SignedIn(SignedIn),
    /// No QR under way, or it timed out: show a new one.
    Expired,
}

/// Makes a sign-in QR for `browser`. With `identity` (an enrollment the browser was told about,
/// say by a cookie of the last TIQR sign-in) the QR names it and only it may answer; an unknown
/// or revoked identity gives an unnamed QR, so the page says nothing about identities.
pub async fn start_sign_in(
    portal: &Portal,
    service: &TiqrService,
    browser: Browser,
    identity: Option<&Identity>,
    now: OffsetDateTime,
) -> Result<SignInStart> {
    let mut tx = portal.pool.begin().await?;
    // One QR per browser: a new one replaces the previous (and bounds what a browser can store);
    // long-dead rows of anyone go too.
    sqlx::query!(
        "DELETE FROM tiqr_sign_ins
         WHERE (browser_hash = $1 AND NOT confirms) OR expires_at < $2::timestamptz - interval '1 day'",
        &browser.hash()[..],
        now
    )
    .execute(&mut *tx)
    .await?;
    let bound = match identity {
        Some(identity) => sqlx::query_scalar!(
            "SELECT id FROM tiqr_enrollments
             WHERE identity = $1 AND state <> 'revoked' AND activated_at IS NOT NULL",
            identity.as_str()
        )
        .fetch_optional(&mut *tx)
        .await?
        .map(|id| (id, identity)),
        None => None,
    };
    let session_key = random_hex(16);
    let challenge = random_hex(5);
    sqlx::query!(
        "INSERT INTO tiqr_sign_ins (session_key, challenge, browser_hash, enrollment_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        session_key,
        challenge,
        &browser.hash()[..],
        bound.map(|(id, _)| id),
        now,
        now + SIGN_IN_LIFETIME
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let url = qr_url(
        service,
        bound.map(|(_, identity)| identity),
        &session_key,
        &challenge,
    );
    Ok(SignInStart {
        session_key,
        challenge,
        url,
        bound: bound.is_some(),
    })
}

/// Forgets sign-in QRs an hour after they expired (housekeeping): anyone can ask for a QR, so
/// rows of browsers that never come back must not pile up.
pub async fn purge_expired(conn: &mut PgConnection, now: OffsetDateTime) -> Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM tiqr_sign_ins WHERE expires_at < $1",
        now - Duration::hours(1)
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// `tiqrauth://[identity@]host/sessionKey/challenge/sp/2`.
fn qr_url(
    service: &TiqrService,
    identity: Option<&Identity>,
    session_key: &str,
    challenge: &str,
) -> String {
    let who = identity
        .map(|identity| format!("{}@", identity.as_str()))
        .unwrap_or_default();
    format!(
        "tiqrauth://{who}{}/{session_key}/{challenge}/{}/2",
        service.identifier,
        path_segment(&service.sp_identifier)
    )
}

/// The confirmation QR of a phone that has just enrolled from `browser` (in the caller's
/// transaction): named for its identity (only it may answer), bound to the enrolling browser,
/// valid until `until` (the end of the confirmation window). It replaces the browser's previous
/// confirmation QR; the sign-in poll never picks it up.
pub(crate) async fn start_confirmation(
    conn: &mut PgConnection,
    service: &TiqrService,
    browser: Browser,
    enrollment_id: Uuid,
    identity: &Identity,
    until: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<SignInStart> {
    sqlx::query!(
        "DELETE FROM tiqr_sign_ins WHERE browser_hash = $1 AND confirms",
        &browser.hash()[..]
    )
    .execute(&mut *conn)
    .await?;
    let session_key = random_hex(16);
    let challenge = random_hex(5);
    sqlx::query!(
        "INSERT INTO tiqr_sign_ins (session_key, challenge, browser_hash, enrollment_id, created_at, expires_at, confirms)
         VALUES ($1, $2, $3, $4, $5, $6, true)",
        session_key,
        challenge,
        &browser.hash()[..],
        enrollment_id,
        now,
        until
    )
    .execute(&mut *conn)
    .await?;
    let url = qr_url(service, Some(identity), &session_key, &challenge);
    Ok(SignInStart {
        session_key,
        challenge,
        url,
        bound: true,
    })
}

/// Percent-encodes everything but RFC 3986's unreserved characters (the sp identifier is a path
/// segment of the `tiqrauth://` URL).
fn path_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The app's login post (`operation=login`). Never fails on the app's input: every refusal is one
/// of the protocol's replies; `Err` is only for the server's own trouble (database, key), which
/// the edge answers with `INVALID_REQUEST` and a 500.
pub async fn app_login(
    portal: &Portal,
    secrets: &SecretBox,
    form: &AppForm,
    call: Call<'_>,
) -> Result<Reply> {
    let parsed = (|| {
        if form.operation.as_deref().is_some_and(|o| o != "login") {
            return None;
        }
        let session_key = one_time_key("sessionKey", form.session_key.as_deref()?).ok()?;
        let identity = Identity::parse(form.user_id.as_deref()?).ok()?;
        let response = six_digits(form.response.as_deref()?)?;
        Some((session_key, identity, response))
    })();
    let Some((session_key, identity, response)) = parsed else {
        // Nothing is stored for a request that does not parse (not even a counter).
        return Ok(Reply::InvalidRequest);
    };
    let answer = answer(
        portal,
        secrets,
        Lookup::SessionKey(&session_key),
        Some(&identity),
        &response,
        "app",
        call,
    )
    .await?;
    Ok(match answer {
        Answer::Reply(reply) => reply,
        // There is no "try later" in the protocol; INVALID_REQUEST neither blocks the account
        // in the apps nor costs the user an attempt.
        Answer::AddressThrottled(_) => Reply::InvalidRequest,
    })
}

/// The page's poll, with the browser's own cookie. Signs in once the app's response was right. A
/// phone confirmed less than `new_phone` ago gives a session that is not a strong authentication
/// (the admin console asks for the password).
pub async fn poll(
    portal: &Portal,
    browser: Browser,
    previous: Option<&Token>,
    new_phone: Duration,
    call: Call<'_>,
) -> Result<Poll> {
    let Call { now, .. } = call;
    let mut tx = portal.pool.begin().await?;
    let row = sqlx::query!(
        "SELECT session_key, expires_at, verified_at, verified_user, verified_enrollment, consumed_at
         FROM tiqr_sign_ins WHERE browser_hash = $1 AND NOT confirms
         ORDER BY created_at DESC LIMIT 1 FOR UPDATE",
        &browser.hash()[..]
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(Poll::Expired);
    };
    match (row.verified_at, row.verified_user, row.consumed_at) {
        (_, _, Some(_)) => Ok(Poll::Expired),
        (Some(at), Some(user_id), None) if at + PICK_UP_WITHIN > now => {
            sqlx::query!(
                "UPDATE tiqr_sign_ins SET consumed_at = $2 WHERE session_key = $1",
                row.session_key,
                now
            )
            .execute(&mut *tx)
            .await?;
            let account = accounts::account(&mut tx, user_id)
                .await?
                .ok_or(Error::NotFound)?;
            if account.status != UserStatus::Active {
                if account.status == UserStatus::Dormant {
                    crate::auth::dormancy::sign_in_met(
                        &mut tx,
                        portal,
                        user_id,
                        Method::Tiqr,
                        call,
                    )
                    .await?;
                }
                tx.commit().await?;
                return Err(Error::AccountUnavailable(account.status));
            }
            let signed_in = complete_sign_in(
                &mut tx,
                portal,
                Verified {
                    user_id,
                    username: &account.username,
                    region_code: &account.region_code,
                    method: Method::Tiqr,
                    psc: None,
                },
                previous,
                call,
            )
            .await?;
            let confirmed_at = match row.verified_enrollment {
                Some(id) => sqlx::query_scalar!(
                    "SELECT activated_at FROM tiqr_enrollments WHERE id = $1",
                    id
                )
                .fetch_optional(&mut *tx)
                .await?
                .flatten(),
                None => None,
            };
            if confirmed_at.is_none_or(|at| now - at < new_phone) {
                sessions::not_strong(&mut tx, &signed_in.token).await?;
            }
            tx.commit().await?;
            Ok(Poll::SignedIn(signed_in))
        }
        (None, _, _) if row.expires_at > now => Ok(Poll::Pending),
        _ => Ok(Poll::Expired),
    }
}

/// The offline form: the identity the app shows (needed when the QR named none) and its 6-digit
/// response to the QR this browser shows. Same counters as the app's post.
#[allow(clippy::too_many_arguments)] // the form's fields and the deployment's TIQR settings, each used once
pub async fn offline_code(
    portal: &Portal,
    secrets: &SecretBox,
    browser: Browser,
    identity: Option<&str>,
    code: &str,
    previous: Option<&Token>,
    new_phone: Duration,
    call: Call<'_>,
) -> Result<SignedIn> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let response = six_digits(&code).ok_or(Error::TiqrRequest("code"))?;
    let identity = match identity.map(str::trim).filter(|s| !s.is_empty()) {
        Some(typed) => Some(Identity::parse(typed)?),
        None => None,
    };
    let answer = answer(
        portal,
        secrets,
        Lookup::Browser(browser),
        identity.as_ref(),
        &response,
        "offline",
        call,
    )
    .await?;
    match answer {
        Answer::Reply(Reply::Ok) => match poll(portal, browser, previous, new_phone, call).await? {
            Poll::SignedIn(s) => Ok(s),
            Poll::Pending | Poll::Expired => Err(Error::TiqrExpired),
        },
        Answer::Reply(Reply::InvalidResponse(left)) => Err(Error::TiqrWrongResponse {
            attempts_left: left.get(),
        }),
        Answer::Reply(Reply::AccountBlocked) => Err(Error::TiqrBlocked),
        Answer::Reply(Reply::InvalidChallenge) => Err(Error::TiqrExpired),
        Answer::Reply(Reply::InvalidUserId) => Err(Error::TiqrUnknownIdentity),
        Answer::Reply(Reply::InvalidRequest) => Err(Error::TiqrRequest("userId")),
        Answer::AddressThrottled(until) => Err(Error::AddressThrottled { until }),
    }
}

/// Exactly six ASCII digits (the suite's `6`).
fn six_digits(s: &str) -> Option<String> {
    (s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.to_string())
}

/// How the QR being answered is found: by the app's sessionKey, or by the browser's cookie for
/// the offline form.
#[derive(Debug, Clone, Copy)]
enum Lookup<'a> {
    SessionKey(&'a str),
    Browser(Browser),
}

enum Answer {
    Reply(Reply),
    AddressThrottled(OffsetDateTime),
}

struct PendingSignIn {
    session_key: String,
    challenge: String,
    enrollment_id: Option<Uuid>,
    /// A confirmation QR (its enrollment is waiting to be confirmed; it signs nobody in).
    confirms: bool,
}

struct EnrollmentRow {
    id: Uuid,
    identity: String,
    user_id: Uuid,
    name: String,
    state: TiqrState,
    secret_nonce: Option<Vec<u8>>,
    secret_sealed: Option<Vec<u8>>,
    username: String,
    region_code: String,
    status: UserStatus,
    created_at: OffsetDateTime,
    /// `None`: enrolled, not confirmed yet; it may answer its confirmation QR only.
    activated_at: Option<OffsetDateTime>,
}

/// The throttle key of a client address for TIQR answers: kept apart from the password sign-in's
/// counter, so that phones behind a carrier's shared address do not lock the hospital's desktops
/// out of password sign-in (and the other way round).
fn tiqr_address_key(client: &Client) -> String {
    format!("tiqr {}", crate::address::key(client.ip.as_deref()))
}

/// Steps shared by the app's post and the offline form: the address's attempt slot, the QR, the
/// enrollment, its attempt slot, the OCRA check, and the outcome recorded with its audit rows.
async fn answer(
    portal: &Portal,
    secrets: &SecretBox,
    lookup: Lookup<'_>,
    identity: Option<&Identity>,
    response: &str,
    channel: &'static str,
    call: Call<'_>,
) -> Result<Answer> {
    let Call { client, now } = call;
    let address = tiqr_address_key(client);
    let label = identity.map_or("tiqr", Identity::as_str).to_string();

    // 1. The address's slot, claimed and committed before anything is looked up, so that probing
    // sessionKeys or identities counts too.
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
            drop(conn);
            if newly {
                let mut tx = portal.pool.begin().await?;
                failure_event(
                    &mut tx,
                    &label,
                    None,
                    channel,
                    "address_throttled",
                    json!({}),
                    call,
                )
                .await?;
                lockout_event(&mut tx, &label, until, call).await?;
                tx.commit().await?;
            } else {
                // Refused before any lookup: repeated ones are summarised (`refusals`).
                refusals::record(
                    &portal.pool,
                    Refusal {
                        action: audit::Action::TiqrFailure,
                        reason: "address_throttled",
                        outcome: Outcome::Failure,
                    },
                    call,
                    async |_| {
                        Ok(failure_of(
                            &label,
                            None,
                            channel,
                            "address_throttled",
                            json!({}),
                        ))
                    },
                )
                .await?;
            }
            return Ok(Answer::AddressThrottled(until));
        }
    };
    // Every refusal below costs the address its slot; only a right response gives it back.
    let refuse = async |conn: &mut PgConnection,
                        reply: Reply,
                        reason: &str,
                        enrollment: Option<&EnrollmentRow>,
                        details: serde_json::Value|
           -> Result<Answer> {
        let locked = throttle::failed(
            conn,
            Scope::Address,
            &address,
            address_attempt,
            portal.address_throttle,
            now,
        )
        .await?;
        if enrollment.is_none() && locked.is_none() {
            // No phone of anyone's was named (an unknown, expired or forged QR): anonymous, free
            // to send, so repeated ones are summarised (`refusals`). On the connection already
            // held, like below.
            refusals::record_on(
                conn,
                Refusal {
                    action: audit::Action::TiqrFailure,
                    reason,
                    outcome: Outcome::Failure,
                },
                call,
                async |_| Ok(failure_of(&label, None, channel, reason, details)),
            )
            .await?;
            return Ok(Answer::Reply(reply));
        }
        // On the connection already held: never wait for a second pooled connection while
        // holding one (a burst of app posts could exhaust the pool).
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        failure_event(&mut tx, &label, enrollment, channel, reason, details, call).await?;
        if let Some(until) = locked {
            lockout_event(&mut tx, &label, until, call).await?;
        }
        tx.commit().await?;
        Ok(Answer::Reply(reply))
    };

    // 2. The QR: unknown, expired or already answered rightly.
    let pending = match lookup {
        Lookup::SessionKey(key) => {
            sqlx::query_as!(
                PendingSignIn,
                "SELECT session_key, challenge, enrollment_id, confirms FROM tiqr_sign_ins
                 WHERE session_key = $1 AND expires_at > $2 AND verified_at IS NULL",
                key,
                now
            )
            .fetch_optional(&mut *conn)
            .await?
        }
        Lookup::Browser(browser) => {
            sqlx::query_as!(
                PendingSignIn,
                "SELECT session_key, challenge, enrollment_id, confirms FROM tiqr_sign_ins
                 WHERE browser_hash = $1 AND expires_at > $2 AND verified_at IS NULL AND NOT confirms
                 ORDER BY created_at DESC LIMIT 1",
                &browser.hash()[..],
                now
            )
            .fetch_optional(&mut *conn)
            .await?
        }
    };
    let Some(pending) = pending else {
        return refuse(
            &mut conn,
            Reply::InvalidChallenge,
            "challenge_invalid",
            None,
            json!({}),
        )
        .await;
    };

    // 3. The enrollment: the one the QR names, or the one the app (or the offline form) names.
    let enrollment = match (pending.enrollment_id, identity) {
        (Some(bound), typed) => {
            // The app answers a named QR with that identity; another one is not this QR's.
            enrollment_by_id(&mut conn, bound)
                .await?
                .filter(|e| typed.is_none_or(|t| t.as_str() == e.identity))
        }
        (None, Some(identity)) => enrollment_by_identity(&mut conn, identity).await?,
        (None, None) => {
            return refuse(
                &mut conn,
                Reply::InvalidRequest,
                "identity_missing",
                None,
                json!({}),
            )
            .await;
        }
    };
    let enrollment = match enrollment {
        Some(e) if e.state != TiqrState::Revoked => e,
        other => {
            return refuse(
                &mut conn,
                Reply::InvalidUserId,
                if other.is_some() {
                    "revoked"
                } else {
                    "unknown_identity"
                },
                other.as_ref(),
                json!({}),
            )
            .await;
        }
    };
    // A dormant account's phone proves its holder as well as any means: its answer is accepted,
    // and the browser's sign-in is then refused with the wake link (`dormancy`).
    // (Not a confirmation QR: a dormant account's phone is not confirmed.)
    let dormant = enrollment.status == UserStatus::Dormant && !pending.confirms;
    if enrollment.status != UserStatus::Active && !dormant {
        // The account is disabled or not usable: the app is told the identity is not valid
        // (ACCOUNT_BLOCKED would make iOS demand a new enrollment once the account is back).
        return refuse(
            &mut conn,
            Reply::InvalidUserId,
            "account_unavailable",
            Some(&enrollment),
            json!({ "status": enrollment.status }),
        )
        .await;
    }
    if enrollment.state == TiqrState::Blocked {
        return refuse(
            &mut conn,
            Reply::AccountBlocked,
            "blocked",
            Some(&enrollment),
            json!({}),
        )
        .await;
    }
    // A phone not confirmed yet answers its confirmation QR only (whoever scanned someone else's
    // enrolment QR cannot sign in with it); a confirmation QR is answered once, in its window.
    match (pending.confirms, enrollment.activated_at) {
        (false, None) => {
            return refuse(
                &mut conn,
                Reply::InvalidUserId,
                "not_confirmed",
                Some(&enrollment),
                json!({}),
            )
            .await;
        }
        (true, None) if enrollment.created_at + CONFIRMATION_LIFETIME <= now => {
            return refuse(
                &mut conn,
                Reply::InvalidUserId,
                "confirmation_expired",
                Some(&enrollment),
                json!({}),
            )
            .await;
        }
        (true, Some(_)) => {
            return refuse(
                &mut conn,
                Reply::InvalidChallenge,
                "already_confirmed",
                Some(&enrollment),
                json!({}),
            )
            .await;
        }
        _ => {}
    }
    // Opened before the attempt is counted: the server's own trouble must not cost the user.
    let secret = match (&enrollment.secret_nonce, &enrollment.secret_sealed) {
        (Some(nonce), Some(ciphertext)) => secrets.open(
            enrollment.id,
            &Sealed {
                nonce: nonce.clone(),
                ciphertext: ciphertext.clone(),
            },
        )?,
        _ => return Err(Error::Internal("tiqr enrollment without a secret".into())),
    };

    // 4. The enrollment's slot: one atomic increment, committed at once, so that parallel guesses
    // each get their own number and those past the limit are never verified.
    let attempt = sqlx::query_scalar!(
        "UPDATE tiqr_enrollments SET failures = failures + 1 WHERE id = $1 AND state = 'active' RETURNING failures",
        enrollment.id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(attempt) = attempt else {
        // Blocked or revoked in between.
        return refuse(
            &mut conn,
            Reply::AccountBlocked,
            "blocked",
            Some(&enrollment),
            json!({}),
        )
        .await;
    };
    if attempt > MAX_ATTEMPTS {
        block(&mut conn, enrollment.id, now).await?;
        return refuse(
            &mut conn,
            Reply::AccountBlocked,
            "blocked",
            Some(&enrollment),
            json!({}),
        )
        .await;
    }

    // 5. OCRA-1:HOTP-SHA1-6:QH10-S over the QR's challenge and sessionKey.
    let suite = ocra::Suite::parse(ocra::TIQR_SUITE)
        .map_err(|e| Error::Internal(format!("tiqr suite: {e}")))?;
    let right = suite
        .verify(
            &hex::encode(&secret),
            &ocra::Inputs {
                question: &pending.challenge,
                session: Some(&pending.session_key),
                ..ocra::Inputs::default()
            },
            response,
        )
        .map_err(|e| Error::Internal(format!("tiqr ocra: {e}")))?;

    if !right {
        let left = MAX_ATTEMPTS - attempt;
        return match AttemptsLeft::new(left) {
            Some(left) => {
                refuse(
                    &mut conn,
                    Reply::InvalidResponse(left),
                    "wrong_response",
                    Some(&enrollment),
                    json!({ "attempts_left": left.get() }),
                )
                .await
            }
            None => {
                // That was the last attempt: blocked, and the app is told so (never `:0`).
                let newly = block(&mut conn, enrollment.id, now).await?;
                let answer = refuse(
                    &mut conn,
                    Reply::AccountBlocked,
                    "wrong_response",
                    Some(&enrollment),
                    json!({ "attempts_left": 0 }),
                )
                .await?;
                if newly {
                    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                    audit::record(
                        &mut tx,
                        Event::new(audit::Action::TiqrBlocked, Outcome::Failure, &label)
                            .target("user", enrollment.user_id.to_string(), &enrollment.username)
                            .region(&enrollment.region_code)
                            .details(json!({
                                "enrollment": enrollment.id,
                                "name": enrollment.name,
                                "failures": attempt,
                            })),
                        call,
                    )
                    .await?;
                    tx.commit().await?;
                }
                Ok(answer)
            }
        };
    }

    // 6. Right: the QR is used up (once: a concurrent right answer loses), the counters start
    // afresh, and the browser's next poll signs it in.
    drop(conn);
    let mut tx = portal.pool.begin().await?;
    // A confirmation QR is spent at once: it never gives a session.
    let verified = sqlx::query!(
        "UPDATE tiqr_sign_ins SET verified_at = $2, verified_user = $3, verified_enrollment = $4,
                                  consumed_at = CASE WHEN confirms THEN $2 END
         WHERE session_key = $1 AND verified_at IS NULL AND expires_at > $2",
        pending.session_key,
        now,
        enrollment.user_id,
        enrollment.id
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    sqlx::query!(
        "UPDATE tiqr_enrollments SET failures = 0, last_used_at = $2 WHERE id = $1",
        enrollment.id,
        now
    )
    .execute(&mut *tx)
    .await?;
    throttle::succeeded(&mut tx, Scope::Address, &address).await?;
    if !verified {
        tx.commit().await?;
        return Ok(Answer::Reply(Reply::InvalidChallenge));
    }
    if pending.confirms {
        if !confirmation::confirm_in(&mut tx, enrollment.id, now).await? {
            tx.rollback().await?;
            return Ok(Answer::Reply(Reply::InvalidChallenge));
        }
        audit::record(
            &mut tx,
            Event::new(
                audit::Action::TiqrConfirmed,
                Outcome::Success,
                &enrollment.username,
            )
            .target("user", enrollment.user_id.to_string(), &enrollment.username)
            .region(&enrollment.region_code)
            .details(json!({
                "enrollment": enrollment.id,
                "name": enrollment.name,
                "identity": enrollment.identity,
            })),
            call,
        )
        .await?;
        tx.commit().await?;
        return Ok(Answer::Reply(Reply::Ok));
    }
    // The phone proved its holder; a dormant account is not signed in for all that (the browser's
    // poll refuses it and e-mails the wake link): audited as refused, not as a sign-in.
    let (outcome, reason) = if dormant {
        (Outcome::Denied, Some("account_dormant"))
    } else {
        (Outcome::Success, None)
    };
    audit::record(
        &mut tx,
        Event::new(audit::Action::TiqrSignIn, outcome, &enrollment.username)
            .actor(enrollment.user_id)
            .target("user", enrollment.user_id.to_string(), &enrollment.username)
            .region(&enrollment.region_code)
            .details(json!({
                "channel": channel,
                "enrollment": enrollment.id,
                "name": enrollment.name,
                "named_qr": pending.enrollment_id.is_some(),
                "reason": reason,
            })),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(Answer::Reply(Reply::Ok))
}

/// Blocks the enrollment; true when this call blocked it.
async fn block(conn: &mut PgConnection, id: Uuid, now: OffsetDateTime) -> Result<bool> {
    Ok(sqlx::query!(
        "UPDATE tiqr_enrollments SET state = 'blocked', blocked_at = $2 WHERE id = $1 AND state = 'active'",
        id,
        now
    )
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

async fn enrollment_by_id(conn: &mut PgConnection, id: Uuid) -> Result<Option<EnrollmentRow>> {
    Ok(sqlx::query_as!(
        EnrollmentRow,
        r#"SELECT e.id, e.identity, e.user_id, e.name, e.state AS "state: TiqrState", e.secret_nonce, e.secret_sealed,
                  u.username, u.region_code, u.status AS "status: UserStatus", e.created_at, e.activated_at
           FROM tiqr_enrollments e JOIN users u ON u.id = e.user_id WHERE e.id = $1"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?)
}

async fn enrollment_by_identity(
    conn: &mut PgConnection,
    identity: &Identity,
) -> Result<Option<EnrollmentRow>> {
    Ok(sqlx::query_as!(
        EnrollmentRow,
        r#"SELECT e.id, e.identity, e.user_id, e.name, e.state AS "state: TiqrState", e.secret_nonce, e.secret_sealed,
                  u.username, u.region_code, u.status AS "status: UserStatus", e.created_at, e.activated_at
           FROM tiqr_enrollments e JOIN users u ON u.id = e.user_id WHERE e.identity = $1"#,
        identity.as_str()
    )
    .fetch_optional(&mut *conn)
    .await?)
}

async fn failure_event(
    tx: &mut PgConnection,
    label: &str,
    enrollment: Option<&EnrollmentRow>,
    channel: &str,
    reason: &str,
    details: serde_json::Value,
    call: Call<'_>,
) -> Result<()> {
    let event = failure_of(label, enrollment, channel, reason, details);
    audit::record(tx, event, call).await?;
    Ok(())
}

fn failure_of(
    label: &str,
    enrollment: Option<&EnrollmentRow>,
    channel: &str,
    reason: &str,
    mut details: serde_json::Value,
) -> Event {
    details["channel"] = json!(channel);
    details["reason"] = json!(reason);
    let mut event = Event::new(audit::Action::TiqrFailure, Outcome::Failure, label);
    if let Some(e) = enrollment {
        details["enrollment"] = json!(e.id);
        event = event
            .target("user", e.user_id.to_string(), &e.username)
            .region(&e.region_code);
    }
    event.details(details)
}

async fn lockout_event(
    tx: &mut PgConnection,
    label: &str,
    until: OffsetDateTime,
    call: Call<'_>,
) -> Result<()> {
    audit::record(
        tx,
        Event::new(audit::Action::AuthLockout, Outcome::Failure, label)
            .details(json!({ "scope": "tiqr_address", "until": until.unix_timestamp() })),
        call,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_six_digits() {
        assert_eq!(six_digits("012345").as_deref(), Some("012345"));
        for bad in ["12345", "1234567", "12345a", "１２３４５６", ""] {
            assert_eq!(six_digits(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_sp_identifier_is_one_path_segment() {
        assert_eq!(path_segment("passerelle.example"), "passerelle.example");
        assert_eq!(path_segment("Santé IdF/x"), "Sant%C3%A9%20IdF%2Fx");
    }

    #[test]
    fn attempts_left_count_down_to_blocked() {
        let replies: Vec<&str> = (1..=MAX_ATTEMPTS)
            .map(|attempt| {
                AttemptsLeft::new(MAX_ATTEMPTS - attempt)
                    .map_or(Reply::AccountBlocked, Reply::InvalidResponse)
                    .as_str()
            })
            .collect();
        assert_eq!(
            replies,
            [
                "INVALID_RESPONSE:4",
                "INVALID_RESPONSE:3",
                "INVALID_RESPONSE:2",
                "INVALID_RESPONSE:1",
                "ACCOUNT_BLOCKED"
            ]
        );
    }
}
