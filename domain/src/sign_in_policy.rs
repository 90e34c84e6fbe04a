//! The minimum sign-in strength of each role. The French health sector's identification rules
//! ask, for whoever reaches health data or administers accounts, more than a password: the
//! national means (CPS card, e-CPS through Pro Santé Connect) or means of substantial level
//! (here: a passkey, the TIQR app). During a transition the deployment may still accept the
//! password with the e-mailed code, until a date it sets (the pages show the date).
//!
//! A pure rule: [`SignInPolicy::judge`] takes the account's roles, how the session was signed in
//! and the time. The edge applies it to every request: a session that is [`Strength::TooWeak`]
//! reaches only the page explaining how to get a stronger means (and signing out); the console's
//! re-authentication asks for an accepted method too.

use time::OffsetDateTime;

use crate::accounts::AdminRole;
use model::sign_in::Method;

/// The means of substantial level or more (phishing-resistant, or the national ones).
pub const STRONG: [Method; 4] = [Method::Card, Method::Psc, Method::Passkey, Method::Tiqr];

/// What each role needs at least; an empty list accepts any method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInPolicy {
    /// Accounts without an administration role (professionals, staff).
    pub professional: Vec<Method>,
    pub support: Vec<Method>,
    pub regional_admin: Vec<Method>,
    pub national_admin: Vec<Method>,
    /// Until then, the password with the e-mailed code is still accepted where it is not listed.
    pub transition_until: Option<OffsetDateTime>,
}

impl Default for SignInPolicy {
    /// Professionals: any method. The desk and the administrators: a strong means.
    fn default() -> Self {
        Self {
            professional: Vec::new(),
            support: STRONG.to_vec(),
            regional_admin: STRONG.to_vec(),
            national_admin: STRONG.to_vec(),
            transition_until: None,
        }
    }
}

/// What a session's sign-in is worth for its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strength {
    Enough,
    /// Accepted only until `until` (password with the e-mailed code during the transition).
    Transition {
        until: OffsetDateTime,
    },
    /// Not enough for the account's roles: these methods would be.
    TooWeak {
        accepted: Vec<Method>,
    },
}

impl SignInPolicy {
    /// Every role signs in any way (a demonstration, tests of other rules).
    pub fn any() -> Self {
        Self {
            professional: Vec::new(),
            support: Vec::new(),
            regional_admin: Vec::new(),
            national_admin: Vec::new(),
            transition_until: None,
        }
    }

    /// The methods an account with `roles` may sign in with: those every rule that binds it
    /// accepts (the professionals' binds every account — an agent of the desk may also work in an
    /// establishment — and each role's binds its holders). `None`: no rule binds it, any method
    /// will do. `Some` of an empty list: the rules have no method in common, none will do (a
    /// configuration to fix, never read as "any").
    pub fn accepted(&self, roles: &[AdminRole]) -> Option<Vec<Method>> {
        let binding: Vec<&Vec<Method>> = std::iter::once(&self.professional)
            .chain(roles.iter().map(|r| match r {
                AdminRole::Support => &self.support,
                AdminRole::RegionalAdmin => &self.regional_admin,
                AdminRole::NationalAdmin => &self.national_admin,
            }))
            .filter(|l| !l.is_empty())
            .collect();
        let first = binding.first()?;
        Some(
            first
                .iter()
                .copied()
                .filter(|m| binding.iter().all(|l| l.contains(m)))
                .collect(),
        )
    }

    /// Whether the password alone is accepted for an account holding `roles` (the console's
    /// confirmation asks for it only then).
    pub fn accepts_password(&self, roles: &[AdminRole]) -> bool {
        self.accepted(roles)
            .is_none_or(|accepted| accepted.contains(&Method::Password))
    }

