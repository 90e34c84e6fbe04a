//! `flood SERVER_ADDR DATABASE_URL [RATE] [SECONDS] [SOURCES]`: a benchmark, not a test. Sends
//! RATE anonymous requests per second (default 2 000) for SECONDS (default 30) to a running
//! server — a mix of the requests anyone can send that the portal refuses — spread over SOURCES
//! client addresses (default 200, given in `X-Forwarded-For`, which the server believes from
//! 127.0.0.1 in this set-up; each address sends every kind of request, so with 200 addresses each
//! stays under its per-address limits, and with fewer the limits answer 429), while one client signs in with the password every second from an
//! address of its own. Prints the sign-in latencies, the refusals' answers, how the server's
//! connections were used (sampled from `pg_stat_activity`), and the audit rows the flood wrote.
//! Started by `scripts/bench-flood.sh`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, Semaphore};

/// The requests' form token: any 43 characters, sent as both cookie and field (a self-supplied
/// pair, which is all an anonymous sender needs).
const TOKEN: &str = "floodfloodfloodfloodfloodfloodfloodfloodflo";
/// The signing-in client's address (TEST-NET-1; only ever written in a header).
const LEGIT_ADDRESS: &str = "192.0.2.10";
/// Requests in flight at most; past it a tick's requests are counted as not sent.
const MAX_IN_FLIGHT: usize = 1024;

struct Answer {
    status: u16,
    head: String,
}

/// One HTTP/1.1 exchange on a fresh connection, read to the end.
async fn exchange(addr: &str, request: &str) -> std::io::Result<Answer> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let head = text.split("\r\n\r\n").next().unwrap_or("").to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(Answer { status, head })
}

fn get(addr: &str, path: &str, from: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nX-Forwarded-For: {from}\r\n\
         Cookie: passerelle_csrf={TOKEN}\r\n\r\n"
    )
}

