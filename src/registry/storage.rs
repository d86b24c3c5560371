//! Content-addressed blob storage through `object_store`: the local
//! filesystem under the data directory by default. Upload chunks are
//! separate objects under `_uploads/<id>/`, verified and moved into
//! `blobs/<alg>/<xx>/<hex>` only when the upload completes, so nothing a
//! client can read exists before its digest has been checked.

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
        ObjectPath::from(format!("_uploads/{upload}/{index:08}"))
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
        for i in 0..chunks {
            let _ = self.store.delete(&Self::chunk_path(upload, i)).await;
        }
        if let Some(root) = &self.local_root {
            let _ = tokio::fs::remove_dir(root.join("_uploads").join(upload)).await;
        }
    }

    /// Removes every upload left behind (at start: sessions live in memory).
    pub async fn discard_all_uploads(&self) {
        if let Some(root) = &self.local_root {
            let _ = tokio::fs::remove_dir_all(root.join("_uploads")).await;
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
