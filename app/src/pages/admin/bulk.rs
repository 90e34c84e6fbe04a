//! A bulk action's page (`/admin/selection/{id}`): before the confirmation, the action, the
//! count and the first accounts, with « Confirmer »; then the progress (a `refresh` meta while it
//! runs, so it works without JavaScript: the job lives in the database, any instance answers),
//! and at the end the accounts it failed on, each with its reason.

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;

use super::users::bulk_label;
use super::{AdminError, AdminInfo, ConsoleNav};
use crate::admin_api::get_bulk_job;
use crate::components::QueryError;
use crate::error::ErrorCode;
use crate::paths;
use crate::{current_lang, t};

#[component]
pub fn BulkJob() -> impl IntoView {
    let m = t();
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let data = Resource::new(id, get_bulk_job);
    view! {
        <Title text=m.bulk.title />
        <h1>{m.bulk.title}</h1>
        <QueryError />
        <AdminInfo />
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let action = match &d.establishment {
                            Some(e) => format!("{} « {e} »", bulk_label(m, &d.action)),
                            None => bulk_label(m, &d.action).to_string(),
                        };
                        let post = paths::bulk_job(&d.id);
                        let csrf = d.console.csrf.clone();
                        let confirm_form = move |label: String| view! {
                            <form method="post" action=post.clone() class="form">
                                <input type="hidden" name="csrf" value=csrf.clone() />
                                <button type="submit" class="button-primary" id="confirmer">{label}</button>
                            </form>
                        };
                        let body = match d.state.as_str() {
                            "prepared" => {
                                let more = d.total - d.sample.len() as i64;
                                view! {
                                    <p id="resume">{(m.bulk.count)(&action, d.total)}</p>
                                    <p>{m.bulk.one_by_one}</p>
                                    <h2>{m.bulk.first_accounts}</h2>
                                    <ul id="selectionnes">
                                        {d.sample.into_iter().map(|(name, username)| view! { <li>{name} " (" {username} ")"</li> }).collect_view()}
                                    </ul>
                                    {(more > 0).then(|| view! { <p>{(m.bulk.and_more)(more)}</p> })}
                                    {confirm_form((m.bulk.confirm)(d.total))}
                                }.into_any()
                            }
                            "running" => view! {
                                <Meta http_equiv="refresh" content="2" />
                                <p id="resume">{(m.bulk.count)(&action, d.total)}</p>
                                <p role="status" id="progression">{(m.bulk.progress)(d.done, d.total)}</p>
                                <p>{m.bulk.running} " " <a href=paths::bulk_job(&d.id)>{m.bulk.refresh}</a></p>
                            }.into_any(),
                            "stalled" => view! {
                                <p id="resume">{(m.bulk.count)(&action, d.total)}</p>
                                <p id="progression">{(m.bulk.progress)(d.done, d.total)}</p>
                                <p>{m.bulk.stalled}</p>
                                {confirm_form(m.bulk.resume.to_string())}
                            }.into_any(),
                            _ => {
                                let lang = current_lang();
                                let failed = d.failures.len();
                                view! {
                                    <p id="resume">{(m.bulk.count)(&action, d.total)}</p>
                                    <p role="status" id="progression">{(m.bulk.finished)(d.total, failed)}</p>
                                    {(failed > 0).then(|| view! {
                                        <table class="data-table" id="echecs">
                                            <caption>{m.bulk.failures}</caption>
                                            <thead>
                                                <tr>
                                                    <th scope="col">{m.console.adm_name}</th>
                                                    <th scope="col">{m.sign_in.username}</th>
                                                    <th scope="col">{m.bulk.reason}</th>
                                                </tr>
                                            </thead>
                                            <tbody>
                                                {d.failures.into_iter().map(|(name, username, slug)| {
                                                    let reason = ErrorCode::from_slug(&slug)
                                                        .unwrap_or(ErrorCode::InvalidInput)
                                                        .message(lang);
                                                    view! { <tr><td>{name}</td><td>{username}</td><td>{reason}</td></tr> }
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    })}
                                }.into_any()
                            }
                        };
                        view! {
                            <ConsoleNav console=d.console.clone() current="users" />
                            {body}
                            <p><a href=paths::USERS>{m.bulk.back}</a></p>
                        }.into_any()
                    }
                    Err(code) => view! { <AdminError code /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
