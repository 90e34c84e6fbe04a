//! The one-time linking of a strong identity (a CPx card, or a Pro Santé Connect identity) that
//! no account knows yet: "Connectez votre compte professionnel…". One code path for both means:
//!
//! 1. the sign-in flow found an unknown identity and calls [`create`] (a pending link bound to the
//!    browser, 10 minutes, only the token's hash stored);
//! 2. the page shows what it is about ([`pending`]);
//! 3. [`link_and_sign_in`] asks ONCE for the account's username and password (the password
//!    sign-in's check, with its brute-force counters and locks), checks the linking rules (one
//!    national identity ↔ one account, RPPS of the account), links, and signs in — in one
//!    transaction with its audit rows. A refusal links nothing.

use serde_json::json;
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};

use super::card::{self, Browser, CardIdentity, Trust};
use super::psc::{self, PscLogin};
use super::{Auth, SignedIn, identity, password};
use crate::accounts;
use crate::audit::{self, Client, Event, Outcome};
use crate::error::{Error, Result};
use crate::ids::NationalIdKind;
use crate::sessions::Token;

/// Time to type a username and password on the linking page.
pub const LINK_LIFETIME: Duration = Duration::minutes(10);

/// The identity waiting to be linked.
#[derive(Debug, Clone)]
pub enum Pending {
    /// A validated card (validated again each time the row is read).
    Card {
        identity: CardIdentity,
        certificate: Vec<u8>,
    },
    /// A verified PSC sign-in.
    Psc(PscLogin),
}

impl Pending {
    pub fn means(&self) -> &'static str {
        match self {
            Pending::Card { .. } => "card",
            Pending::Psc(_) => "psc",
        }
    }

    pub fn national_id(&self) -> &crate::ids::NationalId {
        match self {
            Pending::Card { identity, .. } => &identity.national_id,
            Pending::Psc(login) => &login.identity.national_id,
        }
    }

    /// The name shown on the page and in the audit rows.
    pub fn holder_name(&self) -> String {
        match self {
            Pending::Card { identity, .. } => identity.holder_name.clone(),
            Pending::Psc(login) => login.identity.display_name(),
        }
    }

    /// The error of an expired (or unknown, used, other browser's) pending link of this means.
    fn expired(means: &str) -> Error {
        if means == "psc" {
            Error::PscLinkExpired
        } else {
            Error::CardLinkExpired
        }
    }

    fn audit_details(&self) -> serde_json::Value {
        match self {
            Pending::Card { identity, .. } => json!({
                "means": "card",
                "serial": identity.serial,
                "national_id": identity.national_id.as_str(),
            }),
            Pending::Psc(login) => json!({
                "means": "psc",
                "national_id": login.identity.national_id.as_str(),
                "auth_mode": login.auth_mode,
                "acr": login.acr,
            }),
        }
    }
}

/// Writes a pending link for `browser` in the caller's transaction; the token is for the page.
pub(crate) async fn create(
    tx: &mut PgConnection,
    browser: Browser,
    pending: &Pending,
    now: OffsetDateTime,
) -> Result<String> {
    let (token, hash) = card::random_token();
    let (certificate, psc_login) = match pending {
        Pending::Card { certificate, .. } => (Some(certificate.as_slice()), None),
        Pending::Psc(login) => (
            None,
            Some(serde_json::to_value(login).map_err(|e| Error::Internal(e.to_string()))?),
        ),
    };
    sqlx::query!(
        "INSERT INTO pending_links (token_hash, browser_hash, means, national_id, certificate,
                                    psc_login, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &hash[..],
        &browser.hash()[..],
        pending.means(),
        pending.national_id().as_str(),
        certificate,
        psc_login,
        now,
        now + LINK_LIFETIME
    )
    .execute(&mut *tx)
    .await?;
    Ok(token)
}

struct Row {
    means: String,
    certificate: Option<Vec<u8>>,
    psc_login: Option<serde_json::Value>,
}

fn decode(row: Row, trust: Option<&Trust>, now: OffsetDateTime) -> Result<Pending> {
    match (row.means.as_str(), row.certificate, row.psc_login) {
        ("card", Some(certificate), _) => {
            let trust = trust.ok_or(Error::CardLinkExpired)?;
            // Validated again: the CRL may have changed since the card was presented.
            let identity = trust
                .validate(&certificate, now)
                .map_err(Error::CardRefused)?;
            Ok(Pending::Card {
                identity,
                certificate,
            })
        }
        ("psc", _, Some(login)) => serde_json::from_value(login)
            .map(Pending::Psc)
            .map_err(|_| Error::PscLinkExpired),
        (means, _, _) => Err(Pending::expired(means)),
    }
}

/// What the linking page shows about the pending identity (nothing is consumed). `trust` is the
/// card trust when card sign-in is on (a pending card cannot be read without it).
pub async fn pending(
    auth: &Auth,
    trust: Option<&Trust>,
    token: &str,
    browser: Browser,
    now: OffsetDateTime,
) -> Result<Pending> {
    let row = sqlx::query_as!(
        Row,
        "SELECT means, certificate, psc_login FROM pending_links
         WHERE token_hash = $1 AND browser_hash = $2 AND expires_at > $3",
        &card::hash_of(token)[..],
        &browser.hash()[..],
        now
    )
    .fetch_optional(&auth.pool)
    .await?
    .ok_or(Error::CardLinkExpired)?;
    decode(row, trust, now)
}

/// Consumes the pending link. A token presented by another browser is burnt too: a leaked token
/// gets one try, by anyone.
async fn take(
    conn: &mut PgConnection,
    token: &str,
    browser: Browser,
    now: OffsetDateTime,
) -> Result<bool> {
    let row = sqlx::query_scalar!(
        "DELETE FROM pending_links WHERE token_hash = $1 AND expires_at > $2 RETURNING browser_hash",
        &card::hash_of(token)[..],
        now
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some_and(|b| b.as_slice() == browser.hash().as_slice()))
}

