//! The CSV import of the console.
//!
//! One struct, one constant per language: a message missing in either language is a compile error.

use super::{count, plural_en, plural_fr};

pub struct Import {
    pub err_import_too_large: fn(usize) -> String,
    pub err_import_too_many_rows: fn(usize) -> String,
    pub err_import_empty: &'static str,
    pub err_import_encoding: &'static str,
    pub err_import_malformed: fn(u64) -> String,
    pub err_import_missing_columns: fn(&str) -> String,
    pub err_import_duplicate_column: fn(&str) -> String,
    pub err_import_rows_in_error: fn(usize) -> String,
    pub err_import_no_file: &'static str,
    pub imp_title: &'static str,
    pub imp_intro: &'static str,
    pub imp_format: fn(usize, usize) -> String,
    pub imp_template: &'static str,
    pub imp_file: &'static str,
    pub imp_check: &'static str,
    pub imp_recent: &'static str,
    pub imp_none: &'static str,
    pub imp_col_date: &'static str,
    pub imp_col_file: &'static str,
    pub imp_col_rows: &'static str,
    pub imp_col_state: &'static str,
    pub imp_col_by: &'static str,
    pub imp_state_validating: &'static str,
    pub imp_state_previewed: &'static str,
    pub imp_state_committing: &'static str,
    pub imp_state_committed: &'static str,
    pub imp_state_interrupted: &'static str,
    pub imp_state_abandoned: &'static str,
    pub imp_upload_title: fn(&str) -> String,
    pub imp_summary: fn(usize, &str, &str, &str) -> String,
    pub imp_progress_validated: fn(usize, usize) -> String,
    pub imp_progress_written: fn(usize, usize) -> String,
    pub imp_progress_starting: &'static str,
    pub imp_progress_wait: &'static str,
    pub imp_refresh: &'static str,
    pub imp_counts: &'static str,
    pub imp_count_create: &'static str,
    pub imp_count_update: &'static str,
    pub imp_count_unchanged: &'static str,
    pub imp_count_errors: &'static str,
    pub imp_done_counts: &'static str,
    pub imp_done_create: &'static str,
    pub imp_done_update: &'static str,
    pub imp_done_unchanged: &'static str,
    pub imp_done_skipped: &'static str,
    pub imp_problems: &'static str,
    pub imp_col_line: &'static str,
    pub imp_col_column: &'static str,
    pub imp_col_value: &'static str,
    pub imp_col_message: &'static str,
    pub imp_more: fn(usize) -> String,
    pub imp_rows: &'static str,
    pub imp_col_username: &'static str,
    pub imp_col_action: &'static str,
    pub imp_col_establishments: &'static str,
    pub imp_kind_create: &'static str,
    pub imp_kind_update: &'static str,
    pub imp_kind_unchanged: &'static str,
    pub imp_skip_errors: &'static str,
    pub imp_commit: &'static str,
    pub imp_abandon: &'static str,
    pub imp_recheck: &'static str,
    pub imp_preview_csv: &'static str,
    pub imp_report_csv: &'static str,
    pub imp_nothing_to_do: &'static str,
    pub imp_nothing_changed: &'static str,
    pub imp_committed: &'static str,
    pub imp_interrupted: &'static str,
    pub imp_commit_interrupted: &'static str,
    pub imp_now_in_error: fn(usize) -> String,
    pub imp_unknown_columns: fn(&str) -> String,
    pub imp_detected: fn(&str, &str) -> String,
    pub imp_another: &'static str,
    pub imp_abandoned: &'static str,
    pub imp_done_abandoned: &'static str,
    pub imp_see_users: &'static str,
}

