//! "Connexion avec l'application TIQR": a QR code for the app, a `tiqrauth://` link for the phone
//! itself, the offline code form; the page moves on by itself once the app has answered.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::{ErrorMessage, Poller, QueryError};
use crate::info::Info;
use crate::paths;
use crate::t;
use crate::tiqr_api::get_tiqr_sign_in;

#[component]
pub fn TiqrSignIn() -> impl IntoView {
    let m = t();
    let data = Resource::new(|| (), |_| get_tiqr_sign_in());
    let state = RwSignal::new(String::new());
    view! {
        <Title text=m.tiqr.tiqr_sign_in_title />
        <h1>{m.tiqr.tiqr_sign_in_title}</h1>
        <QueryError />
        {move || (leptos_router::hooks::use_query_map().read().get("info").and_then(|s| Info::from_slug(&s)) == Some(Info::TiqrNotYet))
            .then(|| view! { <crate::components::Notice text=m.tiqr.tiqr_not_yet /> })}
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let label = move || match state.get().as_str() {
                            "expire" => m.tiqr.tiqr_qr_expired,
                            _ => m.tiqr.tiqr_waiting,
                        };
                        view! {
                            <div class="sign-in-grid">
                                <section class="card" aria-labelledby="scan">
                                    <h2 id="scan">{m.tiqr.tiqr_scan}</h2>
                                    <ol class="steps">
                                        <li>{m.tiqr.tiqr_step_open}</li>
                                        <li>{m.tiqr.tiqr_step_scan}</li>
                                        <li>{m.tiqr.tiqr_step_pin}</li>
                                    </ol>
                                    <div id="tiqr-qr" class="qr" data-tiqr-url=d.qr.url.clone() inner_html=d.qr.svg.clone()></div>
                                    <p><a id="tiqr-lien" href=d.qr.url.clone() rel="external">{m.tiqr.tiqr_open_on_phone}</a></p>
                                    <p id="tiqr-etat" role="status">{label}</p>
                                    <Poller url=paths::TIQR_POLL.to_string() csrf=d.csrf.clone() state />
                                    <form method="post" action=paths::TIQR_POLL class="form">
                                        <input type="hidden" name="csrf" value=d.csrf.clone() />
                                        <p class="hint">{m.tiqr.tiqr_continue_hint}</p>
                                        <button type="submit" class="button-secondary">{m.tiqr.tiqr_continue}</button>
                                    </form>
                                </section>
                                <section class="card" aria-labelledby="hors-ligne">
                                    <h2 id="hors-ligne">{m.tiqr.tiqr_offline_title}</h2>
                                    <p class="hint">{m.tiqr.tiqr_offline_intro}</p>
                                    <form method="post" action=paths::TIQR_OFFLINE_CODE class="form">
                                        <input type="hidden" name="csrf" value=d.csrf.clone() />
                                        <div class="field">
                                            <label for="identite">{m.tiqr.tiqr_identity}</label>
                                            <input id="identite" name="identite" autocomplete="off" maxlength="64" spellcheck="false" />
                                        </div>
                                        <div class="field">
                                            <label for="code">{m.tiqr.tiqr_code}</label>
                                            <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required />
                                        </div>
                                        <button type="submit">{m.tiqr.tiqr_code_submit}</button>
                                    </form>
                                </section>
                            </div>
                        }.into_any()
                    }
                    Err(code) => view! { <ErrorMessage code page_error=true /> }.into_any(),
                }
            })}
        </Suspense>
        <p><a href=paths::SIGN_IN rel="external">{m.tiqr.tiqr_other_modes}</a></p>
    }
}
