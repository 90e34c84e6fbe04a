//! The Annuaire Santé's extraction of professionals and their activities
//! (`PS_LibreAcces_Personne_activite_AAAAMMJJhhmm.txt`): UTF-8, `|`-separated, one header line,
//! each line ending with a `|`, one line per professional and activity.
//!
//! Its columns are found by their names: their order and number change between versions of the
//! extraction (the savoir-faire may even come in a file of its own). Quotes are text, not
//! quoting: a name such as `"Les Tilleuls"` is read as written.

use std::io::Read;

use model::ids::{Finess, NationalId, Rpps};

use super::{BadLine, DirectoryError, DirectoryFile, LineProblem, Lines};

/// The columns read, by their names in the extraction's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    IdentifierType,
    Identifier,
    NationalId,
    FamilyName,
    GivenName,
    ProfessionCode,
    Profession,
    SpecialtyCode,
    Specialty,
    SiteFiness,
    LegalFiness,
    SiteName,
    PostalCode,
    City,
    Email,
}

impl Column {
    const ALL: [Column; 15] = [
        Column::IdentifierType,
        Column::Identifier,
        Column::NationalId,
        Column::FamilyName,
        Column::GivenName,
        Column::ProfessionCode,
        Column::Profession,
        Column::SpecialtyCode,
        Column::Specialty,
        Column::SiteFiness,
        Column::LegalFiness,
        Column::SiteName,
        Column::PostalCode,
        Column::City,
        Column::Email,
    ];

    fn header(self) -> &'static str {
        match self {
            Column::IdentifierType => "Type d'identifiant PP",
            Column::Identifier => "Identifiant PP",
            Column::NationalId => "Identification nationale PP",
            Column::FamilyName => "Nom d'exercice",
            Column::GivenName => "Prénom d'exercice",
            Column::ProfessionCode => "Code profession",
            Column::Profession => "Libellé profession",
            Column::SpecialtyCode => "Code savoir-faire",
            Column::Specialty => "Libellé savoir-faire",
            Column::SiteFiness => "Numéro FINESS site",
            Column::LegalFiness => "Numéro FINESS établissement juridique",
            Column::SiteName => "Raison sociale site",
            Column::PostalCode => "Code postal (coord. structure)",
            Column::City => "Libellé commune (coord. structure)",
            Column::Email => "Adresse e-mail (coord. structure)",
        }
    }

    /// Without these a line says nothing usable: who, and what profession, where. The others
    /// may be absent from a version of the file (the savoir-faire has its own file since 2023).
    fn required(self) -> bool {
        matches!(
            self,
            Column::IdentifierType
                | Column::Identifier
                | Column::NationalId
                | Column::FamilyName
                | Column::GivenName
                | Column::ProfessionCode
                | Column::Profession
                | Column::SiteFiness
        )
    }
}

/// A professional's identifier in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    /// Type 8: the RPPS number, with its check digit verified.
    Rpps(Rpps),
    /// Type 0: the legacy ADELI number (9 characters).
    Adeli(String),
}

/// One line of the extraction: a professional in one activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub line: u64,
    pub identifier: Identifier,
    pub national_id: NationalId,
    pub family_name: String,
    pub given_name: String,
    pub profession_code: String,
    pub profession: String,
    /// Empty when the activity has none, or the file does not carry them.
    pub specialty_code: String,
    pub specialty: String,
    /// `None` for an activity outside an establishment (a practice of one's own).
    pub site_finess: Option<Finess>,
    pub legal_finess: Option<Finess>,
    pub site_name: String,
    pub postal_code: String,
    pub city: String,
    pub email: String,
}

/// Reads the extraction line by line; each item is an activity, or a line set aside (the inner
/// `Err`); the outer `Err` ends the reading (the file could not be read).
pub struct Activities<R: Read> {
    lines: Lines<R>,
    positions: [Option<usize>; Column::ALL.len()],
    /// The fields a line must have to reach the last column read.
    needed: usize,
}

impl<R: Read> Activities<R> {
    /// Reads the header; refuses a file without one, or whose header lacks a needed column or
    /// names one twice.
    pub fn new(input: R) -> Result<Self, DirectoryError> {
        let lines = Lines::first(input, b'|', DirectoryFile::Professionals)?;
        let names: Vec<String> = (0..lines.len())
            .map(|i| {
                let name = String::from_utf8_lossy(lines.field(i));
                name.trim_start_matches('\u{feff}').trim().to_string()
            })
            .collect();
        let mut positions = [None; Column::ALL.len()];
        for (slot, column) in positions.iter_mut().zip(Column::ALL) {
            let mut found = names
                .iter()
                .enumerate()
                .filter(|(_, n)| *n == column.header());
            *slot = found.next().map(|(i, _)| i);
            if found.next().is_some() {
                return Err(DirectoryError::DuplicateColumn {
                    column: column.header().into(),
                });
            }
        }
        let missing: Vec<String> = Column::ALL
            .iter()
            .zip(&positions)
            .filter(|(c, p)| c.required() && p.is_none())
            .map(|(c, _)| c.header().to_string())
            .collect();
        if !missing.is_empty() {
            return Err(DirectoryError::MissingColumns {
                file: DirectoryFile::Professionals,
                columns: missing,
            });
        }
        let needed = positions.iter().flatten().max().map_or(0, |p| p + 1);
        Ok(Self {
            lines,
            positions,
            needed,
        })
    }

