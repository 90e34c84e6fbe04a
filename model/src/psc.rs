//! Why a Pro Santé Connect sign-in, or a back-channel logout, was refused. Each reason is audited
//! by its `as_str` (the rows already written keep their meaning) and told to the professional by
//! its kind.

use serde::{Deserialize, Serialize};

/// Why a callback's state was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PscStateRefusal {
    /// No state, or no state cookie in the browser.
    Missing,
    /// Unknown: never issued, tampered with, or already used (a replayed callback).
    Unknown,
    Expired,
    /// Issued to another browser (its cookie does not match).
    OtherBrowser,
}

impl PscStateRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            PscStateRefusal::Missing => "state_missing",
            PscStateRefusal::Unknown => "state_unknown_or_used",
            PscStateRefusal::Expired => "state_expired",
            PscStateRefusal::OtherBrowser => "state_other_browser",
        }
    }
}

/// Why the provider's answer signs no one in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PscFailure {
    /// The professional pressed "Annuler" on PSC's page (`error=access_denied`).
    Cancelled,
    /// PSC answered with another `error`.
    ProviderError,
    /// Discovery, JWKS, token or userinfo request failed (down, timeout, error status).
    ProviderUnavailable,
    /// The discovery document, or the callback's `iss`, names another issuer.
    IssuerMismatch,
    /// The token endpoint refused the code (replayed, expired, wrong client), or no usable code.
    TokenRefused,
    /// No ID token, or one that does not verify (signature, issuer, audience, expiry, nonce).
    IdTokenInvalid,
    /// Userinfo does not verify (signature, subject).
    UserinfoInvalid,
    /// The claims carry no `SubjectNameID`.
    SubjectNameIdMissing,
    /// The `SubjectNameID` is not a national identifier.
    SubjectNameIdInvalid,
}

impl PscFailure {
    pub const ALL: [PscFailure; 9] = [
        PscFailure::Cancelled,
        PscFailure::ProviderError,
        PscFailure::ProviderUnavailable,
        PscFailure::IssuerMismatch,
        PscFailure::TokenRefused,
        PscFailure::IdTokenInvalid,
        PscFailure::UserinfoInvalid,
        PscFailure::SubjectNameIdMissing,
        PscFailure::SubjectNameIdInvalid,
    ];

    /// The audited reason.
    pub fn as_str(self) -> &'static str {
        match self {
            PscFailure::Cancelled => "access_denied",
            PscFailure::ProviderError => "provider_error",
            PscFailure::ProviderUnavailable => "provider_unavailable",
            PscFailure::IssuerMismatch => "issuer_mismatch",
            PscFailure::TokenRefused => "token_refused",
            PscFailure::IdTokenInvalid => "id_token_invalid",
            PscFailure::UserinfoInvalid => "userinfo_invalid",
            PscFailure::SubjectNameIdMissing => "subject_name_id_missing",
            PscFailure::SubjectNameIdInvalid => "subject_name_id_invalid",
        }
    }
}

/// Why a back-channel logout token was refused (the provider is answered `invalid_request` with
/// this reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PscLogoutRefusal {
    NoLogoutToken,
    ProviderUnavailable,
    Malformed,
    AlgorithmNotAllowed,
    BadSignature,
    WrongIssuer,
    WrongAudience,
    /// Logout tokens must not carry a nonce (OpenID back-channel logout, 2.4).
    NoncePresent,
    NotALogoutEvent,
    Expired,
    NoIat,
    NoJti,
    NoSidNorSub,
    TooOld,
    /// This `jti` was already used.
    Replayed,
}

impl PscLogoutRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            PscLogoutRefusal::NoLogoutToken => "no_logout_token",
            PscLogoutRefusal::ProviderUnavailable => "provider_unavailable",
            PscLogoutRefusal::Malformed => "malformed",
            PscLogoutRefusal::AlgorithmNotAllowed => "algorithm_not_allowed",
            PscLogoutRefusal::BadSignature => "bad_signature",
            PscLogoutRefusal::WrongIssuer => "wrong_issuer",
            PscLogoutRefusal::WrongAudience => "wrong_audience",
            PscLogoutRefusal::NoncePresent => "nonce_present",
            PscLogoutRefusal::NotALogoutEvent => "not_a_logout_event",
            PscLogoutRefusal::Expired => "expired",
            PscLogoutRefusal::NoIat => "no_iat",
            PscLogoutRefusal::NoJti => "no_jti",
            PscLogoutRefusal::NoSidNorSub => "no_sid_nor_sub",
            PscLogoutRefusal::TooOld => "too_old",
            PscLogoutRefusal::Replayed => "replayed",
        }
    }
}
