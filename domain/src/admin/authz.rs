//! Who may do what in the admin console, in one function: `authorize(actor, action, region)`.
//!
//! The roles (ARCHITECTURE.md, "Regional administration"): `support` (per region) finds and helps accounts; `regional_admin` (per region)
//! also creates and edits accounts, memberships and establishments, imports, reads the audit log
//! and grants `support`; `national_admin` does everything in every region. Every console query and
//! action asks this module first, with the region of the data it touches, read from the database,
//! never from the page.

use serde::Serialize;
use sqlx::PgConnection;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::accounts::{self, AdminRole, RoleGrant};
use crate::error::{Error, Result};
use crate::ids::RegionCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Action {
    /// List, search and open accounts.
    ViewUsers,
    Unlock,
    SendLink,
    EndSessions,
    UnlinkCard,
    /// Remove a Pro Santé Connect identity linked to an account (the same trust as unlinking a
    /// card: both take a means away, neither gives one).
    UnlinkPsc,
    /// Remove a passkey from an account (a lost phone, a key left behind).
    RemovePasskey,
    /// "Compte compromis": end every session, remove every card, PSC identity, phone and passkey, cancel
    /// what is pending, void the password and send a reset link to the holder's own mailbox.
    SecureAccount,
    /// Revoke or unblock a TIQR enrollment.
    RevokeTiqr,
    /// Start a TIQR enrollment for an account whose holder is at the desk: it issues a credential,
    /// so it is named apart from revoking one (the refusals' audit rows say which).
    EnrollTiqr,
    CreateUser,
    EditUser,
    SetUserStatus,
    /// Move an account to another region (national administrators only).
    ChangeRegion,
    ManageMemberships,
    ViewEstablishments,
    ManageEstablishments,
    ImportUsers,
    ViewAudit,
    ExportAudit,
    /// Grant or revoke the given role.
    GrantRole(AdminRole),
    /// Load the national directory and see the accounts it does not know (national
    /// administrators only: it is the whole country's).
    LoadDirectory,
    /// Write, publish and delete the news items of a region (`None`: the national ones).
    ManageNews,
    /// See the region's dormant accounts (and those about to be) and keep one active.
    KeepActive,
}

impl Action {
    /// Every action, for the authorisation matrix (tests) and the audit of refusals.
    pub const ALL: [Action; 26] = [
        Action::ViewUsers,
        Action::Unlock,
        Action::SendLink,
        Action::EndSessions,
        Action::UnlinkCard,
        Action::UnlinkPsc,
        Action::RemovePasskey,
        Action::SecureAccount,
        Action::RevokeTiqr,
        Action::EnrollTiqr,
        Action::CreateUser,
        Action::EditUser,
        Action::SetUserStatus,
        Action::ChangeRegion,
        Action::ManageMemberships,
        Action::ViewEstablishments,
        Action::ManageEstablishments,
        Action::ImportUsers,
        Action::ViewAudit,
        Action::ExportAudit,
        Action::GrantRole(AdminRole::Support),
        Action::GrantRole(AdminRole::RegionalAdmin),
        Action::GrantRole(AdminRole::NationalAdmin),
        Action::LoadDirectory,
        Action::ManageNews,
        Action::KeepActive,
    ];

