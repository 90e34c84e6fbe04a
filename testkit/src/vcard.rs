//! Virtual CPx card: answers the CPS3-like commands of `/work/shared/cpx-card.md` (select, read the
//! authentication certificate, VERIFY, INTERNAL AUTHENTICATE), in process (`CardLogic::respond`)
//! or as a card in the vpcd virtual reader of pcscd (`VirtualCard::insert`).
//!
//! The PIN tries counter lives in the `VirtualCard` (shared by its clones), so it survives a
//! removal and reinsertion like on a real card; the "PIN verified" state belongs to one card
//! session (`CardLogic`) and is cleared by power off and reset.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};

/// AID of the CPS application selected before anything else.
pub const AID: [u8; 13] = [
    0xE8, 0x28, 0xBD, 0x08, 0x0F, 0x80, 0x25, 0x00, 0x00, 0x01, 0xFF, 0x00, 0x10,
];
/// File identifier of the authentication certificate (DER).
pub const AUTH_CERT_FILE: [u8; 2] = [0xD0, 0x01];
/// Reference of the holder PIN ("code porteur") in VERIFY.
pub const PIN_REF: u8 = 0x01;
/// Tries of a fresh (or just unlocked) PIN.
pub const MAX_TRIES: u8 = 3;
/// ATR answered to vpcd (a minimal T=1 ATR).
pub const ATR: [u8; 5] = [0x3B, 0x80, 0x80, 0x01, 0x01];

const SW_OK: [u8; 2] = [0x90, 0x00];
const SW_WRONG_LENGTH: [u8; 2] = [0x67, 0x00];
const SW_SECURITY_NOT_SATISFIED: [u8; 2] = [0x69, 0x82];
const SW_PIN_BLOCKED: [u8; 2] = [0x69, 0x83];
const SW_NO_CURRENT_EF: [u8; 2] = [0x69, 0x86];
const SW_FILE_NOT_FOUND: [u8; 2] = [0x6A, 0x82];
const SW_REF_NOT_FOUND: [u8; 2] = [0x6A, 0x88];
const SW_WRONG_P1P2: [u8; 2] = [0x6B, 0x00];
const SW_INS_NOT_SUPPORTED: [u8; 2] = [0x6D, 0x00];
const SW_CLA_NOT_SUPPORTED: [u8; 2] = [0x6E, 0x00];

#[derive(Debug, thiserror::Error)]
pub enum VcardError {
    #[error("private key (PKCS#8 DER): {0}")]
    Key(#[from] rsa::pkcs8::Error),
    #[error("PIN must be 4 to 8 ASCII digits")]
    Pin,
}

struct Shared {
    cert_der: Vec<u8>,
    key: RsaPrivateKey,
    pin: [u8; 8],
    tries_left: Mutex<u8>,
}

/// One physical card: certificate, key, PIN and its tries counter. Clones are the same card.
#[derive(Clone)]
pub struct VirtualCard {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for VirtualCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualCard")
            .field("tries_left", &self.tries_left())
            .finish_non_exhaustive()
    }
}

