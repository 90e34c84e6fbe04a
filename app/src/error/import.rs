//! Why an import file, or an import's confirmation, was refused as a whole. The slug carries the
//! numbers and column names the message needs (`import-colonnes-manquantes-courriel.nom`).

use serde::{Deserialize, Serialize};

use super::number;
use crate::i18n::Messages;

/// Why an import file, or an import's confirmation, was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportFault {
    TooLarge {
        mib: usize,
    },
    TooManyRows {
        max: usize,
    },
    Empty,
    Encoding,
    Malformed {
        line: u64,
    },
    /// Template names of the missing columns.
    MissingColumns(Vec<String>),
    DuplicateColumn(String),
    RowsInError {
        rows: usize,
    },
    NoFile,
}

/// Column names as they travel in a slug: the template's lowercase names only.
fn column_name(s: &str) -> Option<String> {
    (!s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .then(|| s.to_string())
}

impl ImportFault {
    pub(super) fn slug(&self) -> String {
        match self {
            ImportFault::TooLarge { mib } => format!("import-trop-gros-{mib}"),
            ImportFault::TooManyRows { max } => format!("import-trop-de-lignes-{max}"),
            ImportFault::Empty => "import-vide".into(),
            ImportFault::Encoding => "import-encodage".into(),
            ImportFault::Malformed { line } => format!("import-illisible-{line}"),
            ImportFault::MissingColumns(c) => format!("import-colonnes-manquantes-{}", c.join(".")),
            ImportFault::DuplicateColumn(c) => format!("import-colonne-en-double-{c}"),
            ImportFault::RowsInError { rows } => format!("import-lignes-en-erreur-{rows}"),
            ImportFault::NoFile => "import-sans-fichier".into(),
        }
    }

    pub(super) fn from_slug(slug: &str) -> Option<Self> {
        let rest = slug.strip_prefix("import-")?;
        let count = |prefix: &str| number(rest.strip_prefix(prefix)?, 1..=10_000_000usize);
        Some(match rest {
            "vide" => ImportFault::Empty,
            "encodage" => ImportFault::Encoding,
            "sans-fichier" => ImportFault::NoFile,
            _ => {
                if let Some(mib) = count("trop-gros-") {
                    ImportFault::TooLarge { mib }
                } else if let Some(max) = count("trop-de-lignes-") {
                    ImportFault::TooManyRows { max }
                } else if let Some(line) = count("illisible-") {
                    ImportFault::Malformed { line: line as u64 }
                } else if let Some(rows) = count("lignes-en-erreur-") {
                    ImportFault::RowsInError { rows }
                } else if let Some(c) = rest.strip_prefix("colonnes-manquantes-") {
                    let columns: Option<Vec<String>> =
                        c.split('.').take(10).map(column_name).collect();
                    ImportFault::MissingColumns(columns?)
                } else if let Some(c) = rest.strip_prefix("colonne-en-double-") {
                    ImportFault::DuplicateColumn(column_name(c)?)
                } else {
                    return None;
                }
            }
        })
    }

    pub(super) fn status(&self) -> u16 {
        match self {
            ImportFault::TooLarge { .. } => 413,
            ImportFault::RowsInError { .. } => 409,
            _ => 400,
        }
    }

    pub(super) fn message(&self, m: &Messages) -> String {
        match self {
            ImportFault::TooLarge { mib } => (m.import.err_import_too_large)(*mib),
            ImportFault::TooManyRows { max } => (m.import.err_import_too_many_rows)(*max),
            ImportFault::Empty => m.import.err_import_empty.into(),
            ImportFault::Encoding => m.import.err_import_encoding.into(),
            ImportFault::Malformed { line } => (m.import.err_import_malformed)(*line),
            ImportFault::MissingColumns(c) => (m.import.err_import_missing_columns)(&c.join(", ")),
            ImportFault::DuplicateColumn(c) => (m.import.err_import_duplicate_column)(c),
            ImportFault::RowsInError { rows } => (m.import.err_import_rows_in_error)(*rows),
            ImportFault::NoFile => m.import.err_import_no_file.into(),
        }
    }
}

impl From<model::import::ImportError> for ImportFault {
    fn from(e: model::import::ImportError) -> Self {
        use model::import::ImportError as E;
        match e {
            E::TooLarge { max_bytes } => ImportFault::TooLarge {
                mib: max_bytes.div_ceil(1024 * 1024),
            },
            E::TooManyRows { max_rows } => ImportFault::TooManyRows { max: max_rows },
            E::Empty => ImportFault::Empty,
            E::UnsupportedEncoding => ImportFault::Encoding,
            E::Malformed { line, .. } => ImportFault::Malformed { line },
            E::MissingColumns(c) => {
                ImportFault::MissingColumns(c.into_iter().map(str::to_string).collect())
            }
            E::DuplicateColumn(c) => ImportFault::DuplicateColumn(c.to_string()),
            E::RowsInError { rows, .. } => ImportFault::RowsInError { rows },
        }
    }
}
