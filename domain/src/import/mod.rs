//! CSV bulk import of accounts and memberships into one region (issue 7; the roles that may run it
//! are in ARCHITECTURE.md, "Regional administration").
//!
//! The administrator first asks for a `dry_run`: every row is read (`read`) and checked alone and
//! against the database (`validate`), and nothing is written. `commit` then checks the file again,
//! inside the one transaction that applies it: all of it, or none of it. Importing the same file
//! again changes nothing and says so.
//!
//! Regional administrators import into their region, national administrators anywhere
//! (`Action::ImportUsers`); a refusal writes one `denied` audit row and nothing else.

pub mod read;
pub mod uploads;
pub mod validate;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::{self, AdminRole, NewUser, UserStatus};
use crate::admin::authz::{Action, Actor, authorize};
use crate::admin::{Target, denied, event};
use crate::audit::{self, Client, Event, Outcome};
use crate::auth::Portal;
use crate::auth::account_links::{self, Purpose};
use crate::call::Call;
use crate::error::{Error, Result};
use crate::ids::{RegionCode, Rpps};
pub use read::{Column, Limits, MAX_BYTES, MAX_ROWS, RawRow, Sheet, template};
pub use validate::{ImportRow, Problem, RowKind, check_row};

pub use model::import::ImportError;

/// The `role` cell: empty for none, `support` for a support desk of the region (`None`: neither).
pub(crate) fn parse_role(cell: &str) -> Option<bool> {
    match read::fold(cell).as_str() {
        "" => Some(false),
        "support" | "assistance" => Some(true),
        _ => None,
    }
}

/// Rows by what the import does (or would do) with them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub unchanged: usize,
    /// Rows with at least one problem.
    pub errors: usize,
}

/// One row of a preview or a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowOutcome {
    pub line: u64,
    /// As the file gives it: a row in error may carry a name that is not a valid username.
    pub username: String,
    pub kind: RowKind,
    /// Establishments the row attaches the account to (FINESS).
    pub memberships_added: Vec<String>,
    pub support_granted: bool,
}

/// What the dry run found; nothing was written.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    pub encoding: &'static str,
    pub delimiter: char,
    pub unknown_columns: Vec<String>,
    pub counts: Counts,
    pub problems: Vec<Problem>,
    pub rows: Vec<RowOutcome>,
}

/// What the commit did, also stored in `import_jobs.report` for download.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub job_id: Uuid,
    pub region: String,
    pub sha256: String,
    pub counts: Counts,
    /// The rows left out (with `skip_errors`), with their problems.
    pub problems: Vec<Problem>,
    pub rows: Vec<RowOutcome>,
    /// True when nothing changed: the file had been imported already.
    pub nothing_changed: bool,
}

/// Where a long import stands, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Progress {
    /// Rows checked against the database, out of the valid ones.
    Validated { done: usize, total: usize },
    /// Rows applied (created, updated or found unchanged), out of the ones to apply.
    Written { done: usize, total: usize },
}

/// Rows written together (and between two progress reports): each statement carries one array
/// per column (`unnest`), so a batch costs a handful of round trips whatever its size, where one
/// statement per row made the database's round trips the whole cost of a large import.
const WRITE_BATCH: usize = 1_000;

/// Class of the transaction-scoped advisory lock that serialises the imports of one region (the
/// second key is the region's hash): two uploads of the same file at once must not both see
/// "create" for the same people.
const IMPORT_LOCK_CLASS: i32 = 0x494D_5054; // "IMPT"

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn target(region: &RegionCode, id: String, label: String) -> Target {
    Target {
        kind: "import",
        id,
        label,
        region: Some(region.as_str().to_string()),
    }
}

/// Authorises an import action on data of `region` (a file, an upload, a committed import); a
/// refusal is audited with `target` and answered with `Forbidden`.
async fn authorize_on(
    portal: &Portal,
    actor: &Actor,
    region: &str,
    name: audit::Action,
    target: Target,
    call: Call<'_>,
) -> Result<()> {
    if authorize(actor, Action::ImportUsers, Some(region)).is_ok() {
        return Ok(());
    }
    Err(denied(
        &portal.pool,
        actor,
        name,
        Action::ImportUsers,
        Some(&target),
        call,
    )
    .await)
}

/// Authorises an import of the file `sha256` into `region`.
async fn authorize_import(
    portal: &Portal,
    actor: &Actor,
    region: &RegionCode,
    name: audit::Action,
    sha256: &str,
    call: Call<'_>,
) -> Result<()> {
    let target = target(region, sha256.to_string(), sha256.to_string());
    authorize_on(portal, actor, region.as_str(), name, target, call).await
}

