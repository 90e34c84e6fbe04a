//! The national directory: its loads (why a file or a line is refused), verification against it,
//! and the public « Annuaire ».
//!
//! One struct, one constant per language: a message missing in either language is a compile error;
//! the refusals are matched exhaustively, so a new reason does not compile until it is said.

use model::directory::{DirectoryError, DirectoryFile, LineProblem};

use super::{plural_en, plural_fr};

pub struct Directory {
    /// The name of each extraction, as the reports say it.
    pub file: fn(DirectoryFile) -> &'static str,
    /// Why a whole file was refused.
    pub error: fn(&DirectoryError) -> String,
    /// Why one line was set aside.
    pub line_problem: fn(&LineProblem) -> String,
    /// « ligne 12 : … ».
    pub bad_line: fn(u64, &str) -> String,
    /// The summary of a load: lines read, rows loaded, bad lines.
    pub loaded: fn(u64, u64, u64) -> String,
    /// Professionals (establishments) added, removed, changed.
    pub changes: fn(u64, u64, u64) -> String,
    pub unchanged: &'static str,
    pub err_running: &'static str,
    pub err_unknown_file: &'static str,
    pub err_refused: &'static str,
    pub err_unknown_rpps: &'static str,
    pub err_name_differs: &'static str,
    pub err_link_refused: &'static str,
    pub err_unknown_finess: &'static str,
    pub prefill_label: &'static str,
    pub prefill_button: &'static str,
    pub prefill_found: &'static str,
    pub prefill_absent: &'static str,
    pub finess_override_label: &'static str,
    pub finess_override_hint: &'static str,
    pub verification_on: fn(&str) -> String,
    pub verification_off: &'static str,
    pub override_label: &'static str,
    pub override_hint: &'static str,
    pub public_title: &'static str,
    pub public_intro: &'static str,
    pub search_label: &'static str,
    pub search_hint: &'static str,
    pub search_button: &'static str,
    pub on_passerelle: &'static str,
    pub get_account: &'static str,
    pub support: &'static str,
    pub no_result: fn(&str) -> String,
    pub results: fn(usize) -> String,
    pub more_results: &'static str,
    pub sign_in_link: &'static str,
    pub console_title: &'static str,
    pub console_intro: &'static str,
    pub folder: fn(&str) -> String,
    pub folder_empty: &'static str,
    pub load: &'static str,
    pub loads: &'static str,
    pub col_file: &'static str,
    pub col_started: &'static str,
    pub col_state: &'static str,
    pub col_result: &'static str,
    pub state: fn(&str) -> &'static str,
    pub progress: fn(u8) -> String,
    pub set_aside: &'static str,
    pub failed: &'static str,
    pub absent_title: &'static str,
    pub absent_intro: fn(i64) -> String,
    pub absent_none: &'static str,
    pub account_title: &'static str,
    pub account_absent: &'static str,
    pub account_name: &'static str,
    pub account_name_differs: &'static str,
    pub account_exception: &'static str,
    pub exception_label: &'static str,
    pub exception_hint: &'static str,
    pub exception_save: &'static str,
}

