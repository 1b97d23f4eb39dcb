//! ONNX anomaly models as one [`Detector`]: readings become windows
//! ([`AnomalyModels`]), windows are scored on the inference thread (the daemon) or
//! right away (replays and the eval, where time is the readings' own), and scores
//! drive the alert lifecycle.

use super::anomaly::{AnomalyModels, Scored, WindowJob};
use super::anomaly_config::{AnomalyModelConfig, OnnxConfig};
use super::detector::{Detector, StoredFiring};
use super::inference::{score_jobs, Inference};
use crate::event::{AlertEvent, Reading};
use crate::metrics::Metrics;
use crate::ml::{OnnxError, OnnxModel};
use std::sync::Arc;
use tokio::sync::mpsc;

/// The detector and the receiver its scores come back on.
pub type Started = (OnnxDetector, mpsc::Receiver<Vec<Scored>>);

/// Where windows are scored.
enum Scorer {
    /// On the inference thread; scores come back through the pipeline.
    Thread(Inference),
    /// In the caller's thread, at the end of each batch of readings.
    Inline(Vec<OnnxModel>),
}

pub struct OnnxDetector {
    models: AnomalyModels,
    scorer: Scorer,
    jobs: Vec<WindowJob>,
    /// The first scoring error of an inline scorer, for the caller to report.
    error: Option<OnnxError>,
}

#[derive(Debug, thiserror::Error)]
pub enum OnnxStartError {
    #[error(transparent)]
    Load(#[from] super::anomaly_load::AnomalyLoadError),
    #[error("cannot start the inference thread: {0}")]
    Thread(std::io::Error),
}

impl OnnxDetector {
    /// Loads the bound models and starts their inference thread; `None` without
    /// bindings. Scores come back on the returned receiver.
    pub fn start(
        onnx: &OnnxConfig,
        bindings: &[AnomalyModelConfig],
        metrics: &Arc<Metrics>,
    ) -> Result<Option<Started>, OnnxStartError> {
        if bindings.is_empty() {
            return Ok(None);
        }
        let loaded = super::anomaly_load::load(onnx, bindings)?;
        let count = loaded.models.len();
        let (tx, rx) = mpsc::channel(64);
        let inference = Inference::start(
            loaded.models,
            onnx.queue,
            onnx.max_batch,
            tx,
            metrics.clone(),
        )
        .map_err(OnnxStartError::Thread)?;
        metrics.anomaly_models_loaded.set(count as i64);
        tracing::info!(
            models = count,
            bindings = bindings.len(),
            "anomaly models loaded"
        );
        Ok(Some((
            Self::new(loaded.detectors, Scorer::Thread(inference)),
            rx,
        )))
    }

    /// Loads the bound models to score in the caller's thread; `None` without bindings.
    pub fn inline(
        onnx: &OnnxConfig,
        bindings: &[AnomalyModelConfig],
    ) -> Result<Option<Self>, OnnxStartError> {
        if bindings.is_empty() {
            return Ok(None);
        }
        let loaded = super::anomaly_load::load(onnx, bindings)?;
        Ok(Some(Self::new(
            loaded.detectors,
            Scorer::Inline(loaded.models),
        )))
    }

    fn new(models: AnomalyModels, scorer: Scorer) -> Self {
        OnnxDetector {
            models,
            scorer,
            jobs: Vec::new(),
            error: None,
        }
    }

    /// The first error an inline scorer met since the last call.
    pub fn take_error(&mut self) -> Option<OnnxError> {
        self.error.take()
    }
}

impl Detector for OnnxDetector {
    fn on_reading(&mut self, r: &Reading, _out: &mut Vec<AlertEvent>) {
        self.models.on_reading(r, &mut self.jobs);
    }

    fn end_batch(&mut self, out: &mut Vec<AlertEvent>) {
        if self.jobs.is_empty() {
            return;
        }
        match &mut self.scorer {
            Scorer::Thread(inference) => {
                for job in self.jobs.drain(..) {
                    inference.submit(job);
                }
            }
            Scorer::Inline(models) => {
                let (scored, errors) = score_jobs(models, &self.jobs);
                self.jobs.clear();
                if self.error.is_none() {
                    self.error = errors.into_iter().next();
                }
                self.models.on_scores(&scored, out);
            }
        }
    }

    fn on_scores(&mut self, scores: &[Scored], out: &mut Vec<AlertEvent>) {
        self.models.on_scores(scores, out);
    }

    fn restore_firing(&mut self, a: &StoredFiring<'_>) -> bool {
        self.models
            .restore_firing(a.rule, a.sensor, a.id.to_owned(), a.fired_ms)
    }

    fn firing_count(&self) -> usize {
        self.models.firing_count()
    }
}
