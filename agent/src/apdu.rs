//! The CPS3-like commands (ISO 7816-4/-8) the agent sends, and their answers.

use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::error::AgentError;

/// AID of the CPS application.
pub const AID: [u8; 13] = [
    0xE8, 0x28, 0xBD, 0x08, 0x0F, 0x80, 0x25, 0x00, 0x00, 0x01, 0xFF, 0x00, 0x10,
];
/// File identifier of the authentication certificate.
pub const AUTH_CERT_FILE: [u8; 2] = [0xD0, 0x01];
/// Reference of the holder PIN ("code porteur").
pub const PIN_REF: u8 = 0x01;
/// READ BINARY chunk size: fits every reader's short APDU buffer.
pub const READ_CHUNK: u8 = 0xE0;
/// DER prefix of a SHA-256 DigestInfo (PKCS#1 v1.5, RFC 8017 §9.2 note 1).
pub const DIGEST_INFO_SHA256_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

pub const SW_OK: u16 = 0x9000;
pub const SW_SECURITY_NOT_SATISFIED: u16 = 0x6982;
pub const SW_PIN_BLOCKED: u16 = 0x6983;
pub const SW_FILE_NOT_FOUND: u16 = 0x6A82;
pub const SW_WRONG_OFFSET: u16 = 0x6B00;

/// The holder PIN, checked once (4 to 8 digits). Never printed; wiped from memory when dropped.
pub struct Pin(Zeroizing<String>);

impl Pin {
    pub fn parse(pin: Zeroizing<String>) -> Result<Self, AgentError> {
        if (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(pin))
        } else {
            Err(AgentError::PinFormat)
        }
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

pub fn select_application() -> Vec<u8> {
    let mut apdu = vec![0x00, 0xA4, 0x04, 0x00, AID.len() as u8];
    apdu.extend_from_slice(&AID);
    apdu
}

pub fn select_auth_certificate() -> Vec<u8> {
    let mut apdu = vec![0x00, 0xA4, 0x02, 0x0C, 0x02];
    apdu.extend_from_slice(&AUTH_CERT_FILE);
    apdu
}

pub fn read_binary(offset: u16, le: u8) -> Vec<u8> {
    let [hi, lo] = offset.to_be_bytes();
    vec![0x00, 0xB0, hi, lo, le]
}

/// VERIFY with the PIN padded with FF to 8 bytes; the command is wiped once sent.
pub fn verify_pin(pin: &Pin) -> Zeroizing<Vec<u8>> {
    let mut apdu = Zeroizing::new(vec![0x00, 0x20, 0x00, PIN_REF, 0x08]);
    apdu.extend_from_slice(pin.0.as_bytes());
    apdu.resize(5 + 8, 0xFF);
    apdu
}

/// VERIFY without data: the card answers the tries left (or 90 00 when verified).
pub fn pin_tries_query() -> Vec<u8> {
    vec![0x00, 0x20, 0x00, PIN_REF]
}

pub fn internal_authenticate(digest_info: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x00, 0x88, 0x00, 0x00, digest_info.len() as u8];
    apdu.extend_from_slice(digest_info);
    apdu.push(0x00);
    apdu
}

/// `SHA-256(origin) || SHA-256(nonce)`: the message signed for the portal (web-eID design), so a
/// signature made for one site is useless to another.
pub fn signed_message(origin: &str, nonce: &str) -> [u8; 64] {
    let mut message = [0u8; 64];
    message[..32].copy_from_slice(&Sha256::digest(origin.as_bytes()));
    message[32..].copy_from_slice(&Sha256::digest(nonce.as_bytes()));
    message
}

/// DigestInfo(SHA-256(message)), which the card pads and signs (RSASSA-PKCS1-v1_5).
pub fn digest_info_sha256(message: &[u8]) -> [u8; 51] {
    let mut info = [0u8; 51];
    info[..19].copy_from_slice(&DIGEST_INFO_SHA256_PREFIX);
    info[19..].copy_from_slice(&Sha256::digest(message));
    info
}

/// A response APDU: data and status word.
#[derive(Debug, PartialEq, Eq)]
pub struct Response {
    pub data: Vec<u8>,
    pub sw: u16,
}

