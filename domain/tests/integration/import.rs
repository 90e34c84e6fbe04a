//! CSV bulk import (issue 7) against a real PostgreSQL: files as spreadsheet software writes them,
//! a dry run that writes nothing, an all-or-nothing commit, re-import, concurrent imports of the
//! same file, and the refusal of support desks.

use domain::Error;
use domain::call::Call;
use domain::ids::{RegionCode, luhn_check_digit};
use domain::import::{self, ImportError, Limits, Progress, RowKind};
use sqlx::PgPool;

use super::harness::{actor, client, seeded, t0};

fn idf() -> RegionCode {
    RegionCode::parse("FR-IDF").unwrap()
}

fn with_check(body: &str) -> String {
    format!("{body}{}", luhn_check_digit(body).unwrap())
}

/// Everything an import could change, as one comparable value.
async fn snapshot(pool: &PgPool) -> Vec<String> {
    let mut out = Vec::new();
    for table in [
        "users",
        "memberships",
        "admin_roles",
        "account_links",
        "mail_outbox",
        "import_jobs",
        "audit_log",
    ] {
        let sql = format!(
            "SELECT coalesce(string_agg(t::text, '|' ORDER BY t::text), '') FROM {table} t"
        );
        let v: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
            .unwrap();
        out.push(format!("{table}: {v}"));
    }
    out
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// "CSV (séparateur : point-virgule)" from a French Excel: Windows-1252, `;`, CRLF, headers in
/// another order with accents and capitals, an extra column whose cell holds a line break.
fn excel_file() -> Vec<u8> {
    let demo = domain::demo::establishments();
    let mut f = b"Pr\xE9nom;NOM;Identifiant;Courriel;RPPS;FINESS;R\xF4le;Commentaire\r\n".to_vec();
    f.extend_from_slice(
        format!(
            "H\u{1}l\u{2}ne;Moreau;h.moreau;helene.moreau@exemple.fr;{};750712184 {};;\r\n",
            with_check("1000045678"),
            demo[1].0
        )
        .as_bytes(),
    );
    f.extend_from_slice(
        format!(
            "Jean;Dupont;j.dupont;j.dupont@exemple.fr;;{};support;\"Bureau 12\r\n2e \u{3}tage\"\r\n",
            demo[2].0
        )
        .as_bytes(),
    );
    // inf.durand exists (FR-IDF, member of demo[2]): a new e-mail and a second establishment.
    f.extend_from_slice(
        format!(
            "Paul;Durand;inf.durand;paul.durand@exemple.fr;{};750712184;;\r\n",
            with_check("1000023456")
        )
        .as_bytes(),
    );
    // Windows-1252 accents: é = 0xE9, è = 0xE8 (the placeholders keep `format!` ASCII-only).
    f.iter()
        .map(|b| match b {
            1 | 3 => 0xE9,
            2 => 0xE8,
            b => *b,
        })
        .collect()
}

#[tokio::test]
async fn an_excel_file_is_previewed_then_committed_once() {
    let portal = seeded().await;
    let admin = actor(&portal, "admin.idf").await;
    let file = excel_file();
    let before = snapshot(&portal.pool).await;

    let preview = import::dry_run(
        &portal,
        &admin,
        &idf(),
        &file,
        &Limits::default(),
        Call::new(&client("10.0.0.1"), t0()),
    )
    .await
    .unwrap();
    assert_eq!(preview.encoding, "windows-1252");
    assert_eq!(preview.delimiter, ';');
    assert_eq!(preview.unknown_columns, vec!["Commentaire".to_string()]);
    assert!(preview.problems.is_empty(), "{:?}", preview.problems);
    assert_eq!(
        (
            preview.counts.create,
            preview.counts.update,
            preview.counts.unchanged,
            preview.counts.errors
        ),
        (2, 1, 0, 0)
    );
    let lines: Vec<(u64, &str, RowKind)> = preview
        .rows
        .iter()
        .map(|r| (r.line, r.username.as_str(), r.kind))
        .collect();
    // The second row's comment spans two physical lines: the third row starts on line 5.
    assert_eq!(
        lines,
        vec![
            (2, "h.moreau", RowKind::Create),
            (3, "j.dupont", RowKind::Create),
            (5, "inf.durand", RowKind::Update),
        ]
    );
    assert_eq!(snapshot(&portal.pool).await, before, "the dry run wrote");

    let seen = std::sync::Mutex::new(Vec::new());
    let report = import::commit_with_progress(
        &portal,
        &admin,
        &idf(),
        &file,
        &Limits::default(),
        false,
        Call::new(&client("10.0.0.1"), t0()),
        &|p| seen.lock().unwrap().push(p),
    )
    .await
    .unwrap();
    assert_eq!((report.counts.create, report.counts.update), (2, 1));
    assert!(!report.nothing_changed);
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.last(), Some(&Progress::Written { done: 3, total: 3 }));
    assert!(seen.contains(&Progress::Validated { done: 3, total: 3 }));

    let (given, family, status): (String, String, String) = sqlx::query_as(
        "SELECT given_name, family_name, status::text FROM users WHERE username = 'h.moreau'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!((given.as_str(), family.as_str()), ("Hélène", "Moreau"));
    assert_eq!(status, "pending_activation");
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.username = 'h.moreau'"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM admin_roles r JOIN users u ON u.id = r.user_id
             WHERE u.username = 'j.dupont' AND r.role = 'support' AND r.region_code = 'FR-IDF'"
        )
        .await,
        1
    );
    // inf.durand: new e-mail, a second establishment, the first one kept.
    let email: String = sqlx::query_scalar("SELECT email FROM users WHERE username = 'inf.durand'")
        .fetch_one(&portal.pool)
        .await
        .unwrap();
    assert_eq!(email, "paul.durand@exemple.fr");
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.username = 'inf.durand'"
        )
        .await,
        2
    );
    // One activation e-mail per new account, queued in the outbox.
    let mails: Vec<String> = sqlx::query_scalar(
        "SELECT recipient FROM mail_outbox WHERE kind = 'activation' ORDER BY recipient",
    )
    .fetch_all(&portal.pool)
    .await
    .unwrap();
    assert_eq!(
        mails,
        vec![
            "helene.moreau@exemple.fr".to_string(),
            "j.dupont@exemple.fr".to_string()
        ]
    );
    // One audit row per account created or updated, one for the import with its digest.
    let audit: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, coalesce(target_label, '') FROM audit_log
         WHERE action LIKE 'import.%' ORDER BY id",
    )
    .fetch_all(&portal.pool)
    .await
    .unwrap();
    assert_eq!(
        audit,
        vec![
            ("import.user.create".into(), "h.moreau".into()),
            ("import.user.create".into(), "j.dupont".into()),
            ("import.user.update".into(), "inf.durand".into()),
            ("import.commit".into(), report.sha256.clone()),
        ]
    );
    let before_email: String = sqlx::query_scalar(
        "SELECT details->'before'->>'email' FROM audit_log WHERE action = 'import.user.update'",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(before_email, "inf.durand@demo.passerelle.example");
    let details: serde_json::Value =
        sqlx::query_scalar("SELECT details FROM audit_log WHERE action = 'import.commit'")
            .fetch_one(&portal.pool)
            .await
            .unwrap();
    assert_eq!(details["created"], 2);
    assert_eq!(details["sha256"].as_str(), Some(report.sha256.as_str()));
    assert_eq!(
        count(&portal.pool, "SELECT count(*) FROM import_jobs").await,
        1
    );

    // The same file again: nothing changes, and the report says so.
    let after_first = snapshot(&portal.pool).await;
    let again = import::commit(
        &portal,
        &admin,
        &idf(),
        &file,
        &Limits::default(),
        false,
        Call::new(&client("10.0.0.1"), t0()),
    )
    .await
    .unwrap();
    assert!(again.nothing_changed);
    assert_eq!(
        (
            again.counts.create,
            again.counts.update,
            again.counts.unchanged
        ),
        (0, 0, 3)
    );
    let after_second = snapshot(&portal.pool).await;
    for (a, b) in after_first.iter().zip(&after_second) {
        if !a.starts_with("audit_log") && !a.starts_with("import_jobs") {
            assert_eq!(a, b);
        }
    }
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM audit_log WHERE action LIKE 'import.%'"
        )
        .await,
        5
    );
    assert!(matches!(
        domain::audit::verify(&portal.pool).await.unwrap(),
        domain::audit::Verification::Intact { .. }
    ));
}

