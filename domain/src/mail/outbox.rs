//! The outbox: e-mails enqueued in the transaction of their change, claimed by the sending worker
//! with `FOR UPDATE SKIP LOCKED` (several instances never send the same row), marked sent in the
//! same transaction as the claim, retried with exponential backoff on transient failures.
//! Delivery is at least once: if the database commit fails after the SMTP server accepted a
//! message, it is sent again on the next round.

use crate::call::Call;
use sqlx::{PgConnection, PgPool};
use time::{Duration, OffsetDateTime};

use super::Recipient;
use super::messages::Mail;
use crate::error::Result;

/// A sign-in code is useless after its lifetime: its e-mail is abandoned after this.
pub const CODE_MAIL_USEFUL_FOR: Duration = Duration::minutes(15);
/// Other e-mails (activation, reset, card linked) are retried for days: an SMTP outage over a
/// weekend loses nothing.
pub const RETRY_FOR: Duration = Duration::days(4);

pub async fn enqueue(
    conn: &mut PgConnection,
    to: &Recipient,
    mail: &Mail,
    now: OffsetDateTime,
) -> Result<i64> {
    Ok(sqlx::query_scalar!(
        "INSERT INTO mail_outbox (kind, user_id, recipient, subject, text_body, html_body,
                                  next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        mail.kind,
        to.user_id,
        to.email.as_str(),
        mail.subject,
        mail.text,
        mail.html,
        now
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// `enqueue` for each of `mails`, in one statement; returns their ids, in order.
pub async fn enqueue_many(
    conn: &mut PgConnection,
    mails: &[(&Recipient, Mail)],
    now: OffsetDateTime,
) -> Result<Vec<i64>> {
    let kinds: Vec<&str> = mails.iter().map(|(_, m)| m.kind).collect();
    let users: Vec<uuid::Uuid> = mails.iter().map(|(r, _)| r.user_id).collect();
    let recipients: Vec<&str> = mails.iter().map(|(r, _)| r.email.as_str()).collect();
    let subjects: Vec<&str> = mails.iter().map(|(_, m)| m.subject.as_str()).collect();
    let texts: Vec<&str> = mails.iter().map(|(_, m)| m.text.as_str()).collect();
    let htmls: Vec<&str> = mails.iter().map(|(_, m)| m.html.as_str()).collect();
    // Rows are inserted in `n` order, each drawing the next identity value: sorted, the ids
    // returned are in the order of `mails`.
    let mut ids: Vec<i64> = sqlx::query_scalar!(
        "INSERT INTO mail_outbox (kind, user_id, recipient, subject, text_body, html_body,
                                  next_attempt_at, created_at)
         SELECT kind, user_id, recipient, subject, text_body, html_body, $7, $7
         FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[])
              WITH ORDINALITY AS t(kind, user_id, recipient, subject, text_body, html_body, n)
         ORDER BY n
         RETURNING id",
        &kinds as &[&str],
        &users,
        &recipients as &[&str],
        &subjects as &[&str],
        &texts as &[&str],
        &htmls as &[&str],
        now
    )
    .fetch_all(&mut *conn)
    .await?;
    ids.sort_unstable();
    Ok(ids)
}

/// An e-mail claimed for sending.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub id: i64,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub attempts: i32,
    pub created_at: OffsetDateTime,
}

