//! Bulk actions of the console. An administrator selects accounts from a search (ticked, or the
//! whole result: at most [`MAX_SELECTION`]) and one action: disable, enable, send the activation
//! or reset link, end the sessions, add or remove a membership. [`prepare`] writes the selection
//! (every account must be one the administrator may see, or nothing is written) and the
//! confirmation page shows its count; [`confirm`] then [`run`] apply the action to each account
//! through the very function of the single action — so each account is authorised on its own
//! region and roles and audited on its own — and record each outcome, so that the page shows the
//! progress and the accounts that failed (a refusal on one does not stop the others). The job
//! lives in the database: its page reads from any instance, and a job whose instance died
//! ([`STALLED_AFTER`] without a heartbeat) is resumed by confirming it again.
//!
//! Export to CSV is the read-only action: [`export_csv`] writes the selection's accounts that
//! the administrator may see, audited once.

use serde_json::json;
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::authz::Action;
use super::users::{self, UserFilter};
use super::{Actor, Scope, denied, event, scope_or_deny};
use crate::accounts::UserStatus;
use crate::audit::{self, Outcome};
use crate::auth::Portal;
use crate::call::{Call, Client};
use crate::error::{Error, Result};
use crate::ids::{Finess, RegionCode, Username};

/// The most accounts one bulk action takes.
pub const MAX_SELECTION: usize = 5_000;
/// A running job whose heartbeat is older than this is taken as stopped (its instance died).
/// Far above what one account takes (its single action, a pooled connection's wait included):
/// a slow account must not look like a dead run.
pub const STALLED_AFTER: Duration = Duration::minutes(2);
/// How many of the selection's accounts the confirmation page names.
const SAMPLE: i64 = 20;

/// What to do to every account of the selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkAction {
    Disable,
    Enable,
    /// The activation link (pending accounts) or the reset link (the others).
    SendLink,
    EndSessions,
    AddMembership(Finess),
    RemoveMembership(Finess),
}

impl BulkAction {
    /// The stored name.
    pub fn name(&self) -> &'static str {
        match self {
            BulkAction::Disable => "disable",
            BulkAction::Enable => "enable",
            BulkAction::SendLink => "send_link",
            BulkAction::EndSessions => "end_sessions",
            BulkAction::AddMembership(_) => "add_membership",
            BulkAction::RemoveMembership(_) => "remove_membership",
        }
    }

    /// From the stored name (and establishment, for a membership).
    pub fn parse(name: &str, finess: Option<Finess>) -> Option<Self> {
        Some(match (name, finess) {
            ("disable", None) => BulkAction::Disable,
            ("enable", None) => BulkAction::Enable,
            ("send_link", None) => BulkAction::SendLink,
            ("end_sessions", None) => BulkAction::EndSessions,
            ("add_membership", Some(f)) => BulkAction::AddMembership(f),
            ("remove_membership", Some(f)) => BulkAction::RemoveMembership(f),
            _ => return None,
        })
    }

    /// Every action's stored name, in the order the console offers them.
    pub const NAMES: [&'static str; 6] = [
        "disable",
        "enable",
        "send_link",
        "end_sessions",
        "add_membership",
        "remove_membership",
    ];

    /// The permission of the single action it repeats.
    pub fn permission(&self) -> Action {
        Self::permission_of(self.name()).unwrap_or(Action::ManageMemberships)
    }

    /// The permission of the action named `name` (`NAMES`).
    pub fn permission_of(name: &str) -> Option<Action> {
        Some(match name {
            "disable" | "enable" => Action::SetUserStatus,
            "send_link" => Action::SendLink,
            "end_sessions" => Action::EndSessions,
            "add_membership" | "remove_membership" => Action::ManageMemberships,
            _ => return None,
        })
    }

    pub fn finess(&self) -> Option<&Finess> {
        match self {
            BulkAction::AddMembership(f) | BulkAction::RemoveMembership(f) => Some(f),
            _ => None,
        }
    }
}

/// Which accounts: those ticked on the page, or every account a search finds.
#[derive(Debug, Clone)]
pub enum Selection {
    Accounts(Vec<Uuid>),
    Search(UserFilter),
}

