//! Loading an extraction into PostgreSQL, whole, without readers ever seeing half of it.
//!
//! 1. The file's SHA-256: the one in place is not loaded again (recorded as `unchanged`).
//! 2. A record of the load (`running`; one per kind at a time, across instances), its progress
//!    written every second so that any instance's page shows it.
//! 3. A thread reads the file (the streaming readers of this module) and turns each good line into
//!    a line of `COPY` text, in chunks through a small channel (constant memory); bad lines are
//!    counted, the first [`REPORTED_BAD_LINES`] kept with their number and reason.
//! 4. The chunks are `COPY`ed into the staging tables (`directory_stage`, no index yet).
//! 5. One transaction: `directory_swap` indexes them, counts the professionals (establishments)
//!    added, removed and changed and puts them in place; the record and its audit row with it.
//!
//! A file whose header lacks a needed column, without one good line, or holding less than half of
//! the directory in place (a truncated download) is refused: nothing changes but the record and
//! its audit row, which say why.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::establishments::{Establishment, Establishments, Skipped};
use super::professionals::{Activities, Activity, Identifier};
use super::{BadLine, DirectoryError, DirectoryFile, LineProblem};
use crate::audit::{self, Action, Client, Event, Outcome};
use crate::call::Call;
use crate::error::{Error, Result};

/// The bad lines a report lists (all are counted).
pub const REPORTED_BAD_LINES: usize = 200;
/// A running load that has not said anything for this long died with its instance.
const STALE_AFTER: time::Duration = time::Duration::minutes(5);
/// `COPY` text sent at a time.
const CHUNK_BYTES: usize = 1 << 20;

/// What to load.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    /// The name the file was published under (its date is in it); the path's by default.
    pub file_name: String,
    pub kind: DirectoryFile,
    /// Load even if the file holds less than half of the directory in place.
    pub allow_shrink: bool,
    /// For a zip as published (`PS_LibreAcces.zip`): the extraction's entry in it, read as it
    /// is inflated (the file's digest and progress are the zip's).
    pub entry: Option<String>,
}

impl Source {
    /// A file told by its published name, or a zip holding one.
    pub fn from_path(path: &Path) -> Result<Self> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let unknown = |name: &str| {
            Error::Directory(DirectoryError::UnknownFile {
                name: name.to_string(),
            })
        };
        if let Some(kind) = DirectoryFile::from_file_name(&name) {
            return Ok(Self {
                path: path.to_path_buf(),
                file_name: name,
                kind,
                allow_shrink: false,
                entry: None,
            });
        }
        if !name.to_ascii_lowercase().ends_with(".zip") {
            return Err(unknown(&name));
        }
        let (entry, file_name, kind) = zip_entry(path)?.ok_or_else(|| unknown(&name))?;
        Ok(Self {
            path: path.to_path_buf(),
            file_name,
            kind,
            allow_shrink: false,
            entry: Some(entry),
        })
    }
}

/// The first extraction inside the zip at `path`: its entry, its base name and its kind.
pub fn zip_entry(path: &Path) -> Result<Option<(String, String, DirectoryFile)>> {
    let file = std::fs::File::open(path).map_err(unreadable(0))?;
    let archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
        Error::Directory(DirectoryError::Unreadable {
            line: 0,
            reason: e.to_string(),
        })
    })?;
    Ok(archive.file_names().find_map(|entry| {
        let base = entry.rsplit('/').next().unwrap_or(entry);
        DirectoryFile::from_file_name(base).map(|kind| (entry.to_string(), base.to_string(), kind))
    }))
}

/// Who loads, and the clock a load of minutes reads for its progress and its end.
pub struct Run<'a> {
    pub actor_label: &'a str,
    pub client: &'a Client,
    pub clock: &'a (dyn Fn() -> OffsetDateTime + Sync),
    pub on_progress: &'a (dyn Fn(Progress) + Sync),
}

/// How far a load is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub bytes_read: u64,
    pub bytes_total: u64,
}

/// What a load did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub id: Uuid,
    pub kind: DirectoryFile,
    pub file_name: String,
    pub file_date: Option<OffsetDateTime>,
    pub sha256: String,
    /// The file is the one in place: nothing was loaded.
    pub unchanged: bool,
    pub lines_read: u64,
    /// Activities (professionals' file) or establishments loaded.
    pub rows: u64,
    /// Professionals (the professionals' file) or establishments in the directory now.
    pub people: u64,
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    pub bad_line_count: u64,
    /// The first bad lines.
    pub bad_lines: Vec<BadLine>,
    pub skipped: Skipped,
}

