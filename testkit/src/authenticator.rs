//! A software passkey authenticator (ES256, "none" attestation) for the domain's tests: it answers
//! the options the portal hands to `navigator.credentials.create` / `.get` exactly as a browser
//! with a platform authenticator would (`PublicKeyCredential.toJSON()`), signing with a P-256 key
//! of its own. The end-to-end tests use Chromium's own virtual authenticator instead.
//!
//! A clone of a [`SoftPasskey`] is a copied authenticator: same key, its own counter.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum AuthenticatorError {
    #[error("the options lack {0}")]
    Options(&'static str),
    #[error("key: {0}")]
    Key(String),
}

/// One credential held by the software authenticator.
#[derive(Clone)]
pub struct SoftPasskey {
    pub credential_id: Vec<u8>,
    /// The account handle the portal gave at registration (returned when signing in).
    pub user_handle: Vec<u8>,
    pub rp_id: String,
    pub counter: u32,
    pkcs8: Vec<u8>,
}

impl std::fmt::Debug for SoftPasskey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftPasskey")
            .field("rp_id", &self.rp_id)
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn text<'a>(options: &'a Value, pointer: &'static str) -> Result<&'a str, AuthenticatorError> {
    options
        .pointer(pointer)
        .and_then(Value::as_str)
        .ok_or(AuthenticatorError::Options(pointer))
}

/// A CBOR byte string's header for `len` bytes.
fn cbor_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len();
    if len < 24 {
        out.push(0x40 | len as u8);
    } else if len < 256 {
        out.extend([0x58, len as u8]);
    } else {
        out.push(0x59);
        out.extend((len as u16).to_be_bytes());
    }
    out.extend_from_slice(bytes);
}

fn cbor_text(out: &mut Vec<u8>, s: &str) {
    out.push(0x60 | s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
    json!({ "type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false })
        .to_string()
        .into_bytes()
}

impl SoftPasskey {
    fn key(&self) -> Result<EcdsaKeyPair, AuthenticatorError> {
        EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &self.pkcs8,
            &SystemRandom::new(),
        )
        .map_err(|e| AuthenticatorError::Key(e.to_string()))
    }

    /// Answers registration options (`{"publicKey": …}` as the portal sent them) from `origin`:
    /// a new credential, and the browser's JSON answer.
    pub fn register(options: &Value, origin: &str) -> Result<(Self, String), AuthenticatorError> {
        let rng = SystemRandom::new();
        let rp_id = text(options, "/publicKey/rp/id")?.to_string();
        let user_handle = URL_SAFE_NO_PAD
            .decode(text(options, "/publicKey/user/id")?)
            .map_err(|_| AuthenticatorError::Options("/publicKey/user/id"))?;
        let challenge = text(options, "/publicKey/challenge")?;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|e| AuthenticatorError::Key(e.to_string()))?
            .as_ref()
            .to_vec();
        let mut credential_id = vec![0u8; 32];
        rng.fill(&mut credential_id)
            .map_err(|e| AuthenticatorError::Key(e.to_string()))?;
        let passkey = SoftPasskey {
            credential_id,
            user_handle,
            rp_id,
            counter: 0,
            pkcs8,
        };
        let public = passkey.key()?.public_key().as_ref().to_vec();
        let (x, y) = (&public[1..33], &public[33..65]);
        // COSE_Key {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}.
        let mut cose = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        cbor_bytes(&mut cose, x);
        cose.push(0x22);
        cbor_bytes(&mut cose, y);
        let mut auth_data = Sha256::digest(passkey.rp_id.as_bytes()).to_vec();
        auth_data.push(0x45); // user present, user verified, attested credential data
        auth_data.extend(passkey.counter.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID
        auth_data.extend((passkey.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&passkey.credential_id);
        auth_data.extend(cose);
        let mut attestation = vec![0xa3];
        cbor_text(&mut attestation, "fmt");
        cbor_text(&mut attestation, "none");
        cbor_text(&mut attestation, "attStmt");
        attestation.push(0xa0);
        cbor_text(&mut attestation, "authData");
        cbor_bytes(&mut attestation, &auth_data);
        let answer = json!({
            "id": b64(&passkey.credential_id),
            "rawId": b64(&passkey.credential_id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(&client_data("webauthn.create", challenge, origin)),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        });
        Ok((passkey, answer.to_string()))
    }

    /// Answers sign-in options from `origin` with this credential (its counter moves on first).
    pub fn sign_in(&mut self, options: &Value, origin: &str) -> Result<String, AuthenticatorError> {
        let challenge = text(options, "/publicKey/challenge")?;
        self.counter += 1;
        let mut auth_data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        auth_data.push(0x05); // user present, user verified
        auth_data.extend(self.counter.to_be_bytes());
        let client_data = client_data("webauthn.get", challenge, origin);
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let signature = self
            .key()?
            .sign(&SystemRandom::new(), &signed)
            .map_err(|e| AuthenticatorError::Key(e.to_string()))?;
        Ok(json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(signature.as_ref()),
                "userHandle": b64(&self.user_handle),
            },
            "clientExtensionResults": {},
        })
        .to_string())
    }
}
