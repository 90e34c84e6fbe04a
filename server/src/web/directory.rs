//! The national directory at the HTTP edge: `POST /admin/annuaire` loads an extraction of the
//! directory's folder. The load is recorded as running before the answer (a second one is refused
//! at once), then read and swapped in a background task that writes its progress in the database,
//! so that the page, on any instance, shows it while it runs.

use std::sync::Arc;

use app::admin_api::server::actor;
use app::error::ErrorCode;
use app::paths;
use app::state::{AppState, RequestContext, Services};
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use domain::audit::Client;
use domain::directory::inbox;
use domain::directory::load::{self, Run, Source, Started};
use serde::Deserialize;
use time::OffsetDateTime;

use super::admin::failed;
use super::posted::Posted;

#[derive(Debug, Deserialize)]
pub struct LoadForm {
    #[serde(default)]
    csrf: String,
    /// The name of a file of the folder.
    #[serde(default)]
    fichier: String,
}

super::posted::token_in_csrf_field!(LoadForm);

/// `POST /admin/annuaire`.
pub async fn load(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Posted(form): Posted<LoadForm>,
) -> Response {
    const PAGE: &str = paths::DIRECTORY_LOADS;
    let result = async {
        let services = &state.services;
        let actor = actor(&ctx, services).await?;
        domain::admin::directory::may_load(&services.portal.pool, &actor, ctx.call()).await?;
        let path = inbox::resolve(&services.settings.directory_inbox, &form.fichier)?;
        let source = Source::from_path(&path)?;
        let started = load::start(&services.portal.pool, &source, &actor.label, ctx.now).await?;
        Ok::<_, ErrorCode>((actor.label, source, started))
    }
    .await;
    match result {
        Ok((label, source, started)) => {
            spawn_load(
                state.services.clone(),
                label,
                ctx.client.clone(),
                source,
                started,
            );
            Redirect::to(PAGE).into_response()
        }
        Err(code) => failed(PAGE, code),
    }
}

/// The rest of the load, in the background; its end is in its record (and the audit log).
fn spawn_load(
    services: Arc<Services>,
    actor_label: String,
    client: Client,
    source: Source,
    started: Started,
) {
    tokio::spawn(async move {
        let clock = OffsetDateTime::now_utc;
        let on_progress = |_| {};
        let run = Run {
            actor_label: &actor_label,
            client: &client,
            clock: &clock,
            on_progress: &on_progress,
        };
        let id = started.id;
        match load::finish(&services.portal.pool, &source, started, &run).await {
            Ok(report) => tracing::info!(
                load = %id,
                file = %report.file_name,
                rows = report.rows,
                added = report.added,
                removed = report.removed,
                changed = report.changed,
                "directory loaded"
            ),
            Err(e) => tracing::warn!(load = %id, error = %e, "directory load stopped"),
        }
    });
}
