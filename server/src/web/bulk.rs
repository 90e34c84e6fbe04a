//! Bulk actions at the HTTP edge: the accounts' list posts its selection (ticked rows, or the
//! whole search) and an action; the export answers the CSV at once, the others are written
//! (`domain::admin::bulk::prepare`) and the browser goes to their confirmation page, whose post
//! starts the run in the background on this instance (the page follows it from the database).

use std::collections::HashMap;

use app::admin_api::server::{actor, user_filter};
use app::error::{ErrorCode, Field};
use app::paths;
use app::state::{AppState, RequestContext};
use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use domain::admin::bulk::{self, BulkAction, Selection};
use domain::ids::Finess;
use serde::Deserialize;
use uuid::Uuid;

use super::admin::{csv_file, failed};
use super::posted::Posted;

super::posted::token_in_csrf_field!(SelectionForm, ConfirmForm);

/// The list's form: its search (for « tout »), the action, and one `compte-{id}=oui` per ticked
/// row (distinct names: the form decoder takes no repeated keys).
#[derive(Debug, Deserialize)]
pub struct SelectionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    finess: String,
    #[serde(default)]
    tout: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    statut: String,
    #[serde(default)]
    etablissement: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    region: String,
    #[serde(flatten)]
    ticked: HashMap<String, String>,
}

impl SelectionForm {
    /// The list's page this form came from (where an error goes back to, its search kept).
    fn page(&self) -> String {
        let e = paths::urlencode;
        format!(
            "{}?q={}&statut={}&etablissement={}&role={}&region={}",
            paths::USERS,
            e(&self.q),
            e(&self.statut),
            e(&self.etablissement),
            e(&self.role),
            e(&self.region)
        )
    }

    fn selection(&self) -> Result<Selection, ErrorCode> {
        if self.tout == "oui" {
            return Ok(Selection::Search(user_filter(
                &self.q,
                &self.statut,
                &self.etablissement,
                &self.role,
                &self.region,
                "",
            )?));
        }
        self.ticked
            .iter()
            .filter(|(_, v)| v.as_str() == "oui")
            .filter_map(|(k, _)| k.strip_prefix("compte-"))
            .map(|id| Uuid::parse_str(id).map_err(|_| ErrorCode::InvalidInput))
            .collect::<Result<Vec<_>, _>>()
            .map(Selection::Accounts)
    }

    fn action(&self) -> Result<BulkAction, ErrorCode> {
        let finess = match self.action.as_str() {
            "add_membership" | "remove_membership" => Some(
                Finess::parse(self.finess.trim())
                    .map_err(|_| ErrorCode::InvalidField(Field::Finess))?,
            ),
            _ => None,
        };
        BulkAction::parse(&self.action, finess).ok_or(ErrorCode::InvalidInput)
    }
}

/// `POST /admin/selection`: the export, or the selection written and its confirmation page.
pub async fn select(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Posted(form): Posted<SelectionForm>,
) -> Response {
    let page = form.page();
    let portal = &state.services.portal;
    let result = async {
        let selection = form.selection()?;
        let actor = actor(&ctx, &state.services).await?;
        if form.action == "export" {
            let (csv, _) = bulk::export_csv(portal, &actor, &selection, ctx.call()).await?;
            return Ok(csv_file("comptes", ctx.now, csv));
        }
        let id = bulk::prepare(portal, &actor, &form.action()?, &selection, ctx.call()).await?;
        Ok::<_, ErrorCode>(Redirect::to(&paths::bulk_job(id)).into_response())
    }
    .await;
    result.unwrap_or_else(|code| failed(&page, code))
}

#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /admin/selection/{id}`: confirmed (or resumed): the run starts here, in the background,
/// and the browser follows it on the job's page.
pub async fn confirm(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(id): Path<String>,
    Posted(_form): Posted<ConfirmForm>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return failed(paths::USERS, ErrorCode::NotFound);
    };
    let page = paths::bulk_job(id);
    let result = async {
        let actor = actor(&ctx, &state.services).await?;
        if let Some(runner) = bulk::confirm(&state.services.portal, &actor, id, ctx.call()).await? {
            let services = state.services.clone();
            let client = ctx.client.clone();
            tokio::spawn(async move {
                let ran = bulk::run(
                    &services.portal,
                    &actor,
                    id,
                    runner,
                    &client,
                    time::OffsetDateTime::now_utc,
                    |e| ErrorCode::from(e).slug(),
                )
                .await;
                if let Err(e) = ran {
                    tracing::warn!(job = %id, "bulk action stopped: {e}");
                }
            });
        }
        Ok::<_, ErrorCode>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&page).into_response(),
        Err(code) => failed(&page, code),
    }
}
