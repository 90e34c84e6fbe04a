//! "Application TIQR": enrollment of the TIQR app by QR code, and sign-in by QR code (or by the
//! offline code the app shows), with the real, unmodified Android and iOS apps.
//!
//! - [`enrollment`]: the user's security page (or the desk, `admin::tiqr`) starts an enrollment;
//!   the app fetches the metadata once, posts its secret, and gets `OK`.
//! - [`sign_in`]: the page shows a `tiqrauth://` QR; the app posts its OCRA response and gets one
//!   of the [`Reply`] strings; the page polls with its own cookie and gets its session.
//! - [`ocra`]: the OCRA computation; [`secret_box`]: the secrets sealed at rest.
//!
//! What the apps need to the letter is in `shared/tiqr-protocol.md`; each quirk is quoted where
//! the code deals with it. The app endpoints are public: each request is parsed by
//! [`parse_app_form`] (bounded, lenient about the apps' spellings of "absent"), and nothing is
//! stored for a request that does not parse.

pub mod confirmation;
pub mod enrollment;
pub mod ocra;
pub mod secret_box;
pub mod sign_in;

use rand::RngCore;
use sha2::{Digest, Sha256};
use time::Duration;

use crate::error::{Error, Result};
pub use secret_box::SecretBox;

/// The metadata key of the enrollment QR: single use, five minutes.
pub const METADATA_LIFETIME: Duration = Duration::seconds(300);
/// The second one-time secret, in `enrollmentUrl`: five minutes from the metadata download.
pub const ENROLLMENT_SECRET_LIFETIME: Duration = Duration::seconds(300);
/// A sign-in QR (sessionKey and challenge).
pub const SIGN_IN_LIFETIME: Duration = Duration::seconds(180);
/// Wrong responses an enrollment may give before it is blocked: the apps then read
/// `INVALID_RESPONSE:4`, `:3`, `:2`, `:1`, then `ACCOUNT_BLOCKED`.
pub const MAX_ATTEMPTS: i32 = 5;
/// A phone that posted its secret must be confirmed by the enrolling browser within this time
/// (a first authentication on the confirmation QR); later, it never becomes usable.
pub const CONFIRMATION_LIFETIME: Duration = Duration::minutes(10);
/// Adding a phone without typing the password again: only this soon after a strong
/// authentication (sign-in or password re-check).
pub const RECENT_AUTHENTICATION: Duration = Duration::minutes(5);
/// Sign-ins with a phone confirmed less than this long ago do not satisfy the admin console's
/// re-authentication (`[tiqr] new_phone_hours` overrides it): someone who got a phone onto an
/// administrator's account (an unattended session) must still know the password for the console,
/// and the holder has a day to read the "new phone" e-mail and revoke it.
pub const NEW_PHONE_UNTRUSTED: Duration = Duration::hours(24);
/// The desk's code for the holder: valid 10 minutes, 5 tries.
pub const DESK_CODE_LIFETIME: Duration = Duration::minutes(10);
pub const DESK_CODE_ATTEMPTS: i32 = 5;
/// Largest app request body accepted. The biggest legitimate one (iOS login with a push token)
/// is well under 1 KiB.
pub const MAX_FORM_BYTES: usize = 4096;

/// What the apps read, to the byte: plain text, no newline, no JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Ok,
    /// A wrong response; at least one attempt is left (`INVALID_RESPONSE:0` makes iOS block
    /// every account in the app, so it cannot be built, see [`AttemptsLeft`]).
    InvalidResponse(AttemptsLeft),
    AccountBlocked,
    /// Unknown, expired or already used sessionKey.
    InvalidChallenge,
    InvalidRequest,
    /// Unknown or revoked identity.
    InvalidUserId,
}

impl Reply {
    pub fn as_str(self) -> &'static str {
        match self {
            Reply::Ok => "OK",
            Reply::InvalidResponse(left) => match left.0 {
                1 => "INVALID_RESPONSE:1",
                2 => "INVALID_RESPONSE:2",
                3 => "INVALID_RESPONSE:3",
                4 => "INVALID_RESPONSE:4",
                5 => "INVALID_RESPONSE:5",
                6 => "INVALID_RESPONSE:6",
                7 => "INVALID_RESPONSE:7",
                8 => "INVALID_RESPONSE:8",
                _ => "INVALID_RESPONSE:9",
            },
            Reply::AccountBlocked => "ACCOUNT_BLOCKED",
            Reply::InvalidChallenge => "INVALID_CHALLENGE",
            Reply::InvalidRequest => "INVALID_REQUEST",
            Reply::InvalidUserId => "INVALID_USERID",
        }
    }
}

/// Attempts left after a wrong response: 1 to 9, never 0 (see [`Reply::InvalidResponse`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptsLeft(u8);