pub(super) const FR: Import = Import {
    err_import_too_large: |n| {
        format!("Le fichier dépasse {n} Mo : découpez-le en plusieurs fichiers.")
    },
    err_import_too_many_rows: |n| {
        format!("Le fichier compte plus de {n} lignes : découpez-le en plusieurs fichiers.")
    },
    err_import_empty: "Le fichier est vide.",
    err_import_encoding: "Encodage non pris en charge : enregistrez le fichier au format « CSV UTF-8 » ou « CSV (séparateur : point-virgule) ».",
    err_import_malformed: |n| format!("Le fichier n'est pas un CSV valide (ligne {n})."),
    err_import_missing_columns: |cols| {
        format!(
            "Colonnes obligatoires absentes de l'en-tête : {cols}. Téléchargez le modèle pour voir les colonnes attendues."
        )
    },
    err_import_duplicate_column: |col| {
        format!("La colonne « {col} » figure deux fois dans l'en-tête.")
    },
    err_import_rows_in_error: |n| {
        format!(
            "{n} ligne{} en erreur : corrigez le fichier, ou cochez « Ignorer les lignes en erreur ».",
            plural_fr(count(n))
        )
    },
    err_import_no_file: "Choisissez un fichier CSV à importer.",
    imp_title: "Importer des comptes",
    imp_intro: "Déposez un fichier exporté d'un tableur : il est d'abord vérifié ligne par ligne, sans rien modifier, puis vous confirmez l'import. Les nouveaux comptes reçoivent un courriel d'activation.",
    imp_format: |rows, mib| {
        format!(
            "Colonnes attendues (dans n'importe quel ordre) : identifiant, courriel, nom, prenom (obligatoires) ; rpps ; finess (un ou plusieurs numéros séparés par des espaces ou des virgules) ; role (vide ou « support »). Séparateur point-virgule ou virgule, encodage UTF-8 ou Windows-1252, {rows} lignes et {mib} Mo au plus."
        )
    },
    imp_template: "Télécharger le modèle (CSV)",
    imp_file: "Fichier CSV",
    imp_check: "Vérifier le fichier",
    imp_recent: "Imports récents",
    imp_none: "Aucun import récent.",
    imp_col_date: "Date",
    imp_col_file: "Fichier",
    imp_col_rows: "Lignes",
    imp_col_state: "État",
    imp_col_by: "Par",
    imp_state_validating: "Vérification en cours",
    imp_state_previewed: "Vérifié, à confirmer",
    imp_state_committing: "Import en cours",
    imp_state_committed: "Importé",
    imp_state_interrupted: "Interrompu",
    imp_state_abandoned: "Abandonné",
    imp_upload_title: |file| format!("Import du fichier {file}"),
    imp_summary: |rows, region, actor, date| {
        format!("{rows} lignes, région {region}, déposé par {actor} le {date}.")
    },
    imp_progress_validated: |done, total| format!("Lignes vérifiées : {done} sur {total}"),
    imp_progress_written: |done, total| format!("Lignes écrites : {done} sur {total}"),
    imp_progress_starting: "Démarrage…",
    imp_progress_wait: "Cette page se met à jour toute seule ; vous pouvez la quitter et y revenir.",
    imp_refresh: "Actualiser",
    imp_counts: "Résultat de la vérification",
    imp_count_create: "À créer",
    imp_count_update: "À mettre à jour",
    imp_count_unchanged: "Inchangées",
    imp_count_errors: "En erreur",
    imp_done_counts: "Résultat de l'import",
    imp_done_create: "Comptes créés",
    imp_done_update: "Comptes mis à jour",
    imp_done_unchanged: "Lignes inchangées",
    imp_done_skipped: "Lignes ignorées (en erreur)",
    imp_problems: "Problèmes à corriger",
    imp_col_line: "Ligne",
    imp_col_column: "Colonne",
    imp_col_value: "Valeur",
    imp_col_message: "Problème",
    imp_more: |n| format!("… et {n} autres : téléchargez le fichier CSV pour tout voir."),
    imp_rows: "Lignes",
    imp_col_username: "Identifiant",
    imp_col_action: "Action",
    imp_col_establishments: "Établissements ajoutés",
    imp_kind_create: "création",
    imp_kind_update: "mise à jour",
    imp_kind_unchanged: "inchangé",
    imp_skip_errors: "Ignorer les lignes en erreur (elles ne seront pas importées)",
    imp_commit: "Confirmer l'import",
    imp_abandon: "Abandonner",
    imp_recheck: "Vérifier à nouveau",
    imp_preview_csv: "Télécharger la vérification (CSV)",
    imp_report_csv: "Télécharger le rapport (CSV)",
    imp_nothing_to_do: "Aucune ligne à créer ni à modifier : ce fichier a déjà été importé.",
    imp_nothing_changed: "Rien n'a changé : ce fichier avait déjà été importé.",
    imp_committed: "L'import est terminé. Les nouveaux comptes ont reçu un courriel d'activation.",
    imp_interrupted: "La vérification a été interrompue (redémarrage du serveur ou de la base de données). Rien n'a été modifié : vérifiez le fichier à nouveau.",
    imp_commit_interrupted: "L'import a été interrompu (redémarrage du serveur ou de la base de données) : rien n'a été écrit. Vous pouvez le relancer.",
    imp_now_in_error: |n| {
        format!(
            "Depuis la vérification, {n} {} en erreur : rien n'a été écrit. Vérifiez le fichier à \
             nouveau.",
            if n > 1 {
                "lignes sont devenues"
            } else {
                "ligne est devenue"
            }
        )
    },
    imp_unknown_columns: |cols| format!("Colonnes inconnues, ignorées : {cols}"),
    imp_detected: |encoding, delimiter| format!("Encodage {encoding}, séparateur « {delimiter} »."),
    imp_another: "Importer un autre fichier",
    imp_abandoned: "Cet import a été abandonné ; le fichier a été supprimé.",
    imp_done_abandoned: "Import abandonné ; le fichier a été supprimé.",
    imp_see_users: "Voir les comptes de la région",
};

