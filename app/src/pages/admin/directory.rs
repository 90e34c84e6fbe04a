//! « Annuaire national » (`/admin/annuaire`, national administrators): the extractions waiting in
//! the directory's folder, each loaded with one button; the loads with their progress (the page
//! reloads itself every two seconds while one runs, without JavaScript), counts, changes and
//! bad lines; the accounts whose RPPS the directory does not have.

use leptos::prelude::*;
use leptos_meta::{Meta, Title};

use super::{AdminError, ConsoleNav};
use crate::admin_api::{DirectoryLoadView, get_directory_loads};
use crate::components::QueryError;
use crate::{paths, t};

#[component]
pub fn DirectoryLoads() -> impl IntoView {
    let m = t();
    let data = Resource::new(|| (), |_| get_directory_loads());
    view! {
        <Title text=m.directory.console_title />
        <h1>{m.directory.console_title}</h1>
        <QueryError />
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let csrf = d.console.csrf.clone();
                        view! {
                            {d.running.then(|| view! { <Meta http_equiv="refresh" content="2" /> })}
                            <ConsoleNav console=d.console.clone() current="directory" />
                            <p class="lead">{m.directory.console_intro}</p>
                            <section aria-labelledby="dossier" class="card">
                                <h2 id="dossier">{(m.directory.folder)(&d.folder)}</h2>
                                {if d.files.is_empty() {
                                    view! { <p>{m.directory.folder_empty}</p> }.into_any()
                                } else {
                                    view! {
                                        <ul class="directory-inbox">
                                            {d.files.into_iter().map(|f| {
                                                let csrf = csrf.clone();
                                                view! {
                                                    <li>
                                                        <form method="post" action=paths::DIRECTORY_LOADS class="inline-row">
                                                            <input type="hidden" name="csrf" value=csrf />
                                                            <input type="hidden" name="fichier" value=f.name.clone() />
                                                            <span>{f.name.clone()} " — " {(m.directory.file)(f.kind)} " — " {f.megabytes} " Mo"</span>
                                                            <button type="submit" aria-label=format!("{} {}", m.directory.load, f.name)>{m.directory.load}</button>
                                                        </form>
                                                    </li>
                                                }
                                            }).collect_view()}
                                        </ul>
                                    }.into_any()
                                }}
                            </section>
                            <section aria-labelledby="chargements">
                                <h2 id="chargements">{m.directory.loads}</h2>
                                <table class="data-table" id="chargements-table">
                                    <thead><tr>
                                        <th scope="col">{m.directory.col_file}</th>
                                        <th scope="col">{m.directory.col_started}</th>
                                        <th scope="col">{m.directory.col_state}</th>
                                        <th scope="col">{m.directory.col_result}</th>
                                    </tr></thead>
                                    <tbody>
                                        {d.loads.into_iter().map(|l| view! { <LoadRow load=l /> }).collect_view()}
                                    </tbody>
                                </table>
                            </section>
                            {d.absent.map(|(rows, total)| view! {
                                <section aria-labelledby="absents">
                                    <h2 id="absents">{m.directory.absent_title}</h2>
                                    {if rows.is_empty() {
                                        view! { <p>{m.directory.absent_none}</p> }.into_any()
                                    } else {
                                        view! {
                                            <p>{(m.directory.absent_intro)(total)}</p>
                                            <ul id="comptes-absents">
                                                {rows.into_iter().map(|a| view! {
                                                    <li><a href=paths::user(&a.id)>{a.name}</a> " (" {a.username} ", RPPS " {a.rpps} ", " {a.region} ")"</li>
                                                }).collect_view()}
                                            </ul>
                                        }.into_any()
                                    }}
                                </section>
                            })}
                        }.into_any()
                    }
                    Err(code) => view! { <AdminError code /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn LoadRow(load: DirectoryLoadView) -> impl IntoView {
    let m = t();
    let running = load.state == "running";
    let result = if running {
        view! {
            <progress max="100" value=load.percent.to_string()>{load.percent} " %"</progress>
            " " {(m.directory.progress)(load.percent)}
        }
        .into_any()
    } else if let Some(refusal) = &load.refusal {
        view! { <p class="error-text">{(m.directory.error)(refusal)}</p> }.into_any()
    } else if load.failed {
        view! { <p class="error-text">{m.directory.failed}</p> }.into_any()
    } else if load.state == "unchanged" {
        view! { <p>{m.directory.unchanged}</p> }.into_any()
    } else {
        view! {
            <p>{(m.directory.loaded)(load.lines, load.rows, load.bad_lines)}</p>
            <p>{(m.directory.changes)(load.added, load.removed, load.changed)}</p>
        }
        .into_any()
    };
    let samples = (!load.samples.is_empty()).then(|| {
        view! {
            <details>
                <summary>{m.directory.set_aside} " (" {load.bad_lines} ")"</summary>
                <ul>
                    {load.samples.iter().map(|(line, problem)| view! {
                        <li>{(m.directory.bad_line)(*line, &(m.directory.line_problem)(problem))}</li>
                    }).collect_view()}
                </ul>
            </details>
        }
    });
    view! {
        <tr data-etat=load.state.clone()>
            <td>{load.file_name.clone()} <br /> <small>{(m.directory.file)(load.kind)}</small></td>
            <td>{load.started.clone()} <br /> <small>{load.by.clone()}</small></td>
            <td>{(m.directory.state)(&load.state)}</td>
            <td>{result} {samples}</td>
        </tr>
    }
}
