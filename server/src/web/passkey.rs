//! Passkeys at the HTTP edge: the options the page hands to the browser's WebAuthn API (JSON),
//! and the browser's answers, posted in ordinary forms (so that a refusal, a redirect and the
//! session cookie work as for every other sign-in). The rules are in `domain::auth::passkey`.

use app::error::{ErrorCode, PasskeyError};
use app::info::Info;
use app::paths;
use app::state::{AppState, RequestContext};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json, extract::State};
use axum_extra::extract::cookie::CookieJar;
use domain::auth::browser::Browser;
use domain::auth::passkey::{self, PasskeyService};
use serde::Deserialize;
use serde_json::json;

use super::cookies;
use super::forms::{TokenOnlyForm, signed_in_response};
use super::posted::{Posted, back_with_error};

super::posted::token_in_csrf_field!(AnswerForm, StartForm, RegisterForm);

/// The largest answer a browser sends: a credential id (≤ 1 KB), client data, authenticator data
/// and a signature or an attestation, base64url in JSON. Far larger is not an answer.
pub const MAX_ANSWER: usize = 32 * 1024;

fn service(state: &AppState) -> Option<&PasskeyService> {
    state.services.passkeys.as_ref()
}

/// The browser before it has a session: its form-token cookie (as the card's challenge).
fn browser(ctx: &RequestContext) -> Browser {
    Browser::of_secret(&ctx.csrf_token)
}

/// An error for the page's script: the code's slug and its message in the page's language.
fn json_error(ctx: &RequestContext, code: &ErrorCode) -> Response {
    let status =
        StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        Json(json!({ "error": code.slug(), "message": code.message(ctx.lang) })),
    )
        .into_response()
}

/// `POST /connexion/cle-d-acces/defi`: the options of a sign-in, for this browser.
pub async fn sign_in_options(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Posted(_): Posted<TokenOnlyForm>,
) -> Response {
    let Some(service) = service(&state) else {
        return json_error(&ctx, &ErrorCode::Passkey(PasskeyError::Unavailable));
    };
    let options = match state.services.portal.pool.acquire().await {
        Ok(mut conn) => passkey::sign_in_options(&mut conn, service, browser(&ctx), ctx.now).await,
        Err(e) => Err(e.into()),
    };
    match options {
        Ok(options) => Json(options).into_response(),
        Err(e) => json_error(&ctx, &ErrorCode::from(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    csrf: String,
    /// `PublicKeyCredential.toJSON()`, as a string.
    #[serde(default)]
    reponse: String,
}

/// `POST /connexion/cle-d-acces`: the authenticator's answer; signed in, or back to the sign-in
/// page with the reason.
pub async fn sign_in(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    jar: CookieJar,
    Posted(form): Posted<AnswerForm>,
) -> Response {
    let Some(service) = service(&state) else {
        return back_with_error(
            paths::SIGN_IN,
            &ErrorCode::Passkey(PasskeyError::Unavailable),
        );
    };
    let previous = cookies::session_token(&jar);
    match passkey::sign_in(
        &state.services.portal,
        service,
        browser(&ctx),
        &form.reponse,
        previous.as_ref(),
        ctx.call(),
    )
    .await
    {
        Ok(signed_in) => signed_in_response(&state, jar, &signed_in),
        Err(e) => back_with_error(paths::SIGN_IN, &ErrorCode::from(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct StartForm {
    #[serde(default)]
    csrf: String,
    /// Asked unless the session's last strong authentication is a few minutes old.
    #[serde(default)]
    mot_de_passe: String,
}

/// `POST /compte/cles-d-acces/defi`: the options of a new passkey for the signed-in holder.
pub async fn registration_options(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Posted(form): Posted<StartForm>,
) -> Response {
    let Some(session) = ctx.viewer.session() else {
        return json_error(&ctx, &ErrorCode::NotSignedIn);
    };
    let Some(service) = service(&state) else {
        return json_error(&ctx, &ErrorCode::Passkey(PasskeyError::Unavailable));
    };
    match passkey::registration_options(
        &state.services.portal,
        service,
        session,
        &form.mot_de_passe,
        browser(&ctx),
        ctx.call(),
    )
    .await
    {
        Ok(options) => Json(options).into_response(),
        Err(e) => json_error(&ctx, &ErrorCode::from(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    nom: String,
    #[serde(default)]
    reponse: String,
}

/// `POST /compte/cles-d-acces`: the new passkey's answer, stored under the name typed.
pub async fn register(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Posted(form): Posted<RegisterForm>,
) -> Response {
    const PAGE: &str = paths::MY_MEANS;
    let Some(session) = ctx.viewer.session() else {
        return back_with_error(paths::SIGN_IN, &ErrorCode::NotSignedIn);
    };
    let Some(service) = service(&state) else {
        return back_with_error(PAGE, &ErrorCode::Passkey(PasskeyError::Unavailable));
    };
    let Ok(name) = model::passkey::parse_name(&form.nom) else {
        return back_with_error(PAGE, &ErrorCode::Passkey(PasskeyError::Name));
    };
    match passkey::register(
        &state.services.portal,
        service,
        session,
        browser(&ctx),
        name.as_deref(),
        &form.reponse,
        ctx.call(),
    )
    .await
    {
        Ok(_) => Redirect::to(&Info::PasskeyAdded.on(PAGE)).into_response(),
        Err(e) => back_with_error(PAGE, &ErrorCode::from(e)),
    }
}
