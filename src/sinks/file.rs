//! File sink: JSON lines (one envelope per line), fsynced before the rows count as
//! delivered, rotated by size and age, for sneakernet export from air-gapped sites.
//! Every start opens a new file, so a line torn by a crash never has a successor
//! in the same file.

use super::batch::{self, Deliver, Failure};
use super::kind::{Checks, SinkKind};
use super::retry::RetryConfig;
use super::SinkError;
use super::{envelope, PendingHandle};
use crate::issues::Issues;
use crate::store::{OutboxConfig, RouteConfig};
use crate::store::{OutboxRow, WriteOp};
use bytesize::ByteSize;
use serde::Deserialize;
use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// `[[sinks.file]]`: JSON lines in rotated files (a USB stick, a share, a debugging tap).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FileSinkConfig {
    /// Unique among sinks; the file name prefix.
    pub name: String,
    /// Directory for `NAME-YYYYmmddTHHMMSSZ.jsonl` files (created if missing).
    pub dir: PathBuf,
    /// Start a new file above this size.
    #[serde(default = "default_rotate_size")]
    pub rotate_size: ByteSize,
    /// Start a new file after this long.
    #[serde(default = "default_rotate_age", with = "humantime_serde")]
    pub rotate_age: Duration,
    /// Oldest files are deleted beyond this many (0 keeps all).
    #[serde(default = "default_keep_files")]
    pub keep_files: usize,
    /// Which events this sink receives.
    #[serde(default)]
    pub route: RouteConfig,
    /// This sink's queue budget.
    #[serde(default)]
    pub outbox: OutboxConfig,
}

fn default_rotate_size() -> ByteSize {
    ByteSize::mib(16)
}
fn default_rotate_age() -> Duration {
    Duration::from_secs(86_400)
}
fn default_keep_files() -> usize {
    30
}

pub struct FileSink {
    pub(super) handle: PendingHandle,
    writer: Arc<Mutex<Rotating>>,
}

struct Rotating {
    dir: PathBuf,
    prefix: String,
    rotate_size: u64,
    rotate_age: Duration,
    keep: usize,
    current: Option<(File, u64, Instant)>,
    gateway: Arc<str>,
    sink: Arc<str>,
}

impl SinkKind for FileSink {
    type Config = FileSinkConfig;

    fn name(c: &FileSinkConfig) -> &str {
        &c.name
    }

    fn route(c: &FileSinkConfig) -> RouteConfig {
        c.route.clone()
    }

    fn outbox(c: &FileSinkConfig) -> &OutboxConfig {
        &c.outbox
    }

    fn validate(f: &FileSinkConfig, _: &Checks, v: &mut Issues, k: &str) {
        if f.dir.as_os_str().is_empty() {
            v.push(format!("{k}.dir"), "must name a directory");
        }
        if f.rotate_size < ByteSize::kib(4) {
            v.push(format!("{k}.rotate-size"), "must be at least 4 KiB");
        }
        v.range(
            format!("{k}.rotate-age"),
            f.rotate_age,
            Duration::from_secs(1),
            Duration::from_secs(366 * 86_400),
        );
    }

    fn sink_name(&self) -> &str {
        &self.handle.name
    }

    fn build(c: &FileSinkConfig, handle: PendingHandle) -> Result<Self, SinkError> {
        Ok(FileSink {
            writer: Arc::new(Mutex::new(Rotating {
                dir: c.dir.clone(),
                prefix: format!("{}-", c.name),
                rotate_size: c.rotate_size.as_u64(),
                rotate_age: c.rotate_age,
                keep: c.keep_files,
                current: None,
                gateway: handle.gateway.clone(),
                sink: handle.name.clone(),
            })),
            handle,
        })
    }

    async fn run(self, writer: mpsc::Sender<WriteOp>, shutdown: CancellationToken) {
        // A full or unwritable disk is retried like any other unreachable upstream.
        let retry = RetryConfig::default();
        batch::run(self.handle.connect(writer), &retry, self.writer, shutdown).await;
    }
}

impl Deliver for Arc<Mutex<Rotating>> {
    fn send<'a>(
        &'a mut self,
        rows: &'a [OutboxRow],
    ) -> impl Future<Output = Result<(), Failure>> + Send + 'a {
        let state = self.clone();
        let rows = rows.to_vec();
        async move {
            let result = tokio::task::spawn_blocking(move || match state.lock() {
                Ok(mut w) => w.append(&rows),
                Err(_) => Err("file sink state poisoned".to_owned()),
            })
            .await
            .unwrap_or_else(|e| Err(format!("file task failed: {e}")));
            result.map_err(Failure::new)
        }
    }
}

impl Rotating {
    fn append(&mut self, rows: &[OutboxRow]) -> Result<(), String> {
        let mut buf = String::new();
        for r in rows {
            buf.push_str(&envelope::render(&self.gateway, &self.sink, r));
            buf.push('\n');
        }
        let rotate = match &self.current {
            None => true,
            Some((_, size, opened)) => {
                *size >= self.rotate_size || opened.elapsed() >= self.rotate_age
            }
        };
        if rotate {
            self.open_next()?;
        }
        let Some((file, size, _)) = &mut self.current else {
            return Err("no file open".into());
        };
        let written = file
            .write_all(buf.as_bytes())
            .and_then(|_| file.sync_data());
        if let Err(e) = written {
            // Start a fresh file next time rather than append after a partial write.
            self.current = None;
            return Err(format!("cannot write to {}: {e}", self.dir.display()));
        }
        *size += buf.len() as u64;
        Ok(())
    }

    fn open_next(&mut self) -> Result<(), String> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        let stamp = humantime::format_rfc3339_millis(SystemTime::now())
            .to_string()
            .replace(':', "");
        let path = self.dir.join(format!("{}{stamp}.jsonl", self.prefix));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        // The new name must survive a crash too.
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        self.current = Some((file, size, Instant::now()));
        tracing::info!(file = %path.display(), "file sink writing to a new file");
        if self.keep > 0 {
            remove_oldest(&self.dir, &self.prefix, self.keep);
        }
        Ok(())
    }
}

/// Keeps the newest `keep` files of this sink (names sort by time).
fn remove_oldest(dir: &Path, prefix: &str, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".jsonl"))
        })
        .collect();
    files.sort();
    let excess = files.len().saturating_sub(keep);
    for old in &files[..excess] {
        match std::fs::remove_file(old) {
            Ok(()) => {
                tracing::info!(file = %old.display(), "file sink removed an old file (keep-files)")
            }
            Err(e) => {
                tracing::warn!(file = %old.display(), error = %e, "cannot remove an old export file")
            }
        }
    }
}