    /// Whether a session signed in with `method` is enough for an account holding `roles`.
    pub fn judge(&self, roles: &[AdminRole], method: Method, now: OffsetDateTime) -> Strength {
        let Some(accepted) = self.accepted(roles) else {
            return Strength::Enough;
        };
        if accepted.contains(&method) {
            return Strength::Enough;
        }
        match self.transition_until {
            Some(until) if now < until && method == Method::PasswordEmailCode => {
                Strength::Transition { until }
            }
            _ => Strength::TooWeak { accepted },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-04 09:00 UTC);

    #[test]
    fn professionals_sign_in_any_way_by_default() {
        let p = SignInPolicy::default();
        for m in Method::ALL {
            assert_eq!(p.judge(&[], m, NOW), Strength::Enough, "{m:?}");
        }
    }

    #[test]
    fn the_desk_and_administrators_need_a_strong_means() {
        let p = SignInPolicy::default();
        for role in AdminRole::ALL {
            for m in STRONG {
                assert_eq!(p.judge(&[role], m, NOW), Strength::Enough, "{role:?} {m:?}");
            }
            for m in [Method::Password, Method::PasswordEmailCode] {
                assert_eq!(
                    p.judge(&[role], m, NOW),
                    Strength::TooWeak {
                        accepted: STRONG.to_vec()
                    },
                    "{role:?} {m:?}"
                );
            }
        }
    }

    #[test]
    fn the_transition_accepts_the_e_mailed_code_until_its_date_only() {
        let until = datetime!(2027-06-30 22:00 UTC);
        let p = SignInPolicy {
            transition_until: Some(until),
            ..SignInPolicy::default()
        };
        let desk = [AdminRole::Support];
        assert_eq!(
            p.judge(&desk, Method::PasswordEmailCode, NOW),
            Strength::Transition { until }
        );
        // The password alone never.
        assert!(matches!(
            p.judge(&desk, Method::Password, NOW),
            Strength::TooWeak { .. }
        ));
        assert!(matches!(
            p.judge(&desk, Method::PasswordEmailCode, until),
            Strength::TooWeak { .. }
        ));
    }

    #[test]
    fn several_roles_need_what_each_accepts() {
        let p = SignInPolicy {
            support: vec![Method::Card, Method::Tiqr, Method::Passkey],
            regional_admin: vec![Method::Card, Method::Psc],
            ..SignInPolicy::default()
        };
        let both = [AdminRole::Support, AdminRole::RegionalAdmin];
        assert_eq!(p.accepted(&both), Some(vec![Method::Card]));
        assert_eq!(p.judge(&both, Method::Card, NOW), Strength::Enough);
        assert!(matches!(
            p.judge(&both, Method::Tiqr, NOW),
            Strength::TooWeak { .. }
        ));
        // Two roles with nothing in common: nothing will do (never "any").
        let disjoint = SignInPolicy {
            support: vec![Method::Tiqr, Method::Passkey],
            regional_admin: vec![Method::Card, Method::Psc],
            ..SignInPolicy::default()
        };
        assert_eq!(disjoint.accepted(&both), Some(vec![]));
        for m in Method::ALL {
            assert!(
                matches!(disjoint.judge(&both, m, NOW), Strength::TooWeak { .. }),
                "{m:?}"
            );
        }
        assert!(!disjoint.accepts_password(&both));
        // The professionals' list binds every account, the desk's agents included.
        let strict = SignInPolicy {
            professional: vec![Method::Card, Method::Psc],
            support: Vec::new(),
            ..SignInPolicy::default()
        };
        assert!(matches!(
            strict.judge(&[], Method::Password, NOW),
            Strength::TooWeak { .. }
        ));
        assert!(matches!(
            strict.judge(&[AdminRole::Support], Method::Tiqr, NOW),
            Strength::TooWeak { .. }
        ));
        assert_eq!(
            strict.judge(&[AdminRole::Support], Method::Psc, NOW),
            Strength::Enough
        );
        assert!(SignInPolicy::any().accepts_password(&both));
        assert!(SignInPolicy::default().accepts_password(&[]));
    }
}
