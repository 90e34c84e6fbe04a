//! Configuration: defaults that run a demo with nothing set, a TOML file (`--config`,
//! `PASSERELLE_CONFIG`, or `passerelle.toml` in the working directory), then `PASSERELLE_*` and
//! `DATABASE_URL` environment variables, which win.

use secrecy::SecretString;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid value for {name}: {value:?}")]
    Env { name: &'static str, value: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Address of the Prometheus metrics (`GET /metrics`), apart from the portal's so that only
    /// the operators' network reaches it; off when absent.
    pub metrics_listen: Option<SocketAddr>,
    /// The URL users reach the portal at (scheme, host, port): cookies are `Secure` when it is
    /// https, and it is the only origin allowed to post forms.
    pub public_url: String,
    /// An existing PostgreSQL database; without it a private cluster is run in `data_dir`.
    pub database_url: Option<String>,
    /// Folder for the embedded cluster and other local files.
    pub data_dir: PathBuf,
    /// The built site (cargo-leptos output: `pkg/` with the wasm, js and css).
    pub site_root: PathBuf,
    /// Where the national directory's extractions are put (by a daily download): the console
    /// lists them and loads the one chosen. Default `<data_dir>/annuaire`; in a fleet, a folder
    /// every instance sees.
    pub directory_inbox: Option<PathBuf>,
    /// Seed the demo data into an empty database (`--demo` or `PASSERELLE_DEMO_DATA=true`; off by
    /// default). Refused, like demo accounts already in the database, when `public_url` is https.
    pub demo_data: Option<bool>,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    pub session: SessionConfig,
    pub lockout: ThrottleConfig,
    pub address_limit: ThrottleConfig,
    pub argon2: Argon2Config,
    /// CPx card sign-in; off when absent.
    pub card: Option<CardConfig>,
    pub mail: MailConfig,
    pub tiqr: TiqrConfig,
    pub psc: PscConfig,
    pub policy: PolicyConfig,
}

/// `[policy]`: the sign-in methods each role needs at least (`card`, `psc`, `passkey`, `tiqr`,
/// `password+email_code`, `password`); an empty list (or `any` in the environment) accepts any.
/// Defaults: professionals any; the desk and the administrators card, PSC, passkey or TIQR.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// `AAAA-MM-JJ`: until the end of that day (UTC), the password with the e-mailed code is
    /// still accepted where it is not listed (the pages say until when).
    pub transition_until: Option<String>,
    pub professional: Vec<String>,
    pub support: Vec<String>,
    pub regional_admin: Vec<String>,
    pub national_admin: Vec<String>,
    /// Days without a sign-in after which an active account becomes dormant (0: never). The
    /// holder is warned 30 days before.
    pub inactive_days: u32,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        let names = |methods: &[model::sign_in::Method]| {
            methods.iter().map(|m| m.as_str().to_string()).collect()
        };
        let defaults = domain::sign_in_policy::SignInPolicy::default();
        Self {
            transition_until: None,
            professional: names(&defaults.professional),
            support: names(&defaults.support),
            regional_admin: names(&defaults.regional_admin),
            national_admin: names(&defaults.national_admin),
            inactive_days: 365,
        }
    }
}

/// `[psc]`: sign-in through Pro Santé Connect (OpenID Connect). Off by default.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PscConfig {
    pub enabled: bool,
    /// PSC's issuer, e.g. `https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet`; the
    /// discovered metadata must name exactly this issuer.
    pub issuer: String,
    /// Discovery document; PSC's is NOT at the standard path. Default:
    /// `<issuer>/.well-known/wallet-openid-configuration`. Unused when the endpoints below are
    /// all configured.
    pub discovery_url: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub end_session_endpoint: Option<String>,
    pub client_id: String,
    /// Shown as `[REDACTED]` in every debug print of the configuration (`secrecy`).
    pub client_secret: Option<SecretString>,
    /// A file holding the client secret (kept out of the configuration file).
    pub client_secret_file: Option<PathBuf>,
    pub client_auth: PscClientAuth,
    /// PEM private key (RSA) signing the client assertion of `private_key_jwt`.
    pub private_key_file: Option<PathBuf>,
    /// Sent as `acr_values` in the authorization request.
    pub acr_values: String,
    /// Refuse sign-ins below this level (`eidas1` < `eidas2` < `eidas3`); none by default.
    pub min_acr: Option<String>,
    /// Add memberships to the establishments (of the account's region) PSC declares.
    pub auto_memberships: bool,
    /// Timeout of each request to PSC.
    pub timeout_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PscClientAuth {
    /// `client_secret_basic`: what ANS's own proxies use.
    Basic,
    /// `client_secret_post`.
    Post,
    PrivateKeyJwt,
}

