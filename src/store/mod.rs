//! SQLite store: one writer thread with group commit, separate read connections.
//!
//! Everything the pipeline must not lose goes through [`writer`]; the API and CLI
//! read through [`reader`] without blocking ingest (WAL mode).

pub mod knowledge;
mod knowledge_reader;
pub mod outbox;
mod plant_reader;
pub mod reader;
mod schema;
mod settings;
pub mod writer;

pub use knowledge_reader::{ChunkRow, DocumentRow};
pub use outbox::dead_letters::{Action as DeadLetterAction, DeadLetterOp, DeadLetterRow};
pub use outbox::{
    AlertsWhenFull, EventKind, ItemKind, OutboxConfig, OutboxRow, OutboxSpec, Route, RouteConfig,
};
pub use plant_reader::ValueStats;
pub use reader::{AlertFilter, AlertRow, AlertSpan, Reader};
pub use settings::{StoreConfig, Synchronous};
pub use writer::{WriteBatch, WriteOp, Writer};

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create state directory {path}: {source} (set gateway.state-dir to a writable directory)")]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("the store writer has stopped")]
    WriterGone,
}

/// The database file inside a state directory.
pub fn db_path(state_dir: &Path) -> PathBuf {
    state_dir.join("edgewatch.db")
}

pub(crate) fn open_rw(path: &Path, full_sync: bool) -> Result<rusqlite::Connection, StoreError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::StateDir {
            path: dir.to_owned(),
            source,
        })?;
    }
    let open = |path: &Path| -> rusqlite::Result<rusqlite::Connection> {
        let mut conn = rusqlite::Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(
            None,
            "synchronous",
            if full_sync { "FULL" } else { "NORMAL" },
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::migrate(&mut conn)?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    };
    open(path).map_err(|source| StoreError::Open {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod outbox_tests;
