//! What the status shows about a card, read from its authentication certificate.

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use x509_parser::oid_registry::{OID_X509_COMMON_NAME, OID_X509_GIVEN_NAME, OID_X509_SURNAME};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::error::AgentError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holder {
    /// Given name then surname, e.g. "JEANNE DUPONT".
    pub holder: String,
    /// The CN: `IdNat_PS` (e.g. "810002813839") or a structure-bound identifier.
    pub national_id: String,
    pub card_type: &'static str,
    /// End of validity of the certificate (RFC 3339).
    pub not_after: String,
}

/// Reads the holder from the subject. A CPS subject puts CN, SN and GN in one multi-valued RDN
/// (`CN=…+SN=…+GN=…`, in any order): every attribute of every RDN is read.
pub fn holder(cert_der: &[u8]) -> Result<Holder, AgentError> {
    let (_, cert) = X509Certificate::from_der(cert_der)
        .map_err(|e| AgentError::Card(format!("certificate: {e}")))?;
    let (mut cn, mut sn, mut gn) = (None, None, None);
    for rdn in cert.subject().iter_rdn() {
        for attr in rdn.iter() {
            let slot = if *attr.attr_type() == OID_X509_COMMON_NAME {
                &mut cn
            } else if *attr.attr_type() == OID_X509_SURNAME {
                &mut sn
            } else if *attr.attr_type() == OID_X509_GIVEN_NAME {
                &mut gn
            } else {
                continue;
            };
            if slot.is_none() {
                *slot = attr.as_str().ok().map(str::to_owned);
            }
        }
    }
    let national_id =
        cn.ok_or_else(|| AgentError::Card("certificate subject without CN".to_owned()))?;
    let holder = match [gn, sn].into_iter().flatten().collect::<Vec<_>>() {
        names if names.is_empty() => national_id.clone(),
        names => names.join(" "),
    };
    let not_after = cert
        .validity()
        .not_after
        .to_datetime()
        .format(&Rfc3339)
        .map_err(|e| AgentError::Card(format!("certificate date: {e}")))?;
    Ok(Holder {
        holder,
        card_type: card_type(&national_id),
        national_id,
        not_after,
    })
}

/// A guess from the CN alone, for display only: `8`/`0` + RPPS/ADELI is a professional's own
/// card (CPS; a CPF in training looks the same); a structure-bound identifier (`3`, `4`, `5` +
/// FINESS/SIREN/SIRET, then `/`) is an establishment card, shown as CPE although a CPA (authorised
/// staff) has the same shape: only the certificate policy tells them apart, which the agent does
/// not decode. The portal decides from the verified certificate, never from this field.
pub fn card_type(national_id: &str) -> &'static str {
    match national_id.as_bytes() {
        [b'8' | b'0', rest @ ..] if rest.iter().all(u8::is_ascii_digit) => "CPS",
        [b'1' | b'3' | b'4' | b'5' | b'6', ..] if national_id.contains('/') => "CPE",
        _ => "inconnu",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_type_from_the_national_identifier() {
        assert_eq!(card_type("810002813839"), "CPS");
        assert_eq!(card_type("0751234567"), "CPS");
        assert_eq!(card_type("3760021832/000000018"), "CPE");
        assert_eq!(card_type("8100028138/39"), "inconnu");
        assert_eq!(card_type(""), "inconnu");
    }

    /// A certificate with `subject` (OpenSSL syntax, `+` joins a multi-valued RDN), made by
    /// the `openssl` command like the test PKI (Rust builders cannot write multi-valued RDNs); an
    /// EC key, instant to generate: only the subject matters here.
    fn certificate(subject: &str) -> Vec<u8> {
        let out = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args([
                "-nodes",
                "-keyout",
                "/dev/null",
                "-days",
                "30",
                "-outform",
                "DER",
            ])
            .args(["-multivalue-rdn", "-utf8", "-subj", subject])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    #[test]
    fn reads_every_attribute_of_the_multi_valued_rdn() {
        let cps = holder(&certificate(
            "/SN=DUPONT+CN=810002813839+GN=JEANNE/title=Médecin/C=FR",
        ));
        let cps = cps.unwrap();
        assert_eq!(cps.holder, "JEANNE DUPONT");
        assert_eq!(cps.national_id, "810002813839");
        assert_eq!(cps.card_type, "CPS");
        assert!(cps.not_after.ends_with('Z'), "{}", cps.not_after);
        let cpe = holder(&certificate(
            r"/O=AP-HP/OU=750712184/CN=3750712184\/000000018+SN=ROUX+GN=LEA/C=FR",
        ))
        .unwrap();
        assert_eq!(cpe.holder, "LEA ROUX");
        assert_eq!(cpe.national_id, "3750712184/000000018");
        assert_eq!(cpe.card_type, "CPE");
        let anonymous = holder(&certificate(r"/CN=3750712184\/000000019/C=FR")).unwrap();
        assert_eq!(anonymous.holder, "3750712184/000000019");
        assert!(holder(b"not a certificate").is_err());
    }
}
