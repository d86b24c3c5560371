//! Upstream mirroring (SPEC §6, issue 14): an artifact copied from a registry
//! the vendor already runs. The body of `POST /api/v1/upstreams` and its
//! validation by field, and what an upstream looks like to its org (never
//! the secret: only whether one is set).

use crate::oci::{RepositoryName, Tag};
use crate::UpstreamId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// The default sync interval, in minutes.
pub const DEFAULT_INTERVAL_MINUTES: i64 = 60;
/// The shortest and longest interval accepted.
pub const MIN_INTERVAL_MINUTES: i64 = 1;
pub const MAX_INTERVAL_MINUTES: i64 = 7 * 24 * 60;
/// At most this many tags in a list.
pub const MAX_TAGS: usize = 1000;

/// Which tags are mirrored: `"all"` or a list of tag names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagSelection {
    All,
    List(Vec<String>),
}

impl TagSelection {
    pub fn includes(&self, tag: &str) -> bool {
        match self {
            TagSelection::All => true,
            TagSelection::List(tags) => tags.iter().any(|t| t == tag),
        }
    }

    /// The JSON the store keeps (`"all"` or `["1.0", …]`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "\"all\"".into())
    }

    pub fn from_json(s: &str) -> Option<Self> {
        serde_json::from_str(s).ok()
    }
}

impl Serialize for TagSelection {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TagSelection::All => s.serialize_str("all"),
            TagSelection::List(tags) => tags.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for TagSelection {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            List(Vec<String>),
        }
        match Raw::deserialize(d)? {
            Raw::Word(w) if w == "all" => Ok(TagSelection::All),
            Raw::Word(_) => Err(serde::de::Error::custom(
                "tags must be \"all\" or a list of tag names",
            )),
            Raw::List(l) => Ok(TagSelection::List(l)),
        }
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for TagSelection {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["all"])),
            )
            .item(ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String)))
            .description(Some("\"all\", or a list of tag names"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for TagSelection {}

/// Where a sync stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UpstreamState {
    Idle,
    Syncing,
    Failed,
}

impl UpstreamState {
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamState::Idle => "idle",
            UpstreamState::Syncing => "syncing",
            UpstreamState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "syncing" => UpstreamState::Syncing,
            "failed" => UpstreamState::Failed,
            _ => UpstreamState::Idle,
        }
    }
}

/// Whether credentials are stored: `"set"` or `"not set"` (the secret
/// itself never leaves the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CredentialsState {
    #[serde(rename = "set")]
    Set,
    #[serde(rename = "not set")]
    NotSet,
}

/// The running (or last) sync's progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncProgress {
    pub tags_done: i64,
    pub tags_total: i64,
    /// Bytes of blobs copied in.
    pub bytes: i64,
}

/// An upstream as its org sees it (API answers, pages). No secret in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Upstream {
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub id: UpstreamId,
    /// The mirrored artifact (its name without the org slug).
    pub artifact: String,
    pub url: String,
    /// The repository on the upstream registry.
    pub repository: String,
    pub username: Option<String>,
    pub credentials: CredentialsState,
    pub tags: TagSelection,
    pub interval_minutes: i64,
    /// Whether a tag deleted upstream is deleted here too.
    pub mirror_deletions: bool,
    pub state: UpstreamState,
    /// When the last successful sync ended.
    pub last_synced_at: Option<DateTime<Utc>>,
    /// Why the last sync failed, in words.
    pub last_error: Option<String>,
    /// The tags copied (or found up to date) in the last run.
    pub tags_synced: Vec<String>,
    pub progress: SyncProgress,
    pub created_at: DateTime<Utc>,
}

/// A password or token as typed: never printed.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// An upstream registry's address: `https://host[:port]` (or `http://`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamUrl {
    pub https: bool,
    /// The host name or address (IPv6 without brackets).
    pub host: String,
    pub port: Option<u16>,
}

