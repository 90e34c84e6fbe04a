//! TIQR enrollment and sign-in against a real PostgreSQL, with a test "phone" that behaves like
//! the real apps: Android (lowercase hex secret, unset fields omitted) and iOS (UPPERCASE hex,
//! `(null)` for unset fields, no Content-Type — the body alone is parsed). The phone keeps its
//! secret XOR SHA-256(PIN), as a PIN-protected key store would: a wrong PIN silently gives a
//! wrong key, hence a wrong OCRA response, exactly as with the real apps.

use domain::Error;
use domain::auth::card::Browser;
use domain::auth::otp::CodeError;
use domain::auth::tiqr::enrollment::{self, EnrollmentStatus, TiqrState};
use domain::auth::tiqr::sign_in::{self, Poll};
use domain::auth::tiqr::{self, Identity, Reply, SecretBox, TiqrService, ocra, parse_app_form};
use domain::auth::{Portal, SignedIn};
use domain::call::Call;
use domain::routing::Landing;
use domain::sessions::{self, Session};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use time::{Duration, OffsetDateTime};

use uuid::Uuid;

use super::harness::{actor, client, seeded, t0};

/// `[tiqr] new_phone_hours`' default.
pub(super) const NEW_PHONE: Duration = Duration::hours(24);

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
pub(super) enum Platform {
    Android,
    Ios,
}

/// The phone side of the protocol.
pub(super) struct Phone {
    platform: Platform,
    /// secret XOR SHA-256(PIN): the PIN never leaves the phone, a wrong one gives a wrong key.
    stored: [u8; 32],
    pub(super) identity: String,
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
    pub(super) async fn enroll(
        portal: &Portal,
        qr: &str,
        platform: Platform,
        now: OffsetDateTime,
    ) -> Phone {
        let url = qr.strip_prefix("tiqrenroll://").unwrap();
        assert!(url.starts_with("https://passerelle.test/tiqr/metadata?key="));
        let meta = enrollment::metadata(portal, &service(), query_param(url, "key"), now)
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
            portal,
            &secrets(),
            otp,
            &form,
            Call::new(&client("198.51.100.7"), now),
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
    pub(super) async fn login(
        &self,
        portal: &Portal,
        url: &str,
        pin: &str,
        ip: &str,
        now: OffsetDateTime,
    ) -> &'static str {
        let (session_key, response) = self.respond(url, pin);
        post_login(portal, &self.login_body(&session_key, &response), ip, now).await
    }
}

