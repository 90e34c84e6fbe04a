//! The HTTP edge over a real database with the demo data (`testkit::db`: a fresh migrated
//! database per test): the redirects, error codes and refusals a browser sees, without a browser.
//! Playwright keeps what needs one (hydration, the card agent, the phone); these run in seconds.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use tower::ServiceExt;

use super::{limits, router};

/// A well-formed form token (43 URL-safe characters), as the context middleware accepts it.
pub(super) const TOKEN: &str = "dGVzdC10b2tlbi10aGF0LWlzLWZvcnR5LXRocmVlLWN";
pub(super) const PASSWORD: &str = domain::demo::DEMO_PASSWORD;

/// The default configuration, its data folder (the keys the portal creates) a fresh temporary
/// one: tests never write into the checkout, and never share a key file being created.
pub(super) fn test_config() -> crate::config::Config {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "passerelle-edge-tests-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = crate::config::Config {
        data_dir: dir,
        ..crate::config::Config::default()
    };
    // These tests sign the demo administrators in with their password; the sign-in policy's
    // defaults have their own tests (`the_desk_and_administrators_need_a_stronger_sign_in`).
    for list in [
        &mut config.policy.support,
        &mut config.policy.regional_admin,
        &mut config.policy.national_admin,
    ] {
        list.clear();
    }
    config
}

/// The portal over a fresh database with the demo accounts, on `http://127.0.0.1:3000`.
async fn portal() -> Router {
    portal_with(&test_config()).await.0
}

/// The portal with `config` over a fresh database with the demo accounts, and its services.
pub(super) async fn portal_with(
    config: &crate::config::Config,
) -> (Router, Arc<app::state::Services>) {
    let pool = testkit::db::fresh_pool().await;
    let passwords = testkit::db::passwords();
    let now = time::OffsetDateTime::now_utc();
    assert!(domain::demo::seed(&pool, &passwords, now).await.unwrap());
    portal_over(config, pool, passwords)
}

/// The portal with `config` over `pool`, as the server builds it, and its services.
pub(super) fn portal_over(
    config: &crate::config::Config,
    pool: sqlx::PgPool,
    passwords: Arc<domain::password::Passwords>,
) -> (Router, Arc<app::state::Services>) {
    let state = crate::startup::state(config, pool, passwords, None, None).unwrap();
    let services = state.services.clone();
    let limits = limits::Limits::new(config.trusted_proxies.clone());
    // As the server does (`into_make_service_with_connect_info`): every request carries its
    // peer's address, read by the handlers and the per-address budgets.
    let app = router(state, None, Arc::new(limits)).layer(axum::middleware::map_request(
        |mut request: Request<Body>| async move {
            let peer = std::net::SocketAddr::from(([127, 0, 0, 1], 40000));
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            request
        },
    ));
    (app, services)
}

/// A form post from the portal's own page, with its form token.
pub(super) fn post(path: &str, fields: &[(&str, &str)], session: Option<&str>) -> Request<Body> {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", TOKEN)
        .extend_pairs(fields)
        .finish();
    let mut cookies = format!("passerelle_csrf={TOKEN}");
    if let Some(s) = session {
        cookies.push_str(&format!("; passerelle_session={s}"));
    }
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, "http://127.0.0.1:3000")
        .header(header::COOKIE, cookies)
        .body(Body::from(body))
        .unwrap()
}

pub(super) fn get(path: &str, session: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(s) = session {
        request = request.header(header::COOKIE, format!("passerelle_session={s}"));
    }
    request.body(Body::empty()).unwrap()
}

pub(super) fn location(response: &Response<Body>) -> String {
    response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The value of the cookie `name` the response sets.
pub(super) fn cookie(response: &Response<Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_string())
}