/// The date in an extraction's published name: `…_AAAAMMJJhhmm.txt` or `…-AAAAMMJJ-hhmm.csv`.
pub fn file_date(name: &str) -> Option<OffsetDateTime> {
    let digits: String = name
        .rsplit(['_', '.'])
        .find(|part| part.len() == 12 && part.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
        .or_else(|| {
            let stem = name.split('.').next()?;
            let mut parts = stem.rsplit('-');
            let time = parts.next()?;
            let date = parts.next()?;
            (date.len() == 8 && time.len() == 4).then(|| format!("{date}{time}"))
        })?;
    let n = |range: std::ops::Range<usize>| digits.get(range)?.parse::<u16>().ok();
    let month = time::Month::try_from(u8::try_from(n(4..6)?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(i32::from(n(0..4)?), month, n(6..8)? as u8).ok()?;
    let at = time::Time::from_hms(n(8..10)? as u8, n(10..12)? as u8, 0).ok()?;
    // Published from Paris; the offset of winter is the safer guess for a date shown to the day.
    Some(
        date.with_time(at)
            .assume_offset(time::macros::offset!(+1))
            .to_offset(time::UtcOffset::UTC),
    )
}

/// Loads `source`; see the module's documentation.
pub async fn load(pool: &PgPool, source: &Source, run: &Run<'_>) -> Result<Report> {
    let started = start(pool, source, run.actor_label, (run.clock)()).await?;
    finish(pool, source, started, run).await
}

/// A load recorded as running, its file not read yet.
#[derive(Debug, Clone)]
pub struct Started {
    pub id: Uuid,
    bytes_total: u64,
}

/// Records the load as running (step 2): refused at once if another of its kind runs, so that a
/// page can say so before handing the rest ([`finish`]) to a background task.
pub async fn start(
    pool: &PgPool,
    source: &Source,
    actor_label: &str,
    now: OffsetDateTime,
) -> Result<Started> {
    let bytes_total = std::fs::metadata(&source.path)
        .map_err(unreadable(0))?
        .len();
    let id = Uuid::new_v4();
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "UPDATE directory_imports SET state = 'failed', finished_at = $2,
                report = report || '{\"error\": \"interrupted\"}'::jsonb
         WHERE file_kind = $1 AND state = 'running' AND heartbeat_at < $3",
        source.kind as DirectoryFile,
        now,
        now - STALE_AFTER,
    )
    .execute(&mut *tx)
    .await?;
    let inserted = sqlx::query!(
        "INSERT INTO directory_imports (id, file_kind, file_name, file_date, file_bytes,
             actor_label, started_at, heartbeat_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        id,
        source.kind as DirectoryFile,
        source.file_name,
        file_date(&source.file_name),
        bytes_total as i64,
        actor_label,
        now,
    )
    .execute(&mut *tx)
    .await
    .map_err(Error::from);
    match inserted {
        Err(Error::Conflict(c)) if c == "directory_imports_one_running" => {
            return Err(Error::Directory(DirectoryError::AlreadyRunning {
                file: source.kind,
            }));
        }
        other => other?,
    };
    tx.commit().await?;
    Ok(Started { id, bytes_total })
}

/// Steps 1 and 3 to 5 of a started load; whatever happens, its record says how it ended.
pub async fn finish(
    pool: &PgPool,
    source: &Source,
    started: Started,
    run: &Run<'_>,
) -> Result<Report> {
    let mut report = Report {
        id: started.id,
        kind: source.kind,
        file_name: source.file_name.clone(),
        file_date: file_date(&source.file_name),
        sha256: String::new(),
        unchanged: false,
        lines_read: 0,
        rows: 0,
        people: 0,
        added: 0,
        removed: 0,
        changed: 0,
        bad_line_count: 0,
        bad_lines: Vec::new(),
        skipped: Skipped::default(),
    };
    let bytes_total = started.bytes_total;
    let outcome = async {
        let path = source.path.clone();
        let (sha256, _) = tokio::task::spawn_blocking(move || digest(&path))
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        report.sha256 = sha256;
        let in_place = in_place(pool, source.kind).await?;
        if let Some(p) = in_place.as_ref().filter(|p| p.sha256 == report.sha256) {
            report.unchanged = true;
            report.rows = p.rows;
            report.people = p.people;
            return Ok(());
        }
        copy(pool, source, &mut report, bytes_total, run).await?;
        check_size(source, in_place.as_ref(), &report)?;
        Ok(())
    }
    .await;
    let finished = (run.clock)();
    let outcome = match outcome {
        Ok(()) if report.unchanged => unchanged(pool, &report, run, finished).await,
        Ok(()) => swap(pool, &mut report, run, finished).await,
        Err(e) => Err(e),
    };
    if let Err(e) = &outcome {
        // Said in the record and the log; the staging tables go (they may weigh a gigabyte).
        let refused = matches!(e, Error::Directory(_));
        let _ = sqlx::query!("SELECT directory_unstage($1)", source.kind as DirectoryFile)
            .execute(pool)
            .await;
        let mut tx = pool.begin().await?;
        sqlx::query!(
            "UPDATE directory_imports SET state = $2, finished_at = $3, report = $4,
                    lines_read = $5, rows_loaded = $6, bad_lines = $7,
                    file_sha256 = nullif($8, '')
             WHERE id = $1",
            report.id,
            if refused { "refused" } else { "failed" },
            finished,
            report_json(&report, Some(e)),
            report.lines_read as i64,
            report.rows as i64,
            report.bad_line_count as i64,
            report.sha256,
        )
        .execute(&mut *tx)
        .await?;
        let outcome = if refused {
            Outcome::Denied
        } else {
            Outcome::Failure
        };
        let event = event(&report, run, outcome).details(json!({
            "file": report.file_name, "sha256": report.sha256, "reason": e.to_string(),
        }));
        audit::record(&mut tx, event, Call::new(run.client, finished)).await?;
        tx.commit().await?;
    }
    outcome.map(|()| report)
}

/// The file is the one in place: the record says so, nothing else changes.
async fn unchanged(
    pool: &PgPool,
    report: &Report,
    run: &Run<'_>,
    finished: OffsetDateTime,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "UPDATE directory_imports SET state = 'unchanged', finished_at = $2, file_sha256 = $3,
                bytes_read = file_bytes, rows_loaded = $4, people = $5
         WHERE id = $1",
        report.id,
        finished,
        report.sha256,
        report.rows as i64,
        report.people as i64,
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        event(report, run, Outcome::Success),
        Call::new(run.client, finished),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The load in place of a kind: its file's digest and its counts.
struct InPlace {
    sha256: String,
    rows: u64,
    people: u64,
}

async fn in_place(pool: &PgPool, kind: DirectoryFile) -> Result<Option<InPlace>> {
    let row = sqlx::query!(
        r#"SELECT file_sha256 AS "file_sha256!", rows_loaded, people FROM directory_imports
         WHERE file_kind = $1 AND state = 'done' ORDER BY finished_at DESC LIMIT 1"#,
        kind as DirectoryFile
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| InPlace {
        sha256: r.file_sha256,
        rows: r.rows_loaded.max(0) as u64,
        people: r.people.max(0) as u64,
    }))
}

/// Refuses a file that would shrink the directory in place to less than half.
fn check_size(source: &Source, in_place: Option<&InPlace>, report: &Report) -> Result<()> {
    if report.rows == 0 {
        return Err(Error::Directory(DirectoryError::NoValidLine {
            file: report.kind,
        }));
    }
    match in_place {
        Some(p) if !source.allow_shrink && report.rows * 2 < p.rows => {
            Err(Error::Directory(DirectoryError::Shrunk {
                file: report.kind,
                before: p.rows,
                after: report.rows,
            }))
        }
        _ => Ok(()),
    }
}

/// Step 5: the staging tables in place, the record and its audit row, in one transaction.
async fn swap(
    pool: &PgPool,
    report: &mut Report,
    run: &Run<'_>,
    finished: OffsetDateTime,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    let counts = sqlx::query!(
        r#"SELECT people AS "people!", added AS "added!", removed AS "removed!", changed AS "changed!"
           FROM directory_swap($1)"#,
        report.kind as DirectoryFile
    )
    .fetch_one(&mut *tx)
    .await?;
    report.people = counts.people.max(0) as u64;
    report.added = counts.added.max(0) as u64;
    report.removed = counts.removed.max(0) as u64;
    report.changed = counts.changed.max(0) as u64;
    sqlx::query!(
        "UPDATE directory_imports SET state = 'done', finished_at = $2, bytes_read = file_bytes,
                file_sha256 = $11, lines_read = $3, rows_loaded = $4, people = $5, bad_lines = $6,
                added = $7, removed = $8, changed = $9, report = $10
         WHERE id = $1",
        report.id,
        finished,
        report.lines_read as i64,
        report.rows as i64,
        report.people as i64,
        report.bad_line_count as i64,
        report.added as i64,
        report.removed as i64,
        report.changed as i64,
        report_json(report, None),
        report.sha256,
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        event(report, run, Outcome::Success),
        Call::new(run.client, finished),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

fn event(report: &Report, run: &Run<'_>, outcome: Outcome) -> Event {
    Event::new(Action::DirectoryImport, outcome, run.actor_label)
        .target(
            "directory_import",
            report.id.to_string(),
            report.file_name.clone(),
        )
        .details(json!({
            "kind": report.kind.as_str(),
            "file": report.file_name,
            "file_date": report.file_date.map(|d| d.unix_timestamp()),
            "sha256": report.sha256,
            "unchanged": report.unchanged,
            "lines": report.lines_read,
            "rows": report.rows,
            "people": report.people,
            "added": report.added,
            "removed": report.removed,
            "changed": report.changed,
            "bad_lines": report.bad_line_count,
        }))
}

/// The record's report: the first bad lines (their [`LineProblem`] with `line`), what was
/// skipped, and why the load was refused (the [`DirectoryError`], for the page to say in its
/// language) or failed (the technical error, for the operators).
fn report_json(report: &Report, error: Option<&Error>) -> Value {
    let bad: Vec<Value> = report
        .bad_lines
        .iter()
        .map(|b| {
            let mut v = serde_json::to_value(&b.problem).unwrap_or_else(|_| json!({}));
            if let Some(o) = v.as_object_mut() {
                o.insert("line".into(), json!(b.line));
            }
            v
        })
        .collect();
    let mut v = json!({
        "bad_lines": bad,
        "coordinates_skipped": report.skipped.coordinates,
        "other_kinds_skipped": report.skipped.other_kinds,
    });
    if let Some(o) = v.as_object_mut() {
        match error {
            Some(Error::Directory(refusal)) => {
                o.insert("refusal".into(), json!(refusal));
            }
            Some(e) => {
                o.insert("error".into(), json!(e.to_string()));
            }
            None => {}
        }
    }
    v
}

/// SHA-256 (lowercase hex) and size of a file.
fn digest(path: &Path) -> Result<(String, u64)> {
    let mut file = std::fs::File::open(path).map_err(unreadable(0))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(unreadable(0))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        total += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
}

fn unreadable(line: u64) -> impl Fn(std::io::Error) -> Error {
    move |e| {
        Error::Directory(DirectoryError::Unreadable {
            line,
            reason: e.to_string(),
        })
    }
}

/// What the reading thread sends.
enum Message {
    /// The header was read: the file is of the kind expected.
    Started,
    Chunk(Vec<u8>),
    Done(Summary),
    Refused(DirectoryError),
}

/// What the reading thread counted.
struct Summary {
    lines: u64,
    rows: u64,
    bad_count: u64,
    bad_lines: Vec<BadLine>,
    skipped: Skipped,
}

/// Steps 3 and 4.
async fn copy(
    pool: &PgPool,
    source: &Source,
    report: &mut Report,
    bytes_total: u64,
    run: &Run<'_>,
) -> Result<()> {
    let read = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = mpsc::channel::<Message>(4);
    let reader = {
        let source = source.clone();
        let read = read.clone();
        tokio::task::spawn_blocking(move || read_file(&source, &read, &tx))
    };
    let first = rx.recv().await;
    match first {
        Some(Message::Started) => {}
        Some(Message::Refused(e)) => return Err(Error::Directory(e)),
        _ => return Err(Error::Internal("directory reader stopped".into())),
    }
    let mut conn = pool.acquire().await?;
    sqlx::query!("SELECT directory_stage($1)", source.kind as DirectoryFile)
        .execute(&mut *conn)
        .await?;
    let statement = match source.kind {
        DirectoryFile::Professionals => {
            "COPY directory_activities_next (national_id, identifier_type, identifier, family_name,
                 given_name, profession_code, profession, specialty_code, specialty, site_finess,
                 legal_finess, site_name, postal_code, city, email, line_hash) FROM STDIN"
        }
        DirectoryFile::Establishments => {
            "COPY directory_establishments_next (finess, legal_finess, name, street, postal_code,
                 city, department, department_name, phone, category_code, category, region_code)
             FROM STDIN"
        }
    };
    let mut copy = conn.copy_in_raw(statement).await?;
    let mut last_said = std::time::Instant::now();
    let summary = loop {
        match rx.recv().await {
            Some(Message::Chunk(chunk)) => {
                copy.send(chunk).await?;
                if last_said.elapsed() >= std::time::Duration::from_secs(1) {
                    last_said = std::time::Instant::now();
                    let progress = Progress {
                        bytes_read: read.load(Ordering::Relaxed),
                        bytes_total,
                    };
                    (run.on_progress)(progress);
                    sqlx::query!(
                        "UPDATE directory_imports SET bytes_read = $2, heartbeat_at = $3 WHERE id = $1",
                        report.id,
                        progress.bytes_read as i64,
                        (run.clock)(),
                    )
                    .execute(pool)
                    .await?;
                }
            }
            Some(Message::Done(summary)) => break summary,
            Some(Message::Refused(e)) => {
                let _ = copy.abort("directory file refused").await;
                return Err(Error::Directory(e));
            }
            Some(Message::Started) | None => {
                let _ = copy.abort("directory reader stopped").await;
                return Err(Error::Internal("directory reader stopped".into()));
            }
        }
    };
    copy.finish().await?;
    reader.await.map_err(|e| Error::Internal(e.to_string()))?;
    (run.on_progress)(Progress {
        bytes_read: bytes_total,
        bytes_total,
    });
    report.lines_read = summary.lines;
    report.rows = summary.rows;
    report.bad_line_count = summary.bad_count;
    report.bad_lines = summary.bad_lines;
    report.skipped = summary.skipped;
    Ok(())
}

/// Counts the bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

/// A zip is read from its end (its directory) first: seeking counts nothing.
impl<R: std::io::Seek> std::io::Seek for Counting<R> {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(to)
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The reading thread: every good line as `COPY` text, in chunks.
fn read_file(source: &Source, read: &Arc<AtomicU64>, tx: &mpsc::Sender<Message>) {
    let send = |m: Message| tx.blocking_send(m).is_ok();
    let refuse = |reason: String| {
        send(Message::Refused(DirectoryError::Unreadable {
            line: 0,
            reason,
        }));
    };
    let file = match std::fs::File::open(&source.path) {
        Ok(f) => Counting {
            inner: f,
            read: read.clone(),
        },
        Err(e) => return refuse(e.to_string()),
    };
    // A zip is inflated as it is read; the bytes counted for the progress are the zip's.
    let mut archive;
    let file: Box<dyn Read + '_> = match &source.entry {
        None => Box::new(file),
        Some(entry) => {
            archive = match zip::ZipArchive::new(std::io::BufReader::new(file)) {
                Ok(archive) => archive,
                Err(e) => return refuse(e.to_string()),
            };
            match archive.by_name(entry) {
                Ok(inflated) => Box::new(inflated),
                Err(e) => return refuse(e.to_string()),
            }
        }
    };
    let mut rows = Rows::default();
    let outcome = match source.kind {
        DirectoryFile::Professionals => Activities::new(file).and_then(|activities| {
            stream(activities, &send, &mut rows, |out, a, rows| {
                activity_line(out, &a);
                rows.good(a.line);
            })
            .map(|last| last.map(|last| (last, Skipped::default())))
        }),
        DirectoryFile::Establishments => {
            Establishments::new(file).and_then(|mut establishments| {
                let mut seen = HashSet::new();
                let last = stream(establishments.by_ref(), &send, &mut rows, |out, e, rows| {
                    if seen.insert(e.finess.as_str().to_string()) {
                        establishment_line(out, &e);
                        rows.good(e.line);
                    } else {
                        rows.bad(BadLine {
                            line: e.line,
                            problem: LineProblem::Duplicate {
                                value: e.finess.as_str().to_string(),
                            },
                        });
                    }
                })?;
                Ok(last.map(|last| (last, establishments.skipped())))
            })
        }
    };
    match outcome {
        Err(e) => {
            send(Message::Refused(e));
        }
        // The receiver went away (the load was given up): nothing more to say.
        Ok(None) => {}
        Ok(Some((last, skipped))) => {
            if !last.is_empty() && !send(Message::Chunk(last)) {
                return;
            }
            send(Message::Done(Summary {
                lines: rows.last_line,
                rows: rows.good,
                bad_count: rows.bad_count,
                bad_lines: rows.bad_lines,
                skipped,
            }));
        }
    }
}

/// Says the header was read, then sends the `COPY` text of the good items (written by `accept`)
/// in chunks of about [`CHUNK_BYTES`]; bad lines go to `rows`. Returns the last chunk, not sent
/// yet; `None` when the receiver went away; an error that ends the reading.
fn stream<T>(
    items: impl Iterator<Item = Result<Result<T, BadLine>, DirectoryError>>,
    send: &impl Fn(Message) -> bool,
    rows: &mut Rows,
    mut accept: impl FnMut(&mut Vec<u8>, T, &mut Rows),
) -> Result<Option<Vec<u8>>, DirectoryError> {
    if !send(Message::Started) {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(CHUNK_BYTES + 4096);
    for item in items {
        match item? {
            Ok(good) => accept(&mut out, good, rows),
            Err(bad) => rows.bad(bad),
        }
        if out.len() >= CHUNK_BYTES {
            let full = std::mem::replace(&mut out, Vec::with_capacity(CHUNK_BYTES + 4096));
            if !send(Message::Chunk(full)) {
                return Ok(None);
            }
        }
    }
    Ok(Some(out))
}

/// The reading's counts.
#[derive(Default)]
struct Rows {
    last_line: u64,
    good: u64,
    bad_count: u64,
    bad_lines: Vec<BadLine>,
}

impl Rows {
    fn good(&mut self, line: u64) {
        self.good += 1;
        self.last_line = line;
    }

    fn bad(&mut self, bad: BadLine) {
        self.bad_count += 1;
        self.last_line = bad.line;
        if self.bad_lines.len() < REPORTED_BAD_LINES {
            self.bad_lines.push(bad);
        }
    }
}

/// One field of `COPY`'s text format: its four special characters escaped.
fn field(out: &mut Vec<u8>, value: &str) {
    for b in value.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// Fields separated by tabs, `None` as `\N`, the line ended.
fn line<'a>(out: &mut Vec<u8>, fields: impl IntoIterator<Item = Option<&'a str>>) {
    fields_only(out, fields);
    out.push(b'\n');
}

/// Fields separated by tabs, `None` as `\N`, the line left open.
fn fields_only<'a>(out: &mut Vec<u8>, fields: impl IntoIterator<Item = Option<&'a str>>) {
    for (i, value) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match value {
            Some(v) => field(out, v),
            None => out.extend_from_slice(b"\\N"),
        }
    }
}

/// 64-bit FNV-1a: small, stable across versions and platforms (the digests of one load are
/// compared with those of the next), and fast enough to run on every byte of the file while the
/// database ingests the previous chunk. Not a defence against anyone: it tells changes apart.
fn fnv1a(bytes: &[u8]) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash as i64
}

