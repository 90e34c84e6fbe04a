use domain::Error;
use domain::call::Call;
use domain::demo::DEMO_PASSWORD;
use domain::routing::Landing;
use time::Duration;

use crate::harness::{audit_trail, client, seeded, sign_in, t0};

#[tokio::test]
async fn routes_by_number_of_establishments_and_audits() {
    let portal = seeded().await;
    let c = client("192.0.2.10");
    let several = sign_in(
        &portal,
        "dr.martin",
        DEMO_PASSWORD,
        None,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    assert_eq!(several.landing, Landing::Chooser);
    let one = sign_in(
        &portal,
        "Inf.Durand ",
        DEMO_PASSWORD,
        None,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    assert_eq!(
        one.landing,
        Landing::Dashboard {
            finess: domain::ids::Finess::parse(&domain::demo::establishments()[2].0).unwrap()
        }
    );
    let none = sign_in(
        &portal,
        "sec.petit",
        DEMO_PASSWORD,
        None,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    assert_eq!(none.landing, Landing::NoEstablishment);

    let trail = audit_trail(&portal.pool).await;
    let sign_ins: Vec<_> = trail
        .iter()
        .filter(|(a, _, _)| a == "auth.sign_in")
        .collect();
    assert_eq!(sign_ins.len(), 3);
    assert!(sign_ins.iter().all(|(_, o, _)| o == "success"));
    assert_eq!(sign_ins[1].2, "inf.durand");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_answer_and_the_same_work() {
    let portal = seeded().await;
    let c = client("192.0.2.11");
    let before = portal.passwords.verifications();
    let wrong = sign_in(
        &portal,
        "dr.martin",
        "not the password",
        None,
        Call::new(&c, t0()),
    )
    .await;
    let after_known = portal.passwords.verifications();
    let unknown = sign_in(
        &portal,
        "nobody.here",
        "not the password",
        None,
        Call::new(&c, t0()),
    )
    .await;
    let after_unknown = portal.passwords.verifications();
    let malformed = sign_in(
        &portal,
        "'; DROP TABLE users; --",
        "x",
        None,
        Call::new(&c, t0()),
    )
    .await;

    assert!(matches!(wrong, Err(Error::InvalidCredentials)));
    assert!(matches!(unknown, Err(Error::InvalidCredentials)));
    assert!(matches!(malformed, Err(Error::InvalidCredentials)));
    // Exactly one Argon2id verification on each path…
    assert_eq!(after_known - before, 1);
    assert_eq!(after_unknown - after_known, 1);
    // …with the same parameters: the dummy hash costs what a real one costs.
    let stored: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE username = 'dr.martin'")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(
        domain::password::params_of(&stored),
        portal.passwords.dummy_params()
    );

    let trail = audit_trail(&portal.pool).await;
    let failures: Vec<_> = trail
        .iter()
        .filter(|(a, o, _)| a == "auth.password.sign_in" && o == "failure")
        .map(|(_, _, l)| l.as_str())
        .collect();
    // What was typed for no account is kept as a keyed hash only (it may be a password).
    let key = domain::audit::IdentifierKey::new(crate::harness::IDENTIFIER_KEY);
    assert_eq!(
        failures,
        [
            "dr.martin".to_string(),
            key.label("nobody.here"),
            key.label("'; DROP TABLE users; --"),
        ]
    );
    assert!(failures[1].starts_with("#inconnu-") && failures[1] != failures[2]);
}

#[tokio::test]
async fn lockout_after_five_failures_is_the_same_for_unknown_users_and_expires() {
    let portal = seeded().await;
    let c = client("192.0.2.12");
    for attempt in 1..=5 {
        let r = sign_in(&portal, "dr.martin", "wrong", None, Call::new(&c, t0())).await;
        if attempt < 5 {
            assert!(
                matches!(r, Err(Error::InvalidCredentials)),
                "attempt {attempt}: {r:?}"
            );
        } else {
            assert!(
                matches!(r, Err(Error::Locked { .. })),
                "attempt {attempt}: {r:?}"
            );
        }
    }
    // Locked: even the right password is refused, without verifying it.
    let before = portal.passwords.verifications();
    let r = sign_in(
        &portal,
        "dr.martin",
        DEMO_PASSWORD,
        None,
        Call::new(&c, t0() + Duration::minutes(1)),
    )
    .await;
    assert!(matches!(r, Err(Error::Locked { until, .. }) if until == t0() + Duration::minutes(15)));
    assert_eq!(portal.passwords.verifications(), before);

    // An identifier that does not exist locks exactly the same way.
    for attempt in 1..=5 {
        let r = sign_in(&portal, "ghost.user", "wrong", None, Call::new(&c, t0())).await;
        assert_eq!(
            matches!(r, Err(Error::Locked { .. })),
            attempt == 5,
            "attempt {attempt}"
        );
    }

    // Fifteen minutes later the lock is over.
    let later = t0() + Duration::minutes(15) + Duration::seconds(1);
    assert!(
        sign_in(
            &portal,
            "dr.martin",
            DEMO_PASSWORD,
            None,
            Call::new(&c, later)
        )
        .await
        .is_ok()
    );

    let trail = audit_trail(&portal.pool).await;
    assert_eq!(
        trail.iter().filter(|(a, _, _)| a == "auth.lockout").count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_cannot_exceed_the_limit() {
    let mut portal = seeded().await;
    // This test is about the account's limit: keep the address limit out of the way.
    portal.address_throttle.max_failures = 1_000;
    let portal = std::sync::Arc::new(portal);
    let before = portal.passwords.verifications();
    let (_, locked) = guess_in_parallel(std::slice::from_ref(&portal), 40, "192.0.2.13").await;
    let verified = portal.passwords.verifications() - before;
    assert!(
        verified <= 5,
        "{verified} passwords were verified for a limit of 5"
    );
    assert!(locked >= 35);
    let attempts: i32 = sqlx::query_scalar(
        "SELECT attempts FROM auth_throttle WHERE scope = 'account' AND key = 'dr.martin'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert!(attempts >= 5);
}

#[tokio::test]
async fn one_address_is_limited_across_identifiers() {
    let mut portal = seeded().await;
    portal.address_throttle = domain::throttle::Policy {
        max_failures: 3,
        ..domain::throttle::Policy::ADDRESS_DEFAULT
    };
    let c = client("198.51.100.99");
    for name in ["a.one", "b.two", "c.three"] {
        assert!(matches!(
            sign_in(&portal, name, "x", None, Call::new(&c, t0())).await,
            Err(Error::InvalidCredentials)
        ));
    }
    assert!(matches!(
        sign_in(
            &portal,
            "dr.martin",
            DEMO_PASSWORD,
            None,
            Call::new(&c, t0())
        )
        .await,
        Err(Error::AddressThrottled { .. })
    ));
    // Another address is not affected.
    assert!(
        sign_in(
            &portal,
            "dr.martin",
            DEMO_PASSWORD,
            None,
            Call::new(&client("198.51.100.100"), t0())
        )
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn a_disabled_account_is_told_only_after_the_right_password() {
    let portal = seeded().await;
    sqlx::query("UPDATE users SET status = 'disabled' WHERE username = 'inf.durand'")
        .execute(&portal.pool)
        .await
        .unwrap();
    let c = client("192.0.2.14");
    assert!(matches!(
        sign_in(&portal, "inf.durand", "wrong", None, Call::new(&c, t0())).await,
        Err(Error::InvalidCredentials)
    ));
    assert!(matches!(
        sign_in(
            &portal,
            "inf.durand",
            DEMO_PASSWORD,
            None,
            Call::new(&c, t0())
        )
        .await,
        Err(Error::AccountUnavailable(
            domain::accounts::UserStatus::Disabled
        ))
    ));
}

#[tokio::test]
async fn a_hash_made_with_old_parameters_is_upgraded_at_sign_in() {
    let mut portal = seeded().await;
    let stronger = domain::password::Passwords::new(domain::password::Cost {
        memory_kib: 2048,
        iterations: 1,
        parallelism: 1,
    })
    .unwrap();
    portal.passwords = std::sync::Arc::new(stronger);
    sign_in(
        &portal,
        "dr.martin",
        DEMO_PASSWORD,
        None,
        Call::new(&client("192.0.2.15"), t0()),
    )
    .await
    .unwrap();
    let stored: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE username = 'dr.martin'")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert!(stored.contains("m=2048"), "{stored}");
}

#[tokio::test]
async fn accounts_get_long_passwords_only() {
    use domain::ids::{Email, RegionCode, Username};
    use domain::provisioning::{AccountSpec, create_account};
    let portal = seeded().await;
    let spec = |password: &str| AccountSpec {
        username: Username::parse("nouveau.compte").unwrap(),
        email: Email::parse("nouveau@chu.example.fr").unwrap(),
        family_name: "Nouveau".into(),
        given_name: "Compte".into(),
        rpps: None,
        region: RegionCode::parse("FR-BRE").unwrap(),
        password: Some(password.into()),
        role: None,
        establishments: vec![],
    };
    let short = create_account(
        &portal.pool,
        &portal.passwords,
        &spec("court-11car"),
        "test",
        "https://passerelle.test",
        t0(),
    )
    .await;
    assert!(matches!(
        short,
        Err(Error::InvalidInput {
            field: "password",
            ..
        })
    ));
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE username = 'nouveau.compte')")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert!(!exists, "a refused account leaves nothing behind");

    create_account(
        &portal.pool,
        &portal.passwords,
        &spec("une phrase de passe assez longue"),
        "test",
        "https://passerelle.test",
        t0(),
    )
    .await
    .unwrap();
    assert!(
        sign_in(
            &portal,
            "nouveau.compte",
            "une phrase de passe assez longue",
            None,
            Call::new(&client("192.0.2.30"), t0())
        )
        .await
        .is_ok()
    );
    // The same username twice is a conflict, not a second account.
    let again = create_account(
        &portal.pool,
        &portal.passwords,
        &spec("une autre phrase de passe longue"),
        "test",
        "https://passerelle.test",
        t0(),
    )
    .await;
    assert!(matches!(again, Err(Error::Conflict(c)) if c == "users_username_key"));
}

/// Two instances (each its own pool and its own Argon2 slots, as two processes have) over one
/// database: 50 wrong passwords at once, alternating between them, are verified exactly as many
/// times as the limit allows; every other one is refused as locked, unverified.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_across_two_instances_lock_after_exactly_the_limit() {
    let mut first = seeded().await;
    first.address_throttle.max_failures = 1_000;
    let options = (*first.pool.connect_options()).clone();
    let second = domain::auth::Portal {
        pool: sqlx::postgres::PgPoolOptions::new()
            .max_connections(10)
            .connect_with(options)
            .await
            .unwrap(),
        passwords: crate::harness::passwords(),
        sessions: first.sessions,
        account_throttle: first.account_throttle,
        address_throttle: first.address_throttle,
        otp_for_all: first.otp_for_all,
        public_origin: first.public_origin.clone(),
        code_lifetime: first.code_lifetime,
        psc: domain::auth::psc::Settings::default(),
        identifier_key: domain::audit::IdentifierKey::new(crate::harness::IDENTIFIER_KEY),
        sign_in_policy: domain::sign_in_policy::SignInPolicy::any(),
        dormancy: first.dormancy,
    };
    let instances = [std::sync::Arc::new(first), std::sync::Arc::new(second)];
    let before: Vec<u64> = instances
        .iter()
        .map(|p| p.passwords.verifications())
        .collect();
    let (wrong, locked) = guess_in_parallel(&instances, 50, "192.0.2.14").await;
    let limit = domain::throttle::Policy::ACCOUNT_DEFAULT.max_failures;
    let verified: u64 = instances
        .iter()
        .zip(before)
        .map(|(p, b)| p.passwords.verifications() - b)
        .sum();
    assert_eq!(verified, u64::try_from(limit).unwrap());
    // The last failure allowed is the one that locks: it is answered "locked" too.
    assert_eq!((wrong, locked), (limit - 1, 50 - limit + 1));
}

/// `n` wrong passwords for dr.martin at once from `address`, spread over `instances` in turn:
/// how many were answered "wrong" and how many "locked" (anything else fails the test).
async fn guess_in_parallel(
    instances: &[std::sync::Arc<domain::auth::Portal>],
    n: usize,
    address: &'static str,
) -> (i32, i32) {
    let mut tasks = Vec::new();
    for i in 0..n {
        let portal = instances[i % instances.len()].clone();
        tasks.push(tokio::spawn(async move {
            sign_in(
                &portal,
                "dr.martin",
                &format!("guess-{i}"),
                None,
                Call::new(&client(address), t0()),
            )
            .await
        }));
    }
    let (mut wrong, mut locked) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Err(Error::Locked { .. }) => locked += 1,
            Err(Error::InvalidCredentials) => wrong += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    (wrong, locked)
}
