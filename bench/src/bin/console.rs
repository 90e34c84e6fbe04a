//! `console [DATABASE_URL] [--drop]`: benchmark (not a test) of the admin console's queries.
//!
//! On the server of `DATABASE_URL` (default: env `DATABASE_URL`, else
//! `postgres://postgres@127.0.0.1:5432/postgres`) it recreates the scratch database
//! `passerelle_bench_console`, migrates it, fills it with set-based SQL (2 000 establishments,
//! 100 000 users with memberships and a few administrators, 1 000 000 audit rows), then times the
//! console's user and audit searches through the domain API (first pages and deep keyset pages)
//! and prints p50/p95 latencies. `--drop` drops the scratch database at the end (it is kept
//! otherwise, to EXPLAIN the queries in psql). Started by `scripts/bench-console.sh`.

use bench::{BoxResult, with_database};
use domain::call::Call;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use domain::accounts::{AdminRole, RoleGrant, UserStatus};
use domain::admin::Actor;
use domain::admin::audit_view::{self, AuditFilter};
use domain::admin::users::{self, UserFilter};
use domain::audit::{Client, Outcome};
use domain::auth::Portal;
use domain::ids::Finess;
use domain::password::{Cost, Passwords};
use sqlx::{Connection, PgConnection};
use time::{Duration, OffsetDateTime};

const SCRATCH_DB: &str = "passerelle_bench_console";
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const ESTABLISHMENTS: usize = 2_000;
const USERS: i32 = 100_000;
const AUDIT_ROWS: i64 = 1_000_000;
const AUDIT_BATCHES: i64 = 4;
/// How deep the "deep page" is: the cursor is walked this many pages once, then that page timed.
const DEEP_PAGE: usize = 200;
const MAX_RUNS: usize = 200;
const MIN_RUNS: usize = 10;
/// Time budget of one measured query (after `MIN_RUNS`, stop when spent).
const BUDGET: StdDuration = StdDuration::from_secs(10);
/// A p95 above this is flagged in the table.
const SLOW_MS: f64 = 50.0;

// ---------------------------------------------------------------------------------------------
// Data generation
// ---------------------------------------------------------------------------------------------

/// Departments of each region (FINESS numbers start with the department; overseas ones with
/// 97 and the department's third digit).
const DEPARTMENTS: [(&str, &[&str]); 18] = [
    (
        "FR-ARA",
        &[
            "01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74",
        ],
    ),
    ("FR-BFC", &["21", "25", "39", "58", "70", "71", "89", "90"]),
    ("FR-BRE", &["22", "29", "35", "56"]),
    ("FR-CVL", &["18", "28", "36", "37", "41", "45"]),
    ("FR-COR", &["2A", "2B"]),
    (
        "FR-GES",
        &["08", "10", "51", "52", "54", "55", "57", "67", "68", "88"],
    ),
    ("FR-HDF", &["02", "59", "60", "62", "80"]),
    ("FR-IDF", &["75", "77", "78", "91", "92", "93", "94", "95"]),
    ("FR-NOR", &["14", "27", "50", "61", "76"]),
    (
        "FR-NAQ",
        &[
            "16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87",
        ],
    ),
    (
        "FR-OCC",
        &[
            "09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82",
        ],
    ),
    ("FR-PDL", &["44", "49", "53", "72", "85"]),
    ("FR-PAC", &["04", "05", "06", "13", "83", "84"]),
    ("FR-GP", &["971"]),
    ("FR-MQ", &["972"]),
    ("FR-GF", &["973"]),
    ("FR-RE", &["974"]),
    ("FR-YT", &["976"]),
];

const CITIES: [&str; 16] = [
    "Saint-Étienne",
    "Créteil",
    "Besançon",
    "Orléans",
    "Nîmes",
    "Béziers",
    "Châlons-en-Champagne",
    "Évry",
    "Angoulême",
    "Pointe-à-Pitre",
    "Fort-de-France",
    "Saint-Denis",
    "Ajaccio",
    "Quimper",
    "Colmar",
    "Périgueux",
];

const KINDS: [&str; 6] = [
    "Centre hospitalier",
    "Clinique",
    "EHPAD",
    "Maison de santé",
    "Centre de santé",
    "Laboratoire",
];