fn activity_line(out: &mut Vec<u8>, a: &Activity) {
    let (kind, identifier) = match &a.identifier {
        Identifier::Rpps(r) => ("8", r.as_str()),
        Identifier::Adeli(n) => ("0", n.as_str()),
    };
    let start = out.len();
    fields_only(
        out,
        [
            Some(a.national_id.as_str()),
            Some(kind),
            Some(identifier),
            Some(a.family_name.as_str()),
            Some(a.given_name.as_str()),
            Some(a.profession_code.as_str()),
            Some(a.profession.as_str()),
            Some(a.specialty_code.as_str()),
            Some(a.specialty.as_str()),
            a.site_finess.as_ref().map(|f| f.as_str()),
            a.legal_finess.as_ref().map(|f| f.as_str()),
            Some(a.site_name.as_str()),
            Some(a.postal_code.as_str()),
            Some(a.city.as_str()),
            Some(a.email.as_str()),
        ],
    );
    let hash = fnv1a(&out[start..]);
    out.push(b'\t');
    out.extend_from_slice(hash.to_string().as_bytes());
    out.push(b'\n');
}

fn establishment_line(out: &mut Vec<u8>, e: &Establishment) {
    let region = e.finess.region();
    line(
        out,
        [
            Some(e.finess.as_str()),
            e.legal_finess.as_ref().map(|f| f.as_str()),
            Some(e.name.as_str()),
            Some(e.street.as_str()),
            Some(e.postal_code.as_str()),
            Some(e.city.as_str()),
            Some(e.department.as_str()),
            Some(e.department_name.as_str()),
            Some(e.phone.as_str()),
            Some(e.category_code.as_str()),
            Some(e.category.as_str()),
            region.as_ref().map(|r| r.as_str()),
        ],
    );
}

