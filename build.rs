//! Embeds the browser bundle in the binary when `PORTCULLIS_EMBED_SITE`
//! names a built site (`scripts/lib.sh` sets it for the release server, after
//! building the site). Without it nothing is embedded and the server serves
//! the site from disk (`--site-root`, or `site/` next to its build folder).
//!
//! The bundle's own files (`pkg/portcullis.js`, `pkg/portcullis_bg.wasm`,
//! `pkg/portcullis.css`) get one content hash in their names
//! (`pkg/portcullis.<hash>.js`, …): the first 16 hex digits of a sha256 over
//! their names and contents, and over `router.js`'s (which pages load as
//! `/router.js?v=<hash>`: a new release's is fetched at once, not after the
//! hour a browser may keep `/router.js`). Every file is embedded as is and,
//! where that is smaller, gzipped and brotli-compressed too. The generated table is
//! `src/embedded.rs`'s `FILES`.

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

const ENV: &str = "PORTCULLIS_EMBED_SITE";
/// The bundle's files: `pkg/` + the output name.
const BUNDLE_PREFIX: &str = "pkg/portcullis";
/// The in-place navigation script (public/router.js), in the hash too.
const ROUTER: &str = "router.js";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed={ENV}");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let table = match std::env::var_os(ENV).filter(|v| !v.is_empty()) {
        None => "pub const BUNDLE_HASH: Option<&str> = None;\n\
                 pub static FILES: &[EmbeddedFile] = &[];\n"
            .to_owned(),
        Some(site) => embed(Path::new(&site), &out_dir),
    };
    std::fs::write(out_dir.join("embedded_site.rs"), table).expect("write embedded_site.rs");
}

fn embed(site: &Path, out_dir: &Path) -> String {
    let site = site
        .canonicalize()
        .unwrap_or_else(|e| panic!("{ENV}={}: {e}", site.display()));
    println!("cargo:rerun-if-changed={}", site.display());
    let mut files = Vec::new();
    walk(&site, &site, &mut files);
    files.sort();
    assert!(
        files.iter().any(|(rel, _)| rel == "pkg/portcullis_bg.wasm"),
        "{ENV}={}: no pkg/portcullis_bg.wasm (build the site first)",
        site.display()
    );

    let mut hasher = Sha256::new();
    for (rel, path) in files
        .iter()
        .filter(|(rel, _)| is_bundle(rel) || rel == ROUTER)
    {
        hasher.update(rel.as_bytes());
        hasher.update([0]);
        hasher.update(std::fs::read(path).expect("read"));
    }
    let hash: String = hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();

    let copies_dir = out_dir.join("site-compressed");
    let _ = std::fs::remove_dir_all(&copies_dir);
    let mut table = format!("pub const BUNDLE_HASH: Option<&str> = Some({hash:?});\n");
    table.push_str("pub static FILES: &[EmbeddedFile] = &[\n");
    for (i, (rel, path)) in files.iter().enumerate() {
        println!("cargo:rerun-if-changed={}", path.display());
        let bytes = std::fs::read(path).expect("read");
        let (url, immutable) = if is_bundle(rel) {
            let rest = &rel[BUNDLE_PREFIX.len()..];
            (format!("/{BUNDLE_PREFIX}.{hash}{rest}"), true)
        } else {
            (format!("/{rel}"), false)
        };
        let etag: String = Sha256::digest(&bytes)
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        // A compressed copy only where it saves more than its header's worth.
        let compressed = |copy: Option<Vec<u8>>, ext: &str| match copy {
            Some(c) if c.len() + 64 < bytes.len() => {
                std::fs::create_dir_all(&copies_dir).expect("mkdir");
                let copy_path = copies_dir.join(format!("{i}.{ext}"));
                std::fs::write(&copy_path, c).expect("write a compressed copy");
                format!(
                    "Some(include_bytes!({:?}))",
                    copy_path.display().to_string()
                )
            }
            _ => "None".to_owned(),
        };
        let gzip = compressed(gzip(&bytes), "gz");
        let brotli = compressed(brotli(&bytes), "br");
        table.push_str(&format!(
            "    EmbeddedFile {{ path: {url:?}, immutable: {immutable}, etag: {etag:?}, \
             body: include_bytes!({:?}), gzip: {gzip}, brotli: {brotli} }},\n",
            path.display().to_string()
        ));
    }
    table.push_str("];\n");
    table
}

fn is_bundle(rel: &str) -> bool {
    rel.starts_with(BUNDLE_PREFIX) && !rel[BUNDLE_PREFIX.len()..].contains('/')
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("dir entry").path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            continue;
        }
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            walk(root, &path, files);
        } else {
            let rel = path.strip_prefix(root).expect("under root");
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            files.push((rel, path));
        }
    }
}

/// Brotli at its best (quality 11, a 16 MiB window): measured on the release
/// wasm, 434 KB against gzip's 588 KB (about 10 s here, once per bundle).
fn brotli(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut enc = brotli::CompressorWriter::new(Vec::new(), 64 * 1024, 11, 24);
    enc.write_all(bytes).ok()?;
    Some(enc.into_inner())
}

fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).ok()?;
    enc.finish().ok()
}
