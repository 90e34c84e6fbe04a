//! The per-request middleware: who is asking (address, session, language, form token), refusal of
//! cross-site posts, and the guard that sends anonymous visitors of private pages to sign in.

use std::net::{IpAddr, SocketAddr};

use app::i18n::Lang;
use app::info::Info;
use app::paths;
use app::state::{AppState, RequestContext, Viewer};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::audit::Client;
use domain::sessions;
use domain::sign_in_policy::Strength;
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tracing::Instrument;

use super::cookies;

/// Paths that need no session, language or token: static files and probes.
fn is_static(path: &str) -> bool {
    path.starts_with("/pkg/")
        || path == "/favicon.ico"
        || path == paths::LIVE
        || path == paths::READY
}

/// How long a browser may keep a static file. A name carrying its content's hash
/// (`passerelle.<22 characters of base64url MD5>.wasm`, from `cargo leptos build` with
/// `hash-files`) never changes content: kept a year without asking. Any other name may get new
/// content with a new version: asked again each time (an unchanged file costs a 304), so that a
/// new version never hydrates an old page.
fn static_cache_control(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or_default();
    let mut parts = name.split('.');
    let (_stem, extension) = (parts.next(), parts.next_back());
    let hashed = extension.is_some()
        && parts.any(|part| {
            part.len() == 22
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if path.starts_with("/pkg/") && hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

/// Pages only a signed-in user may see.
fn is_private_page(path: &str) -> bool {
    path == paths::CHOOSER
        || path.starts_with("/etablissements/")
        || path == paths::NO_ESTABLISHMENT
        || path.starts_with("/compte")
        || path == paths::CONSOLE
        || path.starts_with("/admin/")
}

/// The console's server functions (`/api/admin/users`, `…/establishments`, `…/audit-row`…): only
/// for a signed-in viewer.
fn is_console_api(path: &str) -> bool {
    path.starts_with("/api/admin/")
}

/// The client's address: the peer, or — only when the peer is a trusted proxy — the last address
/// in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    // Walk from the nearest hop; an entry we cannot read ends the walk (never skip over it to a
    // value the client wrote).
    for entry in forwarded.iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return Some(ip),
            Err(_) => return Some(peer),
        }
    }
    Some(peer)
}

pub(super) fn new_csrf_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A form post is acceptable only from our own pages: the browser's `Origin` (or, failing that,
/// `Sec-Fetch-Site`) must say so. The per-form token is checked by each handler on top.
fn cross_site_post(method: &Method, headers: &HeaderMap, public_origin: &str) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        return !origin.eq_ignore_ascii_case(public_origin);
    }
    matches!(
        headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
        Some("cross-site")
    )
}

/// A short random reference for a request (8 hex digits, the shape the error page echoes).
fn new_request_id() -> String {
    format!("{:08x}", rand::rngs::OsRng.next_u32())
}

/// Every request but static files: a reference and a tracing span of its own, then the context.
pub async fn context(
    State(state): State<AppState>,
    jar: CookieJar,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    if is_static(&path) {
        let mut response = next.run(request).await;
        let found = response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED;
        if !response.headers().contains_key(header::CACHE_CONTROL) {
            let value = if found {
                static_cache_control(&path)
            } else {
                "no-cache"
            };
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static(value),
            );
        }
        return response;
    }
    let request_id = new_request_id();
    let span = tracing::info_span!(
        "request",
        id = %request_id,
        method = %request.method(),
        path = %path
    );
    let served = app::state::REQUEST_ID.scope(
        request_id.clone(),
        with_context(state, jar, request, next, request_id.clone(), path),
    );
    let mut response = served.instrument(span).await;
    if let Ok(value) = header::HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// Who is asking, the refusals decided before any handler, and the cookies every page needs.
