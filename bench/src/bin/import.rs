//! `import [DATABASE_URL] [--rows N] [--keep]`: benchmark (not a test) of the CSV bulk import
//! (issue 7).
//!
//! On the server of `DATABASE_URL` (default: env `DATABASE_URL`, else
//! `postgres://postgres@127.0.0.1:5432/postgres`) it recreates the scratch database
//! `passerelle_bench_import` and migrates it, creates 50 establishments in Île-de-France, then
//! generates N (default 100 000) valid rows — accented names, RPPS and FINESS numbers with their
//! Luhn keys, one to three establishments per person, a few support desks — and writes them as a
//! French spreadsheet does (UTF-8 with a byte-order mark, `;`, CRLF). It then times, through the
//! domain API with the limits raised:
//! 1. the dry run (read, validate every row against the database, write nothing);
//! 2. the commit (the same checks, then everything in one transaction);
//! 3. the same file again (everything unchanged);
//! 4. PostgreSQL's own `COPY … FROM STDIN` of the same file into a scratch table with the same
//!    columns, the floor any import of these rows could reach;
//! 5. the fair reference: `COPY … FROM STDIN` (text format) of exactly the rows the commit wrote —
//!    accounts, memberships, roles, activation links, e-mails, the job and the audit rows — into
//!    the real tables of a second migrated database, with their indexes, constraints and
//!    triggers, in one transaction: what the import costs beyond writing what it must write;
//!
//! and prints rows per second, the import/COPY ratio, the peak resident memory of this process
//! (VmHWM) and of the PostgreSQL backend that served each step (each step gets fresh
//! connections, so each backend's VmHWM is that step's peak; it includes the shared buffers the
//! backend touched). The scratch database is dropped at the end unless `--keep`.
//! Started by `scripts/bench-import.sh`.

use bench::{BoxResult, backends_peak_mib, own_peak_mib, with_database};
use domain::call::Call;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use domain::accounts::{AdminRole, RoleGrant};
use domain::admin::Actor;
use domain::audit::Client;
use domain::auth::Portal;
use domain::ids::{RegionCode, luhn_check_digit};
use domain::import::{self, Limits, Progress};
use domain::password::{Cost, Passwords};
use sqlx::{Connection, PgConnection, PgPool};
use time::OffsetDateTime;

const SCRATCH_DB: &str = "passerelle_bench_import";
/// The second database of step 5.
const COPY_DB: &str = "passerelle_bench_import_copy";
/// What the import writes, in the order foreign keys allow (the establishments are copied first,
/// outside the timed part: they existed before the import).
const WRITTEN: [(&str, &str); 7] = [
    ("COPY users TO STDOUT", "COPY users FROM STDIN"),
    ("COPY memberships TO STDOUT", "COPY memberships FROM STDIN"),
    ("COPY admin_roles TO STDOUT", "COPY admin_roles FROM STDIN"),
    (
        "COPY account_links TO STDOUT",
        "COPY account_links FROM STDIN",
    ),
    ("COPY mail_outbox TO STDOUT", "COPY mail_outbox FROM STDIN"),
    ("COPY import_jobs TO STDOUT", "COPY import_jobs FROM STDIN"),
    ("COPY audit_log TO STDOUT", "COPY audit_log FROM STDIN"),
];
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const DEFAULT_ROWS: usize = 100_000;
const ESTABLISHMENTS: usize = 50;
const REGION: &str = "FR-IDF";
/// Île-de-France's departments, for FINESS numbers that look like the region's.
const DEPARTMENTS: [&str; 8] = ["75", "77", "78", "91", "92", "93", "94", "95"];

