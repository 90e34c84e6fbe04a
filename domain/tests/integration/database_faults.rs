//! What the domain does when PostgreSQL fails under it: which failures are tried again, how
//! often, and that an attempt thrown away leaves nothing behind. The failures are real ones,
//! raised by the server with their SQLSTATE (a serialization failure, a deadlock, a demoted
//! primary) or caused by restarting it.

use domain::Error;
use domain::db::retry;
use sqlx::PgPool;

async fn table(pool: &PgPool) -> String {
    let name = format!("faults_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {name} (attempt int NOT NULL)"
    )))
    .execute(pool)
    .await
    .unwrap();
    name
}

/// Inserts the attempt's number, then fails with `state` while `attempt <= failures`.
async fn attempt(
    conn: &mut sqlx::PgConnection,
    table: &str,
    attempt: i32,
    failures: i32,
    state: &str,
) -> domain::Result<i32> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} VALUES ($1)"
    )))
    .bind(attempt)
    .execute(&mut *conn)
    .await?;
    if attempt <= failures {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '{state}'; END $$"
        )))
        .execute(&mut *conn)
        .await?;
    }
    Ok(attempt)
}

async fn kept(pool: &PgPool, table: &str) -> Vec<i32> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT attempt FROM {table} ORDER BY attempt"
    )))
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_transaction_lost_to_a_race_or_a_failover_runs_once_more_and_keeps_only_that_run() {
    let pool = testkit::db::fresh_pool().await;
    // Serialization failure, deadlock, read-only transaction (a primary demoted under us).
    for state in ["40001", "40P01", "25006"] {
        let t = table(&pool).await;
        let mut calls = 0;
        let done = domain::transaction!(&pool, |tx| {
            calls += 1;
            attempt(tx, &t, calls, 1, state)
        });
        assert_eq!(done.ok(), Some(2), "{state}");
        assert_eq!(
            kept(&pool, &t).await,
            [2],
            "{state}: the failed run left a row"
        );
    }
}

#[tokio::test]
async fn a_transaction_failing_twice_is_reported_unavailable_with_nothing_kept() {
    let pool = testkit::db::fresh_pool().await;
    let t = table(&pool).await;
    let mut calls = 0;
    let done = domain::transaction!(&pool, |tx| {
        calls += 1;
        attempt(tx, &t, calls, 9, "40001")
    });
    assert!(matches!(done, Err(Error::Unavailable(_))), "{done:?}");
    assert_eq!(calls, 2, "tried once more, not forever");
    assert!(kept(&pool, &t).await.is_empty());
}

#[tokio::test]
async fn a_failure_of_the_request_itself_is_not_tried_again() {
    let pool = testkit::db::fresh_pool().await;
    let t = table(&pool).await;
    let mut calls = 0;
    // A check violation: the same statement would fail the same way.
    let done = domain::transaction!(&pool, |tx| {
        calls += 1;
        attempt(tx, &t, calls, 9, "23514")
    });
    assert!(matches!(done, Err(Error::Database(_))), "{done:?}");
    assert_eq!(calls, 1);
    assert!(kept(&pool, &t).await.is_empty());
}

/// A real restart: the connection the transaction held is cut (`pg_ctl restart -m immediate`
/// between its statements); the second run gets a new one from the pool and commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_cut_by_a_restart_runs_again_on_a_new_connection() {
    let cluster = std::sync::Arc::new(super::harness::PrivateCluster::start());
    let pool = cluster.migrated().await;
    let t = table(&pool).await;
    let mut calls = 0;
    let done = domain::transaction!(&pool, |tx| {
        calls += 1;
        cut_once(tx, &cluster, &t, calls)
    });
    assert_eq!(done.ok(), Some(2));
    assert_eq!(kept(&pool, &t).await, [2]);

    // And a read tried again rides over the restart the same way.
    let mut reads = 0;
    let read = retry::reading(|| {
        reads += 1;
        let (first, cluster, pool) = (reads == 1, cluster.clone(), pool.clone());
        async move {
            if first {
                restart(&cluster).await;
            }
            Ok(sqlx::query_scalar::<_, i64>("SELECT count(*) FROM users")
                .fetch_one(&pool)
                .await?)
        }
    })
    .await;
    assert_eq!(read.ok(), Some(0));
}

async fn restart(cluster: &std::sync::Arc<super::harness::PrivateCluster>) {
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.restart_immediate())
        .await
        .unwrap()
        .unwrap();
}

/// Inserts the attempt's number; on the first attempt, the server is restarted before the next
/// statement of the transaction.
async fn cut_once(
    tx: &mut sqlx::PgConnection,
    cluster: &std::sync::Arc<super::harness::PrivateCluster>,
    table: &str,
    attempt: i32,
) -> domain::Result<i32> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} VALUES ($1)"
    )))
    .bind(attempt)
    .execute(&mut *tx)
    .await?;
    if attempt == 1 {
        restart(cluster).await;
    }
    sqlx::query("SELECT 1").execute(&mut *tx).await?;
    Ok(attempt)
}
