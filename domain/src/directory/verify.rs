//! An account's RPPS and name checked against the directory loaded: the RPPS must be in it, under
//! the same exercise name (compared without case, accents, hyphens, apostrophes and spaces, by
//! `passerelle_name_key` in the database). Off while no professionals' file was ever loaded: the
//! console says so, and the creation goes on as before.
//!
//! A mismatch refuses the creation unless the desk gives a reason (the directory lags behind the
//! orders' registrations by days): the reason is then written in the creation's audit row.

use serde_json::{Value, json};
use sqlx::PgConnection;

use crate::error::{Error, Result};
use crate::ids::Rpps;
pub use model::directory::Mismatch;

/// What the directory says of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No professionals' file loaded yet: nothing to compare with.
    Off,
    /// The RPPS is in the directory under this name.
    Matches,
    Mismatch(Mismatch),
}

/// The date of the professionals' file in place (its published date, else when it was loaded);
/// `None` while none was loaded: verification is off.
pub async fn in_place_since(pool: &sqlx::PgPool) -> Result<Option<time::OffsetDateTime>> {
    Ok(sqlx::query_scalar!(
        r#"SELECT coalesce(file_date, finished_at) AS "since!" FROM directory_imports
           WHERE file_kind = 'professionals' AND state = 'done'
           ORDER BY finished_at DESC LIMIT 1"#
    )
    .fetch_optional(pool)
    .await?)
}

/// Compares `rpps` and the name typed with the directory.
pub async fn check(
    conn: &mut PgConnection,
    rpps: &Rpps,
    family_name: &str,
    given_name: &str,
) -> Result<Verdict> {
    let row = sqlx::query!(
        r#"SELECT EXISTS (SELECT 1 FROM directory_imports
                          WHERE file_kind = 'professionals' AND state = 'done') AS "loaded!",
                  (SELECT passerelle_name_key(family_name) || ' ' || passerelle_name_key(given_name)
                   FROM directory_people WHERE national_id = '8' || $1) AS found,
                  passerelle_name_key($2) AS "family!", passerelle_name_key($3) AS "given!""#,
        rpps.as_str(),
        family_name,
        given_name,
    )
    .fetch_one(&mut *conn)
    .await?;
    if !row.loaded {
        return Ok(Verdict::Off);
    }
    let Some(found) = row.found else {
        return Ok(Verdict::Mismatch(Mismatch::UnknownRpps));
    };
    Ok(if same_name(&found, &row.family, &row.given) {
        Verdict::Matches
    } else {
        Verdict::Mismatch(Mismatch::NameDiffers)
    })
}

/// An establishment as the FINESS file has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinessEntry {
    pub name: String,
    pub city: String,
    pub postal_code: String,
    pub region_code: Option<String>,
}

/// A FINESS file is loaded (new establishments are checked against it).
pub async fn finess_loaded(conn: &mut PgConnection) -> Result<bool> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM directory_imports
                          WHERE file_kind = 'establishments' AND state = 'done') AS "loaded!""#
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// What the FINESS file loaded says of `finess`: `None` while none is loaded, `Some(None)` when
/// it does not have the number.
pub async fn finess_entry(
    conn: &mut PgConnection,
    finess: &crate::ids::Finess,
) -> Result<Option<Option<FinessEntry>>> {
    if !finess_loaded(conn).await? {
        return Ok(None);
    }
    let entry = sqlx::query_as!(
        FinessEntry,
        "SELECT name, city, postal_code, region_code FROM directory_establishments WHERE finess = $1",
        finess.as_str()
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(Some(entry))
}

/// What the directory says of an RPPS: the exercise name and each activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub family_name: String,
    pub given_name: String,
    pub activities: Vec<SaidActivity>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaidActivity {
    pub profession: String,
    pub specialty: String,
    pub site_finess: Option<String>,
    pub site_name: String,
    pub postal_code: String,
    pub city: String,
}

/// What the directory says of `rpps`: `None` while none is loaded, `Some(None)` when it does
/// not have it.
pub async fn what_it_says(conn: &mut PgConnection, rpps: &Rpps) -> Result<Option<Option<Said>>> {
    let loaded = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM directory_imports
                          WHERE file_kind = 'professionals' AND state = 'done') AS "loaded!""#
    )
    .fetch_one(&mut *conn)
    .await?;
    if !loaded {
        return Ok(None);
    }
    let rows = sqlx::query!(
        r#"SELECT family_name, given_name, profession, specialty, site_finess, site_name,
                  postal_code, city
           FROM directory_activities WHERE national_id = '8' || $1
           ORDER BY site_name, profession, specialty"#,
        rpps.as_str()
    )
    .fetch_all(&mut *conn)
    .await?;
    let Some(first) = rows.first() else {
        return Ok(Some(None));
    };
    Ok(Some(Some(Said {
        family_name: first.family_name.clone(),
        given_name: first.given_name.clone(),
        activities: rows
            .into_iter()
            .map(|r| SaidActivity {
                profession: r.profession,
                specialty: r.specialty,
                site_finess: r.site_finess,
                site_name: r.site_name,
                postal_code: r.postal_code,
                city: r.city,
            })
            .collect(),
    })))
}

/// The linking rule: a card's or a Pro Santé Connect identity's RPPS must be in the directory
/// under the account's name, unless the desk accepted the difference for this account (its
/// `directory_exception`). `None` when the link may be made.
pub async fn refuses_link(
    conn: &mut PgConnection,
    user_id: uuid::Uuid,
    rpps: &Rpps,
    family_name: &str,
    given_name: &str,
) -> Result<Option<Mismatch>> {
    let Verdict::Mismatch(m) = check(conn, rpps, family_name, given_name).await? else {
        return Ok(None);
    };
    let excepted = sqlx::query_scalar!(
        "SELECT directory_exception FROM users WHERE id = $1",
        user_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .flatten()
    .is_some();
    Ok((!excepted).then_some(m))
}

/// One name as the directory has it, when it differs from the account's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    pub mismatch: Mismatch,
    /// The directory's exercise name (`NOM Prénom`) for a name that differs.
    pub directory_name: Option<String>,
}