const GIVEN_NAMES: [&str; 24] = [
    "Hélène",
    "Élodie",
    "François",
    "Chloé",
    "Jérôme",
    "Anaïs",
    "Maëlle",
    "Noémie",
    "Zoé",
    "Loïc",
    "Gaëlle",
    "Benoît",
    "Cécile",
    "Amélie",
    "Joël",
    "Thérèse",
    "Léa",
    "Raphaël",
    "Frédéric",
    "Stéphane",
    "Marie",
    "Jean",
    "Camille",
    "Nicolas",
];
const FAMILY_NAMES: [&str; 24] = [
    "Leclerc",
    "Lefèvre",
    "Müller",
    "Dupont",
    "Bérenger",
    "Martin",
    "Durand",
    "Moreau",
    "Girard",
    "Rousseau",
    "Fournier",
    "Chevalier",
    "Lemaître",
    "Côté",
    "Ménard",
    "Huët",
    "Le Gall",
    "N'Diaye",
    "Da Silva",
    "Nguyen",
    "Benali",
    "Lévêque",
    "Brûlé",
    "Fontaine",
];

/// Lowercase ASCII for usernames and addresses: "Lefèvre" → "lefevre", "N'Diaye" → "ndiaye".
fn ascii_slug(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            'à' | 'â' | 'ä' => Some('a'),
            'ç' => Some('c'),
            'è' | 'é' | 'ê' | 'ë' => Some('e'),
            'î' | 'ï' => Some('i'),
            'ô' | 'ö' => Some('o'),
            'ù' | 'û' | 'ü' => Some('u'),
            c if c.is_ascii_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

fn with_check(body: &str) -> BoxResult<String> {
    let check = luhn_check_digit(body).ok_or("Luhn check digit")?;
    Ok(format!("{body}{check}"))
}

/// The 50 establishments' FINESS numbers (department, serial, Luhn key).
fn establishment_finess() -> BoxResult<Vec<String>> {
    (0..ESTABLISHMENTS)
        .map(|n| {
            with_check(&format!(
                "{}{:06}",
                DEPARTMENTS[n % DEPARTMENTS.len()],
                1_000 + n
            ))
        })
        .collect()
}

async fn create_establishments(pool: &PgPool, finess: &[String]) -> BoxResult<()> {
    let names: Vec<String> = (0..finess.len())
        .map(|n| format!("Centre hospitalier n° {n} d'Île-de-France"))
        .collect();
    sqlx::query(
        "INSERT INTO establishments (id, finess, name, city, region_code, created_at)
         SELECT gen_random_uuid(), f, n, 'Créteil', $3, now()
         FROM unnest($1::text[], $2::text[]) AS t(f, n)",
    )
    .bind(finess)
    .bind(&names)
    .bind(REGION)
    .execute(pool)
    .await?;
    Ok(())
}

/// `rows` valid rows, as a French spreadsheet saves them ("CSV UTF-8": BOM, `;`, CRLF).
fn generate_file(rows: usize, finess: &[String]) -> BoxResult<Vec<u8>> {
    let mut out = String::with_capacity(rows * 110);
    out.push('\u{feff}');
    out.push_str("identifiant;courriel;nom;prenom;rpps;finess;role\r\n");
    for i in 0..rows {
        let given = GIVEN_NAMES[i % GIVEN_NAMES.len()];
        let family = FAMILY_NAMES[(i / GIVEN_NAMES.len()) % FAMILY_NAMES.len()];
        let username = format!("{}.{}.{i}", ascii_slug(given), ascii_slug(family));
        let email = format!("{username}@chu-bench.fr");
        // One in ten without an RPPS (secretaries, managers): their key is the username.
        let rpps = if i % 10 == 9 {
            String::new()
        } else {
            with_check(&format!("1{i:09}"))?
        };
        let memberships = 1 + i % 3;
        let establishments: Vec<&str> = (0..memberships)
            .map(|k| finess[(i * 7 + k * 13) % finess.len()].as_str())
            .collect();
        // Two in a hundred are the region's support desks.
        let role = if i % 50 == 0 { "support" } else { "" };
        out.push_str(&format!(
            "{username};{email};{family};{given};{rpps};{};{role}\r\n",
            establishments.join(" ")
        ));
    }
    Ok(out.into_bytes())
}

/// Services over fresh connections to the scratch database (a step's backend starts afresh, so
/// its VmHWM is that step's).
async fn services(url: &str) -> BoxResult<Portal> {
    Ok(Portal {
        pool: domain::db::connect(url, 2).await?,
        // Imported accounts get no password (activation by e-mail): never used here.
        passwords: Arc::new(Passwords::new(Cost {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        })?),
        sessions: domain::sessions::Policy::default(),
        account_throttle: domain::throttle::Policy::ACCOUNT_DEFAULT,
        address_throttle: domain::throttle::Policy::ADDRESS_DEFAULT,
        otp_for_all: false,
        public_origin: "https://passerelle.test".into(),
        code_lifetime: domain::auth::otp::CODE_LIFETIME,
        psc: domain::auth::psc::Settings::default(),
        identifier_key: domain::audit::IdentifierKey::new([7; 32]),
        sign_in_policy: domain::sign_in_policy::SignInPolicy::any(),
        dormancy: domain::auth::dormancy::Rule::default(),
    })
}

/// Everything `statement` (a `COPY … TO STDOUT`) sends.
async fn copy_out(conn: &mut PgConnection, statement: &str) -> BoxResult<Vec<u8>> {
    use futures_util::TryStreamExt;
    let mut out = Vec::new();
    let mut stream = conn.copy_out_raw(statement).await?;
    while let Some(chunk) = stream.try_next().await? {
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Step 5: the tables the import wrote, read back from the scratch database and COPYed into a
/// fresh migrated one in one transaction (timed, commit included). Returns the seconds, the rows
/// and the backend's peak memory.
async fn fair_copy(
    url: &str,
    bench_url: &str,
    admin: &mut PgConnection,
) -> BoxResult<(f64, usize, Option<f64>)> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {COPY_DB} WITH (FORCE)"
    )))
    .execute(&mut *admin)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {COPY_DB}")))
        .execute(&mut *admin)
        .await?;
    let copy_url = with_database(url, COPY_DB);
    let setup = domain::db::connect(&copy_url, 1).await?;
    domain::db::migrate(&setup).await?;
    setup.close().await;

    let mut source = PgConnection::connect(bench_url).await?;
    let establishments = copy_out(&mut source, "COPY establishments TO STDOUT").await?;
    let mut tables = Vec::new();
    for (out, into) in WRITTEN {
        tables.push((into, copy_out(&mut source, out).await?));
    }
    source.close().await?;

    let mut target = PgConnection::connect(&copy_url).await?;
    let mut copy = target.copy_in_raw("COPY establishments FROM STDIN").await?;
    copy.send(establishments.as_slice()).await?;
    copy.finish().await?;

    let t = Instant::now();
    let mut rows = 0;
    let mut parts = Vec::new();
    sqlx::query("BEGIN").execute(&mut target).await?;
    for (into, data) in &tables {
        let started = Instant::now();
        let mut copy = target.copy_in_raw(into).await?;
        copy.send(data.as_slice()).await?;
        let copied = usize::try_from(copy.finish().await?)?;
        rows += copied;
        let table = into.split_whitespace().nth(1).unwrap_or("?");
        parts.push(format!(
            "{table} {copied} rows, {:.0} MiB, {:.2} s",
            data.len() as f64 / (1024.0 * 1024.0),
            started.elapsed().as_secs_f64()
        ));
    }
    sqlx::query("COMMIT").execute(&mut target).await?;
    let seconds = t.elapsed().as_secs_f64();
    println!("fair COPY, table by table: {}", parts.join("; "));
    let peak = backends_peak_mib(admin, COPY_DB).await?;
    target.close().await?;
    Ok((seconds, rows, peak))
}

