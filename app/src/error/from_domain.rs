//! The one mapping from the domain's errors to what users are told (server side only).

use domain::Error;
use domain::accounts::UserStatus;

use super::{CardError, DirectoryFault, ErrorCode, Field, PscError};

impl ErrorCode {
    /// An unexpected failure: logged with a short reference the user can quote to the desk.
    /// The reference is the request's own (its logs carry it) when there is one.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        let reference = request_reference();
        tracing::error!(reference, "{e}");
        ErrorCode::Internal { reference }
    }

    /// The database cannot serve now (restarting, failing over, a lost race): logged as a
    /// warning with the request's reference; the user is told to try again in a moment.
    pub fn unavailable(e: impl std::fmt::Display) -> Self {
        let reference = request_reference();
        tracing::warn!(reference, "{e}");
        ErrorCode::Unavailable { reference }
    }
}

/// The request's own reference (its log lines carry it), or a new one outside a request.
fn request_reference() -> String {
    crate::state::REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| format!("{:08x}", uuid::Uuid::new_v4().as_u128() as u32))
}

/// The one mapping from domain errors to what users are told.
impl From<Error> for ErrorCode {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidCredentials => ErrorCode::InvalidCredentials,
            Error::Locked { remaining, .. } => {
                // Rounded up: "14 minutes" for a lock of 14 min 59 s would mislead.
                let minutes = ((remaining.whole_seconds() + 59) / 60).clamp(1, 1440);
                ErrorCode::Locked { minutes }
            }
            Error::AddressThrottled { .. } => ErrorCode::AddressThrottled,
            Error::AccountUnavailable(UserStatus::Disabled) => ErrorCode::AccountDisabled,
            Error::AccountUnavailable(UserStatus::Locked) => ErrorCode::AccountLocked,
            Error::AccountUnavailable(UserStatus::Dormant) => ErrorCode::AccountDormant,
            Error::TooManySelected { .. } => ErrorCode::TooManySelected,
            Error::NothingSelected => ErrorCode::NothingSelected,
            Error::AccountUnavailable(UserStatus::PendingActivation | UserStatus::Active) => {
                ErrorCode::AccountPending
            }
            Error::InvalidInput { field, .. } => {
                Field::from_domain(field).map_or(ErrorCode::InvalidInput, ErrorCode::InvalidField)
            }
            Error::Conflict(constraint) => Field::from_domain(&constraint).map_or_else(
                || ErrorCode::internal(format!("conflict on {constraint}")),
                ErrorCode::Duplicate,
            ),
            Error::ReauthenticationRequired => ErrorCode::ReauthRequired,
            Error::StrongerSignInRequired => ErrorCode::StrongerSignInRequired,
            Error::PasskeyRefused(r) => ErrorCode::Passkey(r.into()),
            Error::StaleVersion => ErrorCode::StaleVersion,
            Error::EstablishmentOutsideRegion => ErrorCode::EstablishmentOutsideRegion,
            Error::OwnAccount => ErrorCode::OwnAccount,
            Error::TiqrRequest(_) => ErrorCode::InvalidInput,
            Error::TiqrExpired => ErrorCode::TiqrExpired,
            Error::TiqrUnknownIdentity => ErrorCode::TiqrUnknown,
            Error::TiqrWrongResponse { attempts_left } => {
                ErrorCode::TiqrWrongCode { attempts_left }
            }
            Error::TiqrBlocked => ErrorCode::TiqrBlocked,
            Error::Import(e) => ErrorCode::Import(e.into()),
            Error::Directory(e) => ErrorCode::Directory(e.into()),
            Error::DirectoryMismatch(m) => ErrorCode::Directory(m.into()),
            Error::LinkNotInDirectory(_) => ErrorCode::Directory(DirectoryFault::LinkRefused),
            Error::NotFound => ErrorCode::NotFound,
            Error::NoSession => ErrorCode::NotSignedIn,
            Error::Forbidden => ErrorCode::Forbidden,
            Error::CardRefused(r) => ErrorCode::Card(r.into()),
            Error::CardChallengeInvalid => ErrorCode::Card(CardError::Challenge),
            Error::CardLinkExpired => ErrorCode::Card(CardError::LinkExpired),
            Error::CardOfAnotherAccount => ErrorCode::Card(CardError::OtherAccount),
            Error::RppsMismatch => ErrorCode::Card(CardError::RppsMismatch),
            Error::AccountLinkedToOtherIdentity => ErrorCode::OtherIdentity,
            Error::IdentityNotDeclared => ErrorCode::IdentityNotDeclared,
            Error::PscLinkExpired => ErrorCode::Psc(PscError::LinkExpired),
            Error::PscState(_) => ErrorCode::Psc(PscError::State),
            Error::PscRefused(f) => ErrorCode::Psc(f.into()),
            Error::PscLevelTooWeak => ErrorCode::Psc(PscError::LevelTooWeak),
            Error::Code(c) => ErrorCode::Code(c),
            Error::AccountLinkExpired => ErrorCode::AccountLinkExpired,
            Error::WeakPassword(w) => ErrorCode::WeakPassword(w),
            e @ Error::Unavailable(_) => ErrorCode::unavailable(e),
            e @ (Error::PscLogout(_)
            | Error::PasswordHash(_)
            | Error::Internal(_)
            | Error::Embedded(_)
            | Error::Database(_)
            | Error::Migrate(_)) => ErrorCode::internal(e),
        }
    }
}
