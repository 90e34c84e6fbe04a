//! An IGC-Santé-shaped test PKI, generated with the system's `openssl` command.
//!
//! Why `openssl` and not a Rust certificate builder: CPS authentication certificates put CN, SN
//! and GN in ONE multi-valued RDN (`CN=…+SN=…+GN=…`), which is exactly what parsers get wrong, and
//! the Rust builders available (rcgen) cannot write such a name. `openssl x509 -req` keeps the
//! request's subject as written; `openssl ca` is used where dates in the past are needed (the
//! expired card) and to write the CRL.
//!
//! Layout written in the target folder:
//! - `ca-bundle.pem`: the trusted hierarchy as a portal would configure it (root + issuing CA)
//! - `personnes.crl.pem`: the issuing CA's CRL, revoking the `cps-revoked` holder
//! - `<holder>.cert.pem|.cert.der|.key.pem|.key.der` (RSA 2048, PKCS#8) for every [`HOLDERS`] entry
//! - `server.cert.pem|.key.pem`: a TLS server certificate for 127.0.0.1/localhost (for nginx)
//! - `manifest.json`: the holders with their national identifiers and serials

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("could not run openssl {step}: {source}")]
    Spawn {
        step: String,
        source: std::io::Error,
    },
    #[error("openssl {step} failed: {stderr}")]
    Openssl { step: String, stderr: String },
    #[error("file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("private key: {0}")]
    Key(String),
    #[error("no test holder named {0}")]
    UnknownHolder(String),
}

/// What the test hierarchy issues: one entry per card of the test suites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A valid authentication certificate.
    Valid,
    /// Valid dates in the past (2020–2021).
    Expired,
    /// Listed in `personnes.crl.pem`.
    Revoked,
    /// Issued by a CA that is not in `ca-bundle.pem`.
    Untrusted,
    /// A signature (non-repudiation) certificate: not usable to authenticate.
    SignatureOnly,
}

/// A test card holder. `subject` is an OpenSSL `-subj` string (`+` joins a multi-valued RDN).
#[derive(Debug, Clone, Copy)]
pub struct HolderSpec {
    pub name: &'static str,
    pub subject: &'static str,
    pub national_id: &'static str,
    pub serial: &'static str,
    pub kind: Kind,
}

/// The demo accounts' RPPS numbers are `10000123454` (dr.martin), `10000234566` (inf.durand),
/// `10000345677` (helene.leclerc): see `domain::demo`. Test-only holders use the `99700` prefix
/// of the IGC-Santé test cards.
pub const HOLDERS: &[HolderSpec] = &[
    HolderSpec {
        name: "cps-martin",
        subject: "/CN=810000123454+SN=MARTIN+GN=CLAIRE/title=Médecin/C=FR",
        national_id: "810000123454",
        serial: "0A01",
        kind: Kind::Valid,
    },
    HolderSpec {
        // The same holder's next card: new key, new serial, same national identifier.
        name: "cps-martin-renewed",
        subject: "/SN=MARTIN+CN=810000123454+GN=CLAIRE/title=Médecin/C=FR",
        national_id: "810000123454",
        serial: "0A02",
        kind: Kind::Valid,
    },
    HolderSpec {
        name: "cps-durand",
        subject: "/GN=PAUL+SN=DURAND+CN=810000234566/title=Infirmier/C=FR",
        national_id: "810000234566",
        serial: "0A03",
        kind: Kind::Valid,
    },
    HolderSpec {
        // A holder whose account has no RPPS yet (sec.petit in the demo data).
        name: "cps-petit",
        subject: "/CN=899700012349+SN=PETIT+GN=JULIE/title=Secrétaire médicale/C=FR",
        national_id: "899700012349",
        serial: "0A04",
        kind: Kind::Valid,
    },
    HolderSpec {
        // Establishment staff card (CPE): structure-bound identifier, FINESS 750712184.
        name: "cpe-accueil",
        subject: "/O=AP-HP/OU=750712184/L=Paris (75)/CN=3750712184\\/000000018+SN=ROUX+GN=LEA/C=FR",
        national_id: "3750712184/000000018",
        serial: "0A05",
        kind: Kind::Valid,
    },
    HolderSpec {
        name: "cps-expired",
        subject: "/CN=899700023452/SN=BLANC/GN=LOUIS/title=Infirmier/C=FR",
        national_id: "899700023452",
        serial: "0A06",
        kind: Kind::Expired,
    },
    HolderSpec {
        name: "cps-revoked",
        subject: "/CN=899700034566+SN=NOIR+GN=EMMA/title=Médecin/C=FR",
        national_id: "899700034566",
        serial: "0A07",
        kind: Kind::Revoked,
    },
    HolderSpec {
        name: "cps-untrusted",
        subject: "/CN=899700045679+SN=FAUX+GN=ALAIN/title=Médecin/C=FR",
        national_id: "899700045679",
        serial: "0A08",
        kind: Kind::Untrusted,
    },
    HolderSpec {
        name: "cps-signature",
        subject: "/CN=810000123454+SN=MARTIN+GN=CLAIRE/title=Médecin/C=FR",
        national_id: "810000123454",
        serial: "0A09",
        kind: Kind::SignatureOnly,
    },
];