impl Default for PscConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            issuer: String::new(),
            discovery_url: None,
            authorization_endpoint: None,
            token_endpoint: None,
            userinfo_endpoint: None,
            jwks_uri: None,
            end_session_endpoint: None,
            client_id: String::new(),
            client_secret: None,
            client_secret_file: None,
            client_auth: PscClientAuth::Basic,
            private_key_file: None,
            acr_values: "eidas1".into(),
            min_acr: None,
            auto_memberships: false,
            timeout_seconds: 10,
        }
    }
}

/// `[tiqr]`: sign-in with the TIQR app. On by default (it needs nothing but the portal).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TiqrConfig {
    pub enabled: bool,
    /// The service's name in the app.
    pub display_name: String,
    /// The lowercase host-like name the apps file the accounts under; default: the public URL's
    /// host. It must never change once phones are enrolled.
    pub identifier: Option<String>,
    /// 32 random bytes that seal the enrollments' secrets at rest; created (mode 0600) on first
    /// start when missing. Default `<data_dir>/tiqr-secrets.key`. Back it up with the database.
    pub key_file: Option<PathBuf>,
    /// Hours during which a newly confirmed phone's sign-ins do not satisfy the admin console's
    /// re-authentication (the password is asked); default 24.
    pub new_phone_hours: i64,
}

impl Default for TiqrConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            display_name: "Passerelle".into(),
            identifier: None,
            key_file: None,
            new_phone_hours: domain::auth::tiqr::NEW_PHONE_UNTRUSTED.whole_hours(),
        }
    }
}

/// `[mail]`: where e-mails go. Without `smtp_host` they are written as .eml files to `folder`
/// (default `<data_dir>/mail`) and their links and codes logged: the demo works offline.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    pub from: String,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    /// `starttls` (default, port 587), `tls` (implicit TLS, port 465) or `none` (plain, port 25;
    /// only for a relay on a trusted network).
    pub smtp_security: SmtpSecurity,
    pub smtp_username: Option<String>,
    /// Shown as `[REDACTED]` in every debug print of the configuration (`secrecy`).
    pub smtp_password: Option<SecretString>,
    /// PEM file of the CA that signed the SMTP server's certificate, when it is not in the
    /// system's store (an internal relay).
    pub smtp_ca_file: Option<PathBuf>,
    pub folder: Option<PathBuf>,
    /// Every password sign-in needs the e-mail code (else only accounts marked for it).
    pub otp_for_all: bool,
    /// Lifetime of an e-mailed sign-in code.
    pub code_lifetime_seconds: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    Starttls,
    Tls,
    None,
}

impl MailConfig {
    /// The folder of the folder transport: `folder`, or `mail` in the data directory.
    pub fn folder_in(&self, data_dir: &std::path::Path) -> PathBuf {
        self.folder.clone().unwrap_or_else(|| data_dir.join("mail"))
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            from: "Passerelle <ne-pas-repondre@passerelle.example>".into(),
            smtp_host: None,
            smtp_port: None,
            smtp_security: SmtpSecurity::Starttls,
            smtp_username: None,
            smtp_password: None,
            smtp_ca_file: None,
            folder: None,
            otp_for_all: false,
            code_lifetime_seconds: domain::auth::otp::CODE_LIFETIME.whole_seconds(),
        }
    }
}

