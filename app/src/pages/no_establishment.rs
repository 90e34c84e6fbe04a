//! For an account attached to no establishment: say so, and who to call.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::get_no_establishment;
use crate::components::{ErrorMessage, SupportContact};
use crate::t;

#[component]
pub fn NoEstablishment() -> impl IntoView {
    let m = t();
    let data = Resource::new(|| (), |_| get_no_establishment());
    view! {
        <Title text=m.sign_in.no_establishment_title />
        <h1>{m.sign_in.no_establishment_title}</h1>
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! {
                        <p class="lead">{m.sign_in.no_establishment_text}</p>
                        <SupportContact region=d.region />
                    }
                        .into_any(),
                    Err(code) => view! { <ErrorMessage code page_error=true /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
