//! The national directory's extractions (issue 18): which file, why one is refused as a whole, and
//! why one of its lines is set aside. The messages (French first) are the edges' business.

use serde::{Deserialize, Serialize};

/// The two public extractions Passerelle reads. Stored as the PostgreSQL enum `directory_file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(
    feature = "sqlx",
    sqlx(type_name = "directory_file", rename_all = "lowercase")
)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryFile {
    /// The Annuaire Santé's `PS_LibreAcces_Personne_activite_*.txt`: one line per professional
    /// and activity, `|`-separated, UTF-8, with a header line.
    Professionals,
    /// The FINESS `etalab-cs1100507-stock-*.csv`: `;`-separated, Windows-1252, no header.
    Establishments,
}

impl DirectoryFile {
    pub fn as_str(self) -> &'static str {
        match self {
            DirectoryFile::Professionals => "professionals",
            DirectoryFile::Establishments => "establishments",
        }
    }

    /// The kind of an extraction told by its file name, as published (a `.zip` around it too).
    pub fn from_file_name(name: &str) -> Option<Self> {
        if name.starts_with("PS_LibreAcces_Personne_activite") {
            Some(DirectoryFile::Professionals)
        } else if name.starts_with("etalab-cs1100507-stock")
            || name.starts_with("etalab_cs1100507_stock")
        {
            Some(DirectoryFile::Establishments)
        } else {
            None
        }
    }
}

/// Why a whole file is refused: nothing of it is read further. Kept in the load's record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum DirectoryError {
    #[error("empty {file:?} file")]
    Empty { file: DirectoryFile },
    /// Columns the header lacks, by their names in the extraction.
    #[error("missing columns: {columns:?}")]
    MissingColumns {
        file: DirectoryFile,
        columns: Vec<String>,
    },
    #[error("column {column} appears twice")]
    DuplicateColumn { column: String },
    /// The file could not be read (I/O), at this line.
    #[error("unreadable at line {line}: {reason}")]
    Unreadable { line: u64, reason: String },
    /// The file's name is neither extraction's (and no kind was given).
    #[error("unknown kind of file: {name}")]
    UnknownFile { name: String },
    /// Not one line of the file could be read: the directory in place is kept.
    #[error("no valid line")]
    NoValidLine { file: DirectoryFile },
    /// The file holds less than half of the directory in place (a truncated download?): kept
    /// unless the load is told the shrink is expected.
    #[error("{after} rows where the directory has {before}")]
    Shrunk {
        file: DirectoryFile,
        before: u64,
        after: u64,
    },
    /// Another load of the same kind is running (on this instance or another).
    #[error("a load is already running")]
    AlreadyRunning { file: DirectoryFile },
}

/// Why one line is set aside (and reported with its number); the others are read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum LineProblem {
    /// Not UTF-8 where the file is.
    Encoding,
    /// Fewer fields than the header (or the format) has.
    TooFewFields { found: usize, expected: usize },
    /// An identifier type other than 8 (RPPS) and 0 (ADELI).
    IdentifierType { value: String },
    /// An RPPS or ADELI number that does not parse (length, characters, check digit).
    Identifier { value: String },
    /// The national identifier is not the type followed by the identifier.
    NationalIdentifier { value: String },
    /// A FINESS number that does not parse.
    Finess { column: String, value: String },
    /// A required field left empty.
    Empty { column: String },
    /// An establishment already read earlier in the file (its first line is kept).
    Duplicate { value: String },
}

/// How an account differs from the directory loaded (verification of issue 18, part 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mismatch {
    /// The RPPS is not in the directory.
    UnknownRpps,
    /// The RPPS is, under another exercise name (compared without case, accents, hyphens and
    /// spaces).
    NameDiffers,
    /// A new establishment's FINESS number is not in the FINESS file loaded.
    UnknownFiness,
}
