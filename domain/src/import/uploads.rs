//! The console's imports, one step after the other: the administrator uploads a file (`create`),
//! a worker checks it (`check`: the dry run), the page shows the preview, the administrator
//! confirms (`start_commit`) and a worker applies it (`run_commit`).
//!
//! Each step's state and progress live in `import_uploads`, so the page survives a reload and any
//! server instance can show it. A worker writes a heartbeat while it runs; a running step whose
//! heartbeat stopped was cut short (server or database restart). Its transaction rolled back, so
//! the page says so, nothing was written, and the administrator starts the step again.

use std::sync::Mutex;
use std::time::Duration as StdDuration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{
    CommitInput, Counts, ImportError, Limits, Preview, ProblemCells, Progress, Report, RowOutcome,
    authorize_import, authorize_on, commit_job, dry_run_with_progress, outcomes_csv, read_file,
    sha256_hex, target,
};
use crate::admin::authz::{Action, Actor};
use crate::admin::{Target, event};
use crate::audit::{self, Client, Outcome};
use crate::auth::Portal;
use crate::call::Call;
use crate::error::{Error, Result};
use crate::ids::RegionCode;

/// How often a running worker writes its progress and heartbeat.
pub const HEARTBEAT: StdDuration = StdDuration::from_secs(2);
/// A running step whose heartbeat is older than this was interrupted.
pub const STALE_AFTER: Duration = Duration::seconds(30);
/// Uploads neither committed nor abandoned are deleted after this; the file is personal data.
pub const KEEP_FOR: Duration = Duration::days(1);
/// Uploads listed on the import page.
const RECENT: i64 = 20;

pub use model::import::UploadState;

/// The stored state, read back; an unknown name is a bug (the column has a CHECK constraint).
fn parse_state(s: &str) -> Result<UploadState> {
    UploadState::parse(s).ok_or_else(|| Error::Internal(format!("upload state {s}")))
}

/// Why the last step of an upload stopped short, for the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Failure {
    /// Cut short by a restart or a lost database connection; nothing was written.
    Interrupted,
    /// At commit time some rows were in error (the data changed since the preview).
    RowsInError { rows: usize },
}

/// A problem as stored with a preview or a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredProblem {
    pub line: u64,
    pub column: Option<String>,
    pub value: String,
    pub message_fr: String,
}

/// The dry run's findings as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPreview {
    pub encoding: String,
    pub delimiter: char,
    pub unknown_columns: Vec<String>,
    pub counts: Counts,
    pub problems: Vec<StoredProblem>,
    pub rows: Vec<RowOutcome>,
}

/// What the commit did, as stored in `import_jobs.report`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredReport {
    pub counts: Counts,
    pub problems: Vec<StoredProblem>,
    pub rows: Vec<RowOutcome>,
    pub nothing_changed: bool,
}

fn problem_cells(p: &StoredProblem) -> ProblemCells<'_> {
    ProblemCells {
        line: p.line,
        column: p.column.as_deref().unwrap_or(""),
        value: &p.value,
        message: &p.message_fr,
    }
}

impl StoredPreview {
    fn of(p: &Preview) -> Self {
        Self {
            encoding: p.encoding.to_string(),
            delimiter: p.delimiter,
            unknown_columns: p.unknown_columns.clone(),
            counts: p.counts,
            problems: p.problems.iter().map(StoredProblem::of).collect(),
            rows: p.rows.clone(),
        }
    }

    /// The preview as a spreadsheet, in the report's columns.
    pub fn csv(&self) -> Result<Vec<u8>> {
        outcomes_csv(
            &self.rows,
            self.problems.iter().map(problem_cells),
            "en erreur",
        )
    }
}

impl StoredReport {
    /// The report as a spreadsheet (`import::report_csv`'s format).
    pub fn csv(&self) -> Result<Vec<u8>> {
        outcomes_csv(
            &self.rows,
            self.problems.iter().map(problem_cells),
            "ignoré",
        )
    }
}

impl StoredProblem {
    fn of(p: &super::Problem) -> Self {
        Self {
            line: p.line,
            column: p.column.map(str::to_string),
            value: p.value.clone(),
            message_fr: p.message_fr.clone(),
        }
    }
}

