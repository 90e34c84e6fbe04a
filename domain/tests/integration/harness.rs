//! Real PostgreSQL for the tests: `DATABASE_URL`'s server when set, else the same embedded cluster
//! mechanism as the server's default (started once, kept running between test runs). Each test
//! gets its own database, copied from a migrated template.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use domain::auth::Auth;
use domain::db::embedded::EmbeddedPostgres;
use domain::password::{Cost, Passwords};
use sqlx::{Connection, PgConnection, PgPool};
use time::OffsetDateTime;

static SERVER: OnceLock<String> = OnceLock::new();

/// URL of a maintenance database on the test server.
fn server_url() -> String {
    SERVER
        .get_or_init(|| match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
                    .join("passerelle-test-postgres");
                let cluster = EmbeddedPostgres::start(&dir, false)
                    .expect("embedded PostgreSQL for the tests");
                let url = cluster.url("postgres");
                // Left running on purpose: the next run reuses it; the test script stops it.
                std::mem::forget(cluster);
                url
            }
        })
        .clone()
}

fn with_database(url: &str, db: &str) -> String {
    let (base, _) = url.rsplit_once('/').unwrap_or((url, ""));
    format!("{base}/{db}")
}

/// The template's name changes with the migrations, so a stale template is never used.
fn template_name() -> String {
    let sum: u64 = domain::db::MIGRATOR
        .iter()
        .map(|m| m.checksum.iter().map(|b| u64::from(*b)).sum::<u64>() + m.version as u64)
        .sum();
    format!(
        "passerelle_tpl_{sum:x}_{}",
        domain::db::MIGRATOR.iter().count()
    )
}

async fn ensure_template(admin: &mut PgConnection) -> String {
    let name = template_name();
    // Several test processes may race to build it.
    sqlx::query("SELECT pg_advisory_lock(4242)")
        .execute(&mut *admin)
        .await
        .unwrap();
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut *admin)
            .await
            .unwrap();
    if !exists {
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut *admin)
            .await
            .unwrap();
        let pool = domain::db::connect(&with_database(&server_url(), &name), 2)
            .await
            .unwrap();
        domain::db::migrate(&pool).await.unwrap();
        pool.close().await;
    }
    sqlx::query("SELECT pg_advisory_unlock(4242)")
        .execute(&mut *admin)
        .await
        .unwrap();
    name
}

/// A fresh, migrated, empty database.
pub async fn fresh_pool() -> PgPool {
    let url = server_url();
    let mut admin = PgConnection::connect(&url).await.unwrap();
    let template = ensure_template(&mut admin).await;
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let sql = format!("CREATE DATABASE {name} TEMPLATE {template}");
    let mut tries = 0;
    loop {
        match sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&mut admin)
            .await
        {
            Ok(_) => break,
            // "source database is being accessed by other users": another copy is in progress.
            Err(e) if tries < 50 => {
                tries += 1;
                let _ = e;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("create test database: {e}"),
        }
    }
    admin.close().await.unwrap();
    domain::db::connect(&with_database(&url, &name), 10)
        .await
        .unwrap()
}

