//! The FINESS extraction of establishments (`etalab-cs1100507-stock-AAAAMMJJ-hhmm.csv`):
//! Windows-1252, `;`-separated, no header of named columns but a first line describing the
//! extraction, then lines of several kinds told by their first field: `structureet` (an
//! establishment, its fields in a fixed order) and `geolocalisation` (its Lambert-93
//! coordinates, not read here).

use std::io::Read;

use encoding_rs::WINDOWS_1252;
use model::ids::Finess;

use super::{BadLine, DirectoryError, DirectoryFile, LineProblem, Lines};

/// The fields of a `structureet` line, in the extraction's order.
const FIELDS: [&str; 32] = [
    "structureet",
    "nofinesset",
    "nofinessej",
    "rs",
    "rslongue",
    "complrs",
    "compldistrib",
    "numvoie",
    "typvoie",
    "voie",
    "compvoie",
    "lieuditbp",
    "commune",
    "departement",
    "libdepartement",
    "ligneacheminement",
    "telephone",
    "telecopie",
    "categetab",
    "libcategetab",
    "categagretab",
    "libcategagretab",
    "siret",
    "codeape",
    "codemft",
    "libmft",
    "codesph",
    "libsph",
    "dateouv",
    "dateautor",
    "maj",
    "numuai",
];

/// The position of a field of `structureet`.
fn at(name: &str) -> usize {
    FIELDS.iter().position(|f| *f == name).unwrap_or(usize::MAX)
}

/// The fields read, at least up to the category's label.
const NEEDED: usize = 22;

/// An establishment (a geographic site) of FINESS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Establishment {
    pub line: u64,
    pub finess: Finess,
    /// The legal entity it belongs to.
    pub legal_finess: Option<Finess>,
    /// `rslongue` when given, otherwise `rs`.
    pub name: String,
    /// Number, kind and name of the street, and the place, as one line.
    pub street: String,
    /// The postal code and the city, from the line « 75013 PARIS ».
    pub postal_code: String,
    pub city: String,
    /// The department's code (`75`, `2A`, `971`) and name.
    pub department: String,
    pub department_name: String,
    pub phone: String,
    pub category_code: String,
    pub category: String,
}

/// What a reading counted besides the establishments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skipped {
    /// `geolocalisation` lines.
    pub coordinates: u64,
    /// Lines of a kind this version does not know.
    pub other_kinds: u64,
}

/// Reads the extraction line by line; each item is an establishment, or a line set aside (the
/// inner `Err`); the outer `Err` ends the reading (the file could not be read).
pub struct Establishments<R: Read> {
    lines: Lines<R>,
    skipped: Skipped,
}

impl<R: Read> Establishments<R> {
    /// Reads (and skips) the first line, which describes the extraction.
    pub fn new(input: R) -> Result<Self, DirectoryError> {
        Ok(Self {
            lines: Lines::first(input, b';', DirectoryFile::Establishments)?,
            skipped: Skipped::default(),
        })
    }

    /// The lines skipped so far.
    pub fn skipped(&self) -> Skipped {
        self.skipped
    }

    fn text(&self, name: &str) -> String {
        let (text, _, _) = WINDOWS_1252.decode(self.lines.field(at(name)));
        text.trim().to_string()
    }

    fn establishment(&self, line: u64) -> Result<Establishment, LineProblem> {
        if self.lines.len() < NEEDED {
            return Err(LineProblem::TooFewFields {
                found: self.lines.len(),
                expected: NEEDED,
            });
        }
        let finess = |name: &'static str| -> Result<Option<Finess>, LineProblem> {
            let value = self.text(name);
            if value.is_empty() {
                return Ok(None);
            }
            Finess::parse(&value)
                .map(Some)
                .map_err(|_| LineProblem::Finess {
                    column: name.to_string(),
                    value,
                })
        };
        let Some(site) = finess("nofinesset")? else {
            return Err(LineProblem::Empty {
                column: "nofinesset".into(),
            });
        };
        let long = self.text("rslongue");
        let name = if long.is_empty() {
            self.text("rs")
        } else {
            long
        };
        if name.is_empty() {
            return Err(LineProblem::Empty {
                column: "rs".into(),
            });
        }
        let street = ["numvoie", "typvoie", "voie", "compvoie", "lieuditbp"]
            .iter()
            .map(|f| self.text(f))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let delivery = self.text("ligneacheminement");
        let (postal_code, city) = match delivery.split_once(' ') {
            Some((code, city)) if code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit()) => {
                (code.to_string(), city.trim().to_string())
            }
            _ => (String::new(), delivery),
        };
        Ok(Establishment {
            line,
            finess: site,
            legal_finess: finess("nofinessej")?,
            name,
            street,
            postal_code,
            city,
            department: self.text("departement"),
            department_name: self.text("libdepartement"),
            phone: self.text("telephone"),
            category_code: self.text("categetab"),
            category: self.text("libcategetab"),
        })
    }
}

