//! Content-addressed blob storage through `object_store`: the local
//! filesystem under the data directory by default. Upload chunks are
//! separate objects `_uploads/<id>.<n>`, verified and moved into
//! `blobs/<alg>/<xx>/<hex>` only when the upload completes, so nothing a
//! client can read exists before its digest has been checked.
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

#[derive(Clone, Debug)]
pub struct BlobStorage {
    store: Arc<dyn ObjectStore>,
    /// For the local backend: where the files are, for fast reads.
    local_root: Option<PathBuf>,
    /// Recently served local blobs, mapped (blobs never change once written).
    maps: Arc<std::sync::Mutex<HashMap<String, Bytes>>>,
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
            local_root: Some(root),
            maps: Arc::default(),
        })
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

    fn chunk_path(upload: &str, index: u32) -> ObjectPath {
        ObjectPath::from(format!("_uploads/{upload}.{index:08}"))
    }

    /// A path of the local backend, as a file.
    fn file(root: &std::path::Path, path: &ObjectPath) -> PathBuf {
        root.join(path.as_ref())
    }

    /// Streams `body` into chunk `index` of `upload`, feeding every byte to
    /// `observe` (hashing). On any error the partial chunk is removed.
    pub async fn write_chunk<S, E>(
        &self,
        upload: &str,
        index: u32,
        mut body: S,
        mut observe: impl FnMut(&[u8]) + Send,
    ) -> Result<u64, ChunkError>
    where
        S: futures::Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let path = Self::chunk_path(upload, index);
        if let Some(root) = &self.local_root {
            return write_local(Self::file(root, &path), body, observe).await;
        }
        let upload_handle = self
            .store
            .put_multipart(&path)
            .await
            .map_err(ChunkError::Storage)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload_handle, 8 * 1024 * 1024);
        let mut written = 0u64;
        while let Some(frame) = body.next().await {
            match frame {
                Ok(bytes) => {
                    observe(&bytes);
                    written += bytes.len() as u64;
                    writer.write(&bytes);
                }
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(ChunkError::Body(e.to_string()));
                }
            }
        }
        writer.finish().await.map_err(ChunkError::Storage)?;
        Ok(written)
    }

    /// The chunks of an upload, concatenated, as a stream.
    pub fn read_chunks(&self, upload: &str, chunks: u32) -> ByteStream {
        let store = self.store.clone();
        let paths: Vec<ObjectPath> = (0..chunks).map(|i| Self::chunk_path(upload, i)).collect();
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
        chunks: u32,
        digest: &Digest,
    ) -> object_store::Result<()> {
        let target = Self::blob_path(digest);
        if let Some(root) = &self.local_root {
            let chunks: Vec<PathBuf> = (0..chunks)
                .map(|i| Self::file(root, &Self::chunk_path(upload, i)))
                .collect();
            let whole = root.join(format!("_uploads/{upload}.blob"));
            let target = Self::file(root, &target);
            return blocking(move || commit_local(&chunks, &whole, &target)).await;
        }
        match chunks {
            0 => {
                self.store.put(&target, Bytes::new().into()).await?;
            }
            1 => {
                self.store
                    .rename(&Self::chunk_path(upload, 0), &target)
                    .await?;
            }
            n => {
                let handle = self.store.put_multipart(&target).await?;
                let mut writer = WriteMultipart::new_with_chunk_size(handle, 8 * 1024 * 1024);
                let mut stream = self.read_chunks(upload, n);
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
        self.discard(upload, chunks).await;
        Ok(())
    }

    /// Removes an upload's chunks (cancel, failure, cleanup).
    pub async fn discard(&self, upload: &str, chunks: u32) {
        if let Some(root) = &self.local_root {
            let mut files: Vec<PathBuf> = (0..chunks)
                .map(|i| Self::file(root, &Self::chunk_path(upload, i)))
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
        for i in 0..chunks {
            let _ = self.store.delete(&Self::chunk_path(upload, i)).await;
        }
    }

    /// Removes every upload left behind (at start: sessions live in memory).
    pub async fn discard_all_uploads(&self) {
        if let Some(root) = &self.local_root {
            let uploads = root.join("_uploads");
            let _ = tokio::fs::remove_dir_all(&uploads).await;
            if let Err(e) = tokio::fs::create_dir_all(&uploads).await {
                tracing::error!(error = %e, "cannot create {}", uploads.display());
            }
        } else {
            let prefix = ObjectPath::from("_uploads");
            let list: Vec<_> = self
                .store
                .list(Some(&prefix))
                .map_ok(|m| m.location)
                .try_collect()
                .await
                .unwrap_or_default();
            for p in list {
                let _ = self.store.delete(&p).await;
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
async fn write_local<S, E>(
    path: PathBuf,
    mut body: S,
    mut observe: impl FnMut(&[u8]) + Send,
) -> Result<u64, ChunkError>
where
    S: futures::Stream<Item = Result<Bytes, E>> + Unpin + Send,
    E: std::fmt::Display,
{
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
                return Err(ChunkError::Body(e.to_string()));
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
