//! Why a CPx card is not accepted.

use serde::{Deserialize, Serialize};

/// The card family, as far as the certificate tells it. The IdNat_PS type digit separates
/// professional cards (`8` RPPS / `0` ADELI: CPS, and the CPF of students, which the subject alone
/// does not distinguish) from structure-bound staff cards (`1`, `3`–`6`: CPE/CPA/CDE/CDA, shown
/// as CPE). The certificate policy OIDs would tell them apart exactly; the label is only shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CardType {
    Cps,
    Cpe,
}

impl CardType {
    pub fn as_str(self) -> &'static str {
        match self {
            CardType::Cps => "CPS",
            CardType::Cpe => "CPE",
        }
    }
}

/// Why a card's certificate (or the agent's signature with it) is not accepted. Audited by
/// [`CardRefusal::as_str`]; each has its own French message on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardRefusal {
    Malformed,
    Expired,
    NotYetValid,
    Untrusted,
    Revoked,
    /// No usable CRL for the issuer, or the CRL is out of date.
    RevocationUnknown,
    /// A signature (non-repudiation) certificate or one without client authentication.
    NotForAuthentication,
    /// The subject carries no national identifier Passerelle understands, or the card is not
    /// nominative and the deployment refuses such cards.
    UnknownHolder,
    /// The agent's signature does not verify with the certificate's key.
    BadSignature,
}

impl CardRefusal {
    pub const ALL: [CardRefusal; 9] = [
        CardRefusal::Malformed,
        CardRefusal::Expired,
        CardRefusal::NotYetValid,
        CardRefusal::Untrusted,
        CardRefusal::Revoked,
        CardRefusal::RevocationUnknown,
        CardRefusal::NotForAuthentication,
        CardRefusal::UnknownHolder,
        CardRefusal::BadSignature,
    ];

    /// The audited reason.
    pub fn as_str(self) -> &'static str {
        match self {
            CardRefusal::Malformed => "malformed",
            CardRefusal::Expired => "expired",
            CardRefusal::NotYetValid => "not_yet_valid",
            CardRefusal::Untrusted => "untrusted",
            CardRefusal::Revoked => "revoked",
            CardRefusal::RevocationUnknown => "revocation_unknown",
            CardRefusal::NotForAuthentication => "not_for_authentication",
            CardRefusal::UnknownHolder => "unknown_holder",
            CardRefusal::BadSignature => "bad_signature",
        }
    }
}
