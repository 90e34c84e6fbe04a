//! Real PostgreSQL for the tests: `DATABASE_URL`'s server when set, else the same embedded cluster
//! mechanism as the server's default (started once, kept running between test runs; the test
//! script stops it). Each test gets its own database, copied from a migrated template.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, OnceLock};

use domain::db::embedded::EmbeddedPostgres;
use domain::password::{Cost, Passwords};
use sqlx::{Connection, PgConnection, PgPool};

static SERVER: OnceLock<String> = OnceLock::new();

/// URL of a maintenance database on the test server.
fn server_url() -> String {
    SERVER
        .get_or_init(|| match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                let dir = cluster_dir();
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

/// Where the embedded cluster of the tests lives: `target/tmp/passerelle-test-data/postgres`, shared
/// by every test binary of the workspace. The folder is laid out as a data folder of the server
/// (`<data dir>/postgres`), so that `PASSERELLE_DATA_DIR=target/tmp/passerelle-test-data passerelle
/// db stop` stops it, as the test script does once the tests are done.
fn cluster_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/tmp/passerelle-test-data/postgres")
}

/// A PostgreSQL cluster of one test's own, for tests that crash, stop or restart the server
/// (never the shared one: the other tests run on it meanwhile). Started from the system's binaries
/// like the embedded cluster, in a folder of its own under `target/tmp` on a free port; stopped
/// and removed when dropped, also when the test fails.
pub struct PrivateCluster {
    cluster: EmbeddedPostgres,
    dir: std::path::PathBuf,
}

impl PrivateCluster {
    pub fn start() -> Self {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
            "../target/tmp/passerelle-private-pg-{}",
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

    /// The cluster itself (to stop, restart or break it on purpose).
    pub fn cluster(&self) -> &EmbeddedPostgres {
        &self.cluster
    }

    /// Kills the server (`pg_ctl restart -m immediate`) and waits until it is back.
    pub fn restart_immediate(&self) -> Result<(), domain::Error> {
        self.cluster.restart_immediate()
    }

    /// A new migrated database `passerelle` on this cluster (empty), and a pool of 8 over it.
    pub async fn migrated(&self) -> PgPool {
        let mut admin = PgConnection::connect(&self.url("postgres")).await.unwrap();
        sqlx::query("CREATE DATABASE passerelle")
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        let pool = domain::db::connect(&self.url("passerelle"), 8)
            .await
            .unwrap();
        domain::db::migrate(&pool).await.unwrap();
        pool
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
