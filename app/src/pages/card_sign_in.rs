//! The "Carte CPS" box of the sign-in page.
//!
//! Server-rendered, it offers the TLS path (a plain link) and says that the PIN path needs the
//! agent and JavaScript. Hydrated, it follows the local agent's reader status (long polling), and
//! on "Connexion": asks the portal for a nonce, has the agent verify the PIN on the card and sign,
//! then posts certificate and signature in a normal form. The PIN goes to the agent only: its
//! input has no `name`, so no form can ever send it to the portal.

use leptos::html;
use leptos::prelude::*;

use crate::api::CardModeView;
use crate::components::use_hydrated;
use crate::paths;
use crate::t;

/// What the page knows about the agent and the reader (learnt by the hydrated page only).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum ReaderState {
    Searching,
    AgentMissing,
    NoService,
    NoReaders,
    NoCard,
    Unreadable,
    Card {
        holder: String,
        card_type: String,
        tries_left: u8,
        blocked: bool,
    },
}

#[component]
pub fn CardSignIn(mode: CardModeView, csrf: String) -> impl IntoView {
    let m = t();
    let hydrated = use_hydrated();
    let reader = RwSignal::new(ReaderState::Searching);
    let problem = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let pin_ref = NodeRef::<html::Input>::new();
    let form_ref = NodeRef::<html::Form>::new();
    let nonce_ref = NodeRef::<html::Input>::new();
    let certificate_ref = NodeRef::<html::Input>::new();
    let signature_ref = NodeRef::<html::Input>::new();
    let agent_url = StoredValue::new(mode.agent_url.clone());
    let csrf_value = StoredValue::new(csrf.clone());

    #[cfg(feature = "hydrate")]
    Effect::new(move |started: Option<bool>| {
        if started.is_none() {
            agent::follow_status(agent_url.get_value(), reader);
        }
        true
    });

    let status_text = move || match reader.get() {
        ReaderState::Searching => m.card.card_agent_searching.to_string(),
        ReaderState::AgentMissing => m.card.card_agent_missing.to_string(),
        ReaderState::NoService => m.card.card_no_service.to_string(),
        ReaderState::NoReaders => m.card.card_no_reader.to_string(),
        ReaderState::NoCard => m.card.card_insert.to_string(),
        ReaderState::Unreadable => m.card.card_unreadable.to_string(),
        ReaderState::Card {
            holder,
            card_type,
            tries_left,
            blocked,
        } => {
            if blocked {
                format!(
                    "{} {holder} ({card_type}). {}",
                    m.card.card_detected, m.card.card_pin_blocked
                )
            } else {
                format!(
                    "{} {holder} ({card_type}) — {tries_left} {}",
                    m.card.card_detected, m.card.card_tries_left
                )
            }
        }
    };
    let can_sign =
        move || matches!(reader.get(), ReaderState::Card { blocked: false, .. }) && !busy.get();

    // Only the hydrated page talks to the agent.
    #[cfg(not(feature = "hydrate"))]
    let _ = (agent_url, csrf_value);

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            let pin = pin_ref.get().map(|i| i.value()).unwrap_or_default();
            if let Some(input) = pin_ref.get() {
                input.set_value("");
            }
            problem.set(None);
            busy.set(true);
            leptos::task::spawn_local(async move {
                let outcome =
                    agent::sign_in(&agent_url.get_value(), &csrf_value.get_value(), &pin, m).await;
                drop(pin);
                match outcome {
                    Ok(proof) => {
                        if let (Some(n), Some(c), Some(s), Some(form)) = (
                            nonce_ref.get(),
                            certificate_ref.get(),
                            signature_ref.get(),
                            form_ref.get(),
                        ) {
                            n.set_value(&proof.nonce);
                            c.set_value(&proof.certificate);
                            s.set_value(&proof.signature);
                            // `submit()` fires no submit event: this handler does not run again.
                            let _ = form.submit();
                        }
                    }
                    Err(message) => {
                        problem.set(Some(message));
                        busy.set(false);
                    }
                }
            });
        }
    };

    view! {
        <section class="card" aria-labelledby="mode-carte">
            <h2 id="mode-carte">{m.sign_in.mode_card}</h2>
            <p>{m.card.card_intro}</p>
            <p class="hint" hidden=move || hydrated.get()>{m.card.card_needs_js}</p>
            <div hidden=move || !hydrated.get()>
                <p class="reader-status" id="etat-lecteur" role="status" aria-live="polite">
                    <span class="visually-hidden">{m.card.card_reader_status} " : "</span>
                    {status_text}
                </p>
                {move || problem.get().map(|text| view! {
                    <div class="alert alert-error" role="alert" id="erreur-carte"><p>{text}</p></div>
                })}
                <form
                    method="post"
                    action=paths::CARD_SIGN_IN
                    class="form"
                    node_ref=form_ref
                    on:submit=on_submit
                >
                    <input type="hidden" name="csrf" value=csrf.clone() />
                    <input type="hidden" name="nonce" node_ref=nonce_ref />
                    <input type="hidden" name="certificate" node_ref=certificate_ref />
                    <input type="hidden" name="signature" node_ref=signature_ref />
                    <div class="field">
                        <label for="code_porteur">{m.card.card_pin}</label>
                        // No `name`: the PIN is never part of a form sent to the portal.
                        <input
                            id="code_porteur"
                            type="password"
                            inputmode="numeric"
                            autocomplete="off"
                            pattern="[0-9]{4,8}"
                            minlength="4"
                            maxlength="8"
                            required
                            node_ref=pin_ref
                            aria-describedby="code-porteur-aide"
                        />
                        <p class="hint" id="code-porteur-aide">{m.card.card_pin_hint}</p>
                    </div>
                    <button type="submit" class="button-primary" id="connexion-carte" disabled=move || !can_sign()>
                        {move || if busy.get() { m.card.card_signing } else { m.card.card_sign_in_button }}
                    </button>
                </form>
            </div>
            {mode.tls.then(|| view! {
                <p class="tls-link">
                    <a href=paths::CARD_TLS_START rel="external" id="lien-certificat">{m.card.card_tls_link}</a>
                </p>
            })}
        </section>
    }
}

