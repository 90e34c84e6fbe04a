//! The national directory (issue 18) against a real PostgreSQL: generated extractions in their
//! published formats loaded whole, a re-load that changes nothing, a newer file's changes, files
//! refused with the directory in place kept, and verification of accounts against it.

use std::path::{Path, PathBuf};

use domain::Error;
use domain::call::Call;
use domain::directory::load::{self, Progress, Report, Run, Source};
use domain::directory::verify::{self, Mismatch, Verdict};
use domain::directory::{DirectoryError, DirectoryFile, LineProblem};
use domain::ids::Rpps;
use sqlx::PgPool;
use testkit::directory::{Options, Person, Site, write_establishments, write_professionals};

use super::harness::{client, fresh_pool, t0};

fn with_check(body: &str) -> String {
    format!("{body}{}", domain::ids::luhn_check_digit(body).unwrap())
}

fn dupont() -> Person {
    Person {
        rpps: with_check("1000099887"),
        family_name: "LE GOFF-HÉLIAS".into(),
        given_name: "Anne-Sophie".into(),
        site_finess: "750712184".into(),
    }
}

fn aphp() -> Site {
    Site {
        finess: "750712184".into(),
        name: "Hôpital de la Pitié-Salpêtrière".into(),
        postal_code: "75013".into(),
        city: "PARIS".into(),
    }
}

fn options(seed: u64, activities: u64) -> Options {
    Options {
        seed,
        activities,
        establishments: 120,
        bad_lines: true,
        people: vec![dupont()],
        sites: vec![aphp()],
        ..Options::default()
    }
}

/// Writes the professionals' file of `o` under its published name in `dir`.
pub(crate) fn professionals(dir: &Path, stamp: &str, o: &Options) -> PathBuf {
    let path = dir.join(testkit::directory::professionals_name(stamp));
    let mut file = std::fs::File::create(&path).unwrap();
    write_professionals(&mut file, o).unwrap();
    path
}

fn establishments(dir: &Path, stamp: &str, o: &Options) -> PathBuf {
    let path = dir.join(testkit::directory::establishments_name(stamp));
    let mut file = std::fs::File::create(&path).unwrap();
    write_establishments(&mut file, o).unwrap();
    path
}

