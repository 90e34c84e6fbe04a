//! Inactive accounts (issue 19): warned 30 days before, dormant after a year without a sign-in
//! (by a job that runs once per day whatever the number of instances), woken only by the link a
//! sign-in e-mails, kept active by a regional administrator of the account's own region.

use domain::Error;
use domain::accounts::UserStatus;
use domain::admin::dormant;
use domain::auth::Portal;
use domain::auth::dormancy::{self, DailyReport};
use domain::call::Call;
use domain::demo::DEMO_PASSWORD;
use time::{Duration, OffsetDateTime};

use crate::harness::{actor, client, seeded, sign_in, t0};

fn day(n: i64) -> OffsetDateTime {
    t0() + Duration::days(n) + Duration::hours(1)
}

async fn run(portal: &Portal, at: OffsetDateTime) -> Option<DailyReport> {
    let c = client("127.0.0.1");
    dormancy::run_daily(portal, Call::new(&c, at))
        .await
        .unwrap()
}

async fn status(portal: &Portal, username: &str) -> UserStatus {
    sqlx::query_scalar("SELECT status FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(&portal.pool)
        .await
        .unwrap()
}

async fn mails(portal: &Portal, username: &str, kind: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT o.text_body FROM mail_outbox o JOIN users u ON u.id = o.user_id
         WHERE u.username = $1 AND o.kind = $2 ORDER BY o.id",
    )
    .bind(username)
    .bind(kind)
    .fetch_all(&portal.pool)
    .await
    .unwrap()
}

async fn audited(portal: &Portal, action: &str, username: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = $1 AND target_label = $2 AND outcome = 'success'",
    )
    .bind(action)
    .bind(username)
    .fetch_one(&portal.pool)
    .await
    .unwrap()
}

async fn password_at(portal: &Portal, username: &str, at: OffsetDateTime) -> Result<(), Error> {
    let c = client("203.0.113.8");
    sign_in(portal, username, DEMO_PASSWORD, None, Call::new(&c, at))
        .await
        .map(drop)
}

#[tokio::test]
async fn an_unused_account_is_warned_then_dormant_and_only_its_link_wakes_it() {
    let portal = seeded().await;
    // The demo accounts were created at t0 and never used. 335 days later: the warning.
    let warned = run(&portal, day(335)).await.unwrap();
    assert_eq!(warned.dormant, 0);
    assert!(warned.warned >= 8, "{warned:?}");
    let warning = mails(&portal, "dr.martin", "dormancy_warning").await;
    assert_eq!(warning.len(), 1);
    assert!(warning[0].contains("le 23/11/2026"), "{}", warning[0]);
    assert!(
        warning[0].contains("en sommeil le 23/11/2027"),
        "{}",
        warning[0]
    );
    assert_eq!(
        audited(&portal, "account.dormancy_warning", "dr.martin").await,
        1
    );
    // The same day again (another instance, or this one an hour later): nothing.
    assert_eq!(run(&portal, day(335) + Duration::hours(2)).await, None);

    // One holder signs in meanwhile: the warning is void, the account stays active.
    password_at(&portal, "inf.durand", day(340)).await.unwrap();
    let slept = run(&portal, day(366)).await.unwrap();
    assert_eq!(slept.warned, 0);
    assert_eq!(status(&portal, "dr.martin").await, UserStatus::Dormant);
    assert_eq!(status(&portal, "inf.durand").await, UserStatus::Active);
    assert_eq!(audited(&portal, "account.dormant", "dr.martin").await, 1);

    // A wrong password says nothing of the account's state; the right one is refused with the
    // wake link e-mailed, once for attempts close together.
    let c = client("203.0.113.8");
    let wrong = sign_in(
        &portal,
        "dr.martin",
        "pas le bon",
        None,
        Call::new(&c, day(366)),
    )
    .await;
    assert!(matches!(wrong, Err(Error::InvalidCredentials)));
    for minutes in [0, 3] {
        let refused =
            password_at(&portal, "dr.martin", day(366) + Duration::minutes(minutes)).await;
        assert!(
            matches!(refused, Err(Error::AccountUnavailable(UserStatus::Dormant))),
            "{refused:?}"
        );
    }
    let links = mails(&portal, "dr.martin", "wake_link").await;
    assert_eq!(links.len(), 1);
    assert_eq!(audited(&portal, "account.wake_link", "dr.martin").await, 1);
    assert!(
        links[0].contains("identifiant et mot de passe"),
        "{}",
        links[0]
    );
    let token = links[0]
        .lines()
        .find_map(|l| l.strip_prefix("https://passerelle.test/connexion/reveil?jeton="))
        .unwrap()
        .to_string();

    // A made-up token changes nothing; the real one wakes the account, once.
    let wake_at = day(366) + Duration::minutes(20);
    let bad = dormancy::wake(&portal, "x".repeat(43).as_str(), Call::new(&c, wake_at)).await;
    assert!(matches!(bad, Err(Error::AccountLinkExpired)));
    assert_eq!(status(&portal, "dr.martin").await, UserStatus::Dormant);
    dormancy::wake(&portal, &token, Call::new(&c, wake_at))
        .await
        .unwrap();
    assert_eq!(status(&portal, "dr.martin").await, UserStatus::Active);
    assert_eq!(audited(&portal, "account.wake", "dr.martin").await, 1);
    let again = dormancy::wake(&portal, &token, Call::new(&c, wake_at)).await;
    assert!(matches!(again, Err(Error::AccountLinkExpired)));
    password_at(&portal, "dr.martin", wake_at + Duration::minutes(1))
        .await
        .unwrap();

    // The next days do not put it back to sleep: its inactivity starts again.
    assert_eq!(
        run(&portal, day(367)).await.map(|r| r.dormant),
        Some(0),
        "the next day's run"
    );
    assert_eq!(status(&portal, "dr.martin").await, UserStatus::Active);
}