/// The browser side of the agent protocol (see `agent/README.md`).
#[cfg(feature = "hydrate")]
mod agent {
    use gloo_net::http::Request;
    use leptos::prelude::*;
    use serde::Deserialize;

    use super::ReaderState;
    use crate::i18n::Messages;

    #[derive(Debug, Deserialize)]
    struct Status {
        revision: u64,
        readers: Vec<ReaderInfo>,
        card: Option<CardInfo>,
    }

    #[derive(Debug, Deserialize)]
    struct ReaderInfo {
        card_present: bool,
    }

    #[derive(Debug, Deserialize)]
    struct CardInfo {
        holder: String,
        card_type: String,
        pin_tries_left: u8,
        pin_blocked: bool,
    }

    #[derive(Debug, Deserialize)]
    struct AgentError {
        error: String,
        pin_tries_left: Option<u8>,
    }

    #[derive(Debug, Deserialize)]
    struct Signed {
        certificate: String,
        signature: String,
    }

    #[derive(Debug, Deserialize)]
    struct Challenge {
        nonce: String,
    }

    pub struct Proof {
        pub nonce: String,
        pub certificate: String,
        pub signature: String,
    }

    async fn sleep(ms: i32) {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }

    fn reader_of(status: &Status) -> ReaderState {
        if status.readers.is_empty() {
            return ReaderState::NoReaders;
        }
        match &status.card {
            Some(c) => ReaderState::Card {
                holder: c.holder.clone(),
                card_type: c.card_type.clone(),
                tries_left: c.pin_tries_left,
                blocked: c.pin_blocked,
            },
            None if status.readers.iter().any(|r| r.card_present) => ReaderState::Unreadable,
            None => ReaderState::NoCard,
        }
    }

    /// Follows the agent's status for as long as the page lives: long polls while it answers,
    /// retries every few seconds while it does not (it may be started after the page).
    pub fn follow_status(base: String, reader: RwSignal<ReaderState>) {
        leptos::task::spawn_local(async move {
            let mut revision: Option<u64> = None;
            loop {
                let url = match revision {
                    Some(r) => format!("{base}/v1/status?after={r}"),
                    None => format!("{base}/v1/status"),
                };
                match Request::get(&url).send().await {
                    Ok(resp) if resp.ok() => match resp.json::<Status>().await {
                        Ok(status) => {
                            revision = Some(status.revision);
                            reader.set(reader_of(&status));
                        }
                        Err(_) => {
                            revision = None;
                            reader.set(ReaderState::AgentMissing);
                            sleep(3000).await;
                        }
                    },
                    Ok(resp) => {
                        let code = resp
                            .json::<AgentError>()
                            .await
                            .map(|e| e.error)
                            .unwrap_or_default();
                        revision = None;
                        reader.set(if code == "no_service" {
                            ReaderState::NoService
                        } else {
                            ReaderState::AgentMissing
                        });
                        sleep(3000).await;
                    }
                    Err(_) => {
                        revision = None;
                        reader.set(ReaderState::AgentMissing);
                        sleep(3000).await;
                    }
                }
            }
        });
    }

    /// Nonce from the portal, PIN and signature on the card through the agent. The error is the
    /// message to show.
    pub async fn sign_in(
        base: &str,
        csrf: &str,
        pin: &str,
        m: &'static Messages,
    ) -> Result<Proof, String> {
        if pin.len() < 4 || pin.len() > 8 || !pin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(m.card.card_pin_format.to_string());
        }
        let challenge = Request::post(crate::paths::CARD_CHALLENGE)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(format!("csrf={csrf}"))
            .map_err(|_| m.card.err_card_challenge.to_string())?
            .send()
            .await
            .map_err(|_| m.card.err_card_challenge.to_string())?;
        if !challenge.ok() {
            return Err(m.card.err_card_challenge.to_string());
        }
        let Challenge { nonce } = challenge
            .json()
            .await
            .map_err(|_| m.card.err_card_challenge.to_string())?;

        let body = serde_json::json!({ "pin": pin, "nonce": nonce });
        let resp = Request::post(&format!("{base}/v1/sign"))
            .json(&body)
            .map_err(|_| m.card.card_agent_error.to_string())?
            .send()
            .await
            .map_err(|_| m.card.card_agent_missing.to_string())?;
        if resp.ok() {
            let signed: Signed = resp
                .json()
                .await
                .map_err(|_| m.card.card_agent_error.to_string())?;
            return Ok(Proof {
                nonce,
                certificate: signed.certificate,
                signature: signed.signature,
            });
        }
        let error = resp.json::<AgentError>().await.ok();
        Err(match error.as_ref().map(|e| e.error.as_str()) {
            Some("pin_incorrect") => m.card.card_pin_incorrect.replace(
                "{n}",
                &error
                    .as_ref()
                    .and_then(|e| e.pin_tries_left)
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "?".into()),
            ),
            Some("pin_blocked") => m.card.card_pin_blocked.to_string(),
            Some("pin_format") => m.card.card_pin_format.to_string(),
            Some("card_removed") => m.card.card_removed.to_string(),
            Some("no_card") => m.card.card_insert.to_string(),
            Some("no_reader") => m.card.card_no_reader.to_string(),
            Some("no_service") => m.card.card_no_service.to_string(),
            _ => m.card.card_agent_error.to_string(),
        })
    }
}
