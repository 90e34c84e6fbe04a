//! The national directory's refusals as the pages tell them: a load refused at once (another one
//! runs, a file of no known name; the reasons found while reading are in the load's report), and
//! an account that does not match the directory.

use serde::{Deserialize, Serialize};

use super::{Entry, codes};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DirectoryFault {
    AlreadyRunning,
    UnknownFile,
    /// Refused while reading: the load's report says why.
    Refused,
    /// The RPPS is not in the directory loaded.
    UnknownRpps,
    /// The RPPS is, under another exercise name.
    NameDiffers,
    /// A card or PSC identity the directory contradicts, on the linking page: the holder is sent
    /// to the desk.
    LinkRefused,
    /// A new establishment's FINESS number is not in the FINESS file loaded.
    UnknownFiness,
}

codes! {
    /// Each directory refusal: its slug, its status and its message.
    pub(super) DIRECTORY_ERRORS: DirectoryFault [
        DirectoryFault::AlreadyRunning => "annuaire-chargement-en-cours", 409, directory.err_running;
        DirectoryFault::UnknownFile    => "annuaire-fichier-inconnu", 400, directory.err_unknown_file;
        DirectoryFault::Refused        => "annuaire-fichier-refuse", 400, directory.err_refused;
        DirectoryFault::UnknownRpps    => "annuaire-rpps-inconnu", 409, directory.err_unknown_rpps;
        DirectoryFault::NameDiffers    => "annuaire-nom-different", 409, directory.err_name_differs;
        DirectoryFault::LinkRefused    => "annuaire-liaison-refusee", 403, directory.err_link_refused;
        DirectoryFault::UnknownFiness  => "annuaire-finess-inconnu", 409, directory.err_unknown_finess;
    ]
}

impl From<model::directory::DirectoryError> for DirectoryFault {
    fn from(e: model::directory::DirectoryError) -> Self {
        use model::directory::DirectoryError as E;
        match e {
            E::AlreadyRunning { .. } => DirectoryFault::AlreadyRunning,
            E::UnknownFile { .. } => DirectoryFault::UnknownFile,
            E::Empty { .. }
            | E::MissingColumns { .. }
            | E::DuplicateColumn { .. }
            | E::Unreadable { .. }
            | E::NoValidLine { .. }
            | E::Shrunk { .. } => DirectoryFault::Refused,
        }
    }
}

impl From<model::directory::Mismatch> for DirectoryFault {
    fn from(m: model::directory::Mismatch) -> Self {
        match m {
            model::directory::Mismatch::UnknownRpps => DirectoryFault::UnknownRpps,
            model::directory::Mismatch::NameDiffers => DirectoryFault::NameDiffers,
            model::directory::Mismatch::UnknownFiness => DirectoryFault::UnknownFiness,
        }
    }
}
