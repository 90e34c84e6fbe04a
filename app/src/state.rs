//! Server-side state shared by the HTTP edge and the pages (SSR only).

use std::sync::Arc;

use axum::extract::FromRef;
use domain::audit::Client;
use domain::auth::Portal;
use domain::sessions::{Missing, Session};
use leptos::config::LeptosOptions;

use crate::i18n::Lang;

tokio::task_local! {
    /// The reference of the request being served (see [`RequestContext::request_id`]), for code
    /// that has no context at hand (an unexpected error deep in a server function).
    pub static REQUEST_ID: String;
}

/// Deployment settings the pages and handlers read.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `https://host[:port]` as users reach the portal; also the only accepted `Origin` for posts.
    pub public_origin: String,
    /// Set the `Secure` attribute on cookies (true whenever the public URL is https).
    pub secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The admin console asks for the password again after this long.
    pub admin_reauth: time::Duration,
    /// Sign-in modes offered on the sign-in page, in order.
    pub sign_in_modes: Vec<SignInMode>,
    /// The demo's e-mail folder, readable at `/demo/courriels` (only with demo data, the folder
    /// transport and a public URL that is not https).
    pub demo_mail_folder: Option<std::path::PathBuf>,
    /// The folder of the national directory's extractions the console loads from.
    pub directory_inbox: std::path::PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMode {
    Password,
    Card,
    /// Pro Santé Connect.
    Psc,
}

/// CPx card sign-in, when configured.
#[derive(Debug)]
pub struct CardService {
    pub trust: domain::auth::card::Trust,
    /// The local agent's URL, for the page (and the page's Content-Security-Policy).
    pub agent_url: String,
    pub agent_origin: String,
    /// The card host behind the TLS terminator, and the headers it forwards.
    pub tls: Option<TlsCardHost>,
}

#[derive(Debug)]
pub struct TlsCardHost {
    /// `https://carte.example` as configured, without a trailing slash.
    pub url: String,
    /// Its `host[:port]`, as requests for it carry in `Host`.
    pub host: String,
    /// The terminator's addresses: the only peers whose certificate header is believed.
    pub proxies: Vec<std::net::IpAddr>,
    pub certificate_header: String,
    pub verify_header: String,
}

/// TIQR sign-in, when enabled: what the apps are told, and the key of the secrets at rest.
pub struct TiqrSetup {
    pub service: domain::auth::tiqr::TiqrService,
    pub secrets: domain::auth::tiqr::SecretBox,
    /// Sign-ins with a phone confirmed less than this long ago do not satisfy the admin
    /// console's re-authentication (`[tiqr] new_phone_hours`).
    pub new_phone: time::Duration,
}

impl std::fmt::Debug for TiqrSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TiqrSetup")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct Services {
    pub portal: Portal,
    pub settings: Settings,
    pub card: Option<CardService>,
    pub tiqr: Option<TiqrSetup>,
    /// Passkeys: the relying party of the public origin (none when it is an IP address).
    pub passkeys: Option<domain::auth::passkey::PasskeyService>,
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub leptos: LeptosOptions,
    pub services: Arc<Services>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}

/// What the edge learnt about the request, put in its extensions by the middleware.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// This request's reference: in every log line it causes (its tracing span), in the
    /// `X-Request-Id` header, and shown on an error page so that the desk can find the logs.
    pub request_id: String,
    /// The one time of this request: every rule it runs sees the same instant.
    pub now: time::OffsetDateTime,
    pub client: Client,
    pub lang: Lang,
    /// The form token to embed in every form of this page.
    pub csrf_token: String,
    pub viewer: Viewer,
}

impl RequestContext {
    /// This request as the domain sees it: who asks, and the request's one instant.
    pub fn call(&self) -> domain::call::Call<'_> {
        domain::call::Call::new(&self.client, self.now)
    }
}

#[derive(Debug, Clone)]
pub enum Viewer {
    Anonymous,
    /// The browser presented a session that has just expired.
    Expired,
    SignedIn(Box<Session>),
    /// Signed in, but with a method the account's roles do not accept (the sign-in policy): this
    /// session reaches only the page explaining how to get a stronger means, and signing out.
    /// These methods would do.
    Weak(Box<Session>, Vec<model::sign_in::Method>),
}

impl Viewer {
    pub fn from_load(loaded: Result<Session, Missing>) -> Self {
        match loaded {
            Ok(s) => Viewer::SignedIn(Box::new(s)),
            Err(Missing::Expired) => Viewer::Expired,
            Err(Missing::Unknown) => Viewer::Anonymous,
        }
    }

    /// The session, when it is strong enough for its account: a weak one is none here, so that
    /// every page, action and query treats it as not signed in.
    pub fn session(&self) -> Option<&Session> {
        match self {
            Viewer::SignedIn(s) => Some(s),
            _ => None,
        }
    }

    /// A session too weak for its account's roles, and what would do.
    pub fn weak(&self) -> Option<(&Session, &[model::sign_in::Method])> {
        match self {
            Viewer::Weak(s, accepted) => Some((s, accepted)),
            _ => None,
        }
    }
}

/// The request context inside a server function or a server-rendered component.
pub async fn request_context() -> Option<RequestContext> {
    leptos_axum::extract::<axum::Extension<RequestContext>>()
        .await
        .ok()
        .map(|axum::Extension(c)| c)
}

pub fn services() -> Option<Arc<Services>> {
    leptos::prelude::use_context::<AppState>().map(|s| s.services)
}
