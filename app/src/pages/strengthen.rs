//! « Une connexion plus forte est nécessaire »: where a session too weak for its account's roles
//! lands (the sign-in policy), and the only page it reaches: which means the role accepts and how
//! to get each, and a way to sign out and sign in again with one of them.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::get_strengthen;
use crate::components::ErrorMessage;
use crate::pages::my_activity::method_label;
use crate::paths;
use crate::t;
use model::sign_in::Method;

#[component]
pub fn Strengthen() -> impl IntoView {
    let m = t();
    let data = Resource::new(|| (), |_| get_strengthen());
    view! {
        <Title text=m.policy.title />
        <h1>{m.policy.title}</h1>
        <p class="lead">{m.policy.intro}</p>
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let accepted = d.accepted.clone();
                        let how = [
                            (Method::Card, m.policy.how_card),
                            (Method::Psc, m.policy.how_psc),
                            (Method::Tiqr, m.policy.how_tiqr),
                            (Method::Passkey, m.policy.how_passkey),
                        ]
                        .into_iter()
                        .filter(|(method, _)| accepted.contains(method))
                        .map(|(_, text)| view! { <li>{text}</li> })
                        .collect_view();
                        view! {
                            <section class="card" aria-labelledby="moyens-acceptes">
                                <h2 id="moyens-acceptes">{m.policy.accepted}</h2>
                                <p id="liste-moyens">{d.accepted.iter().map(|method| method_label(m, *method)).collect::<Vec<_>>().join(", ")}</p>
                                <ul class="item-list">{how}</ul>
                            </section>
                            <form method="post" action=paths::SIGN_OUT class="form">
                                <input type="hidden" name="csrf" value=d.csrf />
                                <button type="submit" class="button-primary" id="se-reconnecter">{m.policy.sign_in_again}</button>
                            </form>
                        }.into_any()
                    }
                    Err(code) => view! { <ErrorMessage code page_error=true /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