impl<R: Read> Iterator for Establishments<R> {
    type Item = Result<Result<Establishment, BadLine>, DirectoryError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let line = match self.lines.next_filled()? {
                Ok(line) => line,
                Err(e) => return Some(Err(e)),
            };
            match self.lines.field(0) {
                b"structureet" => {
                    return Some(Ok(self
                        .establishment(line)
                        .map_err(|problem| BadLine { line, problem })));
                }
                b"geolocalisation" => self.skipped.coordinates += 1,
                _ => self.skipped.other_kinds += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `structureet` line in the extraction's order, in Windows-1252.
    fn structure(finess: &str, legal: &str, rs: &str, long: &str, delivery: &str) -> Vec<u8> {
        let fields = [
            "structureet",
            finess,
            legal,
            rs,
            long,
            "",
            "",
            "47",
            "BD",
            "DE L'HÔPITAL",
            "",
            "",
            "113",
            "75",
            "PARIS",
            delivery,
            "0142160000",
            "",
            "101",
            "Centre Hospitalier Régional (C.H.R.)",
            "1110",
            "Centres Hospitaliers Régionaux",
            "26750045200011",
            "8610Z",
            "03",
            "ARS établissements Publics de santé dotation globale",
            "1",
            "Etablissement public de santé",
            "1964-01-01",
            "1964-01-01",
            "2026-11-30",
            "",
        ];
        let line = fields.join(";");
        let (bytes, _, unmappable) = WINDOWS_1252.encode(&line);
        assert!(!unmappable);
        bytes.into_owned()
    }

    fn file(lines: &[Vec<u8>]) -> Vec<u8> {
        let mut out = b"finess;etalab;95;2026-12-01".to_vec();
        for line in lines {
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(line);
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    #[test]
    fn structureet_lines_are_read_from_windows_1252_and_geolocation_lines_skipped() {
        let bytes = file(&[
            structure(
                "750100125",
                "750712184",
                "GH PITIE SALPETRIERE",
                "Groupe Hospitalier Pitié-Salpêtrière",
                "75013 PARIS",
            ),
            b"geolocalisation;750100125;652163.4;6859770.2;1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93;2026-11-30".to_vec(),
            structure("2A0000156", "", "CH D'AJACCIO", "", "20090 AJACCIO"),
        ]);
        let mut reader = Establishments::new(bytes.as_slice()).unwrap();
        let rows: Vec<Establishment> = reader.by_ref().map(|r| r.unwrap().unwrap()).collect();
        assert_eq!(rows.len(), 2);
        let pitie = &rows[0];
        assert_eq!(pitie.line, 2);
        assert_eq!(pitie.finess, Finess::parse("750100125").unwrap());
        assert_eq!(
            pitie.legal_finess,
            Some(Finess::parse("750712184").unwrap())
        );
        assert_eq!(pitie.name, "Groupe Hospitalier Pitié-Salpêtrière");
        assert_eq!(pitie.street, "47 BD DE L'HÔPITAL");
        assert_eq!(
            (pitie.postal_code.as_str(), pitie.city.as_str()),
            ("75013", "PARIS")
        );
        assert_eq!(pitie.category, "Centre Hospitalier Régional (C.H.R.)");
        let ajaccio = &rows[1];
        assert_eq!(ajaccio.line, 4);
        assert_eq!(ajaccio.name, "CH D'AJACCIO");
        assert_eq!(ajaccio.legal_finess, None);
        assert_eq!(
            reader.skipped(),
            Skipped {
                coordinates: 1,
                other_kinds: 0
            }
        );
    }

    #[test]
    fn bad_lines_are_set_aside_with_their_number_and_the_rest_is_read() {
        let bytes = file(&[
            structure("750100126", "", "CLINIQUE", "", "75013 PARIS"),
            b"structureet;750100125;;COURT".to_vec(),
            structure("", "", "SANS NUMERO", "", "75013 PARIS"),
            b"autre;chose".to_vec(),
            structure("750100125", "", "", "", "75013 PARIS"),
            structure("750100125", "", "BON", "", "CEDEX 9"),
        ]);
        let mut reader = Establishments::new(bytes.as_slice()).unwrap();
        let rows: Vec<_> = reader.by_ref().map(|r| r.unwrap()).collect();
        let bad: Vec<(u64, LineProblem)> = rows
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|b| (b.line, b.problem.clone()))
            .collect();
        assert_eq!(
            bad,
            vec![
                (
                    2,
                    LineProblem::Finess {
                        column: "nofinesset".into(),
                        value: "750100126".into()
                    }
                ),
                (
                    3,
                    LineProblem::TooFewFields {
                        found: 4,
                        expected: NEEDED
                    }
                ),
                (
                    4,
                    LineProblem::Empty {
                        column: "nofinesset".into()
                    }
                ),
                (
                    6,
                    LineProblem::Empty {
                        column: "rs".into(),
                    },
                ),
            ]
        );
        let good: Vec<&Establishment> = rows.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(good.len(), 1);
        assert_eq!(
            (good[0].postal_code.as_str(), good[0].city.as_str()),
            ("", "CEDEX 9")
        );
        assert_eq!(reader.skipped().other_kinds, 1);
        assert!(matches!(
            Establishments::new(&b""[..]),
            Err(DirectoryError::Empty {
                file: DirectoryFile::Establishments
            })
        ));
    }
}