#[tokio::test]
async fn rows_in_error_are_all_reported_and_nothing_is_written() {
    let portal = seeded().await;
    let admin = actor(&portal, "admin.idf").await;
    let good_rpps = with_check("1000056789");
    let last = good_rpps.chars().last().unwrap().to_digit(10).unwrap();
    let bad_rpps = format!("{}{}", &good_rpps[..10], (last + 1) % 10);
    let martin_rpps = with_check("1000012345");
    let unknown_finess = with_check("75000001");
    // "CSV UTF-8" from LibreOffice with `,`: a BOM, LF line ends.
    let file = format!(
        "\u{feff}identifiant,courriel,nom,prenom,rpps,finess\n\
         ok.one,ok.one@exemple.fr,Un,Ok,{good_rpps},750712184\n\
         bad.rpps,bad@exemple.fr,Deux,Bad,{bad_rpps},\n\
         bad.mail,pas-une-adresse,Trois,Bad,,\n\
         unknown.est,u@exemple.fr,Quatre,Bad,,{unknown_finess}\n\
         lyon.est,l@exemple.fr,Cinq,Bad,,690781810\n\
         ok.one,dup@exemple.fr,Six,Dup,,\n\
         thief,t@exemple.fr,Sept,Bad,{martin_rpps},\n\
         helene.leclerc,h@exemple.fr,Leclerc,Hélène,,\n"
    );
    let before = snapshot(&portal.pool).await;
    let preview = import::dry_run(
        &portal,
        &admin,
        &idf(),
        file.as_bytes(),
        &Limits::default(),
        Call::new(&client("10.0.0.1"), t0()),
    )
    .await
    .unwrap();
    let got: Vec<(u64, Option<&str>, &str)> = preview
        .problems
        .iter()
        .map(|p| (p.line, p.column, p.message_fr.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (3, Some("rpps"), "Clé de contrôle RPPS invalide"),
            (4, Some("courriel"), "Adresse électronique invalide"),
            (5, Some("finess"), "Établissement inconnu"),
            (6, Some("finess"), "Établissement d'une autre région"),
            (7, Some("identifiant"), "Doublon dans le fichier (ligne 2)"),
            (8, Some("rpps"), "RPPS déjà utilisé par le compte dr.martin"),
            (
                9,
                Some("identifiant"),
                "Compte existant dans une autre région (FR-ARA)"
            ),
        ]
    );
    assert_eq!(preview.problems[0].value, bad_rpps);
    assert_eq!((preview.counts.create, preview.counts.errors), (1, 7));

    let refused = import::commit(
        &portal,
        &admin,
        &idf(),
        file.as_bytes(),
        &Limits::default(),
        false,
        Call::new(&client("10.0.0.1"), t0()),
    )
    .await
    .unwrap_err();
    match refused {
        Error::Import(ImportError::RowsInError { rows, problems }) => {
            assert_eq!(rows, 7);
            assert_eq!(problems, preview.problems);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        snapshot(&portal.pool).await,
        before,
        "a refused import wrote"
    );

    // "Ignorer les lignes en erreur": the good row only, the others listed in the report.
    let report = import::commit(
        &portal,
        &admin,
        &idf(),
        file.as_bytes(),
        &Limits::default(),
        true,
        Call::new(&client("10.0.0.1"), t0()),
    )
    .await
    .unwrap();
    assert_eq!((report.counts.create, report.counts.errors), (1, 7));
    assert_eq!(report.problems.len(), 7);
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM users WHERE username IN ('ok.one', 'bad.rpps', 'thief')"
        )
        .await,
        1
    );
    let skipped: i32 = sqlx::query_scalar("SELECT skipped FROM import_jobs")
        .fetch_one(&portal.pool)
        .await
        .unwrap();
    assert_eq!(skipped, 7);
}

