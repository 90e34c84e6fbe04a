//! "Connexion": the sign-in modes the deployment offers (CPx card, Pro Santé Connect, passkeys, the
//! TIQR app, username and password), and how to get an account, with each region's agency and support desk.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{SignInData, get_sign_in, get_sign_in_news};
use crate::components::{
    ErrorMessage, NewsItems, Notice, QueryError, SupportContact, use_hydrated,
};
use crate::info::Info;
use crate::pages::card_sign_in::CardSignIn;
use crate::pages::passkey::PasskeySignIn;
use crate::paths;
use crate::t;

#[component]
pub fn SignIn() -> impl IntoView {
    let m = t();
    let query = use_query_map();
    let notice = move || query.read().get("info").and_then(|s| Info::from_slug(&s));
    let info = move || match notice() {
        Some(Info::SignedOut | Info::SignedOutOfPsc) => Some(m.sign_in.signed_out),
        Some(Info::SessionExpired) => Some(m.sign_in.session_expired),
        Some(Info::AccountActivated) => Some(m.account.account_activated),
        Some(Info::PasswordChanged) => Some(m.account.password_changed),
        _ => None,
    };
    let data = Resource::new(|| (), |_| get_sign_in());
    view! {
        <Title text=m.sign_in.sign_in_title />
        <h1>{m.sign_in.sign_in_title}</h1>
        {move || info().map(|text| view! { <Notice text /> })}
        {move || (notice() == Some(Info::SignedOutOfPsc)).then(|| view! {
            <p class="notice" id="fin-psc">
                {m.psc.psc_session_may_remain}" "
                <a href=paths::PSC_END_SESSION rel="external">{m.psc.psc_sign_out_too}</a>
            </p>
        })}
        <QueryError />
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <SignInForms data=d /> }.into_any(),
                    Err(code) => view! { <ErrorMessage code page_error=true /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SignInForms(data: SignInData) -> impl IntoView {
    let m = t();
    let hydrated = use_hydrated();
    let show_password = RwSignal::new(false);
    let submitting = RwSignal::new(false);
    let query = use_query_map();
    // The region asked for, else the one chosen at the last visit (remembered in a cookie by the
    // news' server function).
    let initial_region = query
        .read_untracked()
        .get("region")
        .unwrap_or_else(|| data.remembered_region.clone());
    let region = RwSignal::new(initial_region);
    let news = Resource::new(move || region.get(), get_sign_in_news);
    let regions = StoredValue::new(data.regions.clone());
    let selected = move || {
        let code = region.get();
        regions.with_value(|rs| rs.iter().find(|r| r.code == code).cloned())
    };

    let card = data.card.clone();
    let csrf = data.csrf.clone();
    let passkey_csrf = data.csrf.clone();
    // The modes in the order of the regional portals Passerelle follows (ViaTrajectoire,
    // ESEA/Nexus): the card first, Pro Santé Connect, the TIQR app, then username and password;
    // passkeys, which those portals lack, beside the other phishing-resistant means, before TIQR.
    // Each section is a landmark with its heading, so a screen reader's list of headings is that
    // order too; the regional box sits beside them (below on a narrow screen).
    view! {
        <div class="sign-in-layout">
        <div class="sign-in-modes">
            {card.map(|mode| view! { <CardSignIn mode csrf /> })}
            {data.psc.then(|| view! {
                <section class="card" aria-labelledby="mode-psc">
                    <h2 id="mode-psc">"Pro Santé Connect"</h2>
                    <p>{m.psc.psc_hint}</p>
                    // A plain link to the server route, which redirects to PSC: works without
                    // JavaScript. The look follows the ANS's button (its blue, its wording); its
                    // image is not shipped here, the kit being distributed by the ANS only.
                    <a href=paths::PSC_START rel="external" class="psc-button" id="psc-sign-in">
                        {m.psc.psc_button}
                    </a>
                </section>
            })}
            {data.passkeys.then(|| view! { <PasskeySignIn csrf=passkey_csrf /> })}
            <section class="card" aria-labelledby="mode-tiqr-titre">
                <h2 id="mode-tiqr-titre">{m.sign_in.mode_tiqr}</h2>
                <p>{m.sign_in.mode_tiqr_hint}</p>
                <a href=paths::TIQR_SIGN_IN class="button-secondary" id="mode-tiqr">{m.sign_in.mode_tiqr_button}</a>
            </section>
            <section class="card" aria-labelledby="mode-password">
                <h2 id="mode-password">{m.sign_in.mode_password}</h2>
                {data.password_mode.then(|| view! {
                    <form
                        method="post"
                        action=paths::SIGN_IN
                        class="form"
                        on:submit=move |_| submitting.set(true)
                    >
                        <input type="hidden" name="csrf" value=data.csrf.clone() />
                        <div class="field">
                            <label for="identifiant">{m.sign_in.username}</label>
                            <input
                                id="identifiant"
                                name="identifiant"
                                type="text"
                                autocomplete="username"
                                autocapitalize="none"
                                spellcheck="false"
                                required
                                maxlength="64"
                                aria-describedby="identifiant-aide"
                            />
                            <p class="hint" id="identifiant-aide">{m.sign_in.username_hint}</p>
                        </div>
                        <div class="field">
                            <label for="mot_de_passe">{m.sign_in.password}</label>
                            <div class="password-row">
                                <input
                                    id="mot_de_passe"
                                    name="mot_de_passe"
                                    type=move || if show_password.get() { "text" } else { "password" }
                                    autocomplete="current-password"
                                    required
                                    maxlength="256"
                                />
                                <button
                                    type="button"
                                    class="button-secondary"
                                    id="afficher-mot-de-passe"
                                    hidden=move || !hydrated.get()
                                    aria-controls="mot_de_passe"
                                    aria-label=move || if show_password.get() { m.sign_in.hide_password } else { m.sign_in.show_password }
                                    on:click=move |_| show_password.update(|s| *s = !*s)
                                >
                                    {move || if show_password.get() { m.sign_in.hide } else { m.sign_in.show }}
                                </button>
                            </div>
                        </div>
                        <button type="submit" class="button-primary" disabled=move || submitting.get()>
                            {move || if submitting.get() { m.sign_in.signing_in } else { m.sign_in.sign_in_button }}
                        </button>
                        <p class="forgot"><a href=paths::FORGOT_PASSWORD rel="external">{m.account.forgot_password}</a></p>
                    </form>
                })}
            </section>
        </div>

        // The regional side of the page. The directory and the regional news of the portals
        // Passerelle follows ("Annuaire", "Actualités") are to take their place here.
        <aside class="sign-in-aside" aria-labelledby="obtenir-compte">
            <p class="directory-link"><a href=paths::DIRECTORY>{m.directory.sign_in_link}</a></p>
            <section class="card">
                <h2 id="obtenir-compte">{m.sign_in.how_to_get_account}</h2>
                <p>{m.sign_in.how_to_get_account_text}</p>
                // Without JavaScript this form reloads the page with ?region=…; hydrated, the
                // choice shows at once.
                <form method="get" action=paths::SIGN_IN class="form region-form">
                    <label for="region">{m.sign_in.your_region}</label>
                    <div class="inline-row">
                        <select
                            id="region"
                            name="region"
                            on:change=move |ev| region.set(event_target_value(&ev))
                        >
                            <option value="" selected=move || region.get().is_empty()>{m.sign_in.choose_region}</option>
                            {data
                                .regions
                                .iter()
                                .map(|r| {
                                    let code = r.code.clone();
                                    let is_selected = {
                                        let code = code.clone();
                                        move || region.get() == code
                                    };
                                    view! { <option value=code selected=is_selected>{r.name.clone()}</option> }
                                })
                                .collect_view()}
                        </select>
                        <button type="submit" class="button-secondary" hidden=move || hydrated.get()>
                            {m.sign_in.show_region}
                        </button>
                    </div>
                </form>
                {move || selected().map(|r| view! {
                    <p class="agency">
                        <a href=r.agency_url.clone() rel="noopener" target="_blank">{m.sign_in.agency_site} " : " {r.agency_name.clone()}</a>
                    </p>
                    <SupportContact region=r />
                })}
            </section>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let feed = paths::news_feed(&region.get_untracked());
                    let has_region = !region.get_untracked().is_empty();
                    news.await.ok().map(|items| view! {
                        <div class="card">
                            <NewsItems items heading_id="actualites" />
                            {has_region.then(|| view! { <p class="feed"><a href=feed rel="alternate" type="application/atom+xml">{m.news.feed}</a></p> })}
                        </div>
                    })
                })}
            </Suspense>
        </aside>
        </div>
    }
}
