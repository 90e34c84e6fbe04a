//! The real stack for each test: a private pcscd with the vpcd reader (scripts/card-lab.sh), the
//! agent binary talking to it, a virtual card from the test PKI, and a plain HTTP/1.1 client.
//! Every test has its own lab (own pcscd, own ports), so tests run in parallel without sharing a
//! reader.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::pki::Pki;
use testkit::vcard::VirtualCard;

pub const ORIGIN: &str = "http://127.0.0.1:3900";
pub const PIN: &str = "1234";
pub const NONCE: &str = "q2Zp7V0yTn4cBfXwR1sLdA8uHjKoM3eGiY5aZ9vQx6w";

fn temp_dir(what: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "passerelle-agent-it-{}-{what}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A holder of the test PKI. The PKI takes seconds to generate (RSA keys): it is kept in cargo's
/// temporary folder for the next runs.
pub struct TestHolder {
    pub cert_der: Vec<u8>,
    pub key_pkcs8_der: Vec<u8>,
}

const HOLDERS: [&str; 2] = ["cps-martin", "cps-durand"];

fn holders() -> &'static [TestHolder] {
    static HOLDERS_READ: OnceLock<Vec<TestHolder>> = OnceLock::new();
    HOLDERS_READ.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("agent-test-pki");
        // Made again when the PKI's code changed since.
        let pki_source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testkit/src/pki.rs");
        let changed = std::fs::metadata(pki_source)
            .and_then(|m| m.modified())
            .ok();
        let read = |name: &str| {
            let cert = dir.join(format!("{name}.cert.der"));
            let made = std::fs::metadata(&cert).and_then(|m| m.modified()).ok()?;
            if changed.is_some_and(|changed| changed > made) {
                return None;
            }
            Some(TestHolder {
                cert_der: std::fs::read(&cert).ok()?,
                key_pkcs8_der: std::fs::read(dir.join(format!("{name}.key.der"))).ok()?,
            })
        };
        HOLDERS
            .iter()
            .map(|name| read(name))
            .collect::<Option<Vec<_>>>()
            .unwrap_or_else(|| {
                let pki: Pki = testkit::pki::generate(&dir).unwrap();
                HOLDERS
                    .iter()
                    .map(|name| {
                        let holder = pki.holder(name).unwrap();
                        assert_eq!(holder.cert_der_path, dir.join(format!("{name}.cert.der")));
                        assert_eq!(holder.key_der_path, dir.join(format!("{name}.key.der")));
                        TestHolder {
                            cert_der: holder.cert_der.clone(),
                            key_pkcs8_der: holder.key_pkcs8_der.clone(),
                        }
                    })
                    .collect()
            })
    })
}

/// `cps-martin` (CLAIRE MARTIN, 810000123454).
pub fn holder() -> &'static TestHolder {
    &holders()[0]
}

/// A fresh card of `cps-martin` (PIN 1234, 3 tries).
pub fn card() -> VirtualCard {
    VirtualCard::new(&holder().cert_der, &holder().key_pkcs8_der, PIN).unwrap()
}

/// A fresh card of `cps-durand` (PAUL DURAND, PIN 1234).
pub fn other_card() -> VirtualCard {
    let h = &holders()[1];
    VirtualCard::new(&h.cert_der, &h.key_pkcs8_der, PIN).unwrap()
}

fn lab_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/card-lab.sh")
}

/// A private pcscd with the two vpcd readers.
pub struct Lab {
    dir: PathBuf,
    pub vpcd_port: u16,
    pub socket: PathBuf,
}

impl Lab {
    pub fn start() -> Self {
        let dir = temp_dir("lab");
        let out = Command::new("bash")
            .arg(lab_script())
            .arg("start")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "card-lab.sh start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env = std::fs::read_to_string(dir.join("env")).unwrap();
        let value = |key: &str| {
            env.lines()
                .find_map(|l| l.strip_prefix(key))
                .unwrap()
                .trim_matches('\'')
                .to_owned()
        };
        Self {
            vpcd_port: value("VPCD_PORT=").parse().unwrap(),
            socket: value("PCSCLITE_CSOCK_NAME=").into(),
            dir,
        }
    }
}

impl Lab {
    pub fn pcscd_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pcscd.log")).unwrap_or_default()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(lab_script())
            .arg("stop")
            .arg(&self.dir)
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The agent binary on a free loopback port.
pub struct Agent {
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
}

impl Agent {
    pub fn start(lab: &Lab) -> Self {
        Self::start_with(&lab.socket, &[])
    }

    /// The agent with its PC/SC client pointed at `socket`, and extra arguments.
    pub fn start_with(socket: &Path, args: &[&str]) -> Self {
        let log = temp_dir("agent").join("agent.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_passerelle-agent"))
            .args(["--listen", "127.0.0.1:0", "--origin", ORIGIN])
            .args(args)
            .env("PCSCLITE_CSOCK_NAME", socket)
            .env("RUST_LOG", "passerelle_agent=debug")
            .env_remove("PASSERELLE_AGENT_READER")
            .env_remove("PASSERELLE_AGENT_ORIGINS")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap()
            .parse()
            .unwrap();
        Self { child, addr, log }
    }

    /// What the agent logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[("Origin", ORIGIN)], None)
    }

    pub fn sign(&self, pin: &str, nonce: &str) -> Response {
        let body = serde_json::json!({ "pin": pin, "nonce": nonce }).to_string();
        self.request(
            "POST",
            "/v1/sign",
            &[("Origin", ORIGIN), ("Content-Type", "application/json")],
            Some(&body),
        )
    }

    pub fn status(&self) -> Value {
        let response = self.get("/v1/status");
        assert_eq!(response.status, 200, "{}", response.body);
        response.json()
    }

    /// Polls the status until `done` holds (the reader driver notices a card within ~0.5 s).
    pub fn status_until(&self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = self.status();
            if done(&status) {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "waiting for {what}; status: {status}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn wait_card(&self) -> Value {
        self.status_until("a card", |s| !s["card"].is_null())
    }

    /// One HTTP/1.1 request, `Connection: close`, answer read to the end.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Response {
        request(
            self.addr,
            method,
            path,
            &format!("127.0.0.1:{}", self.addr.port()),
            headers,
            body,
        )
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- agent log ---\n{}", self.log());
        }
        if let Some(dir) = self.log.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or_default();
    head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(head.as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_owned(),
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Asserts an error answer and returns its JSON.
    pub fn error(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        let json = self.json();
        assert_eq!(json["error"], code, "{json}");
        assert!(
            json["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{json}"
        );
        json
    }
}
