//! Sign-in. Every mode ends in [`complete_sign_in`]: a new session, the establishment routing, and
//! an audit row, in one transaction.

pub mod account_links;
pub mod activity;
pub mod browser;
pub mod card;
pub mod code_step;
pub mod devices;
pub mod dormancy;
pub mod identity;
pub mod linking;
pub mod means;
pub mod otp;
pub mod passkey;
pub mod password;
pub mod pending_link;
pub mod psc;
pub mod tiqr;

use std::sync::Arc;

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::accounts;
use crate::audit::{self, Event, Outcome};
use crate::call::Call;
use crate::error::Result;
use crate::ids::{RegionCode, Username};
use crate::password::Passwords;
use crate::routing::Landing;
use crate::sessions::{self, NewSession, Token};
use crate::throttle;
use model::sign_in::Method;

/// The portal's domain services, built once at start-up and passed to every operation: the
/// database pool, the password hasher, and the deployment's rules (session lengths, throttles,
/// e-mail code, Pro Santé Connect). Not only sign-in's: the console and the import use it too.
#[derive(Debug)]
pub struct Portal {
    pub pool: PgPool,
    pub passwords: Arc<Passwords>,
    pub sessions: sessions::Policy,
    pub account_throttle: throttle::Policy,
    pub address_throttle: throttle::Policy,
    /// Every password sign-in needs the e-mail code (otherwise only accounts that require it).
    pub otp_for_all: bool,
    /// The portal's public origin, for links in e-mails (`https://host[:port]`).
    pub public_origin: String,
    /// How long an e-mailed sign-in code is valid (`otp::CODE_LIFETIME` by default).
    pub code_lifetime: time::Duration,
    /// The deployment's Pro Santé Connect rules (minimum level, automatic memberships).
    pub psc: psc::Settings,
    /// Keys the audit label of identifiers typed for no account (never stored as typed).
    pub identifier_key: crate::audit::IdentifierKey,
    /// The sign-in methods each role needs at least (the edge applies it to every request; the
    /// console's re-authentication here).
    pub sign_in_policy: crate::sign_in_policy::SignInPolicy,
    /// After how long without a sign-in an account becomes dormant.
    pub dormancy: dormancy::Rule,
}

/// After a right password: signed in, or the e-mail code is awaited first.
#[derive(Debug)]
pub enum PasswordOutcome {
    SignedIn(SignedIn),
    /// The second step's token (a cookie for the code page).
    CodeRequired {
        token: String,
    },
}

/// A successful sign-in: the cookie to set and where to go.
#[derive(Debug)]
pub struct SignedIn {
    pub token: Token,
    pub user_id: Uuid,
    pub landing: Landing,
}

/// The identity being signed in, as established by one of the modes.
#[derive(Debug, Clone)]
pub struct Verified<'a> {
    pub user_id: Uuid,
    pub username: &'a Username,
    pub region_code: &'a RegionCode,
    pub method: Method,
    /// A Pro Santé Connect sign-in: what PSC said about it (session and audit row).
    pub psc: Option<&'a sessions::PscFacts>,
}

/// Starts the session (rotating the browser's previous one), picks the landing page, selects the
/// establishment when there is only one, and audits it all, in the caller's transaction.
pub async fn complete_sign_in(
    tx: &mut sqlx::PgConnection,
    portal: &Portal,
    who: Verified<'_>,
    previous: Option<&Token>,
    call: Call<'_>,
) -> Result<SignedIn> {
    let establishments = accounts::establishments_of(tx, who.user_id).await?;
    let administrator = !accounts::roles_of(tx, who.user_id).await?.is_empty();
    let landing = Landing::for_establishments(&establishments, administrator);
    let establishment_id = match establishments.as_slice() {
        [only] => Some(only.id),
        _ => None,
    };
    let token = sessions::start(
        tx,
        NewSession {
            user_id: who.user_id,
            auth_method: who.method,
            establishment_id,
            previous,
            psc: who.psc,
        },
        call,
        portal.sessions,
    )
    .await?;
    let device = devices::sign_in_from(tx, portal, who.user_id, who.method, call).await?;
    dormancy::signed_in(tx, who.user_id, call.now).await?;
    audit::record(
        tx,
        Event::new(audit::Action::AuthSignIn, Outcome::Success, who.username)
            .actor(who.user_id)
            .target("user", who.user_id.to_string(), who.username)
            .region(who.region_code)
            .details({
                let mut details = json!({
                    "method": who.method.as_str(),
                    "establishments": establishments.len(),
                    "establishment": establishments.first().filter(|_| establishments.len() == 1).map(|e| e.finess.clone()),
                    "rotated_previous_session": previous.is_some(),
                    "new_device": device == devices::Seen::New,
                });
                if let Some(p) = who.psc {
                    details["auth_mode"] = json!(p.auth_mode);
                    details["acr"] = json!(p.acr);
                    details["psc_sid"] = json!(p.sid);
                }
                details
            }),
        call,
    )
    .await?;
    Ok(SignedIn {
        token,
        user_id: who.user_id,
        landing,
    })
}

/// Signs out: ends the session and audits it.
pub async fn sign_out(pool: &PgPool, token: &Token, call: Call<'_>) -> Result<()> {
    let Call { now, .. } = call;
    let session = sessions::load(
        pool,
        token,
        sessions::Policy {
            idle: time::Duration::MAX,
            absolute: time::Duration::MAX,
        },
        now,
    )
    .await?;
    let mut tx = pool.begin().await?;
    if sessions::end(&mut tx, token, "logout", now).await?
        && let Ok(s) = session
    {
        audit::record(
            &mut tx,
            Event::new(audit::Action::AuthSignOut, Outcome::Success, &s.username)
                .actor(s.user_id)
                .target("user", s.user_id.to_string(), &s.username)
                .region(&s.region_code),
            call,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The signed-in user types their password again (the admin console asks for it once the sign-in
/// is older than its limit). Same attempt limits as sign-in; audited.
pub async fn reauthenticate(
    portal: &Portal,
    session: &sessions::Session,
    password_typed: &str,
    call: Call<'_>,
) -> Result<()> {
    let Call { now, .. } = call;
    // The same strength as the sign-in the role needs: where the password is not enough to sign
    // in, it is not enough to confirm either (signing in again with a stronger means is).
    if !portal.sign_in_policy.accepts_password(&session.roles) {
        return Err(crate::Error::StrongerSignInRequired);
    }
    let checked = password::check(
        portal,
        audit::Action::AuthReauthenticate,
        session.username.as_str(),
        password_typed,
        call,
    )
    .await?;
    if checked.user.id != session.user_id {
        return Err(crate::Error::Forbidden);
    }
    let mut tx = portal.pool.begin().await?;
    checked.settle(&mut tx, now).await?;
    sessions::reauthenticated(&mut tx, session, now).await?;
    audit::record(
        &mut tx,
        Event::new(
            audit::Action::AuthReauthenticate,
            Outcome::Success,
            &session.username,
        )
        .actor(session.user_id)
        .target("user", session.user_id.to_string(), &session.username)
        .region(&session.region_code),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
