//! "Application TIQR" in the holder's account: the phones enrolled, adding one (the password again
//! unless the sign-in is a few minutes old; the enrolment QR; then the confirmation QR that only
//! the phone that enrolled can answer — the page moves on by itself, or with "Actualiser" without
//! JavaScript), renaming and revoking. [`EnrollmentUnderWay`] is shared with the desk's page.

use leptos::prelude::*;
use leptos_meta::Title;

use model::tiqr::{EnrollmentStatus, PhoneState};

use crate::components::{ErrorMessage, Notice, Poller, QueryError};
use crate::info::Info;
use crate::paths;
use crate::t;
use crate::tiqr_api::{QrView, TiqrEnrollmentView, get_my_tiqr};

pub fn state_label(m: &crate::i18n::Messages, state: PhoneState) -> &'static str {
    match state {
        PhoneState::Active => m.tiqr.tiqr_state_active,
        PhoneState::Blocked => m.tiqr.tiqr_state_blocked,
        PhoneState::Pending => m.tiqr.tiqr_state_pending,
        PhoneState::Unconfirmed => m.tiqr.tiqr_state_unconfirmed,
        PhoneState::Revoked => m.tiqr.tiqr_state_revoked,
    }
}

/// Whether an enrollment under way has something to show (a QR, or the truthful outcome of a
/// phone that was never confirmed); otherwise the page offers to start one.
pub fn under_way(qr: &QrView) -> bool {
    qr.status.is_some_and(EnrollmentStatus::under_way)
}

/// The enrollment under way in this browser: the enrolment QR, then the confirmation QR, or the
/// notice that a phone read the code but was never confirmed. `poll` is the status URL; the page
/// reloads by itself when the status moves to a step it must draw.
#[component]
pub fn EnrollmentUnderWay(qr: QrView, poll: String, #[prop(optional)] desk: bool) -> impl IntoView {
    let m = t();
    let sep = if poll.contains('?') { '&' } else { '?' };
    // The poller compares the status endpoint's answers (text) with the one drawn.
    let shown = qr.status.map_or("", EnrollmentStatus::as_str);
    let poll = format!("{poll}{sep}vu={shown}");
    let state = RwSignal::new(shown.to_string());
    match qr.status {
        Some(EnrollmentStatus::Processed) => view! {
            <section class="card" aria-labelledby="confirmation">
                <h2 id="confirmation">{m.tiqr.tiqr_confirm_title}</h2>
                <p>{m.tiqr.tiqr_confirm_steps}</p>
                <div id="tiqr-confirmation" class="qr" data-tiqr-url=qr.url.clone() inner_html=qr.svg.clone()></div>
                <p><a id="tiqr-lien-confirmation" href=qr.url.clone()>{m.tiqr.tiqr_open_on_phone}</a></p>
                <p class="alert alert-info">{m.tiqr.tiqr_confirm_warning}</p>
                <Poller url=poll state />
                <p><a href="" rel="external">{m.tiqr.tiqr_refresh}</a></p>
            </section>
        }
        .into_any(),
        Some(EnrollmentStatus::Unconfirmed) => view! {
            <p id="tiqr-non-confirme" class="alert alert-error" role="alert">{m.tiqr.tiqr_unconfirmed}</p>
        }
        .into_any(),
        _ => {
            let label = move || match state.get().as_str() {
                "retrieved" => m.tiqr.tiqr_enroll_retrieved,
                "expired" | "expire" => m.tiqr.tiqr_qr_expired,
                _ => m.tiqr.tiqr_enroll_waiting,
            };
            view! {
                <section class="card" aria-labelledby="ajout">
                    <h2 id="ajout">{m.tiqr.tiqr_add}</h2>
                    {if desk {
                        view! { <p>{m.tiqr.tiqr_desk_scan}</p> }.into_any()
                    } else {
                        view! {
                            <ol class="steps">
                                <li>{m.tiqr.tiqr_step_open}</li>
                                <li>{m.tiqr.tiqr_step_scan_enroll}</li>
                                <li>{m.tiqr.tiqr_step_choose_pin}</li>
                            </ol>
                        }
                        .into_any()
                    }}
                    <div id="tiqr-qr" class="qr" data-tiqr-url=qr.url.clone() inner_html=qr.svg.clone()></div>
                    <p id="tiqr-etat" role="status">{label}</p>
                    <Poller url=poll state />
                    <p><a href="" rel="external">{m.tiqr.tiqr_refresh}</a></p>
                </section>
            }
            .into_any()
        }
    }
}

