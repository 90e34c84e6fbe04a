//! The HTTP edge: routes, middleware, form handlers. Pages are Leptos routes (crate `app`).

mod account;
mod activity;
mod admin;
mod bare;
mod bulk;
mod card;
mod cookies;
mod directory;
mod forms;
mod health;
mod import;
pub mod limits;
mod linking;
mod means;
pub mod metrics;
mod news;
mod passkey;
mod posted;
mod psc;
mod request;
mod server_fns;
mod tiqr;

use app::paths;
use app::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::routing::{get, post};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use posted::{form, form_up_to};
use std::sync::Arc;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

/// Form posts are small; refuse large bodies before reading them.
const MAX_BODY: usize = 64 * 1024;
/// The card agent's proof: a certificate and a signature, base64.
const MAX_CARD_PROOF: usize = 48 * 1024;
/// The TIQR app's posts and PSC's logout token.
const MAX_PROTOCOL: usize = 20 * 1024;

/// The Content-Security-Policy of every response that does not set its own. Pages set theirs
/// (`app::content_security_policy`: the same, plus the nonce of their inline hydration scripts and
/// the card agent's origin); everything else (redirects, JSON, CSV, files) gets this one, where
/// no inline script runs at all.
const DEFAULT_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
    frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/// Headers added to every response that lacks them. `https`: the public URL is https, so browsers
/// are told to use nothing else for a year (HSTS; never on plain http, where it would be ignored or
/// would lock a test host out).
fn security_headers(https: bool) -> Vec<(&'static str, &'static str)> {
    let mut headers = vec![
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        ("content-security-policy", DEFAULT_CSP),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=()",
        ),
    ];
    if https {
        headers.push((
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        ));
    }
    headers
}

