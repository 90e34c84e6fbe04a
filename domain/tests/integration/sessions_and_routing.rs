use domain::Error;
use domain::call::Call;
use domain::demo::DEMO_PASSWORD;
use domain::ids::Finess;
use domain::sessions::{self, Missing};
use time::Duration;

use crate::harness::{audit_trail, client, seeded, sign_in, t0};

#[tokio::test]
async fn signing_in_again_rotates_the_session() {
    let portal = seeded().await;
    let c = client("192.0.2.20");
    let first = sign_in(
        &portal,
        "dr.martin",
        DEMO_PASSWORD,
        None,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    let second = sign_in(
        &portal,
        "dr.martin",
        DEMO_PASSWORD,
        Some(&first.token),
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    assert_ne!(first.token, second.token);
    assert!(matches!(
        sessions::load(&portal.pool, &first.token, portal.sessions, t0())
            .await
            .unwrap(),
        Err(Missing::Unknown)
    ));
    assert!(
        sessions::load(&portal.pool, &second.token, portal.sessions, t0())
            .await
            .unwrap()
            .is_ok()
    );
    let reason: String =
        sqlx::query_scalar("SELECT end_reason FROM sessions WHERE end_reason IS NOT NULL")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(reason, "rotated");
}

#[tokio::test]
async fn idle_and_absolute_timeouts() {
    let portal = seeded().await;
    let c = client("192.0.2.21");
    let idle = sign_in(
        &portal,
        "dr.martin",
        DEMO_PASSWORD,
        None,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    assert!(
        sessions::load(
            &portal.pool,
            &idle.token,
            portal.sessions,
            t0() + Duration::minutes(29)
        )
        .await
        .unwrap()
        .is_ok()
    );
    // 29 minutes of activity moved the idle deadline: still alive 58 minutes after sign-in.
    assert!(
        sessions::load(
            &portal.pool,
            &idle.token,
            portal.sessions,
            t0() + Duration::minutes(58)
        )
        .await
        .unwrap()
        .is_ok()
    );
    assert!(matches!(
        sessions::load(
            &portal.pool,
            &idle.token,
            portal.sessions,
            t0() + Duration::minutes(89)
        )
        .await
        .unwrap(),
        Err(Missing::Expired)
    ));

    let busy = sign_in(
        &portal,
        "inf.durand",
        DEMO_PASSWORD,
        None,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    let mut now = t0();
    while now < t0() + Duration::hours(4) - Duration::minutes(20) {
        now += Duration::minutes(20);
        assert!(
            sessions::load(&portal.pool, &busy.token, portal.sessions, now)
                .await
                .unwrap()
                .is_ok(),
            "{now}"
        );
    }
    assert!(matches!(
        sessions::load(
            &portal.pool,
            &busy.token,
            portal.sessions,
            t0() + Duration::hours(4)
        )
        .await
        .unwrap(),
        Err(Missing::Expired)
    ));
    let reasons: Vec<String> = sqlx::query_scalar(
        "SELECT end_reason FROM sessions WHERE end_reason IS NOT NULL ORDER BY ended_at",
    )
    .fetch_all(&portal.pool)
    .await
    .unwrap();
    assert_eq!(reasons, ["idle_timeout", "absolute_timeout"]);
}

#[tokio::test]
async fn sign_out_ends_the_session_and_is_audited() {
    let portal = seeded().await;
    let c = client("192.0.2.22");
    let s = sign_in(
        &portal,
        "dr.martin",
        DEMO_PASSWORD,
        None,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    domain::auth::sign_out(
        &portal.pool,
        &s.token,
        Call::new(&c, t0() + Duration::minutes(1)),
    )
    .await
    .unwrap();
    assert!(matches!(
        sessions::load(
            &portal.pool,
            &s.token,
            portal.sessions,
            t0() + Duration::minutes(2)
        )
        .await
        .unwrap(),
        Err(Missing::Unknown)
    ));
    assert!(
        audit_trail(&portal.pool)
            .await
            .iter()
            .any(|(a, o, l)| a == "auth.sign_out" && o == "success" && l == "dr.martin")
    );
}

#[tokio::test]
async fn choosing_an_establishment_is_limited_to_ones_own() {
    let portal = seeded().await;
    let c = client("192.0.2.23");
    let s = sign_in(
        &portal,
        "dr.martin",
        DEMO_PASSWORD,
        None,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    let session = sessions::load(&portal.pool, &s.token, portal.sessions, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.establishment_id, None);

    let mine = Finess::parse(&domain::demo::establishments()[1].0).unwrap();
    let chosen =
        domain::routing::choose_establishment(&portal.pool, &session, &mine, Call::new(&c, t0()))
            .await
            .unwrap();
    assert_eq!(chosen.finess, mine.as_str());
    let session = sessions::load(&portal.pool, &s.token, portal.sessions, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.establishment_id, Some(chosen.id));

    // Hospices Civils de Lyon exists, but dr.martin does not belong to it.
    let other = Finess::parse("690781810").unwrap();
    let refused =
        domain::routing::choose_establishment(&portal.pool, &session, &other, Call::new(&c, t0()))
            .await;
    assert!(matches!(refused, Err(Error::Forbidden)));
    let session = sessions::load(&portal.pool, &s.token, portal.sessions, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.establishment_id, Some(chosen.id));

    let trail = audit_trail(&portal.pool).await;
    let choices: Vec<_> = trail
        .iter()
        .filter(|(a, _, _)| a == "session.establishment.choose")
        .map(|(_, o, _)| o.as_str())
        .collect();
    assert_eq!(choices, ["success", "denied"]);
}

#[tokio::test]
async fn a_disabled_account_loses_its_live_sessions() {
    let portal = seeded().await;
    let s = sign_in(
        &portal,
        "dr.martin",
        DEMO_PASSWORD,
        None,
        Call::new(&client("192.0.2.24"), t0()),
    )
    .await
    .unwrap();
    sqlx::query("UPDATE users SET status = 'disabled' WHERE username = 'dr.martin'")
        .execute(&portal.pool)
        .await
        .unwrap();
    assert!(matches!(
        sessions::load(&portal.pool, &s.token, portal.sessions, t0())
            .await
            .unwrap(),
        Err(Missing::Unknown)
    ));
}
