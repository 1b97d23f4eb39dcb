//! The inference thread: windows from the pipeline wait in a bounded queue, are
//! scored in batches (across assets, grouped by model), and the scores go back to
//! the pipeline. The pipeline never waits on it: a full queue drops the window,
//! counted, never a reading.

use super::anomaly::{Scored, WindowJob};
use crate::internal_events::{emit, InferenceFailed};
use crate::metrics::Metrics;
use crate::ml::{OnnxError, OnnxModel};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc as tmpsc;

pub struct Inference {
    tx: SyncSender<WindowJob>,
    metrics: Arc<Metrics>,
}

impl Inference {
    /// Starts the thread; it ends when this handle is dropped or `scores` closes.
    pub fn start(
        mut models: Vec<OnnxModel>,
        queue: usize,
        max_batch: usize,
        scores: tmpsc::Sender<Vec<Scored>>,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Inference> {
        let (tx, rx) = mpsc::sync_channel::<WindowJob>(queue);
        let m = metrics.clone();
        std::thread::Builder::new()
            .name("edgewatch-inference".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut jobs = vec![first];
                    while jobs.len() < max_batch {
                        match rx.try_recv() {
                            Ok(j) => jobs.push(j),
                            Err(_) => break,
                        }
                    }
                    m.inference_queue.inc_by(-(jobs.len() as i64));
                    let scored = score_logged(&mut models, &jobs, &m);
                    if !scored.is_empty() && scores.blocking_send(scored).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Inference { tx, metrics })
    }

    /// Queues a window; false (and counted) when the queue is full.
    pub fn submit(&self, job: WindowJob) -> bool {
        match self.tx.try_send(job) {
            Ok(()) => {
                self.metrics.inference_queue.inc_by(1);
                true
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.metrics.anomaly_windows_dropped.inc();
                false
            }
        }
    }
}

fn score_logged(models: &mut [OnnxModel], jobs: &[WindowJob], m: &Metrics) -> Vec<Scored> {
    let start = Instant::now();
    let (scored, errors) = score_jobs(models, jobs);
    m.inference_latency_us
        .record(start.elapsed().as_micros() as u64);
    m.inference_batches.inc();
    m.anomaly_windows_scored.inc_by(scored.len() as u64);
    for e in errors {
        emit(InferenceFailed {
            metrics: m,
            error: &e,
        });
    }
    scored
}

/// Scores windows, one run per model present in `jobs`. Windows of a model whose
/// run fails are left out, and its error returned.
pub fn score_jobs(models: &mut [OnnxModel], jobs: &[WindowJob]) -> (Vec<Scored>, Vec<OnnxError>) {
    let mut scored = Vec::with_capacity(jobs.len());
    let mut errors = Vec::new();
    let mut input = Vec::new();
    for (index, model) in models.iter_mut().enumerate() {
        input.clear();
        let mine: Vec<&WindowJob> = jobs.iter().filter(|j| j.model == index).collect();
        if mine.is_empty() {
            continue;
        }
        for j in &mine {
            input.extend_from_slice(&j.data);
        }
        match model.score(&input, mine.len()) {
            Ok(scores) => scored.extend(mine.iter().zip(scores).map(|(j, score)| Scored {
                asset: j.asset,
                end_ms: j.end_ms,
                score,
            })),
            Err(e) => errors.push(e),
        }
    }
    (scored, errors)
}