#[tokio::test]
async fn an_account_already_past_the_limit_is_warned_first_and_gets_its_full_notice() {
    let portal = seeded().await;
    let first = run(&portal, day(500)).await.unwrap();
    assert_eq!(first.dormant, 0, "never asleep without a warning");
    assert!(first.warned >= 8);
    assert_eq!(run(&portal, day(520)).await.unwrap().dormant, 0);
    assert_eq!(status(&portal, "dr.martin").await, UserStatus::Active);
    assert!(run(&portal, day(531)).await.unwrap().dormant >= 8);
    assert_eq!(status(&portal, "dr.martin").await, UserStatus::Dormant);
}

#[tokio::test]
async fn two_instances_run_the_day_once() {
    let portal = seeded().await;
    let (a, b) = tokio::join!(run(&portal, day(335)), run(&portal, day(335)));
    assert_eq!([a.is_some(), b.is_some()].iter().filter(|r| **r).count(), 1);
    assert_eq!(
        mails(&portal, "dr.martin", "dormancy_warning").await.len(),
        1
    );
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM daily_runs")
        .fetch_one(&portal.pool)
        .await
        .unwrap();
    assert_eq!(runs, 1);
}

#[tokio::test]
async fn a_reset_link_wakes_a_dormant_account_too() {
    let portal = seeded().await;
    run(&portal, day(335)).await.unwrap();
    run(&portal, day(366)).await.unwrap();
    let c = client("203.0.113.8");
    let admin = actor(&portal, "support.idf").await;
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE username = 'dr.martin'")
        .fetch_one(&portal.pool)
        .await
        .unwrap();
    let purpose = domain::admin::users::send_link(&portal, &admin, id, Call::new(&c, day(366)))
        .await
        .unwrap();
    assert_eq!(purpose, domain::auth::account_links::Purpose::PasswordReset);
}

