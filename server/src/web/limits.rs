//! Per-address limits on the anonymous endpoints — the sign-in forms, the card edge, the TIQR
//! app's endpoints and sign-in QR, Pro Santé Connect's start, callback and back-channel, the
//! reset requests — and the request timeout. A flood from one address is answered 429 from
//! memory, before the session is loaded and before any query.
//!
//! These counters live in each instance's memory (the `governor` crate's GCRA), not in Postgres
//! like `domain::throttle`: they protect the instance's own pool and CPU, and counting in the
//! database would spend, on every flooded request, the very connections and writes they are there
//! to save. With N instances an address gets N times the rate, which still bounds what each
//! instance takes. The limits that must hold across instances — password, code and TIQR guesses —
//! stay in `domain::throttle`. The rates are far above what a person does, and leave room for a
//! hospital's desktops behind one address.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use app::i18n::Lang;
use app::paths;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use domain::audit::Client;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::cookies;
use super::request::client_ip;

/// How long a request may take, body included (a slow sender holds its buffers no longer).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The endpoints that share one budget per address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Username and password, e-mail code, linking forms, TIQR offline code.
    SignIn,
    /// The card's challenge, agent proof and TLS hand-over.
    Card,
    /// The TIQR app's metadata, enrolment and answer.
    TiqrApp,
    /// A new TIQR sign-in QR (a row per request).
    TiqrQr,
    /// Pro Santé Connect's start, callback and back-channel logout.
    Psc,
    /// "Mot de passe oublié" and the password set from a link.
    Reset,
}

impl Class {
    const ALL: [Class; 6] = [
        Class::SignIn,
        Class::Card,
        Class::TiqrApp,
        Class::TiqrQr,
        Class::Psc,
        Class::Reset,
    ];

    /// Requests per second sustained, and the burst allowed on top.
    fn rate(self) -> (u32, u32) {
        match self {
            Class::SignIn | Class::Card | Class::TiqrApp | Class::Psc => (5, 30),
            Class::TiqrQr => (2, 20),
            Class::Reset => (1, 10),
        }
    }
}

/// The budget a request draws on, if it is one of the anonymous endpoints.
pub fn class_of(method: &Method, path: &str) -> Option<Class> {
    let post = method == Method::POST;
    match path {
        paths::SIGN_IN
        | paths::PSC_LINK
        | paths::CARD_LINK
        | paths::CODE
        | paths::CODE_SEND
        | paths::TIQR_OFFLINE_CODE
            if post =>
        {
            Some(Class::SignIn)
        }
        paths::CARD_SIGN_IN | paths::CARD_CHALLENGE if post => Some(Class::Card),
        paths::PASSKEY_SIGN_IN | paths::PASSKEY_CHALLENGE if post => Some(Class::SignIn),
        paths::CARD_TLS_START | paths::CARD_TLS_VERIFY | paths::CARD_TLS_RETURN => {
            Some(Class::Card)
        }
        paths::TIQR_METADATA | paths::TIQR_ENROL | paths::TIQR_AUTH => Some(Class::TiqrApp),
        // The page makes its QR while rendering; the API makes a new one.
        paths::TIQR_SIGN_IN | "/api/tiqr-sign-in" => Some(Class::TiqrQr),
        paths::PSC_START | paths::PSC_CALLBACK | paths::PSC_BACK_CHANNEL_LOGOUT => Some(Class::Psc),
        paths::FORGOT_PASSWORD | paths::NEW_PASSWORD | paths::NOT_ME if post => Some(Class::Reset),
        _ => None,
    }
}

/// One keyed limiter per class, keyed by the client's address (IPv6 per /64, as the sign-in
/// throttle counts it).
pub struct Limits {
    limiters: Vec<(Class, DefaultKeyedRateLimiter<String>)>,
    trusted_proxies: Vec<IpAddr>,
}

