//! « Mes connexions » at the HTTP edge: the holder ends one of their other sessions, or all of
//! them; and the « ce n'était pas moi » of a new-device alert. The rules are in
//! `domain::auth::activity` and `domain::auth::devices`.

use app::error::ErrorCode;
use app::info::Info;
use app::paths;
use app::state::{AppState, RequestContext};
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use domain::auth::activity::{self, Ending};
use serde::Deserialize;

use super::posted::{Posted, back_with_error};

super::posted::token_in_csrf_field!(EndForm, NotMeForm);

#[derive(Debug, Deserialize)]
pub struct EndForm {
    #[serde(default)]
    csrf: String,
    /// A session's reference (32 hex digits), or `autres` for every session but this one.
    #[serde(default)]
    session: String,
}

/// `POST /compte/connexions/fermer`.
pub async fn end(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Posted(form): Posted<EndForm>,
) -> Response {
    const PAGE: &str = paths::MY_ACTIVITY;
    let Some(session) = ctx.viewer.session() else {
        return back_with_error(paths::SIGN_IN, &ErrorCode::NotSignedIn);
    };
    let reference = form.session.trim();
    let (which, info) = if reference == "autres" {
        (Ending::AllOthers, Info::OtherSessionsEnded)
    } else if reference.len() == 32 && reference.bytes().all(|b| b.is_ascii_hexdigit()) {
        (Ending::One(reference), Info::SessionEnded)
    } else {
        return back_with_error(PAGE, &ErrorCode::InvalidInput);
    };
    match activity::end_sessions(&state.services.portal.pool, session, which, ctx.call()).await {
        Ok(_) => Redirect::to(&info.on(PAGE)).into_response(),
        Err(e) => back_with_error(PAGE, &ErrorCode::from(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct NotMeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    jeton: String,
}

/// `POST /connexion/pas-moi`: the alert's link was not the holder's doing: every session ends,
/// the account is blocked until the desk unblocks it.
pub async fn not_me(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Posted(form): Posted<NotMeForm>,
) -> Response {
    let token = form.jeton.trim();
    if token.len() != 43
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return back_with_error(paths::NOT_ME, &ErrorCode::AccountLinkExpired);
    }
    match domain::auth::devices::not_me(&state.services.portal, token, ctx.call()).await {
        Ok(()) => Redirect::to(&Info::AccountBlockedByHolder.on(paths::NOT_ME)).into_response(),
        // Back to the link's page (its token kept: a database hiccup can be tried again).
        Err(e) => back_with_error(
            &format!("{}?jeton={token}", paths::NOT_ME),
            &ErrorCode::from(e),
        ),
    }
}
