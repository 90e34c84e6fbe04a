//! A private PostgreSQL cluster for the no-configuration default and for the tests, run with the
//! system's own PostgreSQL binaries (`initdb`, `pg_ctl`).
//!
//! Layout of the data folder:
//! - `pgdata/`   the cluster (owned by the `postgres` system user when we run as root, because
//!   `initdb` refuses to run as root);
//! - `run/`      the Unix socket directory, private to the cluster;
//! - `password`  the superuser's random password (mode 0600): TCP connections on 127.0.0.1 use
//!   SCRAM, so other local users cannot walk in as they could with `trust`.

use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use rand::Rng;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A running cluster. `stop` it on shutdown; a cluster that was already running when we came
/// (another Passerelle process on the same folder) is reused and left running.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    root: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    password: String,
    run_as: Option<&'static str>,
    owned: bool,
    /// The postmaster's options (port, socket folder…), to start it again as it was.
    options: String,
}

/// How `pg_ctl` stops the server: `Fast` rolls back the sessions and shuts down cleanly (an
/// operator's restart, a planned failover); `Immediate` kills it, as a power cut or an OOM kill
/// would, and the next start recovers from the write-ahead log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    Fast,
    Immediate,
}

impl Shutdown {
    fn as_str(self) -> &'static str {
        match self {
            Shutdown::Fast => "fast",
            Shutdown::Immediate => "immediate",
        }
    }
}

fn fail(what: impl std::fmt::Display) -> Error {
    Error::Embedded(what.to_string())
}

/// Effective user id, read from /proc so that no libc binding is needed.
fn running_as_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// The directory of the newest PostgreSQL server binaries: `PASSERELLE_PG_BIN`, else Debian's
/// `/usr/lib/postgresql/<version>/bin`, else whatever `initdb` is on PATH.
fn find_bin_dir() -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("PASSERELLE_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).find(|p| p.join("initdb").exists()))
        .ok_or_else(|| {
            fail("no PostgreSQL server binaries found (install Debian's `postgresql` package)")
        })
}

/// How long `pg_ctl` waits for the server to accept connections. A cold start on a loaded 2-core
/// machine (crash recovery after `restart_immediate`, a test run building beside it) can take far
/// longer than the usual second; a server that never comes up fails with its log anyway.
const START_TIMEOUT_SECONDS: &str = "300";

/// Ports tried before giving up, when another process takes the chosen port first.
const PORT_TRIES: usize = 8;

/// The kernel's ephemeral port range (`ip_local_port_range`), where outgoing connections get their
/// local port: a listening port chosen there can be taken by any client socket in between.
fn ephemeral_range() -> (u16, u16) {
    fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|n| n.parse::<u16>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999))
}

/// A port that is free now, chosen at random below the ephemeral range (so no outgoing connection
/// takes it meanwhile, and two processes choosing at once rarely pick the same one). It can still
/// be taken before PostgreSQL binds it: `start` then sees the bind error in the log and tries
/// another.
fn free_port() -> Result<u16> {
    let (low, _) = ephemeral_range();
    let (from, to) = if low > 11_000 {
        (10_000u16, low - 1)
    } else {
        (0, 0)
    };
    let mut rng = rand::thread_rng();
    for _ in 0..64 {
        let port = if to > from {
            rng.gen_range(from..=to)
        } else {
            0
        };
        // std sets SO_REUSEADDR, as PostgreSQL does: a port left in TIME_WAIT counts as free.
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
            return Ok(listener.local_addr().map_err(fail)?.port());
        }
    }
    Err(fail("no free TCP port on 127.0.0.1"))
}

/// What a failed start wrote to the cluster's log from `offset` on (the log is appended to by
/// every start), bounded to its last 16 KiB.
fn log_since(log: &Path, offset: u64) -> String {
    let bytes = fs::read(log).unwrap_or_default();
    let start = usize::try_from(offset).unwrap_or(0).min(bytes.len());
    let tail = &bytes[start..];
    let tail = &tail[tail.len().saturating_sub(16 * 1024)..];
    String::from_utf8_lossy(tail).trim().to_string()
}

/// A start refused because the port was taken between our check and PostgreSQL's bind.
fn port_was_taken(log: &str) -> bool {
    log.contains("could not bind") || log.contains("Address already in use")
}

