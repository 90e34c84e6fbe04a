//! Accounts in the console: search, detail, and every change the support desk and the
//! administrators make, each authorised against the account's region and audited with its before
//! and after values.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::authz::{Action, Actor, authorize, authorize_on_user};
use super::{Page, Target, denied, event, like_patterns, page, scope_or_deny};
use crate::accounts::{self, AdminRole, Establishment, NewUser, RoleGrant, UserStatus};
use crate::audit::{self, Outcome};
use crate::auth::Portal;
use crate::auth::account_links::{self, Purpose};
use crate::auth::means::{self, MeansRef, PscLink, RemovedBy};
use crate::call::Call;
use crate::cards::{self, LinkedCard};
use crate::directory::verify;
use crate::error::{Error, Result};
use crate::ids::{Email, Finess, NationalId, RegionCode, Rpps, Username};
use crate::sessions::{self, LiveSession};
use crate::throttle::{self, Scope as ThrottleScope};

/// Search criteria of the user list. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Words found (each, as a part of a word) in the name, username, e-mail or RPPS; case and
    /// accents ignored. A FINESS number finds the establishment's members.
    pub query: String,
    pub status: Option<UserStatus>,
    pub establishment: Option<Finess>,
    pub role: Option<AdminRole>,
    pub region: Option<String>,
    /// The cursor of the page to show (from the previous page's `next`).
    pub after: Option<String>,
}

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: Uuid,
    pub username: Username,
    pub email: Email,
    pub family_name: String,
    pub given_name: String,
    pub rpps: Option<Rpps>,
    pub region_code: RegionCode,
    pub status: UserStatus,
    pub sort_name: String,
}

fn encode_cursor(sort_name: &str, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{id}{sort_name}"))
}

fn decode_cursor(cursor: &str) -> Option<(String, Uuid)> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.as_bytes()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let id = Uuid::parse_str(text.get(..36)?).ok()?;
    Some((text.get(36..)?.to_string(), id))
}

pub const PAGE_SIZE: usize = 25;

pub async fn search(
    portal: &Portal,
    actor: &Actor,
    filter: &UserFilter,
    call: Call<'_>,
) -> Result<Page<UserRow>> {
    let scope = scope_or_deny(
        &portal.pool,
        actor,
        audit::Action::AdminUserSearch,
        Action::ViewUsers,
        call,
    )
    .await?;
    if let Some(region) = &filter.region
        && !scope.contains(region)
    {
        return Err(denied(
            &portal.pool,
            actor,
            audit::Action::AdminUserSearch,
            Action::ViewUsers,
            None,
            call,
        )
        .await);
    }
    let rows = matching(portal, &scope, filter, (PAGE_SIZE + 1) as i64).await?;
    Ok(page(rows, PAGE_SIZE, |r| encode_cursor(&r.sort_name, r.id)))
}

