//! Passkeys in the pages: the sign-in page's box and the form that adds one to "Mes moyens de
//! connexion".
//!
//! Server-rendered, both say that they need JavaScript (the WebAuthn API is the browser's, reached
//! from a script only). Hydrated, on submit: the page asks the portal for the options (a
//! challenge bound to this browser), hands them to `navigator.credentials` (the browser's own
//! prompt: screen lock, security key), and posts the authenticator's answer in the normal form,
//! so the portal's redirect, cookie and error handling are those of every other form.

use leptos::html;
use leptos::prelude::*;

use crate::components::use_hydrated;
use crate::paths;
use crate::t;

/// The sign-in page's box: "Se connecter avec une clé d'accès", no username typed.
#[component]
pub fn PasskeySignIn(csrf: String) -> impl IntoView {
    let m = t();
    let hydrated = use_hydrated();
    let problem = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let form_ref = NodeRef::<html::Form>::new();
    let answer_ref = NodeRef::<html::Input>::new();
    let csrf_value = StoredValue::new(csrf.clone());
    #[cfg(not(feature = "hydrate"))]
    let _ = (csrf_value, answer_ref, form_ref);

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            problem.set(None);
            busy.set(true);
            leptos::task::spawn_local(async move {
                let body = format!("csrf={}", webauthn::form_value(&csrf_value.get_value()));
                match webauthn::ceremony(paths::PASSKEY_CHALLENGE, &body, false, m).await {
                    Ok(answer) => webauthn::submit(form_ref, answer_ref, &answer),
                    Err(message) => {
                        problem.set(Some(message));
                        busy.set(false);
                    }
                }
            });
        }
    };

    view! {
        <section class="card" aria-labelledby="mode-cle">
            <h2 id="mode-cle">{m.passkey.mode_title}</h2>
            <p>{m.passkey.mode_hint}</p>
            <p class="hint" id="cle-sans-javascript" hidden=move || hydrated.get()>{m.passkey.needs_js}</p>
            {move || problem.get().map(|text| view! {
                <div class="alert alert-error" role="alert" id="erreur-cle"><p>{text}</p></div>
            })}
            <form
                method="post"
                action=paths::PASSKEY_SIGN_IN
                class="form"
                node_ref=form_ref
                on:submit=on_submit
                hidden=move || !hydrated.get()
            >
                <input type="hidden" name="csrf" value=csrf />
                <input type="hidden" name="reponse" node_ref=answer_ref />
                <button type="submit" class="button-primary" id="connexion-cle" disabled=move || busy.get()>
                    {move || if busy.get() { m.passkey.waiting } else { m.passkey.sign_in_button }}
                </button>
            </form>
        </section>
    }
}

/// "Ajouter une clé d'accès" on the holder's page: a name, the password when the sign-in is not
/// recent, then the browser's prompt.
#[component]
pub fn AddPasskey(csrf: String, password_needed: bool) -> impl IntoView {
    let m = t();
    let hydrated = use_hydrated();
    let problem = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let form_ref = NodeRef::<html::Form>::new();
    let answer_ref = NodeRef::<html::Input>::new();
    let password_ref = NodeRef::<html::Input>::new();
    let csrf_value = StoredValue::new(csrf.clone());
    #[cfg(not(feature = "hydrate"))]
    let _ = (csrf_value, answer_ref, form_ref, password_ref);

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            // The password goes with the request for options only; the form that is finally
            // submitted carries no password field.
            let password = password_ref.get().map(|i| i.value()).unwrap_or_default();
            if let Some(input) = password_ref.get() {
                input.set_value("");
            }
            problem.set(None);
            busy.set(true);
            leptos::task::spawn_local(async move {
                let body = format!(
                    "csrf={}&mot_de_passe={}",
                    webauthn::form_value(&csrf_value.get_value()),
                    webauthn::form_value(&password)
                );
                drop(password);
                match webauthn::ceremony(paths::MY_PASSKEY_CHALLENGE, &body, true, m).await {
                    Ok(answer) => webauthn::submit(form_ref, answer_ref, &answer),
                    Err(message) => {
                        problem.set(Some(message));
                        busy.set(false);
                    }
                }
            });
        }
    };

    view! {
        <div class="add-passkey">
            <h3 id="ajouter-cle-titre">{m.passkey.add_title}</h3>
            <p class="hint" id="ajout-cle-sans-javascript" hidden=move || hydrated.get()>{m.passkey.add_needs_js}</p>
            {move || problem.get().map(|text| view! {
                <div class="alert alert-error" role="alert" id="erreur-ajout-cle"><p>{text}</p></div>
            })}
            <form
                method="post"
                action=paths::MY_PASSKEY_ADD
                class="form"
                node_ref=form_ref
                on:submit=on_submit
                hidden=move || !hydrated.get()
                aria-labelledby="ajouter-cle-titre"
            >
                <input type="hidden" name="csrf" value=csrf />
                <input type="hidden" name="reponse" node_ref=answer_ref />
                <div class="field">
                    <label for="nom-cle">{m.passkey.name_label}</label>
                    <input id="nom-cle" name="nom" type="text" maxlength="60" autocomplete="off" aria-describedby="nom-cle-aide" />
                    <p class="hint" id="nom-cle-aide">{m.passkey.name_hint}</p>
                </div>
                {password_needed.then(|| view! {
                    <div class="field">
                        <label for="mot-de-passe-cle">{m.passkey.password_label}</label>
                        // No `name`: the password goes with the request for options, never in
                        // the form posted at the end.
                        <input id="mot-de-passe-cle" type="password" autocomplete="current-password" required maxlength="256" node_ref=password_ref />
                    </div>
                })}
                <button type="submit" class="button-primary" id="ajouter-cle" disabled=move || busy.get()>
                    {move || if busy.get() { m.passkey.waiting } else { m.passkey.add_button }}
                </button>
            </form>
        </div>
    }
}

