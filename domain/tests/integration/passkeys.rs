//! Passkeys (issue 19): registered from a recent sign-in, signing in without a username, the
//! ceremony's state (in PostgreSQL: single use, bound to the browser, a few minutes long, finished
//! by any instance), a copied authenticator refused by its counter, a removed passkey refused, all
//! audited. The browser is `testkit::authenticator` (a software authenticator answering as
//! `PublicKeyCredential.toJSON()` does).

use domain::Error;
use domain::auth::browser::Browser;
use domain::auth::means::{self, MeansRef};
use domain::auth::passkey::{self, PasskeyService};
use domain::auth::{Portal, SignedIn};
use domain::call::Call;
use domain::demo::DEMO_PASSWORD;
use domain::sessions::{self, Session};
use model::passkey::PasskeyRefusal;
use serde_json::Value;
use sqlx::PgPool;
use testkit::authenticator::SoftPasskey;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::harness::{actor, client, seeded, sign_in, t0};

/// The harness's portal is published at this origin.
const ORIGIN: &str = "https://passerelle.test";

fn service() -> PasskeyService {
    PasskeyService::for_origin(ORIGIN).unwrap().unwrap()
}

async fn session_of(portal: &Portal, signed_in: &SignedIn, now: OffsetDateTime) -> Session {
    sessions::load(&portal.pool, &signed_in.token, portal.sessions, now)
        .await
        .unwrap()
        .unwrap()
}

/// `username` signs in with the password at `t0` (a recent, strong authentication).
async fn signed_in(portal: &Portal, username: &str) -> Session {
    let c = client("192.0.2.50");
    let s = sign_in(portal, username, DEMO_PASSWORD, None, Call::new(&c, t0()))
        .await
        .unwrap();
    session_of(portal, &s, t0()).await
}

/// Registers a passkey for the signed-in `session` from `browser`, at `now`.
async fn register(
    portal: &Portal,
    service: &PasskeyService,
    session: &Session,
    browser: &str,
    name: Option<&str>,
    now: OffsetDateTime,
) -> SoftPasskey {
    let c = client("192.0.2.50");
    let browser = Browser::of_secret(browser);
    let options =
        passkey::registration_options(portal, service, session, "", browser, Call::new(&c, now))
            .await
            .unwrap();
    let (key, answer) = SoftPasskey::register(&options, ORIGIN).unwrap();
    passkey::register(
        portal,
        service,
        session,
        browser,
        name,
        &answer,
        Call::new(&c, now),
    )
    .await
    .unwrap();
    key
}

async fn options_for(
    portal: &Portal,
    service: &PasskeyService,
    browser: &str,
    now: OffsetDateTime,
) -> Value {
    let mut conn = portal.pool.acquire().await.unwrap();
    passkey::sign_in_options(&mut conn, service, Browser::of_secret(browser), now)
        .await
        .unwrap()
}

/// A whole sign-in from `browser` with `key`, at `now`.
async fn sign_in_with(
    portal: &Portal,
    service: &PasskeyService,
    key: &mut SoftPasskey,
    browser: &str,
    now: OffsetDateTime,
) -> Result<SignedIn, Error> {
    let options = options_for(portal, service, browser, now).await;
    let answer = key.sign_in(&options, ORIGIN).unwrap();
    let c = client("198.51.100.7");
    passkey::sign_in(
        portal,
        service,
        Browser::of_secret(browser),
        &answer,
        None,
        Call::new(&c, now),
    )
    .await
}

