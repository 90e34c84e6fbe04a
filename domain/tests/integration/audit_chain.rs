use domain::audit::{self, Action, Client, Event, Outcome, Verification};
use domain::call::Call;
use time::Duration;

use crate::harness::{fresh_pool, t0};

async fn append(pool: &sqlx::PgPool, n: usize) {
    for i in 0..n {
        let mut tx = pool.begin().await.unwrap();
        audit::record(
            &mut tx,
            Event::new(Action::AuthSignIn, Outcome::Success, format!("user{i}"))
                .region("FR-IDF")
                .details(serde_json::json!({"i": i, "method": "password"})),
            Call::new(
                &Client {
                    ip: Some("192.0.2.1".into()),
                    user_agent: Some("é ü \"quotes\"".into()),
                    device: None,
                },
                t0() + Duration::milliseconds(i as i64 * 1234),
            ),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
}

#[tokio::test]
async fn an_intact_chain_verifies() {
    let pool = fresh_pool().await;
    assert_eq!(
        audit::verify(&pool).await.unwrap(),
        Verification::Intact {
            rows: 0,
            last: None
        }
    );
    append(&pool, 12).await;
    let last_id: i64 = sqlx::query_scalar("SELECT max(id) FROM audit_log")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        matches!(audit::verify(&pool).await.unwrap(), Verification::Intact { last: Some((id, ref h)), .. } if id == last_id && h.len() == 64)
    );
    assert!(matches!(
        audit::verify(&pool).await.unwrap(),
        Verification::Intact { rows: 12, .. }
    ));
}

#[tokio::test]
async fn update_delete_and_truncate_are_refused() {
    let pool = fresh_pool().await;
    append(&pool, 2).await;
    for sql in [
        "UPDATE audit_log SET outcome = 'failure'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ] {
        let err = sqlx::query(sql).execute(&pool).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert!(matches!(
        audit::verify(&pool).await.unwrap(),
        Verification::Intact { rows: 2, .. }
    ));
}

#[tokio::test]
async fn a_row_changed_behind_the_application_is_named() {
    let pool = fresh_pool().await;
    append(&pool, 10).await;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM audit_log ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let victim = ids[6];
    // A superuser bypassing the triggers.
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_log SET actor_label = 'someone.else' WHERE id = $1")
        .bind(victim)
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("SET session_replication_role = origin")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    assert!(
        matches!(audit::verify(&pool).await.unwrap(), Verification::Broken { row_id, .. } if row_id == victim)
    );
}

#[tokio::test]
async fn a_deleted_row_breaks_the_chain_at_the_next_one() {
    let pool = fresh_pool().await;
    append(&pool, 5).await;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM audit_log ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_log WHERE id = $1")
        .bind(ids[2])
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    assert!(
        matches!(audit::verify(&pool).await.unwrap(), Verification::Broken { row_id, .. } if row_id == ids[3])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_never_fork_the_chain() {
    let pool = fresh_pool().await;
    let mut tasks = Vec::new();
    for w in 0..8 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let mut tx = pool.begin().await.unwrap();
                audit::record(
                    &mut tx,
                    Event::new(Action::AuthSignIn, Outcome::Success, format!("w{w}-{i}")),
                    Call::new(&Client::default(), t0()),
                )
                .await
                .unwrap();
                if i % 3 == 0 {
                    // A rolled-back change leaves no audit row and no gap in the chain.
                    tx.rollback().await.unwrap();
                } else {
                    tx.commit().await.unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert!(matches!(
        audit::verify(&pool).await.unwrap(),
        Verification::Intact { rows: 48, .. }
    ));
}

// Hardening (issue 14, L-4): a refusal carrying a NUL (`/connexion/psc/retour?error=%00`, a
// certificate subject with a NUL) or other control characters is still written, stripped.
#[tokio::test]
async fn a_nul_or_control_character_does_not_keep_a_refusal_out_of_the_log() {
    let pool = fresh_pool().await;
    let mut tx = pool.begin().await.unwrap();
    audit::record(
        &mut tx,
        Event::new(Action::AuthPscSignIn, Outcome::Denied, "anonyme\0\r\nfaux")
            .target("card", "CN=Dr\0Martin", "CN=Dr\0Martin\u{1b}[31m")
            .details(serde_json::json!({
                "error": "\0",
                "iss": "https://psc\0.example",
                "nested": [{"k\0": "a\0b"}],
                "multi": "line 1\nline 2",
            })),
        Call::new(
            &Client {
                ip: Some("192.0.2.7".into()),
                user_agent: Some("agent\0\u{7f}".into()),
                device: None,
            },
            t0(),
        ),
    )
    .await
    .expect("the refusal is written");
    tx.commit().await.unwrap();

    let (label, target, agent, details): (String, String, String, serde_json::Value) =
        sqlx::query_as("SELECT actor_label, target_label, user_agent, details FROM audit_log")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(label, "anonymefaux");
    assert_eq!(target, "CN=DrMartin[31m");
    assert_eq!(agent, "agent");
    assert_eq!(
        details,
        serde_json::json!({
            "error": "",
            "iss": "https://psc.example",
            "nested": [{"k": "ab"}],
            "multi": "line 1\nline 2",
        })
    );
    assert!(matches!(
        audit::verify(&pool).await.unwrap(),
        Verification::Intact { rows: 1, .. }
    ));
}