#[tokio::test]
async fn a_broken_file_is_refused_with_its_reason() {
    let portal = seeded().await;
    let admin = actor(&portal, "admin.idf").await;
    let err = import::dry_run(
        &portal,
        &admin,
        &idf(),
        b"nom;prenom\r\nA;B\r\n",
        &Limits::default(),
        Call::new(&client("10.0.0.1"), t0()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::Import(ImportError::MissingColumns(c)) if c == &vec!["identifiant", "courriel"]),
        "{err:?}"
    );

    // Limits are the caller's: a lowered row limit refuses the file as a whole, a raised one
    // lets it through.
    let file = excel_file();
    let tight = Limits {
        max_rows: 2,
        ..Limits::default()
    };
    let err = import::dry_run(
        &portal,
        &admin,
        &idf(),
        &file,
        &tight,
        Call::new(&client("10.0.0.1"), t0()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::Import(ImportError::TooManyRows { max_rows: 2 })),
        "{err:?}"
    );
    let roomy = Limits {
        max_rows: 3,
        ..Limits::default()
    };
    let preview = import::dry_run(
        &portal,
        &admin,
        &idf(),
        &file,
        &roomy,
        Call::new(&client("10.0.0.1"), t0()),
    )
    .await
    .unwrap();
    assert_eq!(preview.counts.create, 2);
}

