//! The console's CSV import at the HTTP edge: the upload (multipart), the confirmation, a new
//! check, abandoning, and the downloads (template, check, report). The check and the import run
//! in a background task (`spawn_step`) that records its progress in the database, so the page
//! that shows them can be reloaded, or served by another instance, while they run.

use app::admin_api::server::actor;
use app::error::{ErrorCode, ImportFault};
use app::info::Info;
use app::paths;
use app::state::{AppState, RequestContext, Services};
use axum::Extension;
use axum::extract::multipart::{Multipart, MultipartError};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::admin::Actor;
use domain::audit::Client;
use domain::ids::RegionCode;
use domain::import::uploads;
use serde::Deserialize;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

use super::admin::failed;

use super::posted::{Posted, csrf_ok};

super::posted::token_in_csrf_field!(StepForm);

const PAGE: &str = paths::IMPORTS;

/// The largest request body of an upload: the largest file plus the form's other fields and the
/// multipart framing.
pub const MAX_UPLOAD_BODY: usize = domain::import::MAX_BYTES + 64 * 1024;

/// Which background step to run.
#[derive(Debug, Clone, Copy)]
enum Step {
    Check,
    Commit,
}

/// Runs a step of an upload in the background. Its outcome is recorded on the upload by the
/// domain; here it is only logged.
fn spawn_step(services: Arc<Services>, actor: Actor, id: Uuid, client: Client, step: Step) {
    tokio::spawn(async move {
        let clock = OffsetDateTime::now_utc;
        let result = match step {
            Step::Check => uploads::check(&services.portal, &actor, id, &client, &clock).await,
            Step::Commit => uploads::run_commit(&services.portal, &actor, id, &client, &clock)
                .await
                .map(|_| ()),
        };
        match result {
            Ok(()) => tracing::info!(upload = %id, ?step, "import step done"),
            Err(e) => tracing::warn!(upload = %id, ?step, error = %e, "import step stopped"),
        }
    });
}

