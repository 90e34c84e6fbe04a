//! CPx card sign-in, one-time linking, renewal and unlinking, against the test PKI (made by
//! `openssl` through `testkit::pki`) and a real PostgreSQL.

use domain::call::Call;
use std::path::PathBuf;
use std::sync::OnceLock;

use domain::Error;
use domain::auth::card::{
    self, AgentProof, Browser, CardOutcome, CardRefusal, CardType, Trust, TrustSettings,
};
use domain::auth::{linking, means};
use domain::demo::DEMO_PASSWORD;
use domain::routing::Landing;
use testkit::pki::{self, Pki};
use time::{Duration, OffsetDateTime};

use crate::harness::{audit_trail, client, declare, seeded, signed_in};

const ORIGIN: &str = "https://passerelle.test";

fn test_pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("card-pki-{}", std::process::id()));
        pki::generate(&dir).unwrap()
    })
}

fn trust() -> Trust {
    let pki = test_pki();
    Trust::load(&TrustSettings {
        ca_bundle: pki.ca_bundle.clone(),
        crl_files: vec![pki.crl.clone()],
        accept_anonymous_cards: false,
    })
    .unwrap()
}

/// The certificates are made "now" by the test run: the card tests use the real clock (the one
/// place the domain's tests may read it).
#[allow(clippy::disallowed_methods)]
fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn cert(name: &str) -> Vec<u8> {
    test_pki().holder(name).unwrap().cert_der.clone()
}

async fn agent_proof(
    portal: &domain::auth::Portal,
    holder: &str,
    browser: Browser,
    origin: &str,
) -> AgentProof {
    let mut conn = portal.pool.acquire().await.unwrap();
    let nonce = card::issue_challenge(&mut conn, browser, now())
        .await
        .unwrap();
    let h = test_pki().holder(holder).unwrap();
    let signature = h
        .sign_rs256(&card::certificate::signed_message(origin, &nonce))
        .unwrap();
    AgentProof {
        nonce,
        certificate: h.cert_der.clone(),
        signature,
    }
}

async fn sign_in(
    portal: &domain::auth::Portal,
    trust: &Trust,
    holder: &str,
    browser: Browser,
) -> Result<CardOutcome, Error> {
    let proof = agent_proof(portal, holder, browser, ORIGIN).await;
    card::sign_in_with_agent(
        portal,
        trust,
        ORIGIN,
        browser,
        &proof,
        None,
        Call::new(&client("192.0.2.50"), now()),
    )
    .await
}

async fn link(
    portal: &domain::auth::Portal,
    trust: &Trust,
    token: &str,
    browser: Browser,
    username: &str,
    password: &str,
) -> Result<domain::auth::SignedIn, Error> {
    signed_in(
        linking::link_and_sign_in(
            portal,
            Some(trust),
            token,
            browser,
            username,
            password,
            None,
            Call::new(&client("192.0.2.50"), now()),
        )
        .await,
    )
}

fn link_token(outcome: CardOutcome) -> String {
    match outcome {
        CardOutcome::LinkRequired { token } => token,
        CardOutcome::SignedIn(_) => panic!("expected the linking page"),
    }
}

