//! The domain layer's one error type. The web edge maps each variant to an HTTP status and a French
//! message in one place (`app::error`); nothing here knows about either.
//!
//! Every reason an error carries is a closed enum of the shared vocabulary (`model`), so that the
//! mapping at the edge is an exhaustive `match` (a renamed or added reason does not compile
//! until it has its message). This module imports nothing else of the domain.

use model::account::UserStatus;
use model::card::CardRefusal;
use model::code::CodeError;
use model::directory::{DirectoryError, Mismatch};
use model::ids::IdError;
use model::import::ImportError;
use model::passkey::PasskeyRefusal;
use model::password::Weakness;
use model::psc::{PscFailure, PscLogoutRefusal, PscStateRefusal};
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        field: &'static str,
        reason: IdError,
    },
    /// Wrong identifier or password; deliberately says nothing about which.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failures for this identifier (known or not) until the given time; `remaining`
    /// is how long from the refusal (the page says it in minutes, without reading the clock).
    #[error("sign-in locked until {until}")]
    Locked {
        until: OffsetDateTime,
        remaining: time::Duration,
    },
    /// Too many failures from this client address until the given time.
    #[error("client address throttled until {until}")]
    AddressThrottled { until: OffsetDateTime },
    /// The password was right but the account cannot sign in (disabled, locked by the desk,
    /// not yet activated).
    #[error("account not usable: {0:?}")]
    AccountUnavailable(UserStatus),
    #[error("not found")]
    NotFound,
    /// The presented card certificate (or the agent's signature) is not accepted.
    #[error("card refused: {0:?}")]
    CardRefused(CardRefusal),
    /// The agent's challenge is unknown, used, expired or from another browser.
    #[error("card challenge invalid")]
    CardChallengeInvalid,
    /// The pending card link (or TLS hand-over) is unknown, used, expired or from another browser.
    #[error("card link expired")]
    CardLinkExpired,
    /// This card or this holder is already linked to another account.
    #[error("card linked to another account")]
    CardOfAnotherAccount,
    /// The account typed on the linking page is already linked to another national identity.
    #[error("account linked to another national identity")]
    AccountLinkedToOtherIdentity,
    /// The account typed on the linking page has no RPPS, and the desk declared no identity for
    /// it (or another one): a password alone does not let a professional's identity in.
    #[error("no national identity declared for the account")]
    IdentityNotDeclared,
    /// The pending PSC link is unknown, used, expired or from another browser.
    #[error("PSC link expired")]
    PscLinkExpired,
    /// The PSC callback's state is missing, unknown, used (a replay), expired or another browser's.
    #[error("PSC state invalid: {0:?}")]
    PscState(PscStateRefusal),
    /// The PSC sign-in was refused: the provider said no (the user cancelled), could not be
    /// reached, or answered something that does not verify.
    #[error("PSC sign-in refused: {}", .0.as_str())]
    PscRefused(PscFailure),
    /// The PSC authentication level (`acr`) is below the deployment's minimum.
    #[error("PSC authentication level too weak")]
    PscLevelTooWeak,
    /// A back-channel logout token refused (replayed, too old…); holds the reason.
    #[error("PSC logout token refused: {}", .0.as_str())]
    PscLogout(PscLogoutRefusal),
    /// The e-mail code step refused (wrong, expired, too many attempts or sends…).
    #[error("e-mail code: {0:?}")]
    Code(CodeError),
    /// The activation or reset link is unknown, used or expired.
    #[error("account link expired")]
    AccountLinkExpired,
    /// The new password does not meet the policy.
    #[error("weak password: {0:?}")]
    WeakPassword(Weakness),
    /// The account's RPPS is not the one on the card.
    #[error("RPPS of the account differs from the card")]
    RppsMismatch,
    /// The session is missing, ended or expired.
    #[error("no valid session")]
    NoSession,
    /// The signed-in user may not do or see this.
    #[error("forbidden")]
    Forbidden,
    /// A passkey registration or sign-in was refused.
    #[error("passkey refused: {}", .0.as_str())]
    PasskeyRefused(PasskeyRefusal),
    /// The account's roles need a stronger sign-in than this session's (or than the password,
    /// for the console's confirmation): card, Pro Santé Connect, passkey or TIQR.
    #[error("a stronger sign-in is required")]
    StrongerSignInRequired,
    /// The admin console needs the password again (the last strong sign-in is too old).
    #[error("re-authentication required")]
    ReauthenticationRequired,
    /// Someone else saved this record since the form was opened (optimistic concurrency).
    #[error("stale version")]
    StaleVersion,
    /// A membership must join an account and an establishment of the same region.
    #[error("establishment outside the account's region")]
    EstablishmentOutsideRegion,
    /// Administrators cannot disable, move or demote themselves (ask another administrator).
    #[error("not on one's own account")]
    OwnAccount,
    /// A bulk action's selection is larger than it takes.
    #[error("more than {max} accounts selected")]
    TooManySelected { max: usize },
    /// A bulk action without any account selected.
    #[error("no account selected")]
    NothingSelected,
    /// A TIQR app request that is not what the protocol allows (too large, a field missing or
    /// malformed); holds the offending field. Nothing was stored.
    #[error("invalid TIQR request: {0}")]
    TiqrRequest(&'static str),
    /// The TIQR enrollment key or secret, or the QR sign-in, is unknown, used or expired.
    #[error("TIQR session expired")]
    TiqrExpired,
    /// The TIQR identity is unknown or revoked.
    #[error("unknown TIQR identity")]
    TiqrUnknownIdentity,
    /// A wrong TIQR response (offline code); this many attempts are left (at least one).
    #[error("wrong TIQR response, {attempts_left} attempts left")]
    TiqrWrongResponse { attempts_left: u8 },
    /// The TIQR enrollment is blocked after too many wrong responses (the desk unblocks it).
    #[error("TIQR enrollment blocked")]
    TiqrBlocked,
    /// A CSV import refused as a whole (the file, or rows in error at commit time).
    #[error("import: {0}")]
    Import(ImportError),
    /// A load of the national directory refused as a whole (the file, or the run).
    #[error("directory: {0}")]
    Directory(DirectoryError),
    /// The account's RPPS or name is not what the directory loaded says, and no reason was
    /// given to create it all the same.
    #[error("directory mismatch: {0:?}")]
    DirectoryMismatch(Mismatch),
    /// A card or a Pro Santé Connect identity whose RPPS the directory does not have under the
    /// account's name, for an account the desk did not accept the difference for.
    #[error("link refused by the directory: {0:?}")]
    LinkNotInDirectory(Mismatch),
    /// A uniqueness or integrity rule of the schema was hit; holds the constraint's name.
    #[error("conflict on {0}")]
    Conflict(String),
    #[error("password hashing: {0}")]
    PasswordHash(String),
    #[error("internal: {0}")]
    Internal(String),
    #[error("embedded PostgreSQL: {0}")]
    Embedded(String),
    /// The database cannot serve this now but may in a moment: unreachable, restarting, failing
    /// over (a demoted primary refuses writes), or the transaction lost a race (serialization
    /// failure, deadlock). Nothing was changed unless the connection was lost during the commit
    /// itself; [`crate::db::retry`] decides what may be tried again.
    #[error("database temporarily unavailable: {0}")]
    Unavailable(sqlx::Error),
    #[error("database: {0}")]
    Database(sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl Error {
    /// Locked until `until`, refused at `now`.
    pub fn locked(until: OffsetDateTime, now: OffsetDateTime) -> Self {
        Error::Locked {
            until,
            remaining: until - now,
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Error::NotFound,
            sqlx::Error::Database(db)
                if db.is_unique_violation() || db.is_foreign_key_violation() =>
            {
                Error::Conflict(db.constraint().unwrap_or("unknown").to_string())
            }
            _ if is_transient(&e) => Error::Unavailable(e),
            _ => Error::Database(e),
        }
    }
}

/// SQLSTATEs after which the same statement can succeed a moment later: serialization failure,
/// deadlock, read-only transaction (a primary demoted during a failover), too many connections,
/// and the server shutting down, crashed or still starting. Class 08 (connection exceptions) is
/// matched by its prefix.
const TRANSIENT_STATES: [&str; 7] = [
    "40001", "40P01", "25006", "53300", "57P01", "57P02", "57P03",
];

/// The failures of the connection rather than of the statement.
fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || TRANSIENT_STATES.contains(&c.as_ref())),
        _ => false,
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