/// A FINESS number (Luhn-valid, so that `Finess::parse` accepts it) for establishment `n` of a
/// department.
fn finess(department: &str, n: usize) -> Option<String> {
    let serial = if department.len() == 3 {
        format!("{department}{:05}", n % 100_000)
    } else {
        format!("{department}{:06}", n % 1_000_000)
    };
    // Corsican numbers keep the pre-1976 department code "20" for the check digit.
    let digits = serial.replace("2A", "20").replace("2B", "20");
    let check = domain::ids::luhn_check_digit(&digits)?;
    Some(format!("{serial}{check}"))
}

/// Region of establishment `n`: Île-de-France one in five, the 17 others in turn.
fn establishment_region(n: usize) -> (&'static str, &'static [&'static str]) {
    let idf = DEPARTMENTS
        .iter()
        .find(|(code, _)| *code == "FR-IDF")
        .copied()
        .unwrap_or(DEPARTMENTS[0]);
    if n.is_multiple_of(5) {
        return idf;
    }
    let others: Vec<_> = DEPARTMENTS
        .iter()
        .filter(|(code, _)| *code != "FR-IDF")
        .copied()
        .collect();
    others.get(n % others.len()).copied().unwrap_or(idf)
}

const GIVEN_NAMES: [&str; 30] = [
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
    "Sébastien",
    "Céline",
    "Inès",
    "Mathéo",
    "Aurélie",
    "Marie",
    "Jean",
    "Pierre",
    "Camille",
    "Nicolas",
];
const FAMILY_NAMES: [&str; 41] = [
    "Leclerc",
    "Lefèvre",
    "Lefebvre",
    "Müller",
    "Dupont",
    "Bérenger",
    "Martin",
    "Bernard",
    "Durand",
    "Petit",
    "Moreau",
    "Laurent",
    "Girard",
    "Rousseau",
    "Fournier",
    "Garnier",
    "Chevalier",
    "François",
    "Mercier",
    "Boyer",
    "Gauthier",
    "Lemaître",
    "Bélanger",
    "Côté",
    "Gagné",
    "Pelletier",
    "Ménard",
    "Huët",
    "Le Gall",
    "Le Goff",
    "N'Diaye",
    "Da Silva",
    "Nguyen",
    "Benali",
    "Haddad",
    "Lambert",
    "Fontaine",
    "Roussel",
    "Lévêque",
    "Dumoulin",
    "Brûlé",
];
/// A syntactically valid Argon2id PHC string (never verified: nobody signs in here).
const FAKE_PHC: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2htYXJrc2FsdA$YmVuY2htYXJraGFzaGJlbmNobWFya2hhc2g";

fn step(label: &str, started: Instant) {
    println!("  {label:<44} {:>8.1} s", started.elapsed().as_secs_f64());
}

async fn generate(conn: &mut PgConnection, now: OffsetDateTime) -> BoxResult<()> {
    // 1. Establishments.
    let t = Instant::now();
    let mut finesses = Vec::with_capacity(ESTABLISHMENTS);
    let mut names = Vec::with_capacity(ESTABLISHMENTS);
    let mut cities = Vec::with_capacity(ESTABLISHMENTS);
    let mut regions = Vec::with_capacity(ESTABLISHMENTS);
    for n in 0..ESTABLISHMENTS {
        let (region, departments) = establishment_region(n);
        let department = departments
            .get(n / 17 % departments.len())
            .copied()
            .unwrap_or("75");
        let f = finess(department, n).ok_or("FINESS check digit")?;
        let city = CITIES[n % CITIES.len()];
        finesses.push(f);
        names.push(format!("{} n° {n} de {city}", KINDS[n % KINDS.len()]));
        cities.push(city.to_string());
        regions.push(region.to_string());
    }
    sqlx::query(
        "INSERT INTO establishments (id, finess, name, city, region_code, created_at)
         SELECT gen_random_uuid(), f, n, c, r, $5
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS t(f, n, c, r)",
    )
    .bind(&finesses)
    .bind(&names)
    .bind(&cities)
    .bind(&regions)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    step("establishments (2 000)", t);

    // 2. Users: names drawn from the arrays by hashes of the ordinal (not plain modulo, which
    // would correlate the name, the region and the status), Île-de-France ~20 %.
    let t = Instant::now();
    sqlx::query(
        r#"INSERT INTO users (id, username, email, family_name, given_name, rpps, region_code,
                              status, password_hash, created_at, updated_at)
           SELECT md5('user-' || i)::uuid,
                  base || '.' || i,
                  base || '.' || i || '@'
                      || (ARRAY['aphp.example','chu.example','clinique.example','sante.example','ehpad.example'])[1 + i % 5],
                  family, given,
                  CASE WHEN i % 3 = 0 THEN NULL ELSE '10' || lpad(i::text, 9, '0') END,
                  region, status::user_status,
                  CASE WHEN status = 'pending_activation' THEN NULL ELSE $5 END,
                  $2, $2
           FROM (
             SELECT i, given, family,
                    regexp_replace(passerelle_fold(given), '[^a-z0-9]+', '', 'g') || '.'
                      || trim(both '-' from regexp_replace(passerelle_fold(family), '[^a-z0-9]+', '-', 'g')) AS base,
                    CASE WHEN (hashint4(i * 7 + 2) & 2147483647) % 100 < 20 THEN 'FR-IDF'
                         ELSE (SELECT array_agg(code ORDER BY code) FROM regions WHERE code <> 'FR-IDF')
                              [1 + (hashint4(i * 11 + 3) & 2147483647) % 17]
                    END AS region,
                    CASE WHEN (hashint4(i * 3 + 1) & 2147483647) % 20 < 14 THEN 'active'
                         WHEN (hashint4(i * 3 + 1) & 2147483647) % 20 < 17 THEN 'pending_activation'
                         WHEN (hashint4(i * 3 + 1) & 2147483647) % 20 < 19 THEN 'locked'
                         ELSE 'disabled'
                    END AS status
             FROM (SELECT i,
                          ($3::text[])[1 + (hashint4(i) & 2147483647) % cardinality($3::text[])] AS given,
                          ($4::text[])[1 + (hashint4(i + 1000003) & 2147483647) % cardinality($4::text[])] AS family
                   FROM generate_series(1, $1) i) n
           ) g"#,
    )
    .bind(USERS)
    .bind(now)
    .bind(&GIVEN_NAMES[..])
    .bind(&FAMILY_NAMES[..])
    .bind(FAKE_PHC)
    .execute(&mut *conn)
    .await?;
    step("users (100 000)", t);

    // Memberships: ~70 % of the users in one establishment of their region, ~10 % in a second.
    let t = Instant::now();
    for (salt, share) in [("m1", 7), ("m2", 1)] {
        sqlx::query(
            "WITH e AS (SELECT id, region_code,
                               (row_number() OVER (PARTITION BY region_code ORDER BY finess))::int - 1 AS rn
                        FROM establishments),
                  c AS (SELECT region_code, count(*)::int AS cnt FROM establishments GROUP BY region_code)
             INSERT INTO memberships (user_id, establishment_id, created_at)
             SELECT u.id, e.id, $2
             FROM users u
             JOIN c ON c.region_code = u.region_code
             JOIN e ON e.region_code = u.region_code
                   AND e.rn = (hashtext(u.id::text || $1) & 2147483647) % c.cnt
             WHERE (hashtext($1 || u.id::text) & 2147483647) % 10 < $3
             ON CONFLICT DO NOTHING",
        )
        .bind(salt)
        .bind(now)
        .bind(share)
        .execute(&mut *conn)
        .await?;
    }
    // Administrators: per region 2 regional administrators and 3 support desks; 2 national.
    sqlx::query(
        "WITH ranked AS (SELECT id, region_code,
                                row_number() OVER (PARTITION BY region_code ORDER BY id) - 1 AS k
                         FROM users WHERE status = 'active')
         INSERT INTO admin_roles (user_id, role, region_code, granted_at)
         SELECT id, (CASE WHEN k < 2 THEN 'regional_admin' ELSE 'support' END)::admin_role,
                region_code, $1
         FROM ranked WHERE k < 5
         UNION ALL
         SELECT id, 'national_admin'::admin_role, NULL, $1
         FROM ranked WHERE region_code = 'FR-IDF' AND k IN (5, 6)",
    )
    .bind(now)
    .execute(&mut *conn)
    .await?;
    step("memberships and admin roles", t);

    // 3. The audit log. NOTE: prev_hash/hash are sha256 of the id (and of the id before): they
    // satisfy the table's constraints (32 bytes, unique) but are NOT a valid hash chain —
    // `passerelle audit verify` would reject them. This benchmark measures search, not
    // verification.
    let t = Instant::now();
    sqlx::raw_sql(
        "CREATE TEMP TABLE bench_users AS
             SELECT (row_number() OVER (ORDER BY id) - 1)::int AS n, id, username, region_code
             FROM users;
         ALTER TABLE bench_users ADD PRIMARY KEY (n);
         CREATE TEMP TABLE bench_admins AS
             SELECT a.region_code, (row_number() OVER (PARTITION BY a.region_code ORDER BY u.id) - 1)::int AS k,
                    u.id, u.username, a.role::text AS role
             FROM admin_roles a JOIN users u ON u.id = a.user_id
             WHERE a.region_code IS NOT NULL;
         ANALYZE bench_users;
         ANALYZE bench_admins;",
    )
    .execute(&mut *conn)
    .await?;
    let start = now - Duration::days(365);
    // Seconds between two rows: the rows span the last 365 days, in the order of their ids.
    let step_secs = 365.0 * 86_400.0 / AUDIT_ROWS as f64;
    let admins_per_region: i32 = 5;
    for batch in 0..AUDIT_BATCHES {
        let tb = Instant::now();
        sqlx::query(
            r#"INSERT INTO audit_log (id, occurred_at, actor_user_id, actor_label, actor_role, action,
                                      outcome, target_type, target_id, target_label, region_code,
                                      ip, user_agent, details, prev_hash, hash)
               SELECT x.id,
                      $2 + make_interval(secs => x.id * $3),
                      CASE WHEN x.admin THEN a.id WHEN x.outcome = 'failure' THEN NULL ELSE u.id END,
                      CASE WHEN x.admin THEN a.username ELSE u.username END,
                      CASE WHEN x.admin THEN a.role END,
                      x.action, x.outcome::audit_outcome,
                      'user', u.id::text, u.username, u.region_code,
                      '10.' || (x.id % 200) || '.' || (x.id / 200 % 250) || '.' || (1 + x.id % 254),
                      (ARRAY['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
                             'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
                             'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
                             'passerelle-agent/1.2'])[1 + x.id % 4],
                      CASE x.outcome
                          WHEN 'failure' THEN '{"reason": "wrong_password"}'::jsonb
                          WHEN 'denied' THEN '{"reason": "card_already_linked"}'::jsonb
                          ELSE jsonb_build_object('method', 'password')
                      END,
                      sha256((x.id - 1)::text::bytea),
                      sha256(x.id::text::bytea)
               FROM (
                 SELECT id, un, ak,
                        CASE WHEN r < 430 THEN 'auth.password.sign_in'
                             WHEN r < 440 THEN 'card.link'
                             WHEN r < 560 THEN 'auth.email_code.verify'
                             WHEN r < 660 THEN 'session.establishment.choose'
                             WHEN r < 720 THEN 'auth.sign_out'
                             WHEN r < 760 THEN 'card.link'
                             WHEN r < 800 THEN 'auth.card.sign_in'
                             WHEN r < 830 THEN 'account.link_sent'
                             WHEN r < 860 THEN 'user.unlock'
                             WHEN r < 910 THEN 'user.edit'
                             WHEN r < 930 THEN 'user.create'
                             WHEN r < 950 THEN 'user.disable'
                             WHEN r < 980 THEN 'admin.user.view'
                             ELSE 'auth.password_reset.request'
                        END AS action,
                        CASE WHEN r >= 380 AND r < 430 THEN 'failure'
                             WHEN r >= 430 AND r < 440 THEN 'denied'
                             ELSE 'success'
                        END AS outcome,
                        r >= 800 AND r < 980 AS admin
                 FROM (SELECT id,
                              (hashint8(id) & 2147483647) % 1000 AS r,
                              (hashint8(id + 1000000007) & 2147483647) % $4 AS un,
                              (hashint8(id + 2000000011) & 2147483647) % $5 AS ak
                       FROM (SELECT nextval('audit_log_id_seq') AS id FROM generate_series(1, $1)) s0) s
               ) x
               JOIN bench_users u ON u.n = x.un
               LEFT JOIN bench_admins a ON a.region_code = u.region_code AND a.k = x.ak"#,
        )
        .bind(AUDIT_ROWS / AUDIT_BATCHES)
        .bind(start)
        .bind(step_secs)
        .bind(USERS)
        .bind(admins_per_region)
        .execute(&mut *conn)
        .await?;
        step(
            &format!(
                "audit_log batch {}/{AUDIT_BATCHES} (250 000 rows)",
                batch + 1
            ),
            tb,
        );
    }
    step("audit_log total (1 000 000)", t);

    let t = Instant::now();
    sqlx::raw_sql("DROP TABLE bench_users; DROP TABLE bench_admins;")
        .execute(&mut *conn)
        .await?;
    // Alone in its statement: VACUUM cannot run in the implicit transaction of several.
    sqlx::raw_sql("VACUUM (ANALYZE) establishments, users, memberships, admin_roles, audit_log")
        .execute(&mut *conn)
        .await?;
    step("VACUUM ANALYZE", t);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------------

