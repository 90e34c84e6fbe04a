//! Pro Santé Connect sign-in rules against a real PostgreSQL: the flow's state, the identity
//! mapping and the one-time linking shared with cards, the minimum level, automatic memberships,
//! and back-channel logout. The protocol itself is exercised end to end against the test provider.

use domain::Error;
use domain::auth::card::Browser;
use domain::auth::linking;
use domain::auth::psc::{
    self, Acr, Flow, LogoutToken, PscLogin, PscLogoutRefusal, PscOutcome, PscStateRefusal,
};
use domain::call::Call;
use domain::demo::DEMO_PASSWORD;
use domain::sessions::{self, Missing};
use serde_json::json;
use time::Duration;

use crate::harness::{audit_trail, client, declare, seeded, signed_in, t0};

fn login(national_id: &str, mode: &str, sid: &str) -> PscLogin {
    PscLogin::from_claims(&json!({
        "sub": format!("f:0000:{national_id}"),
        "SubjectNameID": national_id,
        "given_name": "Claire",
        "family_name": "Martin",
        "authMode": mode,
        "acr": if mode == "CARD" { "eidas3" } else { "eidas2" },
        "sid": sid,
        "SubjectRefPro": { "exercices": [{ "activities": [
            { "numeroFinessSite": "750712184", "numeroFinessetablissementJuridique": "750712184" },
            { "numeroFinessSite": "690781810" }
        ]}]}
    }))
    .unwrap()
}

const MARTIN: &str = "810000123454";

async fn psc_sign_in(
    portal: &domain::auth::Portal,
    login: &PscLogin,
    browser: Browser,
) -> Result<PscOutcome, Error> {
    psc::sign_in(
        portal,
        login,
        browser,
        None,
        Call::new(&client("192.0.2.80"), t0()),
    )
    .await
}

async fn link(
    portal: &domain::auth::Portal,
    token: &str,
    browser: Browser,
    username: &str,
    password: &str,
) -> Result<domain::auth::SignedIn, Error> {
    signed_in(
        linking::link_and_sign_in(
            portal,
            None,
            token,
            browser,
            username,
            password,
            None,
            Call::new(&client("192.0.2.80"), t0()),
        )
        .await,
    )
}

fn token_of(outcome: PscOutcome) -> String {
    match outcome {
        PscOutcome::LinkRequired { token } => token,
        PscOutcome::SignedIn(_) => panic!("expected the linking page"),
    }
}