#[tokio::test]
async fn the_same_file_imported_twice_at_once_creates_each_account_once() {
    let portal = seeded().await;
    let admin = actor(&portal, "admin.idf").await;
    let mut file = String::from("identifiant;courriel;nom;prenom;rpps;finess\r\n");
    for i in 0..40 {
        file.push_str(&format!(
            "user.{i};user.{i}@exemple.fr;Nom{i};Prenom{i};{};750712184\r\n",
            with_check(&format!("2{i:09}"))
        ));
    }
    let users_before = count(&portal.pool, "SELECT count(*) FROM users").await;
    let (region, first, second) = (idf(), client("10.0.0.1"), client("10.0.0.2"));
    let limits = Limits::default();
    let (a, b) = tokio::join!(
        import::commit(
            &portal,
            &admin,
            &region,
            file.as_bytes(),
            &limits,
            false,
            Call::new(&first, t0())
        ),
        import::commit(
            &portal,
            &admin,
            &region,
            file.as_bytes(),
            &limits,
            false,
            Call::new(&second, t0())
        ),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut creates = [a.counts.create, b.counts.create];
    creates.sort();
    assert_eq!(
        creates,
        [0, 40],
        "one import creates, the other finds everything done"
    );
    assert!(a.nothing_changed != b.nothing_changed);
    assert_eq!(
        count(&portal.pool, "SELECT count(*) FROM users").await,
        users_before + 40
    );
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM mail_outbox WHERE kind = 'activation'"
        )
        .await,
        40
    );
}

#[tokio::test]
async fn support_desks_and_other_regions_cannot_import() {
    let portal = seeded().await;
    let file = excel_file();
    let support = actor(&portal, "support.idf").await;
    let admin = actor(&portal, "admin.idf").await;
    let before = snapshot(&portal.pool).await;
    let denied = || {
        count(
            &portal.pool,
            "SELECT count(*) FROM audit_log WHERE outcome = 'denied'",
        )
    };
    let denied_before = denied().await;

    let ara = RegionCode::parse("FR-ARA").unwrap();
    for (who, region) in [(&support, idf()), (&admin, ara)] {
        assert!(matches!(
            import::dry_run(
                &portal,
                who,
                &region,
                &file,
                &Limits::default(),
                Call::new(&client("10.0.0.1"), t0())
            )
            .await,
            Err(Error::Forbidden)
        ));
        assert!(matches!(
            import::commit(
                &portal,
                who,
                &region,
                &file,
                &Limits::default(),
                false,
                Call::new(&client("10.0.0.1"), t0())
            )
            .await,
            Err(Error::Forbidden)
        ));
    }
    assert_eq!(denied().await, denied_before + 4);
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE outcome = 'denied' ORDER BY id DESC LIMIT 4",
    )
    .fetch_all(&portal.pool)
    .await
    .unwrap();
    assert_eq!(
        actions,
        vec![
            "import.commit",
            "import.dry_run",
            "import.commit",
            "import.dry_run"
        ]
    );
    let after = snapshot(&portal.pool).await;
    for (a, b) in before.iter().zip(&after) {
        if !a.starts_with("audit_log") {
            assert_eq!(a, b);
        }
    }
}