/// One console search, run through the domain API.
enum Query<'a> {
    Audit(&'a Actor, AuditFilter),
    Users(&'a Actor, UserFilter),
}

impl Query<'_> {
    /// The page after `after` (the first one without): its row count and next cursor.
    async fn page(
        &self,
        portal: &Portal,
        after: Option<&str>,
    ) -> domain::Result<(usize, Option<String>)> {
        let client = Client {
            ip: Some("127.0.0.1".into()),
            user_agent: Some("bench-console".into()),
            device: None,
        };
        let now = OffsetDateTime::now_utc();
        match self {
            Query::Audit(actor, filter) => {
                let filter = AuditFilter {
                    after: after.map(str::to_string),
                    ..filter.clone()
                };
                let p = audit_view::search(portal, actor, &filter, Call::new(&client, now)).await?;
                Ok((p.rows.len(), p.next))
            }
            Query::Users(actor, filter) => {
                let filter = UserFilter {
                    after: after.map(str::to_string),
                    ..filter.clone()
                };
                let p = users::search(portal, actor, &filter, Call::new(&client, now)).await?;
                Ok((p.rows.len(), p.next))
            }
        }
    }
}

struct Line {
    name: String,
    page: String,
    rows: usize,
    runs: usize,
    p50: f64,
    p95: f64,
}

