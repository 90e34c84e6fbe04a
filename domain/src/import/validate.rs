//! Validating the rows: first each row alone (the newtypes, pure), then the file as a whole and
//! against the database (duplicates, establishments, existing accounts), with one query per kind
//! of record rather than one per row.
//!
//! Natural keys: the RPPS when the row has one, else the username. A row matching an account of
//! the import's region updates it (e-mail, names, an RPPS it lacked, memberships and the `support`
//! role it lacks) or leaves it unchanged; nothing is ever removed. E-mail addresses are not keys:
//! the schema lets a practice's secretaries share one, so duplicates are not flagged.

use std::collections::{BTreeMap, HashMap};

use sqlx::PgConnection;
use uuid::Uuid;

use super::read::{Column, RawRow};
use crate::accounts::AdminRole;
use crate::admin::authz::{Action, Actor, authorize_on_user};
use crate::error::Result;
use crate::ids::{Email, Finess, IdError, RegionCode, Rpps, Username};

/// Progress is reported every this many rows.
const PROGRESS_STEP: usize = 500;

pub use model::import::{MAX_QUOTED, Problem};

/// A problem found in `column` (the template's header names it).
fn problem(line: u64, column: Option<Column>, value: &str, message: impl Into<String>) -> Problem {
    Problem::new(line, column.map(Column::header), value, message)
}

/// A row whose cells are each valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub line: u64,
    pub username: Username,
    pub email: Email,
    pub family_name: String,
    pub given_name: String,
    pub rpps: Option<Rpps>,
    /// Without repeats, in the file's order.
    pub establishments: Vec<Finess>,
    /// The `role` cell says `support`: the account is made a support desk of the region.
    pub support: bool,
}

/// Checks each cell of `raw` on its own (no database).
pub fn check_row(raw: &RawRow) -> std::result::Result<ImportRow, Vec<Problem>> {
    let line = raw.line;
    let mut problems = Vec::new();
    let report = |problems: &mut Vec<Problem>, column: Column, message: &str| {
        problems.push(problem(line, Some(column), raw.get(column), message));
    };
    let present = |problems: &mut Vec<Problem>, column: Column| {
        let empty = raw.get(column).is_empty();
        if empty {
            problems.push(problem(line, Some(column), "", "Valeur obligatoire"));
        }
        !empty
    };

    let username = present(&mut problems, Column::Username)
        .then(|| Username::parse(raw.get(Column::Username)).ok())
        .flatten();
    if username.is_none() && !raw.get(Column::Username).is_empty() {
        report(
            &mut problems,
            Column::Username,
            "Identifiant invalide : 3 à 64 caractères parmi a-z, 0-9, « . », « _ », « - », \
             commençant et finissant par une lettre ou un chiffre",
        );
    }
    let email = present(&mut problems, Column::Email)
        .then(|| Email::parse(raw.get(Column::Email)).ok())
        .flatten();
    if email.is_none() && !raw.get(Column::Email).is_empty() {
        report(
            &mut problems,
            Column::Email,
            "Adresse électronique invalide",
        );
    }
    let mut names = [None, None];
    for (slot, (column, message)) in names.iter_mut().zip([
        (
            Column::FamilyName,
            "Nom invalide : 100 caractères au plus, sans caractère de contrôle",
        ),
        (
            Column::GivenName,
            "Prénom invalide : 100 caractères au plus, sans caractère de contrôle",
        ),
    ]) {
        if !present(&mut problems, column) {
            continue;
        }
        let value = raw.get(column);
        if crate::admin::users::check_name(column.header(), value).is_err() {
            report(&mut problems, column, message);
        } else {
            *slot = Some(value.to_string());
        }
    }
    let [family_name, given_name] = names;
    let rpps = match raw.get(Column::Rpps) {
        "" => Some(None),
        value => match Rpps::parse(value) {
            Ok(r) => Some(Some(r)),
            Err(IdError::CheckDigit) => {
                report(&mut problems, Column::Rpps, "Clé de contrôle RPPS invalide");
                None
            }
            Err(IdError::Shape | IdError::OtherRegion) => {
                report(
                    &mut problems,
                    Column::Rpps,
                    "RPPS invalide : 11 chiffres attendus",
                );
                None
            }
        },
    };
    let mut establishments: Vec<Finess> = Vec::new();
    for part in raw
        .get(Column::Finess)
        .split(|c: char| c.is_whitespace() || matches!(c, '|' | ',' | ';'))
        .filter(|p| !p.is_empty())
    {
        match Finess::parse(part) {
            Ok(f) if !establishments.contains(&f) => establishments.push(f),
            Ok(_) => {}
            Err(e) => {
                let message = match e {
                    IdError::CheckDigit => "Clé de contrôle FINESS invalide",
                    IdError::Shape | IdError::OtherRegion => {
                        "FINESS invalide : 9 caractères attendus"
                    }
                };
                problems.push(problem(line, Some(Column::Finess), part, message));
            }
        }
    }
    let support = super::parse_role(raw.get(Column::Role));
    if support.is_none() {
        report(
            &mut problems,
            Column::Role,
            "Rôle inconnu : laisser vide, ou « support » pour un guichet d'assistance",
        );
    }
    if raw.extra_cells {
        problems.push(problem(
            line,
            None,
            "",
            "Plus de cellules que de colonnes (un séparateur en trop ?)",
        ));
    }
    match (username, email, family_name, given_name, rpps, support) {
        (
            Some(username),
            Some(email),
            Some(family_name),
            Some(given_name),
            Some(rpps),
            Some(support),
        ) if problems.is_empty() => Ok(ImportRow {
            line,
            username,
            email,
            family_name,
            given_name,
            rpps,
            establishments,
            support,
        }),
        _ => Err(problems),
    }
}

