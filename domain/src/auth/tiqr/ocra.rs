//! OCRA (RFC 6287), the challenge-response computation of the TIQR apps.
//!
//! TIQR uses one suite, `OCRA-1:HOTP-SHA1-6:QH10-S`, but the parser and the computation follow
//! the RFC far enough to reproduce its appendix C vectors (HMAC-SHA1/256/512, 4–10 digits, a
//! counter, numeric/hex/alphanumeric questions, a hashed PIN, session information and time
//! steps), so that a mistake in the shared parts shows up against independent vectors.
//!
//! Pure functions over strings as they arrive from the apps: every malformed input is an
//! [`OcraError`], never a panic.

use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

/// The suite Passerelle publishes to the apps. It must never change once published: the apps
/// keep the first suite they saw for an identity.
pub const TIQR_SUITE: &str = "OCRA-1:HOTP-SHA1-6:QH10-S";

/// Why an OCRA computation could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OcraError {
    #[error("unsupported or malformed OCRA suite")]
    Suite,
    #[error("malformed key")]
    Key,
    #[error("malformed question")]
    Question,
    #[error("malformed session information")]
    Session,
    #[error("malformed password hash")]
    Password,
    #[error("an input the suite requires is missing")]
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HashAlg {
    Sha1,
    Sha256,
    Sha512,
}

impl HashAlg {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "SHA1" => Some(Self::Sha1),
            "SHA256" => Some(Self::Sha256),
            "SHA512" => Some(Self::Sha512),
            _ => None,
        }
    }

    fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }

    fn hmac(self, key: &[u8], message: &[u8]) -> Result<Vec<u8>, OcraError> {
        fn run<M: Mac + hmac::digest::KeyInit>(
            key: &[u8],
            message: &[u8],
        ) -> Result<Vec<u8>, OcraError> {
            let mut mac =
                <M as hmac::digest::KeyInit>::new_from_slice(key).map_err(|_| OcraError::Key)?;
            mac.update(message);
            Ok(mac.finalize().into_bytes().to_vec())
        }
        match self {
            Self::Sha1 => run::<Hmac<sha1::Sha1>>(key, message),
            Self::Sha256 => run::<Hmac<sha2::Sha256>>(key, message),
            Self::Sha512 => run::<Hmac<sha2::Sha512>>(key, message),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuestionFormat {
    Numeric,
    Hex,
    Alphanumeric,
}

/// A parsed OCRA suite string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suite {
    text: String,
    hash: HashAlg,
    digits: u32,
    counter: bool,
    question_format: QuestionFormat,
    password: Option<HashAlg>,
    /// Bytes of session information (a bare `S` means 64).
    session_len: Option<usize>,
    /// Seconds per time step.
    time_step: Option<u64>,
}

/// The variable inputs of one computation, as text from the wire (hex where the RFC says so).
#[derive(Debug, Clone, Copy, Default)]
pub struct Inputs<'a> {
    pub counter: Option<u64>,
    pub question: &'a str,
    /// Hex of the hashed PIN (`PSHA1`: 40 hex digits).
    pub password_hash: Option<&'a str>,
    /// Hex of the session information.
    pub session: Option<&'a str>,
    /// Number of time steps since the epoch (see [`Suite::time_steps`]).
    pub time_steps: Option<u64>,
}

/// Upper bound on the decoded key: a TIQR secret is 32 bytes; anything far larger is garbage.
const MAX_KEY_BYTES: usize = 256;
/// The question is padded to 128 bytes (256 hex digits).
const QUESTION_BYTES: usize = 128;

