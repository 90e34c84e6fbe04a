//! `passerelle directory import FILE…` and `passerelle directory status`: the national directory's
//! loads from the command line (the daily refresh of a cron job or a systemd timer), with a
//! progress bar and the French messages of the catalog.

use std::path::PathBuf;

use app::i18n::Lang;
use domain::directory::load::{self, Progress, Run, Source};
use time::OffsetDateTime;

use crate::error::CliError;
use crate::startup::Database;

/// Who the audit log says loaded the files.
const ACTOR: &str = "ligne de commande";

pub async fn import(db: &Database, files: &[PathBuf], allow_shrink: bool) -> Result<(), CliError> {
    let m = &Lang::Fr.messages().directory;
    let mut refused = 0;
    for path in files {
        let mut source = Source::from_path(path).map_err(|e| said(e, m))?;
        source.allow_shrink = allow_shrink;
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(source.file_name.clone());
        let clock = OffsetDateTime::now_utc;
        let on_progress = |p: Progress| {
            bar.set_length(p.bytes_total);
            bar.set_position(p.bytes_read);
        };
        let client = domain::audit::Client::default();
        let run = Run {
            actor_label: ACTOR,
            client: &client,
            clock: &clock,
            on_progress: &on_progress,
        };
        let started = std::time::Instant::now();
        let outcome = load::load(&db.pool, &source, &run).await;
        bar.finish_and_clear();
        match outcome {
            Ok(report) if report.unchanged => {
                println!("{} : {}", report.file_name, m.unchanged);
            }
            Ok(report) => {
                println!(
                    "{} : {} ; {} ({} en {:.1} s)",
                    report.file_name,
                    (m.loaded)(report.lines_read, report.rows, report.bad_line_count),
                    (m.changes)(report.added, report.removed, report.changed),
                    report.people,
                    started.elapsed().as_secs_f64(),
                );
                for bad in &report.bad_lines {
                    eprintln!(
                        "  {}",
                        (m.bad_line)(bad.line, &(m.line_problem)(&bad.problem))
                    );
                }
                if report.bad_line_count > report.bad_lines.len() as u64 {
                    eprintln!(
                        "  … et {} autres lignes mises de côté",
                        report.bad_line_count - report.bad_lines.len() as u64
                    );
                }
            }
            Err(domain::Error::Directory(e)) => {
                refused += 1;
                eprintln!("{} : {}", path.display(), (m.error)(&e));
            }
            Err(e) => return Err(e.into()),
        }
    }
    if refused > 0 {
        return Err(CliError::Usage(format!("{refused} fichier(s) refusé(s)")));
    }
    Ok(())
}

pub async fn status(db: &Database) -> Result<(), CliError> {
    let m = &Lang::Fr.messages().directory;
    let loads = load::recent(&db.pool, 10, OffsetDateTime::now_utc()).await?;
    if loads.is_empty() {
        println!("aucun annuaire chargé : la vérification des RPPS est désactivée");
    }
    for l in loads {
        println!(
            "{} {} {} [{}] : {} ; {}",
            l.started_at.date(),
            (m.file)(l.kind),
            l.file_name,
            l.state,
            (m.loaded)(l.lines_read, l.rows, l.bad_lines),
            (m.changes)(l.added, l.removed, l.changed),
        );
    }
    Ok(())
}

/// A file refused before it is read (its name), said in French.
fn said(e: domain::Error, m: &app::i18n::directory::Directory) -> CliError {
    match e {
        domain::Error::Directory(e) => CliError::Usage((m.error)(&e)),
        other => other.into(),
    }
}