fn csv_response(bytes: Vec<u8>, file_name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /admin/import/modele.csv`: the template (no personal data; anyone may have it).
pub async fn template() -> Response {
    csv_response(domain::import::template(), "modele-import.csv")
}

/// The upload form's fields.
#[derive(Default)]
struct UploadForm {
    region: String,
    file_name: String,
    file: Option<Vec<u8>>,
}

fn multipart_error(e: MultipartError) -> ErrorCode {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ErrorCode::Import(ImportFault::TooLarge {
            mib: domain::import::MAX_BYTES.div_ceil(1024 * 1024),
        })
    } else {
        ErrorCode::InvalidInput
    }
}

/// The form token sent outside the body: the `X-CSRF-Token` header or the `csrf` query parameter
/// (for clients that cannot put it first in the multipart).
fn token_outside_body(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(v) = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return Some(v.to_string());
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query?).ok()?;
    pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v)
}

/// Reads the multipart form; small fields are capped, the file by the body limit. The form token
/// must be known — from outside the body, or from a field before the file (the page sends it
/// first) — before a byte of the file is read.
async fn read_form(
    ctx: &RequestContext,
    mut token_ok: bool,
    mut multipart: Multipart,
) -> Result<UploadForm, ErrorCode> {
    let mut form = UploadForm::default();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("csrf") => {
                let token = field.text().await.map_err(multipart_error)?;
                token_ok = token_ok || csrf_ok(ctx, &token);
            }
            Some("region") => form.region = field.text().await.map_err(multipart_error)?,
            Some("fichier") => {
                if !token_ok {
                    return Err(ErrorCode::Csrf);
                }
                form.file_name = field.file_name().unwrap_or_default().to_string();
                let bytes = field.bytes().await.map_err(multipart_error)?;
                // A file input left empty still sends a part, without a name and without bytes.
                if !(bytes.is_empty() && form.file_name.is_empty()) {
                    form.file = Some(bytes.to_vec());
                }
            }
            _ => {}
        }
    }
    if !token_ok {
        return Err(ErrorCode::Csrf);
    }
    Ok(form)
}

/// `POST /admin/import` (multipart): stores the file and starts its check. Who asks, their right
/// to import and the form token are checked before the file is read: an upload is up to 5 MiB,
/// and a refused one must cost no buffering.
pub async fn upload(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    uri: Uri,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let result = async {
        let actor = actor(&ctx, &state.services).await?;
        uploads::may_upload(&state.services.portal, &actor, ctx.call()).await?;
        let token_ok = token_outside_body(&headers, uri.query()).is_some_and(|t| csrf_ok(&ctx, &t));
        let form = read_form(&ctx, token_ok, multipart).await?;
        let region = RegionCode::parse(&form.region)
            .map_err(|_| ErrorCode::InvalidField(app::error::Field::Region))?;
        let bytes = form.file.ok_or(ErrorCode::Import(ImportFault::NoFile))?;
        let id = uploads::create(
            &state.services.portal,
            &actor,
            &region,
            &form.file_name,
            &bytes,
            ctx.call(),
        )
        .await?;
        Ok::<_, ErrorCode>((actor, id))
    }
    .await;
    match result {
        Ok((actor, id)) => {
            spawn_step(
                state.services.clone(),
                actor,
                id,
                ctx.client.clone(),
                Step::Check,
            );
            Redirect::to(&format!("{PAGE}/{id}")).into_response()
        }
        Err(code) => failed(PAGE, code),
    }
}

#[derive(Debug, Deserialize)]
pub struct StepForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ignorer_erreurs: String,
}

/// `POST /admin/import/{id}/{verb}`: `valider` (confirm the import), `verifier` (check again),
/// `abandonner`.
pub async fn action(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path((id, verb)): Path<(String, String)>,
    Posted(form): Posted<StepForm>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return failed(PAGE, ErrorCode::NotFound);
    };
    let page = format!("{PAGE}/{id}");
    let result = async {
        let actor = actor(&ctx, &state.services).await?;
        let (portal, call) = (&state.services.portal, ctx.call());
        let next = match verb.as_str() {
            "valider" => {
                let skip = form.ignorer_erreurs == "oui";
                uploads::start_commit(portal, &actor, id, skip, call).await?;
                Some(Step::Commit)
            }
            "verifier" => {
                uploads::recheck(portal, &actor, id, call).await?;
                Some(Step::Check)
            }
            "abandonner" => {
                uploads::abandon(portal, &actor, id, call).await?;
                None
            }
            _ => return Err(ErrorCode::NotFound),
        };
        Ok::<_, ErrorCode>((actor, next))
    }
    .await;
    match result {
        Ok((actor, Some(step))) => {
            spawn_step(state.services.clone(), actor, id, ctx.client.clone(), step);
            Redirect::to(&page).into_response()
        }
        Ok((_, None)) => Redirect::to(&Info::ImportAbandoned.on(PAGE)).into_response(),
        Err(code) => failed(&page, code),
    }
}

/// `GET /admin/import/{id}/{file}`: `apercu.csv` (the check) or `rapport.csv` (the import).
pub async fn download(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return failed(PAGE, ErrorCode::NotFound);
    };
    let result = async {
        let actor = actor(&ctx, &state.services).await?;
        let upload = uploads::view(&state.services.portal, &actor, id, ctx.call()).await?;
        let bytes = match file.as_str() {
            "apercu.csv" => upload.preview.ok_or(ErrorCode::NotFound)?.csv()?,
            "rapport.csv" => upload.report.ok_or(ErrorCode::NotFound)?.csv()?,
            _ => return Err(ErrorCode::NotFound),
        };
        Ok::<_, ErrorCode>(bytes)
    }
    .await;
    match result {
        Ok(bytes) => {
            let name = if file == "apercu.csv" {
                "verification-import.csv"
            } else {
                "rapport-import.csv"
            };
            csv_response(bytes, name)
        }
        Err(code) => failed(&format!("{PAGE}/{id}"), code),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use app::i18n::Lang;
    use app::state::Viewer;
    use axum::body::{Body, Bytes};
    use axum::extract::FromRequest;
    use axum::http::Request;
    use futures_util::StreamExt;

    use super::*;

    fn ctx() -> RequestContext {
        RequestContext {
            request_id: "0a1b2c3d".into(),
            now: OffsetDateTime::now_utc(),
            client: Client::default(),
            lang: Lang::default(),
            csrf_token: "t".repeat(43),
            viewer: Viewer::Anonymous,
        }
    }

    /// A multipart body whose parts are `head`, then a file part that never ends.
    async fn endless_upload(head: &'static str) -> Multipart {
        let body = futures_util::stream::once(async move {
            Ok::<_, std::io::Error>(Bytes::from(format!(
                "{head}--B\r\nContent-Disposition: form-data; name=\"fichier\"; filename=\"a.csv\"\r\n\r\nusername;email\r\n"
            )))
        })
        .chain(futures_util::stream::pending());
        let request = Request::post("/admin/import")
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=B")
            .body(Body::from_stream(body))
            .unwrap();
        Multipart::from_request(request, &()).await.unwrap()
    }

    #[tokio::test]
    async fn the_file_is_not_read_without_the_form_token_first() {
        for head in [
            "",
            "--B\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nwrong\r\n",
        ] {
            let form = endless_upload(head).await;
            let read = tokio::time::timeout(Duration::from_secs(5), read_form(&ctx(), false, form))
                .await
                .expect("refused before reading the file");
            assert!(matches!(read, Err(ErrorCode::Csrf)));
        }
    }

    #[test]
    fn the_token_may_come_in_a_header_or_the_query() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            token_outside_body(&headers, Some("a=1&csrf=abc")).as_deref(),
            Some("abc")
        );
        headers.insert("x-csrf-token", "xyz".parse().unwrap());
        assert_eq!(token_outside_body(&headers, None).as_deref(), Some("xyz"));
        assert_eq!(token_outside_body(&HeaderMap::new(), None), None);
    }
}