/// Cheap Argon2id parameters: the rules under test do not depend on the cost.
pub fn passwords() -> Arc<Passwords> {
    Arc::new(
        Passwords::new(Cost {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap(),
    )
}

pub fn t0() -> OffsetDateTime {
    time::macros::datetime!(2026-11-23 09:00 UTC)
}

/// A database with the demo data, and the sign-in services over it.
pub async fn seeded() -> Auth {
    seed(fresh_pool().await).await
}

/// The demo data in `pool`'s (migrated, empty) database, and the sign-in services over it.
pub async fn seed(pool: PgPool) -> Auth {
    let passwords = passwords();
    assert!(domain::demo::seed(&pool, &passwords, t0()).await.unwrap());
    Auth {
        pool,
        passwords,
        sessions: domain::sessions::Policy::default(),
        account_throttle: domain::throttle::Policy::ACCOUNT_DEFAULT,
        address_throttle: domain::throttle::Policy::ADDRESS_DEFAULT,
        otp_for_all: false,
        public_origin: "https://passerelle.test".into(),
        code_lifetime: domain::auth::otp::CODE_LIFETIME,
        psc: domain::auth::psc::Settings::default(),
        identifier_key: domain::audit::IdentifierKey::new(IDENTIFIER_KEY),
    }
}

/// The tests' key for the audit labels of identifiers typed for no account.
pub const IDENTIFIER_KEY: [u8; 32] = [7; 32];

/// The console's actor for the demo account `username`, signed in at `t0`.
pub async fn actor(auth: &Auth, username: &str) -> domain::admin::Actor {
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(&auth.pool)
        .await
        .unwrap();
    let mut conn = auth.pool.acquire().await.unwrap();
    domain::admin::Actor::load(
        &mut conn,
        id,
        username,
        Some(t0()),
        time::Duration::minutes(30),
        t0(),
    )
    .await
    .unwrap()
}

/// The desk declares `national_id` as the identity of `username`, an account without an RPPS (the
/// only identity the one-time linking then accepts for it).
pub async fn declare(pool: &PgPool, username: &str, national_id: &str) {
    sqlx::query("UPDATE users SET declared_national_id = $2 WHERE username = $1")
        .bind(username)
        .bind(national_id)
        .execute(pool)
        .await
        .unwrap();
}

/// What a plain sign-in's code step completes: no pending link (any browser).
pub fn no_link() -> domain::auth::linking::Completion<'static> {
    domain::auth::linking::Completion {
        browser: domain::auth::card::Browser::of_secret("browser"),
        trust: None,
    }
}

/// The signed-in outcome of a linking that needs no e-mail code.
pub fn signed_in(
    outcome: Result<domain::auth::PasswordOutcome, domain::Error>,
) -> Result<domain::auth::SignedIn, domain::Error> {
    outcome.map(|o| match o {
        domain::auth::PasswordOutcome::SignedIn(s) => s,
        domain::auth::PasswordOutcome::CodeRequired { .. } => panic!("no e-mail code expected"),
    })
}

pub fn client(ip: &str) -> domain::audit::Client {
    domain::audit::Client {
        ip: Some(ip.to_string()),
        user_agent: Some("integration-test".into()),
    }
}

/// The audit rows, oldest first, as (action, outcome, actor label).
pub async fn audit_trail(pool: &PgPool) -> Vec<(String, String, String)> {
    sqlx::query_as("SELECT action, outcome::text, actor_label FROM audit_log ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Password sign-in for accounts that need no e-mail code.
pub async fn sign_in(
    auth: &Auth,
    username: &str,
    password: &str,
    previous: Option<&domain::sessions::Token>,
    client: &domain::audit::Client,
    now: OffsetDateTime,
) -> Result<domain::auth::SignedIn, domain::Error> {
    match domain::auth::password::sign_in(auth, username, password, previous, client, now).await? {
        domain::auth::PasswordOutcome::SignedIn(s) => Ok(s),
        domain::auth::PasswordOutcome::CodeRequired { .. } => panic!("unexpected e-mail code step"),
    }
}

/// A PostgreSQL cluster of one test's own, for tests that crash or restart the server (never the
/// shared one: the other tests run on it meanwhile). Started from the system's binaries like the
/// embedded cluster, in a folder of its own on a free port; stopped and removed when dropped,
/// also when the test fails.
pub struct PrivateCluster {
    cluster: EmbeddedPostgres,
    dir: PathBuf,
}

impl PrivateCluster {
    pub fn start() -> Self {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "passerelle-private-pg-{}",
            uuid::Uuid::new_v4().simple()
        ));
        // On failure the folder stays for a look, and the error carries the cluster's log.
        let cluster = EmbeddedPostgres::start(&dir, false).unwrap_or_else(|e| {
            panic!(
                "private PostgreSQL cluster in {} failed to start: {e}",
                dir.display()
            )
        });
        Self { cluster, dir }
    }

    pub fn url(&self, db: &str) -> String {
        self.cluster.url(db)
    }

    /// The cluster itself (its folder, to break it on purpose).
    pub fn cluster(&self) -> &EmbeddedPostgres {
        &self.cluster
    }

    /// Kills the server (`pg_ctl restart -m immediate`) and waits until it is back.
    pub fn restart_immediate(&self) -> Result<(), domain::Error> {
        self.cluster.restart_immediate()
    }

    /// A new migrated database on this cluster, with the demo data.
    pub async fn seeded(&self) -> Auth {
        let mut admin = PgConnection::connect(&self.url("postgres")).await.unwrap();
        sqlx::query("CREATE DATABASE passerelle")
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        let pool = domain::db::connect(&self.url("passerelle"), 4)
            .await
            .unwrap();
        domain::db::migrate(&pool).await.unwrap();
        seed(pool).await
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        if let Err(e) = self.cluster.stop_now() {
            eprintln!("stopping the private cluster: {e}");
        }
        let _ = std::fs::remove_dir_all(self.cluster.root());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
