//! The customer portal: what the signed-in customer may see and pull.

use super::AppError;
#[cfg(feature = "ssr")]
use crate::ssr;
use domain::registry::{ArtifactKind, ArtifactSummary, TagInfo};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// An artifact with the tags the customer may pull, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedArtifact {
    pub artifact: ArtifactSummary,
    pub tags: Vec<TagInfo>,
}

/// The portal's Artifacts page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortalView {
    pub artifacts: Vec<SharedArtifact>,
    /// The vendor's name: whom to ask for access.
    pub vendor: String,
    /// Entitlements ending within two weeks (the banner).
    pub notices: Vec<domain::entitlements::ExpiryNotice>,
}

/// The artifacts the caller may see (SPEC §3), each with only the tags it
/// may pull. Customer users only.
#[server(endpoint = "portal_artifacts")]
pub async fn portal_artifacts() -> Result<PortalView, AppError> {
    ssr::with_caller(async |services, me| {
        let me = services::authz::customer(me)?;
        let notices = services.expiry_notices(&me.principal).await?;
        let artifacts = services
            .visible_artifacts(&me.principal)
            .await?
            .into_iter()
            .map(|(artifact, tags)| SharedArtifact { artifact, tags })
            .collect();
        Ok(PortalView {
            artifacts,
            vendor: me.org_name,
            notices,
        })
    })
    .await
}

/// One artifact in the portal, with what pull commands need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortalArtifactView {
    /// The artifact with the tags the caller may pull (its fields are this
    /// view's, as the console's are).
    #[serde(flatten)]
    pub shown: super::ArtifactView,
    /// The caller's email: the registry user name.
    pub email: String,
}

/// One artifact as the caller sees it. Customer users only; an artifact
/// that does not exist and one the caller may not see are the same
/// `NotFound`.
#[server(endpoint = "portal_artifact")]
pub async fn portal_artifact(name: String) -> Result<PortalArtifactView, AppError> {
    ssr::with_caller(async |services, me| {
        let me = services::authz::customer(me)?;
        let access = services.visibility(&me.principal).await?;
        let (artifact, tags) = services
            .visible_artifact(&access, &name)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(PortalArtifactView {
            shown: super::ArtifactView {
                artifact,
                tags,
                registry_host: services.registry_host(),
                org_slug: me.org_slug,
            },
            email: me.email,
        })
    })
    .await
}

/// A command to copy, with what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullCommand {
    pub label: &'static str,
    pub command: String,
}

/// `value` as one shell word: as it is when it is plainly safe (letters,
/// digits and `@ . _ : / + = -`), else in single quotes, an embedded single
/// quote written `'\''`. Every value put in a copy-paste command goes
/// through this: an email, host or name can never run anything.
pub fn shell_quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@._:/+=-".contains(&b));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// `echo "$TOKEN" | <tool> login <host> -u <email> --password-stdin`, each
/// value quoted for the shell.
pub fn login_command(tool: &str, host: &str, email: &str) -> String {
    format!(
        "echo \"$TOKEN\" | {tool} login {} -u {} --password-stdin",
        shell_quote(host),
        shell_quote(email)
    )
}

/// `<tool> pull <repo>:<tag>` (docker, podman, oras), quoted for the shell.
pub fn pull_with(tool: &str, repo: &str, tag: &str) -> String {
    format!("{tool} pull {}", shell_quote(&format!("{repo}:{tag}")))
}

/// `helm pull oci://<repo> --version <tag>`, quoted for the shell.
pub fn helm_pull(repo: &str, tag: &str) -> String {
    format!(
        "helm pull {} --version {}",
        shell_quote(&format!("oci://{repo}")),
        shell_quote(tag)
    )
}

