//! « Actualités » at the HTTP edge: the console's forms (a new item, its edits, publication,
//! back to draft, deletion) and each region's Atom feed (`/actualites/FR-IDF.atom`, public).

use app::admin_api::server::actor;
use app::error::{ErrorCode, Field};
use app::info::Info;
use app::paths;
use app::state::{AppState, RequestContext};
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::admin::news::{self, Change, Draft};
use domain::ids::RegionCode;
use serde::Deserialize;
use time::Date;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::admin::failed;
use super::posted::Posted;

#[derive(Debug, Deserialize)]
pub struct NewsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    version: String,
    /// Empty: national.
    #[serde(default)]
    region: String,
    #[serde(default)]
    titre: String,
    #[serde(default)]
    texte: String,
    #[serde(default)]
    important: String,
    #[serde(default)]
    debut: String,
    #[serde(default)]
    fin: String,
}

super::posted::token_in_csrf_field!(NewsForm);

fn day(value: &str) -> Result<Date, ErrorCode> {
    Date::parse(
        value.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| ErrorCode::InvalidField(Field::Date))
}

impl NewsForm {
    fn draft(&self) -> Result<Draft, ErrorCode> {
        let region = match self.region.trim() {
            "" => None,
            code => {
                Some(RegionCode::parse(code).map_err(|_| ErrorCode::InvalidField(Field::Region))?)
            }
        };
        Ok(Draft {
            region,
            title: self.titre.clone(),
            body: self.texte.clone(),
            important: self.important == "oui",
            starts_on: day(&self.debut)?,
            ends_on: match self.fin.trim() {
                "" => None,
                end => Some(day(end)?),
            },
        })
    }
}

/// `POST /admin/actualites`: a new item, saved as a draft; its page shows the preview.
pub async fn create(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Posted(form): Posted<NewsForm>,
) -> Response {
    let result = async {
        let actor = actor(&ctx, &state.services).await?;
        let draft = form.draft()?;
        Ok::<_, ErrorCode>(news::create(&state.services.portal, &actor, &draft, ctx.call()).await?)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&Info::NewsSaved.on(&paths::news_item(id))).into_response(),
        Err(code) => failed(paths::NEWS, code),
    }
}

/// `POST /admin/actualites/{id}/{verb}`: `modifier`, `publier`, `retirer`, `supprimer`.
pub async fn action(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path((id, verb)): Path<(String, String)>,
    Posted(form): Posted<NewsForm>,
) -> Response {
    let Ok(id) = Uuid::parse_str(&id) else {
        return failed(paths::NEWS, ErrorCode::NotFound);
    };
    let page = paths::news_item(id);
    let result = async {
        let actor = actor(&ctx, &state.services).await?;
        let (portal, call) = (&state.services.portal, ctx.call());
        Ok::<_, ErrorCode>(match verb.as_str() {
            "modifier" => {
                let version = form
                    .version
                    .trim()
                    .parse()
                    .map_err(|_| ErrorCode::InvalidInput)?;
                news::edit(portal, &actor, id, &form.draft()?, version, call).await?;
                Info::NewsSaved.on(&page)
            }
            "publier" => {
                news::change(portal, &actor, id, Change::Publish, call).await?;
                Info::NewsPublished.on(&page)
            }
            "retirer" => {
                news::change(portal, &actor, id, Change::Withdraw, call).await?;
                Info::NewsWithdrawn.on(&page)
            }
            "supprimer" => {
                news::change(portal, &actor, id, Change::Delete, call).await?;
                Info::NewsDeleted.on(paths::NEWS)
            }
            _ => return Err(ErrorCode::NotFound),
        })
    }
    .await;
    match result {
        Ok(next) => Redirect::to(&next).into_response(),
        Err(code) => failed(&page, code),
    }
}

/// `GET /actualites/{region}.atom`: the items shown today to the region's visitors, as an Atom
/// feed (RFC 4287). Public, like the sign-in page that shows them.
pub async fn feed(
    State(state): State<AppState>,
    Extension(ctx): Extension<RequestContext>,
    Path(feed): Path<String>,
) -> Response {
    let Some(code) = feed
        .strip_suffix(".atom")
        .and_then(|c| RegionCode::parse(c).ok())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let pool = &state.services.portal.pool;
    let region = match domain::accounts::region(pool, code.as_str()).await {
        Ok(Some(region)) => region,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return failed_feed(e),
    };
    let items = match domain::news::shown(pool, Some(code.as_str()), ctx.now).await {
        Ok(items) => items,
        Err(e) => return failed_feed(e),
    };
    let origin = &state.services.settings.public_origin;
    let stamp = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    let updated = items.iter().map(|i| i.updated_at).max().unwrap_or(ctx.now);
    let page = format!("{origin}{}?region={code}", paths::SIGN_IN);
    let mut xml = String::with_capacity(4096);
    xml.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    xml.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"fr\">\n");
    let self_url = format!("{origin}{}", paths::news_feed(code.as_str()));
    xml.push_str(&format!("  <id>{}</id>\n", escape(&self_url)));
    xml.push_str(&format!(
        "  <title>{}</title>\n",
        escape(&format!("Passerelle — Actualités, {}", region.name))
    ));
    xml.push_str(&format!("  <updated>{}</updated>\n", stamp(updated)));
    xml.push_str(&format!(
        "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
        escape(&self_url)
    ));
    xml.push_str(&format!(
        "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
        escape(&page)
    ));
    xml.push_str(&format!(
        "  <author><name>{}</name></author>\n",
        escape(&region.agency_name)
    ));
    for item in &items {
        xml.push_str("  <entry>\n");
        xml.push_str(&format!("    <id>urn:uuid:{}</id>\n", item.id));
        xml.push_str(&format!("    <title>{}</title>\n", escape(&item.title)));
        xml.push_str(&format!(
            "    <updated>{}</updated>\n",
            stamp(item.updated_at)
        ));
        if let Some(published) = item.published_at {
            xml.push_str(&format!(
                "    <published>{}</published>\n",
                stamp(published)
            ));
        }
        xml.push_str(&format!(
            "    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            escape(&format!("{page}#actualite-{}", item.id))
        ));
        xml.push_str(&format!(
            "    <content type=\"html\">{}</content>\n",
            escape(&item.html())
        ));
        xml.push_str("  </entry>\n");
    }
    xml.push_str("</feed>\n");
    (
        [
            (header::CONTENT_TYPE, "application/atom+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        xml,
    )
        .into_response()
}

fn failed_feed(e: domain::Error) -> Response {
    let code = ErrorCode::from(e);
    (
        StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        code.message(app::i18n::Lang::Fr),
    )
        .into_response()
}

/// Text for XML: its five special characters escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_text_is_escaped() {
        assert_eq!(
            escape("<p>A & \"B\" l'été</p>"),
            "&lt;p&gt;A &amp; &quot;B&quot; l&apos;été&lt;/p&gt;"
        );
    }
}
