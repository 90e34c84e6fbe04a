//! Opening the database (configured, or the embedded cluster), building the application state, and
//! serving HTTP until a shutdown signal.

use std::net::SocketAddr;
use std::sync::Arc;

use app::state::{AppState, CardService, Services, Settings, SignInMode, TlsCardHost};
use domain::auth::Portal;
use domain::db::embedded::EmbeddedPostgres;
use domain::password::Passwords;
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::config::Config;
use crate::error::CliError;

/// The open database, and the embedded cluster behind it when there is one (stopped on drop of
/// the process through `close`).
pub struct Database {
    pub pool: PgPool,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    pub async fn open(config: &Config) -> Result<Self, CliError> {
        let (url, embedded) = match &config.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let dir = config.data_dir.join("postgres");
                let cluster =
                    tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir, true))
                        .await??;
                if domain::db::ensure_database(&cluster.url("postgres"), "passerelle").await? {
                    tracing::info!("created database `passerelle` in the embedded cluster");
                }
                (cluster.url("passerelle"), Some(cluster))
            }
        };
        let pool = domain::db::connect(&url, 20).await?;
        Ok(Self { pool, embedded })
    }

    pub async fn close(self) {
        self.pool.close().await;
        if let Some(cluster) = self.embedded
            && let Err(e) = tokio::task::spawn_blocking(move || cluster.stop()).await
        {
            tracing::warn!("stopping the embedded PostgreSQL cluster: {e}");
        }
    }
}

pub fn passwords(config: &Config) -> Result<Arc<Passwords>, CliError> {
    Ok(Arc::new(Passwords::new(config.argon2_cost())?))
}

pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("passerelle")
        .hash_files(bundle_names_hashed())
        .site_root(config.site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .env(leptos::config::Env::PROD)
        .build()
}

/// Whether `cargo leptos build` named the bundle's files after their hashes: it then writes
/// `hash.txt` beside the server's binary, where Leptos reads the names the pages load. A binary
/// built otherwise (`cargo build`, the tests) serves the plain names.
fn bundle_names_hashed() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt").is_file()))
        .unwrap_or(false)
}

/// The card trust (IGC-Santé bundle and CRLs) and card settings, when `[card]` is configured.
pub fn card_service(config: &Config) -> Result<Option<CardService>, CliError> {
    let Some(card) = &config.card else {
        return Ok(None);
    };
    let trust = domain::auth::card::Trust::load(&domain::auth::card::TrustSettings {
        ca_bundle: card.ca_bundle.clone(),
        crl_files: card.crl_files.clone(),
        accept_anonymous_cards: card.accept_anonymous_cards,
    })
    .map_err(|e| CliError::Trust(format!("[card] {e}")))?;
    if card.tls_url.is_some() && card.tls_proxies.is_empty() {
        tracing::warn!(
            "[card] tls_url without tls_proxies: the TLS card path refuses every request"
        );
    }
    if !trust.checks_revocation() {
        tracing::warn!("card sign-in without CRL files: revoked cards will NOT be refused");
    }
    Ok(Some(CardService {
        trust,
        agent_origin: crate::config::origin_of(&card.agent_url),
        agent_url: card.agent_url.trim_end_matches('/').to_string(),
        tls: card.tls_url.as_ref().map(|url| TlsCardHost {
            url: url.trim_end_matches('/').to_string(),
            host: crate::config::authority_of(url),
            proxies: card.tls_proxies.clone(),
            certificate_header: card.tls_certificate_header.to_ascii_lowercase(),
            verify_header: card.tls_verify_header.to_ascii_lowercase(),
        }),
    }))
}

/// The key of the audit labels of identifiers typed for no account (`<data_dir>/audit-identifiers.key`,
/// created on first start; several instances share the same file).
fn identifier_key(config: &Config) -> Result<domain::audit::IdentifierKey, CliError> {
    let path = config.data_dir.join("audit-identifiers.key");
    let key = crate::keys::read_or_create_key(&path, "audit identifiers", || {
        use rand::RngCore;
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        key
    })?;
    Ok(domain::audit::IdentifierKey::new(key))
}