#[tokio::test]
async fn first_sign_in_links_once_then_goes_straight_through() {
    let portal = seeded().await;
    let browser = Browser::of_secret("browser-1");
    let claire = login(MARTIN, "CARD", "sid-1");
    let token = token_of(psc_sign_in(&portal, &claire, browser).await.unwrap());

    // The linking page shows the PSC identity.
    match linking::pending(&portal, None, &token, browser, t0())
        .await
        .unwrap()
    {
        linking::Pending::Psc(l) => assert_eq!(l.identity.national_id.as_str(), MARTIN),
        other => panic!("{other:?}"),
    }
    // Another browser cannot use it.
    assert!(matches!(
        linking::pending(&portal, None, &token, Browser::of_secret("other"), t0()).await,
        Err(Error::CardLinkExpired)
    ));
    // A wrong password counts as a sign-in failure (same counters) and links nothing.
    assert!(matches!(
        link(&portal, &token, browser, "dr.martin", "wrong-password-123").await,
        Err(Error::InvalidCredentials)
    ));
    let attempts: i32 = sqlx::query_scalar(
        "SELECT attempts FROM auth_throttle WHERE scope = 'account' AND key = 'dr.martin'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(attempts, 1);
    let linked: i64 = sqlx::query_scalar("SELECT count(*) FROM psc_identities")
        .fetch_one(&portal.pool)
        .await
        .unwrap();
    assert_eq!(linked, 0);

    // The typo corrected: linked and signed in, with PSC's facts on the session.
    let signed_in = link(&portal, &token, browser, "dr.martin", DEMO_PASSWORD)
        .await
        .unwrap();
    let (mode, acr, sid, declared): (Option<String>, Option<String>, Option<String>, Vec<String>) =
        sqlx::query_as(
            "SELECT auth_mode, acr, psc_sid, declared_finess FROM sessions
             WHERE user_id = $1 AND auth_method = 'psc' AND ended_at IS NULL",
        )
        .bind(signed_in.user_id)
        .fetch_one(&portal.pool)
        .await
        .unwrap();
    assert_eq!(
        (mode.as_deref(), acr.as_deref(), sid.as_deref()),
        (Some("CARD"), Some("eidas3"), Some("sid-1"))
    );
    assert_eq!(declared, ["750712184", "690781810"]);
    // The pending link is gone.
    assert!(
        link(&portal, &token, browser, "dr.martin", DEMO_PASSWORD)
            .await
            .is_err()
    );

    // Next time, straight through (e-CPS this time), whatever the browser.
    match psc_sign_in(
        &portal,
        &login(MARTIN, "MOBILE", "sid-2"),
        Browser::of_secret("b2"),
    )
    .await
    .unwrap()
    {
        PscOutcome::SignedIn(s) => assert_eq!(s.user_id, signed_in.user_id),
        PscOutcome::LinkRequired { .. } => panic!("linked identity asked to link again"),
    }
    let trail = audit_trail(&portal.pool).await;
    let actions: Vec<&str> = trail.iter().map(|(a, _, _)| a.as_str()).collect();
    for expected in ["auth.psc.link_required", "psc.linked", "auth.sign_in"] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    let details: serde_json::Value = sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE action = 'auth.sign_in' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(details["auth_mode"], "MOBILE");
    assert_eq!(details["acr"], "eidas2");
}

#[tokio::test]
async fn an_account_linked_to_another_identity_is_refused_and_nothing_is_linked() {
    let portal = seeded().await;
    let browser = Browser::of_secret("browser-1");
    let token = token_of(
        psc_sign_in(&portal, &login(MARTIN, "CARD", "s1"), browser)
            .await
            .unwrap(),
    );
    link(&portal, &token, browser, "dr.martin", DEMO_PASSWORD)
        .await
        .unwrap();

    // Someone else's identity, typed with dr.martin's account.
    let intruder = login("0123456789", "CARD", "s2");
    let token = token_of(psc_sign_in(&portal, &intruder, browser).await.unwrap());
    assert!(matches!(
        link(&portal, &token, browser, "dr.martin", DEMO_PASSWORD).await,
        Err(Error::AccountLinkedToOtherIdentity)
    ));
    let ids: Vec<String> = sqlx::query_scalar("SELECT national_id FROM psc_identities")
        .fetch_all(&portal.pool)
        .await
        .unwrap();
    assert_eq!(ids, [MARTIN]);
    let denied: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'psc.link' AND outcome = 'denied'
           AND details->>'reason' = 'account_linked_to_other_identity'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(denied, 1);

    // And the identity already linked cannot be linked to a second account either.
    declare(&portal.pool, "sec.petit", "0123456789").await;
    let token = token_of(
        psc_sign_in(&portal, &login("0123456789", "CARD", "s3"), browser)
            .await
            .unwrap(),
    );
    link(&portal, &token, browser, "sec.petit", DEMO_PASSWORD)
        .await
        .unwrap();
    let sec_petit_ids: Vec<String> = sqlx::query_scalar(
        "SELECT p.national_id FROM psc_identities p JOIN users u ON u.id = p.user_id
         WHERE u.username = 'sec.petit'",
    )
    .fetch_all(&portal.pool)
    .await
    .unwrap();
    assert_eq!(sec_petit_ids, ["0123456789"]);
}

#[tokio::test]
async fn state_is_single_use_browser_bound_and_short_lived() {
    let portal = seeded().await;
    let mut conn = portal.pool.acquire().await.unwrap();
    let mine = Browser::of_secret("mine");
    let flow = Flow {
        nonce: psc::random_value(),
        pkce_verifier: format!("{}{}", psc::random_value(), psc::random_value()),
    };

    psc::start_flow(&mut conn, mine, "state-1", &flow, t0())
        .await
        .unwrap();
    assert_eq!(
        psc::take_flow(&mut conn, mine, "state-1", t0() + Duration::minutes(1))
            .await
            .unwrap(),
        Ok(flow.clone())
    );
    // A replayed callback finds nothing.
    assert_eq!(
        psc::take_flow(&mut conn, mine, "state-1", t0() + Duration::minutes(1))
            .await
            .unwrap(),
        Err(PscStateRefusal::Unknown)
    );
    // Tampered state.
    psc::start_flow(&mut conn, mine, "state-2", &flow, t0())
        .await
        .unwrap();
    assert_eq!(
        psc::take_flow(&mut conn, mine, "state-2x", t0())
            .await
            .unwrap(),
        Err(PscStateRefusal::Unknown)
    );
    // Another browser's: refused, and burnt for its owner too.
    assert_eq!(
        psc::take_flow(&mut conn, Browser::of_secret("thief"), "state-2", t0())
            .await
            .unwrap(),
        Err(PscStateRefusal::OtherBrowser)
    );
    assert_eq!(
        psc::take_flow(&mut conn, mine, "state-2", t0())
            .await
            .unwrap(),
        Err(PscStateRefusal::Unknown)
    );
    // Ten minutes, not more.
    psc::start_flow(&mut conn, mine, "state-3", &flow, t0())
        .await
        .unwrap();
    assert_eq!(
        psc::take_flow(&mut conn, mine, "state-3", t0() + Duration::minutes(10))
            .await
            .unwrap(),
        Err(PscStateRefusal::Expired)
    );
    assert_eq!(
        psc::take_flow(&mut conn, mine, "", t0()).await.unwrap(),
        Err(PscStateRefusal::Missing)
    );
}

#[tokio::test]
async fn a_level_below_the_minimum_is_refused_and_audited() {
    let mut portal = seeded().await;
    portal.psc.min_acr = Some(Acr::Eidas3);
    let browser = Browser::of_secret("b");
    assert!(matches!(
        psc_sign_in(&portal, &login(MARTIN, "MOBILE", "s"), browser).await,
        Err(Error::PscLevelTooWeak)
    ));
    assert!(matches!(
        psc_sign_in(&portal, &login(MARTIN, "CARD", "s"), browser).await,
        Ok(PscOutcome::LinkRequired { .. })
    ));
    let denied: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'auth.psc.sign_in' AND outcome = 'denied'
           AND details->>'reason' = 'level_too_weak' AND details->>'acr' = 'eidas2'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(denied, 1);
}

#[tokio::test]
async fn declared_establishments_of_the_region_become_memberships_when_asked() {
    let mut portal = seeded().await;
    portal.psc.auto_memberships = true;
    let browser = Browser::of_secret("b");
    // sec.petit (Île-de-France) has no establishment; PSC declares one in Paris, one in Lyon.
    declare(&portal.pool, "sec.petit", "0123456789").await;
    let token = token_of(
        psc_sign_in(&portal, &login("0123456789", "CARD", "s"), browser)
            .await
            .unwrap(),
    );
    let signed_in = link(&portal, &token, browser, "sec.petit", DEMO_PASSWORD)
        .await
        .unwrap();
    assert_eq!(
        signed_in.landing,
        domain::routing::Landing::Dashboard {
            finess: domain::ids::Finess::parse("750712184").unwrap()
        },
        "the Paris one only: memberships stay within the account's region"
    );
    let added: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'membership.add' AND details->>'via' = 'psc'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(added, 1);
}

#[tokio::test]
async fn back_channel_logout_ends_the_named_sessions_once() {
    let portal = seeded().await;
    let browser = Browser::of_secret("b");
    let token = token_of(
        psc_sign_in(&portal, &login(MARTIN, "CARD", "sid-A"), browser)
            .await
            .unwrap(),
    );
    let a = link(&portal, &token, browser, "dr.martin", DEMO_PASSWORD)
        .await
        .unwrap();
    let b = match psc_sign_in(&portal, &login(MARTIN, "CARD", "sid-B"), browser)
        .await
        .unwrap()
    {
        PscOutcome::SignedIn(s) => s,
        PscOutcome::LinkRequired { .. } => panic!("linked"),
    };
    let now = t0() + Duration::minutes(2);
    let logout = LogoutToken {
        jti: "jti-1".into(),
        iat: now - Duration::seconds(5),
        sid: Some("sid-A".into()),
        sub: None,
    };
    let ended =
        psc::back_channel_logout(&portal.pool, &logout, Call::new(&client("192.0.2.9"), now))
            .await
            .unwrap();
    assert_eq!(ended, 1);
    let load = |t| sessions::load(&portal.pool, t, portal.sessions, now);
    assert!(matches!(
        load(&a.token).await.unwrap(),
        Err(Missing::Unknown)
    ));
    assert!(
        load(&b.token).await.unwrap().is_ok(),
        "PSC's other session stays"
    );
    // The same token again is refused.
    assert!(matches!(
        psc::back_channel_logout(&portal.pool, &logout, Call::new(&client("192.0.2.9"), now)).await,
        Err(Error::PscLogout(PscLogoutRefusal::Replayed))
    ));
    // Too old.
    let old = LogoutToken {
        jti: "jti-2".into(),
        iat: now - Duration::minutes(10),
        sid: Some("sid-B".into()),
        sub: None,
    };
    assert!(matches!(
        psc::back_channel_logout(&portal.pool, &old, Call::new(&client("192.0.2.9"), now)).await,
        Err(Error::PscLogout(PscLogoutRefusal::TooOld))
    ));
    // By subject: every session of that PSC subject.
    let by_sub = LogoutToken {
        jti: "jti-3".into(),
        iat: now,
        sid: None,
        sub: Some(format!("f:0000:{MARTIN}")),
    };
    assert_eq!(
        psc::back_channel_logout(&portal.pool, &by_sub, Call::new(&client("192.0.2.9"), now))
            .await
            .unwrap(),
        1
    );
    assert!(matches!(
        load(&b.token).await.unwrap(),
        Err(Missing::Unknown)
    ));
    let reason: String =
        sqlx::query_scalar("SELECT end_reason FROM sessions WHERE psc_sid = 'sid-B'")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(reason, "backchannel_logout");
}

// ---------------------------------------------------------------------------------------------
// Issue 14, H-1: linking asks as much as the password sign-in.

async fn count(pool: &sqlx::PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// The code of the latest sign-in code e-mail (from the outbox).
async fn latest_code(pool: &sqlx::PgPool) -> String {
    let text: String = sqlx::query_scalar(
        "SELECT text_body FROM mail_outbox WHERE kind = 'sign_in_code' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_string()
}

async fn link_outcome(
    portal: &domain::auth::Portal,
    token: &str,
    browser: Browser,
    username: &str,
) -> Result<domain::auth::PasswordOutcome, Error> {
    linking::link_and_sign_in(
        portal,
        None,
        token,
        browser,
        username,
        DEMO_PASSWORD,
        None,
        Call::new(&client("192.0.2.80"), t0()),
    )
    .await
}

fn completion(browser: Browser) -> linking::Completion<'static> {
    linking::Completion {
        browser,
        trust: None,
    }
}

#[tokio::test]
async fn a_phished_password_and_the_attackers_own_identity_do_not_open_an_account_without_rpps() {
    let portal = seeded().await;
    sqlx::query("UPDATE users SET otp_required = true WHERE username = 'admin.idf'")
        .execute(&portal.pool)
        .await
        .unwrap();
    let browser = Browser::of_secret("attacker");
    // The attacker's own e-CPS, unknown to Passerelle, then admin.idf's password.
    let token = token_of(
        psc_sign_in(&portal, &login("810000999994", "MOBILE", "a1"), browser)
            .await
            .unwrap(),
    );
    assert!(matches!(
        link_outcome(&portal, &token, browser, "admin.idf").await,
        Err(Error::IdentityNotDeclared)
    ));
    // Nothing linked, no session, no code step, the refusal recorded.
    assert_eq!(
        count(&portal.pool, "SELECT count(*) FROM psc_identities").await,
        0
    );
    assert_eq!(
        count(&portal.pool, "SELECT count(*) FROM sessions").await,
        0
    );
    assert_eq!(
        count(&portal.pool, "SELECT count(*) FROM sign_in_steps").await,
        0
    );
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM audit_log WHERE action = 'psc.link' AND outcome = 'denied'
               AND details->>'reason' = 'identity_not_declared'"
        )
        .await,
        1
    );
    // The same without the e-mail code requirement: still refused.
    sqlx::query("UPDATE users SET otp_required = false WHERE username = 'admin.idf'")
        .execute(&portal.pool)
        .await
        .unwrap();
    let token = token_of(
        psc_sign_in(&portal, &login("810000999994", "MOBILE", "a2"), browser)
            .await
            .unwrap(),
    );
    assert!(matches!(
        link_outcome(&portal, &token, browser, "admin.idf").await,
        Err(Error::IdentityNotDeclared)
    ));
    assert_eq!(
        count(&portal.pool, "SELECT count(*) FROM psc_identities").await,
        0
    );
}

