//! « Mes connexions »: the holder's open sessions (each may be ended, or all but this one) and
//! their last sign-ins, successful or refused, with the method, the approximate place (the
//! address's network) and the browser. Plain forms: works without JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{ActivityData, OpenSessionView, SignInView, get_my_activity};
use crate::components::{ErrorMessage, Notice, QueryError};
use crate::i18n::Messages;
use crate::info::Info;
use crate::paths;
use crate::t;
use model::activity::Place;
use model::sign_in::Method;

/// How a sign-in was made, as the holder reads it.
pub fn method_label(m: &Messages, method: Method) -> &'static str {
    match method {
        Method::Password => m.sign_in.method_password,
        Method::PasswordEmailCode => m.sign_in.method_password_code,
        Method::Card => m.sign_in.method_card,
        Method::Psc => "Pro Santé Connect",
        Method::Tiqr => m.sign_in.method_tiqr,
        Method::Passkey => m.sign_in.method_passkey,
    }
}

fn place_label(m: &Messages, place: &Place) -> String {
    match place {
        Place::ThisMachine => m.activity.this_machine.to_string(),
        Place::PrivateNetwork => m.activity.private_network.to_string(),
        Place::Network(prefix) => (m.activity.network)(prefix),
        Place::Unknown => m.activity.unknown.to_string(),
    }
}

#[component]
pub fn MyActivity() -> impl IntoView {
    let m = t();
    let query = use_query_map();
    let info = move || match query.read().get("info").and_then(|s| Info::from_slug(&s)) {
        Some(Info::SessionEnded) => Some(m.activity.ended_one),
        Some(Info::OtherSessionsEnded) => Some(m.activity.ended_others),
        _ => None,
    };
    let data = Resource::new(|| (), |_| get_my_activity());
    view! {
        <Title text=m.activity.title />
        <h1>{m.activity.title}</h1>
        {move || info().map(|text| view! { <Notice text /> })}
        <QueryError />
        <p class="lead">{m.activity.intro}</p>
        <p class="hint">{m.activity.not_me_hint}</p>
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <Activity d /> }.into_any(),
                    Err(code) => view! { <ErrorMessage code page_error=true /> }.into_any(),
                }
            })}
        </Suspense>
        <p><a href="/" rel="external">{m.common.back_home}</a></p>
    }
}

#[component]
fn Activity(d: ActivityData) -> impl IntoView {
    let m = t();
    let others = d.sessions.iter().filter(|s| !s.current).count();
    let csrf = d.csrf.clone();
    let sessions = d
        .sessions
        .into_iter()
        .map(|s| view! { <SessionRow s csrf=csrf.clone() /> })
        .collect_view();
    let no_history = d.sign_ins.is_empty();
    let history = d
        .sign_ins
        .into_iter()
        .map(|r| view! { <SignInRow r /> })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="sessions-ouvertes">
            <h2 id="sessions-ouvertes">{m.activity.sessions_title}</h2>
            <table class="table" id="sessions">
                <thead>
                    <tr>
                        <th scope="col">{m.activity.started}</th>
                        <th scope="col">{m.activity.last_seen}</th>
                        <th scope="col">{m.activity.method}</th>
                        <th scope="col">{m.activity.place}</th>
                        <th scope="col">{m.activity.browser}</th>
                        <th scope="col"><span class="visually-hidden">{m.activity.end_one}</span></th>
                    </tr>
                </thead>
                <tbody>{sessions}</tbody>
            </table>
            {(others > 0).then(|| view! {
                <form method="post" action=paths::MY_ACTIVITY_END class="form">
                    <input type="hidden" name="csrf" value=d.csrf.clone() />
                    <input type="hidden" name="session" value="autres" />
                    <button type="submit" class="button-secondary" id="fermer-autres">{m.activity.end_others}</button>
                </form>
            })}
        </section>
        <section class="card" aria-labelledby="dernieres-connexions">
            <h2 id="dernieres-connexions">{m.activity.history_title}</h2>
            {no_history.then(|| view! { <p>{m.activity.no_history}</p> })}
            <table class="table" id="historique" hidden=no_history>
                <thead>
                    <tr>
                        <th scope="col">{m.activity.when}</th>
                        <th scope="col">{m.activity.outcome}</th>
                        <th scope="col">{m.activity.method}</th>
                        <th scope="col">{m.activity.place}</th>
                        <th scope="col">{m.activity.browser}</th>
                    </tr>
                </thead>
                <tbody>{history}</tbody>
            </table>
        </section>
    }
}

#[component]
fn SessionRow(s: OpenSessionView, csrf: String) -> impl IntoView {
    let m = t();
    let label = format!("{} ({})", m.activity.end_one, s.started);
    view! {
        <tr class:current=s.current>
            <td>{s.started.clone()} {s.current.then(|| view! { " " <strong class="badge">{m.activity.this_session}</strong> })}</td>
            <td>{s.last_seen.clone()}</td>
            <td>{method_label(m, s.method)}</td>
            <td>{place_label(m, &s.place)}</td>
            <td>{s.browser.clone().unwrap_or_else(|| m.activity.unknown.to_string())}</td>
            <td>
                {(!s.current).then(|| view! {
                    <form method="post" action=paths::MY_ACTIVITY_END class="inline-form">
                        <input type="hidden" name="csrf" value=csrf.clone() />
                        <input type="hidden" name="session" value=s.reference.clone() />
                        <button type="submit" class="button-link" aria-label=label.clone()>{m.activity.end_one}</button>
                    </form>
                })}
            </td>
        </tr>
    }
}

#[component]
fn SignInRow(r: SignInView) -> impl IntoView {
    let m = t();
    view! {
        <tr class:refused=!r.succeeded>
            <td>{r.at.clone()}</td>
            <td>{if r.succeeded { m.activity.succeeded } else { m.activity.refused }}</td>
            <td>{r.method.map(|method| method_label(m, method)).unwrap_or("—")}</td>
            <td>{place_label(m, &r.place)}</td>
            <td>{r.browser.clone().unwrap_or_else(|| m.activity.unknown.to_string())}</td>
        </tr>
    }
}