/// The accounts of `scope` that `filter` finds, in name order from its cursor, at most `limit`:
/// a page of the search, or the whole result a bulk action takes.
pub(crate) async fn matching(
    portal: &Portal,
    scope: &super::Scope,
    filter: &UserFilter,
    limit: i64,
) -> Result<Vec<UserRow>> {
    let mut words = like_patterns(&filter.query);
    let mut establishment = filter
        .establishment
        .as_ref()
        .map(|f| f.as_str().to_string());
    // A FINESS typed in the search box means "its members".
    if establishment.is_none()
        && let [single] = filter.query.split_whitespace().collect::<Vec<_>>()[..]
        && let Ok(f) = Finess::parse(single)
    {
        establishment = Some(f.as_str().to_string());
        words.clear();
    }
    let (after_name, after_id) = match filter.after.as_deref().map(decode_cursor) {
        Some(Some((n, id))) => (Some(n), Some(id)),
        Some(None) => {
            return Err(Error::InvalidInput {
                field: "cursor",
                reason: crate::ids::IdError::Shape,
            });
        }
        None => (None, None),
    };
    // One condition per word (at most five): with the custom plans the pool asks for, each folded
    // pattern is a constant the trigram index can use; `LIKE ALL (array)` could not. The
    // establishment and role filters give lists of ids computed once, not a test per user.
    let w = |i: usize| words.get(i).cloned();
    let (w1, w2, w3, w4, w5) = (w(0), w(1), w(2), w(3), w(4));
    let rows = if words.is_empty() {
        // The plain list: walking the (region, name) index in order is the fastest plan.
        sqlx::query_as!(
            UserRow,
            r#"SELECT u.id, u.username AS "username: _", u.email AS "email: _", u.family_name, u.given_name, u.rpps AS "rpps: _", u.region_code AS "region_code: _",
                      u.status AS "status: UserStatus", u.sort_name AS "sort_name!"
               FROM users u
               WHERE ($1::text[] IS NULL OR u.region_code = ANY($1))
                 AND ($2::text IS NULL OR u.region_code = $2)
                 AND ($3::user_status IS NULL OR u.status = $3)
                 AND ($4::text IS NULL OR u.id = ANY (ARRAY(
                       SELECT m.user_id FROM memberships m JOIN establishments e ON e.id = m.establishment_id
                       WHERE e.finess = $4)))
                 AND ($5::admin_role IS NULL OR u.id = ANY (ARRAY(
                       SELECT r.user_id FROM admin_roles r WHERE r.role = $5)))
                 AND ($6::text IS NULL OR (u.sort_name, u.id) > ($6, $7))
               ORDER BY u.sort_name, u.id
               LIMIT $8"#,
            scope.regions(),
            filter.region.as_deref(),
            filter.status as Option<UserStatus>,
            establishment,
            filter.role as Option<AdminRole>,
            after_name,
            after_id,
            limit,
        )
        .fetch_all(&portal.pool)
        .await?
    } else {
        // A search: the matches are gathered first (trigram index), then sorted. Walking the name
        // index and testing every account, which the planner would otherwise pick for the LIMIT,
        // is slow when the matches cluster at one end of the alphabet ("lef…").
        sqlx::query_as!(
            UserRow,
            r#"WITH hits AS MATERIALIZED (
                 SELECT u.id, u.username, u.email, u.family_name, u.given_name, u.rpps, u.region_code,
                        u.status, u.sort_name
                 FROM users u
                 WHERE ($1::text[] IS NULL OR u.region_code = ANY($1))
                   AND ($2::text IS NULL OR u.region_code = $2)
                   AND ($3::user_status IS NULL OR u.status = $3)
                   AND ($4::text IS NULL OR u.id = ANY (ARRAY(
                         SELECT m.user_id FROM memberships m JOIN establishments e ON e.id = m.establishment_id
                         WHERE e.finess = $4)))
                   AND ($5::admin_role IS NULL OR u.id = ANY (ARRAY(
                         SELECT r.user_id FROM admin_roles r WHERE r.role = $5)))
                   AND ($9::text IS NULL OR u.search_text LIKE passerelle_fold($9))
                   AND ($10::text IS NULL OR u.search_text LIKE passerelle_fold($10))
                   AND ($11::text IS NULL OR u.search_text LIKE passerelle_fold($11))
                   AND ($12::text IS NULL OR u.search_text LIKE passerelle_fold($12))
                   AND ($13::text IS NULL OR u.search_text LIKE passerelle_fold($13))
               )
               SELECT id AS "id!", username AS "username!: _", email AS "email!: _", family_name AS "family_name!",
                      given_name AS "given_name!", rpps AS "rpps: _", region_code AS "region_code!: _",
                      status AS "status!: UserStatus", sort_name AS "sort_name!"
               FROM hits
               WHERE ($6::text IS NULL OR (sort_name, id) > ($6, $7))
               ORDER BY sort_name, id
               LIMIT $8"#,
            scope.regions(),
            filter.region.as_deref(),
            filter.status as Option<UserStatus>,
            establishment,
            filter.role as Option<AdminRole>,
            after_name,
            after_id,
            limit,
            w1,
            w2,
            w3,
            w4,
            w5,
        )
        .fetch_all(&portal.pool)
        .await?
    };
    Ok(rows)
}

/// The account as the console reads and locks it before acting.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: Uuid,
    pub username: Username,
    pub email: Email,
    pub family_name: String,
    pub given_name: String,
    pub rpps: Option<Rpps>,
    /// The identity the one-time linking accepts for an account without an RPPS.
    pub declared_national_id: Option<NationalId>,
    pub region_code: RegionCode,
    pub status: UserStatus,
    pub has_password: bool,
    pub otp_required: bool,
    pub version: i32,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl UserRecord {
    pub(crate) fn target(&self) -> Target {
        Target {
            kind: "user",
            id: self.id.to_string(),
            label: self.username.to_string(),
            region: Some(self.region_code.to_string()),
        }
    }

    fn identity(&self) -> Value {
        json!({
            "email": self.email,
            "family_name": self.family_name,
            "given_name": self.given_name,
            "rpps": self.rpps,
            "declared_national_id": self.declared_national_id,
        })
    }
}

