//! "Mes moyens de connexion" (issue 14, H-1): the holder sees and removes the cards, Pro Santé
//! Connect identities and TIQR phones of their account (password typed again); the console shows
//! and removes them within its region; a password reset removes them all when asked; the desk's
//! "compte compromis" action cleans the account in one transaction.

use domain::Error;
use domain::admin::users;
use domain::auth::account_links::{self, Purpose};
use domain::auth::means::{self, Means, MeansRef};
use domain::call::Call;
use domain::demo::DEMO_PASSWORD;
use sqlx::PgPool;
use time::Duration;
use uuid::Uuid;

use crate::harness::{actor, client, seeded, t0};

async fn user_id(pool: &PgPool, username: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn count(pool: &PgPool, sql: &str, user: Uuid) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .bind(user)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// What still signs `user` in without a password: linked cards, PSC identities, live phones.
async fn live_means(pool: &PgPool, user: Uuid) -> (i64, i64, i64) {
    (
        count(
            pool,
            "SELECT count(*) FROM cards WHERE user_id = $1 AND unlinked_at IS NULL",
            user,
        )
        .await,
        count(
            pool,
            "SELECT count(*) FROM psc_identities WHERE user_id = $1",
            user,
        )
        .await,
        count(
            pool,
            "SELECT count(*) FROM tiqr_enrollments WHERE user_id = $1 AND state <> 'revoked'",
            user,
        )
        .await,
    )
}

struct Given {
    card: Uuid,
    national_id: String,
    phone: Uuid,
}

/// A well-formed identity (`8` + an RPPS with its Luhn key), as the card and PSC flows store it.
fn well_formed_national_id(prefix: &str, n: u8) -> String {
    let rpps = format!("{prefix}{n:04}");
    let key = domain::ids::luhn_check_digit(&rpps).unwrap();
    format!("8{rpps}{key}")
}

/// A linked card, a PSC identity and a TIQR phone for `user` (`n` keeps them apart between
/// accounts).
async fn give_means(pool: &PgPool, user: Uuid, n: u8) -> Given {
    let card = Uuid::new_v4();
    let national_id = well_formed_national_id("100000", n);
    sqlx::query(
        "INSERT INTO cards (id, user_id, issuer_dn, serial, subject_dn, national_id, card_type, holder_name,
                            not_before, not_after, fingerprint_sha256, linked_at, linked_via)
         VALUES ($1, $2, 'CN=TEST AC', $3, 'CN=x', $4, 'CPS', 'CLAIRE MARTIN', $5, $6, $7, $5, 'password')",
    )
    .bind(card)
    .bind(user)
    .bind(format!("0a{n:02x}"))
    .bind(&national_id)
    .bind(t0() - Duration::days(30))
    .bind(t0() + Duration::days(900))
    .bind(format!("{}{}", card.simple(), card.simple()))
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO psc_identities (national_id, user_id, given_name, family_name, linked_at, last_used_at)
         VALUES ($1, $2, 'Intrus', 'Inconnu', $3, $3)",
    )
    .bind(well_formed_national_id("999999", n))
    .bind(user)
    .bind(t0() - Duration::days(2))
    .execute(pool)
    .await
    .unwrap();
    let phone = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO tiqr_enrollments (id, user_id, identity, name, secret_nonce, secret_sealed,
                                       created_at, activated_at)
         VALUES ($1, $2, $3, 'Téléphone du 20/11/2026', $4, $5, $6, $6)",
    )
    .bind(phone)
    .bind(user)
    .bind(format!(
        "identite{n:02}{}",
        &phone.simple().to_string()[..16]
    ))
    .bind(vec![7u8; 24])
    .bind(vec![9u8; 48])
    .bind(t0() - Duration::days(3))
    .execute(pool)
    .await
    .unwrap();
    Given {
        card,
        national_id: well_formed_national_id("999999", n),
        phone,
    }
}

