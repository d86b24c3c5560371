//! A throwaway PostgreSQL cluster, one per test process, made on first use:
//! `initdb` in a temporary directory (as the `postgres` user when running as
//! root: PostgreSQL refuses to run as root), a server on a free loopback
//! port with its socket in that directory, and a reaper process that stops
//! the server and removes the directory when the test process is gone.
//! Each [`fresh_database`] is a new, empty database in it.
//!
//! The server binaries are Debian's (`/usr/lib/postgresql/<version>/bin`,
//! package `postgresql`, which `scripts/test` installs), or those in
//! `PORTCULLIS_PG_BIN`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The running cluster of this test process.
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT_DB: AtomicU64 = AtomicU64::new(1);

/// The cluster, started on first use (panics with the reason when it cannot
/// start: a test that needs PostgreSQL fails rather than skips).
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| Cluster::start().unwrap_or_else(|e| panic!("PostgreSQL for tests: {e}")))
}

/// The URL of a new, empty database in this process's cluster.
pub fn fresh_database() -> String {
    let c = cluster();
    let name = format!("t{}", NEXT_DB.fetch_add(1, Ordering::Relaxed));
    c.psql(&format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|e| panic!("PostgreSQL for tests: {e}"));
    c.url(&name)
}

fn run(cmd: &mut Command, what: &str) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The newest `/usr/lib/postgresql/<version>/bin`, or `PORTCULLIS_PG_BIN`.
fn bin_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("PORTCULLIS_PG_BIN") {
        return Ok(dir.into());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("no /usr/lib/postgresql ({e}): install Debian's postgresql package"))?
        .filter_map(|e| {
            let e = e.ok()?;
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no server in /usr/lib/postgresql/*/bin".into())
}

impl Cluster {
    fn start() -> Result<Self, String> {
        let bin = bin_dir()?;
        let as_postgres = is_root();
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("portcullis-pg-{}-{stamp}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let cluster = Cluster {
            bin,
            dir,
            port,
            as_postgres,
        };
        // The reaper first: whatever happens next, the directory goes when
        // this process does.
        cluster.spawn_reaper()?;
        if as_postgres {
            run(
                Command::new("chown")
                    .arg("postgres:postgres")
                    .arg(&cluster.dir),
                "chown",
            )?;
        }
        let data = cluster.data();
        run(
            &mut cluster.command(
                "initdb",
                &[
                    "-D",
                    path_str(&data)?,
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                ],
            ),
            "initdb",
        )?;
        let log = std::fs::File::create(cluster.dir.join("server.log"))
            .map_err(|e| format!("server log: {e}"))?;
        if as_postgres {
            run(
                Command::new("chown")
                    .arg("postgres:postgres")
                    .arg(cluster.dir.join("server.log")),
                "chown",
            )?;
        }
        let port = port.to_string();
        let mut server = cluster.command(
            "postgres",
            &[
                "-D",
                path_str(&data)?,
                "-p",
                &port,
                "-k",
                path_str(&cluster.dir)?,
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=400",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ],
        );
        std::os::unix::process::CommandExt::process_group(&mut server, 0);
        server
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start postgres: {e}"))?;
        // Ready: poll with a deadline.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = Command::new(cluster.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(cluster);
            }
            if Instant::now() >= deadline {
                let log =
                    std::fs::read_to_string(cluster.dir.join("server.log")).unwrap_or_default();
                return Err(format!("the server did not start within 60 s:\n{log}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `program` of the server's bin directory, as the `postgres` user when
    /// this process is root.
    fn command(&self, program: &str, args: &[&str]) -> Command {
        let program = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program).args(args);
            c
        } else {
            let mut c = Command::new(program);
            c.args(args);
            c
        }
    }

    /// Stops the server and removes the directory once this process exits
    /// (a detached shell that waits for it).
    fn spawn_reaper(&self) -> Result<(), String> {
        let stop = self.command("pg_ctl", &[]);
        let mut stop_cmd: Vec<String> = vec![stop.get_program().to_string_lossy().into_owned()];
        stop_cmd.extend(stop.get_args().map(|a| a.to_string_lossy().into_owned()));
        let command = format!(
            "{stop} -D '{data}' stop -m immediate >/dev/null 2>&1; rm -rf '{dir}'",
            stop = stop_cmd.join(" "),
            data = self.data().display(),
            dir = self.dir.display(),
        );
        super::after_exit(&command).map_err(|e| format!("cannot start the reaper: {e}"))
    }

    /// Runs one SQL command in the `postgres` database.
    pub fn psql(&self, sql: &str) -> Result<String, String> {
        run(
            Command::new(self.bin.join("psql"))
                .args([
                    "-X",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-h",
                    "127.0.0.1",
                    "-U",
                    "postgres",
                ])
                .args(["-p", &self.port.to_string(), "-d", "postgres", "-c", sql]),
            "psql",
        )
    }

    /// The URL of database `name` in this cluster.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn path_str(p: &Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("not UTF-8: {}", p.display()))
}