impl UpstreamUrl {
    /// Parses `https://host[:port]` with an optional trailing slash; no
    /// path, query, user info or fragment.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (https, rest) = if let Some(r) = s.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = s.strip_prefix("http://") {
            (false, r)
        } else {
            return Err("must start with https:// (or http://)".into());
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() {
            return Err("has no host".into());
        }
        if rest.contains(['/', '?', '#', '@', ' ', '\\']) {
            return Err("must be only the registry's address, e.g. https://ghcr.io (the repository goes in its own field)".into());
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| "has an unclosed [".to_owned())?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or("has a bad port")?),
            };
            (h.to_owned(), port)
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (rest.to_owned(), None),
            }
        };
        let port = match port {
            None => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| "has a bad port".to_owned())?,
            ),
        };
        let host = host.to_ascii_lowercase();
        let valid = !host.is_empty()
            && host.len() <= 253
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
        if !valid {
            return Err("has an invalid host".into());
        }
        Ok(Self { https, host, port })
    }

    /// `host[:port]`, as registries are named in references.
    pub fn registry(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) => format!("{host}:{p}"),
            None => host,
        }
    }

    /// The port a connection goes to.
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(if self.https { 443 } else { 80 })
    }
}

impl fmt::Display for UpstreamUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}", self.registry())
    }
}

/// `POST /api/v1/upstreams`: what a vendor types.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpstreamInput {
    /// The artifact to mirror into (created when it does not exist).
    pub artifact: String,
    /// The upstream registry, e.g. `https://ghcr.io`.
    pub url: String,
    /// The repository on the upstream, e.g. `vendor/web`.
    pub repository: String,
    #[serde(default)]
    pub username: Option<String>,
    /// A password or token; stored encrypted, never returned.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub password: Option<Secret>,
    #[serde(default = "all_tags")]
    pub tags: TagSelection,
    #[serde(default = "default_interval")]
    pub interval_minutes: i64,
    #[serde(default)]
    pub mirror_deletions: bool,
}

fn all_tags() -> TagSelection {
    TagSelection::All
}

fn default_interval() -> i64 {
    DEFAULT_INTERVAL_MINUTES
}

/// `PATCH /api/v1/upstreams/{id}`: the fields to change. A `password` of
/// `null` or `""` removes the stored credentials; leaving it out keeps them.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpstreamPatch {
    pub url: Option<String>,
    pub repository: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub username: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub password: Option<Option<Secret>>,
    pub tags: Option<TagSelection>,
    pub interval_minutes: Option<i64>,
    pub mirror_deletions: Option<bool>,
}

/// A field that is present (even as `null`) is `Some`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A checked upstream (everything but the secret's encryption).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidUpstream {
    pub artifact: String,
    pub url: UpstreamUrl,
    pub repository: String,
    pub username: Option<String>,
    pub tags: TagSelection,
    pub interval_minutes: i64,
    pub mirror_deletions: bool,
}

/// What a form or the API may get wrong, by field.
pub type FieldErrors = BTreeMap<String, String>;

/// Checks one field at a time; `allow_http` is the server's setting.
pub struct Checks<'a> {
    pub org_slug: &'a str,
    pub allow_http: bool,
}

