//! "Pro Santé Connect" at the HTTP edge: the start of the flow (a plain link, no JavaScript), the
//! callback, and PSC's back-channel logout. The protocol is in `crate::psc`, the rules in
//! `domain::auth::psc`; every refusal is audited and ends on the French error page
//! (`/connexion/psc/erreur`) with a way back to sign-in.

use std::sync::Arc;

use app::error::{ErrorCode, PscError};
use app::info::Info;
use app::paths;
use app::state::{AppState, RequestContext};
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form, Json};
use axum_extra::extract::cookie::CookieJar;
use domain::Error;
use domain::auth::card::Browser;
use domain::auth::psc::{self, PscLogin, PscOutcome};
use serde::Deserialize;
use serde_json::json;

use super::cookies;
use super::forms::signed_in_response;
use super::posted::back_with_error;
use crate::psc::{PscClient, PscFailure, PscLogoutRefusal};

/// The PSC relying party, when `[psc]` is enabled (an extension of the router).
pub type Psc = Option<Arc<PscClient>>;

fn failed(code: ErrorCode) -> Response {
    back_with_error(paths::PSC_ERROR, &code)
}

/// Audits a refusal and sends the browser to the error page.
async fn refuse(
    state: &AppState,
    ctx: &RequestContext,
    reason: PscFailure,
    details: serde_json::Value,
) -> Response {
    let code = ErrorCode::from(Error::PscRefused(reason));
    match psc::record_refusal(
        &state.services.portal.pool,
        reason.as_str(),
        details,
        ctx.call(),
    )
    .await
    {
        Ok(()) => failed(code),
        Err(e) => failed(ErrorCode::from(e)),
    }
}