/// [`check`] for many accounts in one query (the CSV import): `(rpps, family, given)` each;
/// returns the disagreements by RPPS, or `None` while no directory is loaded.
pub async fn check_many(
    conn: &mut PgConnection,
    accounts: &[(&Rpps, &str, &str)],
) -> Result<Option<std::collections::HashMap<String, Disagreement>>> {
    let loaded = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM directory_imports
                          WHERE file_kind = 'professionals' AND state = 'done') AS "loaded!""#
    )
    .fetch_one(&mut *conn)
    .await?;
    if !loaded {
        return Ok(None);
    }
    let rpps: Vec<String> = accounts.iter().map(|a| a.0.as_str().to_string()).collect();
    let families: Vec<String> = accounts.iter().map(|a| a.1.to_string()).collect();
    let givens: Vec<String> = accounts.iter().map(|a| a.2.to_string()).collect();
    let rows = sqlx::query!(
        r#"SELECT a.rpps AS "rpps!",
                  passerelle_name_key(p.family_name) || ' ' || passerelle_name_key(p.given_name) AS "found?",
                  p.family_name AS "found_family?",
                  p.given_name AS "found_given?",
                  passerelle_name_key(a.family) AS "family!", passerelle_name_key(a.given) AS "given!"
           FROM unnest($1::text[], $2::text[], $3::text[]) AS a(rpps, family, given)
           LEFT JOIN directory_people p ON p.national_id = '8' || a.rpps"#,
        &rpps,
        &families,
        &givens,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(
        rows.into_iter()
            .filter_map(|r| {
                let disagreement = match &r.found {
                    None => Disagreement {
                        mismatch: Mismatch::UnknownRpps,
                        directory_name: None,
                    },
                    Some(found) if same_name(found, &r.family, &r.given) => return None,
                    Some(_) => Disagreement {
                        mismatch: Mismatch::NameDiffers,
                        directory_name: Some(format!(
                            "{} {}",
                            r.found_family.unwrap_or_default(),
                            r.found_given.unwrap_or_default()
                        )),
                    },
                };
                Some((r.rpps, disagreement))
            })
            .collect(),
    ))
}

impl Said {
    /// The rule of [`check`] on names already read: the directory's exercise name against the
    /// account's (folded the same way: case, accents and all but letters and digits).
    pub fn names_match(&self, family_name: &str, given_name: &str) -> bool {
        use crate::text::fold;
        let key = format!("{} {}", fold(&self.family_name), fold(&self.given_name));
        same_name(&key, &fold(family_name), &fold(given_name))
    }
}

/// The directory's key (`family given`, each folded to letters and digits) against the typed
/// names. The given name may be the first of compound ones on either side ("Marie" for
/// "Marie-Claire"); the family name must be the same.
fn same_name(found: &str, family: &str, given: &str) -> bool {
    let (found_family, found_given) = found.split_once(' ').unwrap_or((found, ""));
    found_family == family
        && (found_given == given
            || (!given.is_empty() && found_given.starts_with(given))
            || (!found_given.is_empty() && given.starts_with(found_given)))
}

/// Applies the rule of creation: a mismatch without a reason is refused. Returns what the audit
/// row says of the verification, and the reason when it accepts a mismatch (kept on the account:
/// its card or PSC linking is not refused then either).
pub fn settle(verdict: &Verdict, override_reason: Option<&str>) -> Result<(Value, Option<String>)> {
    let reason = override_reason.map(str::trim).filter(|r| !r.is_empty());
    match (verdict, reason) {
        (Verdict::Off, _) => Ok((
            json!({ "verified": false, "directory": "not_loaded" }),
            None,
        )),
        (Verdict::Matches, _) => Ok((json!({ "verified": true }), None)),
        (Verdict::Mismatch(m), None) => Err(Error::DirectoryMismatch(*m)),
        (Verdict::Mismatch(m), Some(reason)) => {
            // Bounded: a reason is a sentence, not a document.
            let reason: String = reason.chars().take(500).collect();
            Ok((
                json!({ "verified": false, "mismatch": m, "override_reason": reason }),
                Some(reason),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_names_may_be_the_first_of_compound_ones() {
        assert!(same_name("legoffhelias anne", "legoffhelias", "anne"));
        assert!(same_name("martin marieclaire", "martin", "marie"));
        assert!(same_name("martin marie", "martin", "marieclaire"));
        assert!(!same_name("martin marie", "martine", "marie"));
        assert!(!same_name("martin marie", "martin", "anne"));
        assert!(!same_name("martin marie", "martin", ""));
    }

    #[test]
    fn a_mismatch_needs_a_reason() {
        let m = Verdict::Mismatch(Mismatch::NameDiffers);
        assert!(matches!(
            settle(&m, None),
            Err(Error::DirectoryMismatch(Mismatch::NameDiffers))
        ));
        assert!(settle(&m, Some("  ")).is_err());
        let (v, kept) = settle(&m, Some("Inscrite à l'Ordre hier")).unwrap();
        assert_eq!(v["override_reason"], "Inscrite à l'Ordre hier");
        assert_eq!(kept.as_deref(), Some("Inscrite à l'Ordre hier"));
        let (off, none) = settle(&Verdict::Off, None).unwrap();
        assert_eq!(off["directory"], "not_loaded");
        assert_eq!(none, None);
    }
}