async fn scalar_i64(pool: &PgPool, sql: &str, user: Uuid) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .bind(user)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn refused(result: Result<SignedIn, Error>) -> PasskeyRefusal {
    match result {
        Err(Error::PasskeyRefused(r)) => r,
        other => panic!("expected a passkey refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_passkey_registered_after_sign_in_signs_in_without_a_username() {
    let portal = seeded().await;
    let service = service();
    let session = signed_in(&portal, "dr.martin").await;
    let browser = Browser::of_secret("holder's browser");
    let c = client("192.0.2.50");
    let options = passkey::registration_options(
        &portal,
        &service,
        &session,
        "",
        browser,
        Call::new(&c, t0() + Duration::minutes(1)),
    )
    .await
    .unwrap();
    // A discoverable credential, user verification required, bound to the portal's host, for
    // this account (its handle is the account's id).
    assert_eq!(options["publicKey"]["rp"]["id"], "passerelle.test");
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["residentKey"],
        "required"
    );
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(options["publicKey"]["user"]["name"], "dr.martin");
    let (mut key, answer) = SoftPasskey::register(&options, ORIGIN).unwrap();
    assert_eq!(key.user_handle, session.user_id.as_bytes().to_vec());
    let registered = passkey::register(
        &portal,
        &service,
        &session,
        browser,
        Some("Téléphone pro"),
        &answer,
        Call::new(&c, t0() + Duration::minutes(1)),
    )
    .await
    .unwrap();
    assert_eq!(registered.name, "Téléphone pro");

    // Listed among the account's means; the holder is told; audited.
    let mut conn = portal.pool.acquire().await.unwrap();
    let listed = means::of_user(&mut conn, session.user_id).await.unwrap();
    assert_eq!(listed.passkeys.len(), 1);
    assert_eq!(listed.passkeys[0].name, "Téléphone pro");
    assert!(listed.passkeys[0].last_used_at.is_none());
    drop(conn);
    let mails = scalar_i64(
        &portal.pool,
        "SELECT count(*) FROM mail_outbox WHERE user_id = $1 AND kind = 'passkey_added'",
        session.user_id,
    )
    .await;
    assert_eq!(mails, 1);
    let added: (String, String) = sqlx::query_as(
        "SELECT outcome::text, details->>'name' FROM audit_log WHERE action = 'passkey.add'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(added, ("success".into(), "Téléphone pro".into()));

    // Another browser, no username: the passkey alone signs in.
    let later = t0() + Duration::hours(2);
    let signed = sign_in_with(&portal, &service, &mut key, "a shared workstation", later)
        .await
        .unwrap();
    assert_eq!(signed.user_id, session.user_id);
    let new_session = session_of(&portal, &signed, later).await;
    assert_eq!(new_session.auth_method, model::sign_in::Method::Passkey);
    let used: (i64, Option<OffsetDateTime>) =
        sqlx::query_as("SELECT sign_count, last_used_at FROM passkeys WHERE user_id = $1")
            .bind(session.user_id)
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(used, (1, Some(later)));
    let method: String = sqlx::query_scalar(
        "SELECT details->>'method' FROM audit_log WHERE action = 'auth.sign_in' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(method, "passkey");
}

#[tokio::test]
async fn the_ceremony_is_single_use_bound_to_its_browser_short_lived_and_finished_by_any_instance()
{
    let portal = seeded().await;
    let session = signed_in(&portal, "inf.durand").await;
    let mut key = register(&portal, &service(), &session, "b", None, t0()).await;
    let c = client("198.51.100.7");
    let now = t0() + Duration::hours(1);

    // Options from one instance, the answer to another (its own relying party, the same origin):
    // the state is in PostgreSQL.
    let options = options_for(&portal, &service(), "browser A", now).await;
    let answer = key.sign_in(&options, ORIGIN).unwrap();
    let other_instance = service();
    // Another browser cannot use browser A's challenge.
    let stolen = passkey::sign_in(
        &portal,
        &other_instance,
        Browser::of_secret("browser B"),
        &answer,
        None,
        Call::new(&c, now),
    )
    .await;
    assert_eq!(refused(stolen), PasskeyRefusal::CeremonyExpired);
    let signed = passkey::sign_in(
        &portal,
        &other_instance,
        Browser::of_secret("browser A"),
        &answer,
        None,
        Call::new(&c, now),
    )
    .await
    .unwrap();
    assert_eq!(signed.user_id, session.user_id);
    // The same answer again: the challenge is spent.
    let replayed = passkey::sign_in(
        &portal,
        &other_instance,
        Browser::of_secret("browser A"),
        &answer,
        None,
        Call::new(&c, now),
    )
    .await;
    assert_eq!(refused(replayed), PasskeyRefusal::CeremonyExpired);

    // Answered after the five minutes: refused, and the challenge is gone.
    let options = options_for(&portal, &service(), "browser A", now).await;
    let late = key.sign_in(&options, ORIGIN).unwrap();
    let result = passkey::sign_in(
        &portal,
        &service(),
        Browser::of_secret("browser A"),
        &late,
        None,
        Call::new(&c, now + passkey::CEREMONY_LIFETIME + Duration::seconds(1)),
    )
    .await;
    assert_eq!(refused(result), PasskeyRefusal::CeremonyExpired);

    // An answer made for another site (a phishing page relaying the challenge): refused.
    let options = options_for(&portal, &service(), "browser A", now).await;
    let phished = key
        .sign_in(&options, "https://passerelle-connexion.test")
        .unwrap();
    let result = passkey::sign_in(
        &portal,
        &service(),
        Browser::of_secret("browser A"),
        &phished,
        None,
        Call::new(&c, now),
    )
    .await;
    assert_eq!(refused(result), PasskeyRefusal::Invalid);
    // Garbage instead of an answer.
    let _ = options_for(&portal, &service(), "browser A", now).await;
    let result = passkey::sign_in(
        &portal,
        &service(),
        Browser::of_secret("browser A"),
        "{\"id\":",
        None,
        Call::new(&c, now),
    )
    .await;
    assert_eq!(refused(result), PasskeyRefusal::Invalid);
    // Anonymous refusals are audited (summarised per address).
    let refusals: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'auth.passkey.sign_in' AND outcome = 'failure'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert!(refusals >= 2, "{refusals}");
}

#[tokio::test]
async fn a_copied_authenticator_is_refused_by_its_counter_and_audited_on_the_account() {
    let portal = seeded().await;
    let service = service();
    let session = signed_in(&portal, "dr.martin").await;
    let mut key = register(&portal, &service, &session, "b", Some("Clé USB"), t0()).await;
    let now = t0() + Duration::hours(1);
    sign_in_with(&portal, &service, &mut key, "desk", now)
        .await
        .unwrap();
    // Copied now: the copy and the original have the same key and counter.
    let mut copy = key.clone();
    sign_in_with(
        &portal,
        &service,
        &mut key,
        "desk",
        now + Duration::minutes(1),
    )
    .await
    .unwrap();
    let result = sign_in_with(
        &portal,
        &service,
        &mut copy,
        "elsewhere",
        now + Duration::minutes(2),
    )
    .await;
    assert_eq!(refused(result), PasskeyRefusal::CounterReplay);
    let audited: (String, String, String) = sqlx::query_as(
        "SELECT target_id, details->>'reason', outcome::text FROM audit_log
         WHERE action = 'auth.passkey.sign_in' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(
        audited,
        (
            session.user_id.to_string(),
            "counter_replay".into(),
            "failure".into()
        )
    );
    // Two sessions only: the original's.
    let sessions = scalar_i64(
        &portal.pool,
        "SELECT count(*) FROM sessions WHERE user_id = $1 AND auth_method = 'passkey'",
        session.user_id,
    )
    .await;
    assert_eq!(sessions, 2);
}

#[tokio::test]
async fn a_removed_passkey_no_longer_signs_in() {
    let portal = seeded().await;
    let service = service();
    let session = signed_in(&portal, "dr.martin").await;
    let mut by_holder = register(&portal, &service, &session, "b", Some("Ancien"), t0()).await;
    let mut by_desk = register(&portal, &service, &session, "c", Some("Perdu"), t0()).await;
    let c = client("192.0.2.50");
    let mut conn = portal.pool.acquire().await.unwrap();
    let listed = means::of_user(&mut conn, session.user_id)
        .await
        .unwrap()
        .passkeys;
    drop(conn);
    let id_of = |name: &str| listed.iter().find(|p| p.name == name).unwrap().id;

    // The holder, with the password again.
    let removed = means::remove_own(
        &portal,
        "dr.martin",
        session.user_id,
        &MeansRef::Passkey(id_of("Ancien")),
        DEMO_PASSWORD,
        Call::new(&c, t0() + Duration::minutes(10)),
    )
    .await
    .unwrap();
    assert_eq!(removed.label, "Ancien");
    let result = sign_in_with(
        &portal,
        &service,
        &mut by_holder,
        "x",
        t0() + Duration::hours(1),
    )
    .await;
    assert_eq!(refused(result), PasskeyRefusal::Unknown);

    // The desk of another region cannot; the desk of the account's region can.
    let other = actor(&portal, "support.ara").await;
    let denied = domain::admin::users::remove_passkey(
        &portal,
        &other,
        session.user_id,
        id_of("Perdu"),
        Call::new(&c, t0() + Duration::minutes(11)),
    )
    .await;
    assert!(matches!(denied, Err(Error::Forbidden)), "{denied:?}");
    let desk = actor(&portal, "support.idf").await;
    domain::admin::users::remove_passkey(
        &portal,
        &desk,
        session.user_id,
        id_of("Perdu"),
        Call::new(&c, t0() + Duration::minutes(12)),
    )
    .await
    .unwrap();
    let result = sign_in_with(
        &portal,
        &service,
        &mut by_desk,
        "x",
        t0() + Duration::hours(1),
    )
    .await;
    assert_eq!(refused(result), PasskeyRefusal::Unknown);

    // Each removal audited and told to the holder.
    let removals = scalar_i64(
        &portal.pool,
        "SELECT count(*) FROM audit_log WHERE action = 'passkey.remove' AND outcome = 'success'
           AND target_id = $1::text",
        session.user_id,
    )
    .await;
    assert_eq!(removals, 2);
    let mails = scalar_i64(
        &portal.pool,
        "SELECT count(*) FROM mail_outbox WHERE user_id = $1 AND kind = 'sign_in_means_removed'",
        session.user_id,
    )
    .await;
    assert_eq!(mails, 2);
}

#[tokio::test]
async fn adding_a_passkey_later_than_five_minutes_after_sign_in_asks_for_the_password() {
    let portal = seeded().await;
    let service = service();
    let session = signed_in(&portal, "dr.martin").await;
    let c = client("192.0.2.50");
    let later = t0() + passkey::RECENT_AUTHENTICATION + Duration::seconds(1);
    let browser = Browser::of_secret("b");
    let ask = |password: &'static str| {
        let (portal, service, session, c) = (&portal, &service, &session, &c);
        async move {
            passkey::registration_options(
                portal,
                service,
                session,
                password,
                browser,
                Call::new(c, later),
            )
            .await
        }
    };
    assert!(matches!(
        ask("").await,
        Err(Error::ReauthenticationRequired)
    ));
    assert!(matches!(
        ask("not the password").await,
        Err(Error::InvalidCredentials)
    ));
    assert!(ask(DEMO_PASSWORD).await.is_ok());
    // A registration started in a browser that then loses the account (the desk secures it)
    // cannot finish: the account's ceremonies go with its means.
    let options = ask(DEMO_PASSWORD).await.unwrap();
    let (_, answer) = SoftPasskey::register(&options, ORIGIN).unwrap();
    let desk = actor(&portal, "support.idf").await;
    domain::admin::users::secure_compromised(&portal, &desk, session.user_id, Call::new(&c, later))
        .await
        .unwrap();
    let result = passkey::register(
        &portal,
        &service,
        &session,
        browser,
        None,
        &answer,
        Call::new(&c, later),
    )
    .await;
    assert!(
        matches!(
            result,
            Err(Error::PasskeyRefused(PasskeyRefusal::CeremonyExpired))
        ),
        "{result:?}"
    );
    // The refusal is on the account's audit trail.
    let refused_adds: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'passkey.add' AND outcome = 'failure'
           AND target_id = $1 AND details->>'reason' = 'ceremony_expired'",
    )
    .bind(session.user_id.to_string())
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(refused_adds, 1);
}

#[tokio::test]
async fn a_disabled_account_does_not_sign_in_with_its_passkey() {
    let portal = seeded().await;
    let service = service();
    let session = signed_in(&portal, "sec.petit").await;
    let mut key = register(&portal, &service, &session, "b", None, t0()).await;
    let c = client("192.0.2.50");
    let admin = actor(&portal, "admin.idf").await;
    domain::admin::users::set_enabled(&portal, &admin, session.user_id, false, Call::new(&c, t0()))
        .await
        .unwrap();
    let result = sign_in_with(&portal, &service, &mut key, "x", t0() + Duration::hours(1)).await;
    assert!(
        matches!(result, Err(Error::AccountUnavailable(_))),
        "{result:?}"
    );
}

#[test]
fn a_portal_published_under_an_address_has_no_passkeys() {
    assert!(
        PasskeyService::for_origin("http://127.0.0.1:3000")
            .unwrap()
            .is_none()
    );
    assert!(
        PasskeyService::for_origin("http://localhost:3000")
            .unwrap()
            .is_some()
    );
}

/// The console's confirmation asks for the strength the role needs: where the password does not
/// sign the role in, it does not confirm either.
#[tokio::test]
async fn the_password_does_not_confirm_for_a_role_that_needs_a_stronger_sign_in() {
    let mut portal = seeded().await;
    let session = signed_in(&portal, "admin.idf").await;
    let c = client("192.0.2.50");
    portal.sign_in_policy = domain::sign_in_policy::SignInPolicy::default();
    let refused =
        domain::auth::reauthenticate(&portal, &session, DEMO_PASSWORD, Call::new(&c, t0())).await;
    assert!(
        matches!(refused, Err(Error::StrongerSignInRequired)),
        "{refused:?}"
    );
    // A professional's (or a deployment that accepts the password for the role) still does.
    let professional = signed_in(&portal, "dr.martin").await;
    domain::auth::reauthenticate(&portal, &professional, DEMO_PASSWORD, Call::new(&c, t0()))
        .await
        .unwrap();
    portal.sign_in_policy = domain::sign_in_policy::SignInPolicy::any();
    domain::auth::reauthenticate(&portal, &session, DEMO_PASSWORD, Call::new(&c, t0()))
        .await
        .unwrap();
}
