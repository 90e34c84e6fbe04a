//! TIQR enrollment and sign-in against a real PostgreSQL, with a test "phone" that behaves like
//! the real apps: Android (lowercase hex secret, unset fields omitted) and iOS (UPPERCASE hex,
//! `(null)` for unset fields, no Content-Type — the body alone is parsed). The phone keeps its
//! secret XOR SHA-256(PIN), as a PIN-protected key store would: a wrong PIN silently gives a
//! wrong key, hence a wrong OCRA response, exactly as with the real apps.

use domain::Error;
use domain::auth::card::Browser;
use domain::auth::tiqr::enrollment::{self, EnrollmentStatus, TiqrState};
use domain::auth::tiqr::sign_in::{self, Poll};
use domain::auth::tiqr::{self, Identity, Reply, SecretBox, TiqrService, ocra, parse_app_form};
use domain::auth::{Auth, SignedIn};
use domain::routing::Landing;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};

use uuid::Uuid;

use super::harness::{actor, client, seeded, t0};

const BOX_KEY: [u8; 32] = [7; 32];
const PIN: &str = "1234";

pub(super) fn service() -> TiqrService {
    let s = TiqrService {
        display_name: "Passerelle".into(),
        identifier: "passerelle.test".into(),
        logo_url: "https://passerelle.test/tiqr/logo.png".into(),
        info_url: "https://passerelle.test/aide/tiqr".into(),
        authentication_url: "https://passerelle.test/tiqr/auth".into(),
        metadata_url: "https://passerelle.test/tiqr/metadata".into(),
        enrollment_url: "https://passerelle.test/tiqr/enroll".into(),
        sp_identifier: "passerelle.test".into(),
    };
    s.validate().unwrap();
    s
}

fn secrets() -> SecretBox {
    SecretBox::new(&BOX_KEY)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Platform {
    Android,
    Ios,
}

/// The phone side of the protocol.
struct Phone {
    platform: Platform,
    /// secret XOR SHA-256(PIN): the PIN never leaves the phone, a wrong one gives a wrong key.
    stored: [u8; 32],
    identity: String,
}

fn query_param<'a>(url: &'a str, name: &str) -> &'a str {
    let (_, query) = url.split_once('?').unwrap();
    query
        .split('&')
        .find_map(|p| p.strip_prefix(&format!("{name}=")))
        .unwrap()
}

fn pin_mask(pin: &str) -> [u8; 32] {
    Sha256::digest(pin.as_bytes()).into()
}

impl Phone {
    /// Scans the enrollment QR, fetches the metadata, chooses `pin`, posts the secret.
    async fn enroll(auth: &Auth, qr: &str, platform: Platform, now: OffsetDateTime) -> Phone {
        let url = qr.strip_prefix("tiqrenroll://").unwrap();
        assert!(url.starts_with("https://passerelle.test/tiqr/metadata?key="));
        let meta = enrollment::metadata(auth, &service(), query_param(url, "key"), now)
            .await
            .unwrap();
        // Android refuses the enrollment unless all nine strings are there and non-null.
        for field in [
            "displayName",
            "identifier",
            "logoUrl",
            "infoUrl",
            "authenticationUrl",
            "ocraSuite",
            "enrollmentUrl",
        ] {
            assert!(meta["service"][field].is_string(), "service.{field}");
        }
        for field in ["identifier", "displayName"] {
            assert!(meta["identity"][field].is_string(), "identity.{field}");
        }
        assert_eq!(meta["service"]["ocraSuite"], "OCRA-1:HOTP-SHA1-6:QH10-S");
        assert_eq!(meta["service"]["identifier"], "passerelle.test");
        let identity = meta["identity"]["identifier"].as_str().unwrap().to_string();
        assert!(Identity::parse(&identity).is_ok());
        assert!(!identity.contains("martin"));
        let enrollment_url = meta["service"]["enrollmentUrl"].as_str().unwrap();
        let otp = query_param(enrollment_url, "otp");

        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let body = match platform {
            Platform::Android => format!(
                "secret={}&language=fr&operation=register",
                hex::encode(secret)
            ),
            Platform::Ios => format!(
                "secret={}&language=fr-FR&notificationType=APNS&notificationAddress=(null)&version=(null)&operation=register",
                hex::encode_upper(secret)
            ),
        };
        let form = parse_app_form(body.as_bytes()).unwrap();
        let reply = enrollment::finish_enrollment(
            auth,
            &secrets(),
            otp,
            &form,
            &client("198.51.100.7"),
            now,
        )
        .await
        .unwrap();
        assert_eq!(reply.as_str(), "OK");
        let mask = pin_mask(PIN);
        let mut stored = [0u8; 32];
        for i in 0..32 {
            stored[i] = secret[i] ^ mask[i];
        }
        Phone {
            platform,
            stored,
            identity,
        }
    }

