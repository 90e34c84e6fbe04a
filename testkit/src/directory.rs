//! Files in exactly the formats of the national directory's public extractions, since no machine
//! here reaches the Annuaire Santé or data.gouv.fr: the professionals' `PS_LibreAcces` file (UTF-8,
//! `|`, a header of named columns, a trailing `|` on every line) and FINESS's etalab file
//! (Windows-1252, `;`, a first line describing the extraction, `structureet` and
//! `geolocalisation` lines). Deterministic for a seed: the tests and the benchmark name what they
//! need and get the same file every time.

use std::io::{self, Write};

use domain::ids::luhn_check_digit;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The current extraction's header, in its order (56 columns; the loader reads 15 by name).
pub const CURRENT_HEADER: [&str; 56] = [
    "Type d'identifiant PP",
    "Identifiant PP",
    "Identification nationale PP",
    "Code civilité d'exercice",
    "Libellé civilité d'exercice",
    "Code civilité",
    "Libellé civilité",
    "Nom d'exercice",
    "Prénom d'exercice",
    "Code profession",
    "Libellé profession",
    "Code catégorie professionnelle",
    "Libellé catégorie professionnelle",
    "Code type savoir-faire",
    "Libellé type savoir-faire",
    "Code savoir-faire",
    "Libellé savoir-faire",
    "Code mode exercice",
    "Libellé mode exercice",
    "Numéro SIRET site",
    "Numéro SIREN site",
    "Numéro FINESS site",
    "Numéro FINESS établissement juridique",
    "Identifiant technique de la structure",
    "Raison sociale site",
    "Enseigne commerciale site",
    "Complément destinataire (coord. structure)",
    "Complément point géographique (coord. structure)",
    "Numéro Voie (coord. structure)",
    "Indice répétition voie (coord. structure)",
    "Code type de voie (coord. structure)",
    "Libellé type de voie (coord. structure)",
    "Libellé Voie (coord. structure)",
    "Mention distribution (coord. structure)",
    "Bureau cedex (coord. structure)",
    "Code postal (coord. structure)",
    "Code commune (coord. structure)",
    "Libellé commune (coord. structure)",
    "Code pays (coord. structure)",
    "Libellé pays (coord. structure)",
    "Téléphone (coord. structure)",
    "Téléphone 2 (coord. structure)",
    "Télécopie (coord. structure)",
    "Adresse e-mail (coord. structure)",
    "Code Département (structure)",
    "Libellé Département (structure)",
    "Ancien identifiant de la structure",
    "Autorité d'enregistrement",
    "Code secteur d'activité",
    "Libellé secteur d'activité",
    "Code section tableau pharmaciens",
    "Libellé section tableau pharmaciens",
    "Code rôle",
    "Libellé rôle",
    "Code genre activité",
    "Libellé genre activité",
];

/// An older extraction: fewer columns, in another order, without the savoir-faire (published
/// in a file of its own then).
pub const OLDER_HEADER: [&str; 14] = [
    "Identification nationale PP",
    "Type d'identifiant PP",
    "Identifiant PP",
    "Prénom d'exercice",
    "Nom d'exercice",
    "Libellé profession",
    "Code profession",
    "Raison sociale site",
    "Numéro FINESS établissement juridique",
    "Numéro FINESS site",
    "Libellé commune (coord. structure)",
    "Code postal (coord. structure)",
    "Téléphone (coord. structure)",
    "Adresse e-mail (coord. structure)",
];

/// A professional the tests name (a demo account's RPPS, an exact exercise name).
#[derive(Debug, Clone)]
pub struct Person {
    pub rpps: String,
    pub family_name: String,
    pub given_name: String,
    /// The FINESS of their activity site (empty for a practice of their own).
    pub site_finess: String,
}

/// An establishment the tests name.
#[derive(Debug, Clone)]
pub struct Site {
    pub finess: String,
    pub name: String,
    pub postal_code: String,
    pub city: String,
}

/// What to write.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    /// Lines of the professionals' file (activities), the named ones included.
    pub activities: u64,
    /// Establishments of the FINESS file, the named ones included.
    pub establishments: u64,
    /// The older column order (and no savoir-faire).
    pub older: bool,
    /// A few bad lines among the good ones (an RPPS whose check digit is wrong, an unknown
    /// identifier type, a line cut short, a FINESS number that does not parse).
    pub bad_lines: bool,
    pub people: Vec<Person>,
    pub sites: Vec<Site>,
    /// Every this many generated professionals (0: none) take a second family name, as after a
    /// marriage: with the same seed, the next day's file of a daily refresh.
    pub renamed_every: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            seed: 18,
            activities: 1_000,
            establishments: 200,
            older: false,
            bad_lines: false,
            people: Vec::new(),
            sites: Vec::new(),
            renamed_every: 0,
        }
    }
}

