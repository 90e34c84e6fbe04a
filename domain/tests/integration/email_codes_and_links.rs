//! The e-mail code step, activation and reset links, against a real PostgreSQL. The e-mails are
//! read from the outbox here; their delivery over SMTP is tested by the server's mailer tests.

use domain::Error;
use domain::auth::otp::{self, CodeError};
use domain::auth::{PasswordOutcome, account_links, code_step, password};
use domain::call::Call;
use domain::demo::DEMO_PASSWORD;
use domain::password_policy::Weakness;
use time::Duration;

use crate::harness::{client, no_link, seeded, t0};

async fn password_step(portal: &domain::auth::Portal, username: &str) -> String {
    match password::sign_in(
        portal,
        username,
        DEMO_PASSWORD,
        None,
        Call::new(&client("192.0.2.70"), t0()),
    )
    .await
    .unwrap()
    {
        PasswordOutcome::CodeRequired { token } => token,
        PasswordOutcome::SignedIn(_) => panic!("the e-mail code was required"),
    }
}

/// The code in the latest e-mail of that kind to that address (from the outbox).
async fn latest_mail(pool: &sqlx::PgPool, kind: &str) -> (String, String) {
    sqlx::query_as(
        "SELECT recipient, text_body FROM mail_outbox WHERE kind = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(kind)
    .fetch_one(pool)
    .await
    .unwrap()
}

fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_session_exists_only_after_the_emailed_code() {
    let mut portal = seeded().await;
    portal.otp_for_all = true;
    let c = client("192.0.2.70");
    let token = password_step(&portal, "dr.martin").await;
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(&portal.pool)
        .await
        .unwrap();
    assert_eq!(sessions, 0, "no session before the code");
    assert!(matches!(
        code_step::verify_code(
            &portal,
            &token,
            "123456",
            no_link(),
            None,
            Call::new(&c, t0())
        )
        .await,
        Err(Error::Code(CodeError::NoCodeSent))
    ));
    otp::send_code(&portal, &token, Call::new(&c, t0()))
        .await
        .unwrap();
    let (to, text) = latest_mail(&portal.pool, "sign_in_code").await;
    assert!(to.contains('@'));
    assert!(text.contains("Assistance aux utilisateurs"));
    let code = code_in(&text);
    // Stored hashed: the code itself is nowhere in the step.
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sign_in_steps WHERE encode(code_hash, 'escape') LIKE '%' || $1 || '%'",
    )
    .bind(&code)
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(stored, 0);

    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert!(matches!(
        code_step::verify_code(&portal, &token, wrong, no_link(), None, Call::new(&c, t0())).await,
        Err(Error::Code(CodeError::Wrong { attempts_left: 4 }))
    ));
    let s = code_step::verify_code(
        &portal,
        &token,
        &format!(" {code} "),
        no_link(),
        None,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    assert_eq!(s.landing, domain::routing::Landing::Chooser);
    // Single use.
    assert!(matches!(
        code_step::verify_code(&portal, &token, &code, no_link(), None, Call::new(&c, t0())).await,
        Err(Error::Code(CodeError::StepExpired))
    ));
    let method: String = sqlx::query_scalar("SELECT auth_method FROM sessions")
        .fetch_one(&portal.pool)
        .await
        .unwrap();
    assert_eq!(method, "password+email_code");
}

#[tokio::test]
async fn codes_expire_are_replaced_and_resends_are_limited() {
    let mut portal = seeded().await;
    portal.otp_for_all = true;
    let c = client("192.0.2.71");
    let token = password_step(&portal, "inf.durand").await;
    otp::send_code(&portal, &token, Call::new(&c, t0()))
        .await
        .unwrap();
    let first = code_in(&latest_mail(&portal.pool, "sign_in_code").await.1);
    assert!(matches!(
        otp::send_code(&portal, &token, Call::new(&c, t0() + Duration::seconds(10))).await,
        Err(Error::Code(CodeError::ResendTooSoon { seconds: 50 }))
    ));
    // Expired after 10 minutes.
    assert!(matches!(
        code_step::verify_code(
            &portal,
            &token,
            &first,
            no_link(),
            None,
            Call::new(&c, t0() + Duration::minutes(11))
        )
        .await,
        Err(Error::Code(CodeError::Expired))
    ));
    // A new code replaces the old one.
    let later = t0() + Duration::minutes(12);
    otp::send_code(&portal, &token, Call::new(&c, later))
        .await
        .unwrap();
    let second = code_in(&latest_mail(&portal.pool, "sign_in_code").await.1);
    if second != first {
        assert!(matches!(
            code_step::verify_code(
                &portal,
                &token,
                &first,
                no_link(),
                None,
                Call::new(&c, later)
            )
            .await,
            Err(Error::Code(CodeError::Wrong { .. }))
        ));
    }
    code_step::verify_code(
        &portal,
        &token,
        &second,
        no_link(),
        None,
        Call::new(&c, later),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn five_wrong_codes_end_the_step() {
    let mut portal = seeded().await;
    portal.otp_for_all = true;
    let c = client("192.0.2.72");
    let token = password_step(&portal, "dr.martin").await;
    otp::send_code(&portal, &token, Call::new(&c, t0()))
        .await
        .unwrap();
    let code = code_in(&latest_mail(&portal.pool, "sign_in_code").await.1);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in [4, 3, 2, 1] {
        assert!(matches!(
            code_step::verify_code(&portal, &token, wrong, no_link(), None, Call::new(&c, t0())).await,
            Err(Error::Code(CodeError::Wrong { attempts_left })) if attempts_left == left
        ));
    }
    assert!(matches!(
        code_step::verify_code(&portal, &token, wrong, no_link(), None, Call::new(&c, t0())).await,
        Err(Error::Code(CodeError::TooManyAttempts))
    ));
    // Even the right code is now useless: back to the password.
    assert!(matches!(
        code_step::verify_code(&portal, &token, &code, no_link(), None, Call::new(&c, t0())).await,
        Err(Error::Code(CodeError::StepExpired))
    ));
    let failures: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'auth.email_code.verify' AND outcome = 'failure'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(failures, 5);
    // Too many wrong codes: the account's password sign-in is refused while the codes are locked.
    assert!(matches!(
        password::sign_in(
            &portal,
            "dr.martin",
            DEMO_PASSWORD,
            None,
            Call::new(&c, t0())
        )
        .await,
        Err(Error::Locked { .. })
    ));
}

#[tokio::test]
async fn a_new_sign_in_replaces_the_pending_step_and_its_code() {
    let mut portal = seeded().await;
    portal.otp_for_all = true;
    let c = client("192.0.2.75");
    let first = password_step(&portal, "dr.martin").await;
    otp::send_code(&portal, &first, Call::new(&c, t0()))
        .await
        .unwrap();
    let code = code_in(&latest_mail(&portal.pool, "sign_in_code").await.1);
    let _second = password_step(&portal, "dr.martin").await;
    assert!(matches!(
        code_step::verify_code(&portal, &first, &code, no_link(), None, Call::new(&c, t0())).await,
        Err(Error::Code(CodeError::StepExpired))
    ));
    // The subject never carries the code.
    let subject: String = sqlx::query_scalar("SELECT subject FROM mail_outbox LIMIT 1")
        .fetch_one(&portal.pool)
        .await
        .unwrap();
    assert!(!subject.contains(&code));
}

#[tokio::test]
async fn password_reset_answers_the_same_and_ends_other_sessions() {
    let portal = seeded().await;
    let c = client("192.0.2.73");
    let session = crate::harness::sign_in(
        &portal,
        "dr.martin",
        DEMO_PASSWORD,
        None,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    account_links::request_reset(&portal, "nobody.here", Call::new(&c, t0()))
        .await
        .unwrap();
    account_links::request_reset(&portal, "Dr.Martin", Call::new(&c, t0()))
        .await
        .unwrap();
    let (_, text) = latest_mail(&portal.pool, "password_reset").await;
    let url = text
        .lines()
        .find(|l| l.starts_with("https://passerelle.test/mot-de-passe?jeton="))
        .unwrap();
    let token = url.split("jeton=").nth(1).unwrap();
    assert!(matches!(
        account_links::set_password(
            &portal,
            token,
            "azertyuiop123",
            "azertyuiop123",
            false,
            Call::new(&c, t0())
        )
        .await,
        Err(Error::WeakPassword(Weakness::Common))
    ));
    account_links::set_password(
        &portal,
        token,
        "cheval correct agrafe batterie",
        "cheval correct agrafe batterie",
        false,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    // The old password is refused, the new one works, the old session is over.
    assert!(matches!(
        crate::harness::sign_in(
            &portal,
            "dr.martin",
            DEMO_PASSWORD,
            None,
            Call::new(&c, t0())
        )
        .await,
        Err(Error::InvalidCredentials)
    ));
    crate::harness::sign_in(
        &portal,
        "dr.martin",
        "cheval correct agrafe batterie",
        None,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    assert!(
        domain::sessions::load(&portal.pool, &session.token, portal.sessions, t0())
            .await
            .unwrap()
            .is_err()
    );
    // Single use.
    assert!(matches!(
        account_links::set_password(
            &portal,
            token,
            "une autre phrase longue",
            "une autre phrase longue",
            false,
            Call::new(&c, t0())
        )
        .await,
        Err(Error::AccountLinkExpired)
    ));
    // Three e-mails an hour at most.
    for _ in 0..5 {
        account_links::request_reset(&portal, "dr.martin", Call::new(&c, t0()))
            .await
            .unwrap();
    }
    let sent: i64 =
        sqlx::query_scalar("SELECT count(*) FROM mail_outbox WHERE kind = 'password_reset'")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(sent, 3);
}

#[tokio::test]
async fn a_new_account_is_activated_through_its_link() {
    let portal = seeded().await;
    let c = client("192.0.2.74");
    let spec = domain::provisioning::AccountSpec {
        username: domain::ids::Username::parse("nouveau.medecin").unwrap(),
        email: domain::ids::Email::parse("nouveau@chu.example").unwrap(),
        family_name: "Nouveau".into(),
        given_name: "Jean".into(),
        rpps: None,
        region: domain::ids::RegionCode::parse("FR-IDF").unwrap(),
        password: None,
        role: None,
        establishments: vec![],
    };
    domain::provisioning::create_account(
        &portal.pool,
        &portal.passwords,
        &spec,
        "test",
        &portal.public_origin,
        t0(),
    )
    .await
    .unwrap();
    let (to, text) = latest_mail(&portal.pool, "activation").await;
    assert_eq!(to, "nouveau@chu.example");
    let token = text
        .lines()
        .find_map(|l| l.split("jeton=").nth(1))
        .unwrap()
        .trim()
        .to_string();
    let info = account_links::link_info(&portal, &token, t0())
        .await
        .unwrap();
    assert!(info.activation);
    // Expired after 72 hours.
    assert!(matches!(
        account_links::link_info(&portal, &token, t0() + Duration::hours(73)).await,
        Err(Error::AccountLinkExpired)
    ));
    account_links::set_password(
        &portal,
        &token,
        "ma phrase de passe",
        "ma phrase de passe",
        false,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    let status: String =
        sqlx::query_scalar("SELECT status::text FROM users WHERE username = 'nouveau.medecin'")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(status, "active");
}

#[tokio::test]
async fn the_outbox_retries_then_abandons_a_code_that_no_longer_matters() {
    use domain::mail::outbox;
    let mut portal = seeded().await;
    portal.otp_for_all = true;
    let c = client("192.0.2.76");
    let token = password_step(&portal, "dr.martin").await;
    otp::send_code(&portal, &token, Call::new(&c, t0()))
        .await
        .unwrap();

    // The SMTP server is down: retried later, bodies kept.
    let mut tx = portal.pool.begin().await.unwrap();
    let mail = outbox::claim_next(&mut tx, t0()).await.unwrap().unwrap();
    assert!(
        !outbox::mark_failed(&mut tx, &mail, "connection refused", false, t0())
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let mut tx = portal.pool.begin().await.unwrap();
    assert!(
        outbox::claim_next(&mut tx, t0()).await.unwrap().is_none(),
        "not due before the backoff"
    );
    let again = outbox::claim_next(&mut tx, t0() + Duration::seconds(11))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.id, mail.id);
    // Still failing 20 minutes later: a code is useless by then, abandoned and audited.
    let later = t0() + Duration::minutes(20);
    assert!(
        outbox::mark_failed(&mut tx, &again, "connection refused", false, later)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let state = outbox::state(&portal.pool).await.unwrap();
    assert_eq!((state.pending, state.abandoned), (0, 1));
    let body: Option<String> =
        sqlx::query_scalar("SELECT text_body FROM mail_outbox WHERE id = $1")
            .bind(mail.id)
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(body, None, "the code is erased");
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'mail.abandoned'")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);
}
