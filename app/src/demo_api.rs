//! Server functions of the demo's e-mail pages (`/demo/courriels`): what the portal "sent" while no
//! SMTP server is configured, read back from the folder the e-mails are written to. They exist
//! only with demo data on a public URL that is not https; anywhere else they are "not found".

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;

/// One e-mail in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoMailSummary {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub written: String,
}

/// One piece of a line of an e-mail: text, or a link to the portal itself (activation, reset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Piece {
    Text(String),
    Link(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoMailView {
    pub summary: DemoMailSummary,
    pub lines: Vec<Vec<Piece>>,
}

/// Cuts a line of an e-mail's text into text and the links to `origin` it holds. Only the
/// portal's own links become links: the text also carries what users typed (names), and a demo
/// page must not turn someone's text into a link elsewhere.
pub fn pieces(line: &str, origin: &str) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut text = String::new();
    for (i, word) in line.split(' ').enumerate() {
        if i > 0 {
            text.push(' ');
        }
        let is_own_link = !origin.is_empty()
            && (word == origin || word.starts_with(&format!("{origin}/")))
            && !word.contains(['"', '<', '>']);
        if is_own_link {
            if !text.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut text)));
            }
            out.push(Piece::Link(word.to_string()));
        } else {
            text.push_str(word);
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    out
}

#[cfg(feature = "ssr")]
mod server {
    use std::path::PathBuf;

    use domain::mail::folder::FolderMail;

    use super::*;
    use crate::api::server::{context, datetime};

    /// The demo's mail folder, or "not found" when the page is not offered.
    pub async fn folder() -> Result<(PathBuf, String), ErrorCode> {
        let (_, services) = context().await?;
        let folder = services
            .settings
            .demo_mail_folder
            .clone()
            .ok_or(ErrorCode::NotFound)?;
        Ok((folder, services.settings.public_origin.clone()))
    }

    pub fn summary(m: &FolderMail) -> DemoMailSummary {
        DemoMailSummary {
            id: m.id.to_string(),
            to: m.to.clone(),
            subject: m.subject.clone(),
            written: datetime(m.written),
        }
    }
}

#[server(prefix = "/api", endpoint = "demo-mails", input = GetUrl)]
pub async fn get_demo_mails() -> Result<Vec<DemoMailSummary>, ErrorCode> {
    let (folder, _) = server::folder().await?;
    let mails = domain::mail::folder::list(&folder).await?;
    Ok(mails.iter().map(server::summary).collect())
}

#[server(prefix = "/api", endpoint = "demo-mail", input = GetUrl)]
pub async fn get_demo_mail(id: String) -> Result<DemoMailView, ErrorCode> {
    let (folder, origin) = server::folder().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ErrorCode::NotFound)?;
    let mail = domain::mail::folder::read(&folder, id)
        .await?
        .ok_or(ErrorCode::NotFound)?;
    Ok(DemoMailView {
        summary: server::summary(&mail),
        lines: mail.text.lines().map(|l| pieces(l, &origin)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::{Piece, pieces};

    const ORIGIN: &str = "http://127.0.0.1:3000";

    #[test]
    fn the_portals_own_links_become_links_and_nothing_else() {
        assert_eq!(
            pieces(
                "Activez votre compte : http://127.0.0.1:3000/mot-de-passe?jeton=abc (valable 72 h)",
                ORIGIN
            ),
            vec![
                Piece::Text("Activez votre compte : ".into()),
                Piece::Link("http://127.0.0.1:3000/mot-de-passe?jeton=abc".into()),
                Piece::Text(" (valable 72 h)".into()),
            ]
        );
        assert_eq!(
            pieces("Bonjour https://ailleurs.example/piege", ORIGIN),
            vec![Piece::Text("Bonjour https://ailleurs.example/piege".into())]
        );
        assert_eq!(
            pieces("http://127.0.0.1:30000/autre-port", ORIGIN),
            vec![Piece::Text("http://127.0.0.1:30000/autre-port".into())]
        );
        assert_eq!(pieces("", ORIGIN), Vec::<Piece>::new());
    }
}
