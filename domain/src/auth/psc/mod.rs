//! "Pro Santé Connect": sign-in through the national OpenID Connect provider of health
//! professionals (CPx card or e-CPS app, chosen on PSC's own page). The protocol (authorization
//! request, token exchange, ID token and userinfo verification) is at the server's edge
//! (`server::psc`); this module holds the rules:
//!
//! 1. [`start_flow`] keeps state, nonce and PKCE verifier in Postgres (any instance can finish the
//!    flow), keyed by the state's hash and bound to the browser; [`take_flow`] consumes them once.
//! 2. [`PscLogin::from_claims`] reads the verified claims: `SubjectNameID` (the national
//!    identifier, the same key as a card's — never `sub`), names, `authMode`, `acr`, and the
//!    FINESS numbers of the professional's activities.
//! 3. [`sign_in`]: a level below the deployment's minimum is refused; a known national identity
//!    (linked by card or by PSC, [`super::identity`]) signs in; an unknown one goes through the
//!    one-time linking shared with cards ([`super::linking`]).
//! 4. [`back_channel_logout`] ends the sessions PSC names (its `sid` or `sub`), once per token.

use std::cmp::Ordering;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use time::{Duration, OffsetDateTime};

use super::browser::{Browser, hash_of};
use super::pending_link::{self, Pending};
use super::{Portal, SignedIn, Verified, complete_sign_in, identity};
use crate::accounts::{self, UserStatus};
use crate::audit::{self, Event, Outcome};
use crate::call::Call;
use crate::error::{Error, Result};
use crate::ids::Finess;
use crate::mail::{self, messages, outbox};
use crate::refusals::{self, Refusal};
use crate::sessions::Token;
use model::sign_in::Method;

/// From the authorization request to the callback: PSC's page, the card's PIN or the phone.
pub const FLOW_LIFETIME: Duration = Duration::minutes(10);
/// A back-channel logout token older than this is refused (and its `jti` kept at least as long).
pub const LOGOUT_TOKEN_MAX_AGE: Duration = Duration::minutes(5);
/// Clock skew tolerated on a logout token's `iat` in the future.
pub const CLOCK_SKEW: Duration = Duration::minutes(1);

/// eIDAS assurance levels as PSC names them in `acr`: `eidas1` (low) < `eidas2` (substantial) <
/// `eidas3` (high).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Acr {
    #[serde(rename = "eidas1")]
    Eidas1,
    #[serde(rename = "eidas2")]
    Eidas2,
    #[serde(rename = "eidas3")]
    Eidas3,
}

impl Acr {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "eidas1" => Some(Acr::Eidas1),
            "eidas2" => Some(Acr::Eidas2),
            "eidas3" => Some(Acr::Eidas3),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Acr::Eidas1 => "eidas1",
            Acr::Eidas2 => "eidas2",
            Acr::Eidas3 => "eidas3",
        }
    }
}

/// Whether the `acr` PSC reported meets `min` (none required: any). An unknown or missing level
/// never meets a requirement.
pub fn level_suffices(acr: Option<&str>, min: Option<Acr>) -> bool {
    match min {
        None => true,
        Some(min) => acr
            .and_then(Acr::parse)
            .is_some_and(|a| a.cmp(&min) != Ordering::Less),
    }
}

/// The deployment's PSC rules.
#[derive(Debug, Clone, Copy, Default)]
pub struct Settings {
    /// Refuse sign-ins below this level.
    pub min_acr: Option<Acr>,
    /// Add memberships to the establishments PSC declares (of the account's region), audited.
    pub auto_memberships: bool,
}

// ---------------------------------------------------------------------------------------------
// 1. The flow's state.

pub use model::psc::{PscFailure, PscLogoutRefusal, PscStateRefusal};

pub mod claims;
pub use claims::{PscIdentity, PscLogin};

/// What the callback needs from its authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    pub nonce: String,
    pub pkce_verifier: String,
}

/// A random URL-safe value of 256 bits (state, nonce).
pub fn random_value() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

