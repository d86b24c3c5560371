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

impl S3Server {
    /// Starts moto and creates bucket `bucket`.
    pub async fn start(bucket: &str) -> Self {
        let port = free_port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto (python3 -m pip install 'moto[server]')");
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
