//! `directory DATABASE_URL [--rows N] [--establishments N] [--searches N] [--keep]`: the national
//! directory's load (issue 18) against PostgreSQL's own `COPY` of the same file, in one run.
//!
//! 1. Generates a professionals' extraction of N lines (default 2 300 000, the real file's size)
//!    and a FINESS extraction of N establishments (default 100 000), in their published formats.
//! 2. `COPY … FROM STDIN (FORMAT text, DELIMITER '|', HEADER)` of the professionals' file, as it
//!    is, into an unindexed table of as many text columns (the reference).
//! 3. The load Passerelle runs (`directory::load`, the code of the CLI and of the console): read,
//!    checked, `COPY` into the staging tables, professionals grouped, indexed, compared with the
//!    directory in place (empty here) and swapped in.
//! 4. The same file again (nothing loaded: its digest is the one in place).
//! 5. The next day's file (the same professionals, one in a thousand renamed, 0.5 % more): the
//!    daily refresh, compared with a full directory (added, removed, changed counted).
//! 6. The establishments' file, then the public « Annuaire » search on it: p50 and p95 of a mix of
//!    searches (a city, a postal code, a FINESS prefix, two words, a rare name).
//!
//! Prints rows per second, the load/COPY ratio (goal: within 2×) and the peak memory of this
//! process (the loader) and of the PostgreSQL backend of each step. Scratch database
//! `passerelle_bench_directory`, dropped at the end unless `--keep`. Started by
//! `scripts/bench-directory.sh`.

use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use bench::{BoxResult, backends_peak_mib, own_peak_mib, with_database};
use domain::audit::Client;
use domain::directory::load::{self, Progress, Report, Run, Source};
use sqlx::{Connection, PgConnection, PgPool};
use testkit::directory::{self as files, CURRENT_HEADER, Options};
use time::OffsetDateTime;

const SCRATCH_DB: &str = "passerelle_bench_directory";

struct Args {
    url: String,
    rows: u64,
    establishments: u64,
    searches: usize,
    keep: bool,
}

fn args() -> BoxResult<Args> {
    let mut argv = std::env::args().skip(1);
    let mut a = Args {
        url: argv
            .next()
            .ok_or("usage: directory DATABASE_URL [--rows N] …")?,
        rows: 2_300_000,
        establishments: 100_000,
        searches: 2_000,
        keep: false,
    };
    while let Some(flag) = argv.next() {
        let mut value = || argv.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => a.rows = value()?.parse()?,
            "--establishments" => a.establishments = value()?.parse()?,
            "--searches" => a.searches = value()?.parse()?,
            "--keep" => a.keep = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(a)
}

fn mib(v: Option<f64>) -> String {
    v.map_or("?".into(), |m| format!("{m:.0} MiB"))
}

/// Writes a file with `write` and returns its path and size.
fn generate(
    dir: &Path,
    name: String,
    write: impl FnOnce(&mut BufWriter<std::fs::File>) -> std::io::Result<u64>,
) -> BoxResult<(PathBuf, u64)> {
    let path = dir.join(name);
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    write(&mut out)?;
    out.into_inner().map_err(|e| e.to_string())?;
    let bytes = std::fs::metadata(&path)?.len();
    Ok((path, bytes))
}

/// Step 2: the file as it is, into a table of as many text columns, without index.
async fn bare_copy(url: &str, path: &Path) -> BoxResult<f64> {
    let mut conn = PgConnection::connect(url).await?;
    // The header's columns and the empty one after the trailing `|`.
    let columns: Vec<String> = (0..=CURRENT_HEADER.len())
        .map(|i| format!("c{i} text"))
        .collect();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE bare_copy ({})",
        columns.join(", ")
    )))
    .execute(&mut conn)
    .await?;
    let started = Instant::now();
    let mut copy = conn
        .copy_in_raw("COPY bare_copy FROM STDIN (FORMAT text, DELIMITER '|', HEADER true)")
        .await?;
    let mut input = BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = input.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        copy.send(&buffer[..n]).await?;
    }
    copy.finish().await?;
    let seconds = started.elapsed().as_secs_f64();
    sqlx::query("DROP TABLE bare_copy")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(seconds)
}

async fn run_load(pool: &PgPool, path: &Path) -> BoxResult<(Report, f64)> {
    let source = Source::from_path(path)?;
    let client = Client::default();
    let clock = OffsetDateTime::now_utc;
    let on_progress = |_: Progress| {};
    let started = Instant::now();
    let report = load::load(
        pool,
        &source,
        &Run {
            actor_label: "banc d'essai",
            client: &client,
            clock: &clock,
            on_progress: &on_progress,
        },
    )
    .await?;
    Ok((report, started.elapsed().as_secs_f64()))
}

