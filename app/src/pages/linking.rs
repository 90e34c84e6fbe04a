//! "Connectez votre compte professionnel à votre carte" (or "… à votre identité Pro Santé
//! Connect"): the one-time linking of an unknown strong identity, one page for both means. The
//! form posts to the edge (`/connexion/carte/lier` or `/connexion/lier`), which checks the
//! password with the same brute-force limits as sign-in, links and signs the holder in.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{PendingLinkData, get_pending_link};
use crate::components::{ErrorMessage, QueryError};
use crate::paths;
use crate::t;

#[component]
pub fn Linking() -> impl IntoView {
    let m = t();
    let data = Resource::new(|| (), |_| get_pending_link());
    view! {
        <QueryError />
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <LinkForm data=d /> }.into_any(),
                    Err(code) => view! {
                        <Title text=m.card.link_title />
                        <h1>{m.card.link_title}</h1>
                        <ErrorMessage code page_error=true />
                        <p><a href=paths::SIGN_IN rel="external">{m.sign_in.back_to_sign_in}</a></p>
                    }
                        .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn LinkForm(data: PendingLinkData) -> impl IntoView {
    let m = t();
    let psc = data.means == model::sign_in::Method::Psc;
    let (title, intro, button) = if psc {
        (
            m.card.link_title_psc,
            m.card.link_intro_psc,
            m.card.link_button_psc,
        )
    } else {
        (m.card.link_title, m.card.link_intro, m.card.link_button)
    };
    let action = if psc {
        paths::PSC_LINK
    } else {
        paths::CARD_LINK
    };
    let facts = if psc {
        view! {
            <section class="card" aria-labelledby="identite-presentee">
                <h2 id="identite-presentee">{m.card.link_psc}</h2>
                <dl class="facts">
                    <dt>{m.sign_in.holder}</dt>
                    <dd id="porteur">{data.holder_name.clone()}</dd>
                    <dt>{m.sign_in.national_id}</dt>
                    <dd id="identifiant-national">{data.national_id.clone()}</dd>
                    <dt>{m.sign_in.auth_means}</dt>
                    <dd>{data.card_type.clone()}</dd>
                </dl>
            </section>
        }
        .into_any()
    } else {
        view! {
            <section class="card" aria-labelledby="carte-presentee">
                <h2 id="carte-presentee">{m.card.link_card}</h2>
                <dl class="facts">
                    <dt>{m.sign_in.holder}</dt>
                    <dd id="porteur">{data.holder_name.clone()}</dd>
                    <dt>{m.card.card_type}</dt>
                    <dd>{data.card_type.clone()}</dd>
                    <dt>{m.card.card_serial}</dt>
                    <dd>{data.serial.clone()}</dd>
                    <dt>{m.card.card_valid_until}</dt>
                    <dd>{data.not_after.clone()}</dd>
                </dl>
            </section>
        }
        .into_any()
    };
    view! {
        <Title text=title />
        <h1>{title}</h1>
        <p class="lead">{intro}</p>
        {facts}
        <section class="card" aria-labelledby="compte-a-lier">
            <h2 id="compte-a-lier">{m.sign_in.mode_password}</h2>
            <form method="post" action=action class="form">
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
                    />
                </div>
                <div class="field">
                    <label for="mot_de_passe">{m.sign_in.password}</label>
                    <input
                        id="mot_de_passe"
                        name="mot_de_passe"
                        type="password"
                        autocomplete="current-password"
                        required
                        maxlength="256"
                    />
                </div>
                <div class="inline-row">
                    <button type="submit" class="button-primary">{button}</button>
                    <a href=paths::SIGN_IN rel="external" class="button-secondary">{m.sign_in.cancel}</a>
                </div>
            </form>
        </section>
    }
}
