//! The e-mails the folder transport wrote (`<data_dir>/mail/<id>.eml`), read back for the demo's
//! "Courriels de démonstration" page: the outbox forgets a message's body once it is sent (codes and
//! links must not linger in the database), the demo's folder keeps it.

use std::path::Path;
use std::time::SystemTime;

use mail_parser::MessageParser;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, Result};

/// The page lists at most this many, newest first.
pub const LISTED: usize = 100;

/// One e-mail of the folder, as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderMail {
    /// The file's name without `.eml` (lettre names each file with a fresh UUID).
    pub id: Uuid,
    pub to: String,
    pub subject: String,
    /// When the file was written: the folder is the "mail server", this is its arrival time.
    pub written: OffsetDateTime,
    /// The plain-text part, which says everything the HTML part says.
    pub text: String,
}

/// The newest [`LISTED`] e-mails of the folder, newest first. A folder not yet created (no e-mail
/// sent yet) is an empty list; a file that does not parse as an e-mail is left out.
pub async fn list(folder: &Path) -> Result<Vec<FolderMail>> {
    let mut entries = match tokio::fs::read_dir(folder).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(folder, &e)),
    };
    let mut files = Vec::new();
    while let Some(entry) = entries
        .next_entry()
        .await
        .map_err(|e| io_error(folder, &e))?
    {
        let Some(id) = id_of(&entry.file_name().to_string_lossy()) else {
            continue;
        };
        let written = entry
            .metadata()
            .await
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        files.push((written, id));
    }
    // Newest first; equal times (one second's resolution on some file systems) by name, so the
    // order does not change from one reload to the next.
    files.sort_by(|a, b| b.cmp(a));
    let mut mails = Vec::new();
    for (_, id) in files.into_iter().take(LISTED) {
        if let Some(mail) = read(folder, id).await? {
            mails.push(mail);
        }
    }
    Ok(mails)
}

/// One e-mail by its identifier; `None` when there is no such file or it is not an e-mail.
pub async fn read(folder: &Path, id: Uuid) -> Result<Option<FolderMail>> {
    // The identifier is a parsed UUID: the path cannot leave the folder.
    let path = folder.join(format!("{id}.eml"));
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(&path, &e)),
    };
    let written = tokio::fs::metadata(&path)
        .await
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    Ok(parse(id, &bytes, OffsetDateTime::from(written)))
}

/// The id of a file named `<uuid>.eml` (the folder also holds nothing else, but a stray file or a
/// temporary one must not be taken for an e-mail).
fn id_of(file_name: &str) -> Option<Uuid> {
    file_name
        .strip_suffix(".eml")
        .and_then(|stem| Uuid::parse_str(stem).ok())
}

fn parse(id: Uuid, bytes: &[u8], written: OffsetDateTime) -> Option<FolderMail> {
    let message = MessageParser::default().parse(bytes)?;
    let to = message
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_string();
    Some(FolderMail {
        id,
        to,
        subject: message.subject().unwrap_or_default().to_string(),
        written,
        text: message.body_text(0).map(|t| t.into_owned())?,
    })
}

fn io_error(path: &Path, e: &std::io::Error) -> Error {
    Error::Internal(format!("mail folder {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An e-mail as lettre writes it: multipart/alternative, quoted-printable accents.
    const WRITTEN: &str = "From: Passerelle <ne-pas-repondre@passerelle.example>\r\n\
To: dr.martin@chu.example\r\n\
Subject: =?utf-8?b?Vm90cmUgY29kZSBkZSBjb25uZXhpb24=?=\r\n\
Date: Thu, 03 Dec 2026 10:00:00 +0000\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Votre code de connexion : 123456\r\n\
Il expire dans 10 minutes. R=C3=A9gion =C3=8Ele-de-France.\r\n\
--b1\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p>Votre code de connexion : <b>123456</b></p>\r\n\
--b1--\r\n";

    #[test]
    fn an_e_mail_reads_back_with_its_recipient_subject_and_text() {
        let id = Uuid::new_v4();
        let written = OffsetDateTime::UNIX_EPOCH;
        let mail = parse(id, WRITTEN.as_bytes(), written).expect("parses");
        assert_eq!(mail.to, "dr.martin@chu.example");
        assert_eq!(mail.subject, "Votre code de connexion");
        assert!(mail.text.contains("Votre code de connexion : 123456"));
        assert!(mail.text.contains("Région Île-de-France"), "{}", mail.text);
        assert!(!mail.text.contains("<b>"));
    }

    #[test]
    fn only_uuid_named_eml_files_are_e_mails() {
        let id = Uuid::new_v4();
        assert_eq!(id_of(&format!("{id}.eml")), Some(id));
        assert_eq!(id_of(&format!("{id}.json")), None);
        assert_eq!(id_of("../../etc/passwd.eml"), None);
        assert_eq!(id_of(".tmp.eml"), None);
    }

    #[tokio::test]
    async fn the_folder_lists_newest_first_and_reads_one_by_id() {
        let dir = std::env::temp_dir().join(format!("passerelle-mail-{}", Uuid::new_v4()));
        assert!(list(&dir).await.expect("missing folder").is_empty());
        std::fs::create_dir_all(&dir).expect("folder");
        let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
        std::fs::write(dir.join(format!("{first}.eml")), WRITTEN).expect("write");
        std::fs::write(dir.join("not-an-e-mail.txt"), "x").expect("write");
        // Written long ago (the other file is written now).
        let older = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        std::fs::File::options()
            .write(true)
            .open(dir.join(format!("{first}.eml")))
            .and_then(|f| f.set_modified(older))
            .expect("set time");
        std::fs::write(
            dir.join(format!("{second}.eml")),
            WRITTEN.replace("dr.martin@", "inf.durand@"),
        )
        .expect("write");
        let mails = list(&dir).await.expect("list");
        let ids: Vec<Uuid> = mails.iter().map(|m| m.id).collect();
        assert_eq!(ids, vec![second, first]);
        assert_eq!(mails[0].to, "inf.durand@chu.example");
        let one = read(&dir, first).await.expect("read").expect("present");
        assert_eq!(one.to, "dr.martin@chu.example");
        assert_eq!(read(&dir, Uuid::new_v4()).await.expect("read"), None);
        std::fs::remove_dir_all(&dir).expect("clean");
    }
}
