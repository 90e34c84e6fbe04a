//! "Mes moyens de connexion": what signs an account in without its password — linked CPx cards,
//! Pro Santé Connect identities, TIQR phones and passkeys — in one place, so that a link made with a phished
//! password can be seen and undone.
//!
//! - [`of_user`] lists them (the holder's page and the console);
//! - [`remove_own`]: the holder removes one after typing the password again (a stolen session
//!   alone removes nothing, and cannot lock the holder out of their card either);
//! - [`remove_in`] / [`remove_all_in`] are the removals themselves, in the caller's transaction:
//!   the console (`admin::users`), the password reset that asks for it (`account_links`) and the
//!   desk's "compte compromis" action call them, audit, and tell the holder with [`tell_holder`].
//!
//! Cards keep their row (`unlinked_at`), phones too (`revoked`, secret erased); a PSC identity is
//! deleted, its national identifier being the key a new link needs (the audit row keeps it), and
//! so is a passkey (its credential id must be free to be registered again).

use serde::Serialize;
use serde_json::{Value, json};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::passkey::{self, PasskeyInfo};
use super::tiqr::enrollment::{self, Enrollment};
use super::{Portal, password};
use crate::audit::{self, Event, Outcome};
use crate::call::Call;
use crate::cards::{self, LinkedCard};
use crate::error::{Error, Result};
use crate::ids::NationalId;
use crate::mail::{self, messages, outbox};

/// The kinds of sign-in means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Means {
    Card,
    Psc,
    Phone,
    Passkey,
}

impl Means {
    pub fn as_str(self) -> &'static str {
        match self {
            Means::Card => "card",
            Means::Psc => "psc",
            Means::Phone => "phone",
            Means::Passkey => "passkey",
        }
    }
}

/// One means of one account, as a form names it: a card or a phone by its id, a PSC identity by
/// its national identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeansRef {
    Card(Uuid),
    Psc(String),
    Phone(Uuid),
    Passkey(Uuid),
}

impl MeansRef {
    pub fn means(&self) -> Means {
        match self {
            MeansRef::Card(_) => Means::Card,
            MeansRef::Psc(_) => Means::Psc,
            MeansRef::Phone(_) => Means::Phone,
            MeansRef::Passkey(_) => Means::Passkey,
        }
    }
}

/// A Pro Santé Connect identity linked to an account.
#[derive(Debug, Clone, Serialize)]
pub struct PscLink {
    pub national_id: NationalId,
    pub given_name: String,
    pub family_name: String,
    pub linked_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

impl PscLink {
    pub fn display_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
            .trim()
            .to_string()
    }
}

/// Everything that signs the account in without its password.
#[derive(Debug, Clone, Default)]
pub struct SignInMeans {
    pub cards: Vec<LinkedCard>,
    pub psc: Vec<PscLink>,
    /// Phones not revoked (active or blocked).
    pub phones: Vec<Enrollment>,
    pub passkeys: Vec<PasskeyInfo>,
}

impl SignInMeans {
    pub fn is_empty(&self) -> bool {
        self.cards.is_empty()
            && self.psc.is_empty()
            && self.phones.is_empty()
            && self.passkeys.is_empty()
    }
}