/// One upload as the page shows it.
#[derive(Debug, Clone)]
pub struct Upload {
    pub id: Uuid,
    pub region_code: RegionCode,
    pub actor_label: String,
    pub file_name: String,
    pub file_sha256: String,
    pub rows_total: usize,
    pub skip_errors: bool,
    pub state: UploadState,
    /// The running step's progress.
    pub progress: Option<Progress>,
    pub preview: Option<StoredPreview>,
    pub report: Option<StoredReport>,
    pub failure: Option<Failure>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// One line of the import page's list.
#[derive(Debug, Clone)]
pub struct UploadSummary {
    pub id: Uuid,
    pub region_code: RegionCode,
    pub actor_label: String,
    pub file_name: String,
    pub rows_total: usize,
    pub state: UploadState,
    pub created_at: OffsetDateTime,
}

fn count(n: i32) -> usize {
    usize::try_from(n).unwrap_or(0)
}

fn as_i32(n: usize) -> Result<i32> {
    i32::try_from(n).map_err(|e| Error::Internal(e.to_string()))
}

fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| Error::Internal(e.to_string()))
}

fn from_json<T: for<'de> Deserialize<'de>>(value: Option<serde_json::Value>) -> Result<Option<T>> {
    value
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| Error::Internal(e.to_string()))
}

/// A file name fit for showing: its last path segment, without control characters, shortened.
fn display_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
    if clean.trim().is_empty() {
        "fichier.csv".to_string()
    } else {
        clean
    }
}

/// Whether `actor` may upload a file at all (any region): asked before the upload's body is read,
/// so that a refused request costs no buffering. A refusal is audited.
pub async fn may_upload(portal: &Portal, actor: &Actor, call: Call<'_>) -> Result<()> {
    crate::admin::scope_or_deny(
        &portal.pool,
        actor,
        audit::Action::ImportUpload,
        Action::ImportUsers,
        call,
    )
    .await
    .map(|_| ())
}

