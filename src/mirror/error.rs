//! A sync's failures in words a vendor can act on (wrong credentials, not
//! found, unreachable, rate limited, refused), and which are worth a retry.

use oci_client::errors::{OciDistributionError, OciErrorCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Credentials,
    NotFound,
    Unreachable,
    RateLimited,
    /// The address is one this server does not connect to (SSRF guard).
    Refused,
    /// The upstream failed (5xx): worth a retry.
    Server,
    Other,
}

#[derive(Debug, Clone)]
pub struct SyncError {
    pub kind: Kind,
    pub message: String,
}

impl SyncError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// Worth trying again after a pause.
    pub fn transient(&self) -> bool {
        matches!(
            self.kind,
            Kind::Unreachable | Kind::RateLimited | Kind::Server
        )
    }

    /// What `what` (e.g. "repository vendor/web", "tag 1.0") failing with
    /// `e` means, said for the registry `registry`.
    pub fn from_oci(
        e: &OciDistributionError,
        registry: &str,
        what: &str,
        with_credentials: bool,
    ) -> Self {
        let credentials = || {
            if with_credentials {
                SyncError::new(
                    Kind::Credentials,
                    format!("wrong credentials: {registry} refused the user name and password (or token)"),
                )
            } else {
                SyncError::new(
                    Kind::Credentials,
                    format!("wrong credentials: {registry} asks for a user name and password (or token)"),
                )
            }
        };
        let not_found = || {
            SyncError::new(
                Kind::NotFound,
                format!("not found: {registry} has no {what}"),
            )
        };
        let rate_limited = || {
            SyncError::new(
                Kind::RateLimited,
                format!("rate limited: {registry} asked to slow down (HTTP 429); the next sync tries again"),
            )
        };
        match e {
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => credentials(),
            OciDistributionError::ImageManifestNotFoundError(_) => not_found(),
            OciDistributionError::RegistryError { envelope, .. } => {
                let code = envelope.errors.first().map(|e| &e.code);
                match code {
                    Some(OciErrorCode::Unauthorized | OciErrorCode::Denied) => credentials(),
                    Some(
                        OciErrorCode::NameUnknown
                        | OciErrorCode::ManifestUnknown
                        | OciErrorCode::BlobUnknown
                        | OciErrorCode::NotFound,
                    ) => not_found(),
                    Some(OciErrorCode::Toomanyrequests) => rate_limited(),
                    _ => SyncError::new(
                        Kind::Other,
                        format!("{registry} refused to serve the {what}: {envelope}"),
                    ),
                }
            }
            OciDistributionError::ServerError { code, .. } => match code {
                401 | 403 => credentials(),
                404 => not_found(),
                429 => rate_limited(),
                c if *c >= 500 => SyncError::new(
                    Kind::Server,
                    format!("{registry} failed (HTTP {c}) serving the {what}"),
                ),
                c => SyncError::new(
                    Kind::Other,
                    format!("{registry} answered HTTP {c} for the {what}"),
                ),
            },
            OciDistributionError::RequestError(r) => {
                if r.status().is_some_and(|s| s.as_u16() == 429) {
                    rate_limited()
                } else if r.is_timeout() {
                    SyncError::new(
                        Kind::Unreachable,
                        format!("unreachable: {registry} did not answer in time"),
                    )
                } else {
                    SyncError::new(
                        Kind::Unreachable,
                        format!("unreachable: cannot connect to {registry}"),
                    )
                }
            }
            OciDistributionError::IoError(_) => SyncError::new(
                Kind::Unreachable,
                format!("unreachable: the connection to {registry} broke while copying the {what}"),
            ),
            OciDistributionError::DigestError(_) => SyncError::new(
                Kind::Other,
                format!("{registry} sent the {what} with content that does not match its digest"),
            ),
            other => SyncError::new(
                Kind::Other,
                format!(
                    "{registry} sent an answer that cannot be used for the {what}: {}",
                    short(&other.to_string())
                ),
            ),
        }
    }
}

/// At most 200 characters of an error's text.
fn short(s: &str) -> String {
    let mut out: String = s.chars().take(200).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

impl std::fmt::Display for SyncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