    /// The OCRA response the app computes for a `tiqrauth://` URL with `pin`.
    fn respond(&self, url: &str, pin: &str) -> (String, String) {
        let rest = url.strip_prefix("tiqrauth://").unwrap();
        let parts: Vec<&str> = rest.split('/').collect();
        assert_eq!(parts.len(), 5, "{url}");
        assert_eq!(parts[4], "2");
        assert!(!parts[3].is_empty(), "the sp identifier is never empty");
        let host = parts[0].rsplit('@').next().unwrap();
        assert_eq!(host, "passerelle.test");
        let (session_key, challenge) = (parts[1], parts[2]);
        let mask = pin_mask(pin);
        let mut key = [0u8; 32];
        for i in 0..32 {
            key[i] = self.stored[i] ^ mask[i];
        }
        let key_hex = match self.platform {
            Platform::Android => hex::encode(key),
            Platform::Ios => hex::encode_upper(key),
        };
        let response = ocra::Suite::parse(ocra::TIQR_SUITE)
            .unwrap()
            .compute(
                &key_hex,
                &ocra::Inputs {
                    question: challenge,
                    session: Some(session_key),
                    ..ocra::Inputs::default()
                },
            )
            .unwrap();
        (session_key.to_string(), response)
    }

    fn login_body(&self, session_key: &str, response: &str) -> String {
        match self.platform {
            Platform::Android => format!(
                "sessionKey={session_key}&userId={}&response={response}&language=fr&operation=login",
                self.identity
            ),
            Platform::Ios => format!(
                "sessionKey={session_key}&userId={}&response={response}&language=fr-FR&notificationType=APNS&notificationAddress=(null)&operation=login&version=(null)",
                self.identity
            ),
        }
    }

    /// Scans the sign-in QR, types `pin`, posts; returns the server's reply text.
    async fn login(
        &self,
        auth: &Auth,
        url: &str,
        pin: &str,
        ip: &str,
        now: OffsetDateTime,
    ) -> &'static str {
        let (session_key, response) = self.respond(url, pin);
        post_login(auth, &self.login_body(&session_key, &response), ip, now).await
    }
}

async fn post_login(auth: &Auth, body: &str, ip: &str, now: OffsetDateTime) -> &'static str {
    let reply = match parse_app_form(body.as_bytes()) {
        Ok(form) => sign_in::app_login(auth, &secrets(), &form, &client(ip), now)
            .await
            .unwrap(),
        Err(_) => Reply::InvalidRequest,
    };
    reply.as_str()
}

