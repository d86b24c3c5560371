//! Content-addressed blob storage, two backends behind one type: a folder
//! in the data directory (the default) or an S3-compatible bucket
//! (`PORTCULLIS_STORAGE=s3://bucket/prefix`, through `object_store`'s S3
//! client). Upload chunks are separate objects `_uploads/<id>.<part>` (the
//! upload session, in the database, lists its parts in order), verified and
//! moved into `blobs/<alg>/<xx>/<hex>` only when the upload completes, so
//! nothing a client can read exists before its digest has been checked.
//!
//! In a bucket, a chunk is one `PUT` when it is at most 8 MiB, else an S3
//! multipart upload of 8 MiB parts (at most two in flight): never a whole
//! blob in memory. Closing a one-chunk upload is a server-side copy;
//! several chunks are streamed into one multipart upload.
//!
//! The local backend writes and moves files itself, one blocking task per
//! step (a chunk of up to 8 MiB is one `write`; closing a one-chunk upload
//! is one `rename`), rather than through `object_store`'s staged multipart
//! files and per-upload directories. As before, nothing is fsynced: a
//! blob is in the kernel's page cache, complete and under its final name,
//! before the upload is answered (it survives the process, as the
//! database's `synchronous = NORMAL` commits do).

use bytes::Bytes;
use domain::oci::Digest;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, WriteMultipart};
use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

#[derive(Clone, Debug)]
pub struct BlobStorage {
    store: Arc<dyn ObjectStore>,
    /// For the local backend: where the files are, for fast reads.
    local_root: Option<PathBuf>,
    /// Recently served local blobs, mapped (blobs never change once written).
    maps: Arc<std::sync::Mutex<HashMap<String, Bytes>>>,
    /// What the storage is, for logs and `/healthz` (no credentials).
    label: String,
}

/// Where blobs are kept: `PORTCULLIS_STORAGE` / `--storage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageSpec {
    /// The `blobs/` and `_uploads/` folders in the data directory.
    Folder,
    /// An S3-compatible bucket, objects under `prefix` (may be empty).
    S3 { bucket: String, prefix: String },
}

impl StorageSpec {
    /// `None` or empty: the folder; `s3://bucket[/prefix]`: a bucket.
    pub fn parse(value: Option<&str>) -> anyhow::Result<Self> {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(StorageSpec::Folder);
        };
        let Some(rest) = value.strip_prefix("s3://") else {
            anyhow::bail!("storage must be s3://bucket/prefix (or unset for the data directory), not {value:?}");
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            anyhow::bail!("storage {value:?} names no bucket");
        }
        Ok(StorageSpec::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }
}

/// How many mapped blobs to keep (they cost address space, not memory).
const MAPPED_BLOBS: usize = 256;

pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