async fn with_context(
    state: AppState,
    jar: CookieJar,
    mut request: Request,
    next: Next,
    request_id: String,
    path: String,
) -> Response {
    let now = OffsetDateTime::now_utc();
    let settings = &state.services.settings;
    let secure = settings.secure_cookies;

    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    // The device cookie: the browser's, or a new one (set on this response). Only its hash goes on.
    let (device_secret, new_device) = match jar
        .get(cookies::DEVICE)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() == 43)
    {
        Some(d) => (d, false),
        None => (new_csrf_token(), true),
    };
    let client = Client {
        device: Some(Sha256::digest(device_secret.as_bytes()).into()),
        ip: client_ip(peer, request.headers(), &settings.trusted_proxies).map(|ip| ip.to_string()),
        user_agent: request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect()),
    };
    let lang = jar
        .get(cookies::LANG)
        .and_then(|c| Lang::from_code(c.value()))
        .unwrap_or_default();
    if cross_site_post(request.method(), request.headers(), &settings.public_origin) {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            lang.messages().common.err_cross_site,
        )
            .into_response();
    }

    let (csrf_token, new_csrf) = match jar
        .get(cookies::CSRF)
        .map(|c| c.value().to_string())
        .filter(|v| v.len() == 43)
    {
        Some(t) => (t, false),
        None => (new_csrf_token(), true),
    };

    let presented = cookies::session_token(&jar);
    let viewer = match &presented {
        Some(token) => match sessions::load(
            &state.services.portal.pool,
            token,
            state.services.portal.sessions,
            now,
        )
        .await
        {
            Ok(loaded) => Viewer::from_load(loaded),
            // The database does not answer (after the retries of `sessions::load`): a page that
            // says so in the visitor's language, with the request's reference, not a blank one.
            Err(e) => return super::bare::error(lang, &app::error::ErrorCode::from(e)),
        },
        None => Viewer::Anonymous,
    };
    // The sign-in policy: a session whose method the account's roles do not accept reaches
    // nothing but the page explaining how to get a stronger means (and signing out).
    let viewer = match viewer {
        Viewer::SignedIn(s) => {
            match state
                .services
                .portal
                .sign_in_policy
                .judge(&s.roles, s.auth_method, now)
            {
                Strength::TooWeak { accepted } => Viewer::Weak(s, accepted),
                Strength::Enough | Strength::Transition { .. } => Viewer::SignedIn(s),
            }
        }
        other => other,
    };
    let drop_session_cookie =
        presented.is_some() && viewer.session().is_none() && viewer.weak().is_none();

    let is_get = request.method() == Method::GET;
    let guard = if is_console_api(&path) {
        // The console's data, asked without a session: refused here, before the domain, so that
        // anyone's request costs neither a query nor an audit row. The error is the one the
        // console's pages show a signed-out viewer, encoded as their server functions answer.
        let code = match &viewer {
            Viewer::SignedIn(_) => None,
            Viewer::Weak(..) => Some(app::error::ErrorCode::StrongerSignInRequired),
            Viewer::Expired => Some(app::error::ErrorCode::SessionExpired),
            Viewer::Anonymous => Some(app::error::ErrorCode::NotSignedIn),
        };
        code.map(|code| {
            (
                StatusCode::UNAUTHORIZED,
                [(header::CONTENT_TYPE, "application/json")],
                serde_json::to_string(&code).unwrap_or_default(),
            )
                .into_response()
        })
    } else if is_get && is_private_page(&path) {
        match &viewer {
            Viewer::SignedIn(_) => None,
            Viewer::Weak(..) if path == paths::STRENGTHEN => None,
            Viewer::Weak(..) => Some(Redirect::to(paths::STRENGTHEN).into_response()),
            Viewer::Expired => {
                Some(Redirect::to(&Info::SessionExpired.on(paths::SIGN_IN)).into_response())
            }
            Viewer::Anonymous => Some(
                super::posted::back_with_error(paths::SIGN_IN, &app::error::ErrorCode::NotSignedIn)
                    .into_response(),
            ),
        }
    } else if is_get
        && path == paths::SIGN_IN
        && viewer.session().is_some()
        && !request.uri().query().is_some_and(|q| q.contains("erreur="))
    {
        // Already signed in: go where sign-in would have led.
        Some(Redirect::to("/").into_response())
    } else {
        None
    };

    request.extensions_mut().insert(RequestContext {
        request_id,
        now,
        client,
        lang,
        csrf_token: csrf_token.clone(),
        viewer,
    });
    let mut response = match guard {
        Some(refused) => refused,
        None => next.run(request).await,
    };

    let mut set = Vec::new();
    if new_csrf {
        set.push(cookies::csrf(&csrf_token, secure));
    }
    // A new device cookie; an old one again on the sign-in page, so that its 400 days start
    // again and a browser in use keeps it.
    if new_device || (is_get && path == paths::SIGN_IN) {
        set.push(cookies::device(&device_secret, secure));
    }
    if drop_session_cookie {
        set.push(cookies::removal(cookies::SESSION, secure));
    }
    for cookie in set {
        if let Ok(value) = cookie.to_string().parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    // "Temporarily unavailable" (a page, a server function, a bare page) says when to come back.
    if response.status() == StatusCode::SERVICE_UNAVAILABLE
        && !response.headers().contains_key(header::RETRY_AFTER)
    {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    }
    // Pages carry personal data and per-user tokens: never cache them.
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    response
}