fn read_file(bytes: &[u8], limits: &Limits) -> Result<Sheet> {
    read::read(bytes, limits).map_err(Error::Import)
}

fn outcomes(plan: &validate::Plan) -> (Counts, Vec<RowOutcome>) {
    let mut counts = Counts {
        errors: plan.rows_in_error,
        ..Counts::default()
    };
    let rows = plan
        .planned
        .iter()
        .map(|p| {
            match p.kind {
                RowKind::Create => counts.create += 1,
                RowKind::Update => counts.update += 1,
                RowKind::Unchanged => counts.unchanged += 1,
            }
            RowOutcome {
                line: p.row.line,
                username: p.row.username.as_str().to_string(),
                kind: p.kind,
                memberships_added: p
                    .add_memberships
                    .iter()
                    .map(|(_, f)| f.as_str().to_string())
                    .collect(),
                support_granted: p.grant_support,
            }
        })
        .collect();
    (counts, rows)
}

/// Checks the file for an import into `region` and says what a commit would do. Writes nothing
/// (but the `denied` row of a refusal). A file beyond `limits` is refused as a whole.
pub async fn dry_run(
    portal: &Portal,
    actor: &Actor,
    region: &RegionCode,
    bytes: &[u8],
    limits: &Limits,
    call: Call<'_>,
) -> Result<Preview> {
    dry_run_with_progress(portal, actor, region, bytes, limits, call, &|_| {}).await
}

/// `dry_run`, reporting the rows checked to `progress` (see `commit_with_progress`).
pub async fn dry_run_with_progress(
    portal: &Portal,
    actor: &Actor,
    region: &RegionCode,
    bytes: &[u8],
    limits: &Limits,
    call: Call<'_>,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Preview> {
    let sha256 = sha256_hex(bytes);
    authorize_import(
        portal,
        actor,
        region,
        audit::Action::ImportDryRun,
        &sha256,
        call,
    )
    .await?;
    let sheet = read_file(bytes, limits)?;
    // One snapshot for every query, and a read-only transaction: the dry run cannot write.
    let mut tx = portal.pool.begin().await?;
    sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let plan = validate::plan(
        &mut tx,
        actor,
        region,
        &sheet.rows,
        false,
        &|done, total| progress(Progress::Validated { done, total }),
    )
    .await?;
    tx.rollback().await?;
    let (counts, rows) = outcomes(&plan);
    Ok(Preview {
        sha256,
        encoding: sheet.encoding,
        delimiter: sheet.delimiter,
        unknown_columns: sheet.unknown_columns,
        counts,
        problems: plan.problems,
        rows,
    })
}

/// Applies the file to `region` in one transaction: refused as a whole when a row is in error,
/// unless `skip_errors` (the rows in error are then left out and listed in the report).
pub async fn commit(
    portal: &Portal,
    actor: &Actor,
    region: &RegionCode,
    bytes: &[u8],
    limits: &Limits,
    skip_errors: bool,
    call: Call<'_>,
) -> Result<Report> {
    commit_with_progress(
        portal,
        actor,
        region,
        bytes,
        limits,
        skip_errors,
        call,
        &|_| {},
    )
    .await
}

/// `commit`, reporting its progress to `progress` (called from the importing task, between
/// database round trips: it should only record the value).
#[allow(clippy::too_many_arguments)] // `commit`'s inputs plus the progress hook
pub async fn commit_with_progress(
    portal: &Portal,
    actor: &Actor,
    region: &RegionCode,
    bytes: &[u8],
    limits: &Limits,
    skip_errors: bool,
    call: Call<'_>,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Report> {
    let Call { client, now } = call;
    let input = CommitInput::new(portal, actor, region, bytes, *limits, client, now);
    commit_job(Uuid::new_v4(), &input, skip_errors, progress).await
}

/// What a commit works on. `commit_job` takes the job's id from its caller so that the console's
/// upload and its committed import share one id (a commit cut short by a restart is then found,
/// or not, by that id).
pub(crate) struct CommitInput<'a> {
    portal: &'a Portal,
    actor: &'a Actor,
    region: &'a RegionCode,
    bytes: &'a [u8],
    limits: Limits,
    client: &'a Client,
    now: OffsetDateTime,
}

impl<'a> CommitInput<'a> {
    pub(crate) fn new(
        portal: &'a Portal,
        actor: &'a Actor,
        region: &'a RegionCode,
        bytes: &'a [u8],
        limits: Limits,
        client: &'a Client,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            portal,
            actor,
            region,
            bytes,
            limits,
            client,
            now,
        }
    }
}

