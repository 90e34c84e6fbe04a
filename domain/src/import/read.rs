//! Reading the CSV file as spreadsheet software writes it.
//!
//! Excel and LibreOffice in French write `;`-separated files (the comma is the decimal separator),
//! in Windows-1252 ("CSV") or UTF-8 with a byte-order mark ("CSV UTF-8"); other tools write `,`
//! and UTF-8 without a mark. Lines end in CRLF, and a cell typed with Alt+Entrée becomes a quoted
//! field holding a newline. All of these are accepted; the encoding and the delimiter are detected,
//! never asked for.
//!
//! Columns are found by their French header, in any order, whatever their case, accents and
//! spaces. The `finess` cell may list several establishments, separated by spaces, `|`, `,` or `;`
//! (the last two only inside a quoted cell, of course): one row per person, however many
//! establishments they work in.

pub(crate) use crate::text::fold;
use serde::Serialize;

use super::ImportError;

/// Larger files are refused before anything is decoded: 20 000 rows of this format fit easily.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
/// More rows are refused: one transaction must stay short enough not to hold up other writers.
pub const MAX_ROWS: usize = 20_000;

/// How large a file the import accepts. `Limits::default()` is what the portal and the CLI use
/// (`MAX_BYTES`, `MAX_ROWS`); a benchmark or a batch job may raise them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Larger files are refused before anything is decoded.
    pub max_bytes: usize,
    /// Files with more data rows (not counting empty ones) are refused.
    pub max_rows: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: MAX_BYTES,
            max_rows: MAX_ROWS,
        }
    }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The columns of the import format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Column {
    Username,
    Email,
    FamilyName,
    GivenName,
    Rpps,
    Finess,
    Role,
}

impl Column {
    pub const ALL: [Column; 7] = [
        Column::Username,
        Column::Email,
        Column::FamilyName,
        Column::GivenName,
        Column::Rpps,
        Column::Finess,
        Column::Role,
    ];

    /// The header as written in the template (and in problems shown to the administrator).
    pub fn header(self) -> &'static str {
        match self {
            Column::Username => "identifiant",
            Column::Email => "courriel",
            Column::FamilyName => "nom",
            Column::GivenName => "prenom",
            Column::Rpps => "rpps",
            Column::Finess => "finess",
            Column::Role => "role",
        }
    }

    /// A column that may be absent from the file: every row then has it empty.
    pub fn optional(self) -> bool {
        matches!(self, Column::Rpps | Column::Finess | Column::Role)
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The column a header names, after folding case, accents, spaces and punctuation; a few
    /// spellings administrators actually use are accepted too.
    fn from_header(header: &str) -> Option<Column> {
        let key = fold(header);
        Some(match key.as_str() {
            "identifiant" | "login" | "username" => Column::Username,
            "courriel" | "email" | "mail" | "adressemail" | "adresseelectronique" => Column::Email,
            "nom" | "nomdefamille" | "nomdusage" => Column::FamilyName,
            "prenom" => Column::GivenName,
            "rpps" | "numerorpps" | "nrpps" => Column::Rpps,
            "finess" | "etablissement" | "etablissements" | "finessetablissement" => Column::Finess,
            "role" => Column::Role,
            _ => return None,
        })
    }
}

/// One data row: the physical line it starts on (the header is line 1) and its cells by column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    pub line: u64,
    cells: [String; 7],
    /// Non-empty cells beyond the header's width (a shifted row, usually a stray delimiter).
    pub extra_cells: bool,
}

impl RawRow {
    pub fn new(line: u64, cells: [String; 7]) -> Self {
        Self {
            line,
            cells,
            extra_cells: false,
        }
    }

    pub fn get(&self, column: Column) -> &str {
        &self.cells[column.index()]
    }
}

/// The decoded file.
#[derive(Debug, Clone)]
pub struct Sheet {
    /// `UTF-8` or `windows-1252`.
    pub encoding: &'static str,
    pub delimiter: char,
    /// Headers that name no column of the format: reported, their cells ignored.
    pub unknown_columns: Vec<String>,
    pub rows: Vec<RawRow>,
}

