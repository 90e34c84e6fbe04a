#![recursion_limit = "256"]
//! Passerelle's pages. Every page is rendered on the server (complete HTML, forms that post without
//! JavaScript) and then hydrated in the browser for comfort.

pub mod admin_api;
pub mod api;
pub mod components;
pub mod demo_api;
pub mod error;
pub mod i18n;
pub mod import_api;
pub mod info;
pub mod pages;
pub mod paths;
#[cfg(feature = "ssr")]
pub mod state;
pub mod tiqr_api;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::i18n::Lang;

/// The HTML document around the app (server only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = current_lang();
    #[cfg(feature = "ssr")]
    content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang=lang.code()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                // No icon file to fetch (and no 404 on every page).
                <link rel="icon" href="data:," />
                // Its name carries its hash when the build made one (see startup::leptos_options).
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// A strict Content-Security-Policy for pages: scripts only from the site and the inline
/// hydration scripts carrying this response's nonce; WebAssembly compilation allowed.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    // The card box talks to the local agent: its origin is the only other one the page may reach.
    let agent = state::services()
        .and_then(|s| s.card.as_ref().map(|c| format!(" {}", c.agent_origin)))
        .unwrap_or_default();
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'{agent}; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The language of this page: from the request on the server, from `<html lang>` in the browser
/// (the server wrote it), so that hydration renders the same text.
pub fn current_lang() -> Lang {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<state::RequestContext>().map(|c| c.lang))
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        leptos::prelude::document()
            .document_element()
            .and_then(|e| e.get_attribute("lang"))
            .and_then(|code| Lang::from_code(&code))
            .unwrap_or_default()
    }
}

/// The messages of the page's language.
pub fn t() -> &'static i18n::Messages {
    use_context::<Lang>().unwrap_or_default().messages()
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let lang = current_lang();
    provide_context(lang);

    // Marks the document once the WebAssembly has taken over, so that scripts (and tests) can tell
    // a hydrated page from the server-rendered one; also reveals the controls that need it.
    let hydrated = RwSignal::new(false);
    provide_context(components::Hydrated(hydrated.read_only()));
    Effect::new(move |_| {
        hydrated.set(true);
        #[cfg(feature = "hydrate")]
        if let Some(root) = leptos::prelude::document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Title formatter=|title: String| {
            if title.is_empty() { "Passerelle".to_string() } else { format!("{title} – Passerelle") }
        } />
        <Router>
            <components::Layout>
                <Routes fallback=|| view! { <pages::not_found::NotFound /> }>
                    <Route path=path!("/connexion") view=pages::sign_in::SignIn ssr=SsrMode::Async />
                    <Route path=path!("/annuaire") view=pages::directory::Directory ssr=SsrMode::Async />
                    <Route path=path!("/admin/annuaire") view=pages::admin::directory::DirectoryLoads ssr=SsrMode::Async />
                    <Route path=path!("/admin/comptes-inactifs") view=pages::admin::inactive::Inactive ssr=SsrMode::Async />
                    <Route path=path!("/admin/actualites") view=pages::admin::news::NewsList ssr=SsrMode::Async />
                    <Route path=path!("/admin/actualites/:id") view=pages::admin::news::NewsItem ssr=SsrMode::Async />
                    <Route path=path!("/connexion/carte/lier") view=pages::linking::Linking ssr=SsrMode::Async />
                    <Route path=path!("/connexion/lier") view=pages::linking::Linking ssr=SsrMode::Async />
                    <Route path=path!("/connexion/psc/erreur") view=pages::psc_error::PscError ssr=SsrMode::Async />
                    <Route path=path!("/admin") view=pages::admin::users::Users ssr=SsrMode::Async />
                    <Route path=path!("/admin/comptes") view=pages::admin::users::Users ssr=SsrMode::Async />
                    <Route path=path!("/admin/comptes/nouveau") view=pages::admin::new_user::NewUser ssr=SsrMode::Async />
                    <Route path=path!("/admin/comptes/:id") view=pages::admin::user::User ssr=SsrMode::Async />
                    <Route path=path!("/admin/selection/:id") view=pages::admin::bulk::BulkJob ssr=SsrMode::Async />
                    <Route path=path!("/admin/etablissements") view=pages::admin::establishments::Establishments ssr=SsrMode::Async />
                    <Route path=path!("/admin/etablissements/:finess") view=pages::admin::establishments::Establishment ssr=SsrMode::Async />
                    <Route path=path!("/admin/import") view=pages::admin::import::Imports ssr=SsrMode::Async />
                    <Route path=path!("/admin/import/:id") view=pages::admin::import::ImportUpload ssr=SsrMode::Async />
                    <Route path=path!("/admin/journal") view=pages::admin::audit::Audit ssr=SsrMode::Async />
                    <Route path=path!("/admin/journal/:id") view=pages::admin::audit::AuditRow ssr=SsrMode::Async />
                    <Route path=path!("/admin/confirmer") view=pages::admin::reauth::Reauth ssr=SsrMode::Async />
                    <Route path=path!("/connexion/tiqr") view=pages::tiqr_sign_in::TiqrSignIn ssr=SsrMode::Async />
                    <Route path=path!("/compte/tiqr") view=pages::my_tiqr::MyTiqr ssr=SsrMode::Async />
                    <Route path=path!("/compte/moyens-de-connexion") view=pages::sign_in_means::SignInMeans ssr=SsrMode::Async />
                    <Route path=path!("/compte/connexions") view=pages::my_activity::MyActivity ssr=SsrMode::Async />
                    <Route path=path!("/connexion/pas-moi") view=pages::not_me::NotMe ssr=SsrMode::Async />
                    <Route path=path!("/connexion/reveil") view=pages::wake::Wake ssr=SsrMode::Async />
                    <Route path=path!("/compte/renforcer") view=pages::strengthen::Strengthen ssr=SsrMode::Async />
                    <Route path=path!("/demo/courriels") view=pages::demo_mails::DemoMails ssr=SsrMode::Async />
                    <Route path=path!("/demo/courriels/:id") view=pages::demo_mails::DemoMail ssr=SsrMode::Async />
                    <Route path=path!("/connexion/code") view=pages::email_code::EmailCode ssr=SsrMode::Async />
                    <Route path=path!("/mot-de-passe-oublie") view=pages::forgot_password::ForgotPassword ssr=SsrMode::Async />
                    <Route path=path!("/mot-de-passe") view=pages::new_password::NewPassword ssr=SsrMode::Async />
                    <Route path=path!("/etablissements") view=pages::chooser::Chooser ssr=SsrMode::Async />
                    <Route
                        path=path!("/etablissements/:finess")
                        view=pages::dashboard::Dashboard
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("/aucun-etablissement")
                        view=pages::no_establishment::NoEstablishment
                        ssr=SsrMode::Async
                    />
                </Routes>
            </components::Layout>
        </Router>
    }
}