async fn user_id(pool: &PgPool, username: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// dr.martin enrolls a phone from their security page.
async fn enrolled(auth: &Auth, platform: Platform) -> (Uuid, Phone) {
    let martin = user_id(&auth.pool, "dr.martin").await;
    let page = Browser::of_secret("security-page");
    let start =
        enrollment::start_enrollment(auth, &service(), martin, page, &client("192.0.2.10"), t0())
            .await
            .unwrap();
    let phone = Phone::enroll(auth, &start.qr, platform, t0()).await;
    (martin, phone)
}

async fn signed_in(auth: &Auth, browser: Browser, now: OffsetDateTime) -> SignedIn {
    match sign_in::poll(auth, browser, None, &client("192.0.2.20"), now)
        .await
        .unwrap()
    {
        Poll::SignedIn(s) => s,
        other => panic!("expected a session, got {other:?}"),
    }
}

#[tokio::test]
async fn enroll_from_the_security_page_then_sign_in_by_qr() {
    let auth = seeded().await;
    let martin = user_id(&auth.pool, "dr.martin").await;
    let page = Browser::of_secret("security-page");
    let c = client("192.0.2.10");
    assert_eq!(
        enrollment::enrollment_status(&auth, page, martin, t0())
            .await
            .unwrap(),
        EnrollmentStatus::Idle
    );
    let start = enrollment::start_enrollment(&auth, &service(), martin, page, &c, t0())
        .await
        .unwrap();
    assert_eq!(start.metadata_key.len(), 32);
    assert_eq!(
        start.qr,
        format!(
            "tiqrenroll://https://passerelle.test/tiqr/metadata?key={}",
            start.metadata_key
        )
    );
    assert_eq!(
        enrollment::enrollment_status(&auth, page, martin, t0())
            .await
            .unwrap(),
        EnrollmentStatus::Initialized
    );
    // Another browser (or another user) sees nothing of it.
    assert_eq!(
        enrollment::enrollment_status(&auth, Browser::of_secret("other"), martin, t0())
            .await
            .unwrap(),
        EnrollmentStatus::Idle
    );

    let phone = Phone::enroll(&auth, &start.qr, Platform::Android, t0()).await;
    // The metadata is served once.
    assert!(matches!(
        enrollment::metadata(&auth, &service(), &start.metadata_key, t0()).await,
        Err(Error::TiqrExpired)
    ));
    assert_eq!(
        enrollment::enrollment_status(&auth, page, martin, t0())
            .await
            .unwrap(),
        EnrollmentStatus::Processed
    );
    assert_eq!(
        enrollment::enrollment_status(&auth, page, martin, t0())
            .await
            .unwrap(),
        EnrollmentStatus::Finalized
    );
    let mine = enrollment::list_enrollments(&auth, martin).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].identity, phone.identity);
    assert_eq!(mine[0].state, TiqrState::Active);
    assert_eq!(mine[0].name, "Téléphone du 23/11/2026");
    assert!(mine[0].last_used_at.is_none());
    // The secret is sealed: not in the row in any spelling.
    let (sealed, nonce): (Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT secret_sealed, secret_nonce FROM tiqr_enrollments")
            .fetch_one(&auth.pool)
            .await
            .unwrap();
    assert_eq!(nonce.len(), 24);
    assert_eq!(sealed.len(), 32 + 16);

    // Sign-in: a QR without identity, the app picks the account.
    let browser = Browser::of_secret("sign-in-page");
    let qr = sign_in::start_sign_in(&auth, &service(), browser, None, t0())
        .await
        .unwrap();
    assert!(!qr.bound);
    assert_eq!(
        qr.url,
        format!(
            "tiqrauth://passerelle.test/{}/{}/passerelle.test/2",
            qr.session_key, qr.challenge
        )
    );
    assert_eq!(qr.session_key.len(), 32);
    assert_eq!(qr.challenge.len(), 10);
    let later = t0() + Duration::seconds(20);
    assert!(matches!(
        sign_in::poll(&auth, browser, None, &c, later)
            .await
            .unwrap(),
        Poll::Pending
    ));
    assert_eq!(
        phone
            .login(&auth, &qr.url, PIN, "198.51.100.7", later)
            .await,
        "OK"
    );
    // Someone else's browser polling learns nothing; the page's own poll signs in, once.
    assert!(matches!(
        sign_in::poll(&auth, Browser::of_secret("attacker"), None, &c, later)
            .await
            .unwrap(),
        Poll::Expired
    ));
    let session = signed_in(&auth, browser, later).await;
    assert_eq!(session.user_id, martin);
    assert_eq!(session.landing, Landing::Chooser);
    assert!(matches!(
        sign_in::poll(&auth, browser, None, &c, later)
            .await
            .unwrap(),
        Poll::Expired
    ));
    // The same QR again: used up.
    assert_eq!(
        phone
            .login(&auth, &qr.url, PIN, "198.51.100.7", later)
            .await,
        "INVALID_CHALLENGE"
    );
    let method: String = sqlx::query_scalar("SELECT auth_method FROM sessions WHERE user_id = $1")
        .bind(martin)
        .fetch_one(&auth.pool)
        .await
        .unwrap();
    assert_eq!(method, "tiqr");
    let mine = enrollment::list_enrollments(&auth, martin).await.unwrap();
    assert_eq!(mine[0].last_used_at, Some(later));

    let trail: Vec<String> = super::harness::audit_trail(&auth.pool)
        .await
        .into_iter()
        .map(|(a, o, _)| format!("{a}:{o}"))
        .collect();
    for expected in [
        "tiqr.enroll_start:success",
        "tiqr.enroll:success",
        "tiqr.sign_in:success",
        "auth.sign_in:success",
        "tiqr.failure:failure",
    ] {
        assert!(
            trail.contains(&expected.to_string()),
            "{expected} in {trail:?}"
        );
    }
}