#[test]
fn certificates_are_validated_and_read() {
    let trust = trust();
    let id = trust.validate(&cert("cps-martin"), now()).unwrap();
    assert_eq!(id.national_id.as_str(), "810000123454");
    assert_eq!(id.card_type, CardType::Cps);
    assert_eq!(id.holder_name, "CLAIRE MARTIN");
    assert_eq!(id.serial, "0a01");
    assert!(id.issuer_dn.contains("TEST AC IGC-SANTE FORT PERSONNES"));
    // Attribute order inside the multi-valued RDN does not matter.
    let renewed = trust.validate(&cert("cps-martin-renewed"), now()).unwrap();
    assert_eq!(renewed.national_id, id.national_id);
    assert_ne!(renewed.serial, id.serial);
    let cpe = trust.validate(&cert("cpe-accueil"), now()).unwrap();
    assert_eq!(cpe.card_type, CardType::Cpe);
    assert_eq!(cpe.national_id.as_str(), "3750712184/000000018");
    assert_eq!(cpe.holder_name, "LEA ROUX");

    let refused = |name: &str| trust.validate(&cert(name), now()).unwrap_err();
    assert_eq!(refused("cps-expired"), CardRefusal::Expired);
    assert_eq!(refused("cps-revoked"), CardRefusal::Revoked);
    assert_eq!(refused("cps-untrusted"), CardRefusal::Untrusted);
    assert_eq!(refused("cps-signature"), CardRefusal::NotForAuthentication);
    assert_eq!(
        trust.validate(b"not a certificate", now()).unwrap_err(),
        CardRefusal::Malformed
    );
    // Four years on, the valid card has expired too (the time is a parameter).
    assert_eq!(
        trust
            .validate(&cert("cps-martin"), now() + Duration::days(4 * 365))
            .unwrap_err(),
        CardRefusal::Expired
    );
}

#[test]
fn a_replaced_crl_file_is_picked_up_without_restart() {
    let pki = test_pki();
    let path = pki.dir.join(format!("live-{}.crl.pem", std::process::id()));
    std::fs::copy(&pki.initial_crl, &path).unwrap();
    let trust = Trust::load(&TrustSettings {
        ca_bundle: pki.ca_bundle.clone(),
        crl_files: vec![path.clone()],
        accept_anonymous_cards: false,
    })
    .unwrap();
    assert!(trust.validate(&cert("cps-revoked"), now()).is_ok());
    std::fs::copy(&pki.crl, &path).unwrap();
    // Make sure the modification time moves even on coarse-grained file systems.
    #[allow(clippy::disallowed_methods)]
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(later)
        .unwrap();
    assert_eq!(
        trust.validate(&cert("cps-revoked"), now()).unwrap_err(),
        CardRefusal::Revoked
    );
}

#[test]
fn without_a_crl_for_the_issuer_revocation_is_unknown() {
    let pki = test_pki();
    let trust = Trust::load(&TrustSettings {
        ca_bundle: pki.ca_bundle.clone(),
        // A CRL of another issuer only.
        crl_files: vec![pki.dir.join("missing.crl.pem")],
        accept_anonymous_cards: false,
    });
    assert!(trust.is_err(), "an unreadable CRL file is a start-up error");
}