const ROOT_SUBJECT: &str =
    "/C=FR/O=ASIP-SANTE/OU=0002 187512751/OU=IGC-SANTE TEST/CN=TEST AC RACINE IGC-SANTE FORT";
const PERSONNES_SUBJECT: &str =
    "/C=FR/O=ASIP-SANTE/OU=0002 187512751/OU=IGC-SANTE TEST/CN=TEST AC IGC-SANTE FORT PERSONNES";
const ROGUE_SUBJECT: &str = "/C=FR/O=ASIP-SANTE/OU=IGC-SANTE TEST/CN=AC IGC-SANTE CONTREFAITE";

const CA_EXT: &str = "[req]\ndistinguished_name=dn\n[dn]\n[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n";
const ISSUING_EXT: &str = "[ca]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";
const AUTH_EXT: &str = "[leaf]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";
const SIGNATURE_EXT: &str = "[leaf]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,nonRepudiation\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";
const SERVER_EXT: &str = "[leaf]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n";

/// A generated holder: certificate and private key, in memory and on disk.
#[derive(Debug, Clone)]
pub struct Holder {
    pub name: &'static str,
    pub national_id: &'static str,
    pub serial: &'static str,
    pub kind: Kind,
    pub cert_der: Vec<u8>,
    pub key_pkcs8_der: Vec<u8>,
    pub cert_der_path: PathBuf,
    pub cert_pem_path: PathBuf,
    pub key_der_path: PathBuf,
    pub key_pem_path: PathBuf,
}

impl Holder {
    /// What the card does for the agent: RSASSA-PKCS1-v1_5 with SHA-256 over `message`.
    pub fn sign_rs256(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        use rsa::pkcs8::DecodePrivateKey;
        use rsa::signature::{SignatureEncoding, Signer};
        let key = rsa::RsaPrivateKey::from_pkcs8_der(&self.key_pkcs8_der)
            .map_err(|e| PkiError::Key(e.to_string()))?;
        let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key);
        Ok(signer.sign(message).to_vec())
    }
}

#[derive(Debug, Clone)]
pub struct Pki {
    pub dir: PathBuf,
    /// Root + issuing CA, as the portal's `ca_bundle` setting expects.
    pub ca_bundle: PathBuf,
    pub crl: PathBuf,
    /// The same CA's CRL before `cps-revoked` was revoked.
    pub initial_crl: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub holders: Vec<Holder>,
}

impl Pki {
    pub fn holder(&self, name: &str) -> Result<&Holder, PkiError> {
        self.holders
            .iter()
            .find(|h| h.name == name)
            .ok_or_else(|| PkiError::UnknownHolder(name.to_owned()))
    }
}