#[tokio::test]
async fn linking_an_account_that_needs_the_code_links_only_after_the_right_code() {
    let portal = seeded().await;
    let c = client("192.0.2.80");
    sqlx::query("UPDATE users SET otp_required = true WHERE username = 'admin.idf'")
        .execute(&portal.pool)
        .await
        .unwrap();
    // The desk declared the administrator's own identity.
    declare(&portal.pool, "admin.idf", "810000999994").await;
    let browser = Browser::of_secret("admin-browser");
    let token = token_of(
        psc_sign_in(&portal, &login("810000999994", "CARD", "s1"), browser)
            .await
            .unwrap(),
    );
    let step = match link_outcome(&portal, &token, browser, "admin.idf")
        .await
        .unwrap()
    {
        domain::auth::PasswordOutcome::CodeRequired { token } => token,
        domain::auth::PasswordOutcome::SignedIn(_) => panic!("the e-mail code was required"),
    };
    // The right password alone wrote nothing.
    assert_eq!(
        count(&portal.pool, "SELECT count(*) FROM psc_identities").await,
        0
    );
    assert_eq!(
        count(&portal.pool, "SELECT count(*) FROM sessions").await,
        0
    );
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM mail_outbox WHERE kind = 'psc_linked'"
        )
        .await,
        0
    );

    domain::auth::otp::send_code(&portal, &step, Call::new(&c, t0()))
        .await
        .unwrap();
    let code = latest_code(&portal.pool).await;
    // A wrong code links nothing.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert!(matches!(
        domain::auth::code_step::verify_code(
            &portal,
            &step,
            wrong,
            completion(browser),
            None,
            Call::new(&c, t0())
        )
        .await,
        Err(Error::Code(domain::auth::otp::CodeError::Wrong { .. }))
    ));
    assert_eq!(
        count(&portal.pool, "SELECT count(*) FROM psc_identities").await,
        0
    );
    // The right code, in the browser that holds the pending link: linked and signed in by PSC.
    let signed_in = domain::auth::code_step::verify_code(
        &portal,
        &step,
        &code,
        completion(browser),
        None,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    let method: String = sqlx::query_scalar("SELECT auth_method FROM sessions WHERE user_id = $1")
        .bind(signed_in.user_id)
        .fetch_one(&portal.pool)
        .await
        .unwrap();
    assert_eq!(method, "psc");
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT p.national_id FROM psc_identities p JOIN users u ON u.id = p.user_id
         WHERE u.username = 'admin.idf'",
    )
    .fetch_all(&portal.pool)
    .await
    .unwrap();
    assert_eq!(ids, ["810000999994"]);
    // The holder is told, at the account's address.
    let (to, text): (String, String) =
        sqlx::query_as("SELECT recipient, text_body FROM mail_outbox WHERE kind = 'psc_linked'")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(to, "admin.idf@demo.passerelle.example");
    assert!(text.contains("810000999994"), "{text}");
    let trail: Vec<String> = audit_trail(&portal.pool)
        .await
        .into_iter()
        .map(|(action, outcome, _)| format!("{action}:{outcome}"))
        .collect();
    for expected in [
        "psc.link:success",
        "auth.email_code.send:success",
        "auth.email_code.verify:failure",
        "auth.email_code.verify:success",
        "psc.linked:success",
        "auth.sign_in:success",
    ] {
        assert!(
            trail.iter().any(|t| t == expected),
            "{expected} in {trail:?}"
        );
    }
}