    /// The least role that may do this (in its region; `NationalAdmin` means anywhere).
    fn least_role(self) -> AdminRole {
        match self {
            Action::ViewUsers
            | Action::Unlock
            | Action::SendLink
            | Action::EndSessions
            | Action::UnlinkCard
            | Action::UnlinkPsc
            | Action::RemovePasskey
            | Action::SecureAccount
            | Action::RevokeTiqr
            | Action::EnrollTiqr
            | Action::ViewEstablishments => AdminRole::Support,
            Action::CreateUser
            | Action::EditUser
            | Action::SetUserStatus
            | Action::ManageMemberships
            | Action::ManageEstablishments
            | Action::ImportUsers
            | Action::ViewAudit
            | Action::ExportAudit
            | Action::ManageNews
            | Action::KeepActive
            | Action::GrantRole(AdminRole::Support) => AdminRole::RegionalAdmin,
            Action::ChangeRegion
            | Action::LoadDirectory
            | Action::GrantRole(AdminRole::RegionalAdmin | AdminRole::NationalAdmin) => {
                AdminRole::NationalAdmin
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Action::ViewUsers => "view_users",
            Action::Unlock => "unlock",
            Action::SendLink => "send_link",
            Action::EndSessions => "end_sessions",
            Action::UnlinkCard => "unlink_card",
            Action::UnlinkPsc => "unlink_psc",
            Action::RemovePasskey => "remove_passkey",
            Action::SecureAccount => "secure_account",
            Action::RevokeTiqr => "revoke_tiqr",
            Action::EnrollTiqr => "enroll_tiqr",
            Action::CreateUser => "create_user",
            Action::EditUser => "edit_user",
            Action::SetUserStatus => "set_user_status",
            Action::ChangeRegion => "change_region",
            Action::ManageMemberships => "manage_memberships",
            Action::ViewEstablishments => "view_establishments",
            Action::ManageEstablishments => "manage_establishments",
            Action::ImportUsers => "import_users",
            Action::ViewAudit => "view_audit",
            Action::ExportAudit => "export_audit",
            Action::GrantRole(AdminRole::Support) => "grant_support",
            Action::GrantRole(AdminRole::RegionalAdmin) => "grant_regional_admin",
            Action::GrantRole(AdminRole::NationalAdmin) => "grant_national_admin",
            Action::LoadDirectory => "load_directory",
            Action::ManageNews => "manage_news",
            Action::KeepActive => "keep_active",
        }
    }
}

fn rank(role: AdminRole) -> u8 {
    match role {
        AdminRole::Support => 1,
        AdminRole::RegionalAdmin => 2,
        AdminRole::NationalAdmin => 3,
    }
}

/// Whoever asks the console for something: a signed-in user with their grants, or nobody.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<Uuid>,
    /// Username, or `anonyme`.
    pub label: String,
    pub grants: Vec<RoleGrant>,
}

/// Which regions a query may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Regions(Vec<String>),
}

impl Scope {
    /// For SQL: `NULL` (every region) or the list.
    pub fn regions(&self) -> Option<&[String]> {
        match self {
            Scope::All => None,
            Scope::Regions(r) => Some(r),
        }
    }

    pub fn contains(&self, region: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Regions(r) => r.iter().any(|c| c == region),
        }
    }
}

impl Actor {
    pub fn anonymous() -> Self {
        Self {
            user_id: None,
            label: "anonyme".into(),
            grants: Vec::new(),
        }
    }

    /// The signed-in user's grants, read from the database at each request (a revoked role stops
    /// working at once). `authenticated_at` is the session's last strong authentication: the
    /// console asks for the password again once it is older than `max_age`, or when the session
    /// has none (`None`: signed in with a phone enrolled too recently, `sessions::not_strong`).
    pub async fn load(
        conn: &mut PgConnection,
        user_id: Uuid,
        username: &str,
        authenticated_at: Option<OffsetDateTime>,
        max_age: Duration,
        now: OffsetDateTime,
    ) -> Result<Self> {
        let grants = accounts::roles_of(conn, user_id).await?;
        if !grants.is_empty() && authenticated_at.is_none_or(|t| now - t > max_age) {
            return Err(Error::ReauthenticationRequired);
        }
        Ok(Self {
            user_id: Some(user_id),
            label: username.to_string(),
            grants,
        })
    }

    /// The highest role, for the audit rows.
    pub fn role(&self) -> Option<AdminRole> {
        self.grants.iter().map(|g| g.role).max_by_key(|r| rank(*r))
    }

    pub fn is_admin(&self) -> bool {
        !self.grants.is_empty()
    }

    /// The regions where this actor may do `action` (`None`: nowhere).
    pub fn scope(&self, action: Action) -> Option<Scope> {
        let least = rank(action.least_role());
        let mut regions = Vec::new();
        for g in &self.grants {
            if rank(g.role) < least {
                continue;
            }
            match (&g.role, &g.region_code) {
                (AdminRole::NationalAdmin, _) => return Some(Scope::All),
                (_, Some(r)) => regions.push(r.to_string()),
                (_, None) => {}
            }
        }
        regions.sort();
        regions.dedup();
        (!regions.is_empty()).then_some(Scope::Regions(regions))
    }

    /// The regions the console offers in its forms (where the actor may create accounts, or at
    /// least look).
    pub fn regions(&self) -> Scope {
        self.scope(Action::ViewUsers)
            .unwrap_or(Scope::Regions(Vec::new()))
    }
}

