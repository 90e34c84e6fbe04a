//! Pages answered without Leptos: refusals decided before any page renders (too many requests, a
//! database that does not answer), so that they cost nothing and cannot fail in turn.

use app::error::ErrorCode;
use app::i18n::Lang;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A bare page in `lang` with `message` and a way back to the sign-in page.
pub fn page(lang: Lang, message: &str) -> String {
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Passerelle</title></head>\
         <body><main><h1>Passerelle</h1><p role=\"alert\">{message}</p><p><a href=\"/connexion\">{}</a></p></main></body></html>",
        lang.code(),
        lang.messages().sign_in.back_to_sign_in,
    )
}

/// `code` as a bare page with its status; "temporarily unavailable" also says when to come back
/// (`Retry-After`, read by browsers' extensions, proxies and scripts).
pub fn error(lang: Lang, code: &ErrorCode) -> Response {
    let status =
        StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page(lang, &code.message(lang)),
    )
        .into_response();
    if matches!(code, ErrorCode::Unavailable { .. }) {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    response
}
