//! Why a passkey (WebAuthn) is not accepted.

use serde::{Deserialize, Serialize};

/// Why a passkey ceremony (registering one, or signing in with one) is refused. Audited by
/// [`PasskeyRefusal::as_str`]; each has its own French message on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasskeyRefusal {
    /// No ceremony under way for this browser (never started, already finished, or older than
    /// its few minutes): the page starts again.
    CeremonyExpired,
    /// The browser's answer does not verify: another site's, another challenge's, a signature
    /// that fails, or no user verification (PIN, fingerprint, face) by the authenticator.
    Invalid,
    /// The passkey is not one of this portal's (never registered here, or removed since).
    Unknown,
    /// The authenticator's signature counter went backwards: the passkey may have been copied.
    /// It is refused and the attempt audited; the holder or the desk removes it.
    CounterReplay,
    /// This passkey is already registered (on this account or another).
    AlreadyRegistered,
    /// The account already holds the most passkeys allowed.
    TooMany,
}

impl PasskeyRefusal {
    pub const ALL: [PasskeyRefusal; 6] = [
        PasskeyRefusal::CeremonyExpired,
        PasskeyRefusal::Invalid,
        PasskeyRefusal::Unknown,
        PasskeyRefusal::CounterReplay,
        PasskeyRefusal::AlreadyRegistered,
        PasskeyRefusal::TooMany,
    ];

    /// The audited reason.
    pub fn as_str(self) -> &'static str {
        match self {
            PasskeyRefusal::CeremonyExpired => "ceremony_expired",
            PasskeyRefusal::Invalid => "invalid",
            PasskeyRefusal::Unknown => "unknown_passkey",
            PasskeyRefusal::CounterReplay => "counter_replay",
            PasskeyRefusal::AlreadyRegistered => "already_registered",
            PasskeyRefusal::TooMany => "too_many",
        }
    }
}

/// The longest name a holder may give a passkey ("Téléphone pro", "Clé USB bleue").
pub const NAME_MAX_CHARS: usize = 60;

/// A passkey name that is too long or holds control characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadName;

/// A passkey's name as typed: trimmed, control characters refused, at most
/// [`NAME_MAX_CHARS`]; empty gives `None` (the portal names it).
pub fn parse_name(typed: &str) -> Result<Option<String>, BadName> {
    let name = typed.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(BadName);
    }
    Ok(Some(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        assert_eq!(parse_name("  Clé USB  "), Ok(Some("Clé USB".into())));
        assert_eq!(parse_name("   "), Ok(None));
        assert_eq!(parse_name(&"é".repeat(60)), Ok(Some("é".repeat(60))));
        assert_eq!(parse_name(&"é".repeat(61)), Err(BadName));
        assert_eq!(parse_name("a\u{0}b"), Err(BadName));
    }

    #[test]
    fn reasons_are_distinct() {
        let mut names: Vec<&str> = PasskeyRefusal::ALL.iter().map(|r| r.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), PasskeyRefusal::ALL.len());
    }
}
