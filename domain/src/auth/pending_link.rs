//! A strong identity waiting to be linked to an account (steps 1 and 2 of [`super::linking`]):
//! a validated card or a verified Pro Santé Connect sign-in that no account knows yet, bound to
//! the browser that presented it, for [`LINK_LIFETIME`], only the token's hash stored. The sign-in
//! flows of both means create it; the linking consumes it.

use serde_json::json;
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};

use super::Portal;
use super::browser::{Browser, hash_of, random_token};
use super::card::certificate::Trust;
use super::psc::claims::PscLogin;
use crate::cards::CardIdentity;
use crate::error::{Error, Result};

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
    pub(crate) fn expired(means: &str) -> Error {
        if means == "psc" {
            Error::PscLinkExpired
        } else {
            Error::CardLinkExpired
        }
    }

    pub(crate) fn audit_details(&self) -> serde_json::Value {
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
    let (token, hash) = random_token();
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
    portal: &Portal,
    trust: Option<&Trust>,
    token: &str,
    browser: Browser,
    now: OffsetDateTime,
) -> Result<Pending> {
    let row = sqlx::query_as!(
        Row,
        "SELECT means, certificate, psc_login FROM pending_links
         WHERE token_hash = $1 AND browser_hash = $2 AND expires_at > $3",
        &hash_of(token)[..],
        &browser.hash()[..],
        now
    )
    .fetch_optional(&portal.pool)
    .await?
    .ok_or(Error::CardLinkExpired)?;
    decode(row, trust, now)
}

/// Consumes the pending link and reads what it holds. A token presented by another browser is
/// burnt too: a leaked token gets one try, by anyone.
pub(crate) async fn take(
    conn: &mut PgConnection,
    token_hash: &[u8],
    browser: Browser,
    trust: Option<&Trust>,
    now: OffsetDateTime,
) -> Result<Option<Pending>> {
    let row = sqlx::query!(
        "DELETE FROM pending_links WHERE token_hash = $1 AND expires_at > $2
         RETURNING browser_hash, means, certificate, psc_login",
        token_hash,
        now
    )
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(r) if r.browser_hash.as_slice() == browser.hash().as_slice() => decode(
            Row {
                means: r.means,
                certificate: r.certificate,
                psc_login: r.psc_login,
            },
            trust,
            now,
        )
        .map(Some),
        _ => Ok(None),
    }
}

/// What completes a pending link besides the account: the browser that holds it, and the card
/// trust (a pending card is validated again when it is used).
#[derive(Debug, Clone, Copy)]
pub struct Completion<'a> {
    pub browser: Browser,
    pub trust: Option<&'a Trust>,
}