impl BlobStorage {
    /// Local filesystem storage under `root` (created if missing).
    pub fn local(root: PathBuf) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&root)?;
        let root = root.canonicalize()?;
        let store = LocalFileSystem::new_with_prefix(&root)?;
        Ok(Self {
            store: Arc::new(store),
            label: format!("folder {}", root.display()),
            local_root: Some(root),
            maps: Arc::default(),
        })
    }

    /// The storage `spec` names; the folder is `data_dir`. A bucket's
    /// credentials, region and endpoint come from the standard variables
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
    /// `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, …: `AmazonS3Builder::from_env`).
    pub fn open(spec: &StorageSpec, data_dir: &std::path::Path) -> anyhow::Result<Self> {
        match spec {
            StorageSpec::Folder => Self::local(data_dir.to_path_buf()),
            StorageSpec::S3 { bucket, prefix } => {
                let s3 = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()?;
                let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(
                        s3,
                        ObjectPath::from(prefix.as_str()),
                    ))
                };
                Ok(Self {
                    store,
                    local_root: None,
                    maps: Arc::default(),
                    label: match prefix.as_str() {
                        "" => format!("s3://{bucket}"),
                        p => format!("s3://{bucket}/{p}"),
                    },
                })
            }
        }
    }

    /// What this storage is (no secrets in it).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Whether the storage answers: the folder exists, or the bucket
    /// answers a `HEAD` (a missing object is a fine answer).
    pub async fn check(&self) -> Result<(), String> {
        if let Some(root) = &self.local_root {
            return match tokio::fs::metadata(root).await {
                Ok(m) if m.is_dir() => Ok(()),
                Ok(_) => Err(format!("{} is not a directory", root.display())),
                Err(e) => Err(format!("{}: {e}", root.display())),
            };
        }
        match self.store.head(&ObjectPath::from("_health")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn blob_path(digest: &Digest) -> ObjectPath {
        let hex = digest.hex();
        ObjectPath::from(format!(
            "blobs/{}/{}/{}",
            digest.algorithm().as_str(),
            &hex[..2],
            hex
        ))
    }

    fn chunk_path(upload: &str, part: &str) -> ObjectPath {
        ObjectPath::from(format!("_uploads/{upload}.{part}"))
    }

    /// A path of the local backend, as a file.
    fn file(root: &std::path::Path, path: &ObjectPath) -> PathBuf {
        root.join(path.as_ref())
    }

    /// Streams `body` into chunk `part` of `upload`, feeding every byte to
    /// `observe` (hashing). On any error the partial chunk is removed.
    pub async fn write_chunk<S, E>(
        &self,
        upload: &str,
        part: &str,
        mut body: S,
        mut observe: impl FnMut(&[u8]) + Send,
    ) -> Result<u64, ChunkError>
    where
        S: futures::Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let path = Self::chunk_path(upload, part);
        if let Some(root) = &self.local_root {
            let body = body.map_err(|e| e.to_string());
            return write_local(Self::file(root, &path), body, observe).await;
        }
        // One PUT up to 8 MiB, else a multipart upload of 8 MiB parts.
        let mut writer =
            object_store::buffered::BufWriter::with_capacity(self.store.clone(), path, PART)
                .with_max_concurrency(2);
        let mut written = 0u64;
        while let Some(frame) = body.next().await {
            let failed = match frame {
                Ok(bytes) => {
                    observe(&bytes);
                    written += bytes.len() as u64;
                    match writer.write_all(&bytes).await {
                        Ok(()) => continue,
                        Err(e) => ChunkError::Storage(io_error(e)),
                    }
                }
                Err(e) => ChunkError::Body(e.to_string()),
            };
            let _ = writer.abort().await;
            return Err(failed);
        }
        if written == 0 {
            // Nothing to keep: an empty body adds no chunk.
            let _ = writer.abort().await;
            return Ok(0);
        }
        if let Err(e) = writer.shutdown().await {
            let _ = writer.abort().await;
            return Err(ChunkError::Storage(io_error(e)));
        }
        Ok(written)
    }

    /// The chunks of an upload, concatenated, as a stream.
    pub fn read_chunks(&self, upload: &str, parts: &[String]) -> ByteStream {
        let store = self.store.clone();
        let paths: Vec<ObjectPath> = parts.iter().map(|p| Self::chunk_path(upload, p)).collect();
        futures::stream::iter(paths)
            .then(move |p| {
                let store = store.clone();
                async move { store.get(&p).await.map(|r| r.into_stream()) }
            })
            .try_flatten()
            .map_err(std::io::Error::other)
            .boxed()
    }

    /// Makes a verified upload the blob `digest`.
    pub async fn commit(
        &self,
        upload: &str,
        parts: &[String],
        digest: &Digest,
    ) -> object_store::Result<()> {
        let target = Self::blob_path(digest);
        if let Some(root) = &self.local_root {
            let chunks: Vec<PathBuf> = parts
                .iter()
                .map(|p| Self::file(root, &Self::chunk_path(upload, p)))
                .collect();
            let whole = root.join(format!("_uploads/{upload}.blob"));
            let target = Self::file(root, &target);
            return blocking(move || commit_local(&chunks, &whole, &target)).await;
        }
        match parts {
            [] => {
                self.store.put(&target, Bytes::new().into()).await?;
            }
            [one] => {
                self.store
                    .rename(&Self::chunk_path(upload, one), &target)
                    .await?;
            }
            several => {
                let handle = self.store.put_multipart(&target).await?;
                let mut writer = WriteMultipart::new_with_chunk_size(handle, PART);
                let mut stream = self.read_chunks(upload, several);
                while let Some(bytes) = stream.next().await {
                    match bytes {
                        Ok(b) => writer.write(&b),
                        Err(e) => {
                            let _ = writer.abort().await;
                            return Err(object_store::Error::Generic {
                                store: "portcullis",
                                source: Box::new(e),
                            });
                        }
                    }
                }
                writer.finish().await?;
            }
        }
        self.discard(upload, parts).await;
        Ok(())
    }

    /// Removes an upload's chunks (cancel, failure, cleanup).
    pub async fn discard(&self, upload: &str, parts: &[String]) {
        if let Some(root) = &self.local_root {
            let mut files: Vec<PathBuf> = parts
                .iter()
                .map(|p| Self::file(root, &Self::chunk_path(upload, p)))
                .collect();
            files.push(root.join(format!("_uploads/{upload}.blob")));
            let _ = tokio::task::spawn_blocking(move || {
                for f in files {
                    let _ = std::fs::remove_file(f);
                }
            })
            .await;
            return;
        }
        for p in parts {
            let _ = self.store.delete(&Self::chunk_path(upload, p)).await;
        }
    }

    /// The upload objects (chunks, a local upload's whole file) last
    /// written before `before`, with the upload id each belongs to: what
    /// the sweeper may delete when no session names them any more.
    pub async fn upload_objects_before(
        &self,
        before: chrono::DateTime<chrono::Utc>,
    ) -> Vec<(String, ObjectPath)> {
        let prefix = ObjectPath::from("_uploads");
        let listed: Vec<object_store::ObjectMeta> =
            match self.store.list(Some(&prefix)).try_collect().await {
                Ok(l) => l,
                Err(object_store::Error::NotFound { .. }) => Vec::new(),
                Err(e) => {
                    tracing::warn!(error = %e, "listing upload chunks failed");
                    Vec::new()
                }
            };
        listed
            .into_iter()
            .filter(|m| m.last_modified < before)
            .filter_map(|m| {
                let id = m.location.filename()?.split('.').next()?.to_owned();
                Some((id, m.location))
            })
            .collect()
    }

    /// Deletes one object (a leftover upload chunk).
    pub async fn delete_object(&self, path: &ObjectPath) {
        if let Err(e) = self.store.delete(path).await {
            if !matches!(e, object_store::Error::NotFound { .. }) {
                tracing::warn!(error = %e, %path, "deleting a leftover upload chunk failed");
            }
        }
    }

    /// Reads a blob, whole or a byte range of it.
    pub async fn read(
        &self,
        digest: &Digest,
        range: Option<Range<u64>>,
    ) -> object_store::Result<ByteStream> {
        let path = Self::blob_path(digest);
        if let Some(root) = &self.local_root {
            // Fast path: map the file and hand the pages to the socket
            // without copying them through a read buffer.
            let file_path = root.join(path.as_ref());
            let not_found = |e: std::io::Error| object_store::Error::NotFound {
                path: path.to_string(),
                source: Box::new(e),
            };
            let cached = self
                .maps
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(digest.as_str())
                .cloned();
            let bytes = match cached {
                Some(b) => b,
                None => {
                    let b = tokio::task::spawn_blocking(move || {
                        map_file(&std::fs::File::open(file_path)?)
                    })
                    .await
                    .map_err(|e| object_store::Error::Generic {
                        store: "local",
                        source: Box::new(e),
                    })?
                    .map_err(not_found)?;
                    let mut maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
                    if maps.len() >= MAPPED_BLOBS {
                        maps.clear();
                    }
                    maps.insert(digest.to_string(), b.clone());
                    b
                }
            };
            let bytes = match range {
                Some(r) => bytes.slice(r.start as usize..(r.end as usize).min(bytes.len())),
                None => bytes,
            };
            return Ok(futures::stream::once(async move { Ok(bytes) }).boxed());
        }
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        let result = self.store.get_opts(&path, options).await?;
        Ok(result.into_stream().map_err(std::io::Error::other).boxed())
    }
}