impl EmbeddedPostgres {
    /// Creates the cluster in `root` the first time, or reuses it, and starts it on a free port.
    /// `durable = false` turns fsync off (tests).
    pub fn start(root: &Path, durable: bool) -> Result<Self> {
        fs::create_dir_all(root)
            .map_err(|e| fail(format!("cannot create {}: {e}", root.display())))?;
        let root = root.canonicalize().map_err(fail)?;
        // Several processes may start the same folder at once (test binaries run in parallel, a
        // `passerelle db start` beside a server): one initdb and one postmaster, the others wait
        // and then reuse it. Released when `start` returns.
        let guard = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .custom_flags(0o400_000) // O_NOFOLLOW
            .open(root.join(".start.lock"))
            .map_err(|e| fail(format!("cannot open {}/.start.lock: {e}", root.display())))?;
        guard.lock().map_err(fail)?;
        let run_as = running_as_root().then_some("postgres");
        let bin_dir = find_bin_dir()?;

        if run_as.is_some() {
            // The cluster's files belong to `postgres`; it must be able to reach them.
            fs::set_permissions(&root, fs::Permissions::from_mode(0o711)).map_err(fail)?;
        }
        let root = match run_as {
            Some(user) if !reachable_by(user, &root)? => {
                // A folder under a private home (0700) cannot be reached by `postgres`: keep the
                // cluster in a root-owned folder of /var/lib named after this one (not /tmp: it
                // may be wiped at boot, and others can create names there first).
                let digest = hex::encode(&Sha256::digest(root.as_os_str().as_encoded_bytes())[..8]);
                let base = Path::new(FALLBACK_BASE);
                fs::create_dir_all(base).map_err(fail)?;
                ensure_root_owned_dir(base)?;
                fs::set_permissions(base, fs::Permissions::from_mode(0o711)).map_err(fail)?;
                let moved = base.join(format!("pg-{digest}"));
                tracing::warn!(
                    "the `{user}` user cannot reach {}: the cluster lives in {} instead",
                    root.display(),
                    moved.display()
                );
                fs::create_dir_all(&moved).map_err(fail)?;
                ensure_root_owned_dir(&moved)?;
                fs::set_permissions(&moved, fs::Permissions::from_mode(0o711)).map_err(fail)?;
                moved
            }
            _ => root,
        };
        let pgdata = root.join("pgdata");
        let run_dir = root.join("run");
        for dir in [&pgdata, &run_dir] {
            fs::create_dir_all(dir).map_err(fail)?;
            // Never chmod/chown through a link someone planted.
            if fs::symlink_metadata(dir)
                .map_err(fail)?
                .file_type()
                .is_symlink()
            {
                return Err(fail(format!(
                    "{} is a symbolic link: refused",
                    dir.display()
                )));
            }
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(fail)?;
            if run_as.is_some() {
                chown_postgres(dir)?;
            }
        }

        let password_file = root.join("password");
        let mut this = Self {
            root: root.clone(),
            bin_dir,
            port: 0,
            password: String::new(),
            run_as,
            owned: true,
            options: String::new(),
        };

        if !pgdata.join("PG_VERSION").exists() {
            let password: String = rand::thread_rng()
                .sample_iter(&rand::distributions::Alphanumeric)
                .take(32)
                .map(char::from)
                .collect();
            // Saved first: a crash during initdb must not leave a cluster nobody can log into.
            write_private(&password_file, &password)?;
            // initdb reads the password from a file the cluster's user can read; remove it after.
            let pwfile = run_dir.join("initdb-password");
            write_private(&pwfile, &password)?;
            if run_as.is_some() {
                chown_postgres(&pwfile)?;
            }
            let mut args: Vec<&std::ffi::OsStr> = vec![
                "-D".as_ref(),
                pgdata.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "--auth-local=trust".as_ref(),
                "--auth-host=scram-sha-256".as_ref(),
                "--pwfile".as_ref(),
                pwfile.as_os_str(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--locale=C.UTF-8".as_ref(),
            ];
            if !durable {
                args.push("--no-sync".as_ref());
            }
            let result = this.run("initdb", &args);
            let _ = fs::remove_file(&pwfile);
            result?;
        }
        this.password = fs::read_to_string(&password_file)
            .map_err(|e| fail(format!("cannot read {}: {e}", password_file.display())))?
            .trim()
            .to_string();

        if let Some(port) = this.running_port() {
            tracing::info!(
                port,
                "reusing the PostgreSQL cluster already running in {}",
                root.display()
            );
            this.port = port;
            this.owned = false;
            return Ok(this);
        }

        let log = root.join("postgres.log");
        if run_as.is_some() && !log.exists() {
            fs::write(&log, "").map_err(fail)?;
            chown_postgres(&log)?;
        }
        let mut tries = 0;
        loop {
            tries += 1;
            this.port = free_port()?;
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync={} -c max_connections=200",
                this.port,
                run_dir.display(),
                if durable { "on" } else { "off" }
            );
            this.options.clone_from(&options);
            let offset = fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
            let started = this.pg_ctl(&["-o".as_ref(), options.as_ref(), "start".as_ref()]);
            let Err(e) = started else { break };
            let written = log_since(&log, offset);
            if port_was_taken(&written) && tries < PORT_TRIES {
                tracing::warn!(port = this.port, "port taken meanwhile: trying another");
                // pg_ctl may have given up while the postmaster still runs: make sure it is gone.
                let _ = this.stop_now();
                continue;
            }
            return Err(fail(format!(
                "{e}\n--- {} ---\n{written}\n--- end of the log ---",
                log.display()
            )));
        }
        tracing::info!(
            port = this.port,
            "started the embedded PostgreSQL cluster in {}",
            root.display()
        );
        Ok(this)
    }