/// Decodes `bytes` and splits them into rows; refuses files that are too large, too long, not
/// text, or missing a required column.
pub fn read(bytes: &[u8], limits: &Limits) -> Result<Sheet, ImportError> {
    if bytes.len() > limits.max_bytes {
        return Err(ImportError::TooLarge {
            max_bytes: limits.max_bytes,
        });
    }
    let (text, encoding) = decode(bytes)?;
    let delimiter = detect_delimiter(&text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(r) => r.map_err(|e| malformed(&e))?,
        None => return Err(ImportError::Empty),
    };
    let mut positions: [Option<usize>; 7] = [None; 7];
    let mut unknown_columns = Vec::new();
    for (i, h) in header.iter().enumerate() {
        match Column::from_header(h) {
            Some(c) if positions[c.index()].is_some() => {
                return Err(ImportError::DuplicateColumn(c.header()));
            }
            Some(c) => positions[c.index()] = Some(i),
            None if h.trim().is_empty() => {}
            None => unknown_columns.push(h.trim().to_string()),
        }
    }
    let missing: Vec<&'static str> = Column::ALL
        .into_iter()
        .filter(|c| !c.optional() && positions[c.index()].is_none())
        .map(Column::header)
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns(missing));
    }
    let width = header.len();
    let mut lines = LineCounter::new(&text);
    let mut rows = Vec::new();
    for record in records {
        let record = record.map_err(|e| malformed(&e))?;
        // Spreadsheets keep formatted but empty rows as `;;;;;;`: not rows of the import.
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if rows.len() == limits.max_rows {
            return Err(ImportError::TooManyRows {
                max_rows: limits.max_rows,
            });
        }
        let line = record.position().map_or(0, |p| {
            lines.line_at(usize::try_from(p.byte()).unwrap_or(usize::MAX))
        });
        let cells = positions.map(|p| {
            p.and_then(|p| record.get(p))
                .map(|c| c.trim().to_string())
                .unwrap_or_default()
        });
        rows.push(RawRow {
            line,
            cells,
            extra_cells: record.iter().skip(width).any(|c| !c.trim().is_empty()),
        });
    }
    Ok(Sheet {
        encoding,
        delimiter: char::from(delimiter),
        unknown_columns,
        rows,
    })
}

/// Physical line numbers from byte offsets. The csv crate's own line count lags by one after a
/// CRLF (it ends the record at the `\r` and counts the `\n` as part of the next one), so records
/// are located by byte offset instead, past any line ends the reader skipped.
struct LineCounter<'a> {
    text: &'a [u8],
    at: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text: text.as_bytes(),
            at: 0,
            line: 1,
        }
    }

    /// The line of the first character at or after `offset` that is not a line end; offsets
    /// must not decrease between calls (records come in order), so the whole file is scanned once.
    fn line_at(&mut self, offset: usize) -> u64 {
        let mut end = offset.min(self.text.len());
        while end < self.text.len() && matches!(self.text[end], b'\r' | b'\n') {
            end += 1;
        }
        if end > self.at {
            self.line += self.text[self.at..end]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            self.at = end;
        }
        self.line
    }
}

fn malformed(e: &csv::Error) -> ImportError {
    ImportError::Malformed {
        line: e.position().map_or(0, csv::Position::line),
        reason: e.to_string(),
    }
}

/// UTF-8 (with or without its byte-order mark) when the bytes are valid UTF-8, else Windows-1252,
/// which decodes any byte: a file saved as "CSV" by a French Excel is the common case, and its
/// "é" is the single byte 0xE9, never valid UTF-8 in a name.
fn decode(bytes: &[u8]) -> Result<(String, &'static str), ImportError> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        // Excel's "Texte Unicode": tab-separated UTF-16, another format altogether.
        return Err(ImportError::UnsupportedEncoding);
    }
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        return match std::str::from_utf8(rest) {
            Ok(s) => Ok((s.to_string(), "UTF-8")),
            Err(_) => Err(ImportError::UnsupportedEncoding),
        };
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_string(), "UTF-8"));
    }
    let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
    Ok((text.into_owned(), "windows-1252"))
}

/// The delimiter used most in the header line (outside quotes); `;` on a tie or when neither
/// occurs, since that is what French spreadsheet software writes.
fn detect_delimiter(text: &str) -> u8 {
    let (mut semicolons, mut commas, mut tabs) = (0usize, 0usize, 0usize);
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\r' | '\n' if !quoted => break,
            ';' if !quoted => semicolons += 1,
            ',' if !quoted => commas += 1,
            '\t' if !quoted => tabs += 1,
            _ => {}
        }
    }
    if tabs > semicolons && tabs > commas {
        b'\t'
    } else if commas > semicolons {
        b','
    } else {
        b';'
    }
}

