//! `/etablissements/{finess}`: the establishment's dashboard, showing where and as whom one works.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use model::sign_in::Method;

use crate::api::get_dashboard;
use crate::components::{ErrorMessage, NewsItems};
use crate::paths;
use crate::t;

#[component]
pub fn Dashboard() -> impl IntoView {
    let m = t();
    let params = use_params_map();
    let finess = move || params.read().get("finess").unwrap_or_default();
    let data = Resource::new(finess, get_dashboard);
    view! {
        <Title text=m.sign_in.dashboard_title />
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let method = match (&d.auth_method, &d.auth_detail) {
                            (Method::Psc, Some(detail)) if !detail.is_empty() => format!("Pro Santé Connect ({detail})"),
                            (method, _) => crate::pages::my_activity::method_label(m, *method).to_string(),
                        };
                        view! {
                            <h1>{d.establishment.name.clone()}</h1>
                            <p class="lead">
                                {m.sign_in.dashboard_welcome} ", " {d.user.given_name.clone()} " " {d.user.family_name.clone()} "."
                            </p>
                            {(!d.is_current).then(|| view! {
                                <div class="alert alert-info" role="status">
                                    <p>{m.sign_in.not_current_establishment}</p>
                                    <form method="post" action=paths::CHOOSE>
                                        <input type="hidden" name="csrf" value=d.csrf.clone() />
                                        <input type="hidden" name="finess" value=d.establishment.finess.clone() />
                                        <button type="submit" class="button-primary">{m.sign_in.work_here}</button>
                                    </form>
                                </div>
                            })}
                            <section class="card" aria-labelledby="etablissement">
                                <h2 id="etablissement">{m.sign_in.establishment}</h2>
                                <dl class="facts">
                                    <dt>{m.sign_in.finess}</dt>
                                    <dd class="finess">{d.establishment.finess.clone()}</dd>
                                    <dt>{m.sign_in.city}</dt>
                                    <dd>{d.establishment.city.clone()}</dd>
                                    <dt>{m.sign_in.region}</dt>
                                    <dd>{d.region_name.clone()}</dd>
                                    <dt>{m.sign_in.signed_in_with}</dt>
                                    <dd>{method} " (" {d.user.username.clone()} ")"</dd>
                                </dl>
                            </section>
                            <p class="inline-row">
                                {d.several.then(|| view! {
                                    <a href=paths::CHOOSER class="button-secondary">{m.sign_in.change_establishment}</a>
                                })}
                                <a href=paths::MY_MEANS class="button-secondary" id="gerer-moyens">{m.means.means_title}</a>
                                <a href=paths::MY_ACTIVITY class="button-secondary" id="mes-connexions">{m.activity.title}</a>
                                <a href=paths::MY_TIQR class="button-secondary" id="gerer-tiqr">{m.tiqr.tiqr_title}</a>
                            </p>
                            {(!d.news.is_empty()).then(|| view! { <NewsItems items=d.news.clone() heading_id="actualites" /> })}
                        }
                            .into_any()
                    }
                    Err(code) => view! { <h1>{m.sign_in.dashboard_title}</h1><ErrorMessage code page_error=true /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
