//! Upstream mirroring (SPEC §6, issue 14): the use cases behind
//! `/api/v1/upstreams` and the console, and the sealing of upstream
//! credentials. The sync itself runs in the server (`src/mirror/`); these
//! only record what to sync and make it due (`wake` tells this process's
//! engine at once; other instances see it due on their next look).

use crate::authz::{self, Need};
use crate::error::{ServiceError, ServiceResult};
use crate::Services;
use chacha20poly1305::aead::{Aead, KeyInit, OsRng, Payload};
use chacha20poly1305::{AeadCore, ChaCha20Poly1305, Key, Nonce};
use domain::store::{SealedSecret, SecretChange};
use domain::upstreams::{
    check_address, AddressRefusal, Checks, FieldErrors, Secret, Upstream, UpstreamInput,
    UpstreamPatch, UpstreamUrl, ValidUpstream,
};
use domain::{OrgId, Principal, UpstreamId};
use std::path::Path;

/// The environment variable holding the credentials key.
pub const SECRET_KEY_ENV: &str = "PORTCULLIS_SECRET_KEY";
/// The key file made in the data directory when the variable is not set.
pub const SECRET_KEY_FILE: &str = "secret.key";

/// The key that seals upstream credentials (ChaCha20-Poly1305). Never
/// printed.
#[derive(Clone)]
pub struct SecretKey(Key);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl SecretKey {
    /// A key from its text: 64 hex digits are the key itself; any other
    /// text is hashed (SHA-256) into one.
    pub fn from_text(text: &str) -> Self {
        use sha2::Digest as _;
        let text = text.trim();
        let bytes: [u8; 32] = match hex::decode(text) {
            Ok(b) if b.len() == 32 => b.try_into().expect("32 bytes"),
            _ => sha2::Sha256::digest(text.as_bytes()).into(),
        };
        Self(bytes.into())
    }

    /// `PORTCULLIS_SECRET_KEY` when set (`env`), else the key file in the
    /// data directory, made on first use (mode 0600).
    pub fn load(env: Option<&str>, data_dir: &Path) -> std::io::Result<Self> {
        if let Some(text) = env.filter(|t| !t.trim().is_empty()) {
            return Ok(Self::from_text(text));
        }
        let path = data_dir.join(SECRET_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => return Ok(Self::from_text(&text)),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            Err(_) => {}
        }
        std::fs::create_dir_all(data_dir)?;
        let key = ChaCha20Poly1305::generate_key(&mut OsRng);
        let text = format!("{}\n", hex::encode(key));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(mut f) => {
                use std::io::Write as _;
                f.write_all(text.as_bytes())?;
                f.sync_all()?;
                Ok(Self(key))
            }
            // Another process made it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok(Self::from_text(&std::fs::read_to_string(&path)?))
            }
            Err(e) => Err(e),
        }
    }

    /// Seals a secret for one org (the org id is authenticated with it, so
    /// a sealed value moved to another org's row does not open).
    pub fn seal(&self, org_id: OrgId, secret: &str) -> SealedSecret {
        use base64::Engine as _;
        let cipher = ChaCha20Poly1305::new(&self.0);
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let aad = org_id.get().to_be_bytes();
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.as_bytes(),
                    aad: &aad,
                },
            )
            .expect("ChaCha20-Poly1305 encryption does not fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        SealedSecret(format!(
            "v1:{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        ))
    }

    /// Opens a sealed secret; `None` when it does not open with this key.
    pub fn open(&self, org_id: OrgId, sealed: &SealedSecret) -> Option<Secret> {
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(sealed.0.strip_prefix("v1:")?)
            .ok()?;
        if raw.len() < 12 {
            return None;
        }
        let (nonce, body) = raw.split_at(12);
        let aad = org_id.get().to_be_bytes();
        let plain = ChaCha20Poly1305::new(&self.0)
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: &aad,
                },
            )
            .ok()?;
        String::from_utf8(plain).ok().map(Secret)
    }
}

