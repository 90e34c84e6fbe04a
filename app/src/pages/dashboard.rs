//! `/etablissements/{finess}`: the establishment's dashboard, showing where and as whom one works.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use model::sign_in::Method;

use crate::api::get_dashboard;
use crate::components::ErrorMessage;
use crate::t;

#[component]
pub fn Dashboard() -> impl IntoView {
    let m = t();
    let params = use_params_map();
    let finess = move || params.read().get("finess").unwrap_or_default();
    let data = Resource::new(finess, get_dashboard);
    view! {
        <Title text=m.dashboard_title />
        <Suspense fallback=move || view! { <p>{m.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let method = match d.auth_method {
                            Method::Password => m.method_password.to_string(),
                            Method::Card => m.method_card.to_string(),
                            Method::PasswordEmailCode => m.method_password_code.to_string(),
                            Method::Tiqr => m.method_tiqr.to_string(),
                            Method::Psc => match &d.auth_detail {
                                Some(detail) if !detail.is_empty() => format!("Pro Santé Connect ({detail})"),
                                _ => "Pro Santé Connect".to_string(),
                            },
                        };
                        view! {
                            <h1>{d.establishment.name.clone()}</h1>
                            <p class="lead">
                                {m.dashboard_welcome} ", " {d.user.given_name.clone()} " " {d.user.family_name.clone()} "."
                            </p>
                            {(!d.is_current).then(|| view! {
                                <div class="alert alert-info" role="status">
                                    <p>{m.not_current_establishment}</p>
                                    <form method="post" action="/etablissements/choisir">
                                        <input type="hidden" name="csrf" value=d.csrf.clone() />
                                        <input type="hidden" name="finess" value=d.establishment.finess.clone() />
                                        <button type="submit" class="button-primary">{m.work_here}</button>
                                    </form>
                                </div>
                            })}
                            <section class="card" aria-labelledby="etablissement">
                                <h2 id="etablissement">{m.establishment}</h2>
                                <dl class="facts">
                                    <dt>{m.finess}</dt>
                                    <dd class="finess">{d.establishment.finess.clone()}</dd>
                                    <dt>{m.city}</dt>
                                    <dd>{d.establishment.city.clone()}</dd>
                                    <dt>{m.region}</dt>
                                    <dd>{d.region_name.clone()}</dd>
                                    <dt>{m.signed_in_with}</dt>
                                    <dd>{method} " (" {d.user.username.clone()} ")"</dd>
                                </dl>
                            </section>
                            <p class="inline-row">
                                {d.several.then(|| view! {
                                    <a href="/etablissements" class="button-secondary">{m.change_establishment}</a>
                                })}
                                <a href="/compte/moyens-de-connexion" class="button-secondary" id="gerer-moyens">{m.means_title}</a>
                                <a href="/compte/tiqr" class="button-secondary" id="gerer-tiqr">{m.tiqr_title}</a>
                            </p>
                        }
                            .into_any()
                    }
                    Err(code) => view! { <h1>{m.dashboard_title}</h1><ErrorMessage code page_error=true /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