    /// The port of a postmaster already serving this cluster (line 4 of postmaster.pid), if any.
    fn running_port(&self) -> Option<u16> {
        let pgdata = self.root.join("pgdata");
        let status = self
            .command("pg_ctl")
            .arg("status")
            .arg("-D")
            .arg(&pgdata)
            .output()
            .ok()?;
        if !status.status.success() {
            return None;
        }
        fs::read_to_string(pgdata.join("postmaster.pid"))
            .ok()?
            .lines()
            .nth(3)?
            .trim()
            .parse()
            .ok()
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin_dir.join(program);
        match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<()> {
        let out = self
            .command(program)
            .args(args)
            .current_dir(&self.root)
            .output()
            .map_err(fail)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(fail(format!(
                "{program} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connection URL of database `db` (over TCP on loopback, with the superuser's password).
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/{db}",
            self.password, self.port
        )
    }

    /// Stops the cluster if this process started it (fast shutdown: sessions are rolled back).
    pub fn stop(&self) -> Result<()> {
        if !self.owned {
            return Ok(());
        }
        self.stop_now()
    }

    /// The folder holding the cluster (`pgdata/`, `run/`, `password`): the one given to `start`,
    /// or its stand-in under /var/lib/passerelle when `postgres` could not reach it.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Kills the cluster without a clean shutdown (`pg_ctl restart -m immediate`, as a power cut
    /// or an OOM kill would) and starts it again on the same port, waiting until it accepts
    /// connections: what crash recovery keeps and loses can then be checked. Every open
    /// connection is cut and every transaction in flight lost.
    pub fn restart_immediate(&self) -> Result<()> {
        self.restart(Shutdown::Immediate)
    }

    /// `pg_ctl restart -m <mode>`: stops the server (see [`Shutdown`]) and starts it again on the
    /// same port, waiting until it accepts connections.
    pub fn restart(&self, mode: Shutdown) -> Result<()> {
        self.pg_ctl_logged(&["-m".as_ref(), mode.as_str().as_ref(), "restart".as_ref()])
    }

    /// Starts again, as it was, a cluster this process stopped (`stop_now`): a database that was
    /// gone for a while comes back.
    pub fn start_again(&self) -> Result<()> {
        self.pg_ctl_logged(&["-o".as_ref(), self.options.as_ref(), "start".as_ref()])
    }

    /// `pg_ctl -w` with `args` on this cluster, its log in the error when it fails.
    fn pg_ctl_logged(&self, args: &[&std::ffi::OsStr]) -> Result<()> {
        let log = self.root.join("postgres.log");
        let offset = fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        self.pg_ctl(args).map_err(|e| {
            fail(format!(
                "{e}\n--- {} ---\n{}\n--- end of the log ---",
                log.display(),
                log_since(&log, offset)
            ))
        })
    }

    /// `pg_ctl -w` (waiting up to the start timeout) with `args` on this cluster's folder and log.
    fn pg_ctl(&self, args: &[&std::ffi::OsStr]) -> Result<()> {
        let pgdata = self.root.join("pgdata");
        let log = self.root.join("postgres.log");
        let mut all: Vec<&std::ffi::OsStr> = vec![
            "-w".as_ref(),
            "-t".as_ref(),
            START_TIMEOUT_SECONDS.as_ref(),
            "-D".as_ref(),
            pgdata.as_os_str(),
            "-l".as_ref(),
            log.as_os_str(),
        ];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all)
    }

    /// Stops the cluster whoever started it (`passerelle db stop`).
    pub fn stop_now(&self) -> Result<()> {
        let pgdata = self.root.join("pgdata");
        self.run(
            "pg_ctl",
            &[
                "-w".as_ref(),
                "-D".as_ref(),
                pgdata.as_os_str(),
                "-m".as_ref(),
                "fast".as_ref(),
                "stop".as_ref(),
            ],
        )
    }
}

/// Where a root-run cluster goes when `postgres` cannot reach the configured folder.
const FALLBACK_BASE: &str = "/var/lib/passerelle";

fn ensure_root_owned_dir(path: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::symlink_metadata(path).map_err(fail)?;
    if meta.file_type().is_dir() && meta.uid() == 0 {
        Ok(())
    } else {
        Err(fail(format!(
            "{} must be a directory owned by root",
            path.display()
        )))
    }
}

/// Writes a 0600 file, replacing a regular file but never following a link.
fn write_private(path: &Path, contents: &str) -> Result<()> {
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(fail(format!(
            "{} is a symbolic link: refused",
            path.display()
        )));
    }
    let _ = fs::remove_file(path);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(0o400_000) // O_NOFOLLOW
        .open(path)
        .map_err(fail)?;
    f.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(fail)?;
    f.write_all(contents.as_bytes()).map_err(fail)
}

fn reachable_by(user: &str, dir: &Path) -> Result<bool> {
    Ok(Command::new("runuser")
        .args(["-u", user, "--", "test", "-x"])
        .arg(dir)
        .status()
        .map_err(fail)?
        .success())
}

fn chown_postgres(path: &Path) -> Result<()> {
    let ok = Command::new("chown")
        .arg("-h")
        .arg("postgres:postgres")
        .arg(path)
        .status()
        .map_err(fail)?
        .success();
    if ok {
        Ok(())
    } else {
        Err(fail(format!("chown postgres {} failed", path.display())))
    }
}
