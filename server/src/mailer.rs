//! The outbox worker: sends what the domain wrote to `mail_outbox`, after the transactions that
//! wrote it committed, through lettre (SMTP with STARTTLS, implicit TLS or plain, with
//! credentials) or, without SMTP configuration, into a folder of .eml files (links and codes are
//! then logged so that the demo works offline).
//!
//! Each e-mail is claimed with `FOR UPDATE SKIP LOCKED` and marked sent in the same transaction,
//! so several instances do not send one twice (delivery is at least once: a commit lost after the
//! SMTP server accepted means one more copy); failures are retried with backoff until the e-mail
//! is too old to matter (a code after 15 minutes, others after days), an unusable address is
//! abandoned at once; `passerelle mail status` shows the queue.

use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::time::Duration;

use domain::mail::outbox::{self, Outgoing};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::config::{MailConfig, SmtpSecurity};
use crate::error::CliError;

/// The longest one e-mail may take to hand over.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

pub struct Mailer {
    from: Mailbox,
    transport: Transport,
    /// The folder transport logs the link or code of each e-mail (demo mode only).
    log_secrets: bool,
}

/// Why one send failed, and whether trying again may help.
struct Failure {
    message: String,
    permanent: bool,
}

impl Mailer {
    pub fn new(
        config: &MailConfig,
        data_dir: &std::path::Path,
        https: bool,
    ) -> Result<Self, CliError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| CliError::Usage(format!("[mail] from {:?}: {e}", config.from)))?;
        let transport = match &config.smtp_host {
            Some(host) => {
                let usage =
                    |e: &dyn std::fmt::Display| CliError::Usage(format!("[mail] {host}: {e}"));
                // TLS parameters: the system's roots, plus the configured CA if any.
                let mut tls = TlsParameters::builder(host.clone());
                if let Some(ca) = &config.smtp_ca_file {
                    let pem = std::fs::read(ca).map_err(|e| usage(&e))?;
                    tls = tls
                        .add_root_certificate(Certificate::from_pem(&pem).map_err(|e| usage(&e))?);
                }
                let tls = tls.build_rustls().map_err(|e| usage(&e))?;
                let (mode, default_port) = match config.smtp_security {
                    SmtpSecurity::Starttls => (Tls::Required(tls), 587),
                    SmtpSecurity::Tls => (Tls::Wrapper(tls), 465),
                    SmtpSecurity::None => {
                        if config.smtp_username.is_some() {
                            tracing::warn!(
                                "[mail] smtp_security = \"none\" with credentials: the password crosses the network in clear"
                            );
                        }
                        (Tls::None, 25)
                    }
                };
                let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                    .tls(mode)
                    .port(default_port);
                let mut builder = builder.timeout(Some(Duration::from_secs(20)));
                if let Some(port) = config.smtp_port {
                    builder = builder.port(port);
                }
                if let (Some(user), Some(password)) = (&config.smtp_username, &config.smtp_password)
                {
                    builder = builder.credentials(Credentials::new(
                        user.clone(),
                        password.expose_secret().to_string(),
                    ));
                }
                Transport::Smtp(builder.build())
            }
            None => {
                let folder = config.folder_in(data_dir);
                std::fs::create_dir_all(&folder).map_err(|e| {
                    CliError::Usage(format!("[mail] folder {}: {e}", folder.display()))
                })?;
                if config.folder.is_none() && https {
                    tracing::warn!(
                        "no [mail] smtp_host on an https deployment: e-mails (with their links and codes) go to {} and the log, not to users",
                        folder.display()
                    );
                }
                Transport::Folder(AsyncFileTransport::<Tokio1Executor>::new(&folder), folder)
            }
        };
        Ok(Self {
            from,
            transport,
            log_secrets: false,
        })
    }

    /// In demo mode the folder transport also logs each e-mail's link or code, so that the demo
    /// works offline; otherwise they stay out of the log (the log is kept and shipped elsewhere).
    pub fn log_secrets(mut self, on: bool) -> Self {
        self.log_secrets = on;
        self
    }

    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "SMTP".into(),
            Transport::Folder(_, folder) => format!("folder {}", folder.display()),
        }
    }

    async fn send(&self, mail: &Outgoing) -> Result<(), Failure> {
        let to: Mailbox = mail.recipient.parse().map_err(|e| Failure {
            message: format!("recipient: {e}"),
            permanent: true,
        })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                mail.text_body.clone(),
                mail.html_body.clone(),
            ))
            .map_err(|e| Failure {
                message: format!("message: {e}"),
                permanent: true,
            })?;
        match &self.transport {
            // lettre's own timeout covers the TCP connection only: a server that accepts and then
            // says nothing would hold the worker forever.
            Transport::Smtp(smtp) => {
                match tokio::time::timeout(SEND_TIMEOUT, smtp.send(message)).await {
                    Ok(sent) => sent.map(|_| ()).map_err(|e| Failure {
                        // Refused connections and TLS failures are neither: retried.
                        permanent: e.is_permanent(),
                        message: e.to_string(),
                    }),
                    Err(_) => Err(Failure {
                        message: format!("no answer within {} s", SEND_TIMEOUT.as_secs()),
                        permanent: false,
                    }),
                }
            }
            Transport::Folder(files, folder) => {
                files.send(message).await.map_err(|e| Failure {
                    message: e.to_string(),
                    permanent: false,
                })?;
                tracing::info!(to = %mail.recipient, kind = %mail.kind, folder = %folder.display(), "{}", written_notice(mail, self.log_secrets));
                Ok(())
            }
        }
    }
}

