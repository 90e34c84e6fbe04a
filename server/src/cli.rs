//! The command line: `serve` (the default), `migrate`, `audit verify`, `user create`,
//! `establishment create`, `demo seed`.

use domain::call::Call;
use std::io::BufRead;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use domain::accounts::AdminRole;
use domain::audit::Verification;
use domain::ids::{Email, Finess, IdError, NationalId, RegionCode, Rpps, Username};
use domain::provisioning::{AccountSpec, create_account, create_establishment};
use time::OffsetDateTime;

use crate::config::Config;
use crate::error::CliError;
use crate::startup::{self, Database};

#[derive(Debug, Parser)]
#[command(
    name = "passerelle",
    version,
    about = "Portail des professionnels de santé"
)]
pub struct Args {
    /// Configuration file (TOML); default `passerelle.toml` when present.
    #[arg(long, global = true, env = "PASSERELLE_CONFIG")]
    config: Option<PathBuf>,
    /// Demonstration mode: seed the demo accounts (published password) into an empty database and
    /// log e-mailed links and codes. Same as `PASSERELLE_DEMO_DATA=true`. Refused on https.
    #[arg(long, global = true)]
    demo: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the portal (default). Without DATABASE_URL, runs a private PostgreSQL cluster.
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Audit log commands.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Account commands (the first national administrator, demo accounts…).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Establishment commands.
    Establishment {
        #[command(subcommand)]
        command: EstablishmentCommand,
    },
    /// The embedded PostgreSQL cluster (no DATABASE_URL): start it and leave it running, print
    /// its URL, or stop it. For developers and the test script (`psql "$(passerelle db url)"`).
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Demo data commands.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// E-mail commands.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// The national directory: load the public extractions of the Annuaire Santé and FINESS.
    Directory {
        #[command(subcommand)]
        command: DirectoryCommand,
    },
    /// Import accounts and memberships from a CSV file (as spreadsheet software exports it):
    /// checks every row first, then writes all of them in one transaction, or nothing. Exits
    /// non-zero when a row is in error (nothing written, unless --skip-errors).
    Import {
        /// The CSV file (`;` or `,`, UTF-8 or Windows-1252).
        file: std::path::PathBuf,
        /// The region the accounts belong to (FR-IDF, FR-ARA…).
        #[arg(long)]
        region: String,
        /// Check and report only; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Import the valid rows and leave the rows in error out.
        #[arg(long)]
        skip_errors: bool,
    },
}

#[derive(Debug, Subcommand)]
enum DirectoryCommand {
    /// Load extractions, each told by its published name (PS_LibreAcces_Personne_activite_*.txt,
    /// or the PS_LibreAcces.zip holding it; etalab-cs1100507-stock-*.csv): each replaces its part
    /// of the directory in one swap, or is refused and changes nothing. Exits non-zero if one is
    /// refused.
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Load even a file holding less than half of the directory in place.
        #[arg(long)]
        allow_shrink: bool,
    },
    /// The loads in place, and the last one of each kind.
    Status,
}

