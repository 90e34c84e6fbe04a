//! "Carte CPS": sign-in with a CPx card, and the one-time linking of an unknown card to the
//! holder's existing account.
//!
//! The certificate reaches the server one of two ways:
//! - the local agent (`passerelle-agent`) has the card sign `SHA-256(origin) || SHA-256(nonce)`
//!   for a single-use nonce bound to the browser ([`issue_challenge`], [`sign_in_with_agent`]);
//! - a TLS terminator verified the client certificate on the card host name; the card host keeps
//!   the certificate for a minute under a random token bound to the browser's state cookie
//!   ([`accept_tls_certificate`]), and the portal's origin picks it up ([`sign_in_with_tls`]).
//!
//! Both then run [`sign_in_with_certificate`]:
//! 1. the certificate is validated (chain, dates, key usage, revocation) — refusals audited;
//! 2. a linked certificate signs its account in (if the account is active);
//! 3. a new certificate of a holder whose earlier card is linked (a renewal) links itself, audited;
//! 4. otherwise the browser gets a pending link, and the one-time linking shared with Pro Santé
//!    Connect ([`super::linking`], the browser's pending link in [`super::pending_link`]) asks ONCE for the account's username and password (same
//!    brute-force limits as password sign-in), checks the linking rules, links the card and signs
//!    in.

pub mod certificate;

use serde_json::json;

use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

pub use certificate::{CardIdentity, CardRefusal, CardType, Trust, TrustSettings};

pub use super::browser::Browser;
use super::browser::{hash_of, random_token};

use super::pending_link::{self, Pending};
use super::{Portal, SignedIn, Verified, complete_sign_in};
use crate::accounts::{self, UserStatus};
use crate::audit::{self, Event, Outcome};
use crate::call::Call;
use crate::cards::{self, LinkedCard};
use crate::db::retry;
use crate::error::{Error, Result};
use crate::mail::{self, messages, outbox};
use crate::sessions::Token;
use model::sign_in::Method;

/// The agent's challenge: long enough to sign, short enough not to be kept around.
pub const CHALLENGE_LIFETIME: Duration = Duration::minutes(5);
/// Time to type a username and password on the linking page.
pub const LINK_LIFETIME: Duration = pending_link::LINK_LIFETIME;
/// From the card host back to the portal: one redirect.
pub const TLS_RETURN_LIFETIME: Duration = Duration::minutes(2);