#[tokio::test]
async fn the_code_of_a_linking_step_links_nothing_in_another_browser() {
    let mut portal = seeded().await;
    portal.otp_for_all = true;
    let c = client("192.0.2.80");
    let browser = Browser::of_secret("holder");
    let token = token_of(
        psc_sign_in(&portal, &login(MARTIN, "CARD", "s1"), browser)
            .await
            .unwrap(),
    );
    // The deployment requires the code of everyone: linking too.
    let step = match link_outcome(&portal, &token, browser, "dr.martin")
        .await
        .unwrap()
    {
        domain::auth::PasswordOutcome::CodeRequired { token } => token,
        domain::auth::PasswordOutcome::SignedIn(_) => panic!("the e-mail code was required"),
    };
    domain::auth::otp::send_code(&portal, &step, Call::new(&c, t0()))
        .await
        .unwrap();
    let code = latest_code(&portal.pool).await;
    assert!(matches!(
        domain::auth::code_step::verify_code(
            &portal,
            &step,
            &code,
            completion(Browser::of_secret("someone-else")),
            None,
            Call::new(&c, t0())
        )
        .await,
        Err(Error::PscLinkExpired)
    ));
    assert_eq!(
        count(&portal.pool, "SELECT count(*) FROM psc_identities").await,
        0
    );
    assert_eq!(
        count(&portal.pool, "SELECT count(*) FROM sessions").await,
        0
    );
}

#[tokio::test]
async fn every_psc_link_is_emailed_to_the_holder() {
    let portal = seeded().await;
    let browser = Browser::of_secret("b");
    let token = token_of(
        psc_sign_in(&portal, &login(MARTIN, "MOBILE", "s1"), browser)
            .await
            .unwrap(),
    );
    link(&portal, &token, browser, "dr.martin", DEMO_PASSWORD)
        .await
        .unwrap();
    let (to, text): (String, String) =
        sqlx::query_as("SELECT recipient, text_body FROM mail_outbox WHERE kind = 'psc_linked'")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(to, "dr.martin@demo.passerelle.example");
    assert!(text.contains(MARTIN) && text.contains("e-CPS"), "{text}");
}
