//! Prometheus metrics, served on an address of their own (`[metrics] listen`,
//! `PASSERELLE_METRICS_LISTEN`), never on the portal's: a scraper on the operators' network reads
//! them, the public does not.
//!
//! - `passerelle_http_requests_total{method, route, status}` and
//!   `passerelle_http_request_duration_seconds{method, route}` (histogram): per route pattern
//!   (`/admin/comptes/{id}`), each server function by its path, anything else (files, unknown
//!   addresses) as `other`, so that no visitor can create labels;
//! - `passerelle_audit_events_total{action, outcome}`: every audited event as written (the sign-ins
//!   by method and outcome, the lockouts, the console's changes; `domain::audit`);
//! - read at each scrape: the database pool (`passerelle_db_pool_connections{state}`), the Argon2
//!   slots (`passerelle_argon2_running`, `passerelle_argon2_waiting`), the outbox
//!   (`passerelle_mail_outbox_pending`, `passerelle_mail_outbox_oldest_pending_seconds`,
//!   `passerelle_mail_outbox_abandoned`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

use app::state::Services;

/// The path of the metrics on their own address.
pub const METRICS: &str = "/metrics";

/// Latency buckets, in seconds: from a page served from memory to an Argon2 queue under load.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Set once a recorder is installed: without one, the request layers add nothing to a request
/// (no labels built for a recorder that would drop them).
static ON: AtomicBool = AtomicBool::new(false);

/// Installs the process's recorder (once): from then on every `metrics::` call is kept.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), BUCKETS)?
        .install_recorder()?;
    ON.store(true, Ordering::Relaxed);
    Ok(handle)
}

/// The route a response answered, set by [`mark_route`] for the outer [`observe`].
#[derive(Debug, Clone)]
struct RouteLabel(String);

/// On every matched route (`route_layer`): names the response with the route's pattern.
pub async fn mark_route(request: Request, next: Next) -> Response {
    if !ON.load(Ordering::Relaxed) {
        return next.run(request).await;
    }
    // The server functions share one pattern; each is worth its own line. Their paths are a
    // fixed set: an unknown one answers 404 and stays `other`.
    let (route, server_fn) = match request.extensions().get::<MatchedPath>() {
        Some(p) if p.as_str().starts_with("/api/") => {
            (Some(request.uri().path().to_string()), true)
        }
        Some(p) => (Some(p.as_str().to_string()), false),
        None => (None, false),
    };
    let mut response = next.run(request).await;
    if let Some(route) = route
        && !(server_fn && response.status() == StatusCode::NOT_FOUND)
    {
        response.extensions_mut().insert(RouteLabel(route));
    }
    response
}

/// Outermost: counts and times every request, refused ones included.
pub async fn observe(request: Request, next: Next) -> Response {
    if !ON.load(Ordering::Relaxed) {
        return next.run(request).await;
    }
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map_or_else(|| "other".to_string(), |r| r.0.clone());
    metrics::counter!(
        "passerelle_http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "status" => response.status().as_u16().to_string()
    )
    .increment(1);
    metrics::histogram!(
        "passerelle_http_request_duration_seconds",
        "method" => method,
        "route" => route
    )
    .record(started.elapsed().as_secs_f64());
    response
}

/// The methods the portal answers; any other is `other` (a client may send any word).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        _ => "other",
    }
}

#[derive(Clone)]
struct Exporter {
    handle: PrometheusHandle,
    services: Arc<Services>,
}

/// The metrics' own router: `GET /metrics` in Prometheus' text format.
pub fn router(handle: PrometheusHandle, services: Arc<Services>) -> Router {
    Router::new()
        .route(METRICS, get(render))
        .with_state(Exporter { handle, services })
}

/// Serves the metrics on `listen` until the process ends.
pub async fn serve(listen: SocketAddr, router: Router) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!("metrics on http://{listen}{METRICS}");
    axum::serve(listener, router).await
}

async fn render(State(exporter): State<Exporter>) -> Response {
    sample(&exporter.services).await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        exporter.handle.render(),
    )
        .into_response()
}

/// The gauges read at each scrape. A database that does not answer leaves the outbox's gauges as
/// they were (the pool's gauges say why).
#[allow(clippy::cast_precision_loss)] // counts far below 2^52
async fn sample(services: &Services) {
    let pool = &services.portal.pool;
    let idle = pool.num_idle() as f64;
    let size = f64::from(pool.size());
    metrics::gauge!("passerelle_db_pool_connections", "state" => "idle").set(idle);
    metrics::gauge!("passerelle_db_pool_connections", "state" => "in_use").set(size - idle);
    let load = services.portal.passwords.load();
    metrics::gauge!("passerelle_argon2_running").set(load.running as f64);
    metrics::gauge!("passerelle_argon2_waiting").set(load.waiting as f64);
    match domain::mail::outbox::state(pool).await {
        Ok(outbox) => {
            let age = outbox.oldest_pending.map_or(0.0, |t| {
                (time::OffsetDateTime::now_utc() - t)
                    .as_seconds_f64()
                    .max(0.0)
            });
            metrics::gauge!("passerelle_mail_outbox_pending").set(outbox.pending as f64);
            metrics::gauge!("passerelle_mail_outbox_abandoned").set(outbox.abandoned as f64);
            metrics::gauge!("passerelle_mail_outbox_oldest_pending_seconds").set(age);
        }
        Err(e) => tracing::warn!("metrics: the outbox could not be read: {e}"),
    }
}
