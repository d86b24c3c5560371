//! Test harness: the real `portcullis` binary on a random loopback port with
//! a temporary data directory, plus helpers to drive it over HTTP.

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

pub struct TestApp {
    pub base: String,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    stderr: Arc<Mutex<String>>,
}

impl TestApp {
    pub fn spawn() -> Self {
        Self::spawn_with_env(&[])
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
        let data = dir.path().to_path_buf();
        Self::spawn_at(dir, &data, listen, env)
    }

    /// A second server process on the data directory of `other` (one
    /// database, and one bucket when `env` names it): another instance.
    pub fn spawn_beside(other: &TestApp, env: &[(&str, &str)]) -> Self {
        Self::spawn_at(
            tempfile::tempdir().expect("temp dir"),
            other.data_dir(),
            "127.0.0.1:0",
            env,
        )
    }

    fn spawn_at(
        dir: tempfile::TempDir,
        data_dir: &Path,
        listen: &str,
        env: &[(&str, &str)],
    ) -> Self {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .arg("--listen")
            .arg(listen)
            .arg("--data-dir")
            .arg(data_dir)
            .env_remove("DATABASE_URL")
            .env_remove("PORTCULLIS_STORAGE")
            .env_remove("PORTCULLIS_METRICS_TOKEN")
            .env_remove("PORTCULLIS_PUBLIC_URL")
            .env("PORTCULLIS_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
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
            child: Some(child),
            stderr,
        }
    }

    /// The server process's id (to read its `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
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
        self.dir.path()
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("portcullis.db")
    }

    pub fn logs(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Runs `portcullis <args>` against this app's data directory.
    pub fn cli(&self, args: &[&str], stdin: &str) -> Output {
        cli_in(self.data_dir(), args, stdin)
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
        let out = self.cli(&args, &format!("{password}\n"));
        assert!(
            out.status.success(),
            "create-org failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Sets an org's plan through the CLI.
    pub fn set_plan(&self, slug: &str, plan: &str) {
        let out = self.cli(&["admin", "set-plan", "--org", slug, "--plan", plan], "");
        assert!(
            out.status.success(),
            "set-plan failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// An org on the pro plan and its admin, through the CLI.
    pub fn create_pro_org(&self, slug: &str, admin_email: &str, password: &str) {
        self.create_org(slug, admin_email, password);
        self.set_plan(slug, "pro");
    }

    /// A direct handle on the same database (works while the server runs).
    pub async fn store(&self) -> domain::store::SqliteStore {
        domain::store::SqliteStore::open_file(&self.db_path())
            .await
            .unwrap()
    }

    /// Kills the process (SIGKILL) and hands back its data directory.
    pub fn kill(mut self) -> tempfile::TempDir {
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
        let out = self.cli(&args, "");
        assert!(
            out.status.success(),
            "create-token: {}",
            String::from_utf8_lossy(&out.stderr)
        );
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
        let mut child = self.child.take().expect("running");
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
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("DATABASE_URL")
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
