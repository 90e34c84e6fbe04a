//! `Posted<T>`: the only way a handler receives a form of the portal's pages. The form's token is
//! checked against the browser's before the handler runs (the request middleware has already
//! refused a post from another origin), so a handler cannot forget the check. A refused form
//! goes back to the page it was posted from with `?erreur=formulaire-expire`, or gets a 403 in
//! JSON when the page's script asked for JSON; the handler never runs and nothing changes.
//!
//! The page a form is posted from is declared with its route (`form(handler, page)`); `{name}`
//! in the page is filled with the route's own parameter of that name. A form whose page depends
//! on one of its fields (the activation link's token, the console's `retour=`) says so with
//! [`PostedForm::page`].

use std::convert::Infallible;

use app::error::ErrorCode;
use app::state::{AppState, RequestContext};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::handler::Handler;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, post};
use axum::{Extension, Json};
use axum_extra::extract::Form;
use serde::de::DeserializeOwned;

use subtle::ConstantTimeEq;

/// Constant-time comparison (`subtle`), so the token cannot be guessed byte by byte from
/// response times. Only the length, which is public, may end it early.
pub(super) fn same_token(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

pub(super) fn csrf_ok(ctx: &RequestContext, submitted: &str) -> bool {
    !submitted.is_empty() && same_token(&ctx.csrf_token, submitted)
}

pub(super) fn back_with_error(page: &str, code: &ErrorCode) -> Response {
    let sep = if page.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{page}{sep}erreur={}", code.slug())).into_response()
}

/// Largest body of a page's form (a few short fields): a bigger one is refused unread.
pub(super) const MAX_FORM: usize = 8 * 1024;

/// A form of the portal's pages: its fields, among them the form token.
pub(super) trait PostedForm: DeserializeOwned + Send {
    /// The token the page embedded (`<input name="csrf">`).
    fn token(&self) -> &str;

    /// The page to go back to when the page depends on the form's own fields.
    fn page(&self) -> Option<String> {
        None
    }
}

/// `PostedForm` for forms whose token is their `csrf` field (the name every page uses).
macro_rules! token_in_csrf_field {
    ($($form:ty),+ $(,)?) => {
        $(impl $crate::web::posted::PostedForm for $form {
            fn token(&self) -> &str {
                &self.csrf
            }
        })+
    };
}
pub(super) use token_in_csrf_field;

/// The route of a page's form: `handler` receives a [`Posted`] form that came from `page`.
pub(super) fn form<H, T>(handler: H, page: &'static str) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    form_up_to(handler, page, MAX_FORM)
}

/// [`form`] for a form larger than a few fields (the card agent's proof): `limit` bytes.
pub(super) fn form_up_to<H, T>(
    handler: H,
    page: &'static str,
    limit: usize,
) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    post(handler)
        .layer::<_, Infallible>(Extension(FormPage(page)))
        .layer::<_, Infallible>(axum::extract::DefaultBodyLimit::max(limit))
}

/// The page a route's form is posted from (a pattern with the route's parameters).
#[derive(Debug, Clone, Copy)]
struct FormPage(&'static str);

/// A form whose token matched the browser's.
pub(super) struct Posted<T>(pub T);

/// A form refused before its handler: back to its page, or a JSON 403 for a script.
pub(super) enum Refused {
    BackTo(String),
    Json,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::BackTo(page) => back_with_error(&page, &ErrorCode::Csrf),
            Refused::Json => (
                StatusCode::FORBIDDEN,
                Json(serde_json::json!({ "error": ErrorCode::Csrf.slug(), "etat": "refuse" })),
            )
                .into_response(),
        }
    }
}

impl<T: PostedForm> FromRequest<AppState> for Posted<T> {
    type Rejection = Refused;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let json = parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json"));
        let pattern = parts
            .extensions
            .get::<FormPage>()
            .map_or(app::paths::SIGN_IN, |p| p.0);
        let params = RawPathParams::from_request_parts(&mut parts, state)
            .await
            .ok();
        let page = fill(pattern, params.iter().flat_map(|p| p.iter()));
        let refused = |page: String| {
            if json {
                Refused::Json
            } else {
                Refused::BackTo(page)
            }
        };
        let ctx = parts.extensions.get::<RequestContext>().cloned();
        let request = Request::from_parts(parts, body);
        // An unreadable body (wrong content type, bad encoding) is refused like a stale form:
        // the page is shown again, in French, and nothing changed.
        let Ok(Form(form)) = Form::<T>::from_request(request, state).await else {
            return Err(refused(page));
        };
        match ctx {
            Some(ctx) if csrf_ok(&ctx, form.token()) => Ok(Posted(form)),
            _ => Err(refused(form.page().unwrap_or(page))),
        }
    }
}

/// `pattern` with each `{name}` replaced by the route's parameter `name`. A parameter that does
/// not look like an identifier (the router takes anything between slashes) ends the page before
/// it, so that a refusal's redirect stays on the portal, on a plain path: the list above.
fn fill<'a>(pattern: &str, params: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut page = pattern.to_string();
    for (name, value) in params {
        let placeholder = format!("{{{name}}}");
        let plain = !value.is_empty()
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if plain {
            page = page.replace(&placeholder, value);
        } else if let Some(at) = page.find(&placeholder) {
            page.truncate(at);
            let kept = page.trim_end_matches('/').len();
            page.truncate(kept);
        }
    }
    page
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn the_page_takes_the_routes_parameters() {
        assert_eq!(fill("/connexion", []), "/connexion");
        assert_eq!(
            fill(
                "/admin/comptes/{id}",
                [("id", "0b7c"), ("verb", "desactiver")]
            ),
            "/admin/comptes/0b7c"
        );
    }

    #[test]
    fn a_parameter_that_is_not_an_identifier_is_left_out() {
        assert_eq!(
            fill("/admin/comptes/{id}", [("id", "x?erreur=y")]),
            "/admin/comptes"
        );
        assert_eq!(
            fill("/admin/comptes/{id}", [("id", "..")]),
            "/admin/comptes"
        );
    }
}