/// The sign-in services, as configured.
pub fn portal(
    config: &Config,
    pool: PgPool,
    passwords: Arc<Passwords>,
) -> Result<Portal, CliError> {
    Ok(Portal {
        pool,
        passwords,
        sessions: config.session_policy(),
        account_throttle: config.lockout.policy(),
        address_throttle: config.address_limit.policy(),
        otp_for_all: config.mail.otp_for_all,
        public_origin: config.public_origin(),
        code_lifetime: time::Duration::seconds(config.mail.code_lifetime_seconds.clamp(10, 3600)),
        psc: config.psc_settings(),
        identifier_key: identifier_key(config)?,
        sign_in_policy: config.sign_in_policy()?,
        dormancy: domain::auth::dormancy::Rule::days(config.policy.inactive_days),
    })
}

pub fn state(
    config: &Config,
    pool: PgPool,
    passwords: Arc<Passwords>,
    card: Option<CardService>,
    tiqr: Option<app::state::TiqrSetup>,
) -> Result<AppState, CliError> {
    let mut sign_in_modes = Vec::new();
    if config.psc.enabled {
        sign_in_modes.push(SignInMode::Psc);
    }
    if card.is_some() {
        sign_in_modes.push(SignInMode::Card);
    }
    sign_in_modes.push(SignInMode::Password);
    let portal = portal(config, pool, passwords)?;
    let public_origin = config.public_origin();
    let passkeys = domain::auth::passkey::PasskeyService::for_origin(&public_origin)?;
    if passkeys.is_none() {
        tracing::info!(%public_origin, "no passkeys: the public address is not a domain name");
    }
    let settings = Settings {
        secure_cookies: public_origin.starts_with("https://"),
        public_origin,
        trusted_proxies: config.trusted_proxies.clone(),
        admin_reauth: time::Duration::minutes(
            config.session.admin_reauth_minutes.clamp(1, 24 * 60),
        ),
        sign_in_modes,
        demo_mail_folder: config.demo_mail_folder(),
        directory_inbox: config.directory_inbox(),
    };
    Ok(AppState {
        leptos: leptos_options(config),
        services: Arc::new(Services {
            portal,
            settings,
            card,
            tiqr,
            passkeys,
        }),
    })
}

/// TIQR's published service values and the key of the enrollments' secrets (read, or created on
/// first start with owner-only permissions).
pub fn tiqr_setup(config: &Config) -> Result<Option<app::state::TiqrSetup>, CliError> {
    use domain::auth::tiqr::{SecretBox, TiqrService};
    if !config.tiqr.enabled {
        return Ok(None);
    }
    let path = config
        .tiqr
        .key_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join("tiqr-secrets.key"));
    let key = crate::keys::read_or_create_key(
        &path,
        "TIQR (the secrets at rest)",
        SecretBox::generate_key,
    )?;
    let origin = config.public_origin();
    let host = crate::config::authority_of(&config.public_url);
    let host = host
        .rsplit_once(':')
        .map_or(host.as_str(), |(h, _)| h)
        .to_string();
    let service = TiqrService {
        display_name: config.tiqr.display_name.clone(),
        identifier: config.tiqr.identifier.clone().unwrap_or(host),
        logo_url: format!("{origin}/tiqr/logo.png"),
        info_url: format!("{origin}/"),
        authentication_url: format!("{origin}/tiqr/auth"),
        metadata_url: format!("{origin}/tiqr/metadata"),
        enrollment_url: format!("{origin}/tiqr/enrol"),
        sp_identifier: config.tiqr.display_name.replace('/', "-"),
    };
    service.validate()?;
    Ok(Some(app::state::TiqrSetup {
        service,
        secrets: SecretBox::new(&key),
        // 0 turns the rule off; a week at most (a phone is long trusted by then).
        new_phone: time::Duration::hours(config.tiqr.new_phone_hours.clamp(0, 24 * 7)),
    }))
}