pub(crate) async fn commit_job(
    job_id: Uuid,
    input: &CommitInput<'_>,
    skip_errors: bool,
    progress: &(dyn Fn(Progress) + Send + Sync),
) -> Result<Report> {
    let CommitInput {
        portal,
        actor,
        region,
        bytes,
        limits,
        client,
        now,
    } = *input;
    let limits = &limits;
    let sha256 = sha256_hex(bytes);
    authorize_import(
        portal,
        actor,
        region,
        audit::Action::ImportCommit,
        &sha256,
        Call::new(client, now),
    )
    .await?;
    let sheet = read_file(bytes, limits)?;

    let mut tx = portal.pool.begin().await?;
    sqlx::query!(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        IMPORT_LOCK_CLASS,
        region.as_str()
    )
    .execute(&mut *tx)
    .await?;
    let plan = validate::plan(&mut tx, actor, region, &sheet.rows, true, &|done, total| {
        progress(Progress::Validated { done, total })
    })
    .await?;
    if plan.rows_in_error > 0 && !skip_errors {
        tx.rollback().await?;
        return Err(Error::Import(ImportError::RowsInError {
            rows: plan.rows_in_error,
            problems: plan.problems,
        }));
    }

    let total = plan.planned.len();
    let mut events = Vec::new();
    progress(Progress::Written { done: 0, total });
    let mut done = 0;
    for batch in plan.planned.chunks(WRITE_BATCH) {
        events.extend(apply(&mut tx, portal, actor, region, &sha256, batch, now).await?);
        done += batch.len();
        progress(Progress::Written { done, total });
    }

    let (counts, rows) = outcomes(&plan);
    let report = Report {
        job_id,
        region: region.as_str().to_string(),
        sha256: sha256.clone(),
        counts,
        problems: plan.problems,
        rows,
        nothing_changed: counts.create == 0 && counts.update == 0,
    };
    let report_json = serde_json::to_value(&report).map_err(|e| Error::Internal(e.to_string()))?;
    let as_i32 = |n: usize| i32::try_from(n).map_err(|e| Error::Internal(e.to_string()));
    sqlx::query!(
        "INSERT INTO import_jobs (id, region_code, actor_user_id, actor_label, file_sha256,
             rows_total, created, updated, unchanged, skipped, report, committed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        job_id,
        region.as_str(),
        actor.user_id,
        actor.label,
        sha256,
        as_i32(counts.create + counts.update + counts.unchanged + counts.errors)?,
        as_i32(counts.create)?,
        as_i32(counts.update)?,
        as_i32(counts.unchanged)?,
        as_i32(counts.errors)?,
        report_json,
        now
    )
    .execute(&mut *tx)
    .await?;

    // The audit rows go last: `audit::record` takes the log's global lock until the commit, and
    // holding it for the whole import would stall every other audited action meanwhile.
    events.push(event(
        actor,
        audit::Action::ImportCommit,
        Outcome::Success,
        Some(&target(region, job_id.to_string(), sha256.clone())),
        json!({
            "sha256": sha256,
            "created": counts.create,
            "updated": counts.update,
            "unchanged": counts.unchanged,
            "skipped": counts.errors,
        }),
    ));
    audit::record_many(&mut tx, events, Call::new(client, now)).await?;
    tx.commit().await?;
    Ok(report)
}

/// The report as a spreadsheet (UTF-8 with a byte-order mark, `;`, CRLF, like the template):
/// one line per row applied, then one per problem of the rows left out.
pub fn report_csv(report: &Report) -> Result<Vec<u8>> {
    outcomes_csv(
        &report.rows,
        report.problems.iter().map(|p| ProblemCells {
            line: p.line,
            column: p.column.unwrap_or(""),
            value: &p.value,
            message: &p.message_fr,
        }),
        "ignoré",
    )
}

/// One problem as the spreadsheet shows it.
pub(crate) struct ProblemCells<'a> {
    pub line: u64,
    pub column: &'a str,
    pub value: &'a str,
    pub message: &'a str,
}