#[derive(Debug, Subcommand)]
enum MailCommand {
    /// The outbox: e-mails waiting, sent, abandoned.
    Status,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; prints OK, or the first altered row and exits non-zero.
    Verify,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Role {
    Support,
    RegionalAdmin,
    NationalAdmin,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account. The password is read from standard input (one line) with
    /// --password-stdin; without it the account waits for activation.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        given_name: String,
        #[arg(long)]
        family_name: String,
        /// ISO 3166-2 region code, e.g. FR-IDF.
        #[arg(long)]
        region: String,
        #[arg(long)]
        rpps: Option<String>,
        /// For an account without an RPPS: the national identifier of the holder's card or e-CPS,
        /// the only identity its one-time linking will accept.
        #[arg(long)]
        national_id: Option<String>,
        /// The account always needs the e-mail code after its password (and when linking).
        #[arg(long)]
        otp_required: bool,
        #[arg(long, value_enum)]
        role: Option<Role>,
        /// FINESS number of an establishment to attach the account to (repeatable).
        #[arg(long = "establishment")]
        establishments: Vec<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Send an account its link by e-mail: activation when pending, password reset otherwise.
    SendLink {
        #[arg(long)]
        username: String,
    },
}

#[derive(Debug, Subcommand)]
enum EstablishmentCommand {
    Create {
        #[arg(long)]
        finess: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        city: String,
        #[arg(long)]
        region: String,
    },
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Start (or reuse) the cluster, create and migrate the database, print its URL.
    Start,
    /// Stop the cluster.
    Stop,
}

#[derive(Debug, Subcommand)]
enum DemoCommand {
    /// Create the demo establishments and accounts in an empty database.
    Seed,
}

fn invalid(field: &'static str, value: &str) -> impl FnOnce(IdError) -> CliError {
    let value = value.to_string();
    move |e| {
        let why = match e {
            IdError::Shape => "format invalide",
            IdError::CheckDigit => "clé de contrôle incorrecte",
            IdError::OtherRegion => "département d'une autre région",
        };
        CliError::Usage(format!("{field} « {value} » : {why}"))
    }
}

/// Opens and migrates the database for a one-shot command.
async fn open(config: &Config) -> Result<Database, CliError> {
    let db = Database::open(config).await?;
    domain::db::migrate(&db.pool).await?;
    Ok(db)
}

pub async fn run(args: Args) -> Result<(), CliError> {
    let mut config = Config::load(args.config.as_deref())?;
    if args.demo {
        config.demo_data = Some(true);
    }
    let command = args.command.unwrap_or(Command::Serve);
    match command {
        Command::Serve => return startup::serve(config).await,
        Command::Db { command } => return embedded_db(command, &config).await,
        _ => {}
    }
    let db = open(&config).await?;
    let result = run_command(command, &config, &db).await;
    db.close().await;
    result
}

async fn run_command(command: Command, config: &Config, db: &Database) -> Result<(), CliError> {
    let now = OffsetDateTime::now_utc();
    match command {
        Command::Serve | Command::Db { .. } => Ok(()),
        Command::Migrate => {
            println!("migrations appliquées");
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => match domain::audit::verify(&db.pool).await? {
            Verification::Intact { rows, last } => {
                println!("OK ({rows} lignes, chaîne intacte)");
                if let Some((id, hash)) = last {
                    // Keep this line elsewhere: it proves later that nothing was cut off the end.
                    println!("dernière ligne {id}, empreinte {hash}");
                }
                Ok(())
            }
            Verification::Broken { row_id, .. } => {
                println!("ALTÉRÉ : la chaîne est rompue à la ligne {row_id}");
                Err(CliError::AuditBroken(row_id))
            }
        },
        Command::User {
            command:
                UserCommand::Create {
                    username,
                    email,
                    given_name,
                    family_name,
                    region,
                    rpps,
                    national_id,
                    otp_required,
                    role,
                    establishments,
                    password_stdin,
                },
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .map_err(|e| CliError::Usage(format!("lecture du mot de passe : {e}")))?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            // Parsed before anything is created.
            let declared = national_id
                .as_deref()
                .map(|n| NationalId::parse(n).map_err(invalid("identité nationale", n)))
                .transpose()?;
            let spec = AccountSpec {
                username: Username::parse(&username).map_err(invalid("identifiant", &username))?,
                email: Email::parse(&email).map_err(invalid("courriel", &email))?,
                family_name,
                given_name,
                rpps: rpps
                    .as_deref()
                    .map(|r| Rpps::parse(r).map_err(invalid("RPPS", r)))
                    .transpose()?,
                region: RegionCode::parse(&region).map_err(invalid("région", &region))?,
                password,
                role: role.map(|r| match r {
                    Role::Support => AdminRole::Support,
                    Role::RegionalAdmin => AdminRole::RegionalAdmin,
                    Role::NationalAdmin => AdminRole::NationalAdmin,
                }),
                establishments: establishments
                    .iter()
                    .map(|f| Finess::parse(f).map_err(invalid("FINESS", f)))
                    .collect::<Result<_, _>>()?,
            };
            if spec
                .password
                .as_ref()
                .is_some_and(|p| p.chars().count() < domain::provisioning::MIN_PASSWORD_LEN)
            {
                return Err(CliError::Usage(format!(
                    "le mot de passe doit compter au moins {} caractères",
                    domain::provisioning::MIN_PASSWORD_LEN
                )));
            }
            let passwords = startup::passwords(config)?;
            let id = create_account(
                &db.pool,
                &passwords,
                &spec,
                "cli",
                &config.public_origin(),
                now,
            )
            .await
            .map_err(|e| match e {
                domain::Error::Conflict(c) if c.contains("username") => {
                    CliError::Usage("cet identifiant existe déjà".into())
                }
                domain::Error::Conflict(c) if c.contains("rpps") => {
                    CliError::Usage("ce numéro RPPS est déjà utilisé".into())
                }
                domain::Error::NotFound => CliError::Usage("établissement inconnu".into()),
                other => other.into(),
            })?;
            if otp_required || declared.is_some() {
                domain::provisioning::set_sign_in_rules(
                    &db.pool,
                    id,
                    otp_required,
                    declared.as_ref(),
                    "cli",
                    now,
                )
                .await
                .map_err(|e| match e {
                    domain::Error::Conflict(_) => {
                        CliError::Usage("cette identité nationale est déjà déclarée".into())
                    }
                    other => other.into(),
                })?;
            }
            println!("compte créé : {} ({id})", spec.username);
            Ok(())
        }
        Command::Establishment {
            command:
                EstablishmentCommand::Create {
                    finess,
                    name,
                    city,
                    region,
                },
        } => {
            let f = Finess::parse(&finess).map_err(invalid("FINESS", &finess))?;
            let r = RegionCode::parse(&region).map_err(invalid("région", &region))?;
            create_establishment(&db.pool, &f, &name, &city, &r, "cli", now)
                .await
                .map_err(|e| match e {
                    domain::Error::Conflict(_) => {
                        CliError::Usage("ce numéro FINESS existe déjà".into())
                    }
                    other => other.into(),
                })?;
            println!("établissement créé : {f} {name}");
            Ok(())
        }
        Command::User {
            command: UserCommand::SendLink { username },
        } => {
            let u = Username::parse(&username).map_err(invalid("identifiant", &username))?;
            let mut conn = db.pool.acquire().await.map_err(domain::Error::from)?;
            let id = domain::accounts::user_id_by_username(&mut conn, &u)
                .await?
                .ok_or_else(|| CliError::Usage(format!("aucun compte « {u} »")))?;
            drop(conn);
            let portal = startup::portal(config, db.pool.clone(), startup::passwords(config)?)?;
            let purpose = domain::auth::account_links::send_by_support(
                &portal,
                "cli",
                None,
                id,
                Call::new(&domain::audit::Client::default(), now),
            )
            .await?;
            println!(
                "lien envoyé ({}) : il part dès que le portail tourne",
                purpose.as_str()
            );
            Ok(())
        }
        Command::Import {
            file,
            region,
            dry_run,
            skip_errors,
        } => import(config, db, &file, &region, dry_run, skip_errors, now).await,
        Command::Directory {
            command:
                DirectoryCommand::Import {
                    files,
                    allow_shrink,
                },
        } => crate::directory::import(db, &files, allow_shrink).await,
        Command::Directory {
            command: DirectoryCommand::Status,
        } => crate::directory::status(db).await,
        Command::Mail {
            command: MailCommand::Status,
        } => {
            let s = domain::mail::outbox::state(&db.pool).await?;
            println!(
                "en attente : {}, envoyés : {}, abandonnés : {}{}",
                s.pending,
                s.sent,
                s.abandoned,
                s.oldest_pending
                    .map(|t| format!(", le plus ancien en attente depuis {t}"))
                    .unwrap_or_default()
            );
            Ok(())
        }
        Command::Demo {
            command: DemoCommand::Seed,
        } => {
            let passwords = startup::passwords(config)?;
            if config.public_origin().starts_with("https://") {
                return Err(CliError::Usage(
                    "demo data is refused when public_url is https: its accounts have the \
                     password published in the README"
                        .into(),
                ));
            }
            if domain::demo::seed(&db.pool, &passwords, now).await? {
                println!(
                    "données de démonstration créées (mot de passe : {})",
                    domain::demo::DEMO_PASSWORD
                );
            } else {
                println!("la base contient déjà des comptes : rien à faire");
            }
            Ok(())
        }
    }
}

async fn embedded_db(command: DbCommand, config: &Config) -> Result<(), CliError> {
    if config.database_url.is_some() {
        return Err(CliError::Usage(
            "DATABASE_URL est défini : la base intégrée n'est pas utilisée".into(),
        ));
    }
    let dir = config.data_dir.join("postgres");
    let cluster = tokio::task::spawn_blocking(move || {
        domain::db::embedded::EmbeddedPostgres::start(&dir, true)
    })
    .await??;
    match command {
        DbCommand::Start => {
            domain::db::ensure_database(&cluster.url("postgres"), "passerelle").await?;
            let pool = domain::db::connect(&cluster.url("passerelle"), 2).await?;
            domain::db::migrate(&pool).await?;
            pool.close().await;
            println!("{}", cluster.url("passerelle"));
            // Left running on purpose.
            std::mem::forget(cluster);
            Ok(())
        }
        DbCommand::Stop => Ok(tokio::task::spawn_blocking(move || cluster.stop_now()).await??),
    }
}

/// `passerelle import`: the operator on the server acts with every right (as the other commands),
/// recorded in the audit log as `ligne de commande`.
async fn import(
    config: &Config,
    db: &Database,
    file: &std::path::Path,
    region: &str,
    dry_run: bool,
    skip_errors: bool,
    now: time::OffsetDateTime,
) -> Result<(), CliError> {
    use domain::import::{self, Progress};
    let region = RegionCode::parse(region).map_err(invalid("région", region))?;
    let bytes =
        std::fs::read(file).map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
    let portal = startup::portal(config, db.pool.clone(), startup::passwords(config)?)?;
    let actor = domain::admin::Actor {
        user_id: None,
        label: "ligne de commande".into(),
        grants: vec![domain::accounts::RoleGrant {
            role: domain::accounts::AdminRole::NationalAdmin,
            region_code: None,
        }],
    };
    let client = domain::audit::Client::default();
    let print_problems = |problems: &[domain::import::validate::Problem]| {
        for p in problems {
            eprintln!(
                "ligne {}, colonne {} (« {} ») : {}",
                p.line,
                p.column.unwrap_or("-"),
                p.value,
                p.message_fr
            );
        }
    };
    let limits = import::Limits::default();
    let preview = import::dry_run(
        &portal,
        &actor,
        &region,
        &bytes,
        &limits,
        Call::new(&client, now),
    )
    .await
    .map_err(import_error)?;
    let c = &preview.counts;
    println!(
        "{} : {} à créer, {} à mettre à jour, {} inchangé(s), {} en erreur",
        file.display(),
        c.create,
        c.update,
        c.unchanged,
        c.errors
    );
    for column in &preview.unknown_columns {
        eprintln!("colonne inconnue ignorée : {column}");
    }
    print_problems(&preview.problems);
    if dry_run {
        return if c.errors > 0 {
            Err(CliError::Usage(format!("{} ligne(s) en erreur", c.errors)))
        } else {
            Ok(())
        };
    }
    if c.errors > 0 && !skip_errors {
        return Err(CliError::Usage(format!(
            "{} ligne(s) en erreur : rien n'a été écrit (corrigez le fichier, ou --skip-errors)",
            c.errors
        )));
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg:>9} [{bar:40}] {pos}/{len}") {
        bar.set_style(style.progress_chars("=> "));
    }
    let report = import::commit_with_progress(
        &portal,
        &actor,
        &region,
        &bytes,
        &limits,
        skip_errors,
        Call::new(&client, now),
        &|p| {
            let (label, done, total) = match p {
                Progress::Validated { done, total } => ("vérifiées", done, total),
                Progress::Written { done, total } => ("écrites", done, total),
            };
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            bar.set_message(label);
        },
    )
    .await?;
    bar.finish_and_clear();
    let c = &report.counts;
    if report.nothing_changed {
        println!("rien à changer : ce fichier a déjà été importé");
    } else {
        println!(
            "importé : {} créé(s) (courriels d'activation en file), {} mis à jour, {} inchangé(s), {} ligne(s) laissée(s) de côté",
            c.create, c.update, c.unchanged, c.errors
        );
    }
    Ok(())
}

/// A size limit as a person reads it: "5 Mio", "512 Kio", "1500 octets" (exact, never rounded
/// down to a smaller limit than the real one).
fn size_fr(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} Mio", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} Kio", bytes / KIB)
    } else {
        format!("{bytes} octets")
    }
}

/// A file refused as a whole, said in French.
fn import_error(e: domain::Error) -> CliError {
    use domain::import::ImportError as E;
    let domain::Error::Import(e) = e else {
        return e.into();
    };
    CliError::Usage(match e {
        E::TooLarge { max_bytes } => format!("fichier trop gros (au plus {})", size_fr(max_bytes)),
        E::TooManyRows { max_rows } => format!("trop de lignes (au plus {max_rows} par fichier)"),
        E::Empty => "fichier vide".into(),
        E::UnsupportedEncoding => {
            "encodage non reconnu : enregistrez le fichier en CSV (UTF-8 ou Windows-1252)".into()
        }
        E::Malformed { line, reason } => format!("CSV illisible à la ligne {line} : {reason}"),
        E::MissingColumns(columns) => format!("colonnes manquantes : {}", columns.join(", ")),
        E::DuplicateColumn(column) => format!("la colonne {column} apparaît deux fois"),
        E::RowsInError { rows, .. } => format!("{rows} ligne(s) en erreur : rien n'a été écrit"),
    })
}
