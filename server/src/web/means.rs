//! "Mes moyens de connexion" at the HTTP edge: the holder removes a card, a Pro Santé Connect
//! identity, a TIQR phone or a passkey, typing the password again (adding a passkey is
//! `super::passkey`). The rules are in `domain::auth::means`.

use app::error::ErrorCode;
use app::info::Info;
use app::paths;
use app::state::{AppState, RequestContext};
use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::auth::means::{self, MeansRef};
use domain::ids::NationalId;
use serde::Deserialize;
use uuid::Uuid;

use super::posted::{Posted, back_with_error};

super::posted::token_in_csrf_field!(RemoveForm);

/// The holder's page (it was "Mes cartes" at `/compte/cartes`).
pub const PAGE: &str = paths::MY_MEANS;

/// `GET /compte/cartes`: the page's former address, kept for bookmarks and old e-mails.
pub async fn former_page(RawQuery(query): RawQuery) -> Redirect {
    match query.filter(|q| !q.is_empty()) {
        Some(q) => Redirect::permanent(&format!("{PAGE}?{q}")),
        None => Redirect::permanent(PAGE),
    }
}

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    csrf: String,
    /// `carte`, `psc`, `telephone` or `cle`.
    #[serde(default)]
    moyen: String,
    /// The card's, the phone's or the passkey's id, or the PSC identity's national identifier.
    #[serde(default)]
    id: String,
    #[serde(default)]
    mot_de_passe: String,
}

fn means_of(form: &RemoveForm) -> Option<(MeansRef, Info)> {
    let id = form.id.trim();
    match form.moyen.as_str() {
        "carte" => Some((MeansRef::Card(Uuid::parse_str(id).ok()?), Info::CardRemoved)),
        "telephone" => Some((
            MeansRef::Phone(Uuid::parse_str(id).ok()?),
            Info::PhoneRemoved,
        )),
        "psc" => Some((
            MeansRef::Psc(NationalId::parse(id).ok()?.as_str().to_string()),
            Info::PscRemoved,
        )),
        "cle" => Some((
            MeansRef::Passkey(Uuid::parse_str(id).ok()?),
            Info::PasskeyRemoved,
        )),
        _ => None,
    }
}

/// `POST /compte/moyens-de-connexion/retirer`.
pub async fn remove(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Posted(form): Posted<RemoveForm>,
) -> Response {
    let Some(session) = ctx.viewer.session() else {
        return back_with_error(paths::SIGN_IN, &ErrorCode::NotSignedIn);
    };
    let Some((what, info)) = means_of(&form) else {
        return back_with_error(PAGE, &ErrorCode::InvalidInput);
    };
    if form.mot_de_passe.is_empty() {
        return back_with_error(PAGE, &ErrorCode::InvalidCredentials);
    }
    match means::remove_own(
        &state.services.portal,
        session.username.as_str(),
        session.user_id,
        &what,
        &form.mot_de_passe,
        ctx.call(),
    )
    .await
    {
        Ok(_) => Redirect::to(&info.on(PAGE)).into_response(),
        Err(e) => back_with_error(PAGE, &ErrorCode::from(e)),
    }
}