async fn post_login(portal: &Portal, body: &str, ip: &str, now: OffsetDateTime) -> &'static str {
    let reply = match parse_app_form(body.as_bytes()) {
        Ok(form) => sign_in::app_login(portal, &secrets(), &form, Call::new(&client(ip), now))
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

/// `username`'s session, signed in by password at `now` (a strong authentication).
pub(super) async fn session_of(portal: &Portal, username: &str, now: OffsetDateTime) -> Session {
    let signed = super::harness::sign_in(
        portal,
        username,
        domain::demo::DEMO_PASSWORD,
        None,
        Call::new(&client("192.0.2.10"), now),
    )
    .await
    .unwrap();
    session_of_token(portal, &signed.token, now).await
}

pub(super) async fn session_of_token(
    portal: &Portal,
    token: &sessions::Token,
    now: OffsetDateTime,
) -> Session {
    sessions::load(&portal.pool, token, sessions::Policy::default(), now)
        .await
        .unwrap()
        .unwrap()
}

/// The enrolling browser's page shows the confirmation QR and `phone` answers it: the phone is
/// confirmed and the page says so.
pub(super) async fn confirm(
    portal: &Portal,
    phone: &Phone,
    page: Browser,
    user_id: Uuid,
    now: OffsetDateTime,
) {
    assert_eq!(
        enrollment::enrollment_status(portal, page, user_id, now)
            .await
            .unwrap(),
        EnrollmentStatus::Processed
    );
    let qr = enrollment::confirmation_qr(portal, &service(), page, user_id, now)
        .await
        .unwrap()
        .expect("a confirmation QR");
    assert!(qr.bound);
    assert!(
        qr.url
            .starts_with(&format!("tiqrauth://{}@passerelle.test/", phone.identity)),
        "{}",
        qr.url
    );
    assert_eq!(
        phone.login(portal, &qr.url, PIN, "198.51.100.7", now).await,
        "OK"
    );
    assert_eq!(
        enrollment::enrollment_status(portal, page, user_id, now)
            .await
            .unwrap(),
        EnrollmentStatus::Finalized
    );
}

/// `username` enrolls a phone from their security page (signed in by password at `now`, so no
/// password again) and confirms it.
pub(super) async fn enrolled_for(
    portal: &Portal,
    username: &str,
    platform: Platform,
    now: OffsetDateTime,
) -> (Uuid, Phone) {
    let session = session_of(portal, username, now).await;
    let page = Browser::of_secret(&format!("security-page-{username}"));
    let start = enrollment::start_enrollment(
        portal,
        &service(),
        &session,
        "",
        page,
        Call::new(&client("192.0.2.10"), now),
    )
    .await
    .unwrap();
    let phone = Phone::enroll(portal, &start.qr, platform, now).await;
    confirm(portal, &phone, page, session.user_id, now).await;
    (session.user_id, phone)
}

/// dr.martin enrolls a phone from their security page.
async fn enrolled(portal: &Portal, platform: Platform) -> (Uuid, Phone) {
    enrolled_for(portal, "dr.martin", platform, t0()).await
}

async fn signed_in(portal: &Portal, browser: Browser, now: OffsetDateTime) -> SignedIn {
    match sign_in::poll(
        portal,
        browser,
        None,
        NEW_PHONE,
        Call::new(&client("192.0.2.20"), now),
    )
    .await
    .unwrap()
    {
        Poll::SignedIn(s) => s,
        other => panic!("expected a session, got {other:?}"),
    }
}

#[tokio::test]
async fn enroll_from_the_security_page_then_sign_in_by_qr() {
    let portal = seeded().await;
    let session = session_of(&portal, "dr.martin", t0()).await;
    let martin = session.user_id;
    let page = Browser::of_secret("security-page");
    let c = client("192.0.2.10");
    assert_eq!(
        enrollment::enrollment_status(&portal, page, martin, t0())
            .await
            .unwrap(),
        EnrollmentStatus::Idle
    );
    let start =
        enrollment::start_enrollment(&portal, &service(), &session, "", page, Call::new(&c, t0()))
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
        enrollment::enrollment_status(&portal, page, martin, t0())
            .await
            .unwrap(),
        EnrollmentStatus::Initialized
    );
    // Another browser (or another user) sees nothing of it.
    assert_eq!(
        enrollment::enrollment_status(&portal, Browser::of_secret("other"), martin, t0())
            .await
            .unwrap(),
        EnrollmentStatus::Idle
    );

    let phone = Phone::enroll(&portal, &start.qr, Platform::Android, t0()).await;
    // The metadata is served once.
    assert!(matches!(
        enrollment::metadata(&portal, &service(), &start.metadata_key, t0()).await,
        Err(Error::TiqrExpired)
    ));
    // Registered by the app, but not usable until this browser's confirmation QR is answered:
    // the page says "confirm", the security page does not list it, it cannot sign in.
    for _ in 0..2 {
        assert_eq!(
            enrollment::enrollment_status(&portal, page, martin, t0())
                .await
                .unwrap(),
            EnrollmentStatus::Processed
        );
    }
    assert!(
        enrollment::list_enrollments(&portal, martin)
            .await
            .unwrap()
            .is_empty()
    );
    let early =
        sign_in::start_sign_in(&portal, &service(), Browser::of_secret("early"), None, t0())
            .await
            .unwrap();
    assert_eq!(
        phone
            .login(&portal, &early.url, PIN, "198.51.100.7", t0())
            .await,
        "INVALID_USERID"
    );
    // No "new phone" e-mail for a phone that cannot sign in.
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM mail_outbox WHERE kind = 'tiqr_phone_added'"
        )
        .await,
        0
    );
    confirm(&portal, &phone, page, martin, t0()).await;
    // The confirmation signed nobody in, neither the page's browser nor another.
    assert!(matches!(
        sign_in::poll(&portal, page, None, NEW_PHONE, Call::new(&c, t0()))
            .await
            .unwrap(),
        Poll::Expired
    ));
    let mine = enrollment::list_enrollments(&portal, martin).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].identity, phone.identity);
    assert_eq!(mine[0].state, TiqrState::Active);
    assert_eq!(mine[0].name, "Téléphone du 23/11/2026");
    assert_eq!(mine[0].activated_at, Some(t0()));
    assert_eq!(mine[0].enrolled_by_username, None);
    // The holder is told: which phone, that they started it themself, when, what to do if not.
    let (to, text): (String, String) = sqlx::query_as(
        "SELECT recipient, text_body FROM mail_outbox WHERE kind = 'tiqr_phone_added'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(to, "dr.martin@demo.passerelle.example");
    assert!(text.contains("Téléphone du 23/11/2026"), "{text}");
    assert!(
        text.contains("depuis votre page « Application TIQR »"),
        "{text}"
    );
    assert!(text.contains("le 23/11/2026 à 10:00"), "{text}");
    assert!(
        text.contains("Si vous n'êtes pas à l'origine de cet ajout"),
        "{text}"
    );
    // The secret is sealed: not in the row in any spelling.
    let (sealed, nonce): (Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT secret_sealed, secret_nonce FROM tiqr_enrollments")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(nonce.len(), 24);
    assert_eq!(sealed.len(), 32 + 16);

    // Sign-in: a QR without identity, the app picks the account.
    let browser = Browser::of_secret("sign-in-page");
    let qr = sign_in::start_sign_in(&portal, &service(), browser, None, t0())
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
        sign_in::poll(&portal, browser, None, NEW_PHONE, Call::new(&c, later))
            .await
            .unwrap(),
        Poll::Pending
    ));
    assert_eq!(
        phone
            .login(&portal, &qr.url, PIN, "198.51.100.7", later)
            .await,
        "OK"
    );
    // Someone else's browser polling learns nothing; the page's own poll signs in, once.
    assert!(matches!(
        sign_in::poll(
            &portal,
            Browser::of_secret("attacker"),
            None,
            NEW_PHONE,
            Call::new(&c, later)
        )
        .await
        .unwrap(),
        Poll::Expired
    ));
    let session = signed_in(&portal, browser, later).await;
    assert_eq!(session.user_id, martin);
    assert_eq!(session.landing, Landing::Chooser);
    assert!(matches!(
        sign_in::poll(&portal, browser, None, NEW_PHONE, Call::new(&c, later))
            .await
            .unwrap(),
        Poll::Expired
    ));
    // The same QR again: used up.
    assert_eq!(
        phone
            .login(&portal, &qr.url, PIN, "198.51.100.7", later)
            .await,
        "INVALID_CHALLENGE"
    );
    // The password session that enrolled the phone, then the phone's, which is not a strong
    // authentication (the phone is new).
    let methods: Vec<(String, bool)> = sqlx::query_as(
        "SELECT auth_method, authenticated_at IS NOT NULL FROM sessions WHERE user_id = $1
         ORDER BY created_at, auth_method",
    )
    .bind(martin)
    .fetch_all(&portal.pool)
    .await
    .unwrap();
    assert_eq!(
        methods,
        [("password".to_string(), true), ("tiqr".to_string(), false)]
    );
    let mine = enrollment::list_enrollments(&portal, martin).await.unwrap();
    assert_eq!(mine[0].last_used_at, Some(later));

    let trail: Vec<String> = super::harness::audit_trail(&portal.pool)
        .await
        .into_iter()
        .map(|(a, o, _)| format!("{a}:{o}"))
        .collect();
    for expected in [
        "tiqr.enroll_start:success",
        "tiqr.enroll:success",
        "tiqr.confirmed:success",
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
    let portal = seeded().await;
    let (martin, android) = enrolled(&portal, Platform::Android).await;
    let (_, iphone) = enrolled(&portal, Platform::Ios).await;
    assert_ne!(android.identity, iphone.identity);
    let mine = enrollment::list_enrollments(&portal, martin).await.unwrap();
    assert_eq!(mine.len(), 2);
    let iphone_id = mine
        .iter()
        .find(|e| e.identity == iphone.identity)
        .unwrap()
        .id;
    enrollment::rename(
        &portal,
        martin,
        iphone_id,
        "iPhone pro",
        Call::new(&client("192.0.2.10"), t0()),
    )
    .await
    .unwrap();

    // A QR naming the iPhone's identity: only the iPhone may answer it.
    let browser = Browser::of_secret("b");
    let identity = Identity::parse(&iphone.identity).unwrap();
    let qr = sign_in::start_sign_in(&portal, &service(), browser, Some(&identity), t0())
        .await
        .unwrap();
    assert!(qr.bound);
    assert!(
        qr.url
            .starts_with(&format!("tiqrauth://{}@passerelle.test/", iphone.identity))
    );
    assert_eq!(
        android
            .login(&portal, &qr.url, PIN, "198.51.100.8", t0())
            .await,
        "INVALID_USERID"
    );
    assert_eq!(
        iphone
            .login(&portal, &qr.url, PIN, "198.51.100.8", t0())
            .await,
        "OK"
    );
    assert_eq!(signed_in(&portal, browser, t0()).await.user_id, martin);
    let renamed: String =
        sqlx::query_scalar("SELECT name FROM tiqr_enrollments WHERE identity = $1")
            .bind(&iphone.identity)
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(renamed, "iPhone pro");
}