/// `passerelle serve`: migrate, seed the demo when asked, serve until Ctrl-C or SIGTERM.
pub async fn serve(config: Config) -> Result<(), CliError> {
    let db = Database::open(&config).await?;
    // Whatever happens next, the embedded cluster is stopped before the process exits.
    let result = serve_with(&config, &db).await;
    db.close().await;
    result
}

async fn serve_with(config: &Config, db: &Database) -> Result<(), CliError> {
    domain::db::migrate(&db.pool).await?;
    let passwords = passwords(config)?;
    let demo = config.demo_data.unwrap_or(false);
    let https = config.public_origin().starts_with("https://");
    // Demo accounts have a published password: never on a deployment users reach over https.
    if https {
        let present = domain::demo::present(&db.pool, &passwords).await?;
        if let Some(refusal) = demo_refusal(demo, &present) {
            return Err(CliError::Usage(refusal));
        }
    }
    if demo && domain::demo::seed(&db.pool, &passwords, OffsetDateTime::now_utc()).await? {
        tracing::info!(
            "demo data created: sign in as dr.martin, inf.durand, sec.petit, helene.leclerc, support.idf, support.ara, admin.idf or admin.national with the password {}",
            domain::demo::DEMO_PASSWORD
        );
    }
    let card = card_service(config)?;
    let tiqr = tiqr_setup(config)?;
    let psc = crate::psc::PscClient::from_config(config)?.map(Arc::new);
    if psc.is_some() {
        tracing::info!(
            "Pro Santé Connect on: redirect URI {}, back-channel logout URI {}/connexion/psc/deconnexion",
            config.psc_redirect_uri(),
            config.public_url.trim_end_matches('/')
        );
    }
    let state = state(config, db.pool.clone(), passwords, card, tiqr)?;
    let limits = Arc::new(crate::web::limits::Limits::new(
        config.trusted_proxies.clone(),
    ));
    crate::web::limits::spawn_cleanup(limits.clone());
    if let Some(listen) = config.metrics_listen {
        let handle =
            crate::web::metrics::install().map_err(|e| CliError::Usage(format!("metrics: {e}")))?;
        let metrics = crate::web::metrics::router(handle, state.services.clone());
        tokio::spawn(async move {
            if let Err(e) = crate::web::metrics::serve(listen, metrics).await {
                tracing::error!("metrics on {listen}: {e}");
            }
        });
    }
    let router = crate::web::router(state.clone(), psc, limits);
    spawn_housekeeping(db.pool.clone());
    spawn_refusal_flush(db.pool.clone());
    spawn_daily(state.services.clone());
    crate::mailer::spawn(
        db.pool.clone(),
        crate::mailer::Mailer::new(
            &config.mail,
            &config.data_dir,
            config.public_origin().starts_with("https://"),
        )?
        // Links and codes in the log are for the offline demo only.
        .log_secrets(demo),
    );

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| CliError::Bind(config.listen, e))?;
    tracing::info!(
        "Passerelle is listening on http://{} (public URL {})",
        config.listen,
        config.public_url
    );
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(CliError::Serve)
}

/// Why an https deployment must not start: the demo was asked for, or demo accounts (with the
/// published password) are in the database. `None`: it may start.
fn demo_refusal(demo_requested: bool, present: &[String]) -> Option<String> {
    if demo_requested {
        return Some(
            "demo mode (--demo, PASSERELLE_DEMO_DATA=true or demo_data = true) is refused when \
             public_url is https: its accounts have the password published in the README. Remove \
             it, or use an http public_url for a demonstration."
                .to_string(),
        );
    }
    if present.is_empty() {
        return None;
    }
    Some(format!(
        "refusing to start: public_url is https and the database holds demo accounts with the \
         published demo password ({}). Disable them or change their passwords (on an http \
         public_url, or with the console), or use a database without the demo data.",
        present.join(", ")
    ))
}

