//! The national identity (IdNat_PS) ↔ account mapping, one for every strong means: a CPx card's
//! subject and Pro Santé Connect's `SubjectNameID` carry the same identifier, so a professional
//! who linked their card signs in through PSC without linking again, and an identity linked to
//! one account through one means cannot be linked to another account through the other.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::Result;

/// The accounts this national identity is linked to, through a linked card or a PSC link
/// (normally none or one).
pub async fn accounts_of(conn: &mut PgConnection, national_id: &str) -> Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT user_id AS "user_id!" FROM cards WHERE national_id = $1 AND unlinked_at IS NULL
           UNION
           SELECT user_id FROM psc_identities WHERE national_id = $1"#,
        national_id
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// The national identities already linked to this account, by any means.
pub async fn national_ids_of(conn: &mut PgConnection, user_id: Uuid) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT national_id AS "national_id!" FROM cards WHERE user_id = $1 AND unlinked_at IS NULL
           UNION
           SELECT national_id FROM psc_identities WHERE user_id = $1"#,
        user_id
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Serialises everything that links one national identity, whatever the means: two browsers
/// linking the same holder at once must not both succeed (the rule spans rows and tables, so no
/// index can hold it).
pub async fn lock(conn: &mut PgConnection, national_id: &str) -> Result<()> {
    crate::cards::lock_holder(conn, national_id).await
}