/// Receives a file for an import into `region`: reads it (a file refused as a whole answers with
/// its `ImportError` and stores nothing), stores it and returns the upload's id. The dry run is
/// then the worker's: `check`.
pub async fn create(
    portal: &Portal,
    actor: &Actor,
    region: &RegionCode,
    file_name: &str,
    bytes: &[u8],
    call: Call<'_>,
) -> Result<Uuid> {
    let Call { now, .. } = call;
    let sha256 = sha256_hex(bytes);
    authorize_import(
        portal,
        actor,
        region,
        audit::Action::ImportUpload,
        &sha256,
        call,
    )
    .await?;
    let sheet = read_file(bytes, &Limits::default())?;
    purge(&portal.pool, now).await?;
    let id = Uuid::new_v4();
    let name = display_name(file_name);
    let mut tx = portal.pool.begin().await?;
    sqlx::query!(
        "INSERT INTO import_uploads (id, region_code, actor_user_id, actor_label, file_name,
             file_sha256, content, rows_total, state, heartbeat_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'validating', $9, $9, $9)",
        id,
        region.as_str(),
        actor.user_id,
        actor.label,
        name,
        sha256,
        bytes,
        as_i32(sheet.rows.len())?,
        now
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        event(
            actor,
            audit::Action::ImportUpload,
            Outcome::Success,
            Some(&target(region, id.to_string(), name.clone())),
            json!({ "sha256": sha256, "file_name": name, "rows": sheet.rows.len() }),
        ),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Deletes the uploads left alone for `KEEP_FOR` (committed ones keep their row, without the
/// file, which was cleared at commit).
pub async fn purge(pool: &PgPool, now: OffsetDateTime) -> Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM import_uploads WHERE state <> 'committed' AND updated_at < $1",
        now - KEEP_FOR
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

struct Row {
    id: Uuid,
    region_code: RegionCode,
    actor_label: String,
    file_name: String,
    file_sha256: String,
    rows_total: i32,
    skip_errors: bool,
    state: String,
    phase: Option<String>,
    done: i32,
    total: i32,
    heartbeat_at: OffsetDateTime,
    preview: Option<serde_json::Value>,
    failure: Option<serde_json::Value>,
    report: Option<serde_json::Value>,
    job_exists: Option<bool>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

async fn fetch(pool: &PgPool, id: Uuid) -> Result<Row> {
    sqlx::query_as!(
        Row,
        r#"SELECT u.id, u.region_code AS "region_code: _", u.actor_label, u.file_name, u.file_sha256, u.rows_total,
               u.skip_errors, u.state, u.phase, u.done, u.total, u.heartbeat_at, u.preview,
               u.failure, j.report AS "report?", (j.id IS NOT NULL) AS job_exists,
               u.created_at, u.updated_at
           FROM import_uploads u LEFT JOIN import_jobs j ON j.id = u.id
           WHERE u.id = $1"#,
        id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound)
}

/// The upload's audit target.
fn upload_target(row: &Row) -> Target {
    Target {
        kind: "import",
        id: row.id.to_string(),
        label: row.file_name.clone(),
        region: Some(row.region_code.to_string()),
    }
}

/// The upload's row as it stands at `now` (see `settle`), for whoever may import into its region
/// (a refusal is audited).
async fn current(
    portal: &Portal,
    actor: &Actor,
    id: Uuid,
    name: audit::Action,
    call: Call<'_>,
) -> Result<Row> {
    let Call { now, .. } = call;
    let mut row = fetch(&portal.pool, id).await?;
    let target = upload_target(&row);
    authorize_on(portal, actor, row.region_code.as_str(), name, target, call).await?;
    settle(&portal.pool, &mut row, now).await?;
    Ok(row)
}

/// A running step with a stale heartbeat ends here: a commit whose job row exists did commit (the
/// worker died before recording it), any other was rolled back.
async fn settle(pool: &PgPool, row: &mut Row, now: OffsetDateTime) -> Result<()> {
    let state = parse_state(&row.state)?;
    if !state.is_running() || row.heartbeat_at >= now - STALE_AFTER {
        return Ok(());
    }
    let failure = to_json(&Failure::Interrupted)?;
    let (next, failure) = match state {
        UploadState::Committing if row.job_exists == Some(true) => (UploadState::Committed, None),
        UploadState::Committing => (UploadState::Previewed, Some(failure)),
        _ => (UploadState::Interrupted, Some(failure)),
    };
    let committed = next == UploadState::Committed;
    let moved = sqlx::query!(
        "UPDATE import_uploads
         SET state = $3, failure = $4, phase = NULL, updated_at = $5,
             job_id = CASE WHEN $6 THEN id END,
             content = CASE WHEN $6 THEN NULL ELSE content END
         WHERE id = $1 AND state = $2 AND heartbeat_at = $7",
        row.id,
        row.state,
        next.as_str(),
        failure,
        now,
        committed,
        row.heartbeat_at
    )
    .execute(pool)
    .await?;
    if moved.rows_affected() == 1 {
        row.state = next.as_str().to_string();
        row.failure = failure;
        row.phase = None;
    }
    Ok(())
}

fn upload_of(row: Row) -> Result<Upload> {
    let progress = match row.phase.as_deref() {
        Some("validated") => Some(Progress::Validated {
            done: count(row.done),
            total: count(row.total),
        }),
        Some("written") => Some(Progress::Written {
            done: count(row.done),
            total: count(row.total),
        }),
        _ => None,
    };
    Ok(Upload {
        id: row.id,
        state: parse_state(&row.state)?,
        region_code: row.region_code,
        actor_label: row.actor_label,
        file_name: row.file_name,
        file_sha256: row.file_sha256,
        rows_total: count(row.rows_total),
        skip_errors: row.skip_errors,
        progress,
        preview: from_json(row.preview)?,
        report: from_json(row.report)?,
        failure: from_json(row.failure)?,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// The upload `id` for its page.
pub async fn view(portal: &Portal, actor: &Actor, id: Uuid, call: Call<'_>) -> Result<Upload> {
    let row = current(portal, actor, id, audit::Action::ImportView, call).await?;
    upload_of(row)
}

/// The latest uploads of the regions `actor` may import into. Someone who may not import is
/// refused, and the refusal audited, like every other console refusal.
pub async fn recent(portal: &Portal, actor: &Actor, call: Call<'_>) -> Result<Vec<UploadSummary>> {
    let scope = crate::admin::scope_or_deny(
        &portal.pool,
        actor,
        audit::Action::AdminImportList,
        Action::ImportUsers,
        call,
    )
    .await?;
    let rows = sqlx::query!(
        r#"SELECT id, region_code AS "region_code: RegionCode", actor_label, file_name, rows_total, state, created_at
         FROM import_uploads
         WHERE ($1::text[] IS NULL OR region_code = ANY($1))
         ORDER BY created_at DESC LIMIT $2"#,
        scope.regions(),
        RECENT
    )
    .fetch_all(&portal.pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(UploadSummary {
                id: r.id,
                region_code: r.region_code,
                actor_label: r.actor_label,
                file_name: r.file_name,
                rows_total: count(r.rows_total),
                state: parse_state(&r.state)?,
                created_at: r.created_at,
            })
        })
        .collect()
}

/// Moves an upload from one of `from` to `to`; `StaleVersion` when it was not in one of them
/// (another tab or instance moved it first).
async fn transition(
    conn: &mut PgConnection,
    id: Uuid,
    from: &[UploadState],
    to: UploadState,
    skip_errors: Option<bool>,
    now: OffsetDateTime,
) -> Result<()> {
    let from: Vec<String> = from.iter().map(|s| s.as_str().to_string()).collect();
    let moved = sqlx::query!(
        "UPDATE import_uploads
         SET state = $3, skip_errors = coalesce($4, skip_errors), failure = NULL, phase = NULL,
             done = 0, total = 0, heartbeat_at = $5, updated_at = $5,
             content = CASE WHEN $3 = 'abandoned' THEN NULL ELSE content END
         WHERE id = $1 AND state = ANY($2)",
        id,
        &from,
        to.as_str(),
        skip_errors,
        now
    )
    .execute(conn)
    .await?;
    if moved.rows_affected() == 1 {
        Ok(())
    } else {
        Err(Error::StaleVersion)
    }
}

/// Asks for the dry run again (after an interruption, or when the data changed since the preview);
/// the worker then runs `check`.
pub async fn recheck(portal: &Portal, actor: &Actor, id: Uuid, call: Call<'_>) -> Result<()> {
    let Call { now, .. } = call;
    current(portal, actor, id, audit::Action::ImportRecheck, call).await?;
    transition(
        &mut *portal.pool.acquire().await?,
        id,
        &[UploadState::Previewed, UploadState::Interrupted],
        UploadState::Validating,
        None,
        now,
    )
    .await
}

/// Confirms the import of a checked upload; the worker then runs `run_commit`. Refused while the
/// preview has rows in error, unless `skip_errors`.
pub async fn start_commit(
    portal: &Portal,
    actor: &Actor,
    id: Uuid,
    skip_errors: bool,
    call: Call<'_>,
) -> Result<()> {
    let Call { now, .. } = call;
    let row = current(portal, actor, id, audit::Action::ImportCommit, call).await?;
    let preview: Option<StoredPreview> = from_json(row.preview)?;
    let errors = preview.map_or(0, |p| p.counts.errors);
    if errors > 0 && !skip_errors {
        return Err(Error::Import(ImportError::RowsInError {
            rows: errors,
            problems: Vec::new(),
        }));
    }
    transition(
        &mut *portal.pool.acquire().await?,
        id,
        &[UploadState::Previewed],
        UploadState::Committing,
        Some(skip_errors),
        now,
    )
    .await
}

/// Gives up a checked (or interrupted) upload: the file is deleted, the upload stays listed.
pub async fn abandon(portal: &Portal, actor: &Actor, id: Uuid, call: Call<'_>) -> Result<()> {
    let Call { now, .. } = call;
    let row = current(portal, actor, id, audit::Action::ImportAbandon, call).await?;
    let mut tx = portal.pool.begin().await?;
    transition(
        &mut tx,
        id,
        &[UploadState::Previewed, UploadState::Interrupted],
        UploadState::Abandoned,
        None,
        now,
    )
    .await?;
    audit::record(
        &mut tx,
        event(
            actor,
            audit::Action::ImportAbandon,
            Outcome::Success,
            Some(&upload_target(&row)),
            json!({ "sha256": row.file_sha256 }),
        ),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The latest progress a step reported, shared between the step and its heartbeat.
#[derive(Default)]
struct Board(Mutex<Option<Progress>>);

impl Board {
    fn set(&self, p: Progress) {
        if let Ok(mut latest) = self.0.lock() {
            *latest = Some(p);
        }
    }

    fn latest(&self) -> Option<Progress> {
        self.0.lock().ok().and_then(|p| *p)
    }
}

/// Runs `work` while writing the board's progress and a heartbeat every `HEARTBEAT`. A heartbeat
/// that cannot be written is skipped: the step itself will fail if the database is gone.
async fn with_heartbeat<T>(
    pool: &PgPool,
    id: Uuid,
    board: &Board,
    clock: &(dyn Fn() -> OffsetDateTime + Send + Sync),
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    let mut work = std::pin::pin!(work);
    let mut tick = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            result = &mut work => return result,
            _ = tick.tick() => {
                let (phase, done, total) = match board.latest() {
                    Some(Progress::Validated { done, total }) => (Some("validated"), done, total),
                    Some(Progress::Written { done, total }) => (Some("written"), done, total),
                    None => (None, 0, 0),
                };
                let beat = sqlx::query!(
                    "UPDATE import_uploads SET phase = coalesce($2, phase), done = $3, total = $4,
                         heartbeat_at = $5
                     WHERE id = $1 AND state IN ('validating', 'committing')",
                    id,
                    phase,
                    as_i32(done)?,
                    as_i32(total)?,
                    clock()
                )
                .execute(pool)
                .await;
                if let Err(e) = beat {
                    tracing::warn!(upload = %id, error = %e, "import heartbeat not written");
                }
            }
        }
    }
}

/// The worker's part of a step: the file and the region of an upload in state `state`.
async fn claim(pool: &PgPool, id: Uuid, state: UploadState) -> Result<(Vec<u8>, RegionCode, bool)> {
    let row = sqlx::query!(
        r#"SELECT content, region_code AS "region_code: RegionCode", skip_errors
           FROM import_uploads WHERE id = $1 AND state = $2"#,
        id,
        state.as_str()
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::StaleVersion)?;
    let region = row.region_code;
    let content = row
        .content
        .ok_or_else(|| Error::Internal("upload without its file".into()))?;
    Ok((content, region, row.skip_errors))
}

/// Records why a step stopped, where the database still answers.
async fn stopped(
    pool: &PgPool,
    id: Uuid,
    from: UploadState,
    to: UploadState,
    failure: &Failure,
    now: OffsetDateTime,
) {
    let Ok(failure) = to_json(failure) else {
        return;
    };
    let result = sqlx::query!(
        "UPDATE import_uploads SET state = $3, failure = $4, phase = NULL, updated_at = $5
         WHERE id = $1 AND state = $2",
        id,
        from.as_str(),
        to.as_str(),
        failure,
        now
    )
    .execute(pool)
    .await;
    if let Err(e) = result {
        // The heartbeat has stopped too: the next view settles the upload as interrupted.
        tracing::warn!(upload = %id, error = %e, "import step's end not recorded");
    }
}

/// The worker's dry run of a `validating` upload; the preview is stored for the page.
pub async fn check(
    portal: &Portal,
    actor: &Actor,
    id: Uuid,
    client: &Client,
    clock: &(dyn Fn() -> OffsetDateTime + Send + Sync),
) -> Result<()> {
    let pool = &portal.pool;
    let (bytes, region, _) = claim(pool, id, UploadState::Validating).await?;
    let board = Board::default();
    let now = clock();
    let result = with_heartbeat(
        pool,
        id,
        &board,
        clock,
        dry_run_with_progress(
            portal,
            actor,
            &region,
            &bytes,
            &Limits::default(),
            Call::new(client, now),
            &|p| board.set(p),
        ),
    )
    .await;
    let preview = match result {
        Ok(preview) => preview,
        Err(e) => {
            stopped(
                pool,
                id,
                UploadState::Validating,
                UploadState::Interrupted,
                &Failure::Interrupted,
                clock(),
            )
            .await;
            return Err(e);
        }
    };
    let stored = to_json(&StoredPreview::of(&preview))?;
    sqlx::query!(
        "UPDATE import_uploads SET state = 'previewed', preview = $2, phase = NULL, failure = NULL,
             updated_at = $3
         WHERE id = $1 AND state = 'validating'",
        id,
        stored,
        clock()
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The worker's commit of a `committing` upload. The import's job row shares the upload's id.
pub async fn run_commit(
    portal: &Portal,
    actor: &Actor,
    id: Uuid,
    client: &Client,
    clock: &(dyn Fn() -> OffsetDateTime + Send + Sync),
) -> Result<Report> {
    let pool = &portal.pool;
    let (bytes, region, skip_errors) = claim(pool, id, UploadState::Committing).await?;
    let board = Board::default();
    let input = CommitInput::new(
        portal,
        actor,
        &region,
        &bytes,
        Limits::default(),
        client,
        clock(),
    );
    let result = with_heartbeat(
        pool,
        id,
        &board,
        clock,
        commit_job(id, &input, skip_errors, &|p| board.set(p)),
    )
    .await;
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            let failure = match &e {
                Error::Import(ImportError::RowsInError { rows, .. }) => {
                    Failure::RowsInError { rows: *rows }
                }
                _ => Failure::Interrupted,
            };
            stopped(
                pool,
                id,
                UploadState::Committing,
                UploadState::Previewed,
                &failure,
                clock(),
            )
            .await;
            return Err(e);
        }
    };
    sqlx::query!(
        "UPDATE import_uploads SET state = 'committed', job_id = id, content = NULL, phase = NULL,
             failure = NULL, updated_at = $2
         WHERE id = $1 AND state = 'committing'",
        id,
        clock()
    )
    .execute(pool)
    .await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_shown_safely() {
        assert_eq!(
            display_name("C:\\Users\\ars\\export été.csv"),
            "export été.csv"
        );
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(display_name("a\u{0}b\r\n.csv"), "ab.csv");
        assert_eq!(display_name(""), "fichier.csv");
    }
}
