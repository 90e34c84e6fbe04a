//! The folder the national directory's extractions are downloaded into (a daily job): the console
//! lists the files of a known kind and loads the one chosen. Only names listed here are loaded,
//! so a name posted by a page never reaches outside the folder.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::DirectoryFile;
use crate::error::{Error, Result};

/// A file of the folder that is an extraction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxFile {
    pub name: String,
    pub kind: DirectoryFile,
    pub bytes: u64,
    /// The date in its published name.
    pub date: Option<OffsetDateTime>,
}

/// The extractions in `dir`, newest first; an absent folder holds none.
pub fn list(dir: &Path) -> Result<Vec<InboxFile>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::Internal(format!("{}: {e}", dir.display()))),
    };
    let mut files: Vec<InboxFile> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let meta = entry.metadata().ok().filter(std::fs::Metadata::is_file)?;
            let name = entry.file_name().into_string().ok()?;
            // A zip as published counts when it holds an extraction (dated by that one's name).
            let (kind, dated) = match DirectoryFile::from_file_name(&name) {
                Some(kind) => (kind, name.clone()),
                None if name.to_ascii_lowercase().ends_with(".zip") => {
                    let (_, inner, kind) = super::load::zip_entry(&entry.path()).ok()??;
                    (kind, inner)
                }
                None => return None,
            };
            Some(InboxFile {
                date: super::load::file_date(&dated),
                name,
                kind,
                bytes: meta.len(),
            })
        })
        .collect();
    files.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.name.cmp(&b.name)));
    Ok(files)
}

/// The path of the file `name` of the folder, if it is one of its extractions.
pub fn resolve(dir: &Path, name: &str) -> Result<PathBuf> {
    list(dir)?
        .into_iter()
        .find(|f| f.name == name)
        .map(|f| dir.join(f.name))
        .ok_or(Error::NotFound)
}
