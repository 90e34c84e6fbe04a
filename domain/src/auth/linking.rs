//! The one-time linking of a strong identity (a CPx card, or a Pro Santé Connect identity) that
//! no account knows yet: "Connectez votre compte professionnel…". One code path for both means:
//!
//! 1. the sign-in flow found an unknown identity and calls [`create`] (a pending link bound to the
//!    browser, 10 minutes, only the token's hash stored);
//! 2. the page shows what it is about ([`pending`]);
//! 3. [`link_and_sign_in`] asks ONCE for the account's username and password (the password
//!    sign-in's check, with its brute-force counters and locks);
//! 4. when the account or the deployment requires the e-mail code, the code step of the password
//!    sign-in runs first, bound to the pending link (`otp`; the code page's answer,
//!    [`super::code_step`], calls [`finish`]), exactly as strong as the front door;
//! 5. [`finish`] checks the linking rules (one national identity ↔ one account; the account's
//!    RPPS, or for an account without one the identity the desk declared), links, tells the
//!    holder by e-mail, and signs in — in one transaction with its audit rows. A refusal links
//!    nothing.

use serde_json::json;
use sqlx::PgConnection;

use super::browser::{Browser, hash_of};
use super::card::{self, Trust};
use super::psc;
use super::{PasswordOutcome, Portal, SignedIn, identity, otp, password};
use crate::accounts::{self, UserStatus};
use crate::audit::{self, Event, Outcome};
use crate::call::Call;
use crate::error::{Error, Result};
use crate::ids::NationalIdKind;
use crate::sessions::Token;
use uuid::Uuid;

use super::pending_link::take;
pub use super::pending_link::{Completion, LINK_LIFETIME, Pending, pending};

