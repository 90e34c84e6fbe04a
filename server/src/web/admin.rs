//! The admin console's form posts and the audit export, at the HTTP edge. Each handler checks the
//! form token, builds the actor from the session, parses the input into the domain's types (a bad
//! field answers with its French message and changes nothing) and calls the domain, which
//! authorises against the database's view of the target. Post/Redirect/Get throughout.

use app::admin_api::AuditQuery;
use app::admin_api::server::actor;
use app::error::{ErrorCode, Field};
use app::info::Info;
use app::paths;
use app::state::{AppState, RequestContext};
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use domain::accounts::AdminRole;
use domain::admin::{establishments, users};
use domain::ids::{Email, Finess, NationalId, RegionCode, Rpps, Username};
use serde::Deserialize;
use uuid::Uuid;

use super::posted::{Posted, back_with_error};
use super::request::local_path;

super::posted::token_in_csrf_field!(NewUserForm, AccountForm, KeepActiveForm, EstablishmentForm);

/// Where a failed action goes back to: the confirmation page when the console wants the password
/// again, else the page with the error.
pub(super) fn failed(page: &str, code: ErrorCode) -> Response {
    if code == ErrorCode::ReauthRequired {
        return Redirect::to(&paths::reauth(page)).into_response();
    }
    back_with_error(page, &code)
}

fn done(page: &str, info: Info) -> Response {
    Redirect::to(&info.on(page)).into_response()
}

fn field<T, E>(parsed: Result<T, E>, f: Field) -> Result<T, ErrorCode> {
    parsed.map_err(|_| ErrorCode::InvalidField(f))
}

fn optional_national_id(value: &str) -> Result<Option<NationalId>, ErrorCode> {
    let v = value.trim();
    if v.is_empty() {
        Ok(None)
    } else {
        field(NationalId::parse(v), Field::NationalId).map(Some)
    }
}

fn optional_rpps(value: &str) -> Result<Option<Rpps>, ErrorCode> {
    let v = value.trim();
    if v.is_empty() {
        Ok(None)
    } else {
        field(Rpps::parse(v), Field::Rpps).map(Some)
    }
}

#[derive(Debug, Deserialize)]
pub struct ReauthForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    retour: String,
    #[serde(default)]
    mot_de_passe: String,
}

impl ReauthForm {
    /// This confirmation page, with where it goes back to.
    fn here(&self) -> String {
        paths::reauth(&console_path(&self.retour))
    }
}

impl super::posted::PostedForm for ReauthForm {
    fn token(&self) -> &str {
        &self.csrf
    }

    fn page(&self) -> Option<String> {
        Some(self.here())
    }
}

/// A return path inside the console only.
fn console_path(retour: &str) -> String {
    local_path(retour, paths::CONSOLE)
        .unwrap_or(paths::USERS)
        .to_string()
}

