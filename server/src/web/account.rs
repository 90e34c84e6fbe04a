//! "Code par courriel", "Mot de passe oublié ?" and choosing a password from an e-mailed link, at
//! the HTTP edge. The rules are in `domain::auth::{otp, account_links}`.

use app::error::ErrorCode;
use app::info::Info;
use app::state::{AppState, RequestContext};
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use axum_extra::extract::cookie::CookieJar;
use domain::Error;
use domain::auth::otp::CodeError;
use domain::auth::{account_links, code_step, otp};
use serde::Deserialize;

use super::cookies;
use super::forms::{TokenOnlyForm, back_with_error, csrf_ok, signed_in_response};

const CODE_PAGE: &str = "/connexion/code";

fn step_token(jar: &CookieJar) -> Option<String> {
    jar.get(cookies::SIGN_IN_STEP)
        .map(|c| c.value().to_string())
}

/// The step is over (expired, or too many wrong codes): back to the password, cookie dropped.
fn step_over(state: &AppState, jar: CookieJar, code: &ErrorCode) -> Response {
    let secure = state.services.settings.secure_cookies;
    (
        jar.add(cookies::removal(cookies::SIGN_IN_STEP, secure)),
        back_with_error("/connexion", code),
    )
        .into_response()
}

/// `POST /connexion/code/envoyer`: a new code by e-mail.
pub async fn send_code(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    jar: CookieJar,
    Form(form): Form<TokenOnlyForm>,
) -> Response {
    if !csrf_ok(&ctx, &form.csrf) {
        return back_with_error(CODE_PAGE, &ErrorCode::Csrf);
    }
    let Some(token) = step_token(&jar) else {
        return step_over(
            &state,
            jar,
            &ErrorCode::Code(app::error::CodeError::StepExpired),
        );
    };
    match otp::send_code(&state.services.auth, &token, &ctx.client, ctx.now).await {
        Ok(()) => Redirect::to(&Info::CodeSent.on("/connexion/code")).into_response(),
        Err(e @ Error::Code(CodeError::StepExpired | CodeError::TooManySends)) => {
            step_over(&state, jar, &ErrorCode::from(e))
        }
        Err(e) => back_with_error(CODE_PAGE, &ErrorCode::from(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

/// `POST /connexion/code`: the code typed; signed in when right.
pub async fn verify_code(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    jar: CookieJar,
    Form(form): Form<CodeForm>,
) -> Response {
    if !csrf_ok(&ctx, &form.csrf) {
        return back_with_error(CODE_PAGE, &ErrorCode::Csrf);
    }
    let Some(token) = step_token(&jar) else {
        return step_over(
            &state,
            jar,
            &ErrorCode::Code(app::error::CodeError::StepExpired),
        );
    };
    let previous = cookies::session_token(&jar);
    match code_step::verify_code(
        &state.services.auth,
        &token,
        form.code.chars().take(32).collect::<String>().as_str(),
        // A code step started by the one-time linking completes the pending link this browser
        // holds (the card trust validates a pending card again).
        domain::auth::linking::Completion {
            browser: domain::auth::card::Browser::of_secret(&ctx.csrf_token),
            trust: super::card::trust(&state),
        },
        previous.as_ref(),
        &ctx.client,
        ctx.now,
    )
    .await
    {
        Ok(signed_in) => {
            let secure = state.services.settings.secure_cookies;
            let jar = jar
                .add(cookies::removal(cookies::SIGN_IN_STEP, secure))
                .add(cookies::removal(cookies::CARD_LINK, secure));
            signed_in_response(&state, jar, &signed_in)
        }
        Err(e @ Error::Code(CodeError::StepExpired | CodeError::TooManyAttempts)) => {
            step_over(&state, jar, &ErrorCode::from(e))
        }
        Err(e) => back_with_error(CODE_PAGE, &ErrorCode::from(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    identifiant: String,
}

/// `POST /mot-de-passe-oublie`: the same answer whether or not an account matches.
pub async fn forgot_password(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Form(form): Form<ForgotForm>,
) -> Response {
    const PAGE: &str = "/mot-de-passe-oublie";
    if !csrf_ok(&ctx, &form.csrf) {
        return back_with_error(PAGE, &ErrorCode::Csrf);
    }
    let typed: String = form.identifiant.chars().take(254).collect();
    if typed.trim().is_empty() {
        return back_with_error(PAGE, &ErrorCode::InvalidInput);
    }
    match account_links::request_reset(&state.services.auth, &typed, &ctx.client, ctx.now).await {
        Ok(()) => Redirect::to(&Info::ResetLinkSent.on("/mot-de-passe-oublie")).into_response(),
        Err(e) => back_with_error(PAGE, &ErrorCode::from(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct NewPasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    jeton: String,
    #[serde(default)]
    mot_de_passe: String,
    #[serde(default)]
    confirmation: String,
    /// "Supprimer aussi toutes les cartes, identités Pro Santé Connect et téléphones…" (`oui`).
    #[serde(default)]
    retirer_moyens: String,
}

/// `POST /mot-de-passe`: the password chosen through an activation or reset link.
pub async fn set_password(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Form(form): Form<NewPasswordForm>,
) -> Response {
    let token: String = form
        .jeton
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(64)
        .collect();
    let page = format!("/mot-de-passe?jeton={token}");
    if !csrf_ok(&ctx, &form.csrf) {
        return back_with_error(&page, &ErrorCode::Csrf);
    }
    match account_links::set_password(
        &state.services.auth,
        &token,
        &form.mot_de_passe,
        &form.confirmation,
        form.retirer_moyens == "oui",
        &ctx.client,
        ctx.now,
    )
    .await
    {
        Ok(info) if info.activation => {
            Redirect::to(&Info::AccountActivated.on("/connexion")).into_response()
        }
        Ok(_) => Redirect::to(&Info::PasswordChanged.on("/connexion")).into_response(),
        Err(e @ Error::AccountLinkExpired) => {
            back_with_error("/mot-de-passe-oublie", &ErrorCode::from(e))
        }
        Err(e) => {
            // back_with_error adds "?erreur=": the page already has a query.
            let code = ErrorCode::from(e);
            Redirect::to(&format!("{page}&erreur={}", code.slug())).into_response()
        }
    }
}