const FAMILY: [&str; 24] = [
    "MARTIN",
    "BERNARD",
    "DUBOIS",
    "THOMAS",
    "ROBERT",
    "RICHARD",
    "PETIT",
    "DURAND",
    "LEROY",
    "MOREAU",
    "SIMON",
    "LAURENT",
    "LEFÈVRE",
    "MICHEL",
    "GARCIA",
    "DAVID",
    "BERTRAND",
    "ROUX",
    "LE GOFF-HÉLIAS",
    "N'DIAYE",
    "MÜLLER",
    "BÉNARD",
    "D'ALMEIDA",
    "CHÂTEAU",
];
const GIVEN: [&str; 20] = [
    "Hélène",
    "Éloïse",
    "François",
    "Gaël",
    "Zoé",
    "Jérôme",
    "Anne-Sophie",
    "Noël",
    "Inès",
    "Loïc",
    "Marie",
    "Pierre",
    "Camille",
    "Léa",
    "Hugo",
    "Chloé",
    "Maël",
    "Agnès",
    "Clément",
    "Anaïs",
];
const PROFESSIONS: [(&str, &str, &str, &str); 6] = [
    ("10", "Médecin", "SM54", "Médecine générale"),
    (
        "10",
        "Médecin",
        "SM26",
        "Cardiologie et maladies vasculaires",
    ),
    ("60", "Infirmier", "", ""),
    ("21", "Pharmacien", "", ""),
    (
        "40",
        "Chirurgien-Dentiste",
        "SCD01",
        "Orthopédie dento-faciale",
    ),
    ("50", "Sage-Femme", "", ""),
];
const CITIES: [(&str, &str, &str); 12] = [
    ("75", "75013", "PARIS"),
    ("69", "69003", "LYON"),
    ("13", "13005", "MARSEILLE"),
    ("33", "33000", "BORDEAUX"),
    ("59", "59037", "LILLE"),
    ("35", "35000", "RENNES"),
    ("67", "67091", "STRASBOURG"),
    ("2A", "20000", "AJACCIO"),
    ("93", "93200", "SAINT-DENIS"),
    ("06", "06000", "NICE"),
    ("97", "97110", "POINTE-À-PITRE"),
    ("44", "44000", "NANTES"),
];
const KINDS: [(&str, &str); 5] = [
    ("Centre Hospitalier (C.H.)", "Centre hospitalier"),
    ("Centre de Santé", "Centre de santé"),
    ("Maison de santé (L.6223-3)", "Maison de santé"),
    ("Pharmacie d'Officine", "Pharmacie"),
    (
        "Établissement d'hébergement pour personnes âgées dépendantes",
        "EHPAD",
    ),
];
const SAINTS: [&str; 10] = [
    "Saint-Éloi",
    "Sainte-Anne",
    "Les Tilleuls",
    "Pasteur",
    "Jean-Jaurès",
    "Les Peupliers",
    "Notre-Dame",
    "Bellevue",
    "Émile-Zola",
    "Côte de Nacre",
];

fn with_check(body: &str) -> String {
    format!("{body}{}", luhn_check_digit(body).unwrap_or('0'))
}

/// The generated FINESS number of the `n`th establishment, in the department `dept` (`97`:
/// Guadeloupe, 971).
fn finess(dept: &str, n: u64) -> String {
    match dept {
        // Corsican numbers are checked with the pre-1976 code "20".
        "2A" => format!("2A{}", &with_check(&format!("20{:06}", n % 1_000_000))[2..]),
        "97" => with_check(&format!("971{:05}", n % 100_000)),
        d => with_check(&format!("{d}{:06}", n % 1_000_000)),
    }
}

/// The generated RPPS of the `n`th professional.
fn rpps(n: u64) -> String {
    with_check(&format!("1{:09}", 800_000_000 + n))
}

