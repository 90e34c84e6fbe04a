//! Creating accounts and establishments outside the admin console: the `passerelle user create`
//! command and the demo data. Each creation is audited in its own transaction.

use crate::call::Call;
use serde_json::json;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::{self, AdminRole, NewUser, UserStatus};
use crate::audit::{self, Client, Event, Outcome};
use crate::error::{Error, Result};
use crate::ids::{Email, Finess, RegionCode, Rpps, Username};
use crate::password::Passwords;

/// An account to create, as typed on the command line.
#[derive(Debug, Clone)]
pub struct AccountSpec {
    pub username: Username,
    pub email: Email,
    pub family_name: String,
    pub given_name: String,
    pub rpps: Option<Rpps>,
    pub region: RegionCode,
    /// `None` leaves the account pending activation.
    pub password: Option<String>,
    pub role: Option<AdminRole>,
    pub establishments: Vec<Finess>,
}

/// Minimum password length accepted from the command line (NIST SP 800-63B: length first).
pub const MIN_PASSWORD_LEN: usize = 12;

/// Creates an account. Without a password it is pending activation, and its activation e-mail
/// (link to `public_origin`) goes to the outbox in the same transaction.
pub async fn create_account(
    pool: &PgPool,
    passwords: &Passwords,
    spec: &AccountSpec,
    actor: &str,
    public_origin: &str,
    now: OffsetDateTime,
) -> Result<Uuid> {
    let password_hash = match &spec.password {
        Some(p) if p.chars().count() < MIN_PASSWORD_LEN => {
            return Err(Error::InvalidInput {
                field: "password",
                reason: crate::ids::IdError::Shape,
            });
        }
        Some(p) => Some(passwords.hash(p)?),
        None => None,
    };
    let mut tx = pool.begin().await?;
    let user = NewUser {
        username: spec.username.clone(),
        email: spec.email.clone(),
        family_name: spec.family_name.clone(),
        given_name: spec.given_name.clone(),
        rpps: spec.rpps.clone(),
        region: spec.region.clone(),
        status: if password_hash.is_some() {
            UserStatus::Active
        } else {
            UserStatus::PendingActivation
        },
        password_hash,
    };
    let id = accounts::create_user(&mut tx, &user, now).await?;
    let finess = accounts::attach_by_finess(&mut tx, id, &spec.establishments, None, now).await?;
    if let Some(role) = spec.role {
        accounts::grant_role(&mut tx, id, role, Some(&spec.region), None, now).await?;
    }
    if user.status == UserStatus::PendingActivation {
        crate::auth::account_links::issue(
            &mut tx,
            public_origin,
            id,
            crate::auth::account_links::Purpose::Activation,
            now,
        )
        .await?;
    }
    audit::record(
        &mut tx,
        Event::new(audit::Action::UserCreate, Outcome::Success, actor)
            .target("user", id.to_string(), spec.username.as_str())
            .region(spec.region.as_str())
            .details(json!({
                "status": if user.status == UserStatus::Active { "active" } else { "pending_activation" },
                "role": spec.role.map(AdminRole::as_str),
                "establishments": finess,
            })),
        Call::new(&Client::default(), now),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// How an account (created by the command line) signs in beyond its password: the e-mail code
/// always, and the national identity its one-time linking accepts (for an account without an
/// RPPS). Audited.
pub async fn set_sign_in_rules(
    pool: &PgPool,
    user_id: Uuid,
    otp_required: bool,
    declared_national_id: Option<&crate::ids::NationalId>,
    actor: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        "UPDATE users SET otp_required = $2, declared_national_id = $3, updated_at = $4,
                version = version + 1
         WHERE id = $1 RETURNING username, region_code",
        user_id,
        otp_required,
        declared_national_id.map(crate::ids::NationalId::as_str),
        now
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound)?;
    audit::record(
        &mut tx,
        Event::new(audit::Action::UserSignInRules, Outcome::Success, actor)
            .target("user", user_id.to_string(), &row.username)
            .region(&row.region_code)
            .details(json!({
                "otp_required": otp_required,
                "declared_national_id": declared_national_id.map(crate::ids::NationalId::as_str),
            })),
        Call::new(&Client::default(), now),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn create_establishment(
    pool: &PgPool,
    finess: &Finess,
    name: &str,
    city: &str,
    region: &RegionCode,
    actor: &str,
    now: OffsetDateTime,
) -> Result<Uuid> {
    finess
        .check_region(region)
        .map_err(|reason| Error::InvalidInput {
            field: "finess",
            reason,
        })?;
    let mut tx = pool.begin().await?;
    let id = accounts::create_establishment(&mut tx, finess, name, city, region, now).await?;
    audit::record(
        &mut tx,
        Event::new(audit::Action::EstablishmentCreate, Outcome::Success, actor)
            .target("establishment", finess.as_str(), name)
            .region(region.as_str()),
        Call::new(&Client::default(), now),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}
