//! Test harness: the real `portcullis` server on a random loopback port with
//! a temporary data directory, as its own process (`TestApp::spawn`) or
//! inside the test process (`TestApp::start`), plus helpers to drive it over
//! HTTP and the CLI.

#![allow(dead_code)]

pub mod api;
pub mod clients;
pub mod registry;
pub mod s3;

#[allow(unused_imports)]
pub use api::{Answer, Api};

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_portcullis");

/// Set to `postgres` to run the servers of a test binary on PostgreSQL (a
/// fresh database each, in a throwaway cluster: `domain::testing`) instead
/// of the SQLite file in their data directory (`scripts/test` runs the
/// enforcement matrix both ways).
pub const DATABASE_ENV: &str = "PORTCULLIS_TEST_DATABASE";

/// The server settings a test run's environment could hold: a spawned
/// server never inherits them, and an in-process one (which would read them)
/// is a process instead when one is set, even empty.
const SERVER_ENV: [&str; 4] = [
    "DATABASE_URL",
    "PORTCULLIS_STORAGE",
    "PORTCULLIS_METRICS_TOKEN",
    "PORTCULLIS_PUBLIC_URL",
];

/// A fresh PostgreSQL database when the test run asks for one.
pub fn test_database() -> Option<String> {
    match std::env::var(DATABASE_ENV).as_deref() {
        Ok("postgres") => Some(domain::testing::postgres::fresh_database()),
        Ok("sqlite") | Ok("") | Err(_) => None,
        Ok(other) => panic!("{DATABASE_ENV}={other}: expected postgres or sqlite"),
    }
}

pub struct TestApp {
    pub base: String,
    pub dir: tempfile::TempDir,
    /// The server's `DATABASE_URL` (None: SQLite in `dir`).
    pub database_url: Option<String>,
    /// Its `--data-dir`: `dir`, or another server's (`spawn_beside`).
    data: PathBuf,
    child: Option<Child>,
    /// The server run inside the test process ([`TestApp::start`]).
    in_process: Option<InProcess>,
    stderr: Arc<Mutex<String>>,
}

/// A server inside the test process: its own runtime on its own thread,
/// stopped gracefully (as SIGTERM stops the binary) when the app is dropped.
struct InProcess {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// Says when the server's thread has ended (in a Mutex: a TestApp is
    /// shared by the tasks of a test).
    ended: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // A server that does not stop in time is left to end with the test
        // binary rather than hang the test that is done with it.
        if let Ok(ended) = self.ended.lock() {
            let _ = ended.recv_timeout(Duration::from_secs(30));
        }
    }
}

/// `portcullis serve`'s configuration from its command line.
#[derive(clap::Parser)]
struct ServeArgs {
    #[command(flatten)]
    config: portcullis::config::Config,
}

impl TestApp {
    /// The server as its own process (`portcullis serve`): for tests that
    /// read its log, signal, kill or restart it, measure it, or give it an
    /// environment.
    pub fn spawn() -> Self {
        Self::spawn_with_env(&[])
    }

