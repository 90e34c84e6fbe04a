//! CSV user import: why a file is refused, what is wrong with a row, and where an upload stands.

use serde::{Deserialize, Serialize};

/// Longest value quoted back in a problem: a runaway cell must not blow up the report.
pub const MAX_QUOTED: usize = 80;

/// What is wrong with one cell (or one row, when `column` is `None`): data for the report, not an
/// error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub line: u64,
    /// The column's header as in the template.
    pub column: Option<&'static str>,
    pub value: String,
    pub message_fr: String,
}

impl Problem {
    /// A problem quoting `value` (cut to [`MAX_QUOTED`] characters).
    pub fn new(
        line: u64,
        column: Option<&'static str>,
        value: &str,
        message: impl Into<String>,
    ) -> Self {
        let mut quoted: String = value.chars().take(MAX_QUOTED).collect();
        if quoted.len() < value.len() {
            quoted.push('…');
        }
        Self {
            line,
            column,
            value: quoted,
            message_fr: message.into(),
        }
    }
}

/// Why a file, or a commit, is refused as a whole. Row problems are data ([`Problem`]), not
/// errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("file larger than {max_bytes} bytes")]
    TooLarge { max_bytes: usize },
    #[error("more than {max_rows} rows")]
    TooManyRows { max_rows: usize },
    #[error("empty file")]
    Empty,
    /// UTF-16 ("Texte Unicode") or a UTF-8 mark followed by something else.
    #[error("unsupported encoding")]
    UnsupportedEncoding,
    #[error("malformed CSV at line {line}: {reason}")]
    Malformed { line: u64, reason: String },
    /// Required columns the header lacks, by their template names.
    #[error("missing columns: {0:?}")]
    MissingColumns(Vec<&'static str>),
    #[error("column {0} appears twice")]
    DuplicateColumn(&'static str),
    /// The commit found rows in error and was not asked to skip them; nothing was written.
    #[error("{rows} rows in error")]
    RowsInError { rows: usize, problems: Vec<Problem> },
}

/// What the import does (or would do) with a valid row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    Create,
    Update,
    Unchanged,
}

/// Where an upload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    /// The dry run is running.
    Validating,
    /// Checked: the preview is ready, waiting for the administrator.
    Previewed,
    /// The commit is running.
    Committing,
    Committed,
    /// The dry run was cut short; nothing to show yet.
    Interrupted,
    Abandoned,
}

impl UploadState {
    pub const ALL: [UploadState; 6] = [
        UploadState::Validating,
        UploadState::Previewed,
        UploadState::Committing,
        UploadState::Committed,
        UploadState::Interrupted,
        UploadState::Abandoned,
    ];

    /// The stored name (`import_uploads.state`).
    pub fn as_str(self) -> &'static str {
        match self {
            UploadState::Validating => "validating",
            UploadState::Previewed => "previewed",
            UploadState::Committing => "committing",
            UploadState::Committed => "committed",
            UploadState::Interrupted => "interrupted",
            UploadState::Abandoned => "abandoned",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn is_running(self) -> bool {
        matches!(self, UploadState::Validating | UploadState::Committing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip() {
        for s in UploadState::ALL {
            assert_eq!(UploadState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn quoted_values_are_cut() {
        let p = Problem::new(3, Some("rpps"), &"x".repeat(200), "Trop long");
        assert_eq!(p.value.chars().count(), MAX_QUOTED + 1);
        assert!(p.value.ends_with('…'));
    }
}
