//! Hardening after the security review of 37e6334 (issue 14): demo accounts, wrong e-mail codes
//! across sign-ins, what the audit log keeps of unknown identifiers, the desk and the audit log,
//! FINESS numbers and regions, audited console refusals, e-mail changes.

use domain::Error;
use domain::admin::establishments;
use domain::admin::users::{self, Identity};
use domain::auth::otp::{self, CodeError};
use domain::auth::{PasswordOutcome, account_links, code_step, password};
use domain::call::Call;
use domain::demo::DEMO_PASSWORD;
use domain::ids::{Email, Finess, IdError, RegionCode, luhn_check_digit};

use crate::harness::{IDENTIFIER_KEY, actor, client, no_link, seeded, t0};

async fn user_id(pool: &sqlx::PgPool, username: &str) -> uuid::Uuid {
    sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn count(pool: &sqlx::PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

// --- L-1: wrong e-mail codes count until a right code, not until a right password ---

async fn code_step(portal: &domain::auth::Portal, c: &domain::audit::Client) -> (String, String) {
    let token =
        match password::sign_in(portal, "dr.martin", DEMO_PASSWORD, None, Call::new(c, t0()))
            .await
            .unwrap()
        {
            PasswordOutcome::CodeRequired { token } => token,
            PasswordOutcome::SignedIn(_) => panic!("the e-mail code was required"),
        };
    otp::send_code(portal, &token, Call::new(c, t0()))
        .await
        .unwrap();
    let text: String = sqlx::query_scalar(
        "SELECT text_body FROM mail_outbox WHERE kind = 'sign_in_code' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    let code = text
        .split(|ch: char| !ch.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_string();
    (token, code)
}

#[tokio::test]
async fn signing_in_again_does_not_give_new_guesses_at_the_e_mail_code() {
    let mut portal = seeded().await;
    portal.otp_for_all = true;
    let c = client("192.0.2.90");
    // The attacker knows the password: sign in, four wrong codes (the fifth would end the step)…
    let (token, code) = code_step(&portal, &c).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in [4, 3, 2, 1] {
        let r =
            code_step::verify_code(&portal, &token, wrong, no_link(), None, Call::new(&c, t0()))
                .await;
        assert!(
            matches!(r, Err(Error::Code(CodeError::Wrong { attempts_left })) if attempts_left == left),
            "{r:?}"
        );
    }
    // …then the right password again, for a fresh step: its first wrong code is the account's
    // fifth, and the codes are locked.
    let (token, code) = code_step(&portal, &c).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r =
        code_step::verify_code(&portal, &token, wrong, no_link(), None, Call::new(&c, t0())).await;
    assert!(matches!(r, Err(Error::Locked { .. })), "{r:?}");
    // Locked: not even the right code of that step, no new step, no new code.
    let r =
        code_step::verify_code(&portal, &token, &code, no_link(), None, Call::new(&c, t0())).await;
    assert!(
        matches!(r, Err(Error::Code(CodeError::StepExpired))),
        "{r:?}"
    );
    let r = password::sign_in(
        &portal,
        "dr.martin",
        DEMO_PASSWORD,
        None,
        Call::new(&c, t0()),
    )
    .await;
    assert!(matches!(r, Err(Error::Locked { .. })), "{r:?}");
    let locked = count(
        &portal.pool,
        "SELECT count(*) FROM auth_throttle WHERE scope = 'email_code' AND key = 'dr.martin' AND locked_until IS NOT NULL",
    )
    .await;
    assert_eq!(locked, 1);
    // The desk sees the lock and lifts it.
    let support = actor(&portal, "support.idf").await;
    let id = user_id(&portal.pool, "dr.martin").await;
    let d = users::detail(&portal, &support, id, Call::new(&c, t0()))
        .await
        .unwrap();
    assert!(d.locked_until.is_some());
    users::unlock(&portal, &support, id, Call::new(&c, t0()))
        .await
        .unwrap();
    let (token, code) = code_step(&portal, &c).await;
    assert!(
        code_step::verify_code(&portal, &token, &code, no_link(), None, Call::new(&c, t0()))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_right_code_starts_the_wrong_code_count_afresh() {
    let mut portal = seeded().await;
    portal.otp_for_all = true;
    let c = client("192.0.2.91");
    for _ in 0..3 {
        let (token, code) = code_step(&portal, &c).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..4 {
            let r = code_step::verify_code(
                &portal,
                &token,
                wrong,
                no_link(),
                None,
                Call::new(&c, t0()),
            )
            .await;
            assert!(
                matches!(r, Err(Error::Code(CodeError::Wrong { .. }))),
                "{r:?}"
            );
        }
        code_step::verify_code(&portal, &token, &code, no_link(), None, Call::new(&c, t0()))
            .await
            .unwrap();
    }
}

// --- L-4: what is typed for no account is not kept ---

#[tokio::test]
async fn a_password_typed_as_the_username_is_not_kept_in_the_audit_log() {
    let portal = seeded().await;
    let c = client("192.0.2.92");
    let typed = "MonMotDePasse-Secret-2026";
    let r = password::sign_in(&portal, typed, "x", None, Call::new(&c, t0())).await;
    assert!(matches!(r, Err(Error::InvalidCredentials)), "{r:?}");
    account_links::request_reset(&portal, typed, Call::new(&c, t0()))
        .await
        .unwrap();
    // Five more: the lockout rows too.
    for _ in 0..5 {
        let _ = password::sign_in(&portal, typed, "x", None, Call::new(&c, t0())).await;
    }
    let leaked = sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM audit_log WHERE lower(audit_log::text) LIKE '%' || lower($1) || '%'",
    )
    .bind("MotDePasse-Secret")
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(leaked, 0, "the typed text is in the audit log");
    let label = domain::audit::IdentifierKey::new(IDENTIFIER_KEY).label(typed);
    assert!(label.starts_with(domain::audit::UNKNOWN_ACCOUNT_PREFIX));
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, actor_label FROM audit_log WHERE action LIKE 'auth.%' AND actor_label LIKE '#%'",
    )
    .fetch_all(&portal.pool)
    .await
    .unwrap();
    assert!(rows.len() >= 7, "{rows:?}");
    assert!(rows.iter().all(|(_, l)| *l == label), "{rows:?}");
    assert!(rows.iter().any(|(a, _)| a == "auth.password_reset.request"));
    assert!(rows.iter().any(|(a, _)| a == "auth.lockout"));
    // Another key, another label: the hash cannot be recomputed without the server's key.
    assert_ne!(
        domain::audit::IdentifierKey::new([8; 32]).label(typed),
        label
    );
    // A known account keeps its name.
    let _ = password::sign_in(&portal, "Dr.Martin ", "faux", None, Call::new(&c, t0())).await;
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM audit_log WHERE action = 'auth.password.sign_in' AND actor_label = 'dr.martin'"
        )
        .await,
        1
    );
}

// --- L-4: the support desk reads no audit rows ---

#[tokio::test]
async fn the_support_desk_gets_no_audit_rows_with_an_account() {
    let portal = seeded().await;
    let c = client("192.0.2.93");
    let _ = password::sign_in(&portal, "inf.durand", "faux", None, Call::new(&c, t0())).await;
    let id = user_id(&portal.pool, "inf.durand").await;
    let support = actor(&portal, "support.idf").await;
    let d = users::detail(&portal, &support, id, Call::new(&c, t0()))
        .await
        .unwrap();
    assert!(d.recent.is_empty(), "{:?}", d.recent);
    let admin = actor(&portal, "admin.idf").await;
    let d = users::detail(&portal, &admin, id, Call::new(&c, t0()))
        .await
        .unwrap();
    assert!(
        d.recent
            .iter()
            .any(|r| r.action == "auth.password.sign_in" && r.ip.as_deref() == Some("192.0.2.93"))
    );
}

// --- L-4: a FINESS number belongs to its department's region ---

#[tokio::test]
async fn a_finess_number_is_created_in_its_own_region_only() {
    let portal = seeded().await;
    let c = client("192.0.2.94");
    let finess =
        |body: &str| Finess::parse(&format!("{body}{}", luhn_check_digit(body).unwrap())).unwrap();
    let fields = establishments::Fields {
        name: "Clinique du Rhône".into(),
        city: "Lyon".into(),
        active: true,
    };
    let idf = RegionCode::parse("FR-IDF").unwrap();
    let ara = RegionCode::parse("FR-ARA").unwrap();
    // A Lyon number (department 69) taken first by Île-de-France: refused, for every role.
    for who in ["admin.idf", "admin.national"] {
        let a = actor(&portal, who).await;
        let r = establishments::create(
            &portal,
            &a,
            &finess("69000009"),
            &idf,
            &fields,
            None,
            Call::new(&c, t0()),
        )
        .await;
        assert!(
            matches!(
                r,
                Err(Error::InvalidInput {
                    field: "finess",
                    reason: IdError::OtherRegion
                })
            ),
            "{who}: {r:?}"
        );
    }
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM establishments WHERE name = 'Clinique du Rhône'"
        )
        .await,
        0
    );
    // In its own region it is created; the command line follows the same rule.
    let national = actor(&portal, "admin.national").await;
    establishments::create(
        &portal,
        &national,
        &finess("69000009"),
        &ara,
        &fields,
        None,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    let r = domain::provisioning::create_establishment(
        &portal.pool,
        &finess("13000009"),
        "Centre",
        "Marseille",
        &idf,
        "test",
        t0(),
    )
    .await;
    assert!(
        matches!(
            r,
            Err(Error::InvalidInput {
                field: "finess",
                ..
            })
        ),
        "{r:?}"
    );
}

// --- L-4: the two console refusals that were not audited ---

#[tokio::test]
async fn the_import_list_and_the_new_account_form_refusals_are_audited() {
    let portal = seeded().await;
    let c = client("192.0.2.95");
    let support = actor(&portal, "support.idf").await;
    let r = domain::import::uploads::recent(&portal, &support, Call::new(&c, t0())).await;
    assert!(matches!(r, Err(Error::Forbidden)), "{r:?}");
    let r = users::creation_scope(&portal, &support, Call::new(&c, t0())).await;
    assert!(matches!(r, Err(Error::Forbidden)), "{r:?}");
    let denied: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, actor_label FROM audit_log WHERE outcome = 'denied' ORDER BY id",
    )
    .fetch_all(&portal.pool)
    .await
    .unwrap();
    assert_eq!(
        denied,
        [
            ("admin.import.list".to_string(), "support.idf".to_string()),
            ("admin.user.new".to_string(), "support.idf".to_string()),
        ]
    );
    let admin = actor(&portal, "admin.idf").await;
    assert!(
        domain::import::uploads::recent(&portal, &admin, Call::new(&c, t0()))
            .await
            .is_ok()
    );
    assert!(
        users::creation_scope(&portal, &admin, Call::new(&c, t0()))
            .await
            .is_ok()
    );
}

