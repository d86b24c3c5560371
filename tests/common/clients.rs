//! Helpers for tests that drive real registry clients (umoci, skopeo, podman).

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Runs a command and returns its stdout; fails the test with its output otherwise.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// An OCI image layout built with umoci: one file in the root fs.
pub fn umoci_image(dir: &Path) -> String {
    umoci_image_with(dir, "hello from portcullis\n")
}

/// The same with `hello.txt` holding `content` (different images, different digests).
pub fn umoci_image_with(dir: &Path, content: &str) -> String {
    let layout = dir.join("layout");
    let bundle = dir.join("bundle");
    run(Command::new("umoci")
        .args(["init", "--layout"])
        .arg(&layout));
    run(Command::new("umoci")
        .arg("new")
        .arg("--image")
        .arg(format!("{}:base", layout.display())));
    run(Command::new("umoci")
        .arg("unpack")
        .arg("--image")
        .arg(format!("{}:base", layout.display()))
        .arg(&bundle));
    std::fs::write(bundle.join("rootfs/hello.txt"), content).unwrap();
    run(Command::new("umoci")
        .arg("repack")
        .arg("--image")
        .arg(format!("{}:1.0", layout.display()))
        .arg(&bundle));
    run(Command::new("umoci")
        .arg("config")
        .arg("--image")
        .arg(format!("{}:1.0", layout.display()))
        .args(["--config.cmd", "/hello.txt"]));
    format!("oci:{}:1.0", layout.display())
}

pub fn digest_of(image: &str, creds: Option<&str>) -> String {
    let mut cmd = Command::new("skopeo");
    cmd.args(["inspect", "--format", "{{.Digest}}"]);
    if let Some(c) = creds {
        cmd.args(["--tls-verify=false", "--creds", c]);
    }
    run(cmd.arg(image)).trim().to_owned()
}
