//! The append-only, hash-chained audit log.
//!
//! Every row's hash is SHA-256(previous hash || canonical form of the row). Rows are appended under
//! a transaction-scoped advisory lock, so the chain never forks: the lock is held until the
//! transaction that carries the change commits or rolls back. The database refuses UPDATE, DELETE
//! and TRUNCATE (migration `audit_log`); `verify` recomputes the chain to detect changes made
//! behind those triggers (for instance by a superuser disabling them).

use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::call::Call;
use crate::error::{Error, Result};

/// Arbitrary but fixed key of the advisory lock that serialises appends.
const CHAIN_LOCK_KEY: i64 = 0x5041_5353_4155_4449; // "PASSAUDI"
/// The chain's anchor: the `prev_hash` of the first row.
pub const GENESIS: [u8; 32] = [0; 32];

pub use model::audit::{Action, Outcome};

/// Who and where an action came from (defined beside [`Call`], which carries it).
pub use crate::call::Client;

/// One event to append; `action` is one of the catalog's ([`Action`]).
#[derive(Debug, Clone)]
pub struct Event {
    pub actor_user_id: Option<Uuid>,
    pub actor_label: String,
    pub actor_role: Option<String>,
    pub action: Action,
    pub outcome: Outcome,
    pub target_type: Option<&'static str>,
    pub target_id: Option<String>,
    pub target_label: Option<String>,
    pub region_code: Option<String>,
    pub details: Value,
}

impl Event {
    pub fn new(action: Action, outcome: Outcome, actor_label: impl Into<String>) -> Self {
        Self {
            actor_user_id: None,
            actor_label: actor_label.into(),
            actor_role: None,
            action,
            outcome,
            target_type: None,
            target_id: None,
            target_label: None,
            region_code: None,
            details: json!({}),
        }
    }

    pub fn actor(mut self, id: Uuid) -> Self {
        self.actor_user_id = Some(id);
        self
    }

    pub fn target(
        mut self,
        kind: &'static str,
        id: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        self.target_type = Some(kind);
        self.target_id = Some(id.into());
        self.target_label = Some(label.into());
        self
    }

    pub fn region(mut self, code: impl Into<String>) -> Self {
        self.region_code = Some(code.into());
        self
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

// --- Hardening (issue 14, L-4): what was typed for no account is not kept. ---

/// How an identifier typed for no account appears in the log: this prefix (no username starts
/// with `#`) and a keyed hash of what was typed. Users type their password in the username field
/// often enough; the log is append-only and exported, so the text itself must never be stored.
pub const UNKNOWN_ACCOUNT_PREFIX: &str = "#inconnu-";

/// The server's key for [`IdentifierKey::label`] (a file next to the data, like the TIQR key): an
/// unkeyed hash of a short password could be reversed by trying candidates.
#[derive(Clone)]
pub struct IdentifierKey(std::sync::Arc<[u8; 32]>);

impl std::fmt::Debug for IdentifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentifierKey(..)")
    }
}

impl IdentifierKey {
    pub fn new(key: [u8; 32]) -> Self {
        Self(std::sync::Arc::new(key))
    }

    /// The label of an identifier typed for no account: the same text (trimmed, lower-cased)
    /// gives the same label, so repeated attempts can still be told apart and counted.
    pub fn label(&self, typed: &str) -> String {
        use hmac::Mac;
        let normalised = typed.trim().to_lowercase();
        let mut mac = match hmac::Hmac::<Sha256>::new_from_slice(&self.0[..]) {
            Ok(mac) => mac,
            // Unreachable: HMAC takes keys of any length.
            Err(_) => return UNKNOWN_ACCOUNT_PREFIX.to_string(),
        };
        mac.update(normalised.as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("{UNKNOWN_ACCOUNT_PREFIX}{}", hex::encode(&digest[..8]))
    }
}

/// The hash part of a label made by [`IdentifierKey::label`], if `label` is one.
pub fn unknown_account(label: &str) -> Option<&str> {
    label.strip_prefix(UNKNOWN_ACCOUNT_PREFIX)
}

// --- end of hardening (issue 14) ---

/// A stored row, as read back for display and for verification.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub id: i64,
    pub occurred_at: OffsetDateTime,
    pub actor_user_id: Option<Uuid>,
    pub actor_label: String,
    pub actor_role: Option<String>,
    pub action: String,
    pub outcome: Outcome,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target_label: Option<String>,
    pub region_code: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: Value,
    #[serde(skip)]
    pub prev_hash: Vec<u8>,
    #[serde(skip)]
    pub hash: Vec<u8>,
}