/// How this server mirrors: its key and what upstream addresses it allows.
#[derive(Debug, Default)]
pub struct UpstreamSettings {
    /// `None`: credentials cannot be stored (a server without a data
    /// directory, tests that need none).
    pub key: Option<SecretKey>,
    /// `PORTCULLIS_UPSTREAM_ALLOW_PRIVATE=true`: loopback and private
    /// upstreams are allowed (link-local never is).
    pub allow_private: bool,
    /// `PORTCULLIS_UPSTREAM_ALLOW_HTTP=true`: plain-http upstreams.
    pub allow_http: bool,
    /// Wakes this process's sync engine when a sync becomes due.
    pub wake: tokio::sync::Notify,
}

impl UpstreamSettings {
    /// From the environment (`PORTCULLIS_SECRET_KEY`,
    /// `PORTCULLIS_UPSTREAM_ALLOW_PRIVATE`, `PORTCULLIS_UPSTREAM_ALLOW_HTTP`)
    /// and the data directory (the key file).
    pub fn from_env(data_dir: &Path) -> std::io::Result<Self> {
        let flag = |name: &str| {
            std::env::var(name)
                .map(|v| matches!(v.trim(), "true" | "1" | "yes"))
                .unwrap_or(false)
        };
        Ok(Self {
            key: Some(SecretKey::load(
                std::env::var(SECRET_KEY_ENV).ok().as_deref(),
                data_dir,
            )?),
            allow_private: flag("PORTCULLIS_UPSTREAM_ALLOW_PRIVATE"),
            allow_http: flag("PORTCULLIS_UPSTREAM_ALLOW_HTTP"),
            wake: tokio::sync::Notify::new(),
        })
    }
}

/// Unix seconds now.
fn unix(services: &Services) -> i64 {
    services.clock.now().timestamp()
}

impl Services {
    fn upstream_checks<'a>(&'a self, slug: &'a str) -> Checks<'a> {
        Checks {
            org_slug: slug,
            allow_http: self.upstreams.allow_http,
        }
    }

    /// Refuses a URL whose host is, or resolves only to, an address the
    /// server may not connect to (the sync checks again at every
    /// connection: DNS can change).
    async fn check_upstream_host(&self, url: &UpstreamUrl, errors: &mut FieldErrors) {
        let refusal = match url.host.parse::<std::net::IpAddr>() {
            Ok(ip) => check_address(ip, self.upstreams.allow_private).err(),
            Err(_) => {
                match tokio::net::lookup_host((url.host.as_str(), url.port_or_default())).await {
                    // Unresolvable now: the sync will say so.
                    Err(_) => None,
                    Ok(addrs) => {
                        let checks: Vec<_> = addrs
                            .map(|a| check_address(a.ip(), self.upstreams.allow_private))
                            .collect();
                        if checks.iter().any(Result::is_ok) {
                            None
                        } else if checks.contains(&Err(AddressRefusal::LinkLocal)) {
                            Some(AddressRefusal::LinkLocal)
                        } else {
                            checks.first().and_then(|c| c.err())
                        }
                    }
                }
            }
        };
        if let Some(r) = refusal {
            errors.insert(
                "url".into(),
                format!("The registry URL points to {r}; this server does not connect there."),
            );
        }
    }

    fn seal(&self, org_id: OrgId, secret: &Secret) -> ServiceResult<SealedSecret> {
        let key = self.upstreams.key.as_ref().ok_or_else(|| {
            ServiceError::field(
                "password",
                "This server has no key to store credentials (PORTCULLIS_SECRET_KEY).",
            )
        })?;
        Ok(key.seal(org_id, secret.expose()))
    }

