//! Anonymous refusals, summarised: one audit row per source, action and reason per minute, with a
//! count, instead of one row per refused request.
//!
//! Anyone can send refused requests (a throttled sign-in, a forged TIQR answer, a card or Pro Santé
//! Connect refusal, a reset request for nobody). Each used to append a row to the audit log, which
//! can never be purged and is written under one global lock: a flood grew the log without bound
//! and queued the whole pool behind that lock.
//!
//! Now the first refusal of a minute by a source (the client address, IPv6 per /64) for an action
//! and reason is appended at once, exactly as before, so a single refusal — the everyday case —
//! is visible at once with all its details. The next ones of that minute only increment a counter
//! (`audit_refusal_counts`, a row lock, no chain lock). Once the minute is over, the window
//! becomes one summary row (`details.summary`, `details.refusals` = every refusal of the minute,
//! the first included, `details.first_row` = the first one's row), appended and deleted in one
//! transaction by whoever gets there first: the source's next refusal, or [`flush`], which every
//! instance runs periodically. Both skip windows another transaction holds, so two instances never
//! write the same summary, and the counts live in Postgres, so a restart loses none.

use serde_json::json;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::address;
use crate::audit::{self, Client, Event, Outcome};
use crate::call::Call;
use crate::error::Result;

/// What a refusal is counted under, with its source.
#[derive(Debug, Clone, Copy)]
pub struct Refusal<'a> {
    pub action: audit::Action,
    pub reason: &'a str,
    pub outcome: Outcome,
}

/// What became of one refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The first of its window: appended to the audit log as this row.
    Appended(i64),
    /// Counted: the window now holds this many refusals.
    Counted(i32),
}

/// Windows written by one flush at most (the rest wait for the next).
const FLUSH_BATCH: i64 = 1_000;

/// The start of `now`'s minute, in UTC.
pub fn minute_of(now: OffsetDateTime) -> OffsetDateTime {
    let t = now.to_offset(time::UtcOffset::UTC);
    t.replace_time(time::Time::from_hms(t.hour(), t.minute(), 0).unwrap_or(time::Time::MIDNIGHT))
}

/// The source a refusal is counted under: the client's address key, as the sign-in throttle uses.
pub fn source_of(client: &Client) -> String {
    address::key(client.ip.as_deref())
}

/// Records a refusal. `event` builds the full audit event; it runs (with the transaction, for any
/// lookup it needs) only when the refusal is the first of its window, so repeated refusals cost
/// one upsert and nothing else.
pub async fn record(
    pool: &PgPool,
    refusal: Refusal<'_>,
    call: Call<'_>,
    event: impl AsyncFnOnce(&mut PgConnection) -> Result<Event>,
) -> Result<Recorded> {
    let mut conn = pool.acquire().await?;
    record_on(&mut conn, refusal, call, event).await
}

/// [`record`] on a connection the caller holds (who must not wait for a second one meanwhile).
pub async fn record_on(
    conn: &mut PgConnection,
    refusal: Refusal<'_>,
    call: Call<'_>,
    event: impl AsyncFnOnce(&mut PgConnection) -> Result<Event>,
) -> Result<Recorded> {
    let Call { client, now } = call;
    let source = source_of(client);
    let minute = minute_of(now);
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let refusals: i32 = sqlx::query_scalar!(
        r#"INSERT INTO audit_refusal_counts AS c (source, action, reason, minute, outcome, refusals, last_at)
           VALUES ($1, $2, $3, $4, $5, 1, $6)
           ON CONFLICT (source, action, reason, minute) DO UPDATE
             SET refusals = c.refusals + 1, last_at = greatest(c.last_at, $6)
           RETURNING refusals"#,
        source,
        refusal.action.as_str(),
        refusal.reason,
        minute,
        refusal.outcome as Outcome,
        now,
    )
    .fetch_one(&mut *tx)
    .await?;
    if refusals > 1 {
        tx.commit().await?;
        return Ok(Recorded::Counted(refusals));
    }
    // A new window: this source's earlier windows for the same refusal are over. Their summaries
    // go first, so that the log reads in order.
    let closed = sqlx::query_as!(
        Window,
        r#"DELETE FROM audit_refusal_counts
           WHERE (source, action, reason, minute) IN (
               SELECT source, action, reason, minute FROM audit_refusal_counts
               WHERE source = $1 AND action = $2 AND reason = $3 AND minute < $4
               FOR UPDATE SKIP LOCKED)
           RETURNING source, action, reason, minute, outcome AS "outcome: Outcome", refusals,
                     first_row_id, last_at"#,
        source,
        refusal.action.as_str(),
        refusal.reason,
        minute,
    )
    .fetch_all(&mut *tx)
    .await?;
    summarise(&mut tx, closed, now).await?;
    let event = event(&mut *tx).await?;
    let id = audit::record(&mut tx, event, call).await?;
    sqlx::query!(
        "UPDATE audit_refusal_counts SET first_row_id = $5
         WHERE source = $1 AND action = $2 AND reason = $3 AND minute = $4",
        source,
        refusal.action.as_str(),
        refusal.reason,
        minute,
        id,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Recorded::Appended(id))
}