// --- L-4: an e-mail change in the console reaches the old address too ---

#[tokio::test]
async fn a_console_e_mail_change_tells_the_old_address_and_the_new_one() {
    let portal = seeded().await;
    let c = client("192.0.2.96");
    let admin = actor(&portal, "admin.idf").await;
    let id = user_id(&portal.pool, "inf.durand").await;
    let d = users::detail(&portal, &admin, id, Call::new(&c, t0()))
        .await
        .unwrap();
    let old = d.user.email.clone();
    let identity = Identity {
        declared_national_id: None,
        email: Email::parse("paul.durand@ailleurs.example").unwrap(),
        family_name: d.user.family_name.clone(),
        given_name: d.user.given_name.clone(),
        rpps: d.user.rpps.clone(),
        version: d.user.version,
    };
    users::edit(&portal, &admin, id, &identity, Call::new(&c, t0()))
        .await
        .unwrap();
    let mails: Vec<(String, String)> = sqlx::query_as(
        "SELECT recipient, text_body FROM mail_outbox WHERE kind = 'email_changed' ORDER BY id",
    )
    .fetch_all(&portal.pool)
    .await
    .unwrap();
    let to: Vec<&str> = mails.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(to, [old.as_str(), "paul.durand@ailleurs.example"]);
    for (_, text) in &mails {
        assert!(text.contains(old.as_str()) && text.contains("paul.durand@ailleurs.example"));
        assert!(text.contains("Assistance aux utilisateurs"));
    }
    // A change of name only sends nothing.
    let d = users::detail(&portal, &admin, id, Call::new(&c, t0()))
        .await
        .unwrap();
    let identity = Identity {
        declared_national_id: None,
        family_name: "Durand-Second".into(),
        version: d.user.version,
        ..identity
    };
    users::edit(&portal, &admin, id, &identity, Call::new(&c, t0()))
        .await
        .unwrap();
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM mail_outbox WHERE kind = 'email_changed'"
        )
        .await,
        2
    );
}