    /// The org's upstreams. Any vendor user.
    pub async fn upstreams(&self, p: &Principal) -> ServiceResult<Vec<Upstream>> {
        let me = authz::vendor(p, Need::Read)?;
        Ok(self
            .store
            .upstreams(me.org_id)
            .await?
            .into_iter()
            .map(|r| r.view)
            .collect())
    }

    /// One upstream of the caller's org. Any vendor user.
    pub async fn upstream(&self, p: &Principal, id: UpstreamId) -> ServiceResult<Upstream> {
        let me = authz::vendor(p, Need::Read)?;
        Ok(self.store.upstream(me.org_id, id).await?.view)
    }

    /// The upstream an artifact is mirrored from, if any. Any vendor user.
    pub async fn upstream_of_artifact(
        &self,
        p: &Principal,
        artifact: &str,
    ) -> ServiceResult<Option<Upstream>> {
        let me = authz::vendor(p, Need::Read)?;
        Ok(self
            .store
            .upstream_of_artifact(me.org_id, artifact)
            .await?
            .map(|r| r.view))
    }

    /// Mirrors an artifact from an upstream registry (created when it does
    /// not exist); the first sync is due at once. Vendor admins and
    /// read_write users.
    pub async fn create_upstream(
        &self,
        p: &Principal,
        input: &UpstreamInput,
    ) -> ServiceResult<Upstream> {
        let me = authz::vendor(p, Need::Write)?;
        let checks = self.upstream_checks(&me.org_slug);
        let mut errors = FieldErrors::new();
        let valid = match checks.input(input) {
            Ok(v) => Some(v),
            Err(e) => {
                errors = e;
                None
            }
        };
        if let Some(v) = &valid {
            self.check_upstream_host(&v.url, &mut errors).await;
        }
        let valid = match valid {
            Some(v) if errors.is_empty() => v,
            _ => return Err(ServiceError::Invalid(errors)),
        };
        let secret = match input.password.as_ref().filter(|p| !p.0.is_empty()) {
            Some(s) => Some(self.seal(me.org_id, s)?),
            None => None,
        };
        self.store.ensure_repo(me.org_id, &valid.artifact).await?;
        let created = self
            .store
            .create_upstream(me.org_id, &valid, secret, unix(self), &me.actor())
            .await?
            .ok_or_else(|| ServiceError::field("artifact", "This artifact is already mirrored."))?;
        self.upstreams.wake.notify_one();
        Ok(created.view)
    }

    /// Changes an upstream's settings; the artifact stays. Vendor admins
    /// and read_write users.
    pub async fn update_upstream(
        &self,
        p: &Principal,
        id: UpstreamId,
        patch: &UpstreamPatch,
    ) -> ServiceResult<Upstream> {
        let me = authz::vendor(p, Need::Write)?;
        let current = self.store.upstream(me.org_id, id).await?;
        let checks = self.upstream_checks(&me.org_slug);
        let mut e = FieldErrors::new();
        let cur = &current.view;
        let url = match &patch.url {
            Some(u) => checks.url(u, &mut e),
            None => UpstreamUrl::parse(&cur.url).ok(),
        };
        let repository = match &patch.repository {
            Some(r) => checks.repository(r, &mut e),
            None => Some(cur.repository.clone()),
        };
        let username = match &patch.username {
            Some(u) => checks.username(u.as_deref(), &mut e),
            None => cur.username.clone(),
        };
        let secret = match &patch.password {
            None => SecretChange::Keep,
            Some(None) => SecretChange::Clear,
            Some(Some(s)) if s.0.is_empty() => SecretChange::Clear,
            Some(Some(s)) => {
                checks.password(Some(s), &mut e);
                match e.is_empty() {
                    true => SecretChange::Set(self.seal(me.org_id, s)?),
                    false => SecretChange::Keep,
                }
            }
        };
        let keeps_secret = match &secret {
            SecretChange::Keep => current.secret.is_some(),
            SecretChange::Clear => false,
            SecretChange::Set(_) => true,
        };
        if keeps_secret && username.is_none() && !e.contains_key("username") {
            e.insert(
                "username".into(),
                "Enter the user name that goes with the password.".into(),
            );
        }
        let tags = match &patch.tags {
            Some(t) => checks.tags(t, &mut e),
            None => Some(cur.tags.clone()),
        };
        let interval = checks.interval(
            patch.interval_minutes.unwrap_or(cur.interval_minutes),
            &mut e,
        );
        if let Some(u) = &url {
            if patch.url.is_some() {
                self.check_upstream_host(u, &mut e).await;
            }
        }
        let (Some(url), Some(repository), Some(tags), Some(interval_minutes), true) =
            (url, repository, tags, interval, e.is_empty())
        else {
            return Err(ServiceError::Invalid(e));
        };
        let valid = ValidUpstream {
            artifact: cur.artifact.clone(),
            url,
            repository,
            username,
            tags,
            interval_minutes,
            mirror_deletions: patch.mirror_deletions.unwrap_or(cur.mirror_deletions),
        };
        Ok(self
            .store
            .update_upstream(me.org_id, id, &valid, secret, &me.actor())
            .await?
            .view)
    }