/// What one [`flush`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flushed {
    /// Windows closed (and forgotten).
    pub windows: u64,
    /// Summary rows appended (windows that counted more than their first refusal).
    pub summaries: u64,
}

impl Flushed {
    /// A full batch was closed: more may be waiting.
    pub fn more_waiting(&self) -> bool {
        self.windows >= FLUSH_BATCH as u64
    }
}

/// Writes the summaries of the windows whose minute is over (at most `FLUSH_BATCH` per call) and
/// forgets them.
pub async fn flush(pool: &PgPool, now: OffsetDateTime) -> Result<Flushed> {
    let mut tx = pool.begin().await?;
    let closed = sqlx::query_as!(
        Window,
        r#"DELETE FROM audit_refusal_counts
           WHERE (source, action, reason, minute) IN (
               SELECT source, action, reason, minute FROM audit_refusal_counts
               WHERE minute < $1 ORDER BY minute LIMIT $2
               FOR UPDATE SKIP LOCKED)
           RETURNING source, action, reason, minute, outcome AS "outcome: Outcome", refusals,
                     first_row_id, last_at"#,
        minute_of(now),
        FLUSH_BATCH,
    )
    .fetch_all(&mut *tx)
    .await?;
    let windows = closed.len() as u64;
    let summaries = summarise(&mut tx, closed, now).await?;
    tx.commit().await?;
    Ok(Flushed { windows, summaries })
}

/// A closed window, as deleted.
struct Window {
    source: String,
    action: String,
    reason: String,
    minute: OffsetDateTime,
    outcome: Outcome,
    refusals: i32,
    first_row_id: Option<i64>,
    last_at: OffsetDateTime,
}

/// Appends one summary row per window that counted more than its first refusal (that one is in
/// the log already and says it all).
async fn summarise(
    tx: &mut PgConnection,
    mut closed: Vec<Window>,
    now: OffsetDateTime,
) -> Result<u64> {
    closed.retain(|w| w.refusals > 1);
    if closed.is_empty() {
        return Ok(0);
    }
    closed.sort_by(|a, b| (a.minute, &a.source).cmp(&(b.minute, &b.source)));
    let written = closed.len() as u64;
    // `record_many` stamps one client on all its rows, and each summary names its own source.
    for w in closed {
        let at = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
        let mut event =
            Event::new(audit::Action::AuditSummary, w.outcome, &w.source).details(json!({
                "summary": true,
                "reason": w.reason,
                "refusals": w.refusals,
                "minute": at(w.minute),
                "last_at": at(w.last_at),
                "first_row": w.first_row_id,
            }));
        // The counted action's own name (the counter holds what `record` wrote).
        event.action = audit::Action::parse(&w.action).unwrap_or(audit::Action::AuditSummary);
        let client = Client {
            ip: Some(w.source),
            user_agent: None,
            device: None,
        };
        audit::record(tx, event, Call::new(&client, now)).await?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_start_at_second_zero_in_utc() {
        let t = time::macros::datetime!(2026-12-03 06:41:59.999 +01:00);
        assert_eq!(minute_of(t), time::macros::datetime!(2026-12-03 05:41 UTC));
    }
}