// --- M-3: which demo accounts an https deployment must refuse ---

#[tokio::test]
async fn demo_accounts_are_those_still_open_with_the_published_password() {
    let portal = seeded().await;
    let all = domain::demo::present(&portal.pool, &portal.passwords)
        .await
        .unwrap();
    assert_eq!(all.len(), 8, "{all:?}");
    assert!(all.contains(&"admin.national".to_string()));
    // A real national administrator with a password of their own, and a disabled demo account,
    // are not demo accounts any more.
    let hash = portal
        .passwords
        .hash("une phrase de passe bien longue")
        .unwrap();
    sqlx::query("UPDATE users SET password_hash = $1 WHERE username = 'admin.national'")
        .bind(&hash)
        .execute(&portal.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE users SET status = 'disabled' WHERE username = 'dr.martin'")
        .execute(&portal.pool)
        .await
        .unwrap();
    let left = domain::demo::present(&portal.pool, &portal.passwords)
        .await
        .unwrap();
    assert_eq!(left.len(), 6, "{left:?}");
    assert!(!left.contains(&"admin.national".to_string()));
    assert!(!left.contains(&"dr.martin".to_string()));
    // An empty database has none.
    let empty = crate::harness::fresh_pool().await;
    assert!(
        domain::demo::present(&empty, &portal.passwords)
            .await
            .unwrap()
            .is_empty()
    );
}