#[tokio::test]
async fn an_ios_phone_and_an_android_phone_for_one_account_and_a_named_qr() {
    let auth = seeded().await;
    let (martin, android) = enrolled(&auth, Platform::Android).await;
    let (_, iphone) = enrolled(&auth, Platform::Ios).await;
    assert_ne!(android.identity, iphone.identity);
    let mine = enrollment::list_enrollments(&auth, martin).await.unwrap();
    assert_eq!(mine.len(), 2);
    let iphone_id = mine
        .iter()
        .find(|e| e.identity == iphone.identity)
        .unwrap()
        .id;
    enrollment::rename(
        &auth,
        martin,
        iphone_id,
        "iPhone pro",
        &client("192.0.2.10"),
        t0(),
    )
    .await
    .unwrap();

    // A QR naming the iPhone's identity: only the iPhone may answer it.
    let browser = Browser::of_secret("b");
    let identity = Identity::parse(&iphone.identity).unwrap();
    let qr = sign_in::start_sign_in(&auth, &service(), browser, Some(&identity), t0())
        .await
        .unwrap();
    assert!(qr.bound);
    assert!(
        qr.url
            .starts_with(&format!("tiqrauth://{}@passerelle.test/", iphone.identity))
    );
    assert_eq!(
        android
            .login(&auth, &qr.url, PIN, "198.51.100.8", t0())
            .await,
        "INVALID_USERID"
    );
    assert_eq!(
        iphone
            .login(&auth, &qr.url, PIN, "198.51.100.8", t0())
            .await,
        "OK"
    );
    assert_eq!(signed_in(&auth, browser, t0()).await.user_id, martin);
    let renamed: String =
        sqlx::query_scalar("SELECT name FROM tiqr_enrollments WHERE identity = $1")
            .bind(&iphone.identity)
            .fetch_one(&auth.pool)
            .await
            .unwrap();
    assert_eq!(renamed, "iPhone pro");
}

#[tokio::test]
async fn wrong_pins_count_down_then_block_and_only_the_regions_desk_unblocks() {
    let auth = seeded().await;
    let (martin, phone) = enrolled(&auth, Platform::Ios).await;
    let browser = Browser::of_secret("b");
    let qr = sign_in::start_sign_in(&auth, &service(), browser, None, t0())
        .await
        .unwrap();
    let mut replies = Vec::new();
    // Each wrong PIN on the same QR (the user retries without a new QR).
    for _ in 0..5 {
        replies.push(
            phone
                .login(&auth, &qr.url, "0000", "198.51.100.9", t0())
                .await,
        );
    }
    assert_eq!(
        replies,
        [
            "INVALID_RESPONSE:4",
            "INVALID_RESPONSE:3",
            "INVALID_RESPONSE:2",
            "INVALID_RESPONSE:1",
            "ACCOUNT_BLOCKED"
        ]
    );
    // Blocked: even the right PIN is refused, and the QR was never used.
    assert_eq!(
        phone.login(&auth, &qr.url, PIN, "198.51.100.9", t0()).await,
        "ACCOUNT_BLOCKED"
    );
    assert!(matches!(
        sign_in::poll(&auth, browser, None, &client("192.0.2.1"), t0())
            .await
            .unwrap(),
        Poll::Pending
    ));
    assert_eq!(
        count(
            &auth.pool,
            "SELECT count(*) FROM audit_log WHERE action = 'tiqr.blocked'"
        )
        .await,
        1
    );

    // The desk of another region can neither see nor unblock it; each refusal is audited.
    let ara = actor(&auth, "support.ara").await;
    let c = client("10.9.9.9");
    let enrollment_id = enrollment::list_enrollments(&auth, martin).await.unwrap()[0].id;
    assert!(matches!(
        domain::admin::tiqr::enrollments(&auth, &ara, martin, &c, t0()).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        domain::admin::tiqr::unblock(&auth, &ara, martin, enrollment_id, &c, t0()).await,
        Err(Error::Forbidden)
    ));
    assert_eq!(
        count(
            &auth.pool,
            "SELECT count(*) FROM audit_log WHERE outcome = 'denied' AND actor_label = 'support.ara'"
        )
        .await,
        2
    );
    // A professional is refused too.
    let pro = actor(&auth, "inf.durand").await;
    assert!(matches!(
        domain::admin::tiqr::unblock(&auth, &pro, martin, enrollment_id, &c, t0()).await,
        Err(Error::Forbidden)
    ));

    // The Île-de-France desk sees the state and the failures, and unblocks.
    let idf = actor(&auth, "support.idf").await;
    let listed = domain::admin::tiqr::enrollments(&auth, &idf, martin, &c, t0())
        .await
        .unwrap();
    assert_eq!(listed[0].state, TiqrState::Blocked);
    assert_eq!(listed[0].failures, 5);
    domain::admin::tiqr::unblock(&auth, &idf, martin, enrollment_id, &c, t0())
        .await
        .unwrap();
    // Unblocking an active enrollment is not found (nothing to do).
    assert!(matches!(
        domain::admin::tiqr::unblock(&auth, &idf, martin, enrollment_id, &c, t0()).await,
        Err(Error::NotFound)
    ));
    assert_eq!(
        phone.login(&auth, &qr.url, PIN, "198.51.100.9", t0()).await,
        "OK"
    );
    assert_eq!(signed_in(&auth, browser, t0()).await.user_id, martin);
    let listed = domain::admin::tiqr::enrollments(&auth, &idf, martin, &c, t0())
        .await
        .unwrap();
    assert_eq!(
        (listed[0].state, listed[0].failures),
        (TiqrState::Active, 0)
    );
    let unblock: serde_json::Value = sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE action = 'tiqr.unblock' AND outcome = 'success'",
    )
    .fetch_one(&auth.pool)
    .await
    .unwrap();
    assert_eq!(unblock["before"]["failures"], 5);

    // A right response resets the count: four wrong ones later, one attempt is still left.
    let qr = sign_in::start_sign_in(&auth, &service(), browser, None, t0())
        .await
        .unwrap();
    for _ in 0..3 {
        phone
            .login(&auth, &qr.url, "9999", "198.51.100.9", t0())
            .await;
    }
    assert_eq!(
        phone
            .login(&auth, &qr.url, "9999", "198.51.100.9", t0())
            .await,
        "INVALID_RESPONSE:1"
    );
}

