//! "Carte CPS" at the HTTP edge: the agent's challenge and proof, and the TLS-terminated card
//! host (the one-time linking form of an unknown card is `super::linking`). The rules are in
//! `domain::auth::card`; this module reads forms, headers and cookies and answers with redirects.

use std::net::SocketAddr;

use app::error::{CardError, ErrorCode};
use app::paths;
use app::state::{AppState, CardService, RequestContext};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use axum_extra::extract::cookie::CookieJar;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use domain::auth::card::{self, AgentProof, Browser, CardOutcome};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;

use super::cookies;
use super::forms::{TokenOnlyForm, signed_in_response};
use super::posted::{Posted, back_with_error};

super::posted::token_in_csrf_field!(AgentForm);

/// A CPx authentication certificate is about 1.5–2 KB; anything far larger is not one.
const MAX_CERTIFICATE: usize = 16 * 1024;
const MAX_SIGNATURE: usize = 1024;

fn service(state: &AppState) -> Option<&CardService> {
    state.services.card.as_ref()
}

/// The card trust anchors when card sign-in is on (a pending card is validated again when a
/// linking completes, on the linking page or after the e-mail code).
pub(super) fn trust(state: &AppState) -> Option<&card::Trust> {
    service(state).map(|s| &s.trust)
}

/// The browser before it has a session: its form-token cookie.
pub(super) fn browser(ctx: &RequestContext) -> Browser {
    Browser::of_secret(&ctx.csrf_token)
}

fn refused(code: CardError) -> Response {
    back_with_error(paths::SIGN_IN, &ErrorCode::Card(code))
}

/// Audits a refusal decided here, before any certificate could be validated; the code to show.
async fn edge_refusal(
    state: &AppState,
    ctx: &RequestContext,
    reason: &str,
    path: &str,
    code: CardError,
) -> ErrorCode {
    match card::record_edge_refusal(&state.services.portal, reason, path, ctx.call()).await {
        Ok(()) => ErrorCode::Card(code),
        Err(e) => ErrorCode::from(e),
    }
}

/// Signed in, or sent to the linking page with the pending link in a cookie.
fn finish(state: &AppState, jar: CookieJar, outcome: CardOutcome) -> Response {
    let secure = state.services.settings.secure_cookies;
    match outcome {
        CardOutcome::SignedIn(signed_in) => signed_in_response(state, jar, &signed_in),
        CardOutcome::LinkRequired { token } => {
            let minutes = card::LINK_LIFETIME.whole_minutes();
            (
                jar.add(cookies::short_lived(
                    cookies::CARD_LINK,
                    &token,
                    minutes,
                    secure,
                )),
                Redirect::to(paths::CARD_LINK),
            )
                .into_response()
        }
    }
}