#[component]
pub fn MyTiqr() -> impl IntoView {
    let m = t();
    let data = Resource::new(|| (), |_| get_my_tiqr());
    let query = leptos_router::hooks::use_query_map();
    let info = move || match query.read().get("info").and_then(|s| Info::from_slug(&s)) {
        Some(Info::PhoneEnrolled) => Some(m.tiqr.tiqr_enrolled),
        Some(Info::PasswordNeededForPhone) => Some(m.tiqr.tiqr_password_hint),
        Some(Info::PhoneRevoked) => Some(m.tiqr.tiqr_revoked_own),
        Some(Info::PhoneRenamed) => Some(m.console.adm_done_saved),
        _ => None,
    };
    view! {
        <Title text=m.tiqr.tiqr_title />
        <h1>{m.tiqr.tiqr_title}</h1>
        {move || info().map(|text| view! { <Notice text /> })}
        <QueryError />
        <p class="lead">{m.tiqr.tiqr_intro}</p>
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let csrf = d.csrf.clone();
                        let pending = d.pending.clone().filter(under_way);
                        let unconfirmed = pending.as_ref().is_some_and(|p| p.status == Some(EnrollmentStatus::Unconfirmed));
                        let password_needed = d.password_needed;
                        view! {
                            <ul id="tiqr-inscriptions" class="item-list">
                                {d.enrollments.into_iter().filter(|e| e.state != PhoneState::Revoked).map(|e| view! { <Phone e csrf=csrf.clone() /> }).collect_view()}
                            </ul>
                            {pending.map(|qr| view! { <EnrollmentUnderWay qr poll=paths::MY_TIQR_STATUS.to_string() /> })}
                            {(d.pending.as_ref().is_none_or(|p| !under_way(p)) || unconfirmed).then(|| view! {
                                <form method="post" action=paths::MY_TIQR_ENROLL class="form">
                                    <input type="hidden" name="csrf" value=d.csrf.clone() />
                                    {password_needed.then(|| view! {
                                        <p>{m.tiqr.tiqr_password_hint}</p>
                                        <div class="field">
                                            <label for="tiqr-mot-de-passe">{m.tiqr.tiqr_password_label}</label>
                                            <input id="tiqr-mot-de-passe" name="mot_de_passe" type="password" autocomplete="current-password" required=true />
                                        </div>
                                    })}
                                    <button type="submit">{m.tiqr.tiqr_add}</button>
                                </form>
                            })}
                        }.into_any()
                    }
                    Err(code) => view! { <ErrorMessage code page_error=true /> }.into_any(),
                }
            })}
        </Suspense>
        <p><a href="/" rel="external">{m.common.back_home}</a></p>
    }
}

#[component]
fn Phone(e: TiqrEnrollmentView, csrf: String) -> impl IntoView {
    let m = t();
    let revoke = paths::my_tiqr_revoke(e.id);
    let label = format!("{} {}", m.tiqr.tiqr_revoke, e.name);
    view! {
        <li>
            <span>{e.name.clone()}</span>
            " "
            <span class=format!("status status-{}", e.state.as_str())>{state_label(m, e.state)}</span>
            " "
            <span class="meta">{m.tiqr.tiqr_created} " " {e.created_at.clone()} " · " {m.tiqr.tiqr_enrolled_by} " " {e.enrolled_by.clone().unwrap_or_else(|| m.tiqr.tiqr_enrolled_by_self.to_string())} " · " {m.card.card_last_used} " " {e.last_used_at.clone().unwrap_or_else(|| m.card.card_never.to_string())}</span>
            " "
            <form method="post" action=revoke class="inline-form">
                <input type="hidden" name="csrf" value=csrf />
                <button type="submit" class="button-link" aria-label=label>{m.tiqr.tiqr_revoke}</button>
            </form>
        </li>
    }
}