#[tokio::test]
async fn a_revoked_phone_gets_invalid_userid() {
    let auth = seeded().await;
    let (martin, phone) = enrolled(&auth, Platform::Android).await;
    let enrollment_id = enrollment::list_enrollments(&auth, martin).await.unwrap()[0].id;
    let c = client("10.9.9.9");
    let ara = actor(&auth, "support.ara").await;
    assert!(matches!(
        domain::admin::tiqr::revoke(&auth, &ara, martin, enrollment_id, &c, t0()).await,
        Err(Error::Forbidden)
    ));
    let idf = actor(&auth, "support.idf").await;
    domain::admin::tiqr::revoke(&auth, &idf, martin, enrollment_id, &c, t0())
        .await
        .unwrap();
    let qr = sign_in::start_sign_in(&auth, &service(), Browser::of_secret("b"), None, t0())
        .await
        .unwrap();
    assert_eq!(
        phone
            .login(&auth, &qr.url, PIN, "198.51.100.10", t0())
            .await,
        "INVALID_USERID"
    );
    // Gone from the user's page, shown as revoked to the desk; the secret is erased.
    assert!(
        enrollment::list_enrollments(&auth, martin)
            .await
            .unwrap()
            .is_empty()
    );
    let listed = domain::admin::tiqr::enrollments(&auth, &idf, martin, &c, t0())
        .await
        .unwrap();
    assert_eq!(listed[0].state, TiqrState::Revoked);
    assert!(listed[0].revoked_at.is_some());
    assert_eq!(
        count(
            &auth.pool,
            "SELECT count(*) FROM tiqr_enrollments WHERE secret_sealed IS NOT NULL"
        )
        .await,
        0
    );
    // A named QR for a revoked identity is made unnamed: the page says nothing about it.
    let identity = Identity::parse(&phone.identity).unwrap();
    let qr = sign_in::start_sign_in(
        &auth,
        &service(),
        Browser::of_secret("b"),
        Some(&identity),
        t0(),
    )
    .await
    .unwrap();
    assert!(!qr.bound);

    // The holder revokes their own new phone too.
    let (_, second) = enrolled(&auth, Platform::Ios).await;
    let id = enrollment::list_enrollments(&auth, martin).await.unwrap()[0].id;
    enrollment::revoke_own(&auth, martin, id, &client("192.0.2.10"), t0())
        .await
        .unwrap();
    assert_eq!(
        second
            .login(&auth, &qr.url, PIN, "198.51.100.10", t0())
            .await,
        "INVALID_USERID"
    );
}

