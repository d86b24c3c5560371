//! The registry's one error type: the OCI distribution error codes, mapped
//! to status and JSON once, in `IntoResponse`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::oci::OciParseError;
use domain::store::StoreError;

#[derive(Debug)]
pub enum RegistryError {
    BlobUnknown,
    BlobUploadInvalid(String),
    BlobUploadUnknown,
    DigestInvalid(String),
    ManifestBlobUnknown(String),
    ManifestInvalid(String),
    ManifestUnknown,
    NameInvalid(String),
    NameUnknown,
    SizeInvalid(String),
    TagInvalid(String),
    Unauthorized,
    Denied(String),
    Unsupported(String),
    /// 416 for an out-of-order chunk; carries the upload's location and
    /// current size, so the client can resume from the answer.
    RangeNotSatisfiable {
        location: String,
        size: u64,
    },
    /// 405: this deletion is disabled (immutable tags); the message says why.
    DeleteDisabled(String),
    /// 409: the tag exists and the org's tags are immutable.
    TagImmutable(String),
    /// 413: over the manifest size limit.
    ManifestTooLarge,
    /// 405 for methods an endpoint does not have.
    MethodNotAllowed,
    /// Details go to the log; the client gets a generic message.
    Internal(String),
}

impl RegistryError {
    /// The status and the OCI error code.
    pub(super) fn status_code(&self) -> (StatusCode, &'static str) {
        use RegistryError::*;
        match self {
            BlobUnknown => (StatusCode::NOT_FOUND, "BLOB_UNKNOWN"),
            BlobUploadInvalid(_) => (StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID"),
            BlobUploadUnknown => (StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN"),
            DigestInvalid(_) => (StatusCode::BAD_REQUEST, "DIGEST_INVALID"),
            ManifestBlobUnknown(_) => (StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN"),
            ManifestInvalid(_) => (StatusCode::BAD_REQUEST, "MANIFEST_INVALID"),
            ManifestUnknown => (StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN"),
            NameInvalid(_) => (StatusCode::BAD_REQUEST, "NAME_INVALID"),
            NameUnknown => (StatusCode::NOT_FOUND, "NAME_UNKNOWN"),
            SizeInvalid(_) => (StatusCode::BAD_REQUEST, "SIZE_INVALID"),
            TagInvalid(_) => (StatusCode::BAD_REQUEST, "TAG_INVALID"),
            Unauthorized => (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            Denied(_) => (StatusCode::FORBIDDEN, "DENIED"),
            Unsupported(_) => (StatusCode::BAD_REQUEST, "UNSUPPORTED"),
            RangeNotSatisfiable { .. } => {
                (StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID")
            }
            DeleteDisabled(_) => (StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED"),
            TagImmutable(_) => (StatusCode::CONFLICT, "DENIED"),
            ManifestTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID"),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED"),
            Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "UNKNOWN"),
        }
    }

    /// The message for the client (never an internal error's detail).
    fn message(&self) -> String {
        use RegistryError::*;
        match self {
            BlobUploadInvalid(m) | DigestInvalid(m) | ManifestInvalid(m) | NameInvalid(m)
            | SizeInvalid(m) | TagInvalid(m) | Denied(m) | Unsupported(m) | DeleteDisabled(m) => {
                m.clone()
            }
            BlobUnknown => "blob unknown to registry".into(),
            BlobUploadUnknown => "blob upload unknown to registry".into(),
            ManifestBlobUnknown(d) => format!("manifest references unknown content {d}"),
            ManifestUnknown => "manifest unknown to registry".into(),
            NameUnknown => "repository name not known to registry".into(),
            Unauthorized => "authentication required".into(),
            RangeNotSatisfiable { size, .. } => format!(
                "chunk is out of order or its Content-Range is not <start>-<end>: \
                 the next chunk starts at byte {size}"
            ),
            TagImmutable(t) => {
                format!("tag {t} already exists and tags are immutable in this organization")
            }
            ManifestTooLarge => "manifest is larger than 4 MiB".into(),
            MethodNotAllowed => "the operation is unsupported".into(),
            Internal(_) => "internal error".into(),
        }
    }
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        if let RegistryError::Internal(detail) = &self {
            tracing::error!(%detail, "registry internal error");
        }
        let (status, code) = self.status_code();
        let message = self.message();
        let body = serde_json::json!({"errors": [{"code": code, "message": message}]}).to_string();
        let mut resp = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        let headers = resp.headers_mut();
        headers.insert(
            "Docker-Distribution-API-Version",
            HeaderValue::from_static("registry/2.0"),
        );
        match self {
            RegistryError::Unauthorized => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"Portcullis\""),
                );
            }
            RegistryError::RangeNotSatisfiable { location, size } => {
                // What a status GET would answer: where to continue, and
                // the range received so far ("0-0" when empty, as docker's
                // registry does).
                if let Ok(v) = HeaderValue::from_str(&format!("0-{}", size.saturating_sub(1))) {
                    headers.insert(header::RANGE, v);
                }
                if let Ok(v) = HeaderValue::from_str(&location) {
                    headers.insert(header::LOCATION, v);
                }
                if let Some(id) = location.rsplit('/').next() {
                    if let Ok(v) = HeaderValue::from_str(id) {
                        headers.insert("Docker-Upload-UUID", v);
                    }
                }
            }
            RegistryError::DeleteDisabled(_) => {
                headers.insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, PUT"));
            }
            _ => {}
        }
        resp
    }
}

impl From<OciParseError> for RegistryError {
    fn from(e: OciParseError) -> Self {
        match e {
            OciParseError::Name(m) => RegistryError::NameInvalid(m),
            OciParseError::Tag(m) => RegistryError::TagInvalid(m),
            OciParseError::Digest(m) => RegistryError::DigestInvalid(m),
        }
    }
}

impl From<StoreError> for RegistryError {
    fn from(e: StoreError) -> Self {
        RegistryError::Internal(e.to_string())
    }
}

impl From<object_store::Error> for RegistryError {
    fn from(e: object_store::Error) -> Self {
        RegistryError::Internal(format!("blob storage: {e}"))
    }
}

pub type RegistryResult<T> = Result<T, RegistryError>;
