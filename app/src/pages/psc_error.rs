//! The end of a refused Pro Santé Connect sign-in.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::QueryError;
use crate::paths;
use crate::t;

/// `/connexion/psc/erreur?erreur=…`: where every refused Pro Santé Connect sign-in ends, with the
/// reason in French (English through the catalog) and the way back.
#[component]
pub fn PscError() -> impl IntoView {
    let m = t();
    view! {
        <Title text=m.psc.psc_error_title />
        <h1>{m.psc.psc_error_title}</h1>
        <QueryError />
        <p class="inline-row">
            <a href=paths::SIGN_IN rel="external" class="button-primary">{m.sign_in.back_to_sign_in}</a>
            " "
            <a href=paths::PSC_START rel="external" class="button-secondary">{m.psc.psc_try_again}</a>
        </p>
    }
}
