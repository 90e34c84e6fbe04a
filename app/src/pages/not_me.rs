//! « Ce n'était pas moi », opened from a new-device alert (`?jeton=`): the page explains, and its
//! button (a form post: opening the link changes nothing, mail scanners open links) ends every
//! session of the account and blocks it until the desk unblocks it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::get_shell;
use crate::components::{Notice, QueryError};
use crate::info::Info;
use crate::paths;
use crate::t;

#[component]
pub fn NotMe() -> impl IntoView {
    let m = t();
    let query = use_query_map();
    let done = move || {
        query.read().get("info").and_then(|s| Info::from_slug(&s))
            == Some(Info::AccountBlockedByHolder)
    };
    let token = move || query.read().get("jeton").unwrap_or_default();
    let shell = Resource::new(|| (), |_| get_shell());
    view! {
        <Title text=m.activity.not_me_title />
        <h1>{m.activity.not_me_title}</h1>
        <QueryError />
        {move || if done() {
            view! { <Notice text=m.activity.not_me_done /> }.into_any()
        } else {
            view! {
                <p>{m.activity.not_me_text}</p>
                <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
                    {move || Suspend::new(async move {
                        let csrf = shell.await.map(|s| s.csrf).unwrap_or_default();
                        view! {
                            <form method="post" action=paths::NOT_ME class="form card">
                                <input type="hidden" name="csrf" value=csrf />
                                <input type="hidden" name="jeton" value=token />
                                <button type="submit" class="button-primary" id="pas-moi">{m.activity.not_me_button}</button>
                            </form>
                        }
                    })}
                </Suspense>
                <p>{m.activity.not_me_fine}</p>
            }.into_any()
        }}
        <p><a href=paths::SIGN_IN rel="external">{m.sign_in.back_to_sign_in}</a></p>
    }
}
