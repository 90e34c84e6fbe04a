//! Form posts of the pages (they work without JavaScript): each checks the form token, calls the
//! domain, and answers with a redirect (Post/Redirect/Get), carrying an error code when it failed.

use app::error::ErrorCode;
use app::info::Info;
use app::paths;
use app::state::{AppState, RequestContext};
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use domain::auth::PasswordOutcome;
use domain::ids::Finess;
use domain::routing::Landing;
use serde::Deserialize;

use super::cookies;
use super::posted::{Posted, back_with_error};
use super::request::local_path;

super::posted::token_in_csrf_field!(CredentialsForm, TokenOnlyForm, ChooseForm);

/// A right password when the e-mail code is required (sign-in or linking): the step's cookie and
/// the code page, which completes what the step was started for.
pub(super) fn to_code_step(state: &AppState, jar: CookieJar, token: &str) -> Response {
    let secure = state.services.settings.secure_cookies;
    let minutes = domain::auth::otp::STEP_LIFETIME.whole_minutes();
    (
        jar.add(cookies::short_lived(
            cookies::SIGN_IN_STEP,
            token,
            minutes,
            secure,
        )),
        Redirect::to(paths::CODE),
    )
        .into_response()
}

/// A username and password form: sign-in, and the one-time card linking.
#[derive(Debug, Deserialize)]
pub struct CredentialsForm {
    #[serde(default)]
    pub(super) csrf: String,
    #[serde(default)]
    pub(super) identifiant: String,
    #[serde(default)]
    pub(super) mot_de_passe: String,
}

pub async fn sign_in(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    jar: CookieJar,
    Posted(form): Posted<CredentialsForm>,
) -> Response {
    if form.identifiant.trim().is_empty() || form.mot_de_passe.is_empty() {
        return back_with_error(paths::SIGN_IN, &ErrorCode::InvalidCredentials);
    }
    let previous = cookies::session_token(&jar);
    let portal = &state.services.portal;
    match domain::auth::password::sign_in(
        portal,
        &form.identifiant,
        &form.mot_de_passe,
        previous.as_ref(),
        ctx.call(),
    )
    .await
    {
        Ok(PasswordOutcome::SignedIn(signed_in)) => signed_in_response(&state, jar, &signed_in),
        Ok(PasswordOutcome::CodeRequired { token }) => to_code_step(&state, jar, &token),
        Err(e) => back_with_error(paths::SIGN_IN, &ErrorCode::from(e)),
    }
}

/// Every sign-in mode ends here: the session cookie, a new form token (one learnt before sign-in
/// is worthless after), and the establishment routing.
pub(super) fn signed_in_response(
    state: &AppState,
    jar: CookieJar,
    signed_in: &domain::auth::SignedIn,
) -> Response {
    let jar = signed_in_cookies(state, jar, signed_in);
    (jar, Redirect::to(&paths::landing(&signed_in.landing))).into_response()
}

/// The session cookie and a new form token, for a redirect or a polling page's JSON answer.
pub(super) fn signed_in_cookies(
    state: &AppState,
    jar: CookieJar,
    signed_in: &domain::auth::SignedIn,
) -> CookieJar {
    let secure = state.services.settings.secure_cookies;
    jar.add(cookies::session(signed_in.token.as_str(), secure))
        .add(cookies::csrf(&super::request::new_csrf_token(), secure))
}

#[derive(Debug, Deserialize)]
pub struct TokenOnlyForm {
    #[serde(default)]
    pub(super) csrf: String,
}

