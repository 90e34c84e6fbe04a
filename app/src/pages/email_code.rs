//! "Code de connexion": the second step of a password sign-in. Ask for the code (sent by e-mail
//! through the outbox), see whether its delivery is delayed, type it. Plain forms: no JavaScript
//! needed.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use model::code::Delivery;

use crate::api::{CodeStepData, get_code_step};
use crate::components::{ErrorMessage, Notice, QueryError};
use crate::info::Info;
use crate::paths;
use crate::t;

#[component]
pub fn EmailCode() -> impl IntoView {
    let m = t();
    let data = Resource::new(|| (), |_| get_code_step());
    view! {
        <Title text=m.code.code_title />
        <h1>{m.code.code_title}</h1>
        <QueryError />
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <CodeForms data=d /> }.into_any(),
                    Err(code) => view! {
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
fn CodeForms(data: CodeStepData) -> impl IntoView {
    let m = t();
    let query = use_query_map();
    let just_sent = query
        .read_untracked()
        .get("info")
        .and_then(|s| Info::from_slug(&s))
        == Some(Info::CodeSent);
    // "pending" without a failure is the second it takes the worker to send it.
    let status = match data.delivery {
        Delivery::Sent | Delivery::Pending { failed: false } if just_sent => Some(m.code.code_sent),
        Delivery::Sent | Delivery::NotRequested => None,
        Delivery::Pending { failed: false } => Some(m.code.code_waiting),
        Delivery::Pending { failed: true } => Some(m.code.code_delayed),
        Delivery::Abandoned => Some(m.code.code_abandoned),
    };
    let requested = data.delivery != Delivery::NotRequested;
    view! {
        <p class="lead">{m.code.code_intro} " " <strong id="adresse-masquee">{data.masked_email.clone()}</strong> "."</p>
        {status.map(|text| view! { <Notice text /> })}
        <section class="card">
            <form method="post" action=paths::CODE_SEND class="form">
                <input type="hidden" name="csrf" value=data.csrf.clone() />
                <button type="submit" class=if requested { "button-secondary" } else { "button-primary" }>
                    {if requested { m.code.code_resend } else { m.code.code_send }}
                </button>
            </form>
            {requested.then(|| view! {
                <form method="post" action=paths::CODE class="form">
                    <input type="hidden" name="csrf" value=data.csrf.clone() />
                    <div class="field">
                        <label for="code">{m.code.code_label}</label>
                        <input
                            id="code"
                            name="code"
                            type="text"
                            inputmode="numeric"
                            autocomplete="one-time-code"
                            pattern="[0-9]{6}"
                            maxlength="6"
                            required
                            aria-describedby="code-aide"
                        />
                        <p class="hint" id="code-aide">{m.code.code_hint}</p>
                    </div>
                    <button type="submit" class="button-primary">{m.code.code_submit}</button>
                </form>
            })}
        </section>
    }
}