/// What the local backend buffers before it writes (one `write` call per
/// this much of a chunk).
const LOCAL_WRITE: usize = 8 * 1024 * 1024;

/// A bucket's multipart part size (S3 wants at least 5 MiB but the last).
const PART: usize = 8 * 1024 * 1024;

fn io_error(e: std::io::Error) -> object_store::Error {
    object_store::Error::Generic {
        store: "local",
        source: Box::new(e),
    }
}

/// Runs file work on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> object_store::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| object_store::Error::Generic {
            store: "local",
            source: Box::new(e),
        })?
        .map_err(io_error)
}

/// Streams `body` into the file `path` (created at the first bytes: an
/// empty body creates nothing), buffering up to [`LOCAL_WRITE`] between
/// writes. On any error the partial file is removed.
async fn write_local(
    path: PathBuf,
    mut body: impl futures::Stream<Item = Result<Bytes, String>> + Unpin + Send,
    mut observe: impl FnMut(&[u8]) + Send,
) -> Result<u64, ChunkError> {
    let mut file: Option<std::fs::File> = None;
    let mut pending: Vec<Bytes> = Vec::new();
    let mut pending_bytes = 0;
    let mut written = 0u64;
    loop {
        let frame = body.next().await;
        let end = frame.is_none();
        match frame {
            Some(Ok(bytes)) => {
                observe(&bytes);
                written += bytes.len() as u64;
                pending_bytes += bytes.len();
                pending.push(bytes);
            }
            Some(Err(e)) => {
                if file.is_some() {
                    let _ = blocking(move || std::fs::remove_file(path)).await;
                }
                return Err(ChunkError::Body(e));
            }
            None => {}
        }
        if pending_bytes >= LOCAL_WRITE || (end && pending_bytes > 0) {
            let (open, at, out) = (file.take(), path.clone(), std::mem::take(&mut pending));
            pending_bytes = 0;
            let result = blocking(move || {
                use std::io::Write;
                let mut f = match open {
                    Some(f) => f,
                    None => create(&at)?,
                };
                for b in &out {
                    f.write_all(b)?;
                }
                Ok(f)
            })
            .await;
            match result {
                Ok(f) => file = Some(f),
                Err(e) => {
                    let _ = blocking(move || std::fs::remove_file(path)).await;
                    return Err(ChunkError::Storage(e));
                }
            }
        }
        if end {
            return Ok(written);
        }
    }
}