    /// The same server inside the test process (what `portcullis serve`
    /// runs, `server::serve_on`), with no process to start: for tests that
    /// only talk to it over HTTP and the CLI (which still runs as its own
    /// process). It has no log to read and no process to signal: `logs`,
    /// `pid`, `kill` and `terminate` refuse. A run on PostgreSQL or S3
    /// (`PORTCULLIS_TEST_DATABASE`, `PORTCULLIS_TEST_STORAGE`) gets
    /// [`TestApp::spawn`]'s process, as those settings are per process.
    pub fn start() -> Self {
        // Set to anything but empty or the default.
        let asks = |var: &str, default: &str| {
            std::env::var(var).is_ok_and(|v| !v.is_empty() && v != default)
        };
        let per_process = asks(DATABASE_ENV, "sqlite")
            || asks(s3::STORAGE_ENV, "folder")
            || SERVER_ENV.iter().any(|var| std::env::var_os(var).is_some());
        if per_process {
            return Self::spawn();
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().to_owned();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let listen = addr.to_string();
        let data_arg = data.to_string_lossy().into_owned();
        let config = <ServeArgs as clap::Parser>::try_parse_from([
            "portcullis",
            "--listen",
            &listen,
            "--data-dir",
            &data_arg,
        ])
        .expect("serve arguments")
        .config;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, started) = std::sync::mpsc::channel::<Result<(), String>>();
        let (end, ended) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name(format!("server-{addr}"))
            .spawn(move || {
                let _end = end;
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    let served = portcullis::server::serve_on(listener, config, async move {
                        let _ = stopped.await;
                    });
                    tokio::pin!(served);
                    // The port is bound already: the first /healthz waits in
                    // its backlog until the server accepts, and answers once
                    // it is ready. A server that ends first says why.
                    let url = format!("http://{addr}/healthz");
                    let probe = reqwest::Client::new().get(&url).send();
                    let ended = tokio::select! {
                        answer = probe => {
                            let _ = ready.send(match answer {
                                Ok(r) if r.status().is_success() => Ok(()),
                                Ok(r) => Err(format!("/healthz answered {}", r.status())),
                                Err(e) => Err(format!("/healthz: {e}")),
                            });
                            (&mut served).await
                        }
                        ended = &mut served => ended,
                    };
                    let error = match ended {
                        Ok(()) => return,
                        Err(e) => format!("{e:#}"),
                    };
                    let _ = ready.send(Err(error));
                });
            })
            .expect("a server thread");
        match started.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("the in-process server did not start: {e}"),
            Err(e) => panic!(
                "the in-process server did not answer /healthz (it panicked, or took over 60 s): {e}"
            ),
        }
        TestApp {
            base: format!("http://{addr}"),
            dir,
            database_url: None,
            data,
            child: None,
            in_process: Some(InProcess {
                stop: Some(stop),
                ended: Mutex::new(ended),
            }),
            stderr: Arc::default(),
        }
    }

    /// Starts `portcullis serve --listen 127.0.0.1:0` and waits until it
    /// prints the address it listens on.
    pub fn spawn_with_env(env: &[(&str, &str)]) -> Self {
        Self::spawn_in(tempfile::tempdir().expect("temp dir"), env)
    }

    /// Starts the server on an existing data directory (a restart).
    pub fn spawn_in(dir: tempfile::TempDir, env: &[(&str, &str)]) -> Self {
        Self::spawn_listening(dir, "127.0.0.1:0", env)
    }

    /// Starts the server listening on `listen` (e.g. `0.0.0.0:0`); the
    /// tests still reach it through 127.0.0.1.
    pub fn spawn_listening(dir: tempfile::TempDir, listen: &str, env: &[(&str, &str)]) -> Self {
        // A restart on the same data directory finds the same database.
        static DATABASES: Mutex<Vec<(PathBuf, Option<String>)>> = Mutex::new(Vec::new());
        let database_url = {
            let mut known = DATABASES.lock().unwrap();
            match known.iter().find(|(d, _)| d == dir.path()) {
                Some((_, url)) => url.clone(),
                None => {
                    let url = test_database();
                    known.push((dir.path().to_owned(), url.clone()));
                    url
                }
            }
        };
        Self::spawn_on(dir, listen, env, database_url)
    }

    /// Starts the server with `database_url` as its `DATABASE_URL` (None:
    /// SQLite in `dir`).
    pub fn spawn_on(
        dir: tempfile::TempDir,
        listen: &str,
        env: &[(&str, &str)],
        database_url: Option<String>,
    ) -> Self {
        let data = dir.path().to_owned();
        Self::spawn_with(dir, data, listen, env, database_url)
    }

    /// Another server on this one's data directory and database (on
    /// PostgreSQL: a second instance of a scale-out deployment).
    pub fn spawn_beside(&self, env: &[(&str, &str)]) -> Self {
        Self::spawn_with(
            tempfile::tempdir().expect("temp dir"),
            self.data.clone(),
            "127.0.0.1:0",
            env,
            self.database_url.clone(),
        )
    }

    fn spawn_with(
        dir: tempfile::TempDir,
        data: PathBuf,
        listen: &str,
        env: &[(&str, &str)],
        database_url: Option<String>,
    ) -> Self {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .arg("--listen")
            .arg(listen)
            .arg("--data-dir")
            .arg(&data)
            .env("PORTCULLIS_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in SERVER_ENV {
            cmd.env_remove(var);
        }
        if let Some(url) = &database_url {
            cmd.env("DATABASE_URL", url);
        }
        // PORTCULLIS_TEST_STORAGE=s3: blobs in a bucket (the scale-out
        // configuration), unless the test says otherwise.
        for (k, v) in s3::test_storage(&data) {
            cmd.env(k, v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start portcullis");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let out = child.stdout.take().unwrap();
        let mut lines = BufReader::new(out).lines();
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("Portcullis is listening on ") {
                        break url.trim().replace("://0.0.0.0:", "://127.0.0.1:");
                    }
                }
                _ => panic!(
                    "portcullis exited before listening:\n{}",
                    stderr.lock().unwrap()
                ),
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        TestApp {
            base,
            dir,
            database_url,
            data,
            child: Some(child),
            in_process: None,
            stderr,
        }
    }

    /// The server process's id (to read its `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .expect("a server process (TestApp::spawn)")
            .id()
    }

    /// The server's resident memory in KiB (`VmRSS`), on Linux.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    pub fn db_path(&self) -> PathBuf {
        self.data.join("portcullis.db")
    }

    pub fn logs(&self) -> String {
        assert!(
            self.in_process.is_none(),
            "an in-process server's log is not captured: use TestApp::spawn"
        );
        self.stderr.lock().unwrap().clone()
    }

    /// The server's `host:port`, as registry clients name it.
    pub fn host(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Runs `portcullis <args>` against this app's data directory.
    pub fn cli(&self, args: &[&str], stdin: &str) -> Output {
        cli_on(self.data_dir(), self.database_url.as_deref(), args, stdin)
    }

    /// The same, failing the test (with its stderr) unless it succeeds.
    pub fn cli_ok(&self, args: &[&str], stdin: &str) -> Output {
        let out = self.cli(args, stdin);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Creates an org and its admin through the CLI.
    pub fn create_org(&self, slug: &str, admin_email: &str, password: &str) {
        self.create_org_with(slug, admin_email, password, &[]);
    }

    /// The same with more `create-org` arguments (e.g. `--plan pro`).
    pub fn create_org_with(&self, slug: &str, admin_email: &str, password: &str, extra: &[&str]) {
        let name = format!("{slug} Inc");
        let mut args = vec![
            "admin",
            "create-org",
            "--slug",
            slug,
            "--name",
            &name,
            "--admin-email",
            admin_email,
        ];
        args.extend_from_slice(extra);
        self.cli_ok(&args, &format!("{password}\n"));
    }

    /// Sets an org's plan through the CLI.
    pub fn set_plan(&self, slug: &str, plan: &str) {
        self.cli_ok(&["admin", "set-plan", "--org", slug, "--plan", plan], "");
    }

    /// An org on the pro plan and its admin, through the CLI.
    pub fn create_pro_org(&self, slug: &str, admin_email: &str, password: &str) {
        self.create_org(slug, admin_email, password);
        self.set_plan(slug, "pro");
    }

    /// Runs SQL statements straight in the server's database, in one
    /// transaction: `sqlite` or, on PostgreSQL, `postgres`.
    pub async fn execute_sql(&self, sqlite: &[&str], postgres: &[&str]) {
        match &self.database_url {
            Some(url) => {
                let store = domain::store::PgStore::connect(url).await.unwrap();
                let mut tx = store.pool().begin().await.unwrap();
                for sql in postgres {
                    sqlx::query(sql).execute(&mut *tx).await.unwrap();
                }
                tx.commit().await.unwrap();
            }
            None => {
                let store = self.store().await;
                let mut tx = store.pool().begin().await.unwrap();
                for sql in sqlite {
                    sqlx::query(sql).execute(&mut *tx).await.unwrap();
                }
                tx.commit().await.unwrap();
            }
        }
    }

    /// A direct handle on the same database (works while the server runs).
    pub async fn store(&self) -> domain::store::SqliteStore {
        domain::store::SqliteStore::open_file(&self.db_path())
            .await
            .unwrap()
    }

    /// Kills the process (SIGKILL) and hands back its data directory.
    pub fn kill(mut self) -> tempfile::TempDir {
        assert!(
            self.in_process.is_none(),
            "an in-process server cannot be killed: use TestApp::spawn"
        );
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// A new access token for `email`, through the CLI.
    pub fn token(&self, email: &str, extra: &[&str]) -> String {
        let mut args = vec!["admin", "create-token", "--email", email, "--label", "test"];
        args.extend_from_slice(extra);
        let out = self.cli_ok(&args, "");
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            stdout.lines().count(),
            1,
            "only the token on stdout: {stdout:?}"
        );
        stdout.trim().to_owned()
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self
            .child
            .take()
            .expect("a server process (TestApp::spawn)");
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        child.wait().unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn cli_in(data_dir: &Path, args: &[&str], stdin: &str) -> Output {
    cli_on(data_dir, None, args, stdin)
}

/// `portcullis <args>` with `DATABASE_URL` set to `database_url` (None:
/// SQLite in the data directory).
pub fn cli_on(data_dir: &Path, database_url: Option<&str>, args: &[&str], stdin: &str) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir").arg(data_dir).args(args);
    match database_url {
        Some(url) => cmd.env("DATABASE_URL", url),
        None => cmd.env_remove("DATABASE_URL"),
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A browser-like client: keeps cookies, does not follow redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The `Location` header of a response, or "" without one.
pub fn location(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The id of the user with `email` in a list of users (as `load_settings` gives it).
pub fn user_id(users: &serde_json::Value, email: &str) -> i64 {
    users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email)
        .unwrap_or_else(|| panic!("no user {email} in {users}"))["id"]
        .as_i64()
        .unwrap()
}

/// The `name` of every item of the JSON array `body[field]`.
pub fn names(body: &serde_json::Value, field: &str) -> Vec<String> {
    body[field]
        .as_array()
        .unwrap_or_else(|| panic!("no array {field} in {body}"))
        .iter()
        .map(|item| item["name"].as_str().unwrap().to_owned())
        .collect()
}
