//! The audit viewer: filtered search with keyset pagination (never OFFSET: a deep page costs what
//! the first one does), one row's detail, and the CSV export. A regional administrator reads the
//! rows of their region only.

use serde_json::json;
use time::OffsetDateTime;

use super::authz::{Action, Actor};
use super::{Page, Scope, Target, denied, event, page, scope_or_deny};
use crate::audit::{self, Outcome, Row};
use crate::auth::Portal;
use crate::call::Call;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub from: Option<OffsetDateTime>,
    /// Exclusive.
    pub to: Option<OffsetDateTime>,
    /// The actor's username (exact).
    pub actor: Option<String>,
    /// The target's id or label (exact): a username, a FINESS…
    pub target: Option<String>,
    /// An action, or a family of actions: `user` finds `user.create`, `user.unlock`…
    pub action: Option<String>,
    pub outcome: Option<Outcome>,
    pub region: Option<String>,
    pub after: Option<String>,
}

pub const PAGE_SIZE: usize = 50;
/// Rows in one export; a larger extract is asked with a narrower filter.
pub const EXPORT_LIMIT: usize = 100_000;

fn encode_cursor(row: &Row) -> String {
    format!(
        "{}.{}",
        row.occurred_at.unix_timestamp_nanos() / 1_000,
        row.id
    )
}

fn decode_cursor(cursor: &str) -> Result<(OffsetDateTime, i64)> {
    let bad = || Error::InvalidInput {
        field: "cursor",
        reason: crate::ids::IdError::Shape,
    };
    let (micros, id) = cursor.split_once('.').ok_or_else(bad)?;
    let micros: i128 = micros.parse().map_err(|_| bad())?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(micros * 1_000).map_err(|_| bad())?;
    Ok((at, id.parse().map_err(|_| bad())?))
}

/// `user` → `user.%`, `user.create` → `user.create` (and its sub-actions); only the characters of
/// action names are kept, so the pattern has no wildcard of the user's.
fn action_pattern(action: &str) -> Option<String> {
    let a: String = action
        .trim()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || *c == '.' || *c == '_')
        .collect();
    let a = a.trim_matches('.');
    (!a.is_empty()).then(|| format!("{}%", a.replace('_', "\\_")))
}

async fn fetch(
    portal: &Portal,
    scope: &Scope,
    filter: &AuditFilter,
    after: Option<(OffsetDateTime, i64)>,
    limit: usize,
) -> Result<Vec<Row>> {
    let (after_at, after_id) = after.unzip();
    Ok(sqlx::query_as!(
        Row,
        r#"SELECT id, occurred_at, actor_user_id, actor_label, actor_role, action, outcome AS "outcome: Outcome",
                  target_type, target_id, target_label, region_code, ip, user_agent, details, prev_hash, hash
           FROM audit_log
           WHERE ($1::text[] IS NULL OR region_code = ANY($1))
             AND ($2::text IS NULL OR region_code = $2)
             AND ($3::timestamptz IS NULL OR occurred_at >= $3)
             AND ($4::timestamptz IS NULL OR occurred_at < $4)
             AND ($5::text IS NULL OR actor_label = $5)
             AND ($6::text IS NULL OR target_id = $6 OR target_label = $6)
             AND ($7::text IS NULL OR action LIKE $7)
             AND ($8::audit_outcome IS NULL OR outcome = $8)
             AND ($9::timestamptz IS NULL OR (occurred_at, id) < ($9, $10))
           ORDER BY occurred_at DESC, id DESC
           LIMIT $11"#,
        scope.regions(),
        filter.region.as_deref(),
        filter.from,
        filter.to,
        filter.actor.as_deref().map(str::trim).filter(|s| !s.is_empty()),
        filter.target.as_deref().map(str::trim).filter(|s| !s.is_empty()),
        filter.action.as_deref().and_then(action_pattern),
        filter.outcome as Option<Outcome>,
        after_at,
        after_id,
        limit as i64,
    )
    .fetch_all(&portal.pool)
    .await?)
}

async fn scope_for(
    portal: &Portal,
    actor: &Actor,
    action: Action,
    name: audit::Action,
    filter: &AuditFilter,
    call: Call<'_>,
) -> Result<Scope> {
    let scope = scope_or_deny(&portal.pool, actor, name, action, call).await?;
    if let Some(region) = &filter.region
        && !scope.contains(region)
    {
        return Err(denied(&portal.pool, actor, name, action, None, call).await);
    }
    Ok(scope)
}

pub async fn search(
    portal: &Portal,
    actor: &Actor,
    filter: &AuditFilter,
    call: Call<'_>,
) -> Result<Page<Row>> {
    let scope = scope_for(
        portal,
        actor,
        Action::ViewAudit,
        audit::Action::AdminAuditSearch,
        filter,
        call,
    )
    .await?;
    let after = filter.after.as_deref().map(decode_cursor).transpose()?;
    let rows = fetch(portal, &scope, filter, after, PAGE_SIZE + 1).await?;
    Ok(page(rows, PAGE_SIZE, encode_cursor))
}

