//! One account, as the desk sees it on the phone: identity, state, establishments, cards, Pro Santé
//! Connect identities, TIQR phones, sessions, roles, recent audit rows, the actions the actor may
//! take (each a small form; the edge authorises it again), and "Compte compromis".

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use model::account::UserStatus;
use model::tiqr::{EnrollmentStatus, PhoneState};

use super::{AdminError, AdminInfo, ConsoleNav, options, outcome_label, role_label, status_label};
use crate::admin_api::{UserDetailData, get_user};
use crate::components::QueryError;
use crate::paths;
use crate::t;

#[component]
pub fn User() -> impl IntoView {
    let m = t();
    let params = use_params_map();
    let data = Resource::new(
        move || params.read().get("id").unwrap_or_default(),
        get_user,
    );
    view! {
        <Title text=m.console.adm_user_title />
        <QueryError />
        <AdminInfo />
        <Suspense fallback=move || view! { <p>{m.common.loading}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <UserPage d /> }.into_any(),
                    Err(code) => view! { <h1>{m.console.adm_user_title}</h1> <AdminError code /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A one-button form posting to `/admin/comptes/{id}/{verb}`.
fn action_form(
    id: String,
    verb: &'static str,
    csrf: String,
    label: &'static str,
    class: &'static str,
) -> impl IntoView {
    let action = paths::user_action(&id, verb);
    view! {
        <form method="post" action=action class="inline-form">
            <input type="hidden" name="csrf" value=csrf />
            <button type="submit" class=class>{label}</button>
        </form>
    }
}

#[component]
fn UserPage(d: UserDetailData) -> impl IntoView {
    let m = t();
    let can = |name: &str| d.allowed.iter().any(|a| a == name);
    let csrf = d.console.csrf.clone();
    let id = d.id.clone();
    let title = format!("{} {}", d.given_name, d.family_name);
    let status = d.status;
    let post = move |verb: &str| paths::user_action(&id, verb);
    let actions = view! {
        <div class="actions">
            {(can("unlock") && (d.locked_until.is_some() || status == UserStatus::Locked)).then(|| action_form(d.id.clone(), "deverrouiller", csrf.clone(), m.console.adm_unlock, "button"))}
            {(can("keep_active") && status == UserStatus::Dormant).then(|| action_form(d.id.clone(), "prolonger", csrf.clone(), m.dormancy.keep_active, "button"))}
            {(can("send_link") && matches!(status, UserStatus::Active | UserStatus::PendingActivation | UserStatus::Dormant)).then(|| {
                let label = if status == UserStatus::PendingActivation { m.console.adm_send_activation } else { m.console.adm_send_reset };
                action_form(d.id.clone(), "lien", csrf.clone(), label, "button-secondary")
            })}
            {(can("end_sessions") && !d.sessions.is_empty()).then(|| action_form(d.id.clone(), "sessions", csrf.clone(), m.console.adm_end_sessions, "button-secondary"))}
            {(can("set_user_status") && status != UserStatus::Disabled).then(|| action_form(d.id.clone(), "desactiver", csrf.clone(), m.console.adm_disable, "button-danger"))}
            {(can("set_user_status") && status == UserStatus::Disabled).then(|| action_form(d.id.clone(), "reactiver", csrf.clone(), m.console.adm_enable, "button-secondary"))}
        </div>
    };
    view! {
        <ConsoleNav console=d.console.clone() current="users" />
        <h1>{title}</h1>
        <section aria-labelledby="etat" class="card">
            <h2 id="etat">{m.console.adm_state}</h2>
            <dl class="facts">
                <dt>{m.sign_in.username}</dt>
                <dd id="identifiant">{d.username.clone()}</dd>
                <dt>{m.console.adm_status}</dt>
                <dd id="statut"><span class=format!("status status-{}", d.status.as_str())>{status_label(m, d.status)}</span></dd>
                {d.locked_until.clone().map(|until| view! {
                    <dt>{m.console.adm_locked_until}</dt>
                    <dd id="verrou">{until}</dd>
                })}
                <dt>{m.console.adm_region}</dt>
                <dd>{d.region_name.clone()} " (" {d.region.clone()} ")"</dd>
                <dt>{m.console.adm_created}</dt>
                <dd>{d.created_at.clone()}</dd>
            </dl>
            {actions}
        </section>

        <section aria-labelledby="identite" class="card">
            <h2 id="identite">{m.console.adm_identity}</h2>
            {if can("edit_user") {
                view! {
                    <form method="post" action=post("modifier") class="form">
                        <input type="hidden" name="csrf" value=d.console.csrf.clone() />
                        <input type="hidden" name="version" value=d.version.to_string() />
                        <div class="field">
                            <label for="nom">{m.console.adm_family_name}</label>
                            <input id="nom" name="nom" value=d.family_name.clone() required maxlength="100" autocomplete="off" />
                        </div>
                        <div class="field">
                            <label for="prenom">{m.console.adm_given_name}</label>
                            <input id="prenom" name="prenom" value=d.given_name.clone() required maxlength="100" autocomplete="off" />
                        </div>
                        <div class="field">
                            <label for="courriel">{m.console.adm_email}</label>
                            <input id="courriel" name="courriel" type="email" value=d.email.clone() required maxlength="254" autocomplete="off" />
                        </div>
                        <div class="field">
                            <label for="rpps">"RPPS"</label>
                            <input id="rpps" name="rpps" value=d.rpps.clone() inputmode="numeric" maxlength="11" pattern="[0-9]{11}" autocomplete="off" aria-describedby="rpps-aide" />
                            <p id="rpps-aide" class="hint">{m.console.adm_rpps_hint}</p>
                        </div>
                        <div class="field">
                            <label for="identite_nationale">{m.console.adm_national_id}</label>
                            <input id="identite_nationale" name="identite_nationale" value=d.declared_national_id.clone() maxlength="64" autocomplete="off" aria-describedby="identite-aide" />
                            <p id="identite-aide" class="hint">{m.console.adm_national_id_hint}</p>
                        </div>
                        <button type="submit">{m.console.adm_save}</button>
                    </form>
                }.into_any()
            } else {
                view! {
                    <dl class="facts">
                        <dt>{m.console.adm_family_name}</dt><dd>{d.family_name.clone()}</dd>
                        <dt>{m.console.adm_given_name}</dt><dd>{d.given_name.clone()}</dd>
                        <dt>{m.console.adm_email}</dt><dd>{d.email.clone()}</dd>
                        <dt>"RPPS"</dt><dd>{d.rpps.clone()}</dd>
                        <dt>{m.console.adm_national_id}</dt><dd>{d.declared_national_id.clone()}</dd>
                    </dl>
                }.into_any()
            }}
        </section>

        <section aria-labelledby="etablissements" class="card">
            <h2 id="etablissements">{m.console.adm_establishments}</h2>
            {d.memberships.is_empty().then(|| view! { <p>{m.console.adm_no_membership}</p> })}
            <ul class="item-list" id="liste-etablissements">
                {d.memberships.clone().into_iter().map(|e| {
                    let remove = can("manage_memberships").then(|| {
                        let label = format!("{} {}", m.console.adm_remove, e.label);
                        view! {
                            <form method="post" action=post("etablissement-retirer") class="inline-form">
                                <input type="hidden" name="csrf" value=d.console.csrf.clone() />
                                <input type="hidden" name="finess" value=e.id.clone() />
                                <button type="submit" class="button-link" aria-label=label>{m.console.adm_remove}</button>
                            </form>
                        }
                    });
                    view! { <li><span>{e.label.clone()}</span> " " <span class="meta">{e.detail.clone()}</span> {remove}</li> }
                }).collect_view()}
            </ul>
            {(can("manage_memberships") && !d.attachable.is_empty()).then(|| view! {
                <form method="post" action=post("etablissement-ajouter") class="form inline-fields">
                    <input type="hidden" name="csrf" value=d.console.csrf.clone() />
                    <div class="field">
                        <label for="ajout-etablissement">{m.console.adm_add_membership}</label>
                        <select id="ajout-etablissement" name="finess">{options(d.attachable.clone(), String::new())}</select>
                    </div>
                    <button type="submit">{m.console.adm_add}</button>
                </form>
            })}
        </section>

        {d.directory.clone().map(|dir| view! {
            <section aria-labelledby="annuaire" class="card">
                <h2 id="annuaire">{m.directory.account_title}</h2>
                {if dir.absent {
                    view! { <p class="alert alert-warning" id="annuaire-absent">{m.directory.account_absent}</p> }.into_any()
                } else {
                    view! {
                        <p>{m.directory.account_name} " : " {dir.name.clone()}</p>
                        {dir.name_differs.then(|| view! { <p class="alert alert-warning">{m.directory.account_name_differs}</p> })}
                        <ul class="item-list" id="annuaire-activites">
                            {dir.activities.iter().map(|a| view! { <li>{a.clone()}</li> }).collect_view()}
                        </ul>
                    }.into_any()
                }}
                {(!d.directory_exception.is_empty()).then(|| view! {
                    <p>{m.directory.account_exception} " : « " {d.directory_exception.clone()} " »"</p>
                })}
                {(can("edit_user") && (dir.absent || dir.name_differs || !d.directory_exception.is_empty())).then(|| view! {
                    <form method="post" action=post("annuaire-exception") class="form">
                        <input type="hidden" name="csrf" value=d.console.csrf.clone() />
                        <div class="field">
                            <label for="motif_annuaire">{m.directory.exception_label}</label>
                            <textarea id="motif_annuaire" name="motif_annuaire" rows="2" maxlength="500" aria-describedby="motif-annuaire-aide">{d.directory_exception.clone()}</textarea>
                            <p id="motif-annuaire-aide" class="hint">{m.directory.exception_hint}</p>
                        </div>
                        <button type="submit" class="button-secondary">{m.directory.exception_save}</button>
                    </form>
                })}
            </section>
        })}

        <section aria-labelledby="cartes" class="card">
            <h2 id="cartes">{m.console.adm_cards}</h2>
            {d.cards.is_empty().then(|| view! { <p>{m.console.adm_no_card}</p> })}
            <ul class="item-list">
                {d.cards.clone().into_iter().map(|c| {
                    let unlink = can("unlink_card").then(|| view! {
                        <form method="post" action=post("carte-delier") class="inline-form">
                            <input type="hidden" name="csrf" value=d.console.csrf.clone() />
                            <input type="hidden" name="carte" value=c.id.clone() />
                            <button type="submit" class="button-link">{m.console.adm_unlink_card}</button>
                        </form>
                    });
                    view! { <li><span>{c.label.clone()}</span> " " <span class="meta">{m.card.card_valid_until} " " {c.detail.clone()}</span> {unlink}</li> }
                }).collect_view()}
            </ul>
        </section>

        <section aria-labelledby="identites-psc" class="card">
            <h2 id="identites-psc">{m.console.adm_psc}</h2>
            {d.psc.is_empty().then(|| view! { <p>{m.console.adm_no_psc}</p> })}
            <ul class="item-list" id="liste-identites-psc">
                {d.psc.clone().into_iter().map(|p| {
                    let unlink = can("unlink_psc").then(|| {
                        let label = format!("{} {}", m.console.adm_unlink_psc, p.label);
                        view! {
                            <form method="post" action=post("psc-retirer") class="inline-form">
                                <input type="hidden" name="csrf" value=d.console.csrf.clone() />
                                <input type="hidden" name="identite" value=p.id.clone() />
                                <button type="submit" class="button-link" aria-label=label>{m.console.adm_unlink_psc}</button>
                            </form>
                        }
                    });
                    view! { <li><span>{p.label.clone()}</span> " " <span class="meta">{p.detail.clone()}</span> {unlink}</li> }
                }).collect_view()}
            </ul>
        </section>

        <section aria-labelledby="cles-d-acces" class="card">
            <h2 id="cles-d-acces">{m.passkey.section_title}</h2>
            {d.passkeys.is_empty().then(|| view! { <p>{m.passkey.none}</p> })}
            <ul class="item-list" id="liste-cles">
                {d.passkeys.clone().into_iter().map(|p| {
                    let remove = can("remove_passkey").then(|| {
                        let label = format!("{} « {} »", m.passkey.remove_button, p.label);
                        view! {
                            <form method="post" action=post("cle-retirer") class="inline-form">
                                <input type="hidden" name="csrf" value=d.console.csrf.clone() />
                                <input type="hidden" name="cle" value=p.id.clone() />
                                <button type="submit" class="button-link" aria-label=label>{m.passkey.remove_button}</button>
                            </form>
                        }
                    });
                    view! { <li><span>{p.label.clone()}</span> " " <span class="meta">{p.detail.clone()}</span> {remove}</li> }
                }).collect_view()}
            </ul>
        </section>

        {d.tiqr.clone().map(|list| {
            let pending = d.tiqr_pending.clone().filter(crate::pages::my_tiqr::under_way);
            let can_start = pending.as_ref().is_none_or(|p| p.status == Some(EnrollmentStatus::Unconfirmed)) && can("enroll_tiqr");
            view! {
                <section id="tiqr" aria-labelledby="tiqr-titre" class="card">
                    <h2 id="tiqr-titre">{m.tiqr.tiqr_title}</h2>
                    {list.is_empty().then(|| view! { <p>{m.tiqr.tiqr_none}</p> })}
                    <ul class="item-list" id="tiqr-liste">
                        {list.into_iter().map(|e| {
                            let unblock = (can("revoke_tiqr") && e.state == PhoneState::Blocked).then(|| view! {
                                <form method="post" action=post("tiqr-debloquer") class="inline-form">
                                    <input type="hidden" name="csrf" value=d.console.csrf.clone() />
                                    <input type="hidden" name="inscription" value=e.id.clone() />
                                    <button type="submit" class="button-link">{m.tiqr.tiqr_unblock}</button>
                                </form>
                            });
                            let revoke = (can("revoke_tiqr") && e.state != PhoneState::Revoked).then(|| view! {
                                <form method="post" action=post("tiqr-revoquer") class="inline-form">
                                    <input type="hidden" name="csrf" value=d.console.csrf.clone() />
                                    <input type="hidden" name="inscription" value=e.id.clone() />
                                    <button type="submit" class="button-link">{m.tiqr.tiqr_revoke}</button>
                                </form>
                            });
                            view! {
                                <li>
                                    <span>{e.name.clone()}</span>
                                    " "
                                    <span class=format!("status status-{}", e.state.as_str())>{crate::pages::my_tiqr::state_label(m, e.state)}</span>
                                    " "
                                    <span class="meta">{m.tiqr.tiqr_failures} " " <span class="failures">{e.failures}</span> " · " {m.tiqr.tiqr_created} " " {e.created_at.clone()} " · " <span class="enrolled-by">{m.tiqr.tiqr_enrolled_by} " " {e.enrolled_by.clone().unwrap_or_else(|| m.tiqr.tiqr_enrolled_by_self.to_string())}</span> " · " {m.card.card_last_used} " " {e.last_used_at.clone().unwrap_or_else(|| m.card.card_never.to_string())}</span>
                                    " "
                                    {unblock}
                                    {revoke}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    {pending.map(|qr| view! {
                        <crate::pages::my_tiqr::EnrollmentUnderWay qr poll=format!("{}?compte={}", paths::MY_TIQR_STATUS, d.id) desk=true />
                    })}
                    {can_start.then(|| view! {
                        <p>{m.tiqr.tiqr_desk_code_hint}</p>
                        <form method="post" action=post("tiqr-code") class="inline-form">
                            <input type="hidden" name="csrf" value=d.console.csrf.clone() />
                            <button type="submit" class="button-secondary">{m.tiqr.tiqr_desk_send_code}</button>
                        </form>
                        <form method="post" action=post("tiqr-inscrire") class="form inline-fields">
                            <input type="hidden" name="csrf" value=d.console.csrf.clone() />
                            <div class="field">
                                <label for="tiqr-code-titulaire">{m.tiqr.tiqr_desk_code_label}</label>
                                <input id="tiqr-code-titulaire" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required=true />
                            </div>
                            <button type="submit" class="button-secondary">{m.tiqr.tiqr_desk_enroll}</button>
                        </form>
                    })}
                </section>
            }
        })}

        <section aria-labelledby="sessions" class="card">
            <h2 id="sessions">{m.console.adm_sessions}</h2>
            {d.sessions.is_empty().then(|| view! { <p>{m.console.adm_no_session}</p> })}
            <ul class="item-list">
                {d.sessions.clone().into_iter().map(|s| view! { <li><span>{s.label}</span> " " <span class="meta">{s.detail}</span></li> }).collect_view()}
            </ul>
        </section>

        <section aria-labelledby="roles" class="card">
            <h2 id="roles">{m.console.adm_roles}</h2>
            {d.roles.is_empty().then(|| view! { <p>{m.console.adm_no_role}</p> })}
            <ul class="item-list">
                {d.roles.clone().into_iter().map(|r| {
                    let revoke = can(&format!("grant_{}", r.id)).then(|| view! {
                        <form method="post" action=post("role-retirer") class="inline-form">
                            <input type="hidden" name="csrf" value=d.console.csrf.clone() />
                            <input type="hidden" name="role" value=r.id.clone() />
                            <button type="submit" class="button-link">{m.console.adm_revoke}</button>
                        </form>
                    });
                    view! { <li><span>{role_label(m, &r.id)}</span> " " <span class="meta">{r.detail.clone()}</span> {revoke}</li> }
                }).collect_view()}
            </ul>
            {(!d.grantable.is_empty()).then(|| {
                let choices = d.grantable.clone().into_iter().map(|mut c| { c.label = role_label(m, &c.value).to_string(); c }).collect();
                view! {
                    <form method="post" action=post("role-ajouter") class="form inline-fields">
                        <input type="hidden" name="csrf" value=d.console.csrf.clone() />
                        <div class="field">
                            <label for="ajout-role">{m.console.adm_grant_role}</label>
                            <select id="ajout-role" name="role">{options(choices, String::new())}</select>
                        </div>
                        <button type="submit">{m.console.adm_grant}</button>
                    </form>
                }
            })}
        </section>

        {can("change_region").then(|| view! {
            <section aria-labelledby="region" class="card">
                <h2 id="region">{m.console.adm_change_region}</h2>
                <p class="hint">{m.console.adm_change_region_hint}</p>
                <form method="post" action=post("region") class="form inline-fields">
                    <input type="hidden" name="csrf" value=d.console.csrf.clone() />
                    <input type="hidden" name="version" value=d.version.to_string() />
                    <div class="field">
                        <label for="nouvelle-region">{m.console.adm_region}</label>
                        <select id="nouvelle-region" name="region">{options(d.all_regions.clone(), d.region.clone())}</select>
                    </div>
                    <button type="submit">{m.console.adm_move}</button>
                </form>
            </section>
        })}

        {can("secure_account").then(|| view! {
            <section aria-labelledby="compte-compromis" class="card">
                <h2 id="compte-compromis">{m.console.adm_compromised}</h2>
                <p class="hint">{m.console.adm_compromised_hint}</p>
                <form method="post" action=post("compromis") class="form">
                    <input type="hidden" name="csrf" value=d.console.csrf.clone() />
                    <div class="checkbox">
                        <input id="confirmer-compromis" name="confirmation" type="checkbox" value="oui" required />
                        <label for="confirmer-compromis">{m.console.adm_compromised_confirm}</label>
                    </div>
                    <button type="submit" class="button-danger">{m.console.adm_compromised_button}</button>
                </form>
            </section>
        })}

        // The account's audit rows: for those who may read the audit log only (not the desk).
        {d.console.can_read_audit.then(|| {
            let href = format!("{}?cible={}", paths::AUDIT, d.id);
            view! {
                <section aria-labelledby="journal" class="card">
                    <h2 id="journal">{m.console.adm_recent}</h2>
                    <ul class="item-list audit-recent">
                        {d.recent.clone().into_iter().map(|r| view! {
                            <li>
                                <span class="meta">{r.at}</span> " " <code>{r.action}</code> " "
                                <span class=format!("outcome outcome-{}", r.outcome.as_str())>{outcome_label(m, r.outcome)}</span>
                                " — " {super::audit::actor_label(m, &r.actor)}
                            </li>
                        }).collect_view()}
                    </ul>
                    <p><a href=href>{m.console.adm_all_audit}</a></p>
                </section>
            }
        })}
    }
}
