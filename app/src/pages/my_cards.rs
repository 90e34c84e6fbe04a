//! "Mes cartes": the holder's linked CPx cards, each with its last use, and unlinking after the
//! password is typed again (a stolen session alone cannot remove a card).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{CardView, get_my_cards};
use crate::components::{ErrorMessage, Notice, QueryError};
use crate::t;

#[component]
pub fn MyCards() -> impl IntoView {
    let m = t();
    let query = use_query_map();
    let info = move || {
        (query.read().get("info").as_deref() == Some("carte-deliee")).then_some(m.card_unlinked)
    };
    let data = Resource::new(|| (), |_| get_my_cards());
    view! {
        <Title text=m.cards_title />
        <h1>{m.cards_title}</h1>
        {move || info().map(|text| view! { <Notice text /> })}
        <QueryError />
        <p>{m.cards_intro}</p>
        <Suspense fallback=move || view! { <p>{m.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) if d.cards.is_empty() => view! { <p id="aucune-carte">{m.cards_none}</p> }.into_any(),
                    Ok(d) => {
                        let csrf = d.csrf.clone();
                        d.cards
                            .into_iter()
                            .map(|c| view! { <LinkedCard card=c csrf=csrf.clone() /> })
                            .collect_view()
                            .into_any()
                    }
                    Err(code) => view! { <ErrorMessage code page_error=true /> }.into_any(),
                }
            })}
        </Suspense>
        <p><a href="/" rel="external">{m.back_home}</a></p>
    }
}

#[component]
fn LinkedCard(card: CardView, csrf: String) -> impl IntoView {
    let m = t();
    let heading = format!("carte-{}", card.serial);
    let password_id = format!("mot-de-passe-{}", card.serial);
    view! {
        <section class="card linked-card" aria-labelledby=heading.clone()>
            <h2 id=heading.clone()>{card.card_type.clone()} " — " {card.holder_name.clone()}</h2>
            <dl class="facts">
                <dt>{m.card_serial}</dt>
                <dd class="serial">{card.serial.clone()}</dd>
                <dt>{m.card_valid_until}</dt>
                <dd>{card.not_after.clone()}</dd>
                <dt>{m.card_linked_on}</dt>
                <dd>{card.linked_at.clone()} {card.renewal.then_some(" ")} {card.renewal.then_some(m.card_linked_by_renewal)}</dd>
                <dt>{m.card_last_used}</dt>
                <dd>{card.last_used_at.clone().unwrap_or_else(|| m.card_never.to_string())}</dd>
            </dl>
            <form method="post" action="/compte/cartes/delier" class="form">
                <input type="hidden" name="csrf" value=csrf />
                <input type="hidden" name="carte" value=card.id.clone() />
                <div class="field">
                    <label for=password_id.clone()>{m.card_unlink_confirm}</label>
                    <input id=password_id name="mot_de_passe" type="password" autocomplete="current-password" required maxlength="256" />
                </div>
                <button type="submit" class="button-secondary">{m.card_unlink}</button>
            </form>
        </section>
    }
}
