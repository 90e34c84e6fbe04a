//! Passkeys (WebAuthn): phishing-resistant sign-in with the screen lock of a phone or a computer,
//! or a security key. The cryptography is webauthn-rs's; this module keeps its state and applies
//! the portal's rules.
//!
//! Registering, from "Mes moyens de connexion":
//! 1. [`registration_options`]: the signed-in holder asks; the password is asked again unless the
//!    session's last strong authentication is less than [`RECENT_AUTHENTICATION`] old (as for a
//!    TIQR phone: an unattended session must not be enough to add a way in). The options (a
//!    challenge, the account, the passkeys it already has) go to the browser, the state into
//!    `passkey_ceremonies`, bound to the browser and the account;
//! 2. the browser has the authenticator create a discoverable credential (it keeps the account's
//!    handle, so that signing in needs no username);
//! 3. [`register`]: the answer is checked against the state (consumed), the passkey stored under
//!    the name the holder gave, the holder e-mailed, all audited in one transaction.
//!
//! Signing in, from the sign-in page, without a username:
//! 1. [`sign_in_options`]: a challenge for whatever passkey the browser offers, state bound to the
//!    browser;
//! 2. [`sign_in`]: the state is consumed first (one answer per challenge); the passkey is found by
//!    its credential id and the account handle the authenticator returned; the signature, the
//!    origin, user verification and the counter are checked; the counter moves forward in the
//!    same transaction as the session ([`super::complete_sign_in`]). A counter that does not move
//!    forward means a copied authenticator: refused and audited against the account.
//!
//! The state lives in PostgreSQL, so any instance finishes a ceremony another one started. The
//! relying party is the portal's public origin: its host name is the passkeys' scope (an IP
//! address cannot be one, so a portal published under an address has no passkeys).

use serde_json::{Value, json};
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;
use webauthn_rs::prelude::{
    CreationChallengeResponse, CredentialID, DiscoverableAuthentication, Passkey,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url, Webauthn, WebauthnBuilder, WebauthnError,
};
use webauthn_rs_proto::{AuthenticatorSelectionCriteria, ResidentKeyRequirement};

use super::browser::Browser;
use super::{Portal, SignedIn, Verified, complete_sign_in, password};
use crate::accounts::{self, UserStatus};
use crate::audit::{self, Event, Outcome};
use crate::call::Call;
use crate::error::{Error, Result};
use crate::ids::Username;
use crate::mail::{self, messages, outbox};
use crate::sessions::{self, Session, Token};
use model::passkey::PasskeyRefusal;
use model::sign_in::Method;

/// How long the browser has to answer (the authenticator's prompt, a PIN typed on a key).
pub const CEREMONY_LIFETIME: Duration = Duration::minutes(5);
/// A sign-in this recent lets the holder add a passkey without typing the password again.
pub const RECENT_AUTHENTICATION: Duration = Duration::minutes(5);
/// The most passkeys one account may hold (a phone, a computer, two keys… and some to spare).
pub const MAX_PER_ACCOUNT: i64 = 10;

/// The portal's relying party, built once at start-up from its public origin.
pub struct PasskeyService {
    webauthn: Webauthn,
    /// The relying party id (the public host name), for the page and the logs.
    pub rp_id: String,
}

impl std::fmt::Debug for PasskeyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyService")
            .field("rp_id", &self.rp_id)
            .finish_non_exhaustive()
    }
}

impl PasskeyService {
    /// The relying party of `public_origin` (`https://host[:port]`), or `None` when its host is
    /// not a domain name: browsers refuse an IP address as a passkey's scope.
    pub fn for_origin(public_origin: &str) -> Result<Option<Self>> {
        let origin = Url::parse(public_origin)
            .map_err(|e| Error::Internal(format!("public origin {public_origin}: {e}")))?;
        let Some(rp_id) = origin.domain().map(str::to_string) else {
            return Ok(None);
        };
        let webauthn = WebauthnBuilder::new(&rp_id, &origin)
            .and_then(|b| b.rp_name("Passerelle").build())
            .map_err(|e| Error::Internal(format!("passkey relying party {rp_id}: {e}")))?;
        Ok(Some(Self { webauthn, rp_id }))
    }
}