#[tokio::test]
async fn expired_and_reused_qr_codes_and_enrollment_keys() {
    let auth = seeded().await;
    let (_, phone) = enrolled(&auth, Platform::Android).await;
    let browser = Browser::of_secret("b");
    let qr = sign_in::start_sign_in(&auth, &service(), browser, None, t0())
        .await
        .unwrap();
    let late = t0() + Duration::seconds(181);
    assert_eq!(
        phone
            .login(&auth, &qr.url, PIN, "198.51.100.11", late)
            .await,
        "INVALID_CHALLENGE"
    );
    assert!(matches!(
        sign_in::poll(&auth, browser, None, &client("192.0.2.1"), late)
            .await
            .unwrap(),
        Poll::Expired
    ));
    // An unknown sessionKey.
    let forged = qr.url.replace(&qr.session_key, &"0".repeat(32));
    assert_eq!(
        phone
            .login(&auth, &forged, PIN, "198.51.100.11", t0())
            .await,
        "INVALID_CHALLENGE"
    );

    // Enrollment: the metadata key lives 300 s, the second secret 300 s from the metadata.
    let martin = user_id(&auth.pool, "dr.martin").await;
    let page = Browser::of_secret("page");
    let c = client("192.0.2.10");
    let start = enrollment::start_enrollment(&auth, &service(), martin, page, &c, t0())
        .await
        .unwrap();
    assert!(matches!(
        enrollment::metadata(
            &auth,
            &service(),
            &start.metadata_key,
            t0() + Duration::seconds(301)
        )
        .await,
        Err(Error::TiqrExpired)
    ));
    assert_eq!(
        enrollment::enrollment_status(&auth, page, martin, t0() + Duration::seconds(301))
            .await
            .unwrap(),
        EnrollmentStatus::Expired
    );
    let start = enrollment::start_enrollment(&auth, &service(), martin, page, &c, t0())
        .await
        .unwrap();
    let meta = enrollment::metadata(&auth, &service(), &start.metadata_key, t0())
        .await
        .unwrap();
    let otp = query_param(meta["service"]["enrollmentUrl"].as_str().unwrap(), "otp").to_string();
    let form = parse_app_form(format!("secret={}&operation=register", "ab".repeat(32)).as_bytes())
        .unwrap();
    assert!(matches!(
        enrollment::finish_enrollment(
            &auth,
            &secrets(),
            &otp,
            &form,
            &c,
            t0() + Duration::seconds(301)
        )
        .await,
        Err(Error::TiqrExpired)
    ));
    // In time it works, once.
    assert_eq!(
        enrollment::finish_enrollment(&auth, &secrets(), &otp, &form, &c, t0())
            .await
            .unwrap(),
        Reply::Ok
    );
    assert!(matches!(
        enrollment::finish_enrollment(&auth, &secrets(), &otp, &form, &c, t0()).await,
        Err(Error::TiqrExpired)
    ));
}

#[tokio::test]
async fn the_offline_code_signs_in_through_the_same_counter() {
    let auth = seeded().await;
    let (martin, phone) = enrolled(&auth, Platform::Ios).await;
    let browser = Browser::of_secret("b");
    let c = client("198.51.100.12");
    let qr = sign_in::start_sign_in(&auth, &service(), browser, None, t0())
        .await
        .unwrap();
    let (_, wrong) = phone.respond(&qr.url, "0000");
    let (_, right) = phone.respond(&qr.url, PIN);
    let offline = |identity: Option<&'static str>, code: String| {
        let (auth, c) = (&auth, &c);
        let identity = identity.map(|_| phone.identity.clone());
        async move {
            sign_in::offline_code(
                auth,
                &secrets(),
                browser,
                identity.as_deref(),
                &code,
                None,
                c,
                t0(),
            )
            .await
        }
    };
    // Without a named QR the identity is needed.
    assert!(matches!(
        offline(None, right.clone()).await,
        Err(Error::TiqrRequest(_))
    ));
    assert!(matches!(
        offline(Some("id"), "12 34".into()).await,
        Err(Error::TiqrRequest("code"))
    ));
    assert!(matches!(
        offline(Some("id"), wrong.clone()).await,
        Err(Error::TiqrWrongResponse { attempts_left: 4 })
    ));
    // The app's post shares the counter.
    assert_eq!(
        phone
            .login(&auth, &qr.url, "0000", "198.51.100.12", t0())
            .await,
        "INVALID_RESPONSE:3"
    );
    // Spaces typed in the code are fine.
    let spaced = format!("{} {}", &right[..3], &right[3..]);
    let s = offline(Some("id"), spaced).await.unwrap();
    assert_eq!(s.user_id, martin);
    let method: String = sqlx::query_scalar("SELECT auth_method FROM sessions WHERE user_id = $1")
        .bind(martin)
        .fetch_one(&auth.pool)
        .await
        .unwrap();
    assert_eq!(method, "tiqr");
    // The QR is used up.
    assert!(matches!(
        offline(Some("id"), right).await,
        Err(Error::TiqrExpired)
    ));

    // A named QR needs the code only.
    let identity = Identity::parse(&phone.identity).unwrap();
    let qr = sign_in::start_sign_in(&auth, &service(), browser, Some(&identity), t0())
        .await
        .unwrap();
    let (_, right) = phone.respond(&qr.url, PIN);
    assert_eq!(offline(None, right).await.unwrap().user_id, martin);
}

