//! Liveness and readiness probes for the load balancer.

use app::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;

/// The process answers.
pub async fn live() -> &'static str {
    "ok"
}

/// The database answers too.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if domain::db::ping(&state.services.portal.pool).await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    }
}
