//! Validating a CPx authentication certificate and reading the holder's identity from it.
//!
//! Path building, signatures, validity dates, the client-authentication EKU and revocation are
//! checked by `rustls-webpki` against the configured IGC-Santé bundle and CRL files; the key
//! usage and the subject (a multi-valued RDN `CN=<IdNat_PS>+SN=…+GN=…`) are read with
//! `x509-parser`. Every refusal is a [`CardRefusal`] the page turns into a precise French reason.

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::{Duration, SystemTime};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, TrustAnchor, UnixTime};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, KeyUsage, OwnedCertRevocationList,
    RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::ids::{NationalId, NationalIdKind};

pub use model::card::{CardRefusal, CardType};

pub use crate::cards::CardIdentity;

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// Settings for [`Trust`].
#[derive(Debug, Clone, Default)]
pub struct TrustSettings {
    /// PEM bundle of the IGC-Santé CAs: self-signed ones are the trust anchors, the others
    /// intermediates offered for path building.
    pub ca_bundle: PathBuf,
    /// CRL files (PEM or DER). When empty, revocation is not checked (logged at start-up).
    pub crl_files: Vec<PathBuf>,
    /// Accept structure-bound cards without a named holder (`pseudonym=…`).
    pub accept_anonymous_cards: bool,
}

struct CrlFile {
    path: PathBuf,
    modified: Option<SystemTime>,
    crls: Vec<OwnedCertRevocationList>,
}

/// The trust configuration, loaded once; CRL files are re-read when their modification time
/// changes, so a cron job that drops a fresh CRL in place needs no restart.
pub struct Trust {
    anchors: Vec<TrustAnchor<'static>>,
    intermediates: Vec<CertificateDer<'static>>,
    crls: RwLock<Vec<CrlFile>>,
    accept_anonymous_cards: bool,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("anchors", &self.anchors.len())
            .field("intermediates", &self.intermediates.len())
            .finish_non_exhaustive()
    }
}