/// Writes the professionals' extraction.
pub fn write_professionals(out: &mut impl Write, o: &Options) -> io::Result<u64> {
    let header: &[&str] = if o.older {
        &OLDER_HEADER
    } else {
        &CURRENT_HEADER
    };
    let mut lines = 0u64;
    write_bars(out, header.iter().copied())?;
    let mut rng = StdRng::seed_from_u64(o.seed);
    let write = |out: &mut dyn Write, values: &dyn Fn(&str) -> String| -> io::Result<()> {
        let fields: Vec<String> = header.iter().map(|h| values(h)).collect();
        write_bars(out, fields.iter().map(String::as_str))
    };
    for p in &o.people {
        let site = o.sites.iter().find(|s| s.finess == p.site_finess);
        let values = |h: &str| -> String {
            match h {
                "Type d'identifiant PP" => "8".into(),
                "Identifiant PP" => p.rpps.clone(),
                "Identification nationale PP" => format!("8{}", p.rpps),
                "Nom d'exercice" => p.family_name.clone(),
                "Prénom d'exercice" => p.given_name.clone(),
                "Code profession" => "10".into(),
                "Libellé profession" => "Médecin".into(),
                "Code savoir-faire" => "SM54".into(),
                "Libellé savoir-faire" => "Médecine générale".into(),
                "Numéro FINESS site" => p.site_finess.clone(),
                "Raison sociale site" => site.map(|s| s.name.clone()).unwrap_or_default(),
                "Code postal (coord. structure)" => {
                    site.map(|s| s.postal_code.clone()).unwrap_or_default()
                }
                "Libellé commune (coord. structure)" => {
                    site.map(|s| s.city.clone()).unwrap_or_default()
                }
                _ => String::new(),
            }
        };
        write(out, &values)?;
        lines += 1;
    }
    let mut person = 0u64;
    let mut written = o.people.len() as u64;
    while written < o.activities {
        person += 1;
        let drawn = FAMILY[rng.gen_range(0..FAMILY.len())];
        // Drawn all the same, so that the rest of the file is the same as without renaming.
        let renamed = o.renamed_every > 0 && person.is_multiple_of(o.renamed_every);
        let family = if renamed {
            format!("{drawn}-MARTIN")
        } else {
            drawn.to_string()
        };
        let family = family.as_str();
        let given = GIVEN[rng.gen_range(0..GIVEN.len())];
        let (code, profession, sf_code, sf) = PROFESSIONS[rng.gen_range(0..PROFESSIONS.len())];
        let number = rpps(person);
        // Most have one activity, some two or three.
        let activities = match rng.gen_range(0..10) {
            0 => 3,
            1..=2 => 2,
            _ => 1,
        };
        for a in 0..activities {
            if written >= o.activities {
                break;
            }
            written += 1;
            let (dept, postal, city) = CITIES[rng.gen_range(0..CITIES.len())];
            let site = rng.gen_range(0..(o.establishments.max(1)));
            let own_practice = a == 0 && rng.gen_range(0..4) == 0;
            let bad = o.bad_lines && written.is_multiple_of(97);
            let values = |h: &str| -> String {
                match h {
                    "Type d'identifiant PP" if bad && written.is_multiple_of(3) => "3".into(),
                    "Type d'identifiant PP" => "8".into(),
                    // A wrong check digit: the number's last digit moved by one.
                    "Identifiant PP" if bad && written % 3 == 1 => {
                        let mut n = number.clone();
                        let last = n.pop().and_then(|c| c.to_digit(10)).unwrap_or(0);
                        format!("{n}{}", (last + 1) % 10)
                    }
                    "Identifiant PP" => number.clone(),
                    "Identification nationale PP" => format!("8{number}"),
                    "Code civilité d'exercice" => "DR".into(),
                    "Libellé civilité d'exercice" => "Docteur".into(),
                    "Nom d'exercice" => family.into(),
                    "Prénom d'exercice" => given.into(),
                    "Code profession" => code.into(),
                    "Libellé profession" => profession.into(),
                    "Code catégorie professionnelle" => "C".into(),
                    "Libellé catégorie professionnelle" => "Civil".into(),
                    "Code savoir-faire" => sf_code.into(),
                    "Libellé savoir-faire" => sf.into(),
                    "Code mode exercice" => if own_practice { "L" } else { "S" }.into(),
                    "Libellé mode exercice" => {
                        if own_practice { "Libéral" } else { "Salarié" }.into()
                    }
                    "Numéro FINESS site" if own_practice => String::new(),
                    "Numéro FINESS site" if bad && written % 3 == 2 => "12345678X".into(),
                    "Numéro FINESS site" => finess(dept, site),
                    "Numéro FINESS établissement juridique" if own_practice => String::new(),
                    "Numéro FINESS établissement juridique" => finess(dept, 500_000 + site),
                    "Raison sociale site" if own_practice => {
                        format!("CABINET DU DR {family}")
                    }
                    // Quotes are text in this file, never quoting.
                    "Raison sociale site" => {
                        format!("\"{}\" {}", SAINTS[(site % 10) as usize], city)
                    }
                    "Code postal (coord. structure)" => postal.into(),
                    "Libellé commune (coord. structure)" => city.into(),
                    "Code pays (coord. structure)" => "99000".into(),
                    "Libellé pays (coord. structure)" => "France".into(),
                    "Téléphone (coord. structure)" => "0102030405".into(),
                    "Adresse e-mail (coord. structure)" => {
                        format!("secretariat{site}@etablissement.example")
                    }
                    "Code Département (structure)" => dept.into(),
                    "Autorité d'enregistrement" => "CNOM/CNOM/CNOM".into(),
                    _ => String::new(),
                }
            };
            if bad && written % 5 == 4 {
                // A line cut short (a field count the header does not have).
                write!(out, "8|{number}|8{number}|\r\n")?;
                lines += 1;
            } else {
                write(out, &values)?;
                lines += 1;
            }
        }
    }
    Ok(lines)
}

