//! Pieces shared by the pages: the frame, messages, the support contact.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::api::{RegionView, get_shell};
use crate::error::ErrorCode;
use crate::paths;
use crate::{current_lang, t};

/// True once the page is hydrated: controls that need JavaScript are shown only then.
#[derive(Clone, Copy)]
pub struct Hydrated(pub ReadSignal<bool>);

pub fn use_hydrated() -> ReadSignal<bool> {
    use_context::<Hydrated>()
        .map(|h| h.0)
        .unwrap_or_else(|| signal(false).0)
}

/// Header (name, language switch, who is signed in, sign-out), main region, footer.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let m = t();
    let lang = current_lang();
    let location = use_location();
    let back = move || {
        let search = location.search.get();
        let path = location.pathname.get();
        let back = if search.is_empty() {
            path
        } else {
            format!("{path}?{search}")
        };
        paths::language(lang.other().code(), &back)
    };
    let shell = Resource::new(|| (), |_| get_shell());
    view! {
        <a class="skip-link" href="#contenu">{m.common.skip_to_content}</a>
        <header class="site-header">
            <div class="brand">
                <a href="/" rel="external" class="brand-name">{m.common.app_name}</a>
                <span class="brand-tagline">{m.common.tagline}</span>
            </div>
            <nav class="header-actions" aria-label=m.common.header_nav>
                // rel="external": a server route (it sets the language cookie), not a page the
                // client-side router may render.
                <a
                    class="lang-switch"
                    rel="external"
                    href=back
                    hreflang=lang.other().code()
                    lang=lang.other().code()
                    aria-label=m.common.switch_language_label
                >
                    {m.common.switch_language}
                </a>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match shell.await {
                            Ok(data) => {
                                let admin = data.admin;
                                data.user
                                    .map(|user| {
                                        view! {
                                            {admin.then(|| view! { <a href=paths::USERS class="console-link">{m.console.adm_nav_console}</a> })}
                                            <span class="whoami">
                                                {m.common.signed_in_as} " " {user.given_name} " " {user.family_name}
                                            </span>
                                            <form method="post" action=paths::SIGN_OUT class="inline-form">
                                                <input type="hidden" name="csrf" value=data.csrf />
                                                <button type="submit" class="button-link">{m.common.sign_out}</button>
                                            </form>
                                        }
                                    })
                                    .into_any()
                            }
                            Err(_) => ().into_any(),
                        }
                    })}
                </Suspense>
            </nav>
        </header>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                shell.await.ok().and_then(|d| d.transition_until).map(|until| view! {
                    <p class="alert alert-warning transition-banner" id="transition">{(m.policy.transition_banner)(&until)}</p>
                })
            })}
        </Suspense>
        <main id="contenu" tabindex="-1">{children()}</main>
        <footer class="site-footer">
            <p>{m.common.app_name} " — " {m.common.tagline}</p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    shell.await.ok().filter(|d| d.demo_mails).map(|_| view! {
                        <p><a href=paths::DEMO_MAILS id="lien-courriels-demo">{m.demo.mails_title}</a></p>
                    })
                })}
            </Suspense>
        </footer>
    }
}

/// An error announced to screen readers as soon as it appears.
#[component]
pub fn ErrorMessage(
    code: ErrorCode,
    /// The page's own data could not be shown: answer with the matching HTTP status, not 200.
    /// (Errors carried by `?erreur=` after a form post leave the status alone.)
    #[prop(optional)]
    page_error: bool,
) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if page_error
        && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = http::StatusCode::from_u16(code.http_status())
    {
        response.set_status(status);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = page_error;
    let text = code.message(current_lang());
    let signed_out = matches!(code, ErrorCode::NotSignedIn | ErrorCode::SessionExpired);
    view! {
        <div class="alert alert-error" role="alert">
            <p>{text}</p>
            {signed_out.then(|| view! { <p><a href=paths::SIGN_IN>{t().sign_in.back_to_sign_in}</a></p> })}
        </div>
    }
}

/// The error a form post sent back in `?erreur=` (Post/Redirect/Get), if any.
#[component]
pub fn QueryError() -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let error = move || {
        query
            .read()
            .get("erreur")
            .and_then(|s| ErrorCode::from_slug(&s))
    };
    move || error().map(|code| view! { <ErrorMessage code /> })
}

#[component]
pub fn Notice(text: &'static str) -> impl IntoView {
    view! {
        <div class="alert alert-info" role="status">
            <p>{text}</p>
        </div>
    }
}

