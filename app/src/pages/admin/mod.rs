//! The regional administration console's pages. They show what the domain allows the actor and
//! post every change to the HTTP edge (`server::web::admin`), which authorises it again.

pub mod audit;
pub mod bulk;
pub mod directory;
pub mod establishments;
pub mod import;
pub mod inactive;
pub mod new_user;
pub mod news;
pub mod reauth;
pub mod user;
pub mod users;

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_query_map};

use model::account::{AdminRole, UserStatus};
use model::audit::Outcome;

use crate::admin_api::{Choice, Console};
use crate::components::ErrorMessage;
use crate::error::ErrorCode;
use crate::i18n::Messages;
use crate::info::Info;
use crate::paths;
use crate::t;

/// The console's own navigation, under the page header.
#[component]
pub fn ConsoleNav(console: Console, current: &'static str) -> impl IntoView {
    let m = t();
    let link = move |href: &'static str, key: &'static str, label: &'static str| {
        let here = current == key;
        view! {
            <li>
                <a href=href aria-current=here.then_some("page")>{label}</a>
            </li>
        }
    };
    view! {
        <nav class="console-nav" aria-label=m.console.adm_console>
            <ul>
                {link(paths::USERS, "users", m.console.adm_users)}
                {console.can_create_users.then(|| link(paths::NEW_USER, "new", m.console.adm_new_user))}
                {link(paths::ESTABLISHMENTS, "establishments", m.console.adm_establishments)}
                {console.can_import.then(|| link(paths::IMPORTS, "import", m.console.adm_import))}
                {console.can_read_audit.then(|| link(paths::AUDIT, "audit", m.console.adm_audit))}
                {console.can_keep_active.then(|| link(paths::INACTIVE, "inactive", m.dormancy.console_title))}
                {console.can_manage_news.then(|| link(paths::NEWS, "news", m.news.title))}
                {console.can_load_directory.then(|| link(paths::DIRECTORY_LOADS, "directory", m.directory.console_title))}
            </ul>
        </nav>
    }
}

/// A console page's data could not be read: the password confirmation when that is the reason,
/// the error otherwise.
#[component]
pub fn AdminError(code: ErrorCode) -> impl IntoView {
    let m = t();
    let location = use_location();
    if code == ErrorCode::ReauthRequired {
        let back = paths::reauth(&format!(
            "{}{}",
            location.pathname.get_untracked(),
            location.search.get_untracked()
        ));
        view! {
            <ErrorMessage code=code.clone() page_error=true />
            <p><a class="button" href=back>{m.console.adm_reauth_go}</a></p>
        }
        .into_any()
    } else {
        view! { <ErrorMessage code page_error=true /> }.into_any()
    }
}

/// The confirmation a form post sent back in `?info=`.
#[component]
pub fn AdminInfo() -> impl IntoView {
    let m = t();
    let query = use_query_map();
    move || {
        query
            .read()
            .get("info")
            .and_then(|slug| Info::from_slug(&slug))
            .and_then(|info| info_message(m, info))
            .map(|text| view! { <crate::components::Notice text /> })
    }
}

fn info_message(m: &'static Messages, info: Info) -> Option<&'static str> {
    Some(match info {
        Info::Unlocked => m.console.adm_done_unlocked,
        Info::ActivationLinkSent => m.console.adm_done_activation_sent,
        Info::ResetLinkSentByDesk => m.console.adm_done_reset_sent,
        Info::SessionsEnded => m.console.adm_done_sessions_ended,
        Info::Disabled => m.console.adm_done_disabled,
        Info::Enabled => m.console.adm_done_enabled,
        Info::Saved => m.console.adm_done_saved,
        Info::RegionChanged => m.console.adm_done_region,
        Info::MembershipAdded => m.console.adm_done_membership_added,
        Info::MembershipRemoved => m.console.adm_done_membership_removed,
        Info::CardUnlinked => m.console.adm_done_card_unlinked,
        Info::PasskeyRemovedByDesk => m.passkey.removed_by_desk,
        Info::RoleGranted => m.console.adm_done_role_granted,
        Info::RoleRevoked => m.console.adm_done_role_revoked,
        Info::AccountCreated => m.console.adm_done_user_created,
        Info::EstablishmentCreated => m.console.adm_done_establishment_created,
        Info::EstablishmentSaved => m.console.adm_done_saved,
        Info::TiqrUnblocked => m.tiqr.tiqr_done_unblocked,
        Info::TiqrRevoked => m.tiqr.tiqr_done_revoked,
        Info::TiqrDeskEnrolment => m.tiqr.tiqr_desk_scan,
        Info::TiqrDeskEnrolled => m.tiqr.tiqr_enrolled,
        Info::TiqrDeskCodeSent => m.tiqr.tiqr_desk_code_sent,
        Info::ImportAbandoned => m.import.imp_done_abandoned,
        // Sign-in means (issue 14, H-1).
        Info::PscRemoved => m.console.adm_done_psc_unlinked,
        Info::AccountSecured => m.console.adm_done_secured,
        Info::AccountSecuredWithoutLink => m.console.adm_done_secured_no_link,
        Info::NewsSaved => m.news.done_saved,
        Info::NewsPublished => m.news.done_published,
        Info::NewsWithdrawn => m.news.done_withdrawn,
        Info::NewsDeleted => m.news.done_deleted,
        Info::KeptActive => m.dormancy.kept_active,
        _ => return None,
    })
}

pub fn status_label(m: &Messages, status: UserStatus) -> &'static str {
    match status {
        UserStatus::Active => m.console.adm_status_active,
        UserStatus::PendingActivation => m.console.adm_status_pending,
        UserStatus::Locked => m.console.adm_status_locked,
        UserStatus::Disabled => m.console.adm_status_disabled,
        UserStatus::Dormant => m.dormancy.status,
    }
}

/// A role's label; `role` is its stored name (choices and audit rows carry it as text).
pub fn role_label(m: &Messages, role: &str) -> &'static str {
    match AdminRole::parse(role) {
        Some(AdminRole::Support) => m.console.adm_role_support,
        Some(AdminRole::RegionalAdmin) => m.console.adm_role_regional,
        Some(AdminRole::NationalAdmin) => m.console.adm_role_national,
        None => "",
    }
}

pub fn outcome_label(m: &Messages, outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Success => m.console.adm_outcome_success,
        Outcome::Failure => m.console.adm_outcome_failure,
        Outcome::Denied => m.console.adm_outcome_denied,
    }
}

/// The region of what a form creates: a hidden field when the actor works on one region, else a
/// select of theirs.
#[component]
pub fn RegionField(regions: Vec<Choice>) -> impl IntoView {
    let m = t();
    let first = regions.first().map(|r| r.value.clone()).unwrap_or_default();
    if regions.len() == 1 {
        view! { <input type="hidden" name="region" value=first /> }.into_any()
    } else {
        view! {
            <div class="field">
                <label for="region">{m.console.adm_region}</label>
                <select id="region" name="region" required>{options(regions, first)}</select>
            </div>
        }
        .into_any()
    }
}

/// `<option>`s of a select, one of them selected.
pub fn options(choices: Vec<Choice>, selected: String) -> impl IntoView {
    choices
        .into_iter()
        .map(|c| {
            let is = c.value == selected;
            view! { <option value=c.value selected=is>{c.label}</option> }
        })
        .collect_view()
}

/// A query parameter's value, or empty.
pub fn param(name: &'static str) -> impl Fn() -> String + Copy {
    let query = use_query_map();
    move || query.read().get(name).unwrap_or_default()
}
