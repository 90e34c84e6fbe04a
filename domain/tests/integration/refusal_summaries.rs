//! Anonymous refusals are summarised: the first of a minute by a source is written at once, the
//! rest of that minute become one summary row with their count; the chain still verifies.

use domain::audit::{self, Verification};
use domain::auth::{account_links, card, password, psc};
use domain::call::Call;
use domain::refusals;
use domain::throttle::Policy;
use serde_json::Value;
use sqlx::PgPool;
use time::Duration;

use crate::harness::{client, fresh_pool, seeded, t0};

/// (id, action, reason, details) of the rows whose `details.reason` is `reason`, oldest first.
async fn rows_with_reason(pool: &PgPool, reason: &str) -> Vec<(i64, String, Value)> {
    sqlx::query_as(
        "SELECT id, action, details FROM audit_log WHERE details->>'reason' = $1 ORDER BY id",
    )
    .bind(reason)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn assert_chain_intact(pool: &PgPool) {
    assert!(matches!(
        audit::verify(pool).await.unwrap(),
        Verification::Intact { .. }
    ));
}

#[tokio::test]
async fn a_throttled_address_leaves_one_row_and_one_summary_per_minute() {
    let mut portal = seeded().await;
    portal.address_throttle = Policy {
        max_failures: 2,
        ..Policy::ADDRESS_DEFAULT
    };
    let bot = client("203.0.113.66");
    for i in 0..2 {
        let _ = password::sign_in(
            &portal,
            &format!("guess{i}"),
            "x",
            None,
            Call::new(&bot, t0()),
        )
        .await;
    }
    // Forty more, all refused before any password check.
    for i in 0..40 {
        let at = t0() + Duration::seconds(5) + Duration::milliseconds(i * 100);
        assert!(matches!(
            password::sign_in(&portal, "dr.martin", "x", None, Call::new(&bot, at)).await,
            Err(domain::Error::AddressThrottled { .. })
        ));
    }
    let rows = rows_with_reason(&portal.pool, "address_throttled").await;
    assert_eq!(
        rows.len(),
        1,
        "only the minute's first refusal is written at once"
    );
    let first = rows[0].0;
    assert_eq!(rows[0].1, "auth.password.sign_in");
    // The first refusal keeps its details: who was tried.
    let target: Option<String> =
        sqlx::query_scalar("SELECT target_label FROM audit_log WHERE id = $1")
            .bind(first)
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(target.as_deref(), Some("dr.martin"));

    // The minute is not over: nothing to summarise yet.
    assert_eq!(
        refusals::flush(&portal.pool, t0() + Duration::seconds(59))
            .await
            .unwrap()
            .summaries,
        0
    );
    assert_eq!(
        refusals::flush(&portal.pool, t0() + Duration::seconds(61))
            .await
            .unwrap()
            .summaries,
        1
    );
    let rows = rows_with_reason(&portal.pool, "address_throttled").await;
    assert_eq!(rows.len(), 2);
    let summary = &rows[1];
    assert_eq!(summary.1, "auth.password.sign_in");
    assert_eq!(summary.2["summary"], true);
    assert_eq!(summary.2["refusals"], 40);
    assert_eq!(summary.2["first_row"], first);
    let (label, ip): (String, Option<String>) =
        sqlx::query_as("SELECT actor_label, ip FROM audit_log WHERE id = $1")
            .bind(summary.0)
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(
        (label.as_str(), ip.as_deref()),
        ("203.0.113.66", Some("203.0.113.66"))
    );
    // Flushed once: nothing is left to write twice.
    assert_eq!(
        refusals::flush(&portal.pool, t0() + Duration::minutes(5))
            .await
            .unwrap()
            .summaries,
        0
    );
    assert_chain_intact(&portal.pool).await;
}

#[tokio::test]
async fn a_new_minute_starts_a_new_row_after_the_last_minutes_summary() {
    let portal = seeded().await;
    let bot = client("198.51.100.23");
    for i in 0..5 {
        card::record_edge_refusal(
            &portal,
            "no_certificate",
            "tls",
            Call::new(&bot, t0() + Duration::seconds(i)),
        )
        .await
        .unwrap();
    }
    for i in 0..3 {
        card::record_edge_refusal(
            &portal,
            "no_certificate",
            "tls",
            Call::new(&bot, t0() + Duration::seconds(60 + i)),
        )
        .await
        .unwrap();
    }
    // Another address is counted on its own.
    card::record_edge_refusal(
        &portal,
        "no_certificate",
        "tls",
        Call::new(&client("192.0.2.200"), t0()),
    )
    .await
    .unwrap();
    let rows = rows_with_reason(&portal.pool, "no_certificate").await;
    // Minute 1's first row, minute 1's summary (written by minute 2's first refusal, before it),
    // minute 2's first row, the other address's own first row.
    let shape: Vec<(bool, Value)> = rows
        .iter()
        .map(|(_, _, d)| (d["summary"] == true, d["refusals"].clone()))
        .collect();
    assert_eq!(
        shape,
        vec![
            (false, Value::Null),
            (true, Value::from(5)),
            (false, Value::Null),
            (false, Value::Null),
        ]
    );
    assert_eq!(rows[1].2["first_row"], rows[0].0);
    assert_eq!(
        refusals::flush(&portal.pool, t0() + Duration::minutes(2))
            .await
            .unwrap()
            .summaries,
        1
    );
    let rows = rows_with_reason(&portal.pool, "no_certificate").await;
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[4].2["refusals"], 3);
    assert_eq!(rows[4].2["first_row"], rows[2].0);
    assert_chain_intact(&portal.pool).await;
}

