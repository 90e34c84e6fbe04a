//! Establishments in the console: list, create, edit, deactivate, members.

use serde_json::json;
use uuid::Uuid;

use super::authz::{Action, Actor, authorize};
use super::{Page, Target, denied, event, like_patterns, page, scope_or_deny};
use crate::accounts::UserStatus;
use crate::audit::{self, Outcome};
use crate::auth::Portal;
use crate::call::Call;
use crate::error::{Error, Result};
use crate::ids::{Finess, RegionCode, Username};

#[derive(Debug, Clone)]
pub struct EstablishmentRow {
    pub id: Uuid,
    pub finess: Finess,
    pub name: String,
    pub city: String,
    pub region_code: RegionCode,
    pub active: bool,
    pub members: i64,
    pub sort_name: String,
}

pub const PAGE_SIZE: usize = 50;

fn target(finess: &str, name: &str, region: &str) -> Target {
    Target {
        kind: "establishment",
        id: finess.to_string(),
        label: name.to_string(),
        region: Some(region.to_string()),
    }
}

/// The establishments the actor may see, by name; `query` matches name, city or FINESS.
pub async fn list(
    portal: &Portal,
    actor: &Actor,
    query: &str,
    region: Option<&str>,
    after: Option<&str>,
    call: Call<'_>,
) -> Result<Page<EstablishmentRow>> {
    let name = audit::Action::AdminEstablishmentList;
    let scope = scope_or_deny(&portal.pool, actor, name, Action::ViewEstablishments, call).await?;
    if let Some(r) = region
        && !scope.contains(r)
    {
        let action = Action::ViewEstablishments;
        return Err(denied(&portal.pool, actor, name, action, None, call).await);
    }
    let words = like_patterns(query);
    let (after_name, after_id) = match after.map(|c| c.split_once('~')) {
        Some(Some((id, name))) => (
            Some(name.to_string()),
            Some(Uuid::parse_str(id).map_err(|_| Error::InvalidInput {
                field: "cursor",
                reason: crate::ids::IdError::Shape,
            })?),
        ),
        Some(None) => {
            return Err(Error::InvalidInput {
                field: "cursor",
                reason: crate::ids::IdError::Shape,
            });
        }
        None => (None, None),
    };
    let rows = sqlx::query_as!(
        EstablishmentRow,
        r#"SELECT e.id, e.finess AS "finess: _", e.name, e.city, e.region_code AS "region_code: _", e.active, e.sort_name AS "sort_name!",
                  (SELECT count(*) FROM memberships m WHERE m.establishment_id = e.id) AS "members!"
           FROM establishments e
           WHERE ($1::text[] IS NULL OR e.region_code = ANY($1))
             AND ($6::text IS NULL OR e.region_code = $6)
             AND passerelle_fold(e.name || ' ' || e.city || ' ' || e.finess)
                 LIKE ALL (SELECT passerelle_fold(w) FROM unnest($2::text[]) w)
             AND ($3::text IS NULL OR (e.sort_name, e.id) > ($3, $4))
           ORDER BY e.sort_name, e.id
           LIMIT $5"#,
        scope.regions(),
        &words,
        after_name,
        after_id,
        (PAGE_SIZE + 1) as i64,
        region
    )
    .fetch_all(&portal.pool)
    .await?;
    Ok(page(rows, PAGE_SIZE, |r| {
        format!("{}~{}", r.id, r.sort_name)
    }))
}

/// The active establishments of `regions` (all when `None`), for the console's pickers.
pub async fn choices(
    portal: &Portal,
    regions: Option<&[String]>,
) -> Result<Vec<crate::accounts::Establishment>> {
    Ok(sqlx::query_as!(
        crate::accounts::Establishment,
        r#"SELECT id, finess AS "finess: _", name, city, region_code AS "region_code: _" FROM establishments
         WHERE active AND ($1::text[] IS NULL OR region_code = ANY($1))
         ORDER BY region_code, sort_name, id LIMIT 1000"#,
        regions
    )
    .fetch_all(&portal.pool)
    .await?)
}

#[derive(Debug, Clone)]
pub struct Member {
    pub id: Uuid,
    pub username: Username,
    pub family_name: String,
    pub given_name: String,
    pub status: UserStatus,
}

#[derive(Debug, Clone)]
pub struct EstablishmentDetail {
    pub establishment: EstablishmentRow,
    pub members: Vec<Member>,
}