/// The one-time linking, for both means.
#[allow(clippy::too_many_arguments)]
pub async fn link_and_sign_in(
    auth: &Auth,
    trust: Option<&Trust>,
    token: &str,
    browser: Browser,
    typed_username: &str,
    password_typed: &str,
    previous: Option<&Token>,
    client: &Client,
    now: OffsetDateTime,
) -> Result<SignedIn> {
    // The pending link must exist before a password is tried against it (no free oracle), but is
    // consumed only on success, so a typo does not force the holder to start over.
    let pending = pending(auth, trust, token, browser, now).await?;
    let checked = password::check(
        auth,
        match pending {
            Pending::Card { .. } => "auth.card.link",
            Pending::Psc(_) => "auth.psc.link",
        },
        typed_username,
        password_typed,
        client,
        now,
    )
    .await?;
    let account = accounts::Account {
        id: checked.user.id,
        username: checked.user.username.clone(),
        region_code: checked.user.region_code.clone(),
        status: checked.user.status,
        rpps: None,
    };
    let national_id = pending.national_id().clone();

    let mut tx = auth.pool.begin().await?;
    checked.settle(&mut tx, now).await?;
    identity::lock(&mut tx, national_id.as_str()).await?;
    if !take(&mut tx, token, browser, now).await? {
        return Err(Pending::expired(pending.means()));
    }
    let stored = accounts::account(&mut tx, account.id)
        .await?
        .ok_or(Error::NotFound)?;

    let refusal = if let Pending::Card { identity, .. } = &pending
        && card::owned_by_another(&mut tx, identity, account.id).await?
    {
        Some(("card_of_another_account", Error::CardOfAnotherAccount))
    } else if identity::accounts_of(&mut tx, national_id.as_str())
        .await?
        .iter()
        .any(|u| *u != account.id)
    {
        Some(("identity_of_another_account", Error::CardOfAnotherAccount))
    } else if identity::national_ids_of(&mut tx, account.id)
        .await?
        .iter()
        .any(|n| n != national_id.as_str())
    {
        // One account, one professional: an account already linked to another holder's identity
        // does not take this one (a shared account would mix two people's traces).
        Some((
            "account_linked_to_other_identity",
            Error::AccountLinkedToOtherIdentity,
        ))
    } else {
        // An account with an RPPS takes only an identity of that RPPS (not another holder's, nor
        // a staff or ADELI identity someone else could hold).
        match (national_id.kind(), &stored.rpps) {
            (NationalIdKind::Rpps(rpps), Some(own)) if rpps.as_str() == own => None,
            (_, Some(_)) => Some(("rpps_mismatch", Error::RppsMismatch)),
            _ => None,
        }
    };
    let denied = |reason: &str| {
        let mut details = pending.audit_details();
        details["reason"] = json!(reason);
        Event::new(
            match pending {
                Pending::Card { .. } => "card.link",
                Pending::Psc(_) => "psc.link",
            },
            Outcome::Denied,
            &account.username,
        )
        .actor(account.id)
        .target("user", account.id.to_string(), &account.username)
        .region(&account.region_code)
        .details(details)
    };
    if let Some((reason, error)) = refusal {
        // The refusal is recorded; the pending link stays consumed (start again).
        audit::record(&mut tx, denied(reason), client, now).await?;
        tx.commit().await?;
        return Err(error);
    }

    if let (NationalIdKind::Rpps(rpps), None) = (national_id.kind(), &stored.rpps) {
        // Another account may already carry this RPPS: the unique constraint refuses it, and
        // that is the "identity of another account" case for the holder. Another identity linked
        // to this account meanwhile may have set a different one: refused as a mismatch.
        sqlx::query!("SAVEPOINT set_rpps").execute(&mut *tx).await?;
        let refusal = match accounts::set_rpps_if_none(&mut tx, account.id, &rpps, now).await {
            Ok(true) => None,
            Ok(false) => Some(("rpps_mismatch", Error::RppsMismatch)),
            Err(Error::Conflict(_)) => {
                sqlx::query!("ROLLBACK TO SAVEPOINT set_rpps")
                    .execute(&mut *tx)
                    .await?;
                Some(("rpps_of_another_account", Error::CardOfAnotherAccount))
            }
            Err(e) => return Err(e),
        };
        if let Some((reason, error)) = refusal {
            audit::record(&mut tx, denied(reason), client, now).await?;
            tx.commit().await?;
            return Err(error);
        }
        let mut details = pending.audit_details();
        details["rpps"] = json!(rpps.as_str());
        audit::record(
            &mut tx,
            Event::new(
                match pending {
                    Pending::Card { .. } => "user.rpps_from_card",
                    Pending::Psc(_) => "user.rpps_from_psc",
                },
                Outcome::Success,
                &account.username,
            )
            .actor(account.id)
            .target("user", account.id.to_string(), &account.username)
            .region(&account.region_code)
            .details(details),
            client,
            now,
        )
        .await?;
    }

    let signed_in = match &pending {
        Pending::Card { identity, .. } => {
            card::link_card(&mut tx, &account, identity, "password", None, client, now).await?;
            card::sign_in_as(&mut tx, auth, &account, previous, client, now).await?
        }
        Pending::Psc(login) => {
            psc::link(&mut tx, &account, login, client, now).await?;
            psc::finish_sign_in(&mut tx, auth, &account, login, previous, client, now).await?
        }
    };
    tx.commit().await?;
    Ok(signed_in)
}