/// Generates the whole hierarchy into `dir` (created if needed). Takes about a second: the RSA
/// keys are made by OpenSSL.
pub fn generate(dir: &Path) -> Result<Pki, PkiError> {
    mkdir(dir)?;
    let g = Gen { dir };
    g.write("ca.ext", CA_EXT)?;
    g.write("issuing.ext", ISSUING_EXT)?;
    g.write("auth.ext", AUTH_EXT)?;
    g.write("signature.ext", SIGNATURE_EXT)?;
    g.write("server.ext", SERVER_EXT)?;

    g.self_signed("root", ROOT_SUBJECT)?;
    g.issue(
        "personnes",
        PERSONNES_SUBJECT,
        "root",
        "issuing.ext",
        "ca",
        "01",
        3650,
    )?;
    g.self_signed("rogue", ROGUE_SUBJECT)?;
    g.issue(
        "server",
        "/CN=127.0.0.1",
        "root",
        "server.ext",
        "leaf",
        "02",
        3650,
    )?;
    g.ca_database("personnes")?;

    let mut holders = Vec::new();
    for spec in HOLDERS {
        match spec.kind {
            Kind::Valid | Kind::Revoked => g.issue(
                spec.name,
                spec.subject,
                "personnes",
                "auth.ext",
                "leaf",
                spec.serial,
                1095,
            )?,
            Kind::SignatureOnly => g.issue(
                spec.name,
                spec.subject,
                "personnes",
                "signature.ext",
                "leaf",
                spec.serial,
                1095,
            )?,
            Kind::Untrusted => g.issue(
                spec.name,
                spec.subject,
                "rogue",
                "auth.ext",
                "leaf",
                spec.serial,
                1095,
            )?,
            Kind::Expired => g.issue_expired(spec)?,
        }
        g.to_der(spec.name)?;
        holders.push(Holder {
            name: spec.name,
            national_id: spec.national_id,
            serial: spec.serial,
            kind: spec.kind,
            cert_der: read(&dir.join(format!("{}.cert.der", spec.name)))?,
            key_pkcs8_der: read(&dir.join(format!("{}.key.der", spec.name)))?,
            cert_der_path: dir.join(format!("{}.cert.der", spec.name)),
            cert_pem_path: dir.join(format!("{}.cert.pem", spec.name)),
            key_der_path: dir.join(format!("{}.key.der", spec.name)),
            key_pem_path: dir.join(format!("{}.key.pem", spec.name)),
        });
    }

    g.revoke_and_publish_crl()?;
    let bundle = [
        read_text(&dir.join("root.cert.pem"))?,
        read_text(&dir.join("personnes.cert.pem"))?,
    ]
    .concat();
    g.write("ca-bundle.pem", &bundle)?;

    let manifest = serde_json::json!({
        "holders": HOLDERS.iter().map(|h| serde_json::json!({
            "name": h.name, "national_id": h.national_id, "serial": h.serial,
            "kind": format!("{:?}", h.kind),
        })).collect::<Vec<_>>(),
    });
    g.write("manifest.json", &manifest.to_string())?;

    Ok(Pki {
        dir: dir.to_owned(),
        ca_bundle: dir.join("ca-bundle.pem"),
        crl: dir.join("personnes.crl.pem"),
        initial_crl: dir.join("personnes.initial.crl.pem"),
        server_cert: dir.join("server.cert.pem"),
        server_key: dir.join("server.key.pem"),
        holders,
    })
}

struct Gen<'a> {
    dir: &'a Path,
}

