//! "Mes moyens de connexion": what signs the holder in without the password — linked CPx cards,
//! Pro Santé Connect identities, TIQR phones, passkeys — each with its dates, each removable after
//! the password is typed again (a stolen session alone cannot remove one). Adding a phone is on
//! the TIQR page, adding a passkey here; cards and PSC identities are linked by signing in with
//! them once.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{CardView, PasskeyView, PhoneView, PscView, SignInMeansData, get_sign_in_means};
use crate::components::{ErrorMessage, Notice, QueryError};
use crate::info::Info;
use crate::pages::passkey::AddPasskey;
use crate::paths;
use crate::t;

#[component]
pub fn SignInMeans() -> impl IntoView {
    let m = t();
    let query = use_query_map();
    let info = move || match query.read().get("info").and_then(|s| Info::from_slug(&s)) {
        Some(Info::CardRemoved) => Some(m.means.means_card_removed),
        Some(Info::PscRemoved) => Some(m.means.means_psc_removed),
        Some(Info::PhoneRemoved) => Some(m.means.means_phone_removed),
        Some(Info::PasskeyAdded) => Some(m.passkey.added),
        Some(Info::PasskeyRemoved) => Some(m.passkey.removed),
        _ => None,
    };
    let data = Resource::new(|| (), |_| get_sign_in_means());
    view! {
        <Title text=m.means.means_title />
        <h1>{m.means.means_title}</h1>
        {move || info().map(|text| view! { <Notice text /> })}
        <QueryError />
        <p class="lead">{m.means.means_intro}</p>
        <p class="hint">{m.means.means_unknown_hint}</p>
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <MeansLists d /> }.into_any(),
                    Err(code) => view! { <ErrorMessage code page_error=true /> }.into_any(),
                }
            })}
        </Suspense>
        <p><a href="/" rel="external">{m.common.back_home}</a></p>
    }
}

#[component]
fn MeansLists(d: SignInMeansData) -> impl IntoView {
    let m = t();
    let csrf = d.csrf.clone();
    let (no_card, no_psc, no_phone) = (d.cards.is_empty(), d.psc.is_empty(), d.phones.is_empty());
    let no_passkey = d.passkeys.is_empty();
    let passkeys = {
        let csrf = csrf.clone();
        d.passkeys
            .into_iter()
            .map(move |passkey| view! { <Passkey passkey csrf=csrf.clone() /> })
            .collect_view()
    };
    let add_passkey = d.passkeys_enabled.then(|| {
        let csrf = csrf.clone();
        let password_needed = d.passkey_password_needed;
        view! { <AddPasskey csrf password_needed /> }
    });
    let cards = {
        let csrf = csrf.clone();
        d.cards
            .into_iter()
            .map(move |card| view! { <LinkedCard card csrf=csrf.clone() /> })
            .collect_view()
    };
    let psc = {
        let csrf = csrf.clone();
        d.psc
            .into_iter()
            .map(move |p| view! { <PscIdentity p csrf=csrf.clone() /> })
            .collect_view()
    };
    let phones = d
        .phones
        .into_iter()
        .map(move |phone| view! { <Phone phone csrf=csrf.clone() /> })
        .collect_view();
    view! {
        <section class="means" aria-labelledby="cartes">
            <h2 id="cartes">{m.means.means_cards}</h2>
            {no_card.then(|| view! { <p id="aucune-carte">{m.sign_in.cards_none}</p> })}
            {cards}
        </section>
        <section class="means" aria-labelledby="identites-psc">
            <h2 id="identites-psc">{m.means.means_psc}</h2>
            {no_psc.then(|| view! { <p id="aucune-identite-psc">{m.means.means_psc_none}</p> })}
            {psc}
        </section>
        <section class="means" aria-labelledby="telephones">
            <h2 id="telephones">{m.means.means_phones}</h2>
            {no_phone.then(|| view! { <p id="aucun-telephone">{m.means.means_phones_none}</p> })}
            {phones}
            {d.tiqr_enabled.then(|| view! {
                <p><a href=paths::MY_TIQR class="button-secondary" id="ajouter-telephone">{m.means.means_phone_add}</a></p>
            })}
        </section>
        <section class="means" aria-labelledby="cles-d-acces">
            <h2 id="cles-d-acces">{m.passkey.section_title}</h2>
            <p>{m.passkey.section_intro}</p>
            {no_passkey.then(|| view! { <p id="aucune-cle">{m.passkey.none}</p> })}
            {passkeys}
            {add_passkey}
        </section>
    }
}