/// Keeps a new authorization request's nonce and PKCE verifier under the hash of its `state`,
/// bound to `browser`.
pub async fn start_flow(
    conn: &mut PgConnection,
    browser: Browser,
    state: &str,
    flow: &Flow,
    now: OffsetDateTime,
) -> Result<()> {
    // Expired flows go here too, not only in the housekeeping: an abandoned PSC page costs one row
    // for ten minutes.
    sqlx::query!("DELETE FROM psc_flows WHERE expires_at <= $1", now)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "INSERT INTO psc_flows (state_hash, browser_hash, nonce, pkce_verifier, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &hash_of(state)[..],
        &browser.hash()[..],
        flow.nonce,
        flow.pkce_verifier,
        now,
        now + FLOW_LIFETIME
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Consumes the flow of `state` (single use: a replayed callback finds nothing). A state presented
/// by another browser is burnt too.
pub async fn take_flow(
    conn: &mut PgConnection,
    browser: Browser,
    state: &str,
    now: OffsetDateTime,
) -> Result<Result<Flow, PscStateRefusal>> {
    if state.is_empty() {
        return Ok(Err(PscStateRefusal::Missing));
    }
    let row = sqlx::query!(
        "DELETE FROM psc_flows WHERE state_hash = $1
         RETURNING browser_hash, nonce, pkce_verifier, expires_at",
        &hash_of(state)[..]
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        None => Err(PscStateRefusal::Unknown),
        Some(r) if r.expires_at <= now => Err(PscStateRefusal::Expired),
        Some(r) if r.browser_hash.as_slice() != browser.hash().as_slice() => {
            Err(PscStateRefusal::OtherBrowser)
        }
        Some(r) => Ok(Flow {
            nonce: r.nonce,
            pkce_verifier: r.pkce_verifier,
        }),
    })
}

// ---------------------------------------------------------------------------------------------
// 3. Sign-in.

/// Where a PSC sign-in goes next.
#[derive(Debug)]
pub enum PscOutcome {
    SignedIn(SignedIn),
    /// Unknown identity: the browser must link it once; the token is for the linking page.
    LinkRequired {
        token: String,
    },
}

/// A refusal decided at the edge (the provider said no or could not be reached, the state or a
/// token did not verify, the claims lack `SubjectNameID`): one audit row with its reason.
pub async fn record_refusal(
    pool: &PgPool,
    reason: &str,
    details: Value,
    call: Call<'_>,
) -> Result<()> {
    let mut details = details;
    details["reason"] = json!(reason);
    // Anonymous (no account is known yet): repeated refusals are summarised.
    refusals::record(
        pool,
        Refusal {
            action: audit::Action::AuthPscSignIn,
            reason,
            outcome: Outcome::Failure,
        },
        call,
        async |_| {
            Ok(Event::new(
                audit::Action::AuthPscSignIn,
                Outcome::Failure,
                "Pro Santé Connect",
            )
            .details(details))
        },
    )
    .await?;
    Ok(())
}

fn login_details(login: &PscLogin) -> Value {
    json!({
        "national_id": login.identity.national_id.as_str(),
        "auth_mode": login.auth_mode,
        "acr": login.acr,
        "sid": login.sid,
    })
}

/// Signs in the professional PSC vouched for, or starts the one-time linking.
pub async fn sign_in(
    portal: &Portal,
    login: &PscLogin,
    browser: Browser,
    previous: Option<&Token>,
    call: Call<'_>,
) -> Result<PscOutcome> {
    let label = login.identity.display_name();
    if !level_suffices(login.acr.as_deref(), portal.psc.min_acr) {
        let mut details = login_details(login);
        details["reason"] = json!("level_too_weak");
        details["min_acr"] = json!(portal.psc.min_acr.map(Acr::as_str));
        let mut tx = portal.pool.begin().await?;
        audit::record(
            &mut tx,
            Event::new(audit::Action::AuthPscSignIn, Outcome::Denied, label).details(details),
            call,
        )
        .await?;
        tx.commit().await?;
        return Err(Error::PscLevelTooWeak);
    }

    // PSC's round trip is done (the code spent): one transaction, run once more if the database
    // lost it (a restart, a failover, a lost race), rather than sending the user through PSC again.
    crate::transaction!(&portal.pool, |tx| settle_login(
        tx, portal, login, browser, previous, call
    ))?
}