/// Postgres keeps microseconds; hash what will be stored.
fn to_micros(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

/// The canonical bytes of a row: a JSON array in a fixed field order. `details` is a
/// `serde_json::Value`, whose objects keep their keys sorted, so the same JSON read back from
/// `jsonb` serialises to the same bytes.
fn canonical(row: &Row) -> Result<Vec<u8>> {
    let at = row
        .occurred_at
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .map_err(|e| Error::Internal(e.to_string()))?;
    let v = json!([
        row.id,
        at,
        row.actor_user_id.map(|u| u.to_string()),
        row.actor_label,
        row.actor_role,
        row.action,
        row.outcome.as_str(),
        row.target_type,
        row.target_id,
        row.target_label,
        row.region_code,
        row.ip,
        row.user_agent,
        row.details,
    ]);
    Ok(serde_json::to_vec(&v).unwrap_or_default())
}

fn chain_hash(prev: &[u8], row: &Row) -> Result<Vec<u8>> {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical(row)?);
    Ok(h.finalize().to_vec())
}

/// Appends `event` inside the caller's transaction and returns the row's id.
pub async fn record(conn: &mut PgConnection, event: Event, call: Call<'_>) -> Result<i64> {
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", CHAIN_LOCK_KEY)
        .execute(&mut *conn)
        .await?;
    // The chain's last hash and the row's id in one statement (every sign-in comes here), after
    // the lock: a statement's snapshot is taken before it waits, so the read cannot share the
    // lock's statement, but the id drawn after the lock follows every id already in the chain.
    let next = sqlx::query!(
        r#"SELECT (SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1) AS "prev?",
                  nextval('audit_log_id_seq') AS "id!""#
    )
    .fetch_one(&mut *conn)
    .await?;
    let (id, prev) = (next.id, next.prev.unwrap_or_else(|| GENESIS.to_vec()));
    let counted = (event.action, event.outcome);
    let row = chained_row(id, event, call, prev)?;
    sqlx::query!(
        r#"INSERT INTO audit_log (id, occurred_at, actor_user_id, actor_label, actor_role, action, outcome,
               target_type, target_id, target_label, region_code, ip, user_agent, details, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"#,
        row.id,
        row.occurred_at,
        row.actor_user_id,
        row.actor_label,
        row.actor_role,
        row.action,
        row.outcome as Outcome,
        row.target_type,
        row.target_id,
        row.target_label,
        row.region_code,
        row.ip,
        row.user_agent,
        row.details,
        row.prev_hash,
        row.hash,
    )
    .execute(&mut *conn)
    .await?;
    count(counted.0, counted.1);
    Ok(id)
}

/// Counts an appended row for the metrics (`passerelle_audit_events_total{action, outcome}`: the
/// sign-ins by method and outcome, the lockouts, every console change). Counted once written, in
/// the caller's transaction: a change rolled back afterwards is counted all the same. Without a
/// metrics recorder (no `[metrics] listen`) this does nothing.
fn count(action: Action, outcome: Outcome) {
    metrics::counter!(
        "passerelle_audit_events_total",
        "action" => action.as_str(),
        "outcome" => outcome.as_str()
    )
    .increment(1);
}

/// Rows appended by one statement of `record_many`.
const RECORD_BATCH: usize = 5_000;

