//! The admin console's authorisation matrix: every action and query × every role (anonymous,
//! professional, support, regional administrator, national administrator) × a target in the
//! actor's own region (FR-IDF) and in another one (FR-ARA). Each cell asserts allowed or refused;
//! a refusal must answer `Forbidden`, change nothing, and leave one `denied` audit row.

use domain::Error;
use domain::accounts::{AdminRole, UserStatus};
use domain::admin::audit_view::{self, AuditFilter};
use domain::admin::users::{self, Identity, NewAccount, UserFilter};
use domain::admin::{Actor, establishments};
use domain::auth::Portal;
use domain::call::Call;
use domain::ids::{Email, Finess, RegionCode, Username};
use sqlx::PgPool;
use time::Duration;
use uuid::Uuid;

use super::harness::{client, seeded, t0};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Professional,
    Support,
    Regional,
    National,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    SearchUsers,
    ViewUser,
    Unlock,
    SendLink,
    EndSessions,
    UnlinkCard,
    EditUser,
    AttachMembership,
    DetachMembership,
    GrantSupport,
    RevokeSupport,
    GrantRegionalAdmin,
    CreateUser,
    ListEstablishments,
    ViewEstablishment,
    CreateEstablishment,
    EditEstablishment,
    SearchAudit,
    ViewAuditRow,
    ExportAudit,
    Disable,
    Enable,
    ChangeRegion,
    EnrollTiqr,
    RevokeTiqr,
    UnlinkPsc,
    SecureAccount,
    DirectoryOverview,
    CreateNews,
    RemovePasskey,
    ListInactive,
    KeepActive,
    BulkEndSessions,
    ExportUsers,
}

const OPS: [Op; 34] = [
    Op::RemovePasskey,
    Op::ListInactive,
    Op::KeepActive,
    Op::BulkEndSessions,
    Op::ExportUsers,
    Op::DirectoryOverview,
    Op::CreateNews,
    Op::UnlinkPsc,
    Op::EnrollTiqr,
    Op::RevokeTiqr,
    Op::SearchUsers,
    Op::ViewUser,
    Op::Unlock,
    Op::SendLink,
    Op::EndSessions,
    Op::UnlinkCard,
    Op::EditUser,
    Op::AttachMembership,
    Op::DetachMembership,
    Op::GrantSupport,
    Op::RevokeSupport,
    Op::GrantRegionalAdmin,
    Op::CreateUser,
    Op::ListEstablishments,
    Op::ViewEstablishment,
    Op::CreateEstablishment,
    Op::EditEstablishment,
    Op::SearchAudit,
    Op::ViewAuditRow,
    Op::ExportAudit,
    Op::Disable,
    Op::Enable,
    Op::ChangeRegion,
    // Last: it voids the password and removes every means the other actions use.
    Op::SecureAccount,
];

/// The roles as ARCHITECTURE.md ("Regional administration") states them, written out
/// independently of the code under test.
fn expected(who: Who, own_region: bool, op: Op) -> bool {
    let support_ops = [
        Op::SearchUsers,
        Op::ViewUser,
        Op::Unlock,
        Op::SendLink,
        Op::EndSessions,
        Op::UnlinkCard,
        Op::ListEstablishments,
        Op::ViewEstablishment,
        Op::EnrollTiqr,
        Op::RevokeTiqr,
        Op::UnlinkPsc,
        Op::RemovePasskey,
        Op::SecureAccount,
        Op::BulkEndSessions,
        Op::ExportUsers,
    ];
    match who {
        Who::Anonymous | Who::Professional => false,
        Who::Support => own_region && support_ops.contains(&op),
        Who::Regional => {
            own_region
                && !matches!(
                    op,
                    Op::ChangeRegion | Op::GrantRegionalAdmin | Op::DirectoryOverview
                )
        }
        Who::National => true,
    }
}