/// Forgets expired throttle counters and card challenges, links and hand-overs every ten minutes.
fn spawn_housekeeping(pool: PgPool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
        loop {
            tick.tick().await;
            let cutoff = OffsetDateTime::now_utc() - time::Duration::days(1);
            match pool.acquire().await {
                Ok(mut conn) => {
                    if let Err(e) = domain::throttle::purge(&mut conn, cutoff).await {
                        tracing::warn!("purging throttle counters: {e}");
                    }
                    if let Err(e) =
                        domain::cards::purge_expired(&mut conn, OffsetDateTime::now_utc()).await
                    {
                        tracing::warn!("purging expired card challenges: {e}");
                    }
                    if let Err(e) =
                        domain::auth::psc::purge_expired(&mut conn, OffsetDateTime::now_utc()).await
                    {
                        tracing::warn!("purging PSC flows, pending links and logout tokens: {e}");
                    }
                    if let Err(e) =
                        domain::mail::outbox::purge(&mut conn, OffsetDateTime::now_utc()).await
                    {
                        tracing::warn!("purging old e-mails, code steps and links: {e}");
                    }
                    if let Err(e) = domain::auth::tiqr::sign_in::purge_expired(
                        &mut conn,
                        OffsetDateTime::now_utc(),
                    )
                    .await
                    {
                        tracing::warn!("purging expired TIQR sign-in QRs: {e}");
                    }
                }
                Err(e) => tracing::warn!("housekeeping: {e}"),
            }
        }
    });
}

/// The daily jobs (inactive accounts: `domain::auth::dormancy`), tried at start-up and every hour:
/// each runs once per day whatever the number of instances (the domain claims the day), and an
/// instance that was down at midnight runs it when it comes back.
fn spawn_daily(services: Arc<Services>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        let worker = domain::call::Client::default();
        loop {
            tick.tick().await;
            let call = domain::call::Call::new(&worker, OffsetDateTime::now_utc());
            match domain::auth::dormancy::run_daily(&services.portal, call).await {
                Ok(Some(done)) => tracing::info!(
                    warned = done.warned,
                    dormant = done.dormant,
                    "inactive accounts: the day's run is done"
                ),
                Ok(None) => {}
                Err(e) => tracing::warn!("inactive accounts: {e}"),
            }
        }
    });
}

/// Writes the summaries of repeated refusals whose minute is over (`domain::refusals`), every
/// 20 seconds. Every instance runs it; a summary is written by exactly one of them.
fn spawn_refusal_flush(pool: PgPool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(20));
        loop {
            tick.tick().await;
            loop {
                match domain::refusals::flush(&pool, OffsetDateTime::now_utc()).await {
                    Ok(done) => {
                        if done.summaries > 0 {
                            tracing::info!(
                                summaries = done.summaries,
                                "repeated refusals summarised"
                            );
                        }
                        if !done.more_waiting() {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!("summarising repeated refusals: {e}");
                        break;
                    }
                }
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    // Hardening (issue 14, M-3): no demo accounts behind https.
    #[test]
    fn an_https_deployment_refuses_the_demo_and_demo_accounts() {
        assert_eq!(super::demo_refusal(false, &[]), None);
        let asked = super::demo_refusal(true, &[]).unwrap();
        assert!(
            asked.contains("--demo") && asked.contains("https"),
            "{asked}"
        );
        let present =
            super::demo_refusal(false, &["admin.national".into(), "dr.martin".into()]).unwrap();
        assert!(present.contains("admin.national, dr.martin"), "{present}");
        assert!(present.contains("demo accounts"), "{present}");
    }
}
