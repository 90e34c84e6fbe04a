//! `/demo/courriels`: the e-mails the demo wrote instead of sending them (activation and reset
//! links, sign-in codes, notices), so that a newcomer follows every flow in the browser. Offered
//! only with demo data on a public URL that is not https (see `demo_api`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::components::ErrorMessage;
use crate::demo_api::{Piece, get_demo_mail, get_demo_mails};
use crate::paths;
use crate::t;

#[component]
pub fn DemoMails() -> impl IntoView {
    let m = t();
    let data = Resource::new(|| (), |_| get_demo_mails());
    view! {
        <Title text=m.demo.mails_title />
        <h1>{m.demo.mails_title}</h1>
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(mails) if mails.is_empty() => view! {
                        <p class="lead">{m.demo.mails_intro}</p>
                        <p id="courriels-vide">{m.demo.mails_none}</p>
                    }.into_any(),
                    Ok(mails) => view! {
                        <p class="lead">{m.demo.mails_intro}</p>
                        <table class="data-table" id="courriels">
                            <thead>
                                <tr>
                                    <th scope="col">{m.demo.mail_written}</th>
                                    <th scope="col">{m.demo.mail_to}</th>
                                    <th scope="col">{m.demo.mail_subject}</th>
                                </tr>
                            </thead>
                            <tbody>
                                {mails.into_iter().map(|mail| view! {
                                    <tr>
                                        <td>{mail.written}</td>
                                        <td>{mail.to}</td>
                                        <td><a href=paths::demo_mail(&mail.id)>{mail.subject}</a></td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(code) => view! { <ErrorMessage code page_error=true /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn DemoMail() -> impl IntoView {
    let m = t();
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let data = Resource::new(id, get_demo_mail);
    view! {
        <Title text=m.demo.mails_title />
        <p><a href=paths::DEMO_MAILS>{m.demo.mail_back}</a></p>
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(mail) => view! {
                        <h1>{mail.summary.subject.clone()}</h1>
                        <dl class="facts">
                            <dt>{m.demo.mail_to}</dt>
                            <dd>{mail.summary.to.clone()}</dd>
                            <dt>{m.demo.mail_written}</dt>
                            <dd>{mail.summary.written.clone()}</dd>
                        </dl>
                        // The text part, line by line; only the portal's own links are links.
                        <div class="mail-body" id="courriel">
                            {mail.lines.into_iter().map(|line| view! {
                                <p>
                                    {line.into_iter().map(|piece| match piece {
                                        Piece::Text(text) => text.into_any(),
                                        Piece::Link(url) => {
                                            let text = url.clone();
                                            view! { <a href=url rel="external">{text}</a> }.into_any()
                                        }
                                    }).collect_view()}
                                </p>
                            }).collect_view()}
                        </div>
                    }.into_any(),
                    Err(code) => view! {
                        <h1>{m.demo.mails_title}</h1>
                        <ErrorMessage code page_error=true />
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
