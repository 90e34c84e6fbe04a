//! Why a passkey was not accepted, as the holder is told.

use serde::{Deserialize, Serialize};

use super::{Entry, codes};

/// Why a passkey was not accepted: the domain's reasons ([`model::passkey::PasskeyRefusal`]) and
/// those of the edge around them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PasskeyError {
    CeremonyExpired,
    Invalid,
    Unknown,
    CounterReplay,
    AlreadyRegistered,
    TooMany,
    /// The portal offers no passkeys (its public address is not a domain name).
    Unavailable,
    /// The name typed for a new passkey.
    Name,
}

codes! {
    /// Each passkey refusal: its slug, its status and its message.
    pub(super) PASSKEY_ERRORS: PasskeyError [
        PasskeyError::CeremonyExpired   => "cle-demande-expiree", 410, passkey.err_ceremony_expired;
        PasskeyError::Invalid           => "cle-reponse-invalide", 403, passkey.err_invalid;
        PasskeyError::Unknown           => "cle-inconnue", 401, passkey.err_unknown;
        PasskeyError::CounterReplay     => "cle-copiee", 403, passkey.err_counter;
        PasskeyError::AlreadyRegistered => "cle-deja-enregistree", 409, passkey.err_already_registered;
        PasskeyError::TooMany           => "cle-trop-nombreuses", 409, passkey.err_too_many;
        PasskeyError::Unavailable       => "cle-indisponible", 404, passkey.err_unavailable;
        PasskeyError::Name              => "cle-nom-invalide", 400, passkey.err_name;
    ]
}

impl From<model::passkey::PasskeyRefusal> for PasskeyError {
    fn from(r: model::passkey::PasskeyRefusal) -> Self {
        use model::passkey::PasskeyRefusal as R;
        match r {
            R::CeremonyExpired => PasskeyError::CeremonyExpired,
            R::Invalid => PasskeyError::Invalid,
            R::Unknown => PasskeyError::Unknown,
            R::CounterReplay => PasskeyError::CounterReplay,
            R::AlreadyRegistered => PasskeyError::AlreadyRegistered,
            R::TooMany => PasskeyError::TooMany,
        }
    }
}