/// `POST /connexion/carte/defi`: a fresh nonce for the agent, bound to this browser.
pub async fn challenge(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Posted(_): Posted<TokenOnlyForm>,
) -> Response {
    let json_error = |status: StatusCode, code: ErrorCode| {
        (status, Json(serde_json::json!({ "error": code.slug() }))).into_response()
    };
    if service(&state).is_none() {
        return json_error(
            StatusCode::NOT_FOUND,
            ErrorCode::Card(CardError::Unavailable),
        );
    }
    let issued = match state.services.portal.pool.acquire().await {
        Ok(mut conn) => card::issue_challenge(&mut conn, browser(&ctx), ctx.now).await,
        Err(e) => Err(e.into()),
    };
    match issued {
        Ok(nonce) => Json(serde_json::json!({ "nonce": nonce })).into_response(),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::from(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct AgentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    nonce: String,
    #[serde(default)]
    certificate: String,
    #[serde(default)]
    signature: String,
}

/// `POST /connexion/carte`: the agent's answer, posted by the page.
pub async fn sign_in_with_agent(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    jar: CookieJar,
    Posted(form): Posted<AgentForm>,
) -> Response {
    let Some(service) = service(&state) else {
        return refused(CardError::Unavailable);
    };
    let decode = |s: &str, max: usize| {
        STANDARD
            .decode(s.trim())
            .ok()
            .filter(|b| !b.is_empty() && b.len() <= max)
    };
    let (Some(certificate), Some(signature)) = (
        decode(&form.certificate, MAX_CERTIFICATE),
        decode(&form.signature, MAX_SIGNATURE),
    ) else {
        let code = edge_refusal(&state, &ctx, "malformed", "agent", CardError::Malformed).await;
        return back_with_error(paths::SIGN_IN, &code);
    };
    let proof = AgentProof {
        nonce: form.nonce.chars().take(128).collect(),
        certificate,
        signature,
    };
    let previous = cookies::session_token(&jar);
    match card::sign_in_with_agent(
        &state.services.portal,
        &service.trust,
        &state.services.settings.public_origin,
        browser(&ctx),
        &proof,
        previous.as_ref(),
        ctx.call(),
    )
    .await
    {
        Ok(outcome) => finish(&state, jar, outcome),
        Err(e) => back_with_error(paths::SIGN_IN, &ErrorCode::from(e)),
    }
}

/// `GET /connexion/carte/certificat`: leaves for the card host, where the TLS terminator asks the
/// browser for the card's certificate. The state cookie ties the way back to this browser.
pub async fn tls_start(State(state): State<AppState>, jar: CookieJar) -> Response {
    let Some(tls) = service(&state).and_then(|s| s.tls.as_ref()) else {
        return refused(CardError::Unavailable);
    };
    let state_value = super::request::new_csrf_token();
    let secure = state.services.settings.secure_cookies;
    // The URL (and so the card host's logs) carries only the hash of the cookie.
    let target = format!(
        "{}/connexion/carte/certificat/verifier?etat={}",
        tls.url,
        card::state_reference(&state_value)
    );
    (
        jar.add(cookies::short_lived(
            cookies::CARD_STATE,
            &state_value,
            5,
            secure,
        )),
        Redirect::to(&target),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct StateQuery {
    #[serde(default)]
    etat: String,
}

/// Set by the terminator to `r` when the TLS session was resumed: no handshake, so no proof that
/// the card is still there (the previous user's session on a shared workstation).
const SESSION_REUSED_HEADER: &str = "x-ssl-session-reused";

/// The certificate the terminator forwarded, believed only when the request comes from one of
/// the card host's terminators and is addressed to the card host (otherwise anyone, or a proxy
/// passing client headers through, could send the header).
fn forwarded_certificate(
    state: &AppState,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
) -> Result<Vec<u8>, (CardError, &'static str)> {
    let Some(tls) = service(state).and_then(|s| s.tls.as_ref()) else {
        return Err((CardError::Unavailable, "not_configured"));
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let from_terminator = peer.is_some_and(|p| tls.proxies.contains(&p.ip()));
    let for_card_host = header("host").eq_ignore_ascii_case(&tls.host);
    if !(from_terminator && for_card_host) {
        let forged = headers.contains_key(tls.certificate_header.as_str());
        if forged {
            tracing::warn!(
                ?peer,
                host = header("host"),
                "client certificate header ignored: not from the card host's terminator"
            );
        }
        let reason = if forged {
            "certificate_header_not_from_terminator"
        } else {
            "no_certificate"
        };
        return Err((CardError::NoCertificate, reason));
    }
    if header(SESSION_REUSED_HEADER) == "r" {
        return Err((CardError::NoCertificate, "tls_session_resumed"));
    }
    let verdict = header(&tls.verify_header);
    let escaped = header(&tls.certificate_header);
    if escaped.is_empty() || verdict.eq_ignore_ascii_case("NONE") {
        return Err((CardError::NoCertificate, "no_certificate"));
    }
    // The terminator's own verdict is logged; the portal validates the certificate itself against
    // its IGC-Santé bundle and CRLs, so that the holder is told precisely why a card is refused.
    tracing::debug!(verdict, "client certificate forwarded by the terminator");
    let pem: Vec<u8> = percent_encoding::percent_decode_str(escaped).collect();
    CertificateDer::from_pem_slice(&pem)
        .map(|c| c.to_vec())
        .map_err(|_| (CardError::Malformed, "malformed"))
        .and_then(|der| {
            if der.len() <= MAX_CERTIFICATE {
                Ok(der)
            } else {
                Err((CardError::Malformed, "malformed"))
            }
        })
}

/// `GET /connexion/carte/certificat/verifier?etat=…` on the card host, behind the terminator.
pub async fn tls_verify(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<StateQuery>,
) -> Response {
    let portal = state.services.settings.public_origin.clone();
    let back = |code: ErrorCode| {
        Redirect::to(&format!("{portal}/connexion?erreur={}", code.slug())).into_response()
    };
    let Some(service) = service(&state) else {
        return back(ErrorCode::Card(CardError::Unavailable));
    };
    if q.etat.len() != 64 {
        return back(ErrorCode::Card(CardError::LinkExpired));
    }
    let certificate = match forwarded_certificate(&state, Some(peer), &headers) {
        Ok(c) => c,
        Err((code, reason)) => return back(edge_refusal(&state, &ctx, reason, "tls", code).await),
    };
    match card::accept_tls_certificate(
        &state.services.portal,
        &service.trust,
        &certificate,
        &q.etat,
        ctx.call(),
    )
    .await
    {
        Ok(token) => {
            Redirect::to(&format!("{portal}/connexion/carte/retour?jeton={token}")).into_response()
        }
        Err(e) => back(ErrorCode::from(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct ReturnQuery {
    #[serde(default)]
    jeton: String,
}

/// `GET /connexion/carte/retour?jeton=…`: back on the portal's origin from the card host.
pub async fn tls_return(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    jar: CookieJar,
    Query(q): Query<ReturnQuery>,
) -> Response {
    let Some(service) = service(&state) else {
        return refused(CardError::Unavailable);
    };
    let secure = state.services.settings.secure_cookies;
    let Some(state_cookie) = jar.get(cookies::CARD_STATE).map(|c| c.value().to_string()) else {
        return refused(CardError::LinkExpired);
    };
    let jar = jar.add(cookies::removal(cookies::CARD_STATE, secure));
    let previous = cookies::session_token(&jar);
    match card::sign_in_with_tls(
        &state.services.portal,
        &service.trust,
        &q.jeton,
        Browser::of_secret(&state_cookie),
        browser(&ctx),
        previous.as_ref(),
        ctx.call(),
    )
    .await
    {
        Ok(outcome) => finish(&state, jar, outcome),
        Err(e) => (jar, back_with_error(paths::SIGN_IN, &ErrorCode::from(e))).into_response(),
    }
}
