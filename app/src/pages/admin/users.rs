//! "Comptes": the support desk's search (name, username, e-mail, RPPS or FINESS; accents and case
//! ignored), filters, and keyset pages. A plain GET form: works without JavaScript, and the URL
//! can be bookmarked or sent to a colleague.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{AdminError, AdminInfo, ConsoleNav, options, param, status_label};
use crate::admin_api::{Choice, get_users};
use crate::components::QueryError;
use crate::paths;
use crate::t;

#[component]
pub fn Users() -> impl IntoView {
    let m = t();
    let (q, status, finess, role, region, after) = (
        param("q"),
        param("statut"),
        param("etablissement"),
        param("role"),
        param("region"),
        param("apres"),
    );
    let data = Resource::new(
        move || (q(), status(), finess(), role(), region(), after()),
        |(q, s, f, r, g, a)| get_users(q, s, f, r, g, a),
    );
    let statuses = move || {
        vec![
            Choice {
                value: String::new(),
                label: m.console.adm_any.into(),
            },
            Choice {
                value: "active".into(),
                label: m.console.adm_status_active.into(),
            },
            Choice {
                value: "pending_activation".into(),
                label: m.console.adm_status_pending.into(),
            },
            Choice {
                value: "locked".into(),
                label: m.console.adm_status_locked.into(),
            },
            Choice {
                value: "disabled".into(),
                label: m.console.adm_status_disabled.into(),
            },
            Choice {
                value: "dormant".into(),
                label: m.dormancy.status.into(),
            },
        ]
    };
    let roles = move || {
        vec![
            Choice {
                value: String::new(),
                label: m.console.adm_any.into(),
            },
            Choice {
                value: "support".into(),
                label: m.console.adm_role_support.into(),
            },
            Choice {
                value: "regional_admin".into(),
                label: m.console.adm_role_regional.into(),
            },
            Choice {
                value: "national_admin".into(),
                label: m.console.adm_role_national.into(),
            },
        ]
    };
    view! {
        <Title text=m.console.adm_users />
        <h1>{m.console.adm_users}</h1>
        <QueryError />
        <AdminInfo />
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let mut establishments = vec![Choice { value: String::new(), label: m.console.adm_any.into() }];
                        establishments.extend(d.establishments.clone());
                        let mut regions = vec![Choice { value: String::new(), label: m.console.adm_any.into() }];
                        let several_regions = d.console.regions.len() > 1;
                        regions.extend(d.console.regions.clone());
                        let next = d.next.clone().map(|cursor| {
                            let mut url = format!(
                                "{}?q={}&statut={}&etablissement={}&role={}&region={}",
                                paths::USERS, enc(&q()), enc(&status()), enc(&finess()), enc(&role()), enc(&region())
                            );
                            url.push_str(&format!("&apres={}", enc(&cursor)));
                            url
                        });
                        let empty = d.rows.is_empty();
                        view! {
                            <ConsoleNav console=d.console.clone() current="users" />
                            <form method="get" action=paths::USERS class="form search-form" role="search">
                                <div class="field">
                                    <label for="q">{m.console.adm_search_label}</label>
                                    <input id="q" name="q" type="search" value=q() maxlength="200" autocomplete="off" aria-describedby="q-aide" />
                                    <p id="q-aide" class="hint">{m.console.adm_search_hint}</p>
                                </div>
                                <div class="filters">
                                    <div class="field">
                                        <label for="statut">{m.console.adm_status}</label>
                                        <select id="statut" name="statut">{options(statuses(), status())}</select>
                                    </div>
                                    <div class="field">
                                        <label for="etablissement">{m.console.adm_establishment}</label>
                                        <select id="etablissement" name="etablissement">{options(establishments, finess())}</select>
                                    </div>
                                    <div class="field">
                                        <label for="role">{m.console.adm_role}</label>
                                        <select id="role" name="role">{options(roles(), role())}</select>
                                    </div>
                                    {several_regions.then(|| view! {
                                        <div class="field">
                                            <label for="region">{m.console.adm_region}</label>
                                            <select id="region" name="region">{options(regions, region())}</select>
                                        </div>
                                    })}
                                </div>
                                <button type="submit">{m.console.adm_search}</button>
                            </form>
                            {if empty {
                                view! { <p id="aucun-resultat">{m.console.adm_no_result}</p> }.into_any()
                            } else {
                                let actions = d.bulk_actions.clone();
                                let members_of: Vec<Choice> = d.establishments.clone();
                                view! {
                                    <form method="post" action=paths::BULK id="selection">
                                        <input type="hidden" name="csrf" value=d.console.csrf.clone() />
                                        // The search, for « tout le résultat ».
                                        <input type="hidden" name="q" value=q() />
                                        <input type="hidden" name="statut" value=status() />
                                        <input type="hidden" name="etablissement" value=finess() />
                                        <input type="hidden" name="role" value=role() />
                                        <input type="hidden" name="region" value=region() />
                                        <table class="data-table" id="comptes">
                                            <caption class="visually-hidden">{m.console.adm_users}</caption>
                                            <thead>
                                                <tr>
                                                    <th scope="col"><span class="visually-hidden">{m.bulk.selection}</span></th>
                                                    <th scope="col">{m.console.adm_name}</th>
                                                    <th scope="col">{m.sign_in.username}</th>
                                                    <th scope="col">{m.console.adm_email}</th>
                                                    <th scope="col">"RPPS"</th>
                                                    <th scope="col">{m.console.adm_region}</th>
                                                    <th scope="col">{m.console.adm_status}</th>
                                                </tr>
                                            </thead>
                                            <tbody>
                                                {d.rows.into_iter().map(|r| {
                                                    let href = paths::user(&r.id);
                                                    let tick = (m.bulk.select_one)(&r.name);
                                                    view! {
                                                        <tr>
                                                            <td><input type="checkbox" name=format!("compte-{}", r.id) value="oui" aria-label=tick /></td>
                                                            <td><a href=href>{r.name}</a></td>
                                                            <td>{r.username}</td>
                                                            <td>{r.email}</td>
                                                            <td>{r.rpps}</td>
                                                            <td>{r.region}</td>
                                                            <td><span class=format!("status status-{}", r.status.as_str())>{status_label(m, r.status)}</span></td>
                                                        </tr>
                                                    }
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                        <fieldset class="bulk">
                                            <legend>{m.bulk.selection}</legend>
                                            <div class="field checkbox">
                                                <input type="checkbox" id="tout" name="tout" value="oui" />
                                                <label for="tout">{m.bulk.whole_result}</label>
                                            </div>
                                            <div class="filters">
                                                <div class="field">
                                                    <label for="action-groupee">{m.bulk.action}</label>
                                                    <select id="action-groupee" name="action">
                                                        {actions.into_iter().map(|a| {
                                                            let label = bulk_label(m, &a);
                                                            view! { <option value=a>{label}</option> }
                                                        }).collect_view()}
                                                    </select>
                                                </div>
                                                <div class="field">
                                                    <label for="etablissement-groupe">{m.bulk.establishment}</label>
                                                    <select id="etablissement-groupe" name="finess" aria-describedby="etablissement-groupe-aide">
                                                        <option value="">"—"</option>
                                                        {options(members_of, String::new())}
                                                    </select>
                                                    <p id="etablissement-groupe-aide" class="hint">{m.bulk.establishment_hint}</p>
                                                </div>
                                            </div>
                                            <button type="submit">{m.bulk.next}</button>
                                        </fieldset>
                                    </form>
                                }.into_any()
                            }}
                            {next.map(|href| view! { <p><a href=href class="next-page" rel="next">{m.console.adm_next_page}</a></p> })}
                        }
                            .into_any()
                    }
                    Err(code) => view! { <AdminError code /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A bulk action's label, from its name (`domain::admin::bulk::BulkAction::NAMES`, `export`).
pub fn bulk_label(m: &crate::i18n::Messages, name: &str) -> &'static str {
    match name {
        "disable" => m.bulk.disable,
        "enable" => m.bulk.enable,
        "send_link" => m.bulk.send_link,
        "end_sessions" => m.bulk.end_sessions,
        "add_membership" => m.bulk.add_membership,
        "remove_membership" => m.bulk.remove_membership,
        _ => m.bulk.export,
    }
}

/// Percent-encoding of a query value.
pub fn enc(s: &str) -> String {
    crate::paths::urlencode(s).replace('/', "%2F")
}