fn post(addr: &str, path: &str, from: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nX-Forwarded-For: {from}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nCookie: passerelle_csrf={TOKEN}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// The mix: every kind of anonymous refusal named in issue 14.
const KINDS: [&str; 10] = [
    "console users",
    "console establishments",
    "password sign-in",
    "TIQR app answer",
    "card agent proof",
    "PSC callback",
    "PSC back-channel",
    "reset request",
    "TIQR sign-in QR",
    "console audit row",
];

fn request(kind: usize, n: u64, addr: &str, from: &str) -> String {
    match kind {
        0 => get(
            addr,
            "/api/admin/users?q=&status=&finess=&role=&region=&after=",
            from,
        ),
        1 => get(addr, "/api/admin/establishments?q=&after=", from),
        2 => post(
            addr,
            "/connexion",
            from,
            // A few accounts, hammered: locked after their first failures, every later attempt
            // is refused before any password check (a guess at a fresh identifier costs an
            // Argon2id verification by design, and the address limit bounds those).
            &format!(
                "csrf={TOKEN}&identifiant=cible{}&mot_de_passe=devine{n}",
                n % 4
            ),
        ),
        3 => post(
            addr,
            "/tiqr/auth",
            from,
            &format!(
                "sessionKey={n:032x}&userId=robot{n}&response=123456&language=fr&operation=login"
            ),
        ),
        4 => post(
            addr,
            "/connexion/carte",
            from,
            &format!("csrf={TOKEN}&nonce=n{n}&certificate=AAAA&signature=AAAA"),
        ),
        5 => get(
            addr,
            &format!("/connexion/psc/retour?state=s{n}&code=c{n}"),
            from,
        ),
        6 => post(
            addr,
            "/connexion/psc/deconnexion",
            from,
            &format!("logout_token=garbage.{n}.x"),
        ),
        7 => post(
            addr,
            "/mot-de-passe-oublie",
            from,
            &format!("csrf={TOKEN}&identifiant=personne{n}"),
        ),
        8 => get(addr, "/api/tiqr-sign-in", from),
        _ => get(addr, &format!("/api/admin/audit-row?id={n}"), from),
    }
}

/// The flood's source addresses: 198.18.0.0/15 (set aside for benchmarks; only in a header).
fn source(i: u64) -> String {
    format!("198.18.{}.{}", (i / 250) % 250, i % 250 + 1)
}

#[derive(Default)]
struct Tally {
    by_kind: BTreeMap<(usize, u16), u64>,
    latencies_ms: Vec<f64>,
}

/// The sign-in page's form token (its cookie).
async fn form_token(addr: &str) -> std::io::Result<String> {
    let page = exchange(
        addr,
        &format!(
            "GET /connexion HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nX-Forwarded-For: {LEGIT_ADDRESS}\r\n\r\n"
        ),
    )
    .await?;
    cookie(&page.head, "passerelle_csrf")
        .ok_or_else(|| std::io::Error::other(format!("no form token (status {})", page.status)))
}

fn cookie(head: &str, name: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .find_map(|c| {
            c.strip_prefix(&format!("{name}="))
                .map(|v| v.split(';').next().unwrap_or("").to_string())
        })
}

/// One password sign-in as dr.martin: (succeeded, seconds).
async fn sign_in(addr: &str, token: &str) -> (bool, f64) {
    let body = format!(
        "csrf={token}&identifiant=dr.martin&mot_de_passe={}",
        domain::demo::DEMO_PASSWORD
    );
    let request = format!(
        "POST /connexion HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nX-Forwarded-For: {LEGIT_ADDRESS}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nCookie: passerelle_csrf={token}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let start = Instant::now();
    let ok = match exchange(addr, &request).await {
        Ok(r) => r.status == 303 && cookie(&r.head, "passerelle_session").is_some(),
        Err(_) => false,
    };
    (ok, start.elapsed().as_secs_f64())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn audit_rows(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM audit_log")
        .fetch_one(pool)
        .await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let addr = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:3960".into());
    let url = args
        .get(2)
        .cloned()
        .ok_or("usage: flood ADDR DATABASE_URL [RATE] [SECONDS] [SOURCES]")?;
    let rate: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(2_000);
    let seconds: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(30);
    let sources: u64 = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(200);
    let options: sqlx::postgres::PgConnectOptions = url.parse()?;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options.application_name("flood-bench"))
        .await?;
    let rows_before = audit_rows(&pool).await?;
    let refusal_rows_before: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE outcome <> 'success'")
            .fetch_one(&pool)
            .await?;
    let token = form_token(&addr).await?;

    let tally = Arc::new(Mutex::new(Tally::default()));
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let (sent, not_sent, failed) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);

    // The server's connections, sampled every 100 ms: (total, active, waiting on a lock).
    let sampler = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut samples: Vec<(i64, i64, i64)> = Vec::new();
            while Instant::now() < deadline {
                let row: Result<(i64, i64, i64), _> = sqlx::query_as(
                    "SELECT count(*), count(*) FILTER (WHERE state = 'active'),
                            count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock')
                     FROM pg_stat_activity
                     WHERE datname = current_database() AND backend_type = 'client backend'
                       AND application_name <> 'flood-bench'",
                )
                .fetch_one(&pool)
                .await;
                if let Ok(r) = row {
                    samples.push(r);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            samples
        })
    };

    // The person signing in every second.
    let person = {
        let addr = addr.clone();
        tokio::spawn(async move {
            let mut results = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            while Instant::now() < deadline {
                tick.tick().await;
                results.push(sign_in(&addr, &token).await);
            }
            results
        })
    };

    // The flood: every millisecond, rate/1000 requests (open loop: a slow answer does not slow
    // the sender).
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut n: u64 = 0;
    let mut due: f64 = 0.0;
    while Instant::now() < deadline {
        tick.tick().await;
        let target = start.elapsed().as_secs_f64() * rate as f64;
        while due < target {
            due += 1.0;
            n += 1;
            let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                not_sent.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            // Each address sends every kind in turn: at the default rate and 200 addresses, one
            // request per second per kind and address, under every per-address limit, so that
            // the refusals reach the database (the hard case for the pool and the audit log).
            let kind = (n % KINDS.len() as u64) as usize;
            let from = source((n / KINDS.len() as u64) % sources);
            let req = request(kind, n, &addr, &from);
            let (addr, tally, sent, failed) =
                (addr.clone(), tally.clone(), sent.clone(), failed.clone());
            tokio::spawn(async move {
                let t = Instant::now();
                sent.fetch_add(1, Ordering::Relaxed);
                match exchange(&addr, &req).await {
                    Ok(a) => {
                        let ms = t.elapsed().as_secs_f64() * 1000.0;
                        let mut tally = tally.lock().await;
                        *tally.by_kind.entry((kind, a.status)).or_default() += 1;
                        tally.latencies_ms.push(ms);
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                drop(permit);
            });
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    // Let the last answers come in.
    let _ = tokio::time::timeout(
        Duration::from_secs(30),
        in_flight.acquire_many(MAX_IN_FLIGHT as u32),
    )
    .await;
    let signins = person.await?;
    let samples = sampler.await?;
    let rows_after_flood = audit_rows(&pool).await?;
    // Close every window as the server would once the minute is over, and count again.
    let flushed = domain::refusals::flush(
        &pool,
        time::OffsetDateTime::now_utc() + time::Duration::minutes(2),
    )
    .await?;
    let rows_after = audit_rows(&pool).await?;
    let refusal_rows_after: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE outcome <> 'success'")
            .fetch_one(&pool)
            .await?;
    let summarised: Option<i64> = sqlx::query_scalar(
        "SELECT sum((details->>'refusals')::bigint)::bigint FROM audit_log WHERE details ? 'summary'",
    )
    .fetch_one(&pool)
    .await?;
    let verified = domain::audit::verify(&pool).await?;

    let tally = tally.lock().await;
    let mut latencies = tally.latencies_ms.clone();
    latencies.sort_by(f64::total_cmp);
    let sent = sent.load(Ordering::Relaxed);
    println!("== flood: {rate}/s asked for {seconds} s from {sources} addresses");
    println!(
        "sent {sent} in {elapsed:.1} s ({:.0}/s), {} answered, {} not sent (over {MAX_IN_FLIGHT} in flight), {} connection errors",
        sent as f64 / elapsed,
        latencies.len(),
        not_sent.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed)
    );
    println!(
        "refusal latency ms: p50 {:.1}, p95 {:.1}, p99 {:.1}, max {:.1}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0.0)
    );
    for (k, name) in KINDS.iter().enumerate() {
        let answers: Vec<String> = tally
            .by_kind
            .iter()
            .filter(|((kind, _), _)| *kind == k)
            .map(|((_, status), count)| format!("{status}×{count}"))
            .collect();
        println!("  {name:<24} {}", answers.join(" "));
    }
    let mut times: Vec<f64> = signins.iter().map(|(_, s)| *s).collect();
    times.sort_by(f64::total_cmp);
    let ok = signins.iter().filter(|(ok, _)| *ok).count();
    println!("== the person signing in every second");
    println!(
        "{ok}/{} signed in; latency s: p50 {:.3}, p95 {:.3}, max {:.3}; over 2 s: {}",
        signins.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        times.last().copied().unwrap_or(0.0),
        times.iter().filter(|t| **t >= 2.0).count()
    );
    let max = |f: fn(&(i64, i64, i64)) -> i64| samples.iter().map(f).max().unwrap_or(0);
    let mean_active = samples.iter().map(|s| s.1 as f64).sum::<f64>() / samples.len().max(1) as f64;
    println!(
        "== the server's database connections (pool of 20), {} samples",
        samples.len()
    );
    println!(
        "open: max {}; active: max {}, mean {mean_active:.1}; waiting on a lock: max {}; samples with all 20 active: {}",
        max(|s| s.0),
        max(|s| s.1),
        max(|s| s.2),
        samples.iter().filter(|s| s.1 >= 20).count()
    );
    println!("== audit log");
    println!(
        "rows written during the flood: {} ({} refusals/failures in all after the summaries); summaries written at the close: {}",
        rows_after_flood - rows_before,
        refusal_rows_after - refusal_rows_before,
        flushed.summaries
    );
    println!(
        "rows in all: {}; refusals counted in summary rows: {}; chain: {:?}",
        rows_after - rows_before,
        summarised.unwrap_or(0),
        verified
    );
    Ok(())
}