pub(super) const EN: Import = Import {
    err_import_too_large: |n| {
        format!("The file is larger than {n} MB: split it into several files.")
    },
    err_import_too_many_rows: |n| {
        format!("The file has more than {n} rows: split it into several files.")
    },
    err_import_empty: "The file is empty.",
    err_import_encoding: "Unsupported encoding: save the file as “CSV UTF-8” or “CSV (semicolon delimited)”.",
    err_import_malformed: |n| format!("The file is not valid CSV (line {n})."),
    err_import_missing_columns: |cols| {
        format!(
            "Required columns missing from the header: {cols}. Download the template to see the expected columns."
        )
    },
    err_import_duplicate_column: |col| format!("Column “{col}” appears twice in the header."),
    err_import_rows_in_error: |n| {
        format!(
            "{n} row{} in error: fix the file, or tick “Skip the rows in error”.",
            plural_en(count(n))
        )
    },
    err_import_no_file: "Choose a CSV file to import.",
    imp_title: "Import accounts",
    imp_intro: "Upload a file exported from a spreadsheet: it is first checked row by row without changing anything, then you confirm the import. New accounts receive an activation e-mail.",
    imp_format: |rows, mib| {
        format!(
            "Expected columns (in any order): identifiant, courriel, nom, prenom (required); rpps; finess (one or more numbers separated by spaces or commas); role (empty or “support”). Semicolon or comma separated, UTF-8 or Windows-1252, at most {rows} rows and {mib} MB."
        )
    },
    imp_template: "Download the template (CSV)",
    imp_file: "CSV file",
    imp_check: "Check the file",
    imp_recent: "Recent imports",
    imp_none: "No recent import.",
    imp_col_date: "Date",
    imp_col_file: "File",
    imp_col_rows: "Rows",
    imp_col_state: "State",
    imp_col_by: "By",
    imp_state_validating: "Being checked",
    imp_state_previewed: "Checked, to be confirmed",
    imp_state_committing: "Being imported",
    imp_state_committed: "Imported",
    imp_state_interrupted: "Interrupted",
    imp_state_abandoned: "Abandoned",
    imp_upload_title: |file| format!("Import of file {file}"),
    imp_summary: |rows, region, actor, date| {
        format!("{rows} rows, region {region}, uploaded by {actor} on {date}.")
    },
    imp_progress_validated: |done, total| format!("Rows checked: {done} of {total}"),
    imp_progress_written: |done, total| format!("Rows written: {done} of {total}"),
    imp_progress_starting: "Starting…",
    imp_progress_wait: "This page updates by itself; you may leave it and come back.",
    imp_refresh: "Refresh",
    imp_counts: "Result of the check",
    imp_count_create: "To create",
    imp_count_update: "To update",
    imp_count_unchanged: "Unchanged",
    imp_count_errors: "In error",
    imp_done_counts: "Result of the import",
    imp_done_create: "Accounts created",
    imp_done_update: "Accounts updated",
    imp_done_unchanged: "Unchanged rows",
    imp_done_skipped: "Rows skipped (in error)",
    imp_problems: "Problems to fix",
    imp_col_line: "Line",
    imp_col_column: "Column",
    imp_col_value: "Value",
    imp_col_message: "Problem",
    imp_more: |n| format!("… and {n} more: download the CSV file to see them all."),
    imp_rows: "Rows",
    imp_col_username: "Username",
    imp_col_action: "Action",
    imp_col_establishments: "Establishments added",
    imp_kind_create: "create",
    imp_kind_update: "update",
    imp_kind_unchanged: "unchanged",
    imp_skip_errors: "Skip the rows in error (they will not be imported)",
    imp_commit: "Confirm the import",
    imp_abandon: "Abandon",
    imp_recheck: "Check again",
    imp_preview_csv: "Download the check (CSV)",
    imp_report_csv: "Download the report (CSV)",
    imp_nothing_to_do: "No row to create or update: this file has already been imported.",
    imp_nothing_changed: "Nothing changed: this file had already been imported.",
    imp_committed: "The import is complete. New accounts have been sent an activation e-mail.",
    imp_interrupted: "The check was interrupted (server or database restart). Nothing was changed: check the file again.",
    imp_commit_interrupted: "The import was interrupted (server or database restart): nothing was written. You may start it again.",
    imp_now_in_error: |n| {
        format!(
            "Since the check, {n} {} invalid: nothing was written. Check the file again.",
            if n == 1 {
                "row has become"
            } else {
                "rows have become"
            }
        )
    },
    imp_unknown_columns: |cols| format!("Unknown columns, ignored: {cols}"),
    imp_detected: |encoding, delimiter| format!("Encoding {encoding}, delimiter “{delimiter}”."),
    imp_another: "Import another file",
    imp_abandoned: "This import was abandoned; the file was deleted.",
    imp_done_abandoned: "Import abandoned; the file was deleted.",
    imp_see_users: "See the region's accounts",
};