/// Appends `events`, in order, inside the caller's transaction: the same rows and chain as
/// `record` called for each, in a few round trips whatever their number (the bulk import writes
/// one per account). Returns their ids.
pub async fn record_many(
    conn: &mut PgConnection,
    events: Vec<Event>,
    call: Call<'_>,
) -> Result<Vec<i64>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query!("SELECT pg_advisory_xact_lock($1)", CHAIN_LOCK_KEY)
        .execute(&mut *conn)
        .await?;
    let mut prev: Vec<u8> =
        sqlx::query_scalar!("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or_else(|| GENESIS.to_vec());
    let n = i64::try_from(events.len()).map_err(|e| Error::Internal(e.to_string()))?;
    // The sequence only grows: sorted, these ids are in the order they were drawn, after every id
    // already in the (locked) chain.
    let mut ids: Vec<i64> = sqlx::query_scalar!(
        r#"SELECT nextval('audit_log_id_seq') AS "id!" FROM generate_series(1, $1::bigint)"#,
        n
    )
    .fetch_all(&mut *conn)
    .await?;
    ids.sort_unstable();
    let mut events = events.into_iter();
    for chunk in ids.chunks(RECORD_BATCH) {
        let mut rows = Vec::with_capacity(chunk.len());
        let mut counted = Vec::with_capacity(chunk.len());
        for (&id, event) in chunk.iter().zip(events.by_ref()) {
            counted.push((event.action, event.outcome));
            let row = chained_row(id, event, call, prev)?;
            prev = row.hash.clone();
            rows.push(row);
        }
        let column = |f: fn(&Row) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
        let actor_roles = column(|r| r.actor_role.clone());
        let target_types = column(|r| r.target_type.clone());
        let target_ids = column(|r| r.target_id.clone());
        let target_labels = column(|r| r.target_label.clone());
        let region_codes = column(|r| r.region_code.clone());
        let ips = column(|r| r.ip.clone());
        let user_agents = column(|r| r.user_agent.clone());
        let row_ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let occurred: Vec<OffsetDateTime> = rows.iter().map(|r| r.occurred_at).collect();
        let actor_ids: Vec<Option<Uuid>> = rows.iter().map(|r| r.actor_user_id).collect();
        let actor_labels: Vec<String> = rows.iter().map(|r| r.actor_label.clone()).collect();
        let actions: Vec<String> = rows.iter().map(|r| r.action.clone()).collect();
        let outcomes: Vec<String> = rows
            .iter()
            .map(|r| r.outcome.as_str().to_string())
            .collect();
        let details: Vec<Value> = rows.iter().map(|r| r.details.clone()).collect();
        let prev_hashes: Vec<Vec<u8>> = rows.iter().map(|r| r.prev_hash.clone()).collect();
        let hashes: Vec<Vec<u8>> = rows.iter().map(|r| r.hash.clone()).collect();
        // Nullable columns travel as arrays with NULLs, which `query!` cannot type-check (`as _`).
        sqlx::query!(
            r#"INSERT INTO audit_log (id, occurred_at, actor_user_id, actor_label, actor_role, action, outcome,
                   target_type, target_id, target_label, region_code, ip, user_agent, details, prev_hash, hash)
               SELECT id, occurred_at, actor_user_id, actor_label, actor_role, action, outcome::audit_outcome,
                   target_type, target_id, target_label, region_code, ip, user_agent, details, prev_hash, hash
               FROM unnest($1::bigint[], $2::timestamptz[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                   $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
                   $14::jsonb[], $15::bytea[], $16::bytea[])
                 AS t(id, occurred_at, actor_user_id, actor_label, actor_role, action, outcome,
                      target_type, target_id, target_label, region_code, ip, user_agent, details,
                      prev_hash, hash)"#,
            &row_ids,
            &occurred,
            &actor_ids as _,
            &actor_labels,
            &actor_roles as _,
            &actions,
            &outcomes,
            &target_types as _,
            &target_ids as _,
            &target_labels as _,
            &region_codes as _,
            &ips as _,
            &user_agents as _,
            &details as _,
            &prev_hashes,
            &hashes,
        )
        .execute(&mut *conn)
        .await?;
        for (action, outcome) in counted {
            count(action, outcome);
        }
    }
    Ok(ids)
}

/// The row `event` becomes with id `id` after the row whose hash is `prev`.
fn chained_row(id: i64, event: Event, call: Call<'_>, prev: Vec<u8>) -> Result<Row> {
    let Call { client, now } = call;
    let opt = |s: Option<String>| s.map(|s| printable(&s));
    let mut row = Row {
        id,
        occurred_at: to_micros(now),
        actor_user_id: event.actor_user_id,
        actor_label: printable(&event.actor_label),
        actor_role: opt(event.actor_role),
        action: event.action.as_str().to_string(),
        outcome: event.outcome,
        target_type: event.target_type.map(str::to_string),
        target_id: opt(event.target_id),
        target_label: opt(event.target_label),
        region_code: opt(event.region_code),
        ip: opt(client.ip.clone()),
        user_agent: opt(client.user_agent.clone()),
        details: printable_json(event.details),
        prev_hash: prev,
        hash: Vec::new(),
    };
    row.hash = chain_hash(&row.prev_hash, &row)?;
    Ok(row)
}

/// Text as it may be stored: without NUL (which `text` and `jsonb` refuse, so a refusal carrying
/// `?error=%00` or a certificate subject with a NUL would fail to be written at all) nor any other
/// control character (which would let a client forge line breaks in exports and viewers).
/// Every text of a row goes through here, whoever built the event.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// `details` with every string and key made [`printable`], except that multi-line values keep
/// their line breaks and tabs (JSON escapes them).
fn printable_json(value: Value) -> Value {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
            .collect()
    };
    match value {
        Value::String(s) => Value::String(clean(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(printable_json).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (printable(&k), printable_json(v)))
                .collect(),
        ),
        other => other,
    }
}

