//! « Actualités » in the console: regional administrators write the items of their region,
//! national administrators those of every region and the national ones (`Action::ManageNews`,
//! asked with the item's region; a national item asks for every region). An item is saved as a
//! draft, previewed on its page, then published (or withdrawn, or deleted). Every change is
//! audited with the item's values.

use serde_json::json;
use sqlx::PgConnection;
use time::Date;
use uuid::Uuid;

use super::authz::{Action, Actor, authorize};
use super::{Target, denied, event};
use crate::audit::{self, Outcome};
use crate::auth::Portal;
use crate::call::Call;
use crate::error::{Error, Result};
use crate::ids::{IdError, RegionCode};
use crate::news::{Item, MAX_BODY, MAX_TITLE};

/// An item as typed in the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// `None`: national (every region).
    pub region: Option<RegionCode>,
    pub title: String,
    pub body: String,
    pub important: bool,
    pub starts_on: Date,
    pub ends_on: Option<Date>,
}

impl Draft {
    fn check(&self) -> Result<()> {
        let invalid = |field| Error::InvalidInput {
            field,
            reason: IdError::Shape,
        };
        let title = self.title.trim();
        if title.is_empty()
            || title.chars().count() > MAX_TITLE
            || title.chars().any(char::is_control)
        {
            return Err(invalid("title"));
        }
        let body = self.body.trim();
        if body.is_empty() || body.chars().count() > MAX_BODY {
            return Err(invalid("body"));
        }
        if self.ends_on.is_some_and(|end| end < self.starts_on) {
            return Err(invalid("date"));
        }
        Ok(())
    }

    fn details(&self) -> serde_json::Value {
        json!({
            "region": self.region.as_ref().map(RegionCode::as_str),
            "title": self.title.trim(),
            "body": self.body.trim(),
            "important": self.important,
            "starts_on": self.starts_on.to_string(),
            "ends_on": self.ends_on.map(|d| d.to_string()),
        })
    }
}

fn target(id: Uuid, title: &str, region: Option<&str>) -> Target {
    Target {
        kind: "news",
        id: id.to_string(),
        label: title.to_string(),
        region: region.map(str::to_string),
    }
}

/// Refuses (audited) an actor who may not manage the items of `region` (`None`: national).
async fn may_manage(
    portal: &Portal,
    actor: &Actor,
    region: Option<&str>,
    name: audit::Action,
    t: Option<&Target>,
    call: Call<'_>,
) -> Result<()> {
    match authorize(actor, Action::ManageNews, region) {
        Ok(()) => Ok(()),
        Err(_) => Err(denied(&portal.pool, actor, name, Action::ManageNews, t, call).await),
    }
}

/// The items the actor manages (drafts included), newest first.
pub async fn list(portal: &Portal, actor: &Actor, call: Call<'_>) -> Result<Vec<Item>> {
    let Some(scope) = actor.scope(Action::ManageNews) else {
        return Err(denied(
            &portal.pool,
            actor,
            audit::Action::NewsEdit,
            Action::ManageNews,
            None,
            call,
        )
        .await);
    };
    let regions = scope.regions().map(<[String]>::to_vec);
    Ok(sqlx::query_as!(
        Item,
        r#"SELECT id, region_code, title, body, important, starts_on, ends_on, published_at,
                  updated_at, author_label, version
           FROM news
           WHERE $1::text[] IS NULL OR region_code = ANY($1)
           ORDER BY starts_on DESC, updated_at DESC, id
           LIMIT 200"#,
        regions.as_deref()
    )
    .fetch_all(&portal.pool)
    .await?)
}