#[tokio::test]
async fn wrong_pins_count_down_then_block_and_only_the_regions_desk_unblocks() {
    let portal = seeded().await;
    let (martin, phone) = enrolled(&portal, Platform::Ios).await;
    let browser = Browser::of_secret("b");
    let qr = sign_in::start_sign_in(&portal, &service(), browser, None, t0())
        .await
        .unwrap();
    let mut replies = Vec::new();
    // Each wrong PIN on the same QR (the user retries without a new QR).
    for _ in 0..5 {
        replies.push(
            phone
                .login(&portal, &qr.url, "0000", "198.51.100.9", t0())
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
        phone
            .login(&portal, &qr.url, PIN, "198.51.100.9", t0())
            .await,
        "ACCOUNT_BLOCKED"
    );
    assert!(matches!(
        sign_in::poll(
            &portal,
            browser,
            None,
            NEW_PHONE,
            Call::new(&client("192.0.2.1"), t0())
        )
        .await
        .unwrap(),
        Poll::Pending
    ));
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM audit_log WHERE action = 'tiqr.blocked'"
        )
        .await,
        1
    );

    // The desk of another region can neither see nor unblock it; each refusal is audited.
    let ara = actor(&portal, "support.ara").await;
    let c = client("10.9.9.9");
    let enrollment_id = enrollment::list_enrollments(&portal, martin).await.unwrap()[0].id;
    assert!(matches!(
        domain::admin::tiqr::enrollments(&portal, &ara, martin, Call::new(&c, t0())).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        domain::admin::tiqr::unblock(&portal, &ara, martin, enrollment_id, Call::new(&c, t0()))
            .await,
        Err(Error::Forbidden)
    ));
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM audit_log WHERE outcome = 'denied' AND actor_label = 'support.ara'"
        )
        .await,
        2
    );
    // A professional is refused too.
    let pro = actor(&portal, "inf.durand").await;
    assert!(matches!(
        domain::admin::tiqr::unblock(&portal, &pro, martin, enrollment_id, Call::new(&c, t0()))
            .await,
        Err(Error::Forbidden)
    ));

    // The Île-de-France desk sees the state and the failures, and unblocks.
    let idf = actor(&portal, "support.idf").await;
    let listed = domain::admin::tiqr::enrollments(&portal, &idf, martin, Call::new(&c, t0()))
        .await
        .unwrap();
    assert_eq!(listed[0].state, TiqrState::Blocked);
    assert_eq!(listed[0].failures, 5);
    domain::admin::tiqr::unblock(&portal, &idf, martin, enrollment_id, Call::new(&c, t0()))
        .await
        .unwrap();
    // Unblocking an active enrollment is not found (nothing to do).
    assert!(matches!(
        domain::admin::tiqr::unblock(&portal, &idf, martin, enrollment_id, Call::new(&c, t0()))
            .await,
        Err(Error::NotFound)
    ));
    assert_eq!(
        phone
            .login(&portal, &qr.url, PIN, "198.51.100.9", t0())
            .await,
        "OK"
    );
    assert_eq!(signed_in(&portal, browser, t0()).await.user_id, martin);
    let listed = domain::admin::tiqr::enrollments(&portal, &idf, martin, Call::new(&c, t0()))
        .await
        .unwrap();
    assert_eq!(
        (listed[0].state, listed[0].failures),
        (TiqrState::Active, 0)
    );
    let unblock: serde_json::Value = sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE action = 'tiqr.unblock' AND outcome = 'success'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(unblock["before"]["failures"], 5);

    // A right response resets the count: four wrong ones later, one attempt is still left.
    let qr = sign_in::start_sign_in(&portal, &service(), browser, None, t0())
        .await
        .unwrap();
    for _ in 0..3 {
        phone
            .login(&portal, &qr.url, "9999", "198.51.100.9", t0())
            .await;
    }
    assert_eq!(
        phone
            .login(&portal, &qr.url, "9999", "198.51.100.9", t0())
            .await,
        "INVALID_RESPONSE:1"
    );
}