pub async fn sign_out(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    jar: CookieJar,
    Posted(_): Posted<TokenOnlyForm>,
) -> Response {
    let secure = state.services.settings.secure_cookies;
    // After a PSC session the page offers to end PSC's own session too (RP-initiated logout).
    let after_psc = ctx
        .viewer
        .session()
        .is_some_and(|s| s.auth_method == model::sign_in::Method::Psc);
    if let Some(token) = cookies::session_token(&jar)
        && let Err(e) =
            domain::auth::sign_out(&state.services.portal.pool, &token, ctx.call()).await
    {
        return back_with_error(paths::SIGN_IN, &ErrorCode::from(e));
    }
    // A shared workstation: the next person's PSC sign-in must not reuse this one's PSC session.
    let mut fresh_login = cookies::short_lived(
        cookies::PSC_FRESH_LOGIN,
        "1",
        cookies::PSC_FRESH_LOGIN_HOURS * 60,
        secure,
    );
    fresh_login.set_path(paths::PSC_START);
    (
        jar.add(cookies::removal(cookies::SESSION, secure))
            .add(cookies::csrf(&super::request::new_csrf_token(), secure))
            .add(fresh_login),
        Redirect::to(
            &if after_psc {
                Info::SignedOutOfPsc
            } else {
                Info::SignedOut
            }
            .on(paths::SIGN_IN),
        ),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct ChooseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    finess: String,
}

pub async fn choose_establishment(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Posted(form): Posted<ChooseForm>,
) -> Response {
    let Some(session) = ctx.viewer.session() else {
        return back_with_error(paths::SIGN_IN, &ErrorCode::NotSignedIn);
    };
    let Ok(finess) = Finess::parse(&form.finess) else {
        return back_with_error(paths::CHOOSER, &ErrorCode::InvalidInput);
    };
    match domain::routing::choose_establishment(
        &state.services.portal.pool,
        session,
        &finess,
        ctx.call(),
    )
    .await
    {
        Ok(e) => Redirect::to(&paths::establishment(&e.finess)).into_response(),
        Err(e) => back_with_error(paths::CHOOSER, &ErrorCode::from(e)),
    }
}

/// `/`: the signed-in user's establishment (or the routing of a fresh sign-in); else sign-in.
pub async fn root(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
) -> Response {
    let Some(session) = ctx.viewer.session() else {
        return Redirect::to(paths::SIGN_IN).into_response();
    };
    let establishments = async {
        let mut conn = state.services.portal.pool.acquire().await?;
        let list = domain::accounts::establishments_of(&mut conn, session.user_id).await?;
        let administrator = !domain::accounts::roles_of(&mut conn, session.user_id)
            .await?
            .is_empty();
        Ok::<_, domain::Error>((list, administrator))
    };
    match establishments.await {
        Ok((list, administrator)) => {
            let current = session
                .establishment_id
                .and_then(|id| list.iter().find(|e| e.id == id));
            let path = match current {
                Some(e) => paths::establishment(&e.finess),
                None => paths::landing(&Landing::for_establishments(&list, administrator)),
            };
            Redirect::to(&path).into_response()
        }
        Err(e) => back_with_error(paths::SIGN_IN, &ErrorCode::from(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct LanguageQuery {
    retour: Option<String>,
}

/// `/langue/{fr|en}?retour=/page`: remembers the language and goes back. Only local paths are
/// followed, so the link cannot send users to another site.
pub async fn switch_language(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<LanguageQuery>,
    jar: CookieJar,
) -> Response {
    let back = q
        .retour
        .as_deref()
        .and_then(|r| local_path(r, "/"))
        .unwrap_or("/")
        .to_string();
    let Some(lang) = app::i18n::Lang::from_code(&code) else {
        return Redirect::to(&back).into_response();
    };
    (
        jar.add(cookies::lang(
            lang.code(),
            state.services.settings.secure_cookies,
        )),
        Redirect::to(&back),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use crate::web::posted::same_token;
    use crate::web::request::local_path;

    #[test]
    fn only_local_paths_are_followed() {
        assert!(local_path("/connexion?region=FR-IDF", "/").is_some());
        assert_eq!(
            local_path("/admin/comptes?q=x", "/admin"),
            Some("/admin/comptes?q=x")
        );
        assert!(local_path("/connexion", "/admin").is_none());
        assert!(local_path("//admin.evil.example", "/").is_none());
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/\n/evil",
            "evil",
        ] {
            assert!(local_path(bad, "/").is_none(), "{bad:?}");
        }
    }

    #[test]
    fn token_comparison() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
    }
}