/// The removal form every means shares: the password again, then "Retirer …".
fn removal_form(
    means: &'static str,
    id: String,
    csrf: String,
    confirm: &'static str,
    button: &'static str,
) -> impl IntoView {
    let password_id = format!("mot-de-passe-{means}-{id}");
    view! {
        <form method="post" action=paths::MY_MEANS_REMOVE class="form">
            <input type="hidden" name="csrf" value=csrf />
            <input type="hidden" name="moyen" value=means />
            <input type="hidden" name="id" value=id />
            <div class="field">
                <label for=password_id.clone()>{confirm}</label>
                <input id=password_id name="mot_de_passe" type="password" autocomplete="current-password" required maxlength="256" />
            </div>
            <button type="submit" class="button-secondary">{button}</button>
        </form>
    }
}

#[component]
fn LinkedCard(card: CardView, csrf: String) -> impl IntoView {
    let m = t();
    let heading = format!("carte-{}", card.serial);
    view! {
        <article class="card linked-card" aria-labelledby=heading.clone()>
            <h3 id=heading.clone()>{card.card_type.clone()} " — " {card.holder_name.clone()}</h3>
            <dl class="facts">
                <dt>{m.card.card_serial}</dt>
                <dd class="serial">{card.serial.clone()}</dd>
                <dt>{m.card.card_valid_until}</dt>
                <dd>{card.not_after.clone()}</dd>
                <dt>{m.card.card_linked_on}</dt>
                <dd>{card.linked_at.clone()} {card.renewal.then_some(" ")} {card.renewal.then_some(m.card.card_linked_by_renewal)}</dd>
                <dt>{m.card.card_last_used}</dt>
                <dd>{card.last_used_at.clone().unwrap_or_else(|| m.card.card_never.to_string())}</dd>
            </dl>
            {removal_form("carte", card.id, csrf, m.means.means_confirm_card, m.means.means_remove_card)}
        </article>
    }
}

#[component]
fn PscIdentity(p: PscView, csrf: String) -> impl IntoView {
    let m = t();
    let heading = format!("psc-{}", p.national_id);
    view! {
        <article class="card linked-psc" aria-labelledby=heading.clone()>
            <h3 id=heading.clone()>{p.name.clone()}</h3>
            <dl class="facts">
                <dt>{m.means.means_psc_national_id}</dt>
                <dd class="national-id">{p.national_id.clone()}</dd>
                <dt>{m.card.card_linked_on}</dt>
                <dd>{p.linked_at.clone()}</dd>
                <dt>{m.card.card_last_used}</dt>
                <dd>{p.last_used_at.clone().unwrap_or_else(|| m.card.card_never.to_string())}</dd>
            </dl>
            {removal_form("psc", p.national_id, csrf, m.means.means_confirm_psc, m.means.means_remove_psc)}
        </article>
    }
}

#[component]
fn Phone(phone: PhoneView, csrf: String) -> impl IntoView {
    let m = t();
    let heading = format!("telephone-{}", phone.id);
    view! {
        <article class="card linked-phone" aria-labelledby=heading.clone()>
            <h3 id=heading.clone()>{phone.name.clone()}</h3>
            <dl class="facts">
                <dt>{m.console.adm_status}</dt>
                <dd><span class=format!("status status-{}", phone.state.as_str())>{crate::pages::my_tiqr::state_label(m, phone.state)}</span></dd>
                <dt>{m.means.means_added_on}</dt>
                <dd>{phone.created_at.clone()}</dd>
                <dt>{m.card.card_last_used}</dt>
                <dd>{phone.last_used_at.clone().unwrap_or_else(|| m.card.card_never.to_string())}</dd>
            </dl>
            {removal_form("telephone", phone.id, csrf, m.means.means_confirm_phone, m.means.means_remove_phone)}
        </article>
    }
}

#[component]
fn Passkey(passkey: PasskeyView, csrf: String) -> impl IntoView {
    let m = t();
    let heading = format!("cle-{}", passkey.id);
    view! {
        <article class="card linked-passkey" aria-labelledby=heading.clone()>
            <h3 id=heading.clone()>{passkey.name.clone()}</h3>
            <dl class="facts">
                <dt>{m.passkey.created_on}</dt>
                <dd>{passkey.created_at.clone()}</dd>
                <dt>{m.passkey.last_used}</dt>
                <dd>{passkey.last_used_at.clone().unwrap_or_else(|| m.card.card_never.to_string())}</dd>
            </dl>
            {removal_form("cle", passkey.id, csrf, m.passkey.confirm_remove, m.passkey.remove_button)}
        </article>
    }
}
