use leptos::prelude::*;
use leptos_meta::Title;

use crate::paths;
use crate::t;

#[component]
pub fn NotFound() -> impl IntoView {
    let m = t();
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text=m.common.not_found_title />
        <h1>{m.common.not_found_title}</h1>
        <p>{m.common.not_found_text}</p>
        <p><a href=paths::SIGN_IN>{m.sign_in.back_to_sign_in}</a></p>
    }
}
