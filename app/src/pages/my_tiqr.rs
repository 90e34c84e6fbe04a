//! "Application TIQR" in the holder's account: the phones enrolled, adding one (QR, then the page
//! notices by itself when the app has registered), renaming and revoking.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::{ErrorMessage, Notice, Poller, QueryError};
use crate::t;
use crate::tiqr_api::{TiqrEnrollmentView, get_my_tiqr};

pub fn state_label(m: &crate::i18n::Messages, state: &str) -> &'static str {
    match state {
        "active" => m.tiqr_state_active,
        "blocked" => m.tiqr_state_blocked,
        _ => m.tiqr_state_revoked,
    }
}

#[component]
pub fn MyTiqr() -> impl IntoView {
    let m = t();
    let data = Resource::new(|| (), |_| get_my_tiqr());
    let query = leptos_router::hooks::use_query_map();
    let info = move || match query.read().get("info").as_deref() {
        Some("telephone-enregistre") => Some(m.tiqr_enrolled),
        Some("revoque") => Some(m.tiqr_revoked_own),
        Some("renomme") => Some(m.adm_done_saved),
        _ => None,
    };
    view! {
        <Title text=m.tiqr_title />
        <h1>{m.tiqr_title}</h1>
        {move || info().map(|text| view! { <Notice text /> })}
        <QueryError />
        <p class="lead">{m.tiqr_intro}</p>
        <Suspense fallback=move || view! { <p>{m.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let csrf = d.csrf.clone();
                        let pending = d.pending.clone().filter(|p| !matches!(p.status.as_str(), "finalized" | "processed" | "expired"));
                        view! {
                            <ul id="tiqr-inscriptions" class="item-list">
                                {d.enrollments.into_iter().filter(|e| e.state != "revoked").map(|e| view! { <Phone e csrf=csrf.clone() /> }).collect_view()}
                            </ul>
                            {match pending {
                                Some(qr) => {
                                    let state = RwSignal::new(qr.status.clone());
                                    let label = move || match state.get().as_str() {
                                        "retrieved" => m.tiqr_enroll_retrieved,
                                        "expired" | "expire" => m.tiqr_qr_expired,
                                        _ => m.tiqr_enroll_waiting,
                                    };
                                    view! {
                                        <section class="card" aria-labelledby="ajout">
                                            <h2 id="ajout">{m.tiqr_add}</h2>
                                            <ol class="steps">
                                                <li>{m.tiqr_step_open}</li>
                                                <li>{m.tiqr_step_scan_enroll}</li>
                                                <li>{m.tiqr_step_choose_pin}</li>
                                            </ol>
                                            <div id="tiqr-qr" class="qr" data-tiqr-url=qr.url.clone() inner_html=qr.svg.clone()></div>
                                            <p id="tiqr-etat" role="status">{label}</p>
                                            <Poller url="/compte/tiqr/etat".to_string() state />
                                            <p><a href="/compte/tiqr" rel="external">{m.tiqr_refresh}</a></p>
                                        </section>
                                    }.into_any()
                                }
                                None => view! {
                                    <form method="post" action="/compte/tiqr/inscrire" class="form">
                                        <input type="hidden" name="csrf" value=d.csrf.clone() />
                                        <button type="submit">{m.tiqr_add}</button>
                                    </form>
                                }.into_any(),
                            }}
                        }.into_any()
                    }
                    Err(code) => view! { <ErrorMessage code page_error=true /> }.into_any(),
                }
            })}
        </Suspense>
        <p><a href="/" rel="external">{m.back_home}</a></p>
    }
}

#[component]
fn Phone(e: TiqrEnrollmentView, csrf: String) -> impl IntoView {
    let m = t();
    let revoke = format!("/compte/tiqr/{}/revoquer", e.id);
    let label = format!("{} {}", m.tiqr_revoke, e.name);
    view! {
        <li>
            <span>{e.name.clone()}</span>
            " "
            <span class=format!("status status-{}", e.state)>{state_label(m, &e.state)}</span>
            " "
            <span class="meta">{m.tiqr_created} " " {e.created_at.clone()} " · " {m.card_last_used} " " {e.last_used_at.clone().unwrap_or_else(|| m.card_never.to_string())}</span>
            " "
            <form method="post" action=revoke class="inline-form">
                <input type="hidden" name="csrf" value=csrf />
                <button type="submit" class="button-link" aria-label=label>{m.tiqr_revoke}</button>
            </form>
        </li>
    }
}