/// The log line of an e-mail written to the folder: in demo mode with the link or code it carries
/// (the offline demo needs it), otherwise without.
fn written_notice(mail: &Outgoing, with_secret: bool) -> String {
    if !with_secret {
        return "e-mail written".to_string();
    }
    let secret = mail
        .text_body
        .lines()
        .find(|l| l.contains("://") || l.contains("code de connexion"))
        .unwrap_or("")
        .trim()
        .to_string();
    format!("e-mail written: {secret}")
}

/// Sends every due e-mail, one at a time; returns how many were handled.
pub async fn drain(pool: &PgPool, mailer: &Mailer) -> Result<usize, domain::Error> {
    drain_at(pool, mailer, &OffsetDateTime::now_utc).await
}

/// `drain` with the time read from `clock` (the tests' outage lasts minutes of a clock of their
/// own).
async fn drain_at(
    pool: &PgPool,
    mailer: &Mailer,
    clock: &(dyn Fn() -> OffsetDateTime + Sync),
) -> Result<usize, domain::Error> {
    let mut handled = 0;
    loop {
        let mut tx = pool.begin().await?;
        let Some(mail) = outbox::claim_next(&mut tx, clock()).await? else {
            tx.commit().await?;
            return Ok(handled);
        };
        match mailer.send(&mail).await {
            Ok(()) => outbox::mark_sent(&mut tx, mail.id, clock()).await?,
            Err(f) => {
                tracing::warn!(id = mail.id, kind = %mail.kind, permanent = f.permanent, "e-mail not sent: {}", f.message);
                outbox::mark_failed(&mut tx, &mail, &f.message, f.permanent, clock()).await?;
                tx.commit().await?;
                // A failing server: wait for the next round rather than hammering it.
                return Ok(handled + 1);
            }
        }
        tx.commit().await?;
        handled += 1;
    }
}

