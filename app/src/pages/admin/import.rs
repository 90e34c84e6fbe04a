//! "Import CSV": the upload form with the recent imports, and one upload's page — its check in
//! progress, the preview with every problem (line, column, value, message), the confirmation, the
//! import in progress and its report. A running step's page reloads itself every two seconds
//! (a `refresh` meta, so it works without JavaScript); the state lives in the database, so leaving
//! and coming back shows where the import stands.

use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;

use model::import::{RowKind, UploadState};

use super::{AdminError, AdminInfo, ConsoleNav, RegionField};
use crate::components::{Notice, QueryError};
use crate::i18n::Messages;
use crate::import_api::{FindingsView, ImportView, ImportsData, get_import, get_imports};
use crate::paths;
use crate::t;

fn state_label(m: &Messages, state: UploadState) -> &'static str {
    match state {
        UploadState::Validating => m.import.imp_state_validating,
        UploadState::Previewed => m.import.imp_state_previewed,
        UploadState::Committing => m.import.imp_state_committing,
        UploadState::Committed => m.import.imp_state_committed,
        UploadState::Interrupted => m.import.imp_state_interrupted,
        UploadState::Abandoned => m.import.imp_state_abandoned,
    }
}

#[component]
pub fn Imports() -> impl IntoView {
    let m = t();
    let data = Resource::new(|| (), |_| get_imports());
    view! {
        <Title text=m.import.imp_title />
        <h1>{m.import.imp_title}</h1>
        <QueryError />
        <AdminInfo />
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <ImportsBody d /> }.into_any(),
                    Err(code) => view! { <AdminError code /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ImportsBody(d: ImportsData) -> impl IntoView {
    let m = t();
    let format = (m.import.imp_format)(d.max_rows, d.max_mib);
    view! {
        <ConsoleNav console=d.console.clone() current="import" />
        <p class="lead">{m.import.imp_intro}</p>
        <p id="format-aide">{format}</p>
        <p><a href=paths::IMPORT_TEMPLATE rel="external" download="modele-import.csv">{m.import.imp_template}</a></p>
        <form method="post" action=paths::IMPORTS enctype="multipart/form-data" class="form">
            <input type="hidden" name="csrf" value=d.console.csrf.clone() />
            <RegionField regions=d.console.regions.clone() />
            <div class="field">
                <label for="fichier">{m.import.imp_file}</label>
                <input id="fichier" name="fichier" type="file" accept=".csv,.txt,text/csv" required aria-describedby="format-aide" />
            </div>
            <button type="submit">{m.import.imp_check}</button>
        </form>
        <h2>{m.import.imp_recent}</h2>
        {if d.uploads.is_empty() {
            view! { <p>{m.import.imp_none}</p> }.into_any()
        } else {
            view! {
                <table class="data-table" id="imports">
                    <caption class="visually-hidden">{m.import.imp_recent}</caption>
                    <thead><tr>
                        <th scope="col">{m.import.imp_col_date}</th>
                        <th scope="col">{m.import.imp_col_file}</th>
                        <th scope="col">{m.console.adm_region}</th>
                        <th scope="col">{m.import.imp_col_rows}</th>
                        <th scope="col">{m.import.imp_col_state}</th>
                        <th scope="col">{m.import.imp_col_by}</th>
                    </tr></thead>
                    <tbody>
                        {d.uploads.into_iter().map(|u| {
                            let href = paths::import(&u.id);
                            view! { <tr>
                                <td>{u.date}</td>
                                <td><a href=href>{u.file_name}</a></td>
                                <td>{u.region}</td>
                                <td>{u.rows}</td>
                                <td>{state_label(m, u.state)}</td>
                                <td>{u.actor}</td>
                            </tr> }
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}

#[component]
pub fn ImportUpload() -> impl IntoView {
    let m = t();
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let data = Resource::new(id, get_import);
    view! {
        <Title text=m.import.imp_title />
        <QueryError />
        <AdminInfo />
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! {
                        <h1>{(m.import.imp_upload_title)(&d.upload.file_name)}</h1>
                        <ConsoleNav console=d.console.clone() current="import" />
                        <UploadBody upload=d.upload csrf=d.console.csrf />
                    }.into_any(),
                    Err(code) => view! { <h1>{m.import.imp_title}</h1> <AdminError code /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A form posting to one of the upload's actions.
fn action_form(
    id: &str,
    verb: &'static str,
    csrf: String,
    label: &'static str,
    secondary: bool,
) -> impl IntoView {
    let action = paths::import_action(id, verb);
    view! {
        <form method="post" action=action class="inline-form">
            <input type="hidden" name="csrf" value=csrf />
            <button type="submit" class=if secondary { "button-secondary" } else { "button-primary" }>{label}</button>
        </form>
    }
}

#[component]
fn UploadBody(upload: ImportView, csrf: String) -> impl IntoView {
    let m = t();
    let u = upload;
    let summary = (m.import.imp_summary)(u.rows_total, &u.region, &u.actor, &u.date);
    let running = u.state.is_running();
    let body = match u.state {
        UploadState::Validating | UploadState::Committing => {
            let (text, done, total) = match &u.progress {
                Some((phase, done, total)) => {
                    let template = if phase == "written" {
                        m.import.imp_progress_written
                    } else {
                        m.import.imp_progress_validated
                    };
                    (template(*done, *total), *done, *total)
                }
                None => (m.import.imp_progress_starting.to_string(), 0, 0),
            };
            let href = paths::import(&u.id);
            view! {
                <h2>{state_label(m, u.state)}</h2>
                <div role="status" id="progression">
                    <p>{text.clone()}</p>
                    <progress max=total.max(1) value=done aria-label=text></progress>
                </div>
                <p>{m.import.imp_progress_wait} " " <a href=href>{m.import.imp_refresh}</a></p>
            }
            .into_any()
        }
        UploadState::Interrupted => view! {
            <Notice text=m.import.imp_interrupted />
            <div class="actions">
                {action_form(&u.id, "verifier", csrf.clone(), m.import.imp_recheck, false)}
                {action_form(&u.id, "abandonner", csrf.clone(), m.import.imp_abandon, true)}
            </div>
        }
        .into_any(),
        UploadState::Previewed => {
            view! { <Preview upload=u.clone() csrf=csrf.clone() /> }.into_any()
        }
        UploadState::Committed => {
            let report = u.report.clone();
            let csv = paths::import_action(&u.id, "rapport.csv");
            view! {
                {report.map(|r| view! {
                    <Notice text=if r.nothing_changed { m.import.imp_nothing_changed } else { m.import.imp_committed } />
                    <h2>{m.import.imp_done_counts}</h2>
                    <Counts findings=r.findings.clone() done=true />
                    <Findings findings=r.findings />
                })}
                <p class="actions">
                    <a class="button" href=csv rel="external" download="rapport-import.csv">{m.import.imp_report_csv}</a>
                    " "
                    <a href=format!("{}?statut=pending_activation", paths::USERS)>{m.import.imp_see_users}</a>
                    " "
                    <a href=paths::IMPORTS>{m.import.imp_another}</a>
                </p>
            }
            .into_any()
        }
        UploadState::Abandoned => view! {
            <Notice text=m.import.imp_abandoned />
            <p><a href=paths::IMPORTS>{m.import.imp_another}</a></p>
        }
        .into_any(),
    };
    view! {
        {running.then(|| view! { <Meta http_equiv="refresh" content="2" /> })}
        <p>{summary}</p>
        {body}
    }
}

#[component]
fn Preview(upload: ImportView, csrf: String) -> impl IntoView {
    let m = t();
    let u = upload;
    let Some(p) = u.preview.clone() else {
        return view! { <p>{m.import.imp_progress_starting}</p> }.into_any();
    };
    let c = p.findings.counts;
    let detected = (m.import.imp_detected)(&p.encoding, &p.delimiter);
    let unknown = (!p.unknown_columns.is_empty())
        .then(|| (m.import.imp_unknown_columns)(&p.unknown_columns.join(", ")));
    let csv = paths::import_action(&u.id, "apercu.csv");
    let commit = paths::import_action(&u.id, "valider");
    view! {
        {u.interrupted.then(|| view! { <Notice text=m.import.imp_commit_interrupted /> })}
        {u.now_in_error.map(|n| view! {
            <div class="error" role="alert"><p>{(m.import.imp_now_in_error)(n)}</p></div>
        })}
        <h2>{m.import.imp_counts}</h2>
        <p>{detected}</p>
        {unknown.map(|text| view! { <p class="hint">{text}</p> })}
        <Counts findings=p.findings.clone() done=false />
        {(c.create + c.update == 0 && c.errors == 0).then(|| view! { <Notice text=m.import.imp_nothing_to_do /> })}
        <Findings findings=p.findings.clone() />
        <p><a href=csv rel="external" download="verification-import.csv">{m.import.imp_preview_csv}</a></p>
        <form method="post" action=commit class="form">
            <input type="hidden" name="csrf" value=csrf.clone() />
            {(c.errors > 0).then(|| view! {
                <div class="checkbox">
                    <input type="checkbox" id="ignorer" name="ignorer_erreurs" value="oui" />
                    <label for="ignorer">{m.import.imp_skip_errors}</label>
                </div>
            })}
            <button type="submit">{m.import.imp_commit}</button>
        </form>
        <div class="actions">
            {action_form(&u.id, "verifier", csrf.clone(), m.import.imp_recheck, true)}
            {action_form(&u.id, "abandonner", csrf, m.import.imp_abandon, true)}
        </div>
    }
    .into_any()
}

#[component]
fn Counts(findings: FindingsView, done: bool) -> impl IntoView {
    let m = t();
    let c = findings.counts;
    let labels = if done {
        [
            m.import.imp_done_create,
            m.import.imp_done_update,
            m.import.imp_done_unchanged,
            m.import.imp_done_skipped,
        ]
    } else {
        [
            m.import.imp_count_create,
            m.import.imp_count_update,
            m.import.imp_count_unchanged,
            m.import.imp_count_errors,
        ]
    };
    let values = [c.create, c.update, c.unchanged, c.errors];
    view! {
        <dl class="counts" id="compteurs">
            {labels.into_iter().zip(values).map(|(label, value)| view! {
                <div><dt>{label}</dt> " " <dd>{value}</dd></div>
            }).collect_view()}
        </dl>
    }
}

#[component]
fn Findings(findings: FindingsView) -> impl IntoView {
    let m = t();
    let more = |n: usize| (n > 0).then(|| view! { <p>{(m.import.imp_more)(n)}</p> });
    let kind = move |k: RowKind| match k {
        RowKind::Create => m.import.imp_kind_create,
        RowKind::Update => m.import.imp_kind_update,
        RowKind::Unchanged => m.import.imp_kind_unchanged,
    };
    view! {
        {(!findings.problems.is_empty()).then(|| view! {
            <h2>{m.import.imp_problems}</h2>
            <table class="data-table" id="problemes">
                <caption class="visually-hidden">{m.import.imp_problems}</caption>
                <thead><tr>
                    <th scope="col">{m.import.imp_col_line}</th>
                    <th scope="col">{m.import.imp_col_column}</th>
                    <th scope="col">{m.import.imp_col_value}</th>
                    <th scope="col">{m.import.imp_col_message}</th>
                </tr></thead>
                <tbody>
                    {findings.problems.clone().into_iter().map(|p| view! { <tr>
                        <td>{p.line}</td>
                        <td>{p.column}</td>
                        <td>{p.value}</td>
                        <td>{p.message}</td>
                    </tr> }).collect_view()}
                </tbody>
            </table>
        })}
        {more(findings.more_problems)}
        {(!findings.rows.is_empty()).then(|| view! {
            <h2>{m.import.imp_rows}</h2>
            <table class="data-table" id="lignes">
                <caption class="visually-hidden">{m.import.imp_rows}</caption>
                <thead><tr>
                    <th scope="col">{m.import.imp_col_line}</th>
                    <th scope="col">{m.import.imp_col_username}</th>
                    <th scope="col">{m.import.imp_col_action}</th>
                    <th scope="col">{m.import.imp_col_establishments}</th>
                </tr></thead>
                <tbody>
                    {findings.rows.clone().into_iter().map(|r| view! { <tr>
                        <td>{r.line}</td>
                        <td>{r.username}</td>
                        <td>{kind(r.kind)}</td>
                        <td>{r.establishments.join(", ")}</td>
                    </tr> }).collect_view()}
                </tbody>
            </table>
        })}
        {more(findings.more_rows)}
    }
}
