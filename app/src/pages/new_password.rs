//! Choosing a password from an e-mailed link: activation of a new account, or reset.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{PasswordLinkData, get_password_link};
use crate::components::{ErrorMessage, QueryError};
use crate::paths;
use crate::t;

#[component]
pub fn NewPassword() -> impl IntoView {
    let m = t();
    let query = use_query_map();
    let token = move || query.read().get("jeton").unwrap_or_default();
    let data = Resource::new(token, get_password_link);
    view! {
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <PasswordForm data=d token=token() /> }.into_any(),
                    Err(code) => view! {
                        <Title text=m.account.new_password_title_reset />
                        <h1>{m.account.new_password_title_reset}</h1>
                        <ErrorMessage code page_error=true />
                        <p><a href=paths::FORGOT_PASSWORD rel="external">{m.account.forgot_password}</a></p>
                    }
                        .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn PasswordForm(data: PasswordLinkData, token: String) -> impl IntoView {
    let m = t();
    let title = if data.activation {
        m.account.new_password_title_activation
    } else {
        m.account.new_password_title_reset
    };
    view! {
        <Title text=title />
        <h1>{title}</h1>
        <QueryError />
        <p>{m.account.new_password_intro}</p>
        <form method="post" action=paths::NEW_PASSWORD class="form card">
            <input type="hidden" name="csrf" value=data.csrf.clone() />
            <input type="hidden" name="jeton" value=token />
            // Lets password managers file the new password under the right account.
            <input type="text" name="identifiant" value=data.username.clone() autocomplete="username" hidden readonly />
            <div class="field">
                <label for="mot_de_passe">{m.account.new_password}</label>
                <input id="mot_de_passe" name="mot_de_passe" type="password" autocomplete="new-password" required minlength="12" maxlength="256" />
            </div>
            <div class="field">
                <label for="confirmation">{m.sign_in.confirm_password}</label>
                <input id="confirmation" name="confirmation" type="password" autocomplete="new-password" required minlength="12" maxlength="256" />
            </div>
            // A reset may follow a suspected compromise: whatever was linked with the old password
            // can go with it, in the same step.
            {(!data.activation).then(|| view! {
                <div class="field">
                    <div class="checkbox">
                        <input id="retirer_moyens" name="retirer_moyens" type="checkbox" value="oui" aria-describedby="retirer-moyens-aide" />
                        <label for="retirer_moyens">{m.means.means_reset_remove_all}</label>
                    </div>
                    <p id="retirer-moyens-aide" class="hint">{m.means.means_reset_remove_all_hint}</p>
                </div>
            })}
            <button type="submit" class="button-primary">{m.account.new_password_submit}</button>
        </form>
    }
}
