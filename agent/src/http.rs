//! The HTTP edge: the router, the origin and host checks with CORS, and the two endpoints.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, HOST, ORIGIN, VARY,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::apdu::{self, Pin};
use crate::error::AgentError;
use crate::pcsc_reader::{Pcsc, PollId, Status};

#[derive(Clone)]
pub struct AppState {
    origins: Arc<Vec<String>>,
    pcsc: Arc<Pcsc>,
    /// How long `GET /v1/status?after=` waits for a change before answering the same status.
    long_poll: Duration,
}

/// The request's `Origin`, once checked against the configuration.
#[derive(Clone)]
struct CheckedOrigin(String);

pub fn router(origins: Vec<String>, pcsc: Arc<Pcsc>, long_poll: Duration) -> Router {
    let state = AppState {
        origins: Arc::new(origins),
        pcsc,
        long_poll,
    };
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/sign", post(sign))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Every request: a loopback `Host` (DNS rebinding: a hostile page on a name resolving to
/// 127.0.0.1 would otherwise be same-origin with the agent), a configured `Origin`, then CORS for
/// that origin only. Refusals carry no CORS header, so the refused page cannot even read them.
async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if !loopback_host(request.headers()) {
        return AgentError::HostRefused.into_response();
    }
    let origin = request
        .headers()
        .get(ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| state.origins.iter().any(|allowed| allowed == o))
        .map(str::to_owned);
    let Some(origin) = origin else {
        tracing::warn!(origin = ?request.headers().get(ORIGIN), path = %request.uri().path(), "origin refused");
        return AgentError::OriginRefused.into_response();
    };
    let mut response = if request.method() == Method::OPTIONS {
        let mut preflight = StatusCode::NO_CONTENT.into_response();
        // Chromium's Private Network Access: a public page calling a loopback server asks first.
        if request
            .headers()
            .get("access-control-request-private-network")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
        {
            preflight.headers_mut().insert(
                "access-control-allow-private-network",
                HeaderValue::from_static("true"),
            );
        }
        preflight
    } else {
        request
            .extensions_mut()
            .insert(CheckedOrigin(origin.clone()));
        next.run(request).await
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&origin) {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    headers.insert(VARY, HeaderValue::from_static("Origin"));
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    response
}

fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

async fn status(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Status>, AgentError> {
    let after = match query
        .as_deref()
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("after=")))
    {
        Some(revision) => Some(
            revision
                .parse::<u64>()
                .map_err(|_| AgentError::BadRequest)?,
        ),
        None => None,
    };
    let wait = if after.is_some() {
        state.long_poll
    } else {
        Duration::ZERO
    };
    let pcsc = state.pcsc.clone();
    let poll = pcsc.new_poll();
    // hyper drops this future when the client closes the connection: the guard then stops the
    // blocking wait.
    let mut abandon = AbandonOnDrop {
        pcsc: Some(pcsc.clone()),
        poll,
    };
    let status = tokio::task::spawn_blocking(move || pcsc.status(after, wait, poll)).await;
    abandon.pcsc = None;
    Ok(Json(status.map_err(|e| {
        AgentError::Card(format!("status task: {e}"))
    })??))
}

struct AbandonOnDrop {
    pcsc: Option<Arc<Pcsc>>,
    poll: PollId,
}

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        if let Some(pcsc) = &self.pcsc {
            pcsc.abandon(self.poll);
        }
    }
}

#[derive(Deserialize)]
struct SignRequest {
    pin: String,
    nonce: String,
}

#[derive(Serialize)]
struct SignResponse {
    certificate: String,
    algorithm: &'static str,
    signature: String,
}

async fn sign(
    State(state): State<AppState>,
    Extension(CheckedOrigin(origin)): Extension<CheckedOrigin>,
    body: Bytes,
) -> Result<Json<SignResponse>, AgentError> {
    // The body holds the PIN: parse it from a buffer we wipe right after.
    let mut body = Vec::from(body);
    let parsed = serde_json::from_slice::<SignRequest>(&body);
    body.zeroize();
    let SignRequest { pin, nonce } = parsed.map_err(|_| AgentError::BadRequest)?;
    let pin = Pin::parse(Zeroizing::new(pin))?;
    if !nonce_is_valid(&nonce) {
        return Err(AgentError::NonceFormat);
    }
    let message = apdu::signed_message(&origin, &nonce);
    let pcsc = state.pcsc.clone();
    let signed = tokio::task::spawn_blocking(move || pcsc.sign(pin, &message))
        .await
        .map_err(|e| AgentError::Card(format!("sign task: {e}")))?;
    match signed {
        Ok(signed) => {
            tracing::info!(%origin, "signature made");
            Ok(Json(SignResponse {
                certificate: STANDARD.encode(&signed.certificate),
                algorithm: "RS256",
                signature: STANDARD.encode(&signed.signature),
            }))
        }
        Err(e) => {
            tracing::info!(%origin, code = e.code(), "signature refused: {e}");
            Err(e)
        }
    }
}

/// The portal's nonce: 32 to 128 characters of the base64url alphabet (at least 192 bits).
fn nonce_is_valid(nonce: &str) -> bool {
    (32..=128).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_must_be_loopback() {
        let check = |host: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(HOST, HeaderValue::from_str(host).unwrap());
            loopback_host(&headers)
        };
        for ok in [
            "127.0.0.1:24231",
            "localhost:24231",
            "LOCALHOST",
            "[::1]:24231",
            "127.0.0.2",
        ] {
            assert!(check(ok), "{ok}");
        }
        for bad in [
            "evil.example:24231",
            "192.168.1.2:24231",
            "localhost.evil.fr",
            "[::2]:1",
        ] {
            assert!(!check(bad), "{bad}");
        }
        assert!(!loopback_host(&HeaderMap::new()));
    }

    #[test]
    fn nonces_are_base64url() {
        assert!(nonce_is_valid(&"a".repeat(32)));
        assert!(nonce_is_valid(&"A-_9".repeat(32)));
        assert!(!nonce_is_valid(&"a".repeat(31)));
        assert!(!nonce_is_valid(&"a".repeat(129)));
        assert!(!nonce_is_valid(&format!("{}+/=", "a".repeat(40))));
    }
}
