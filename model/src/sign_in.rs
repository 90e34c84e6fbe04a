//! How a session was opened.

use serde::{Deserialize, Serialize};

/// The means a session was signed in with, as stored in `sessions.auth_method` and shown on the
/// dashboard and in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Method {
    Password,
    /// The password, then the code sent by e-mail.
    PasswordEmailCode,
    /// A CPx card (through the agent or the TLS host).
    Card,
    /// Pro Santé Connect (card or e-CPS at the national provider).
    Psc,
    /// The TIQR app.
    Tiqr,
    /// A passkey (WebAuthn): the phone's or the computer's screen lock, or a security key.
    Passkey,
}

impl Method {
    pub const ALL: [Method; 6] = [
        Method::Password,
        Method::PasswordEmailCode,
        Method::Card,
        Method::Psc,
        Method::Tiqr,
        Method::Passkey,
    ];

    /// The stored and audited name (kept as the rows already written spell it).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Password => "password",
            Method::PasswordEmailCode => "password+email_code",
            Method::Card => "card",
            Method::Psc => "psc",
            Method::Tiqr => "tiqr",
            Method::Passkey => "passkey",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Method::ALL {
            assert_eq!(Method::parse(m.as_str()), Some(m));
        }
        assert_eq!(Method::parse("magic"), None);
    }
}