fn i(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) const FR: Directory = Directory {
    file: |f| match f {
        DirectoryFile::Professionals => "extraction des professionnels (Annuaire Santé)",
        DirectoryFile::Establishments => "extraction des établissements (FINESS)",
    },
    error: |e| match e {
        DirectoryError::Empty { file: f } => {
            format!("Le fichier est vide : ce n'est pas une {}.", (FR.file)(*f))
        }
        DirectoryError::MissingColumns { file, columns } => format!(
            "Colonne{} absente{} de l'en-tête de l'{} : {}. Le fichier est refusé ; l'annuaire en place est conservé.",
            plural_fr(i(columns.len() as u64)),
            plural_fr(i(columns.len() as u64)),
            (FR.file)(*file),
            columns
                .iter()
                .map(|c| format!("« {c} »"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        DirectoryError::DuplicateColumn { column: c } => {
            format!("La colonne « {c} » apparaît deux fois dans l'en-tête : le fichier est refusé.")
        }
        DirectoryError::Unreadable { line, reason } => {
            format!("Le fichier ne peut pas être lu (ligne {line}) : {reason}.")
        }
        DirectoryError::UnknownFile { name } => format!(
            "« {name} » n'est le nom d'aucune extraction connue (PS_LibreAcces_Personne_activite_…txt ou etalab-cs1100507-stock-…csv)."
        ),
        DirectoryError::NoValidLine { file: f } => format!(
            "Aucune ligne valide dans cette {} : l'annuaire en place est conservé.",
            (FR.file)(*f)
        ),
        DirectoryError::Shrunk {
            file,
            before,
            after,
        } => format!(
            "Cette {} ne contient que {after} lignes valides, contre {before} dans l'annuaire en place : \
             fichier tronqué ? Il est refusé ; si la baisse est attendue, relancez avec --allow-shrink.",
            (FR.file)(*file)
        ),
        DirectoryError::AlreadyRunning { file: f } => format!(
            "Un chargement de l'{} est déjà en cours : attendez qu'il se termine.",
            (FR.file)(*f)
        ),
    },
    line_problem: |p| match p {
        LineProblem::Encoding => "caractères invalides (le fichier doit être en UTF-8)".into(),
        LineProblem::TooFewFields { found, expected } => {
            format!("{found} champs au lieu d'au moins {expected} (ligne tronquée ?)")
        }
        LineProblem::IdentifierType { value } => {
            format!("type d'identifiant « {value} » inconnu (8 = RPPS, 0 = ADELI)")
        }
        LineProblem::Identifier { value } => {
            format!("identifiant « {value} » invalide (longueur, caractères ou clé de contrôle)")
        }
        LineProblem::NationalIdentifier { value } => format!(
            "identification nationale « {value} » différente du type suivi de l'identifiant"
        ),
        LineProblem::Finess { column, value } => {
            format!("numéro FINESS « {value} » invalide dans « {column} »")
        }
        LineProblem::Empty { column } => format!("« {column} » est vide"),
        LineProblem::Duplicate { value } => {
            format!(
                "FINESS {value} déjà lu plus haut dans le fichier (la première ligne est gardée)"
            )
        }
    },
    bad_line: |line, why| format!("ligne {line} : {why}"),
    loaded: |lines, rows, bad| {
        format!(
            "{lines} ligne{} lue{}, {rows} chargée{}, {bad} mise{} de côté",
            plural_fr(i(lines)),
            plural_fr(i(lines)),
            plural_fr(i(rows)),
            plural_fr(i(bad)),
        )
    },
    changes: |added, removed, changed| {
        format!(
            "{added} ajout{}, {removed} retrait{}, {changed} modification{}",
            plural_fr(i(added)),
            plural_fr(i(removed)),
            plural_fr(i(changed)),
        )
    },
    unchanged: "Ce fichier est celui de l'annuaire en place : rien n'a changé.",
    err_running: "Un chargement de ce fichier de l'annuaire est déjà en cours : attendez qu'il se termine.",
    err_unknown_file: "Ce nom de fichier n'est celui d'aucune extraction connue (PS_LibreAcces_Personne_activite_…txt ou etalab-cs1100507-stock-…csv).",
    err_refused: "Le fichier a été refusé : le compte rendu du chargement dit pourquoi ; l'annuaire en place est conservé.",
    err_unknown_rpps: "Ce numéro RPPS est absent de l'annuaire national chargé. Vérifiez-le ; si l'annuaire n'est pas encore à jour, confirmez en indiquant un motif.",
    err_link_refused: "Votre carte ou votre identité Pro Santé Connect n'a pas pu être liée : l'annuaire national ne connaît pas ce RPPS sous le nom de votre compte. Contactez l'assistance de votre région, qui vérifiera et pourra valider votre compte.",
    err_unknown_finess: "Ce numéro FINESS est absent du fichier FINESS chargé. Vérifiez-le ; si l'établissement est trop récent pour y figurer, indiquez un motif.",
    prefill_label: "Numéro FINESS à chercher",
    prefill_button: "Pré-remplir depuis FINESS",
    prefill_found: "Trouvé dans le fichier FINESS : nom, ville et région pré-remplis ci-dessous.",
    prefill_absent: "Ce numéro est absent du fichier FINESS chargé.",
    finess_override_label: "Motif, si le numéro est absent du fichier FINESS (facultatif)",
    finess_override_hint: "Un numéro absent du fichier FINESS chargé est refusé, sauf motif (établissement trop récent) : le motif est inscrit au journal.",
    verification_on: |date| {
        format!("Le RPPS et le nom sont vérifiés dans l'annuaire national (extraction du {date}).")
    },
    verification_off: "Aucun annuaire national n'est chargé : le RPPS n'est vérifié que par sa clé de contrôle.",
    public_title: "Annuaire des établissements",
    public_intro: "Trouvez un établissement de santé par son nom, sa ville, son code postal ou son numéro FINESS, et l'assistance de sa région qui crée les comptes.",
    search_label: "Nom, ville, code postal ou numéro FINESS",
    search_hint: "Le début de chaque mot suffit, sans accents ni majuscules : « pitie salp », « lyon 69003 ».",
    search_button: "Rechercher",
    on_passerelle: "Accès Passerelle",
    get_account: "Comment obtenir un compte",
    support: "Assistance",
    no_result: |q| format!("Aucun établissement ne correspond à « {q} »."),
    results: |n| {
        format!(
            "{n} établissement{} trouvé{}",
            plural_fr(super::count(n)),
            plural_fr(super::count(n))
        )
    },
    more_results: "D'autres établissements correspondent : précisez votre recherche (ville, code postal…).",
    sign_in_link: "Annuaire des établissements",
    console_title: "Annuaire national",
    console_intro: "Les extractions publiques de l'Annuaire Santé (professionnels, PS_LibreAcces_Personne_activite_….txt) et de FINESS (établissements, etalab-cs1100507-stock-….csv) remplacent chacune sa partie de l'annuaire en une fois. Une fois les professionnels chargés, les RPPS et les noms des comptes sont vérifiés à la création et à l'import.",
    folder: |dir| {
        format!(
            "Fichiers déposés dans le dossier {dir} (le téléchargement quotidien y dépose les extractions) :"
        )
    },
    folder_empty: "Aucune extraction dans le dossier.",
    load: "Charger",
    loads: "Chargements",
    col_file: "Fichier",
    col_started: "Commencé le",
    col_state: "État",
    col_result: "Résultat",
    state: |s| match s {
        "running" => "en cours",
        "done" => "chargé",
        "unchanged" => "inchangé (déjà en place)",
        "refused" => "refusé",
        _ => "échoué",
    },
    progress: |p| format!("{p} % du fichier lu"),
    set_aside: "Lignes mises de côté",
    failed: "Le chargement a échoué pour une raison technique (base de données indisponible…) : l'annuaire en place est conservé ; relancez-le, les journaux du serveur disent pourquoi.",
    absent_title: "Comptes absents de l'annuaire",
    absent_intro: |n| {
        format!(
            "{n} compte{} actif{} dont le RPPS n'est pas (ou plus) dans l'annuaire chargé :",
            plural_fr(n),
            plural_fr(n)
        )
    },
    absent_none: "Tous les RPPS des comptes sont dans l'annuaire chargé.",
    account_title: "Annuaire national",
    account_absent: "Ce RPPS n'est pas (ou plus) dans l'annuaire national chargé.",
    account_name: "Nom d'exercice",
    account_name_differs: "Ce nom diffère de celui du compte.",
    account_exception: "Écart avec l'annuaire accepté",
    exception_label: "Motif pour accepter l'écart avec l'annuaire",
    exception_hint: "Avec un motif, la liaison d'une carte ou d'une identité Pro Santé Connect n'est plus refusée pour cet écart ; le motif est inscrit au journal. Videz le champ pour retirer l'exception.",
    exception_save: "Enregistrer le motif",
    override_label: "Motif, si l'annuaire n'est pas à jour (facultatif)",
    override_hint: "À remplir seulement si l'annuaire ne connaît pas encore ce RPPS ou ce nom (inscription récente, changement de nom) : le compte est alors créé et le motif est inscrit au journal d'audit.",
    err_name_differs: "Le nom ne correspond pas à celui que l'annuaire national donne pour ce RPPS. Vérifiez-le ; si l'annuaire n'est pas encore à jour, confirmez en indiquant un motif.",
};

pub(super) const EN: Directory = Directory {
    file: |f| match f {
        DirectoryFile::Professionals => "professionals extraction (Annuaire Santé)",
        DirectoryFile::Establishments => "establishments extraction (FINESS)",
    },
    error: |e| match e {
        DirectoryError::Empty { file: f } => {
            format!("The file is empty: it is not a {}.", (EN.file)(*f))
        }
        DirectoryError::MissingColumns { file, columns } => format!(
            "Column{} missing from the header of the {}: {}. The file is refused; the directory in place is kept.",
            plural_en(i(columns.len() as u64)),
            (EN.file)(*file),
            columns
                .iter()
                .map(|c| format!("“{c}”"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        DirectoryError::DuplicateColumn { column: c } => {
            format!("The column “{c}” appears twice in the header: the file is refused.")
        }
        DirectoryError::Unreadable { line, reason } => {
            format!("The file cannot be read (line {line}): {reason}.")
        }
        DirectoryError::UnknownFile { name } => format!(
            "“{name}” is the name of no known extraction (PS_LibreAcces_Personne_activite_…txt or etalab-cs1100507-stock-…csv)."
        ),
        DirectoryError::NoValidLine { file: f } => format!(
            "No valid line in this {}: the directory in place is kept.",
            (EN.file)(*f)
        ),
        DirectoryError::Shrunk {
            file,
            before,
            after,
        } => format!(
            "This {} has only {after} valid lines, against {before} in the directory in place: \
             a truncated file? It is refused; if the drop is expected, run again with --allow-shrink.",
            (EN.file)(*file)
        ),
        DirectoryError::AlreadyRunning { file: f } => format!(
            "A load of the {} is already running: wait until it ends.",
            (EN.file)(*f)
        ),
    },
    line_problem: |p| match p {
        LineProblem::Encoding => "invalid characters (the file must be UTF-8)".into(),
        LineProblem::TooFewFields { found, expected } => {
            format!("{found} fields instead of at least {expected} (a line cut short?)")
        }
        LineProblem::IdentifierType { value } => {
            format!("unknown identifier type “{value}” (8 = RPPS, 0 = ADELI)")
        }
        LineProblem::Identifier { value } => {
            format!("invalid identifier “{value}” (length, characters or check digit)")
        }
        LineProblem::NationalIdentifier { value } => {
            format!("national identifier “{value}” is not the type followed by the identifier")
        }
        LineProblem::Finess { column, value } => {
            format!("invalid FINESS number “{value}” in “{column}”")
        }
        LineProblem::Empty { column } => format!("“{column}” is empty"),
        LineProblem::Duplicate { value } => {
            format!("FINESS {value} already read above in the file (the first line is kept)")
        }
    },
    bad_line: |line, why| format!("line {line}: {why}"),
    loaded: |lines, rows, bad| {
        format!(
            "{lines} line{} read, {rows} loaded, {bad} set aside",
            plural_en(i(lines)),
        )
    },
    changes: |added, removed, changed| {
        format!(
            "{added} added, {removed} removed, {changed} change{}",
            plural_en(i(changed)),
        )
    },
    unchanged: "This file is the one of the directory in place: nothing changed.",
    err_running: "A load of this directory file is already running: wait until it ends.",
    err_unknown_file: "This file name is the one of no known extraction (PS_LibreAcces_Personne_activite_…txt or etalab-cs1100507-stock-…csv).",
    err_refused: "The file was refused: the load's report says why; the directory in place is kept.",
    err_unknown_rpps: "This RPPS number is not in the national directory loaded. Check it; if the directory is not up to date yet, confirm with a reason.",
    err_link_refused: "Your card or Pro Santé Connect identity could not be linked: the national directory does not know this RPPS under your account's name. Contact your region's support desk, which will check and may accept your account.",
    err_unknown_finess: "This FINESS number is not in the FINESS file loaded. Check it; if the establishment is too recent to be in it, give a reason.",
    prefill_label: "FINESS number to look up",
    prefill_button: "Fill in from FINESS",
    prefill_found: "Found in the FINESS file: name, city and region filled in below.",
    prefill_absent: "This number is not in the FINESS file loaded.",
    finess_override_label: "Reason, if the number is not in the FINESS file (optional)",
    finess_override_hint: "A number the FINESS file loaded does not have is refused, unless a reason is given (a too recent establishment): the reason is written in the audit log.",
    verification_on: |date| {
        format!(
            "The RPPS and the name are verified in the national directory (extraction of {date})."
        )
    },
    verification_off: "No national directory is loaded: the RPPS is only checked by its check digit.",
    public_title: "Directory of establishments",
    public_intro: "Find a health establishment by its name, city, postal code or FINESS number, and the support desk of its region that creates the accounts.",
    search_label: "Name, city, postal code or FINESS number",
    search_hint: "The start of each word is enough, without accents or capitals: “pitie salp”, “lyon 69003”.",
    search_button: "Search",
    on_passerelle: "On Passerelle",
    get_account: "How to get an account",
    support: "Support",
    no_result: |q| format!("No establishment matches “{q}”."),
    results: |n| format!("{n} establishment{} found", plural_en(super::count(n))),
    more_results: "More establishments match: narrow your search (city, postal code…).",
    sign_in_link: "Directory of establishments",
    console_title: "National directory",
    console_intro: "The public extractions of the Annuaire Santé (professionals, PS_LibreAcces_Personne_activite_….txt) and of FINESS (establishments, etalab-cs1100507-stock-….csv) each replace their part of the directory at once. Once the professionals are loaded, the accounts' RPPS and names are verified on creation and import.",
    folder: |dir| {
        format!("Files in the folder {dir} (the daily download puts the extractions there):")
    },
    folder_empty: "No extraction in the folder.",
    load: "Load",
    loads: "Loads",
    col_file: "File",
    col_started: "Started",
    col_state: "State",
    col_result: "Result",
    state: |s| match s {
        "running" => "running",
        "done" => "loaded",
        "unchanged" => "unchanged (already in place)",
        "refused" => "refused",
        _ => "failed",
    },
    progress: |p| format!("{p} % of the file read"),
    set_aside: "Lines set aside",
    failed: "The load failed for a technical reason (database unavailable…): the directory in place is kept; run it again, the server's logs say why.",
    absent_title: "Accounts missing from the directory",
    absent_intro: |n| {
        format!(
            "{n} active account{} whose RPPS is not (or no longer) in the directory loaded:",
            plural_en(n)
        )
    },
    absent_none: "Every account's RPPS is in the directory loaded.",
    account_title: "National directory",
    account_absent: "This RPPS is not (or no longer) in the national directory loaded.",
    account_name: "Exercise name",
    account_name_differs: "This name differs from the account's.",
    account_exception: "Difference with the directory accepted",
    exception_label: "Reason to accept the difference with the directory",
    exception_hint: "With a reason, linking a card or a Pro Santé Connect identity is no longer refused for this difference; the reason is written in the audit log. Empty the field to remove the exception.",
    exception_save: "Save the reason",
    override_label: "Reason, if the directory is not up to date (optional)",
    override_hint: "Fill in only if the directory does not know this RPPS or this name yet (recent registration, change of name): the account is then created and the reason written in the audit log.",
    err_name_differs: "The name does not match the one the national directory gives for this RPPS. Check it; if the directory is not up to date yet, confirm with a reason.",
};
