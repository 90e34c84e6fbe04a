//! Liveness and readiness probes for the load balancer.

use std::time::Duration;

use app::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;

/// How long readiness waits for the database: under the probe timeouts of load balancers
/// (Kubernetes' default is one second, nginx and HAProxy checks a few), so that an instance
/// whose database is gone is reported not ready rather than timed out.
const READY_TIMEOUT: Duration = Duration::from_millis(900);

/// The process answers.
pub async fn live() -> &'static str {
    "ok"
}

/// The database answers too.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let ping = domain::db::ping(&state.services.portal.pool);
    match tokio::time::timeout(READY_TIMEOUT, ping).await {
        Ok(true) => (StatusCode::OK, "ready"),
        Ok(false) | Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable"),
    }
}
