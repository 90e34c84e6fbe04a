//! Bulk actions of the console (issue 19): a selection written and confirmed, each account acted
//! on through its single action (authorised and audited on its own), partial failures reported
//! per account, a stalled job resumed, a forged selection refused whole; the CSV export.

use domain::Error;
use domain::accounts::UserStatus;
use domain::admin::bulk::{self, BulkAction, JobState, MAX_SELECTION, Selection};
use domain::admin::users::UserFilter;
use domain::auth::Portal;
use domain::call::Call;
use domain::ids::Finess;
use time::Duration;
use uuid::Uuid;

use crate::harness::{actor, client, seeded, t0};

async fn id(portal: &Portal, username: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(&portal.pool)
        .await
        .unwrap()
}

async fn status(portal: &Portal, username: &str) -> UserStatus {
    sqlx::query_scalar("SELECT status FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(&portal.pool)
        .await
        .unwrap()
}

async fn count(portal: &Portal, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&portal.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn each_account_is_acted_on_and_audited_on_its_own_and_failures_are_reported() {
    let portal = seeded().await;
    let c = client("10.0.0.7");
    let now = t0() + Duration::minutes(5);
    let admin = actor(&portal, "admin.idf").await;
    // Ticked on the page: two professionals and the administrator's own account.
    let ticked = vec![
        id(&portal, "dr.martin").await,
        id(&portal, "inf.durand").await,
        id(&portal, "admin.idf").await,
    ];
    let job = bulk::prepare(
        &portal,
        &admin,
        &BulkAction::Disable,
        &Selection::Accounts(ticked),
        Call::new(&c, now),
    )
    .await
    .unwrap();
    // The confirmation page: the count and the names; nothing changed yet.
    let shown = bulk::job(&portal, &admin, job, now).await.unwrap();
    assert_eq!(
        (shown.total, shown.done, shown.state),
        (3, 0, JobState::Prepared)
    );
    assert_eq!(shown.sample.len(), 3);
    assert_eq!(status(&portal, "dr.martin").await, UserStatus::Active);
    // Another administrator neither sees nor confirms it.
    let national = actor(&portal, "admin.national").await;
    assert!(matches!(
        bulk::job(&portal, &national, job, now).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        bulk::confirm(&portal, &national, job, Call::new(&c, now)).await,
        Err(Error::NotFound)
    ));

    let runner = bulk::confirm(&portal, &admin, job, Call::new(&c, now))
        .await
        .unwrap()
        .unwrap();
    // Confirmed twice (a double click, the other instance): started once.
    assert!(
        bulk::confirm(&portal, &admin, job, Call::new(&c, now))
            .await
            .unwrap()
            .is_none()
    );
    bulk::run(
        &portal,
        &admin,
        job,
        runner,
        &c,
        || now,
        |e| format!("{e:?}"),
    )
    .await
    .unwrap();
    let done = bulk::job(&portal, &admin, job, now).await.unwrap();
    assert_eq!((done.done, done.state), (3, JobState::Done));
    assert_eq!(done.failures.len(), 1);
    assert_eq!(done.failures[0].0.username.as_str(), "admin.idf");
    assert_eq!(done.failures[0].1, "OwnAccount");
    assert_eq!(status(&portal, "dr.martin").await, UserStatus::Disabled);
    assert_eq!(status(&portal, "inf.durand").await, UserStatus::Disabled);
    assert_eq!(status(&portal, "admin.idf").await, UserStatus::Active);
    assert_eq!(
        count(
            &portal,
            "SELECT count(*) FROM audit_log WHERE action = 'user.disable' AND outcome = 'success'"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &portal,
            "SELECT count(*) FROM audit_log WHERE action = 'admin.user.bulk'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn the_whole_search_result_is_taken_and_a_stalled_job_resumes() {
    let portal = seeded().await;
    let c = client("10.0.0.7");
    let now = t0() + Duration::minutes(5);
    let admin = actor(&portal, "admin.idf").await;
    let finess = Finess::parse("750712184").unwrap();
    let members_of = |username: &'static str| {
        let portal = &portal;
        async move {
            count(
                portal,
                &format!(
                    "SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id
                     JOIN establishments e ON e.id = m.establishment_id
                     WHERE u.username = '{username}' AND e.finess = '750712184'"
                ),
            )
            .await
        }
    };
    // Every professional of the region without a role: the search's whole result.
    let filter = UserFilter {
        query: "inf.durand".into(),
        ..UserFilter::default()
    };
    let job = bulk::prepare(
        &portal,
        &admin,
        &BulkAction::AddMembership(finess.clone()),
        &Selection::Search(filter),
        Call::new(&c, now),
    )
    .await
    .unwrap();
    assert_eq!(bulk::job(&portal, &admin, job, now).await.unwrap().total, 1);
    // Confirmed, then its instance dies before running it: the page says so after the
    // heartbeat's limit, and confirming again resumes it.
    let lost = bulk::confirm(&portal, &admin, job, Call::new(&c, now))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        bulk::job(&portal, &admin, job, now + Duration::seconds(5))
            .await
            .unwrap()
            .state,
        JobState::Running
    );
    let later = now + bulk::STALLED_AFTER + Duration::seconds(5);
    assert_eq!(
        bulk::job(&portal, &admin, job, later).await.unwrap().state,
        JobState::Stalled
    );
    let runner = bulk::confirm(&portal, &admin, job, Call::new(&c, later))
        .await
        .unwrap()
        .unwrap();
    // The first run, alive after all, finds the job taken over and writes nothing.
    bulk::run(
        &portal,
        &admin,
        job,
        lost,
        &c,
        || later,
        |e| format!("{e:?}"),
    )
    .await
    .unwrap();
    assert_eq!(
        members_of("inf.durand").await,
        0,
        "the lost run did nothing"
    );
    bulk::run(
        &portal,
        &admin,
        job,
        runner,
        &c,
        || later,
        |e| format!("{e:?}"),
    )
    .await
    .unwrap();
    assert_eq!(members_of("inf.durand").await, 1);
    assert!(
        bulk::job(&portal, &admin, job, later)
            .await
            .unwrap()
            .failures
            .is_empty()
    );
}

#[tokio::test]
async fn a_role_withdrawn_after_the_selection_confirms_and_shows_nothing() {
    let portal = seeded().await;
    let c = client("10.0.0.7");
    let now = t0();
    let admin = actor(&portal, "admin.idf").await;
    let job = bulk::prepare(
        &portal,
        &admin,
        &BulkAction::Disable,
        &Selection::Accounts(vec![id(&portal, "dr.martin").await]),
        Call::new(&c, now),
    )
    .await
    .unwrap();
    let demoted = domain::admin::Actor {
        grants: Vec::new(),
        ..admin.clone()
    };
    assert!(matches!(
        bulk::job(&portal, &demoted, job, now).await,
        Err(Error::Forbidden)
    ));
    assert!(matches!(
        bulk::confirm(&portal, &demoted, job, Call::new(&c, now)).await,
        Err(Error::Forbidden)
    ));
    // Withdrawn in the database while the run is under way: the run stops before the account.
    let runner = bulk::confirm(&portal, &admin, job, Call::new(&c, now))
        .await
        .unwrap()
        .unwrap();
    sqlx::query("DELETE FROM admin_roles WHERE user_id = $1")
        .bind(id(&portal, "admin.idf").await)
        .execute(&portal.pool)
        .await
        .unwrap();
    let ran = bulk::run(
        &portal,
        &admin,
        job,
        runner,
        &c,
        || now,
        |e| format!("{e:?}"),
    )
    .await;
    assert!(matches!(ran, Err(Error::Forbidden)), "{ran:?}");
    assert_eq!(status(&portal, "dr.martin").await, UserStatus::Active);
}

#[tokio::test]
async fn a_forged_or_oversized_selection_is_refused_whole() {
    let portal = seeded().await;
    let c = client("10.0.0.7");
    let now = t0();
    let admin = actor(&portal, "admin.idf").await;
    // An account of another region slipped into the form.
    let forged = Selection::Accounts(vec![
        id(&portal, "dr.martin").await,
        id(&portal, "helene.leclerc").await,
    ]);
    let refused = bulk::prepare(
        &portal,
        &admin,
        &BulkAction::Disable,
        &forged,
        Call::new(&c, now),
    )
    .await;
    assert!(matches!(refused, Err(Error::Forbidden)), "{refused:?}");
    assert_eq!(count(&portal, "SELECT count(*) FROM bulk_jobs").await, 0);
    let exported = bulk::export_csv(&portal, &admin, &forged, Call::new(&c, now)).await;
    assert!(matches!(exported, Err(Error::Forbidden)));
    // The desk may end sessions but not disable.
    let desk = actor(&portal, "support.idf").await;
    let one = Selection::Accounts(vec![id(&portal, "dr.martin").await]);
    assert!(matches!(
        bulk::prepare(
            &portal,
            &desk,
            &BulkAction::Disable,
            &one,
            Call::new(&c, now)
        )
        .await,
        Err(Error::Forbidden)
    ));
    let too_many = Selection::Accounts((0..=MAX_SELECTION).map(|_| Uuid::new_v4()).collect());
    assert!(matches!(
        bulk::prepare(
            &portal,
            &admin,
            &BulkAction::Disable,
            &too_many,
            Call::new(&c, now)
        )
        .await,
        Err(Error::TooManySelected { max: MAX_SELECTION })
    ));
    assert!(matches!(
        bulk::prepare(
            &portal,
            &admin,
            &BulkAction::Disable,
            &Selection::Accounts(vec![]),
            Call::new(&c, now)
        )
        .await,
        Err(Error::NothingSelected)
    ));
}

#[tokio::test]
async fn the_export_lists_the_selection_for_a_spreadsheet() {
    let portal = seeded().await;
    let c = client("10.0.0.7");
    let desk = actor(&portal, "support.idf").await;
    let (csv, n) = bulk::export_csv(
        &portal,
        &desk,
        &Selection::Search(UserFilter::default()),
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    let text = String::from_utf8(csv).unwrap();
    assert!(text.starts_with("\u{feff}identifiant;nom;prénom;courriel;RPPS;région;statut"));
    assert!(text.contains("dr.martin;"), "{text}");
    assert!(!text.contains("helene.leclerc"), "another region: {text}");
    assert_eq!(text.lines().count(), n + 1);
    assert_eq!(
        count(
            &portal,
            "SELECT count(*) FROM audit_log WHERE action = 'admin.user.export'"
        )
        .await,
        1
    );
}
