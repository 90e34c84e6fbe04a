//! « Actualités » in the console (`/admin/actualites`): the items the actor writes, a new one
//! saved as a draft; one item's page (`/admin/actualites/{id}`) shows its preview exactly as the
//! sign-in page will, its edit form, and publish / back to draft / delete.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::{AdminError, AdminInfo, ConsoleNav, options};
use crate::admin_api::{Choice, NewsItemView, get_news_item, get_news_list};
use crate::components::QueryError;
use crate::{paths, t};

#[component]
pub fn NewsList() -> impl IntoView {
    let m = t();
    let data = Resource::new(|| (), |_| get_news_list());
    view! {
        <Title text=m.news.title />
        <h1>{m.news.title}</h1>
        <QueryError />
        <AdminInfo />
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let blank = NewsItemView {
                            id: String::new(),
                            region: d.regions.first().map(|r| r.value.clone()).unwrap_or_default(),
                            title: String::new(),
                            body: String::new(),
                            html: String::new(),
                            important: false,
                            starts_on: d.today.clone(),
                            ends_on: String::new(),
                            starts_on_shown: String::new(),
                            ends_on_shown: None,
                            published: false,
                            version: 0,
                            author: String::new(),
                        };
                        view! {
                            <ConsoleNav console=d.console.clone() current="news" />
                            <p class="lead">{m.news.console_intro}</p>
                            <table class="data-table" id="actualites-table">
                                <thead><tr>
                                    <th scope="col">{m.news.field_title}</th>
                                    <th scope="col">{m.news.region}</th>
                                    <th scope="col">{m.news.starts_on}</th>
                                    <th scope="col">{m.console.adm_status}</th>
                                </tr></thead>
                                <tbody>
                                    {d.items.into_iter().map(|n| view! {
                                        <tr>
                                            <td><a href=paths::news_item(&n.id)>{n.title.clone()}</a></td>
                                            <td>{if n.region.is_empty() { m.news.national.to_string() } else { n.region.clone() }}</td>
                                            <td>{(m.news.dates)(&n.starts_on_shown, n.ends_on_shown.as_deref())}</td>
                                            <td>{if n.published { m.news.published } else { m.news.draft }}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <section aria-labelledby="nouvelle" class="card">
                                <h2 id="nouvelle">{m.news.new_item}</h2>
                                <NewsForm
                                    action=paths::NEWS.to_string()
                                    csrf=d.console.csrf.clone()
                                    item=blank
                                    regions=d.regions.clone()
                                    can_national=d.can_national
                                    submit=m.news.save_draft
                                />
                            </section>
                        }.into_any()
                    }
                    Err(code) => view! { <AdminError code /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn NewsItem() -> impl IntoView {
    let m = t();
    let params = use_params_map();
    let data = Resource::new(
        move || params.read().get("id").unwrap_or_default(),
        get_news_item,
    );
    view! {
        <Title text=m.news.title />
        <QueryError />
        <AdminInfo />
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let n = d.item.clone();
                        let csrf = d.console.csrf.clone();
                        let button = |verb: &str, label: &'static str, class: &'static str| {
                            let action = paths::news_action(&n.id, verb);
                            let csrf = csrf.clone();
                            view! {
                                <form method="post" action=action class="inline-form">
                                    <input type="hidden" name="csrf" value=csrf />
                                    <button type="submit" class=class>{label}</button>
                                </form>
                            }
                        };
                        view! {
                            <ConsoleNav console=d.console.clone() current="news" />
                            <h1>{n.title.clone()}</h1>
                            <p id="etat-actualite">
                                {if n.published { m.news.published } else { m.news.draft }}
                                " · " {(m.news.dates)(&n.starts_on_shown, n.ends_on_shown.as_deref())}
                                " · " {if n.region.is_empty() { m.news.national.to_string() } else { n.region.clone() }}
                            </p>
                            <section aria-labelledby="apercu" class="card" id="apercu-actualite">
                                <h2 id="apercu">{m.news.preview}</h2>
                                <article class=if n.important { "news-item news-important" } else { "news-item" }>
                                    <h3>
                                        {n.important.then(|| view! { <span class="badge badge-warning">{m.news.important}</span> " " })}
                                        {n.title.clone()}
                                    </h3>
                                    <div class="news-text" inner_html=n.html.clone()></div>
                                </article>
                            </section>
                            <div class="actions">
                                {if n.published {
                                    button("retirer", m.news.withdraw, "button-secondary").into_any()
                                } else {
                                    button("publier", m.news.publish, "button").into_any()
                                }}
                                {button("supprimer", m.news.delete, "button-danger")}
                            </div>
                            <section aria-labelledby="modifier" class="card">
                                <h2 id="modifier">{m.news.edit}</h2>
                                <NewsForm
                                    action=paths::news_action(&n.id, "modifier")
                                    csrf=d.console.csrf.clone()
                                    item=n.clone()
                                    regions=d.regions.clone()
                                    can_national=d.can_national
                                    submit=m.news.save
                                />
                            </section>
                        }.into_any()
                    }
                    Err(code) => view! { <h1>{m.news.title}</h1> <AdminError code /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The fields of an item; a plain form post (no JavaScript needed).
#[component]
fn NewsForm(
    action: String,
    csrf: String,
    item: NewsItemView,
    regions: Vec<Choice>,
    can_national: bool,
    submit: &'static str,
) -> impl IntoView {
    let m = t();
    let national = item.region.is_empty();
    view! {
        <form method="post" action=action class="form">
            <input type="hidden" name="csrf" value=csrf />
            <input type="hidden" name="version" value=item.version.to_string() />
            <div class="field">
                <label for="region-actualite">{m.news.region}</label>
                <select id="region-actualite" name="region">
                    {can_national.then(|| view! { <option value="" selected=national>{m.news.every_region}</option> })}
                    {options(regions, item.region.clone())}
                </select>
            </div>
            <div class="field">
                <label for="titre">{m.news.field_title}</label>
                <input id="titre" name="titre" required maxlength="120" value=item.title.clone() />
            </div>
            <div class="field">
                <label for="texte">{m.news.field_body}</label>
                <textarea id="texte" name="texte" required maxlength="4000" rows="6" aria-describedby="texte-aide">{item.body.clone()}</textarea>
                <p id="texte-aide" class="hint">{m.news.body_hint}</p>
            </div>
            <div class="checkbox">
                <input type="checkbox" id="important" name="important" value="oui" checked=item.important />
                <label for="important">{m.news.field_important}</label>
            </div>
            <div class="inline-fields">
                <div class="field">
                    <label for="debut">{m.news.starts_on}</label>
                    <input id="debut" name="debut" type="date" required value=item.starts_on.clone() />
                </div>
                <div class="field">
                    <label for="fin">{m.news.ends_on}</label>
                    <input id="fin" name="fin" type="date" value=item.ends_on.clone() />
                </div>
            </div>
            <button type="submit">{submit}</button>
        </form>
    }
}
