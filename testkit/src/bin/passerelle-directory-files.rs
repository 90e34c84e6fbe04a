//! Writes a professionals' extraction and a FINESS extraction in their published formats and
//! names, for the tests, the demo and the benchmark (no machine here reaches the real ones):
//!
//! `passerelle-directory-files <dir> [--activities N] [--establishments N] [--seed S] [--older]
//!  [--bad-lines] [--stamp AAAAMMJJhhmm] [--person RPPS:NOM:Prénom[:FINESS]]…
//!  [--site FINESS:Nom:CP:Ville]…`

use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use testkit::directory::{self, Options, Person, Site};

#[derive(Debug, Parser)]
struct Args {
    dir: PathBuf,
    #[arg(long, default_value_t = 1_000)]
    activities: u64,
    #[arg(long, default_value_t = 200)]
    establishments: u64,
    #[arg(long, default_value_t = 18)]
    seed: u64,
    /// The older column order, without savoir-faire.
    #[arg(long)]
    older: bool,
    /// A few bad lines among the good ones.
    #[arg(long)]
    bad_lines: bool,
    /// The date in the files' names.
    #[arg(long, default_value = "202612030415")]
    stamp: String,
    /// A professional to include: RPPS:NOM:Prénom[:FINESS of the activity site].
    #[arg(long)]
    person: Vec<String>,
    /// An establishment to include: FINESS:Name:postal code:city.
    #[arg(long)]
    site: Vec<String>,
    /// Write only this file: professionals or establishments.
    #[arg(long)]
    only: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("passerelle-directory-files: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let people = args
        .person
        .iter()
        .map(|p| {
            let mut parts = p.split(':');
            let (Some(rpps), Some(family), Some(given)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(format!("--person {p}: RPPS:NOM:Prénom[:FINESS]"));
            };
            Ok(Person {
                rpps: rpps.into(),
                family_name: family.into(),
                given_name: given.into(),
                site_finess: parts.next().unwrap_or_default().into(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let sites = args
        .site
        .iter()
        .map(|s| match s.split(':').collect::<Vec<_>>()[..] {
            [finess, name, postal, city] => Ok(Site {
                finess: finess.into(),
                name: name.into(),
                postal_code: postal.into(),
                city: city.into(),
            }),
            _ => Err(format!("--site {s}: FINESS:Nom:CP:Ville")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let options = Options {
        seed: args.seed,
        activities: args.activities,
        establishments: args.establishments,
        older: args.older,
        bad_lines: args.bad_lines,
        people,
        sites,
        renamed_every: 0,
    };
    std::fs::create_dir_all(&args.dir).map_err(|e| e.to_string())?;
    let create = |name: String| -> Result<(PathBuf, BufWriter<std::fs::File>), String> {
        let path = args.dir.join(name);
        let file = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((path, BufWriter::with_capacity(1 << 20, file)))
    };
    if args.only.as_deref() != Some("establishments") {
        let (path, mut out) = create(directory::professionals_name(&args.stamp))?;
        let lines =
            directory::write_professionals(&mut out, &options).map_err(|e| e.to_string())?;
        out.into_inner().map_err(|e| e.to_string())?;
        println!("{} ({lines} lines)", path.display());
    }
    if args.only.as_deref() != Some("professionals") {
        let (path, mut out) = create(directory::establishments_name(&args.stamp))?;
        let lines =
            directory::write_establishments(&mut out, &options).map_err(|e| e.to_string())?;
        out.into_inner().map_err(|e| e.to_string())?;
        println!("{} ({lines} lines)", path.display());
    }
    Ok(())
}