pub async fn psc_links_of(conn: &mut PgConnection, user_id: Uuid) -> Result<Vec<PscLink>> {
    Ok(sqlx::query_as!(
        PscLink,
        r#"SELECT national_id AS "national_id: _", given_name, family_name, linked_at, last_used_at
         FROM psc_identities WHERE user_id = $1 ORDER BY linked_at DESC, national_id"#,
        user_id
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// The account's linked cards, PSC identities, phones and passkeys, newest first in each list.
pub async fn of_user(conn: &mut PgConnection, user_id: Uuid) -> Result<SignInMeans> {
    Ok(SignInMeans {
        cards: cards::linked_to(conn, user_id).await?,
        psc: psc_links_of(conn, user_id).await?,
        phones: enrollment::enrollments_of(conn, user_id, false).await?,
        passkeys: passkey::of_user(conn, user_id).await?,
    })
}

/// What a removal took away: for the audit row, the e-mail and the page's confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removed {
    pub means: Means,
    pub id: String,
    /// Serial number, holder's name, phone's or passkey's name.
    pub label: String,
}

impl Removed {
    /// How the holder's e-mail names it.
    fn describe(&self) -> String {
        match self.means {
            Means::Card => format!("carte CPx (numéro de série {})", self.label),
            Means::Psc => format!(
                "identité Pro Santé Connect de {} (identifiant national {})",
                self.label, self.id
            ),
            Means::Phone => format!("téléphone « {} » (application TIQR)", self.label),
            Means::Passkey => format!("clé d'accès « {} »", self.label),
        }
    }
}

/// The audit details of a list of removals.
pub(crate) fn details(removed: &[Removed]) -> Value {
    json!(removed)
}

/// Removes one means of `user_id`, in the caller's transaction; `None` when it is not one of the
/// account's (someone else's, already removed, unknown). `by` is who removed it (the holder, or
/// the desk agent).
pub(crate) async fn remove_in(
    tx: &mut PgConnection,
    user_id: Uuid,
    what: &MeansRef,
    by: Uuid,
    now: OffsetDateTime,
) -> Result<Option<Removed>> {
    Ok(match what {
        MeansRef::Card(id) => cards::unlink(tx, user_id, *id, by, now)
            .await?
            .map(|serial| Removed {
                means: Means::Card,
                id: id.to_string(),
                label: serial,
            }),
        MeansRef::Psc(national_id) => sqlx::query!(
            "DELETE FROM psc_identities WHERE national_id = $1 AND user_id = $2
             RETURNING given_name, family_name",
            national_id,
            user_id
        )
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| Removed {
            means: Means::Psc,
            id: national_id.clone(),
            label: format!("{} {}", r.given_name, r.family_name)
                .trim()
                .to_string(),
        }),
        MeansRef::Phone(id) => {
            enrollment::revoke_in(tx, user_id, *id, by, now)
                .await?
                .map(|name| Removed {
                    means: Means::Phone,
                    id: id.to_string(),
                    label: name,
                })
        }
        MeansRef::Passkey(id) => passkey::remove_in(tx, user_id, *id)
            .await?
            .map(|name| Removed {
                means: Means::Passkey,
                id: id.to_string(),
                label: name,
            }),
    })
}

/// Removes every card, PSC identity, phone and passkey of `user_id`, and the phone enrolments and
/// passkey registrations still under way (a QR shown or a registration started in an attacker's
/// browser must not finish after the account was cleaned), in the caller's transaction.
pub(crate) async fn remove_all_in(
    tx: &mut PgConnection,
    user_id: Uuid,
    by: Uuid,
    now: OffsetDateTime,
) -> Result<Vec<Removed>> {
    // The account row is locked by every caller, so the lists cannot grow meanwhile (linking and
    // enrolling write under the same account).
    let current = of_user(tx, user_id).await?;
    let mut removed = Vec::new();
    let refs = current
        .cards
        .iter()
        .map(|c| MeansRef::Card(c.id))
        .chain(
            current
                .psc
                .iter()
                .map(|p| MeansRef::Psc(p.national_id.to_string())),
        )
        .chain(current.phones.iter().map(|e| MeansRef::Phone(e.id)))
        .chain(current.passkeys.iter().map(|p| MeansRef::Passkey(p.id)));
    for what in refs {
        if let Some(r) = remove_in(tx, user_id, &what, by, now).await? {
            removed.push(r);
        }
    }
    sqlx::query!(
        "DELETE FROM tiqr_enrollment_starts
         WHERE user_id = $1 AND status IN ('initialized', 'retrieved')",
        user_id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!("DELETE FROM passkey_ceremonies WHERE user_id = $1", user_id)
        .execute(&mut *tx)
        .await?;
    Ok(removed)
}

/// What throwing someone out of an account did.
#[derive(Debug, Clone)]
pub(crate) struct ThrownOut {
    pub sessions_ended: u64,
    pub removed: Vec<Removed>,
    pub code_steps_cancelled: u64,
    pub links_voided: u64,
}

/// Throws whoever may hold the account's password or means out of it, in the caller's transaction
/// (the account row locked): every session ends (`end_reason`), every means goes
/// ([`remove_all_in`]), the e-mail code steps under way and the unused activation or reset links
/// are voided. The password itself is the caller's (the desk's « Compte compromis » and the
/// holder's « ce n'était pas moi » void it on different conditions).
pub(crate) async fn throw_out(
    tx: &mut PgConnection,
    user_id: Uuid,
    by: Uuid,
    end_reason: &str,
    now: OffsetDateTime,
) -> Result<ThrownOut> {
    let sessions_ended = crate::sessions::end_all_for_user(tx, user_id, end_reason, now).await?;
    let removed = remove_all_in(tx, user_id, by, now).await?;
    let code_steps_cancelled =
        sqlx::query!("DELETE FROM sign_in_steps WHERE user_id = $1", user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    let links_voided = sqlx::query!(
        "UPDATE account_links SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        user_id,
        now
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    // A dormant account's wake links too: whoever made the sign-in that sent one may be the
    // intruder.
    sqlx::query!(
        "UPDATE wake_links SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        user_id,
        now
    )
    .execute(&mut *tx)
    .await?;
    Ok(ThrownOut {
        sessions_ended,
        removed,
        code_steps_cancelled,
        links_voided,
    })
}

/// Who removed the means, as the holder's e-mail says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovedBy<'a> {
    Holder,
    /// A desk agent or an administrator, by username.
    Desk(&'a str),
}

/// Tells the holder by e-mail (outbox, same transaction) what was removed.
pub(crate) async fn tell_holder(
    tx: &mut PgConnection,
    user_id: Uuid,
    removed: &[Removed],
    by: RemovedBy<'_>,
    now: OffsetDateTime,
) -> Result<()> {
    if removed.is_empty() {
        return Ok(());
    }
    if let Some(recipient) = mail::recipient(tx, user_id).await? {
        let what: Vec<String> = removed.iter().map(Removed::describe).collect();
        let desk = match by {
            RemovedBy::Holder => None,
            RemovedBy::Desk(agent) => Some(agent),
        };
        let message = messages::sign_in_means_removed(&recipient, &what, desk);
        outbox::enqueue(tx, &recipient, &message, now).await?;
    }
    Ok(())
}

/// What the holder's e-mail says about removals made with another change (a password reset, the
/// desk securing the account).
pub(crate) fn descriptions(removed: &[Removed]) -> Vec<String> {
    removed.iter().map(Removed::describe).collect()
}

/// The audit action of a removal of `means` (the names the card and TIQR flows already used).
pub(crate) fn action(means: Means) -> audit::Action {
    match means {
        Means::Card => audit::Action::CardUnlinked,
        Means::Psc => audit::Action::PscUnlinked,
        Means::Phone => audit::Action::TiqrRevoke,
        Means::Passkey => audit::Action::PasskeyRemove,
    }
}

/// The signed-in holder removes one of their means after typing their password again. Wrong
/// passwords count like sign-in failures (same throttle), and are audited.
pub async fn remove_own(
    portal: &Portal,
    username: &str,
    user_id: Uuid,
    what: &MeansRef,
    password_typed: &str,
    call: Call<'_>,
) -> Result<Removed> {
    let Call { now, .. } = call;
    let checked = password::check(
        portal,
        audit::Action::SignInMeansRemove,
        username,
        password_typed,
        call,
    )
    .await?;
    if checked.user.id != user_id {
        return Err(Error::Forbidden);
    }
    let mut tx = portal.pool.begin().await?;
    checked.settle(&mut tx, now).await?;
    // The same lock as the console's changes: a removal and a reset or a desk action on the same
    // account are serialised.
    sqlx::query!("SELECT id FROM users WHERE id = $1 FOR UPDATE", user_id)
        .fetch_one(&mut *tx)
        .await?;
    let removed = remove_in(&mut tx, user_id, what, user_id, now)
        .await?
        .ok_or(Error::NotFound)?;
    tell_holder(
        &mut tx,
        user_id,
        std::slice::from_ref(&removed),
        RemovedBy::Holder,
        now,
    )
    .await?;
    audit::record(
        &mut tx,
        Event::new(action(removed.means), Outcome::Success, username)
            .actor(user_id)
            // The account, not the card: the console's recent rows about the account show it.
            .target("user", user_id.to_string(), username)
            .region(&checked.user.region_code)
            .details(json!({ "by": "holder", "removed": removed })),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(removed)
}

/// Unlinks one of the signed-in holder's cards after they typed their password again: the
/// "Mes moyens de connexion" removal ([`remove_own`]), for a card.
pub async fn unlink_own_card(
    portal: &Portal,
    username: &str,
    user_id: Uuid,
    card_id: Uuid,
    password_typed: &str,
    call: Call<'_>,
) -> Result<()> {
    remove_own(
        portal,
        username,
        user_id,
        &MeansRef::Card(card_id),
        password_typed,
        call,
    )
    .await
    .map(drop)
}