#[tokio::test]
async fn malformed_app_requests_are_refused_and_store_nothing() {
    let auth = seeded().await;
    let (_, phone) = enrolled(&auth, Platform::Android).await;
    let qr = sign_in::start_sign_in(&auth, &service(), Browser::of_secret("b"), None, t0())
        .await
        .unwrap();
    let (sk, response) = phone.respond(&qr.url, PIN);
    let before = (
        count(&auth.pool, "SELECT count(*) FROM audit_log").await,
        count(&auth.pool, "SELECT count(*) FROM auth_throttle").await,
    );
    let id = &phone.identity;
    for body in [
        String::new(),
        format!("sessionKey={sk}&userId={id}&response={response}&operation=register"),
        format!("sessionKey={sk}&userId={id}&response=12345&operation=login"),
        format!("sessionKey={sk}&userId={id}&operation=login"),
        format!("sessionKey=xyz&userId={id}&response={response}"),
        format!("sessionKey={sk}&userId=dr.martin%40x.fr&response={response}"),
        format!("sessionKey={sk}&userId={id}&userId={id}&response={response}"),
        format!(
            "sessionKey={sk}&userId={id}&response={response}&x={}",
            "a".repeat(5000)
        ),
        format!("sessionKey={sk}&userId=(null)&response={response}"),
    ] {
        assert_eq!(
            post_login(&auth, &body, "198.51.100.13", t0()).await,
            "INVALID_REQUEST",
            "{body:.80}"
        );
    }
    let after = (
        count(&auth.pool, "SELECT count(*) FROM audit_log").await,
        count(&auth.pool, "SELECT count(*) FROM auth_throttle").await,
    );
    assert_eq!(before, after);

    // Enrollment posts: a bad secret or operation stores nothing either.
    let martin = user_id(&auth.pool, "dr.martin").await;
    let start = enrollment::start_enrollment(
        &auth,
        &service(),
        martin,
        Browser::of_secret("p"),
        &client("192.0.2.10"),
        t0(),
    )
    .await
    .unwrap();
    let meta = enrollment::metadata(&auth, &service(), &start.metadata_key, t0())
        .await
        .unwrap();
    let otp = query_param(meta["service"]["enrollmentUrl"].as_str().unwrap(), "otp").to_string();
    for (body, field) in [
        ("secret=abcd&operation=register".to_string(), "secret"),
        (
            format!("secret={}&operation=register", "zz".repeat(32)),
            "secret",
        ),
        (
            format!("secret={}&operation=login", "ab".repeat(32)),
            "operation",
        ),
        ("secret=(null)&operation=register".to_string(), "secret"),
    ] {
        let form = parse_app_form(body.as_bytes()).unwrap();
        match enrollment::finish_enrollment(&auth, &secrets(), &otp, &form, &client("x"), t0())
            .await
        {
            Err(Error::TiqrRequest(f)) => assert_eq!(f, field),
            other => panic!("{body}: {other:?}"),
        }
    }
    assert!(matches!(
        enrollment::finish_enrollment(
            &auth,
            &secrets(),
            "not-a-key",
            &tiqr::AppForm::default(),
            &client("x"),
            t0()
        )
        .await,
        Err(Error::TiqrRequest("otp"))
    ));
    assert_eq!(
        count(&auth.pool, "SELECT count(*) FROM tiqr_enrollments").await,
        1
    );
    // The second secret is still good for a well-formed post.
    let form = parse_app_form(format!("secret={}&operation=register", "AB".repeat(32)).as_bytes())
        .unwrap();
    assert_eq!(
        enrollment::finish_enrollment(&auth, &secrets(), &otp, &form, &client("x"), t0())
            .await
            .unwrap(),
        Reply::Ok
    );
}