impl Checks<'_> {
    pub fn artifact(&self, artifact: &str, errors: &mut FieldErrors) -> Option<String> {
        let artifact = artifact.trim();
        if artifact.is_empty() {
            errors.insert("artifact".into(), "Enter the artifact's name.".into());
            return None;
        }
        match RepositoryName::parse(&format!("{}/{artifact}", self.org_slug)) {
            Ok(_) => Some(artifact.to_owned()),
            Err(_) => {
                errors.insert(
                    "artifact".into(),
                    "Use lowercase letters, digits and . _ - separated by /.".into(),
                );
                None
            }
        }
    }

    pub fn url(&self, url: &str, errors: &mut FieldErrors) -> Option<UpstreamUrl> {
        match UpstreamUrl::parse(url) {
            Ok(u) if !u.https && !self.allow_http => {
                errors.insert(
                    "url".into(),
                    "Use https:// (plain http is not allowed on this server).".into(),
                );
                None
            }
            Ok(u) => Some(u),
            Err(e) => {
                errors.insert("url".into(), format!("The registry URL {e}."));
                None
            }
        }
    }

    pub fn repository(&self, repository: &str, errors: &mut FieldErrors) -> Option<String> {
        let repository = repository.trim().trim_matches('/');
        if repository.is_empty() {
            errors.insert(
                "repository".into(),
                "Enter the repository on the upstream, e.g. vendor/web.".into(),
            );
            return None;
        }
        match RepositoryName::parse(&format!("x/{repository}")) {
            Ok(_) => Some(repository.to_owned()),
            Err(_) => {
                errors.insert(
                    "repository".into(),
                    "Use lowercase letters, digits and . _ - separated by /.".into(),
                );
                None
            }
        }
    }

    pub fn username(&self, username: Option<&str>, errors: &mut FieldErrors) -> Option<String> {
        let u = username.map(str::trim).filter(|u| !u.is_empty())?;
        if u.len() > 256 || u.chars().any(char::is_control) {
            errors.insert("username".into(), "The user name is not valid.".into());
            return None;
        }
        Some(u.to_owned())
    }

    pub fn password(&self, password: Option<&Secret>, errors: &mut FieldErrors) {
        if password.is_some_and(|p| p.0.len() > 4096) {
            errors.insert(
                "password".into(),
                "The password or token is longer than 4096 characters.".into(),
            );
        }
    }

    pub fn tags(&self, tags: &TagSelection, errors: &mut FieldErrors) -> Option<TagSelection> {
        match tags {
            TagSelection::All => Some(TagSelection::All),
            TagSelection::List(list) => {
                let mut out: Vec<String> = Vec::new();
                for t in list {
                    let t = t.trim();
                    if Tag::parse(t).is_err() {
                        errors.insert("tags".into(), format!("\"{t}\" is not a valid tag."));
                        return None;
                    }
                    if !out.iter().any(|o| o == t) {
                        out.push(t.to_owned());
                    }
                }
                if out.is_empty() {
                    errors.insert(
                        "tags".into(),
                        "Choose all tags or name at least one.".into(),
                    );
                    return None;
                }
                if out.len() > MAX_TAGS {
                    errors.insert("tags".into(), format!("At most {MAX_TAGS} tags."));
                    return None;
                }
                Some(TagSelection::List(out))
            }
        }
    }

    pub fn interval(&self, minutes: i64, errors: &mut FieldErrors) -> Option<i64> {
        if (MIN_INTERVAL_MINUTES..=MAX_INTERVAL_MINUTES).contains(&minutes) {
            Some(minutes)
        } else {
            errors.insert(
                "interval_minutes".into(),
                format!(
                    "The interval is {MIN_INTERVAL_MINUTES} to {MAX_INTERVAL_MINUTES} minutes."
                ),
            );
            None
        }
    }

    /// The whole input, or every field's error.
    pub fn input(&self, input: &UpstreamInput) -> Result<ValidUpstream, FieldErrors> {
        let mut e = FieldErrors::new();
        let artifact = self.artifact(&input.artifact, &mut e);
        let url = self.url(&input.url, &mut e);
        let repository = self.repository(&input.repository, &mut e);
        let username = self.username(input.username.as_deref(), &mut e);
        self.password(input.password.as_ref(), &mut e);
        if input.password.as_ref().is_some_and(|p| !p.0.is_empty()) && username.is_none() {
            e.entry("username".into())
                .or_insert_with(|| "Enter the user name that goes with the password.".into());
        }
        let tags = self.tags(&input.tags, &mut e);
        let interval = self.interval(input.interval_minutes, &mut e);
        match (artifact, url, repository, tags, interval) {
            (Some(artifact), Some(url), Some(repository), Some(tags), Some(interval_minutes))
                if e.is_empty() =>
            {
                Ok(ValidUpstream {
                    artifact,
                    url,
                    repository,
                    username,
                    tags,
                    interval_minutes,
                    mirror_deletions: input.mirror_deletions,
                })
            }
            _ => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_to_a_registry_address() {
        let u = UpstreamUrl::parse("https://ghcr.io/").unwrap();
        assert_eq!((u.https, u.registry()), (true, "ghcr.io".to_owned()));
        let u = UpstreamUrl::parse("http://127.0.0.1:5000").unwrap();
        assert_eq!(
            (u.https, u.registry()),
            (false, "127.0.0.1:5000".to_owned())
        );
        let u = UpstreamUrl::parse("https://[fe80::1]:443").unwrap();
        assert_eq!(u.host, "fe80::1");
        assert_eq!(u.to_string(), "https://[fe80::1]:443");
        for bad in [
            "ghcr.io",
            "ftp://x",
            "https://",
            "https://a/b",
            "https://u:p@host",
            "https://h:0",
            "https://h:99999",
            "https://h_x",
        ] {
            assert!(UpstreamUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_are_all_or_a_list() {
        let all: TagSelection = serde_json::from_str("\"all\"").unwrap();
        assert_eq!(all, TagSelection::All);
        let l: TagSelection = serde_json::from_str("[\"1.0\"]").unwrap();
        assert_eq!(l, TagSelection::List(vec!["1.0".into()]));
        assert!(serde_json::from_str::<TagSelection>("\"some\"").is_err());
        assert_eq!(l.to_json(), "[\"1.0\"]");
        assert_eq!(TagSelection::from_json("\"all\""), Some(TagSelection::All));
    }

    #[test]
    fn input_is_checked_by_field() {
        let checks = Checks {
            org_slug: "acme",
            allow_http: false,
        };
        let input: UpstreamInput = serde_json::from_value(serde_json::json!({
            "artifact": "Web", "url": "http://x", "repository": "", "password": "p",
            "tags": [], "interval_minutes": 0
        }))
        .unwrap();
        let e = checks.input(&input).unwrap_err();
        for f in [
            "artifact",
            "url",
            "repository",
            "username",
            "tags",
            "interval_minutes",
        ] {
            assert!(e.contains_key(f), "{f}: {e:?}");
        }
        let ok: UpstreamInput = serde_json::from_value(serde_json::json!({
            "artifact": "web", "url": "https://ghcr.io", "repository": "vendor/web"
        }))
        .unwrap();
        let v = checks.input(&ok).unwrap();
        assert_eq!(v.interval_minutes, 60);
        assert_eq!(v.tags, TagSelection::All);
        assert!(format!("{:?}", Secret("hunter2".into()))
            .find("hunter2")
            .is_none());
    }
}

/// Why an address may not be connected to (server-side request forgery).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressRefusal {
    /// Link-local or cloud metadata (169.254.0.0/16, fe80::/10): always.
    LinkLocal,
    /// Loopback, private, unique-local, unspecified, …: unless allowed.
    Private,
}

impl fmt::Display for AddressRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressRefusal::LinkLocal => "a link-local or metadata address",
            AddressRefusal::Private => "a loopback or private address",
        })
    }
}

