//! « Actualités » against a real PostgreSQL: drafts are not shown, published items are shown to
//! their region (and national ones to all) between their dates in Paris, edits need the version
//! the form was opened at, and a regional administrator writes for their region only.

use domain::Error;
use domain::admin::news::{self, Change, Draft};
use domain::call::Call;
use domain::ids::RegionCode;
use time::macros::{date, datetime};

use super::harness::{actor, client, seeded};

fn draft(region: Option<&str>, title: &str) -> Draft {
    Draft {
        region: region.map(|r| RegionCode::parse(r).unwrap()),
        title: title.into(),
        body: "Le **12 décembre**, de 20 h à 22 h : <b>pas de connexion</b>.".into(),
        important: false,
        starts_on: date!(2026 - 12 - 04),
        ends_on: Some(date!(2026 - 12 - 12)),
    }
}

#[tokio::test]
async fn items_are_shown_to_their_region_between_their_dates_once_published() {
    let portal = seeded().await;
    let c = client("10.0.0.5");
    // 23:30 UTC on 3 December is already the 4th in Paris.
    let now = datetime!(2026-12-03 23:30 UTC);
    let call = Call::new(&c, now);
    let idf = actor(&portal, "admin.idf").await;
    let national = actor(&portal, "admin.national").await;

    let maintenance = news::create(
        &portal,
        &idf,
        &draft(Some("FR-IDF"), "Maintenance IDF"),
        call,
    )
    .await
    .unwrap();
    // A regional administrator writes neither for another region nor nationally.
    for other in [Some("FR-ARA"), None] {
        assert!(matches!(
            news::create(&portal, &idf, &draft(other, "Ailleurs"), call).await,
            Err(Error::Forbidden)
        ));
    }
    let everyone = news::create(
        &portal,
        &national,
        &draft(None, "Nouveauté nationale"),
        call,
    )
    .await
    .unwrap();
    let shown = |region: &'static str, at| {
        let pool = portal.pool.clone();
        async move {
            domain::news::shown(&pool, Some(region), at)
                .await
                .unwrap()
                .into_iter()
                .map(|i| i.title)
                .collect::<Vec<_>>()
        }
    };
    // Drafts are not shown.
    assert!(shown("FR-IDF", now).await.is_empty());
    news::change(&portal, &idf, maintenance, Change::Publish, call)
        .await
        .unwrap();
    news::change(&portal, &national, everyone, Change::Publish, call)
        .await
        .unwrap();
    let mut idf_titles = shown("FR-IDF", now).await;
    idf_titles.sort();
    assert_eq!(idf_titles, ["Maintenance IDF", "Nouveauté nationale"]);
    assert_eq!(shown("FR-ARA", now).await, ["Nouveauté nationale"]);
    // Not before the first day (Paris), not after the last.
    assert!(
        shown("FR-IDF", datetime!(2026-12-03 22:30 UTC))
            .await
            .is_empty()
    );
    assert!(
        shown("FR-IDF", datetime!(2026-12-12 23:30 UTC))
            .await
            .is_empty()
    );
    assert_eq!(
        shown("FR-IDF", datetime!(2026-12-12 20:00 UTC)).await.len(),
        2
    );

    // The text is rendered without the author's markup.
    let item = news::get(&portal, &idf, maintenance, call).await.unwrap();
    assert!(item.html().contains("<strong>12 décembre</strong>"));
    assert!(item.html().contains("&lt;b&gt;"));

    // Two administrators edit the same item: the second save is refused.
    let mut edited = draft(Some("FR-IDF"), "Maintenance IDF (reportée)");
    news::edit(&portal, &idf, maintenance, &edited, item.version, call)
        .await
        .unwrap();
    edited.title = "Autre".into();
    assert!(matches!(
        news::edit(&portal, &idf, maintenance, &edited, item.version, call).await,
        Err(Error::StaleVersion)
    ));
    // Back to draft, then deleted: no longer shown; each change is audited.
    news::change(&portal, &idf, maintenance, Change::Withdraw, call)
        .await
        .unwrap();
    assert_eq!(shown("FR-IDF", now).await, ["Nouveauté nationale"]);
    news::change(&portal, &idf, maintenance, Change::Delete, call)
        .await
        .unwrap();
    let audited: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE target_type = 'news' AND target_id = $1 ORDER BY id",
    )
    .bind(maintenance.to_string())
    .fetch_all(&portal.pool)
    .await
    .unwrap();
    assert_eq!(
        audited,
        [
            "news.create",
            "news.publish",
            "news.edit",
            "news.withdraw",
            "news.delete"
        ]
    );
    // A bad item is refused: no title, dates in the wrong order.
    let mut bad = draft(Some("FR-IDF"), "  ");
    assert!(news::create(&portal, &idf, &bad, call).await.is_err());
    bad.title = "Dates".into();
    bad.ends_on = Some(date!(2026 - 12 - 01));
    assert!(matches!(
        news::create(&portal, &idf, &bad, call).await,
        Err(Error::InvalidInput { field: "date", .. })
    ));
}