    fn text(&self, column: Column) -> Result<String, LineProblem> {
        let Some(at) = self.positions[column as usize] else {
            return Ok(String::new());
        };
        std::str::from_utf8(self.lines.field(at))
            .map(str::to_string)
            .map_err(|_| LineProblem::Encoding)
    }

    fn required(&self, column: Column) -> Result<String, LineProblem> {
        let value = self.text(column)?;
        if value.is_empty() {
            Err(LineProblem::Empty {
                column: column.header().into(),
            })
        } else {
            Ok(value)
        }
    }

    fn finess(&self, column: Column) -> Result<Option<Finess>, LineProblem> {
        let value = self.text(column)?;
        if value.is_empty() {
            return Ok(None);
        }
        Finess::parse(&value)
            .map(Some)
            .map_err(|_| LineProblem::Finess {
                column: column.header().into(),
                value,
            })
    }

    /// The current record as an activity.
    fn activity(&self, line: u64) -> Result<Activity, LineProblem> {
        if self.lines.len() < self.needed {
            return Err(LineProblem::TooFewFields {
                found: self.lines.len(),
                expected: self.needed,
            });
        }
        let kind = self.required(Column::IdentifierType)?;
        let number = self.required(Column::Identifier)?;
        let identifier = match kind.as_str() {
            "8" => Identifier::Rpps(Rpps::parse(&number).map_err(|_| LineProblem::Identifier {
                value: number.clone(),
            })?),
            "0" if number.len() == 9 && number.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                Identifier::Adeli(number.clone())
            }
            "0" => return Err(LineProblem::Identifier { value: number }),
            _ => return Err(LineProblem::IdentifierType { value: kind }),
        };
        let national = self.required(Column::NationalId)?;
        let national_id = NationalId::parse(&national)
            .ok()
            .filter(|id| id.as_str() == format!("{kind}{number}"))
            .ok_or(LineProblem::NationalIdentifier { value: national })?;
        Ok(Activity {
            line,
            identifier,
            national_id,
            family_name: self.required(Column::FamilyName)?,
            given_name: self.text(Column::GivenName)?,
            profession_code: self.required(Column::ProfessionCode)?,
            profession: self.text(Column::Profession)?,
            specialty_code: self.text(Column::SpecialtyCode)?,
            specialty: self.text(Column::Specialty)?,
            site_finess: self.finess(Column::SiteFiness)?,
            legal_finess: self.finess(Column::LegalFiness)?,
            site_name: self.text(Column::SiteName)?,
            postal_code: self.text(Column::PostalCode)?,
            city: self.text(Column::City)?,
            email: self.text(Column::Email)?,
        })
    }
}

impl<R: Read> Iterator for Activities<R> {
    type Item = Result<Result<Activity, BadLine>, DirectoryError>;

