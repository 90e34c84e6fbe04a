//! Why a new password is not accepted.

use serde::{Deserialize, Serialize};

/// Why a password is not accepted (the rules are in the domain's `password_policy`); each has its
/// French message on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weakness {
    TooShort,
    TooLong,
    Common,
    ContainsUsername,
    /// The confirmation differs from the password.
    Mismatch,
}

impl Weakness {
    pub const ALL: [Weakness; 5] = [
        Weakness::TooShort,
        Weakness::TooLong,
        Weakness::Common,
        Weakness::ContainsUsername,
        Weakness::Mismatch,
    ];
}