impl Suite {
    pub fn parse(text: &str) -> Result<Self, OcraError> {
        let mut parts = text.split(':');
        let (Some(version), Some(crypto), Some(data), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(OcraError::Suite);
        };
        if version != "OCRA-1" {
            return Err(OcraError::Suite);
        }
        let mut crypto = crypto.split('-');
        let (Some("HOTP"), Some(hash), Some(digits), None) =
            (crypto.next(), crypto.next(), crypto.next(), crypto.next())
        else {
            return Err(OcraError::Suite);
        };
        let hash = HashAlg::parse(hash).ok_or(OcraError::Suite)?;
        // Truncation 0 ("no truncation") is allowed by the RFC but used by no client we serve.
        let digits: u32 = digits.parse().map_err(|_| OcraError::Suite)?;
        if !(4..=10).contains(&digits) {
            return Err(OcraError::Suite);
        }

        let mut suite = Suite {
            text: text.to_string(),
            hash,
            digits,
            counter: false,
            question_format: QuestionFormat::Numeric,
            password: None,
            session_len: None,
            time_step: None,
        };
        let mut items = data.split('-').peekable();
        if items.peek() == Some(&"C") {
            suite.counter = true;
            items.next();
        }
        // The question is mandatory and comes first after the optional counter.
        let q = items.next().ok_or(OcraError::Suite)?;
        let (format, max) = q
            .strip_prefix('Q')
            .filter(|rest| rest.len() == 3)
            .and_then(|rest| rest.split_at_checked(1))
            .ok_or(OcraError::Suite)?;
        suite.question_format = match format {
            "N" => QuestionFormat::Numeric,
            "H" => QuestionFormat::Hex,
            "A" => QuestionFormat::Alphanumeric,
            _ => return Err(OcraError::Suite),
        };
        if !max.parse::<usize>().is_ok_and(|m| (4..=64).contains(&m)) {
            return Err(OcraError::Suite);
        }
        // The remaining items, each at most once and in the RFC's order (P, S, T).
        for item in items {
            if let Some(p) = item.strip_prefix('P') {
                if suite.password.is_some()
                    || suite.session_len.is_some()
                    || suite.time_step.is_some()
                {
                    return Err(OcraError::Suite);
                }
                suite.password = Some(HashAlg::parse(p).ok_or(OcraError::Suite)?);
            } else if let Some(s) = item.strip_prefix('S') {
                if suite.session_len.is_some() || suite.time_step.is_some() {
                    return Err(OcraError::Suite);
                }
                suite.session_len = Some(if s.is_empty() {
                    64
                } else if s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) {
                    s.parse::<usize>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or(OcraError::Suite)?
                } else {
                    return Err(OcraError::Suite);
                });
            } else if let Some(t) = item.strip_prefix('T') {
                if suite.time_step.is_some() {
                    return Err(OcraError::Suite);
                }
                suite.time_step = Some(parse_time_step(t)?);
            } else {
                return Err(OcraError::Suite);
            }
        }
        Ok(suite)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn digits(&self) -> u32 {
        self.digits
    }

    /// The `T` input for a Unix time, for suites with a time step.
    pub fn time_steps(&self, unix_seconds: u64) -> Option<u64> {
        self.time_step.map(|step| unix_seconds / step)
    }

