//! « Mes connexions » (issue 19): the holder's last sign-ins (successful, and refused on their
//! account), newest first and at most 50; their open sessions, the current one first; ending one
//! other session or all the others, never someone else's, audited.

use domain::Error;
use domain::auth::activity::{self, Ending, HISTORY};
use domain::call::Call;
use domain::demo::DEMO_PASSWORD;
use domain::sessions::{self, Session};
use model::sign_in::Method;
use time::Duration;

use crate::harness::{client, seeded, sign_in, t0};

async fn session_at(
    portal: &domain::auth::Portal,
    username: &str,
    ip: &str,
    minutes: i64,
) -> Session {
    let c = client(ip);
    let now = t0() + Duration::minutes(minutes);
    let s = sign_in(portal, username, DEMO_PASSWORD, None, Call::new(&c, now))
        .await
        .unwrap();
    sessions::load(&portal.pool, &s.token, portal.sessions, now)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn the_holder_sees_their_sign_ins_and_sessions_and_ends_the_others() {
    let portal = seeded().await;
    let office = session_at(&portal, "dr.martin", "10.1.2.3", 0).await;
    let _home = session_at(&portal, "dr.martin", "203.0.113.77", 1).await;
    let _cafe = session_at(&portal, "dr.martin", "198.51.100.9", 2).await;
    // A wrong password typed for the account, and someone else's sign-in.
    let c = client("192.0.2.1");
    let wrong = domain::auth::password::sign_in(
        &portal,
        "dr.martin",
        "pas le bon",
        None,
        Call::new(&c, t0() + Duration::minutes(3)),
    )
    .await;
    assert!(matches!(wrong, Err(Error::InvalidCredentials)));
    let other = session_at(&portal, "inf.durand", "10.9.9.9", 4).await;

    let mut conn = portal.pool.acquire().await.unwrap();
    let history = activity::sign_ins(&mut conn, office.user_id).await.unwrap();
    let seen: Vec<(bool, Option<Method>, Option<String>)> = history
        .iter()
        .map(|r| (r.succeeded, r.method, r.ip.clone()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (false, Some(Method::Password), Some("192.0.2.1".into())),
            (true, Some(Method::Password), Some("198.51.100.9".into())),
            (true, Some(Method::Password), Some("203.0.113.77".into())),
            (true, Some(Method::Password), Some("10.1.2.3".into())),
        ]
    );
    let open = activity::sessions(
        &mut conn,
        &office,
        portal.sessions,
        t0() + Duration::minutes(10),
    )
    .await
    .unwrap();
    assert_eq!(open.len(), 3);
    assert!(open[0].current);
    assert_eq!(open[0].ip.as_deref(), Some("10.1.2.3"));
    assert!(
        open[1..]
            .iter()
            .all(|s| !s.current && s.reference.len() == 32)
    );
    let others_reference = activity::sessions(
        &mut conn,
        &other,
        portal.sessions,
        t0() + Duration::minutes(10),
    )
    .await
    .unwrap()[0]
        .reference
        .clone();
    drop(conn);

    let c = client("10.1.2.3");
    let now = t0() + Duration::minutes(10);
    // Someone else's session, or the current one: not found, nothing ended.
    for reference in [others_reference.as_str(), open[0].reference.as_str()] {
        let refused = activity::end_sessions(
            &portal.pool,
            &office,
            Ending::One(reference),
            Call::new(&c, now),
        )
        .await;
        assert!(matches!(refused, Err(Error::NotFound)), "{refused:?}");
    }
    assert_eq!(
        activity::end_sessions(
            &portal.pool,
            &office,
            Ending::One(&open[2].reference),
            Call::new(&c, now)
        )
        .await
        .unwrap(),
        1
    );
    assert_eq!(
        activity::end_sessions(&portal.pool, &office, Ending::AllOthers, Call::new(&c, now))
            .await
            .unwrap(),
        1
    );
    let mut conn = portal.pool.acquire().await.unwrap();
    let open = activity::sessions(
        &mut conn,
        &office,
        portal.sessions,
        t0() + Duration::minutes(10),
    )
    .await
    .unwrap();
    assert_eq!(open.len(), 1);
    assert!(open[0].current);
    // The other account's session is untouched; each ending is audited, by the holder.
    assert_eq!(
        activity::sessions(
            &mut conn,
            &other,
            portal.sessions,
            t0() + Duration::minutes(10)
        )
        .await
        .unwrap()
        .len(),
        1
    );
    let audited: Vec<(String, i64)> = sqlx::query_as(
        "SELECT details->>'which', (details->>'ended')::bigint FROM audit_log
         WHERE action = 'session.end' AND outcome = 'success' ORDER BY id",
    )
    .fetch_all(&portal.pool)
    .await
    .unwrap();
    assert_eq!(audited, vec![("one".into(), 1), ("all_others".into(), 1)]);
    let reasons: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions WHERE user_id = $1 AND end_reason = 'holder'",
    )
    .bind(office.user_id)
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(reasons, 2);
    // Past their limits, sessions are not listed as open any more.
    let open = activity::sessions(
        &mut conn,
        &office,
        portal.sessions,
        t0() + Duration::hours(5),
    )
    .await
    .unwrap();
    assert!(open.is_empty());
}