/// Everything an action could change, as one comparable value.
async fn snapshot(pool: &PgPool) -> Vec<String> {
    let mut out = Vec::new();
    for table in [
        "users",
        "memberships",
        "admin_roles",
        "cards",
        "psc_identities",
        "passkeys",
        "tiqr_enrollments",
        "sign_in_steps",
        "sessions",
        "establishments",
        "news",
        "auth_throttle",
        "account_links",
        "mail_outbox",
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

async fn denied_rows(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE outcome = 'denied'")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn user_id(pool: &PgPool, username: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn actor(portal: &Portal, who: Who) -> Actor {
    let username = match who {
        Who::Anonymous => return Actor::anonymous(),
        Who::Professional => "dr.martin",
        Who::Support => "support.idf",
        Who::Regional => "admin.idf",
        Who::National => "admin.national",
    };
    let id = user_id(&portal.pool, username).await;
    let mut conn = portal.pool.acquire().await.unwrap();
    Actor::load(
        &mut conn,
        id,
        username,
        Some(t0()),
        Duration::minutes(30),
        t0(),
    )
    .await
    .unwrap()
}

/// The records of one region the actions aim at.
struct Fixture {
    region: &'static str,
    user: Uuid,
    card: Uuid,
    /// A Pro Santé Connect identity linked to the user.
    psc: String,
    /// A passkey of the user.
    passkey: Uuid,
    /// An establishment of the region the user is not a member of.
    spare: Finess,
    /// The user's own establishment.
    member_of: Finess,
    audit_row: i64,
}

async fn fixture(portal: &Portal, region: &'static str) -> Fixture {
    let pool = &portal.pool;
    let demo = domain::demo::establishments();
    let with_check = |body: &str| {
        Finess::parse(&format!(
            "{body}{}",
            domain::ids::luhn_check_digit(body).unwrap()
        ))
        .unwrap()
    };
    let (username, member_of, spare) = if region == "FR-IDF" {
        (
            "inf.durand",
            Finess::parse(&demo[2].0).unwrap(),
            Finess::parse(&demo[0].0).unwrap(),
        )
    } else {
        (
            "helene.leclerc",
            Finess::parse(&demo[3].0).unwrap(),
            with_check("69000001"),
        )
    };
    let user = user_id(pool, username).await;
    if region == "FR-ARA" {
        domain::provisioning::create_establishment(
            pool,
            &spare,
            "Clinique du Parc",
            "Lyon",
            &RegionCode::parse("FR-ARA").unwrap(),
            "test",
            t0(),
        )
        .await
        .unwrap();
    }
    let card = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO cards (id, user_id, issuer_dn, serial, subject_dn, national_id, card_type, holder_name,
                            not_before, not_after, fingerprint_sha256, linked_at, linked_via)
         VALUES ($1, $2, 'CN=TEST AC', $3, 'CN=x', $4, 'CPS', 'X', $5, $6, $7, $5, 'password')",
    )
    .bind(card)
    .bind(user)
    .bind(if region == "FR-IDF" { "0a1" } else { "0a2" })
    .bind(format!("8{}", &card.simple().to_string()[..10]))
    .bind(t0() - Duration::days(30))
    .bind(t0() + Duration::days(900))
    .bind(format!("{}{}", card.simple(), card.simple()))
    .execute(pool)
    .await
    .unwrap();
    let psc = format!("8{}", &Uuid::new_v4().simple().to_string()[..10]);
    sqlx::query("INSERT INTO psc_identities (national_id, user_id, linked_at) VALUES ($1, $2, $3)")
        .bind(&psc)
        .bind(user)
        .bind(t0())
        .execute(pool)
        .await
        .unwrap();
    // A passkey row as registering stores it (removing one does not read its credential).
    let passkey = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO passkeys (id, user_id, credential_id, name, credential, created_at)
         VALUES ($1, $2, $3, 'Téléphone', '{}', $4)",
    )
    .bind(passkey)
    .bind(user)
    .bind(passkey.as_bytes().to_vec())
    .bind(t0())
    .execute(pool)
    .await
    .unwrap();
    // A sign-in of the user, so that there are a session and an audit row of the region.
    let _ = domain::auth::password::sign_in(
        portal,
        username,
        domain::demo::DEMO_PASSWORD,
        None,
        Call::new(&client("10.0.0.9"), t0()),
    )
    .await;
    let audit_row: i64 = sqlx::query_scalar("SELECT max(id) FROM audit_log WHERE region_code = $1")
        .bind(region)
        .fetch_one(pool)
        .await
        .unwrap();
    Fixture {
        region,
        user,
        card,
        psc,
        passkey,
        spare,
        member_of,
        audit_row,
    }
}