/// Nearest-rank percentile of sorted `v`.
fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

/// Times the page after `after`: 2 warm-up runs, then up to `MAX_RUNS` (at least `MIN_RUNS`,
/// within `BUDGET`).
async fn time_page(
    portal: &Portal,
    q: &Query<'_>,
    after: Option<&str>,
) -> BoxResult<(usize, usize, f64, f64)> {
    for _ in 0..2 {
        q.page(portal, after).await?;
    }
    let started = Instant::now();
    let mut samples = Vec::with_capacity(MAX_RUNS);
    let mut rows = 0;
    while samples.len() < MAX_RUNS && (samples.len() < MIN_RUNS || started.elapsed() < BUDGET) {
        let t = Instant::now();
        let (n, _) = q.page(portal, after).await?;
        samples.push(t.elapsed().as_secs_f64() * 1_000.0);
        rows = n;
    }
    samples.sort_by(f64::total_cmp);
    Ok((
        rows,
        samples.len(),
        percentile(&samples, 50.0),
        percentile(&samples, 95.0),
    ))
}

/// Measures the first page of `q`, and with `deep` the page `DEEP_PAGE` (or the last one, when
/// there are fewer pages), reached by walking the cursor once.
async fn measure(
    portal: &Portal,
    name: &str,
    q: &Query<'_>,
    deep: bool,
    out: &mut Vec<Line>,
) -> BoxResult<()> {
    let (rows, runs, p50, p95) = time_page(portal, q, None).await?;
    println!("  {name} — page 1: p50 {p50:.2} ms, p95 {p95:.2} ms");
    out.push(Line {
        name: name.to_string(),
        page: "1".into(),
        rows,
        runs,
        p50,
        p95,
    });
    if !deep {
        return Ok(());
    }
    let walk = Instant::now();
    let mut cursor: Option<String> = None;
    let mut page = 1;
    while page < DEEP_PAGE {
        let (_, next) = q.page(portal, cursor.as_deref()).await?;
        match next {
            Some(n) => {
                cursor = Some(n);
                page += 1;
            }
            None => break,
        }
    }
    let walk_ms = walk.elapsed().as_secs_f64() * 1_000.0;
    if page < 2 {
        return Ok(());
    }
    let (rows, runs, p50, p95) = time_page(portal, q, cursor.as_deref()).await?;
    let label = if page < DEEP_PAGE {
        format!("{page} (last)")
    } else {
        page.to_string()
    };
    println!("  {name} — page {label}: p50 {p50:.2} ms, p95 {p95:.2} ms (walk {walk_ms:.0} ms)");
    out.push(Line {
        name: name.to_string(),
        page: label,
        rows,
        runs,
        p50,
        p95,
    });
    Ok(())
}

