//! "Confirmez votre identité": the console asks for the password again once the sign-in is older
//! than the configured limit, then returns to the page that asked.

use leptos::prelude::*;
use leptos_meta::Title;

use super::param;
use crate::admin_api::get_reauth;
use crate::components::{ErrorMessage, QueryError};
use crate::paths;
use crate::t;

#[component]
pub fn Reauth() -> impl IntoView {
    let m = t();
    let back = param("retour");
    let data = Resource::new(|| (), |_| get_reauth());
    view! {
        <Title text=m.console.adm_reauth_title />
        <h1>{m.console.adm_reauth_title}</h1>
        <QueryError />
        <p class="lead">{m.console.adm_reauth_intro}</p>
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) if !d.password_accepted => view! {
                        <p id="confirmation-forte">{m.policy.reauth_stronger}</p>
                        <form method="post" action=paths::SIGN_OUT class="form">
                            <input type="hidden" name="csrf" value=d.csrf />
                            <button type="submit">{m.policy.sign_in_again}</button>
                        </form>
                    }.into_any(),
                    Ok(d) => view! {
                        {d.new_phone.then(|| view! { <p id="nouveau-telephone">{m.console.adm_reauth_new_phone}</p> })}
                        <form method="post" action=paths::REAUTH class="form">
                            <input type="hidden" name="csrf" value=d.csrf />
                            <input type="hidden" name="retour" value=back() />
                            <input type="hidden" name="identifiant" value=d.username.clone() autocomplete="username" />
                            <div class="field">
                                <label for="mot_de_passe">{m.sign_in.password}</label>
                                <input id="mot_de_passe" name="mot_de_passe" type="password" required maxlength="256" autocomplete="current-password" />
                            </div>
                            <button type="submit">{m.console.adm_reauth_submit}</button>
                        </form>
                    }.into_any(),
                    Err(code) => view! { <ErrorMessage code page_error=true /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