/// `[card]`: the IGC-Santé trust and the two ways a card reaches the portal.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardConfig {
    /// PEM bundle of the IGC-Santé CAs (roots and issuing CAs).
    pub ca_bundle: PathBuf,
    /// CRL files of the issuing CAs (PEM or DER), re-read when they change.
    #[serde(default)]
    pub crl_files: Vec<PathBuf>,
    /// Accept structure-bound cards with no named holder (`pseudonym=`).
    #[serde(default)]
    pub accept_anonymous_cards: bool,
    /// Where the page finds the local agent (`passerelle-agent`).
    #[serde(default = "default_agent_url")]
    pub agent_url: String,
    /// The card host name served by the TLS terminator that asks for the client certificate,
    /// e.g. `https://carte.passerelle.example`; the TLS path is off when absent.
    #[serde(default)]
    pub tls_url: Option<String>,
    /// Addresses of the card host's TLS terminator: the only peers whose client-certificate
    /// header is believed (on requests for the `tls_url` host only). Deliberately separate from
    /// `trusted_proxies`, which may hold a load balancer that passes client headers through.
    #[serde(default)]
    pub tls_proxies: Vec<IpAddr>,
    /// Request header in which the terminator forwards the URL-encoded PEM client certificate
    /// (nginx: `$ssl_client_escaped_cert`). Believed only from `trusted_proxies`.
    #[serde(default = "default_cert_header")]
    pub tls_certificate_header: String,
    /// Request header carrying the terminator's verdict (nginx: `$ssl_client_verify`).
    #[serde(default = "default_verify_header")]
    pub tls_verify_header: String,
}

fn default_agent_url() -> String {
    "http://127.0.0.1:24231".into()
}

fn default_cert_header() -> String {
    "x-ssl-client-cert".into()
}

fn default_verify_header() -> String {
    "x-ssl-client-verify".into()
}

