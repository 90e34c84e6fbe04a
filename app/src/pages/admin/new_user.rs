//! "Créer un compte": a regional administrator creates an account pending activation, attached to
//! establishments of the region; the activation e-mail leaves with the creation.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{AdminError, ConsoleNav, RegionField};
use crate::admin_api::get_new_user;
use crate::components::QueryError;
use crate::paths;
use crate::t;

#[component]
pub fn NewUser() -> impl IntoView {
    let m = t();
    let data = Resource::new(|| (), |_| get_new_user());
    view! {
        <Title text=m.console.adm_new_user />
        <h1>{m.console.adm_new_user}</h1>
        <QueryError />
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        view! {
                            <ConsoleNav console=d.console.clone() current="new" />
                            <p class="lead">{m.console.adm_new_user_intro}</p>
                            <form method="post" action=paths::NEW_USER class="form">
                                <input type="hidden" name="csrf" value=d.console.csrf.clone() />
                                <div class="field">
                                    <label for="identifiant">{m.sign_in.username}</label>
                                    <input id="identifiant" name="identifiant" required maxlength="64" autocomplete="off" aria-describedby="identifiant-aide" />
                                    <p id="identifiant-aide" class="hint">{m.console.adm_username_hint}</p>
                                </div>
                                <div class="field">
                                    <label for="prenom">{m.console.adm_given_name}</label>
                                    <input id="prenom" name="prenom" required maxlength="100" autocomplete="off" />
                                </div>
                                <div class="field">
                                    <label for="nom">{m.console.adm_family_name}</label>
                                    <input id="nom" name="nom" required maxlength="100" autocomplete="off" />
                                </div>
                                <div class="field">
                                    <label for="courriel">{m.console.adm_email}</label>
                                    <input id="courriel" name="courriel" type="email" required maxlength="254" autocomplete="off" />
                                </div>
                                <div class="field">
                                    <label for="rpps">"RPPS"</label>
                                    <input id="rpps" name="rpps" inputmode="numeric" maxlength="11" pattern="[0-9]{11}" autocomplete="off" aria-describedby="rpps-aide" />
                                    <p id="rpps-aide" class="hint">{m.console.adm_rpps_hint}</p>
                                </div>
                                <p class="hint" id="annuaire-etat">
                                    {match d.directory_since.clone() {
                                        Some(date) => (m.directory.verification_on)(&date),
                                        None => m.directory.verification_off.to_string(),
                                    }}
                                </p>
                                {d.directory_since.is_some().then(|| view! {
                                    <div class="field">
                                        <label for="motif_annuaire">{m.directory.override_label}</label>
                                        <textarea id="motif_annuaire" name="motif_annuaire" rows="2" maxlength="500" aria-describedby="motif-aide"></textarea>
                                        <p id="motif-aide" class="hint">{m.directory.override_hint}</p>
                                    </div>
                                })}
                                <RegionField regions=d.console.regions.clone() />
                                <fieldset class="field">
                                    <legend>{m.console.adm_establishments}</legend>
                                    {d.establishments.into_iter().enumerate().map(|(i, e)| {
                                        let id = format!("etab-{i}");
                                        view! {
                                            <div class="checkbox">
                                                <input type="checkbox" id=id.clone() name="finess" value=e.value />
                                                <label for=id>{e.label}</label>
                                            </div>
                                        }
                                    }).collect_view()}
                                </fieldset>
                                <button type="submit">{m.console.adm_create}</button>
                            </form>
                        }.into_any()
                    }
                    Err(code) => view! { <AdminError code /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
