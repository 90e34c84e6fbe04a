//! The national directory's extractions (issue 18): which file, why one is refused as a whole, and
//! why one of its lines is set aside. The messages (French first) are the edges' business.

use serde::{Deserialize, Serialize};

/// The two public extractions Passerelle reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryFile {
    /// The Annuaire Santé's `PS_LibreAcces_Personne_activite_*.txt`: one line per professional
    /// and activity, `|`-separated, UTF-8, with a header line.
    Professionals,
    /// The FINESS `etalab-cs1100507-stock-*.csv`: `;`-separated, Windows-1252, no header.
    Establishments,
}

/// Why a whole file is refused: nothing of it is read further.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error("empty {0:?} file")]
    Empty(DirectoryFile),
    /// Columns the header lacks, by their names in the extraction.
    #[error("missing columns: {columns:?}")]
    MissingColumns {
        file: DirectoryFile,
        columns: Vec<&'static str>,
    },
    #[error("column {0} appears twice")]
    DuplicateColumn(&'static str),
    /// The file could not be read (I/O), at this line.
    #[error("unreadable at line {line}: {reason}")]
    Unreadable { line: u64, reason: String },
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
    Finess { column: &'static str, value: String },
    /// A required field left empty.
    Empty { column: &'static str },
}
