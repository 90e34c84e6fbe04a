//! Faults survived, at the HTTP edge over a PostgreSQL cluster of the test's own: the server
//! restarted (`pg_ctl restart -m fast`, then `-m immediate`) while browsers sign in and read
//! pages, then stopped for a while and started again. Meanwhile every answer is what was asked or
//! the French "temporarily unavailable" page with its reference (never a 500, a panic or a blank
//! page), `/readyz` says not ready while the database is gone and ready after, and afterwards
//! signing in works, the audit chain is intact and every session has its audited sign-in.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use domain::db::embedded::Shutdown;
use testkit::db::PrivateCluster;
use tower::ServiceExt;

use super::http_tests::{PASSWORD, body, cookie, get, location, portal_over, post, test_config};

/// What the French pages say (`common.err_unavailable`, `common.err_request_timeout`), and what
/// no page may say (`common.err_internal`).
const UNAVAILABLE: &str = "momentanément indisponible";
const INTERNAL: &str = "erreur technique";
const TIMEOUT: &str = "trop de temps à répondre";

/// The portal over a seeded database of `cluster`, behind a trusted proxy (the test's requests
/// carry their browser's address, so that the per-address budgets do not mix them).
async fn portal_on(cluster: &PrivateCluster) -> (Router, sqlx::PgPool) {
    let pool = cluster.migrated().await;
    let passwords = testkit::db::passwords();
    let now = time::OffsetDateTime::now_utc();
    assert!(domain::demo::seed(&pool, &passwords, now).await.unwrap());
    let config = crate::config::Config {
        trusted_proxies: vec![[127, 0, 0, 1].into()],
        ..test_config()
    };
    (portal_over(&config, pool.clone(), passwords).0, pool)
}

fn from(mut request: Request<Body>, address: &str) -> Request<Body> {
    request
        .headers_mut()
        .insert("x-forwarded-for", address.parse().unwrap());
    request
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Served,
    Unavailable,
}

/// One answer: what was asked, or "temporarily unavailable" in French. Anything else fails the
/// test with what was seen.
async fn judge(what: &str, response: Response<Body>) -> Seen {
    let status = response.status();
    if status.is_redirection() {
        let to = location(&response);
        if to.contains("erreur=indisponible-") {
            return Seen::Unavailable;
        }
        assert!(!to.contains("erreur="), "{what}: sent to {to}");
        return Seen::Served;
    }
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let text = body(response).await;
    assert!(!text.trim().is_empty(), "{what}: a blank page ({status})");
    assert!(!text.contains(INTERNAL), "{what}: {status}\n{text}");
    match status {
        StatusCode::SERVICE_UNAVAILABLE => {
            assert!(
                text.contains(UNAVAILABLE),
                "{what}: 503 without the French page\n{text}"
            );
            assert!(text.contains("Référence"), "{what}: no reference\n{text}");
            assert!(retry_after.is_some(), "{what}: 503 without Retry-After");
            Seen::Unavailable
        }
        // A page that needs several queries while the database is away can wait for a
        // connection several times; past the request's time limit, the portal says so in French.
        StatusCode::REQUEST_TIMEOUT => {
            assert!(
                text.contains(TIMEOUT),
                "{what}: 408 without the French message\n{text}"
            );
            Seen::Unavailable
        }
        StatusCode::OK if text.contains(UNAVAILABLE) => Seen::Unavailable,
        StatusCode::OK => Seen::Served,
        other => panic!("{what}: {other}\n{text}"),
    }
}

/// The sign-in form of `username`, posted from `address`.
async fn sign_in_from(app: &Router, username: &str, address: &str) -> Response<Body> {
    let form = post(
        "/connexion",
        &[("identifiant", username), ("mot_de_passe", PASSWORD)],
        None,
    );
    app.clone().oneshot(from(form, address)).await.unwrap()
}

/// A browser at `address`: signs in as `username`, then reads the page it lands on.
async fn visit(app: &Router, username: &str, address: &str) -> Vec<Seen> {
    let response = sign_in_from(app, username, address).await;
    let session = cookie(&response, "passerelle_session");
    let landing = location(&response);
    let signed_in = judge(&format!("sign-in of {username}"), response).await;
    let mut seen = vec![signed_in];
    if let (Seen::Served, Some(session)) = (signed_in, session) {
        let page = get(&landing, Some(&session));
        let response = app.clone().oneshot(from(page, address)).await.unwrap();
        seen.push(judge(&format!("{landing} for {username}"), response).await);
    }
    seen
}

