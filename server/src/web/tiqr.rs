//! TIQR at the HTTP edge: the public endpoints the phone apps call (metadata, enrollment, login,
//! logo), and the browser's side (sign-in poll, offline code, the holder's and the desk's
//! enrollments). The protocol's rules are in `domain::auth::tiqr`.

use app::error::ErrorCode;
use app::info::Info;
use app::paths;
use app::state::{AppState, RequestContext, TiqrSetup};
use app::tiqr_api::TIQR_ENROLL_COOKIE;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use domain::auth::card::Browser;
use domain::auth::tiqr::enrollment::{self, EnrollmentStatus};
use domain::auth::tiqr::sign_in::{self, Poll};
use domain::auth::tiqr::{self, Reply};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::cookies;
use super::forms::{TokenOnlyForm, signed_in_cookies, signed_in_response};
use super::posted::{Posted, back_with_error};

super::posted::token_in_csrf_field!(OfflineForm, EnrollForm, DeskEnrollForm);

const LOGO: &[u8] = include_bytes!("../../assets/tiqr-logo.png");

/// A plain-text answer for the apps: exactly the protocol's word, no newline.
fn plain(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn setup(state: &AppState) -> Option<&TiqrSetup> {
    state.services.tiqr.as_ref()
}

/// How long a new phone's sign-ins leave the console asking for the password.
fn new_phone(state: &AppState) -> time::Duration {
    setup(state).map_or(tiqr::NEW_PHONE_UNTRUSTED, |t| t.new_phone)
}

#[derive(Debug, Deserialize)]
pub struct KeyQuery {
    #[serde(default)]
    key: String,
}

/// A failure the app can only show as an error: 503 while the database is unavailable (the app
/// may try again), 500 otherwise; logged with the request's reference either way.
fn failed(e: domain::Error) -> Response {
    match ErrorCode::from(e) {
        ErrorCode::Unavailable { .. } => plain(StatusCode::SERVICE_UNAVAILABLE, "ERROR"),
        _ => plain(StatusCode::INTERNAL_SERVER_ERROR, "ERROR"),
    }
}

/// `GET /tiqr/metadata?key=…`: what the app learns when it scans the enrollment QR (once).
pub async fn metadata(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Query(q): Query<KeyQuery>,
) -> Response {
    let Some(tiqr) = setup(&state) else {
        return plain(StatusCode::NOT_FOUND, "INVALID_REQUEST");
    };
    match enrollment::metadata(&state.services.portal, &tiqr.service, &q.key, ctx.now).await {
        Ok(value) => ([(header::CACHE_CONTROL, "no-store")], Json(value)).into_response(),
        Err(domain::Error::TiqrRequest(_) | domain::Error::TiqrExpired) => {
            plain(StatusCode::NOT_FOUND, "INVALID_REQUEST")
        }
        Err(e) => failed(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct OtpQuery {
    #[serde(default)]
    otp: String,
}

/// `POST /tiqr/enrol?otp=…`: the app's secret. The body is read whatever its Content-Type (iOS
/// sends none); the answer is exactly `OK`.
pub async fn enrol(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Query(q): Query<OtpQuery>,
    body: Bytes,
) -> Response {
    let Some(tiqr) = setup(&state) else {
        return plain(StatusCode::NOT_FOUND, "INVALID_REQUEST");
    };
    let form = match tiqr::parse_app_form(&body) {
        Ok(form) => form,
        Err(_) => return plain(StatusCode::BAD_REQUEST, "INVALID_REQUEST"),
    };
    match enrollment::finish_enrollment(
        &state.services.portal,
        &tiqr.secrets,
        &q.otp,
        &form,
        ctx.call(),
    )
    .await
    {
        Ok(reply) => plain(StatusCode::OK, reply.as_str()),
        Err(domain::Error::TiqrRequest(_) | domain::Error::TiqrExpired) => {
            plain(StatusCode::BAD_REQUEST, "INVALID_REQUEST")
        }
        Err(e) => failed(e),
    }
}

/// `POST /tiqr/auth`: the app's response to a sign-in QR; the reply is one of the protocol's
/// words (`OK`, `INVALID_RESPONSE:n`, `ACCOUNT_BLOCKED`, `INVALID_CHALLENGE`…).
pub async fn login(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    body: Bytes,
) -> Response {
    let Some(tiqr) = setup(&state) else {
        return plain(StatusCode::NOT_FOUND, Reply::InvalidRequest.as_str());
    };
    let Ok(form) = tiqr::parse_app_form(&body) else {
        return plain(StatusCode::OK, Reply::InvalidRequest.as_str());
    };
    match sign_in::app_login(&state.services.portal, &tiqr.secrets, &form, ctx.call()).await {
        Ok(reply) => plain(StatusCode::OK, reply.as_str()),
        Err(e) => failed(e),
    }
}

/// `GET /tiqr/logo.png`: iOS downloads it during enrollment and gives up without it.
pub async fn logo() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        LOGO,
    )
        .into_response()
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// `POST /connexion/tiqr/etat`: has the app answered this browser's QR? Hydrated pages ask in
/// JSON every two seconds; without JavaScript the "Continuer" button posts here.
pub async fn poll(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    jar: CookieJar,
    Posted(_): Posted<TokenOnlyForm>,
) -> Response {
    let json = wants_json(&headers);
    let previous = cookies::session_token(&jar);
    let result = sign_in::poll(
        &state.services.portal,
        Browser::of_secret(&ctx.csrf_token),
        previous.as_ref(),
        new_phone(&state),
        ctx.call(),
    )
    .await;
    match (result, json) {
        (Ok(Poll::SignedIn(signed_in)), true) => {
            let jar = signed_in_cookies(&state, jar, &signed_in);
            (
                jar,
                Json(json!({ "etat": "connecte", "suite": paths::landing(&signed_in.landing) })),
            )
                .into_response()
        }
        (Ok(Poll::SignedIn(signed_in)), false) => signed_in_response(&state, jar, &signed_in),
        (Ok(Poll::Pending), true) => Json(json!({ "etat": "attente" })).into_response(),
        (Ok(Poll::Expired), true) => Json(json!({ "etat": "expire" })).into_response(),
        (Ok(Poll::Pending), false) => {
            Redirect::to(&Info::TiqrNotYet.on(paths::TIQR_SIGN_IN)).into_response()
        }
        (Ok(Poll::Expired), false) => back_with_error(paths::TIQR_SIGN_IN, &ErrorCode::TiqrExpired),
        (Err(e), true) => {
            let code = ErrorCode::from(e);
            (
                StatusCode::from_u16(code.http_status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                Json(json!({ "etat": code.slug() })),
            )
                .into_response()
        }
        (Err(e), false) => back_with_error(paths::TIQR_SIGN_IN, &ErrorCode::from(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct OfflineForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    identite: String,
    #[serde(default)]
    code: String,
}

/// `POST /connexion/tiqr/code`: the 6-digit response the app shows when the phone is offline.
pub async fn offline_code(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    jar: CookieJar,
    Posted(form): Posted<OfflineForm>,
) -> Response {
    const PAGE: &str = paths::TIQR_SIGN_IN;
    let Some(tiqr) = setup(&state) else {
        return back_with_error(PAGE, &ErrorCode::NotFound);
    };
    let previous = cookies::session_token(&jar);
    match sign_in::offline_code(
        &state.services.portal,
        &tiqr.secrets,
        Browser::of_secret(&ctx.csrf_token),
        Some(form.identite.as_str()),
        &form.code,
        previous.as_ref(),
        new_phone(&state),
        ctx.call(),
    )
    .await
    {
        Ok(signed_in) => signed_in_response(&state, jar, &signed_in),
        Err(e) => back_with_error(PAGE, &ErrorCode::from(e)),
    }
}

/// The enrollment QR goes to the page in a short-lived cookie of this browser only.
fn with_enrollment_qr(state: &AppState, jar: CookieJar, qr: &str, to: &str) -> Response {
    let secure = state.services.settings.secure_cookies;
    let minutes = tiqr::METADATA_LIFETIME.whole_minutes();
    (
        jar.add(cookies::short_lived(
            TIQR_ENROLL_COOKIE,
            qr,
            minutes,
            secure,
        )),
        Redirect::to(to),
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct EnrollForm {
    #[serde(default)]
    csrf: String,
    /// Asked unless the session's last strong authentication is a few minutes old.
    #[serde(default)]
    mot_de_passe: String,
}

/// `POST /compte/tiqr/inscrire`: the holder adds a phone, with their password again unless they
/// signed in (or confirmed it) a few minutes ago.
pub async fn start_enrollment(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    jar: CookieJar,
    Posted(form): Posted<EnrollForm>,
) -> Response {
    const PAGE: &str = paths::MY_TIQR;
    let (Some(tiqr), Some(session)) = (setup(&state), ctx.viewer.session()) else {
        return back_with_error(paths::SIGN_IN, &ErrorCode::NotSignedIn);
    };
    match enrollment::start_enrollment(
        &state.services.portal,
        &tiqr.service,
        session,
        &form.mot_de_passe,
        Browser::of_secret(&ctx.csrf_token),
        ctx.call(),
    )
    .await
    {
        Ok(start) => with_enrollment_qr(&state, jar, &start.qr, PAGE),
        // The page now shows the password field (the session is not recent any more).
        Err(domain::Error::ReauthenticationRequired) => {
            Redirect::to(&Info::PasswordNeededForPhone.on(paths::MY_TIQR)).into_response()
        }
        Err(e) => back_with_error(PAGE, &ErrorCode::from(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct StatusQuery {
    #[serde(default)]
    compte: String,
    /// The status the page is drawing: it reloads when a step it must draw is reached.
    #[serde(default)]
    vu: String,
}

/// `GET /compte/tiqr/etat[?compte=…]`: the enrollment this browser started (for its own account,
/// or at the desk for `compte`) — the status is bound to this browser's start, so it tells nothing
/// about anyone else's.
pub async fn enrollment_status(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Query(q): Query<StatusQuery>,
) -> Response {
    let Some(session) = ctx.viewer.session() else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "etat": "non-connecte" })),
        )
            .into_response();
    };
    let (user_id, page, done) = match Uuid::parse_str(q.compte.trim()) {
        Ok(id) => (
            id,
            paths::user(id),
            Info::TiqrDeskEnrolled.on(&paths::user(id)),
        ),
        Err(_) => (
            session.user_id,
            paths::MY_TIQR.to_string(),
            Info::PhoneEnrolled.on(paths::MY_TIQR),
        ),
    };
    match enrollment::enrollment_status(
        &state.services.portal,
        Browser::of_secret(&ctx.csrf_token),
        user_id,
        ctx.now,
    )
    .await
    {
        Ok(EnrollmentStatus::Finalized) => {
            Json(json!({ "etat": "finalized", "suite": done })).into_response()
        }
        // The phone posted its secret (the page then draws the confirmation QR), or it was never
        // confirmed (the page says so): the page reloads once to draw it.
        Ok(s @ (EnrollmentStatus::Processed | EnrollmentStatus::Unconfirmed)) => {
            let etat = s.as_str();
            if q.vu == etat {
                Json(json!({ "etat": etat })).into_response()
            } else {
                Json(json!({ "etat": etat, "suite": page })).into_response()
            }
        }
        Ok(s) => Json(json!({ "etat": s.as_str() })).into_response(),
        Err(e) => {
            let code = ErrorCode::from(e);
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "etat": code.slug() })),
            )
                .into_response()
        }
    }
}

/// `POST /compte/tiqr/{id}/revoquer`: the holder removes a phone (lost, replaced).
pub async fn revoke_own(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    Posted(_): Posted<TokenOnlyForm>,
) -> Response {
    const PAGE: &str = paths::MY_TIQR;
    let Some(session) = ctx.viewer.session() else {
        return back_with_error(paths::SIGN_IN, &ErrorCode::NotSignedIn);
    };
    let Ok(id) = Uuid::parse_str(&id) else {
        return back_with_error(PAGE, &ErrorCode::NotFound);
    };
    match enrollment::revoke_own(&state.services.portal, session.user_id, id, ctx.call()).await {
        Ok(()) => Redirect::to(&Info::PhoneRevoked.on(paths::MY_TIQR)).into_response(),
        Err(e) => back_with_error(PAGE, &ErrorCode::from(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct DeskEnrollForm {
    #[serde(default)]
    csrf: String,
    /// The code the holder received by e-mail and read out.
    #[serde(default)]
    code: String,
}

/// `POST /admin/comptes/{id}/tiqr-code`: the desk e-mails the holder the code that the holder
/// reads out (the holder's proof of presence and consent).
pub async fn desk_code(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    Posted(_): Posted<TokenOnlyForm>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return back_with_error(paths::USERS, &ErrorCode::NotFound);
    };
    let page = paths::user(id);
    if setup(&state).is_none() {
        return back_with_error(&page, &ErrorCode::NotFound);
    }
    let result = async {
        let actor = app::admin_api::server::actor(&ctx, &state.services).await?;
        Ok::<_, ErrorCode>(
            domain::admin::tiqr::send_holder_code(&state.services.portal, &actor, id, ctx.call())
                .await?,
        )
    }
    .await;
    match result {
        Ok(_) => Redirect::to(&Info::TiqrDeskCodeSent.on(&page)).into_response(),
        Err(code) => super::admin::failed(&page, code),
    }
}

/// `POST /admin/comptes/{id}/tiqr-inscrire`: with the code the holder read out, the desk starts an
/// enrollment for the holder at the desk; the QR shows on the account's page.
pub async fn desk_enrollment(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    jar: CookieJar,
    Path(id): Path<String>,
    Posted(form): Posted<DeskEnrollForm>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return back_with_error(paths::USERS, &ErrorCode::NotFound);
    };
    let page = paths::user(id);
    let Some(tiqr) = setup(&state) else {
        return back_with_error(&page, &ErrorCode::NotFound);
    };
    let result = async {
        let actor = app::admin_api::server::actor(&ctx, &state.services).await?;
        Ok::<_, ErrorCode>(
            domain::admin::tiqr::start_for_user(
                &state.services.portal,
                &tiqr.service,
                &actor,
                id,
                &form.code,
                Browser::of_secret(&ctx.csrf_token),
                ctx.call(),
            )
            .await?,
        )
    }
    .await;
    match result {
        Ok(start) => with_enrollment_qr(&state, jar, &start.qr, &Info::TiqrDeskEnrolment.on(&page)),
        Err(code) => super::admin::failed(&page, code),
    }
}
