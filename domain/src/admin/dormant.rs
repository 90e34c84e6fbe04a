//! The console's page of inactive accounts (`auth::dormancy` has the rule): a regional
//! administrator sees the accounts of their regions that are dormant or will be soon (warned),
//! and keeps one active — a holder on leave, a locum who comes back each summer.

use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::authz::Action;
use super::users::act_on_user;
use super::{Actor, denied, scope_or_deny};
use crate::accounts::UserStatus;
use crate::audit;
use crate::auth::{Portal, dormancy};
use crate::call::Call;
use crate::error::Result;
use crate::ids::{RegionCode, Username};

/// Most rows the page lists (the oldest inactivity first); the search's status filter finds the
/// others.
pub const LIST_LIMIT: i64 = 500;

/// One account of the list.
#[derive(Debug, Clone)]
pub struct Inactive {
    pub id: Uuid,
    pub username: Username,
    pub family_name: String,
    pub given_name: String,
    pub region_code: RegionCode,
    pub status: UserStatus,
    /// The last sign-in, if any.
    pub last_sign_in_at: Option<OffsetDateTime>,
    /// Since when it counts as unused (creation, last sign-in or last kept active).
    pub inactive_since: OffsetDateTime,
    /// When the holder was warned.
    pub warned_at: Option<OffsetDateTime>,
    /// When a warned, still active account becomes dormant (none once it is).
    pub dormant_on: Option<OffsetDateTime>,
}

/// The dormant and warned accounts of the actor's regions (or of `region`, one of them).
pub async fn list(
    portal: &Portal,
    actor: &Actor,
    region: Option<&str>,
    call: Call<'_>,
) -> Result<Vec<Inactive>> {
    let scope = scope_or_deny(
        &portal.pool,
        actor,
        audit::Action::AdminUserSearch,
        Action::KeepActive,
        call,
    )
    .await?;
    if let Some(region) = region
        && !scope.contains(region)
    {
        return Err(denied(
            &portal.pool,
            actor,
            audit::Action::AdminUserSearch,
            Action::KeepActive,
            None,
            call,
        )
        .await);
    }
    let rows = sqlx::query!(
        r#"SELECT id, username AS "username: Username", family_name, given_name,
                  region_code AS "region_code: RegionCode", status AS "status: UserStatus",
                  last_sign_in_at, dormancy_warned_at,
                  greatest(created_at, last_sign_in_at, kept_active_at) AS "since!"
           FROM users
           WHERE (status = 'dormant' OR (status = 'active' AND dormancy_warned_at IS NOT NULL))
             AND ($1::text[] IS NULL OR region_code = ANY($1))
             AND ($2::text IS NULL OR region_code = $2)
           ORDER BY greatest(created_at, last_sign_in_at, kept_active_at), id
           LIMIT $3"#,
        scope.regions(),
        region,
        LIST_LIMIT
    )
    .fetch_all(&portal.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Inactive {
            dormant_on: (r.status == UserStatus::Active)
                .then(|| portal.dormancy.dormant_on(r.since, r.dormancy_warned_at))
                .flatten(),
            id: r.id,
            username: r.username,
            family_name: r.family_name,
            given_name: r.given_name,
            region_code: r.region_code,
            status: r.status,
            last_sign_in_at: r.last_sign_in_at,
            inactive_since: r.since,
            warned_at: r.dormancy_warned_at,
        })
        .collect())
}

/// « Prolonger »: the account counts as used today (a dormant one is active again, a warned one
/// is not put to sleep); audited.
pub async fn keep_active(
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    call: Call<'_>,
) -> Result<()> {
    let Call { now, .. } = call;
    act_on_user(
        portal,
        actor,
        Action::KeepActive,
        audit::Action::AccountKeepActive,
        user_id,
        call,
        async |tx, user| {
            let (before, after) = dormancy::keep_active(tx, user.id, now).await?;
            Ok((
                (),
                json!({ "before": { "status": before }, "after": { "status": after } }),
            ))
        },
    )
    .await
}
