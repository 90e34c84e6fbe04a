//! The status of a server function's error. Leptos answers every error of a server function with
//! 500; the page's data calls (`/api/…`) answer here with the status of the `ErrorCode` they carry
//! (not signed in 401, forbidden 403, not found 404, stale version 409, bad parameters 400), so
//! that a client, a proxy and the logs tell a refusal from a failure. Only `Internal` stays 500
//! (and it was logged with its reference where it was made).

use app::error::ErrorCode;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Prefix of every server function (`#[server(prefix = "/api…")]`).
const PREFIX: &str = "/api/";

/// An error body is one serialized `ErrorCode`: a few hundred bytes.
const MAX_ERROR_BODY: usize = 16 * 1024;

pub async fn status_of_errors(request: Request, next: Next) -> Response {
    let server_fn = request.uri().path().starts_with(PREFIX);
    let response = next.run(request).await;
    if !server_fn || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(code) = serde_json::from_slice::<ErrorCode>(&bytes) {
        parts.status =
            StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    }
    Response::from_parts(parts, Body::from(bytes))
}