async fn run(portal: &Portal, actor: &Actor, f: &Fixture, op: Op) -> Result<(), Error> {
    let c = client("10.1.1.1");
    let now = t0() + Duration::minutes(1);
    let region = RegionCode::parse(f.region).unwrap();
    match op {
        Op::SearchUsers => users::search(
            portal,
            actor,
            &UserFilter {
                region: Some(f.region.into()),
                ..UserFilter::default()
            },
            Call::new(&c, now),
        )
        .await
        .map(drop),
        Op::ViewUser => users::detail(portal, actor, f.user, Call::new(&c, now))
            .await
            .map(drop),
        Op::Unlock => users::unlock(portal, actor, f.user, Call::new(&c, now)).await,
        Op::SendLink => users::send_link(portal, actor, f.user, Call::new(&c, now))
            .await
            .map(drop),
        Op::EndSessions => users::end_sessions(portal, actor, f.user, Call::new(&c, now))
            .await
            .map(drop),
        Op::UnlinkCard => {
            users::unlink_card(portal, actor, f.user, f.card, Call::new(&c, now)).await
        }
        Op::UnlinkPsc => users::unlink_psc(portal, actor, f.user, &f.psc, Call::new(&c, now)).await,
        Op::RemovePasskey => {
            users::remove_passkey(portal, actor, f.user, f.passkey, Call::new(&c, now)).await
        }
        Op::ListInactive => {
            domain::admin::dormant::list(portal, actor, Some(f.region), Call::new(&c, now))
                .await
                .map(drop)
        }
        Op::KeepActive => {
            domain::admin::dormant::keep_active(portal, actor, f.user, Call::new(&c, now)).await
        }
        // The selection is written, then each account goes through the single action.
        Op::BulkEndSessions => {
            use domain::admin::bulk::{self, BulkAction, Selection};
            let call = Call::new(&c, now);
            let job = bulk::prepare(
                portal,
                actor,
                &BulkAction::EndSessions,
                &Selection::Accounts(vec![f.user]),
                call,
            )
            .await?;
            let runner = bulk::confirm(portal, actor, job, call)
                .await
                .unwrap()
                .unwrap();
            bulk::run(portal, actor, job, runner, &c, || now, |e| format!("{e:?}"))
                .await
                .unwrap();
            let done = bulk::job(portal, actor, job, now).await.unwrap();
            assert_eq!((done.done, done.total), (1, 1));
            match done.failures.first() {
                None => Ok(()),
                Some((_, reason)) => panic!("bulk action failed on the account: {reason}"),
            }
        }
        Op::ExportUsers => domain::admin::bulk::export_csv(
            portal,
            actor,
            &domain::admin::bulk::Selection::Accounts(vec![f.user]),
            Call::new(&c, now),
        )
        .await
        .map(drop),
        Op::SecureAccount => users::secure_compromised(portal, actor, f.user, Call::new(&c, now))
            .await
            .map(drop),
        Op::EditUser => {
            let version: i32 = sqlx::query_scalar("SELECT version FROM users WHERE id = $1")
                .bind(f.user)
                .fetch_one(&portal.pool)
                .await
                .unwrap();
            users::edit(
                portal,
                actor,
                f.user,
                &Identity {
                    email: Email::parse("nouvelle.adresse@example.fr").unwrap(),
                    family_name: "Nouveau-Nom".into(),
                    given_name: "Prénom".into(),
                    rpps: None,
                    declared_national_id: None,
                    version,
                },
                Call::new(&c, now),
            )
            .await
        }
        Op::AttachMembership => {
            users::set_membership(portal, actor, f.user, &f.spare, true, Call::new(&c, now))
                .await
                .map(drop)
        }
        Op::DetachMembership => users::set_membership(
            portal,
            actor,
            f.user,
            &f.member_of,
            false,
            Call::new(&c, now),
        )
        .await
        .map(drop),
        Op::GrantSupport => {
            users::grant_role(
                portal,
                actor,
                f.user,
                AdminRole::Support,
                Call::new(&c, now),
            )
            .await
        }
        Op::RevokeSupport => {
            users::revoke_role(
                portal,
                actor,
                f.user,
                AdminRole::Support,
                Call::new(&c, now),
            )
            .await
        }
        Op::GrantRegionalAdmin => {
            users::grant_role(
                portal,
                actor,
                f.user,
                AdminRole::RegionalAdmin,
                Call::new(&c, now),
            )
            .await
        }
        Op::CreateUser => users::create(
            portal,
            actor,
            &NewAccount {
                username: Username::parse(&format!("nouveau.{}", f.region.to_lowercase())).unwrap(),
                email: Email::parse("nouveau@example.fr").unwrap(),
                family_name: "Nouveau".into(),
                given_name: "Compte".into(),
                rpps: None,
                region: region.clone(),
                establishments: vec![f.member_of.clone()],
                directory_override: None,
            },
            Call::new(&c, now),
        )
        .await
        .map(drop),
        Op::CreateNews => domain::admin::news::create(
            portal,
            actor,
            &domain::admin::news::Draft {
                region: Some(region.clone()),
                title: "Maintenance".into(),
                body: "Le **12 décembre**, de 20 h à 22 h.".into(),
                important: false,
                starts_on: now.date(),
                ends_on: None,
            },
            Call::new(&c, now),
        )
        .await
        .map(drop),
        Op::DirectoryOverview => {
            domain::admin::directory::overview(&portal.pool, actor, Call::new(&c, now))
                .await
                .map(drop)
        }
        Op::ListEstablishments => {
            // A query over one region is what the console makes for a regional actor; national
            // actors list everything.
            establishments::list(portal, actor, "", Some(f.region), None, Call::new(&c, now))
                .await
                .map(drop)
        }
        Op::ViewEstablishment => {
            establishments::detail(portal, actor, &f.member_of, Call::new(&c, now))
                .await
                .map(drop)
        }
        Op::CreateEstablishment => {
            let body = if f.region == "FR-IDF" {
                "75000001"
            } else {
                "69000002"
            };
            let finess = format!("{body}{}", domain::ids::luhn_check_digit(body).unwrap());
            establishments::create(
                portal,
                actor,
                &Finess::parse(&finess).unwrap(),
                &region,
                &establishments::Fields {
                    name: "Centre nouveau".into(),
                    city: "Ville".into(),
                    active: true,
                },
                None,
                Call::new(&c, now),
            )
            .await
            .map(drop)
        }
        Op::EditEstablishment => {
            let fields = establishments::Fields {
                name: "Renommé".into(),
                city: "Ville".into(),
                active: false,
            };
            establishments::edit(portal, actor, &f.spare, &fields, Call::new(&c, now)).await
        }
        Op::SearchAudit => audit_view::search(
            portal,
            actor,
            &AuditFilter {
                region: Some(f.region.into()),
                ..AuditFilter::default()
            },
            Call::new(&c, now),
        )
        .await
        .map(drop),
        Op::ViewAuditRow => audit_view::row(portal, actor, f.audit_row, Call::new(&c, now))
            .await
            .map(drop),
        Op::ExportAudit => audit_view::export_csv(
            portal,
            actor,
            &AuditFilter {
                region: Some(f.region.into()),
                ..AuditFilter::default()
            },
            Call::new(&c, now),
        )
        .await
        .map(drop),
        Op::Disable => users::set_enabled(portal, actor, f.user, false, Call::new(&c, now)).await,
        Op::Enable => users::set_enabled(portal, actor, f.user, true, Call::new(&c, now)).await,
        Op::ChangeRegion => {
            let version: i32 = sqlx::query_scalar("SELECT version FROM users WHERE id = $1")
                .bind(f.user)
                .fetch_one(&portal.pool)
                .await
                .unwrap();
            let to = if f.region == "FR-IDF" {
                "FR-NOR"
            } else {
                "FR-BRE"
            };
            users::change_region(
                portal,
                actor,
                f.user,
                &RegionCode::parse(to).unwrap(),
                version,
                Call::new(&c, now),
            )
            .await
        }
        // The code e-mailed to the holder, then the enrolment with it: both need the permission.
        Op::EnrollTiqr => {
            domain::admin::tiqr::send_holder_code(portal, actor, f.user, Call::new(&c, now))
                .await?;
            let text: String = sqlx::query_scalar(
                "SELECT text_body FROM mail_outbox WHERE kind = 'tiqr_desk_code' AND user_id = $1
                 ORDER BY id DESC LIMIT 1",
            )
            .bind(f.user)
            .fetch_one(&portal.pool)
            .await
            .unwrap();
            let code: String = text
                .split("communiquez-lui ce code : ")
                .nth(1)
                .unwrap()
                .chars()
                .take(6)
                .collect();
            domain::admin::tiqr::start_for_user(
                portal,
                &super::tiqr::service(),
                actor,
                f.user,
                &code,
                domain::auth::card::Browser::of_secret("matrix"),
                Call::new(&c, now),
            )
            .await
            .map(drop)
        }
        // No enrollment of that id: once authorised, the action finds nothing to revoke.
        Op::RevokeTiqr => {
            match domain::admin::tiqr::revoke(
                portal,
                actor,
                f.user,
                Uuid::nil(),
                Call::new(&c, now),
            )
            .await
            {
                Err(Error::NotFound) => Ok(()),
                other => other,
            }
        }
    }
}

