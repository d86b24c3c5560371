//! Configuration shared by `serve` and the admin commands: flags with
//! environment fallbacks (SPEC §8).

use clap::Args;
use domain::store::{DynStore, PgStore, SqliteStore, StoreError};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(
        long,
        env = "PORTCULLIS_LISTEN",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub listen: SocketAddr,

    /// Directory for the database and blobs.
    #[arg(
        long,
        env = "PORTCULLIS_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Database URL (default: a SQLite file in the data directory).
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Where blobs are kept: `s3://bucket/prefix` for an S3-compatible
    /// bucket (credentials, region and endpoint from AWS_ACCESS_KEY_ID,
    /// AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL, AWS_ALLOW_HTTP);
    /// default: the data directory.
    #[arg(long, env = "PORTCULLIS_STORAGE", global = true)]
    pub storage: Option<String>,

    /// When set, `GET /metrics` answers only `Authorization: Bearer <this>`
    /// (default: open; it shows no names and nothing secret).
    #[arg(
        long,
        env = "PORTCULLIS_METRICS_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,

    /// Public base URL, the host shown in pull commands (default: from --listen).
    #[arg(long, env = "PORTCULLIS_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// Directory of the browser assets (`pkg/`), for development; default: the
    /// bundle embedded in the binary (release builds of `scripts/`), else
    /// `site/` next to the binary's target directory, as the build lays it out.
    #[arg(long, env = "PORTCULLIS_SITE_ROOT", global = true)]
    pub site_root: Option<PathBuf>,
}

impl Config {
    /// The public URL without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url().starts_with("https://")
    }

    /// Serve the browser bundle compiled into the binary: there is one, and
    /// no `--site-root` overrides it.
    pub fn embedded_site(&self) -> bool {
        self.site_root.is_none() && crate::embedded::BUNDLE_HASH.is_some()
    }

    pub fn site_root(&self) -> PathBuf {
        if let Some(root) = &self.site_root {
            return root.clone();
        }
        // target/{debug,release}/portcullis -> target/site
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent()?.parent().map(|t| t.join("site")))
            .filter(|p| p.join("pkg").is_dir())
            .unwrap_or_else(|| PathBuf::from("target/site"))
    }

    /// Opens the store named by the configuration, creating the data
    /// directory and applying migrations.
    pub async fn open_store(&self) -> anyhow::Result<(DynStore, sqlx_pool::Pool)> {
        let opened = |e: StoreError| anyhow::anyhow!("cannot open the database: {e}");
        let store = match self.database_url.as_deref() {
            None => {
                std::fs::create_dir_all(&self.data_dir).map_err(|e| {
                    anyhow::anyhow!(
                        "cannot create data directory {}: {e}",
                        self.data_dir.display()
                    )
                })?;
                SqliteStore::open_file(&self.data_dir.join("portcullis.db")).await
            }
            Some(url) if url.starts_with("sqlite:") => SqliteStore::connect(url).await,
            Some(url) if url.starts_with("postgres:") || url.starts_with("postgresql:") => {
                // A writer returns once every live server applied its
                // change (the admin CLI as a server's own writes).
                let store = PgStore::connect(url)
                    .await
                    .map_err(opened)?
                    .wait_for_readers(crate::changes::ALIVE, WRITER_WAIT);
                let pool = store.pool().clone();
                return Ok((Arc::new(store), sqlx_pool::Pool::Postgres(pool)));
            }
            Some(_) => {
                anyhow::bail!("DATABASE_URL must start with sqlite:, postgres: or postgresql:")
            }
        }
        .map_err(opened)?;
        let pool = store.pool().clone();
        Ok((Arc::new(store), sqlx_pool::Pool::Sqlite(pool)))
    }
}

/// The longest a writer on PostgreSQL waits for the other servers to apply
/// its change (a server that stopped reporting is not waited for at all).
pub const WRITER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The database pool, for what shares it with the store (sessions).
pub mod sqlx_pool {
    pub enum Pool {
        Sqlite(sqlx::SqlitePool),
        Postgres(sqlx::PgPool),
    }
}