/// A report or a preview as a spreadsheet; `problem_outcome` names what happens to a row in error
/// ("ignoré" once committed with the rows in error left out, "en erreur" in a preview).
pub(crate) fn outcomes_csv<'a>(
    rows: &[RowOutcome],
    problems: impl Iterator<Item = ProblemCells<'a>>,
    problem_outcome: &str,
) -> Result<Vec<u8>> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .delimiter(b';')
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        let csv_error = |e: csv::Error| Error::Internal(e.to_string());
        w.write_record([
            "ligne",
            "identifiant",
            "resultat",
            "colonne",
            "valeur",
            "message",
        ])
        .map_err(csv_error)?;
        for r in rows {
            let outcome = match r.kind {
                RowKind::Create => "créé",
                RowKind::Update => "modifié",
                RowKind::Unchanged => "inchangé",
            };
            let line = r.line.to_string();
            w.write_record([line.as_str(), &r.username, outcome, "", "", ""])
                .map_err(csv_error)?;
        }
        for p in problems {
            let line = p.line.to_string();
            w.write_record([
                line.as_str(),
                "",
                problem_outcome,
                p.column,
                // The report is opened in a spreadsheet: a value typed as a formula stays text.
                &crate::admin::audit_view::safe_cell(p.value),
                p.message,
            ])
            .map_err(csv_error)?;
        }
        w.flush().map_err(|e| Error::Internal(e.to_string()))?;
    }
    Ok(out)
}

/// A committed import, as stored for the page that offers its report again.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: Uuid,
    pub region_code: RegionCode,
    pub actor_label: String,
    pub file_sha256: String,
    pub committed_at: OffsetDateTime,
    /// The `Report`, as JSON.
    pub report: serde_json::Value,
}

/// The committed import `id`, for whoever may import into its region.
pub async fn job(portal: &Portal, actor: &Actor, id: Uuid, call: Call<'_>) -> Result<Job> {
    let job = sqlx::query_as!(
        Job,
        r#"SELECT id, region_code AS "region_code: _", actor_label, file_sha256, committed_at, report
         FROM import_jobs WHERE id = $1"#,
        id
    )
    .fetch_optional(&portal.pool)
    .await?
    .ok_or(Error::NotFound)?;
    let target = Target {
        kind: "import",
        id: id.to_string(),
        label: job.file_sha256.clone(),
        region: Some(job.region_code.to_string()),
    };
    authorize_on(
        portal,
        actor,
        job.region_code.as_str(),
        audit::Action::ImportView,
        target,
        call,
    )
    .await?;
    Ok(job)
}