    /// The response for `key_hex` (the shared secret, hex in either case) and `inputs`.
    pub fn compute(&self, key_hex: &str, inputs: &Inputs<'_>) -> Result<String, OcraError> {
        let key = decode_hex(key_hex).ok_or(OcraError::Key)?;
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(OcraError::Key);
        }
        let message = self.message(inputs)?;
        let mac = self.hash.hmac(&key, &message)?;
        Ok(truncate(&mac, self.digits))
    }

    /// Whether `response` is the right answer, compared in constant time (the length of a
    /// response is public: it is the suite's digit count).
    pub fn verify(
        &self,
        key_hex: &str,
        inputs: &Inputs<'_>,
        response: &str,
    ) -> Result<bool, OcraError> {
        let expected = self.compute(key_hex, inputs)?;
        Ok(expected.len() == response.len()
            && bool::from(expected.as_bytes().ct_eq(response.as_bytes())))
    }

    /// suite || 0x00 || C || Q || P || S || T, as RFC 6287 section 5.1 lays it out.
    fn message(&self, inputs: &Inputs<'_>) -> Result<Vec<u8>, OcraError> {
        let mut m = Vec::with_capacity(self.text.len() + 1 + 8 + QUESTION_BYTES + 64 + 512 + 8);
        m.extend_from_slice(self.text.as_bytes());
        m.push(0);
        if self.counter {
            m.extend_from_slice(&inputs.counter.ok_or(OcraError::Missing)?.to_be_bytes());
        }
        m.extend_from_slice(&self.question_bytes(inputs.question)?);
        if let Some(alg) = self.password {
            let hash = inputs
                .password_hash
                .ok_or(OcraError::Missing)
                .and_then(|h| decode_hex(h).ok_or(OcraError::Password))?;
            if hash.len() != alg.output_len() {
                return Err(OcraError::Password);
            }
            m.extend_from_slice(&hash);
        }
        if let Some(len) = self.session_len {
            let session = inputs.session.ok_or(OcraError::Missing)?;
            if session.is_empty() || session.len() > 2 * len {
                return Err(OcraError::Session);
            }
            // Left-padded with zeros to the suite's length (hex digits, so odd lengths work).
            let padded = format!("{session:0>width$}", width = 2 * len);
            m.extend_from_slice(&decode_hex(&padded).ok_or(OcraError::Session)?);
        }
        if self.time_step.is_some() {
            m.extend_from_slice(&inputs.time_steps.ok_or(OcraError::Missing)?.to_be_bytes());
        }
        Ok(m)
    }

    /// The question as hex digits, right-padded with zeros to 128 bytes.
    ///
    /// Its length is checked against the RFC's bounds (4 to 64 characters), not against the
    /// suite's `xx`: the RFC's own mutual-mode vectors put 16-character questions under `QA08`,
    /// and every implementation the apps were tested against accepts that. The TIQR flow makes
    /// its challenges itself, so nothing longer than the suite's 10 digits ever reaches here.
    fn question_bytes(&self, question: &str) -> Result<Vec<u8>, OcraError> {
        let len = question.chars().count();
        if !(4..=64).contains(&len) {
            return Err(OcraError::Question);
        }
        let hex_digits = match self.question_format {
            QuestionFormat::Hex => {
                if !question.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(OcraError::Question);
                }
                question.to_string()
            }
            QuestionFormat::Numeric => decimal_to_hex(question).ok_or(OcraError::Question)?,
            QuestionFormat::Alphanumeric => {
                if !question.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(OcraError::Question);
                }
                hex::encode(question.as_bytes())
            }
        };
        if hex_digits.len() > 2 * QUESTION_BYTES {
            return Err(OcraError::Question);
        }
        let padded = format!("{hex_digits:0<width$}", width = 2 * QUESTION_BYTES);
        decode_hex(&padded).ok_or(OcraError::Question)
    }
}

/// `30S`, `1M`, `1H`, `1D`… (RFC 6287 section 6.3): seconds per step.
fn parse_time_step(s: &str) -> Result<u64, OcraError> {
    let (n, unit) = s
        .split_at_checked(s.len().saturating_sub(1))
        .ok_or(OcraError::Suite)?;
    let n: u64 = n.parse().map_err(|_| OcraError::Suite)?;
    let (seconds, range) = match unit {
        "S" => (1, 1..=59),
        "M" => (60, 1..=59),
        "H" => (3600, 0..=48),
        "D" => (86_400, 1..=1),
        _ => return Err(OcraError::Suite),
    };
    if !range.contains(&n) || n == 0 {
        return Err(OcraError::Suite);
    }
    Ok(n * seconds)
}