/// The accounts of `selection`, in the order the search shows them: every one must be in `scope`
/// (a ticked account the administrator may not see is a forged page: refused as a whole).
async fn resolve(
    portal: &Portal,
    actor: &Actor,
    scope: &Scope,
    selection: &Selection,
    name: audit::Action,
    call: Call<'_>,
) -> Result<Vec<users::UserRow>> {
    let rows = match selection {
        Selection::Search(filter) => {
            if let Some(region) = &filter.region
                && !scope.contains(region)
            {
                return Err(denied(&portal.pool, actor, name, Action::ViewUsers, None, call).await);
            }
            let filter = UserFilter {
                after: None,
                ..filter.clone()
            };
            users::matching(portal, scope, &filter, MAX_SELECTION as i64 + 1).await?
        }
        Selection::Accounts(ids) => {
            let mut ids = ids.clone();
            ids.sort_unstable();
            ids.dedup();
            if ids.len() > MAX_SELECTION {
                return Err(Error::TooManySelected { max: MAX_SELECTION });
            }
            let rows = sqlx::query_as!(
                users::UserRow,
                r#"SELECT u.id, u.username AS "username: _", u.email AS "email: _", u.family_name,
                          u.given_name, u.rpps AS "rpps: _", u.region_code AS "region_code: _",
                          u.status AS "status: UserStatus", u.sort_name AS "sort_name!"
                   FROM users u WHERE u.id = ANY($1)
                   ORDER BY u.sort_name, u.id"#,
                &ids
            )
            .fetch_all(&portal.pool)
            .await?;
            if rows.len() != ids.len()
                || rows.iter().any(|r| !scope.contains(r.region_code.as_str()))
            {
                return Err(denied(&portal.pool, actor, name, Action::ViewUsers, None, call).await);
            }
            rows
        }
    };
    if rows.len() > MAX_SELECTION {
        return Err(Error::TooManySelected { max: MAX_SELECTION });
    }
    if rows.is_empty() {
        return Err(Error::NothingSelected);
    }
    Ok(rows)
}

/// Writes the selection and the action, to be confirmed; returns the job's id. The administrator
/// must hold the action's permission somewhere (each account is authorised again when it is
/// acted on) and see every account selected.
pub async fn prepare(
    portal: &Portal,
    actor: &Actor,
    action: &BulkAction,
    selection: &Selection,
    call: Call<'_>,
) -> Result<Uuid> {
    let Call { now, .. } = call;
    scope_or_deny(
        &portal.pool,
        actor,
        audit::Action::AdminBulk,
        action.permission(),
        call,
    )
    .await?;
    let scope = scope_or_deny(
        &portal.pool,
        actor,
        audit::Action::AdminBulk,
        Action::ViewUsers,
        call,
    )
    .await?;
    let actor_id = actor.user_id.ok_or(Error::Forbidden)?;
    let rows = resolve(
        portal,
        actor,
        &scope,
        selection,
        audit::Action::AdminBulk,
        call,
    )
    .await?;
    let id = Uuid::new_v4();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut tx = portal.pool.begin().await?;
    sqlx::query!(
        "INSERT INTO bulk_jobs (id, actor_user_id, action, finess, total, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        id,
        actor_id,
        action.name(),
        action.finess().map(Finess::as_str),
        i32::try_from(ids.len()).map_err(|_| Error::TooManySelected { max: MAX_SELECTION })?,
        now
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO bulk_job_items (job_id, position, user_id)
         SELECT $1, (n - 1)::int, u FROM unnest($2::uuid[]) WITH ORDINALITY AS t(u, n)",
        id,
        &ids
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Written, waiting for the confirmation.
    Prepared,
    Running,
    /// Running, but its instance stopped beating: confirming again resumes it.
    Stalled,
    Done,
}

/// An account of the job, named.
#[derive(Debug, Clone)]
pub struct Named {
    pub user_id: Uuid,
    pub username: Username,
    pub name: String,
    pub region_code: RegionCode,
}

/// A job as its page shows it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: Uuid,
    pub action: BulkAction,
    /// The establishment's name, for a membership action.
    pub establishment: Option<String>,
    pub total: i64,
    pub done: i64,
    pub state: JobState,
    /// The first accounts of the selection (the confirmation page names them).
    pub sample: Vec<Named>,
    /// The accounts it failed on, with the console's error code.
    pub failures: Vec<(Named, String)>,
}