#[tokio::test]
async fn the_report_is_kept_for_the_region_only() {
    let portal = seeded().await;
    let admin = actor(&portal, "admin.idf").await;
    let report = import::commit(
        &portal,
        &admin,
        &idf(),
        &excel_file(),
        &Limits::default(),
        false,
        Call::new(&client("10.0.0.1"), t0()),
    )
    .await
    .unwrap();
    let job = import::job(
        &portal,
        &admin,
        report.job_id,
        Call::new(&client("10.0.0.1"), t0()),
    )
    .await
    .unwrap();
    assert_eq!(job.file_sha256, report.sha256);
    assert_eq!(job.report["counts"]["create"], 2);
    assert_eq!(job.report["rows"][2]["kind"], "update");
    let ara = actor(&portal, "support.ara").await;
    assert!(matches!(
        import::job(
            &portal,
            &ara,
            report.job_id,
            Call::new(&client("10.0.0.1"), t0())
        )
        .await,
        Err(Error::Forbidden)
    ));
}

/// A valid file of `rows` new accounts of Île-de-France (accents, RPPS, one or two
/// establishments, a support desk now and then), as a French spreadsheet writes it.
fn generated_file(rows: usize, domain: &str) -> Vec<u8> {
    let demo = domain::demo::establishments();
    let idf: Vec<&str> = demo
        .iter()
        .filter(|e| e.3 == "FR-IDF")
        .map(|e| e.0.as_str())
        .collect();
    let given = ["Hélène", "Jérôme", "Anaïs", "François", "Zoé", "Loïc"];
    let family = [
        "Lefèvre",
        "Müller",
        "Bérenger",
        "Côté",
        "N'Diaye",
        "Le Gall",
    ];
    let mut f = String::from("\u{feff}identifiant;courriel;nom;prenom;rpps;finess;role\r\n");
    for i in 0..rows {
        let finess = if i % 3 == 0 {
            format!("{} {}", idf[i % idf.len()], idf[(i + 1) % idf.len()])
        } else {
            idf[i % idf.len()].to_string()
        };
        let rpps = if i % 4 == 3 {
            String::new()
        } else {
            with_check(&format!("3{i:09}"))
        };
        f.push_str(&format!(
            "coupure.{i};coupure.{i}@{domain};{};{};{rpps};{finess};{}\r\n",
            family[i % family.len()],
            given[i % given.len()],
            if i % 50 == 0 { "support" } else { "" },
        ));
    }
    f.into_bytes()
}

