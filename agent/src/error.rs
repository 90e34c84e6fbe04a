//! The agent's one error type: each case has its code (read by the page), its HTTP status and its
//! French sentence (shown to the professional), all decided here.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    #[error("origin not configured or missing")]
    OriginRefused,
    #[error("Host header is not a loopback address")]
    HostRefused,
    #[error("request body is not the expected JSON")]
    BadRequest,
    #[error("PC/SC service (pcscd) unreachable")]
    NoService,
    #[error("no card reader")]
    NoReader,
    #[error("no card in the reader")]
    NoCard,
    #[error("card removed during the operation")]
    CardRemoved,
    #[error("PIN is not 4 to 8 digits")]
    PinFormat,
    #[error("nonce is not 32 to 128 base64url characters")]
    NonceFormat,
    #[error("wrong PIN, {tries_left} tries left")]
    PinIncorrect { tries_left: u8 },
    #[error("PIN blocked")]
    PinBlocked,
    /// The card answered something unexpected; the detail is logged, not shown.
    #[error("card error: {0}")]
    Card(String),
    /// PC/SC could not talk to the card (often a card being pulled out or still powering up).
    #[error("PC/SC: {0}")]
    Communication(String),
}

impl AgentError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::OriginRefused => "origin_refused",
            Self::HostRefused => "host_refused",
            Self::BadRequest => "bad_request",
            Self::NoService => "no_service",
            Self::NoReader => "no_reader",
            Self::NoCard => "no_card",
            Self::CardRemoved => "card_removed",
            Self::PinFormat => "pin_format",
            Self::NonceFormat => "nonce_format",
            Self::PinIncorrect { .. } => "pin_incorrect",
            Self::PinBlocked => "pin_blocked",
            Self::Card(_) | Self::Communication(_) => "card_error",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::OriginRefused | Self::HostRefused => StatusCode::FORBIDDEN,
            Self::BadRequest | Self::PinFormat | Self::NonceFormat => StatusCode::BAD_REQUEST,
            Self::NoService => StatusCode::SERVICE_UNAVAILABLE,
            Self::NoReader | Self::NoCard | Self::CardRemoved => StatusCode::CONFLICT,
            Self::PinIncorrect { .. } => StatusCode::UNAUTHORIZED,
            Self::PinBlocked => StatusCode::LOCKED,
            Self::Card(_) | Self::Communication(_) => StatusCode::BAD_GATEWAY,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::OriginRefused => {
                "Ce site n'est pas autorisé à utiliser l'agent de carte.".to_owned()
            }
            Self::HostRefused => {
                "L'agent de carte ne répond qu'aux adresses locales (127.0.0.1, localhost)."
                    .to_owned()
            }
            Self::BadRequest => "La demande envoyée à l'agent de carte est mal formée.".to_owned(),
            Self::NoService => "Le service de cartes à puce (PC/SC) de cet ordinateur ne répond \
                pas : vérifiez qu'il est installé et démarré."
                .to_owned(),
            Self::NoReader => "Aucun lecteur de carte n'est branché.".to_owned(),
            Self::NoCard => "Aucune carte dans le lecteur : insérez votre carte CPx.".to_owned(),
            Self::CardRemoved => {
                "La carte a été retirée pendant l'opération : réinsérez-la et recommencez."
                    .to_owned()
            }
            Self::PinFormat => "Le code porteur comporte de 4 à 8 chiffres.".to_owned(),
            Self::NonceFormat => {
                "Le défi d'authentification est invalide : rechargez la page.".to_owned()
            }
            Self::PinIncorrect { tries_left: 1 } => "Code porteur incorrect : il reste 1 essai \
                avant le blocage de la carte."
                .to_owned(),
            Self::PinIncorrect { tries_left } => format!(
                "Code porteur incorrect : il reste {tries_left} essais avant le blocage de la carte."
            ),
            Self::PinBlocked => "Code porteur bloqué : la carte doit être débloquée avec son code \
                de déblocage (PUK), par exemple avec l'outil de gestion des cartes CPS."
                .to_owned(),
            Self::Card(_) | Self::Communication(_) => {
                "La carte n'a pas pu effectuer l'opération : retirez-la, réinsérez-la et \
                 recommencez."
                    .to_owned()
            }
        }
    }

    pub fn pin_tries_left(&self) -> Option<u8> {
        match self {
            Self::PinIncorrect { tries_left } => Some(*tries_left),
            Self::PinBlocked => Some(0),
            _ => None,
        }
    }

    /// Maps a PC/SC failure. Transmission failures that may be a pulled card are refined by the
    /// caller, which can look at the reader.
    pub fn from_pcsc(e: pcsc::Error) -> Self {
        match e {
            pcsc::Error::NoService | pcsc::Error::ServiceStopped => Self::NoService,
            pcsc::Error::NoReadersAvailable => Self::NoReader,
            pcsc::Error::UnknownReader | pcsc::Error::ReaderUnavailable => Self::NoReader,
            pcsc::Error::NoSmartcard => Self::NoCard,
            pcsc::Error::RemovedCard | pcsc::Error::ResetCard => Self::CardRemoved,
            other => Self::Communication(other.to_string()),
        }
    }
}

impl IntoResponse for AgentError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.code(), "message": self.message() });
        if let Some(tries) = self.pin_tries_left() {
            body["pin_tries_left"] = json!(tries);
        }
        (self.status(), Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_the_tries_left() {
        let e = AgentError::PinIncorrect { tries_left: 2 };
        assert_eq!(e.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            e.message(),
            "Code porteur incorrect : il reste 2 essais avant le blocage de la carte."
        );
        assert!(
            AgentError::PinIncorrect { tries_left: 1 }
                .message()
                .contains("1 essai avant")
        );
        assert_eq!(AgentError::PinBlocked.status().as_u16(), 423);
    }

    #[test]
    fn pcsc_errors_map_to_codes() {
        assert_eq!(
            AgentError::from_pcsc(pcsc::Error::NoService).code(),
            "no_service"
        );
        assert_eq!(
            AgentError::from_pcsc(pcsc::Error::NoReadersAvailable).code(),
            "no_reader"
        );
        assert_eq!(
            AgentError::from_pcsc(pcsc::Error::NoSmartcard).code(),
            "no_card"
        );
        assert_eq!(
            AgentError::from_pcsc(pcsc::Error::RemovedCard).code(),
            "card_removed"
        );
        assert_eq!(
            AgentError::from_pcsc(pcsc::Error::InvalidHandle).code(),
            "card_error"
        );
    }
}