/// Browsers signing in and reading pages in a loop until `stop`; counts what they saw.
fn browsers(app: &Router, stop: &Arc<AtomicBool>) -> Vec<tokio::task::JoinHandle<[usize; 2]>> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    ["dr.martin", "admin.idf", "inf.durand", "sec.petit"]
        .into_iter()
        .map(|username| {
            let (app, stop) = (app.clone(), stop.clone());
            tokio::spawn(async move {
                let mut counts = [0usize; 2];
                while !stop.load(Ordering::Relaxed) {
                    let n = NEXT.fetch_add(1, Ordering::Relaxed);
                    // A network of its own per visit: the per-address budgets count by /24.
                    let address = format!("10.{}.{}.1", n >> 8 & 255, n & 255);
                    for seen in visit(&app, username, &address).await {
                        counts[seen as usize] += 1;
                    }
                }
                counts
            })
        })
        .collect()
}

async fn ready(app: &Router) -> StatusCode {
    app.clone()
        .oneshot(get("/readyz", None))
        .await
        .unwrap()
        .status()
}

/// Waits (generously: a machine busy building recovers slowly) until `/readyz` says `want`.
async fn until_ready_is(app: &Router, want: StatusCode) {
    for _ in 0..600 {
        if ready(app).await == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/readyz never answered {want}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_restarted_or_gone_for_a_while_leaves_every_page_french_and_nothing_half_done() {
    // The warnings and errors the portal logs meanwhile, with their references, in the output.
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_test_writer()
        .try_init();
    let cluster = Arc::new(PrivateCluster::start());
    let (app, pool) = portal_on(&cluster).await;
    assert_eq!(ready(&app).await, StatusCode::OK);

    for mode in [Shutdown::Fast, Shutdown::Immediate] {
        let stop = Arc::new(AtomicBool::new(false));
        let running = browsers(&app, &stop);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let c = cluster.clone();
        tokio::task::spawn_blocking(move || c.cluster().restart(mode))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("pg_ctl restart -m {mode:?}: {e}"));
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop.store(true, Ordering::Relaxed);
        let mut total = [0usize; 2];
        for browser in running {
            let [served, unavailable] = browser.await.expect("a browser's task panicked");
            total[0] += served;
            total[1] += unavailable;
        }
        eprintln!(
            "restart -m {mode:?}: {} answers served, {} \"temporarily unavailable\"",
            total[0], total[1]
        );
        assert!(total[0] > 0, "nothing was served around the restart");
        until_ready_is(&app, StatusCode::OK).await;
        assert!(
            visit(&app, "dr.martin", "10.200.0.1")
                .await
                .iter()
                .all(|s| *s == Seen::Served),
            "signing in after the restart -m {mode:?}"
        );
    }

    // Gone for a while: not ready, and a page asked meanwhile says so in French.
    let response = sign_in_from(&app, "dr.martin", "10.201.0.1").await;
    let session = cookie(&response, "passerelle_session").expect("signed in");
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.cluster().stop_now())
        .await
        .unwrap()
        .unwrap();
    until_ready_is(&app, StatusCode::SERVICE_UNAVAILABLE).await;
    let page = app
        .clone()
        .oneshot(from(get("/etablissements", Some(&session)), "10.201.0.1"))
        .await
        .unwrap();
    assert_eq!(
        judge("a page while the database is down", page).await,
        Seen::Unavailable
    );
    let response = sign_in_from(&app, "inf.durand", "10.201.0.2").await;
    assert_eq!(
        judge("a sign-in while the database is down", response).await,
        Seen::Unavailable
    );
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.cluster().start_again())
        .await
        .unwrap()
        .unwrap();
    until_ready_is(&app, StatusCode::OK).await;
    // The session of before is still there.
    let page = app
        .clone()
        .oneshot(from(get("/etablissements", Some(&session)), "10.201.0.1"))
        .await
        .unwrap();
    assert_eq!(judge("the page again", page).await, Seen::Served);

    // Nothing half done: the chain verifies, and every session has its audited sign-in.
    let verified = domain::audit::verify(&pool).await.unwrap();
    assert!(
        matches!(verified, domain::audit::Verification::Intact { .. }),
        "{verified:?}"
    );
    let orphans: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions s WHERE NOT EXISTS (
           SELECT 1 FROM audit_log a WHERE a.action = 'auth.sign_in'
             AND a.outcome = 'success' AND a.target_id = s.user_id::text
             AND a.occurred_at = s.created_at)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(orphans, 0, "sessions without their audited sign-in");
}