/// The template offered for download: UTF-8 with a byte-order mark (so that Excel shows the
/// accents), `;`, CRLF, the header and one example row.
pub fn template() -> Vec<u8> {
    let mut out = UTF8_BOM.to_vec();
    let header: Vec<&str> = Column::ALL.into_iter().map(Column::header).collect();
    out.extend_from_slice(header.join(";").as_bytes());
    out.extend_from_slice(
        b"\r\nh.leclerc;helene.leclerc@exemple.fr;Leclerc;H\xC3\xA9l\xC3\xA8ne;;750712184;\r\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(row: &RawRow) -> Vec<&str> {
        Column::ALL.into_iter().map(|c| row.get(c)).collect()
    }

    #[test]
    fn windows_1252_with_semicolons_crlf_and_a_quoted_newline() {
        let bytes = b"Identifiant;Courriel;NOM;Pr\xE9nom;RPPS;Finess;R\xF4le;Service\r\n\
h.leclerc;h@ex.fr;Leclerc;H\xE9l\xE8ne;;750712184;;Cardio\r\n\
;;;;;;;\r\n\
j.dupont;j@ex.fr;\"Dupont;\r\nMartin\";Jean;;;support;\r\n";
        let sheet = read(bytes, &Limits::default()).unwrap();
        assert_eq!(sheet.encoding, "windows-1252");
        assert_eq!(sheet.delimiter, ';');
        assert_eq!(sheet.unknown_columns, vec!["Service".to_string()]);
        assert_eq!(sheet.rows.len(), 2);
        assert_eq!(sheet.rows[0].line, 2);
        assert_eq!(
            cells(&sheet.rows[0]),
            vec![
                "h.leclerc",
                "h@ex.fr",
                "Leclerc",
                "Hélène",
                "",
                "750712184",
                ""
            ]
        );
        assert_eq!(sheet.rows[1].line, 4);
        assert_eq!(sheet.rows[1].get(Column::FamilyName), "Dupont;\r\nMartin");
        assert_eq!(sheet.rows[1].get(Column::Role), "support");
    }

    #[test]
    fn utf8_with_bom_and_commas_in_any_column_order() {
        let text = "\u{feff}prenom,nom,courriel,identifiant\nHélène,\"Leclerc, épouse Roy\",h@ex.fr,h.leclerc\n";
        let sheet = read(text.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(sheet.encoding, "UTF-8");
        assert_eq!(sheet.delimiter, ',');
        assert_eq!(sheet.rows[0].get(Column::GivenName), "Hélène");
        assert_eq!(sheet.rows[0].get(Column::FamilyName), "Leclerc, épouse Roy");
        assert_eq!(sheet.rows[0].get(Column::Username), "h.leclerc");
        assert_eq!(sheet.rows[0].get(Column::Rpps), "");
    }

    #[test]
    fn missing_and_duplicate_columns_are_fatal() {
        assert_eq!(
            read(b"identifiant;nom\r\n", &Limits::default()).unwrap_err(),
            ImportError::MissingColumns(vec!["courriel", "prenom"])
        );
        assert_eq!(
            read(
                b"identifiant;courriel;nom;prenom;Pr\xC3\xA9nom\r\n",
                &Limits::default()
            )
            .unwrap_err(),
            ImportError::DuplicateColumn("prenom")
        );
        assert_eq!(
            read(b"", &Limits::default()).unwrap_err(),
            ImportError::Empty
        );
        assert_eq!(
            read(b"\xFF\xFEi\0", &Limits::default()).unwrap_err(),
            ImportError::UnsupportedEncoding
        );
    }

    #[test]
    fn limits_are_enforced() {
        let defaults = Limits::default();
        let big = vec![b'a'; MAX_BYTES + 1];
        assert!(matches!(
            read(&big, &defaults),
            Err(ImportError::TooLarge {
                max_bytes: MAX_BYTES
            })
        ));
        let mut many = String::from("identifiant;courriel;nom;prenom\n");
        for i in 0..=MAX_ROWS {
            many.push_str(&format!("u{i};u@ex.fr;N;P\n"));
        }
        assert_eq!(
            read(many.as_bytes(), &defaults).unwrap_err(),
            ImportError::TooManyRows { max_rows: MAX_ROWS }
        );

        // Raised limits let the same file through; lowered ones refuse smaller files.
        let raised = Limits {
            max_bytes: 2 * MAX_BYTES,
            max_rows: MAX_ROWS + 1,
        };
        assert_eq!(
            read(many.as_bytes(), &raised).unwrap().rows.len(),
            MAX_ROWS + 1
        );
        let small = Limits {
            max_bytes: 100,
            max_rows: 2,
        };
        assert_eq!(
            read(many.as_bytes(), &small).unwrap_err(),
            ImportError::TooLarge { max_bytes: 100 }
        );
        let three =
            "identifiant;courriel;nom;prenom\na;a@ex.fr;N;P\nb;b@ex.fr;N;P\nc;c@ex.fr;N;P\n";
        assert_eq!(
            read(three.as_bytes(), &small).unwrap_err(),
            ImportError::TooManyRows { max_rows: 2 }
        );
    }

    #[test]
    fn the_template_reads_back() {
        let sheet = read(&template(), &Limits::default()).unwrap();
        assert!(sheet.unknown_columns.is_empty());
        assert_eq!(sheet.rows[0].get(Column::GivenName), "Hélène");
    }
}
