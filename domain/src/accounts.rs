//! Accounts, establishments, memberships, roles and regions: the records every flow reads.

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::Result;
use crate::ids::{Email, Finess, RegionCode, Rpps, Username};

pub use model::account::{AdminRole, UserStatus};

/// What sign-in needs to know about an account.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub id: Uuid,
    pub username: Username,
    pub region_code: RegionCode,
    pub status: UserStatus,
    pub password_hash: Option<String>,
    /// This account always needs the e-mail code after its password.
    pub otp_required: bool,
}

pub async fn credentials_by_username(
    conn: &mut PgConnection,
    username: &Username,
) -> Result<Option<Credentials>> {
    Ok(sqlx::query_as!(
        Credentials,
        r#"SELECT id, username AS "username: _", region_code AS "region_code: _", status AS "status: UserStatus", password_hash, otp_required
           FROM users WHERE username = $1"#,
        username.as_str()
    )
    .fetch_optional(&mut *conn)
    .await?)
}

pub async fn set_password_hash(
    conn: &mut PgConnection,
    user_id: Uuid,
    hash: &str,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query!(
        "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1",
        user_id,
        hash,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A new account, validated.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub email: Email,
    pub family_name: String,
    pub given_name: String,
    pub rpps: Option<Rpps>,
    pub region: RegionCode,
    pub status: UserStatus,
    pub password_hash: Option<String>,
}

pub async fn create_user(
    conn: &mut PgConnection,
    user: &NewUser,
    now: OffsetDateTime,
) -> Result<Uuid> {
    let id = Uuid::new_v4();
    sqlx::query!(
        r#"INSERT INTO users (id, username, email, family_name, given_name, rpps, region_code, status, password_hash, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)"#,
        id,
        user.username.as_str(),
        user.email.as_str(),
        user.family_name.trim(),
        user.given_name.trim(),
        user.rpps.as_ref().map(Rpps::as_str),
        user.region.as_str(),
        user.status as UserStatus,
        user.password_hash,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Creates the accounts of `users` in one statement (the bulk import); returns their ids, in
/// order.
pub async fn create_users(
    conn: &mut PgConnection,
    users: &[NewUser],
    now: OffsetDateTime,
) -> Result<Vec<Uuid>> {
    let ids: Vec<Uuid> = users.iter().map(|_| Uuid::new_v4()).collect();
    let column = |f: fn(&NewUser) -> &str| users.iter().map(f).collect::<Vec<&str>>();
    let usernames = column(|u| u.username.as_str());
    let emails = column(|u| u.email.as_str());
    let family_names = column(|u| u.family_name.trim());
    let given_names = column(|u| u.given_name.trim());
    let rpps: Vec<Option<&str>> = users
        .iter()
        .map(|u| u.rpps.as_ref().map(Rpps::as_str))
        .collect();
    let regions = column(|u| u.region.as_str());
    let statuses: Vec<UserStatus> = users.iter().map(|u| u.status).collect();
    let hashes: Vec<Option<&str>> = users.iter().map(|u| u.password_hash.as_deref()).collect();
    // Nullable columns travel as arrays with NULLs, which `query!` cannot type-check (`as _`).
    sqlx::query!(
        r#"INSERT INTO users (id, username, email, family_name, given_name, rpps, region_code, status, password_hash, created_at, updated_at)
           SELECT id, username, email, family_name, given_name, rpps, region_code, status, password_hash, $10, $10
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                       $8::user_status[], $9::text[])
             AS t(id, username, email, family_name, given_name, rpps, region_code, status, password_hash)"#,
        &ids,
        &usernames as &[&str],
        &emails as &[&str],
        &family_names as &[&str],
        &given_names as &[&str],
        &rpps as _,
        &regions as &[&str],
        &statuses as _,
        &hashes as _,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(ids)
}

pub async fn user_id_by_username(
    conn: &mut PgConnection,
    username: &Username,
) -> Result<Option<Uuid>> {
    Ok(sqlx::query_scalar!(
        "SELECT id FROM users WHERE username = $1",
        username.as_str()
    )
    .fetch_optional(&mut *conn)
    .await?)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Establishment {
    pub id: Uuid,
    pub finess: Finess,
    pub name: String,
    pub city: String,
    pub region_code: RegionCode,
}

pub async fn create_establishment(
    conn: &mut PgConnection,
    finess: &Finess,
    name: &str,
    city: &str,
    region: &RegionCode,
    now: OffsetDateTime,
) -> Result<Uuid> {
    let id = Uuid::new_v4();
    sqlx::query!(
        "INSERT INTO establishments (id, finess, name, city, region_code, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        id,
        finess.as_str(),
        name.trim(),
        city.trim(),
        region.as_str(),
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

pub async fn establishment_by_finess(
    conn: &mut PgConnection,
    finess: &Finess,
) -> Result<Option<Establishment>> {
    Ok(sqlx::query_as!(
        Establishment,
        r#"SELECT id, finess AS "finess: _", name, city, region_code AS "region_code: _" FROM establishments WHERE finess = $1"#,
        finess.as_str()
    )
    .fetch_optional(&mut *conn)
    .await?)
}

pub async fn add_membership(
    conn: &mut PgConnection,
    user_id: Uuid,
    establishment_id: Uuid,
    now: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query!(
        "INSERT INTO memberships (user_id, establishment_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        user_id,
        establishment_id,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Adds the memberships `(user_id, establishment_id)` in one statement (those held already are
/// left as they are); returns how many were added.
pub async fn add_memberships(
    conn: &mut PgConnection,
    pairs: &[(Uuid, Uuid)],
    now: OffsetDateTime,
) -> Result<u64> {
    let users: Vec<Uuid> = pairs.iter().map(|(u, _)| *u).collect();
    let establishments: Vec<Uuid> = pairs.iter().map(|(_, e)| *e).collect();
    let done = sqlx::query!(
        "INSERT INTO memberships (user_id, establishment_id, created_at)
         SELECT u, e, $3 FROM unnest($1::uuid[], $2::uuid[]) AS t(u, e)
         ON CONFLICT DO NOTHING",
        &users,
        &establishments,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Attaches a new account to the establishments of `finess` (each must exist; with `region`, each
/// must be of that region) and returns their FINESS numbers, for the audit row.
pub async fn attach_by_finess(
    conn: &mut PgConnection,
    user_id: Uuid,
    finess: &[Finess],
    region: Option<&RegionCode>,
    now: OffsetDateTime,
) -> Result<Vec<Finess>> {
    let mut attached = Vec::new();
    for f in finess {
        let e = establishment_by_finess(conn, f)
            .await?
            .ok_or(crate::Error::NotFound)?;
        if region.is_some_and(|r| *r != e.region_code) {
            return Err(crate::Error::EstablishmentOutsideRegion);
        }
        add_membership(conn, user_id, e.id, now).await?;
        attached.push(e.finess);
    }
    Ok(attached)
}

/// The active establishments a user belongs to, by name.
pub async fn establishments_of(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Vec<Establishment>> {
    Ok(sqlx::query_as!(
        Establishment,
        r#"SELECT e.id, e.finess AS "finess: _", e.name, e.city, e.region_code AS "region_code: _"
           FROM memberships m JOIN establishments e ON e.id = m.establishment_id
           WHERE m.user_id = $1 AND e.active
           ORDER BY e.name, e.finess"#,
        user_id
    )
    .fetch_all(&mut *conn)
    .await?)
}

pub async fn grant_role(
    conn: &mut PgConnection,
    user_id: Uuid,
    role: AdminRole,
    region: Option<&RegionCode>,
    granted_by: Option<Uuid>,
    now: OffsetDateTime,
) -> Result<()> {
    grant_role_to_many(conn, &[user_id], role, region, granted_by, now).await
}

/// Grants `role` (in `region`, except the national role) to each of `user_ids`, in one statement;
/// a role already held stays as it was.
pub async fn grant_role_to_many(
    conn: &mut PgConnection,
    user_ids: &[Uuid],
    role: AdminRole,
    region: Option<&RegionCode>,
    granted_by: Option<Uuid>,
    now: OffsetDateTime,
) -> Result<()> {
    let region = if role == AdminRole::NationalAdmin {
        None
    } else {
        region.map(RegionCode::as_str)
    };
    sqlx::query!(
        r#"INSERT INTO admin_roles (user_id, role, region_code, granted_at, granted_by)
           SELECT u, $2, $3, $4, $5 FROM unnest($1::uuid[]) AS t(u)
           ON CONFLICT DO NOTHING"#,
        user_ids,
        role as AdminRole,
        region,
        now,
        granted_by
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoleGrant {
    pub role: AdminRole,
    pub region_code: Option<RegionCode>,
}

pub async fn roles_of(conn: &mut PgConnection, user_id: Uuid) -> Result<Vec<RoleGrant>> {
    Ok(sqlx::query_as!(
        RoleGrant,
        r#"SELECT role AS "role: AdminRole", region_code AS "region_code: _" FROM admin_roles WHERE user_id = $1 ORDER BY role, region_code"#,
        user_id
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// The roles of several accounts at once (the import's check of a whole file).
pub async fn roles_of_many(
    conn: &mut PgConnection,
    user_ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Vec<RoleGrant>>> {
    let mut roles: std::collections::HashMap<Uuid, Vec<RoleGrant>> = Default::default();
    for r in sqlx::query!(
        r#"SELECT user_id, role AS "role: AdminRole", region_code AS "region_code: RegionCode"
           FROM admin_roles WHERE user_id = ANY($1)"#,
        user_ids
    )
    .fetch_all(&mut *conn)
    .await?
    {
        roles.entry(r.user_id).or_default().push(RoleGrant {
            role: r.role,
            region_code: r.region_code,
        });
    }
    Ok(roles)
}

/// Takes `role` away from the account; false when it did not hold it.
pub async fn revoke_role(conn: &mut PgConnection, user_id: Uuid, role: AdminRole) -> Result<bool> {
    let done = sqlx::query!(
        "DELETE FROM admin_roles WHERE user_id = $1 AND role = $2",
        user_id,
        role as AdminRole
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Takes away the account's regional roles held in another region than `region` (it moves
/// there); how many.
pub async fn revoke_roles_outside(
    conn: &mut PgConnection,
    user_id: Uuid,
    region: &RegionCode,
) -> Result<u64> {
    Ok(sqlx::query!(
        "DELETE FROM admin_roles WHERE user_id = $1 AND region_code IS NOT NULL AND region_code <> $2",
        user_id,
        region.as_str()
    )
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Region {
    pub code: String,
    pub name: String,
    pub agency_name: String,
    pub agency_url: String,
    pub support_email: String,
    pub support_phone: String,
    pub support_hours: String,
}

pub async fn regions(pool: &PgPool) -> Result<Vec<Region>> {
    Ok(sqlx::query_as!(
        Region,
        "SELECT code, name, agency_name, agency_url, support_email, support_phone, support_hours FROM regions ORDER BY name"
    )
    .fetch_all(pool)
    .await?)
}

pub async fn region(pool: &PgPool, code: &str) -> Result<Option<Region>> {
    Ok(sqlx::query_as!(
        Region,
        "SELECT code, name, agency_name, agency_url, support_email, support_phone, support_hours FROM regions WHERE code = $1",
        code
    )
    .fetch_optional(pool)
    .await?)
}

/// What the card flows need to know about an account.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: Uuid,
    pub username: Username,
    pub region_code: RegionCode,
    pub status: UserStatus,
    pub rpps: Option<Rpps>,
    /// The names the national directory is compared with when a card or PSC identity is linked.
    pub family_name: String,
    pub given_name: String,
}

pub async fn account(conn: &mut PgConnection, id: Uuid) -> Result<Option<Account>> {
    Ok(sqlx::query_as!(
        Account,
        r#"SELECT id, username AS "username: _", region_code AS "region_code: _", status AS "status: UserStatus", rpps AS "rpps: _",
                  family_name, given_name
           FROM users WHERE id = $1"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// The national identity the desk declared for an account without an RPPS (the only one the
/// one-time linking accepts for it).
pub async fn declared_national_id(conn: &mut PgConnection, id: Uuid) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar!("SELECT declared_national_id FROM users WHERE id = $1", id)
            .fetch_optional(&mut *conn)
            .await?
            .flatten(),
    )
}

/// Records the RPPS read from the account's own validated card, only if the account has none
/// (two cards linked at once must not overwrite each other); false when it already had one.
pub async fn set_rpps_if_none(
    conn: &mut PgConnection,
    id: Uuid,
    rpps: &Rpps,
    now: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query!(
        "UPDATE users SET rpps = $2, updated_at = $3, version = version + 1
         WHERE id = $1 AND rpps IS NULL",
        id,
        rpps.as_str(),
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