/// Issue 7: "an import interrupted by a database restart (nothing half-written)". The server is
/// killed (`pg_ctl restart -m immediate`) once rows have been written, inside the import's
/// transaction; after crash recovery no trace of the file is left, and the same file then goes
/// through whole. On a cluster of the test's own: restarting the shared one would break the
/// other tests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_cut_by_a_database_restart_leaves_nothing_half_written() {
    const ROWS: usize = 5_000;
    let started = std::time::Instant::now();
    let cluster = std::sync::Arc::new(super::harness::PrivateCluster::start());
    let portal = super::harness::seeded_on(&cluster).await;
    let admin = actor(&portal, "admin.idf").await;
    let file = generated_file(ROWS, "coupure.exemple.fr");
    let before = snapshot(&portal.pool).await;
    let users_before = count(&portal.pool, "SELECT count(*) FROM users").await;
    let boot_before: time::OffsetDateTime = sqlx::query_scalar("SELECT pg_postmaster_start_time()")
        .fetch_one(&portal.pool)
        .await
        .unwrap();

    // The restart is synchronised on the import's own progress: at its first report of rows
    // written, the importing task waits (in the callback) while another thread kills and
    // restarts the server, then carries on with a connection that is gone.
    let written_at_restart = std::sync::Mutex::new(None);
    let restart = |p: Progress| {
        let Progress::Written { done, total } = p else {
            return;
        };
        let mut at = written_at_restart.lock().unwrap();
        if done == 0 || at.is_some() {
            return;
        }
        let c = cluster.clone();
        let restarted = std::thread::spawn(move || c.restart_immediate())
            .join()
            .expect("restart thread");
        *at = Some((done, total, restarted.map_err(|e| e.to_string())));
    };
    let err = import::commit_with_progress(
        &portal,
        &admin,
        &idf(),
        &file,
        &Limits::default(),
        false,
        Call::new(&client("10.0.0.1"), t0()),
        &restart,
    )
    .await
    .expect_err("the import survived the restart of its database");
    let (done, total, restarted) = written_at_restart.lock().unwrap().take().unwrap();
    restarted.expect("pg_ctl restart");
    assert!(done > 0 && done < total, "restart at {done}/{total}");
    assert_eq!(total, ROWS);
    // A clear error of the database layer (the connection was cut: "try again in a moment"), not
    // a panic nor a conflict.
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");

    // After crash recovery: nothing of the file, anywhere.
    let boot_after: time::OffsetDateTime = sqlx::query_scalar("SELECT pg_postmaster_start_time()")
        .fetch_one(&portal.pool)
        .await
        .unwrap();
    assert!(boot_after > boot_before, "the server was not restarted");
    for (what, sql) in [
        (
            "accounts",
            "SELECT count(*) FROM users WHERE username LIKE 'coupure.%'",
        ),
        (
            "memberships",
            "SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id
             WHERE u.username LIKE 'coupure.%'",
        ),
        (
            "outbox e-mails",
            "SELECT count(*) FROM mail_outbox WHERE recipient LIKE '%@coupure.exemple.fr'",
        ),
        (
            "audit rows",
            "SELECT count(*) FROM audit_log WHERE action LIKE 'import.%'",
        ),
        ("import jobs", "SELECT count(*) FROM import_jobs"),
    ] {
        assert_eq!(
            count(&portal.pool, sql).await,
            0,
            "{what} left by the cut import"
        );
    }
    assert_eq!(
        snapshot(&portal.pool).await,
        before,
        "the cut import left a trace"
    );

    // The same file again, on the restarted server: all of it goes through.
    let report = import::commit(
        &portal,
        &admin,
        &idf(),
        &file,
        &Limits::default(),
        false,
        Call::new(&client("10.0.0.1"), t0()),
    )
    .await
    .unwrap();
    assert_eq!((report.counts.create, report.counts.errors), (ROWS, 0));
    assert_eq!(
        count(&portal.pool, "SELECT count(*) FROM users").await,
        users_before + ROWS as i64
    );
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM mail_outbox WHERE recipient LIKE '%@coupure.exemple.fr'"
        )
        .await,
        ROWS as i64
    );
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM audit_log WHERE action LIKE 'import.%'"
        )
        .await,
        ROWS as i64 + 1
    );
    assert_eq!(
        count(&portal.pool, "SELECT count(*) FROM import_jobs").await,
        1
    );
    // Written in batches, each account's audit row still names its own activation e-mail.
    assert_eq!(
        count(
            &portal.pool,
            "SELECT count(*) FROM audit_log a
             JOIN mail_outbox m ON m.id = (a.details->>'activation_mail')::bigint
             WHERE a.action = 'import.user.create' AND m.user_id::text = a.target_id
               AND m.kind = 'activation'"
        )
        .await,
        ROWS as i64
    );
    assert!(matches!(
        domain::audit::verify(&portal.pool).await.unwrap(),
        domain::audit::Verification::Intact { .. }
    ));
    portal.pool.close().await;
    eprintln!(
        "import cut at {done}/{total} rows written ({err}); whole test {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