impl AttemptsLeft {
    pub fn new(n: i32) -> Option<Self> {
        u8::try_from(n)
            .ok()
            .filter(|n| (1..=9).contains(n))
            .map(Self)
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// The opaque identifier of an enrollment, as the app knows it (`userId`): lowercase letters and
/// digits, 20 to 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity(String);

/// RFC 4648 base32 in lowercase: only `[a-z2-7]`, which the apps accept, and no 0/O or 1/l to
/// confuse when the offline form asks for it.
const IDENTITY_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// 20 base32 characters: 100 bits.
const IDENTITY_LEN: usize = 20;

impl Identity {
    pub fn parse(input: &str) -> Result<Self> {
        let s = input.trim().to_ascii_lowercase();
        if (20..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            Ok(Self(s))
        } else {
            Err(Error::TiqrRequest("userId"))
        }
    }

    fn generate() -> Self {
        let mut bytes = [0u8; IDENTITY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(
            bytes
                .iter()
                .map(|b| char::from(IDENTITY_ALPHABET[usize::from(b & 31)]))
                .collect(),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the apps are told about this portal. `identifier`, `authentication_url` and the suite must
/// never change once published: the apps keep the first ones they saw.
#[derive(Debug, Clone)]
pub struct TiqrService {
    /// "Passerelle — Santé Île-de-France"…
    pub display_name: String,
    /// Lowercase host-like name; the host of the `tiqrauth://` URLs.
    pub identifier: String,
    /// A small image served without authentication (iOS downloads it during enrollment).
    pub logo_url: String,
    pub info_url: String,
    /// Where the app posts its login responses.
    pub authentication_url: String,
    /// Where the app fetches the metadata (`?key=` is appended).
    pub metadata_url: String,
    /// Where the app posts its secret (`?otp=` and the enrollment secret are appended).
    pub enrollment_url: String,
    /// Shown by iOS as the service's name in the sign-in QR; never empty.
    pub sp_identifier: String,
}

impl TiqrService {
    /// Checks the published values once, at start-up.
    pub fn validate(&self) -> Result<()> {
        let host_like = !self.identifier.is_empty()
            && self.identifier.len() <= 253
            && self
                .identifier
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && !self.identifier.starts_with(['.', '-'])
            && !self.identifier.ends_with(['.', '-']);
        if !host_like {
            return Err(Error::TiqrRequest("service.identifier"));
        }
        for (field, url) in [
            ("service.logoUrl", &self.logo_url),
            ("service.infoUrl", &self.info_url),
            ("service.authenticationUrl", &self.authentication_url),
            ("service.metadataUrl", &self.metadata_url),
            ("service.enrollmentUrl", &self.enrollment_url),
        ] {
            if !(url.starts_with("https://") || url.starts_with("http://"))
                || url.contains(char::is_whitespace)
            {
                return Err(Error::TiqrRequest(field));
            }
        }
        if self.display_name.trim().is_empty() {
            return Err(Error::TiqrRequest("service.displayName"));
        }
        if self.sp_identifier.trim().is_empty() || self.sp_identifier.contains('/') {
            return Err(Error::TiqrRequest("spIdentifier"));
        }
        Ok(())
    }
}

/// An app's form, after the lenient parsing: each field present and meaningful, or `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppForm {
    pub operation: Option<String>,
    pub secret: Option<String>,
    pub session_key: Option<String>,
    pub user_id: Option<String>,
    pub response: Option<String>,
    pub language: Option<String>,
    pub notification_type: Option<String>,
    pub notification_address: Option<String>,
    pub version: Option<String>,
}

/// Parses an app's POST body as `application/x-www-form-urlencoded`, whatever the Content-Type
/// said (iOS may send none). ``, `null` and `(null)` mean absent (iOS sends `(null)` for an
/// unset push address or version). Bounded: a body over [`MAX_FORM_BYTES`], a repeated field or
/// a field that is not UTF-8 is refused. Unknown fields are ignored (newer apps may add some).
pub fn parse_app_form(body: &[u8]) -> Result<AppForm> {
    if body.len() > MAX_FORM_BYTES {
        return Err(Error::TiqrRequest("body"));
    }
    let body = body.trim_ascii();
    let mut form = AppForm::default();
    for (key, value) in form_urlencoded::parse(body) {
        let slot = match key.as_ref() {
            "operation" => &mut form.operation,
            "secret" => &mut form.secret,
            "sessionKey" => &mut form.session_key,
            "userId" => &mut form.user_id,
            "response" => &mut form.response,
            "language" => &mut form.language,
            "notificationType" => &mut form.notification_type,
            "notificationAddress" => &mut form.notification_address,
            "version" => &mut form.version,
            _ => continue,
        };
        // form_urlencoded replaces invalid UTF-8 by U+FFFD: no legitimate field contains it.
        if value.contains('\u{fffd}') {
            return Err(Error::TiqrRequest("encoding"));
        }
        let value = value.trim();
        if matches!(value, "" | "null" | "(null)") {
            continue;
        }
        if slot.is_some() {
            return Err(Error::TiqrRequest("duplicate field"));
        }
        *slot = Some(value.to_string());
    }
    Ok(form)
}

/// `n` random bytes as lowercase hex.
fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn sha256(s: &str) -> Vec<u8> {
    Sha256::digest(s.as_bytes()).to_vec()
}

/// A one-time value of ours coming back from the app or the page: 32 hex digits. Anything else is
/// refused before a query is made.
fn one_time_key(field: &'static str, value: &str) -> Result<String> {
    let v = value.trim().to_ascii_lowercase();
    if v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(v)
    } else {
        Err(Error::TiqrRequest(field))
    }
}

/// `url` with one more query parameter.
fn with_query(url: &str, name: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{name}={value}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_the_exact_strings() {
        assert_eq!(Reply::Ok.as_str(), "OK");
        assert_eq!(Reply::AccountBlocked.as_str(), "ACCOUNT_BLOCKED");
        assert_eq!(Reply::InvalidChallenge.as_str(), "INVALID_CHALLENGE");
        assert_eq!(Reply::InvalidRequest.as_str(), "INVALID_REQUEST");
        assert_eq!(Reply::InvalidUserId.as_str(), "INVALID_USERID");
        for n in 1..=9 {
            let left = AttemptsLeft::new(n).map(Reply::InvalidResponse);
            assert_eq!(
                left.map(Reply::as_str),
                Some(format!("INVALID_RESPONSE:{n}").as_str())
            );
        }
        // `:0` cannot be said, nor a negative or two-digit count.
        assert_eq!(AttemptsLeft::new(0), None);
        assert_eq!(AttemptsLeft::new(-1), None);
        assert_eq!(AttemptsLeft::new(10), None);
    }

    #[test]
    fn android_and_ios_forms_parse_alike() {
        let android = b"operation=login&sessionKey=ABCDEF0123456789abcdef0123456789&userId=abcdefghijklmnopqrst&response=012345&language=fr";
        let ios = b"sessionKey=ABCDEF0123456789abcdef0123456789&userId=abcdefghijklmnopqrst&response=012345&language=fr-FR&notificationType=APNS&notificationAddress=(null)&version=(null)&operation=login\r\n";
        let a = parse_app_form(android).ok();
        let i = parse_app_form(ios).ok();
        assert_eq!(
            a.as_ref().and_then(|f| f.response.as_deref()),
            Some("012345")
        );
        assert_eq!(
            i.as_ref().and_then(|f| f.operation.as_deref()),
            Some("login")
        );
        assert_eq!(
            i.as_ref().and_then(|f| f.notification_address.clone()),
            None
        );
        assert_eq!(i.as_ref().and_then(|f| f.version.clone()), None);
        assert_eq!(a.as_ref().and_then(|f| f.notification_type.clone()), None);
        // Percent-encoding and `+` are decoded.
        let f = parse_app_form(b"notificationAddress=a%2Bb+c&language=null").ok();
        assert_eq!(
            f.as_ref().and_then(|f| f.notification_address.as_deref()),
            Some("a+b c")
        );
        assert_eq!(f.and_then(|f| f.language), None);
    }

    #[test]
    fn oversized_repeated_and_garbled_forms_are_refused() {
        assert!(parse_app_form(&vec![b'a'; MAX_FORM_BYTES + 1]).is_err());
        assert!(parse_app_form(b"userId=a&userId=b").is_err());
        assert!(parse_app_form(b"userId=%ff%fe").is_err());
        // An empty or unrelated body parses to nothing (the flows then refuse what is missing).
        assert_eq!(parse_app_form(b"").ok(), Some(AppForm::default()));
        assert_eq!(parse_app_form(b"foo=bar").ok(), Some(AppForm::default()));
        // A repeated field that is absent once is not a duplicate.
        assert!(parse_app_form(b"version=(null)&version=3.1").is_ok());
    }

    #[test]
    fn identities_are_opaque_and_shaped_for_the_apps() {
        let a = Identity::generate();
        assert_eq!(a.as_str().len(), IDENTITY_LEN);
        assert!(Identity::parse(a.as_str()).is_ok());
        assert_ne!(a, Identity::generate());
        assert!(Identity::parse("dr.martin@example.fr").is_err());
        assert!(Identity::parse("short").is_err());
        assert!(Identity::parse(&"a".repeat(65)).is_err());
        // Typed in the offline form in capitals: the same identity.
        assert_eq!(
            Identity::parse("ABCDEFGHIJKLMNOPQRST").ok(),
            Identity::parse("abcdefghijklmnopqrst").ok()
        );
    }

    #[test]
    fn one_time_keys_and_urls() {
        assert!(one_time_key("k", &"A".repeat(32)).is_ok());
        assert!(one_time_key("k", &"a".repeat(31)).is_err());
        assert!(one_time_key("k", &"g".repeat(32)).is_err());
        assert_eq!(with_query("https://x/m", "key", "1"), "https://x/m?key=1");
        assert_eq!(
            with_query("https://x/m?a=b", "key", "1"),
            "https://x/m?a=b&key=1"
        );
    }
}
