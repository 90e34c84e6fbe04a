//! The national directory in the console: its loads, the extractions waiting in the folder, and
//! the accounts whose RPPS the directory does not have (left since, or never in it). National
//! administrators only: the directory is the whole country's.

use sqlx::PgPool;

use super::authz::{Action, Actor, authorize};
use super::denied;
use crate::audit;
use crate::call::Call;
use crate::directory::load::{self, LoadRecord};
use crate::error::Result;

/// An account the directory does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absent {
    pub user_id: uuid::Uuid,
    pub username: String,
    pub family_name: String,
    pub given_name: String,
    pub rpps: String,
    pub region_code: String,
}

/// Accounts shown at most (the count says how many there are).
const ABSENT_SHOWN: i64 = 200;

/// What the console's page shows.
#[derive(Debug, Clone)]
pub struct Overview {
    pub loads: Vec<LoadRecord>,
    /// `None` while no professionals' file was loaded.
    pub absent: Option<(Vec<Absent>, i64)>,
}

/// Refuses (audited) whoever is not a national administrator.
pub async fn may_load(pool: &PgPool, actor: &Actor, call: Call<'_>) -> Result<()> {
    match authorize(actor, Action::LoadDirectory, None) {
        Ok(()) => Ok(()),
        Err(_) => Err(denied(
            pool,
            actor,
            audit::Action::DirectoryImport,
            Action::LoadDirectory,
            None,
            call,
        )
        .await),
    }
}

pub async fn overview(pool: &PgPool, actor: &Actor, call: Call<'_>) -> Result<Overview> {
    may_load(pool, actor, call).await?;
    let loads = load::recent(pool, 20, call.now).await?;
    let loaded = loads
        .iter()
        .any(|l| l.kind == crate::directory::DirectoryFile::Professionals && l.state == "done");
    let absent = if loaded {
        let rows = sqlx::query!(
            r#"SELECT u.id, u.username, u.family_name, u.given_name, u.rpps AS "rpps!", u.region_code,
                      count(*) OVER () AS "total!"
               FROM users u
               WHERE u.rpps IS NOT NULL AND u.status <> 'disabled'
                 AND NOT EXISTS (SELECT 1 FROM directory_people p WHERE p.national_id = '8' || u.rpps)
               ORDER BY u.region_code, u.family_name, u.given_name, u.id
               LIMIT $1"#,
            ABSENT_SHOWN
        )
        .fetch_all(pool)
        .await?;
        let total = rows.first().map_or(0, |r| r.total);
        Some((
            rows.into_iter()
                .map(|r| Absent {
                    user_id: r.id,
                    username: r.username,
                    family_name: r.family_name,
                    given_name: r.given_name,
                    rpps: r.rpps,
                    region_code: r.region_code,
                })
                .collect(),
            total,
        ))
    } else {
        None
    };
    Ok(Overview { loads, absent })
}
