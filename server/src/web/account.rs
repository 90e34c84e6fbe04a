//! "Code par courriel", "Mot de passe oublié ?" and choosing a password from an e-mailed link, at
//! the HTTP edge. The rules are in `domain::auth::{otp, account_links}`.

use app::error::ErrorCode;
use app::info::Info;
use app::paths;
use app::state::{AppState, RequestContext};
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use domain::Error;
use domain::auth::otp::CodeError;
use domain::auth::{account_links, code_step, otp};
use serde::Deserialize;

use super::cookies;
use super::forms::{TokenOnlyForm, signed_in_response};
use super::posted::{Posted, back_with_error};

super::posted::token_in_csrf_field!(CodeForm, ForgotForm);

const CODE_PAGE: &str = paths::CODE;

fn step_token(jar: &CookieJar) -> Option<String> {
    jar.get(cookies::SIGN_IN_STEP)
        .map(|c| c.value().to_string())
}

/// The step is over (expired, or too many wrong codes): back to the password, cookie dropped.
fn step_over(state: &AppState, jar: CookieJar, code: &ErrorCode) -> Response {
    let secure = state.services.settings.secure_cookies;
    (
        jar.add(cookies::removal(cookies::SIGN_IN_STEP, secure)),
        back_with_error(paths::SIGN_IN, code),
    )
        .into_response()
}

/// `POST /connexion/code/envoyer`: a new code by e-mail.
pub async fn send_code(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    jar: CookieJar,
    Posted(_): Posted<TokenOnlyForm>,
) -> Response {
    let Some(token) = step_token(&jar) else {
        return step_over(
            &state,
            jar,
            &ErrorCode::Code(app::error::CodeError::StepExpired),
        );
    };
    match otp::send_code(&state.services.portal, &token, ctx.call()).await {
        Ok(()) => Redirect::to(&Info::CodeSent.on(paths::CODE)).into_response(),
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
    Posted(form): Posted<CodeForm>,
) -> Response {
    let Some(token) = step_token(&jar) else {
        return step_over(
            &state,
            jar,
            &ErrorCode::Code(app::error::CodeError::StepExpired),
        );
    };
    let previous = cookies::session_token(&jar);
    match code_step::verify_code(
        &state.services.portal,
        &token,
        form.code.chars().take(32).collect::<String>().as_str(),
        // A code step started by the one-time linking completes the pending link this browser
        // holds (the card trust validates a pending card again).
        domain::auth::linking::Completion {
            browser: domain::auth::card::Browser::of_secret(&ctx.csrf_token),
            trust: super::card::trust(&state),
        },
        previous.as_ref(),
        ctx.call(),
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
    Posted(form): Posted<ForgotForm>,
) -> Response {
    const PAGE: &str = paths::FORGOT_PASSWORD;
    let typed: String = form.identifiant.chars().take(254).collect();
    if typed.trim().is_empty() {
        return back_with_error(PAGE, &ErrorCode::InvalidInput);
    }
    match account_links::request_reset(&state.services.portal, &typed, ctx.call()).await {
        Ok(()) => Redirect::to(&Info::ResetLinkSent.on(paths::FORGOT_PASSWORD)).into_response(),
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

impl NewPasswordForm {
    /// The link's token, kept to the characters a token has (it goes back into a URL).
    fn link_token(&self) -> String {
        self.jeton
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .take(64)
            .collect()
    }

    /// The page of this link.
    fn link_page(&self) -> String {
        format!("{}?jeton={}", app::paths::NEW_PASSWORD, self.link_token())
    }
}

impl super::posted::PostedForm for NewPasswordForm {
    fn token(&self) -> &str {
        &self.csrf
    }

    fn page(&self) -> Option<String> {
        Some(self.link_page())
    }
}

/// `POST /mot-de-passe`: the password chosen through an activation or reset link.
pub async fn set_password(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Posted(form): Posted<NewPasswordForm>,
) -> Response {
    let token = form.link_token();
    let page = form.link_page();
    match account_links::set_password(
        &state.services.portal,
        &token,
        &form.mot_de_passe,
        &form.confirmation,
        form.retirer_moyens == "oui",
        ctx.call(),
    )
    .await
    {
        Ok(info) if info.activation => {
            Redirect::to(&Info::AccountActivated.on(paths::SIGN_IN)).into_response()
        }
        Ok(_) => Redirect::to(&Info::PasswordChanged.on(paths::SIGN_IN)).into_response(),
        Err(e @ Error::AccountLinkExpired) => {
            back_with_error(paths::FORGOT_PASSWORD, &ErrorCode::from(e))
        }
        Err(e) => {
            // back_with_error adds "?erreur=": the page already has a query.
            let code = ErrorCode::from(e);
            Redirect::to(&format!("{page}&erreur={}", code.slug())).into_response()
        }
    }
}