#[tokio::test]
async fn the_regional_administrator_lists_and_keeps_active_in_their_region_only() {
    let portal = seeded().await;
    run(&portal, day(335)).await.unwrap();
    run(&portal, day(366)).await.unwrap();
    let c = client("10.0.0.1");
    let now = day(366);
    let idf = actor(&portal, "admin.idf").await;
    let listed = dormant::list(&portal, &idf, None, Call::new(&c, now))
        .await
        .unwrap();
    let names: Vec<&str> = listed.iter().map(|r| r.username.as_str()).collect();
    assert!(names.contains(&"dr.martin"), "{names:?}");
    assert!(
        !names.contains(&"helene.leclerc"),
        "another region: {names:?}"
    );
    assert!(listed.iter().all(|r| r.status == UserStatus::Dormant));
    // Another region asked by name, and the desk: refused.
    let other = dormant::list(&portal, &idf, Some("FR-ARA"), Call::new(&c, now)).await;
    assert!(matches!(other, Err(Error::Forbidden)));
    let desk = actor(&portal, "support.idf").await;
    assert!(matches!(
        dormant::list(&portal, &desk, None, Call::new(&c, now)).await,
        Err(Error::Forbidden)
    ));

    let id = |name: &'static str| {
        let pool = portal.pool.clone();
        async move {
            sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM users WHERE username = $1")
                .bind(name)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let leclerc = id("helene.leclerc").await;
    assert!(matches!(
        dormant::keep_active(&portal, &idf, leclerc, Call::new(&c, now)).await,
        Err(Error::Forbidden)
    ));
    assert_eq!(status(&portal, "helene.leclerc").await, UserStatus::Dormant);

    let martin = id("dr.martin").await;
    dormant::keep_active(&portal, &idf, martin, Call::new(&c, now))
        .await
        .unwrap();
    assert_eq!(status(&portal, "dr.martin").await, UserStatus::Active);
    assert_eq!(
        audited(&portal, "account.keep_active", "dr.martin").await,
        1
    );
    password_at(&portal, "dr.martin", now + Duration::minutes(1))
        .await
        .unwrap();
    let after = dormant::list(&portal, &idf, None, Call::new(&c, now))
        .await
        .unwrap();
    assert!(after.iter().all(|r| r.username.as_str() != "dr.martin"));
}

/// The day's run commits its accounts by batches: one that died after some batches leaves its day
/// claimed but unfinished; a run 10 minutes later takes the day over and does only the rest, each
/// account warned (e-mailed, audited) exactly once.
#[tokio::test]
async fn a_run_that_died_midway_is_taken_over_and_does_only_the_rest() {
    let portal = seeded().await;
    let passwords = testkit::db::passwords();
    for i in 0..450 {
        let username = format!("lot.{i:03}");
        let spec = domain::provisioning::AccountSpec {
            username: domain::ids::Username::parse(&username).unwrap(),
            email: domain::ids::Email::parse(&format!("{username}@chu.example")).unwrap(),
            family_name: format!("Lot {i}"),
            given_name: "Camille".into(),
            rpps: None,
            region: domain::ids::RegionCode::parse("FR-IDF").unwrap(),
            password: Some(DEMO_PASSWORD.into()),
            role: None,
            establishments: vec![],
        };
        domain::provisioning::create_account(
            &portal.pool,
            &passwords,
            &spec,
            "test",
            "https://passerelle.test",
            t0(),
        )
        .await
        .unwrap();
    }
    let eligible: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE status = 'active'")
        .fetch_one(&portal.pool)
        .await
        .unwrap();
    // The run that died: its day claimed, its first batch (200 accounts) committed.
    let died_at = day(335);
    sqlx::query("INSERT INTO daily_runs (job, day, ran_at) VALUES ('dormancy', $1, $2)")
        .bind(died_at.date())
        .bind(died_at)
        .execute(&portal.pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE users SET dormancy_warned_at = $1
         WHERE id IN (SELECT id FROM users WHERE username LIKE 'lot.%' ORDER BY id LIMIT 200)",
    )
    .bind(died_at)
    .execute(&portal.pool)
    .await
    .unwrap();

    // 5 minutes later the day is still the other run's; 11 minutes later it is taken over.
    assert_eq!(run(&portal, died_at + Duration::minutes(5)).await, None);
    let report = run(&portal, died_at + Duration::minutes(11)).await.unwrap();
    assert_eq!(report.warned as i64, eligible - 200, "{report:?}");
    let (warned, mailed, audited): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM users WHERE dormancy_warned_at IS NOT NULL),
                (SELECT count(*) FROM mail_outbox WHERE kind = 'dormancy_warning'),
                (SELECT count(*) FROM audit_log WHERE action = 'account.dormancy_warning')",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(warned, eligible);
    assert_eq!(mailed, eligible - 200);
    assert_eq!(audited, eligible - 200);
    let finished: Option<OffsetDateTime> =
        sqlx::query_scalar("SELECT finished_at FROM daily_runs WHERE job = 'dormancy'")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert!(finished.is_some());
    // Done: the same day again, even much later, is nothing.
    assert_eq!(run(&portal, died_at + Duration::hours(3)).await, None);
}