/// The one authorisation rule: may `actor` do `action` on data of `region`? `None` asks for
/// "every region" (a national query), which only a national administrator may make.
pub fn authorize(actor: &Actor, action: Action, region: Option<&str>) -> Result<()> {
    let allowed = match (actor.scope(action), region) {
        (Some(Scope::All), _) => true,
        (Some(scope), Some(region)) => scope.contains(region),
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// Acting on an account that itself holds roles needs the power to grant those roles: a support
/// desk cannot reset an administrator's password, nor a regional administrator edit a national
/// administrator's e-mail (either would be a way to take the account over).
pub fn authorize_on_user(
    actor: &Actor,
    action: Action,
    user_region: &str,
    user_roles: &[RoleGrant],
) -> Result<()> {
    authorize(actor, action, Some(user_region))?;
    if action == Action::ViewUsers {
        return Ok(());
    }
    for g in user_roles {
        let region = g
            .region_code
            .as_ref()
            .map(RegionCode::as_str)
            .or(Some(user_region));
        let region = if g.role == AdminRole::NationalAdmin {
            None
        } else {
            region
        };
        authorize(actor, Action::GrantRole(g.role), region)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(grants: &[(AdminRole, Option<&str>)]) -> Actor {
        Actor {
            user_id: Some(Uuid::nil()),
            label: "t".into(),
            grants: grants
                .iter()
                .map(|(role, r)| RoleGrant {
                    role: *role,
                    region_code: r.map(|r| RegionCode::parse(r).unwrap()),
                })
                .collect(),
        }
    }

    #[test]
    fn support_helps_only_in_its_region() {
        let a = actor(&[(AdminRole::Support, Some("FR-IDF"))]);
        assert!(authorize(&a, Action::Unlock, Some("FR-IDF")).is_ok());
        assert!(authorize(&a, Action::Unlock, Some("FR-ARA")).is_err());
        assert!(authorize(&a, Action::Unlock, None).is_err());
        for action in [
            Action::CreateUser,
            Action::EditUser,
            Action::ViewAudit,
            Action::ImportUsers,
            Action::GrantRole(AdminRole::Support),
        ] {
            assert!(authorize(&a, action, Some("FR-IDF")).is_err(), "{action:?}");
        }
    }

    #[test]
    fn regional_admin_grants_support_only() {
        let a = actor(&[(AdminRole::RegionalAdmin, Some("FR-IDF"))]);
        assert!(authorize(&a, Action::GrantRole(AdminRole::Support), Some("FR-IDF")).is_ok());
        assert!(
            authorize(
                &a,
                Action::GrantRole(AdminRole::RegionalAdmin),
                Some("FR-IDF")
            )
            .is_err()
        );
        assert!(authorize(&a, Action::ChangeRegion, Some("FR-IDF")).is_err());
        assert!(authorize(&a, Action::ViewAudit, Some("FR-ARA")).is_err());
    }

    #[test]
    fn national_admin_everywhere_and_nobody_else() {
        let n = actor(&[(AdminRole::NationalAdmin, None)]);
        let nobody = actor(&[]);
        for action in Action::ALL {
            assert!(authorize(&n, action, None).is_ok());
            assert!(authorize(&n, action, Some("FR-GP")).is_ok());
            assert!(authorize(&nobody, action, Some("FR-IDF")).is_err());
            assert!(authorize(&Actor::anonymous(), action, None).is_err());
        }
    }

    #[test]
    fn acting_on_an_administrator_needs_the_power_to_grant_their_role() {
        let support = actor(&[(AdminRole::Support, Some("FR-IDF"))]);
        let regional = actor(&[(AdminRole::RegionalAdmin, Some("FR-IDF"))]);
        let target_support = [RoleGrant {
            role: AdminRole::Support,
            region_code: Some(RegionCode::parse("FR-IDF").unwrap()),
        }];
        let target_national = [RoleGrant {
            role: AdminRole::NationalAdmin,
            region_code: None,
        }];
        assert!(authorize_on_user(&support, Action::SendLink, "FR-IDF", &target_support).is_err());
        assert!(authorize_on_user(&support, Action::ViewUsers, "FR-IDF", &target_support).is_ok());
        assert!(authorize_on_user(&regional, Action::SendLink, "FR-IDF", &target_support).is_ok());
        assert!(
            authorize_on_user(&regional, Action::EditUser, "FR-IDF", &target_national).is_err()
        );
    }
}
