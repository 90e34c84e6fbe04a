//! « Ce n'était pas moi », opened from a new-device alert (`?jeton=`): the page explains, and its
//! button (a form post: opening the link changes nothing, mail scanners open links) ends every
//! session of the account and blocks it until the desk unblocks it.

use leptos::prelude::*;

use crate::components::LinkConfirmation;
use crate::info::Info;
use crate::paths;
use crate::t;

#[component]
pub fn NotMe() -> impl IntoView {
    let m = t();
    view! {
        <LinkConfirmation
            action=paths::NOT_ME
            title=m.activity.not_me_title
            text=m.activity.not_me_text
            button=m.activity.not_me_button
            button_id="pas-moi"
            after=m.activity.not_me_fine
            done=Info::AccountBlockedByHolder
            done_text=m.activity.not_me_done
        />
    }
}
