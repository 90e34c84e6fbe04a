//! "Mot de passe oublié ?": one field, and the same answer whether or not an account matches.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::get_shell;
use crate::components::{Notice, QueryError};
use crate::info::Info;
use crate::paths;
use crate::t;

#[component]
pub fn ForgotPassword() -> impl IntoView {
    let m = t();
    let query = use_query_map();
    let sent = move || {
        query.read().get("info").and_then(|s| Info::from_slug(&s)) == Some(Info::ResetLinkSent)
    };
    let shell = Resource::new(|| (), |_| get_shell());
    view! {
        <Title text=m.account.forgot_title />
        <h1>{m.account.forgot_title}</h1>
        <QueryError />
        {move || sent().then(|| view! { <Notice text=m.account.forgot_sent /> })}
        <p>{m.account.forgot_intro}</p>
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                let csrf = shell.await.map(|s| s.csrf).unwrap_or_default();
                view! {
                    <form method="post" action=paths::FORGOT_PASSWORD class="form card">
                        <input type="hidden" name="csrf" value=csrf />
                        <div class="field">
                            <label for="identifiant">{m.account.forgot_identifier}</label>
                            <input id="identifiant" name="identifiant" type="text" autocomplete="username" required maxlength="254" />
                        </div>
                        <button type="submit" class="button-primary">{m.account.forgot_submit}</button>
                    </form>
                }
            })}
        </Suspense>
        <p><a href=paths::SIGN_IN rel="external">{m.sign_in.back_to_sign_in}</a></p>
    }
}
