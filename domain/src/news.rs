//! « Actualités »: what the sign-in page, the dashboards and the feeds show of the news items, and
//! the small Markdown subset their text is written in, rendered to HTML that is safe to put in a
//! page as it is. Writing them is the console's (`admin::news`).
//!
//! The subset: paragraphs, line breaks, *emphasis*, **strong**, lists, `code`, and links to
//! `https:` or `mailto:` addresses (or a path of the portal). Anything else is shown as the text
//! it is: raw HTML is escaped, an image is its description, a heading a strong paragraph, a link
//! to another scheme (`javascript:`…) its text alone. The HTML is built by `pulldown-cmark` from
//! these filtered events only, so no tag or attribute comes from the author.

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};
use serde::Serialize;
use sqlx::PgPool;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::error::Result;

/// The longest title and text (the database checks them too).
pub const MAX_TITLE: usize = 120;
pub const MAX_BODY: usize = 4000;

/// A news item as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub id: Uuid,
    /// `None`: a national item.
    pub region_code: Option<String>,
    pub title: String,
    /// The text as typed (Markdown subset).
    pub body: String,
    pub important: bool,
    pub starts_on: Date,
    pub ends_on: Option<Date>,
    pub published_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
    pub author_label: String,
    pub version: i32,
}

impl Item {
    /// The text, rendered (safe HTML).
    pub fn html(&self) -> String {
        render(&self.body)
    }
}

/// The published items shown at `now` (days counted in Paris) to the visitors of `region` (its
/// items and the national ones; national ones only without a region): the important first, then
/// the newest.
pub async fn shown(pool: &PgPool, region: Option<&str>, now: OffsetDateTime) -> Result<Vec<Item>> {
    Ok(sqlx::query_as!(
        Item,
        r#"SELECT id, region_code, title, body, important, starts_on, ends_on, published_at,
                  updated_at, author_label, version
           FROM news
           WHERE published_at IS NOT NULL
             AND (region_code IS NULL OR region_code = $1)
             AND starts_on <= ($2::timestamptz AT TIME ZONE 'Europe/Paris')::date
             AND (ends_on IS NULL OR ends_on >= ($2::timestamptz AT TIME ZONE 'Europe/Paris')::date)
           ORDER BY important DESC, starts_on DESC, published_at DESC, id
           LIMIT 20"#,
        region,
        now,
    )
    .fetch_all(pool)
    .await?)
}

/// Renders the Markdown subset to safe HTML (see the module's documentation).
pub fn render(markdown: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_STRIKETHROUGH);
    // Whether the current link (links do not nest) was kept, to drop its end with it.
    let mut link_kept = Vec::new();
    let events = Parser::new_ext(markdown, options).filter_map(|event| match event {
        // Raw HTML is text, escaped when written.
        Event::Html(html) | Event::InlineHtml(html) => Some(Event::Text(html)),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            // An e-mail autolink (`<a@b.fr>`) becomes `mailto:` in the writer.
            let keep = link_type == LinkType::Email || safe_destination(&dest_url);
            link_kept.push(keep);
            keep.then_some(Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }))
        }
        Event::End(TagEnd::Link) => link_kept
            .pop()
            .unwrap_or(false)
            .then_some(Event::End(TagEnd::Link)),
        // An image is its description (its text events pass through).
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        // A heading is strong text: the page's own headings stay in order.
        Event::Start(Tag::Heading { .. }) => Some(Event::Start(Tag::Strong)),
        Event::End(TagEnd::Heading(_)) => Some(Event::End(TagEnd::Strong)),
        Event::Start(Tag::HtmlBlock) | Event::End(TagEnd::HtmlBlock) => None,
        // Footnotes, tables, tasks and maths are not enabled: they never come.
        other => Some(other),
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// A link destination the subset keeps: `https:`, `mailto:`, or a path of the portal.
fn safe_destination(dest: &CowStr<'_>) -> bool {
    let d = dest.trim();
    let lower = d.to_ascii_lowercase();
    lower.starts_with("https://")
        || lower.starts_with("mailto:")
        || (d.starts_with('/') && !d.starts_with("//") && !d.contains('\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subset_is_rendered() {
        assert_eq!(
            render("**Maintenance** le *12 décembre*.\n\n- un\n- deux"),
            "<p><strong>Maintenance</strong> le <em>12 décembre</em>.</p>\n<ul>\n<li>un</li>\n<li>deux</li>\n</ul>\n"
        );
        assert_eq!(
            render(
                "[ARS](https://www.iledefrance.ars.sante.fr) et [nous](mailto:support@ars.example)"
            ),
            "<p><a href=\"https://www.iledefrance.ars.sante.fr\">ARS</a> et <a href=\"mailto:support@ars.example\">nous</a></p>\n"
        );
    }

    #[test]
    fn nothing_of_the_author_becomes_markup() {
        let html = render(
            "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)> [clic](javascript:alert(1)) \
             [x](//evil.example) ![alt](https://evil.example/i.png) # Titre",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("evil.example"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(html.contains("clic"), "{html}");
        assert!(html.contains("alt"), "{html}");
        // A heading becomes strong text (no <h1> inside a page's section).
        assert!(render("# Titre").contains("<strong>Titre</strong>"));
        assert!(!render("# Titre").contains("<h1"));
    }

    #[test]
    fn quotes_in_links_cannot_break_out() {
        let html = render("[a](https://x.example/\"onmouseover=\"alert(1))");
        assert!(!html.contains("\"onmouseover"), "{html}");
    }
}