fn print_table(lines: &[Line]) {
    println!();
    println!("| # | query | page | rows | runs | p50 ms | p95 ms |");
    println!("|---|-------|-----:|-----:|-----:|-------:|-------:|");
    for (i, l) in lines.iter().enumerate() {
        let flag = if l.p95 > SLOW_MS { " **SLOW**" } else { "" };
        println!(
            "| {} | {} | {} | {} | {} | {:.2} | {:.2}{flag} |",
            i + 1,
            l.name,
            l.page,
            l.rows,
            l.runs,
            l.p50,
            l.p95
        );
    }
}

async fn scalar_text(conn: &mut PgConnection, sql: &'static str) -> BoxResult<String> {
    let v: Option<String> = sqlx::query_scalar(sql).fetch_optional(&mut *conn).await?;
    v.ok_or_else(|| format!("no value for: {sql}").into())
}

#[tokio::main]
async fn main() -> BoxResult<()> {
    let mut drop_at_end = false;
    let mut url = None;
    for arg in std::env::args().skip(1) {
        if arg == "--drop" {
            drop_at_end = true;
        } else {
            url = Some(arg);
        }
    }
    let url = url
        .or_else(|| std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| DEFAULT_URL.to_string());
    let bench_url = with_database(&url, SCRATCH_DB);

    let mut admin = PgConnection::connect(&url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {SCRATCH_DB}")))
        .execute(&mut admin)
        .await?;

    let pool = domain::db::connect(&bench_url, 4).await?;
    domain::db::migrate(&pool).await?;
    let now = OffsetDateTime::now_utc();

    println!("Data generation in {SCRATCH_DB}:");
    let generation = Instant::now();
    {
        let mut conn = pool.acquire().await?;
        generate(&mut conn, now).await?;
    }
    let generation_secs = generation.elapsed().as_secs_f64();
    println!("  {:<44} {generation_secs:>8.1} s", "TOTAL");

    let portal = Portal {
        pool: pool.clone(),
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
    };
    let regional = Actor {
        user_id: None,
        label: "bench.regional".into(),
        grants: vec![RoleGrant {
            role: AdminRole::RegionalAdmin,
            region_code: Some(domain::ids::RegionCode::parse("FR-IDF")?),
        }],
    };
    let national = Actor {
        user_id: None,
        label: "bench.national".into(),
        grants: vec![RoleGrant {
            role: AdminRole::NationalAdmin,
            region_code: None,
        }],
    };

    // Filter values taken from the generated data.
    let mut conn = pool.acquire().await?;
    let actor_label = scalar_text(
        &mut conn,
        "SELECT u.username FROM admin_roles a JOIN users u ON u.id = a.user_id
         WHERE a.role = 'regional_admin' AND a.region_code = 'FR-IDF' ORDER BY u.username LIMIT 1",
    )
    .await?;
    let target_label = scalar_text(
        &mut conn,
        "SELECT target_label FROM audit_log WHERE region_code = 'FR-IDF'
         GROUP BY target_label ORDER BY count(*) DESC, target_label LIMIT 1",
    )
    .await?;
    let finess_text = scalar_text(
        &mut conn,
        "SELECT e.finess FROM establishments e JOIN memberships m ON m.establishment_id = e.id
         WHERE e.region_code = 'FR-IDF'
         GROUP BY e.finess ORDER BY count(*) DESC, e.finess LIMIT 1",
    )
    .await?;
    drop(conn);
    let establishment = Finess::parse(&finess_text)?;
    println!(
        "Filter values: actor {actor_label}, target {target_label}, establishment {finess_text}"
    );

    let month = AuditFilter {
        from: Some(now - Duration::days(60)),
        to: Some(now - Duration::days(30)),
        ..AuditFilter::default()
    };
    let audit_cases: Vec<(&str, Query<'_>, bool)> = vec![
        (
            "audit, regional IDF, no filter",
            Query::Audit(&regional, AuditFilter::default()),
            true,
        ),
        (
            "audit, regional IDF, action family `user`",
            Query::Audit(
                &regional,
                AuditFilter {
                    action: Some("user".into()),
                    ..AuditFilter::default()
                },
            ),
            true,
        ),
        (
            "audit, regional IDF, outcome denied",
            Query::Audit(
                &regional,
                AuditFilter {
                    outcome: Some(Outcome::Denied),
                    ..AuditFilter::default()
                },
            ),
            true,
        ),
        (
            "audit, regional IDF, one month",
            Query::Audit(&regional, month.clone()),
            true,
        ),
        (
            "audit, regional IDF, actor label",
            Query::Audit(
                &regional,
                AuditFilter {
                    actor: Some(actor_label.clone()),
                    ..AuditFilter::default()
                },
            ),
            true,
        ),
        (
            "audit, regional IDF, target label",
            Query::Audit(
                &regional,
                AuditFilter {
                    target: Some(target_label.clone()),
                    ..AuditFilter::default()
                },
            ),
            true,
        ),
        (
            "audit, national, no filter",
            Query::Audit(&national, AuditFilter::default()),
            true,
        ),
        (
            "audit, national, outcome denied",
            Query::Audit(
                &national,
                AuditFilter {
                    outcome: Some(Outcome::Denied),
                    ..AuditFilter::default()
                },
            ),
            true,
        ),
    ];
    let user_cases: Vec<(&str, Query<'_>, bool)> = vec![
        (
            "users, national, \"helene\"",
            Query::Users(
                &national,
                UserFilter {
                    query: "helene".into(),
                    ..UserFilter::default()
                },
            ),
            true,
        ),
        (
            "users, regional IDF, \"lef\"",
            Query::Users(
                &regional,
                UserFilter {
                    query: "lef".into(),
                    ..UserFilter::default()
                },
            ),
            true,
        ),
        (
            "users, regional IDF, \"élodie muller\"",
            Query::Users(
                &regional,
                UserFilter {
                    query: "élodie muller".into(),
                    ..UserFilter::default()
                },
            ),
            true,
        ),
        (
            "users, regional IDF, status locked",
            Query::Users(
                &regional,
                UserFilter {
                    status: Some(UserStatus::Locked),
                    ..UserFilter::default()
                },
            ),
            true,
        ),
        (
            "users, regional IDF, establishment (FINESS)",
            Query::Users(
                &regional,
                UserFilter {
                    establishment: Some(establishment),
                    ..UserFilter::default()
                },
            ),
            true,
        ),
        (
            "users, regional IDF, no filter",
            Query::Users(&regional, UserFilter::default()),
            true,
        ),
        (
            "users, national, no filter",
            Query::Users(&national, UserFilter::default()),
            true,
        ),
    ];

    println!(
        "Measuring (up to {MAX_RUNS} runs or {}s per query):",
        BUDGET.as_secs()
    );
    let mut lines = Vec::new();
    for (name, q, deep) in audit_cases.iter().chain(user_cases.iter()) {
        measure(&portal, name, q, *deep, &mut lines).await?;
    }

    println!();
    println!(
        "Data: 18 regions, {ESTABLISHMENTS} establishments, {USERS} users, {AUDIT_ROWS} audit rows; generated in {generation_secs:.1} s."
    );
    print_table(&lines);
    let slow = lines.iter().filter(|l| l.p95 > SLOW_MS).count();
    println!();
    println!("{slow} measurement(s) above {SLOW_MS} ms p95.");

    pool.close().await;
    if drop_at_end {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await?;
        println!("Dropped {SCRATCH_DB}.");
    } else {
        println!("Kept {SCRATCH_DB} (pass --drop to drop it).");
    }
    admin.close().await?;
    Ok(())
}