/// News items (`section` with a heading of the given id): the important first, each with its
/// dates; the text is the domain's rendering of the Markdown subset (safe HTML).
#[component]
pub fn NewsItems(items: Vec<crate::api::NewsView>, heading_id: &'static str) -> impl IntoView {
    let m = t();
    view! {
        <section class="news" aria-labelledby=heading_id>
            <h2 id=heading_id>{m.news.title}</h2>
            {items.is_empty().then(|| view! { <p>{m.news.none}</p> })}
            {items.into_iter().map(|n| {
                let id = format!("actualite-{}", n.id);
                let labelled = id.clone();
                view! {
                    <article class=if n.important { "news-item news-important" } else { "news-item" } aria-labelledby=labelled>
                        <h3 id=id>
                            {n.important.then(|| view! { <span class="badge badge-warning">{m.news.important}</span> " " })}
                            {n.title.clone()}
                        </h3>
                        <p class="meta">
                            {(m.news.dates)(&n.starts_on, n.ends_on.as_deref())}
                            {n.national.then(|| view! { " · " {m.news.national} })}
                        </p>
                        <div class="news-text" inner_html=n.html.clone()></div>
                    </article>
                }
            }).collect_view()}
        </section>
    }
}

/// A region's support desk.
#[component]
pub fn SupportContact(region: RegionView) -> impl IntoView {
    let m = t();
    let mail = format!("mailto:{}", region.support_email);
    let tel = format!("tel:{}", region.support_phone.replace(' ', ""));
    view! {
        <section class="support" aria-labelledby="support-title">
            <h2 id="support-title">{m.sign_in.support_title} " — " {region.name.clone()}</h2>
            <dl>
                <dt>{m.sign_in.support_email}</dt>
                <dd><a href=mail>{region.support_email.clone()}</a></dd>
                <dt>{m.sign_in.support_phone}</dt>
                <dd><a href=tel>{region.support_phone.clone()}</a></dd>
                <dt>{m.sign_in.support_hours}</dt>
                <dd>{region.support_hours.clone()}</dd>
                <dt>{m.sign_in.agency_site}</dt>
                <dd><a href=region.agency_url.clone() rel="noopener" target="_blank">{region.agency_name.clone()}</a></dd>
            </dl>
        </section>
    }
}

/// Once hydrated, asks `url` every two seconds (a POST with the form token when `csrf` is given)
/// for `{"etat": …, "suite": …}`: shows the state through `state`, and goes to `suite` when the
/// server gives one. Without JavaScript the page offers its own button or link instead.
#[component]
pub fn Poller(
    url: String,
    #[prop(optional)] csrf: Option<String>,
    state: RwSignal<String>,
) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let (url, csrf) = (url.clone(), csrf.clone());
        leptos::task::spawn_local(async move {
            poll_loop(url, csrf, state).await;
        });
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (url, csrf, state);
}

#[cfg(feature = "hydrate")]
async fn poll_loop(url: String, csrf: Option<String>, state: RwSignal<String>) {
    use gloo_net::http::Request;
    #[derive(serde::Deserialize)]
    struct Answer {
        etat: String,
        suite: Option<String>,
    }
    // About ten minutes, then the page stops asking (a reload starts again).
    for _ in 0..300 {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 2000);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        let request = match &csrf {
            Some(token) => Request::post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .body(format!("csrf={token}")),
            None => Request::get(&url)
                .header("accept", "application/json")
                .build(),
        };
        let Ok(request) = request else { continue };
        let Ok(response) = request.send().await else {
            continue;
        };
        let Ok(answer) = response.json::<Answer>().await else {
            continue;
        };
        state.set(answer.etat);
        if let Some(next) = answer.suite {
            if let Some(w) = web_sys::window() {
                let _ = w.location().assign(&next);
            }
            return;
        }
    }
}

/// The page of a link e-mailed to the holder (`?jeton=`) whose effect needs their confirmation:
/// opening it changes nothing (mail scanners open links); its button posts the token to `action`,
/// which comes back with `?info=` `done` (then `done_text` is shown instead of the form) or
/// `?erreur=`.
#[component]
#[allow(clippy::too_many_arguments)]
pub fn LinkConfirmation(
    action: &'static str,
    title: &'static str,
    text: &'static str,
    button: &'static str,
    button_id: &'static str,
    /// Under the button: what to do if the holder did not ask for it.
    after: &'static str,
    done: crate::info::Info,
    done_text: &'static str,
) -> impl IntoView {
    use leptos_router::hooks::use_query_map;
    let m = t();
    let query = use_query_map();
    let is_done = move || {
        query
            .read()
            .get("info")
            .and_then(|s| crate::info::Info::from_slug(&s))
            == Some(done)
    };
    let token = move || query.read().get("jeton").unwrap_or_default();
    let shell = Resource::new(|| (), |_| get_shell());
    view! {
        <leptos_meta::Title text=title />
        <h1>{title}</h1>
        <QueryError />
        {move || if is_done() {
            view! { <Notice text=done_text /> }.into_any()
        } else {
            view! {
                <p>{text}</p>
                <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
                    {move || Suspend::new(async move {
                        let csrf = shell.await.map(|s| s.csrf).unwrap_or_default();
                        view! {
                            <form method="post" action=action class="form card">
                                <input type="hidden" name="csrf" value=csrf />
                                <input type="hidden" name="jeton" value=token />
                                <button type="submit" class="button-primary" id=button_id>{button}</button>
                            </form>
                        }
                    })}
                </Suspense>
                <p>{after}</p>
            }.into_any()
        }}
        <p><a href=paths::SIGN_IN rel="external">{m.sign_in.back_to_sign_in}</a></p>
    }
}