    /// Stops mirroring (what was copied stays). Vendor admins and
    /// read_write users.
    pub async fn delete_upstream(&self, p: &Principal, id: UpstreamId) -> ServiceResult<()> {
        let me = authz::vendor(p, Need::Write)?;
        Ok(self
            .store
            .delete_upstream(me.org_id, id, &me.actor())
            .await?)
    }

    /// Makes a sync due now ("Sync now"). Vendor admins and read_write
    /// users.
    pub async fn sync_upstream(&self, p: &Principal, id: UpstreamId) -> ServiceResult<Upstream> {
        let me = authz::vendor(p, Need::Write)?;
        self.store
            .request_sync(me.org_id, id, unix(self), &me.actor())
            .await?;
        self.upstreams.wake.notify_one();
        Ok(self.store.upstream(me.org_id, id).await?.view)
    }

    /// The credentials of an upstream, opened for the sync engine (never
    /// for a front door). `Err` in words when they do not open.
    pub fn upstream_credentials(
        &self,
        record: &domain::store::UpstreamRecord,
    ) -> Result<Option<(String, Secret)>, String> {
        let Some(sealed) = &record.secret else {
            return Ok(None);
        };
        let opened = self
            .upstreams
            .key
            .as_ref()
            .and_then(|k| k.open(record.org_id, sealed))
            .ok_or_else(|| {
                "the stored credentials cannot be decrypted with this server's key \
                 (was PORTCULLIS_SECRET_KEY changed?); enter the password again"
                    .to_owned()
            })?;
        Ok(record.view.username.clone().map(|u| (u, opened)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_org() {
        let key = SecretKey::from_text("correct horse");
        let sealed = key.seal(OrgId::from(1), "hunter2");
        assert!(!sealed.0.contains("hunter2"));
        assert_eq!(
            key.open(OrgId::from(1), &sealed).unwrap().expose(),
            "hunter2"
        );
        assert!(key.open(OrgId::from(2), &sealed).is_none());
        assert!(SecretKey::from_text("other")
            .open(OrgId::from(1), &sealed)
            .is_none());
        // Two seals of one secret differ (a fresh nonce each).
        assert_ne!(key.seal(OrgId::from(1), "hunter2"), sealed);
    }

    #[test]
    fn the_key_file_is_made_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let a = SecretKey::load(None, dir.path()).unwrap();
        let b = SecretKey::load(None, dir.path()).unwrap();
        let sealed = a.seal(OrgId::from(1), "s");
        assert!(b.open(OrgId::from(1), &sealed).is_some());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(SECRET_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The variable wins over the file.
        let c = SecretKey::load(Some("env key"), dir.path()).unwrap();
        assert!(c.open(OrgId::from(1), &sealed).is_none());
    }
}