#[tokio::test]
async fn a_revoked_phone_gets_invalid_userid() {
    let portal = seeded().await;
    let (martin, phone) = enrolled(&portal, Platform::Android).await;
    let enrollment_id = enrollment::list_enrollments(&portal, martin).await.unwrap()[0].id;
    let c = client("10.9.9.9");
    let ara = actor(&portal, "support.ara").await;
    assert!(matches!(
        domain::admin::tiqr::revoke(&portal, &ara, martin, enrollment_id, Call::new(&c, t0()))
            .await,
        Err(Error::Forbidden)
    ));
    let idf = actor(&portal, "support.idf").await;
    domain::admin::tiqr::revoke(&portal, &idf, martin, enrollment_id, Call::new(&c, t0()))
        .await
        .unwrap();
    let qr = sign_in::start_sign_in(&portal, &service(), Browser::of_secret("b"), None, t0())
        .await
        .unwrap();
    assert_eq!(
        phone
            .login(&portal, &qr.url, PIN, "198.51.100.10", t0())
            .await,
        "INVALID_USERID"
    );
    // Gone from the user's page, shown as revoked to the desk; the secret is erased.
    assert!(
        enrollment::list_enrollments(&portal, martin)
            .await
            .unwrap()
            .is_empty()
    );
    let listed = domain::admin::tiqr::enrollments(&portal, &idf, martin, Call::new(&c, t0()))
        .await
        .unwrap();
    assert_eq!(listed[0].state, TiqrState::Revoked);
    assert!(listed[0].revoked_at.is_some());
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM tiqr_enrollments WHERE secret_sealed IS NOT NULL"
        )
        .await,
        0
    );
    // A named QR for a revoked identity is made unnamed: the page says nothing about it.
    let identity = Identity::parse(&phone.identity).unwrap();
    let qr = sign_in::start_sign_in(
        &portal,
        &service(),
        Browser::of_secret("b"),
        Some(&identity),
        t0(),
    )
    .await
    .unwrap();
    assert!(!qr.bound);

    // The holder revokes their own new phone too.
    let (_, second) = enrolled(&portal, Platform::Ios).await;
    let id = enrollment::list_enrollments(&portal, martin).await.unwrap()[0].id;
    enrollment::revoke_own(&portal, martin, id, Call::new(&client("192.0.2.10"), t0()))
        .await
        .unwrap();
    assert_eq!(
        second
            .login(&portal, &qr.url, PIN, "198.51.100.10", t0())
            .await,
        "INVALID_USERID"
    );
}

#[tokio::test]
async fn expired_and_reused_qr_codes_and_enrollment_keys() {
    let portal = seeded().await;
    let (_, phone) = enrolled(&portal, Platform::Android).await;
    let browser = Browser::of_secret("b");
    let qr = sign_in::start_sign_in(&portal, &service(), browser, None, t0())
        .await
        .unwrap();
    let late = t0() + Duration::seconds(181);
    assert_eq!(
        phone
            .login(&portal, &qr.url, PIN, "198.51.100.11", late)
            .await,
        "INVALID_CHALLENGE"
    );
    assert!(matches!(
        sign_in::poll(
            &portal,
            browser,
            None,
            NEW_PHONE,
            Call::new(&client("192.0.2.1"), late)
        )
        .await
        .unwrap(),
        Poll::Expired
    ));
    // An unknown sessionKey.
    let forged = qr.url.replace(&qr.session_key, &"0".repeat(32));
    assert_eq!(
        phone
            .login(&portal, &forged, PIN, "198.51.100.11", t0())
            .await,
        "INVALID_CHALLENGE"
    );

    // Enrollment: the metadata key lives 300 s, the second secret 300 s from the metadata.
    let session = session_of(&portal, "dr.martin", t0()).await;
    let martin = session.user_id;
    let page = Browser::of_secret("page");
    let c = client("192.0.2.10");
    let start =
        enrollment::start_enrollment(&portal, &service(), &session, "", page, Call::new(&c, t0()))
            .await
            .unwrap();
    assert!(matches!(
        enrollment::metadata(
            &portal,
            &service(),
            &start.metadata_key,
            t0() + Duration::seconds(301)
        )
        .await,
        Err(Error::TiqrExpired)
    ));
    assert_eq!(
        enrollment::enrollment_status(&portal, page, martin, t0() + Duration::seconds(301))
            .await
            .unwrap(),
        EnrollmentStatus::Expired
    );
    let start =
        enrollment::start_enrollment(&portal, &service(), &session, "", page, Call::new(&c, t0()))
            .await
            .unwrap();
    let meta = enrollment::metadata(&portal, &service(), &start.metadata_key, t0())
        .await
        .unwrap();
    let otp = query_param(meta["service"]["enrollmentUrl"].as_str().unwrap(), "otp").to_string();
    let form = parse_app_form(format!("secret={}&operation=register", "ab".repeat(32)).as_bytes())
        .unwrap();
    assert!(matches!(
        enrollment::finish_enrollment(
            &portal,
            &secrets(),
            &otp,
            &form,
            Call::new(&c, t0() + Duration::seconds(301))
        )
        .await,
        Err(Error::TiqrExpired)
    ));
    // In time it works, once.
    assert_eq!(
        enrollment::finish_enrollment(&portal, &secrets(), &otp, &form, Call::new(&c, t0()))
            .await
            .unwrap(),
        Reply::Ok
    );
    assert!(matches!(
        enrollment::finish_enrollment(&portal, &secrets(), &otp, &form, Call::new(&c, t0())).await,
        Err(Error::TiqrExpired)
    ));
}

