//! The TIQR secrets at rest: sealed with a 32-byte server key (XChaCha20-Poly1305).
//!
//! The key comes from the caller (the server loads or generates it; it is never in the database),
//! so a copy of the database alone does not let anyone compute OCRA responses. The enrollment's id
//! is the associated data: a sealed secret moved onto another enrollment's row fails to open.
//! XChaCha's 192-bit nonces are drawn at random without any risk of reuse.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use uuid::Uuid;

use crate::error::{Error, Result};

/// Prefix of the associated data: a secret sealed for another purpose under the same key (should
/// one ever be added) cannot be passed off as a TIQR secret.
const PURPOSE: &[u8] = b"passerelle tiqr secret v1\0";

pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(…)")
    }
}

/// A sealed secret as stored: the nonce and the ciphertext with its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

fn associated_data(enrollment_id: Uuid) -> Vec<u8> {
    let mut aad = PURPOSE.to_vec();
    aad.extend_from_slice(enrollment_id.as_bytes());
    aad
}

impl SecretBox {
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// A fresh random key, for a server starting without one (it must then be kept: secrets
    /// sealed under a lost key are lost, and every phone must enroll again).
    pub fn generate_key() -> [u8; 32] {
        XChaCha20Poly1305::generate_key(&mut OsRng).into()
    }

    pub fn seal(&self, enrollment_id: Uuid, secret: &[u8]) -> Result<Sealed> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = associated_data(enrollment_id);
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            .map_err(|_| Error::Internal("tiqr secret: sealing failed".into()))?;
        Ok(Sealed {
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// The secret, or an error when the key, the row or the ciphertext do not match.
    pub fn open(&self, enrollment_id: Uuid, sealed: &Sealed) -> Result<Vec<u8>> {
        if sealed.nonce.len() != 24 {
            return Err(Error::Internal("tiqr secret: bad nonce".into()));
        }
        let aad = associated_data(enrollment_id);
        self.cipher
            .decrypt(
                XNonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| Error::Internal("tiqr secret: does not open (wrong key or row)".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_opens_only_with_its_key_and_its_enrollment() {
        let key = SecretBox::generate_key();
        let b = SecretBox::new(&key);
        let id = Uuid::new_v4();
        let sealed = b.seal(id, b"0123456789abcdef0123456789abcdef").ok();
        let Some(sealed) = sealed else {
            panic!("seal failed")
        };
        assert_ne!(sealed.ciphertext, b"0123456789abcdef0123456789abcdef");
        assert_eq!(
            b.open(id, &sealed).ok().as_deref(),
            Some(&b"0123456789abcdef0123456789abcdef"[..])
        );
        // Another row, another key, a flipped bit, a bad nonce: refused, no panic.
        assert!(b.open(Uuid::new_v4(), &sealed).is_err());
        assert!(
            SecretBox::new(&SecretBox::generate_key())
                .open(id, &sealed)
                .is_err()
        );
        let mut flipped = sealed.clone();
        flipped.ciphertext[0] ^= 1;
        assert!(b.open(id, &flipped).is_err());
        let short = Sealed {
            nonce: vec![0; 3],
            ciphertext: sealed.ciphertext.clone(),
        };
        assert!(b.open(id, &short).is_err());
        // Two seals of the same secret differ (fresh nonces).
        assert_ne!(b.seal(id, b"x").ok(), b.seal(id, b"x").ok());
        assert!(format!("{b:?}").contains('…'));
    }
}
