//! "Sélectionnez l'établissement…": for professionals who belong to several establishments.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::get_chooser;
use crate::components::{ErrorMessage, QueryError};
use crate::paths;
use crate::t;

#[component]
pub fn Chooser() -> impl IntoView {
    let m = t();
    let data = Resource::new(|| (), |_| get_chooser());
    view! {
        <Title text=m.sign_in.chooser_title />
        <h1>{m.sign_in.chooser_title}</h1>
        <QueryError />
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let csrf = d.csrf.clone();
                        let current = d.current.clone();
                        let declared = d.declared.clone();
                        view! {
                            <p class="lead">{m.sign_in.chooser_intro}</p>
                            <ul class="choice-list">
                                {d.establishments
                                    .into_iter()
                                    .map(|e| {
                                        let is_current = current.as_deref() == Some(e.finess.as_str());
                                        let is_declared = declared.contains(&e.finess);
                                        view! {
                                            <li class="choice" class:current=is_current>
                                                <form method="post" action=paths::CHOOSE>
                                                    <input type="hidden" name="csrf" value=csrf.clone() />
                                                    <input type="hidden" name="finess" value=e.finess.clone() />
                                                    // The name read out is the visible text, after "Choisir" (WCAG 2.5.3: a
                                                    // voice user says what they see).
                                                    <button type="submit" class="choice-button">
                                                        <span class="visually-hidden">{m.sign_in.choose} " "</span>
                                                        <span class="choice-name">{e.name.clone()}</span>
                                                        <span class="choice-meta">
                                                            {e.city.clone()} " · " {m.sign_in.finess} " " {e.finess.clone()}
                                                        </span>
                                                        {is_declared.then(|| view! {
                                                            " "
                                                            <span class="badge choice-declared">{m.sign_in.declared_by_psc}</span>
                                                        })}
                                                    </button>
                                                </form>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                            .into_any()
                    }
                    Err(code) => view! { <ErrorMessage code page_error=true /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