/// Claims the oldest due e-mail, locking its row until the caller's transaction ends.
pub async fn claim_next(conn: &mut PgConnection, now: OffsetDateTime) -> Result<Option<Outgoing>> {
    Ok(sqlx::query_as!(
        Outgoing,
        r#"SELECT id, kind, recipient, subject, text_body AS "text_body!", html_body AS "html_body!",
                  attempts, created_at
           FROM mail_outbox
           WHERE state = 'pending' AND next_attempt_at <= $1
           -- Sign-in codes first: a bulk of activation e-mails must not make them expire.
           ORDER BY (kind = 'sign_in_code') DESC, next_attempt_at, id
           LIMIT 1
           FOR UPDATE SKIP LOCKED"#,
        now
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// Delivered: the bodies (codes, links) are erased.
pub async fn mark_sent(conn: &mut PgConnection, id: i64, now: OffsetDateTime) -> Result<()> {
    sqlx::query!(
        "UPDATE mail_outbox SET state = 'sent', sent_at = $2, attempts = attempts + 1,
                text_body = NULL, html_body = NULL, last_error = NULL
         WHERE id = $1",
        id,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The wait before attempt `attempts + 1`: 10 s, 20 s, 40 s… capped at 2 hours.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(0, 10) as u32;
    Duration::seconds((10_i64 << exp).min(7200))
}

/// Failed: retried later, or abandoned (audited) when the failure is permanent or the e-mail too
/// old to matter. Returns whether it was abandoned.
pub async fn mark_failed(
    conn: &mut PgConnection,
    mail: &Outgoing,
    error: &str,
    permanent: bool,
    now: OffsetDateTime,
) -> Result<bool> {
    let useful_for = if mail.kind == "sign_in_code" {
        CODE_MAIL_USEFUL_FOR
    } else {
        RETRY_FOR
    };
    let abandon = permanent || mail.created_at + useful_for < now;
    let error: String = error.chars().take(500).collect();
    if abandon {
        sqlx::query!(
            "UPDATE mail_outbox SET state = 'abandoned', attempts = attempts + 1, last_error = $2,
                    text_body = NULL, html_body = NULL
             WHERE id = $1",
            mail.id,
            error
        )
        .execute(&mut *conn)
        .await?;
        crate::audit::record(
            conn,
            crate::audit::Event::new(
                crate::audit::Action::MailAbandoned,
                crate::audit::Outcome::Failure,
                "outbox",
            )
            .target("mail", mail.id.to_string(), mail.kind.clone())
            .details(serde_json::json!({
                "kind": mail.kind,
                "attempts": mail.attempts + 1,
                "error": error,
            })),
            Call::new(&crate::audit::Client::default(), now),
        )
        .await?;
    } else {
        sqlx::query!(
            "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3
             WHERE id = $1",
            mail.id,
            error,
            now + backoff(mail.attempts)
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(abandon)
}

/// A new code was drawn: the previous code e-mails still waiting are pointless (and would arrive
/// after the new one once the server is back).
pub async fn supersede_codes(conn: &mut PgConnection, user_id: uuid::Uuid) -> Result<u64> {
    Ok(sqlx::query!(
        "UPDATE mail_outbox SET state = 'abandoned', text_body = NULL, html_body = NULL,
                last_error = 'superseded by a new code'
         WHERE user_id = $1 AND kind = 'sign_in_code' AND state = 'pending'",
        user_id
    )
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Forgets old delivered or abandoned e-mails (only addresses and subjects remain in them) and
/// expired code steps and links.
pub async fn purge(conn: &mut PgConnection, now: OffsetDateTime) -> Result<u64> {
    let mails = sqlx::query!(
        "DELETE FROM mail_outbox WHERE state <> 'pending' AND created_at < $1",
        now - Duration::days(30)
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let steps = sqlx::query!("DELETE FROM sign_in_steps WHERE expires_at < $1", now)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let links = sqlx::query!(
        "DELETE FROM account_links WHERE expires_at < $1 OR used_at < $1",
        now - Duration::days(1)
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(mails + steps + links)
}

/// Counts by state, for operators (`passerelle mail status`) and health pages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxState {
    pub pending: i64,
    pub sent: i64,
    pub abandoned: i64,
    pub oldest_pending: Option<OffsetDateTime>,
}

pub async fn state(pool: &PgPool) -> Result<OutboxState> {
    let row = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE state = 'pending') AS "pending!",
                  count(*) FILTER (WHERE state = 'sent') AS "sent!",
                  count(*) FILTER (WHERE state = 'abandoned') AS "abandoned!",
                  min(created_at) FILTER (WHERE state = 'pending') AS oldest_pending
           FROM mail_outbox"#
    )
    .fetch_one(pool)
    .await?;
    Ok(OutboxState {
        pending: row.pending,
        sent: row.sent,
        abandoned: row.abandoned,
        oldest_pending: row.oldest_pending,
    })
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use time::Duration;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(0), Duration::seconds(10));
        assert_eq!(backoff(1), Duration::seconds(20));
        assert_eq!(backoff(3), Duration::seconds(80));
        assert_eq!(backoff(50), Duration::seconds(7200));
    }
}