/// One load as recorded: its file, state and counts (the console's page and `directory status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadRecord {
    pub id: Uuid,
    pub kind: DirectoryFile,
    pub file_name: String,
    pub file_date: Option<OffsetDateTime>,
    pub file_sha256: String,
    pub file_bytes: u64,
    pub bytes_read: u64,
    pub actor_label: String,
    /// `running`, `done`, `unchanged`, `refused` or `failed`.
    pub state: String,
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    pub lines_read: u64,
    pub rows: u64,
    pub people: u64,
    pub bad_lines: u64,
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    /// The first bad lines (`line` and the [`LineProblem`]'s fields) and the refusal, if any.
    pub report: Value,
}

/// The most recent loads, newest first.
/// A load still `running` but silent for [`STALE_AFTER`] at `now` died with its instance: it is
/// shown as failed (the next load of its kind records it so).
pub async fn recent(pool: &PgPool, limit: i64, now: OffsetDateTime) -> Result<Vec<LoadRecord>> {
    let rows = sqlx::query!(
        r#"SELECT id, file_kind AS "file_kind: DirectoryFile", file_name, file_date, file_sha256,
                  file_bytes, bytes_read, actor_label,
                  CASE WHEN state = 'running' AND heartbeat_at < $2 THEN 'failed' ELSE state END
                      AS "state!",
                  started_at, finished_at, lines_read,
                  rows_loaded, people, bad_lines, added, removed, changed, report
           FROM directory_imports ORDER BY started_at DESC, id LIMIT $1"#,
        limit,
        now - STALE_AFTER,
    )
    .fetch_all(pool)
    .await?;
    let n = |v: i64| v.max(0) as u64;
    Ok(rows
        .into_iter()
        .map(|r| LoadRecord {
            id: r.id,
            kind: r.file_kind,
            file_name: r.file_name,
            file_date: r.file_date,
            file_sha256: r.file_sha256.unwrap_or_default(),
            file_bytes: n(r.file_bytes),
            bytes_read: n(r.bytes_read),
            actor_label: r.actor_label,
            state: r.state,
            started_at: r.started_at,
            finished_at: r.finished_at,
            lines_read: n(r.lines_read),
            rows: n(r.rows_loaded),
            people: n(r.people),
            bad_lines: n(r.bad_lines),
            added: n(r.added),
            removed: n(r.removed),
            changed: n(r.changed),
            report: r.report,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_from_both_published_names() {
        let d = file_date("PS_LibreAcces_Personne_activite_202612030415.txt").unwrap();
        assert_eq!(d.to_string(), "2026-12-03 3:15:00.0 +00:00:00");
        let d = file_date("etalab-cs1100507-stock-20261201-0341.csv").unwrap();
        assert_eq!(d.to_string(), "2026-12-01 2:41:00.0 +00:00:00");
        assert_eq!(file_date("annuaire.txt"), None);
    }

    #[test]
    fn fnv1a_is_the_published_function() {
        // The reference values of FNV-1a 64 (Fowler, Noll, Vo).
        assert_eq!(fnv1a(b"") as u64, 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a") as u64, 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn copy_text_escapes_its_special_characters() {
        let mut out = Vec::new();
        line(
            &mut out,
            [Some("a\tb\\c\nd"), None, Some("\"Les Tilleuls\"")],
        );
        assert_eq!(out, b"a\\tb\\\\c\\nd\t\\N\t\"Les Tilleuls\"\n");
    }
}