/// Fields joined by `|`, the line ended by a `|` (as the extraction does) and CRLF.
fn write_bars<'a, W: Write + ?Sized>(
    out: &mut W,
    fields: impl Iterator<Item = &'a str>,
) -> io::Result<()> {
    for f in fields {
        out.write_all(f.as_bytes())?;
        out.write_all(b"|")?;
    }
    out.write_all(b"\r\n")
}

/// Writes FINESS's extraction of establishments, in Windows-1252.
pub fn write_establishments(out: &mut impl Write, o: &Options) -> io::Result<u64> {
    let mut rng = StdRng::seed_from_u64(o.seed ^ 0xF1_4E55);
    let mut lines = 1u64;
    out.write_all(b"finess;etalab;95;2026-12-01\r\n")?;
    let mut line = |out: &mut dyn Write, fields: &[String]| -> io::Result<()> {
        let text = fields.join(";");
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
        out.write_all(&bytes)?;
        out.write_all(b"\r\n")?;
        lines += 1;
        Ok(())
    };
    let structure =
        |finess: &str, name: &str, postal: &str, city: &str, dept: &str, kind: usize| {
            let (long_kind, _) = KINDS[kind];
            vec![
                "structureet".to_string(),
                finess.to_string(),
                String::new(),
                name.chars().take(38).collect::<String>().to_uppercase(),
                name.to_string(),
                String::new(),
                String::new(),
                "12".into(),
                "R".into(),
                "DE L'ÉGLISE".into(),
                String::new(),
                String::new(),
                "056".into(),
                dept.to_string(),
                city.to_string(),
                format!("{postal} {city}"),
                "0102030405".into(),
                String::new(),
                "101".into(),
                long_kind.to_string(),
                "1110".into(),
                long_kind.to_string(),
                String::new(),
                "8610Z".into(),
                "03".into(),
                "ARS établissements Publics de santé dotation globale".into(),
                "1".into(),
                "Etablissement public de santé".into(),
                "1975-01-01".into(),
                "1975-01-01".into(),
                "2024-06-01".into(),
                String::new(),
            ]
        };
    for s in &o.sites {
        let dept = &s.finess[..2];
        line(
            out,
            &structure(&s.finess, &s.name, &s.postal_code, &s.city, dept, 0),
        )?;
    }
    let mut written = o.sites.len() as u64;
    let mut n = 0u64;
    while written < o.establishments {
        n += 1;
        written += 1;
        let (dept, postal, city) = CITIES[rng.gen_range(0..CITIES.len())];
        let kind = rng.gen_range(0..KINDS.len());
        let (_, short) = KINDS[kind];
        let name = format!("{short} {} {city}", SAINTS[(n % 10) as usize]);
        let number = finess(dept, n);
        let mut fields = structure(&number, &name, postal, city, dept, kind);
        if o.bad_lines && n.is_multiple_of(89) {
            fields[1] = "1234567".into();
        }
        line(out, &fields)?;
        // Most establishments have their coordinates on a line of their own.
        if !n.is_multiple_of(3) {
            line(
                out,
                &[
                    "geolocalisation".into(),
                    number,
                    format!("{}.{}", 650_000 + n % 300_000, n % 10),
                    format!("{}.{}", 6_800_000 + n % 500_000, n % 7),
                    "1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,LAMBERT_93".into(),
                    "2024-06-14".into(),
                ],
            )?;
        }
    }
    Ok(lines)
}

/// The professionals' published file name for a date written `AAAAMMJJhhmm`.
pub fn professionals_name(stamp: &str) -> String {
    format!("PS_LibreAcces_Personne_activite_{stamp}.txt")
}

/// FINESS's published file name for a date written `AAAAMMJJhhmm`.
pub fn establishments_name(stamp: &str) -> String {
    let (date, time) = stamp.split_at(8.min(stamp.len()));
    format!("etalab-cs1100507-stock-{date}-{time}.csv")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn generated_numbers_are_valid() {
        for n in [1, 42, 999_999] {
            domain::ids::Rpps::parse(&rpps(n)).unwrap();
            for (dept, _, _) in CITIES {
                domain::ids::Finess::parse(&finess(dept, n)).unwrap();
            }
        }
    }
}