impl VirtualCard {
    pub fn new(cert_der: &[u8], key_pkcs8_der: &[u8], pin: &str) -> Result<Self, VcardError> {
        if !(4..=8).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(VcardError::Pin);
        }
        let mut padded = [0xFF; 8];
        padded[..pin.len()].copy_from_slice(pin.as_bytes());
        Ok(Self {
            shared: Arc::new(Shared {
                cert_der: cert_der.to_vec(),
                key: RsaPrivateKey::from_pkcs8_der(key_pkcs8_der)?,
                pin: padded,
                tries_left: Mutex::new(MAX_TRIES),
            }),
        })
    }

    /// Sets the tries left (0 = blocked).
    pub fn with_tries(self, tries: u8) -> Self {
        self.set_tries(tries.min(MAX_TRIES));
        self
    }

    pub fn tries_left(&self) -> u8 {
        *self
            .shared
            .tries_left
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn set_tries(&self, tries: u8) {
        *self
            .shared
            .tries_left
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = tries;
    }

    /// A fresh card session (just powered on), for in-process use.
    pub fn logic(&self) -> CardLogic {
        CardLogic {
            card: self.clone(),
            session: Session::default(),
            vanish_on_authenticate: None,
        }
    }

    /// Inserts the card in the vpcd reader listening on 127.0.0.1:`port` (one attempt).
    pub fn insert(&self, port: u16) -> io::Result<InsertedCard> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        let vanish = Arc::new(AtomicBool::new(false));
        let mut logic = self.logic();
        logic.vanish_on_authenticate = Some(vanish.clone());
        let reader = stream.try_clone()?;
        let thread = std::thread::Builder::new()
            .name(format!("vcard-{port}"))
            .spawn(move || serve_vpcd(reader, logic))?;
        Ok(InsertedCard {
            stream,
            thread: Some(thread),
            vanish,
        })
    }

    /// Inserts the card, retrying while vpcd is not listening yet (pcscd still starting).
    pub fn insert_with_retry(&self, port: u16, patience: Duration) -> io::Result<InsertedCard> {
        let deadline = Instant::now() + patience;
        loop {
            match self.insert(port) {
                Ok(card) => return Ok(card),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

/// A card sitting in the vpcd reader; dropping it removes the card.
pub struct InsertedCard {
    stream: TcpStream,
    thread: Option<JoinHandle<io::Result<()>>>,
    vanish: Arc<AtomicBool>,
}

impl InsertedCard {
    /// Pulls the card out of the reader.
    pub fn remove(mut self) {
        self.close();
    }

    /// The next INTERNAL AUTHENTICATE makes the card vanish instead of answering: the card is
    /// pulled out in the middle of a signature.
    pub fn remove_on_next_authenticate(&self) {
        self.vanish.store(true, Ordering::SeqCst);
    }

    /// Whether the connection with vpcd ended (card removed, or pcscd gone).
    pub fn is_removed(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Blocks while the card is in the reader; returns when vpcd closes the connection.
    pub fn wait(mut self) -> io::Result<()> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("virtual card thread panicked")),
            None => Ok(()),
        }
    }

    fn close(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for InsertedCard {
    fn drop(&mut self) {
        self.close();
    }
}

/// vpcd protocol: 2-byte big-endian length, then the payload; a 1-byte payload is a control
/// message (0 power off, 1 power on, 2 reset, 4 get ATR), anything else a command APDU.
fn serve_vpcd(mut stream: TcpStream, mut logic: CardLogic) -> io::Result<()> {
    loop {
        // vpcd writes the length and the payload in two sends: with Nagle on its side and a
        // delayed ACK on ours, every message would wait 40 ms. Acknowledge at once instead (the
        // kernel drops back to delayed ACKs by itself, hence before every read).
        #[cfg(target_os = "linux")]
        std::os::linux::net::TcpStreamExt::set_quickack(&stream, true)?;
        let mut len = [0u8; 2];
        match stream.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
        let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
        #[cfg(target_os = "linux")]
        std::os::linux::net::TcpStreamExt::set_quickack(&stream, true)?;
        stream.read_exact(&mut payload)?;
        let answer = match payload.as_slice() {
            [0x00] | [0x02] => {
                logic.reset();
                continue;
            }
            [0x01] => continue,
            [0x04] => ATR.to_vec(),
            apdu => {
                if logic.vanishes_on(apdu) {
                    let _ = stream.shutdown(Shutdown::Both);
                    return Ok(());
                }
                logic.respond(apdu)
            }
        };
        let len = u16::try_from(answer.len()).map_err(io::Error::other)?;
        let mut message = Vec::with_capacity(answer.len() + 2);
        message.extend_from_slice(&len.to_be_bytes());
        message.extend_from_slice(&answer);
        stream.write_all(&message)?;
    }
}

#[derive(Default)]
struct Session {
    app_selected: bool,
    cert_selected: bool,
    pin_verified: bool,
}

/// The card's command interpreter for one card session.
pub struct CardLogic {
    card: VirtualCard,
    session: Session,
    vanish_on_authenticate: Option<Arc<AtomicBool>>,
}

impl CardLogic {
    /// Power off or reset: back to a fresh session (nothing selected, PIN not verified).
    pub fn reset(&mut self) {
        self.session = Session::default();
    }

    fn vanishes_on(&self, apdu: &[u8]) -> bool {
        apdu.get(1) == Some(&0x88)
            && self
                .vanish_on_authenticate
                .as_ref()
                .is_some_and(|v| v.swap(false, Ordering::SeqCst))
    }

    /// Answers one command APDU with its response APDU (data and status word).
    pub fn respond(&mut self, apdu: &[u8]) -> Vec<u8> {
        let [cla, ins, p1, p2, body @ ..] = apdu else {
            return SW_WRONG_LENGTH.to_vec();
        };
        if *cla != 0x00 {
            return SW_CLA_NOT_SUPPORTED.to_vec();
        }
        match ins {
            0xA4 => self.select(*p1, *p2, body).to_vec(),
            0xB0 => self.read_binary(*p1, *p2, body),
            0x20 => self.verify(*p1, *p2, body).to_vec(),
            0x88 => self.internal_authenticate(*p1, *p2, body),
            _ => SW_INS_NOT_SUPPORTED.to_vec(),
        }
    }

    fn select(&mut self, p1: u8, p2: u8, body: &[u8]) -> [u8; 2] {
        let Some((data, _le)) = command_data(body) else {
            return SW_WRONG_LENGTH;
        };
        match (p1, p2) {
            (0x04, 0x00) if data == AID => {
                self.session.app_selected = true;
                self.session.cert_selected = false;
                SW_OK
            }
            (0x02, 0x0C) if self.session.app_selected && data == AUTH_CERT_FILE => {
                self.session.cert_selected = true;
                SW_OK
            }
            (0x04, 0x00) | (0x02, 0x0C) => SW_FILE_NOT_FOUND,
            _ => SW_WRONG_P1P2,
        }
    }

    fn read_binary(&mut self, p1: u8, p2: u8, body: &[u8]) -> Vec<u8> {
        if !self.session.cert_selected {
            return SW_NO_CURRENT_EF.to_vec();
        }
        let le = match body {
            [0x00] => 256,
            [le] => usize::from(*le),
            _ => return SW_WRONG_LENGTH.to_vec(),
        };
        let cert = &self.card.shared.cert_der;
        let offset = usize::from(u16::from_be_bytes([p1 & 0x7F, p2]));
        if p1 & 0x80 != 0 || offset >= cert.len() {
            return SW_WRONG_P1P2.to_vec();
        }
        let end = (offset + le).min(cert.len());
        let mut answer = cert[offset..end].to_vec();
        answer.extend_from_slice(&SW_OK);
        answer
    }

    fn verify(&mut self, p1: u8, p2: u8, body: &[u8]) -> [u8; 2] {
        if p1 != 0x00 || p2 != PIN_REF {
            return SW_REF_NOT_FOUND;
        }
        let tries = self.card.tries_left();
        if body.is_empty() {
            return match (tries, self.session.pin_verified) {
                (0, _) => SW_PIN_BLOCKED,
                (_, true) => SW_OK,
                (n, false) => [0x63, 0xC0 | n],
            };
        }
        let Some((data, None)) = command_data(body) else {
            return SW_WRONG_LENGTH;
        };
        if data.len() != 8 {
            return SW_WRONG_LENGTH;
        }
        if tries == 0 {
            return SW_PIN_BLOCKED;
        }
        if data == self.card.shared.pin {
            self.card.set_tries(MAX_TRIES);
            self.session.pin_verified = true;
            SW_OK
        } else {
            let left = tries - 1;
            self.card.set_tries(left);
            self.session.pin_verified = false;
            [0x63, 0xC0 | left]
        }
    }

    fn internal_authenticate(&mut self, p1: u8, p2: u8, body: &[u8]) -> Vec<u8> {
        if (p1, p2) != (0x00, 0x00) {
            return SW_WRONG_P1P2.to_vec();
        }
        let Some((data, _le)) = command_data(body) else {
            return SW_WRONG_LENGTH.to_vec();
        };
        if !self.session.pin_verified {
            return SW_SECURITY_NOT_SATISFIED.to_vec();
        }
        let key = &self.card.shared.key;
        // PKCS#1 v1.5 type-1 padding of the DigestInfo built by the host, at most 40 % of the
        // modulus like a CPS3.
        if data.len() * 10 > rsa::traits::PublicKeyParts::size(key) * 4 {
            return SW_WRONG_LENGTH.to_vec();
        }
        match key.sign(Pkcs1v15Sign::new_unprefixed(), data) {
            Ok(mut signature) => {
                signature.extend_from_slice(&SW_OK);
                signature
            }
            Err(_) => vec![0x6F, 0x00],
        }
    }
}

/// Splits a short APDU body (after the header) into its data and optional Le.
fn command_data(body: &[u8]) -> Option<(&[u8], Option<u8>)> {
    let (&lc, rest) = body.split_first()?;
    let lc = usize::from(lc);
    match rest.len().checked_sub(lc)? {
        0 => Some((rest, None)),
        1 => Some((&rest[..lc], rest.get(lc).copied())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs8::EncodePrivateKey;

    fn card() -> VirtualCard {
        let key = RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        let der = key.to_pkcs8_der().unwrap();
        VirtualCard::new(b"0123456789", der.as_bytes(), "1234").unwrap()
    }

    fn verify(pin: &str) -> Vec<u8> {
        let mut apdu = vec![0x00, 0x20, 0x00, 0x01, 0x08];
        let mut padded = [0xFF; 8];
        padded[..pin.len()].copy_from_slice(pin.as_bytes());
        apdu.extend_from_slice(&padded);
        apdu
    }

    #[test]
    fn pin_tries_go_down_block_and_reset_on_success() {
        let card = card();
        let mut s = card.logic();
        assert_eq!(s.respond(&[0x00, 0x20, 0x00, 0x01]), [0x63, 0xC3]);
        assert_eq!(s.respond(&verify("0000")), [0x63, 0xC2]);
        assert_eq!(s.respond(&verify("1234")), [0x90, 0x00]);
        assert_eq!(card.tries_left(), 3);
        assert_eq!(s.respond(&[0x00, 0x20, 0x00, 0x01]), [0x90, 0x00]);
        s.reset();
        assert_eq!(s.respond(&[0x00, 0x20, 0x00, 0x01]), [0x63, 0xC3]);
        for left in [2, 1, 0] {
            assert_eq!(s.respond(&verify("9999")), [0x63, 0xC0 | left]);
        }
        assert_eq!(s.respond(&verify("1234")), [0x69, 0x83]);
        assert_eq!(
            card.logic().respond(&[0x00, 0x20, 0x00, 0x01]),
            [0x69, 0x83]
        );
    }

    #[test]
    fn reads_the_certificate_in_chunks_and_refuses_past_the_end() {
        let mut s = card().logic();
        assert_eq!(s.respond(&[0x00, 0xB0, 0x00, 0x00, 0x04]), [0x69, 0x86]);
        let mut select = vec![0x00, 0xA4, 0x04, 0x00, 0x0D];
        select.extend_from_slice(&AID);
        assert_eq!(s.respond(&select), [0x90, 0x00]);
        assert_eq!(
            s.respond(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0xD0, 0x02]),
            [0x6A, 0x82]
        );
        assert_eq!(
            s.respond(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0xD0, 0x01]),
            [0x90, 0x00]
        );
        assert_eq!(s.respond(&[0x00, 0xB0, 0x00, 0x08, 0x04]), b"89\x90\x00");
        assert_eq!(s.respond(&[0x00, 0xB0, 0x00, 0x0A, 0x04]), [0x6B, 0x00]);
    }

    #[test]
    fn authenticates_only_after_the_pin() {
        let mut s = card().logic();
        let mut auth = vec![0x00, 0x88, 0x00, 0x00, 0x03, 1, 2, 3, 0x00];
        assert_eq!(s.respond(&auth), [0x69, 0x82]);
        assert_eq!(s.respond(&verify("1234")), [0x90, 0x00]);
        let answer = s.respond(&auth);
        assert_eq!(answer.len(), 128 + 2);
        assert_eq!(answer[128..], [0x90, 0x00]);
        auth[4] = 60;
        auth.splice(5..8, [0u8; 60]);
        assert_eq!(s.respond(&auth), [0x67, 0x00]);
    }
}