impl Limits {
    pub fn new(trusted_proxies: Vec<IpAddr>) -> Self {
        let limiters = Class::ALL
            .iter()
            .map(|&class| {
                let (per_second, burst) = class.rate();
                let quota =
                    Quota::per_second(NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN))
                        .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
                (class, RateLimiter::keyed(quota))
            })
            .collect();
        Self {
            limiters,
            trusted_proxies,
        }
    }

    /// `Err(wait)` when `key` has spent its budget for `class`.
    pub fn check(&self, class: Class, key: &str) -> Result<(), Duration> {
        let Some((_, limiter)) = self.limiters.iter().find(|(c, _)| *c == class) else {
            return Ok(());
        };
        limiter
            .check_key(&key.to_string())
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Forgets addresses whose budget is full again, so that the maps do not grow with every
    /// address ever seen.
    pub fn forget_idle(&self) {
        for (_, limiter) in &self.limiters {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// Runs `forget_idle` every minute.
pub fn spawn_cleanup(limits: Arc<Limits>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            limits.forget_idle();
        }
    });
}

/// The middleware: outermost, so that a refused request costs no session lookup.
pub async fn guard(
    State(limits): State<Arc<Limits>>,
    jar: CookieJar,
    request: Request,
    next: Next,
) -> Response {
    let Some(class) = class_of(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = client_ip(peer, request.headers(), &limits.trusted_proxies);
    let key = domain::refusals::source_of(&Client {
        ip: ip.map(|ip| ip.to_string()),
        user_agent: None,
        device: None,
    });
    match limits.check(class, &key) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let lang = jar
                .get(cookies::LANG)
                .and_then(|c| Lang::from_code(c.value()))
                .unwrap_or_default();
            let html = request
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"));
            too_many(lang, wait, html)
        }
    }
}

/// 429 in the visitor's language (French unless they chose English), with `Retry-After`.
fn too_many(lang: Lang, wait: Duration, html: bool) -> Response {
    let message = lang.messages().common.err_too_many_requests;
    let retry = wait.as_secs().max(1).to_string();
    let mut response = if html {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            super::bare::page(lang, message),
        )
            .into_response()
    } else {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            message,
        )
            .into_response()
    };
    if let Ok(v) = HeaderValue::from_str(&retry) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// The timeout layer's answer (an empty 408) in the visitor's language.
pub async fn explain_timeout(jar: CookieJar, request: Request, next: Next) -> Response {
    let lang = jar
        .get(cookies::LANG)
        .and_then(|c| Lang::from_code(c.value()))
        .unwrap_or_default();
    let response = next.run(request).await;
    if response.status() != StatusCode::REQUEST_TIMEOUT {
        return response;
    }
    (
        StatusCode::REQUEST_TIMEOUT,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CONNECTION, "close"),
        ],
        lang.messages().common.err_request_timeout,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_endpoints_have_a_budget_and_pages_do_not() {
        assert_eq!(class_of(&Method::POST, "/connexion"), Some(Class::SignIn));
        assert_eq!(class_of(&Method::GET, "/connexion"), None);
        assert_eq!(class_of(&Method::POST, "/tiqr/auth"), Some(Class::TiqrApp));
        assert_eq!(
            class_of(&Method::GET, "/api/tiqr-sign-in"),
            Some(Class::TiqrQr)
        );
        assert_eq!(
            class_of(&Method::POST, "/mot-de-passe-oublie"),
            Some(Class::Reset)
        );
        assert_eq!(class_of(&Method::GET, "/admin/comptes"), None);
    }

    #[test]
    fn an_address_is_refused_past_its_burst_and_another_is_not() {
        let limits = Limits::new(vec![]);
        for _ in 0..10 {
            assert!(limits.check(Class::Reset, "192.0.2.1").is_ok());
        }
        assert!(limits.check(Class::Reset, "192.0.2.1").is_err());
        assert!(limits.check(Class::Reset, "192.0.2.2").is_ok());
        assert!(limits.check(Class::SignIn, "192.0.2.1").is_ok());
    }
}