/// Creates a file, and its directory if that is missing.
fn create(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    match std::fs::File::create(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(path.parent().expect("a file has a directory"))?;
            std::fs::File::create(path)
        }
        other => other,
    }
}

/// Moves a verified upload's chunks to `target`: a rename for one chunk,
/// else a copy (in the kernel where it can) into `whole`, then a rename.
fn commit_local(
    chunks: &[PathBuf],
    whole: &std::path::Path,
    target: &std::path::Path,
) -> std::io::Result<()> {
    let source = match chunks {
        [one] => one.as_path(),
        _ => {
            let mut out = create(whole)?;
            for c in chunks {
                std::io::copy(&mut std::fs::File::open(c)?, &mut out)?;
            }
            drop(out);
            for c in chunks {
                let _ = std::fs::remove_file(c);
            }
            whole
        }
    };
    match std::fs::rename(source, target) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && source.exists() => {
            std::fs::create_dir_all(target.parent().expect("a blob path has a parent"))?;
            std::fs::rename(source, target)
        }
        other => other,
    }
}

/// The whole file as `Bytes` backed by a read-only memory map.
#[allow(unsafe_code)]
fn map_file(file: &std::fs::File) -> std::io::Result<Bytes> {
    if file.metadata()?.len() == 0 {
        return Ok(Bytes::new());
    }
    // SAFETY: blob files are written once (to a temporary name, then renamed
    // into place) and never modified or truncated afterwards; deleting one
    // does not affect an existing mapping. So the mapped bytes cannot change
    // under us.
    let map = unsafe { memmap2::MmapOptions::new().populate().map(file)? };
    Ok(Bytes::from_owner(map))
}

#[derive(Debug)]
pub enum ChunkError {
    /// The client's body failed (disconnect).
    Body(String),
    Storage(object_store::Error),
}

#[cfg(test)]
mod tests {
    use super::StorageSpec;

    #[test]
    fn storage_specs() {
        assert_eq!(StorageSpec::parse(None).unwrap(), StorageSpec::Folder);
        assert_eq!(StorageSpec::parse(Some(" ")).unwrap(), StorageSpec::Folder);
        let s3 = |bucket: &str, prefix: &str| StorageSpec::S3 {
            bucket: bucket.into(),
            prefix: prefix.into(),
        };
        assert_eq!(StorageSpec::parse(Some("s3://b")).unwrap(), s3("b", ""));
        assert_eq!(StorageSpec::parse(Some("s3://b/")).unwrap(), s3("b", ""));
        assert_eq!(
            StorageSpec::parse(Some("s3://b/a/c/")).unwrap(),
            s3("b", "a/c")
        );
        assert!(StorageSpec::parse(Some("s3:///x")).is_err());
        assert!(StorageSpec::parse(Some("/var/blobs")).is_err());
        assert!(StorageSpec::parse(Some("gs://b")).is_err());
    }
}
