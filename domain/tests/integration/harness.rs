//! The domain's tests over real PostgreSQL (`testkit::db`: a fresh migrated database per test):
//! the demo data, the services, and helpers that read what a test left behind.

use domain::call::Call;

use domain::auth::Portal;
use sqlx::PgPool;
pub use testkit::db::{PrivateCluster, fresh_pool, passwords};
use time::OffsetDateTime;

pub fn t0() -> OffsetDateTime {
    time::macros::datetime!(2026-11-23 09:00 UTC)
}

/// A database with the demo data, and the sign-in services over it.
pub async fn seeded() -> Portal {
    seed(fresh_pool().await).await
}

/// The demo data in `pool`'s (migrated, empty) database, and the sign-in services over it.
pub async fn seed(pool: PgPool) -> Portal {
    let passwords = passwords();
    assert!(domain::demo::seed(&pool, &passwords, t0()).await.unwrap());
    Portal {
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
        // The tests of other rules sign administrators in with a password; the policy has its own.
        sign_in_policy: domain::sign_in_policy::SignInPolicy::any(),
        dormancy: domain::auth::dormancy::Rule::default(),
    }
}

/// The tests' key for the audit labels of identifiers typed for no account.
pub const IDENTIFIER_KEY: [u8; 32] = [7; 32];

/// The console's actor for the demo account `username`, signed in at `t0`.
pub async fn actor(portal: &Portal, username: &str) -> domain::admin::Actor {
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(&portal.pool)
        .await
        .unwrap();
    let mut conn = portal.pool.acquire().await.unwrap();
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
        device: None,
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
    portal: &Portal,
    username: &str,
    password: &str,
    previous: Option<&domain::sessions::Token>,
    call: Call<'_>,
) -> Result<domain::auth::SignedIn, domain::Error> {
    match domain::auth::password::sign_in(portal, username, password, previous, call).await? {
        domain::auth::PasswordOutcome::SignedIn(s) => Ok(s),
        domain::auth::PasswordOutcome::CodeRequired { .. } => panic!("unexpected e-mail code step"),
    }
}

/// A database with the demo data on a cluster of the test's own, and the services over it.
pub async fn seeded_on(cluster: &PrivateCluster) -> Portal {
    seed(cluster.migrated().await).await
}