#[tokio::test]
async fn the_offline_code_signs_in_through_the_same_counter() {
    let portal = seeded().await;
    let (martin, phone) = enrolled(&portal, Platform::Ios).await;
    let browser = Browser::of_secret("b");
    let c = client("198.51.100.12");
    let qr = sign_in::start_sign_in(&portal, &service(), browser, None, t0())
        .await
        .unwrap();
    let (_, wrong) = phone.respond(&qr.url, "0000");
    let (_, right) = phone.respond(&qr.url, PIN);
    let offline = |identity: Option<&'static str>, code: String| {
        let (portal, c) = (&portal, &c);
        let identity = identity.map(|_| phone.identity.clone());
        async move {
            sign_in::offline_code(
                portal,
                &secrets(),
                browser,
                identity.as_deref(),
                &code,
                None,
                NEW_PHONE,
                Call::new(c, t0()),
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
            .login(&portal, &qr.url, "0000", "198.51.100.12", t0())
            .await,
        "INVALID_RESPONSE:3"
    );
    // Spaces typed in the code are fine.
    let spaced = format!("{} {}", &right[..3], &right[3..]);
    let s = offline(Some("id"), spaced).await.unwrap();
    assert_eq!(s.user_id, martin);
    // The password session that enrolled the phone, then the phone's, which is not a strong
    // authentication (the phone is new).
    let methods: Vec<(String, bool)> = sqlx::query_as(
        "SELECT auth_method, authenticated_at IS NOT NULL FROM sessions WHERE user_id = $1
         ORDER BY created_at, auth_method",
    )
    .bind(martin)
    .fetch_all(&portal.pool)
    .await
    .unwrap();
    assert_eq!(
        methods,
        [("password".to_string(), true), ("tiqr".to_string(), false)]
    );
    // The QR is used up.
    assert!(matches!(
        offline(Some("id"), right).await,
        Err(Error::TiqrExpired)
    ));

    // A named QR needs the code only.
    let identity = Identity::parse(&phone.identity).unwrap();
    let qr = sign_in::start_sign_in(&portal, &service(), browser, Some(&identity), t0())
        .await
        .unwrap();
    let (_, right) = phone.respond(&qr.url, PIN);
    assert_eq!(offline(None, right).await.unwrap().user_id, martin);
}

#[tokio::test]
async fn malformed_app_requests_are_refused_and_store_nothing() {
    let portal = seeded().await;
    let (_, phone) = enrolled(&portal, Platform::Android).await;
    let qr = sign_in::start_sign_in(&portal, &service(), Browser::of_secret("b"), None, t0())
        .await
        .unwrap();
    let (sk, response) = phone.respond(&qr.url, PIN);
    let before = (
        count(&portal.pool, "SELECT count(*) FROM audit_log").await,
        count(&portal.pool, "SELECT count(*) FROM auth_throttle").await,
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
            post_login(&portal, &body, "198.51.100.13", t0()).await,
            "INVALID_REQUEST",
            "{body:.80}"
        );
    }
    let after = (
        count(&portal.pool, "SELECT count(*) FROM audit_log").await,
        count(&portal.pool, "SELECT count(*) FROM auth_throttle").await,
    );
    assert_eq!(before, after);

    // Enrollment posts: a bad secret or operation stores nothing either.
    let session = session_of(&portal, "dr.martin", t0()).await;
    let start = enrollment::start_enrollment(
        &portal,
        &service(),
        &session,
        "",
        Browser::of_secret("p"),
        Call::new(&client("192.0.2.10"), t0()),
    )
    .await
    .unwrap();
    let meta = enrollment::metadata(&portal, &service(), &start.metadata_key, t0())
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
        match enrollment::finish_enrollment(
            &portal,
            &secrets(),
            &otp,
            &form,
            Call::new(&client("x"), t0()),
        )
        .await
        {
            Err(Error::TiqrRequest(f)) => assert_eq!(f, field),
            other => panic!("{body}: {other:?}"),
        }
    }
    assert!(matches!(
        enrollment::finish_enrollment(
            &portal,
            &secrets(),
            "not-a-key",
            &tiqr::AppForm::default(),
            Call::new(&client("x"), t0())
        )
        .await,
        Err(Error::TiqrRequest("otp"))
    ));
    assert_eq!(
        count(&portal.pool, "SELECT count(*) FROM tiqr_enrollments").await,
        1
    );
    // The second secret is still good for a well-formed post.
    let form = parse_app_form(format!("secret={}&operation=register", "AB".repeat(32)).as_bytes())
        .unwrap();
    assert_eq!(
        enrollment::finish_enrollment(
            &portal,
            &secrets(),
            &otp,
            &form,
            Call::new(&client("x"), t0())
        )
        .await
        .unwrap(),
        Reply::Ok
    );
}

#[tokio::test]
async fn one_address_guessing_for_many_identities_is_stopped() {
    let mut portal = seeded().await;
    portal.address_throttle = domain::throttle::Policy {
        max_failures: 3,
        window: Duration::minutes(15),
        lock_for: Duration::minutes(15),
    };
    let (martin, phone) = enrolled(&portal, Platform::Android).await;
    let browser = Browser::of_secret("b");
    let qr = sign_in::start_sign_in(&portal, &service(), browser, None, t0())
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
            post_login(&portal, &body, "203.0.113.66", t0()).await,
            "INVALID_USERID"
        );
    }
    // The address is now throttled: even a right answer from it is refused, without costing the
    // enrollment an attempt…
    assert_eq!(
        phone
            .login(&portal, &qr.url, PIN, "203.0.113.66", t0())
            .await,
        "INVALID_REQUEST"
    );
    assert_eq!(
        enrollment::list_enrollments(&portal, martin).await.unwrap()[0].failures,
        0
    );
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM audit_log WHERE action = 'auth.lockout' AND details->>'scope' = 'tiqr_address'"
        )
        .await,
        1
    );
    // …while the phone on another network signs in on the same QR.
    assert_eq!(
        phone
            .login(&portal, &qr.url, PIN, "198.51.100.14", t0())
            .await,
        "OK"
    );
    // Password sign-in from the throttled address is not affected (separate counters).
    super::harness::sign_in(
        &portal,
        "inf.durand",
        domain::demo::DEMO_PASSWORD,
        None,
        Call::new(&client("203.0.113.66"), t0()),
    )
    .await
    .unwrap();
}