async fn load(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<Item> {
    let item = if lock {
        sqlx::query_as!(
            Item,
            r#"SELECT id, region_code, title, body, important, starts_on, ends_on, published_at,
                      updated_at, author_label, version
               FROM news WHERE id = $1 FOR UPDATE"#,
            id
        )
        .fetch_optional(&mut *conn)
        .await?
    } else {
        sqlx::query_as!(
            Item,
            r#"SELECT id, region_code, title, body, important, starts_on, ends_on, published_at,
                      updated_at, author_label, version
               FROM news WHERE id = $1"#,
            id
        )
        .fetch_optional(&mut *conn)
        .await?
    };
    item.ok_or(Error::NotFound)
}

/// The item `id` (locked with `lock`), if the actor manages its region; a refusal is audited
/// under `name`.
async fn managed(
    conn: &mut PgConnection,
    portal: &Portal,
    actor: &Actor,
    id: Uuid,
    lock: bool,
    name: audit::Action,
    call: Call<'_>,
) -> Result<(Item, Target)> {
    let item = load(conn, id, lock).await?;
    let t = target(id, &item.title, item.region_code.as_deref());
    may_manage(
        portal,
        actor,
        item.region_code.as_deref(),
        name,
        Some(&t),
        call,
    )
    .await?;
    Ok((item, t))
}

/// One item, for its page (preview and edit form).
pub async fn get(portal: &Portal, actor: &Actor, id: Uuid, call: Call<'_>) -> Result<Item> {
    let mut conn = portal.pool.acquire().await?;
    let (item, _) = managed(
        &mut conn,
        portal,
        actor,
        id,
        false,
        audit::Action::NewsEdit,
        call,
    )
    .await?;
    Ok(item)
}

/// Saves a new item as a draft; returns its id.
pub async fn create(portal: &Portal, actor: &Actor, draft: &Draft, call: Call<'_>) -> Result<Uuid> {
    let Call { now, .. } = call;
    let id = Uuid::new_v4();
    let region = draft.region.as_ref().map(RegionCode::as_str);
    let t = target(id, draft.title.trim(), region);
    may_manage(
        portal,
        actor,
        region,
        audit::Action::NewsCreate,
        Some(&t),
        call,
    )
    .await?;
    draft.check()?;
    let mut tx = portal.pool.begin().await?;
    sqlx::query!(
        "INSERT INTO news (id, region_code, title, body, important, starts_on, ends_on,
                           created_at, updated_at, author_label)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
        id,
        region,
        draft.title.trim(),
        draft.body.trim(),
        draft.important,
        draft.starts_on,
        draft.ends_on,
        now,
        actor.label,
    )
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        event(
            actor,
            audit::Action::NewsCreate,
            Outcome::Success,
            Some(&t),
            json!({ "after": draft.details() }),
        ),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Saves the item's new text and dates (a published item stays published); refused when
/// someone else saved it since the form was opened (`version`).
pub async fn edit(
    portal: &Portal,
    actor: &Actor,
    id: Uuid,
    draft: &Draft,
    version: i32,
    call: Call<'_>,
) -> Result<()> {
    let Call { now, .. } = call;
    let mut tx = portal.pool.begin().await?;
    // Both the item's region and the new one must be the actor's.
    let (item, t) = managed(
        &mut tx,
        portal,
        actor,
        id,
        true,
        audit::Action::NewsEdit,
        call,
    )
    .await?;
    let region = draft.region.as_ref().map(RegionCode::as_str);
    may_manage(
        portal,
        actor,
        region,
        audit::Action::NewsEdit,
        Some(&t),
        call,
    )
    .await?;
    draft.check()?;
    if item.version != version {
        return Err(Error::StaleVersion);
    }
    sqlx::query!(
        "UPDATE news SET region_code = $2, title = $3, body = $4, important = $5, starts_on = $6,
                ends_on = $7, updated_at = $8, version = version + 1
         WHERE id = $1",
        id,
        region,
        draft.title.trim(),
        draft.body.trim(),
        draft.important,
        draft.starts_on,
        draft.ends_on,
        now,
    )
    .execute(&mut *tx)
    .await?;
    let before = Draft {
        region: item
            .region_code
            .as_deref()
            .and_then(|r| RegionCode::parse(r).ok()),
        title: item.title.clone(),
        body: item.body.clone(),
        important: item.important,
        starts_on: item.starts_on,
        ends_on: item.ends_on,
    };
    audit::record(
        &mut tx,
        event(
            actor,
            audit::Action::NewsEdit,
            Outcome::Success,
            Some(&t),
            json!({ "before": before.details(), "after": draft.details() }),
        ),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What the item's page may do to it besides editing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Publish,
    Withdraw,
    Delete,
}

/// Publishes, withdraws (back to a draft) or deletes an item.
pub async fn change(
    portal: &Portal,
    actor: &Actor,
    id: Uuid,
    change: Change,
    call: Call<'_>,
) -> Result<()> {
    let Call { now, .. } = call;
    let name = match change {
        Change::Publish => audit::Action::NewsPublish,
        Change::Withdraw => audit::Action::NewsWithdraw,
        Change::Delete => audit::Action::NewsDelete,
    };
    let mut tx = portal.pool.begin().await?;
    let (item, t) = managed(&mut tx, portal, actor, id, true, name, call).await?;
    match change {
        Change::Publish => {
            sqlx::query!(
                "UPDATE news SET published_at = coalesce(published_at, $2), updated_at = $2,
                        version = version + 1 WHERE id = $1",
                id,
                now
            )
            .execute(&mut *tx)
            .await?;
        }
        Change::Withdraw => {
            sqlx::query!(
                "UPDATE news SET published_at = NULL, updated_at = $2, version = version + 1
                 WHERE id = $1",
                id,
                now
            )
            .execute(&mut *tx)
            .await?;
        }
        Change::Delete => {
            sqlx::query!("DELETE FROM news WHERE id = $1", id)
                .execute(&mut *tx)
                .await?;
        }
    }
    audit::record(
        &mut tx,
        event(
            actor,
            name,
            Outcome::Success,
            Some(&t),
            json!({ "title": item.title, "was_published": item.published_at.is_some() }),
        ),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
