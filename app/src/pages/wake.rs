//! « Réactiver mon compte », opened from the link a sign-in of a dormant account e-mailed
//! (`?jeton=`): the page explains, its button (a form post: mail scanners open links) makes the
//! account active again; the holder then signs in as usual.

use leptos::prelude::*;

use crate::components::LinkConfirmation;
use crate::info::Info;
use crate::paths;
use crate::t;

#[component]
pub fn Wake() -> impl IntoView {
    let m = t();
    view! {
        <LinkConfirmation
            action=paths::WAKE
            title=m.dormancy.wake_title
            text=m.dormancy.wake_text
            button=m.dormancy.wake_button
            button_id="reactiver"
            after=m.dormancy.wake_not_me
            done=Info::AccountWoken
            done_text=m.dormancy.woken
        />
    }
}
