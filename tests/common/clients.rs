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

/// An umoci image with `content` (as [`umoci_image_with`], built in a new
/// folder `name` of `work`) pushed to registry image `dest` with skopeo,
/// signing in with `creds` (`email:token`).
pub fn push_umoci_image(work: &Path, name: &str, content: &str, dest: &str, creds: &str) {
    let dir = work.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    skopeo_push(&umoci_image_with(&dir, content), dest, Some(creds));
}

/// `skopeo copy` of `src` to registry image `dest` (over HTTP), signing in
/// with `creds` (`email:token`) when given.
pub fn skopeo_push(src: &str, dest: &str, creds: Option<&str>) {
    let mut cmd = Command::new("skopeo");
    cmd.args(["copy", "--dest-tls-verify=false"]);
    if let Some(c) = creds {
        cmd.args(["--dest-creds", c]);
    }
    run(cmd.arg(src).arg(dest));
}

/// `skopeo copy` of registry image `src` (over HTTP) to `dest`, signing in
/// with `creds` (`email:token`).
pub fn skopeo_pull(src: &str, dest: &str, creds: &str) {
    run(Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false", "--src-creds", creds])
        .arg(src)
        .arg(dest));
}

/// Pushes an umoci image to `acme/web:1.0` on registry `host` with skopeo
/// and copies it out again: the digests are equal. The pushed digest.
pub fn skopeo_round_trip(work: &Path, host: &str, creds: &str) -> String {
    let src = umoci_image(work);
    let dest = format!("docker://{host}/acme/web:1.0");
    skopeo_push(&src, &dest, Some(creds));
    let pushed = digest_of(&dest, Some(creds));
    assert_eq!(pushed, digest_of(&src, None));
    let out = format!("oci:{}:1.0", work.join("copy").display());
    skopeo_pull(&dest, &out, creds);
    assert_eq!(digest_of(&out, None), pushed);
    pushed
}
