//! CPx cards linked to accounts: the records the card flows and "Mes moyens de connexion" read and
//! write. The rules (who may link what) live in `auth::card`.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Result;
use crate::ids::NationalId;

pub use model::card::CardType;

/// Who a validated certificate belongs to.
#[derive(Debug, Clone)]
pub struct CardIdentity {
    pub national_id: NationalId,
    pub card_type: CardType,
    /// "CLAIRE MARTIN" (given name then surname), or the CN when the card is not nominative.
    pub holder_name: String,
    pub issuer_dn: String,
    pub subject_dn: String,
    /// Lowercase hex, without leading zero bytes.
    pub serial: String,
    pub fingerprint_sha256: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// A card as the holder sees it on "Mes moyens de connexion".
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LinkedCard {
    pub id: Uuid,
    pub card_type: String,
    pub serial: String,
    pub holder_name: String,
    pub not_after: OffsetDateTime,
    pub linked_at: OffsetDateTime,
    pub linked_via: String,
    pub last_used_at: Option<OffsetDateTime>,
}

/// The account a linked certificate belongs to.
#[derive(Debug, Clone)]
pub struct CardOwner {
    pub card_id: Uuid,
    pub user_id: Uuid,
}

pub async fn owner_of_certificate(
    conn: &mut PgConnection,
    issuer_dn: &str,
    serial: &str,
) -> Result<Option<CardOwner>> {
    Ok(sqlx::query_as!(
        CardOwner,
        "SELECT id AS card_id, user_id FROM cards
         WHERE issuer_dn = $1 AND serial = $2 AND unlinked_at IS NULL",
        issuer_dn,
        serial
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// Whether this certificate was ever linked (and since unlinked): such a card is not a renewal.
pub async fn was_linked(conn: &mut PgConnection, issuer_dn: &str, serial: &str) -> Result<bool> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM cards WHERE issuer_dn = $1 AND serial = $2) AS "exists!""#,
        issuer_dn,
        serial
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// The newest `not_before` among the holder's linked cards: a renewal must be newer.
pub async fn newest_linked(
    conn: &mut PgConnection,
    national_id: &str,
) -> Result<Option<OffsetDateTime>> {
    Ok(sqlx::query_scalar!(
        "SELECT max(not_before) FROM cards WHERE national_id = $1 AND unlinked_at IS NULL",
        national_id
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// The accounts that hold a linked card of this holder (normally none or one).
pub async fn owners_of_holder(conn: &mut PgConnection, national_id: &str) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar!(
        "SELECT DISTINCT user_id FROM cards WHERE national_id = $1 AND unlinked_at IS NULL",
        national_id
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Serialises the linking of one holder's cards: two browsers linking the same card at once must
/// not both succeed (the "one holder, one account" rule spans rows, so no index can hold it).
pub async fn lock_holder(conn: &mut PgConnection, national_id: &str) -> Result<()> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('card-holder:' || $1::text, 0))",
        national_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn insert(
    conn: &mut PgConnection,
    user_id: Uuid,
    card: &CardIdentity,
    linked_via: &str,
    now: OffsetDateTime,
) -> Result<Uuid> {
    let id = Uuid::new_v4();
    sqlx::query!(
        "INSERT INTO cards (id, user_id, national_id, card_type, issuer_dn, serial, subject_dn,
                            holder_name, fingerprint_sha256, not_before, not_after, linked_via,
                            linked_at, last_used_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)",
        id,
        user_id,
        card.national_id.as_str(),
        card.card_type.as_str(),
        card.issuer_dn,
        card.serial,
        card.subject_dn,
        card.holder_name,
        card.fingerprint_sha256,
        card.not_before,
        card.not_after,
        linked_via,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

pub async fn touch(conn: &mut PgConnection, card_id: Uuid, now: OffsetDateTime) -> Result<()> {
    sqlx::query!(
        "UPDATE cards SET last_used_at = $2 WHERE id = $1",
        card_id,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn linked_to(conn: &mut PgConnection, user_id: Uuid) -> Result<Vec<LinkedCard>> {
    Ok(sqlx::query_as!(
        LinkedCard,
        "SELECT id, card_type, serial, holder_name, not_after, linked_at, linked_via, last_used_at
         FROM cards WHERE user_id = $1 AND unlinked_at IS NULL
         ORDER BY linked_at DESC",
        user_id
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Marks the card unlinked; returns its serial, or `None` when it is not a linked card of
/// `user_id` (already unlinked, or someone else's).
pub async fn unlink(
    conn: &mut PgConnection,
    user_id: Uuid,
    card_id: Uuid,
    by: Uuid,
    now: OffsetDateTime,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar!(
        "UPDATE cards SET unlinked_at = $3, unlinked_by = $4
         WHERE id = $1 AND user_id = $2 AND unlinked_at IS NULL
         RETURNING serial",
        card_id,
        user_id,
        now,
        by
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// Pending card state (challenges, links, TLS hand-overs) past its lifetime.
pub async fn purge_expired(conn: &mut PgConnection, now: OffsetDateTime) -> Result<u64> {
    let a = sqlx::query!("DELETE FROM card_challenges WHERE expires_at <= $1", now)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let b = sqlx::query!("DELETE FROM card_pending WHERE expires_at <= $1", now)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(a + b)
}