pub(crate) async fn load_user(conn: &mut PgConnection, id: Uuid, lock: bool) -> Result<UserRecord> {
    let row = if lock {
        sqlx::query_as!(
            UserRecord,
            r#"SELECT id, username AS "username: _", email AS "email: _", family_name, given_name, rpps AS "rpps: _", declared_national_id AS "declared_national_id: _",
                      region_code AS "region_code: _",
                      status AS "status: UserStatus", password_hash IS NOT NULL AS "has_password!",
                      otp_required, version, created_at, updated_at
               FROM users WHERE id = $1 FOR UPDATE"#,
            id
        )
        .fetch_optional(&mut *conn)
        .await?
    } else {
        sqlx::query_as!(
            UserRecord,
            r#"SELECT id, username AS "username: _", email AS "email: _", family_name, given_name, rpps AS "rpps: _", declared_national_id AS "declared_national_id: _",
                      region_code AS "region_code: _",
                      status AS "status: UserStatus", password_hash IS NOT NULL AS "has_password!",
                      otp_required, version, created_at, updated_at
               FROM users WHERE id = $1"#,
            id
        )
        .fetch_optional(&mut *conn)
        .await?
    };
    row.ok_or(Error::NotFound)
}

/// The frame of every change to an account: lock it, authorise `action` on its region (and on its
/// own roles), run `change` — which returns its result and the audit details — and record the
/// audit row in the same transaction. A refusal rolls back and is audited as `denied`.
pub(crate) async fn act_on_user<T>(
    portal: &Portal,
    actor: &Actor,
    action: Action,
    name: audit::Action,
    user_id: Uuid,
    call: Call<'_>,
    change: impl AsyncFnOnce(&mut PgConnection, &UserRecord) -> Result<(T, Value)>,
) -> Result<T> {
    let mut tx = portal.pool.begin().await?;
    let user = load_user(&mut tx, user_id, true).await?;
    let roles = accounts::roles_of(&mut tx, user_id).await?;
    if authorize_on_user(actor, action, user.region_code.as_str(), &roles).is_err() {
        tx.rollback().await?;
        return Err(denied(
            &portal.pool,
            actor,
            name,
            action,
            Some(&user.target()),
            call,
        )
        .await);
    }
    let (result, details) = change(&mut tx, &user).await?;
    audit::record(
        &mut tx,
        event(actor, name, Outcome::Success, Some(&user.target()), details),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(result)
}

/// Everything the detail page shows.
#[derive(Debug, Clone)]
pub struct UserDetail {
    pub user: UserRecord,
    /// Locked after too many failed sign-ins, until then.
    pub locked_until: Option<OffsetDateTime>,
    pub memberships: Vec<Establishment>,
    pub roles: Vec<RoleGrant>,
    pub cards: Vec<LinkedCard>,
    /// Pro Santé Connect identities linked to the account.
    pub psc: Vec<PscLink>,
    pub passkeys: Vec<crate::auth::passkey::PasskeyInfo>,
    pub sessions: Vec<LiveSession>,
    pub recent: Vec<audit::Row>,
    /// What the national directory says of the account's RPPS: `None` without an RPPS or
    /// without a directory loaded; `Some(None)` when the directory does not have it.
    pub directory: Option<Option<verify::Said>>,
    /// Why the desk accepted that the directory disagrees (linking is not refused then).
    pub directory_exception: Option<String>,
}

/// Reads an account the actor may look at (its region is theirs), or records the refusal.
pub(crate) async fn viewable_user(
    conn: &mut PgConnection,
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    name: audit::Action,
    call: Call<'_>,
) -> Result<UserRecord> {
    let user = load_user(conn, user_id, false).await?;
    if authorize(actor, Action::ViewUsers, Some(user.region_code.as_str())).is_err() {
        let target = user.target();
        return Err(denied(
            &portal.pool,
            actor,
            name,
            Action::ViewUsers,
            Some(&target),
            call,
        )
        .await);
    }
    Ok(user)
}

impl UserDetail {
    /// What the actor may do on this account: the page shows those controls only (each action is
    /// authorised again when it is posted).
    pub fn allowed(&self, actor: &Actor) -> Vec<Action> {
        Action::ALL
            .into_iter()
            .filter(|a| {
                authorize_on_user(actor, *a, self.user.region_code.as_str(), &self.roles).is_ok()
            })
            .collect()
    }
}

pub async fn detail(
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    call: Call<'_>,
) -> Result<UserDetail> {
    let Call { now, .. } = call;
    let mut conn = portal.pool.acquire().await?;
    let user = viewable_user(
        &mut conn,
        portal,
        actor,
        user_id,
        audit::Action::AdminUserView,
        call,
    )
    .await?;
    let locked_until = sqlx::query_scalar!(
        "SELECT max(locked_until) FROM auth_throttle
         WHERE scope IN ('account', 'email_code') AND key = $1 AND locked_until > $2",
        user.username.as_str(),
        now
    )
    .fetch_optional(&mut *conn)
    .await?
    .flatten();
    let memberships = establishments_of_any(&mut conn, user_id).await?;
    let roles = accounts::roles_of(&mut conn, user_id).await?;
    let cards = cards::linked_to(&mut conn, user_id).await?;
    let psc = means::psc_links_of(&mut conn, user_id).await?;
    let passkeys = crate::auth::passkey::of_user(&mut conn, user_id).await?;
    let sessions = sessions::live_of_user(&mut conn, user_id).await?;
    // The audit rows carry addresses, browsers and details: only for those who may read the
    // region's audit log (not the support desk).
    let recent = if authorize(actor, Action::ViewAudit, Some(user.region_code.as_str())).is_ok() {
        audit::rows_about(&mut conn, "user", &user_id.to_string(), 15).await?
    } else {
        Vec::new()
    };
    let directory = match &user.rpps {
        Some(rpps) => verify::what_it_says(&mut conn, rpps).await?,
        None => None,
    };
    let directory_exception = sqlx::query_scalar!(
        "SELECT directory_exception FROM users WHERE id = $1",
        user_id
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(UserDetail {
        directory,
        directory_exception,
        user,
        locked_until,
        memberships,
        roles,
        cards,
        psc,
        passkeys,
        sessions,
        recent,
    })
}

/// Memberships including deactivated establishments (the console shows them all).
async fn establishments_of_any(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Vec<Establishment>> {
    Ok(sqlx::query_as!(
        Establishment,
        r#"SELECT e.id, e.finess AS "finess: _", e.name, e.city, e.region_code AS "region_code: _"
           FROM memberships m JOIN establishments e ON e.id = m.establishment_id
           WHERE m.user_id = $1 ORDER BY e.name, e.finess"#,
        user_id
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// The new-account form: the regions whose accounts `actor` may create (their establishments are
/// offered). A refusal is audited, like every other console refusal.
pub async fn creation_scope(
    portal: &Portal,
    actor: &Actor,
    call: Call<'_>,
) -> Result<super::Scope> {
    scope_or_deny(
        &portal.pool,
        actor,
        audit::Action::AdminUserNew,
        Action::CreateUser,
        call,
    )
    .await
}

/// A new account as typed in the console (validated by the newtypes).
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: Username,
    pub email: Email,
    pub family_name: String,
    pub given_name: String,
    pub rpps: Option<Rpps>,
    pub region: RegionCode,
    pub establishments: Vec<Finess>,
    /// Why the account is created although the national directory disagrees (it lags behind the
    /// orders' registrations): required then, written in the audit row.
    pub directory_override: Option<String>,
}

pub(crate) fn check_name(field: &'static str, value: &str) -> Result<()> {
    let n = value.trim().chars().count();
    if n == 0 || n > 100 || value.chars().any(char::is_control) {
        return Err(Error::InvalidInput {
            field,
            reason: crate::ids::IdError::Shape,
        });
    }
    Ok(())
}

/// Creates an account pending activation, with its memberships, and queues its activation e-mail.
pub async fn create(
    portal: &Portal,
    actor: &Actor,
    new: &NewAccount,
    call: Call<'_>,
) -> Result<Uuid> {
    let Call { now, .. } = call;
    check_name("family_name", &new.family_name)?;
    check_name("given_name", &new.given_name)?;
    let target = Target {
        kind: "user",
        id: String::new(),
        label: new.username.as_str().to_string(),
        region: Some(new.region.as_str().to_string()),
    };
    if authorize(actor, Action::CreateUser, Some(new.region.as_str())).is_err() {
        return Err(denied(
            &portal.pool,
            actor,
            audit::Action::UserCreate,
            Action::CreateUser,
            Some(&target),
            call,
        )
        .await);
    }
    let mut tx = portal.pool.begin().await?;
    let (directory, exception) = match &new.rpps {
        Some(rpps) => {
            let verdict = verify::check(&mut tx, rpps, &new.family_name, &new.given_name).await?;
            verify::settle(&verdict, new.directory_override.as_deref())?
        }
        None => (json!({ "verified": false, "rpps": null }), None),
    };
    let id = accounts::create_user(
        &mut tx,
        &NewUser {
            username: new.username.clone(),
            email: new.email.clone(),
            family_name: new.family_name.clone(),
            given_name: new.given_name.clone(),
            rpps: new.rpps.clone(),
            region: new.region.clone(),
            status: UserStatus::PendingActivation,
            password_hash: None,
        },
        now,
    )
    .await?;
    if let Some(reason) = &exception {
        // Created although the directory disagrees: linking a card or PSC identity will not
        // be refused for that reason either.
        sqlx::query!(
            "UPDATE users SET directory_exception = $2 WHERE id = $1",
            id,
            reason
        )
        .execute(&mut *tx)
        .await?;
    }
    let finess =
        accounts::attach_by_finess(&mut tx, id, &new.establishments, Some(&new.region), now)
            .await?;
    let mail =
        account_links::issue(&mut tx, &portal.public_origin, id, Purpose::Activation, now).await?;
    let target = Target {
        id: id.to_string(),
        ..target
    };
    audit::record(
        &mut tx,
        event(
            actor,
            audit::Action::UserCreate,
            Outcome::Success,
            Some(&target),
            json!({
                "after": {
                    "username": new.username.as_str(),
                    "email": new.email.as_str(),
                    "family_name": new.family_name.trim(),
                    "given_name": new.given_name.trim(),
                    "rpps": new.rpps.as_ref().map(Rpps::as_str),
                    "status": "pending_activation",
                    "establishments": finess,
                },
                "activation_mail": mail,
                "directory": directory,
            }),
        ),
        call,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The editable identity of an account, with the version the form was opened at.
#[derive(Debug, Clone)]
pub struct Identity {
    pub email: Email,
    pub family_name: String,
    pub given_name: String,
    pub rpps: Option<Rpps>,
    /// For an account without an RPPS: the national identifier (card or Pro Santé Connect) the
    /// holder may link — the only one.
    pub declared_national_id: Option<NationalId>,
    pub version: i32,
}

/// Saves the identity unless someone saved the account since `identity.version` was read.
pub async fn edit(
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    identity: &Identity,
    call: Call<'_>,
) -> Result<()> {
    let Call { now, .. } = call;
    check_name("family_name", &identity.family_name)?;
    check_name("given_name", &identity.given_name)?;
    act_on_user(
        portal,
        actor,
        Action::EditUser,
        audit::Action::UserEdit,
        user_id,
        call,
        async |tx, user| {
            if user.version != identity.version {
                return Err(Error::StaleVersion);
            }
            // Read before the change: the notice goes to the address being replaced.
            let old_address = if user.email.as_str().eq_ignore_ascii_case(identity.email.as_str()) {
                None
            } else {
                crate::mail::recipient(&mut *tx, user.id).await?
            };
            sqlx::query!(
                "UPDATE users SET email = $2, family_name = $3, given_name = $4, rpps = $5,
                    declared_national_id = $7, updated_at = $6, version = version + 1
             WHERE id = $1",
                user.id,
                identity.email.as_str(),
                identity.family_name.trim(),
                identity.given_name.trim(),
                identity.rpps.as_ref().map(Rpps::as_str),
                now,
                identity.declared_national_id.as_ref().map(NationalId::as_str)
            )
            .execute(&mut *tx)
            .await?;
            // An e-mail change is how an account is taken over (change it, then send a reset
            // link): both addresses hear of it, the old one first of all.
            if let Some(old) = old_address {
                let new = crate::mail::Recipient {
                    email: identity.email.clone(),
                    ..old.clone()
                };
                for to in [&old, &new] {
                    let mail = crate::mail::messages::email_changed(to, old.email.as_str(), new.email.as_str());
                    crate::mail::outbox::enqueue(&mut *tx, to, &mail, now).await?;
                }
            }
            let after = json!({
                "email": identity.email.as_str(),
                "family_name": identity.family_name.trim(),
                "given_name": identity.given_name.trim(),
                "rpps": identity.rpps.as_ref().map(Rpps::as_str),
                "declared_national_id": identity.declared_national_id.as_ref().map(NationalId::as_str),
            });
            Ok(((), json!({ "before": user.identity(), "after": after })))
        },
    )
    .await
}

/// Disables the account (its sessions end) or enables it again.
pub async fn set_enabled(
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    enabled: bool,
    call: Call<'_>,
) -> Result<()> {
    let Call { now, .. } = call;
    if actor.user_id == Some(user_id) {
        return Err(Error::OwnAccount);
    }
    let name = if enabled {
        audit::Action::UserEnable
    } else {
        audit::Action::UserDisable
    };
    act_on_user(
        portal,
        actor,
        Action::SetUserStatus,
        name,
        user_id,
        call,
        async |tx, user| {
            let status = match (enabled, user.has_password) {
                (false, _) => UserStatus::Disabled,
                (true, true) => UserStatus::Active,
                (true, false) => UserStatus::PendingActivation,
            };
            set_status(tx, user.id, status, now).await?;
            let ended = if enabled {
                0
            } else {
                sessions::end_all_for_user(tx, user.id, "admin", now).await?
            };
            Ok((
                (),
                json!({
                    "before": { "status": user.status },
                    "after": { "status": status },
                    "sessions_ended": ended,
                }),
            ))
        },
    )
    .await
}

async fn set_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: UserStatus,
    now: OffsetDateTime,
) -> Result<()> {
    // The desk's decision to let the account in again counts as its use: it does not fall
    // dormant the next day for the inactivity before (`auth::dormancy`).
    sqlx::query!(
        "UPDATE users SET status = $2::user_status, updated_at = $3, version = version + 1,
                          kept_active_at = CASE WHEN $2::user_status = 'active' THEN $3 ELSE kept_active_at END,
                          dormancy_warned_at = CASE WHEN $2::user_status = 'active' THEN NULL
                                                    ELSE dormancy_warned_at END
         WHERE id = $1",
        id,
        status as UserStatus,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Lifts the temporary lock after failed sign-ins, and the desk's lock on the account.
pub async fn unlock(portal: &Portal, actor: &Actor, user_id: Uuid, call: Call<'_>) -> Result<()> {
    let Call { now, .. } = call;
    act_on_user(
        portal,
        actor,
        Action::Unlock,
        audit::Action::UserUnlock,
        user_id,
        call,
        async |tx, user| {
            let throttled = throttle::unlock(tx, ThrottleScope::Account, user.username.as_str())
                .await?
                | throttle::unlock(tx, ThrottleScope::EmailCode, user.username.as_str()).await?;
            let status = if user.status == UserStatus::Locked {
                let status = if user.has_password {
                    UserStatus::Active
                } else {
                    UserStatus::PendingActivation
                };
                set_status(tx, user.id, status, now).await?;
                status
            } else {
                user.status
            };
            Ok((
                (),
                json!({
                    "before": { "status": user.status, "temporary_lock": throttled },
                    "after": { "status": status, "temporary_lock": false },
                }),
            ))
        },
    )
    .await
}

/// Accepts (`Some(reason)`) or no longer accepts (`None`) that the national directory disagrees
/// with the account's RPPS or name: with an exception, linking a card or a Pro Santé Connect
/// identity is not refused for it. The reason is kept on the account and in the audit row.
pub async fn set_directory_exception(
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    reason: Option<&str>,
    call: Call<'_>,
) -> Result<()> {
    let reason = reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| r.chars().take(500).collect::<String>());
    let Call { now, .. } = call;
    act_on_user(
        portal,
        actor,
        Action::EditUser,
        audit::Action::UserEdit,
        user_id,
        call,
        async |tx, user| {
            let before = sqlx::query_scalar!(
                "SELECT directory_exception FROM users WHERE id = $1",
                user.id
            )
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query!(
                "UPDATE users SET directory_exception = $2, updated_at = $3, version = version + 1
                 WHERE id = $1",
                user.id,
                reason,
                now
            )
            .execute(&mut *tx)
            .await?;
            Ok((
                (),
                json!({
                    "before": { "directory_exception": before },
                    "after": { "directory_exception": reason },
                }),
            ))
        },
    )
    .await
}

/// E-mails the account its activation link (pending) or a reset link (active).
pub async fn send_link(
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    call: Call<'_>,
) -> Result<Purpose> {
    let Call { now, .. } = call;
    act_on_user(
        portal,
        actor,
        Action::SendLink,
        audit::Action::AccountLinkSent,
        user_id,
        call,
        async |tx, user| {
            let purpose =
                Purpose::for_status(user.status).ok_or(Error::AccountUnavailable(user.status))?;
            let mail =
                account_links::issue(tx, &portal.public_origin, user.id, purpose, now).await?;
            Ok((
                purpose,
                json!({ "purpose": purpose.as_str(), "mail": mail }),
            ))
        },
    )
    .await
}

pub async fn end_sessions(
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    call: Call<'_>,
) -> Result<u64> {
    let Call { now, .. } = call;
    act_on_user(
        portal,
        actor,
        Action::EndSessions,
        audit::Action::UserSessionsEnded,
        user_id,
        call,
        async |tx, user| {
            let n = sessions::end_all_for_user(tx, user.id, "admin", now).await?;
            Ok((n, json!({ "sessions_ended": n })))
        },
    )
    .await
}

/// Unlinks one of the account's cards; the holder is told by e-mail.
pub async fn unlink_card(
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    card_id: Uuid,
    call: Call<'_>,
) -> Result<()> {
    remove_means(
        portal,
        actor,
        Action::UnlinkCard,
        user_id,
        MeansRef::Card(card_id),
        call,
    )
    .await
}

/// Removes a Pro Santé Connect identity from the account (the one-time linking's result); the
/// holder is told by e-mail. PSC then asks for the linking again.
pub async fn unlink_psc(
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    national_id: &str,
    call: Call<'_>,
) -> Result<()> {
    remove_means(
        portal,
        actor,
        Action::UnlinkPsc,
        user_id,
        MeansRef::Psc(national_id.to_string()),
        call,
    )
    .await
}

/// Removes one of the account's passkeys; the holder is told by e-mail.
pub async fn remove_passkey(
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    passkey_id: Uuid,
    call: Call<'_>,
) -> Result<()> {
    remove_means(
        portal,
        actor,
        Action::RemovePasskey,
        user_id,
        MeansRef::Passkey(passkey_id),
        call,
    )
    .await
}

async fn remove_means(
    portal: &Portal,
    actor: &Actor,
    action: Action,
    user_id: Uuid,
    what: MeansRef,
    call: Call<'_>,
) -> Result<()> {
    let Call { now, .. } = call;
    act_on_user(
        portal,
        actor,
        action,
        means::action(what.means()),
        user_id,
        call,
        async |tx, user| {
            let by = actor.user_id.ok_or(Error::Forbidden)?;
            let removed = means::remove_in(tx, user.id, &what, by, now)
                .await?
                .ok_or(Error::NotFound)?;
            means::tell_holder(
                tx,
                user.id,
                std::slice::from_ref(&removed),
                RemovedBy::Desk(&actor.label),
                now,
            )
            .await?;
            Ok(((), json!({ "by": "support", "removed": removed })))
        },
    )
    .await
}

/// What the desk's "compte compromis" action did.
#[derive(Debug, Clone)]
pub struct Secured {
    pub sessions_ended: u64,
    pub removed: usize,
    /// The link sent to the holder: a reset link for an active account, the activation link for
    /// one still pending; none for a locked or disabled account (the desk re-enables it first).
    pub link: Option<Purpose>,
}

/// "Compte compromis", for a holder whose password or means may be in someone else's hands: in
/// one transaction, every session ends; every card, PSC identity, phone and passkey is removed (and the
/// enrolments under way); the pending e-mail code steps and the unused activation or reset links
/// are cancelled; the password stops working (replaced by a random one nobody knows: an active
/// account must have one); the holder is told, and gets a new reset link in their own mailbox.
pub async fn secure_compromised(
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    call: Call<'_>,
) -> Result<Secured> {
    let Call { now, .. } = call;
    if actor.user_id == Some(user_id) {
        return Err(Error::OwnAccount);
    }
    // Hashed before the transaction: no connection waits on Argon2.
    let unknown = portal.passwords.hash_of_nothing().await?;
    act_on_user(
        portal,
        actor,
        Action::SecureAccount,
        audit::Action::AccountCompromised,
        user_id,
        call,
        async |tx, user| {
            let by = actor.user_id.ok_or(Error::Forbidden)?;
            let means::ThrownOut {
                sessions_ended,
                removed,
                code_steps_cancelled: steps,
                links_voided: links,
            } = means::throw_out(tx, user.id, by, "admin", now).await?;
            let password_voided = user.has_password;
            if password_voided {
                sqlx::query!(
                    "UPDATE users SET password_hash = $2, updated_at = $3, version = version + 1
                     WHERE id = $1",
                    user.id,
                    unknown,
                    now
                )
                .execute(&mut *tx)
                .await?;
            }
            if let Some(recipient) = crate::mail::recipient(tx, user.id).await? {
                let message = crate::mail::messages::account_secured(
                    &recipient,
                    &means::descriptions(&removed),
                    &actor.label,
                );
                crate::mail::outbox::enqueue(tx, &recipient, &message, now).await?;
            }
            let link = Purpose::for_status(user.status);
            let mail = match link {
                Some(purpose) => Some(
                    account_links::issue(tx, &portal.public_origin, user.id, purpose, now).await?,
                ),
                None => None,
            };
            let details = json!({
                "sessions_ended": sessions_ended,
                "removed": means::details(&removed),
                "code_steps_cancelled": steps,
                "links_voided": links,
                "password_voided": password_voided,
                "link": link.map(Purpose::as_str),
                "mail": mail,
            });
            Ok((
                Secured {
                    sessions_ended,
                    removed: removed.len(),
                    link,
                },
                details,
            ))
        },
    )
    .await
}

/// Grants `role` on the account's own region (or everywhere, for `national_admin`).
pub async fn grant_role(
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    role: AdminRole,
    call: Call<'_>,
) -> Result<()> {
    let Call { now, .. } = call;
    act_on_user(
        portal,
        actor,
        Action::GrantRole(role),
        audit::Action::RoleGrant,
        user_id,
        call,
        async |tx, user| {
            let region = user.region_code.clone();
            let before = accounts::roles_of(tx, user.id).await?;
            accounts::grant_role(tx, user.id, role, Some(&region), actor.user_id, now).await?;
            let after = accounts::roles_of(tx, user.id).await?;
            Ok((
                (),
                json!({ "role": role, "before": before, "after": after }),
            ))
        },
    )
    .await
}

pub async fn revoke_role(
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    role: AdminRole,
    call: Call<'_>,
) -> Result<()> {
    if actor.user_id == Some(user_id) {
        return Err(Error::OwnAccount);
    }
    act_on_user(
        portal,
        actor,
        Action::GrantRole(role),
        audit::Action::RoleRevoke,
        user_id,
        call,
        async |tx, user| {
            let before = accounts::roles_of(tx, user.id).await?;
            if !accounts::revoke_role(tx, user.id, role).await? {
                return Err(Error::NotFound);
            }
            let after = accounts::roles_of(tx, user.id).await?;
            Ok((
                (),
                json!({ "role": role, "before": before, "after": after }),
            ))
        },
    )
    .await
}

/// Moves an account to another region (national administrators). Its memberships of the old
/// region's establishments and its regional roles cannot follow it: they are removed, and listed
/// in the audit row.
pub async fn change_region(
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    region: &RegionCode,
    version: i32,
    call: Call<'_>,
) -> Result<()> {
    let Call { now, .. } = call;
    if actor.user_id == Some(user_id) {
        return Err(Error::OwnAccount);
    }
    act_on_user(portal, actor, Action::ChangeRegion, audit::Action::UserRegionChange, user_id, call, async |tx, user| {
        if user.version != version {
            return Err(Error::StaleVersion);
        }
        let removed: Vec<String> = sqlx::query_scalar!(
            "DELETE FROM memberships m USING establishments e
             WHERE m.establishment_id = e.id AND m.user_id = $1 AND e.region_code <> $2
             RETURNING e.finess",
            user.id,
            region.as_str()
        )
        .fetch_all(&mut *tx)
        .await?;
        let roles_removed = accounts::revoke_roles_outside(tx, user.id, region).await?;
        sqlx::query!(
            "UPDATE users SET region_code = $2, updated_at = $3, version = version + 1 WHERE id = $1",
            user.id,
            region.as_str(),
            now
        )
        .execute(&mut *tx)
        .await?;
        Ok((
            (),
            json!({
                "before": { "region": user.region_code },
                "after": { "region": region.as_str() },
                "memberships_removed": removed,
                "roles_removed": roles_removed,
            }),
        ))
    })
    .await
}

/// Attaches (`attach = true`) or detaches the account to the establishment of `finess`, which must
/// be of the account's region.
pub async fn set_membership(
    portal: &Portal,
    actor: &Actor,
    user_id: Uuid,
    finess: &Finess,
    attach: bool,
    call: Call<'_>,
) -> Result<bool> {
    let Call { now, .. } = call;
    let name = if attach {
        audit::Action::MembershipAdd
    } else {
        audit::Action::MembershipRemove
    };
    act_on_user(
        portal,
        actor,
        Action::ManageMemberships,
        name,
        user_id,
        call,
        async |tx, user| {
            let e = accounts::establishment_by_finess(tx, finess)
                .await?
                .ok_or(Error::NotFound)?;
            if e.region_code != user.region_code {
                return Err(Error::EstablishmentOutsideRegion);
            }
            let changed = if attach {
                accounts::add_membership(tx, user.id, e.id, now).await?
            } else {
                sqlx::query!(
                    "DELETE FROM memberships WHERE user_id = $1 AND establishment_id = $2",
                    user.id,
                    e.id
                )
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0
            };
            Ok((
                changed,
                json!({ "finess": e.finess, "establishment": e.name, "changed": changed }),
            ))
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::new_v4();
        let c = encode_cursor("leclerc helene", id);
        assert_eq!(decode_cursor(&c), Some(("leclerc helene".into(), id)));
        assert_eq!(decode_cursor("%%%"), None);
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("short")), None);
    }
}