#[tokio::test]
async fn the_history_keeps_the_last_fifty() {
    let portal = seeded().await;
    for i in 0..(HISTORY + 5) {
        session_at(&portal, "sec.petit", "10.0.0.1", i).await;
    }
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE username = 'sec.petit'")
        .fetch_one(&portal.pool)
        .await
        .unwrap();
    let mut conn = portal.pool.acquire().await.unwrap();
    let history = activity::sign_ins(&mut conn, id).await.unwrap();
    assert_eq!(history.len() as i64, HISTORY);
    assert_eq!(history[0].at, t0() + Duration::minutes(HISTORY + 4));
    assert!(history.windows(2).all(|w| w[0].at >= w[1].at));
}

fn from_device(ip: &str, device: u8) -> domain::audit::Client {
    domain::audit::Client {
        device: Some([device; 32]),
        ..client(ip)
    }
}

async fn new_device_mails(pool: &sqlx::PgPool, user: uuid::Uuid) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT text_body FROM mail_outbox WHERE user_id = $1 AND kind = 'new_device' ORDER BY id",
    )
    .bind(user)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_sign_in_from_a_new_browser_warns_the_holder_who_can_lock_the_account() {
    let portal = seeded().await;
    let sign_in_from = |device: u8, ip: &'static str, minutes: i64| {
        let portal = &portal;
        async move {
            let c = from_device(ip, device);
            sign_in(
                portal,
                "dr.martin",
                DEMO_PASSWORD,
                None,
                Call::new(&c, t0() + Duration::minutes(minutes)),
            )
            .await
            .unwrap()
        }
    };
    // The first browser ever, then the same one again: nothing to warn about.
    let first = sign_in_from(1, "10.1.2.3", 0).await;
    sign_in_from(1, "10.1.2.3", 1).await;
    assert!(
        new_device_mails(&portal.pool, first.user_id)
            .await
            .is_empty()
    );
    // Another browser: the holder is told when, how, from where, with the link.
    sign_in_from(2, "203.0.113.77", 2).await;
    let mails = new_device_mails(&portal.pool, first.user_id).await;
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("identifiant et mot de passe"),
        "{}",
        mails[0]
    );
    assert!(
        mails[0].contains("Internet, réseau 203.0.113.0/24"),
        "{}",
        mails[0]
    );
    let token = mails[0]
        .split("/connexion/pas-moi?jeton=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(
        mails[0].starts_with("Bonjour")
            || mails[0].contains("https://passerelle.test/connexion/pas-moi?jeton=")
    );
    // Back on the second browser: known now.
    sign_in_from(2, "203.0.113.77", 3).await;
    assert_eq!(new_device_mails(&portal.pool, first.user_id).await.len(), 1);
    let mut conn = portal.pool.acquire().await.unwrap();
    assert_eq!(
        domain::auth::devices::count_of(&mut conn, first.user_id)
            .await
            .unwrap(),
        2
    );
    drop(conn);

    // « Ce n'était pas moi »: every session ends, the account is locked, audited; once only.
    let c = client("192.0.2.80");
    let later = t0() + Duration::hours(1);
    domain::auth::devices::not_me(&portal, &token, Call::new(&c, later))
        .await
        .unwrap();
    let live: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sessions WHERE user_id = $1 AND ended_at IS NULL")
            .bind(first.user_id)
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(live, 0);
    let again = domain::auth::devices::not_me(&portal, &token, Call::new(&c, later)).await;
    assert!(matches!(again, Err(Error::AccountLinkExpired)), "{again:?}");
    // The intruder's password is refused; the account is locked.
    let refused = sign_in(
        &portal,
        "dr.martin",
        DEMO_PASSWORD,
        None,
        Call::new(&c, later),
    )
    .await;
    assert!(
        matches!(refused, Err(Error::InvalidCredentials)),
        "{refused:?}"
    );
    let status: String = sqlx::query_scalar("SELECT status::text FROM users WHERE id = $1")
        .bind(first.user_id)
        .fetch_one(&portal.pool)
        .await
        .unwrap();
    assert_eq!(status, "locked");
    let audited: (String, bool) = sqlx::query_as(
        "SELECT outcome::text, (details->>'locked')::boolean FROM audit_log WHERE action = 'account.not_me' AND outcome = 'success'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(audited, ("success".into(), true));
    // The second use was refused and audited too.
    let refusals: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'account.not_me' AND outcome = 'failure'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(refusals, 1);
    // The intruder's password no longer works, even once the desk has unlocked the account
    // (the holder chooses a new one through the link the desk sends).
    let desk = crate::harness::actor(&portal, "support.idf").await;
    domain::admin::users::unlock(&portal, &desk, first.user_id, Call::new(&c, later))
        .await
        .unwrap();
    let old = sign_in(
        &portal,
        "dr.martin",
        DEMO_PASSWORD,
        None,
        Call::new(&c, later),
    )
    .await;
    assert!(matches!(old, Err(Error::InvalidCredentials)), "{old:?}");
    let mut conn = portal.pool.acquire().await.unwrap();
    assert_eq!(
        domain::auth::devices::count_of(&mut conn, first.user_id)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn an_unknown_or_expired_not_me_link_changes_nothing() {
    let portal = seeded().await;
    let c = from_device("10.0.0.1", 1);
    let s = sign_in(
        &portal,
        "inf.durand",
        DEMO_PASSWORD,
        None,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    let c2 = from_device("10.0.0.2", 2);
    sign_in(
        &portal,
        "inf.durand",
        DEMO_PASSWORD,
        None,
        Call::new(&c2, t0()),
    )
    .await
    .unwrap();
    let mail = new_device_mails(&portal.pool, s.user_id).await.remove(0);
    let token = mail
        .split("jeton=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let unknown =
        domain::auth::devices::not_me(&portal, &"x".repeat(43), Call::new(&c, t0())).await;
    assert!(matches!(unknown, Err(Error::AccountLinkExpired)));
    let late = t0() + domain::auth::devices::NOT_ME_LIFETIME + Duration::seconds(1);
    let expired = domain::auth::devices::not_me(&portal, &token, Call::new(&c, late)).await;
    assert!(matches!(expired, Err(Error::AccountLinkExpired)));
    let status: String = sqlx::query_scalar("SELECT status::text FROM users WHERE id = $1")
        .bind(s.user_id)
        .fetch_one(&portal.pool)
        .await
        .unwrap();
    assert_eq!(status, "active");
}
