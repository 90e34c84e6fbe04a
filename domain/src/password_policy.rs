//! What a new password must be, after NIST SP 800-63B: long enough (12 characters), not absurdly
//! long (256, so hashing stays bounded), not a commonly used password, not the username. No
//! composition rules and no forced periodic change: they push people to predictable passwords.

pub use model::password::Weakness;

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 256;

/// Passwords (and stems) found at the top of public breach lists, French ones included. Compared
/// case-insensitively, ignoring digits and punctuation around them, so "Azerty123456!" is refused.
const COMMON: &[&str] = &[
    "123456",
    "password",
    "motdepasse",
    "azerty",
    "qwerty",
    "azertyuiop",
    "qwertyuiop",
    "soleil",
    "doudou",
    "loulou",
    "marseille",
    "chouchou",
    "nicolas",
    "camille",
    "julien",
    "celine",
    "bonjour",
    "iloveyou",
    "jetaime",
    "princesse",
    "football",
    "dragon",
    "monkey",
    "letmein",
    "admin",
    "administrateur",
    "welcome",
    "bienvenue",
    "passerelle",
    "passw0rd",
    "motdepass",
    "password1",
    "abcdef",
    "abc123",
    "azerty123",
    "secret",
    "sante",
    "hopital",
    "medecin",
    "infirmier",
    "infirmiere",
    "docteur",
    "pharmacie",
    "chu",
    "ars",
    "france",
    "paris",
    "lyon",
    "toulouse",
    "changeme",
    "changezmoi",
    "master",
    "shadow",
    "sunshine",
    "superman",
    "batman",
    "trustno1",
    "qazwsx",
    "zaq12wsx",
    "1qaz2wsx",
    "aaaaaa",
    "111111",
    "000000",
    "121212",
    "654321",
    "123123",
    "987654321",
    "1234567890",
    "0123456789",
    "motdepasse1",
    "utilisateur",
    "user",
    "test",
    "demo",
    "invite",
    "guest",
    "root",
    "toor",
    "printemps",
    "ete",
    "automne",
    "hiver",
    "janvier",
    "fevrier",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "decembre",
    "lundi",
    "vendredi",
    "dimanche",
    "chocolat",
    "vacances",
];

fn stem(password: &str, leet: bool) -> String {
    // Digits and punctuation padding the ends are filler ("P@ssw0rd1234!" is "P@ssw0rd").
    let core = password.trim_matches(|c: char| {
        c.is_ascii_digit()
            || (c.is_ascii_punctuation() && c != '@' && c != '$')
            || c.is_whitespace()
    });
    core.to_lowercase()
        .chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'à' | 'â' => 'a',
            'ù' | 'û' => 'u',
            'ô' => 'o',
            'î' | 'ï' => 'i',
            'ç' => 'c',
            '@' if leet => 'a',
            '0' if leet => 'o',
            '3' if leet => 'e',
            '$' if leet => 's',
            other => other,
        })
        .filter(|c| c.is_alphabetic())
        .collect()
}

/// Checks a new password (and its confirmation) for `username`.
pub fn check(password: &str, confirmation: &str, username: &str) -> Result<(), Weakness> {
    if password != confirmation {
        return Err(Weakness::Mismatch);
    }
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(Weakness::TooShort);
    }
    if len > MAX_LEN {
        return Err(Weakness::TooLong);
    }
    let lowered = password.to_lowercase();
    if username.len() >= 3 && lowered.contains(&username.to_lowercase()) {
        return Err(Weakness::ContainsUsername);
    }
    // The letters, with look-alike symbols read as letters and digits dropped: what remains must
    // not be a common password, alone or repeated.
    // Both readings: "P@ssw0rd1234" is "password"; "motdepasse2026" is "motdepasse".
    let (leet, plain) = (stem(password, true), stem(password, false));
    let digits_only: String = lowered.chars().filter(|c| c.is_ascii_digit()).collect();
    let is_common = |candidate: &str| {
        !candidate.is_empty()
            && COMMON.iter().any(|w| {
                let w = stem(w, false);
                candidate == w
                    || (candidate.len() <= w.len() * 3 && candidate.replace(&w, "").is_empty())
            })
    };
    if is_common(&leet)
        || is_common(&plain)
        || (digits_only.chars().count() == len)
        || password.chars().all(|c| password.starts_with(c))
    {
        return Err(Weakness::Common);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_over_complexity() {
        assert_eq!(check("court", "court", "u"), Err(Weakness::TooShort));
        assert_eq!(
            check(
                "une phrase de passe toute simple",
                "une phrase de passe toute simple",
                "dr.martin"
            ),
            Ok(())
        );
        let long = "x".repeat(300);
        assert_eq!(check(&long, &long, "u"), Err(Weakness::TooLong));
    }

    #[test]
    fn common_passwords_and_their_decorations_are_refused() {
        for p in [
            "azertyuiop12",
            "Azerty123456!",
            "motdepasse2026",
            "P@ssw0rd1234",
            "123456789012",
            "soleilsoleil",
            "aaaaaaaaaaaaa",
        ] {
            assert_eq!(check(p, p, "someone"), Err(Weakness::Common), "{p}");
        }
    }

    #[test]
    fn the_username_and_a_mismatch_are_refused() {
        assert_eq!(
            check("dr.martin-2026-x", "dr.martin-2026-x", "dr.martin"),
            Err(Weakness::ContainsUsername)
        );
        assert_eq!(
            check("une longue phrase", "une longue phrasE", "u"),
            Err(Weakness::Mismatch)
        );
    }
}
