//! The console's imports step by step (`import::uploads`) against a real PostgreSQL: upload, check,
//! confirmation (refused with rows in error unless they are skipped), commit sharing the upload's
//! id, a step cut short by a restart (stale heartbeat), abandoning, and the region rule.

use domain::Error;
use domain::auth::Portal;
use domain::call::Call;
use domain::ids::RegionCode;
use domain::import::ImportError;
use domain::import::uploads::{self, Failure, UploadState};
use time::{Duration, OffsetDateTime};

use super::harness::{actor, client, seeded, t0};

fn idf() -> RegionCode {
    RegionCode::parse("FR-IDF").unwrap()
}

fn at(seconds: i64) -> impl Fn() -> OffsetDateTime + Send + Sync {
    move || t0() + Duration::seconds(seconds)
}

/// Two good rows and one whose e-mail is not an address.
const FILE: &str = "identifiant;courriel;nom;prenom;finess\r\n\
    n.petit;n.petit@exemple.fr;Petit;Nadia;750712184\r\n\
    o.roux;pas-une-adresse;Roux;Olivier;\r\n\
    p.blanc;p.blanc@exemple.fr;Blanc;Pierre;\r\n";

async fn count(portal: &Portal, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&portal.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_upload_is_checked_then_committed_with_its_rows_in_error_left_out() {
    let portal = seeded().await;
    let admin = actor(&portal, "admin.idf").await;
    let c = client("10.0.0.1");
    let id = uploads::create(
        &portal,
        &admin,
        &idf(),
        "C:\\export\\équipe.csv",
        FILE.as_bytes(),
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    let u = uploads::view(&portal, &admin, id, Call::new(&c, t0()))
        .await
        .unwrap();
    assert_eq!(
        (u.state, u.rows_total, u.file_name.as_str()),
        (UploadState::Validating, 3, "équipe.csv")
    );

    uploads::check(&portal, &admin, id, &c, &at(1))
        .await
        .unwrap();
    let u = uploads::view(
        &portal,
        &admin,
        id,
        Call::new(&c, t0() + Duration::seconds(2)),
    )
    .await
    .unwrap();
    assert_eq!(u.state, UploadState::Previewed);
    let preview = u.preview.unwrap();
    assert_eq!((preview.counts.create, preview.counts.errors), (2, 1));
    assert_eq!(preview.problems[0].line, 3);
    assert_eq!(preview.problems[0].column.as_deref(), Some("courriel"));
    let csv = String::from_utf8(preview.csv().unwrap()).unwrap();
    assert!(
        csv.contains("3;;en erreur;courriel;pas-une-adresse;"),
        "{csv}"
    );
    assert_eq!(
        count(
            &portal,
            "SELECT count(*) FROM users WHERE username = 'n.petit'"
        )
        .await,
        0
    );

    // Rows in error: the confirmation needs the explicit choice to skip them.
    let refused = uploads::start_commit(
        &portal,
        &admin,
        id,
        false,
        Call::new(&c, t0() + Duration::seconds(3)),
    )
    .await;
    assert!(matches!(
        refused,
        Err(Error::Import(ImportError::RowsInError { rows: 1, .. }))
    ));
    uploads::start_commit(
        &portal,
        &admin,
        id,
        true,
        Call::new(&c, t0() + Duration::seconds(3)),
    )
    .await
    .unwrap();
    // A second confirmation (another tab) finds the upload already committing.
    let again = uploads::start_commit(
        &portal,
        &admin,
        id,
        true,
        Call::new(&c, t0() + Duration::seconds(3)),
    )
    .await;
    assert!(matches!(again, Err(Error::StaleVersion)));

    let report = uploads::run_commit(&portal, &admin, id, &c, &at(4))
        .await
        .unwrap();
    assert_eq!(report.job_id, id, "the import's job shares the upload's id");
    assert_eq!((report.counts.create, report.counts.errors), (2, 1));
    let u = uploads::view(
        &portal,
        &admin,
        id,
        Call::new(&c, t0() + Duration::seconds(5)),
    )
    .await
    .unwrap();
    assert_eq!(u.state, UploadState::Committed);
    let r = u.report.unwrap();
    assert_eq!((r.counts.create, r.nothing_changed), (2, false));
    assert!(
        String::from_utf8(r.csv().unwrap())
            .unwrap()
            .contains("2;n.petit;créé;;;")
    );
    assert_eq!(
        count(
            &portal,
            "SELECT count(*) FROM users WHERE username IN ('n.petit', 'p.blanc')"
        )
        .await,
        2
    );
    // The file, personal data, is gone once committed.
    assert_eq!(
        count(
            &portal,
            "SELECT count(*) FROM import_uploads WHERE content IS NOT NULL"
        )
        .await,
        0
    );
    let listed = uploads::recent(&portal, &admin, Call::new(&c, t0()))
        .await
        .unwrap();
    assert_eq!(
        listed.first().map(|u| (u.id, u.state)),
        Some((id, UploadState::Committed))
    );
}

#[tokio::test]
async fn a_step_whose_heartbeat_stopped_is_shown_as_interrupted_and_can_run_again() {
    let portal = seeded().await;
    let admin = actor(&portal, "admin.idf").await;
    let c = client("10.0.0.1");
    let good = "identifiant;courriel;nom;prenom\r\nq.henry;q.henry@exemple.fr;Henry;Quentin\r\n";
    let id = uploads::create(
        &portal,
        &admin,
        &idf(),
        "a.csv",
        good.as_bytes(),
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    // The worker never ran (the server stopped): still "validating" ten seconds later…
    let u = uploads::view(
        &portal,
        &admin,
        id,
        Call::new(&c, t0() + Duration::seconds(10)),
    )
    .await
    .unwrap();
    assert_eq!(u.state, UploadState::Validating);
    // …interrupted once the heartbeat is older than `STALE_AFTER`.
    let later = t0() + uploads::STALE_AFTER + Duration::seconds(1);
    let u = uploads::view(&portal, &admin, id, Call::new(&c, later))
        .await
        .unwrap();
    assert_eq!(
        (u.state, u.failure),
        (UploadState::Interrupted, Some(Failure::Interrupted))
    );

    uploads::recheck(&portal, &admin, id, Call::new(&c, later))
        .await
        .unwrap();
    uploads::check(&portal, &admin, id, &c, &at(40))
        .await
        .unwrap();
    uploads::start_commit(
        &portal,
        &admin,
        id,
        false,
        Call::new(&c, t0() + Duration::seconds(41)),
    )
    .await
    .unwrap();
    // The commit's worker died too: nothing was written, back to the preview, which says so.
    let much_later = t0() + Duration::seconds(41) + uploads::STALE_AFTER + Duration::seconds(1);
    let u = uploads::view(&portal, &admin, id, Call::new(&c, much_later))
        .await
        .unwrap();
    assert_eq!(
        (u.state, u.failure),
        (UploadState::Previewed, Some(Failure::Interrupted))
    );
    assert_eq!(
        count(
            &portal,
            "SELECT count(*) FROM users WHERE username = 'q.henry'"
        )
        .await,
        0
    );

    uploads::start_commit(&portal, &admin, id, false, Call::new(&c, much_later))
        .await
        .unwrap();
    uploads::run_commit(&portal, &admin, id, &c, &move || much_later)
        .await
        .unwrap();
    let u = uploads::view(&portal, &admin, id, Call::new(&c, much_later))
        .await
        .unwrap();
    assert_eq!((u.state, u.failure), (UploadState::Committed, None));
    assert_eq!(
        count(
            &portal,
            "SELECT count(*) FROM users WHERE username = 'q.henry'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_commit_that_landed_before_its_worker_died_is_shown_as_committed() {
    let portal = seeded().await;
    let admin = actor(&portal, "admin.idf").await;
    let c = client("10.0.0.1");
    let good = "identifiant;courriel;nom;prenom\r\nr.morel;r.morel@exemple.fr;Morel;Rose\r\n";
    let id = uploads::create(
        &portal,
        &admin,
        &idf(),
        "b.csv",
        good.as_bytes(),
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    uploads::check(&portal, &admin, id, &c, &at(1))
        .await
        .unwrap();
    uploads::start_commit(
        &portal,
        &admin,
        id,
        false,
        Call::new(&c, t0() + Duration::seconds(2)),
    )
    .await
    .unwrap();
    uploads::run_commit(&portal, &admin, id, &c, &at(3))
        .await
        .unwrap();
    // As if the worker had died between the commit and recording it on the upload.
    sqlx::query(
        "UPDATE import_uploads SET state = 'committing', job_id = NULL, content = 'x' WHERE id = $1",
    )
    .bind(id)
    .execute(&portal.pool)
    .await
    .unwrap();
    let later = t0() + Duration::seconds(3) + uploads::STALE_AFTER + Duration::seconds(1);
    let u = uploads::view(&portal, &admin, id, Call::new(&c, later))
        .await
        .unwrap();
    assert_eq!(u.state, UploadState::Committed);
    assert_eq!(u.report.map(|r| r.counts.create), Some(1));
}

#[tokio::test]
async fn uploads_are_for_their_region_admins_only_and_can_be_abandoned() {
    let portal = seeded().await;
    let admin = actor(&portal, "admin.idf").await;
    let c = client("10.0.0.1");
    let id = uploads::create(
        &portal,
        &admin,
        &idf(),
        "c.csv",
        FILE.as_bytes(),
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    uploads::check(&portal, &admin, id, &c, &at(1))
        .await
        .unwrap();

    let denied_before = count(
        &portal,
        "SELECT count(*) FROM audit_log WHERE outcome = 'denied'",
    )
    .await;
    for name in ["support.idf", "support.ara"] {
        let other = actor(&portal, name).await;
        let seen = uploads::view(&portal, &other, id, Call::new(&c, t0())).await;
        assert!(matches!(seen, Err(Error::Forbidden)), "{name}: {seen:?}");
        let commit = uploads::start_commit(&portal, &other, id, true, Call::new(&c, t0())).await;
        assert!(matches!(commit, Err(Error::Forbidden)), "{name}");
        // Refused (and audited) outright: the desk does not import.
        let listed = uploads::recent(&portal, &other, Call::new(&c, t0())).await;
        assert!(
            matches!(listed, Err(Error::Forbidden)),
            "{name}: {listed:?}"
        );
        let created = uploads::create(
            &portal,
            &other,
            &idf(),
            "d.csv",
            FILE.as_bytes(),
            Call::new(&c, t0()),
        )
        .await;
        assert!(matches!(created, Err(Error::Forbidden)), "{name}");
    }
    assert_eq!(
        count(
            &portal,
            "SELECT count(*) FROM audit_log WHERE outcome = 'denied'"
        )
        .await,
        // Per desk: view, commit, list (refused and audited since issue 14) and create.
        denied_before + 8
    );
    assert_eq!(
        count(&portal, "SELECT count(*) FROM import_uploads").await,
        1
    );

    uploads::abandon(
        &portal,
        &admin,
        id,
        Call::new(&c, t0() + Duration::seconds(2)),
    )
    .await
    .unwrap();
    let u = uploads::view(
        &portal,
        &admin,
        id,
        Call::new(&c, t0() + Duration::seconds(3)),
    )
    .await
    .unwrap();
    assert_eq!(u.state, UploadState::Abandoned);
    assert_eq!(
        count(
            &portal,
            "SELECT count(*) FROM import_uploads WHERE content IS NOT NULL"
        )
        .await,
        0
    );
    let start = uploads::start_commit(
        &portal,
        &admin,
        id,
        true,
        Call::new(&c, t0() + Duration::seconds(3)),
    )
    .await;
    assert!(matches!(start, Err(Error::StaleVersion)));

    // A file refused as a whole is not stored.
    let broken = uploads::create(
        &portal,
        &admin,
        &idf(),
        "e.csv",
        b"nom;prenom\r\nA;B\r\n",
        Call::new(&c, t0()),
    )
    .await;
    assert!(matches!(
        broken,
        Err(Error::Import(ImportError::MissingColumns(_)))
    ));
    assert_eq!(
        count(&portal, "SELECT count(*) FROM import_uploads").await,
        1
    );
    // Uploads left alone are purged after a day; the abandoned one goes with them.
    uploads::purge(
        &portal.pool,
        t0() + uploads::KEEP_FOR + Duration::minutes(1),
    )
    .await
    .unwrap();
    assert_eq!(
        count(&portal, "SELECT count(*) FROM import_uploads").await,
        0
    );
}
