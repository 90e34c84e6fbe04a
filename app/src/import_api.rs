//! Server functions of the console's CSV import pages (GET, they change nothing; the upload and
//! the confirmation are form posts to `server::web::import`). The domain authorises each read
//! against the upload's region.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use model::import::{RowKind, UploadState};
use serde::{Deserialize, Serialize};

use crate::admin_api::Console;
use crate::error::ErrorCode;

/// Rows and problems shown on the page; the CSV downloads have them all.
pub const SHOWN: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummaryView {
    pub id: String,
    pub date: String,
    pub file_name: String,
    pub region: String,
    pub actor: String,
    pub rows: usize,
    pub state: UploadState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportsData {
    pub console: Console,
    pub uploads: Vec<ImportSummaryView>,
    pub max_rows: usize,
    pub max_mib: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountsView {
    pub create: usize,
    pub update: usize,
    pub unchanged: usize,
    pub errors: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemView {
    pub line: u64,
    pub column: String,
    pub value: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowView {
    pub line: u64,
    pub username: String,
    pub kind: RowKind,
    pub establishments: Vec<String>,
}

/// The check's or the import's findings, the first `SHOWN` of each list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingsView {
    pub counts: CountsView,
    pub problems: Vec<ProblemView>,
    pub more_problems: usize,
    pub rows: Vec<RowView>,
    pub more_rows: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewView {
    pub encoding: String,
    pub delimiter: String,
    pub unknown_columns: Vec<String>,
    pub findings: FindingsView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportView {
    pub nothing_changed: bool,
    pub findings: FindingsView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportView {
    pub id: String,
    pub file_name: String,
    pub region: String,
    pub actor: String,
    pub date: String,
    pub rows_total: usize,
    pub state: UploadState,
    /// `validated` or `written`, rows done, rows to do.
    pub progress: Option<(String, usize, usize)>,
    /// The last step was cut short by a restart.
    pub interrupted: bool,
    /// At confirmation, this many rows had become invalid.
    pub now_in_error: Option<usize>,
    pub preview: Option<PreviewView>,
    pub report: Option<ReportView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportData {
    pub console: Console,
    pub upload: ImportView,
}

#[cfg(feature = "ssr")]
mod server {
    use domain::import::uploads::{
        Failure, StoredPreview, StoredProblem, StoredReport, Upload, UploadSummary,
    };
    use domain::import::{Counts, Progress, RowOutcome};

    use super::*;

    pub fn summary(u: UploadSummary) -> ImportSummaryView {
        ImportSummaryView {
            id: u.id.to_string(),
            date: crate::admin_api::server::datetime(u.created_at),
            file_name: u.file_name,
            region: u.region_code.into(),
            actor: u.actor_label,
            rows: u.rows_total,
            state: u.state,
        }
    }

    fn counts(c: Counts) -> CountsView {
        CountsView {
            create: c.create,
            update: c.update,
            unchanged: c.unchanged,
            errors: c.errors,
        }
    }

    fn findings(c: Counts, problems: Vec<StoredProblem>, rows: Vec<RowOutcome>) -> FindingsView {
        let (more_problems, more_rows) = (
            problems.len().saturating_sub(SHOWN),
            rows.len().saturating_sub(SHOWN),
        );
        FindingsView {
            counts: counts(c),
            problems: problems
                .into_iter()
                .take(SHOWN)
                .map(|p| ProblemView {
                    line: p.line,
                    column: p.column.unwrap_or_default(),
                    value: p.value,
                    message: p.message_fr,
                })
                .collect(),
            more_problems,
            rows: rows
                .into_iter()
                .take(SHOWN)
                .map(|r| RowView {
                    line: r.line,
                    username: r.username,
                    kind: r.kind,
                    establishments: r.memberships_added,
                })
                .collect(),
            more_rows,
        }
    }

    fn preview(p: StoredPreview) -> PreviewView {
        PreviewView {
            encoding: p.encoding,
            delimiter: match p.delimiter {
                '\t' => "tabulation".to_string(),
                c => c.to_string(),
            },
            unknown_columns: p.unknown_columns,
            findings: findings(p.counts, p.problems, p.rows),
        }
    }

    fn report(r: StoredReport) -> ReportView {
        ReportView {
            nothing_changed: r.nothing_changed,
            findings: findings(r.counts, r.problems, r.rows),
        }
    }

    pub fn upload(u: Upload) -> ImportView {
        ImportView {
            id: u.id.to_string(),
            file_name: u.file_name,
            region: u.region_code.into(),
            actor: u.actor_label,
            date: crate::admin_api::server::datetime(u.created_at),
            rows_total: u.rows_total,
            state: u.state,
            progress: u.progress.map(|p| match p {
                Progress::Validated { done, total } => ("validated".to_string(), done, total),
                Progress::Written { done, total } => ("written".to_string(), done, total),
            }),
            interrupted: u.failure == Some(Failure::Interrupted),
            now_in_error: match u.failure {
                Some(Failure::RowsInError { rows }) => Some(rows),
                _ => None,
            },
            preview: u.preview.map(preview),
            report: u.report.map(report),
        }
    }
}

#[server(prefix = "/api/admin", endpoint = "imports", input = GetUrl)]
pub async fn get_imports() -> Result<ImportsData, ErrorCode> {
    let (ctx, services, actor, console, _) = crate::admin_api::server::console_context().await?;
    let uploads = domain::import::uploads::recent(&services.portal, &actor, ctx.call())
        .await?
        .into_iter()
        .map(server::summary)
        .collect();
    Ok(ImportsData {
        console,
        uploads,
        max_rows: domain::import::MAX_ROWS,
        max_mib: domain::import::MAX_BYTES.div_ceil(1024 * 1024),
    })
}

#[server(prefix = "/api/admin", endpoint = "import", input = GetUrl)]
pub async fn get_import(id: String) -> Result<ImportData, ErrorCode> {
    let (ctx, services, actor, console, _) = crate::admin_api::server::console_context().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ErrorCode::NotFound)?;
    let upload = domain::import::uploads::view(&services.portal, &actor, id, ctx.call()).await?;
    Ok(ImportData {
        console,
        upload: server::upload(upload),
    })
}