pub fn router(state: AppState, psc_client: psc::Psc, limits: Arc<limits::Limits>) -> Router {
    let routes = generate_route_list(app::App);
    let leptos_state = state.clone();
    let security_headers = security_headers(state.services.settings.secure_cookies);
    let mut router = Router::new()
        .route("/", get(forms::root))
        .route(paths::SIGN_IN, form(forms::sign_in, paths::SIGN_IN))
        .route(paths::SIGN_OUT, form(forms::sign_out, paths::SIGN_IN))
        .route(
            paths::CHOOSE,
            form(forms::choose_establishment, paths::CHOOSER),
        )
        .route(paths::CODE, form(account::verify_code, paths::CODE))
        .route(paths::CODE_SEND, form(account::send_code, paths::CODE))
        .route(
            paths::FORGOT_PASSWORD,
            form(account::forgot_password, paths::FORGOT_PASSWORD),
        )
        .route(
            paths::NEW_PASSWORD,
            form(account::set_password, paths::NEW_PASSWORD),
        )
        // The card: the agent's proof, the TLS terminator's round trip, the one-time linking.
        .route(
            paths::CARD_SIGN_IN,
            form_up_to(card::sign_in_with_agent, paths::SIGN_IN, MAX_CARD_PROOF),
        )
        .route(paths::CARD_CHALLENGE, form(card::challenge, paths::SIGN_IN))
        .route(paths::CARD_TLS_START, get(card::tls_start))
        .route(paths::CARD_TLS_VERIFY, get(card::tls_verify))
        .route(paths::CARD_TLS_RETURN, get(card::tls_return))
        .route(paths::CARD_LINK, form(linking::link_card, paths::CARD_LINK))
        // Passkeys: the options for the browser, and its answers.
        .route(
            paths::PASSKEY_CHALLENGE,
            form(passkey::sign_in_options, paths::SIGN_IN),
        )
        .route(
            paths::PASSKEY_SIGN_IN,
            form_up_to(passkey::sign_in, paths::SIGN_IN, passkey::MAX_ANSWER),
        )
        .route(
            paths::MY_PASSKEY_CHALLENGE,
            form(passkey::registration_options, paths::MY_MEANS),
        )
        .route(
            paths::MY_PASSKEY_ADD,
            form_up_to(passkey::register, paths::MY_MEANS, passkey::MAX_ANSWER),
        )
        // Pro Santé Connect.
        .route(paths::PSC_START, get(psc::start))
        .route(paths::PSC_CALLBACK, get(psc::callback))
        .route(
            paths::PSC_BACK_CHANNEL_LOGOUT,
            post(psc::back_channel_logout).layer(DefaultBodyLimit::max(MAX_PROTOCOL)),
        )
        .route(paths::PSC_END_SESSION, get(psc::end_session))
        .route(paths::PSC_LINK, form(linking::link_psc, paths::PSC_LINK))
        // TIQR: the app's protocol, the browser's sign-in, the holder's and the desk's enrolment.
        .route(paths::TIQR_METADATA, get(tiqr::metadata))
        .route(
            paths::TIQR_ENROL,
            post(tiqr::enrol).layer(DefaultBodyLimit::max(MAX_PROTOCOL)),
        )
        .route(
            paths::TIQR_AUTH,
            post(tiqr::login).layer(DefaultBodyLimit::max(MAX_PROTOCOL)),
        )
        .route(paths::TIQR_LOGO, get(tiqr::logo))
        .route(paths::TIQR_POLL, form(tiqr::poll, paths::TIQR_SIGN_IN))
        .route(
            paths::TIQR_OFFLINE_CODE,
            form(tiqr::offline_code, paths::TIQR_SIGN_IN),
        )
        .route(
            paths::MY_TIQR_ENROLL,
            form(tiqr::start_enrollment, paths::MY_TIQR),
        )
        .route(paths::MY_TIQR_STATUS, get(tiqr::enrollment_status))
        .route(
            paths::pattern::MY_TIQR_REVOKE,
            form(tiqr::revoke_own, paths::MY_TIQR),
        )
        .route(
            paths::pattern::USER_TIQR_ENROLL,
            form(tiqr::desk_enrollment, paths::pattern::USER),
        )
        .route(
            paths::pattern::USER_TIQR_CODE,
            form(tiqr::desk_code, paths::pattern::USER),
        )
        // The holder's own sign-in means.
        .route(paths::FORMER_MY_CARDS, get(means::former_page))
        .route(paths::MY_MEANS_REMOVE, form(means::remove, paths::MY_MEANS))
        .route(
            paths::MY_ACTIVITY_END,
            form(activity::end, paths::MY_ACTIVITY),
        )
        .route(paths::NOT_ME, form(activity::not_me, paths::NOT_ME))
        .route(paths::WAKE, form(activity::wake, paths::WAKE))
        // The console.
        .route(paths::REAUTH, form(admin::reauthenticate, paths::REAUTH))
        .route(paths::NEW_USER, form(admin::create_user, paths::NEW_USER))
        .route(paths::BULK, form(bulk::select, paths::USERS))
        .route(
            paths::pattern::BULK_JOB,
            form(bulk::confirm, paths::pattern::BULK_JOB),
        )
        .route(
            paths::pattern::KEEP_ACTIVE,
            form(admin::keep_active, paths::INACTIVE),
        )
        .route(
            paths::pattern::USER_ACTION,
            form(admin::account_action, paths::pattern::USER),
        )
        .route(
            paths::ESTABLISHMENTS,
            form(admin::create_establishment, paths::ESTABLISHMENTS),
        )
        .route(
            paths::pattern::ESTABLISHMENT_EDIT,
            form(
                admin::edit_establishment,
                paths::pattern::ESTABLISHMENT_EDIT,
            ),
        )
        .route(paths::AUDIT_EXPORT, get(admin::export_audit))
        .route(
            paths::DIRECTORY_LOADS,
            form(directory::load, paths::DIRECTORY_LOADS),
        )
        .route(paths::NEWS, form(news::create, paths::NEWS))
        .route(
            paths::pattern::NEWS_ACTION,
            form(news::action, paths::pattern::NEWS_ITEM),
        )
        .route(paths::pattern::NEWS_FEED, get(news::feed))
        .route(
            paths::IMPORTS,
            post(import::upload).layer(DefaultBodyLimit::max(import::MAX_UPLOAD_BODY)),
        )
        .route(paths::IMPORT_TEMPLATE, get(import::template))
        .route(
            paths::pattern::IMPORT_ACTION,
            get(import::download).merge(form(import::action, paths::pattern::IMPORT)),
        )
        .route(paths::pattern::LANGUAGE, get(forms::switch_language))
        .route(paths::LIVE, get(health::live))
        .route(paths::READY, get(health::ready))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(leptos_state.clone()),
            {
                let options = state.leptos.clone();
                move || app::shell(options.clone())
            },
        )
        // Every route above names its responses for the metrics (the fallback's are `other`).
        .route_layer(axum::middleware::from_fn(metrics::mark_route))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        .layer(axum::middleware::from_fn(server_fns::status_of_errors))
        .layer(axum::Extension(psc_client))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request::context,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        // Outside the session middleware: a flood is refused before any query.
        .layer(axum::middleware::from_fn_with_state(limits, limits::guard))
        // A request (its body included) gets `REQUEST_TIMEOUT`; the empty 408 gets words.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits::REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::from_fn(limits::explain_timeout));
    for (name, value) in security_headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    // Outermost: every request is counted and timed, the refused ones (429, 408) too.
    router
        .layer(axum::middleware::from_fn(metrics::observe))
        .with_state(state)
}