/// Step 6: the public search, `n` times over a mix of queries; p50 and p95 in milliseconds.
async fn searches(pool: &PgPool, n: usize) -> BoxResult<(f64, f64, f64)> {
    let queries = [
        "lyon",
        "75013",
        "7500",
        "centre sante",
        "ehpad bordeaux",
        "pitie salp",
        "saint eloi nice",
        "maison",
        "33000",
        "pharmacie pasteur",
    ];
    let mut times = Vec::with_capacity(n);
    let mut found = 0usize;
    for i in 0..n {
        let started = Instant::now();
        let (rows, _) =
            domain::directory::search::establishments(pool, queries[i % queries.len()]).await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        found += rows.len();
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    Ok((at(0.5), at(0.95), found as f64 / n as f64))
}

#[tokio::main]
async fn main() -> BoxResult<()> {
    let a = args()?;
    let mut admin = PgConnection::connect(&a.url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {SCRATCH_DB}")))
        .execute(&mut admin)
        .await?;
    let url = with_database(&a.url, SCRATCH_DB);
    let pool = domain::db::connect(&url, 2).await?;
    domain::db::migrate(&pool).await?;
    pool.close().await;

    let dir =
        std::env::temp_dir().join(format!("passerelle-bench-directory-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let started = Instant::now();
    let options = |seed| Options {
        seed,
        activities: a.rows,
        establishments: a.establishments,
        // COPY into the bare table takes every line as it is: no line cut short.
        bad_lines: false,
        ..Options::default()
    };
    let (first, bytes) = generate(&dir, files::professionals_name("202612010415"), |out| {
        files::write_professionals(out, &options(1))
    })?;
    // The next day's file: the same professionals, one in a thousand renamed, 0.5 % more.
    let next_day = Options {
        activities: a.rows + a.rows / 200,
        renamed_every: 1000,
        ..options(1)
    };
    let (newer, _) = generate(&dir, files::professionals_name("202612020415"), |out| {
        files::write_professionals(out, &next_day)
    })?;
    let (finess, _) = generate(&dir, files::establishments_name("202612010341"), |out| {
        files::write_establishments(out, &options(1))
    })?;
    println!(
        "generated: {} lines of professionals ({:.0} MiB) twice, {} establishments, in {:.1} s",
        a.rows,
        bytes as f64 / 1_048_576.0,
        a.establishments,
        started.elapsed().as_secs_f64()
    );

    let copy_s = bare_copy(&url, &first).await?;
    let copy_backend = backends_peak_mib(&mut admin, SCRATCH_DB).await?;

    // A new pool per step: its backends start afresh, so their VmHWM is the step's.
    let pool = domain::db::connect(&url, 2).await?;
    let (report, load_s) = run_load(&pool, &first).await?;
    let load_backend = backends_peak_mib(&mut admin, SCRATCH_DB).await?;
    let load_own = own_peak_mib();
    pool.close().await;

    let pool = domain::db::connect(&url, 2).await?;
    let (again, again_s) = run_load(&pool, &first).await?;
    pool.close().await;

    let pool = domain::db::connect(&url, 2).await?;
    let (daily, daily_s) = run_load(&pool, &newer).await?;
    let daily_backend = backends_peak_mib(&mut admin, SCRATCH_DB).await?;
    pool.close().await;

    let pool = domain::db::connect(&url, 4).await?;
    let (est, est_s) = run_load(&pool, &finess).await?;
    // Warm: a public page is asked again and again.
    searches(&pool, 50).await?;
    let (p50, p95, per_search) = searches(&pool, a.searches).await?;
    pool.close().await;

    let rate = |rows: u64, s: f64| rows as f64 / s;
    println!();
    println!("| step | time | lines/s | peak memory, PostgreSQL backend |");
    println!("|---|---:|---:|---:|");
    println!(
        "| COPY of the file into a bare table | {copy_s:.1} s | {:.0} | {} |",
        rate(a.rows, copy_s),
        mib(copy_backend)
    );
    println!(
        "| load into an empty directory | {load_s:.1} s | {:.0} | {} |",
        rate(report.lines_read, load_s),
        mib(load_backend)
    );
    println!(
        "| same file again (unchanged: {}) | {again_s:.1} s | | |",
        again.unchanged
    );
    println!(
        "| newer file over a full directory | {daily_s:.1} s | {:.0} | {} |",
        rate(daily.lines_read, daily_s),
        mib(daily_backend)
    );
    println!(
        "| establishments ({} rows) | {est_s:.1} s | {:.0} | |",
        est.rows,
        rate(est.lines_read, est_s)
    );
    println!();
    println!(
        "load: {} activities, {} professionals, {} lines set aside; newer file: {} added, {} removed, {} changed",
        report.rows,
        report.people,
        report.bad_line_count,
        daily.added,
        daily.removed,
        daily.changed
    );
    println!(
        "ratio load / bare COPY: {:.2} (empty directory), {:.2} (daily refresh); goal within 2",
        load_s / copy_s,
        daily_s / copy_s
    );
    println!(
        "peak memory of the loader (this process): {}",
        mib(load_own)
    );
    println!(
        "public search on {} establishments: p50 {p50:.2} ms, p95 {p95:.2} ms over {} searches ({per_search:.0} results each); goal p95 < 30 ms",
        est.rows, a.searches
    );

    std::fs::remove_dir_all(&dir)?;
    if !a.keep {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await?;
    }
    Ok(())
}
