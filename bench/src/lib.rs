//! What the benchmarks share: the scratch databases' addresses and the peak memory readings.

use std::error::Error;

use sqlx::PgConnection;

pub type BoxResult<T> = Result<T, Box<dyn Error>>;

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, params) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[host_start..].find('/') {
        Some(i) => &base[..host_start + i],
        None => base,
    };
    match params {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// A field of /proc/<pid>/status, in KiB ("VmHWM", "VmRSS").
pub fn proc_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The largest VmHWM among the backends serving `database`, in MiB (None when their /proc
/// entries cannot be read: a server on another machine or of another user).
pub async fn backends_peak_mib(admin: &mut PgConnection, database: &str) -> BoxResult<Option<f64>> {
    let pids: Vec<i32> = sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE datname = $1")
        .bind(database)
        .fetch_all(&mut *admin)
        .await?;
    Ok(pids
        .iter()
        .filter_map(|p| proc_kib(&p.to_string(), "VmHWM"))
        .max()
        .map(|k| k as f64 / 1024.0))
}

pub fn own_peak_mib() -> Option<f64> {
    proc_kib("self", "VmHWM").map(|k| k as f64 / 1024.0)
}