/// `retour` when it is a path on this site under `within` (`/` for any page): the one guard for
/// every "go back to" parameter. Browsers drop tabs and newlines and read `\` as `/`, so
/// `/\tevil.example` or `/\evil.example` would leave the site; `//host` is another site.
pub fn local_path<'a>(retour: &'a str, within: &str) -> Option<&'a str> {
    let local = retour.starts_with('/')
        && !retour.starts_with("//")
        && !retour
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace());
    (local && retour.starts_with(within)).then_some(retour)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_fingerprinted_bundle_files_are_kept_for_a_year() {
        let year = "public, max-age=31536000, immutable";
        for kept in [
            "/pkg/passerelle.Xq3v0a9Zk-_8bR2mLp1TsA.wasm",
            "/pkg/passerelle.Xq3v0a9Zk-_8bR2mLp1TsA.js",
            "/pkg/passerelle.Xq3v0a9Zk-_8bR2mLp1TsA.css",
        ] {
            assert_eq!(static_cache_control(kept), year, "{kept}");
        }
        for asked_again in [
            "/pkg/passerelle.wasm",
            "/pkg/passerelle.css",
            "/pkg/passerelle_bg.wasm",
            // 21 characters, or one that base64url does not have.
            "/pkg/passerelle.Xq3v0a9Zk-_8bR2mLp1Ts.wasm",
            "/pkg/passerelle.Xq3v0a9Zk+_8bR2mLp1TsA.wasm",
            // Outside the bundle's folder, and a name that is only a hash.
            "/favicon.Xq3v0a9Zk-_8bR2mLp1TsA.ico",
            "/pkg/Xq3v0a9Zk-_8bR2mLp1TsA",
            "/healthz",
        ] {
            assert_eq!(
                static_cache_control(asked_again),
                "no-cache",
                "{asked_again}"
            );
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7".parse().unwrap(),
        );
        assert_eq!(
            client_ip(Some("192.0.2.1".parse().unwrap()), &headers, &[proxy]),
            "192.0.2.1".parse().ok()
        );
        assert_eq!(
            client_ip(Some(proxy), &headers, &[proxy]),
            "198.51.100.7".parse().ok()
        );
    }

    #[test]
    fn an_unreadable_forwarded_entry_stops_the_walk() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7:4711".parse().unwrap(),
        );
        assert_eq!(client_ip(Some(proxy), &headers, &[proxy]), Some(proxy));
    }

    #[test]
    fn cross_site_posts_are_recognised() {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, "https://evil.example".parse().unwrap());
        assert!(cross_site_post(
            &Method::POST,
            &h,
            "https://portail.example.fr"
        ));
        assert!(!cross_site_post(
            &Method::GET,
            &h,
            "https://portail.example.fr"
        ));
        let mut ok = HeaderMap::new();
        ok.insert(
            header::ORIGIN,
            "https://portail.example.fr".parse().unwrap(),
        );
        assert!(!cross_site_post(
            &Method::POST,
            &ok,
            "https://portail.example.fr"
        ));
        let mut fetch = HeaderMap::new();
        fetch.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(cross_site_post(
            &Method::POST,
            &fetch,
            "https://portail.example.fr"
        ));
    }
}