pub(super) async fn body(response: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn sign_in(app: &Router, username: &str) -> String {
    let response = app
        .clone()
        .oneshot(post(
            "/connexion",
            &[("identifiant", username), ("mot_de_passe", PASSWORD)],
            None,
        ))
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    cookie(&response, "passerelle_session").expect("a session cookie")
}

/// The sign-in policy's defaults, role by role: a professional's password session reaches their
/// pages; the desk's and the administrators' reach nothing but the page explaining how to get a
/// stronger means (pages redirected, the console's data refused, its actions refused), and may
/// still sign out.
#[tokio::test]
async fn the_desk_and_administrators_need_a_stronger_sign_in() {
    let config = crate::config::Config {
        policy: crate::config::PolicyConfig::default(),
        ..test_config()
    };
    let (app, _) = portal_with(&config).await;
    let professional = sign_in(&app, "dr.martin").await;
    let response = app
        .clone()
        .oneshot(get("/compte/connexions", Some(&professional)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    for username in ["support.idf", "admin.idf", "admin.national"] {
        let session = sign_in(&app, username).await;
        for page in [
            "/admin/comptes",
            "/compte/moyens-de-connexion",
            "/etablissements",
        ] {
            let response = app
                .clone()
                .oneshot(get(page, Some(&session)))
                .await
                .unwrap();
            assert!(response.status().is_redirection(), "{username} {page}");
            assert_eq!(
                location(&response),
                "/compte/renforcer",
                "{username} {page}"
            );
        }
        let response = app
            .clone()
            .oneshot(get("/compte/renforcer", Some(&session)))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{username}");
        let page = body(response).await;
        assert!(
            page.contains("Une connexion plus forte est nécessaire"),
            "{username}"
        );
        // The session is kept (not dropped as unknown): signing out is possible.
        let response = app
            .clone()
            .oneshot(get("/api/admin/users", Some(&session)))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{username}");
        assert!(
            body(response).await.contains("StrongerSignInRequired"),
            "{username}"
        );
        let response = app
            .clone()
            .oneshot(post(
                "/compte/connexions/fermer",
                &[("session", "autres")],
                Some(&session),
            ))
            .await
            .unwrap();
        assert!(
            location(&response).starts_with("/connexion?erreur=non-connecte"),
            "{username}"
        );
        let response = app
            .clone()
            .oneshot(post("/deconnexion", &[], Some(&session)))
            .await
            .unwrap();
        assert!(response.status().is_redirection(), "{username}");
        assert!(location(&response).starts_with("/connexion"), "{username}");
    }
}

#[tokio::test]
async fn a_wrong_password_goes_back_to_the_form_with_its_reason_and_no_session() {
    let app = portal().await;
    let response = app
        .oneshot(post(
            "/connexion",
            &[("identifiant", "dr.martin"), ("mot_de_passe", "pas le bon")],
            None,
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/connexion?erreur=identifiants");
    assert_eq!(cookie(&response, "passerelle_session"), None);
}

#[tokio::test]
async fn the_right_password_starts_a_session_and_lands_where_the_memberships_say() {
    let app = portal().await;
    let response = app
        .clone()
        .oneshot(post(
            "/connexion",
            &[("identifiant", "dr.martin"), ("mot_de_passe", PASSWORD)],
            None,
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session = cookie(&response, "passerelle_session").expect("a session cookie");
    let set_cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    // dr.martin works in two establishments: the chooser.
    assert_eq!(location(&response), "/etablissements");

    // Signed in, the sign-in page sends her on.
    let again = app
        .oneshot(get("/connexion", Some(&session)))
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&again), "/");
}

#[tokio::test]
async fn a_form_without_its_token_changes_nothing_and_says_the_form_expired() {
    let app = portal().await;
    let request = Request::post("/connexion")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("passerelle_csrf={TOKEN}"))
        .body(Body::from(
            "csrf=autre&identifiant=dr.martin&mot_de_passe=x",
        ))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(location(&response), "/connexion?erreur=formulaire-expire");
    assert_eq!(cookie(&response, "passerelle_session"), None);
}

#[tokio::test]
async fn a_post_from_another_site_is_refused_in_french() {
    let app = portal().await;
    let mut request = post(
        "/connexion",
        &[("identifiant", "dr.martin"), ("mot_de_passe", PASSWORD)],
        None,
    );
    request
        .headers_mut()
        .insert(header::ORIGIN, "https://evil.example".parse().unwrap());
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(cookie(&response, "passerelle_session"), None);
    let text = body(response).await;
    assert!(
        text.contains("ne provient pas d'une page de Passerelle"),
        "{text}"
    );
}

#[tokio::test]
async fn private_pages_send_anonymous_visitors_to_sign_in() {
    let app = portal().await;
    for path in [
        "/admin/comptes",
        "/compte/moyens-de-connexion",
        "/etablissements",
    ] {
        let response = app.clone().oneshot(get(path, None)).await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            location(&response),
            "/connexion?erreur=non-connecte",
            "{path}"
        );
    }
    // A session cookie the server does not know: told the session ended, the cookie dropped.
    let unknown = "a".repeat(43);
    let response = app
        .oneshot(get("/admin/comptes", Some(&unknown)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&response).starts_with("/connexion?"),
        "{}",
        location(&response)
    );
}

#[tokio::test]
async fn signing_out_ends_the_session_and_says_so() {
    let app = portal().await;
    let session = sign_in(&app, "inf.durand").await;
    let response = app
        .clone()
        .oneshot(post("/deconnexion", &[], Some(&session)))
        .await
        .unwrap();
    assert_eq!(location(&response), "/connexion?info=deconnecte");
    // The old cookie no longer opens anything.
    let after = app
        .oneshot(get("/compte/moyens-de-connexion", Some(&session)))
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert!(location(&after).starts_with("/connexion?"));
}

#[tokio::test]
async fn return_paths_never_leave_the_site() {
    let app = portal().await;
    for (retour, expected) in [
        ("/admin/comptes", "/admin/comptes"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
    ] {
        let uri = format!(
            "/langue/en?retour={}",
            form_urlencoded::byte_serialize(retour.as_bytes()).collect::<String>()
        );
        let response = app.clone().oneshot(get(&uri, None)).await.unwrap();
        assert_eq!(location(&response), expected, "{retour}");
        assert_eq!(cookie(&response, "passerelle_lang").as_deref(), Some("en"));
    }
}

#[tokio::test]
async fn the_console_password_confirmation_goes_back_only_inside_the_console() {
    let app = portal().await;
    let session = sign_in(&app, "admin.idf").await;
    // The wrong password: back to the confirmation page, which keeps only a console path.
    let response = app
        .clone()
        .oneshot(post(
            "/admin/confirmer",
            &[("retour", "https://evil.example"), ("mot_de_passe", "faux")],
            Some(&session),
        ))
        .await
        .unwrap();
    let to = location(&response);
    assert!(
        to.starts_with("/admin/confirmer?retour=/admin/comptes&"),
        "{to}"
    );
    assert!(to.contains("erreur=identifiants"), "{to}");
    let response = app
        .oneshot(post(
            "/admin/confirmer",
            &[("retour", "/admin/journal"), ("mot_de_passe", PASSWORD)],
            Some(&session),
        ))
        .await
        .unwrap();
    assert_eq!(location(&response), "/admin/journal");
}

#[tokio::test]
async fn the_code_page_without_its_step_says_the_sign_in_expired() {
    let app = portal().await;
    let response = app
        .oneshot(post("/connexion/code", &[("code", "123456")], None))
        .await
        .unwrap();
    let to = location(&response);
    assert!(to.contains("erreur=connexion-expiree"), "{to}");
}

#[tokio::test]
async fn pro_sante_connect_turned_off_ends_on_its_error_page() {
    let app = portal().await;
    let response = app.oneshot(get("/connexion/psc", None)).await.unwrap();
    assert_eq!(
        location(&response),
        "/connexion/psc/erreur?erreur=psc-desactive"
    );
}

#[tokio::test]
async fn an_unknown_address_is_a_french_404_page() {
    let app = portal().await;
    let response = app.oneshot(get("/nulle-part", None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // Every answer names its request, as its log lines do.
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        id.len() == 8 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    let page = body(response).await;
    assert!(page.contains("lang=\"fr\""), "{page}");
}

/// A form post with a stale token, from a page of the portal.
fn stale_post(path: &str, session: Option<&str>) -> Request<Body> {
    let mut cookies = format!("passerelle_csrf={TOKEN}");
    if let Some(s) = session {
        cookies.push_str(&format!("; passerelle_session={s}"));
    }
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookies)
        .body(Body::from("csrf=perime&nom=Autre"))
        .unwrap()
}

#[tokio::test]
async fn a_stale_console_form_goes_back_to_its_own_page_and_changes_nothing() {
    let app = portal().await;
    let session = sign_in(&app, "admin.idf").await;
    let account = "6f1d0c1e-0000-4000-8000-000000000001";
    let response = app
        .clone()
        .oneshot(stale_post(
            &format!("/admin/comptes/{account}/desactiver"),
            Some(&session),
        ))
        .await
        .unwrap();
    assert_eq!(
        location(&response),
        format!("/admin/comptes/{account}?erreur=formulaire-expire")
    );
    // A route parameter that is not an identifier never reaches the redirect.
    let response = app
        .clone()
        .oneshot(stale_post(
            "/admin/comptes/%2F%2Fevil.example/desactiver",
            Some(&session),
        ))
        .await
        .unwrap();
    assert_eq!(
        location(&response),
        "/admin/comptes?erreur=formulaire-expire"
    );
    // The activation link's page keeps its token (and only a token's characters).
    let response = app
        .oneshot(
            Request::post("/mot-de-passe")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, format!("passerelle_csrf={TOKEN}"))
                .body(Body::from("csrf=perime&jeton=abc%22%3E%3Cx&mot_de_passe=x"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        location(&response),
        "/mot-de-passe?jeton=abcx&erreur=formulaire-expire"
    );
}

#[tokio::test]
async fn a_pages_script_gets_a_stale_form_refused_in_json() {
    let app = portal().await;
    let mut request = stale_post("/connexion/carte/defi", None);
    request
        .headers_mut()
        .insert(header::ACCEPT, "application/json".parse().unwrap());
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let answer: serde_json::Value = serde_json::from_str(&body(response).await).unwrap();
    assert_eq!(answer["error"], "formulaire-expire");
}

#[tokio::test]
async fn every_page_of_the_path_table_is_a_leptos_route() {
    let routes: Vec<String> = leptos_axum::generate_route_list(app::App)
        .iter()
        .map(|r| r.path().to_string())
        .collect();
    for page in app::paths::PAGES {
        assert!(routes.iter().any(|r| r == page), "{page} in {routes:?}");
    }
}

/// Every server function of the pages (`#[server(prefix, endpoint)]` in `app`).
const SERVER_FNS: &[&str] = &[
    "/api/shell",
    "/api/sign-in",
    "/api/pending-link",
    "/api/code-step",
    "/api/password-link",
    "/api/sign-in-means",
    "/api/chooser",
    "/api/dashboard",
    "/api/no-establishment",
    "/api/tiqr-sign-in",
    "/api/my-tiqr",
    "/api/admin/users",
    "/api/admin/user",
    "/api/admin/new-user",
    "/api/admin/establishments",
    "/api/admin/establishment",
    "/api/admin/audit",
    "/api/admin/audit-row",
    "/api/admin/reauth",
    "/api/admin/imports",
    "/api/admin/import",
    "/api/demo-mails",
    "/api/demo-mail",
];

/// Queries a hand-written or truncated address may carry: none, unknown names, values of the
/// wrong shape, an unknown identifier, a very long value.
fn odd_queries() -> Vec<String> {
    vec![
        String::new(),
        "?x=1".into(),
        "?q=%FF%FE&status=nimporte&finess=abc&role=roi&region=XX&after=zzz&id=pas-un-uuid\
         &finess=1&cible=%00&action=%25"
            .into(),
        "?id=00000000-0000-0000-0000-000000000000&finess=750712184&q=&status=&role=&region=\
         &after=&establishment=&etablissement="
            .into(),
        format!("?q={}&id={}", "a".repeat(4000), "b".repeat(300)),
    ]
}

#[tokio::test]
async fn no_route_answers_500_to_missing_or_malformed_input() {
    let app = portal().await;
    let professional = sign_in(&app, "inf.durand").await;
    let admin = sign_in(&app, "admin.idf").await;
    let mut gets: Vec<String> = Vec::new();
    for path in SERVER_FNS.iter().chain(app::paths::PAGES) {
        for query in odd_queries() {
            gets.push(format!("{path}{query}"));
        }
    }
    for path in [
        "/admin/comptes/pas-un-uuid",
        "/admin/comptes/00000000-0000-0000-0000-000000000000",
        "/admin/etablissements/abc",
        "/admin/etablissements/750712184",
        "/admin/import/pas-un-uuid",
        "/admin/import/pas-un-uuid/rapport.csv",
        "/admin/journal/pas-un-id",
        "/admin/journal.csv?debut=hier&fin=%FF",
        "/etablissements/abc",
        "/etablissements/123456789",
        "/compte/tiqr/etat?compte=pas-un-uuid",
        "/connexion/psc/retour?code=x&state=%00",
        "/connexion/carte/retour?jeton=%FF",
        "/connexion/carte/certificat/verifier",
        "/tiqr/metadata?cle=%FF",
        "/langue/xx?retour=%FF",
    ] {
        gets.push(path.to_string());
    }
    let posts = [
        "/connexion",
        "/connexion/code",
        "/connexion/code/envoyer",
        "/connexion/carte",
        "/connexion/carte/defi",
        "/connexion/carte/lier",
        "/connexion/lier",
        "/connexion/tiqr/etat",
        "/connexion/tiqr/code",
        "/mot-de-passe-oublie",
        "/mot-de-passe",
        "/etablissements/choisir",
        "/compte/moyens-de-connexion/retirer",
        "/compte/tiqr/inscrire",
        "/compte/tiqr/pas-un-uuid/revoquer",
        "/admin/confirmer",
        "/admin/comptes/nouveau",
        "/admin/comptes/pas-un-uuid/desactiver",
        "/admin/comptes/00000000-0000-0000-0000-000000000000/modifier",
        "/admin/comptes/00000000-0000-0000-0000-000000000000/tiqr-code",
        "/admin/etablissements",
        "/admin/etablissements/abc",
        "/admin/import/pas-un-uuid/valider",
        "/tiqr/enrol",
        "/tiqr/auth",
        "/connexion/psc/deconnexion",
        "/deconnexion",
    ];
    let junk: &[(&str, &str)] = &[
        ("identifiant", "\u{0}%"),
        ("mot_de_passe", ""),
        ("code", "abc"),
        ("finess", "x"),
        ("version", "-1"),
        ("role", "roi"),
        ("jeton", "%FF"),
        ("retour", "//ailleurs"),
        ("moyen", "carte:pas-un-uuid"),
    ];
    for session in [None, Some(professional.as_str()), Some(admin.as_str())] {
        for uri in &gets {
            let response = app.clone().oneshot(get(uri, session)).await.unwrap();
            assert_ne!(
                response.status(),
                StatusCode::INTERNAL_SERVER_ERROR,
                "GET {uri} ({session:?}): {}",
                body(response).await
            );
        }
        for path in posts {
            let response = app
                .clone()
                .oneshot(post(path, junk, session))
                .await
                .unwrap();
            assert_ne!(
                response.status(),
                StatusCode::INTERNAL_SERVER_ERROR,
                "POST {path} ({session:?}): {}",
                body(response).await
            );
        }
    }
}

#[tokio::test]
async fn server_functions_answer_with_the_status_of_their_error() {
    let app = portal().await;
    let professional = sign_in(&app, "inf.durand").await;
    // A professional asking for the console's data: forbidden, not a failure.
    let users = "/api/admin/users?q=&status=&finess=&role=&region=&after=";
    let response = app
        .clone()
        .oneshot(get(users, Some(&professional)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Nobody signed in: 401.
    let response = app.clone().oneshot(get(users, None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // An account that does not exist: 404; a malformed identifier: 400.
    let admin = sign_in(&app, "admin.idf").await;
    let response = app
        .clone()
        .oneshot(get(
            "/api/admin/user?id=00000000-0000-0000-0000-000000000000",
            Some(&admin),
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = app
        .oneshot(get("/api/admin/user", Some(&admin)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

/// The demo's e-mails in the browser: listed and readable with demo data (the folder transport,
/// an http public URL), the portal's own links clickable; without demo data the pages do not
/// exist.
#[tokio::test]
async fn the_demo_shows_its_e_mails_and_only_the_demo() {
    use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

    let without = portal().await;
    let response = without.oneshot(get("/demo/courriels", None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let mut config = test_config();
    config.demo_data = Some(true);
    let folder = config.demo_mail_folder().expect("the demo has its folder");
    std::fs::create_dir_all(&folder).unwrap();
    let message = Message::builder()
        .from("Passerelle <ne-pas-repondre@passerelle.example>".parse().unwrap())
        .to("nouveau.medecin@chu.example".parse().unwrap())
        .subject("Activez votre compte Passerelle")
        .body(
            "Bonjour Jean,\nActivez votre compte : http://127.0.0.1:3000/mot-de-passe?jeton=abc\nAutre : https://ailleurs.example/x\n"
                .to_string(),
        )
        .unwrap();
    AsyncFileTransport::<Tokio1Executor>::new(&folder)
        .send(message)
        .await
        .unwrap();
    let (app, _) = portal_with(&config).await;

    let response = app
        .clone()
        .oneshot(get("/demo/courriels", None))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let list = body(response).await;
    assert!(list.contains("nouveau.medecin@chu.example"), "{list}");
    let start = list.find("/demo/courriels/").expect("a link to the e-mail");
    let link: String = list[start..].chars().take_while(|c| *c != '"').collect();

    let response = app.clone().oneshot(get(&link, None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = body(response).await;
    assert!(page.contains("Activez votre compte Passerelle"), "{page}");
    assert!(
        page.contains("<a href=\"http://127.0.0.1:3000/mot-de-passe?jeton=abc\""),
        "{page}"
    );
    assert!(
        !page.contains("<a href=\"https://ailleurs.example"),
        "{page}"
    );

    for missing in [
        "/demo/courriels/00000000-0000-0000-0000-000000000000",
        "/demo/courriels/..%2F..%2Fetc%2Fpasswd",
    ] {
        let response = app.clone().oneshot(get(missing, None)).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{missing}");
    }

    // On https the folder is never offered (demo data is refused there anyway).
    config.public_url = "https://passerelle.example".to_string();
    assert_eq!(config.demo_mail_folder(), None);
    let _ = std::fs::remove_dir_all(&config.data_dir);
}

/// The Prometheus metrics after a few requests: per route pattern, refusals included, the
/// sign-in among the audited events, and the gauges read at the scrape.
#[tokio::test]
async fn the_metrics_count_requests_by_route_and_sign_ins_by_outcome() {
    // One recorder per process (the test binary's other tests record into it too: counts are at
    // least, never exactly).
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    let handle = HANDLE
        .get_or_init(|| super::metrics::install().expect("the only recorder"))
        .clone();
    let (app, services) = portal_with(&test_config()).await;
    let session = sign_in(&app, "dr.martin").await;
    let wrong = post(
        "/connexion",
        &[("identifiant", "dr.martin"), ("mot_de_passe", "faux")],
        None,
    );
    app.clone().oneshot(wrong).await.unwrap();
    for path in [
        "/admin/comptes/00000000-0000-0000-0000-000000000000",
        "/admin/comptes/11111111-1111-1111-1111-111111111111",
        "/n-importe-quoi",
    ] {
        app.clone()
            .oneshot(get(path, Some(&session)))
            .await
            .unwrap();
    }

    let metrics = super::metrics::router(handle, services);
    let response = metrics
        .oneshot(get(super::metrics::METRICS, None))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = body(response).await;
    for expected in [
        r#"passerelle_http_requests_total{method="POST",route="/connexion",status="30"#,
        r#"passerelle_http_request_duration_seconds_bucket{method="POST",route="/connexion",le="0.5"}"#,
        // Both accounts' pages under their pattern, the unknown address as `other`.
        r#"route="/admin/comptes/{id}""#,
        r#"passerelle_http_requests_total{method="GET",route="other",status="404"}"#,
        r#"passerelle_audit_events_total{action="auth.sign_in",outcome="success"}"#,
        r#"passerelle_audit_events_total{action="auth.password.sign_in",outcome="failure"}"#,
        r#"passerelle_db_pool_connections{state="idle"}"#,
        "passerelle_argon2_waiting 0",
        "passerelle_mail_outbox_pending ",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    assert!(!text.contains("n-importe-quoi"), "{text}");
}