impl CardConfig {
    fn new(ca_bundle: PathBuf) -> Self {
        Self {
            ca_bundle,
            crl_files: Vec::new(),
            accept_anonymous_cards: false,
            agent_url: default_agent_url(),
            tls_url: None,
            tls_proxies: Vec::new(),
            tls_certificate_header: default_cert_header(),
            tls_verify_header: default_verify_header(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    pub idle_minutes: i64,
    pub absolute_minutes: i64,
    /// The admin console asks for the password again once the sign-in (or the last
    /// confirmation) is older than this.
    #[serde(default = "default_admin_reauth")]
    pub admin_reauth_minutes: i64,
}

fn default_admin_reauth() -> i64 {
    60
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleConfig {
    pub max_failures: i32,
    pub window_minutes: i64,
    pub lock_minutes: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Argon2Config {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            metrics_listen: None,
            public_url: "http://127.0.0.1:3000".into(),
            database_url: None,
            data_dir: PathBuf::from("data"),
            site_root: PathBuf::from("target/site"),
            directory_inbox: None,
            demo_data: None,
            trusted_proxies: Vec::new(),
            session: SessionConfig::default(),
            lockout: ThrottleConfig::from(domain::throttle::Policy::ACCOUNT_DEFAULT),
            address_limit: ThrottleConfig::from(domain::throttle::Policy::ADDRESS_DEFAULT),
            argon2: Argon2Config::default(),
            card: None,
            mail: MailConfig::default(),
            tiqr: TiqrConfig::default(),
            psc: PscConfig::default(),
            policy: PolicyConfig::default(),
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        let p = domain::sessions::Policy::default();
        Self {
            idle_minutes: p.idle.whole_minutes(),
            absolute_minutes: p.absolute.whole_minutes(),
            admin_reauth_minutes: default_admin_reauth(),
        }
    }
}

impl From<domain::throttle::Policy> for ThrottleConfig {
    fn from(p: domain::throttle::Policy) -> Self {
        Self {
            max_failures: p.max_failures,
            window_minutes: p.window.whole_minutes(),
            lock_minutes: p.lock_for.whole_minutes(),
        }
    }
}

impl ThrottleConfig {
    pub fn policy(&self) -> domain::throttle::Policy {
        domain::throttle::Policy {
            max_failures: self.max_failures.max(1),
            window: time::Duration::minutes(self.window_minutes.max(1)),
            lock_for: time::Duration::minutes(self.lock_minutes.max(1)),
        }
    }
}

impl Default for Argon2Config {
    fn default() -> Self {
        let c = domain::password::Cost::default();
        Self {
            memory_kib: c.memory_kib,
            iterations: c.iterations,
            parallelism: c.parallelism,
        }
    }
}

impl Config {
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let default_file = Path::new("passerelle.toml");
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("PASSERELLE_CONFIG").map(PathBuf::from))
            .or_else(|| default_file.exists().then(|| default_file.to_path_buf()));
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path,
                    source: Box::new(source),
                })?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(
            name: &'static str,
            value: String,
        ) -> Result<T, ConfigError> {
            value
                .trim()
                .parse()
                .map_err(|_| ConfigError::Env { name, value })
        }
        if let Some(v) = var("PASSERELLE_LISTEN").or_else(|| var("LEPTOS_SITE_ADDR")) {
            self.listen = parse("PASSERELLE_LISTEN", v)?;
        }
        if let Some(v) = var("PASSERELLE_PUBLIC_URL") {
            self.public_url = v;
        }
        if let Some(v) = var("DATABASE_URL").filter(|v| !v.is_empty()) {
            self.database_url = Some(v);
        }
        if let Some(v) = var("PASSERELLE_METRICS_LISTEN") {
            self.metrics_listen = Some(parse("PASSERELLE_METRICS_LISTEN", v)?);
        }
        if let Some(v) = var("PASSERELLE_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = var("PASSERELLE_SITE_ROOT").or_else(|| var("LEPTOS_SITE_ROOT")) {
            self.site_root = PathBuf::from(v);
        }
        if let Some(v) = var("PASSERELLE_DIRECTORY_INBOX") {
            self.directory_inbox = Some(PathBuf::from(v));
        }
        if let Some(v) = var("PASSERELLE_DEMO_DATA") {
            self.demo_data = Some(parse("PASSERELLE_DEMO_DATA", v)?);
        }
        if let Some(v) = var("PASSERELLE_TRUSTED_PROXIES") {
            self.trusted_proxies = v
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| parse("PASSERELLE_TRUSTED_PROXIES", s.to_string()))
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = var("PASSERELLE_SESSION_IDLE_MINUTES") {
            self.session.idle_minutes = parse("PASSERELLE_SESSION_IDLE_MINUTES", v)?;
        }
        if let Some(v) = var("PASSERELLE_TIQR_ENABLED") {
            self.tiqr.enabled = parse("PASSERELLE_TIQR_ENABLED", v)?;
        }
        if let Some(v) = var("PASSERELLE_TIQR_KEY_FILE") {
            self.tiqr.key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = var("PASSERELLE_TIQR_NEW_PHONE_HOURS") {
            self.tiqr.new_phone_hours = parse("PASSERELLE_TIQR_NEW_PHONE_HOURS", v)?;
        }
        if let Some(v) = var("PASSERELLE_POLICY_TRANSITION_UNTIL") {
            self.policy.transition_until = Some(v).filter(|v| !v.trim().is_empty());
        }
        let list = |v: String| -> Vec<String> {
            v.split(',')
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty() && m != "any")
                .collect()
        };
        if let Some(v) = var("PASSERELLE_POLICY_PROFESSIONAL") {
            self.policy.professional = list(v);
        }
        if let Some(v) = var("PASSERELLE_POLICY_SUPPORT") {
            self.policy.support = list(v);
        }
        if let Some(v) = var("PASSERELLE_POLICY_REGIONAL_ADMIN") {
            self.policy.regional_admin = list(v);
        }
        if let Some(v) = var("PASSERELLE_POLICY_NATIONAL_ADMIN") {
            self.policy.national_admin = list(v);
        }
        if let Some(v) = var("PASSERELLE_POLICY_INACTIVE_DAYS") {
            self.policy.inactive_days = parse("PASSERELLE_POLICY_INACTIVE_DAYS", v)?;
        }
        if let Some(v) = var("PASSERELLE_ADMIN_REAUTH_MINUTES") {
            self.session.admin_reauth_minutes = parse("PASSERELLE_ADMIN_REAUTH_MINUTES", v)?;
        }
        if let Some(v) = var("PASSERELLE_SESSION_ABSOLUTE_MINUTES") {
            self.session.absolute_minutes = parse("PASSERELLE_SESSION_ABSOLUTE_MINUTES", v)?;
        }
        if let Some(v) = var("PASSERELLE_LOCKOUT_MAX_FAILURES") {
            self.lockout.max_failures = parse("PASSERELLE_LOCKOUT_MAX_FAILURES", v)?;
        }
        if let Some(v) = var("PASSERELLE_ADDRESS_MAX_FAILURES") {
            self.address_limit.max_failures = parse("PASSERELLE_ADDRESS_MAX_FAILURES", v)?;
        }
        if let Some(v) = var("PASSERELLE_SMTP_HOST") {
            self.mail.smtp_host = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = var("PASSERELLE_SMTP_PORT") {
            self.mail.smtp_port = Some(parse("PASSERELLE_SMTP_PORT", v)?);
        }
        if let Some(v) = var("PASSERELLE_SMTP_SECURITY") {
            self.mail.smtp_security = match v.trim() {
                "starttls" => SmtpSecurity::Starttls,
                "tls" => SmtpSecurity::Tls,
                "none" => SmtpSecurity::None,
                _ => {
                    return Err(ConfigError::Env {
                        name: "PASSERELLE_SMTP_SECURITY",
                        value: v,
                    });
                }
            };
        }
        if let Some(v) = var("PASSERELLE_SMTP_USERNAME") {
            self.mail.smtp_username = Some(v);
        }
        if let Some(v) = var("PASSERELLE_SMTP_PASSWORD") {
            self.mail.smtp_password = Some(SecretString::from(v));
        }
        if let Some(v) = var("PASSERELLE_SMTP_CA_FILE") {
            self.mail.smtp_ca_file = Some(PathBuf::from(v)).filter(|p| !p.as_os_str().is_empty());
        }
        if let Some(v) = var("PASSERELLE_MAIL_FROM") {
            self.mail.from = v;
        }
        if let Some(v) = var("PASSERELLE_MAIL_FOLDER") {
            self.mail.folder = Some(PathBuf::from(v));
        }
        if let Some(v) = var("PASSERELLE_OTP_CODE_SECONDS") {
            self.mail.code_lifetime_seconds = parse("PASSERELLE_OTP_CODE_SECONDS", v)?;
        }
        if let Some(v) = var("PASSERELLE_OTP_FOR_ALL") {
            self.mail.otp_for_all = parse("PASSERELLE_OTP_FOR_ALL", v)?;
        }
        if let Some(v) = var("PASSERELLE_CARD_CA_BUNDLE").filter(|v| !v.is_empty()) {
            let card = self
                .card
                .get_or_insert_with(|| CardConfig::new(PathBuf::new()));
            card.ca_bundle = PathBuf::from(v);
        }
        self.apply_psc_env(&var)?;
        if let Some(card) = self.card.as_mut() {
            if let Some(v) = var("PASSERELLE_CARD_CRL_FILES") {
                card.crl_files = v
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| PathBuf::from(s.trim()))
                    .collect();
            }
            if let Some(v) = var("PASSERELLE_CARD_AGENT_URL") {
                card.agent_url = v;
            }
            if let Some(v) = var("PASSERELLE_CARD_TLS_URL") {
                card.tls_url = Some(v).filter(|v| !v.is_empty());
            }
            if let Some(v) = var("PASSERELLE_CARD_TLS_PROXIES") {
                card.tls_proxies = v
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| parse("PASSERELLE_CARD_TLS_PROXIES", s.to_string()))
                    .collect::<Result<_, _>>()?;
            }
        }
        Ok(())
    }

    fn apply_psc_env(&mut self, var: &impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let psc = &mut self.psc;
        let optional = |v: String| Some(v).filter(|v| !v.trim().is_empty());
        if let Some(v) = var("PASSERELLE_PSC_ENABLED") {
            psc.enabled = v.trim().parse().map_err(|_| ConfigError::Env {
                name: "PASSERELLE_PSC_ENABLED",
                value: v,
            })?;
        }
        if let Some(v) = var("PASSERELLE_PSC_ISSUER") {
            psc.issuer = v;
        }
        for (name, field) in [
            ("PASSERELLE_PSC_DISCOVERY_URL", &mut psc.discovery_url),
            (
                "PASSERELLE_PSC_AUTHORIZATION_ENDPOINT",
                &mut psc.authorization_endpoint,
            ),
            ("PASSERELLE_PSC_TOKEN_ENDPOINT", &mut psc.token_endpoint),
            (
                "PASSERELLE_PSC_USERINFO_ENDPOINT",
                &mut psc.userinfo_endpoint,
            ),
            ("PASSERELLE_PSC_JWKS_URI", &mut psc.jwks_uri),
            (
                "PASSERELLE_PSC_END_SESSION_ENDPOINT",
                &mut psc.end_session_endpoint,
            ),
            ("PASSERELLE_PSC_MIN_ACR", &mut psc.min_acr),
        ] {
            if let Some(v) = var(name) {
                *field = optional(v);
            }
        }
        if let Some(v) = var("PASSERELLE_PSC_CLIENT_SECRET") {
            psc.client_secret = optional(v).map(SecretString::from);
        }
        if let Some(v) = var("PASSERELLE_PSC_CLIENT_ID") {
            psc.client_id = v;
        }
        if let Some(v) = var("PASSERELLE_PSC_CLIENT_SECRET_FILE") {
            psc.client_secret_file = optional(v).map(PathBuf::from);
        }
        if let Some(v) = var("PASSERELLE_PSC_PRIVATE_KEY_FILE") {
            psc.private_key_file = optional(v).map(PathBuf::from);
        }
        if let Some(v) = var("PASSERELLE_PSC_CLIENT_AUTH") {
            psc.client_auth = match v.trim() {
                "basic" | "client_secret_basic" => PscClientAuth::Basic,
                "post" | "client_secret_post" => PscClientAuth::Post,
                "private_key_jwt" => PscClientAuth::PrivateKeyJwt,
                _ => {
                    return Err(ConfigError::Env {
                        name: "PASSERELLE_PSC_CLIENT_AUTH",
                        value: v,
                    });
                }
            };
        }
        if let Some(v) = var("PASSERELLE_PSC_ACR_VALUES") {
            psc.acr_values = v;
        }
        if let Some(v) = var("PASSERELLE_PSC_AUTO_MEMBERSHIPS") {
            psc.auto_memberships = v.trim().parse().map_err(|_| ConfigError::Env {
                name: "PASSERELLE_PSC_AUTO_MEMBERSHIPS",
                value: v,
            })?;
        }
        if let Some(v) = &psc.min_acr
            && domain::auth::psc::Acr::parse(v).is_none()
        {
            return Err(ConfigError::Env {
                name: "PASSERELLE_PSC_MIN_ACR",
                value: v.clone(),
            });
        }
        Ok(())
    }

    /// The domain's PSC rules.
    pub fn psc_settings(&self) -> domain::auth::psc::Settings {
        domain::auth::psc::Settings {
            min_acr: self
                .psc
                .min_acr
                .as_deref()
                .and_then(domain::auth::psc::Acr::parse),
            auto_memberships: self.psc.auto_memberships,
        }
    }

    /// The minimum sign-in strength of each role; a method or a date that does not read is an
    /// error at start-up, not a silently weaker rule.
    pub fn sign_in_policy(&self) -> Result<domain::sign_in_policy::SignInPolicy, ConfigError> {
        let methods = |name: &'static str, list: &[String]| {
            list.iter()
                .map(|m| {
                    model::sign_in::Method::parse(m.trim()).ok_or_else(|| ConfigError::Env {
                        name,
                        value: m.clone(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let transition_until = match &self.policy.transition_until {
            None => None,
            Some(day) => {
                let format = time::macros::format_description!("[year]-[month]-[day]");
                let date = time::Date::parse(day.trim(), format).map_err(|_| ConfigError::Env {
                    name: "policy.transition_until",
                    value: day.clone(),
                })?;
                Some(date.midnight().assume_utc() + time::Duration::days(1))
            }
        };
        Ok(domain::sign_in_policy::SignInPolicy {
            professional: methods("policy.professional", &self.policy.professional)?,
            support: methods("policy.support", &self.policy.support)?,
            regional_admin: methods("policy.regional_admin", &self.policy.regional_admin)?,
            national_admin: methods("policy.national_admin", &self.policy.national_admin)?,
            transition_until,
        })
    }

    /// Where PSC sends the browser back (to register at PSC).
    pub fn psc_redirect_uri(&self) -> String {
        format!(
            "{}/connexion/psc/retour",
            self.public_url.trim_end_matches('/')
        )
    }

    /// Scheme, host and port of `public_url`, as browsers send it in `Origin`.
    pub fn public_origin(&self) -> String {
        origin_of(&self.public_url)
    }

    /// The folder the e-mails go to when no SMTP server is configured (`None`: SMTP).
    pub fn mail_folder(&self) -> Option<PathBuf> {
        match self.mail.smtp_host {
            Some(_) => None,
            None => Some(self.mail.folder_in(&self.data_dir)),
        }
    }

    /// The demo's e-mails are readable in the browser (`/demo/courriels`) only with demo data, the
    /// folder transport and a public URL that is not https (where demo data is refused anyway).
    pub fn demo_mail_folder(&self) -> Option<PathBuf> {
        let demo = self.demo_data.unwrap_or(false);
        let https = self.public_origin().starts_with("https://");
        self.mail_folder().filter(|_| demo && !https)
    }

    /// The folder of the national directory's extractions.
    pub fn directory_inbox(&self) -> PathBuf {
        self.directory_inbox
            .clone()
            .unwrap_or_else(|| self.data_dir.join("annuaire"))
    }

    pub fn session_policy(&self) -> domain::sessions::Policy {
        domain::sessions::Policy {
            idle: time::Duration::minutes(self.session.idle_minutes.max(1)),
            absolute: time::Duration::minutes(self.session.absolute_minutes.max(1)),
        }
    }

    pub fn argon2_cost(&self) -> domain::password::Cost {
        domain::password::Cost {
            memory_kib: self.argon2.memory_kib,
            iterations: self.argon2.iterations,
            parallelism: self.argon2.parallelism,
        }
    }
}

/// Host and port of a URL as it arrives in `Host` (`carte.example`, `127.0.0.1:3943`).
pub fn authority_of(url: &str) -> String {
    let origin = origin_of(url);
    origin
        .split_once("://")
        .map(|(_, a)| a.to_string())
        .unwrap_or(origin)
}

/// Scheme, host and port of a URL, as browsers send it in `Origin`.
pub fn origin_of(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let authority = rest.split('/').next().unwrap_or(rest).to_ascii_lowercase();
    let scheme = scheme.to_ascii_lowercase();
    // Browsers leave the default port out of `Origin`.
    let authority = match (scheme.as_str(), authority.rsplit_once(':')) {
        ("https", Some((host, "443"))) | ("http", Some((host, "80"))) => host.to_string(),
        _ => authority,
    };
    format!("{scheme}://{authority}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_in_policy_reads_from_the_file_and_the_environment() {
        use model::sign_in::Method;
        let mut c: Config = toml::from_str(
            "[policy]\ntransition_until = \"2027-06-30\"\nsupport = [\"card\", \"passkey\"]\n",
        )
        .unwrap();
        c.apply_env(|n| match n {
            "PASSERELLE_POLICY_NATIONAL_ADMIN" => Some("psc, card".into()),
            "PASSERELLE_POLICY_REGIONAL_ADMIN" => Some("any".into()),
            _ => None,
        })
        .unwrap();
        let p = c.sign_in_policy().unwrap();
        assert_eq!(p.support, vec![Method::Card, Method::Passkey]);
        assert_eq!(p.national_admin, vec![Method::Psc, Method::Card]);
        assert!(p.regional_admin.is_empty() && p.professional.is_empty());
        // The whole day named is in the transition.
        assert_eq!(
            p.transition_until,
            Some(time::macros::datetime!(2027-07-01 00:00 UTC))
        );
        // A method or a date that does not read is an error, not a weaker rule.
        c.policy.support = vec!["magie".into()];
        assert!(c.sign_in_policy().is_err());
        c.policy.support = Vec::new();
        c.policy.transition_until = Some("30/06/2027".into());
        assert!(c.sign_in_policy().is_err());
        assert_eq!(
            Config::default().sign_in_policy().unwrap(),
            domain::sign_in_policy::SignInPolicy::default()
        );
    }

    #[test]
    fn defaults_follow_the_french_session_rules() {
        let c = Config::default();
        assert_eq!(c.session.idle_minutes, 30);
        assert_eq!(c.session.absolute_minutes, 240);
        assert!(c.database_url.is_none());
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut c: Config = toml::from_str(
            "public_url = \"https://portail.example.fr/\"\n[session]\nidle_minutes = 10\n",
        )
        .unwrap();
        assert_eq!(c.public_origin(), "https://portail.example.fr");
        c.public_url = "HTTPS://Portail.Example.fr:443/passerelle".into();
        assert_eq!(c.public_origin(), "https://portail.example.fr");
        c.public_url = "http://127.0.0.1:3000".into();
        assert_eq!(c.public_origin(), "http://127.0.0.1:3000");
        c.apply_env(|n| (n == "PASSERELLE_SESSION_IDLE_MINUTES").then(|| "20".to_string()))
            .unwrap();
        assert_eq!(c.session.idle_minutes, 20);
        assert!(
            c.apply_env(|n| (n == "PASSERELLE_LISTEN").then(|| "nope".to_string()))
                .is_err()
        );
    }

    #[test]
    fn psc_section_and_environment() {
        let mut c: Config = toml::from_str(
            "public_url = \"https://portail.example.fr/\"\n[psc]\nenabled = true\nissuer = \"https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet\"\nclient_id = \"passerelle\"\nclient_auth = \"private_key_jwt\"\nmin_acr = \"eidas2\"\n",
        )
        .unwrap();
        assert_eq!(c.psc.acr_values, "eidas1");
        assert_eq!(c.psc.client_auth, PscClientAuth::PrivateKeyJwt);
        assert_eq!(
            c.psc_settings().min_acr,
            Some(domain::auth::psc::Acr::Eidas2)
        );
        assert_eq!(
            c.psc_redirect_uri(),
            "https://portail.example.fr/connexion/psc/retour"
        );
        c.apply_env(|n| match n {
            "PASSERELLE_PSC_CLIENT_AUTH" => Some("post".into()),
            "PASSERELLE_PSC_AUTO_MEMBERSHIPS" => Some("true".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.psc.client_auth, PscClientAuth::Post);
        assert!(c.psc_settings().auto_memberships);
        assert!(
            c.apply_env(|n| (n == "PASSERELLE_PSC_MIN_ACR").then(|| "eidas9".to_string()))
                .is_err()
        );
    }

    #[test]
    fn secrets_never_show_in_a_printed_configuration() {
        let config: Config = toml::from_str(
            "[psc]\nclient_secret = \"psc-secret-value\"\n[mail]\nsmtp_password = \"smtp-secret-value\"\n",
        )
        .unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("psc-secret-value"), "{printed}");
        assert!(!printed.contains("smtp-secret-value"), "{printed}");
        assert!(printed.contains("REDACTED"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("lisen = \"x\"").is_err());
    }
}