#[tokio::test]
async fn first_card_sign_in_links_once_then_the_card_alone_signs_in() {
    let portal = seeded().await;
    let trust = trust();
    let browser = Browser::of_secret("browser-1");

    let token = link_token(
        sign_in(&portal, &trust, "cps-martin", browser)
            .await
            .unwrap(),
    );
    let shown = card::pending_link(&portal, &trust, &token, browser, now())
        .await
        .unwrap();
    assert_eq!(shown.holder_name, "CLAIRE MARTIN");
    // Another browser cannot use this pending link.
    assert!(matches!(
        card::pending_link(&portal, &trust, &token, Browser::of_secret("other"), now()).await,
        Err(Error::CardLinkExpired)
    ));
    // A wrong password leaves the pending link usable.
    assert!(matches!(
        link(
            &portal,
            &trust,
            &token,
            browser,
            "dr.martin",
            "wrong password"
        )
        .await,
        Err(Error::InvalidCredentials)
    ));
    let signed_in = link(&portal, &trust, &token, browser, "dr.martin", DEMO_PASSWORD)
        .await
        .unwrap();
    assert_eq!(signed_in.landing, Landing::Chooser);
    // Single use.
    assert!(matches!(
        link(&portal, &trust, &token, browser, "dr.martin", DEMO_PASSWORD).await,
        Err(Error::CardLinkExpired)
    ));

    // Next time: the card alone.
    match sign_in(
        &portal,
        &trust,
        "cps-martin",
        Browser::of_secret("browser-2"),
    )
    .await
    .unwrap()
    {
        CardOutcome::SignedIn(s) => assert_eq!(s.user_id, signed_in.user_id),
        CardOutcome::LinkRequired { .. } => panic!("a linked card must sign in alone"),
    }
    let cards = card::cards_of(&portal, signed_in.user_id).await.unwrap();
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0].serial, "0a01");
    // The holder is told by e-mail (outbox) that a card was linked.
    let told: (String, String) =
        sqlx::query_as("SELECT recipient, text_body FROM mail_outbox WHERE kind = 'card_linked'")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(told.0, "dr.martin@demo.passerelle.example");
    assert!(told.1.contains("numéro de série 0a01"), "{}", told.1);
    assert!(cards[0].last_used_at.is_some());

    let trail = audit_trail(&portal.pool).await;
    let actions: Vec<_> = trail.iter().map(|(a, o, _)| format!("{a}:{o}")).collect();
    for expected in [
        "auth.card.link_required:success",
        "auth.card.link:failure",
        "card.linked:success",
        "auth.sign_in:success",
    ] {
        assert!(
            actions.contains(&expected.to_string()),
            "{expected} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn a_renewed_card_relinks_itself_and_is_audited() {
    let portal = seeded().await;
    let trust = trust();
    let b = Browser::of_secret("b");
    let token = link_token(sign_in(&portal, &trust, "cps-martin", b).await.unwrap());
    let first = link(&portal, &trust, &token, b, "dr.martin", DEMO_PASSWORD)
        .await
        .unwrap();
    match sign_in(&portal, &trust, "cps-martin-renewed", b)
        .await
        .unwrap()
    {
        CardOutcome::SignedIn(s) => assert_eq!(s.user_id, first.user_id),
        CardOutcome::LinkRequired { .. } => panic!("a renewal must not ask for the password"),
    }
    let cards = card::cards_of(&portal, first.user_id).await.unwrap();
    assert_eq!(cards.len(), 2);
    assert_eq!(cards[0].linked_via, "renewal");
    let renewals: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE action = 'card.linked' AND details->>'via' = 'renewal'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(renewals, 1);
}

#[tokio::test]
async fn linking_rules_rpps_and_ownership() {
    let portal = seeded().await;
    let trust = trust();
    let b = Browser::of_secret("b");

    // Durand's card on Martin's account: the RPPS differ.
    let token = link_token(sign_in(&portal, &trust, "cps-durand", b).await.unwrap());
    assert!(matches!(
        link(&portal, &trust, &token, b, "dr.martin", DEMO_PASSWORD).await,
        Err(Error::RppsMismatch)
    ));
    let linked: i64 = sqlx::query_scalar("SELECT count(*) FROM cards")
        .fetch_one(&portal.pool)
        .await
        .unwrap();
    assert_eq!(linked, 0);

    // An account without RPPS takes the card the desk declared for it, and its RPPS.
    declare(&portal.pool, "sec.petit", "899700012349").await;
    let token = link_token(sign_in(&portal, &trust, "cps-petit", b).await.unwrap());
    let other_browser = Browser::of_secret("c");
    let late_token = link_token(
        sign_in(&portal, &trust, "cps-petit", other_browser)
            .await
            .unwrap(),
    );
    link(&portal, &trust, &token, b, "sec.petit", DEMO_PASSWORD)
        .await
        .unwrap();
    let rpps: Option<String> =
        sqlx::query_scalar("SELECT rpps FROM users WHERE username = 'sec.petit'")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(rpps.as_deref(), Some("99700012349"));
    // The same card, linked meanwhile, cannot go to a second account.
    assert!(matches!(
        link(
            &portal,
            &trust,
            &late_token,
            other_browser,
            "admin.idf",
            DEMO_PASSWORD
        )
        .await,
        Err(Error::CardOfAnotherAccount)
    ));
    let admin_rpps: Option<String> =
        sqlx::query_scalar("SELECT rpps FROM users WHERE username = 'admin.idf'")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(admin_rpps, None);
}

#[tokio::test]
async fn a_disabled_account_cannot_sign_in_by_card() {
    let portal = seeded().await;
    let trust = trust();
    let b = Browser::of_secret("b");
    let token = link_token(sign_in(&portal, &trust, "cps-martin", b).await.unwrap());
    link(&portal, &trust, &token, b, "dr.martin", DEMO_PASSWORD)
        .await
        .unwrap();
    sqlx::query("UPDATE users SET status = 'disabled' WHERE username = 'dr.martin'")
        .execute(&portal.pool)
        .await
        .unwrap();
    assert!(matches!(
        sign_in(&portal, &trust, "cps-martin", b).await,
        Err(Error::AccountUnavailable(
            domain::accounts::UserStatus::Disabled
        ))
    ));
}

#[tokio::test]
async fn refused_certificates_and_bad_proofs_are_audited() {
    let portal = seeded().await;
    let trust = trust();
    let b = Browser::of_secret("b");
    for (holder, refusal) in [
        ("cps-expired", CardRefusal::Expired),
        ("cps-revoked", CardRefusal::Revoked),
        ("cps-untrusted", CardRefusal::Untrusted),
        ("cps-signature", CardRefusal::NotForAuthentication),
    ] {
        match sign_in(&portal, &trust, holder, b).await {
            Err(Error::CardRefused(r)) => assert_eq!(r, refusal, "{holder}"),
            other => panic!("{holder}: {other:?}"),
        }
    }
    // A signature made for another site.
    let proof = agent_proof(&portal, "cps-martin", b, "https://evil.example").await;
    let c = client("192.0.2.51");
    assert!(matches!(
        card::sign_in_with_agent(
            &portal,
            &trust,
            ORIGIN,
            b,
            &proof,
            None,
            Call::new(&c, now())
        )
        .await,
        Err(Error::CardRefused(CardRefusal::BadSignature))
    ));
    // The nonce was consumed by that attempt: replaying it fails.
    assert!(matches!(
        card::sign_in_with_agent(
            &portal,
            &trust,
            ORIGIN,
            b,
            &proof,
            None,
            Call::new(&c, now())
        )
        .await,
        Err(Error::CardChallengeInvalid)
    ));
    // A nonce issued to another browser.
    let proof = agent_proof(&portal, "cps-martin", Browser::of_secret("x"), ORIGIN).await;
    assert!(matches!(
        card::sign_in_with_agent(
            &portal,
            &trust,
            ORIGIN,
            b,
            &proof,
            None,
            Call::new(&c, now())
        )
        .await,
        Err(Error::CardChallengeInvalid)
    ));
    // An expired nonce.
    let proof = agent_proof(&portal, "cps-martin", b, ORIGIN).await;
    assert!(matches!(
        card::sign_in_with_agent(
            &portal,
            &trust,
            ORIGIN,
            b,
            &proof,
            None,
            Call::new(&c, now() + Duration::minutes(6))
        )
        .await,
        Err(Error::CardChallengeInvalid)
    ));
    let reasons: Vec<String> = sqlx::query_scalar(
        "SELECT details->>'reason' FROM audit_log WHERE action = 'auth.card.sign_in' ORDER BY id",
    )
    .fetch_all(&portal.pool)
    .await
    .unwrap();
    assert_eq!(
        reasons,
        [
            "expired",
            "revoked",
            "untrusted",
            "not_for_authentication",
            "bad_signature",
            "challenge_invalid",
            "challenge_invalid",
            "challenge_invalid"
        ]
    );
}

#[tokio::test]
async fn brute_force_on_the_linking_form_is_limited_like_sign_in() {
    let portal = seeded().await;
    let trust = trust();
    let b = Browser::of_secret("b");
    let token = link_token(sign_in(&portal, &trust, "cps-martin", b).await.unwrap());
    for _ in 0..4 {
        assert!(matches!(
            link(&portal, &trust, &token, b, "dr.martin", "guess").await,
            Err(Error::InvalidCredentials)
        ));
    }
    assert!(matches!(
        link(&portal, &trust, &token, b, "dr.martin", "guess").await,
        Err(Error::Locked { .. })
    ));
    // Locked: even the right password is refused now, and the password sign-in shares the lock.
    assert!(matches!(
        link(&portal, &trust, &token, b, "dr.martin", DEMO_PASSWORD).await,
        Err(Error::Locked { .. })
    ));
    assert!(matches!(
        crate::harness::sign_in(
            &portal,
            "dr.martin",
            DEMO_PASSWORD,
            None,
            Call::new(&client("192.0.2.99"), now())
        )
        .await,
        Err(Error::Locked { .. })
    ));
}

#[tokio::test]
async fn the_holder_unlinks_a_card_after_typing_the_password() {
    let portal = seeded().await;
    let trust = trust();
    let b = Browser::of_secret("b");
    let token = link_token(sign_in(&portal, &trust, "cps-martin", b).await.unwrap());
    let s = link(&portal, &trust, &token, b, "dr.martin", DEMO_PASSWORD)
        .await
        .unwrap();
    let card_id = card::cards_of(&portal, s.user_id).await.unwrap()[0].id;
    let c = client("192.0.2.52");
    assert!(matches!(
        means::unlink_own_card(
            &portal,
            "dr.martin",
            s.user_id,
            card_id,
            "nope",
            Call::new(&c, now())
        )
        .await,
        Err(Error::InvalidCredentials)
    ));
    means::unlink_own_card(
        &portal,
        "dr.martin",
        s.user_id,
        card_id,
        DEMO_PASSWORD,
        Call::new(&c, now()),
    )
    .await
    .unwrap();
    assert!(card::cards_of(&portal, s.user_id).await.unwrap().is_empty());
    // Unlinked: the card asks for the linking again.
    assert!(matches!(
        sign_in(&portal, &trust, "cps-martin", b).await.unwrap(),
        CardOutcome::LinkRequired { .. }
    ));
    let unlinked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'card.unlinked'")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(unlinked, 1);
}

#[tokio::test]
async fn the_tls_hand_over_is_bound_to_the_browser_state_and_single_use() {
    let portal = seeded().await;
    let trust = trust();
    let c = client("192.0.2.53");
    let b = Browser::of_secret("b");
    // The card host sees only the hash of the state cookie.
    let state_1 = card::state_reference("state-1");
    assert_ne!(state_1, "state-1");
    let hand_over = |state: String| {
        let (portal, trust, c) = (&portal, &trust, &c);
        async move {
            card::accept_tls_certificate(
                portal,
                trust,
                &cert("cps-martin"),
                &state,
                Call::new(c, now()),
            )
            .await
            .unwrap()
        }
    };
    let back = |token: String, cookie: &'static str| {
        let (portal, trust, c) = (&portal, &trust, &c);
        async move {
            card::sign_in_with_tls(
                portal,
                trust,
                &token,
                Browser::of_secret(cookie),
                b,
                None,
                Call::new(c, now()),
            )
            .await
        }
    };
    // Another browser's state: refused, and the token is burnt for everyone.
    let token = hand_over(state_1.clone()).await;
    assert!(matches!(
        back(token.clone(), "state-2").await,
        Err(Error::CardLinkExpired)
    ));
    assert!(matches!(
        back(token, "state-1").await,
        Err(Error::CardLinkExpired)
    ));
    // The right browser: on to the linking, once.
    let token = hand_over(state_1.clone()).await;
    assert!(matches!(
        back(token.clone(), "state-1").await.unwrap(),
        CardOutcome::LinkRequired { .. }
    ));
    assert!(matches!(
        back(token, "state-1").await,
        Err(Error::CardLinkExpired)
    ));
    // The card host refuses a revoked certificate before anything is stored.
    assert!(matches!(
        card::accept_tls_certificate(
            &portal,
            &trust,
            &cert("cps-revoked"),
            &state_1,
            Call::new(&c, now())
        )
        .await,
        Err(Error::CardRefused(CardRefusal::Revoked))
    ));
}