/// The body of [`sign_in`]'s transaction (it may run twice: the tokens it draws are thrown away
/// with a rolled-back run). A refusal that must be kept (and audited) is the inner `Err`.
async fn settle_login(
    tx: &mut PgConnection,
    portal: &Portal,
    login: &PscLogin,
    browser: Browser,
    previous: Option<&Token>,
    call: Call<'_>,
) -> Result<Result<PscOutcome>> {
    let Call { now, .. } = call;
    let label = login.identity.display_name();
    let national_id = login.identity.national_id.as_str();
    identity::lock(tx, national_id).await?;
    match identity::accounts_of(tx, national_id).await?.as_slice() {
        [user_id] => {
            let account = accounts::account(tx, *user_id)
                .await?
                .ok_or(Error::NotFound)?;
            if account.status != UserStatus::Active {
                let mut details = login_details(login);
                details["reason"] = json!("account_unavailable");
                details["status"] = json!(account.status);
                audit::record(
                    tx,
                    Event::new(audit::Action::AuthPscSignIn, Outcome::Denied, label)
                        .target("user", account.id.to_string(), &account.username)
                        .region(&account.region_code)
                        .details(details),
                    call,
                )
                .await?;
                if account.status == UserStatus::Dormant {
                    crate::auth::dormancy::sign_in_met(tx, portal, account.id, Method::Psc, call)
                        .await?;
                }
                return Ok(Err(Error::AccountUnavailable(account.status)));
            }
            sqlx::query!(
                "UPDATE psc_identities SET last_used_at = $2 WHERE national_id = $1",
                national_id,
                now
            )
            .execute(&mut *tx)
            .await?;
            let signed_in = finish_sign_in(tx, portal, &account, login, previous, call).await?;
            Ok(Ok(PscOutcome::SignedIn(signed_in)))
        }
        [] => {
            let token =
                pending_link::create(tx, browser, &Pending::Psc(login.clone()), now).await?;
            audit::record(
                tx,
                Event::new(audit::Action::AuthPscLinkRequired, Outcome::Success, label)
                    .details(login_details(login)),
                call,
            )
            .await?;
            Ok(Ok(PscOutcome::LinkRequired { token }))
        }
        _ => {
            // Linked to several accounts (cards linked before the one-identity rule): nobody
            // knows which one is meant.
            let mut details = login_details(login);
            details["reason"] = json!("identity_of_several_accounts");
            audit::record(
                tx,
                Event::new(audit::Action::AuthPscSignIn, Outcome::Denied, label).details(details),
                call,
            )
            .await?;
            Ok(Err(Error::CardOfAnotherAccount))
        }
    }
}

/// Links the PSC identity to the account (the one-time linking), audited, in the caller's
/// transaction.
pub(crate) async fn link(
    tx: &mut PgConnection,
    account: &accounts::Account,
    login: &PscLogin,
    call: Call<'_>,
) -> Result<()> {
    let Call { now, .. } = call;
    let id = &login.identity;
    // Linked meanwhile (another tab): the primary key answers; the professional starts again.
    match sqlx::query!(
        "INSERT INTO psc_identities (national_id, user_id, given_name, family_name, linked_at, last_used_at)
         VALUES ($1, $2, $3, $4, $5, $5)",
        id.national_id.as_str(),
        account.id,
        id.given_name,
        id.family_name,
        now
    )
    .execute(&mut *tx)
    .await
    {
        Ok(_) => {}
        Err(e) => {
            return Err(match Error::from(e) {
                Error::Conflict(_) => Error::PscLinkExpired,
                other => other,
            });
        }
    }
    // The holder learns of it at once: a link made with a phished password must not stay silent.
    if let Some(recipient) = mail::recipient(tx, account.id).await? {
        let message = messages::psc_linked(
            &recipient,
            &id.display_name(),
            id.national_id.as_str(),
            login.auth_mode.as_deref(),
        );
        outbox::enqueue(tx, &recipient, &message, now).await?;
    }
    audit::record(
        tx,
        Event::new(
            audit::Action::PscLinked,
            Outcome::Success,
            &account.username,
        )
        .actor(account.id)
        .target("user", account.id.to_string(), &account.username)
        .region(&account.region_code)
        .details(login_details(login)),
        call,
    )
    .await?;
    Ok(())
}

/// Every PSC path ends here: the memberships PSC declares (when the deployment wants them), the
/// session with PSC's facts, the routing and the sign-in audit row.
pub(crate) async fn finish_sign_in(
    tx: &mut PgConnection,
    portal: &Portal,
    account: &accounts::Account,
    login: &PscLogin,
    previous: Option<&Token>,
    call: Call<'_>,
) -> Result<SignedIn> {
    if portal.psc.auto_memberships {
        add_declared_memberships(tx, account, &login.identity.declared_finess, call).await?;
    }
    let facts = login.facts();
    complete_sign_in(
        tx,
        portal,
        Verified {
            user_id: account.id,
            username: &account.username,
            region_code: &account.region_code,
            method: Method::Psc,
            psc: Some(&facts),
        },
        previous,
        call,
    )
    .await
}