pub async fn detail(
    portal: &Portal,
    actor: &Actor,
    finess: &Finess,
    call: Call<'_>,
) -> Result<EstablishmentDetail> {
    let e = sqlx::query_as!(
        EstablishmentRow,
        r#"SELECT e.id, e.finess AS "finess: _", e.name, e.city, e.region_code AS "region_code: _", e.active, e.sort_name AS "sort_name!",
                  (SELECT count(*) FROM memberships m WHERE m.establishment_id = e.id) AS "members!"
           FROM establishments e WHERE e.finess = $1"#,
        finess.as_str()
    )
    .fetch_optional(&portal.pool)
    .await?
    .ok_or(Error::NotFound)?;
    if authorize(
        actor,
        Action::ViewEstablishments,
        Some(e.region_code.as_str()),
    )
    .is_err()
    {
        return Err(denied(
            &portal.pool,
            actor,
            audit::Action::AdminEstablishmentView,
            Action::ViewEstablishments,
            Some(&target(e.finess.as_str(), &e.name, e.region_code.as_str())),
            call,
        )
        .await);
    }
    let members = sqlx::query_as!(
        Member,
        r#"SELECT u.id, u.username AS "username: _", u.family_name, u.given_name, u.status AS "status: UserStatus"
           FROM memberships m JOIN users u ON u.id = m.user_id
           WHERE m.establishment_id = $1 ORDER BY u.sort_name, u.id LIMIT 500"#,
        e.id
    )
    .fetch_all(&portal.pool)
    .await?;
    Ok(EstablishmentDetail {
        establishment: e,
        members,
    })
}

fn check_text(field: &'static str, value: &str, required: bool) -> Result<()> {
    let n = value.trim().chars().count();
    if (required && n == 0) || n > 200 || value.chars().any(char::is_control) {
        return Err(Error::InvalidInput {
            field,
            reason: crate::ids::IdError::Shape,
        });
    }
    Ok(())
}

/// What the console's establishment forms carry.
#[derive(Debug, Clone)]
pub struct Fields {
    pub name: String,
    pub city: String,
    pub active: bool,
}

/// Creates an establishment. Once a FINESS file is loaded, a number it does not have is refused
/// unless `directory_override` says why (a FINESS registration newer than the file): the reason
/// goes into the audit row.
pub async fn create(
    portal: &Portal,
    actor: &Actor,
    finess: &Finess,
    region: &RegionCode,
    fields: &Fields,
    directory_override: Option<&str>,
    call: Call<'_>,
) -> Result<Uuid> {
    let Call { now, .. } = call;
    let (name, city) = (fields.name.as_str(), fields.city.as_str());
    check_text("name", name, true)?;
    check_text("city", city, false)?;
    let t = target(finess.as_str(), name.trim(), region.as_str());
    if authorize(actor, Action::ManageEstablishments, Some(region.as_str())).is_err() {
        return Err(denied(
            &portal.pool,
            actor,
            audit::Action::EstablishmentCreate,
            Action::ManageEstablishments,
            Some(&t),
            call,
        )
        .await);
    }
    finess
        .check_region(region)
        .map_err(|reason| Error::InvalidInput {
            field: "finess",
            reason,
        })?;
    let mut tx = portal.pool.begin().await?;
    let reason = directory_override
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| r.chars().take(500).collect::<String>());
    let directory = match crate::directory::verify::finess_entry(&mut tx, finess).await? {
        None => json!({ "verified": false, "directory": "not_loaded" }),
        Some(Some(_)) => json!({ "verified": true }),
        Some(None) => match &reason {
            None => {
                return Err(Error::DirectoryMismatch(
                    crate::directory::verify::Mismatch::UnknownFiness,
                ));
            }
            Some(reason) => json!({
                "verified": false,
                "mismatch": crate::directory::verify::Mismatch::UnknownFiness,
                "override_reason": reason,
            }),
        },
    };
    let id =
        crate::accounts::create_establishment(&mut tx, finess, name, city, region, now).await?;
    audit::record(
        &mut tx,
        event(
            actor,
            audit::Action::EstablishmentCreate,
            Outcome::Success,
            Some(&t),
            json!({
                "after": { "finess": finess.as_str(), "name": name.trim(), "city": city.trim(), "active": true },
                "directory": directory,
            }),
        ),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Renames, moves to another city, deactivates or reactivates. A deactivated establishment
/// disappears from its members' chooser; the memberships are kept for a reactivation.
pub async fn edit(
    portal: &Portal,
    actor: &Actor,
    finess: &Finess,
    fields: &Fields,
    call: Call<'_>,
) -> Result<()> {
    let Call { now, .. } = call;
    let (name, city, active) = (fields.name.as_str(), fields.city.as_str(), fields.active);
    check_text("name", name, true)?;
    check_text("city", city, false)?;
    let mut tx = portal.pool.begin().await?;
    let before = sqlx::query!(
        "SELECT id, name, city, region_code, active FROM establishments WHERE finess = $1 FOR UPDATE",
        finess.as_str()
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound)?;
    let t = target(finess.as_str(), &before.name, &before.region_code);
    if authorize(
        actor,
        Action::ManageEstablishments,
        Some(&before.region_code),
    )
    .is_err()
    {
        tx.rollback().await?;
        return Err(denied(
            &portal.pool,
            actor,
            audit::Action::EstablishmentEdit,
            Action::ManageEstablishments,
            Some(&t),
            call,
        )
        .await);
    }
    sqlx::query!(
        "UPDATE establishments SET name = $2, city = $3, active = $4, updated_at = $5 WHERE id = $1",
        before.id,
        name.trim(),
        city.trim(),
        active,
        now
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        event(
            actor,
            audit::Action::EstablishmentEdit,
            Outcome::Success,
            Some(&t),
            json!({
                "before": { "name": before.name, "city": before.city, "active": before.active },
                "after": { "name": name.trim(), "city": city.trim(), "active": active },
            }),
        ),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