/// Writes a batch of planned rows: the new accounts, the changed identities, the memberships and
/// support roles, the activation links and e-mails, one statement each. Returns the rows' audit
/// events (none for the unchanged ones), in the file's order.
async fn apply(
    tx: &mut PgConnection,
    portal: &Portal,
    actor: &Actor,
    region: &RegionCode,
    sha256: &str,
    batch: &[validate::Planned],
    now: OffsetDateTime,
) -> Result<Vec<Event>> {
    let new_users: Vec<NewUser> = batch
        .iter()
        .filter(|p| p.kind == RowKind::Create)
        .map(|p| NewUser {
            username: p.row.username.clone(),
            email: p.row.email.clone(),
            family_name: p.row.family_name.clone(),
            given_name: p.row.given_name.clone(),
            rpps: p.row.rpps.clone(),
            region: region.clone(),
            status: UserStatus::PendingActivation,
            password_hash: None,
        })
        .collect();
    let created = accounts::create_users(tx, &new_users, now).await?;

    // The account each row writes to (none for the unchanged ones).
    let mut new_ids = created.iter();
    let mut accounts = Vec::with_capacity(batch.len());
    for p in batch {
        accounts.push(match (&p.kind, &p.existing) {
            (RowKind::Unchanged, _) => None,
            (RowKind::Create, _) => Some(
                *new_ids
                    .next()
                    .ok_or_else(|| Error::Internal("fewer accounts created than planned".into()))?,
            ),
            (RowKind::Update, Some(e)) => Some(e.id),
            (RowKind::Update, None) => {
                return Err(Error::Internal("update planned without an account".into()));
            }
        });
    }

    // The RPPS is only ever added: an account's RPPS ties it to a card holder.
    let changed: Vec<(&validate::Planned, Uuid)> = batch
        .iter()
        .zip(&accounts)
        .filter(|(p, _)| p.kind == RowKind::Update && p.identity_changed())
        .filter_map(|(p, id)| id.map(|id| (p, id)))
        .collect();
    if !changed.is_empty() {
        let ids: Vec<Uuid> = changed.iter().map(|(_, id)| *id).collect();
        let emails: Vec<&str> = changed.iter().map(|(p, _)| p.row.email.as_str()).collect();
        let family_names: Vec<&str> = changed
            .iter()
            .map(|(p, _)| p.row.family_name.as_str())
            .collect();
        let given_names: Vec<&str> = changed
            .iter()
            .map(|(p, _)| p.row.given_name.as_str())
            .collect();
        let rpps: Vec<Option<&str>> = changed
            .iter()
            .map(|(p, _)| p.row.rpps.as_ref().map(Rpps::as_str))
            .collect();
        // `rpps` has NULLs, which `query!` cannot type-check (`as _`).
        sqlx::query!(
            "UPDATE users SET email = t.email, family_name = t.family_name,
                 given_name = t.given_name, rpps = coalesce(users.rpps, t.rpps),
                 updated_at = $6, version = users.version + 1
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
                  AS t(id, email, family_name, given_name, rpps)
             WHERE users.id = t.id",
            &ids,
            &emails as &[&str],
            &family_names as &[&str],
            &given_names as &[&str],
            &rpps as _,
            now
        )
        .execute(&mut *tx)
        .await?;
    }

    let memberships: Vec<(Uuid, Uuid)> = batch
        .iter()
        .zip(&accounts)
        .filter_map(|(p, id)| id.map(|id| (p, id)))
        .flat_map(|(p, id)| p.add_memberships.iter().map(move |(e, _)| (id, *e)))
        .collect();
    if !memberships.is_empty() {
        accounts::add_memberships(tx, &memberships, now).await?;
    }
    let support: Vec<Uuid> = batch
        .iter()
        .zip(&accounts)
        .filter(|(p, _)| p.grant_support)
        .filter_map(|(_, id)| *id)
        .collect();
    if !support.is_empty() {
        // Granting `support` is a regional administrator's power in their region, the very scope
        // the import was authorised for; checked again since it is a different action.
        authorize(
            actor,
            Action::GrantRole(AdminRole::Support),
            Some(region.as_str()),
        )?;
        accounts::grant_role_to_many(
            tx,
            &support,
            AdminRole::Support,
            Some(region),
            actor.user_id,
            now,
        )
        .await?;
    }
    let mails = if created.is_empty() {
        Vec::new()
    } else {
        account_links::issue_many(
            tx,
            &portal.public_origin,
            &created,
            Purpose::Activation,
            now,
        )
        .await?
    };

    let mut mails = mails.into_iter();
    let mut events = Vec::new();
    for (p, id) in batch.iter().zip(&accounts) {
        let Some(id) = *id else { continue };
        let row = &p.row;
        let finess: Vec<&str> = p.add_memberships.iter().map(|(_, f)| f.as_str()).collect();
        let after = json!({
            "username": row.username.as_str(),
            "email": row.email.as_str(),
            "family_name": row.family_name,
            "given_name": row.given_name,
            "rpps": row.rpps.as_ref().map(Rpps::as_str),
        });
        let (name, details) = match &p.existing {
            Some(e) if p.kind == RowKind::Update => (
                audit::Action::ImportUserUpdate,
                json!({
                    "before": {
                        "email": e.email,
                        "family_name": e.family_name,
                        "given_name": e.given_name,
                        "rpps": e.rpps,
                    },
                    "after": after,
                    "memberships_added": finess,
                    "support_granted": p.grant_support,
                    "line": row.line,
                    "sha256": sha256,
                }),
            ),
            _ => (
                audit::Action::ImportUserCreate,
                json!({
                    "after": after,
                    "status": "pending_activation",
                    "memberships_added": finess,
                    "support_granted": p.grant_support,
                    "activation_mail": mails
                        .next()
                        .ok_or_else(|| Error::Internal("fewer e-mails than accounts".into()))?,
                    "line": row.line,
                    "sha256": sha256,
                }),
            ),
        };
        let target = Target {
            kind: "user",
            id: id.to_string(),
            label: row.username.as_str().to_string(),
            region: Some(region.as_str().to_string()),
        };
        events.push(event(actor, name, Outcome::Success, Some(&target), details));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_reads_back_as_a_spreadsheet() {
        let report = Report {
            job_id: Uuid::nil(),
            region: "FR-IDF".into(),
            sha256: String::new(),
            counts: Counts::default(),
            problems: vec![Problem {
                line: 4,
                column: Some("courriel"),
                value: "a;b".into(),
                message_fr: "Adresse électronique invalide".into(),
            }],
            rows: vec![RowOutcome {
                line: 2,
                username: "h.moreau".into(),
                kind: RowKind::Create,
                memberships_added: Vec::new(),
                support_granted: false,
            }],
            nothing_changed: false,
        };
        let bytes = report_csv(&report).unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.starts_with("\u{feff}ligne;identifiant;resultat;colonne;valeur;message\r\n"));
        assert!(text.contains("2;h.moreau;créé;;;\r\n"));
        assert!(text.contains("4;;ignoré;courriel;\"a;b\";Adresse électronique invalide\r\n"));
    }
}
