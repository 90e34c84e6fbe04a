//! What an account is and what powers it holds.

use serde::{Deserialize, Serialize};

/// Where an account stands. Stored as the PostgreSQL enum `user_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(
    feature = "sqlx",
    sqlx(type_name = "user_status", rename_all = "snake_case")
)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    PendingActivation,
    Active,
    /// Locked by the support desk (not the temporary lock after failures, which lives in
    /// `auth_throttle`).
    Locked,
    Disabled,
    /// Not used for `[policy] inactive_days`: signs in again only after a link e-mailed to the
    /// holder (`domain::auth::dormancy`).
    Dormant,
}

impl UserStatus {
    pub const ALL: [UserStatus; 5] = [
        UserStatus::PendingActivation,
        UserStatus::Active,
        UserStatus::Locked,
        UserStatus::Disabled,
        UserStatus::Dormant,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::PendingActivation => "pending_activation",
            UserStatus::Active => "active",
            UserStatus::Locked => "locked",
            UserStatus::Disabled => "disabled",
            UserStatus::Dormant => "dormant",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A power in the administration console, held in one region (or, for the national
/// administrator, in all). Stored as the PostgreSQL enum `admin_role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(
    feature = "sqlx",
    sqlx(type_name = "admin_role", rename_all = "snake_case")
)]
#[serde(rename_all = "snake_case")]
pub enum AdminRole {
    Support,
    RegionalAdmin,
    NationalAdmin,
}

impl AdminRole {
    pub const ALL: [AdminRole; 3] = [
        AdminRole::Support,
        AdminRole::RegionalAdmin,
        AdminRole::NationalAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::Support => "support",
            AdminRole::RegionalAdmin => "regional_admin",
            AdminRole::NationalAdmin => "national_admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in UserStatus::ALL {
            assert_eq!(UserStatus::parse(s.as_str()), Some(s));
        }
        for r in AdminRole::ALL {
            assert_eq!(AdminRole::parse(r.as_str()), Some(r));
        }
        assert_eq!(UserStatus::parse("unknown"), None);
    }
}
