//! A real S3-protocol server for the tests: moto's server (PyPI
//! `moto[server]`, installed by scripts/test) on a free loopback port,
//! with one bucket. Stopped when dropped.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct S3Server {
    child: Option<Child>,
    pub endpoint: String,
    pub bucket: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts moto's S3 server on loopback port `port`.
fn spawn_moto(port: u16) -> Child {
    Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto (python3 -m pip install 'moto[server]')")
}

impl S3Server {
    /// Starts moto and creates bucket `bucket`.
    pub async fn start(bucket: &str) -> Self {
        let port = free_port();
        let child = spawn_moto(port);
        let server = S3Server {
            child: Some(child),
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: bucket.to_owned(),
        };
        // Ready when it answers (moto takes a second or two to start).
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http
                .put(format!("{}/{bucket}", server.endpoint))
                .send()
                .await
            {
                assert!(r.status().is_success(), "create bucket: {}", r.status());
                break;
            }
            assert!(Instant::now() < deadline, "moto did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    /// The server's environment for storage in this bucket under `prefix`.
    pub fn env(&self, prefix: &str) -> Vec<(String, String)> {
        vec![
            (
                "PORTCULLIS_STORAGE".into(),
                format!("s3://{}/{prefix}", self.bucket),
            ),
            ("AWS_ACCESS_KEY_ID".into(), "test".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone()),
            ("AWS_ALLOW_HTTP".into(), "true".into()),
        ]
    }

    /// The keys in the bucket under `prefix` (ListObjectsV2; moto needs
    /// no signature).
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let body = reqwest::get(format!(
            "{}/{}?list-type=2&max-keys=1000&prefix={prefix}",
            self.endpoint, self.bucket
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
        body.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_owned)
            .collect()
    }

    /// Stops the server (to see storage fail).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `env` as the `&[(&str, &str)]` that `TestApp` takes.
pub fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The variable that puts every test server of this process on S3 storage
/// (`s3`: one moto server for the whole test binary, a prefix per data
/// directory; unset or `folder`: the data directory, as usual).
pub const STORAGE_ENV: &str = "PORTCULLIS_TEST_STORAGE";

/// The storage environment a test server on data directory `data` gets:
/// empty unless [`STORAGE_ENV`] is `s3`. Servers on one data directory (a
/// restart, `spawn_beside`) share the prefix, so they share the blobs.
pub fn test_storage(data: &std::path::Path) -> Vec<(String, String)> {
    match std::env::var(STORAGE_ENV).as_deref() {
        Ok("s3") => {}
        Ok("folder") | Ok("") | Err(_) => return vec![],
        Ok(other) => panic!("{STORAGE_ENV}={other}: expected s3 or folder"),
    }
    static SHARED: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    let (endpoint, bucket) = SHARED.get_or_init(start_shared);
    let prefix: String = data
        .to_string_lossy()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    S3Server {
        child: None,
        endpoint: endpoint.clone(),
        bucket: bucket.clone(),
    }
    .env(&prefix)
}

/// Starts the process-wide moto server (stopped by a watcher shell when
/// this process exits) with bucket `tests`; its endpoint and the bucket.
// Neither child is waited for: moto lives as long as the test process, and
// the watcher outlives it to stop moto.
#[allow(clippy::zombie_processes)]
fn start_shared() -> (String, String) {
    use std::io::{Read, Write};
    let port = free_port();
    let child = spawn_moto(port);
    domain::testing::after_exit(&format!("kill {}", child.id())).expect("start the moto watcher");
    // Ready when the bucket can be created (moto takes a second or two).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let put = format!(
                "PUT /tests HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let mut answer = String::new();
            if conn.write_all(put.as_bytes()).is_ok() && conn.read_to_string(&mut answer).is_ok() {
                assert!(
                    answer.starts_with("HTTP/1.1 200"),
                    "create bucket: {answer}"
                );
                break;
            }
        }
        assert!(Instant::now() < deadline, "moto did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (format!("http://127.0.0.1:{port}"), "tests".to_owned())
}