/// Whether an upstream connection may go to `ip` (SPEC §8:
/// `PORTCULLIS_UPSTREAM_ALLOW_PRIVATE` allows loopback and private ranges,
/// never link-local or metadata ones).
pub fn check_address(ip: std::net::IpAddr, allow_private: bool) -> Result<(), AddressRefusal> {
    use std::net::IpAddr;
    // An IPv4-mapped IPv6 address is judged as the IPv4 address it is.
    let ip = match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_link_local() || o == [100, 100, 100, 200] {
                return Err(AddressRefusal::LinkLocal);
            }
            let private = v4.is_loopback()
                || v4.is_private()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // shared (CGNAT)
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19)) // benchmarking
                || o[0] >= 240;
            if private && !allow_private {
                return Err(AddressRefusal::Private);
            }
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            if (s[0] & 0xffc0) == 0xfe80
                || v6 == std::net::Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
            {
                return Err(AddressRefusal::LinkLocal);
            }
            let private = v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfec0; // site local (deprecated)
            if private && !allow_private {
                return Err(AddressRefusal::Private);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod address_tests {
    use super::*;

    #[test]
    fn link_local_is_refused_always_private_unless_allowed() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        for s in ["169.254.169.254", "fe80::1", "::ffff:169.254.1.1"] {
            assert_eq!(
                check_address(ip(s), true),
                Err(AddressRefusal::LinkLocal),
                "{s}"
            );
        }
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.0.1",
            "::1",
            "fd00::1",
            "0.0.0.0",
        ] {
            assert_eq!(
                check_address(ip(s), false),
                Err(AddressRefusal::Private),
                "{s}"
            );
            assert_eq!(check_address(ip(s), true), Ok(()), "{s}");
        }
        for s in ["140.82.112.33", "2606:50c0:8000::154"] {
            assert_eq!(check_address(ip(s), false), Ok(()), "{s}");
        }
    }
}
