//! File sink: JSON lines (one envelope per line), fsynced before the rows count as
//! delivered, rotated by size and age, for sneakernet export from air-gapped sites.
//! Every start opens a new file, so a line torn by a crash never has a successor
//! in the same file.

use super::batch::{self, Deliver, Failure};
use super::{envelope, PendingHandle};
use crate::config::{FileSinkConfig, RetryConfig};
use crate::store::{OutboxRow, WriteOp};
use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

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

impl FileSink {
    pub fn build(c: &FileSinkConfig, handle: PendingHandle) -> Self {
        FileSink {
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
        }
    }

    pub async fn run(self, writer: mpsc::Sender<WriteOp>, shutdown: CancellationToken) {
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