#[cfg(test)]
mod fault_tests;
#[cfg(test)]
mod http_tests;

#[cfg(test)]
mod tests {
    //! The edge's refusals, against a database that cannot be reached: whatever is answered here
    //! was decided without a single query.
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use tower::ServiceExt;

    use super::*;

    fn router_without_database() -> Router {
        let config = super::http_tests::test_config();
        let pool = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(Duration::from_millis(300))
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .unwrap();
        let passwords = std::sync::Arc::new(
            domain::password::Passwords::new(domain::password::Cost {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 1,
            })
            .unwrap(),
        );
        let state = crate::startup::state(&config, pool, passwords, None, None).unwrap();
        router(state, None, Arc::new(limits::Limits::new(vec![])))
    }

    async fn body_text(response: axum::response::Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn the_console_api_refuses_an_anonymous_caller_without_a_query() {
        let app = router_without_database();
        for uri in [
            "/api/admin/users?q=&status=&finess=&role=&region=&after=",
            "/api/admin/establishments?q=&after=",
            "/api/admin/audit-row?id=1",
        ] {
            let response = app
                .clone()
                .oneshot(Request::get(uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{uri}");
            let code: app::error::ErrorCode = serde_json::from_str(&body_text(response).await)
                .unwrap_or_else(|e| panic!("{uri}: {e}"));
            assert_eq!(code, app::error::ErrorCode::NotSignedIn);
        }
    }

    #[tokio::test]
    async fn a_flood_of_reset_requests_from_one_address_gets_429_in_french() {
        let app = router_without_database();
        let post = || {
            Request::post("/mot-de-passe-oublie")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "text/html")
                .body(Body::from("csrf=x&identifiant=personne"))
                .unwrap()
        };
        let mut statuses = Vec::new();
        for _ in 0..15 {
            let response = app.clone().oneshot(post()).await.unwrap();
            statuses.push(response.status());
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                assert!(response.headers().contains_key(header::RETRY_AFTER));
                let page = body_text(response).await;
                assert!(
                    page.contains("Trop de demandes depuis votre adresse"),
                    "{page}"
                );
                assert!(page.contains("lang=\"fr\""), "{page}");
            }
        }
        let refused = statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert_eq!(refused, 5, "{statuses:?}");
        assert!(
            statuses[..10]
                .iter()
                .all(|s| *s != StatusCode::TOO_MANY_REQUESTS)
        );
    }

    #[tokio::test]
    async fn an_anonymous_upload_is_refused_before_its_body_is_read() {
        let app = router_without_database();
        // A body whose file part never ends: reading it would wait forever.
        let head = "--B\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nx\r\n--B\r\n\
                    Content-Disposition: form-data; name=\"fichier\"; filename=\"a.csv\"\r\n\r\nusername;email\r\n";
        let stream = futures_util_stream(head);
        let request = Request::post("/admin/import")
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=B")
            .body(Body::from_stream(stream))
            .unwrap();
        let response = tokio::time::timeout(Duration::from_secs(5), app.oneshot(request))
            .await
            .expect("answered without reading the body")
            .unwrap();
        assert!(response.status().is_redirection());
        let to = response.headers()[header::LOCATION].to_str().unwrap();
        assert!(to.contains("erreur=non-connecte"), "{to}");
    }

    /// `head`, then nothing ever again.
    fn futures_util_stream(
        head: &'static str,
    ) -> impl futures_util::Stream<Item = Result<axum::body::Bytes, std::io::Error>> {
        use futures_util::StreamExt;
        futures_util::stream::once(
            async move { Ok(axum::body::Bytes::from_static(head.as_bytes())) },
        )
        .chain(futures_util::stream::pending())
    }

    // Hardening (issue 14, L-4): HSTS on https, a CSP with a script-src everywhere.
    #[test]
    fn https_deployments_get_hsts_and_every_response_a_script_src() {
        let find = |https: bool, name: &str| {
            super::security_headers(https)
                .into_iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v)
        };
        assert_eq!(
            find(true, "strict-transport-security"),
            Some("max-age=31536000; includeSubDomains")
        );
        assert_eq!(find(false, "strict-transport-security"), None);
        let csp = find(false, "content-security-policy").unwrap();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.contains("object-src 'none'") && csp.contains("frame-ancestors 'none'"));
    }
}
