//! « Annuaire » (`/annuaire`): the public directory of establishments, without sign-in. A plain
//! GET form: the search works without JavaScript, and its address can be shared.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{DirectoryEntryView, get_directory};
use crate::components::ErrorMessage;
use crate::pages::admin::param;
use crate::{paths, t};

#[component]
pub fn Directory() -> impl IntoView {
    let m = t();
    let q = param("q");
    let data = Resource::new(q, get_directory);
    view! {
        <Title text=m.directory.public_title />
        <h1>{m.directory.public_title}</h1>
        <p class="lead">{m.directory.public_intro}</p>
        <form method="get" action=paths::DIRECTORY class="form search-form" role="search">
            <div class="field">
                <label for="q">{m.directory.search_label}</label>
                <input id="q" name="q" type="search" value=q() maxlength="200" aria-describedby="q-aide" />
                <p id="q-aide" class="hint">{m.directory.search_hint}</p>
            </div>
            <button type="submit">{m.directory.search_button}</button>
        </form>
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                let query = q();
                match data.await {
                    Ok(_) if query.trim().is_empty() => ().into_any(),
                    Ok(d) if d.entries.is_empty() => view! {
                        <p role="status" id="resultats">{(m.directory.no_result)(&query)}</p>
                    }.into_any(),
                    Ok(d) => view! {
                        <section aria-labelledby="resultats">
                            <h2 id="resultats">{(m.directory.results)(d.entries.len())}</h2>
                            {d.more.then(|| view! { <p class="alert alert-info" role="status">{m.directory.more_results}</p> })}
                            <ul class="directory-results">
                                {d.entries.into_iter().map(|e| view! { <Entry entry=e /> }).collect_view()}
                            </ul>
                        </section>
                    }.into_any(),
                    Err(code) => view! { <ErrorMessage code /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Entry(entry: DirectoryEntryView) -> impl IntoView {
    let m = t();
    let address = [
        entry.street.clone(),
        format!("{} {}", entry.postal_code, entry.city),
    ]
    .into_iter()
    .map(|s| s.trim().to_string())
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(", ");
    let heading = format!("etab-{}", entry.finess);
    let labelled_by = heading.clone();
    view! {
        <li class="card directory-entry" aria-labelledby=labelled_by>
            <h3 id=heading>{entry.name.clone()}</h3>
            {entry.on_passerelle.then(|| view! { <p class="badge badge-ok">{m.directory.on_passerelle}</p> })}
            <p>{entry.category.clone()}</p>
            <p>{address}</p>
            <p>"FINESS " {entry.finess.clone()}</p>
            {entry.region.map(|r| {
                let mail = format!("mailto:{}", r.support_email);
                let account = format!("{}?region={}#obtenir-compte", paths::SIGN_IN, r.code);
                view! {
                    <p>
                        {m.directory.support} " " {r.name.clone()} " : "
                        <a href=mail>{r.support_email.clone()}</a> " · " {r.support_phone.clone()}
                    </p>
                    <p><a href=account>{m.directory.get_account}</a></p>
                }
            })}
        </li>
    }
}