struct Line {
    step: &'static str,
    rows: usize,
    seconds: f64,
    backend_mib: Option<f64>,
    note: String,
}

fn mib(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |m| format!("{m:.0}"))
}

#[tokio::main]
async fn main() -> BoxResult<()> {
    let mut keep = false;
    let mut url = None;
    let mut rows = DEFAULT_ROWS;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--keep" => keep = true,
            "--rows" => {
                rows = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--rows needs a number")?;
            }
            _ => url = Some(arg),
        }
    }
    let url = url
        .or_else(|| std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| DEFAULT_URL.to_string());
    let bench_url = with_database(&url, SCRATCH_DB);

    let t = Instant::now();
    let mut admin = PgConnection::connect(&url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {SCRATCH_DB}")))
        .execute(&mut admin)
        .await?;

    let setup = domain::db::connect(&bench_url, 2).await?;
    domain::db::migrate(&setup).await?;
    let finess = establishment_finess()?;
    create_establishments(&setup, &finess).await?;
    setup.close().await;
    println!(
        "{SCRATCH_DB} created, migrated, {ESTABLISHMENTS} establishments in {REGION}: {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let file = generate_file(rows, &finess)?;
    let path = std::env::temp_dir().join("passerelle-bench-import.csv");
    std::fs::write(&path, &file)?;
    println!(
        "{rows} rows, {:.1} MiB, generated in {:.1} s: {}",
        file.len() as f64 / (1024.0 * 1024.0),
        t.elapsed().as_secs_f64(),
        path.display()
    );

    let limits = Limits {
        max_bytes: file.len().max(import::MAX_BYTES),
        max_rows: rows.max(import::MAX_ROWS),
    };
    let region = RegionCode::parse(REGION)?;
    let actor = Actor {
        user_id: None,
        label: "bench.import".into(),
        grants: vec![RoleGrant {
            role: AdminRole::RegionalAdmin,
            region_code: Some(domain::ids::RegionCode::parse(REGION)?),
        }],
    };
    let client = Client {
        ip: Some("127.0.0.1".into()),
        user_agent: Some("bench-import".into()),
        device: None,
    };
    let mut lines = Vec::new();

    // 1. Dry run.
    let portal = services(&bench_url).await?;
    let t = Instant::now();
    let preview = import::dry_run(
        &portal,
        &actor,
        &region,
        &file,
        &limits,
        Call::new(&client, OffsetDateTime::now_utc()),
    )
    .await?;
    let seconds = t.elapsed().as_secs_f64();
    if preview.counts.create != rows || preview.counts.errors != 0 {
        return Err(format!(
            "unexpected dry run: {:?}, first problems {:?}",
            preview.counts,
            preview.problems.iter().take(3).collect::<Vec<_>>()
        )
        .into());
    }
    lines.push(Line {
        step: "dry run (read + validate)",
        rows,
        seconds,
        backend_mib: backends_peak_mib(&mut admin, SCRATCH_DB).await?,
        note: format!("{} to create", preview.counts.create),
    });
    drop(preview);
    portal.pool.close().await;

    // 2. Commit, with the time spent validating and writing apart.
    let portal = services(&bench_url).await?;
    let phases: Mutex<(Option<Instant>, Option<Instant>)> = Mutex::new((None, None));
    let t = Instant::now();
    let report = import::commit_with_progress(
        &portal,
        &actor,
        &region,
        &file,
        &limits,
        false,
        Call::new(&client, OffsetDateTime::now_utc()),
        &|p| {
            if let (Progress::Written { .. }, Ok(mut ph)) = (p, phases.lock()) {
                ph.0.get_or_insert_with(Instant::now);
                ph.1 = Some(Instant::now());
            }
        },
    )
    .await?;
    let seconds = t.elapsed().as_secs_f64();
    if report.counts.create != rows {
        return Err(format!("unexpected commit: {:?}", report.counts).into());
    }
    let (written_from, _) = *phases.lock().map_err(|_| "poisoned")?;
    let validate_s = written_from.map_or(0.0, |w| w.duration_since(t).as_secs_f64());
    lines.push(Line {
        step: "commit (validate + write)",
        rows,
        seconds,
        backend_mib: backends_peak_mib(&mut admin, SCRATCH_DB).await?,
        note: format!(
            "{} created; validating {validate_s:.1} s, writing {:.1} s",
            report.counts.create,
            seconds - validate_s
        ),
    });
    let commit_seconds = seconds;
    drop(report);
    portal.pool.close().await;

    // 3. The same file again: nothing to do.
    let portal = services(&bench_url).await?;
    let t = Instant::now();
    let again = import::commit(
        &portal,
        &actor,
        &region,
        &file,
        &limits,
        false,
        Call::new(&client, OffsetDateTime::now_utc()),
    )
    .await?;
    let seconds = t.elapsed().as_secs_f64();
    if !again.nothing_changed || again.counts.unchanged != rows {
        return Err(format!("unexpected re-import: {:?}", again.counts).into());
    }
    lines.push(Line {
        step: "re-import (all unchanged)",
        rows,
        seconds,
        backend_mib: backends_peak_mib(&mut admin, SCRATCH_DB).await?,
        note: "nothing changed".into(),
    });
    drop(again);
    portal.pool.close().await;

    // 4. COPY of the same bytes (without the byte-order mark) into a table of the same columns.
    let mut conn = PgConnection::connect(&bench_url).await?;
    sqlx::query(
        "CREATE TABLE bench_copy (identifiant text, courriel text, nom text, prenom text,
                                  rpps text, finess text, role text)",
    )
    .execute(&mut conn)
    .await?;
    let body = file.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&file);
    let t = Instant::now();
    let mut copy = conn
        .copy_in_raw("COPY bench_copy FROM STDIN WITH (FORMAT csv, DELIMITER ';', HEADER true)")
        .await?;
    copy.send(body).await?;
    let copied = copy.finish().await?;
    let copy_seconds = t.elapsed().as_secs_f64();
    lines.push(Line {
        step: "COPY FROM STDIN (same rows)",
        rows: usize::try_from(copied)?,
        seconds: copy_seconds,
        backend_mib: backends_peak_mib(&mut admin, SCRATCH_DB).await?,
        note: "scratch table, no checks".into(),
    });
    conn.close().await?;

    // 5. The rows the commit wrote, COPYed into the real tables of a second database.
    let (fair_seconds, fair_rows, fair_mib) = fair_copy(&url, &bench_url, &mut admin).await?;
    lines.push(Line {
        step: "fair COPY (what the commit wrote)",
        rows: fair_rows,
        seconds: fair_seconds,
        backend_mib: fair_mib,
        note: "real tables, indexes, triggers".into(),
    });

    println!();
    println!("| step | rows | time (s) | rows/s | backend peak RSS (MiB) | |");
    println!("|------|-----:|---------:|-------:|-----------------------:|-|");
    for l in &lines {
        println!(
            "| {} | {} | {:.2} | {:.0} | {} | {} |",
            l.step,
            l.rows,
            l.seconds,
            l.rows as f64 / l.seconds,
            mib(l.backend_mib),
            l.note
        );
    }
    println!();
    println!(
        "commit / COPY: {:.1}× the time of COPY",
        commit_seconds / copy_seconds
    );
    println!(
        "commit / fair COPY: {:.1}× the time of COPYing what it wrote",
        commit_seconds / fair_seconds
    );
    println!(
        "this process's peak RSS (VmHWM): {} MiB",
        mib(own_peak_mib())
    );

    if keep {
        println!("Kept {SCRATCH_DB} (without --keep it is dropped).");
    } else {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {COPY_DB} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await?;
        println!("Dropped {SCRATCH_DB} and {COPY_DB}.");
    }
    admin.close().await?;
    Ok(())
}