/// One row, if the actor may read its region (rows without a region: national administrators).
pub async fn row(portal: &Portal, actor: &Actor, id: i64, call: Call<'_>) -> Result<Row> {
    let scope = scope_or_deny(
        &portal.pool,
        actor,
        audit::Action::AdminAuditView,
        Action::ViewAudit,
        call,
    )
    .await?;
    let row = sqlx::query_as!(
        Row,
        r#"SELECT id, occurred_at, actor_user_id, actor_label, actor_role, action, outcome AS "outcome: Outcome",
                  target_type, target_id, target_label, region_code, ip, user_agent, details, prev_hash, hash
           FROM audit_log WHERE id = $1"#,
        id
    )
    .fetch_optional(&portal.pool)
    .await?
    .ok_or(Error::NotFound)?;
    let visible = match (&scope, &row.region_code) {
        (Scope::All, _) => true,
        (scope, Some(r)) => scope.contains(r),
        (_, None) => false,
    };
    if !visible {
        let target = Target {
            kind: "audit_row",
            id: id.to_string(),
            label: row.action.clone(),
            region: row.region_code.clone(),
        };
        return Err(denied(
            &portal.pool,
            actor,
            audit::Action::AdminAuditView,
            Action::ViewAudit,
            Some(&target),
            call,
        )
        .await);
    }
    Ok(row)
}

/// A cell as spreadsheet software may not run it: text starting with `=`, `+`, `-`, `@`, a tab
/// or a carriage return is a formula to Excel and LibreOffice, so it gets a leading `'` (OWASP
/// "CSV injection").
pub fn safe_cell(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_string(),
    }
}

/// A CSV file as French spreadsheet software opens it: UTF-8 with a byte-order mark (so that
/// Excel reads the accents right), `;` separated (the French locale's list separator), CRLF.
/// The audit log's export and the accounts' export write through it.
pub(crate) fn spreadsheet(out: &mut Vec<u8>) -> csv::Writer<&mut Vec<u8>> {
    out.extend_from_slice(b"\xEF\xBB\xBF");
    csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .from_writer(out)
}

pub const EXPORT_HEADER: [&str; 13] = [
    "id",
    "date (UTC)",
    "acteur",
    "rôle",
    "action",
    "résultat",
    "type de cible",
    "cible",
    "libellé de la cible",
    "région",
    "adresse IP",
    "navigateur",
    "détails",
];

/// The rows of `filter` (at most `EXPORT_LIMIT`) as a CSV file for spreadsheet software: UTF-8
/// with a byte-order mark (so that Excel reads the accents right), `;` separated (the French
/// locale's list separator), every cell made inert. The export is itself audited.
pub async fn export_csv(
    portal: &Portal,
    actor: &Actor,
    filter: &AuditFilter,
    call: Call<'_>,
) -> Result<(Vec<u8>, usize)> {
    let scope = scope_for(
        portal,
        actor,
        Action::ExportAudit,
        audit::Action::AuditExport,
        filter,
        call,
    )
    .await?;
    let mut out = Vec::new();
    let mut writer = spreadsheet(&mut out);
    let csv_err = |e: csv::Error| Error::Internal(e.to_string());
    writer.write_record(EXPORT_HEADER).map_err(csv_err)?;
    let mut after = None;
    let mut count = 0usize;
    loop {
        let rows = fetch(
            portal,
            &scope,
            filter,
            after,
            5_000.min(EXPORT_LIMIT - count),
        )
        .await?;
        let Some(last) = rows.last() else { break };
        after = Some((last.occurred_at, last.id));
        for r in &rows {
            let at = r
                .occurred_at
                .format(&time::format_description::well_known::Rfc3339)
                .map_err(|e| Error::Internal(e.to_string()))?;
            let cells = [
                r.id.to_string(),
                at,
                r.actor_label.clone(),
                r.actor_role.clone().unwrap_or_default(),
                r.action.clone(),
                r.outcome.as_str().to_string(),
                r.target_type.clone().unwrap_or_default(),
                r.target_id.clone().unwrap_or_default(),
                r.target_label.clone().unwrap_or_default(),
                r.region_code.clone().unwrap_or_default(),
                r.ip.clone().unwrap_or_default(),
                r.user_agent.clone().unwrap_or_default(),
                r.details.to_string(),
            ];
            writer
                .write_record(cells.iter().map(|c| safe_cell(c)))
                .map_err(csv_err)?;
        }
        count += rows.len();
        if count >= EXPORT_LIMIT {
            break;
        }
    }
    writer.flush().map_err(|e| Error::Internal(e.to_string()))?;
    drop(writer);
    let mut tx = portal.pool.begin().await?;
    audit::record(
        &mut tx,
        event(
            actor,
            audit::Action::AuditExport,
            Outcome::Success,
            None,
            json!({
                "rows": count,
                "filter": {
                    "from": filter.from.map(|t| t.unix_timestamp()),
                    "to": filter.to.map(|t| t.unix_timestamp()),
                    "actor": filter.actor,
                    "target": filter.target,
                    "action": filter.action,
                    "outcome": filter.outcome,
                    "region": filter.region,
                },
            }),
        ),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok((out, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_made_inert() {
        for bad in ["=1+1", "+33 1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(safe_cell(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(safe_cell("dr.martin"), "dr.martin");
        assert_eq!(safe_cell(""), "");
    }

    #[test]
    fn action_filters_keep_only_name_characters() {
        assert_eq!(action_pattern("user").as_deref(), Some("user%"));
        assert_eq!(
            action_pattern("user.un_lock").as_deref(),
            Some("user.un\\_lock%")
        );
        assert_eq!(action_pattern("%' OR 1=1"), None);
    }

    #[test]
    fn cursors_round_trip() {
        let at = OffsetDateTime::from_unix_timestamp(1_790_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let c = format!("{}.{}", at.unix_timestamp_nanos() / 1_000, 42);
        assert_eq!(decode_cursor(&c).ok(), Some((at, 42)));
        assert!(decode_cursor("x.1").is_err());
        assert!(decode_cursor("12").is_err());
    }
}