/// What the agent sends back: the card's certificate and its signature over the challenge.
#[derive(Debug, Clone)]
pub struct AgentProof {
    pub nonce: String,
    pub certificate: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Where a card sign-in goes next.
#[derive(Debug)]
pub enum CardOutcome {
    SignedIn(SignedIn),
    /// Unknown card: the browser must link it once; the token is for the linking page.
    LinkRequired {
        token: String,
    },
}

/// A fresh single-use nonce of 256 bits for the agent, bound to `browser`.
pub async fn issue_challenge(
    conn: &mut PgConnection,
    browser: Browser,
    now: OffsetDateTime,
) -> Result<String> {
    let (nonce, hash) = random_token();
    // One outstanding challenge per browser: asking again replaces it (and bounds the rows an
    // anonymous browser can create).
    sqlx::query!(
        "DELETE FROM card_challenges WHERE browser_hash = $1",
        &browser.hash()[..]
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO card_challenges (nonce_hash, browser_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4)",
        &hash[..],
        &browser.hash()[..],
        now,
        now + CHALLENGE_LIFETIME
    )
    .execute(&mut *conn)
    .await?;
    Ok(nonce)
}

/// Sign-in through the local agent. `origin` is the portal's own public origin (never taken from
/// the request): the card signed it, so a signature made for another site fails here.
pub async fn sign_in_with_agent(
    portal: &Portal,
    trust: &Trust,
    origin: &str,
    browser: Browser,
    proof: &AgentProof,
    previous: Option<&Token>,
    call: Call<'_>,
) -> Result<CardOutcome> {
    let Call { now, .. } = call;
    // Consumed first, whatever happens next: a nonce is good for one attempt.
    let consumed = sqlx::query_scalar!(
        "DELETE FROM card_challenges
         WHERE nonce_hash = $1 AND browser_hash = $2 AND expires_at > $3
         RETURNING created_at",
        &hash_of(&proof.nonce)[..],
        &browser.hash()[..],
        now
    )
    .fetch_optional(&portal.pool)
    .await?;
    if consumed.is_none() {
        audit_refusal(portal, None, "challenge_invalid", "agent", call).await?;
        return Err(Error::CardChallengeInvalid);
    }
    let identity = validate(portal, trust, &proof.certificate, "agent", call).await?;
    let message = certificate::signed_message(origin, &proof.nonce);
    if let Err(refusal) =
        certificate::verify_signature(&proof.certificate, &message, &proof.signature)
    {
        audit_refusal(portal, Some(&identity), refusal.as_str(), "agent", call).await?;
        return Err(Error::CardRefused(refusal));
    }
    sign_in_with_certificate(
        portal,
        &identity,
        &proof.certificate,
        browser,
        "agent",
        previous,
        call,
    )
    .await
}

/// The value carried to the card host for a browser's state cookie: its hash, so that logs of the
/// card host never hold the secret itself.
pub fn state_reference(state_cookie: &str) -> String {
    hex::encode(Browser::of_secret(state_cookie).hash())
}

/// On the card host, behind the TLS terminator: validates the verified client certificate and
/// keeps it for the portal's origin under a single-use token bound to `state_reference` (the
/// hash of the browser's state cookie on the portal's origin, see [`state_reference`]).
pub async fn accept_tls_certificate(
    portal: &Portal,
    trust: &Trust,
    certificate: &[u8],
    state_reference: &str,
    call: Call<'_>,
) -> Result<String> {
    let Call { now, .. } = call;
    let mut state_hash = [0u8; 32];
    if hex::decode_to_slice(state_reference, &mut state_hash).is_err() {
        return Err(Error::CardLinkExpired);
    }
    validate(portal, trust, certificate, "tls", call).await?;
    let (token, hash) = random_token();
    sqlx::query!(
        "INSERT INTO card_pending (token_hash, purpose, browser_hash, certificate, created_at, expires_at)
         VALUES ($1, 'tls_return', $2, $3, $4, $5)",
        &hash[..],
        &state_hash[..],
        certificate,
        now,
        now + TLS_RETURN_LIFETIME
    )
    .execute(&portal.pool)
    .await?;
    Ok(token)
}

/// Back on the portal's origin after the TLS hand-over.
pub async fn sign_in_with_tls(
    portal: &Portal,
    trust: &Trust,
    token: &str,
    state_browser: Browser,
    browser: Browser,
    previous: Option<&Token>,
    call: Call<'_>,
) -> Result<CardOutcome> {
    let Call { now, .. } = call;
    let certificate = take_pending(
        &mut *portal.pool.acquire().await?,
        "tls_return",
        token,
        state_browser,
        now,
    )
    .await?
    .ok_or(Error::CardLinkExpired)?;
    // Validated again: the CRL may have changed, and the portal never trusts stored input blindly.
    let identity = validate(portal, trust, &certificate, "tls", call).await?;
    sign_in_with_certificate(
        portal,
        &identity,
        &certificate,
        browser,
        "tls",
        previous,
        call,
    )
    .await
}

/// Consumes a pending row. A token presented by another browser is burnt too: a leaked token
/// gets one try, by anyone.
async fn take_pending(
    conn: &mut PgConnection,
    purpose: &str,
    token: &str,
    browser: Browser,
    now: OffsetDateTime,
) -> Result<Option<Vec<u8>>> {
    // Only the TLS hand-over is still kept here; pending links moved to `pending_links`.
    let row = sqlx::query!(
        "DELETE FROM card_pending
         WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3
         RETURNING certificate, browser_hash",
        &hash_of(token)[..],
        purpose,
        now
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row
        .filter(|r| r.browser_hash.as_slice() == browser.hash().as_slice())
        .map(|r| r.certificate))
}

async fn validate(
    portal: &Portal,
    trust: &Trust,
    certificate: &[u8],
    path: &str,
    call: Call<'_>,
) -> Result<CardIdentity> {
    let Call { now, .. } = call;
    match trust.validate(certificate, now) {
        Ok(identity) => Ok(identity),
        Err(refusal) => {
            let identity = certificate::describe(certificate);
            audit_refusal_raw(portal, identity, refusal.as_str(), path, call).await?;
            Err(Error::CardRefused(refusal))
        }
    }
}

async fn audit_refusal(
    portal: &Portal,
    identity: Option<&CardIdentity>,
    reason: &str,
    path: &str,
    call: Call<'_>,
) -> Result<()> {
    let described = identity.map(|i| certificate::Described {
        subject: i.subject_dn.clone(),
        issuer: i.issuer_dn.clone(),
        serial: i.serial.clone(),
    });
    audit_refusal_raw(portal, described, reason, path, call).await
}

/// A refusal decided at the HTTP edge before any certificate could be validated (no certificate
/// presented, a certificate header from a peer that is not the terminator, an unreadable proof).
pub async fn record_edge_refusal(
    portal: &Portal,
    reason: &str,
    path: &str,
    call: Call<'_>,
) -> Result<()> {
    audit_refusal_raw(portal, None, reason, path, call).await
}

async fn audit_refusal_raw(
    portal: &Portal,
    described: Option<certificate::Described>,
    reason: &str,
    path: &str,
    call: Call<'_>,
) -> Result<()> {
    let label = described
        .as_ref()
        .map(|d| d.subject.chars().take(128).collect::<String>())
        .unwrap_or_else(|| "carte".into());
    // Every card refusal is anonymous (no account is known yet): repeated ones are summarised.
    crate::refusals::record(
        &portal.pool,
        crate::refusals::Refusal {
            action: audit::Action::AuthCardSignIn,
            reason,
            outcome: Outcome::Failure,
        },
        call,
        async |_| {
            Ok(
                Event::new(audit::Action::AuthCardSignIn, Outcome::Failure, label).details(json!({
                    "reason": reason,
                    "path": path,
                    "issuer": described.as_ref().map(|d| &d.issuer),
                    "serial": described.as_ref().map(|d| &d.serial),
                })),
            )
        },
    )
    .await?;
    Ok(())
}

/// Steps 2–4 of the module's flow, for a certificate already validated. The card has signed
/// (its PIN typed) before this: one transaction, run once more if the database lost it (a
/// restart, a failover, a lost race), so that the holder does not type the PIN again for it.
async fn sign_in_with_certificate(
    portal: &Portal,
    identity: &CardIdentity,
    certificate: &[u8],
    browser: Browser,
    path: &str,
    previous: Option<&Token>,
    call: Call<'_>,
) -> Result<CardOutcome> {
    crate::transaction!(&portal.pool, |tx| settle_certificate(
        tx,
        portal,
        identity,
        certificate,
        browser,
        path,
        previous,
        call
    ))?
}

/// The body of [`sign_in_with_certificate`]'s transaction (it may run twice: the tokens it draws
/// are thrown away with a rolled-back run). A refusal that must be kept (and audited) is the
/// inner `Err`.
#[allow(clippy::too_many_arguments)]
async fn settle_certificate(
    tx: &mut PgConnection,
    portal: &Portal,
    identity: &CardIdentity,
    certificate: &[u8],
    browser: Browser,
    path: &str,
    previous: Option<&Token>,
    call: Call<'_>,
) -> Result<Result<CardOutcome>> {
    let Call { now, .. } = call;
    cards::lock_holder(tx, identity.national_id.as_str()).await?;

    // 2. A linked card.
    if let Some(owner) =
        cards::owner_of_certificate(tx, &identity.issuer_dn, &identity.serial).await?
    {
        let account = match usable_account(tx, portal, owner.user_id, identity, path, call).await? {
            Ok(account) => account,
            Err(refusal) => return Ok(Err(refusal)),
        };
        cards::touch(tx, owner.card_id, now).await?;
        let signed_in = sign_in_as(tx, portal, &account, previous, call).await?;
        return Ok(Ok(CardOutcome::SignedIn(signed_in)));
    }

    // 3. A renewed card: same holder, a certificate never linked before and newer than the
    // holder's linked ones, earlier card linked to exactly one account. A card the holder
    // unlinked (lost, say) is not a renewal: it must go through the password again.
    let renewal_of = if cards::was_linked(tx, &identity.issuer_dn, &identity.serial).await?
        || cards::newest_linked(tx, identity.national_id.as_str())
            .await?
            .is_some_and(|newest| identity.not_before < newest)
    {
        Vec::new()
    } else {
        cards::owners_of_holder(tx, identity.national_id.as_str()).await?
    };
    if let [user_id] = renewal_of.as_slice() {
        let account = match usable_account(tx, portal, *user_id, identity, path, call).await? {
            Ok(account) => account,
            Err(refusal) => return Ok(Err(refusal)),
        };
        link_card(tx, &account, identity, "renewal", Some(path), call).await?;
        let signed_in = sign_in_as(tx, portal, &account, previous, call).await?;
        return Ok(Ok(CardOutcome::SignedIn(signed_in)));
    }

    // 4. Unknown card: a pending link for this browser.
    let token = pending_link::create(
        tx,
        browser,
        &Pending::Card {
            identity: identity.clone(),
            certificate: certificate.to_vec(),
        },
        now,
    )
    .await?;
    audit::record(
        tx,
        Event::new(
            audit::Action::AuthCardLinkRequired,
            Outcome::Success,
            identity.holder_name.clone(),
        )
        .details(json!({
            "path": path,
            "card_type": identity.card_type.as_str(),
            "serial": identity.serial,
            "issuer": identity.issuer_dn,
            "national_id": identity.national_id.as_str(),
        })),
        call,
    )
    .await?;
    Ok(Ok(CardOutcome::LinkRequired { token }))
}

/// Links the certificate to the account, tells the holder by e-mail and audits it, in the
/// caller's transaction. `via` is `password` (the one-time linking) or `renewal`.
pub(crate) async fn link_card(
    tx: &mut PgConnection,
    account: &accounts::Account,
    identity: &CardIdentity,
    via: &str,
    path: Option<&str>,
    call: Call<'_>,
) -> Result<()> {
    let Call { now, .. } = call;
    // Linked meanwhile (another tab): the unique index answers; the holder starts again.
    let card_id = match cards::insert(tx, account.id, identity, via, now).await {
        Err(Error::Conflict(_)) => return Err(Error::CardLinkExpired),
        other => other?,
    };
    tell_holder(tx, account.id, identity, via == "renewal", now).await?;
    audit::record(
        tx,
        card_event(audit::Action::CardLinked, account, identity, card_id).details(json!({
            "via": via,
            "path": path,
            "card_type": identity.card_type.as_str(),
            "serial": identity.serial,
            "issuer": identity.issuer_dn,
            "national_id": identity.national_id.as_str(),
            "not_after": identity.not_after.unix_timestamp(),
        })),
        call,
    )
    .await?;
    Ok(())
}

/// Every card path ends here: the session, the routing and the sign-in audit row.
pub(crate) async fn sign_in_as(
    tx: &mut PgConnection,
    portal: &Portal,
    account: &accounts::Account,
    previous: Option<&Token>,
    call: Call<'_>,
) -> Result<SignedIn> {
    complete_sign_in(
        tx,
        portal,
        Verified {
            user_id: account.id,
            username: &account.username,
            region_code: &account.region_code,
            method: Method::Card,
            psc: None,
        },
        previous,
        call,
    )
    .await
}

/// Tells the holder by e-mail (outbox, same transaction) that a card was linked to their account.
async fn tell_holder(
    tx: &mut PgConnection,
    user_id: Uuid,
    identity: &CardIdentity,
    renewal: bool,
    now: OffsetDateTime,
) -> Result<()> {
    if let Some(recipient) = mail::recipient(tx, user_id).await? {
        let message = messages::card_linked(
            &recipient,
            identity.card_type.as_str(),
            &identity.serial,
            renewal,
        );
        outbox::enqueue(tx, &recipient, &message, now).await?;
    }
    Ok(())
}

async fn active_account(conn: &mut PgConnection, user_id: Uuid) -> Result<accounts::Account> {
    let account = accounts::account(conn, user_id)
        .await?
        .ok_or(Error::NotFound)?;
    if account.status == UserStatus::Active {
        Ok(account)
    } else {
        Err(Error::AccountUnavailable(account.status))
    }
}

/// The account a card signs in to, when it is active; a disabled, pending or vanished account is
/// a refusal (the inner `Err`), audited in the caller's transaction. The database failing is the
/// outer `Err` (the transaction is then tried again).
async fn usable_account(
    tx: &mut PgConnection,
    portal: &Portal,
    user_id: Uuid,
    identity: &CardIdentity,
    path: &str,
    call: Call<'_>,
) -> Result<Result<accounts::Account>> {
    match active_account(tx, user_id).await {
        Ok(account) => Ok(Ok(account)),
        Err(e) if retry::worth_retrying(&e) => Err(e),
        Err(refusal) => {
            audit_unavailable(tx, portal, user_id, identity, path, call).await?;
            Ok(Err(refusal))
        }
    }
}

/// A linked card whose account is disabled, pending or dormant: refused, audited in the caller's
/// transaction (a dormant account's holder is e-mailed its wake link).
async fn audit_unavailable(
    tx: &mut PgConnection,
    portal: &Portal,
    user_id: Uuid,
    identity: &CardIdentity,
    path: &str,
    call: Call<'_>,
) -> Result<()> {
    let account = accounts::account(tx, user_id).await?;
    let mut event = Event::new(
        audit::Action::AuthCardSignIn,
        Outcome::Denied,
        identity.holder_name.clone(),
    )
    .details(json!({
        "reason": "account_unavailable",
        "status": account.as_ref().map(|a| a.status),
        "path": path,
        "serial": identity.serial,
    }));
    if let Some(a) = &account {
        event = event
            .target("user", a.id.to_string(), &a.username)
            .region(&a.region_code);
        if a.status == UserStatus::Dormant {
            crate::auth::dormancy::sign_in_met(tx, portal, a.id, Method::Card, call).await?;
        }
    }
    audit::record(tx, event, call).await?;
    Ok(())
}

fn card_event(
    action: audit::Action,
    account: &accounts::Account,
    identity: &CardIdentity,
    card_id: Uuid,
) -> Event {
    Event::new(action, Outcome::Success, &account.username)
        .actor(account.id)
        .target("card", card_id.to_string(), identity.serial.clone())
        .region(&account.region_code)
}

/// What the linking page shows about a pending card (nothing is consumed).
pub async fn pending_link(
    portal: &Portal,
    trust: &Trust,
    token: &str,
    browser: Browser,
    now: OffsetDateTime,
) -> Result<CardIdentity> {
    match pending_link::pending(portal, Some(trust), token, browser, now).await? {
        Pending::Card { identity, .. } => Ok(identity),
        Pending::Psc(_) => Err(Error::CardLinkExpired),
    }
}

/// Whether this card is linked to an account other than `user_id` (the linking rules).
pub(crate) async fn owned_by_another(
    conn: &mut PgConnection,
    identity: &CardIdentity,
    user_id: Uuid,
) -> Result<bool> {
    Ok(
        cards::owner_of_certificate(conn, &identity.issuer_dn, &identity.serial)
            .await?
            .is_some_and(|o| o.user_id != user_id),
    )
}

/// The holder's linked cards, newest first.
pub async fn cards_of(portal: &Portal, user_id: Uuid) -> Result<Vec<LinkedCard>> {
    let mut conn = portal.pool.acquire().await?;
    cards::linked_to(&mut conn, user_id).await
}
