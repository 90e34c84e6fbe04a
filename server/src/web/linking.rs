//! The one-time linking form at the HTTP edge (`/connexion/carte/lier` for a card,
//! `/connexion/lier` for a Pro Santé Connect identity): the account's username and password for
//! the identity a sign-in found unknown. The rules are in `domain::auth::linking`.

use app::error::ErrorCode;
use app::paths;
use app::state::{AppState, RequestContext};
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use domain::Error;
use domain::auth::PasswordOutcome;
use model::sign_in::Method;

use super::card;
use super::cookies;
use super::forms::{CredentialsForm, signed_in_response, to_code_step};
use super::posted::{Posted, back_with_error};

/// `POST /connexion/carte/lier`: the one-time linking of a card.
pub async fn link_card(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    jar: CookieJar,
    Posted(form): Posted<CredentialsForm>,
) -> Response {
    link_on(Method::Card, state, ctx, jar, form).await
}

/// `POST /connexion/lier`: the same one-time linking, for a Pro Santé Connect identity.
pub async fn link_psc(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    jar: CookieJar,
    Posted(form): Posted<CredentialsForm>,
) -> Response {
    link_on(Method::Psc, state, ctx, jar, form).await
}

/// The one-time linking with the account's username and password, whichever means found the
/// unknown identity (`domain::auth::linking`).
async fn link_on(
    means: Method,
    state: AppState,
    ctx: RequestContext,
    jar: CookieJar,
    form: CredentialsForm,
) -> Response {
    let psc = means == Method::Psc;
    let page = if psc {
        paths::PSC_LINK
    } else {
        paths::CARD_LINK
    };
    let expired = || {
        if psc {
            Error::PscLinkExpired
        } else {
            Error::CardLinkExpired
        }
    };
    let Some(token) = jar.get(cookies::CARD_LINK).map(|c| c.value().to_string()) else {
        return back_with_error(paths::SIGN_IN, &ErrorCode::from(expired()));
    };
    if form.identifiant.trim().is_empty() || form.mot_de_passe.is_empty() {
        return back_with_error(page, &ErrorCode::InvalidCredentials);
    }
    let secure = state.services.settings.secure_cookies;
    let previous = cookies::session_token(&jar);
    match domain::auth::linking::link_and_sign_in(
        &state.services.portal,
        card::trust(&state),
        &token,
        card::browser(&ctx),
        &form.identifiant,
        &form.mot_de_passe,
        previous.as_ref(),
        ctx.call(),
    )
    .await
    {
        Ok(PasswordOutcome::SignedIn(signed_in)) => {
            let jar = jar.add(cookies::removal(cookies::CARD_LINK, secure));
            signed_in_response(&state, jar, &signed_in)
        }
        // The account needs the e-mail code: the password sign-in's code page, which completes
        // the link once the code is right (the pending link stays until then).
        Ok(PasswordOutcome::CodeRequired { token }) => to_code_step(&state, jar, &token),
        // The holder may correct a typo: the pending link stays.
        Err(
            e @ (Error::InvalidCredentials
            | Error::Locked { .. }
            | Error::AddressThrottled { .. }
            | Error::AccountUnavailable(_)),
        ) => back_with_error(page, &ErrorCode::from(e)),
        Err(e) => {
            // The shared code cannot tell which means an expired link was for; this page can.
            let e = match e {
                Error::CardLinkExpired | Error::PscLinkExpired => expired(),
                other => other,
            };
            let back = if psc {
                paths::PSC_ERROR
            } else {
                paths::SIGN_IN
            };
            (
                jar.add(cookies::removal(cookies::CARD_LINK, secure)),
                back_with_error(back, &ErrorCode::from(e)),
            )
                .into_response()
        }
    }
}
