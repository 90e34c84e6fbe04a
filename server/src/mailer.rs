//! The outbox worker: sends what the domain wrote to `mail_outbox`, after the transactions that
//! wrote it committed, through lettre (SMTP with STARTTLS, implicit TLS or plain, with
//! credentials) or, without SMTP configuration, into a folder of .eml files (links and codes are
//! then logged so that the demo works offline).
//!
//! Each e-mail is claimed with `FOR UPDATE SKIP LOCKED` and marked sent in the same transaction,
//! so several instances never send one twice; a failure is retried with backoff, a permanent one
//! (5xx, invalid address) abandoned; the state is visible with `passerelle mail status`.

use std::path::PathBuf;
use std::time::Duration;

use domain::mail::outbox::{self, Outgoing};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::config::{MailConfig, SmtpSecurity};
use crate::error::CliError;

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

/// Why one send failed, and whether trying again may help.
struct Failure {
    message: String,
    permanent: bool,
}

impl Mailer {
    pub fn new(config: &MailConfig, data_dir: &std::path::Path) -> Result<Self, CliError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| CliError::Usage(format!("[mail] from {:?}: {e}", config.from)))?;
        let transport = match &config.smtp_host {
            Some(host) => {
                let builder = match config.smtp_security {
                    SmtpSecurity::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                    }
                    SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
                    SmtpSecurity::None => Ok(
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
                    ),
                }
                .map_err(|e| CliError::Usage(format!("[mail] smtp_host {host}: {e}")))?;
                let mut builder = builder.timeout(Some(Duration::from_secs(20)));
                if let Some(port) = config.smtp_port {
                    builder = builder.port(port);
                }
                if let (Some(user), Some(password)) = (&config.smtp_username, &config.smtp_password)
                {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                Transport::Smtp(builder.build())
            }
            None => {
                let folder = config
                    .folder
                    .clone()
                    .unwrap_or_else(|| data_dir.join("mail"));
                std::fs::create_dir_all(&folder).map_err(|e| {
                    CliError::Usage(format!("[mail] folder {}: {e}", folder.display()))
                })?;
                Transport::Folder(AsyncFileTransport::<Tokio1Executor>::new(&folder), folder)
            }
        };
        Ok(Self { from, transport })
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
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| Failure {
                permanent: e.is_permanent(),
                message: e.to_string(),
            }),
            Transport::Folder(files, folder) => {
                files.send(message).await.map_err(|e| Failure {
                    message: e.to_string(),
                    permanent: false,
                })?;
                // Offline demo: say where it went, and the link or code it carries.
                let secret = mail
                    .text_body
                    .lines()
                    .find(|l| l.contains("://") || l.contains("code de connexion"))
                    .unwrap_or("")
                    .trim();
                tracing::info!(to = %mail.recipient, kind = %mail.kind, folder = %folder.display(), "e-mail written: {secret}");
                Ok(())
            }
        }
    }
}

/// Sends every due e-mail, one at a time; returns how many were handled.
pub async fn drain(pool: &PgPool, mailer: &Mailer) -> Result<usize, domain::Error> {
    let mut handled = 0;
    loop {
        let mut tx = pool.begin().await?;
        let now = OffsetDateTime::now_utc();
        let Some(mail) = outbox::claim_next(&mut tx, now).await? else {
            tx.commit().await?;
            return Ok(handled);
        };
        match mailer.send(&mail).await {
            Ok(()) => outbox::mark_sent(&mut tx, mail.id, OffsetDateTime::now_utc()).await?,
            Err(f) => {
                tracing::warn!(id = mail.id, kind = %mail.kind, permanent = f.permanent, "e-mail not sent: {}", f.message);
                outbox::mark_failed(
                    &mut tx,
                    &mail,
                    &f.message,
                    f.permanent,
                    OffsetDateTime::now_utc(),
                )
                .await?;
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