/// Runs the worker. It polls (one indexed query a second) rather than being woken by requests:
/// e-mails enqueued by any instance are picked up, and a code arrives within a second or two.
pub fn spawn(pool: PgPool, mailer: Mailer) {
    tracing::info!("e-mails: {}", mailer.describe());
    tokio::spawn(async move {
        loop {
            if let Err(e) = drain(&pool, &mailer).await {
                tracing::warn!("outbox: {e}");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink(cmd: &str, dir: &std::path::Path, port: Option<u16>) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/smtp-sink.sh");
        let mut c = std::process::Command::new("bash");
        c.arg(script).arg(cmd).arg(dir);
        if let Some(p) = port {
            c.arg(p.to_string());
        }
        assert!(c.status().unwrap().success(), "smtp-sink.sh {cmd}");
    }

    fn outgoing() -> Outgoing {
        Outgoing {
            id: 1,
            kind: "sign_in_code".into(),
            recipient: "claire.martin@chu.example".into(),
            subject: "Passerelle : votre code de connexion 042917".into(),
            text_body: "Votre code de connexion à Passerelle : 042917\n".into(),
            html_body: "<p>Votre code : <strong>042917</strong></p>".into(),
            attempts: 0,
            created_at: OffsetDateTime::now_utc(),
        }
    }

    // Hardening (issue 14, L-4): codes and links reach the log in demo mode only.
    #[test]
    fn the_folder_transport_logs_codes_in_demo_mode_only() {
        let mail = outgoing();
        assert!(!super::written_notice(&mail, false).contains("042917"));
        assert!(super::written_notice(&mail, true).contains("042917"));
        let mut link = outgoing();
        link.text_body = "Bonjour,\n\nhttps://passerelle.example/mot-de-passe?jeton=abc\n".into();
        assert!(!super::written_notice(&link, false).contains("jeton"));
        assert!(super::written_notice(&link, true).contains("jeton=abc"));
    }

    /// lettre against a real SMTP server (aiosmtpd): multipart text + HTML arrives; with the
    /// server down, the failure is transient (retried), not permanent.
    #[tokio::test]
    async fn e_mails_reach_a_real_smtp_server_and_an_outage_is_transient() {
        let dir = std::env::temp_dir().join(format!("passerelle-mailer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        sink("start", &dir, None);
        let env = std::fs::read_to_string(dir.join("env")).unwrap();
        let port: u16 = env.trim().trim_start_matches("SMTP_PORT=").parse().unwrap();
        let config = MailConfig {
            smtp_host: Some("127.0.0.1".into()),
            smtp_port: Some(port),
            smtp_security: SmtpSecurity::None,
            ..MailConfig::default()
        };
        let mailer = Mailer::new(&config, &dir, false).unwrap();
        assert!(mailer.send(&outgoing()).await.is_ok());
        let received: Vec<_> = std::fs::read_dir(dir.join("maildir/new"))
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        assert_eq!(received.len(), 1);
        let message = &received[0];
        assert!(message.contains("multipart/alternative"), "{message}");
        assert!(
            message.contains("To: claire.martin@chu.example"),
            "{message}"
        );
        assert!(message.contains("042917"));

        sink("stop", &dir, None);
        let down = mailer.send(&outgoing()).await.err().unwrap();
        assert!(!down.permanent, "{}", down.message);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// STARTTLS and implicit TLS against the real server, with a certificate from the test PKI
    /// trusted through `smtp_ca_file`; without that CA the handshake is refused.
    #[tokio::test]
    async fn starttls_and_implicit_tls_with_a_private_ca() {
        let dir =
            std::env::temp_dir().join(format!("passerelle-mailer-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let pki = testkit::pki::generate(&dir.join("pki")).unwrap();
        let cert = pki.server_cert.to_string_lossy().into_owned();
        let key = pki.server_key.to_string_lossy().into_owned();
        for (mode, security) in [
            ("starttls", SmtpSecurity::Starttls),
            ("smtps", SmtpSecurity::Tls),
        ] {
            let sink_dir = dir.join(mode);
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/smtp-sink.sh");
            let started = std::process::Command::new("bash")
                .args([script, "start"])
                .arg(&sink_dir)
                .args(["", mode, &cert, &key])
                .status()
                .unwrap();
            assert!(started.success());
            let env = std::fs::read_to_string(sink_dir.join("env")).unwrap();
            let port: u16 = env.trim().trim_start_matches("SMTP_PORT=").parse().unwrap();
            let mut config = MailConfig {
                smtp_host: Some("127.0.0.1".into()),
                smtp_port: Some(port),
                smtp_security: security,
                smtp_ca_file: Some(pki.ca_bundle.clone()),
                ..MailConfig::default()
            };
            let mailer = Mailer::new(&config, &sink_dir, false).unwrap();
            let sent = mailer.send(&outgoing()).await;
            assert!(
                sent.is_ok(),
                "{mode}: {}",
                sent.err().map(|f| f.message).unwrap_or_default()
            );
            assert_eq!(
                std::fs::read_dir(sink_dir.join("maildir/new"))
                    .unwrap()
                    .count(),
                1
            );
            // Not trusting the server's CA: refused, and retried later (not abandoned).
            config.smtp_ca_file = None;
            let untrusted = Mailer::new(&config, &sink_dir, false).unwrap();
            let refused = untrusted.send(&outgoing()).await.err().unwrap();
            assert!(!refused.permanent);
            sink("stop", &sink_dir, None);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The mail server down for five minutes (of the test's clock) while two instances' workers
    /// poll the outbox every five seconds: nothing is lost, nothing is abandoned, nothing is sent
    /// twice. The code e-mail is still useful when the server comes back (it is kept 15 minutes),
    /// and the page that waits for it said "delayed" meanwhile (the attempts are counted).
    #[tokio::test]
    async fn an_smtp_outage_of_five_minutes_loses_nothing_and_sends_each_e_mail_once() {
        use domain::mail::{messages, outbox};
        use std::sync::atomic::{AtomicI64, Ordering};

        let pool = testkit::db::fresh_pool().await;
        let start = OffsetDateTime::now_utc();
        assert!(
            domain::demo::seed(&pool, &testkit::db::passwords(), start)
                .await
                .unwrap()
        );
        let dir = std::env::temp_dir().join(format!("passerelle-outage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        sink("start", &dir, None);
        let env = std::fs::read_to_string(dir.join("env")).unwrap();
        let port: u16 = env.trim().trim_start_matches("SMTP_PORT=").parse().unwrap();
        sink("stop", &dir, None);

        // Three people, three kinds of e-mail, written while the server is down.
        let mut conn = pool.acquire().await.unwrap();
        let ids: Vec<uuid::Uuid> = sqlx::query_scalar(
            "SELECT id FROM users WHERE username IN ('helene.leclerc', 'dr.martin', 'inf.durand')
             ORDER BY username",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        let people = domain::mail::recipients(&mut conn, &ids).await.unwrap();
        assert_eq!(people.len(), 3);
        let mails = [
            messages::sign_in_code(&people[0], "815207", 15),
            messages::password_link(&people[1], false, "https://passerelle.example/r?t=1", 24),
            messages::card_linked(&people[2], "CPS", "8000123456", false),
        ];
        for (to, mail) in people.iter().zip(&mails) {
            outbox::enqueue(&mut conn, to, mail, start).await.unwrap();
        }
        drop(conn);

        let config = MailConfig {
            smtp_host: Some("127.0.0.1".into()),
            smtp_port: Some(port),
            smtp_security: SmtpSecurity::None,
            ..MailConfig::default()
        };
        let instances = [
            Mailer::new(&config, &dir, false).unwrap(),
            Mailer::new(&config, &dir, false).unwrap(),
        ];
        let elapsed = AtomicI64::new(0);
        let clock = || start + time::Duration::seconds(elapsed.load(Ordering::SeqCst));
        let round = || async {
            let (a, b) = tokio::join!(
                drain_at(&pool, &instances[0], &clock),
                drain_at(&pool, &instances[1], &clock)
            );
            a.unwrap() + b.unwrap()
        };

        // Down for 300 s: every attempt fails, each e-mail waits longer between attempts.
        let mut attempts_while_down = 0;
        while elapsed.load(Ordering::SeqCst) < 300 {
            attempts_while_down += round().await;
            elapsed.fetch_add(5, Ordering::SeqCst);
        }
        let waiting = outbox::state(&pool).await.unwrap();
        assert_eq!(
            (waiting.pending, waiting.sent, waiting.abandoned),
            (3, 0, 0)
        );
        let tried: i64 = sqlx::query_scalar("SELECT min(attempts)::int8 FROM mail_outbox")
            .fetch_one(&pool)
            .await
            .unwrap();
        // 0, 10, 30, 70, 150 s: five attempts each, not sixty (the backoff), and at least one.
        assert!(tried >= 4, "{tried} attempts");
        assert!(
            attempts_while_down <= 3 * 6,
            "{attempts_while_down} attempts"
        );

        // Back: within the next backoff (at most 160 s more), each is sent once.
        sink("start", &dir, Some(port));
        while elapsed.load(Ordering::SeqCst) < 300 + 170 {
            round().await;
            elapsed.fetch_add(5, Ordering::SeqCst);
        }
        let done = outbox::state(&pool).await.unwrap();
        assert_eq!((done.pending, done.sent, done.abandoned), (0, 3, 0));
        let received: Vec<String> = std::fs::read_dir(dir.join("maildir/new"))
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        assert_eq!(received.len(), 3, "each e-mail once");
        for person in &people {
            let to = format!("To: {}", person.email.as_str());
            assert_eq!(
                received.iter().filter(|m| m.contains(&to)).count(),
                1,
                "{to}"
            );
        }
        assert!(received.iter().any(|m| m.contains("815207")));
        sink("stop", &dir, None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
