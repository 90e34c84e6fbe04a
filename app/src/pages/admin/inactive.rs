//! « Comptes inactifs »: the accounts of the administrator's regions that are dormant or will be
//! soon (their holder was warned), the oldest inactivity first, each with « Prolonger » (a form
//! post: the edge authorises it again, on the account's own region).

use leptos::prelude::*;
use leptos_meta::Title;

use super::{AdminError, AdminInfo, ConsoleNav, param, status_label};
use crate::admin_api::get_inactive;
use crate::components::QueryError;
use crate::paths;
use crate::t;

#[component]
pub fn Inactive() -> impl IntoView {
    let m = t();
    let region = param("region");
    let data = Resource::new(region, get_inactive);
    view! {
        <Title text=m.dormancy.console_title />
        <h1>{m.dormancy.console_title}</h1>
        <QueryError />
        <AdminInfo />
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let csrf = d.console.csrf.clone();
                        view! {
                            <ConsoleNav console=d.console.clone() current="inactive" />
                            <p>{(m.dormancy.console_intro)(d.inactive_days)}</p>
                            {if d.rows.is_empty() {
                                view! { <p id="aucun-resultat">{m.dormancy.console_empty}</p> }.into_any()
                            } else {
                                view! {
                                    <table class="data-table" id="comptes-inactifs">
                                        <caption class="visually-hidden">{m.dormancy.console_title}</caption>
                                        <thead>
                                            <tr>
                                                <th scope="col">{m.console.adm_name}</th>
                                                <th scope="col">{m.sign_in.username}</th>
                                                <th scope="col">{m.console.adm_region}</th>
                                                <th scope="col">{m.console.adm_status}</th>
                                                <th scope="col">{m.dormancy.last_sign_in}</th>
                                                <th scope="col">{m.dormancy.warned}</th>
                                                <th scope="col">{m.dormancy.dormant_on}</th>
                                                <th scope="col"><span class="visually-hidden">{m.dormancy.keep_active}</span></th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {d.rows.into_iter().map(|r| {
                                                let label = (m.dormancy.keep_active_named)(&r.name);
                                                let last = if r.last_sign_in.is_empty() { m.dormancy.never.to_string() } else { r.last_sign_in.clone() };
                                                view! {
                                                    <tr>
                                                        <td><a href=paths::user(&r.id)>{r.name.clone()}</a></td>
                                                        <td>{r.username}</td>
                                                        <td>{r.region}</td>
                                                        <td><span class=format!("status status-{}", r.status.as_str())>{status_label(m, r.status)}</span></td>
                                                        <td>{last}</td>
                                                        <td>{r.warned}</td>
                                                        <td>{r.dormant_on}</td>
                                                        <td>
                                                            <form method="post" action=paths::keep_active(&r.id)>
                                                                <input type="hidden" name="csrf" value=csrf.clone() />
                                                                <button type="submit" aria-label=label>{m.dormancy.keep_active}</button>
                                                            </form>
                                                        </td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                        }
                            .into_any()
                    }
                    Err(code) => view! { <AdminError code /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
