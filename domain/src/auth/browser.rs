//! A browser before it has a session, and the single-use tokens handed to it. Every flow that
//! binds a row to "the browser that started it" (the card agent's challenge, a pending link, the
//! PSC state, a TIQR QR code) stores only hashes: a database leak gives no usable token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// What a browser is recognised by before it has a session: the hash of a secret cookie it holds
/// (the form-token cookie for the agent and the linking page, the state cookie for the TLS
/// hand-over). Only hashes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Browser([u8; 32]);

impl Browser {
    pub fn of_secret(secret: &str) -> Self {
        Browser(Sha256::digest(secret.as_bytes()).into())
    }

    /// The stored form.
    pub(crate) fn hash(&self) -> &[u8; 32] {
        &self.0
    }
}

/// A fresh random token of 256 bits for a URL or a cookie, and its stored hash.
pub(crate) fn random_token() -> (String, [u8; 32]) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = Sha256::digest(token.as_bytes()).into();
    (token, hash)
}

pub(crate) fn hash_of(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}
