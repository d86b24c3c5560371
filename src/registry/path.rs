//! One parser for every `/v2/` path: a validated repository name and an
//! endpoint, before anything else happens.

use super::error::RegistryError;
use domain::oci::{Digest, Reference, RepositoryName};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `/v2/`
    Base,
    /// `/v2/_catalog`
    Catalog,
    /// `/v2/<name>/tags/list`
    Tags(RepositoryName),
    /// `/v2/<name>/manifests/<reference>`
    Manifest(RepositoryName, Reference),
    /// `/v2/<name>/blobs/<digest>`
    Blob(RepositoryName, Digest),
    /// `/v2/<name>/blobs/uploads/`
    UploadStart(RepositoryName),
    /// `/v2/<name>/blobs/uploads/<id>`
    Upload(RepositoryName, String),
    /// `/v2/<name>/referrers/<digest>`
    Referrers(RepositoryName, Digest),
}

/// Parses the part of the path after `/v2/`.
pub fn parse(rest: &str) -> Result<Endpoint, RegistryError> {
    if rest.is_empty() {
        return Ok(Endpoint::Base);
    }
    if rest == "_catalog" {
        return Ok(Endpoint::Catalog);
    }
    let name = |n: &str| RepositoryName::parse(n).map_err(RegistryError::from);
    if let Some(n) = rest.strip_suffix("/tags/list") {
        return Ok(Endpoint::Tags(name(n)?));
    }
    if let Some(n) = rest
        .strip_suffix("/blobs/uploads/")
        .or_else(|| rest.strip_suffix("/blobs/uploads"))
    {
        return Ok(Endpoint::UploadStart(name(n)?));
    }
    if let Some((n, id)) = rest.rsplit_once("/blobs/uploads/") {
        if valid_upload_id(id) {
            return Ok(Endpoint::Upload(name(n)?, id.to_owned()));
        }
        name(n)?;
        return Err(RegistryError::BlobUploadUnknown);
    }
    if let Some((n, r)) = rest.rsplit_once("/manifests/") {
        let n = name(n)?;
        return Ok(Endpoint::Manifest(n, Reference::parse(r)?));
    }
    if let Some((n, d)) = rest.rsplit_once("/blobs/") {
        let n = name(n)?;
        return Ok(Endpoint::Blob(n, Digest::parse(d)?));
    }
    if let Some((n, d)) = rest.rsplit_once("/referrers/") {
        let n = name(n)?;
        return Ok(Endpoint::Referrers(n, Digest::parse(d)?));
    }
    Err(RegistryError::NameUnknown)
}

fn valid_upload_id(id: &str) -> bool {
    super::upload_id::well_formed(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d() -> String {
        format!("sha256:{}", "a".repeat(64))
    }

    #[test]
    fn endpoints() {
        assert_eq!(parse("").unwrap(), Endpoint::Base);
        assert_eq!(parse("_catalog").unwrap(), Endpoint::Catalog);
        assert!(
            matches!(parse("acme/charts/web/tags/list").unwrap(), Endpoint::Tags(n) if n.as_str() == "acme/charts/web")
        );
        assert!(matches!(
            parse("acme/web/manifests/1.0").unwrap(),
            Endpoint::Manifest(_, Reference::Tag(_))
        ));
        assert!(matches!(
            parse(&format!("acme/web/manifests/{}", d())).unwrap(),
            Endpoint::Manifest(_, Reference::Digest(_))
        ));
        assert!(matches!(
            parse(&format!("acme/web/blobs/{}", d())).unwrap(),
            Endpoint::Blob(..)
        ));
        assert!(matches!(
            parse("acme/web/blobs/uploads/").unwrap(),
            Endpoint::UploadStart(_)
        ));
        let minted = super::super::upload_id::mint("acme/web", chrono::Utc::now());
        for id in [minted, uuid::Uuid::new_v4().to_string()] {
            assert!(
                matches!(parse(&format!("acme/web/blobs/uploads/{id}")).unwrap(), Endpoint::Upload(_, i) if i == id)
            );
        }
        assert!(matches!(
            parse(&format!("acme/web/referrers/{}", d())).unwrap(),
            Endpoint::Referrers(..)
        ));
        // A repository may itself be called "blobs" or "manifests".
        assert!(
            matches!(parse("acme/manifests/manifests/v1").unwrap(), Endpoint::Manifest(n, _) if n.as_str() == "acme/manifests")
        );
    }

    #[test]
    fn bad_paths() {
        let cases = [
            ("ACME/web/tags/list", "NAME_INVALID"),
            ("web/tags/list", "NAME_INVALID"),
            ("acme/../etc/manifests/x", "NAME_INVALID"),
            ("acme/web/manifests/-bad", "TAG_INVALID"),
            ("acme/web/manifests/sha256:abc", "DIGEST_INVALID"),
            ("acme/web/blobs/nope", "DIGEST_INVALID"),
            ("acme/web/blobs/uploads/../../x", "BLOB_UPLOAD_UNKNOWN"),
            ("acme/web/whatever", "NAME_UNKNOWN"),
        ];
        for (path, code) in cases {
            let refused = parse(path).expect_err(path);
            assert_eq!(refused.status_code().1, code, "{path}");
        }
    }
}
