//! The HTTP edge: routes, middleware, form handlers. Pages are Leptos routes (crate `app`).

mod account;
mod admin;
mod card;
mod cookies;
mod forms;
mod health;
mod import;
mod psc;
mod request;
mod tiqr;

use app::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue};
use axum::routing::{get, post};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::set_header::SetResponseHeaderLayer;

/// Form posts are small; refuse large bodies before reading them.
const MAX_BODY: usize = 64 * 1024;

pub fn router(state: AppState, psc_client: psc::Psc) -> Router {
    let routes = generate_route_list(app::App);
    let leptos_state = state.clone();
    let security_headers = [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        (
            "content-security-policy",
            "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
        ),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=()",
        ),
    ];
    let mut router = Router::new()
        .route("/", get(forms::root))
        .route("/connexion", post(forms::sign_in))
        .route("/connexion/carte", post(card::sign_in_with_agent))
        .route("/connexion/carte/defi", post(card::challenge))
        .route("/connexion/carte/lier", post(card::link))
        .route("/connexion/lier", post(card::link_psc))
        .route("/connexion/psc", get(psc::start))
        .route("/connexion/psc/retour", get(psc::callback))
        .route("/connexion/psc/deconnexion", post(psc::back_channel_logout))
        .route("/connexion/carte/certificat", get(card::tls_start))
        .route(
            "/connexion/carte/certificat/verifier",
            get(card::tls_verify),
        )
        .route("/connexion/carte/retour", get(card::tls_return))
        .route("/compte/cartes/delier", post(card::unlink))
        .route("/connexion/code", post(account::verify_code))
        .route("/connexion/code/envoyer", post(account::send_code))
        .route("/mot-de-passe-oublie", post(account::forgot_password))
        .route("/mot-de-passe", post(account::set_password))
        .route("/admin/confirmer", post(admin::reauthenticate))
        .route("/admin/comptes/nouveau", post(admin::create_user))
        .route(
            "/admin/comptes/{id}/tiqr-inscrire",
            post(tiqr::desk_enrollment),
        )
        .route("/admin/comptes/{id}/tiqr-code", post(tiqr::desk_code))
        .route("/admin/comptes/{id}/{verb}", post(admin::account_action))
        .route("/tiqr/metadata", get(tiqr::metadata))
        .route("/tiqr/enrol", post(tiqr::enrol))
        .route("/tiqr/auth", post(tiqr::login))
        .route("/tiqr/logo.png", get(tiqr::logo))
        .route("/connexion/tiqr/etat", post(tiqr::poll))
        .route("/connexion/tiqr/code", post(tiqr::offline_code))
        .route("/compte/tiqr/inscrire", post(tiqr::start_enrollment))
        .route("/compte/tiqr/etat", get(tiqr::enrollment_status))
        .route("/compte/tiqr/{id}/revoquer", post(tiqr::revoke_own))
        .route("/admin/etablissements", post(admin::create_establishment))
        .route(
            "/admin/etablissements/{finess}",
            post(admin::edit_establishment),
        )
        .route("/admin/journal.csv", get(admin::export_audit))
        .route(
            "/admin/import",
            post(import::upload).layer(DefaultBodyLimit::max(import::MAX_UPLOAD_BODY)),
        )
        .route("/admin/import/modele.csv", get(import::template))
        .route(
            "/admin/import/{id}/{what}",
            get(import::download).post(import::action),
        )
        .route("/deconnexion", post(forms::sign_out))
        .route("/etablissements/choisir", post(forms::choose_establishment))
        .route("/langue/{code}", get(forms::switch_language))
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(leptos_state.clone()),
            {
                let options = state.leptos.clone();
                move || app::shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        .layer(axum::Extension(psc_client))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request::context,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY));
    for (name, value) in security_headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    router.with_state(state)
}
