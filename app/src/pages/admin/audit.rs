//! "Journal d'audit": filters (dates, actor, target, action, outcome), keyset pages, one row's
//! detail, and the CSV export of the same filter.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::users::enc;
use super::{AdminError, ConsoleNav, options, outcome_label};
use crate::admin_api::{AuditQuery, Choice, get_audit, get_audit_row};
use crate::components::QueryError;
use crate::paths;
use crate::t;

/// The audit label of an identifier typed for no account (`domain::audit::UNKNOWN_ACCOUNT_PREFIX`,
/// then a keyed hash of what was typed: it may have been a password).
pub(crate) const UNKNOWN_ACCOUNT_PREFIX: &str = "#inconnu-";

/// An audit row's actor as shown: "compte inconnu (3f9a…)" for an identifier typed for no account.
pub(crate) fn actor_label(m: &crate::i18n::Messages, actor: &str) -> String {
    match actor.strip_prefix(UNKNOWN_ACCOUNT_PREFIX) {
        Some(hash) => format!("{} ({hash})", m.console.adm_unknown_account),
        None => actor.to_string(),
    }
}

#[component]
pub fn Audit() -> impl IntoView {
    let m = t();
    let query_map = use_query_map();
    let query = move || {
        let q = query_map.read();
        let get = |k: &str| q.get(k).unwrap_or_default();
        AuditQuery {
            du: get("du"),
            au: get("au"),
            acteur: get("acteur"),
            cible: get("cible"),
            action: get("action"),
            resultat: get("resultat"),
            region: get("region"),
            apres: get("apres"),
        }
    };
    let data = Resource::new(query, get_audit);
    view! {
        <Title text=m.console.adm_audit />
        <h1>{m.console.adm_audit}</h1>
        <QueryError />
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let q = query();
                        let filters = format!(
                            "du={}&au={}&acteur={}&cible={}&action={}&resultat={}&region={}",
                            enc(&q.du), enc(&q.au), enc(&q.acteur), enc(&q.cible), enc(&q.action), enc(&q.resultat), enc(&q.region)
                        );
                        let next = d.next.clone().map(|c| format!("{}?{filters}&apres={}", paths::AUDIT, enc(&c)));
                        let export = format!("{}?{filters}", paths::AUDIT_EXPORT);
                        let outcomes = vec![
                            Choice { value: String::new(), label: m.console.adm_any.into() },
                            Choice { value: "success".into(), label: m.console.adm_outcome_success.into() },
                            Choice { value: "failure".into(), label: m.console.adm_outcome_failure.into() },
                            Choice { value: "denied".into(), label: m.console.adm_outcome_denied.into() },
                        ];
                        let mut regions = vec![Choice { value: String::new(), label: m.console.adm_any.into() }];
                        let several = d.console.regions.len() > 1;
                        regions.extend(d.console.regions.clone());
                        view! {
                            <ConsoleNav console=d.console.clone() current="audit" />
                            <form method="get" action=paths::AUDIT class="form search-form filters-form">
                                <div class="filters">
                                    <div class="field">
                                        <label for="du">{m.console.adm_from}</label>
                                        <input id="du" name="du" type="date" value=q.du.clone() />
                                    </div>
                                    <div class="field">
                                        <label for="au">{m.console.adm_to}</label>
                                        <input id="au" name="au" type="date" value=q.au.clone() />
                                    </div>
                                    <div class="field">
                                        <label for="acteur">{m.console.adm_actor}</label>
                                        <input id="acteur" name="acteur" value=q.acteur.clone() maxlength="200" />
                                    </div>
                                    <div class="field">
                                        <label for="cible">{m.console.adm_target}</label>
                                        <input id="cible" name="cible" value=q.cible.clone() maxlength="200" />
                                    </div>
                                    <div class="field">
                                        <label for="action">{m.console.adm_action}</label>
                                        <input id="action" name="action" value=q.action.clone() maxlength="100" aria-describedby="action-aide" />
                                        <p id="action-aide" class="hint">{m.console.adm_action_hint}</p>
                                    </div>
                                    <div class="field">
                                        <label for="resultat">{m.console.adm_outcome}</label>
                                        <select id="resultat" name="resultat">{options(outcomes, q.resultat.clone())}</select>
                                    </div>
                                    {several.then(|| view! {
                                        <div class="field">
                                            <label for="region">{m.console.adm_region}</label>
                                            <select id="region" name="region">{options(regions, q.region.clone())}</select>
                                        </div>
                                    })}
                                </div>
                                <button type="submit">{m.console.adm_filter}</button>
                                " "
                                <a href=export rel="external" class="button-secondary" download="journal-audit.csv" id="export-csv">{m.console.adm_export}</a>
                            </form>
                            {d.rows.is_empty().then(|| view! { <p id="aucun-resultat">{m.console.adm_no_result}</p> })}
                            <table class="data-table" id="journal">
                                <caption class="visually-hidden">{m.console.adm_audit}</caption>
                                <thead><tr>
                                    <th scope="col">{m.console.adm_when}</th>
                                    <th scope="col">{m.console.adm_actor}</th>
                                    <th scope="col">{m.console.adm_action}</th>
                                    <th scope="col">{m.console.adm_outcome}</th>
                                    <th scope="col">{m.console.adm_target}</th>
                                    <th scope="col">{m.console.adm_region}</th>
                                </tr></thead>
                                <tbody>
                                    {d.rows.into_iter().map(|r| {
                                        let href = paths::audit_row(r.id);
                                        view! { <tr>
                                            <td><a href=href>{r.at}</a></td>
                                            <td>{actor_label(m, &r.actor)}</td>
                                            <td><code>{r.action}</code></td>
                                            <td><span class=format!("outcome outcome-{}", r.outcome.as_str())>{outcome_label(m, r.outcome)}</span></td>
                                            <td>{r.target}</td>
                                            <td>{r.region}</td>
                                        </tr> }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {next.map(|href| view! { <p><a href=href rel="next">{m.console.adm_next_page}</a></p> })}
                        }.into_any()
                    }
                    Err(code) => view! { <AdminError code /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn AuditRow() -> impl IntoView {
    let m = t();
    let params = use_params_map();
    let data = Resource::new(
        move || {
            params
                .read()
                .get("id")
                .and_then(|s| s.parse::<i64>().ok())
                .unwrap_or(0)
        },
        get_audit_row,
    );
    view! {
        <Title text=m.console.adm_audit_row />
        <h1>{m.console.adm_audit_row}</h1>
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(r) => view! {
                        <dl class="facts" id="ligne">
                            <dt>"N°"</dt><dd>{r.id}</dd>
                            <dt>{m.console.adm_when}</dt><dd>{r.at}</dd>
                            <dt>{m.console.adm_actor}</dt><dd>{actor_label(m, &r.actor)} " " {r.role}</dd>
                            <dt>{m.console.adm_action}</dt><dd><code>{r.action}</code></dd>
                            <dt>{m.console.adm_outcome}</dt><dd>{outcome_label(m, r.outcome)}</dd>
                            <dt>{m.console.adm_target}</dt><dd>{r.target_type} " " {r.target} " " <span class="meta">{r.target_id}</span></dd>
                            <dt>{m.console.adm_region}</dt><dd>{r.region}</dd>
                            <dt>{m.console.adm_address}</dt><dd>{r.ip}</dd>
                            <dt>{m.console.adm_browser}</dt><dd>{r.user_agent}</dd>
                            <dt>{m.console.adm_details}</dt><dd><pre>{r.details}</pre></dd>
                        </dl>
                        <p><a href=paths::AUDIT>{m.console.adm_back_to_audit}</a></p>
                    }.into_any(),
                    Err(code) => view! { <AdminError code /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    #[test]
    fn unknown_accounts_are_shown_as_such() {
        assert_eq!(
            super::UNKNOWN_ACCOUNT_PREFIX,
            domain::audit::UNKNOWN_ACCOUNT_PREFIX
        );
        let m = crate::i18n::Lang::Fr.messages();
        assert_eq!(
            super::actor_label(m, "#inconnu-0011aabb"),
            "compte inconnu (0011aabb)"
        );
        assert_eq!(super::actor_label(m, "dr.martin"), "dr.martin");
    }
}