#[tokio::test]
async fn one_address_guessing_for_many_identities_is_stopped() {
    let mut auth = seeded().await;
    auth.address_throttle = domain::throttle::Policy {
        max_failures: 3,
        window: Duration::minutes(15),
        lock_for: Duration::minutes(15),
    };
    let (martin, phone) = enrolled(&auth, Platform::Android).await;
    let browser = Browser::of_secret("b");
    let qr = sign_in::start_sign_in(&auth, &service(), browser, None, t0())
        .await
        .unwrap();
    let (sk, _) = phone.respond(&qr.url, PIN);
    // Someone holding the username-less QR posts answers for identities they guess.
    for guess in [
        "aaaaaaaaaaaaaaaaaaaa",
        "bbbbbbbbbbbbbbbbbbbb",
        "cccccccccccccccccccc",
    ] {
        let body = format!("sessionKey={sk}&userId={guess}&response=123456&operation=login");
        assert_eq!(
            post_login(&auth, &body, "203.0.113.66", t0()).await,
            "INVALID_USERID"
        );
    }
    // The address is now throttled: even a right answer from it is refused, without costing the
    // enrollment an attempt…
    assert_eq!(
        phone.login(&auth, &qr.url, PIN, "203.0.113.66", t0()).await,
        "INVALID_REQUEST"
    );
    assert_eq!(
        enrollment::list_enrollments(&auth, martin).await.unwrap()[0].failures,
        0
    );
    assert_eq!(
        count(
            &auth.pool,
            "SELECT count(*) FROM audit_log WHERE action = 'auth.lockout' AND details->>'scope' = 'tiqr_address'"
        )
        .await,
        1
    );
    // …while the phone on another network signs in on the same QR.
    assert_eq!(
        phone
            .login(&auth, &qr.url, PIN, "198.51.100.14", t0())
            .await,
        "OK"
    );
    // Password sign-in from the throttled address is not affected (separate counters).
    super::harness::sign_in(
        &auth,
        "inf.durand",
        domain::demo::DEMO_PASSWORD,
        None,
        &client("203.0.113.66"),
        t0(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn the_desk_starts_an_enrollment_for_a_holder_at_the_desk() {
    let auth = seeded().await;
    let martin = user_id(&auth.pool, "dr.martin").await;
    let desk_screen = Browser::of_secret("desk-browser");
    let c = client("10.9.9.9");
    let ara = actor(&auth, "support.ara").await;
    assert!(matches!(
        domain::admin::tiqr::start_for_user(&auth, &service(), &ara, martin, desk_screen, &c, t0())
            .await,
        Err(Error::Forbidden)
    ));
    let denied: serde_json::Value = sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE outcome = 'denied' AND action = 'tiqr.enroll_start'",
    )
    .fetch_one(&auth.pool)
    .await
    .unwrap();
    assert_eq!(denied["permission"], "enroll_tiqr");
    assert_eq!(
        count(&auth.pool, "SELECT count(*) FROM tiqr_enrollment_starts").await,
        0
    );
    // The desk cannot enroll a phone for another administrator (taking the account over).
    let idf = actor(&auth, "support.idf").await;
    let admin_idf = user_id(&auth.pool, "admin.idf").await;
    assert!(matches!(
        domain::admin::tiqr::start_for_user(
            &auth,
            &service(),
            &idf,
            admin_idf,
            desk_screen,
            &c,
            t0()
        )
        .await,
        Err(Error::Forbidden)
    ));

    let start =
        domain::admin::tiqr::start_for_user(&auth, &service(), &idf, martin, desk_screen, &c, t0())
            .await
            .unwrap();
    let phone = Phone::enroll(&auth, &start.qr, Platform::Android, t0()).await;
    assert_eq!(
        enrollment::enrollment_status(&auth, desk_screen, martin, t0())
            .await
            .unwrap(),
        EnrollmentStatus::Processed
    );
    let listed = domain::admin::tiqr::enrollments(&auth, &idf, martin, &c, t0())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].enrolled_by, idf.user_id);
    assert_eq!(listed[0].identity, phone.identity);
    let started: (String, Option<String>) = sqlx::query_as(
        "SELECT actor_label, actor_role FROM audit_log WHERE action = 'tiqr.enroll_start' AND outcome = 'success'",
    )
    .fetch_one(&auth.pool)
    .await
    .unwrap();
    assert_eq!(started, ("support.idf".into(), Some("support".into())));
}

#[tokio::test]
async fn answers_to_unknown_qr_codes_from_one_address_are_summarised() {
    let auth = seeded().await;
    let failures = "SELECT count(*) FROM audit_log WHERE action = 'tiqr.failure'";
    // Fifty answers to QR codes that do not exist: the address's 30 attempts, then its lock.
    for i in 0..50u32 {
        let body = format!(
            "sessionKey={:032x}&userId=aaaaaaaaaaaaaaaaaaaa&response=123456&operation=login",
            i + 1
        );
        post_login(
            &auth,
            &body,
            "203.0.113.77",
            t0() + Duration::milliseconds(i.into()),
        )
        .await;
    }
    // The first refusal of the minute, the one that locked the address (in full, with the lock's
    // row), the first refusal of the locked address.
    assert_eq!(count(&auth.pool, failures).await, 3);
    assert_eq!(
        count(
            &auth.pool,
            "SELECT count(*) FROM audit_log WHERE action = 'auth.lockout'"
        )
        .await,
        1
    );
    domain::refusals::flush(&auth.pool, t0() + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(count(&auth.pool, failures).await, 5);
    assert_eq!(
        count(
            &auth.pool,
            "SELECT sum((details->>'refusals')::bigint)::bigint FROM audit_log WHERE details ? 'summary'"
        )
        .await,
        29 + 20
    );
    assert!(matches!(
        domain::audit::verify(&auth.pool).await.unwrap(),
        domain::audit::Verification::Intact { .. }
    ));
}