    fn next(&mut self) -> Option<Self::Item> {
        let line = match self.lines.next_filled()? {
            Ok(line) => line,
            Err(e) => return Some(Err(e)),
        };
        Some(Ok(self
            .activity(line)
            .map_err(|problem| BadLine { line, problem })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header as the extraction of 2026 writes it (more columns than read, a trailing `|`).
    const HEADER: &str = "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Code civilité d'exercice|Libellé civilité d'exercice|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|Code catégorie professionnelle|Code savoir-faire|Libellé savoir-faire|Numéro FINESS site|Numéro FINESS établissement juridique|Raison sociale site|Code postal (coord. structure)|Libellé commune (coord. structure)|Adresse e-mail (coord. structure)|";

    fn read(text: &str) -> Vec<Result<Activity, BadLine>> {
        Activities::new(text.as_bytes())
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    }

    #[test]
    fn lines_are_read_by_column_name_with_accents_trailing_bars_and_quotes_as_text() {
        let text = format!(
            "\u{feff}{HEADER}\r\n\
             8|10000999994|810000999994|DR|Docteur|LECLERC|Hélène|10|Médecin|C|SM54|Pédiatrie|750712184|750712184|\"Les Tilleuls\" Hôpital|75013|PARIS|h.leclerc@aphp.fr|\r\n\
             0|751234567|0751234567|MME|Madame|N'DIAYE|Aïssatou|60|Infirmier|C|||||||||\r\n"
        );
        let rows = read(&text);
        assert_eq!(rows.len(), 2);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.line, 2);
        assert_eq!(
            first.identifier,
            Identifier::Rpps(Rpps::parse("10000999994").unwrap())
        );
        assert_eq!(first.national_id.as_str(), "810000999994");
        assert_eq!(
            (first.family_name.as_str(), first.given_name.as_str()),
            ("LECLERC", "Hélène")
        );
        assert_eq!(first.specialty, "Pédiatrie");
        assert_eq!(first.site_finess, Some(Finess::parse("750712184").unwrap()));
        assert_eq!(first.site_name, "\"Les Tilleuls\" Hôpital");
        assert_eq!(first.email, "h.leclerc@aphp.fr");
        let second = rows[1].as_ref().unwrap();
        assert_eq!(second.identifier, Identifier::Adeli("751234567".into()));
        assert_eq!(second.site_finess, None);
        assert_eq!(second.city, "");
    }

    #[test]
    fn an_older_column_order_without_the_savoir_faire_reads_the_same() {
        let text = "Identifiant PP|Type d'identifiant PP|Prénom d'exercice|Nom d'exercice|Identification nationale PP|Libellé profession|Code profession|Numéro FINESS site|\n\
                    10000999994|8|Hélène|LECLERC|810000999994|Médecin|10|750712184|\n";
        let rows = read(text);
        let only = rows[0].as_ref().unwrap();
        assert_eq!(only.given_name, "Hélène");
        assert_eq!(only.profession_code, "10");
        assert_eq!(only.specialty_code, "");
        assert_eq!(only.legal_finess, None);
    }

    #[test]
    fn a_header_without_a_needed_column_refuses_the_file_naming_it() {
        let text = "Type d'identifiant PP|Identifiant PP|Nom d'exercice|Prénom d'exercice|Code profession|Libellé profession|\n";
        match Activities::new(text.as_bytes()) {
            Err(DirectoryError::MissingColumns { file, columns }) => {
                assert_eq!(file, DirectoryFile::Professionals);
                assert_eq!(
                    columns,
                    vec!["Identification nationale PP", "Numéro FINESS site"]
                );
            }
            other => panic!("{:?}", other.err()),
        }
        assert!(matches!(
            Activities::new(&b""[..]),
            Err(DirectoryError::Empty {
                file: DirectoryFile::Professionals
            })
        ));
        let twice = format!("{HEADER}Nom d'exercice|\n");
        assert!(matches!(
            Activities::new(twice.as_bytes()),
            Err(DirectoryError::DuplicateColumn { column }) if column == "Nom d'exercice"
        ));
    }

    #[test]
    fn bad_lines_are_set_aside_with_their_number_and_reason_and_the_rest_is_read() {
        let good =
            "8|10000999994|810000999994|DR|Docteur|LECLERC|Hélène|10|Médecin|C|||750712184||||||";
        let lines = [
            good,
            // Check digit wrong.
            "8|10000999995|810000999995|DR|Docteur|MARTIN|Paul|10|Médecin|C|||||||||",
            // The national identifier of someone else.
            "8|10000999994|810000555556|DR|Docteur|MARTIN|Paul|10|Médecin|C|||||||||",
            // An identifier type of no professional.
            "3|10000999994|310000999994|DR|Docteur|MARTIN|Paul|10|Médecin|C|||||||||",
            // A FINESS number with a wrong key.
            "8|10000999994|810000999994|DR|Docteur|MARTIN|Paul|10|Médecin|C|||750712185||||||",
            // Cut short.
            "8|10000999994|810000999994|DR",
            "",
            good,
        ];
        let text = format!("{HEADER}\n{}\n", lines.join("\n"));
        let mut bytes = text.into_bytes();
        // Latin-1 in a UTF-8 file: that line only is set aside.
        bytes.extend_from_slice(
            b"8|10000999994|810000999994|DR|Docteur|L\xc9CLERC|H|10|M|C|||||||||\n",
        );
        let rows: Vec<_> = Activities::new(bytes.as_slice())
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let bad: Vec<(u64, LineProblem)> = rows
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|b| (b.line, b.problem.clone()))
            .collect();
        assert_eq!(
            bad,
            vec![
                (
                    3,
                    LineProblem::Identifier {
                        value: "10000999995".into()
                    }
                ),
                (
                    4,
                    LineProblem::NationalIdentifier {
                        value: "810000555556".into()
                    }
                ),
                (5, LineProblem::IdentifierType { value: "3".into() }),
                (
                    6,
                    LineProblem::Finess {
                        column: "Numéro FINESS site".into(),
                        value: "750712185".into()
                    }
                ),
                (
                    7,
                    LineProblem::TooFewFields {
                        found: 4,
                        expected: 18
                    }
                ),
                (10, LineProblem::Encoding),
            ]
        );
        let good_lines: Vec<u64> = rows
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|a| a.line)
            .collect();
        assert_eq!(good_lines, vec![2, 9]);
    }
}