#[tokio::test]
async fn every_action_by_every_role_in_own_and_other_region() {
    let mut failures = Vec::new();
    for who in [
        Who::Anonymous,
        Who::Professional,
        Who::Support,
        Who::Regional,
        Who::National,
    ] {
        for (region, own) in [("FR-IDF", true), ("FR-ARA", false)] {
            let portal = seeded().await;
            let actor = actor(&portal, who).await;
            let f = fixture(&portal, region).await;
            for op in OPS {
                let allowed = expected(who, own, op);
                let before = snapshot(&portal.pool).await;
                let denied_before = denied_rows(&portal.pool).await;
                let result = run(&portal, &actor, &f, op).await;
                match (allowed, result) {
                    (true, Ok(())) => {}
                    (false, Err(Error::Forbidden)) => {
                        if snapshot(&portal.pool).await != before {
                            failures
                                .push(format!("{who:?} {region} {op:?}: refused but changed data"));
                        }
                        if denied_rows(&portal.pool).await != denied_before + 1 {
                            failures.push(format!("{who:?} {region} {op:?}: no denied audit row"));
                        }
                    }
                    (allowed, result) => failures.push(format!(
                        "{who:?} {region} {op:?}: expected {}, got {result:?}",
                        if allowed { "allowed" } else { "refused" }
                    )),
                }
            }
            portal.pool.close().await;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn searches_only_show_the_actors_regions() {
    let portal = seeded().await;
    let c = client("10.1.1.1");
    let support = actor(&portal, Who::Support).await;
    let national = actor(&portal, Who::National).await;
    let find = |actor: Actor, q: &'static str| {
        let portal = &portal;
        let c = c.clone();
        async move {
            users::search(
                portal,
                &actor,
                &UserFilter {
                    query: q.into(),
                    ..UserFilter::default()
                },
                Call::new(&c, t0()),
            )
            .await
            .unwrap()
            .rows
            .into_iter()
            .map(|r| r.username.to_string())
            .collect::<Vec<_>>()
        }
    };
    // Accent- and case-insensitive, any part of a word: "helene" finds "Hélène Leclerc" (FR-ARA)…
    assert_eq!(
        find(national.clone(), "helene").await,
        vec!["helene.leclerc"]
    );
    assert_eq!(
        find(national.clone(), "LECL hél").await,
        vec!["helene.leclerc"]
    );
    // …but not for the Île-de-France desk.
    assert!(find(support.clone(), "helene").await.is_empty());
    let idf = find(support.clone(), "").await;
    assert!(idf.contains(&"dr.martin".to_string()) && !idf.contains(&"helene.leclerc".to_string()));
    // A FINESS finds the establishment's members.
    assert_eq!(find(support.clone(), "750712184").await, vec!["dr.martin"]);
    // A `%` is a character, not a wildcard.
    assert!(find(national, "%").await.is_empty());
}

#[tokio::test]
async fn two_admins_editing_the_same_account_the_second_is_refused() {
    let portal = seeded().await;
    let admin = actor(&portal, Who::Regional).await;
    let c = client("10.1.1.1");
    let id = user_id(&portal.pool, "inf.durand").await;
    let opened = users::detail(&portal, &admin, id, Call::new(&c, t0()))
        .await
        .unwrap();
    let edit = |family: &str| Identity {
        email: opened.user.email.clone(),
        family_name: family.into(),
        given_name: opened.user.given_name.clone(),
        rpps: None,
        declared_national_id: None,
        version: opened.user.version,
    };
    users::edit(
        &portal,
        &admin,
        id,
        &edit("Durand-Premier"),
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    let second = users::edit(
        &portal,
        &admin,
        id,
        &edit("Durand-Second"),
        Call::new(&c, t0()),
    )
    .await;
    assert!(matches!(second, Err(Error::StaleVersion)), "{second:?}");
    let now = users::detail(&portal, &admin, id, Call::new(&c, t0()))
        .await
        .unwrap();
    assert_eq!(now.user.family_name, "Durand-Premier");
    // The saved change is audited with its before and after values.
    let details: serde_json::Value = sqlx::query_scalar(
        "SELECT details FROM audit_log WHERE action = 'user.edit' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&portal.pool)
    .await
    .unwrap();
    assert_eq!(details["before"]["family_name"], "Durand");
    assert_eq!(details["after"]["family_name"], "Durand-Premier");
}

#[tokio::test]
async fn unlock_lifts_the_lock_after_failed_sign_ins() {
    let portal = seeded().await;
    let c = client("10.2.2.2");
    for _ in 0..5 {
        let _ =
            super::harness::sign_in(&portal, "inf.durand", "faux", None, Call::new(&c, t0())).await;
    }
    let locked = super::harness::sign_in(
        &portal,
        "inf.durand",
        domain::demo::DEMO_PASSWORD,
        None,
        Call::new(&c, t0()),
    )
    .await;
    assert!(matches!(locked, Err(Error::Locked { .. })), "{locked:?}");
    let support = actor(&portal, Who::Support).await;
    let id = user_id(&portal.pool, "inf.durand").await;
    assert!(
        users::detail(&portal, &support, id, Call::new(&c, t0()))
            .await
            .unwrap()
            .locked_until
            .is_some()
    );
    users::unlock(&portal, &support, id, Call::new(&c, t0()))
        .await
        .unwrap();
    super::harness::sign_in(
        &portal,
        "inf.durand",
        domain::demo::DEMO_PASSWORD,
        None,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    // Disabled by an administrator: the account's sessions end and it cannot sign in.
    let admin = actor(&portal, Who::Regional).await;
    users::set_enabled(&portal, &admin, id, false, Call::new(&c, t0()))
        .await
        .unwrap();
    let d = users::detail(&portal, &admin, id, Call::new(&c, t0()))
        .await
        .unwrap();
    assert_eq!(d.user.status, UserStatus::Disabled);
    assert!(d.sessions.is_empty());
}

#[tokio::test]
async fn audit_export_is_scoped_and_inert_in_spreadsheets() {
    let portal = seeded().await;
    let c = client("10.3.3.3");
    // A failed sign-in from a browser whose name is a formula (what is typed for no account is
    // not kept as typed, so the browser's name carries it).
    let formula = domain::audit::Client {
        ip: Some("10.3.3.3".into()),
        user_agent: Some("=HYPERLINK(\"http://x\")".into()),
        device: None,
    };
    let _ =
        super::harness::sign_in(&portal, "nobody.here", "x", None, Call::new(&formula, t0())).await;
    let national = actor(&portal, Who::National).await;
    let (csv, rows) = audit_view::export_csv(
        &portal,
        &national,
        &AuditFilter::default(),
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    assert!(rows > 0);
    let text = String::from_utf8(csv).unwrap();
    assert!(text.starts_with('\u{feff}'));
    assert!(text.contains("'=HYPERLINK"), "{text}");
    assert!(!text.contains(";=HYPERLINK"));
    // A regional administrator's export holds their region's rows only.
    let regional = actor(&portal, Who::Regional).await;
    let (csv, _) = audit_view::export_csv(
        &portal,
        &regional,
        &AuditFilter::default(),
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    let text = String::from_utf8(csv).unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    for record in reader.records() {
        assert_eq!(&record.unwrap()[9], "FR-IDF");
    }
}

#[tokio::test]
async fn the_console_asks_for_the_password_again_after_its_limit() {
    let portal = seeded().await;
    let c = client("10.4.4.4");
    let signed = super::harness::sign_in(
        &portal,
        "admin.idf",
        domain::demo::DEMO_PASSWORD,
        None,
        Call::new(&c, t0()),
    )
    .await
    .unwrap();
    let limit = Duration::minutes(60);
    let later = t0() + Duration::minutes(61);
    let session = domain::sessions::load(
        &portal.pool,
        &signed.token,
        domain::sessions::Policy {
            idle: Duration::hours(2),
            absolute: Duration::hours(4),
        },
        later,
    )
    .await
    .unwrap()
    .unwrap();
    let mut conn = portal.pool.acquire().await.unwrap();
    let stale = Actor::load(
        &mut conn,
        session.user_id,
        session.username.as_str(),
        session.authenticated_at,
        limit,
        later,
    )
    .await;
    assert!(
        matches!(stale, Err(Error::ReauthenticationRequired)),
        "{stale:?}"
    );
    // A professional without roles is never asked (the console refuses them anyway).
    let pro = user_id(&portal.pool, "dr.martin").await;
    assert!(
        Actor::load(&mut conn, pro, "dr.martin", Some(t0()), limit, later)
            .await
            .is_ok()
    );
    // A wrong password changes nothing; the right one renews the strong authentication.
    assert!(matches!(
        domain::auth::reauthenticate(&portal, &session, "faux", Call::new(&c, later)).await,
        Err(Error::InvalidCredentials)
    ));
    domain::auth::reauthenticate(
        &portal,
        &session,
        domain::demo::DEMO_PASSWORD,
        Call::new(&c, later),
    )
    .await
    .unwrap();
    let session = domain::sessions::load(
        &portal.pool,
        &signed.token,
        domain::sessions::Policy {
            idle: Duration::hours(2),
            absolute: Duration::hours(4),
        },
        later,
    )
    .await
    .unwrap()
    .unwrap();
    assert!(
        Actor::load(
            &mut conn,
            session.user_id,
            session.username.as_str(),
            session.authenticated_at,
            limit,
            later
        )
        .await
        .is_ok()
    );
    // The administrator lands on the console (no establishment of their own).
    assert_eq!(signed.landing, domain::routing::Landing::Console);
}

/// A phone enrolled in the last `[tiqr] new_phone_hours` does not satisfy the console's
/// re-authentication: an administrator signed in with it is asked for the password at once (an
/// unattended session used to add a phone must not open the console from another browser), and
/// once the phone is older, its sign-ins count as before.
#[tokio::test]
async fn a_sign_in_with_a_new_phone_does_not_satisfy_the_console_reauthentication() {
    use super::tiqr::{NEW_PHONE, Phone, Platform, enrolled_for, service, session_of_token};
    use domain::auth::card::Browser;
    use domain::auth::tiqr::sign_in::{self, Poll};

    let portal = seeded().await;
    let c = client("10.2.2.2");
    let limit = Duration::minutes(60);
    let (admin, phone) = enrolled_for(&portal, "admin.idf", Platform::Android, t0()).await;
    let tiqr_session = |now: time::OffsetDateTime, browser: &'static str| {
        let (portal, phone, c) = (&portal, &phone, &c);
        async move {
            let browser = Browser::of_secret(browser);
            let qr = sign_in::start_sign_in(portal, &service(), browser, None, now)
                .await
                .unwrap();
            assert_eq!(
                Phone::login(phone, portal, &qr.url, "1234", "198.51.100.30", now).await,
                "OK"
            );
            let Poll::SignedIn(signed) =
                sign_in::poll(portal, browser, None, NEW_PHONE, Call::new(c, now))
                    .await
                    .unwrap()
            else {
                panic!("no session");
            };
            (
                signed.token.clone(),
                session_of_token(portal, &signed.token, now).await,
            )
        }
    };
    let console = |session: domain::sessions::Session, now: time::OffsetDateTime| {
        let portal = &portal;
        async move {
            let mut conn = portal.pool.acquire().await.unwrap();
            Actor::load(
                &mut conn,
                session.user_id,
                session.username.as_str(),
                session.authenticated_at,
                limit,
                now,
            )
            .await
        }
    };

    // An hour after the phone was added, a TIQR sign-in: the console asks for the password at
    // once, although the sign-in is seconds old.
    let soon = t0() + Duration::hours(1);
    let (token, session) = tiqr_session(soon, "new-phone").await;
    assert_eq!(session.user_id, admin);
    assert_eq!(session.auth_method, model::sign_in::Method::Tiqr);
    assert_eq!(session.authenticated_at, None);
    let refused = console(session.clone(), soon).await;
    assert!(
        matches!(refused, Err(Error::ReauthenticationRequired)),
        "{refused:?}"
    );
    // The password typed again opens it.
    domain::auth::reauthenticate(
        &portal,
        &session,
        domain::demo::DEMO_PASSWORD,
        Call::new(&c, soon),
    )
    .await
    .unwrap();
    let session = super::tiqr::session_of_token(&portal, &token, soon).await;
    assert_eq!(session.authenticated_at, Some(soon));
    assert!(console(session, soon).await.is_ok());

    // A day later the phone is trusted: its sign-ins count as a strong authentication.
    let next_day = t0() + Duration::hours(25);
    let (_, session) = tiqr_session(next_day, "old-phone").await;
    assert_eq!(session.authenticated_at, Some(next_day));
    assert!(console(session, next_day).await.is_ok());
}