/// Adds the memberships PSC declares: establishments that exist in Passerelle, are active and
/// belong to the account's region (the same rule as the console's); one audit row each.
async fn add_declared_memberships(
    tx: &mut PgConnection,
    account: &accounts::Account,
    declared: &[Finess],
    call: Call<'_>,
) -> Result<()> {
    let Call { now, .. } = call;
    for finess in declared {
        let Some(e) = accounts::establishment_by_finess(tx, finess).await? else {
            continue;
        };
        let active = sqlx::query_scalar!("SELECT active FROM establishments WHERE id = $1", e.id)
            .fetch_one(&mut *tx)
            .await?;
        if !active || e.region_code != account.region_code {
            continue;
        }
        if accounts::add_membership(tx, account.id, e.id, now).await? {
            audit::record(
                tx,
                Event::new(
                    audit::Action::MembershipAdd,
                    Outcome::Success,
                    &account.username,
                )
                .actor(account.id)
                .target("establishment", &e.finess, &e.name)
                .region(&e.region_code)
                .details(json!({ "user": account.id.to_string(), "via": "psc" })),
                call,
            )
            .await?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 4. Back-channel logout.

/// A logout token whose signature, issuer, audience, event and absence of nonce were verified at
/// the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutToken {
    pub jti: String,
    pub iat: OffsetDateTime,
    pub sid: Option<String>,
    pub sub: Option<String>,
}

/// The age rule of a logout token, pure so that it is tested with any clock.
pub fn logout_token_fresh(iat: OffsetDateTime, now: OffsetDateTime) -> bool {
    iat <= now + CLOCK_SKEW && now - iat <= LOGOUT_TOKEN_MAX_AGE
}

/// Ends the sessions PSC names: those of its `sid` (and `sub` when both are given), or all of its
/// `sub`. Each token once (`jti`). Returns how many sessions ended.
pub async fn back_channel_logout(
    pool: &PgPool,
    token: &LogoutToken,
    call: Call<'_>,
) -> Result<u64> {
    let Call { now, .. } = call;
    let refuse = |reason: PscLogoutRefusal| async move {
        record_logout_refusal(pool, reason, call).await?;
        Err(Error::PscLogout(reason))
    };
    if token.sid.is_none() && token.sub.is_none() {
        return refuse(PscLogoutRefusal::NoSidNorSub).await;
    }
    if !logout_token_fresh(token.iat, now) {
        return refuse(PscLogoutRefusal::TooOld).await;
    }
    let mut tx = pool.begin().await?;
    sqlx::query!("DELETE FROM psc_logout_tokens WHERE expires_at <= $1", now)
        .execute(&mut *tx)
        .await?;
    let fresh = sqlx::query!(
        "INSERT INTO psc_logout_tokens (jti, received_at, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (jti) DO NOTHING",
        token.jti,
        now,
        now + LOGOUT_TOKEN_MAX_AGE + CLOCK_SKEW
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !fresh {
        drop(tx);
        return refuse(PscLogoutRefusal::Replayed).await;
    }
    let ended = sqlx::query!(
        r#"UPDATE sessions s SET ended_at = $3, end_reason = 'backchannel_logout'
           FROM users u
           WHERE u.id = s.user_id AND s.ended_at IS NULL
             AND (($1::text IS NOT NULL AND s.psc_sid = $1 AND ($2::text IS NULL OR s.psc_sub = $2))
                  OR ($1::text IS NULL AND s.psc_sub = $2))
           RETURNING s.user_id, u.username, u.region_code"#,
        token.sid,
        token.sub,
        now
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in &ended {
        audit::record(
            &mut tx,
            Event::new(
                audit::Action::AuthSignOut,
                Outcome::Success,
                "Pro Santé Connect",
            )
            .target("user", row.user_id.to_string(), &row.username)
            .region(&row.region_code)
            .details(json!({ "via": "psc_backchannel_logout", "sid": token.sid })),
            call,
        )
        .await?;
    }
    audit::record(
        &mut tx,
        Event::new(
            audit::Action::AuthPscBackchannelLogout,
            Outcome::Success,
            "Pro Santé Connect",
        )
        .details(json!({ "sid": token.sid, "sub": token.sub, "sessions_ended": ended.len() })),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(ended.len() as u64)
}

/// A logout token refused (signature, issuer, audience, event, nonce, age, replay): audited, and
/// summarised when repeated (the endpoint is open to anyone).
pub async fn record_logout_refusal(
    pool: &PgPool,
    reason: PscLogoutRefusal,
    call: Call<'_>,
) -> Result<()> {
    let reason = reason.as_str();
    refusals::record(
        pool,
        Refusal {
            action: audit::Action::AuthPscBackchannelLogout,
            reason,
            outcome: Outcome::Failure,
        },
        call,
        async |_| {
            Ok(Event::new(
                audit::Action::AuthPscBackchannelLogout,
                Outcome::Failure,
                "Pro Santé Connect",
            )
            .details(json!({ "reason": reason })))
        },
    )
    .await?;
    Ok(())
}

/// Forgets expired flows, pending links and logout `jti`s (housekeeping).
pub async fn purge_expired(conn: &mut PgConnection, now: OffsetDateTime) -> Result<()> {
    sqlx::query!("DELETE FROM psc_flows WHERE expires_at <= $1", now)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("DELETE FROM pending_links WHERE expires_at <= $1", now)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("DELETE FROM psc_logout_tokens WHERE expires_at <= $1", now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Value {
        json!({
            "sub": "f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:899700427885",
            "SubjectNameID": "899700427885",
            "preferred_username": "899700427885",
            "given_name": "Paul",
            "family_name": "Martin",
            "authMode": "CARD",
            "acr": "eidas3",
            "sid": "abc",
            "SubjectRefPro": {
                "codeCivilite": "M",
                "exercices": [{
                    "codeProfession": "10",
                    "activities": [
                        { "numeroFinessSite": "750712184", "numeroFinessetablissementJuridique": "750712184" },
                        { "numeroFinessSite": "690781810" },
                        { "numeroFinessSite": "123456789" },
                        { "raisonSocialeSite": "Cabinet sans FINESS" }
                    ]
                }]
            }
        })
    }

    #[test]
    fn claims_give_identity_finess_and_means() {
        let login = PscLogin::from_claims(&claims()).unwrap();
        assert_eq!(login.identity.national_id.as_str(), "899700427885");
        assert_eq!(login.identity.display_name(), "Paul Martin");
        assert_eq!(
            login
                .identity
                .declared_finess
                .iter()
                .map(Finess::as_str)
                .collect::<Vec<_>>(),
            ["750712184", "690781810"],
            "valid FINESS only, once each"
        );
        assert_eq!(login.auth_mode.as_deref(), Some("CARD"));
        assert_eq!(login.acr.as_deref(), Some("eidas3"));
        assert_eq!(login.sid.as_deref(), Some("abc"));
    }

    #[test]
    fn the_key_is_subject_name_id_never_sub() {
        let mut c = claims();
        c.as_object_mut().unwrap().remove("SubjectNameID");
        assert_eq!(
            PscLogin::from_claims(&c),
            Err(PscFailure::SubjectNameIdMissing)
        );
        c["SubjectNameID"] = json!("not-an-idnat");
        assert_eq!(
            PscLogin::from_claims(&c),
            Err(PscFailure::SubjectNameIdInvalid)
        );
        let mut c = claims();
        c.as_object_mut().unwrap().remove("SubjectRefPro");
        assert!(
            PscLogin::from_claims(&c)
                .unwrap()
                .identity
                .declared_finess
                .is_empty()
        );
    }

    #[test]
    fn acr_levels_are_ordered() {
        assert!(Acr::Eidas1 < Acr::Eidas2 && Acr::Eidas2 < Acr::Eidas3);
        assert!(level_suffices(Some("eidas3"), Some(Acr::Eidas2)));
        assert!(level_suffices(Some("eidas2"), Some(Acr::Eidas2)));
        assert!(!level_suffices(Some("eidas1"), Some(Acr::Eidas2)));
        assert!(!level_suffices(None, Some(Acr::Eidas1)));
        assert!(!level_suffices(Some("loa-high"), Some(Acr::Eidas1)));
        assert!(level_suffices(None, None));
        assert_eq!(Acr::parse("eidas2"), Some(Acr::Eidas2));
    }

    #[test]
    fn logout_tokens_age() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        assert!(logout_token_fresh(now, now));
        assert!(logout_token_fresh(now - Duration::minutes(4), now));
        assert!(!logout_token_fresh(now - Duration::minutes(6), now));
        assert!(logout_token_fresh(now + Duration::seconds(30), now));
        assert!(!logout_token_fresh(now + Duration::minutes(2), now));
    }
}
