//! Why a card was not accepted, as the holder is told.

use serde::{Deserialize, Serialize};

use super::{Entry, codes};

/// Why a card was not accepted, as the holder is told: the certificate's reasons
/// ([`model::card::CardRefusal`]) and those of the flow around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CardError {
    Expired,
    NotYetValid,
    Untrusted,
    Revoked,
    RevocationUnknown,
    NotForAuthentication,
    UnknownHolder,
    BadSignature,
    Malformed,
    Challenge,
    LinkExpired,
    OtherAccount,
    RppsMismatch,
    Unavailable,
    NoCertificate,
}

codes! {
    /// Each card refusal: its slug, its status and its message.
    pub(super) CARD_ERRORS: CardError [
        CardError::Expired              => "carte-expiree", 403, card.err_card_expired;
        CardError::NotYetValid          => "carte-pas-encore-valide", 403, card.err_card_not_yet_valid;
        CardError::Untrusted            => "carte-non-reconnue", 403, card.err_card_untrusted;
        CardError::Revoked              => "carte-revoquee", 403, card.err_card_revoked;
        CardError::RevocationUnknown    => "carte-revocation-inconnue", 503, card.err_card_revocation_unknown;
        CardError::NotForAuthentication => "carte-pas-authentification", 403, card.err_card_not_for_auth;
        CardError::UnknownHolder        => "carte-porteur-inconnu", 403, card.err_card_unknown_holder;
        CardError::BadSignature         => "carte-signature-invalide", 403, card.err_card_bad_signature;
        CardError::Malformed            => "carte-illisible", 403, card.err_card_malformed;
        CardError::Challenge            => "carte-defi-expire", 410, card.err_card_challenge;
        CardError::LinkExpired          => "carte-liaison-expiree", 410, card.err_card_link_expired;
        CardError::OtherAccount         => "carte-autre-compte", 409, card.err_card_other_account;
        CardError::RppsMismatch         => "carte-rpps-different", 409, card.err_rpps_mismatch;
        CardError::Unavailable          => "carte-indisponible", 404, card.err_card_unavailable;
        CardError::NoCertificate        => "carte-absente", 403, card.err_card_no_certificate;
    ]
}

impl From<model::card::CardRefusal> for CardError {
    fn from(r: model::card::CardRefusal) -> Self {
        use model::card::CardRefusal as R;
        match r {
            R::Malformed => CardError::Malformed,
            R::Expired => CardError::Expired,
            R::NotYetValid => CardError::NotYetValid,
            R::Untrusted => CardError::Untrusted,
            R::Revoked => CardError::Revoked,
            R::RevocationUnknown => CardError::RevocationUnknown,
            R::NotForAuthentication => CardError::NotForAuthentication,
            R::UnknownHolder => CardError::UnknownHolder,
            R::BadSignature => CardError::BadSignature,
        }
    }
}
