//! Where a TIQR phone, and its enrolment, stand.

use serde::{Deserialize, Serialize};

/// A phone's (a TIQR identity's) stored state. Stored as the PostgreSQL enum `tiqr_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type))]
#[cfg_attr(
    feature = "sqlx",
    sqlx(type_name = "tiqr_state", rename_all = "lowercase")
)]
#[serde(rename_all = "lowercase")]
pub enum TiqrState {
    Active,
    /// Too many wrong responses; the desk unblocks it.
    Blocked,
    Revoked,
}

/// What the enrolment page shows while it polls (the protocol's statuses, plus the ones
/// Passerelle adds: `Expired` and `Unconfirmed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnrollmentStatus {
    /// No enrolment under way for this browser.
    Idle,
    /// The QR is shown; the app has not fetched it yet.
    Initialized,
    /// The app fetched the metadata; the user is choosing a PIN.
    Retrieved,
    /// The app posted its secret: the page shows the confirmation QR, which only the phone that
    /// enrolled can answer.
    Processed,
    /// Done: the phone answered the confirmation QR; it is on the security page.
    Finalized,
    /// The QR or the second secret timed out: start again.
    Expired,
    /// A phone posted its secret but was not confirmed from this browser in time: it cannot sign
    /// in (it is revoked). If the holder's own phone failed on the enrolment QR, someone else
    /// scanned it first.
    Unconfirmed,
}

impl EnrollmentStatus {
    /// The name the status endpoint answers with (and the page's poller compares).
    pub fn as_str(self) -> &'static str {
        match self {
            EnrollmentStatus::Idle => "idle",
            EnrollmentStatus::Initialized => "initialized",
            EnrollmentStatus::Retrieved => "retrieved",
            EnrollmentStatus::Processed => "processed",
            EnrollmentStatus::Finalized => "finalized",
            EnrollmentStatus::Expired => "expired",
            EnrollmentStatus::Unconfirmed => "unconfirmed",
        }
    }

    /// Whether the enrolment page has something to show for it: a QR, or the truthful outcome
    /// of a phone that was never confirmed (otherwise it offers to start one).
    pub fn under_way(self) -> bool {
        matches!(
            self,
            EnrollmentStatus::Initialized
                | EnrollmentStatus::Retrieved
                | EnrollmentStatus::Processed
                | EnrollmentStatus::Unconfirmed
        )
    }
}

/// A phone as the holder's page and the console show it: its stored state, and whether the
/// enrolling browser confirmed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhoneState {
    Active,
    Blocked,
    Revoked,
    /// Enrolled, awaiting the confirmation from the enrolling browser.
    Pending,
    /// Never confirmed: it cannot sign in (revoked, or past its confirmation window).
    Unconfirmed,
}

impl PhoneState {
    /// The CSS class suffix and test hook (`tiqr-state-…`).
    pub fn as_str(self) -> &'static str {
        match self {
            PhoneState::Active => "active",
            PhoneState::Blocked => "blocked",
            PhoneState::Revoked => "revoked",
            PhoneState::Pending => "pending",
            PhoneState::Unconfirmed => "unconfirmed",
        }
    }

    /// `confirmed`: the enrolling browser confirmed it; `window_open`: it may still be.
    pub fn of(state: TiqrState, confirmed: bool, window_open: bool) -> Self {
        match (state, confirmed) {
            (TiqrState::Revoked, false) => PhoneState::Unconfirmed,
            (_, false) if !window_open => PhoneState::Unconfirmed,
            (_, false) => PhoneState::Pending,
            (TiqrState::Active, true) => PhoneState::Active,
            (TiqrState::Blocked, true) => PhoneState::Blocked,
            (TiqrState::Revoked, true) => PhoneState::Revoked,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phone_is_shown_by_its_state_and_confirmation() {
        use PhoneState as P;
        use TiqrState as S;
        assert_eq!(P::of(S::Active, true, false), P::Active);
        assert_eq!(P::of(S::Blocked, true, true), P::Blocked);
        assert_eq!(P::of(S::Revoked, true, true), P::Revoked);
        assert_eq!(P::of(S::Active, false, true), P::Pending);
        assert_eq!(P::of(S::Active, false, false), P::Unconfirmed);
        assert_eq!(P::of(S::Revoked, false, true), P::Unconfirmed);
    }
}