pub(crate) async fn run(pool: &PgPool, path: &Path, allow_shrink: bool) -> Result<Report, Error> {
    let mut source = Source::from_path(path)?;
    source.allow_shrink = allow_shrink;
    let c = client("198.51.100.18");
    let clock = t0;
    let seen = std::sync::Mutex::new(Vec::new());
    let on_progress = |p: Progress| seen.lock().unwrap().push(p);
    let report = load::load(
        pool,
        &source,
        &Run {
            actor_label: "test",
            client: &c,
            clock: &clock,
            on_progress: &on_progress,
        },
    )
    .await?;
    // The last progress said is the whole file.
    if !report.unchanged {
        let last = *seen.lock().unwrap().last().unwrap();
        assert_eq!(last.bytes_read, last.bytes_total);
    }
    Ok(report)
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn states(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT state FROM directory_imports ORDER BY state")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn professionals_load_whole_then_a_newer_file_replaces_them() {
    let pool = fresh_pool().await;
    let dir = tempdir();
    let first = professionals(&dir, "202612010415", &options(1, 600));
    let r = run(&pool, &first, false).await.unwrap();
    assert!(!r.unchanged);
    assert_eq!(r.kind, DirectoryFile::Professionals);
    assert_eq!(
        r.file_date.map(|d| d.date().to_string()).as_deref(),
        Some("2026-12-01")
    );
    // Every generated line is read; the bad ones are set aside with their number and reason.
    assert_eq!(r.lines_read, 601, "header + 600 lines");
    assert!(r.bad_line_count > 0);
    assert_eq!(r.rows + r.bad_line_count, 600);
    assert!(r.bad_lines.iter().all(|b| b.line > 1));
    assert!(
        r.bad_lines
            .iter()
            .any(|b| matches!(b.problem, LineProblem::Identifier { .. }))
    );
    assert!(
        r.bad_lines
            .iter()
            .any(|b| matches!(b.problem, LineProblem::IdentifierType { .. }))
    );
    assert!(
        r.bad_lines
            .iter()
            .any(|b| matches!(b.problem, LineProblem::TooFewFields { .. }))
    );
    assert_eq!(r.added, r.people);
    assert_eq!(count(&pool, "directory_activities").await, r.rows as i64);
    assert_eq!(count(&pool, "directory_people").await, r.people as i64);
    // Accents, hyphens and quotes kept as written.
    let (family, site): (String, String) = sqlx::query_as(
        "SELECT family_name, site_name FROM directory_activities WHERE identifier = $1",
    )
    .bind(&dupont().rpps)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(family, "LE GOFF-HÉLIAS");
    assert_eq!(site, "Hôpital de la Pitié-Salpêtrière");

    // The same file again: nothing loaded, said and recorded.
    let again = run(&pool, &first, false).await.unwrap();
    assert!(again.unchanged);
    assert_eq!(again.people, r.people);
    assert_eq!(states(&pool).await, ["done", "unchanged"]);

    // A newer file (other people, more lines): added, removed and changed counted.
    let newer = professionals(&dir, "202612020415", &options(2, 700));
    let n = run(&pool, &newer, false).await.unwrap();
    assert!(n.added > 0 && n.removed > 0, "{n:?}");
    assert_eq!(count(&pool, "directory_people").await, n.people as i64);
    // The named professional is in both, unchanged.
    let people_before = r.people as i64;
    assert_eq!(
        n.people as i64,
        people_before + n.added as i64 - n.removed as i64
    );

    // The audit log has one row per load, and its chain holds.
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'directory.import'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(audited, 3);
    assert!(matches!(
        domain::audit::verify(&pool).await.unwrap(),
        domain::audit::Verification::Intact { .. }
    ));
}

#[tokio::test]
async fn an_older_column_order_loads_the_same_professionals() {
    let pool = fresh_pool().await;
    let dir = tempdir();
    let o = Options {
        older: true,
        bad_lines: false,
        ..options(3, 300)
    };
    let r = run(&pool, &professionals(&dir, "202401010000", &o), false)
        .await
        .unwrap();
    assert_eq!(r.rows, 300);
    assert_eq!(r.bad_line_count, 0);
    let mut conn = pool.acquire().await.unwrap();
    let rpps = Rpps::parse(&dupont().rpps).unwrap();
    assert_eq!(
        verify::check(&mut conn, &rpps, "Le Goff Hélias", "Anne-Sophie")
            .await
            .unwrap(),
        Verdict::Matches
    );
}

#[tokio::test]
async fn refused_files_keep_the_directory_in_place() {
    let pool = fresh_pool().await;
    let dir = tempdir();
    let good = professionals(&dir, "202612010415", &options(4, 400));
    let loaded = run(&pool, &good, false).await.unwrap();

    // A header without "Nom d'exercice": refused, naming the column.
    let text = std::fs::read_to_string(&good).unwrap();
    let mangled = text.replacen("Nom d'exercice", "Nom", 1);
    let path = dir.join(testkit::directory::professionals_name("202612020415"));
    std::fs::write(&path, mangled).unwrap();
    match run(&pool, &path, false).await {
        Err(Error::Directory(DirectoryError::MissingColumns { file, columns })) => {
            assert_eq!(file, DirectoryFile::Professionals);
            assert_eq!(columns, vec!["Nom d'exercice"]);
        }
        other => panic!("{other:?}"),
    }

    // A truncated download: a tenth of the lines, refused unless the shrink is expected.
    let lines: Vec<&str> = text.lines().take(41).collect();
    let path = dir.join(testkit::directory::professionals_name("202612030415"));
    std::fs::write(&path, lines.join("\n")).unwrap();
    match run(&pool, &path, false).await {
        Err(Error::Directory(DirectoryError::Shrunk { before, after, .. })) => {
            assert_eq!(before, loaded.rows);
            assert!(after < 41);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        count(&pool, "directory_activities").await,
        loaded.rows as i64
    );
    assert_eq!(states(&pool).await, ["done", "refused", "refused"]);
    // The staging tables of the refused loads are gone.
    let staged: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'directory_%_next'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(staged, 0);
    // Told it is expected, the small file replaces the directory.
    let small = run(&pool, &path, true).await.unwrap();
    assert_eq!(
        count(&pool, "directory_activities").await,
        small.rows as i64
    );

    // A name that is no extraction's.
    let other = dir.join("annuaire.txt");
    std::fs::write(&other, "x").unwrap();
    assert!(matches!(
        run(&pool, &other, false).await,
        Err(Error::Directory(DirectoryError::UnknownFile { .. }))
    ));
}

#[tokio::test]
async fn establishments_load_from_windows_1252_with_their_region() {
    let pool = fresh_pool().await;
    let dir = tempdir();
    let path = establishments(&dir, "202612010341", &options(5, 10));
    let r = run(&pool, &path, false).await.unwrap();
    assert_eq!(r.kind, DirectoryFile::Establishments);
    assert!(r.skipped.coordinates > 0);
    assert!(r.bad_line_count > 0, "the generator's bad FINESS numbers");
    assert_eq!(r.rows + r.bad_line_count, 120);
    let (name, city, region): (String, String, Option<String>) = sqlx::query_as(
        "SELECT name, city, region_code FROM directory_establishments WHERE finess = '750712184'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(name, "Hôpital de la Pitié-Salpêtrière");
    assert_eq!(city, "PARIS");
    assert_eq!(region.as_deref(), Some("FR-IDF"));
    // Every establishment got the region of its department (the generator's are all served).
    let without: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM directory_establishments WHERE region_code IS NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(without, 0);
}

#[tokio::test]
async fn accounts_are_verified_against_the_directory_once_loaded() {
    let pool = fresh_pool().await;
    let rpps = Rpps::parse(&dupont().rpps).unwrap();
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(
        verify::check(&mut conn, &rpps, "Dupont", "Jean")
            .await
            .unwrap(),
        Verdict::Off
    );
    drop(conn);
    let dir = tempdir();
    run(
        &pool,
        &professionals(&dir, "202612010415", &options(6, 200)),
        false,
    )
    .await
    .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    for (family, given, verdict) in [
        ("LE GOFF-HÉLIAS", "Anne-Sophie", Verdict::Matches),
        ("le goff helias", "anne sophie", Verdict::Matches),
        ("Le Goff-Hélias", "Anne", Verdict::Matches),
        (
            "Le Goff",
            "Anne-Sophie",
            Verdict::Mismatch(Mismatch::NameDiffers),
        ),
        (
            "Dupont",
            "Anne-Sophie",
            Verdict::Mismatch(Mismatch::NameDiffers),
        ),
    ] {
        assert_eq!(
            verify::check(&mut conn, &rpps, family, given)
                .await
                .unwrap(),
            verdict,
            "{family} {given}"
        );
    }
    let unknown = Rpps::parse(&with_check("1999999999")).unwrap();
    assert_eq!(
        verify::check(&mut conn, &unknown, "Dupont", "Jean")
            .await
            .unwrap(),
        Verdict::Mismatch(Mismatch::UnknownRpps)
    );
}

/// A folder of its own under the system's temporary folder, removed by the OS's cleaning.
pub(crate) fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("passerelle-directory-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The console's creation and the CSV import's dry run, once a directory is loaded.
#[tokio::test]
async fn creation_and_import_check_the_directory() {
    use domain::admin::users::{self, NewAccount};
    use domain::ids::{Email, RegionCode, Username};
    let portal = super::harness::seeded().await;
    let dir = tempdir();
    run(
        &portal.pool,
        &professionals(&dir, "202612010415", &options(7, 200)),
        false,
    )
    .await
    .unwrap();
    let admin = super::harness::actor(&portal, "admin.idf").await;
    let c = client("10.0.0.2");
    let call = Call::new(&c, t0());
    let idf = RegionCode::parse("FR-IDF").unwrap();
    let new = |family: &str, reason: Option<&str>| NewAccount {
        username: Username::parse("anne.legoff").unwrap(),
        email: Email::parse("anne.legoff@exemple.fr").unwrap(),
        family_name: family.into(),
        given_name: "Anne-Sophie".into(),
        rpps: Some(Rpps::parse(&dupont().rpps).unwrap()),
        region: idf.clone(),
        establishments: vec![],
        directory_override: reason.map(str::to_string),
    };
    // A wrong name is refused and creates nothing…
    assert!(matches!(
        users::create(&portal, &admin, &new("Le Gof", None), call).await,
        Err(Error::DirectoryMismatch(Mismatch::NameDiffers))
    ));
    assert!(matches!(
        users::create(&portal, &admin, &new("Le Gof", Some("   ")), call).await,
        Err(Error::DirectoryMismatch(Mismatch::NameDiffers))
    ));
    // …unless the desk says why (audited), or the name is the directory's.
    let id = users::create(
        &portal,
        &admin,
        &new("Le Gof", Some("Nom d'usage depuis le mariage")),
        call,
    )
    .await
    .unwrap();
    let details: serde_json::Value = sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE action = 'user.create' AND target_id = $1",
    )
    .bind(id.to_string())
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(
        details["directory"]["override_reason"],
        "Nom d'usage depuis le mariage"
    );
    assert_eq!(details["directory"]["mismatch"], "name_differs");
    // Kept on the account: its card or PSC linking is not refused for this difference either.
    let exception: Option<String> =
        sqlx::query_scalar("SELECT directory_exception FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(exception.as_deref(), Some("Nom d'usage depuis le mariage"));

    // The import's dry run lists each row the directory contradicts.
    let unknown = with_check("1999999999");
    let file = format!(
        "identifiant;courriel;nom;prenom;rpps\r\n\
         autre.nom;a@exemple.fr;Durand;Anne-Sophie;{}\r\n\
         inconnu;i@exemple.fr;Martin;Paul;{unknown}\r\n",
        dupont().rpps
    );
    let preview = domain::import::dry_run(
        &portal,
        &admin,
        &idf,
        file.as_bytes(),
        &domain::import::Limits::default(),
        call,
    )
    .await
    .unwrap();
    let got: Vec<(u64, Option<&str>, bool)> = preview
        .problems
        .iter()
        .map(|p| (p.line, p.column, p.message_fr.contains("annuaire national")))
        .collect();
    assert!(got.contains(&(2, Some("nom"), true)), "{got:?}");
    assert!(got.contains(&(3, Some("rpps"), true)), "{got:?}");
    assert!(
        preview.problems[0]
            .message_fr
            .contains("LE GOFF-HÉLIAS Anne-Sophie"),
        "{:?}",
        preview.problems
    );
}

/// The public directory's search: word prefixes without accents or case, Passerelle's own
/// establishments marked (and found before any FINESS file is loaded), each with its region.
#[tokio::test]
async fn the_public_directory_finds_establishments_by_word_prefix() {
    use domain::directory::search;
    let portal = super::harness::seeded().await;
    let pool = &portal.pool;
    // Before any load: Passerelle's own establishments.
    let (found, more) = search::establishments(pool, "BATIGNOLLES").await.unwrap();
    assert!(!more);
    assert_eq!(found.len(), 1);
    assert!(found[0].on_passerelle);
    assert_eq!(found[0].region.as_ref().unwrap().code, "FR-IDF");

    let dir = tempdir();
    let o = Options {
        establishments: 300,
        ..options(8, 10)
    };
    run(pool, &establishments(&dir, "202612010341", &o), false)
        .await
        .unwrap();
    let (found, _) = search::establishments(pool, "pitie salp").await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].finess, "750712184");
    assert!(found[0].on_passerelle, "a demo establishment");
    assert_eq!(found[0].name, "Hôpital de la Pitié-Salpêtrière");
    // By FINESS prefix, postal code, city; not by the middle of a word.
    assert_eq!(
        search::establishments(pool, "7507121")
            .await
            .unwrap()
            .0
            .len(),
        1
    );
    let (in_lyon, _) = search::establishments(pool, "lyon").await.unwrap();
    assert!(!in_lyon.is_empty());
    assert!(
        in_lyon
            .iter()
            .all(|f| f.city == "LYON" || f.name.contains("Lyon"))
    );
    assert!(
        in_lyon
            .iter()
            .all(|f| !f.on_passerelle || f.finess == "690781810")
    );
    assert!(
        search::establishments(pool, "itie")
            .await
            .unwrap()
            .0
            .is_empty()
    );
    assert!(
        search::establishments(pool, "  ")
            .await
            .unwrap()
            .0
            .is_empty()
    );
    // A search finding too many says so.
    let (all, more) = search::establishments(pool, "centre").await.unwrap();
    assert!(more);
    assert_eq!(all.len() as i64, search::MAX_RESULTS);
}

/// Once a FINESS file is loaded, a new establishment's number must be in it, unless the
/// administrator says why.
#[tokio::test]
async fn a_new_establishment_is_checked_against_the_finess_file() {
    use domain::admin::establishments::{self, Fields};
    use domain::ids::{Finess, RegionCode};
    let portal = super::harness::seeded().await;
    let admin = super::harness::actor(&portal, "admin.idf").await;
    let c = client("10.0.0.4");
    let call = Call::new(&c, t0());
    let idf = RegionCode::parse("FR-IDF").unwrap();
    let known = with_check("75000999");
    let unknown = Finess::parse(&with_check("75000998")).unwrap();
    let fields = Fields {
        name: "Clinique du Parc".into(),
        city: "Paris".into(),
        active: true,
    };
    // Before any FINESS file: nothing to check against.
    establishments::create(&portal, &admin, &unknown, &idf, &fields, None, call)
        .await
        .unwrap();

    let dir = tempdir();
    let o = Options {
        sites: vec![Site {
            finess: known.clone(),
            name: "Clinique des Lilas".into(),
            postal_code: "75020".into(),
            city: "PARIS".into(),
        }],
        ..options(9, 10)
    };
    run(
        &portal.pool,
        &establishments(&dir, "202612010341", &o),
        false,
    )
    .await
    .unwrap();
    let also_unknown = Finess::parse(&with_check("75000997")).unwrap();
    assert!(matches!(
        establishments::create(&portal, &admin, &also_unknown, &idf, &fields, None, call).await,
        Err(Error::DirectoryMismatch(Mismatch::UnknownFiness))
    ));
    establishments::create(
        &portal,
        &admin,
        &also_unknown,
        &idf,
        &fields,
        Some("Autorisé le mois dernier, pas encore dans FINESS"),
        call,
    )
    .await
    .unwrap();
    establishments::create(
        &portal,
        &admin,
        &Finess::parse(&known).unwrap(),
        &idf,
        &fields,
        None,
        call,
    )
    .await
    .unwrap();
    let mut conn = portal.pool.acquire().await.unwrap();
    let entry = verify::finess_entry(&mut conn, &Finess::parse(&known).unwrap())
        .await
        .unwrap()
        .flatten()
        .unwrap();
    assert_eq!(entry.name, "Clinique des Lilas");
    assert_eq!(entry.region_code.as_deref(), Some("FR-IDF"));
}

/// The professionals' extraction as published, inside its zip: loaded as it is inflated, dated by
/// the name of the file inside, listed in the directory's folder.
#[tokio::test]
async fn the_published_zip_is_loaded_as_it_is() {
    use std::io::Write;
    let pool = fresh_pool().await;
    let dir = tempdir();
    let text = professionals(&dir, "202612030415", &options(10, 300));
    let zipped = dir.join("PS_LibreAcces.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zipped).unwrap());
        zip.start_file(
            "PS_LibreAcces_Personne_activite_202612030415.txt",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .unwrap();
        zip.write_all(&std::fs::read(&text).unwrap()).unwrap();
        zip.finish().unwrap();
    }
    std::fs::remove_file(&text).unwrap();
    let listed = domain::directory::inbox::list(&dir).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "PS_LibreAcces.zip");
    assert_eq!(listed[0].kind, DirectoryFile::Professionals);
    assert_eq!(
        listed[0].date.map(|d| d.date().to_string()).as_deref(),
        Some("2026-12-03")
    );
    let r = run(&pool, &zipped, false).await.unwrap();
    assert_eq!(
        r.file_name,
        "PS_LibreAcces_Personne_activite_202612030415.txt"
    );
    assert_eq!(r.rows + r.bad_line_count, 300);
    assert!(r.rows > 250);
    // Again: the zip's digest is the one in place.
    assert!(run(&pool, &zipped, false).await.unwrap().unchanged);
}

/// A load whose instance died (silent for minutes) does not block the next one, and is shown as
/// failed; a load running elsewhere does block it.
#[tokio::test]
async fn a_load_that_died_with_its_instance_is_shown_failed_and_blocks_nothing() {
    let pool = fresh_pool().await;
    let dir = tempdir();
    let path = professionals(&dir, "202612010415", &options(11, 50));
    let source = Source::from_path(&path).unwrap();
    let started = load::start(&pool, &source, "instance morte", t0())
        .await
        .unwrap();
    // Another load of the same kind while this one runs: refused at once.
    assert!(matches!(
        load::start(&pool, &source, "test", t0() + time::Duration::minutes(1)).await,
        Err(Error::Directory(DirectoryError::AlreadyRunning { .. }))
    ));
    let later = t0() + time::Duration::minutes(10);
    let shown = load::recent(&pool, 5, later).await.unwrap();
    assert_eq!(shown[0].id, started.id);
    assert_eq!(shown[0].state, "failed");
    // Ten minutes later, a new load starts and records the dead one as failed.
    load::start(&pool, &source, "test", later).await.unwrap();
    let state: String = sqlx::query_scalar("SELECT state FROM directory_imports WHERE id = $1")
        .bind(started.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(state, "failed");
}
