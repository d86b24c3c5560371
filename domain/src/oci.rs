//! OCI distribution names, tags, digests and references, parsed against the
//! spec's grammars. A value of these types is valid by construction.

use serde::{Deserialize, Serialize};

/// Which rule a piece of registry input broke (maps to the OCI error codes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OciParseError {
    #[error("invalid repository name: {0}")]
    Name(String),
    #[error("invalid tag: {0}")]
    Tag(String),
    #[error("invalid digest: {0}")]
    Digest(String),
}

/// One path component: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: ".", "_", "__" or one or more "-".
        let start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || i >= b.len() || !is_alnum(b[i]) {
            return false;
        }
    }
    true
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// A repository name `<org-slug>/<artifact>` where the artifact may have
/// several components (`acme/charts/web`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepositoryName(String);

impl RepositoryName {
    /// The longest name accepted (the spec allows 255 with the host).
    pub const MAX_LEN: usize = 255;

    pub fn parse(s: &str) -> Result<Self, OciParseError> {
        if s.len() > Self::MAX_LEN {
            return Err(OciParseError::Name(format!(
                "longer than {} characters",
                Self::MAX_LEN
            )));
        }
        let mut parts = 0;
        for c in s.split('/') {
            if !valid_component(c) {
                return Err(OciParseError::Name(format!(
                    "\"{s}\" does not match the OCI name grammar"
                )));
            }
            parts += 1;
        }
        if parts < 2 {
            return Err(OciParseError::Name(format!(
                "\"{s}\" must be <organization>/<artifact>"
            )));
        }
        Ok(Self(s.to_owned()))
    }

    /// The organization slug: the first component.
    pub fn org_slug(&self) -> &str {
        self.0.split_once('/').map_or(&self.0, |(slug, _)| slug)
    }

    /// The artifact name: everything after the organization slug.
    pub fn artifact(&self) -> &str {
        self.0.split_once('/').map_or("", |(_, rest)| rest)
    }
}

parsed_string!(RepositoryName, OciParseError);

/// A tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tag(String);

impl Tag {
    pub fn parse(s: &str) -> Result<Self, OciParseError> {
        let b = s.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 128
            && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
            && b[1..]
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(OciParseError::Tag(format!(
                "\"{}\" does not match the OCI tag grammar",
                s.escape_debug()
            )))
        }
    }
}

parsed_string!(Tag, OciParseError);

/// A digest algorithm this registry verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

/// A content digest `sha256:<64 hex>` or `sha512:<128 hex>` (lower case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

impl Digest {
    pub fn parse(s: &str) -> Result<Self, OciParseError> {
        let Some((alg, hex)) = s.split_once(':') else {
            return Err(OciParseError::Digest(format!(
                "\"{}\" is not <algorithm>:<hex>",
                s.escape_debug()
            )));
        };
        let algorithm = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            other => {
                return Err(OciParseError::Digest(format!(
                    "unsupported algorithm \"{}\" (use sha256 or sha512)",
                    other.escape_debug()
                )))
            }
        };
        let ok = hex.len() == algorithm.hex_len()
            && hex
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
        if !ok {
            return Err(OciParseError::Digest(format!(
                "a {} digest has {} lower-case hex digits",
                algorithm.as_str(),
                algorithm.hex_len()
            )));
        }
        Ok(Self(s.to_owned()))
    }

    /// The sha256 digest of `data`.
    #[cfg(feature = "store")]
    pub fn sha256_of(data: &[u8]) -> Self {
        use sha2::Digest as _;
        Self(format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(data))
        ))
    }

    /// The digest of `data` with `algorithm`.
    #[cfg(feature = "store")]
    pub fn compute(algorithm: Algorithm, data: &[u8]) -> Self {
        use sha2::Digest as _;
        match algorithm {
            Algorithm::Sha256 => Self::sha256_of(data),
            Algorithm::Sha512 => Self(format!(
                "sha512:{}",
                hex::encode(sha2::Sha512::digest(data))
            )),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        if self.0.starts_with("sha512:") {
            Algorithm::Sha512
        } else {
            Algorithm::Sha256
        }
    }

    pub fn hex(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, h)| h)
    }
}

parsed_string!(Digest, OciParseError);

/// What a manifest request names: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reference {
    Tag(Tag),
    Digest(Digest),
}

impl Reference {
    pub fn parse(s: &str) -> Result<Self, OciParseError> {
        if s.contains(':') {
            Digest::parse(s).map(Reference::Digest)
        } else {
            Tag::parse(s).map(Reference::Tag)
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Reference::Tag(t) => t.as_str(),
            Reference::Digest(d) => d.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in [
            "acme/web",
            "acme/charts/web",
            "a1/b.c",
            "acme/a_b",
            "acme/a__b",
            "acme/a--b",
            "acme/x-y.z_w",
        ] {
            let n = RepositoryName::parse(ok).unwrap();
            assert_eq!(n.as_str(), ok);
        }
        let n = RepositoryName::parse("acme/charts/web").unwrap();
        assert_eq!((n.org_slug(), n.artifact()), ("acme", "charts/web"));
        let long = format!("acme/{}", "a".repeat(251));
        for bad in [
            "web",
            "Acme/web",
            "acme/Web",
            "acme//web",
            "/acme/web",
            "acme/web/",
            "acme/-web",
            "acme/web-",
            "acme/a___b",
            "acme/a._b",
            "acme/../etc",
            "acme/./web",
            "acme/we b",
            "acme/wéb",
            "acme/a%2fb",
            long.as_str(),
        ] {
            assert!(RepositoryName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tags() {
        for ok in ["latest", "1.0.0", "_x", "v1-rc.1", &"a".repeat(128)] {
            assert!(Tag::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".x", "-x", "a/b", "a:b", "a b", &"a".repeat(129)] {
            assert!(Tag::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn digests() {
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(Digest::parse(&d).unwrap().hex(), "a".repeat(64));
        let d512 = format!("sha512:{}", "0".repeat(128));
        assert_eq!(Digest::parse(&d512).unwrap().algorithm(), Algorithm::Sha512);
        for bad in [
            "sha256".to_owned(),
            format!("sha256:{}", "a".repeat(63)),
            format!("sha256:{}", "A".repeat(64)),
            format!("sha256:{}", "g".repeat(64)),
            format!("md5:{}", "a".repeat(32)),
            format!("sha512:{}", "a".repeat(64)),
        ] {
            assert!(Digest::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn computed_digests_match_known_values() {
        assert_eq!(
            Digest::sha256_of(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(Digest::compute(Algorithm::Sha512, b"")
            .as_str()
            .starts_with("sha512:cf83e1357eef"));
    }

    #[test]
    fn references() {
        assert!(matches!(
            Reference::parse("1.0").unwrap(),
            Reference::Tag(_)
        ));
        let d = format!("sha256:{}", "b".repeat(64));
        assert!(matches!(
            Reference::parse(&d).unwrap(),
            Reference::Digest(_)
        ));
        assert!(Reference::parse("sha256:zz").is_err());
    }
}