/// `POST /admin/confirmer`: the password again; back to the page that asked.
pub async fn reauthenticate(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Posted(form): Posted<ReauthForm>,
) -> Response {
    let back = console_path(&form.retour);
    let here = form.here();
    let Some(session) = ctx.viewer.session() else {
        return failed(paths::SIGN_IN, ErrorCode::NotSignedIn);
    };
    match domain::auth::reauthenticate(
        &state.services.portal,
        session,
        &form.mot_de_passe,
        ctx.call(),
    )
    .await
    {
        Ok(()) => Redirect::to(&back).into_response(),
        Err(e) => failed(&here, ErrorCode::from(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    identifiant: String,
    #[serde(default)]
    prenom: String,
    #[serde(default)]
    nom: String,
    #[serde(default)]
    courriel: String,
    #[serde(default)]
    rpps: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    finess: Vec<String>,
    /// Why the account is created although the national directory disagrees.
    #[serde(default)]
    motif_annuaire: String,
}

/// `POST /admin/comptes/nouveau`.
pub async fn create_user(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Posted(form): Posted<NewUserForm>,
) -> Response {
    const PAGE: &str = paths::NEW_USER;
    let result = async {
        let new = users::NewAccount {
            username: field(Username::parse(&form.identifiant), Field::Username)?,
            email: field(Email::parse(&form.courriel), Field::Email)?,
            family_name: form.nom.clone(),
            given_name: form.prenom.clone(),
            rpps: optional_rpps(&form.rpps)?,
            region: field(RegionCode::parse(&form.region), Field::Region)?,
            establishments: form
                .finess
                .iter()
                .take(50)
                .map(|f| field(Finess::parse(f), Field::Finess))
                .collect::<Result<_, _>>()?,
            directory_override: Some(form.motif_annuaire.clone()).filter(|r| !r.trim().is_empty()),
        };
        let actor = actor(&ctx, &state.services).await?;
        Ok::<_, ErrorCode>(users::create(&state.services.portal, &actor, &new, ctx.call()).await?)
    }
    .await;
    match result {
        Ok(id) => done(&paths::user(id), Info::AccountCreated),
        Err(code) => failed(PAGE, code),
    }
}

/// Every field any account action may carry; each action reads its own.
#[derive(Debug, Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    csrf: String,
    /// Why the national directory's disagreement is accepted (`annuaire-exception`; empty: no
    /// longer accepted).
    #[serde(default)]
    motif_annuaire: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    nom: String,
    #[serde(default)]
    prenom: String,
    #[serde(default)]
    courriel: String,
    #[serde(default)]
    rpps: String,
    #[serde(default)]
    identite_nationale: String,
    #[serde(default)]
    finess: String,
    #[serde(default)]
    carte: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    inscription: String,
    /// A passkey's id (`cle-retirer`).
    #[serde(default)]
    cle: String,
    /// A PSC identity's national identifier (`psc-retirer`).
    #[serde(default)]
    identite: String,
    /// The "compte compromis" confirmation checkbox (`oui`).
    #[serde(default)]
    confirmation: String,
}

fn role(value: &str) -> Result<AdminRole, ErrorCode> {
    match value {
        "support" => Ok(AdminRole::Support),
        "regional_admin" => Ok(AdminRole::RegionalAdmin),
        "national_admin" => Ok(AdminRole::NationalAdmin),
        _ => Err(ErrorCode::InvalidInput),
    }
}

fn version(value: &str) -> Result<i32, ErrorCode> {
    value.trim().parse().map_err(|_| ErrorCode::InvalidInput)
}

/// `POST /admin/comptes/{id}/{verb}`: one action on one account.
pub async fn account_action(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path((id, verb)): Path<(String, String)>,
    Posted(form): Posted<AccountForm>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return failed(paths::USERS, ErrorCode::NotFound);
    };
    let page = paths::user(id);
    let portal = &state.services.portal;
    let call = ctx.call();
    let result = async {
        let actor = actor(&ctx, &state.services).await?;
        let info = match verb.as_str() {
            "deverrouiller" => {
                users::unlock(portal, &actor, id, call).await?;
                Info::Unlocked
            }
            "lien" => match users::send_link(portal, &actor, id, call).await? {
                domain::auth::account_links::Purpose::Activation => Info::ActivationLinkSent,
                domain::auth::account_links::Purpose::PasswordReset => Info::ResetLinkSentByDesk,
            },
            "sessions" => {
                users::end_sessions(portal, &actor, id, call).await?;
                Info::SessionsEnded
            }
            "desactiver" => {
                users::set_enabled(portal, &actor, id, false, call).await?;
                Info::Disabled
            }
            "reactiver" => {
                users::set_enabled(portal, &actor, id, true, call).await?;
                Info::Enabled
            }
            "prolonger" => {
                domain::admin::dormant::keep_active(portal, &actor, id, call).await?;
                Info::KeptActive
            }
            "modifier" => {
                let identity = users::Identity {
                    email: field(Email::parse(&form.courriel), Field::Email)?,
                    family_name: form.nom.clone(),
                    given_name: form.prenom.clone(),
                    rpps: optional_rpps(&form.rpps)?,
                    declared_national_id: optional_national_id(&form.identite_nationale)?,
                    version: version(&form.version)?,
                };
                users::edit(portal, &actor, id, &identity, call).await?;
                Info::Saved
            }
            "region" => {
                let region = field(RegionCode::parse(&form.region), Field::Region)?;
                users::change_region(portal, &actor, id, &region, version(&form.version)?, call)
                    .await?;
                Info::RegionChanged
            }
            "etablissement-ajouter" | "etablissement-retirer" => {
                let finess = field(Finess::parse(&form.finess), Field::Finess)?;
                let attach = verb == "etablissement-ajouter";
                users::set_membership(portal, &actor, id, &finess, attach, call).await?;
                if attach {
                    Info::MembershipAdded
                } else {
                    Info::MembershipRemoved
                }
            }
            "annuaire-exception" => {
                let reason = Some(form.motif_annuaire.as_str()).filter(|r| !r.trim().is_empty());
                users::set_directory_exception(portal, &actor, id, reason, call).await?;
                Info::Saved
            }
            "carte-delier" => {
                let card = Uuid::parse_str(&form.carte).map_err(|_| ErrorCode::NotFound)?;
                users::unlink_card(portal, &actor, id, card, call).await?;
                Info::CardUnlinked
            }
            "cle-retirer" => {
                let passkey = Uuid::parse_str(form.cle.trim()).map_err(|_| ErrorCode::NotFound)?;
                users::remove_passkey(portal, &actor, id, passkey, call).await?;
                Info::PasskeyRemovedByDesk
            }
            "psc-retirer" => {
                let national_id = domain::ids::NationalId::parse(form.identite.trim())
                    .map_err(|_| ErrorCode::NotFound)?;
                users::unlink_psc(portal, &actor, id, national_id.as_str(), call).await?;
                Info::PscRemoved
            }
            "compromis" => {
                // The page's checkbox is `required`; a post without it (another client, a
                // hand-made form) changes nothing either.
                if form.confirmation != "oui" {
                    return Err(ErrorCode::InvalidInput);
                }
                match users::secure_compromised(portal, &actor, id, call)
                    .await?
                    .link
                {
                    Some(_) => Info::AccountSecured,
                    None => Info::AccountSecuredWithoutLink,
                }
            }
            "role-ajouter" => {
                users::grant_role(portal, &actor, id, role(&form.role)?, call).await?;
                Info::RoleGranted
            }
            "role-retirer" => {
                users::revoke_role(portal, &actor, id, role(&form.role)?, call).await?;
                Info::RoleRevoked
            }
            "tiqr-debloquer" | "tiqr-revoquer" => {
                let enrollment =
                    Uuid::parse_str(&form.inscription).map_err(|_| ErrorCode::NotFound)?;
                if verb == "tiqr-debloquer" {
                    domain::admin::tiqr::unblock(portal, &actor, id, enrollment, call).await?;
                    Info::TiqrUnblocked
                } else {
                    domain::admin::tiqr::revoke(portal, &actor, id, enrollment, call).await?;
                    Info::TiqrRevoked
                }
            }
            _ => return Err(ErrorCode::NotFound),
        };
        Ok::<_, ErrorCode>(info)
    }
    .await;
    match result {
        Ok(info) => done(&page, info),
        Err(code) => failed(&page, code),
    }
}

#[derive(Debug, Deserialize)]
pub struct KeepActiveForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /admin/comptes-inactifs/{id}`: « Prolonger » from the list of inactive accounts (back
/// to the list; the account's page posts `prolonger` to its own actions).
pub async fn keep_active(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    Posted(_form): Posted<KeepActiveForm>,
) -> Response {
    const PAGE: &str = paths::INACTIVE;
    let result = async {
        let id = Uuid::parse_str(&id).map_err(|_| ErrorCode::NotFound)?;
        let actor = actor(&ctx, &state.services).await?;
        domain::admin::dormant::keep_active(&state.services.portal, &actor, id, ctx.call()).await?;
        Ok::<_, ErrorCode>(())
    }
    .await;
    match result {
        Ok(()) => done(PAGE, Info::KeptActive),
        Err(code) => failed(PAGE, code),
    }
}

#[derive(Debug, Deserialize)]
pub struct EstablishmentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    finess: String,
    #[serde(default)]
    nom: String,
    #[serde(default)]
    ville: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    actif: String,
    /// Why a number the FINESS file does not have is created all the same.
    #[serde(default)]
    motif_finess: String,
}

/// `POST /admin/etablissements`: a new establishment.
pub async fn create_establishment(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Posted(form): Posted<EstablishmentForm>,
) -> Response {
    const PAGE: &str = paths::ESTABLISHMENTS;
    let result = async {
        let finess = field(Finess::parse(&form.finess), Field::Finess)?;
        let region = field(RegionCode::parse(&form.region), Field::Region)?;
        let actor = actor(&ctx, &state.services).await?;
        let fields = establishments::Fields {
            name: form.nom.clone(),
            city: form.ville.clone(),
            active: true,
        };
        establishments::create(
            &state.services.portal,
            &actor,
            &finess,
            &region,
            &fields,
            Some(form.motif_finess.as_str()),
            ctx.call(),
        )
        .await?;
        Ok::<_, ErrorCode>(finess)
    }
    .await;
    match result {
        Ok(finess) => done(
            &paths::establishment_edit(&finess),
            Info::EstablishmentCreated,
        ),
        Err(code) => failed(PAGE, code),
    }
}

/// `POST /admin/etablissements/{finess}`: name, city, active.
pub async fn edit_establishment(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(finess): Path<String>,
    Posted(form): Posted<EstablishmentForm>,
) -> Response {
    let Ok(finess) = Finess::parse(&finess) else {
        return failed(paths::ESTABLISHMENTS, ErrorCode::NotFound);
    };
    let page = paths::establishment_edit(&finess);
    let result = async {
        let actor = actor(&ctx, &state.services).await?;
        let fields = establishments::Fields {
            name: form.nom.clone(),
            city: form.ville.clone(),
            active: form.actif == "oui",
        };
        establishments::edit(&state.services.portal, &actor, &finess, &fields, ctx.call()).await?;
        Ok::<_, ErrorCode>(())
    }
    .await;
    match result {
        Ok(()) => done(&page, Info::EstablishmentSaved),
        Err(code) => failed(&page, code),
    }
}

/// A CSV file to download, named `{prefix}-AAAAMMJJ.csv`, never cached.
pub(super) fn csv_file(prefix: &str, now: time::OffsetDateTime, csv: Vec<u8>) -> Response {
    let name = format!(
        "attachment; filename=\"{prefix}-{:04}{:02}{:02}.csv\"",
        now.year(),
        u8::from(now.month()),
        now.day()
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, name),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        csv,
    )
        .into_response()
}

/// `GET /admin/journal.csv?…`: the audit rows of the viewer's filter, as a spreadsheet file.
pub async fn export_audit(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Query(query): Query<AuditQuery>,
) -> Response {
    let result = async {
        let filter = query.filter()?;
        let actor = actor(&ctx, &state.services).await?;
        let now = ctx.now;
        let (csv, _rows) = domain::admin::audit_view::export_csv(
            &state.services.portal,
            &actor,
            &filter,
            ctx.call(),
        )
        .await?;
        Ok::<_, ErrorCode>((csv, now))
    }
    .await;
    match result {
        Ok((csv, now)) => csv_file("journal-audit", now, csv),
        Err(code) => failed(paths::AUDIT, code),
    }
}