pub use model::import::RowKind;

/// The account a row matched, as it is now.
#[derive(Debug, Clone)]
pub struct Existing {
    pub id: Uuid,
    pub username: Username,
    pub email: Email,
    pub family_name: String,
    pub given_name: String,
    pub rpps: Option<Rpps>,
    pub region_code: RegionCode,
    pub version: i32,
}

/// A valid row and what it changes.
#[derive(Debug, Clone)]
pub struct Planned {
    pub row: ImportRow,
    pub kind: RowKind,
    pub existing: Option<Existing>,
    /// Establishments to attach (all listed ones for a new account, the missing ones otherwise).
    pub add_memberships: Vec<(Uuid, Finess)>,
    /// The support role to grant (the row asks for it and the account lacks it).
    pub grant_support: bool,
}

impl Planned {
    /// Whether the row changes the stored account's e-mail, names or (missing) RPPS; false for a
    /// new account.
    pub fn identity_changed(&self) -> bool {
        self.existing.as_ref().is_some_and(|e| {
            e.email != self.row.email.as_str()
                || e.family_name != self.row.family_name
                || e.given_name != self.row.given_name
                || (e.rpps.is_none() && self.row.rpps.is_some())
        })
    }
}

/// Every row, checked.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub planned: Vec<Planned>,
    /// By line, then in the order found.
    pub problems: Vec<Problem>,
    pub rows_in_error: usize,
}

struct EstablishmentRow {
    id: Uuid,
    finess: String,
    region_code: String,
    active: bool,
}

/// A row that the national directory contradicts. The desk cannot override it in a file: such an
/// account is created in the console, with a reason the audit log keeps.
fn directory_problem(
    row: &ImportRow,
    rpps: &Rpps,
    d: &crate::directory::verify::Disagreement,
) -> Problem {
    let line = row.line;
    use crate::directory::verify::Mismatch;
    match (&d.mismatch, &d.directory_name) {
        (Mismatch::NameDiffers, Some(name)) => problem(
            line,
            Some(Column::FamilyName),
            &row.family_name,
            format!(
                "Nom différent de celui de l'annuaire national pour ce RPPS (« {name} ») : \
                 corrigez la ligne, ou créez ce compte dans la console avec un motif"
            ),
        ),
        _ => problem(
            line,
            Some(Column::Rpps),
            rpps.as_str(),
            "RPPS absent de l'annuaire national : vérifiez-le, ou créez ce compte dans la \
             console avec un motif",
        ),
    }
}