/// The job `id`, for the administrator who made it and still holds its action's permission
/// (anyone else: `NotFound`; a role lost since: `Forbidden`).
pub async fn job(portal: &Portal, actor: &Actor, id: Uuid, now: OffsetDateTime) -> Result<Job> {
    let row = sqlx::query!(
        r#"SELECT j.action, j.finess, j.total, j.state, j.heartbeat_at, e.name AS "establishment?",
                  (SELECT count(*) FROM bulk_job_items i WHERE i.job_id = j.id AND i.done_at IS NOT NULL) AS "done!"
           FROM bulk_jobs j LEFT JOIN establishments e ON e.finess = j.finess
           WHERE j.id = $1 AND j.actor_user_id = $2"#,
        id,
        actor.user_id
    )
    .fetch_optional(&portal.pool)
    .await?
    .ok_or(Error::NotFound)?;
    let finess = stored_finess(row.finess.as_deref())?;
    let action = BulkAction::parse(&row.action, finess)
        .ok_or_else(|| Error::Internal(format!("bulk job {id}: action {}", row.action)))?;
    if actor.scope(action.permission()).is_none() || actor.scope(Action::ViewUsers).is_none() {
        return Err(Error::Forbidden);
    }
    let state = match row.state.as_str() {
        "prepared" => JobState::Prepared,
        "done" => JobState::Done,
        _ if row.heartbeat_at.is_none_or(|h| h < now - STALLED_AFTER) => JobState::Stalled,
        _ => JobState::Running,
    };
    let named = |user_id, username, given: String, family: String, region_code| Named {
        user_id,
        username,
        name: format!("{given} {family}"),
        region_code,
    };
    let sample = sqlx::query!(
        r#"SELECT u.id, u.username AS "username: Username", u.given_name, u.family_name,
                  u.region_code AS "region_code: RegionCode"
           FROM bulk_job_items i JOIN users u ON u.id = i.user_id
           WHERE i.job_id = $1 ORDER BY i.position LIMIT $2"#,
        id,
        SAMPLE
    )
    .fetch_all(&portal.pool)
    .await?
    .into_iter()
    .map(|r| named(r.id, r.username, r.given_name, r.family_name, r.region_code))
    .collect();
    let failures = sqlx::query!(
        r#"SELECT u.id, u.username AS "username: Username", u.given_name, u.family_name,
                  u.region_code AS "region_code: RegionCode", i.failure AS "failure!"
           FROM bulk_job_items i JOIN users u ON u.id = i.user_id
           WHERE i.job_id = $1 AND i.failure IS NOT NULL ORDER BY i.position"#,
        id
    )
    .fetch_all(&portal.pool)
    .await?
    .into_iter()
    .map(|r| {
        (
            named(r.id, r.username, r.given_name, r.family_name, r.region_code),
            r.failure,
        )
    })
    .collect();
    Ok(Job {
        id,
        action,
        establishment: row.establishment,
        total: i64::from(row.total),
        done: row.done,
        state,
        sample,
        failures,
    })
}