/// `GET /connexion/psc`: a new authorization request; the browser leaves for PSC's page.
pub async fn start(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Extension(client): Extension<Psc>,
    jar: CookieJar,
) -> Response {
    let Some(client) = client else {
        return failed(ErrorCode::Psc(PscError::Disabled));
    };
    let fresh_login = jar.get(cookies::PSC_FRESH_LOGIN).is_some();
    let authorization = match client.authorize(fresh_login).await {
        Ok(a) => a,
        Err(f) => return refuse(&state, &ctx, f, json!({ "step": "start" })).await,
    };
    // The flow is bound to this browser by a cookie of its own, sent back by the callback (a
    // top-level navigation from PSC, so SameSite=Lax carries it).
    let secret = super::request::new_csrf_token();
    let stored = async {
        let mut conn = state.services.portal.pool.acquire().await?;
        psc::start_flow(
            &mut conn,
            Browser::of_secret(&secret),
            &authorization.state,
            &authorization.flow,
            ctx.now,
        )
        .await
    };
    if let Err(e) = stored.await {
        return failed(ErrorCode::from(e));
    }
    let secure = state.services.settings.secure_cookies;
    (
        jar.add(cookies::short_lived(
            cookies::PSC_STATE,
            &secret,
            psc::FLOW_LIFETIME.whole_minutes(),
            secure,
        )),
        Redirect::to(&authorization.url),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: Option<String>,
    /// RFC 9207: who issued this response (Keycloak and oidc-provider send it).
    #[serde(default)]
    iss: Option<String>,
}

/// `GET /connexion/psc/retour`: PSC sends the browser back with a code (or an error).
pub async fn callback(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Extension(client): Extension<Psc>,
    jar: CookieJar,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let Some(client) = client else {
        return failed(ErrorCode::Psc(PscError::Disabled));
    };
    let secure = state.services.settings.secure_cookies;
    let now = ctx.now;
    let browser_secret = jar.get(cookies::PSC_STATE).map(|c| c.value().to_string());
    let jar = jar.add(cookies::removal(cookies::PSC_STATE, secure));
    let state_value: String = q.state.chars().take(256).collect();

    // The flow is consumed whatever happens next: a state is good for one callback.
    let taken = match &browser_secret {
        None => Ok(Err(psc::PscStateRefusal::Missing)),
        Some(secret) => match state.services.portal.pool.acquire().await {
            Ok(mut conn) => {
                psc::take_flow(&mut conn, Browser::of_secret(secret), &state_value, now).await
            }
            Err(e) => Err(e.into()),
        },
    };
    let taken = match taken {
        Ok(t) => t,
        Err(e) => return (jar, failed(ErrorCode::from(e))).into_response(),
    };

    if !client.sent_by_our_issuer(q.iss.as_deref()) {
        let iss: String = q.iss.unwrap_or_default().chars().take(256).collect();
        return (
            jar,
            refuse(
                &state,
                &ctx,
                PscFailure::IssuerMismatch,
                json!({ "iss": iss }),
            )
            .await,
        )
            .into_response();
    }
    if let Some(error) = q.error.as_deref() {
        // `access_denied`: the professional pressed "Annuler" on PSC's page.
        let reason = if error == "access_denied" {
            PscFailure::Cancelled
        } else {
            PscFailure::ProviderError
        };
        let error: String = error.chars().take(64).collect();
        return (
            jar,
            refuse(&state, &ctx, reason, json!({ "error": error })).await,
        )
            .into_response();
    }
    let flow = match taken {
        Ok(flow) => flow,
        Err(refusal) => {
            let e = Error::PscState(refusal);
            let response = match psc::record_refusal(
                &state.services.portal.pool,
                refusal.as_str(),
                json!({}),
                ctx.call(),
            )
            .await
            {
                Ok(()) => failed(ErrorCode::from(e)),
                Err(e) => failed(ErrorCode::from(e)),
            };
            return (jar, response).into_response();
        }
    };
    if q.code.is_empty() || q.code.len() > 2048 {
        return (
            jar,
            refuse(
                &state,
                &ctx,
                PscFailure::TokenRefused,
                json!({ "step": "code" }),
            )
            .await,
        )
            .into_response();
    }

    let claims = match client.finish(&q.code, &flow).await {
        Ok(c) => c,
        Err(f) => {
            return (
                jar,
                refuse(&state, &ctx, f, json!({ "step": "token" })).await,
            )
                .into_response();
        }
    };
    let login = match PscLogin::from_claims(&claims) {
        Ok(l) => l,
        Err(e) => {
            let sub = claims.get("sub").cloned();
            return (jar, refuse(&state, &ctx, e, json!({ "sub": sub })).await).into_response();
        }
    };
    let previous = cookies::session_token(&jar);
    match psc::sign_in(
        &state.services.portal,
        &login,
        Browser::of_secret(&ctx.csrf_token),
        previous.as_ref(),
        ctx.call(),
    )
    .await
    {
        Ok(outcome) => {
            // PSC authenticated someone after the sign-out: the next flow may use its session.
            let mut done = cookies::removal(cookies::PSC_FRESH_LOGIN, secure);
            done.set_path(paths::PSC_START);
            let jar = jar.add(done);
            match outcome {
                PscOutcome::SignedIn(signed_in) => signed_in_response(&state, jar, &signed_in),
                PscOutcome::LinkRequired { token } => (
                    jar.add(cookies::short_lived(
                        cookies::CARD_LINK,
                        &token,
                        domain::auth::linking::LINK_LIFETIME.whole_minutes(),
                        secure,
                    )),
                    Redirect::to(paths::PSC_LINK),
                )
                    .into_response(),
            }
        }
        Err(e) => (jar, failed(ErrorCode::from(e))).into_response(),
    }
}

/// `GET /connexion/psc/fin`: offered after signing out of a PSC session — the browser goes to
/// PSC to end PSC's own session as well (PSC asks to confirm), then comes back to sign-in.
pub async fn end_session(
    State(state): State<AppState>,
    Extension(client): Extension<Psc>,
) -> Response {
    let back = Info::SignedOut.on(paths::SIGN_IN);
    let Some(client) = client else {
        return Redirect::to(&back).into_response();
    };
    let post_logout = format!("{}{back}", state.services.settings.public_origin);
    match client.end_session_url(&post_logout).await {
        Ok(Some(url)) => Redirect::to(&url).into_response(),
        Ok(None) => Redirect::to(&back).into_response(),
        Err(f) => failed(ErrorCode::from(Error::PscRefused(f))),
    }
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    logout_token: String,
}

/// `POST /connexion/psc/deconnexion`: PSC's back-channel logout (OpenID Connect Back-Channel
/// Logout 1.0). Server to server: no form token; the signed logout token is the proof.
pub async fn back_channel_logout(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Extension(client): Extension<Psc>,
    Form(form): Form<LogoutForm>,
) -> Response {
    let answer = |status: StatusCode, body: Option<serde_json::Value>| {
        let headers = [(header::CACHE_CONTROL, "no-store")];
        match body {
            Some(b) => (status, headers, Json(b)).into_response(),
            None => (status, headers).into_response(),
        }
    };
    let bad = |reason: PscLogoutRefusal| {
        answer(
            StatusCode::BAD_REQUEST,
            Some(json!({ "error": "invalid_request", "error_description": reason.as_str() })),
        )
    };
    let Some(client) = client else {
        return answer(StatusCode::NOT_FOUND, None);
    };
    let pool = &state.services.portal.pool;
    if form.logout_token.is_empty() || form.logout_token.len() > 16 * 1024 {
        let _ = psc::record_logout_refusal(pool, PscLogoutRefusal::NoLogoutToken, ctx.call()).await;
        return bad(PscLogoutRefusal::NoLogoutToken);
    }
    let token = match client.verify_logout_token(&form.logout_token).await {
        Ok(t) => t,
        Err(reason) => {
            if let Err(e) = psc::record_logout_refusal(pool, reason, ctx.call()).await {
                tracing::error!("auditing a refused logout token: {e}");
            }
            return bad(reason);
        }
    };
    match psc::back_channel_logout(pool, &token, ctx.call()).await {
        Ok(ended) => {
            tracing::info!(ended, "PSC back-channel logout");
            answer(StatusCode::OK, None)
        }
        Err(Error::PscLogout(reason)) => bad(reason),
        Err(e) => {
            tracing::error!("PSC back-channel logout: {e}");
            answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(json!({ "error": "server_error" })),
            )
        }
    }
}
