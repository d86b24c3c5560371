//! Test support shared by the store's contract tests and the server's
//! integration tests (`tests/common`, through the `testing` feature): a
//! throwaway PostgreSQL cluster per test binary. Not part of the product.

pub mod postgres;

/// Runs the shell `command` once this process has exited, from a detached
/// shell (its own process group, no standard streams) that waits for it:
/// how a test binary stops what it started and never waits for.
pub fn after_exit(command: &str) -> std::io::Result<()> {
    use std::process::{Command, Stdio};
    let script = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 0.5; done; {command}",
        me = std::process::id()
    );
    let mut shell = Command::new("sh");
    shell
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut shell, 0);
    shell.spawn().map(drop)
}