impl Trust {
    pub fn load(settings: &TrustSettings) -> Result<Self, TrustError> {
        let pem = std::fs::read(&settings.ca_bundle).map_err(|source| TrustError::Read {
            path: settings.ca_bundle.clone(),
            source,
        })?;
        let invalid = |reason: String| TrustError::Invalid {
            path: settings.ca_bundle.clone(),
            reason,
        };
        let mut anchors = Vec::new();
        let mut intermediates = Vec::new();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| invalid(e.to_string()))?;
            let (_, parsed) =
                X509Certificate::from_der(&cert).map_err(|e| invalid(e.to_string()))?;
            if parsed.subject().as_raw() == parsed.issuer().as_raw() {
                let anchor =
                    webpki::anchor_from_trusted_cert(&cert).map_err(|e| invalid(e.to_string()))?;
                anchors.push(anchor.to_owned());
            } else {
                intermediates.push(cert.into_owned());
            }
        }
        if anchors.is_empty() {
            return Err(invalid(
                "no self-signed root certificate in the bundle".into(),
            ));
        }
        let crls = settings
            .crl_files
            .iter()
            .map(|path| CrlFile {
                path: path.clone(),
                modified: None,
                crls: Vec::new(),
            })
            .collect();
        let trust = Trust {
            anchors,
            intermediates,
            crls: RwLock::new(crls),
            accept_anonymous_cards: settings.accept_anonymous_cards,
        };
        trust.refresh_crls()?;
        Ok(trust)
    }

    pub fn checks_revocation(&self) -> bool {
        self.crls.read().map(|c| !c.is_empty()).unwrap_or(true)
    }

    /// Re-reads the CRL files whose modification time changed. A file that became unreadable or
    /// invalid keeps its previous content (and is reported), rather than silently turning
    /// revocation checking off.
    pub fn refresh_crls(&self) -> Result<(), TrustError> {
        let stale: Vec<(usize, PathBuf, Option<SystemTime>)> = {
            let files = self.crls.read().map_err(|_| poisoned())?;
            files
                .iter()
                .enumerate()
                .filter_map(|(i, f)| {
                    let modified = std::fs::metadata(&f.path).and_then(|m| m.modified()).ok();
                    (modified != f.modified || f.modified.is_none())
                        .then(|| (i, f.path.clone(), modified))
                })
                .collect()
        };
        if stale.is_empty() {
            return Ok(());
        }
        let mut first_error = None;
        let mut loaded = Vec::new();
        for (i, path, modified) in stale {
            match read_crls(&path) {
                Ok(crls) => loaded.push((i, modified, crls)),
                Err(e) => {
                    tracing::error!(error = %e, "CRL not (re)loaded; the previous one stays in use");
                    first_error.get_or_insert(e);
                }
            }
        }
        let mut files = self.crls.write().map_err(|_| poisoned())?;
        for (i, modified, crls) in loaded {
            if let Some(f) = files.get_mut(i) {
                tracing::info!(path = %f.path.display(), "CRL loaded");
                f.modified = modified;
                f.crls = crls;
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Validates `der` as an authentication certificate at `now` and reads its holder.
    pub fn validate(&self, der: &[u8], now: OffsetDateTime) -> Result<CardIdentity, CardRefusal> {
        let (rest, parsed) = X509Certificate::from_der(der).map_err(|_| CardRefusal::Malformed)?;
        if !rest.is_empty() {
            return Err(CardRefusal::Malformed);
        }
        // A CPx authentication certificate says digitalSignature; the card's signature
        // certificate has nonRepudiation only, and a certificate without key usage says nothing:
        // neither may open a session.
        match parsed.key_usage() {
            Ok(Some(ku)) if ku.value.digital_signature() => {}
            Ok(_) => return Err(CardRefusal::NotForAuthentication),
            Err(_) => return Err(CardRefusal::Malformed),
        }

        if let Err(e) = self.refresh_crls() {
            tracing::warn!(error = %e, "CRL refresh failed");
        }
        let cert = CertificateDer::from(der);
        let ee = EndEntityCert::try_from(&cert).map_err(|_| CardRefusal::Malformed)?;
        let seconds = u64::try_from(now.unix_timestamp()).map_err(|_| CardRefusal::Malformed)?;
        let time = UnixTime::since_unix_epoch(Duration::from_secs(seconds));
        let files = self
            .crls
            .read()
            .map_err(|_| CardRefusal::RevocationUnknown)?;
        let crls: Vec<CertRevocationList<'_>> = files
            .iter()
            .flat_map(|f| f.crls.iter())
            .map(|c| CertRevocationList::Owned(c.clone()))
            .collect();
        let crl_refs: Vec<&CertRevocationList<'_>> = crls.iter().collect();
        let revocation = if files.is_empty() {
            None
        } else {
            // Configured but none loaded: refuse rather than accept revoked cards.
            let builder = RevocationOptionsBuilder::new(&crl_refs)
                .map_err(|_| CardRefusal::RevocationUnknown)?;
            Some(
                builder
                    // The CRLs configured are the issuing CAs' (the end certificates'); a revoked
                    // issuing CA is handled by removing it from the bundle.
                    .with_depth(RevocationCheckDepth::EndEntity)
                    .with_status_policy(UnknownStatusPolicy::Deny)
                    .with_expiration_policy(ExpirationPolicy::Enforce)
                    .build(),
            )
        };
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &self.anchors,
            &self.intermediates,
            time,
            KeyUsage::client_auth(),
            revocation,
            None,
        )
        .map_err(refusal_of)?;
        drop(files);

        identity_of(&parsed, der, self.accept_anonymous_cards)
    }
}

fn poisoned() -> TrustError {
    TrustError::Invalid {
        path: PathBuf::new(),
        reason: "CRL cache lock poisoned".into(),
    }
}

fn read_crls(path: &Path) -> Result<Vec<OwnedCertRevocationList>, TrustError> {
    let bytes = std::fs::read(path).map_err(|source| TrustError::Read {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |reason: String| TrustError::Invalid {
        path: path.to_owned(),
        reason,
    };
    let ders: Vec<CertificateRevocationListDer<'static>> = if bytes.starts_with(b"-----") {
        CertificateRevocationListDer::pem_slice_iter(&bytes)
            .collect::<Result<_, _>>()
            .map_err(|e| invalid(e.to_string()))?
    } else {
        vec![CertificateRevocationListDer::from(bytes)]
    };
    ders.iter()
        .map(|d| OwnedCertRevocationList::from_der(d).map_err(|e| invalid(format!("{e:?}"))))
        .collect()
}

fn refusal_of(e: webpki::Error) -> CardRefusal {
    use webpki::Error as E;
    match e {
        E::CertExpired { .. } => CardRefusal::Expired,
        E::CertNotValidYet { .. } => CardRefusal::NotYetValid,
        E::CertRevoked => CardRefusal::Revoked,
        E::UnknownRevocationStatus | E::CrlExpired { .. } => CardRefusal::RevocationUnknown,
        E::RequiredEkuNotFoundContext(_) | E::EmptyEkuExtension => {
            CardRefusal::NotForAuthentication
        }
        #[allow(deprecated)]
        E::RequiredEkuNotFound => CardRefusal::NotForAuthentication,
        E::BadDer | E::BadDerTime | E::TrailingData(_) | E::UnsupportedCertVersion => {
            CardRefusal::Malformed
        }
        _ => CardRefusal::Untrusted,
    }
}

const OID_CN: &str = "2.5.4.3";
const OID_SURNAME: &str = "2.5.4.4";
const OID_GIVEN_NAME: &str = "2.5.4.42";
const OID_PSEUDONYM: &str = "2.5.4.65";

/// Reads every attribute of every RDN: the CN, SN and GN of a CPS share one multi-valued RDN,
/// in any order.
fn identity_of(
    cert: &X509Certificate<'_>,
    der: &[u8],
    accept_anonymous: bool,
) -> Result<CardIdentity, CardRefusal> {
    let mut cn = None;
    let mut surname = None;
    let mut given = None;
    let mut pseudonym = None;
    for rdn in cert.subject().iter() {
        for attr in rdn.iter() {
            let value = attr.as_str().ok().map(str::trim).map(str::to_owned);
            match attr.attr_type().to_id_string().as_str() {
                OID_CN => cn = value,
                OID_SURNAME => surname = value,
                OID_GIVEN_NAME => given = value,
                OID_PSEUDONYM => pseudonym = value,
                _ => {}
            }
        }
    }
    let national_id = cn
        .as_deref()
        .and_then(|cn| NationalId::parse(cn).ok())
        .ok_or(CardRefusal::UnknownHolder)?;
    let card_type = match national_id.kind() {
        NationalIdKind::Rpps(_) | NationalIdKind::Adeli(_) => CardType::Cps,
        NationalIdKind::Structure { .. } => CardType::Cpe,
    };
    let holder_name = match (given, surname) {
        (Some(g), Some(s)) if !g.is_empty() && !s.is_empty() => format!("{g} {s}"),
        (None, Some(s)) if !s.is_empty() => s,
        _ if pseudonym.is_some() && !accept_anonymous => return Err(CardRefusal::UnknownHolder),
        _ => national_id.as_str().to_owned(),
    };
    let serial = hex::encode(cert.raw_serial())
        .trim_start_matches("00")
        .to_owned();
    Ok(CardIdentity {
        national_id,
        card_type,
        holder_name,
        issuer_dn: cert.issuer().to_string(),
        subject_dn: cert.subject().to_string(),
        serial: if serial.is_empty() {
            "0".into()
        } else {
            serial
        },
        fingerprint_sha256: hex::encode(Sha256::digest(der)),
        not_before: cert.validity().not_before.to_datetime(),
        not_after: cert.validity().not_after.to_datetime(),
    })
}

/// The message the card signs for the local agent: `SHA-256(origin) || SHA-256(nonce)`, so that
/// a signature obtained by another site (another origin) or for another nonce is useless.
pub fn signed_message(origin: &str, nonce: &str) -> Vec<u8> {
    let mut message = Sha256::digest(origin.as_bytes()).to_vec();
    message.extend_from_slice(&Sha256::digest(nonce.as_bytes()));
    message
}

/// Verifies an RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature made by the certificate's key.
pub fn verify_signature(der: &[u8], message: &[u8], signature: &[u8]) -> Result<(), CardRefusal> {
    let cert = CertificateDer::from(der);
    let ee = EndEntityCert::try_from(&cert).map_err(|_| CardRefusal::Malformed)?;
    ee.verify_signature(webpki::ring::RSA_PKCS1_2048_8192_SHA256, message, signature)
        .map_err(|_| CardRefusal::BadSignature)
}

/// Enough of an unvalidated certificate to say in the audit log what was refused.
#[derive(Debug, Clone)]
pub struct Described {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
}

pub fn describe(der: &[u8]) -> Option<Described> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some(Described {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: hex::encode(cert.raw_serial()),
    })
}