/// The code in the last `tiqr_desk_code` e-mail to `email`.
async fn desk_code_mailed_to(pool: &PgPool, email: &str) -> (String, String) {
    let text: String = sqlx::query_scalar(
        "SELECT text_body FROM mail_outbox WHERE kind = 'tiqr_desk_code' AND recipient = $1
         ORDER BY id DESC LIMIT 1",
    )
    .bind(email)
    .fetch_one(pool)
    .await
    .unwrap();
    let code = text
        .split("communiquez-lui ce code : ")
        .nth(1)
        .unwrap()
        .chars()
        .take(6)
        .collect::<String>();
    assert!(code.chars().all(|c| c.is_ascii_digit()), "{text}");
    (code, text)
}

const MARTIN_MAIL: &str = "dr.martin@demo.passerelle.example";

#[tokio::test]
async fn the_desk_enrols_a_phone_only_with_the_code_the_holder_reads_out() {
    let portal = seeded().await;
    let martin = user_id(&portal.pool, "dr.martin").await;
    let desk_screen = Browser::of_secret("desk-browser");
    let c = client("10.9.9.9");
    let ara = actor(&portal, "support.ara").await;
    // Another region's desk: refused before anything (no code sent either).
    assert!(matches!(
        domain::admin::tiqr::send_holder_code(&portal, &ara, martin, Call::new(&c, t0())).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        domain::admin::tiqr::start_for_user(
            &portal,
            &service(),
            &ara,
            martin,
            "123456",
            desk_screen,
            Call::new(&c, t0())
        )
        .await,
        Err(Error::Forbidden)
    ));
    let denied: serde_json::Value = sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE outcome = 'denied' AND action = 'tiqr.enroll_start'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(denied["permission"], "enroll_tiqr");
    // The desk cannot enroll a phone for another administrator (taking the account over).
    let idf = actor(&portal, "support.idf").await;
    let admin_idf = user_id(&portal.pool, "admin.idf").await;
    assert!(matches!(
        domain::admin::tiqr::send_holder_code(&portal, &idf, admin_idf, Call::new(&c, t0())).await,
        Err(Error::Forbidden)
    ));

    // Without the holder's code, no enrollment: the agent's own phone cannot be slipped in.
    assert!(matches!(
        domain::admin::tiqr::start_for_user(
            &portal,
            &service(),
            &idf,
            martin,
            "",
            desk_screen,
            Call::new(&c, t0())
        )
        .await,
        Err(Error::Code(CodeError::NoCodeSent))
    ));
    assert_eq!(
        count(&portal.pool, "SELECT count(*) FROM tiqr_enrollment_starts").await,
        0
    );

    // The code goes to the holder's mailbox, naming the agent; not again within a minute.
    let masked = domain::admin::tiqr::send_holder_code(&portal, &idf, martin, Call::new(&c, t0()))
        .await
        .unwrap();
    assert_eq!(masked, domain::auth::otp::mask_email(MARTIN_MAIL));
    let (code, text) = desk_code_mailed_to(&portal.pool, MARTIN_MAIL).await;
    assert!(text.contains("support.idf"), "{text}");
    assert!(matches!(
        domain::admin::tiqr::send_holder_code(&portal, &idf, martin, Call::new(&c, t0())).await,
        Err(Error::Code(CodeError::ResendTooSoon { .. }))
    ));

    // A wrong code costs a try (and is audited, as the missing one was); another agent cannot
    // use this agent's code.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert!(matches!(
        domain::admin::tiqr::start_for_user(
            &portal,
            &service(),
            &idf,
            martin,
            wrong,
            desk_screen,
            Call::new(&c, t0())
        )
        .await,
        Err(Error::Code(CodeError::Wrong { attempts_left: 4 }))
    ));
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM audit_log WHERE action = 'tiqr.enroll_start' AND outcome = 'failure'"
        )
        .await,
        2
    );
    let regional = actor(&portal, "admin.idf").await;
    assert!(matches!(
        domain::admin::tiqr::start_for_user(
            &portal,
            &service(),
            &regional,
            martin,
            &code,
            Browser::of_secret("other-desk"),
            Call::new(&c, t0())
        )
        .await,
        Err(Error::Code(CodeError::NoCodeSent))
    ));
    assert_eq!(
        count(&portal.pool, "SELECT count(*) FROM tiqr_enrollment_starts").await,
        0
    );

    // The right code, read out by the holder: the QR shows on the desk's screen, once.
    let start = domain::admin::tiqr::start_for_user(
        &portal,
        &service(),
        &idf,
        martin,
        &format!(" {code} "),
        desk_screen,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    assert!(matches!(
        domain::admin::tiqr::start_for_user(
            &portal,
            &service(),
            &idf,
            martin,
            &code,
            desk_screen,
            Call::new(&c, t0())
        )
        .await,
        Err(Error::Code(CodeError::Expired))
    ));
    let phone = Phone::enroll(&portal, &start.qr, Platform::Android, t0()).await;
    // The holder's phone answers the confirmation QR on the desk's screen.
    let later = t0() + Duration::minutes(2);
    confirm(&portal, &phone, desk_screen, martin, later).await;
    let listed = domain::admin::tiqr::enrollments(&portal, &idf, martin, Call::new(&c, later))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].enrolled_by, idf.user_id);
    assert_eq!(
        listed[0].enrolled_by_username.as_deref(),
        Some("support.idf")
    );
    assert_eq!(listed[0].identity, phone.identity);
    let started: (String, Option<String>, serde_json::Value) = sqlx::query_as(
        "SELECT actor_label, actor_role, details FROM audit_log WHERE action = 'tiqr.enroll_start' AND outcome = 'success'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(
        (started.0.as_str(), started.1.as_deref()),
        ("support.idf", Some("support"))
    );
    assert_eq!(started.2["proof"], "holder_code");
    // The holder is e-mailed, with the agent's name and the time the desk started it.
    let text: String = sqlx::query_scalar(
        "SELECT text_body FROM mail_outbox WHERE kind = 'tiqr_phone_added' AND recipient = $1",
    )
    .bind(MARTIN_MAIL)
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert!(text.contains("agent : support.idf"), "{text}");
    assert!(text.contains("le 23/11/2026 à 10:00"), "{text}");
}

