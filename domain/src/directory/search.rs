//! The public « Annuaire »: establishments found by name, city, postal code or FINESS number,
//! each with its region's support desk, and whether it is on Passerelle. No sign-in: only public
//! data (FINESS is open data; Passerelle's own establishments are named on its sign-in page
//! anyway). Professionals are never listed: the directory of people serves verification only.
//!
//! Matching is by word prefix, without case or accents, every word typed must start a word of the
//! establishment's name, city, postal code or number ("ch st eloi" finds « CH Saint-Éloi »… once
//! "st" is typed as "saint"; abbreviations are not expanded). The longest word goes through the
//! trigram index, the others filter its candidates.

use sqlx::PgPool;

use crate::accounts::Region;
use crate::error::Result;

/// At most this many establishments are shown: a search that finds more asks to be narrowed.
pub const MAX_RESULTS: i64 = 50;
/// Words beyond these are ignored (a pasted paragraph is not a search).
const MAX_WORDS: usize = 6;

/// One establishment found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub finess: String,
    pub name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub category: String,
    /// The region of its department, with the desk to ask for an account.
    pub region: Option<Region>,
    /// One of Passerelle's establishments (open): its professionals sign in here.
    pub on_passerelle: bool,
}

/// The words of a search, folded (lowercase, no accents), longest first.
pub fn words(query: &str) -> Vec<String> {
    let mut words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .map(crate::text::fold)
        .filter(|w| !w.is_empty())
        .take(MAX_WORDS)
        .collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    words.dedup();
    words
}

/// Establishments matching every word of `query`, by name; `more` says others were left out.
pub async fn establishments(pool: &PgPool, query: &str) -> Result<(Vec<Found>, bool)> {
    let words = words(query);
    let Some((first, rest)) = words.split_first() else {
        return Ok((Vec::new(), false));
    };
    // `% word%`: a word of search_text (each is preceded by a space) that starts with `word`.
    let pattern = |w: &String| format!("% {w}%");
    let first = pattern(first);
    let rest: Vec<String> = rest.iter().map(pattern).collect();
    let rows = sqlx::query!(
        r#"WITH found AS (
               SELECT d.finess, d.name, d.street, d.postal_code, d.city, d.category,
                      d.region_code, d.sort_name
               FROM directory_establishments d
               WHERE d.search_text LIKE $1 AND d.search_text LIKE ALL ($2::text[])
               UNION ALL
               -- Passerelle's own establishments that the FINESS file does not have (none
               -- loaded yet, or newer than it).
               SELECT e.finess, e.name, '', '', e.city, '', e.region_code, e.sort_name
               FROM establishments e
               WHERE e.active
                 AND NOT EXISTS (SELECT 1 FROM directory_establishments d WHERE d.finess = e.finess)
                 AND ' ' || regexp_replace(passerelle_fold(e.name || ' ' || e.city || ' ' || e.finess),
                                           '[^a-z0-9]+', ' ', 'g')
                     LIKE ALL ($1 || $2::text[])
               ORDER BY sort_name, finess
               LIMIT $3
           )
           SELECT f.finess AS "finess!", f.name AS "name!", f.street AS "street!",
                  f.postal_code AS "postal_code!", f.city AS "city!", f.category AS "category!",
                  EXISTS (SELECT 1 FROM establishments e WHERE e.finess = f.finess AND e.active)
                      AS "on_passerelle!",
                  r.code AS "region_code?", r.name AS "region_name?",
                  r.agency_name AS "agency_name?", r.agency_url AS "agency_url?",
                  r.support_email AS "support_email?", r.support_phone AS "support_phone?",
                  r.support_hours AS "support_hours?"
           FROM found f LEFT JOIN regions r ON r.code = f.region_code
           ORDER BY f.sort_name, f.finess"#,
        first,
        &rest,
        MAX_RESULTS + 1,
    )
    .fetch_all(pool)
    .await?;
    let more = rows.len() as i64 > MAX_RESULTS;
    let found = rows
        .into_iter()
        .take(MAX_RESULTS as usize)
        .map(|r| Found {
            finess: r.finess,
            name: r.name,
            street: r.street,
            postal_code: r.postal_code,
            city: r.city,
            category: r.category,
            on_passerelle: r.on_passerelle,
            region: match (r.region_code, r.region_name, r.agency_name, r.agency_url) {
                (Some(code), Some(name), Some(agency_name), Some(agency_url)) => Some(Region {
                    code,
                    name,
                    agency_name,
                    agency_url,
                    support_email: r.support_email.unwrap_or_default(),
                    support_phone: r.support_phone.unwrap_or_default(),
                    support_hours: r.support_hours.unwrap_or_default(),
                }),
                _ => None,
            },
        })
        .collect();
    Ok((found, more))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_folded_and_longest_first() {
        assert_eq!(
            words("  Hôpital  Saint-Éloi, 75013 "),
            vec!["hopital", "saint", "75013", "eloi"]
        );
        assert!(words(" - ; ").is_empty());
        assert_eq!(words("a b c d e f g h").len(), MAX_WORDS);
    }
}