impl Gen<'_> {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    fn write(&self, name: &str, text: &str) -> Result<(), PkiError> {
        let path = self.dir.join(name);
        fs::write(&path, text).map_err(|source| PkiError::Io { path, source })
    }

    fn openssl(&self, step: &str, args: &[&str]) -> Result<(), PkiError> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(self.dir)
            .output()
            .map_err(|source| PkiError::Spawn {
                step: step.to_owned(),
                source,
            })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(PkiError::Openssl {
                step: step.to_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            })
        }
    }

    fn new_key(&self, name: &str) -> Result<(), PkiError> {
        let key = self.path(&format!("{name}.key.pem"));
        self.openssl(
            &format!("genpkey {name}"),
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                &key,
            ],
        )
    }

    fn self_signed(&self, name: &str, subject: &str) -> Result<(), PkiError> {
        self.new_key(name)?;
        self.openssl(
            &format!("req -x509 {name}"),
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                &self.path(&format!("{name}.key.pem")),
                "-subj",
                subject,
                "-utf8",
                "-days",
                "7300",
                "-sha256",
                "-set_serial",
                "1",
                "-config",
                &self.path("ca.ext"),
                "-extensions",
                "ca",
                "-out",
                &self.path(&format!("{name}.cert.pem")),
            ],
        )
    }

    fn request(&self, name: &str, subject: &str) -> Result<(), PkiError> {
        self.new_key(name)?;
        self.openssl(
            &format!("req {name}"),
            &[
                "req",
                "-new",
                "-key",
                &self.path(&format!("{name}.key.pem")),
                "-subj",
                subject,
                "-multivalue-rdn",
                "-utf8",
                "-config",
                &self.path("ca.ext"),
                "-out",
                &self.path(&format!("{name}.csr")),
            ],
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn issue(
        &self,
        name: &str,
        subject: &str,
        issuer: &str,
        ext_file: &str,
        section: &str,
        serial: &str,
        days: u32,
    ) -> Result<(), PkiError> {
        self.request(name, subject)?;
        self.openssl(
            &format!("x509 -req {name}"),
            &[
                "x509",
                "-req",
                "-in",
                &self.path(&format!("{name}.csr")),
                "-CA",
                &self.path(&format!("{issuer}.cert.pem")),
                "-CAkey",
                &self.path(&format!("{issuer}.key.pem")),
                "-set_serial",
                &format!("0x{serial}"),
                "-days",
                &days.to_string(),
                "-sha256",
                "-extfile",
                &self.path(ext_file),
                "-extensions",
                section,
                "-out",
                &self.path(&format!("{name}.cert.pem")),
            ],
        )
    }

    /// The `openssl ca` database of the issuing CA (for the expired card and the CRL).
    fn ca_database(&self, ca: &str) -> Result<(), PkiError> {
        let base = self.path(ca);
        mkdir(&self.dir.join(format!("{ca}.newcerts")))?;
        self.write(&format!("{ca}.index.txt"), "")?;
        self.write(&format!("{ca}.crlnumber"), "1000\n")?;
        self.write(&format!("{ca}.serial"), "0A06\n")?;
        let conf = format!(
            "[ca]\ndefault_ca = d\n[d]\ndatabase = {base}.index.txt\nnew_certs_dir = {base}.newcerts\n\
             serial = {base}.serial\ncrlnumber = {base}.crlnumber\ndefault_md = sha256\n\
             default_crl_days = 3650\npolicy = p\nunique_subject = no\npreserve = yes\n\
             [p]\ncommonName = supplied\nsurname = optional\ngivenName = optional\n\
             title = optional\ncountryName = optional\n[leaf]\n{}",
            AUTH_EXT.trim_start_matches("[leaf]\n")
        );
        self.write(&format!("{ca}.ca.cnf"), &conf)
    }

    /// `openssl ca` can back-date; it flattens multi-valued RDNs, so the expired holder's subject
    /// is written with separate RDNs (which real parsers must read too).
    fn issue_expired(&self, spec: &HolderSpec) -> Result<(), PkiError> {
        self.request(spec.name, spec.subject)?;
        self.write("personnes.serial", &format!("{}\n", spec.serial))?;
        self.openssl(
            &format!("ca {}", spec.name),
            &[
                "ca",
                "-batch",
                "-notext",
                "-config",
                &self.path("personnes.ca.cnf"),
                "-cert",
                &self.path("personnes.cert.pem"),
                "-keyfile",
                &self.path("personnes.key.pem"),
                "-extensions",
                "leaf",
                "-startdate",
                "20200101000000Z",
                "-enddate",
                "20210101000000Z",
                "-in",
                &self.path(&format!("{}.csr", spec.name)),
                "-out",
                &self.path(&format!("{}.cert.pem", spec.name)),
            ],
        )
    }

    fn revoke_and_publish_crl(&self) -> Result<(), PkiError> {
        let cnf = self.path("personnes.ca.cnf");
        let ca_cert = self.path("personnes.cert.pem");
        let ca_key = self.path("personnes.key.pem");
        // The CRL as it was before any revocation: tests swap it for the later one to check that
        // a changed CRL file is picked up without a restart.
        self.openssl(
            "ca -gencrl (initial)",
            &[
                "ca",
                "-gencrl",
                "-config",
                &cnf,
                "-cert",
                &ca_cert,
                "-keyfile",
                &ca_key,
                "-out",
                &self.path("personnes.initial.crl.pem"),
            ],
        )?;
        for spec in HOLDERS.iter().filter(|h| h.kind == Kind::Revoked) {
            self.openssl(
                &format!("ca -revoke {}", spec.name),
                &[
                    "ca",
                    "-config",
                    &cnf,
                    "-cert",
                    &ca_cert,
                    "-keyfile",
                    &ca_key,
                    "-revoke",
                    &self.path(&format!("{}.cert.pem", spec.name)),
                    "-crl_reason",
                    "keyCompromise",
                ],
            )?;
        }
        self.openssl(
            "ca -gencrl",
            &[
                "ca",
                "-gencrl",
                "-config",
                &cnf,
                "-cert",
                &ca_cert,
                "-keyfile",
                &ca_key,
                "-out",
                &self.path("personnes.crl.pem"),
            ],
        )
    }

    fn to_der(&self, name: &str) -> Result<(), PkiError> {
        self.openssl(
            &format!("x509 -outform DER {name}"),
            &[
                "x509",
                "-in",
                &self.path(&format!("{name}.cert.pem")),
                "-outform",
                "DER",
                "-out",
                &self.path(&format!("{name}.cert.der")),
            ],
        )?;
        self.openssl(
            &format!("pkcs8 {name}"),
            &[
                "pkcs8",
                "-topk8",
                "-nocrypt",
                "-in",
                &self.path(&format!("{name}.key.pem")),
                "-outform",
                "DER",
                "-out",
                &self.path(&format!("{name}.key.der")),
            ],
        )
    }
}

fn mkdir(path: &Path) -> Result<(), PkiError> {
    fs::create_dir_all(path).map_err(|source| PkiError::Io {
        path: path.to_owned(),
        source,
    })
}

fn read(path: &Path) -> Result<Vec<u8>, PkiError> {
    fs::read(path).map_err(|source| PkiError::Io {
        path: path.to_owned(),
        source,
    })
}

fn read_text(path: &Path) -> Result<String, PkiError> {
    fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.to_owned(),
        source,
    })
}
