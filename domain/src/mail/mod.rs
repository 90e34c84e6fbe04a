//! E-mails: what is said ([`messages`]) and the outbox they wait in ([`outbox`]); the demo reads
//! back what the folder transport wrote ([`folder`]). Sending (SMTP or
//! a folder of .eml files) is the server's worker; the domain only writes to the outbox, in the
//! transaction of the change an e-mail announces.

pub mod folder;
pub mod messages;
pub mod outbox;

use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::Result;
use crate::ids::{Email, Username};

/// Who an e-mail goes to, with their region's support desk for the footer.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub user_id: Uuid,
    pub email: Email,
    pub given_name: String,
    pub family_name: String,
    pub username: Username,
    pub support_email: String,
    pub support_phone: String,
    pub support_hours: String,
    pub agency_name: String,
}

pub async fn recipient(conn: &mut PgConnection, user_id: Uuid) -> Result<Option<Recipient>> {
    Ok(sqlx::query_as!(
        Recipient,
        r#"SELECT u.id AS user_id, u.email AS "email: _", u.given_name, u.family_name, u.username AS "username: _",
                r.support_email, r.support_phone, r.support_hours, r.agency_name
         FROM users u JOIN regions r ON r.code = u.region_code
         WHERE u.id = $1"#,
        user_id
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// `recipient` for each of `user_ids`, in one query; an unknown id is left out.
pub async fn recipients(conn: &mut PgConnection, user_ids: &[Uuid]) -> Result<Vec<Recipient>> {
    Ok(sqlx::query_as!(
        Recipient,
        r#"SELECT u.id AS user_id, u.email AS "email: _", u.given_name, u.family_name, u.username AS "username: _",
                r.support_email, r.support_phone, r.support_hours, r.agency_name
         FROM users u JOIN regions r ON r.code = u.region_code
         WHERE u.id = ANY($1)"#,
        user_ids
    )
    .fetch_all(&mut *conn)
    .await?)
}
