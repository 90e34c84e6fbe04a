//! `bench SERVER_ADDR SECONDS CONCURRENCY`: measures, in one run,
//! 1. password sign-ins per second through the real `POST /connexion` of a running server
//!    (form token fetched first, each sign-in a full session start with its audit row), each
//!    client a browser that keeps its cookies, as a professional's does from one day to the next,
//!    then, for a quarter of the time, from browsers never seen before (each sign-in then also
//!    e-mails the holder « connexion depuis un nouveau navigateur »), and
//! 2. bare Argon2id verifications per second with the same (default) parameters, on as many
//!    threads as the machine has cores,
//!    and prints both and their ratio, the sign-ins' latency (median, p95) and, given the
//!    server's process id, its resident memory before, at its peak and after the load.
//!    Started by `scripts/bench.sh`.
//!
//! The sign-ins come from a crowd: given the database (`BENCH_DATABASE_URL`), `BENCH_ACCOUNTS`
//! professionals (200 by default) `banc.0001`… are created once, with the demo password at the
//! default Argon2id cost like every account's, and the sign-ins go round them; without it, every
//! sign-in is `dr.martin`'s (one account signed into by every client at once: its attempt counter
//! is one row that each sign-in takes in turn).

use std::time::{Duration, Instant};

use domain::ids::{Email, Finess, RegionCode, Username};
use domain::password::{Cost, Passwords};
use domain::provisioning::{AccountSpec, create_account};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Response {
    status: u16,
    head: String,
    body: String,
}

/// One HTTP/1.1 exchange on a fresh connection (`Connection: close`, read to the end).
async fn exchange(addr: &str, request: String) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(Response {
        status,
        head: head.to_string(),
        body: body.to_string(),
    })
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

/// What a client's browser keeps from the sign-in page: the form's token (its CSRF cookie) and
/// the browser's own cookie, by which the portal knows it again.
struct Browser {
    token: String,
    device: String,
}

async fn open_sign_in_page(addr: &str) -> std::io::Result<Browser> {
    let page = exchange(
        addr,
        format!("GET /connexion HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await?;
    let missing = |what: &str| std::io::Error::other(format!("no {what} (status {})", page.status));
    Ok(Browser {
        token: cookie(&page.head, "passerelle_csrf")
            .filter(|_| page.body.contains("csrf"))
            .ok_or_else(|| missing("form token"))?,
        device: cookie(&page.head, "passerelle_appareil")
            .ok_or_else(|| missing("browser cookie"))?,
    })
}

/// Whether the sign-ins come from browsers the portal knows (each client keeps its cookie) or
/// from browsers it has never seen (no cookie sent: each sign-in is a new browser's).
#[derive(Clone, Copy, PartialEq)]
enum Browsers {
    Known,
    New,
}

/// Each sign-in comes from an address of its own (`X-Forwarded-For`, the server trusting the
/// loopback as its proxy): a crowd of professionals, not one address that the per-address
/// flood limit (5 per second) would stop.
async fn sign_in(
    addr: &str,
    browser: &Browser,
    browsers: Browsers,
    username: &str,
    n: u64,
) -> std::io::Result<bool> {
    let token = &browser.token;
    let body = format!(
        "csrf={token}&identifiant={username}&mot_de_passe={}",
        domain::demo::DEMO_PASSWORD
    );
    let device = match browsers {
        Browsers::Known => format!("; passerelle_appareil={}", browser.device),
        Browsers::New => String::new(),
    };
    let request = format!(
        "POST /connexion HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         X-Forwarded-For: 10.{}.{}.1\r\nCookie: passerelle_csrf={token}{device}\r\nContent-Length: {}\r\n\r\n{body}",
        n >> 8 & 255,
        n & 255,
        body.len()
    );
    let r = exchange(addr, request).await?;
    Ok(r.status == 303 && cookie(&r.head, "passerelle_session").is_some())
}

/// What a run of sign-ins measured.
struct Run {
    per_second: f64,
    failed: u64,
    /// Each successful sign-in's time, sorted.
    latencies: Vec<Duration>,
}

impl Run {
    fn percentile(&self, p: f64) -> Duration {
        let last = self.latencies.len().saturating_sub(1);
        let at = ((last as f64) * p).round() as usize;
        self.latencies.get(at).copied().unwrap_or_default()
    }
}

/// `VmRSS` and `VmHWM` (resident now, and at its highest since the process started) of `pid`,
/// in MB.
fn memory_of(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024.0 / 1e6)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// The CPU time (user + system) a process has used, in seconds.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which may hold spaces), from the third one on.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // Linux counts in USER_HZ, 100 per second on every architecture it runs on.
    Some(ticks / 100.0)
}

/// The CPU time of every PostgreSQL process of the machine (the server's embedded cluster, and the
/// system's idle service).
fn postgres_cpu_seconds() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "postgres")
        })
        .filter_map(|pid| cpu_seconds(&pid))
        .sum()
}

