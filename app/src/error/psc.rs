//! Why a Pro Santé Connect sign-in ended, as the professional is told.

use serde::{Deserialize, Serialize};

use super::{Entry, codes};

/// Why a Pro Santé Connect sign-in ended, as the professional is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PscError {
    /// The professional cancelled on PSC's page (`error=access_denied`).
    Cancelled,
    /// PSC answered with another error.
    Refused,
    /// PSC could not be reached (down, timeout).
    Unavailable,
    /// Missing, unknown, used (replayed callback), expired or other browser's state.
    State,
    /// The code, ID token or userinfo did not verify.
    TokenInvalid,
    /// No (valid) `SubjectNameID` in the claims.
    NoIdentity,
    /// `acr` below the deployment's minimum.
    LevelTooWeak,
    LinkExpired,
    Disabled,
}

codes! {
    /// Each PSC refusal: its slug, its status and its message.
    pub(super) PSC_ERRORS: PscError [
        PscError::Cancelled    => "psc-annule", 403, psc.err_psc_cancelled;
        PscError::Refused      => "psc-refus", 403, psc.err_psc_refused;
        PscError::Unavailable  => "psc-indisponible", 503, psc.err_psc_unavailable;
        PscError::State        => "psc-etat-invalide", 403, psc.err_psc_state;
        PscError::TokenInvalid => "psc-reponse-invalide", 403, psc.err_psc_token;
        PscError::NoIdentity   => "psc-identifiant-absent", 403, psc.err_psc_no_identity;
        PscError::LevelTooWeak => "psc-niveau-insuffisant", 403, psc.err_psc_level;
        PscError::LinkExpired  => "psc-liaison-expiree", 410, psc.err_psc_link_expired;
        PscError::Disabled     => "psc-desactive", 404, psc.err_psc_disabled;
    ]
}

impl From<model::psc::PscFailure> for PscError {
    fn from(f: model::psc::PscFailure) -> Self {
        use model::psc::PscFailure as F;
        match f {
            F::Cancelled => PscError::Cancelled,
            F::ProviderError => PscError::Refused,
            F::ProviderUnavailable => PscError::Unavailable,
            F::SubjectNameIdMissing | F::SubjectNameIdInvalid => PscError::NoIdentity,
            F::IssuerMismatch | F::TokenRefused | F::IdTokenInvalid | F::UserinfoInvalid => {
                PscError::TokenInvalid
            }
        }
    }
}