/// SPEC §5: how to log in and pull `tag` of an artifact of `kind`, as
/// `email`, from `host` (the token is read from `$TOKEN`). Every value is
/// quoted for the shell ([`shell_quote`]).
pub fn pull_commands(
    kind: ArtifactKind,
    host: &str,
    slug: &str,
    name: &str,
    tag: &str,
    email: &str,
) -> Vec<PullCommand> {
    let repo = format!("{host}/{slug}/{name}");
    let chart = shell_quote(&format!("oci://{repo}"));
    let version = shell_quote(tag);
    let login = |tool: &str| login_command(tool, host, email);
    let cmd = |label, command| PullCommand { label, command };
    match kind {
        ArtifactKind::ContainerImage => vec![
            cmd("Log in with Docker", login("docker")),
            cmd("Pull with Docker", pull_with("docker", &repo, tag)),
            cmd("Log in with Podman", login("podman")),
            cmd("Pull with Podman", pull_with("podman", &repo, tag)),
        ],
        ArtifactKind::HelmChart => vec![
            cmd("Log in with Helm", login("helm registry")),
            cmd("Pull the chart", helm_pull(&repo, tag)),
            cmd(
                "Install the chart",
                format!(
                    "helm install {} {chart} --version {version}",
                    release_name(name)
                ),
            ),
        ],
        ArtifactKind::Other => vec![
            cmd("Log in", login("docker")),
            cmd("Pull with ORAS", pull_with("oras", &repo, tag)),
        ],
    }
}

/// A Helm release name for a chart: its last path segment, in the
/// characters Helm accepts (lower-case letters, digits, `-`).
fn release_name(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    let cleaned: String = last
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let trimmed = cleaned.trim_matches('-');
    if trimmed.is_empty() {
        "my-release".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands(kind: ArtifactKind, name: &str) -> Vec<String> {
        pull_commands(
            kind,
            "reg.example.com:5000",
            "acme",
            name,
            "1.2",
            "ops@globex.test",
        )
        .into_iter()
        .map(|c| c.command)
        .collect()
    }

    #[test]
    fn commands_per_kind() {
        let login = |tool: &str| {
            format!("echo \"$TOKEN\" | {tool} login reg.example.com:5000 -u ops@globex.test --password-stdin")
        };
        assert_eq!(
            commands(ArtifactKind::ContainerImage, "web"),
            [
                login("docker"),
                "docker pull reg.example.com:5000/acme/web:1.2".into(),
                login("podman"),
                "podman pull reg.example.com:5000/acme/web:1.2".into(),
            ]
        );
        assert_eq!(
            commands(ArtifactKind::HelmChart, "charts/Web_App"),
            [
                login("helm registry"),
                "helm pull oci://reg.example.com:5000/acme/charts/Web_App --version 1.2".into(),
                "helm install web-app oci://reg.example.com:5000/acme/charts/Web_App --version 1.2"
                    .into(),
            ]
        );
        assert_eq!(
            commands(ArtifactKind::Other, "files/sbom"),
            [
                login("docker"),
                "oras pull reg.example.com:5000/acme/files/sbom:1.2".into(),
            ]
        );
        assert_eq!(release_name("charts/__"), "my-release");
    }

    #[test]
    fn values_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("ops@globex.test"), "ops@globex.test");
        assert_eq!(
            shell_quote("reg.example.com:5000/a/b:1.2"),
            "reg.example.com:5000/a/b:1.2"
        );
        assert_eq!(shell_quote(""), "''");
        assert_eq!(
            shell_quote("x`touch${IFS}pwned`|sh@globex.test"),
            "'x`touch${IFS}pwned`|sh@globex.test'"
        );
        assert_eq!(shell_quote("o'brien@x.ie"), r"'o'\''brien@x.ie'");
        assert_eq!(shell_quote("a b;c&d"), "'a b;c&d'");
        // A stored address from before the grammar was narrowed stays inert.
        let cmds = pull_commands(
            ArtifactKind::ContainerImage,
            "reg.example.com",
            "acme",
            "web",
            "1.2",
            "x`id`$(id)|sh@globex.test",
        );
        assert_eq!(
            cmds[0].command,
            "echo \"$TOKEN\" | docker login reg.example.com -u 'x`id`$(id)|sh@globex.test' --password-stdin"
        );
    }

    /// The quoting survives a real shell: each value comes back as one word.
    #[cfg(unix)]
    #[test]
    fn quoted_values_are_one_word_in_sh() {
        for value in [
            "plain@x.test",
            "x`id`$(id)|sh{a}&b@x.test",
            "o'brien@x.ie",
            "'",
            "a b",
            "$IFS",
        ] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf '%s' {}", shell_quote(value)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), value);
        }
    }
}