/// Where the CPU of a run went: the server, PostgreSQL, and this client.
#[derive(Clone, Copy)]
struct CpuUse {
    server: f64,
    postgres: f64,
    client: f64,
}

fn cpu_use(server: u32) -> Option<CpuUse> {
    Some(CpuUse {
        server: cpu_seconds(&server.to_string())?,
        postgres: postgres_cpu_seconds(),
        client: cpu_seconds("self")?,
    })
}

/// The number of the next sign-in, for its address.
static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

async fn http_rate(
    addr: String,
    seconds: u64,
    concurrency: usize,
    browsers: Browsers,
    crowd: std::sync::Arc<Vec<String>>,
    open: std::sync::Arc<Vec<Browser>>,
) -> std::io::Result<Run> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..concurrency {
        let (addr, crowd, open) = (addr.clone(), crowd.clone(), open.clone());
        tasks.push(tokio::spawn(async move {
            let browser = open
                .get(client)
                .ok_or_else(|| std::io::Error::other("a client without its browser"))?;
            let (mut latencies, mut failed) = (Vec::new(), 0u64);
            // Each professional signs in from one browser, their own workstation's: this client's
            // accounts are every `concurrency`-th of the crowd (whole rounds only, so that no
            // account goes to two clients when the crowd is not a multiple of them).
            let per_client = (crowd.len() / concurrency).max(1);
            let mut turn = 0;
            while Instant::now() < deadline {
                let started = Instant::now();
                let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let username = crowd
                    .get((client + concurrency * (turn % per_client)) % crowd.len().max(1))
                    .map_or("dr.martin", String::as_str);
                turn += 1;
                if sign_in(&addr, browser, browsers, username, n).await? {
                    latencies.push(started.elapsed());
                } else {
                    failed += 1
                }
            }
            Ok::<_, std::io::Error>((latencies, failed))
        }));
    }
    let (mut latencies, mut failed) = (Vec::new(), 0);
    for t in tasks {
        let (l, f) = t.await.map_err(std::io::Error::other)??;
        latencies.extend(l);
        failed += f;
    }
    latencies.sort();
    Ok(Run {
        per_second: latencies.len() as f64 / start.elapsed().as_secs_f64(),
        failed,
        latencies,
    })
}

/// The professionals the sign-ins go round (see the module's comment): created once in the demo's
/// first establishment, reused by the next runs on the same database.
async fn crowd(
    database_url: &str,
    accounts: usize,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let pool = domain::db::connect(database_url, 2).await?;
    let passwords = Passwords::new(Cost::default())?;
    let (finess, _, _, region) = domain::demo::establishments()
        .into_iter()
        .next()
        .ok_or("no demo establishment")?;
    let mut usernames = Vec::with_capacity(accounts);
    let now = time::OffsetDateTime::now_utc();
    for i in 1..=accounts {
        let username = format!("banc.{i:04}");
        let parsed = Username::parse(&username)?;
        let mut conn = pool.acquire().await?;
        let exists = domain::accounts::user_id_by_username(&mut conn, &parsed)
            .await?
            .is_some();
        drop(conn);
        if !exists {
            let spec = AccountSpec {
                username: parsed,
                email: Email::parse(&format!("{username}@banc.example"))?,
                family_name: format!("Banc {i}"),
                given_name: "Camille".into(),
                rpps: None,
                region: RegionCode::parse(region)?,
                password: Some(domain::demo::DEMO_PASSWORD.into()),
                role: None,
                establishments: vec![Finess::parse(&finess)?],
            };
            create_account(&pool, &passwords, &spec, "banc", "http://127.0.0.1", now).await?;
        }
        usernames.push(username);
    }
    pool.close().await;
    Ok(usernames)
}