/// One of an account's passkeys, as the holder's page and the console list them.
#[derive(Debug, Clone)]
pub struct PasskeyInfo {
    pub id: Uuid,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

/// The account's passkeys, newest first.
pub async fn of_user(conn: &mut PgConnection, user_id: Uuid) -> Result<Vec<PasskeyInfo>> {
    Ok(sqlx::query_as!(
        PasskeyInfo,
        "SELECT id, name, created_at, last_used_at FROM passkeys
         WHERE user_id = $1 ORDER BY created_at DESC, id",
        user_id
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Removes one passkey of `user_id` in the caller's transaction; its name, or `None` when it is
/// not one of the account's. (Audit and e-mail are the caller's: `auth::means`.)
pub(crate) async fn remove_in(
    tx: &mut PgConnection,
    user_id: Uuid,
    id: Uuid,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar!(
        "DELETE FROM passkeys WHERE id = $1 AND user_id = $2 RETURNING name",
        id,
        user_id
    )
    .fetch_optional(&mut *tx)
    .await?)
}

/// Whether the holder must type the password before adding a passkey.
pub fn password_needed(session: &Session, now: OffsetDateTime) -> bool {
    !sessions::recently_authenticated(session, RECENT_AUTHENTICATION, now)
}

fn refused(reason: PasskeyRefusal) -> Error {
    Error::PasskeyRefused(reason)
}

/// Keeps a ceremony's state for the browser, replacing the one of the same kind it had (which
/// also bounds the rows an anonymous browser can create), and clears long-expired ones.
async fn keep_state(
    conn: &mut PgConnection,
    browser: Browser,
    kind: &str,
    user_id: Option<Uuid>,
    state: Value,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query!(
        "DELETE FROM passkey_ceremonies WHERE expires_at < $1::timestamptz - interval '1 hour'",
        now
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO passkey_ceremonies (browser_hash, kind, user_id, state, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (browser_hash, kind) DO UPDATE
           SET user_id = EXCLUDED.user_id, state = EXCLUDED.state,
               created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at",
        &browser.hash()[..],
        kind,
        user_id,
        state,
        now,
        now + CEREMONY_LIFETIME
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Takes the browser's ceremony of `kind` (single use), if it is still valid (and, for a
/// registration, the account's).
async fn take_state(
    conn: &mut PgConnection,
    browser: Browser,
    kind: &str,
    user_id: Option<Uuid>,
    now: OffsetDateTime,
) -> Result<Option<Value>> {
    Ok(sqlx::query_scalar!(
        "DELETE FROM passkey_ceremonies
         WHERE browser_hash = $1 AND kind = $2 AND user_id IS NOT DISTINCT FROM $3
           AND expires_at > $4
         RETURNING state",
        &browser.hash()[..],
        kind,
        user_id,
        now
    )
    .fetch_optional(&mut *conn)
    .await?)
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::Internal(format!("passkey state: {e}")))
}

/// Step 1 of registering: the options for the browser's `navigator.credentials.create`, as JSON
/// (`{"publicKey": …}`). `password_typed` is checked when given (sign-in's attempt counters);
/// empty while it is needed is `ReauthenticationRequired` (no attempt counted).
pub async fn registration_options(
    portal: &Portal,
    service: &PasskeyService,
    session: &Session,
    password_typed: &str,
    browser: Browser,
    call: Call<'_>,
) -> Result<Value> {
    let Call { now, .. } = call;
    let checked = password::again_unless_recent(
        portal,
        session,
        password_typed,
        RECENT_AUTHENTICATION,
        audit::Action::PasskeyAdd,
        call,
    )
    .await?;
    let mut tx = portal.pool.begin().await?;
    if let Some(checked) = &checked {
        checked.settle(&mut tx, now).await?;
    }
    let account = accounts::account(&mut tx, session.user_id)
        .await?
        .ok_or(Error::NotFound)?;
    if account.status != UserStatus::Active {
        return Err(Error::AccountUnavailable(account.status));
    }
    let existing: Vec<CredentialID> = sqlx::query_scalar!(
        "SELECT credential_id FROM passkeys WHERE user_id = $1",
        session.user_id
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    if existing.len() as i64 >= MAX_PER_ACCOUNT {
        return Err(refused(PasskeyRefusal::TooMany));
    }
    let display_name = format!("{} {}", session.given_name, session.family_name);
    let (mut options, state) = service
        .webauthn
        .start_passkey_registration(
            session.user_id,
            session.username.as_str(),
            display_name.trim(),
            Some(existing),
        )
        .map_err(|e| Error::Internal(format!("passkey registration: {e}")))?;
    require_discoverable(&mut options);
    keep_state(
        &mut tx,
        browser,
        "registration",
        Some(session.user_id),
        to_json::<PasskeyRegistration>(&state)?,
        now,
    )
    .await?;
    tx.commit().await?;
    to_json(&options)
}

/// Signing in without a username needs the authenticator to keep the credential with the
/// account's handle (a discoverable credential, "resident key"); webauthn-rs leaves the choice to
/// the authenticator, which many make "no" (security keys above all). The credential's kind is
/// not part of what the answer is checked against.
fn require_discoverable(options: &mut CreationChallengeResponse) {
    let selection = options
        .public_key
        .authenticator_selection
        .get_or_insert_with(AuthenticatorSelectionCriteria::default);
    selection.resident_key = Some(ResidentKeyRequirement::Required);
    selection.require_resident_key = true;
}

/// A registered passkey, for the page's confirmation.
#[derive(Debug, Clone)]
pub struct Registered {
    pub id: Uuid,
    pub name: String,
}

/// Step 3 of registering: the browser's answer (`PublicKeyCredential.toJSON()`), checked against
/// the state of step 1, stored under `name` (or a dated default), the holder e-mailed, audited.
/// A refused answer is audited on the account too (`passkey.add`, failure, with its reason): a
/// session trying to plant a credential is something the desk should see.
pub async fn register(
    portal: &Portal,
    service: &PasskeyService,
    session: &Session,
    browser: Browser,
    name: Option<&str>,
    answer: &str,
    call: Call<'_>,
) -> Result<Registered> {
    match add(portal, service, session, browser, name, answer, call).await {
        Err(Error::PasskeyRefused(reason)) => {
            let mut tx = portal.pool.begin().await?;
            audit::record(
                &mut tx,
                Event::new(
                    audit::Action::PasskeyAdd,
                    Outcome::Failure,
                    &session.username,
                )
                .actor(session.user_id)
                .target("user", session.user_id.to_string(), &session.username)
                .region(&session.region_code)
                .details(json!({ "reason": reason.as_str() })),
                call,
            )
            .await?;
            tx.commit().await?;
            Err(refused(reason))
        }
        other => other,
    }
}

async fn add(
    portal: &Portal,
    service: &PasskeyService,
    session: &Session,
    browser: Browser,
    name: Option<&str>,
    answer: &str,
    call: Call<'_>,
) -> Result<Registered> {
    let Call { now, .. } = call;
    let user_id = session.user_id;
    let mut tx = portal.pool.begin().await?;
    let Some(state) = take_state(&mut tx, browser, "registration", Some(user_id), now).await?
    else {
        return Err(refused(PasskeyRefusal::CeremonyExpired));
    };
    // The state is spent whatever happens next: an answer is good for one attempt.
    tx.commit().await?;
    let state: PasskeyRegistration = serde_json::from_value(state)
        .map_err(|e| Error::Internal(format!("passkey state: {e}")))?;
    let answer: RegisterPublicKeyCredential =
        serde_json::from_str(answer).map_err(|_| refused(PasskeyRefusal::Invalid))?;
    let passkey = match service
        .webauthn
        .finish_passkey_registration(&answer, &state)
    {
        Ok(passkey) => passkey,
        Err(e) => {
            tracing::info!(error = %e, "passkey registration refused");
            return Err(refused(PasskeyRefusal::Invalid));
        }
    };
    // The table keeps ids of 16 bytes or more (what authenticators make); webauthn-rs checks the
    // upper bound only.
    if passkey.cred_id().len() < 16 {
        return Err(refused(PasskeyRefusal::Invalid));
    }
    let name = name.map_or_else(|| default_name(now), str::to_string);
    let id = Uuid::new_v4();
    let mut tx = portal.pool.begin().await?;
    // The same lock as every change of the account's means: a desk securing the account and a
    // registration are serialised.
    sqlx::query!("SELECT id FROM users WHERE id = $1 FOR UPDATE", user_id)
        .fetch_one(&mut *tx)
        .await?;
    let account = accounts::account(&mut tx, user_id)
        .await?
        .ok_or(Error::NotFound)?;
    if account.status != UserStatus::Active {
        return Err(Error::AccountUnavailable(account.status));
    }
    // Counted again under the account's lock: registrations from several browsers at once do not
    // go past the limit.
    let held = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM passkeys WHERE user_id = $1"#,
        user_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if held >= MAX_PER_ACCOUNT {
        return Err(refused(PasskeyRefusal::TooMany));
    }
    let inserted = sqlx::query!(
        "INSERT INTO passkeys (id, user_id, credential_id, name, credential, sign_count, created_at)
         VALUES ($1, $2, $3, $4, $5, 0, $6)
         ON CONFLICT (credential_id) DO NOTHING",
        id,
        user_id,
        passkey.cred_id().as_slice(),
        name,
        to_json(&passkey)?,
        now
    )
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(refused(PasskeyRefusal::AlreadyRegistered));
    }
    if let Some(recipient) = mail::recipient(&mut tx, user_id).await? {
        let message = messages::passkey_added(&recipient, &name, now);
        outbox::enqueue(&mut tx, &recipient, &message, now).await?;
    }
    audit::record(
        &mut tx,
        Event::new(
            audit::Action::PasskeyAdd,
            Outcome::Success,
            &account.username,
        )
        .actor(user_id)
        .target("user", user_id.to_string(), &account.username)
        .region(&account.region_code)
        .details(json!({ "passkey": id, "name": name, "rp_id": service.rp_id })),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(Registered { id, name })
}

/// "Clé d'accès du 04/12/2026", for a passkey the holder did not name.
fn default_name(now: OffsetDateTime) -> String {
    let date = messages::paris_date(now);
    format!(
        "Clé d'accès du {:02}/{:02}/{}",
        date.day(),
        u8::from(date.month()),
        date.year()
    )
}

/// Step 1 of signing in: the options for the browser's `navigator.credentials.get`, as JSON
/// (`{"publicKey": …}`, no credential named: the authenticator offers its own).
pub async fn sign_in_options(
    conn: &mut PgConnection,
    service: &PasskeyService,
    browser: Browser,
    now: OffsetDateTime,
) -> Result<Value> {
    let (mut options, state): (RequestChallengeResponse, DiscoverableAuthentication) = service
        .webauthn
        .start_discoverable_authentication()
        .map_err(|e| Error::Internal(format!("passkey authentication: {e}")))?;
    // webauthn-rs asks for the browser's autofill ("conditional") prompt; the page asks when the
    // professional presses its button instead.
    options.mediation = None;
    keep_state(conn, browser, "authentication", None, to_json(&state)?, now).await?;
    to_json(&options)
}

/// Step 2 of signing in: the browser's answer, checked, and the session started.
pub async fn sign_in(
    portal: &Portal,
    service: &PasskeyService,
    browser: Browser,
    answer: &str,
    previous: Option<&Token>,
    call: Call<'_>,
) -> Result<SignedIn> {
    let Call { now, .. } = call;
    let state = {
        let mut conn = portal.pool.acquire().await?;
        take_state(&mut conn, browser, "authentication", None, now).await?
    };
    let Some(state) = state else {
        return Err(refusal(portal, PasskeyRefusal::CeremonyExpired, None, call).await);
    };
    let state: DiscoverableAuthentication = serde_json::from_value(state)
        .map_err(|e| Error::Internal(format!("passkey state: {e}")))?;
    let Ok(answer) = serde_json::from_str::<PublicKeyCredential>(answer) else {
        return Err(refusal(portal, PasskeyRefusal::Invalid, None, call).await);
    };
    let Ok((user_id, credential_id)) = service
        .webauthn
        .identify_discoverable_authentication(&answer)
    else {
        return Err(refusal(portal, PasskeyRefusal::Invalid, None, call).await);
    };
    let row = sqlx::query!(
        r#"SELECT p.id, p.credential, p.sign_count, u.username AS "username: Username",
                  u.region_code AS "region_code: crate::ids::RegionCode", u.status AS "status: UserStatus"
           FROM passkeys p JOIN users u ON u.id = p.user_id
           WHERE p.credential_id = $1 AND p.user_id = $2"#,
        credential_id,
        user_id
    )
    .fetch_optional(&portal.pool)
    .await?;
    let Some(row) = row else {
        return Err(refusal(portal, PasskeyRefusal::Unknown, None, call).await);
    };
    let owner = Owner {
        user_id,
        username: &row.username,
        region_code: &row.region_code,
        passkey_id: row.id,
    };
    let mut passkey: Passkey = serde_json::from_value(row.credential)
        .map_err(|e| Error::Internal(format!("stored passkey {}: {e}", row.id)))?;
    let result = match service
        .webauthn
        .finish_discoverable_authentication_v2(&answer, state, &passkey)
    {
        Ok(result) => result,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            return Err(refusal(portal, PasskeyRefusal::CounterReplay, Some(&owner), call).await);
        }
        Err(e) => {
            tracing::info!(error = %e, "passkey sign-in refused");
            return Err(refusal(portal, PasskeyRefusal::Invalid, Some(&owner), call).await);
        }
    };
    if row.status != UserStatus::Active {
        audit_unavailable(portal, &owner, row.status, call).await?;
        return Err(Error::AccountUnavailable(row.status));
    }
    passkey.update_credential(&result);
    let counter = i64::from(result.counter());
    let credential = to_json(&passkey)?;
    let outcome = crate::transaction!(&portal.pool, |tx| settle(
        tx,
        portal,
        &owner,
        &credential,
        row.sign_count,
        counter,
        previous,
        call
    ))?;
    match outcome {
        Ok(signed_in) => Ok(signed_in),
        Err(reason) => Err(refusal(portal, reason, Some(&owner), call).await),
    }
}

/// The account a passkey belongs to, for the audit rows of its sign-in.
struct Owner<'a> {
    user_id: Uuid,
    username: &'a Username,
    region_code: &'a crate::ids::RegionCode,
    passkey_id: Uuid,
}

/// The sign-in's transaction: the counter moves forward (only), the passkey is marked used, the
/// session starts. It may run twice (the database lost the first): nothing outside it matters.
#[allow(clippy::too_many_arguments)]
async fn settle(
    tx: &mut PgConnection,
    portal: &Portal,
    owner: &Owner<'_>,
    credential: &Value,
    seen: i64,
    counter: i64,
    previous: Option<&Token>,
    call: Call<'_>,
) -> Result<std::result::Result<SignedIn, PasskeyRefusal>> {
    let Call { now, .. } = call;
    // A passkey without a counter (0, most synchronised ones) has nothing to move; one with a
    // counter must be above what any sign-in stored since the row was read (another instance may
    // have accepted the same answer's twin from a copied authenticator meanwhile).
    let updated = sqlx::query!(
        "UPDATE passkeys SET credential = $2, sign_count = $3, last_used_at = $4
         WHERE id = $1 AND (sign_count < $3 OR ($3 = 0 AND sign_count = 0))",
        owner.passkey_id,
        credential,
        counter,
        now
    )
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        tracing::warn!(passkey = %owner.passkey_id, seen, counter, "passkey counter did not move forward");
        return Ok(Err(PasskeyRefusal::CounterReplay));
    }
    let signed_in = complete_sign_in(
        tx,
        portal,
        Verified {
            user_id: owner.user_id,
            username: owner.username,
            region_code: owner.region_code,
            method: Method::Passkey,
            psc: None,
        },
        previous,
        call,
    )
    .await?;
    Ok(Ok(signed_in))
}

/// Audits a refused passkey sign-in and gives the error to return. Without an account (no
/// ceremony, an unreadable or unknown passkey) it is an anonymous refusal, summarised per
/// address; with one (a bad signature, a counter that went backwards) it is the account's own
/// row, so the desk sees it on the account.
async fn refusal(
    portal: &Portal,
    reason: PasskeyRefusal,
    owner: Option<&Owner<'_>>,
    call: Call<'_>,
) -> Error {
    let recorded = match owner {
        None => crate::refusals::record(
            &portal.pool,
            crate::refusals::Refusal {
                action: audit::Action::AuthPasskeySignIn,
                reason: reason.as_str(),
                outcome: Outcome::Failure,
            },
            call,
            async |_| {
                Ok(Event::new(
                    audit::Action::AuthPasskeySignIn,
                    Outcome::Failure,
                    "clé d'accès",
                )
                .details(json!({ "reason": reason.as_str() })))
            },
        )
        .await
        .map(drop),
        Some(owner) => {
            audit_owner(
                portal,
                owner,
                json!({ "reason": reason.as_str(), "passkey": owner.passkey_id }),
                call,
            )
            .await
        }
    };
    match recorded {
        Ok(()) => refused(reason),
        Err(e) => e,
    }
}

async fn audit_unavailable(
    portal: &Portal,
    owner: &Owner<'_>,
    status: UserStatus,
    call: Call<'_>,
) -> Result<()> {
    if status == UserStatus::Dormant {
        let mut conn = portal.pool.acquire().await?;
        super::dormancy::sign_in_met(&mut conn, portal, owner.user_id, Method::Passkey, call)
            .await?;
    }
    audit_owner(
        portal,
        owner,
        json!({ "reason": "account_unavailable", "status": status.as_str(), "passkey": owner.passkey_id }),
        call,
    )
    .await
}

async fn audit_owner(
    portal: &Portal,
    owner: &Owner<'_>,
    details: Value,
    call: Call<'_>,
) -> Result<()> {
    let mut tx = portal.pool.begin().await?;
    audit::record(
        &mut tx,
        Event::new(
            audit::Action::AuthPasskeySignIn,
            Outcome::Failure,
            owner.username,
        )
        .target("user", owner.user_id.to_string(), owner.username)
        .region(owner.region_code)
        .details(details),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