#[tokio::test]
async fn five_wrong_desk_codes_spend_the_code() {
    let portal = seeded().await;
    let martin = user_id(&portal.pool, "dr.martin").await;
    let idf = actor(&portal, "support.idf").await;
    let c = client("10.9.9.9");
    let desk = Browser::of_secret("desk");
    domain::admin::tiqr::send_holder_code(&portal, &idf, martin, Call::new(&c, t0()))
        .await
        .unwrap();
    let (code, _) = desk_code_mailed_to(&portal.pool, MARTIN_MAIL).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mut answers = Vec::new();
    for _ in 0..5 {
        answers.push(
            match domain::admin::tiqr::start_for_user(
                &portal,
                &service(),
                &idf,
                martin,
                wrong,
                desk,
                Call::new(&c, t0()),
            )
            .await
            {
                Err(Error::Code(CodeError::Wrong { attempts_left })) => attempts_left,
                Err(Error::Code(CodeError::Expired)) => 0,
                other => panic!("{other:?}"),
            },
        );
    }
    assert_eq!(answers, [4, 3, 2, 1, 0]);
    // Now even the right code is refused; a new code also expires after 10 minutes.
    assert!(matches!(
        domain::admin::tiqr::start_for_user(
            &portal,
            &service(),
            &idf,
            martin,
            &code,
            desk,
            Call::new(&c, t0())
        )
        .await,
        Err(Error::Code(CodeError::Expired))
    ));
    let later = t0() + Duration::minutes(2);
    domain::admin::tiqr::send_holder_code(&portal, &idf, martin, Call::new(&c, later))
        .await
        .unwrap();
    let (code, _) = desk_code_mailed_to(&portal.pool, MARTIN_MAIL).await;
    assert!(matches!(
        domain::admin::tiqr::start_for_user(
            &portal,
            &service(),
            &idf,
            martin,
            &code,
            desk,
            Call::new(&c, later + Duration::minutes(10))
        )
        .await,
        Err(Error::Code(CodeError::Expired))
    ));
    assert_eq!(
        count(&portal.pool, "SELECT count(*) FROM tiqr_enrollment_starts").await,
        0
    );
}

#[tokio::test]
async fn adding_a_phone_needs_the_password_unless_the_sign_in_is_recent() {
    let portal = seeded().await;
    let session = session_of(&portal, "dr.martin", t0()).await;
    let page = Browser::of_secret("page");
    let c = client("192.0.2.10");
    let start = |password: &'static str, now: OffsetDateTime| {
        let (portal, session, c) = (&portal, &session, &c);
        async move {
            enrollment::start_enrollment(
                portal,
                &service(),
                session,
                password,
                page,
                Call::new(c, now),
            )
            .await
        }
    };
    // Signed in by password four minutes ago: no password again.
    assert!(!enrollment::password_needed(
        &session,
        t0() + Duration::minutes(4)
    ));
    start("", t0() + Duration::minutes(4)).await.unwrap();
    // Six minutes: the session alone (an unattended workstation) is not enough.
    let later = t0() + Duration::minutes(6);
    assert!(enrollment::password_needed(&session, later));
    assert!(matches!(
        start("", later).await,
        Err(Error::ReauthenticationRequired)
    ));
    // A wrong password goes through the sign-in's counters and is audited.
    assert!(matches!(
        start("faux", later).await,
        Err(Error::InvalidCredentials)
    ));
    let attempts: i32 = sqlx::query_scalar(
        "SELECT attempts FROM auth_throttle WHERE scope = 'account' AND key = 'dr.martin'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(attempts, 1);
    start(domain::demo::DEMO_PASSWORD, later).await.unwrap();
    let rows: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "SELECT outcome::text, details FROM audit_log WHERE action = 'tiqr.enroll_start' ORDER BY id",
    )
    .fetch_all(&portal.pool)
    .await
    .unwrap();
    let proofs: Vec<(String, String)> = rows
        .into_iter()
        .map(|(o, d)| {
            let proof = d["proof"].as_str().or(d["reason"].as_str());
            (o, proof.unwrap_or_default().to_string())
        })
        .collect();
    assert_eq!(
        proofs.first().cloned(),
        Some(("success".into(), "recent_authentication".into()))
    );
    assert_eq!(
        proofs.last().cloned(),
        Some(("success".into(), "password".into()))
    );
    assert!(proofs.iter().any(|(o, _)| o == "failure"), "{proofs:?}");

    // A session signed in with a phone confirmed today is not a strong authentication: adding
    // another phone from it asks for the password, even at once.
    let (_, phone) = enrolled_for(&portal, "dr.martin", Platform::Android, later).await;
    let browser = Browser::of_secret("tiqr-browser");
    let qr = sign_in::start_sign_in(&portal, &service(), browser, None, later)
        .await
        .unwrap();
    assert_eq!(
        phone
            .login(&portal, &qr.url, PIN, "198.51.100.7", later)
            .await,
        "OK"
    );
    let signed = signed_in(&portal, browser, later).await;
    let by_phone = session_of_token(&portal, &signed.token, later).await;
    assert_eq!(by_phone.authenticated_at, None);
    assert!(enrollment::password_needed(&by_phone, later));
    assert!(matches!(
        enrollment::start_enrollment(
            &portal,
            &service(),
            &by_phone,
            "",
            browser,
            Call::new(&c, later)
        )
        .await,
        Err(Error::ReauthenticationRequired)
    ));
}