/// The one-time linking, for both means. The password is checked with the sign-in's counters;
/// when the account or the deployment requires the e-mail code, nothing is linked yet: the code
/// step starts, bound to this pending link, and [`super::otp::verify_code`] completes the link
/// once the code is right (`PasswordOutcome::CodeRequired`). Otherwise the link is made and the
/// session starts at once.
#[allow(clippy::too_many_arguments)] // the pending link, the typed credentials and the browser: each a separate input of the form
pub async fn link_and_sign_in(
    portal: &Portal,
    trust: Option<&Trust>,
    token: &str,
    browser: Browser,
    typed_username: &str,
    password_typed: &str,
    previous: Option<&Token>,
    call: Call<'_>,
) -> Result<PasswordOutcome> {
    let Call { now, .. } = call;
    // The pending link must exist before a password is tried against it (no free oracle), but is
    // consumed only on success, so a typo does not force the holder to start over.
    let pending = pending(portal, trust, token, browser, now).await?;
    let checked = password::check(
        portal,
        match pending {
            Pending::Card { .. } => audit::Action::AuthCardLink,
            Pending::Psc(_) => audit::Action::AuthPscLink,
        },
        typed_username,
        password_typed,
        call,
    )
    .await?;
    let token_hash = hash_of(token);
    let completion = Completion { browser, trust };

    let mut tx = portal.pool.begin().await?;
    checked.settle(&mut tx, now).await?;
    if !(portal.otp_for_all || checked.user.otp_required) {
        return finish(
            tx,
            portal,
            completion,
            &token_hash,
            checked.user.id,
            previous,
            call,
        )
        .await
        .map(PasswordOutcome::SignedIn);
    }

    // The second step first, as for the password sign-in. The linking rules are checked now as
    // well (and again when the code is right), so that no code is sent for a link that would be
    // refused.
    identity::lock(&mut tx, pending.national_id().as_str()).await?;
    let account = active_account(&mut tx, checked.user.id).await?;
    if let Some((reason, error)) = refusal(&mut tx, &pending, &account).await? {
        // The refusal is recorded; the pending link is consumed (start again).
        take(&mut tx, &token_hash, browser, trust, now).await?;
        audit::record(&mut tx, denied(&pending, &account, reason), call).await?;
        tx.commit().await?;
        return Err(error);
    }
    let step = otp::start(
        &mut tx,
        &checked.user,
        otp::Purpose::Link {
            link_token_hash: &token_hash,
            action: link_action(&pending),
        },
        call,
    )
    .await?;
    // The pending link lives as long as the code step that will complete it.
    sqlx::query!(
        "UPDATE pending_links SET expires_at = GREATEST(expires_at, $2) WHERE token_hash = $1",
        &token_hash[..],
        now + otp::STEP_LIFETIME
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(PasswordOutcome::CodeRequired { token: step })
}

/// The audit action of a linking, by means.
fn link_action(pending: &Pending) -> audit::Action {
    match pending {
        Pending::Card { .. } => audit::Action::CardLink,
        Pending::Psc(_) => audit::Action::PscLink,
    }
}

fn denied(pending: &Pending, account: &accounts::Account, reason: &str) -> Event {
    let mut details = pending.audit_details();
    details["reason"] = json!(reason);
    Event::new(link_action(pending), Outcome::Denied, &account.username)
        .actor(account.id)
        .target("user", account.id.to_string(), &account.username)
        .region(&account.region_code)
        .details(details)
}

async fn active_account(conn: &mut PgConnection, user_id: Uuid) -> Result<accounts::Account> {
    let account = accounts::account(conn, user_id)
        .await?
        .ok_or(Error::NotFound)?;
    match account.status {
        UserStatus::Active => Ok(account),
        other => Err(Error::AccountUnavailable(other)),
    }
}

/// The linking rules: one national identity ↔ one account, and the identity must be the
/// account's own — its RPPS, or, for an account without one (staff, secretaries,
/// administrators), the identity the desk declared for it. `None` when the link may be made.
async fn refusal(
    conn: &mut PgConnection,
    pending: &Pending,
    account: &accounts::Account,
) -> Result<Option<(&'static str, Error)>> {
    let national_id = pending.national_id();
    if let Pending::Card { identity, .. } = pending
        && card::owned_by_another(conn, identity, account.id).await?
    {
        return Ok(Some((
            "card_of_another_account",
            Error::CardOfAnotherAccount,
        )));
    }
    if identity::accounts_of(conn, national_id.as_str())
        .await?
        .iter()
        .any(|u| *u != account.id)
    {
        return Ok(Some((
            "identity_of_another_account",
            Error::CardOfAnotherAccount,
        )));
    }
    if identity::national_ids_of(conn, account.id)
        .await?
        .iter()
        .any(|n| n != national_id.as_str())
    {
        // One account, one professional: an account already linked to another holder's identity
        // does not take this one (a shared account would mix two people's traces).
        return Ok(Some((
            "account_linked_to_other_identity",
            Error::AccountLinkedToOtherIdentity,
        )));
    }
    if let NationalIdKind::Rpps(rpps) = national_id.kind()
        && let Some(m) = crate::directory::verify::refuses_link(
            conn,
            account.id,
            &rpps,
            &account.family_name,
            &account.given_name,
        )
        .await?
    {
        // The national directory (when loaded) does not have this RPPS under the account's
        // name: the desk checks, and accepts the difference for the account with a reason.
        return Ok(Some((
            match m {
                // (A FINESS mismatch is never one of a person.)
                crate::directory::verify::Mismatch::UnknownRpps
                | crate::directory::verify::Mismatch::UnknownFiness => "directory_unknown_rpps",
                crate::directory::verify::Mismatch::NameDiffers => "directory_name_differs",
            },
            Error::LinkNotInDirectory(m),
        )));
    }
    Ok(match (national_id.kind(), &account.rpps) {
        // An account with an RPPS takes only an identity of that RPPS (not another holder's, nor a
        // staff or ADELI identity someone else could hold).
        (NationalIdKind::Rpps(rpps), Some(own)) if rpps == *own => None,
        (_, Some(_)) => Some(("rpps_mismatch", Error::RppsMismatch)),
        // Without an RPPS, the account's password is all that ties it to a person: only the
        // identity the desk declared for it may come in, never the first one presented.
        (_, None) => {
            let declared = accounts::declared_national_id(conn, account.id).await?;
            if declared.as_deref() == Some(national_id.as_str()) {
                None
            } else {
                Some(("identity_not_declared", Error::IdentityNotDeclared))
            }
        }
    })
}

/// Completes a pending link for `user_id` (whose password, and e-mail code when required, were
/// checked): consumes it, checks the linking rules, links, and signs in, in `tx` with its audit
/// rows. A refusal links nothing and is recorded; the transaction is committed either way.
pub(crate) async fn finish(
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    portal: &Portal,
    completion: Completion<'_>,
    token_hash: &[u8],
    user_id: Uuid,
    previous: Option<&Token>,
    call: Call<'_>,
) -> Result<SignedIn> {
    let Call { now, .. } = call;
    // Serialised per holder (two tabs, two means), before the link is consumed.
    let head = sqlx::query!(
        "SELECT means, national_id FROM pending_links WHERE token_hash = $1",
        token_hash
    )
    .fetch_optional(&mut *tx)
    .await?;
    let means = head.as_ref().map(|h| h.means.clone()).unwrap_or_default();
    if let Some(head) = &head {
        identity::lock(&mut tx, &head.national_id).await?;
    }
    let Some(pending) = take(
        &mut tx,
        token_hash,
        completion.browser,
        completion.trust,
        now,
    )
    .await?
    else {
        // Nothing to undo; what the caller did in `tx` (the code step's end) still counts.
        tx.commit().await?;
        return Err(Pending::expired(&means));
    };
    let account = active_account(&mut tx, user_id).await?;

    if let Some((reason, error)) = refusal(&mut tx, &pending, &account).await? {
        // The refusal is recorded; the pending link stays consumed (start again).
        audit::record(&mut tx, denied(&pending, &account, reason), call).await?;
        tx.commit().await?;
        return Err(error);
    }

    if let (NationalIdKind::Rpps(rpps), None) = (pending.national_id().kind(), &account.rpps) {
        // The desk declared this RPPS identity for the account: the account takes the RPPS.
        // Another account may already carry it: the unique constraint refuses it, and that is the
        // "identity of another account" case for the holder.
        sqlx::query!("SAVEPOINT set_rpps").execute(&mut *tx).await?;
        let refused = match accounts::set_rpps_if_none(&mut tx, account.id, &rpps, now).await {
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
        if let Some((reason, error)) = refused {
            audit::record(&mut tx, denied(&pending, &account, reason), call).await?;
            tx.commit().await?;
            return Err(error);
        }
        let mut details = pending.audit_details();
        details["rpps"] = json!(rpps.as_str());
        audit::record(
            &mut tx,
            Event::new(
                match pending {
                    Pending::Card { .. } => audit::Action::UserRppsFromCard,
                    Pending::Psc(_) => audit::Action::UserRppsFromPsc,
                },
                Outcome::Success,
                &account.username,
            )
            .actor(account.id)
            .target("user", account.id.to_string(), &account.username)
            .region(&account.region_code)
            .details(details),
            call,
        )
        .await?;
    }

    let signed_in = match &pending {
        Pending::Card { identity, .. } => {
            card::link_card(&mut tx, &account, identity, "password", None, call).await?;
            card::sign_in_as(&mut tx, portal, &account, previous, call).await?
        }
        Pending::Psc(login) => {
            psc::link(&mut tx, &account, login, call).await?;
            psc::finish_sign_in(&mut tx, portal, &account, login, previous, call).await?
        }
    };
    tx.commit().await?;
    Ok(signed_in)
}