#[tokio::test]
async fn an_unlinked_card_is_not_relinked_as_a_renewal() {
    let portal = seeded().await;
    let trust = trust();
    let b = Browser::of_secret("b");
    let token = link_token(sign_in(&portal, &trust, "cps-martin", b).await.unwrap());
    let s = link(&portal, &trust, &token, b, "dr.martin", DEMO_PASSWORD)
        .await
        .unwrap();
    // The renewed card links itself; then the holder unlinks the old one (lost).
    assert!(matches!(
        sign_in(&portal, &trust, "cps-martin-renewed", b)
            .await
            .unwrap(),
        CardOutcome::SignedIn(_)
    ));
    let cards = card::cards_of(&portal, s.user_id).await.unwrap();
    let old = cards.iter().find(|c| c.serial == "0a01").unwrap().id;
    means::unlink_own_card(
        &portal,
        "dr.martin",
        s.user_id,
        old,
        DEMO_PASSWORD,
        Call::new(&client("192.0.2.60"), now()),
    )
    .await
    .unwrap();
    // The lost card, presented again, asks for the password: it is not a renewal.
    assert!(matches!(
        sign_in(&portal, &trust, "cps-martin", b).await.unwrap(),
        CardOutcome::LinkRequired { .. }
    ));
    assert_eq!(card::cards_of(&portal, s.user_id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_staff_card_cannot_be_linked_to_an_account_with_an_rpps() {
    let portal = seeded().await;
    let trust = trust();
    let b = Browser::of_secret("b");
    let token = link_token(sign_in(&portal, &trust, "cpe-accueil", b).await.unwrap());
    assert!(matches!(
        link(&portal, &trust, &token, b, "dr.martin", DEMO_PASSWORD).await,
        Err(Error::RppsMismatch)
    ));
    // An account without RPPS (the reception desk's) takes it once declared, and keeps no RPPS.
    declare(&portal.pool, "sec.petit", "3750712184/000000018").await;
    let token = link_token(sign_in(&portal, &trust, "cpe-accueil", b).await.unwrap());
    link(&portal, &trust, &token, b, "sec.petit", DEMO_PASSWORD)
        .await
        .unwrap();
    let rpps: Option<String> =
        sqlx::query_scalar("SELECT rpps FROM users WHERE username = 'sec.petit'")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(rpps, None);
}

#[tokio::test]
async fn linking_a_card_to_an_account_that_needs_the_code_waits_for_the_code() {
    let portal = seeded().await;
    let trust = trust();
    let c = client("192.0.2.50");
    sqlx::query("UPDATE users SET otp_required = true WHERE username = 'dr.martin'")
        .execute(&portal.pool)
        .await
        .unwrap();
    let b = Browser::of_secret("b");
    let token = link_token(sign_in(&portal, &trust, "cps-martin", b).await.unwrap());
    let step = match linking::link_and_sign_in(
        &portal,
        Some(&trust),
        &token,
        b,
        "dr.martin",
        DEMO_PASSWORD,
        None,
        Call::new(&c, now()),
    )
    .await
    .unwrap()
    {
        domain::auth::PasswordOutcome::CodeRequired { token } => token,
        domain::auth::PasswordOutcome::SignedIn(_) => panic!("the e-mail code was required"),
    };
    let cards = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM cards")
            .fetch_one(&portal.pool)
            .await
            .unwrap()
    };
    assert_eq!(cards().await, 0, "nothing linked before the code");
    domain::auth::otp::send_code(&portal, &step, Call::new(&c, now()))
        .await
        .unwrap();
    let text: String = sqlx::query_scalar(
        "SELECT text_body FROM mail_outbox WHERE kind = 'sign_in_code' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    let code: String = text
        .split(|ch: char| !ch.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .into();
    let s = domain::auth::code_step::verify_code(
        &portal,
        &step,
        &code,
        domain::auth::linking::Completion {
            browser: b,
            trust: Some(&trust),
        },
        None,
        Call::new(&c, now()),
    )
    .await
    .unwrap();
    assert_eq!(cards().await, 1);
    assert_eq!(card::cards_of(&portal, s.user_id).await.unwrap().len(), 1);
    let notices: i64 =
        sqlx::query_scalar("SELECT count(*) FROM mail_outbox WHERE kind = 'card_linked'")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(notices, 1);
    // From now on the card alone signs in.
    assert!(matches!(
        sign_in(&portal, &trust, "cps-martin", b).await.unwrap(),
        CardOutcome::SignedIn(_)
    ));
}

#[tokio::test]
async fn an_account_without_rpps_takes_no_card_the_desk_did_not_declare() {
    let portal = seeded().await;
    let trust = trust();
    let b = Browser::of_secret("b");
    let token = link_token(sign_in(&portal, &trust, "cps-petit", b).await.unwrap());
    assert!(matches!(
        link(&portal, &trust, &token, b, "admin.idf", DEMO_PASSWORD).await,
        Err(Error::IdentityNotDeclared)
    ));
    // Another identity declared for the account does not count either.
    declare(&portal.pool, "sec.petit", "3750712184/000000018").await;
    let token = link_token(sign_in(&portal, &trust, "cps-petit", b).await.unwrap());
    assert!(matches!(
        link(&portal, &trust, &token, b, "sec.petit", DEMO_PASSWORD).await,
        Err(Error::IdentityNotDeclared)
    ));
    let linked: i64 = sqlx::query_scalar("SELECT count(*) FROM cards")
        .fetch_one(&portal.pool)
        .await
        .unwrap();
    assert_eq!(linked, 0);
}

/// Once the national directory is loaded, a card whose RPPS it has under another name is not
/// linked (the holder is sent to the desk), until the desk accepts the difference for the
/// account with a reason.
#[tokio::test]
async fn the_directory_refuses_a_card_until_the_desk_accepts_the_difference() {
    use testkit::directory::{Options, Person};
    let portal = seeded().await;
    let trust = trust();
    let b = Browser::of_secret("b");
    let dir = crate::directory::tempdir();
    let o = Options {
        activities: 50,
        people: vec![Person {
            rpps: "10000123454".into(),
            family_name: "DUPUIS".into(),
            given_name: "Claire".into(),
            site_finess: String::new(),
        }],
        ..Options::default()
    };
    crate::directory::run(
        &portal.pool,
        &crate::directory::professionals(&dir, "202612010415", &o),
        false,
    )
    .await
    .unwrap();

    let token = link_token(sign_in(&portal, &trust, "cps-martin", b).await.unwrap());
    assert!(matches!(
        link(&portal, &trust, &token, b, "dr.martin", DEMO_PASSWORD).await,
        Err(Error::LinkNotInDirectory(
            domain::directory::verify::Mismatch::NameDiffers
        ))
    ));
    let linked: i64 = sqlx::query_scalar("SELECT count(*) FROM cards")
        .fetch_one(&portal.pool)
        .await
        .unwrap();
    assert_eq!(linked, 0);
    let reason: String = sqlx::query_scalar(
        "SELECT details->>'reason' FROM audit_log WHERE action = 'card.link' AND outcome = 'denied'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(reason, "directory_name_differs");

    // The desk checks and accepts the difference (a support desk may not: it edits no account).
    let martin: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users WHERE username = 'dr.martin'")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    let c = client("10.0.0.3");
    let support = crate::harness::actor(&portal, "support.idf").await;
    assert!(matches!(
        domain::admin::users::set_directory_exception(
            &portal,
            &support,
            martin,
            Some("Nom d'usage"),
            Call::new(&c, now())
        )
        .await,
        Err(Error::Forbidden)
    ));
    let admin = crate::harness::actor(&portal, "admin.idf").await;
    domain::admin::users::set_directory_exception(
        &portal,
        &admin,
        martin,
        Some("Nom de naissance à l'Ordre, nom d'usage ici"),
        Call::new(&c, now()),
    )
    .await
    .unwrap();
    let token = link_token(sign_in(&portal, &trust, "cps-martin", b).await.unwrap());
    link(&portal, &trust, &token, b, "dr.martin", DEMO_PASSWORD)
        .await
        .unwrap();
}