/// The administrator confirms (or resumes a stalled job): `Some(runner)` when the caller should
/// now [`run`] it under that runner's name, `None` when it is running elsewhere or done. The
/// action's permission is asked again (a role lost since the selection confirms nothing). The
/// first confirmation is audited (`admin.user.bulk`: the action and the count; each account is
/// audited by its own action).
pub async fn confirm(
    portal: &Portal,
    actor: &Actor,
    id: Uuid,
    call: Call<'_>,
) -> Result<Option<Uuid>> {
    let Call { now, .. } = call;
    let action = sqlx::query_scalar!(
        "SELECT action FROM bulk_jobs WHERE id = $1 AND actor_user_id = $2",
        id,
        actor.user_id
    )
    .fetch_optional(&portal.pool)
    .await?
    .ok_or(Error::NotFound)?;
    let permission = BulkAction::permission_of(&action)
        .ok_or_else(|| Error::Internal(format!("bulk job {id}: action {action}")))?;
    scope_or_deny(
        &portal.pool,
        actor,
        audit::Action::AdminBulk,
        permission,
        call,
    )
    .await?;
    let runner = Uuid::new_v4();
    let mut tx = portal.pool.begin().await?;
    let claimed = sqlx::query!(
        r#"UPDATE bulk_jobs SET state = 'running', heartbeat_at = $3, runner = $5,
                  confirmed_at = coalesce(confirmed_at, $3)
           WHERE id = $1 AND actor_user_id = $2
             AND (state = 'prepared' OR (state = 'running' AND heartbeat_at < $4))
           RETURNING action, finess, total, (confirmed_at = $3) AS "first!""#,
        id,
        actor.user_id,
        now,
        now - STALLED_AFTER,
        runner
    )
    .fetch_optional(&mut *tx)
    .await?;
    // Already under way or done: nothing to start here.
    let Some(job) = claimed else {
        return Ok(None);
    };
    if job.first {
        audit::record(
            &mut tx,
            event(
                actor,
                audit::Action::AdminBulk,
                Outcome::Success,
                None,
                json!({ "job": id, "action": job.action, "finess": job.finess, "accounts": job.total }),
            ),
            call,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Some(runner))
}

/// Applies the job's action to each account not done yet, in order, each through its single
/// action (authorised and audited there), recording each outcome and a heartbeat, as `runner`
/// (from [`confirm`]): a run whose job was taken over (resumed elsewhere after its heartbeat
/// stopped) stops at its next account. The administrator's roles are read again before each
/// batch: a role withdrawn meanwhile stops the run. `now` is read for each account (a job of
/// thousands takes minutes); `failure` names an error as the console tells it. A database
/// failure while recording stops the run (the job stalls; confirming again resumes it).
pub async fn run(
    portal: &Portal,
    actor: &Actor,
    id: Uuid,
    runner: Uuid,
    client: &Client,
    now: impl Fn() -> OffsetDateTime,
    failure: impl Fn(Error) -> String,
) -> Result<()> {
    let job = sqlx::query!(
        "SELECT action, finess FROM bulk_jobs WHERE id = $1 AND actor_user_id = $2",
        id,
        actor.user_id
    )
    .fetch_optional(&portal.pool)
    .await?
    .ok_or(Error::NotFound)?;
    let finess = stored_finess(job.finess.as_deref())?;
    let action = BulkAction::parse(&job.action, finess)
        .ok_or_else(|| Error::Internal(format!("bulk job {id}: action {}", job.action)))?;
    let mut actor = actor.clone();
    loop {
        let mut conn = portal.pool.acquire().await?;
        if let Some(user_id) = actor.user_id {
            actor.grants = crate::accounts::roles_of(&mut conn, user_id).await?;
        }
        if actor.scope(action.permission()).is_none() {
            return Err(Error::Forbidden);
        }
        let pending = sqlx::query!(
            "SELECT position, user_id FROM bulk_job_items
             WHERE job_id = $1 AND done_at IS NULL ORDER BY position LIMIT 50",
            id
        )
        .fetch_all(&mut *conn)
        .await?;
        drop(conn);
        if pending.is_empty() {
            break;
        }
        for item in pending {
            // A heartbeat before each account, as the owner: a run taken over stops here, before
            // acting (the heartbeat also keeps a slow account from looking like a dead run).
            if !beat(&portal.pool, id, runner, now()).await? {
                return Ok(());
            }
            let call = Call::new(client, now());
            let outcome = apply(portal, &actor, &action, item.user_id, call).await;
            let mut conn = portal.pool.acquire().await?;
            let ours = record(
                &mut conn,
                id,
                runner,
                item.position,
                outcome.err().map(&failure),
                now(),
            )
            .await?;
            if !ours {
                return Ok(());
            }
        }
    }
    sqlx::query!(
        "UPDATE bulk_jobs SET state = 'done', finished_at = $3 WHERE id = $1 AND runner = $2",
        id,
        runner,
        now()
    )
    .execute(&portal.pool)
    .await?;
    Ok(())
}

fn stored_finess(finess: Option<&str>) -> Result<Option<Finess>> {
    finess
        .map(Finess::parse)
        .transpose()
        .map_err(|reason| Error::InvalidInput {
            field: "finess",
            reason,
        })
}

async fn apply(
    portal: &Portal,
    actor: &Actor,
    action: &BulkAction,
    user_id: Uuid,
    call: Call<'_>,
) -> Result<()> {
    match action {
        BulkAction::Disable => users::set_enabled(portal, actor, user_id, false, call).await,
        BulkAction::Enable => users::set_enabled(portal, actor, user_id, true, call).await,
        BulkAction::SendLink => users::send_link(portal, actor, user_id, call)
            .await
            .map(drop),
        BulkAction::EndSessions => users::end_sessions(portal, actor, user_id, call)
            .await
            .map(drop),
        BulkAction::AddMembership(f) => {
            users::set_membership(portal, actor, user_id, f, true, call)
                .await
                .map(drop)
        }
        BulkAction::RemoveMembership(f) => {
            users::set_membership(portal, actor, user_id, f, false, call)
                .await
                .map(drop)
        }
    }
}

/// The heartbeat of `runner`, if it still owns the job.
async fn beat(pool: &sqlx::PgPool, id: Uuid, runner: Uuid, now: OffsetDateTime) -> Result<bool> {
    Ok(sqlx::query!(
        "UPDATE bulk_jobs SET heartbeat_at = $3 WHERE id = $1 AND runner = $2 AND state = 'running'",
        id,
        runner,
        now
    )
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

/// The outcome of one account, and the heartbeat, if `runner` still owns the job (`false`: it
/// was taken over, nothing is written).
async fn record(
    conn: &mut PgConnection,
    id: Uuid,
    runner: Uuid,
    position: i32,
    failure: Option<String>,
    now: OffsetDateTime,
) -> Result<bool> {
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let ours = sqlx::query!(
        "UPDATE bulk_jobs SET heartbeat_at = $3 WHERE id = $1 AND runner = $2",
        id,
        runner,
        now
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !ours {
        return Ok(false);
    }
    sqlx::query!(
        "UPDATE bulk_job_items SET done_at = $3, failure = $4
         WHERE job_id = $1 AND position = $2 AND done_at IS NULL",
        id,
        position,
        now,
        failure
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The CSV header of [`export_csv`].
pub const EXPORT_HEADER: [&str; 9] = [
    "identifiant",
    "nom",
    "prénom",
    "courriel",
    "RPPS",
    "région",
    "statut",
    "établissements (FINESS)",
    "dernière connexion (UTC)",
];

/// The selection's accounts as a CSV file for spreadsheet software (the audit export's format:
/// UTF-8 with a byte-order mark, `;`, every cell made inert), with the number of accounts;
/// audited once (`admin.user_export`).
pub async fn export_csv(
    portal: &Portal,
    actor: &Actor,
    selection: &Selection,
    call: Call<'_>,
) -> Result<(Vec<u8>, usize)> {
    let scope = scope_or_deny(
        &portal.pool,
        actor,
        audit::Action::AdminUserExport,
        Action::ViewUsers,
        call,
    )
    .await?;
    let rows = resolve(
        portal,
        actor,
        &scope,
        selection,
        audit::Action::AdminUserExport,
        call,
    )
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let extra = sqlx::query!(
        r#"SELECT u.id, u.last_sign_in_at,
                  coalesce((SELECT string_agg(e.finess, ' ' ORDER BY e.finess)
                            FROM memberships m JOIN establishments e ON e.id = m.establishment_id
                            WHERE m.user_id = u.id), '') AS "finess!"
           FROM users u WHERE u.id = ANY($1)"#,
        &ids
    )
    .fetch_all(&portal.pool)
    .await?;
    let extra: std::collections::HashMap<Uuid, (Option<OffsetDateTime>, String)> = extra
        .into_iter()
        .map(|r| (r.id, (r.last_sign_in_at, r.finess)))
        .collect();
    let mut out = Vec::new();
    let mut writer = super::audit_view::spreadsheet(&mut out);
    let csv_err = |e: csv::Error| Error::Internal(e.to_string());
    writer.write_record(EXPORT_HEADER).map_err(csv_err)?;
    for r in &rows {
        let (last, finess) = extra.get(&r.id).cloned().unwrap_or_default();
        let last = match last {
            Some(t) => t
                .format(&time::format_description::well_known::Rfc3339)
                .map_err(|e| Error::Internal(e.to_string()))?,
            None => String::new(),
        };
        let cells = [
            r.username.to_string(),
            r.family_name.clone(),
            r.given_name.clone(),
            r.email.to_string(),
            r.rpps.as_ref().map(ToString::to_string).unwrap_or_default(),
            r.region_code.to_string(),
            r.status.as_str().to_string(),
            finess,
            last,
        ];
        writer
            .write_record(cells.iter().map(|c| super::audit_view::safe_cell(c)))
            .map_err(csv_err)?;
    }
    writer.flush().map_err(|e| Error::Internal(e.to_string()))?;
    drop(writer);
    let mut tx = portal.pool.begin().await?;
    audit::record(
        &mut tx,
        event(
            actor,
            audit::Action::AdminUserExport,
            Outcome::Success,
            None,
            json!({ "accounts": rows.len(), "ids": ids }),
        ),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok((out, rows.len()))
}