/// The browser side of a ceremony: the portal's options, the WebAuthn API, the answer as JSON.
/// Uses the JSON forms of the API (`parseCreationOptionsFromJSON`, `toJSON`), which every current
/// browser has, rather than converting base64url fields by hand.
#[cfg(feature = "hydrate")]
mod webauthn {
    use gloo_net::http::Request;
    use js_sys::{Function, JSON, Object, Promise, Reflect};
    use leptos::html;
    use leptos::prelude::*;
    use serde::Deserialize;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    use crate::i18n::Messages;

    #[derive(Debug, Deserialize)]
    struct PortalError {
        message: String,
    }

    /// A value for an `application/x-www-form-urlencoded` body.
    pub fn form_value(s: &str) -> String {
        js_sys::encode_uri_component(s)
            .as_string()
            .unwrap_or_default()
    }

    fn get(target: &JsValue, key: &str) -> Option<JsValue> {
        Reflect::get(target, &JsValue::from_str(key))
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    }

    /// Why the browser's API failed, as the page says it (the DOMException's name).
    fn explain(error: &JsValue, create: bool, m: &'static Messages) -> String {
        let name = get(error, "name")
            .and_then(|n| n.as_string())
            .unwrap_or_default();
        match name.as_str() {
            "NotAllowedError" | "AbortError" => m.passkey.cancelled.to_string(),
            "InvalidStateError" if create => m.passkey.already_on_device.to_string(),
            "NotSupportedError" | "SecurityError" => m.passkey.unsupported.to_string(),
            _ => m.passkey.failed.to_string(),
        }
    }

    /// Options from `endpoint` (posted `body`), the browser's prompt, and its answer as JSON; the
    /// error is the message to show.
    pub async fn ceremony(
        endpoint: &str,
        body: &str,
        create: bool,
        m: &'static Messages,
    ) -> Result<String, String> {
        let window: JsValue = web_sys::window().ok_or(m.passkey.unsupported)?.into();
        let class = get(&window, "PublicKeyCredential").ok_or(m.passkey.unsupported)?;
        let parse = if create {
            "parseCreationOptionsFromJSON"
        } else {
            "parseRequestOptionsFromJSON"
        };
        let parse: Function = get(&class, parse)
            .and_then(|f| f.dyn_into().ok())
            .ok_or(m.passkey.unsupported)?;
        let credentials = get(&window, "navigator")
            .and_then(|n| get(&n, "credentials"))
            .ok_or(m.passkey.unsupported)?;

        let response = Request::post(endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body.to_string())
            .map_err(|_| m.passkey.failed.to_string())?
            .send()
            .await
            .map_err(|_| m.passkey.failed.to_string())?;
        let text = response
            .text()
            .await
            .map_err(|_| m.passkey.failed.to_string())?;
        if !response.ok() {
            return Err(serde_json::from_str::<PortalError>(&text)
                .map(|e| e.message)
                .unwrap_or_else(|_| m.passkey.failed.to_string()));
        }
        let options = JSON::parse(&text).map_err(|_| m.passkey.failed.to_string())?;
        let public_key_json = get(&options, "publicKey").ok_or(m.passkey.failed)?;
        let public_key = parse
            .call1(&class, &public_key_json)
            .map_err(|e| explain(&e, create, m))?;
        let request = Object::new();
        Reflect::set(&request, &JsValue::from_str("publicKey"), &public_key)
            .map_err(|_| m.passkey.failed.to_string())?;
        let method: Function = get(&credentials, if create { "create" } else { "get" })
            .and_then(|f| f.dyn_into().ok())
            .ok_or(m.passkey.unsupported)?;
        let promise: Promise = method
            .call1(&credentials, &request)
            .map_err(|e| explain(&e, create, m))?
            .dyn_into()
            .map_err(|_| m.passkey.failed.to_string())?;
        let credential = JsFuture::from(promise)
            .await
            .map_err(|e| explain(&e, create, m))?;
        let to_json: Function = get(&credential, "toJSON")
            .and_then(|f| f.dyn_into().ok())
            .ok_or(m.passkey.unsupported)?;
        let answer = to_json
            .call0(&credential)
            .map_err(|_| m.passkey.failed.to_string())?;
        JSON::stringify(&answer)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| m.passkey.failed.to_string())
    }

    /// Puts the answer in the form and submits it (`submit()` fires no submit event: the page's
    /// handler does not run again).
    pub fn submit(form: NodeRef<html::Form>, answer: NodeRef<html::Input>, value: &str) {
        if let (Some(form), Some(input)) = (form.get(), answer.get()) {
            input.set_value(value);
            let _ = form.submit();
        }
    }
}