/// A decimal number of any length (QN questions go to 64 digits) as hex digits without leading
/// zeros, as the RFC's reference code makes them (`0` for zero).
fn decimal_to_hex(decimal: &str) -> Option<String> {
    if decimal.is_empty() || !decimal.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Big-endian base-256 digits, multiplied by ten and added to digit by digit.
    let mut value: Vec<u8> = Vec::new();
    for d in decimal.bytes().map(|b| b - b'0') {
        let mut carry = u16::from(d);
        for byte in value.iter_mut().rev() {
            let x = u16::from(*byte) * 10 + carry;
            *byte = (x & 0xff) as u8;
            carry = x >> 8;
        }
        while carry > 0 {
            value.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let hex = hex::encode(&value);
    let trimmed = hex.trim_start_matches('0');
    Some(if trimmed.is_empty() {
        "0".to_string()
    } else {
        trimmed.to_string()
    })
}

/// Hex in either case, even length; `None` otherwise.
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    hex::decode(s).ok()
}

/// HOTP's dynamic truncation (RFC 4226 section 5.3), then `digits` decimal digits.
fn truncate(mac: &[u8], digits: u32) -> String {
    let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
    let bytes = mac.get(offset..offset + 4).unwrap_or(&[0, 0, 0, 0]);
    let binary = (u64::from(bytes[0] & 0x7f) << 24)
        | (u64::from(bytes[1]) << 16)
        | (u64::from(bytes[2]) << 8)
        | u64::from(bytes[3]);
    let code = binary % 10u64.pow(digits);
    format!("{code:0width$}", width = digits as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY20: &str = "3132333435363738393031323334353637383930";
    const KEY32: &str = "3132333435363738393031323334353637383930313233343536373839303132";
    const KEY64: &str = "31323334353637383930313233343536373839303132333435363738393031323334353637383930313233343536373839303132333435363738393031323334";
    const PIN_1234_SHA1: &str = "7110eda4d09e062aa5e4a390b0a572ac0d2c0220";

    fn ocra(suite: &str, key: &str, inputs: Inputs<'_>) -> String {
        Suite::parse(suite)
            .and_then(|s| s.compute(key, &inputs))
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    fn consecutive(from: u8, n: u8) -> String {
        (from..=from.wrapping_add(n - 1))
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn tiqr_vectors_of_the_protocol_notes() {
        let s32_00 = consecutive(0x00, 32);
        let s32_20 = consecutive(0x20, 32);
        let s32_e0 = consecutive(0xe0, 32);
        let s16_00 = consecutive(0x00, 16);
        let s16_f0 = consecutive(0xf0, 16);
        for (q, s, expected) in [
            ("0000000000", s32_00.as_str(), "525367"),
            ("1111111111", s32_20.as_str(), "401066"),
            ("ffffffffff", s32_e0.as_str(), "570983"),
            ("0000000000", s16_00.as_str(), "539871"),
            ("ffffffffff", s16_f0.as_str(), "349241"),
        ] {
            let inputs = Inputs {
                question: q,
                session: Some(s),
                ..Inputs::default()
            };
            assert_eq!(ocra(TIQR_SUITE, KEY32, inputs), expected, "Q={q} S={s}");
        }
        let inputs = Inputs {
            question: "0000000000",
            session: Some(&s32_00),
            ..Inputs::default()
        };
        assert_eq!(
            ocra("OCRA-1:HOTP-SHA1-6:QH10-S064", KEY32, inputs),
            "174452"
        );
    }

    #[test]
    fn the_key_the_question_and_the_session_are_read_in_either_case() {
        let s = consecutive(0xe0, 32).to_uppercase();
        let inputs = Inputs {
            question: "FFFFFFFFFF",
            session: Some(&s),
            ..Inputs::default()
        };
        assert_eq!(ocra(TIQR_SUITE, &KEY32.to_uppercase(), inputs), "570983");
    }

    #[test]
    fn rfc6287_one_way_challenge_response() {
        for (q, expected) in [
            ("00000000", "237653"),
            ("11111111", "243178"),
            ("22222222", "653583"),
            ("33333333", "740991"),
            ("44444444", "608993"),
            ("55555555", "388898"),
            ("66666666", "816933"),
            ("77777777", "224598"),
            ("88888888", "750600"),
            ("99999999", "294470"),
        ] {
            let inputs = Inputs {
                question: q,
                ..Inputs::default()
            };
            assert_eq!(ocra("OCRA-1:HOTP-SHA1-6:QN08", KEY20, inputs), expected);
        }
        for (c, expected) in [
            "65347737", "86775851", "78192410", "71565254", "10104329", "65983500", "70069104",
            "91771096", "75011558", "08522129",
        ]
        .into_iter()
        .enumerate()
        {
            let inputs = Inputs {
                counter: Some(c as u64),
                question: "12345678",
                password_hash: Some(PIN_1234_SHA1),
                ..Inputs::default()
            };
            assert_eq!(
                ocra("OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", KEY32, inputs),
                expected
            );
        }
        for (q, expected) in [
            ("00000000", "83238735"),
            ("11111111", "01501458"),
            ("22222222", "17957585"),
            ("33333333", "86776967"),
            ("44444444", "86807031"),
        ] {
            let inputs = Inputs {
                question: q,
                password_hash: Some(PIN_1234_SHA1),
                ..Inputs::default()
            };
            assert_eq!(
                ocra("OCRA-1:HOTP-SHA256-8:QN08-PSHA1", KEY32, inputs),
                expected
            );
        }
        for (c, expected) in [
            "07016083", "63947962", "70123924", "25341727", "33203315", "34205738", "44343969",
            "51946085", "20403879", "31409299",
        ]
        .into_iter()
        .enumerate()
        {
            let q = c.to_string().repeat(8);
            let inputs = Inputs {
                counter: Some(c as u64),
                question: &q,
                ..Inputs::default()
            };
            assert_eq!(ocra("OCRA-1:HOTP-SHA512-8:C-QN08", KEY64, inputs), expected);
        }
        for (q, expected) in [
            ("00000000", "95209754"),
            ("11111111", "55907591"),
            ("22222222", "22048402"),
            ("33333333", "24218844"),
            ("44444444", "36209546"),
        ] {
            let inputs = Inputs {
                question: q,
                time_steps: Some(0x132d0b6),
                ..Inputs::default()
            };
            assert_eq!(
                ocra("OCRA-1:HOTP-SHA512-8:QN08-T1M", KEY64, inputs),
                expected
            );
        }
    }

    #[test]
    fn rfc6287_alphanumeric_questions() {
        // Appendix C.2, mutual challenge-response (server and client computations).
        for (suite, key, q, pin, expected) in [
            (
                "OCRA-1:HOTP-SHA256-8:QA08",
                KEY32,
                "CLI22220SRV11110",
                None,
                "28247970",
            ),
            (
                "OCRA-1:HOTP-SHA256-8:QA08",
                KEY32,
                "CLI22221SRV11111",
                None,
                "01984843",
            ),
            (
                "OCRA-1:HOTP-SHA256-8:QA08",
                KEY32,
                "SRV11110CLI22220",
                None,
                "15510767",
            ),
            (
                "OCRA-1:HOTP-SHA512-8:QA08",
                KEY64,
                "CLI22220SRV11110",
                None,
                "79496648",
            ),
            (
                "OCRA-1:HOTP-SHA512-8:QA08-PSHA1",
                KEY64,
                "SRV11110CLI22220",
                Some(PIN_1234_SHA1),
                "18806276",
            ),
        ] {
            let inputs = Inputs {
                question: q,
                password_hash: pin,
                ..Inputs::default()
            };
            assert_eq!(ocra(suite, key, inputs), expected, "{suite} {q}");
        }
        // Appendix C.3, plain signature.
        for (q, expected) in [("SIG10000", "53095496"), ("SIG11000", "04110475")] {
            let inputs = Inputs {
                question: q,
                ..Inputs::default()
            };
            assert_eq!(ocra("OCRA-1:HOTP-SHA256-8:QA08", KEY32, inputs), expected);
        }
        let inputs = Inputs {
            question: "SIG1000000",
            time_steps: Some(0x132d0b6),
            ..Inputs::default()
        };
        assert_eq!(
            ocra("OCRA-1:HOTP-SHA512-8:QA10-T1M", KEY64, inputs),
            "77537423"
        );
    }

    #[test]
    fn time_steps_follow_the_suite() {
        let s = Suite::parse("OCRA-1:HOTP-SHA512-8:QN08-T1M").unwrap_or_else(|_| unreachable!());
        assert_eq!(s.time_steps(0x132d0b6 * 60 + 59), Some(0x132d0b6));
        let tiqr = Suite::parse(TIQR_SUITE).unwrap_or_else(|_| unreachable!());
        assert_eq!(tiqr.time_steps(1), None);
        assert_eq!(tiqr.digits(), 6);
    }

    #[test]
    fn malformed_inputs_are_errors_not_panics() {
        fn s(t: &str) -> Inputs<'_> {
            Inputs {
                question: "0123456789",
                session: Some(t),
                ..Inputs::default()
            }
        }
        let session = consecutive(0, 32);
        // Key: not hex, odd length, empty, absurdly long.
        assert_eq!(ocra(TIQR_SUITE, "zz", s(&session)), "error: malformed key");
        assert_eq!(ocra(TIQR_SUITE, "abc", s(&session)), "error: malformed key");
        assert_eq!(ocra(TIQR_SUITE, "", s(&session)), "error: malformed key");
        assert_eq!(
            ocra(TIQR_SUITE, &"00".repeat(1000), s(&session)),
            "error: malformed key"
        );
        // Session: too long for S (64 bytes), not hex, missing, empty.
        assert_eq!(
            ocra(TIQR_SUITE, KEY32, s(&"0".repeat(129))),
            "error: malformed session information"
        );
        assert_eq!(
            ocra(TIQR_SUITE, KEY32, s("xyz")),
            "error: malformed session information"
        );
        assert_eq!(
            ocra(TIQR_SUITE, KEY32, s("")),
            "error: malformed session information"
        );
        let no_session = Inputs {
            question: "0123456789",
            ..Inputs::default()
        };
        assert_eq!(
            ocra(TIQR_SUITE, KEY32, no_session),
            "error: an input the suite requires is missing"
        );
        // Question: too long, too short, not hex, not numeric, non-ASCII.
        for q in [&"0".repeat(65), "012", "012345678g", "éééé"] {
            let inputs = Inputs {
                question: q,
                session: Some(&session),
                ..Inputs::default()
            };
            assert_eq!(
                ocra(TIQR_SUITE, KEY32, inputs),
                "error: malformed question",
                "{q}"
            );
        }
        let inputs = Inputs {
            question: "1234abcd",
            ..Inputs::default()
        };
        assert_eq!(
            ocra("OCRA-1:HOTP-SHA1-6:QN08", KEY20, inputs),
            "error: malformed question"
        );
        // Password hash of the wrong length.
        let inputs = Inputs {
            question: "12345678",
            password_hash: Some("7110"),
            ..Inputs::default()
        };
        assert_eq!(
            ocra("OCRA-1:HOTP-SHA256-8:QN08-PSHA1", KEY32, inputs),
            "error: malformed password hash"
        );
        // Suites.
        for bad in [
            "",
            "OCRA-2:HOTP-SHA1-6:QH10-S",
            "OCRA-1:HOTP-MD5-6:QH10",
            "OCRA-1:HOTP-SHA1-3:QH10",
            "OCRA-1:HOTP-SHA1-11:QH10",
            "OCRA-1:HOTP-SHA1-6:QX10",
            "OCRA-1:HOTP-SHA1-6:QH99",
            "OCRA-1:HOTP-SHA1-6:QH3",
            "OCRA-1:HOTP-SHA1-6:S-QH10",
            "OCRA-1:HOTP-SHA1-6:QH10-S1",
            "OCRA-1:HOTP-SHA1-6:QH10-S000",
            "OCRA-1:HOTP-SHA1-6:QH10-T0M",
            "OCRA-1:HOTP-SHA1-6:QH10-T-S",
            "OCRA-1:HOTP-SHA1-6:QH10-PSHA3",
            "OCRA-1:HOTP-SHA1-6:QH10-S-S",
            "OCRA-1:HOTP-SHA1-6:QH10:extra",
            "OCRA-1:HOTP-SHA1-6",
            "OCRA-1:HOTP-SHA1-6:Qé10",
        ] {
            assert_eq!(Suite::parse(bad), Err(OcraError::Suite), "{bad:?}");
        }
    }

    #[test]
    fn verification_is_exact() {
        let suite = Suite::parse(TIQR_SUITE).unwrap_or_else(|_| unreachable!());
        let session = consecutive(0, 32);
        let inputs = Inputs {
            question: "0000000000",
            session: Some(&session),
            ..Inputs::default()
        };
        assert_eq!(suite.verify(KEY32, &inputs, "525367"), Ok(true));
        assert_eq!(suite.verify(KEY32, &inputs, "525368"), Ok(false));
        assert_eq!(suite.verify(KEY32, &inputs, "0525367"), Ok(false));
        assert_eq!(suite.verify(KEY32, &inputs, ""), Ok(false));
        assert_eq!(suite.verify("x", &inputs, "525367"), Err(OcraError::Key));
    }

    #[test]
    fn large_numeric_questions_convert_exactly() {
        assert_eq!(decimal_to_hex("0").as_deref(), Some("0"));
        assert_eq!(decimal_to_hex("00000000").as_deref(), Some("0"));
        assert_eq!(decimal_to_hex("12345678").as_deref(), Some("bc614e"));
        assert_eq!(decimal_to_hex("4095").as_deref(), Some("fff"));
        assert_eq!(
            decimal_to_hex("18446744073709551616").as_deref(),
            Some("10000000000000000")
        );
        assert_eq!(decimal_to_hex("12a"), None);
        assert_eq!(decimal_to_hex(""), None);
    }
}
