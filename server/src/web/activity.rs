//! « Mes connexions » at the HTTP edge: the holder ends one of their other sessions, or all of
//! them; the « ce n'était pas moi » of a new-device alert and the wake link of a dormant account
//! (two e-mailed links whose page's button confirms). The rules are in `domain::auth::activity`,
//! `domain::auth::devices` and `domain::auth::dormancy`.

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

super::posted::token_in_csrf_field!(EndForm, LinkForm);

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
pub struct LinkForm {
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
    Posted(form): Posted<LinkForm>,
) -> Response {
    let portal = &state.services.portal;
    confirm_link(
        paths::NOT_ME,
        Info::AccountBlockedByHolder,
        &form.jeton,
        |token| domain::auth::devices::not_me(portal, token, ctx.call()),
    )
    .await
}

/// `POST /connexion/reveil`: the holder wakes their dormant account (then signs in as usual).
pub async fn wake(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Posted(form): Posted<LinkForm>,
) -> Response {
    let portal = &state.services.portal;
    confirm_link(paths::WAKE, Info::AccountWoken, &form.jeton, |token| {
        domain::auth::dormancy::wake(portal, token, ctx.call())
    })
    .await
}

/// The confirmation of an e-mailed link: a token that cannot be one is refused before the
/// database; the answer goes back to the link's page, with `done` or the error (its token kept:
/// a database hiccup can be tried again).
async fn confirm_link<'a, F>(
    page: &str,
    done: Info,
    token: &'a str,
    act: impl FnOnce(&'a str) -> F,
) -> Response
where
    F: Future<Output = domain::Result<()>>,
{
    let token = token.trim();
    if token.len() != 43
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return back_with_error(page, &ErrorCode::AccountLinkExpired);
    }
    match act(token).await {
        Ok(()) => Redirect::to(&done.on(page)).into_response(),
        Err(e) => back_with_error(&format!("{page}?jeton={token}"), &ErrorCode::from(e)),
    }
}
