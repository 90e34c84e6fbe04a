//! "Établissements": list and search, creation (FINESS validated), and one establishment's page
//! with its edit form and its members.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::users::enc;
use super::{AdminError, AdminInfo, ConsoleNav, options, param, status_label};
use crate::admin_api::{get_establishment, get_establishments};
use crate::components::QueryError;
use crate::paths;
use crate::t;

#[component]
pub fn Establishments() -> impl IntoView {
    let m = t();
    let (q, after, finess) = (param("q"), param("apres"), param("finess"));
    let data = Resource::new(
        move || (q(), after(), finess()),
        |(q, a, f)| get_establishments(q, a, f),
    );
    view! {
        <Title text=m.console.adm_establishments />
        <h1>{m.console.adm_establishments}</h1>
        <QueryError />
        <AdminInfo />
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let next = d.next.clone().map(|c| format!("{}?q={}&apres={}", paths::ESTABLISHMENTS, enc(&q()), enc(&c)));
                        let prefill = d.prefill.clone();
                        let region = prefill
                            .as_ref()
                            .map(|p| p.region.clone())
                            .filter(|r| d.console.regions.iter().any(|c| c.value == *r))
                            .or_else(|| d.console.regions.first().map(|r| r.value.clone()))
                            .unwrap_or_default();
                        let (pre_finess, pre_name, pre_city) = prefill
                            .as_ref()
                            .map(|p| (p.finess.clone(), p.name.clone(), p.city.clone()))
                            .unwrap_or_default();
                        view! {
                            <ConsoleNav console=d.console.clone() current="establishments" />
                            <form method="get" action=paths::ESTABLISHMENTS class="form search-form" role="search">
                                <div class="field">
                                    <label for="q">{m.console.adm_establishment_search}</label>
                                    <input id="q" name="q" type="search" value=q() maxlength="200" />
                                </div>
                                <button type="submit">{m.console.adm_search}</button>
                            </form>
                            <table class="data-table" id="etablissements">
                                <caption class="visually-hidden">{m.console.adm_establishments}</caption>
                                <thead><tr>
                                    <th scope="col">{m.console.adm_name}</th>
                                    <th scope="col">"FINESS"</th>
                                    <th scope="col">{m.console.adm_city}</th>
                                    <th scope="col">{m.console.adm_region}</th>
                                    <th scope="col">{m.console.adm_members}</th>
                                    <th scope="col">{m.console.adm_status}</th>
                                </tr></thead>
                                <tbody>
                                    {d.rows.into_iter().map(|e| {
                                        let href = paths::establishment_edit(&e.finess);
                                        view! { <tr>
                                            <td><a href=href>{e.name}</a></td>
                                            <td>{e.finess}</td>
                                            <td>{e.city}</td>
                                            <td>{e.region}</td>
                                            <td>{e.members}</td>
                                            <td>{if e.active { m.console.adm_active } else { m.console.adm_inactive }}</td>
                                        </tr> }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {next.map(|href| view! { <p><a href=href rel="next">{m.console.adm_next_page}</a></p> })}
                            {d.console.can_manage_establishments.then(|| view! {
                                <section aria-labelledby="creer" class="card">
                                    <h2 id="creer">{m.console.adm_new_establishment}</h2>
                                    {d.finess_loaded.then(|| view! {
                                        // Without JavaScript: this form reloads the page with
                                        // ?finess=…, and the creation form below comes filled in.
                                        <form method="get" action=paths::ESTABLISHMENTS class="form inline-fields" id="finess-recherche">
                                            <div class="field">
                                                <label for="finess-chercher">{m.directory.prefill_label}</label>
                                                <input id="finess-chercher" name="finess" maxlength="9" autocomplete="off" value=pre_finess.clone() />
                                            </div>
                                            <button type="submit" class="button-secondary">{m.directory.prefill_button}</button>
                                        </form>
                                    })}
                                    {prefill.as_ref().map(|p| view! {
                                        <p role="status" id="finess-trouve">{if p.found { m.directory.prefill_found } else { m.directory.prefill_absent }}</p>
                                    })}
                                    <form method="post" action=paths::ESTABLISHMENTS class="form">
                                        <input type="hidden" name="csrf" value=d.console.csrf.clone() />
                                        <div class="field">
                                            <label for="finess">"FINESS"</label>
                                            <input id="finess" name="finess" required maxlength="9" autocomplete="off" aria-describedby="finess-aide" value=pre_finess />
                                            <p id="finess-aide" class="hint">{m.console.adm_finess_hint}</p>
                                        </div>
                                        <div class="field">
                                            <label for="nom">{m.console.adm_name}</label>
                                            <input id="nom" name="nom" required maxlength="200" value=pre_name />
                                        </div>
                                        <div class="field">
                                            <label for="ville">{m.console.adm_city}</label>
                                            <input id="ville" name="ville" maxlength="200" value=pre_city />
                                        </div>
                                        {d.finess_loaded.then(|| view! {
                                            <div class="field">
                                                <label for="motif_finess">{m.directory.finess_override_label}</label>
                                                <textarea id="motif_finess" name="motif_finess" rows="2" maxlength="500" aria-describedby="motif-finess-aide"></textarea>
                                                <p id="motif-finess-aide" class="hint">{m.directory.finess_override_hint}</p>
                                            </div>
                                        })}
                                        <div class="field">
                                            <label for="region">{m.console.adm_region}</label>
                                            <select id="region" name="region">{options(d.console.regions.clone(), region)}</select>
                                        </div>
                                        <button type="submit">{m.console.adm_create}</button>
                                    </form>
                                </section>
                            })}
                        }.into_any()
                    }
                    Err(code) => view! { <AdminError code /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn Establishment() -> impl IntoView {
    let m = t();
    let params = use_params_map();
    let data = Resource::new(
        move || params.read().get("finess").unwrap_or_default(),
        get_establishment,
    );
    view! {
        <Title text=m.console.adm_establishment />
        <QueryError />
        <AdminInfo />
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let e = d.establishment.clone();
                        let action = paths::establishment_edit(&e.finess);
                        view! {
                            <ConsoleNav console=d.console.clone() current="establishments" />
                            <h1>{e.name.clone()}</h1>
                            <dl class="facts">
                                <dt>"FINESS"</dt><dd>{e.finess.clone()}</dd>
                                <dt>{m.console.adm_region}</dt><dd>{e.region.clone()}</dd>
                                <dt>{m.console.adm_status}</dt><dd>{if e.active { m.console.adm_active } else { m.console.adm_inactive }}</dd>
                            </dl>
                            {d.can_manage.then(|| view! {
                                <form method="post" action=action class="form card">
                                    <input type="hidden" name="csrf" value=d.console.csrf.clone() />
                                    <div class="field">
                                        <label for="nom">{m.console.adm_name}</label>
                                        <input id="nom" name="nom" value=e.name.clone() required maxlength="200" />
                                    </div>
                                    <div class="field">
                                        <label for="ville">{m.console.adm_city}</label>
                                        <input id="ville" name="ville" value=e.city.clone() maxlength="200" />
                                    </div>
                                    <div class="checkbox">
                                        <input type="checkbox" id="actif" name="actif" value="oui" checked=e.active />
                                        <label for="actif">{m.console.adm_active}</label>
                                    </div>
                                    <button type="submit">{m.console.adm_save}</button>
                                </form>
                            })}
                            <h2>{m.console.adm_members} " (" {e.members} ")"</h2>
                            <ul class="item-list" id="membres">
                                {d.members.into_iter().map(|u| {
                                    let href = paths::user(u.id);
                                    view! { <li><a href=href>{u.name}</a> " " <span class="meta">{u.username} " · " {status_label(m, u.status)}</span></li> }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }
                    Err(code) => view! { <h1>{m.console.adm_establishment}</h1> <AdminError code /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