/// The result of recomputing the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// `last` is the id and hash of the newest row: recorded elsewhere (a ticket, a notary
    /// service), it shows later that no row was cut off the end nor the chain rewritten.
    Intact {
        rows: u64,
        last: Option<(i64, String)>,
    },
    /// The first row whose stored hashes do not match the recomputed chain: it, or a row before
    /// it, was changed, inserted or removed behind the application's back.
    Broken { row_id: i64, rows_checked: u64 },
}

/// Recomputes the whole chain, in id order, in pages (the log may hold millions of rows).
pub async fn verify(pool: &sqlx::PgPool) -> Result<Verification> {
    const PAGE: i64 = 5_000;
    let mut expected_prev = GENESIS.to_vec();
    let mut after = i64::MIN;
    let mut checked = 0u64;
    loop {
        let rows = sqlx::query_as!(
            Row,
            r#"SELECT id, occurred_at, actor_user_id, actor_label, actor_role, action, outcome AS "outcome: Outcome",
                      target_type, target_id, target_label, region_code, ip, user_agent, details, prev_hash, hash
               FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2"#,
            after,
            PAGE
        )
        .fetch_all(pool)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in &rows {
            checked += 1;
            if row.prev_hash != expected_prev || chain_hash(&row.prev_hash, row)? != row.hash {
                return Ok(Verification::Broken {
                    row_id: row.id,
                    rows_checked: checked,
                });
            }
            expected_prev.clone_from(&row.hash);
        }
    }
    let last = (checked > 0).then(|| (after, hex::encode(&expected_prev)));
    Ok(Verification::Intact {
        rows: checked,
        last,
    })
}

/// The newest rows about one record (the admin console's account page), newest first.
pub async fn rows_about(
    conn: &mut PgConnection,
    target_type: &str,
    target_id: &str,
    limit: i64,
) -> Result<Vec<Row>> {
    Ok(sqlx::query_as!(
        Row,
        r#"SELECT id, occurred_at, actor_user_id, actor_label, actor_role, action, outcome AS "outcome: Outcome",
                  target_type, target_id, target_label, region_code, ip, user_agent, details, prev_hash, hash
           FROM audit_log WHERE target_type = $1 AND target_id = $2
           ORDER BY occurred_at DESC, id DESC LIMIT $3"#,
        target_type,
        target_id,
        limit
    )
    .fetch_all(&mut *conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64) -> Row {
        Row {
            id,
            occurred_at: OffsetDateTime::UNIX_EPOCH,
            actor_user_id: None,
            actor_label: "dr.martin".into(),
            actor_role: None,
            action: "auth.password.sign_in".into(),
            outcome: Outcome::Success,
            target_type: None,
            target_id: None,
            target_label: None,
            region_code: Some("FR-IDF".into()),
            ip: None,
            user_agent: None,
            details: json!({"b": 1, "a": "x"}),
            prev_hash: GENESIS.to_vec(),
            hash: vec![],
        }
    }

    #[test]
    fn canonical_form_is_independent_of_key_order() {
        let mut a = row(1);
        let mut b = row(1);
        a.details = serde_json::from_str(r#"{"a":"x","b":1}"#).unwrap_or_default();
        b.details = serde_json::from_str(r#"{"b":1,"a":"x"}"#).unwrap_or_default();
        assert_eq!(canonical(&a).ok(), canonical(&b).ok());
    }

    #[test]
    fn any_field_change_changes_the_hash() {
        let base = row(1);
        let h = chain_hash(&GENESIS, &base).ok();
        let mut changed = row(1);
        changed.outcome = Outcome::Failure;
        assert_ne!(h, chain_hash(&GENESIS, &changed).ok());
        let mut moved = row(2);
        moved.details = base.details.clone();
        assert_ne!(h, chain_hash(&GENESIS, &moved).ok());
        assert_ne!(h, chain_hash(&[1; 32], &base).ok());
    }

    #[test]
    fn timestamps_are_truncated_to_what_postgres_keeps() {
        let t = OffsetDateTime::UNIX_EPOCH + time::Duration::nanoseconds(1_234_567);
        assert_eq!(to_micros(t).nanosecond(), 1_234_000);
    }
}