fn argon2_rate(seconds: u64) -> Result<f64, domain::Error> {
    let passwords = std::sync::Arc::new(Passwords::new(Cost::default())?);
    let hash = passwords.hash(domain::demo::DEMO_PASSWORD)?;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (passwords, hash) = (passwords.clone(), hash.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    assert!(passwords.verify(domain::demo::DEMO_PASSWORD, Some(&hash)));
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let addr = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:3950".into());
    let seconds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20);
    let concurrency: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(4);
    let server: Option<u32> = args.get(4).and_then(|s| s.parse().ok());

    let crowd = std::sync::Arc::new(match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let accounts = std::env::var("BENCH_ACCOUNTS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(200);
            crowd(&url, accounts).await?
        }
        _ => vec!["dr.martin".to_string()],
    });
    // One browser per client, for every run: its cookie is what the portal knows it by.
    let mut open = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        open.push(open_sign_in_page(&addr).await?);
    }
    let open = std::sync::Arc::new(open);
    let idle = server.and_then(memory_of);
    let rate = |seconds, browsers| {
        http_rate(
            addr.clone(),
            seconds,
            concurrency,
            browsers,
            crowd.clone(),
            open.clone(),
        )
    };
    // Warm up: connection pool, page cache, and each client's browser known to its accounts.
    rate(2, Browsers::Known).await?;
    let cpu_before = server.and_then(cpu_use);
    let run = rate(seconds, Browsers::Known).await?;
    let cpu_after = server.and_then(cpu_use);
    let (http, failed) = (run.per_second, run.failed);
    let new_browsers = rate(seconds.div_ceil(4), Browsers::New).await?;
    let after = server.and_then(memory_of);
    let bare = tokio::task::spawn_blocking(move || argon2_rate(seconds)).await??;
    let c = Cost::default();
    println!(
        "argon2id parameters: m={} KiB, t={}, p={}",
        c.memory_kib, c.iterations, c.parallelism
    );
    println!(
        "sign-ins through POST /connexion: {http:.1}/s ({concurrency} clients, {seconds} s, {failed} failed; {} account(s) in turn, browsers the portal knows)",
        crowd.len()
    );
    println!(
        "  from browsers never seen:       {:.1}/s ({} s, {} failed; each also e-mails the holder)",
        new_browsers.per_second,
        seconds.div_ceil(4),
        new_browsers.failed
    );
    println!("bare argon2id verifications:      {bare:.1}/s (all cores, {seconds} s)");
    println!("ratio HTTP / bare:                {:.2}", http / bare);
    println!(
        "sign-in latency:                  median {:.0} ms, p95 {:.0} ms",
        run.percentile(0.5).as_secs_f64() * 1e3,
        run.percentile(0.95).as_secs_f64() * 1e3
    );
    // Where each sign-in's CPU goes (the machine's cores are the limit): one verification costs
    // what the bare run measured, the rest is the sign-in's own work.
    if let (Some(b), Some(a)) = (cpu_before, cpu_after) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let signed_in = run.latencies.len().max(1) as f64;
        let per = |seconds: f64| seconds * 1e3 / signed_in;
        let server = per(a.server - b.server);
        let hash = cores * 1e3 / bare;
        println!(
            "CPU per sign-in:                  server {server:.1} ms (Argon2id {hash:.1} ms, the rest {:.1} ms), PostgreSQL {:.1} ms, this client {:.1} ms",
            server - hash,
            per(a.postgres - b.postgres),
            per(a.client - b.client)
        );
    }
    if let (Some((idle, _)), Some((now, peak))) = (idle, after) {
        println!(
            "server resident memory:           {idle:.1} MB idle, {peak:.1} MB peak (VmHWM), {now:.1} MB after"
        );
    }
    Ok(())
}