#[tokio::test]
async fn someone_who_scans_the_enrolment_qr_first_gets_a_phone_that_cannot_sign_in() {
    let portal = seeded().await;
    let session = session_of(&portal, "dr.martin", t0()).await;
    let martin = session.user_id;
    let victim_page = Browser::of_secret("victim-page");
    let c = client("192.0.2.10");
    let start = enrollment::start_enrollment(
        &portal,
        &service(),
        &session,
        "",
        victim_page,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    // Someone behind the holder (or watching a screen share) scans the QR first.
    let attacker = Phone::enroll(&portal, &start.qr, Platform::Ios, t0()).await;
    // The holder's own phone then finds the QR used.
    assert!(matches!(
        enrollment::metadata(&portal, &service(), &start.metadata_key, t0()).await,
        Err(Error::TiqrExpired)
    ));
    // The holder's page does not say "registered": it asks for the confirmation, which only the
    // phone that enrolled can answer, and which it shows to this browser alone.
    assert_eq!(
        enrollment::enrollment_status(&portal, victim_page, martin, t0())
            .await
            .unwrap(),
        EnrollmentStatus::Processed
    );
    assert!(
        enrollment::confirmation_qr(
            &portal,
            &service(),
            Browser::of_secret("attacker"),
            martin,
            t0()
        )
        .await
        .unwrap()
        .is_none()
    );
    // The attacker's phone cannot sign in, by QR or offline code.
    let attacker_browser = Browser::of_secret("attacker-browser");
    let qr = sign_in::start_sign_in(&portal, &service(), attacker_browser, None, t0())
        .await
        .unwrap();
    assert_eq!(
        attacker
            .login(&portal, &qr.url, PIN, "203.0.113.66", t0())
            .await,
        "INVALID_USERID"
    );
    assert!(matches!(
        sign_in::poll(
            &portal,
            attacker_browser,
            None,
            NEW_PHONE,
            Call::new(&c, t0())
        )
        .await
        .unwrap(),
        Poll::Pending
    ));
    let (_, code) = attacker.respond(&qr.url, PIN);
    assert!(matches!(
        sign_in::offline_code(
            &portal,
            &secrets(),
            attacker_browser,
            Some(attacker.identity.as_str()),
            &code,
            None,
            NEW_PHONE,
            Call::new(&c, t0())
        )
        .await,
        Err(Error::TiqrUnknownIdentity)
    ));
    // A sign-in QR naming the unconfirmed identity is not even made.
    let named = Identity::parse(&attacker.identity).unwrap();
    let guess = sign_in::start_sign_in(&portal, &service(), attacker_browser, Some(&named), t0())
        .await
        .unwrap();
    assert!(!guess.bound);
    assert!(
        enrollment::list_enrollments(&portal, martin)
            .await
            .unwrap()
            .is_empty()
    );

    // Nobody confirms: ten minutes later the page says what happened, the phone is revoked
    // (its secret erased), and the holder gets no "new phone" e-mail.
    let later = t0() + Duration::minutes(10);
    assert_eq!(
        enrollment::enrollment_status(&portal, victim_page, martin, later)
            .await
            .unwrap(),
        EnrollmentStatus::Unconfirmed
    );
    let (state, sealed): (TiqrState, Option<Vec<u8>>) =
        sqlx::query_as("SELECT state, secret_sealed FROM tiqr_enrollments WHERE identity = $1")
            .bind(&attacker.identity)
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!((state, sealed), (TiqrState::Revoked, None));
    assert!(
        enrollment::confirmation_qr(&portal, &service(), victim_page, martin, later)
            .await
            .unwrap()
            .is_none()
    );
    let qr = sign_in::start_sign_in(&portal, &service(), attacker_browser, None, later)
        .await
        .unwrap();
    assert_eq!(
        attacker
            .login(&portal, &qr.url, PIN, "203.0.113.66", later)
            .await,
        "INVALID_USERID"
    );
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM mail_outbox WHERE kind = 'tiqr_phone_added'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM audit_log WHERE action = 'tiqr.unconfirmed'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_confirmation_qr_answered_late_or_twice_is_refused() {
    let portal = seeded().await;
    let session = session_of(&portal, "dr.martin", t0()).await;
    let page = Browser::of_secret("page");
    let start = enrollment::start_enrollment(
        &portal,
        &service(),
        &session,
        "",
        page,
        Call::new(&client("192.0.2.10"), t0()),
    )
    .await
    .unwrap();
    let phone = Phone::enroll(&portal, &start.qr, Platform::Android, t0()).await;
    let qr = enrollment::confirmation_qr(&portal, &service(), page, session.user_id, t0())
        .await
        .unwrap()
        .unwrap();
    let late = t0() + Duration::minutes(10);
    assert_eq!(
        phone
            .login(&portal, &qr.url, PIN, "198.51.100.7", late)
            .await,
        "INVALID_CHALLENGE"
    );
    let qr = enrollment::confirmation_qr(&portal, &service(), page, session.user_id, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        phone
            .login(&portal, &qr.url, PIN, "198.51.100.7", t0())
            .await,
        "OK"
    );
    assert_eq!(
        phone
            .login(&portal, &qr.url, PIN, "198.51.100.7", t0())
            .await,
        "INVALID_CHALLENGE"
    );
}

#[tokio::test]
async fn answers_to_unknown_qr_codes_from_one_address_are_summarised() {
    let portal = seeded().await;
    let failures = "SELECT count(*) FROM audit_log WHERE action = 'tiqr.failure'";
    // Fifty answers to QR codes that do not exist: the address's 30 attempts, then its lock.
    for i in 0..50u32 {
        let body = format!(
            "sessionKey={:032x}&userId=aaaaaaaaaaaaaaaaaaaa&response=123456&operation=login",
            i + 1
        );
        post_login(
            &portal,
            &body,
            "203.0.113.77",
            t0() + Duration::milliseconds(i.into()),
        )
        .await;
    }
    // The first refusal of the minute, the one that locked the address (in full, with the lock's
    // row), the first refusal of the locked address.
    assert_eq!(count(&portal.pool, failures).await, 3);
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM audit_log WHERE action = 'auth.lockout'"
        )
        .await,
        1
    );
    domain::refusals::flush(&portal.pool, t0() + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(count(&portal.pool, failures).await, 5);
    assert_eq!(
        count(
            &portal.pool,
            "SELECT sum((details->>'refusals')::bigint)::bigint FROM audit_log WHERE details ? 'summary'"
        )
        .await,
        29 + 20
    );
    assert!(matches!(
        domain::audit::verify(&portal.pool).await.unwrap(),
        domain::audit::Verification::Intact { .. }
    ));
}