#[tokio::test]
async fn counts_survive_a_restart_and_two_instances_write_one_summary() {
    let portal = seeded().await;
    for i in 0..7 {
        // Any address of the /64 is the same source.
        let c = client(&format!("2001:db8:7:7::{}", i + 1));
        psc::record_refusal(
            &portal.pool,
            "state_missing",
            serde_json::json!({}),
            Call::new(&c, t0() + Duration::seconds(i)),
        )
        .await
        .unwrap();
    }
    // A "restart": the pool goes, two new instances flush at once.
    let url = (*portal.pool.connect_options()).clone();
    portal.pool.close().await;
    let a = PgPool::connect_with(url.clone()).await.unwrap();
    let b = PgPool::connect_with(url).await.unwrap();
    let later = t0() + Duration::minutes(3);
    let (wa, wb) = tokio::join!(refusals::flush(&a, later), refusals::flush(&b, later));
    assert_eq!(wa.unwrap().summaries + wb.unwrap().summaries, 1);
    let rows = rows_with_reason(&a, "state_missing").await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].2["refusals"], 7);
    assert_chain_intact(&a).await;
}

#[tokio::test]
async fn repeated_reset_requests_for_nobody_are_summarised() {
    let portal = seeded().await;
    let bot = client("192.0.2.99");
    for i in 0..25 {
        account_links::request_reset(&portal, &format!("personne{i}"), Call::new(&bot, t0()))
            .await
            .unwrap();
    }
    assert_eq!(rows_with_reason(&portal.pool, "unknown").await.len(), 1);
    refusals::flush(&portal.pool, t0() + Duration::minutes(1))
        .await
        .unwrap();
    let rows = rows_with_reason(&portal.pool, "unknown").await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].1, "auth.password_reset.request");
    assert_eq!(rows[1].2["refusals"], 25);
    assert_chain_intact(&portal.pool).await;
}

#[tokio::test]
async fn a_lone_refusal_is_written_once_and_never_summarised() {
    let pool = fresh_pool().await;
    psc::record_logout_refusal(
        &pool,
        psc::PscLogoutRefusal::BadSignature,
        Call::new(&client("192.0.2.1"), t0()),
    )
    .await
    .unwrap();
    assert_eq!(
        refusals::flush(&pool, t0() + Duration::minutes(2))
            .await
            .unwrap()
            .summaries,
        0
    );
    let rows = rows_with_reason(&pool, "bad_signature").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "auth.psc.backchannel_logout");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_refusal_counts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}
