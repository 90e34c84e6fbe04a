//! The card sequences (status, signature) over any `Transport`: PC/SC in the agent, the virtual
//! card's logic in the tests.

use crate::apdu::{self, Pin, Response};
use crate::error::AgentError;

/// Tries of a CPx PIN when it is not blocked and was just verified.
pub const MAX_TRIES: u8 = 3;

/// Sends one command APDU and returns the raw response APDU.
pub trait Transport {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, AgentError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinStatus {
    pub tries_left: u8,
    pub blocked: bool,
}

#[derive(Debug)]
pub struct Signed {
    /// The authentication certificate (DER).
    pub certificate: Vec<u8>,
    /// RSASSA-PKCS1-v1_5 SHA-256 signature of the message.
    pub signature: Vec<u8>,
}

fn send(t: &mut impl Transport, apdu: &[u8]) -> Result<Response, AgentError> {
    Response::parse(t.transmit(apdu)?)
}

/// What the status shows: the certificate and the PIN tries, without presenting the PIN.
pub fn read_status(t: &mut impl Transport) -> Result<(Vec<u8>, PinStatus), AgentError> {
    let pin = read_pin_status(t)?;
    let certificate = read_certificate(t)?;
    Ok((certificate, pin))
}

/// Selects the application and asks the PIN tries (VERIFY without data).
pub fn read_pin_status(t: &mut impl Transport) -> Result<PinStatus, AgentError> {
    send(t, &apdu::select_application())?.expect_ok("select application")?;
    let response = send(t, &apdu::pin_tries_query())?;
    match (response.sw, response.tries_left()) {
        (apdu::SW_OK, _) => Ok(PinStatus {
            tries_left: MAX_TRIES,
            blocked: false,
        }),
        (apdu::SW_PIN_BLOCKED, _) | (_, Some(0)) => Ok(PinStatus {
            tries_left: 0,
            blocked: true,
        }),
        (_, Some(tries_left)) => Ok(PinStatus {
            tries_left,
            blocked: false,
        }),
        (sw, None) => Err(AgentError::Card(format!("PIN status: status {sw:04X}"))),
    }
}

/// Reads the authentication certificate (the application must be selected): chunks of
/// `READ_CHUNK` bytes until the length announced by the DER header, a short read or `6B 00`.
pub fn read_certificate(t: &mut impl Transport) -> Result<Vec<u8>, AgentError> {
    let selected = send(t, &apdu::select_auth_certificate())?;
    if selected.sw == apdu::SW_FILE_NOT_FOUND {
        return Err(AgentError::Card(
            "no authentication certificate on the card".to_owned(),
        ));
    }
    selected.expect_ok("select certificate")?;
    let mut der = Vec::new();
    let mut total = None;
    loop {
        let offset = u16::try_from(der.len())
            .map_err(|_| AgentError::Card("certificate larger than 64 KiB".to_owned()))?;
        let chunk = send(t, &apdu::read_binary(offset, apdu::READ_CHUNK))?;
        if chunk.sw == apdu::SW_WRONG_OFFSET && !der.is_empty() {
            break;
        }
        let data = chunk.expect_ok("read certificate")?;
        let short = data.len() < usize::from(apdu::READ_CHUNK);
        der.extend_from_slice(&data);
        if total.is_none() {
            total = Some(apdu::der_total_len(&der).ok_or_else(|| {
                AgentError::Card("the certificate file does not hold DER".to_owned())
            })?);
        }
        if short || total.is_some_and(|total| der.len() >= total) {
            break;
        }
    }
    match total {
        Some(total) if der.len() >= total => {
            der.truncate(total);
            Ok(der)
        }
        _ => Err(AgentError::Card(
            "certificate shorter than announced".to_owned(),
        )),
    }
}

/// Presents the PIN then has the card sign `message` (RSASSA-PKCS1-v1_5, SHA-256): the card gets
/// DigestInfo(SHA-256(message)) in INTERNAL AUTHENTICATE. The PIN is dropped (wiped) as soon as
/// the card answered VERIFY. The caller holds the card exclusively for the whole sequence.
pub fn sign(t: &mut impl Transport, pin: Pin, message: &[u8]) -> Result<Signed, AgentError> {
    send(t, &apdu::select_application())?.expect_ok("select application")?;
    let verified = send(t, &apdu::verify_pin(&pin))?;
    drop(pin);
    match (verified.sw, verified.tries_left()) {
        (apdu::SW_OK, _) => {}
        (apdu::SW_PIN_BLOCKED, _) | (_, Some(0)) => return Err(AgentError::PinBlocked),
        (_, Some(tries_left)) => return Err(AgentError::PinIncorrect { tries_left }),
        (sw, None) => return Err(AgentError::Card(format!("VERIFY: status {sw:04X}"))),
    }
    let certificate = read_certificate(t)?;
    let digest_info = apdu::digest_info_sha256(message);
    let signature =
        send(t, &apdu::internal_authenticate(&digest_info))?.expect_ok("INTERNAL AUTHENTICATE")?;
    if signature.is_empty() {
        return Err(AgentError::Card(
            "INTERNAL AUTHENTICATE: empty signature".to_owned(),
        ));
    }
    Ok(Signed {
        certificate,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
    use rsa::signature::Verifier;
    use rsa::{RsaPrivateKey, sha2::Sha256};
    use testkit::vcard::{CardLogic, VirtualCard};
    use zeroize::Zeroizing;

    struct InProcess {
        logic: CardLogic,
        sent: Vec<Vec<u8>>,
    }

    impl Transport for InProcess {
        fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, AgentError> {
            self.sent.push(apdu.to_vec());
            Ok(self.logic.respond(apdu))
        }
    }

    /// A 1024-bit key (fast) and a fake "certificate" of 600 bytes of DER framing.
    fn card(cert_len: usize) -> (VirtualCard, RsaPrivateKey, Vec<u8>) {
        let key = RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        let mut cert = vec![0x30, 0x82];
        cert.extend_from_slice(&u16::try_from(cert_len - 4).unwrap().to_be_bytes());
        cert.extend((0..cert_len - 4).map(|i| i as u8));
        let der = key.to_pkcs8_der().unwrap();
        let card = VirtualCard::new(&cert, der.as_bytes(), "1234").unwrap();
        (
            card,
            RsaPrivateKey::from_pkcs8_der(der.as_bytes()).unwrap(),
            cert,
        )
    }

    fn pin(p: &str) -> Pin {
        Pin::parse(Zeroizing::new(p.to_owned())).unwrap()
    }

    #[test]
    fn signs_the_message_after_the_pin() {
        for cert_len in [600, 4 * 0xE0, 0xE0 + 1] {
            let (card, key, cert) = card(cert_len);
            let mut t = InProcess {
                logic: card.logic(),
                sent: vec![],
            };
            let signed = sign(&mut t, pin("1234"), b"message").unwrap();
            assert_eq!(signed.certificate, cert);
            let verifying = VerifyingKey::<Sha256>::new(key.to_public_key());
            let signature = Signature::try_from(signed.signature.as_slice()).unwrap();
            verifying.verify(b"message", &signature).unwrap();
            assert_eq!(t.sent[1][1], 0x20, "VERIFY comes right after SELECT");
        }
    }

    #[test]
    fn wrong_pins_count_down_then_block() {
        let (card, _, _) = card(600);
        let mut t = InProcess {
            logic: card.logic(),
            sent: vec![],
        };
        let err = sign(&mut t, pin("0000"), b"m").unwrap_err();
        assert_eq!(err, AgentError::PinIncorrect { tries_left: 2 });
        let (_, status) = read_status(&mut t).unwrap();
        assert_eq!(
            status,
            PinStatus {
                tries_left: 2,
                blocked: false
            }
        );
        assert!(sign(&mut t, pin("1234"), b"m").is_ok());
        assert_eq!(card.tries_left(), 3);
        let mut t = InProcess {
            logic: card.logic(),
            sent: vec![],
        };
        assert_eq!(
            sign(&mut t, pin("0000"), b"m")
                .unwrap_err()
                .pin_tries_left(),
            Some(2)
        );
        assert_eq!(
            sign(&mut t, pin("0000"), b"m")
                .unwrap_err()
                .pin_tries_left(),
            Some(1)
        );
        assert_eq!(
            sign(&mut t, pin("0000"), b"m").unwrap_err(),
            AgentError::PinBlocked
        );
        assert_eq!(
            sign(&mut t, pin("1234"), b"m").unwrap_err(),
            AgentError::PinBlocked
        );
        let (_, status) = read_status(&mut t).unwrap();
        assert_eq!(
            status,
            PinStatus {
                tries_left: 0,
                blocked: true
            }
        );
    }
}