impl Response {
    pub fn parse(mut raw: Vec<u8>) -> Result<Self, AgentError> {
        let len = raw.len();
        if len < 2 {
            raw.zeroize();
            // What PC/SC hands back when the reader lost the card mid-command.
            return Err(AgentError::Communication(format!(
                "response of {len} bytes"
            )));
        }
        let sw = u16::from_be_bytes([raw[len - 2], raw[len - 1]]);
        raw.truncate(len - 2);
        Ok(Self { data: raw, sw })
    }

    /// Tries left in a `63 Cx` answer.
    pub fn tries_left(&self) -> Option<u8> {
        (self.sw & 0xFFF0 == 0x63C0).then_some((self.sw & 0x0F) as u8)
    }

    pub fn expect_ok(self, what: &str) -> Result<Vec<u8>, AgentError> {
        if self.sw == SW_OK {
            Ok(self.data)
        } else {
            Err(AgentError::Card(format!("{what}: status {:04X}", self.sw)))
        }
    }
}

/// Total length of a DER SEQUENCE from its first bytes (tag, length), or None if these bytes are
/// not the start of one (definite length up to 64 KiB, which holds any certificate).
pub fn der_total_len(head: &[u8]) -> Option<usize> {
    match head {
        [0x30, n, ..] if *n < 0x80 => Some(2 + usize::from(*n)),
        [0x30, 0x81, n, ..] => Some(3 + usize::from(*n)),
        [0x30, 0x82, hi, lo, ..] => Some(4 + usize::from(u16::from_be_bytes([*hi, *lo]))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_match_the_card_specification() {
        assert_eq!(
            hex::encode_upper(select_application()),
            "00A404000DE828BD080F80250000 01FF0010".replace(' ', "")
        );
        assert_eq!(
            select_auth_certificate(),
            [0x00, 0xA4, 0x02, 0x0C, 0x02, 0xD0, 0x01]
        );
        assert_eq!(read_binary(0x01C0, 0xE0), [0x00, 0xB0, 0x01, 0xC0, 0xE0]);
        let pin = Pin::parse(Zeroizing::new("1234".to_owned())).unwrap();
        assert_eq!(
            verify_pin(&pin).as_slice(),
            [
                0x00, 0x20, 0x00, 0x01, 0x08, b'1', b'2', b'3', b'4', 0xFF, 0xFF, 0xFF, 0xFF
            ]
        );
        assert_eq!(format!("{pin:?}"), "***");
        let auth = internal_authenticate(&digest_info_sha256(b"m"));
        assert_eq!(auth.len(), 5 + 51 + 1);
        assert_eq!(auth[..5], [0x00, 0x88, 0x00, 0x00, 51]);
        assert_eq!(auth[5..24], DIGEST_INFO_SHA256_PREFIX);
    }

    #[test]
    fn pin_must_be_four_to_eight_digits() {
        for bad in ["123", "123456789", "12a4", "", "12 34", "１２３４"] {
            assert!(Pin::parse(Zeroizing::new(bad.to_owned())).is_err(), "{bad}");
        }
        for good in ["1234", "12345678"] {
            assert!(Pin::parse(Zeroizing::new(good.to_owned())).is_ok());
        }
    }

    #[test]
    fn signed_message_is_both_hashes() {
        let m = signed_message("https://portail.example.fr", "abc");
        assert_eq!(
            hex::encode(&m[32..]),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(
            m[..32],
            signed_message("https://other.example.fr", "abc")[..32]
        );
    }

    #[test]
    fn responses_and_der_lengths() {
        let r = Response::parse(vec![1, 2, 0x90, 0x00]).unwrap();
        assert_eq!(
            r,
            Response {
                data: vec![1, 2],
                sw: SW_OK
            }
        );
        assert_eq!(
            Response::parse(vec![0x63, 0xC2]).unwrap().tries_left(),
            Some(2)
        );
        assert_eq!(
            Response::parse(vec![0x69, 0x83]).unwrap().tries_left(),
            None
        );
        assert!(Response::parse(vec![0x90]).is_err());
        assert_eq!(der_total_len(&[0x30, 0x82, 0x05, 0x1A]), Some(4 + 0x51A));
        assert_eq!(der_total_len(&[0x30, 0x81, 0x90, 0]), Some(3 + 0x90));
        assert_eq!(der_total_len(&[0x30, 0x10, 0, 0]), Some(0x12));
        assert_eq!(der_total_len(&[0x31, 0x10]), None);
    }
}