/// The e-mails of that kind to the account's address, newest first.
async fn mails(pool: &PgPool, user: Uuid, kind: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT text_body FROM mail_outbox WHERE user_id = $1 AND kind = $2 ORDER BY id DESC",
    )
    .bind(user)
    .bind(kind)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn audit_rows(pool: &PgPool, action: &str, outcome: &str) -> Vec<serde_json::Value> {
    sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE action = $1 AND outcome::text = $2 ORDER BY id",
    )
    .bind(action)
    .bind(outcome)
    .fetch_all(pool)
    .await
    .unwrap()
}

fn reset_token(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("https://passerelle.test/mot-de-passe?jeton="))
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_holder_sees_every_means_and_removes_one_only_with_the_password() {
    let portal = seeded().await;
    let martin = user_id(&portal.pool, "dr.martin").await;
    let durand = user_id(&portal.pool, "inf.durand").await;
    let given = give_means(&portal.pool, martin, 1).await;
    let other = give_means(&portal.pool, durand, 2).await;
    let c = client("192.0.2.91");

    let listed = means::of_user(&mut portal.pool.acquire().await.unwrap(), martin)
        .await
        .unwrap();
    assert_eq!(listed.cards.len(), 1);
    assert_eq!(listed.psc.len(), 1);
    assert_eq!(listed.psc[0].national_id.as_str(), given.national_id);
    assert_eq!(listed.psc[0].display_name(), "Intrus Inconnu");
    assert_eq!(listed.phones.len(), 1);

    // A wrong password removes nothing, counts as a sign-in failure and is audited.
    let psc = MeansRef::Psc(given.national_id.clone());
    assert!(matches!(
        means::remove_own(
            &portal,
            "dr.martin",
            martin,
            &psc,
            "pas le bon",
            Call::new(&c, t0())
        )
        .await,
        Err(Error::InvalidCredentials)
    ));
    assert_eq!(live_means(&portal.pool, martin).await, (1, 1, 1));
    let attempts: i32 = sqlx::query_scalar(
        "SELECT attempts FROM auth_throttle WHERE scope = 'account' AND key = 'dr.martin'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(attempts, 1);
    assert_eq!(
        audit_rows(&portal.pool, "sign_in_means.remove", "failure")
            .await
            .len(),
        1
    );
    assert!(
        mails(&portal.pool, martin, "sign_in_means_removed")
            .await
            .is_empty()
    );

    // Someone else's PSC identity, card or phone is "not found", and stays.
    for theirs in [
        MeansRef::Psc(other.national_id.clone()),
        MeansRef::Card(other.card),
        MeansRef::Phone(other.phone),
    ] {
        assert!(matches!(
            means::remove_own(
                &portal,
                "dr.martin",
                martin,
                &theirs,
                DEMO_PASSWORD,
                Call::new(&c, t0())
            )
            .await,
            Err(Error::NotFound)
        ));
    }
    assert_eq!(live_means(&portal.pool, durand).await, (1, 1, 1));

    // The right password: the PSC identity goes, audited, and the holder is told.
    let removed = means::remove_own(
        &portal,
        "dr.martin",
        martin,
        &psc,
        DEMO_PASSWORD,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    assert_eq!(removed.means, Means::Psc);
    assert_eq!(live_means(&portal.pool, martin).await, (1, 0, 1));
    let rows = audit_rows(&portal.pool, "psc.unlinked", "success").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["by"], "holder");
    assert_eq!(rows[0]["removed"]["id"], given.national_id.as_str());
    let told = mails(&portal.pool, martin, "sign_in_means_removed").await;
    assert_eq!(told.len(), 1);
    assert!(told[0].contains("identité Pro Santé Connect de Intrus Inconnu"));
    assert!(told[0].contains("« Mes moyens de connexion »"));
    // Removed once: a second time finds nothing.
    assert!(matches!(
        means::remove_own(
            &portal,
            "dr.martin",
            martin,
            &psc,
            DEMO_PASSWORD,
            Call::new(&c, t0())
        )
        .await,
        Err(Error::NotFound)
    ));

    // The card and the phone the same way.
    means::remove_own(
        &portal,
        "dr.martin",
        martin,
        &MeansRef::Card(given.card),
        DEMO_PASSWORD,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    means::remove_own(
        &portal,
        "dr.martin",
        martin,
        &MeansRef::Phone(given.phone),
        DEMO_PASSWORD,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    assert_eq!(live_means(&portal.pool, martin).await, (0, 0, 0));
    let (unlinked_by, sealed): (Option<Uuid>, Option<Vec<u8>>) = sqlx::query_as(
        "SELECT c.unlinked_by, e.secret_sealed FROM cards c, tiqr_enrollments e
         WHERE c.id = $1 AND e.id = $2",
    )
    .bind(given.card)
    .bind(given.phone)
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(unlinked_by, Some(martin));
    assert_eq!(sealed, None, "a revoked phone's secret is erased");
    assert_eq!(
        mails(&portal.pool, martin, "sign_in_means_removed")
            .await
            .len(),
        3
    );
    assert_eq!(
        audit_rows(&portal.pool, "card.unlinked", "success")
            .await
            .len(),
        1
    );
    assert_eq!(
        audit_rows(&portal.pool, "tiqr.revoke", "success")
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn the_console_removes_a_psc_identity_in_its_region_only() {
    let portal = seeded().await;
    let martin = user_id(&portal.pool, "dr.martin").await;
    let given = give_means(&portal.pool, martin, 3).await;
    let c = client("192.0.2.92");
    let now = t0() + Duration::minutes(1);

    // The account page shows the PSC identity next to the cards.
    let support_idf = actor(&portal, "support.idf").await;
    let detail = users::detail(&portal, &support_idf, martin, Call::new(&c, now))
        .await
        .unwrap();
    assert_eq!(detail.psc.len(), 1);
    assert_eq!(detail.psc[0].national_id.as_str(), given.national_id);
    assert!(
        detail
            .allowed(&support_idf)
            .contains(&domain::admin::Action::UnlinkPsc)
    );

    // Another region's desk and a professional are refused, audited, and nothing changes.
    for who in ["support.ara", "inf.durand"] {
        let a = actor(&portal, who).await;
        assert!(matches!(
            users::unlink_psc(&portal, &a, martin, &given.national_id, Call::new(&c, now)).await,
            Err(Error::Forbidden)
        ));
    }
    assert_eq!(
        audit_rows(&portal.pool, "psc.unlinked", "denied")
            .await
            .len(),
        2
    );
    assert_eq!(live_means(&portal.pool, martin).await, (1, 1, 1));

    // The region's desk removes it; audited with who did it; the holder is told who.
    users::unlink_psc(
        &portal,
        &support_idf,
        martin,
        &given.national_id,
        Call::new(&c, now),
    )
    .await
    .unwrap();
    assert_eq!(live_means(&portal.pool, martin).await, (1, 0, 1));
    let (actor_label, role, target): (String, Option<String>, String) = sqlx::query_as(
        "SELECT actor_label, actor_role, target_id FROM audit_log
         WHERE action = 'psc.unlinked' AND outcome = 'success'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(
        (actor_label.as_str(), role.as_deref()),
        ("support.idf", Some("support"))
    );
    assert_eq!(target, martin.to_string());
    let told = mails(&portal.pool, martin, "sign_in_means_removed").await;
    assert_eq!(told.len(), 1);
    assert!(told[0].contains("agent : support.idf"));
    // Gone: a second removal finds nothing.
    assert!(matches!(
        users::unlink_psc(
            &portal,
            &support_idf,
            martin,
            &given.national_id,
            Call::new(&c, now)
        )
        .await,
        Err(Error::NotFound)
    ));

    // The desk's card unlinking tells the holder too.
    users::unlink_card(
        &portal,
        &support_idf,
        martin,
        given.card,
        Call::new(&c, now),
    )
    .await
    .unwrap();
    assert_eq!(
        mails(&portal.pool, martin, "sign_in_means_removed")
            .await
            .len(),
        2
    );
}

#[tokio::test]
async fn a_reset_removes_every_means_only_when_the_holder_asks() {
    let portal = seeded().await;
    let martin = user_id(&portal.pool, "dr.martin").await;
    give_means(&portal.pool, martin, 4).await;
    let c = client("192.0.2.93");

    // Without the option: the password changes, the means stay.
    account_links::request_reset(&portal, "dr.martin", Call::new(&c, t0()))
        .await
        .unwrap();
    let token = reset_token(&mails(&portal.pool, martin, "password_reset").await[0]);
    account_links::set_password(
        &portal,
        &token,
        "cheval correct agrafe batterie",
        "cheval correct agrafe batterie",
        false,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    assert_eq!(live_means(&portal.pool, martin).await, (1, 1, 1));
    let changed = mails(&portal.pool, martin, "password_changed").await;
    assert!(!changed[0].contains("retirés"), "{}", changed[0]);

    // With it: all of them go in the reset's transaction, audited, and the e-mail lists them.
    let later = t0() + Duration::minutes(5);
    account_links::request_reset(&portal, "dr.martin", Call::new(&c, later))
        .await
        .unwrap();
    let token = reset_token(&mails(&portal.pool, martin, "password_reset").await[0]);
    account_links::set_password(
        &portal,
        &token,
        "une autre phrase assez longue",
        "une autre phrase assez longue",
        true,
        Call::new(&c, later),
    )
    .await
    .unwrap();
    assert_eq!(live_means(&portal.pool, martin).await, (0, 0, 0));
    let changed = mails(&portal.pool, martin, "password_changed").await;
    assert_eq!(changed.len(), 2);
    assert!(changed[0].contains("ont aussi été retirés"));
    assert!(changed[0].contains("- carte CPx (numéro de série 0a04)"));
    assert!(changed[0].contains("identité Pro Santé Connect de Intrus Inconnu"));
    assert!(changed[0].contains("- téléphone « Téléphone du 20/11/2026 » (application TIQR)"));
    let rows = audit_rows(&portal.pool, "auth.password_reset.done", "success").await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["remove_means"], false);
    assert_eq!(rows[1]["remove_means"], true);
    assert_eq!(
        rows[1]["sign_in_means_removed"].as_array().unwrap().len(),
        3
    );
}

#[tokio::test]
async fn the_desk_secures_a_compromised_account_in_one_go() {
    let portal = seeded().await;
    let martin = user_id(&portal.pool, "dr.martin").await;
    give_means(&portal.pool, martin, 5).await;
    let c = client("192.0.2.94");
    let now = t0() + Duration::minutes(1);
    // What an attacker would hold: a session, a sign-in waiting for its e-mail code, an unused
    // reset link, a phone enrolment under way.
    let session = crate::harness::sign_in(
        &portal,
        "dr.martin",
        DEMO_PASSWORD,
        None,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    sqlx::query("UPDATE users SET otp_required = true WHERE id = $1")
        .bind(martin)
        .execute(&portal.pool)
        .await
        .unwrap();
    assert!(matches!(
        domain::auth::password::sign_in(
            &portal,
            "dr.martin",
            DEMO_PASSWORD,
            None,
            Call::new(&c, t0())
        )
        .await
        .unwrap(),
        domain::auth::PasswordOutcome::CodeRequired { .. }
    ));
    account_links::request_reset(&portal, "dr.martin", Call::new(&c, t0()))
        .await
        .unwrap();
    let old_link = reset_token(&mails(&portal.pool, martin, "password_reset").await[0]);
    sqlx::query(
        "INSERT INTO tiqr_enrollment_starts (id, user_id, browser_hash, metadata_key_hash, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::new_v4())
    .bind(martin)
    .bind(vec![1u8; 32])
    .bind(vec![2u8; 32])
    .bind(t0() + Duration::minutes(5))
    .bind(t0())
    .execute(&portal.pool)
    .await
    .unwrap();

    // Another region's desk cannot; the desk cannot act on an administrator (who could then be
    // handed a reset link the desk controls nothing of, but whose means it could strip).
    let support_ara = actor(&portal, "support.ara").await;
    assert!(matches!(
        users::secure_compromised(&portal, &support_ara, martin, Call::new(&c, now)).await,
        Err(Error::Forbidden)
    ));
    let support_idf = actor(&portal, "support.idf").await;
    let admin_idf = user_id(&portal.pool, "admin.idf").await;
    assert!(matches!(
        users::secure_compromised(&portal, &support_idf, admin_idf, Call::new(&c, now)).await,
        Err(Error::Forbidden)
    ));
    assert_eq!(
        audit_rows(&portal.pool, "account.compromised", "denied")
            .await
            .len(),
        2
    );
    assert_eq!(live_means(&portal.pool, martin).await, (1, 1, 1));

    let secured = users::secure_compromised(&portal, &support_idf, martin, Call::new(&c, now))
        .await
        .unwrap();
    assert_eq!(secured.sessions_ended, 1);
    assert_eq!(secured.removed, 3);
    assert_eq!(secured.link, Some(Purpose::PasswordReset));

    // Everything is gone.
    assert_eq!(live_means(&portal.pool, martin).await, (0, 0, 0));
    assert!(
        domain::sessions::load(&portal.pool, &session.token, portal.sessions, now)
            .await
            .unwrap()
            .is_err()
    );
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM sign_in_steps WHERE user_id = $1",
            martin
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM tiqr_enrollment_starts WHERE user_id = $1",
            martin
        )
        .await,
        0
    );
    assert!(matches!(
        account_links::link_info(&portal, &old_link, now).await,
        Err(Error::AccountLinkExpired)
    ));
    // The old password no longer works (an active account keeps a hash: a random one).
    sqlx::query("UPDATE users SET otp_required = false WHERE id = $1")
        .bind(martin)
        .execute(&portal.pool)
        .await
        .unwrap();
    assert!(matches!(
        crate::harness::sign_in(
            &portal,
            "dr.martin",
            DEMO_PASSWORD,
            None,
            Call::new(&c, now)
        )
        .await,
        Err(Error::InvalidCredentials)
    ));

    // The holder is told, and the new reset link works.
    let secured_mail = mails(&portal.pool, martin, "account_secured").await;
    assert_eq!(secured_mail.len(), 1);
    assert!(secured_mail[0].contains("agent : support.idf"));
    assert!(secured_mail[0].contains("- carte CPx (numéro de série 0a05)"));
    let resets = mails(&portal.pool, martin, "password_reset").await;
    assert_eq!(resets.len(), 2);
    let fresh = reset_token(&resets[0]);
    account_links::set_password(
        &portal,
        &fresh,
        "cheval correct agrafe batterie",
        "cheval correct agrafe batterie",
        false,
        Call::new(&c, now),
    )
    .await
    .unwrap();
    crate::harness::sign_in(
        &portal,
        "dr.martin",
        "cheval correct agrafe batterie",
        None,
        Call::new(&c, now),
    )
    .await
    .unwrap();

    // One audit row says it all.
    let rows = audit_rows(&portal.pool, "account.compromised", "success").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["sessions_ended"], 1);
    assert_eq!(rows[0]["removed"].as_array().unwrap().len(), 3);
    assert_eq!(rows[0]["code_steps_cancelled"], 1);
    assert_eq!(rows[0]["links_voided"], 1);
    assert_eq!(rows[0]["password_voided"], true);
    assert_eq!(rows[0]["link"], "password_reset");
}