/// Validates `rows` for an import into `region` by `actor`; `lock` takes the matched accounts
/// `FOR UPDATE` (the commit, so that a console edit cannot slip between reading and writing).
pub(crate) async fn plan(
    conn: &mut PgConnection,
    actor: &Actor,
    region: &RegionCode,
    rows: &[RawRow],
    lock: bool,
    progress: &(dyn Fn(usize, usize) + Send + Sync),
) -> Result<Plan> {
    let mut errors: BTreeMap<u64, Vec<Problem>> = BTreeMap::new();
    let mut valid = Vec::new();
    for raw in rows {
        match check_row(raw) {
            Ok(row) => valid.push(row),
            Err(p) => {
                errors.insert(raw.line, p);
            }
        }
    }

    // Duplicates inside the file: the first occurrence stands, the later ones are errors.
    let mut first_username: HashMap<String, u64> = HashMap::new();
    let mut first_rpps: HashMap<String, u64> = HashMap::new();
    valid.retain(|row| {
        let mut problems = Vec::new();
        if let Some(&first) = first_username.get(row.username.as_str()) {
            problems.push(problem(
                row.line,
                Some(Column::Username),
                row.username.as_str(),
                format!("Doublon dans le fichier (ligne {first})"),
            ));
        }
        if let Some(rpps) = &row.rpps
            && let Some(&first) = first_rpps.get(rpps.as_str())
        {
            problems.push(problem(
                row.line,
                Some(Column::Rpps),
                rpps.as_str(),
                format!("Doublon dans le fichier (ligne {first})"),
            ));
        }
        first_username
            .entry(row.username.as_str().to_string())
            .or_insert(row.line);
        if let Some(rpps) = &row.rpps {
            first_rpps
                .entry(rpps.as_str().to_string())
                .or_insert(row.line);
        }
        let ok = problems.is_empty();
        if !ok {
            errors.entry(row.line).or_default().extend(problems);
        }
        ok
    });

    // Establishments: known, open and of the import's region.
    let mut finess: Vec<String> = valid
        .iter()
        .flat_map(|r| r.establishments.iter().map(|f| f.as_str().to_string()))
        .collect();
    finess.sort();
    finess.dedup();
    let establishments: HashMap<String, EstablishmentRow> = sqlx::query_as!(
        EstablishmentRow,
        r#"SELECT id, finess AS "finess: _", region_code AS "region_code: _", active FROM establishments WHERE finess = ANY($1)"#,
        &finess
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|e| (e.finess.clone(), e))
    .collect();

    // Accounts with the same username or RPPS, wherever they are: both are unique nationally.
    let usernames: Vec<String> = valid
        .iter()
        .map(|r| r.username.as_str().to_string())
        .collect();
    let rpps: Vec<String> = valid
        .iter()
        .filter_map(|r| r.rpps.as_ref().map(|r| r.as_str().to_string()))
        .collect();
    let accounts = if lock {
        sqlx::query_as!(
            Existing,
            r#"SELECT id, username AS "username: _", email AS "email: _", family_name, given_name,
                    rpps AS "rpps: _", region_code AS "region_code: _", version
             FROM users WHERE username = ANY($1) OR rpps = ANY($2) FOR UPDATE"#,
            &usernames,
            &rpps
        )
        .fetch_all(&mut *conn)
        .await?
    } else {
        sqlx::query_as!(
            Existing,
            r#"SELECT id, username AS "username: _", email AS "email: _", family_name, given_name,
                    rpps AS "rpps: _", region_code AS "region_code: _", version
             FROM users WHERE username = ANY($1) OR rpps = ANY($2)"#,
            &usernames,
            &rpps
        )
        .fetch_all(&mut *conn)
        .await?
    };
    let ids: Vec<Uuid> = accounts.iter().map(|a| a.id).collect();
    let mut memberships: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for m in sqlx::query!(
        "SELECT user_id, establishment_id FROM memberships WHERE user_id = ANY($1)",
        &ids
    )
    .fetch_all(&mut *conn)
    .await?
    {
        memberships
            .entry(m.user_id)
            .or_default()
            .push(m.establishment_id);
    }
    let roles = crate::accounts::roles_of_many(conn, &ids).await?;
    let by_username: HashMap<&str, &Existing> =
        accounts.iter().map(|a| (a.username.as_str(), a)).collect();
    let by_rpps: HashMap<&str, &Existing> = accounts
        .iter()
        .filter_map(|a| a.rpps.as_ref().map(|r| (r.as_str(), a)))
        .collect();

    // The national directory, when loaded: each RPPS in it, under the row's name.
    let named: Vec<(&Rpps, &str, &str)> = valid
        .iter()
        .filter_map(|r| {
            r.rpps
                .as_ref()
                .map(|rpps| (rpps, r.family_name.as_str(), r.given_name.as_str()))
        })
        .collect();
    let directory = crate::directory::verify::check_many(conn, &named).await?;

    let total = valid.len();
    let mut claimed: HashMap<Uuid, u64> = HashMap::new();
    let mut planned = Vec::new();
    for (done, row) in valid.into_iter().enumerate() {
        if done % PROGRESS_STEP == 0 {
            progress(done, total);
        }
        let mut problems = Vec::new();
        let mut add_memberships = Vec::new();
        for f in &row.establishments {
            let message = match establishments.get(f.as_str()) {
                None => Some("Établissement inconnu"),
                Some(e) if e.region_code != region.as_str() => {
                    Some("Établissement d'une autre région")
                }
                Some(e) if !e.active => Some("Établissement fermé"),
                Some(e) => {
                    add_memberships.push((e.id, f.clone()));
                    None
                }
            };
            if let Some(message) = message {
                problems.push(problem(row.line, Some(Column::Finess), f.as_str(), message));
            }
        }

        if let (Some(rpps), Some(directory)) = (&row.rpps, &directory)
            && let Some(d) = directory.get(rpps.as_str())
        {
            problems.push(directory_problem(&row, rpps, d));
        }

        let found_by_rpps = row.rpps.as_ref().and_then(|r| by_rpps.get(r.as_str()));
        let found_by_username = by_username.get(row.username.as_str());
        let existing: Option<&Existing> = match (found_by_rpps, found_by_username) {
            (Some(a), _) if a.username != row.username.as_str() => {
                problems.push(problem(
                    row.line,
                    Some(Column::Rpps),
                    row.rpps.as_ref().map_or("", Rpps::as_str),
                    format!("RPPS déjà utilisé par le compte {}", a.username),
                ));
                None
            }
            (Some(a), _) => Some(a),
            (None, Some(b)) if row.rpps.is_some() && b.rpps.is_some() => {
                problems.push(problem(
                    row.line,
                    Some(Column::Username),
                    row.username.as_str(),
                    "Identifiant déjà utilisé par le compte d'un autre RPPS",
                ));
                None
            }
            (None, Some(b)) => Some(b),
            (None, None) => None,
        };
        if let Some(a) = existing {
            if a.region_code != region.as_str() {
                problems.push(problem(
                    row.line,
                    Some(Column::Username),
                    row.username.as_str(),
                    format!("Compte existant dans une autre région ({})", a.region_code),
                ));
            }
            if let Some(&first) = claimed.get(&a.id) {
                problems.push(problem(
                    row.line,
                    None,
                    row.username.as_str(),
                    format!("Doublon dans le fichier (ligne {first}) : même compte"),
                ));
            }
            claimed.entry(a.id).or_insert(row.line);
        }

        let (kind, grant_support) = match existing {
            None => (RowKind::Create, row.support),
            Some(a) => {
                let held = memberships.get(&a.id).cloned().unwrap_or_default();
                add_memberships.retain(|(id, _)| !held.contains(id));
                let account_roles = roles.get(&a.id).cloned().unwrap_or_default();
                let has_support = account_roles.iter().any(|g| {
                    g.role == AdminRole::Support && g.region_code.as_ref() == Some(region)
                });
                let grant_support = row.support && !has_support;
                let planned = Planned {
                    row: row.clone(),
                    kind: RowKind::Unchanged,
                    existing: Some(a.clone()),
                    add_memberships: add_memberships.clone(),
                    grant_support,
                };
                let update =
                    planned.identity_changed() || !add_memberships.is_empty() || grant_support;
                // Changing an administrator's e-mail is taking their account over: the import
                // may do it only where the console would (`authorize_on_user`).
                if update
                    && problems.is_empty()
                    && authorize_on_user(
                        actor,
                        Action::EditUser,
                        a.region_code.as_str(),
                        &account_roles,
                    )
                    .is_err()
                {
                    problems.push(problem(
                        row.line,
                        Some(Column::Username),
                        row.username.as_str(),
                        "Compte d'administrateur : modification réservée à un administrateur de rang supérieur",
                    ));
                }
                (
                    if update {
                        RowKind::Update
                    } else {
                        RowKind::Unchanged
                    },
                    grant_support,
                )
            }
        };
        if problems.is_empty() {
            planned.push(Planned {
                row,
                kind,
                existing: existing.cloned(),
                add_memberships,
                grant_support,
            });
        } else {
            errors.entry(row.line).or_default().extend(problems);
        }
    }
    progress(total, total);

    let rows_in_error = errors.len();
    Ok(Plan {
        planned,
        problems: errors.into_values().flatten().collect(),
        rows_in_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn raw(cells: [&str; 7]) -> RawRow {
        RawRow::new(7, cells.map(str::to_string))
    }

    fn rpps() -> String {
        let body = "1000034567";
        format!(
            "{body}{}",
            crate::ids::luhn_check_digit(body).unwrap_or('0')
        )
    }

    #[test]
    fn a_good_row_becomes_typed() {
        let r = rpps();
        let row = check_row(&raw([
            "H.Leclerc",
            "h@Ex.FR",
            "Leclerc",
            "Hélène",
            &r,
            "750712184 | 750712184",
            "Support",
        ]))
        .unwrap();
        assert_eq!(row.username.as_str(), "h.leclerc");
        assert_eq!(row.email.as_str(), "h@ex.fr");
        assert_eq!(row.rpps.as_ref().map(Rpps::as_str), Some(r.as_str()));
        assert_eq!(row.establishments.len(), 1);
        assert!(row.support);
    }

    #[test]
    fn every_bad_cell_is_reported_with_its_column() {
        let good = rpps();
        let last = good
            .chars()
            .last()
            .and_then(|c| c.to_digit(10))
            .unwrap_or(0);
        let wrong_rpps = format!("{}{}", &good[..10], (last + 1) % 10);
        let problems = check_row(&raw([
            "-x",
            "pas-une-adresse",
            "",
            "Jean",
            &wrong_rpps,
            "75071218X 750712185",
            "chef",
        ]))
        .unwrap_err();
        let got: Vec<(Option<&str>, &str, &str)> = problems
            .iter()
            .map(|p| (p.column, p.value.as_str(), p.message_fr.as_str()))
            .collect();
        assert_eq!(got.len(), 7, "{got:?}");
        assert!(got.contains(&(
            Some("courriel"),
            "pas-une-adresse",
            "Adresse électronique invalide"
        )));
        assert!(got.contains(&(Some("nom"), "", "Valeur obligatoire")));
        assert!(got.contains(&(
            Some("rpps"),
            wrong_rpps.as_str(),
            "Clé de contrôle RPPS invalide"
        )));
        assert!(got.contains(&(
            Some("finess"),
            "750712185",
            "Clé de contrôle FINESS invalide"
        )));
        assert!(got.contains(&(
            Some("finess"),
            "75071218X",
            "FINESS invalide : 9 caractères attendus"
        )));
        assert!(problems.iter().all(|p| p.line == 7));
    }

    proptest! {
        #[test]
        fn reading_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = super::super::read::read(&bytes, &super::super::Limits::default());
        }

        #[test]
        fn reading_csv_like_text_never_panics(text in "[a-z;,\"\r\n é\u{feff}]{0,300}") {
            let with_header = format!("identifiant;courriel;nom;prenom;rpps;finess;role\r\n{text}");
            if let Ok(sheet) = super::super::read::read(with_header.as_bytes(), &super::super::Limits::default()) {
                for row in &sheet.rows {
                    let _ = check_row(row);
                }
            }
        }

        #[test]
        fn checking_arbitrary_cells_never_panics(cells in proptest::array::uniform7(any::<String>())) {
            let row = RawRow::new(2, cells);
            if let Err(problems) = check_row(&row) {
                prop_assert!(!problems.is_empty());
                prop_assert!(problems.iter().all(|p| p.value.chars().count() <= MAX_QUOTED + 1));
            }
        }
    }
}
