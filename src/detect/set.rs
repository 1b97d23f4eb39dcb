//! Every detector of a config as one list behind the [`Detector`] trait: the
//! pipeline (and the eval) drive the list, never a kind.

use super::anomaly::Scored;
use super::anomaly_config::{AnomalyModelConfig, OnnxConfig};
use super::detector::{Detector, StoredFiring};
use super::learned::LearnedDetector;
use super::onnx::{OnnxDetector, OnnxStartError};
use super::rule_config::RuleConfig;
use super::threshold::{RuleError, ThresholdRules};
use crate::event::{AlertEvent, Labels, Reading};
use crate::learn::LearnedModel;
use crate::metrics::Metrics;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Why inline detectors could not be built.
#[derive(Debug, thiserror::Error)]
pub enum InlineError {
    #[error(transparent)]
    Rules(#[from] RuleError),
    #[error(transparent)]
    Onnx(#[from] OnnxStartError),
}

#[derive(Default)]
pub struct Detectors {
    list: Vec<Box<dyn Detector>>,
    /// Models learned on the gateway; kept apart so a re-learned one can be
    /// installed while running.
    learned: LearnedDetector,
    /// Scores from the inference thread, taken by the pipeline's loop.
    scores: Option<mpsc::Receiver<Vec<Scored>>>,
}

impl Detectors {
    /// The daemon's detectors: the rules, and the ONNX models on their inference
    /// thread. Models that cannot load (no runtime library, a damaged file) are
    /// logged as one error and left out: the rest of the daemon runs without them.
    pub fn start(
        rules: &[RuleConfig],
        onnx: &OnnxConfig,
        bindings: &[AnomalyModelConfig],
        learned: Vec<LearnedModel>,
        metrics: &Arc<Metrics>,
    ) -> Result<Self, RuleError> {
        let mut set = Detectors {
            learned: LearnedDetector::new(learned),
            ..Detectors::default()
        };
        set.push(ThresholdRules::new(rules)?);
        match OnnxDetector::start(onnx, bindings, metrics) {
            Ok(Some((detector, scores))) => {
                set.push(detector);
                set.scores = Some(scores);
            }
            Ok(None) => {}
            Err(e) => tracing::error!("anomaly models disabled: {e}"),
        }
        Ok(set)
    }

    /// The same detectors scoring in the caller's thread, in the readings' own
    /// time (replays). Models that cannot load are an error here: a replay is run
    /// to see what they do.
    pub fn inline(
        rules: &[RuleConfig],
        onnx: &OnnxConfig,
        bindings: &[AnomalyModelConfig],
        learned: Vec<LearnedModel>,
    ) -> Result<Self, InlineError> {
        let mut set = Detectors {
            learned: LearnedDetector::new(learned),
            ..Detectors::default()
        };
        set.push(ThresholdRules::new(rules)?);
        if let Some(d) = OnnxDetector::inline(onnx, bindings)? {
            set.push(d);
        }
        Ok(set)
    }

    pub fn push(&mut self, d: impl Detector + 'static) {
        self.list.push(Box::new(d));
    }

    /// Adds a learned model, or replaces the running one of the same name.
    pub fn install_learned(&mut self, model: LearnedModel) {
        self.learned.install(model);
    }

    /// Names of the learned models running.
    pub fn learned_names(&self) -> Vec<&str> {
        self.learned.names()
    }

    /// The receiver of inference scores, once.
    pub fn take_scores(&mut self) -> Option<mpsc::Receiver<Vec<Scored>>> {
        self.scores.take()
    }
}

impl Detector for Detectors {
    fn register(&mut self, sensor: &Arc<str>, labels: &Labels, last_good_ms: Option<i64>) {
        for d in &mut self.list {
            d.register(sensor, labels, last_good_ms);
        }
        self.learned.register(sensor, labels, last_good_ms);
    }

    fn on_reading(&mut self, r: &Reading, out: &mut Vec<AlertEvent>) {
        for d in &mut self.list {
            d.on_reading(r, out);
        }
        self.learned.on_reading(r, out);
    }

    fn end_batch(&mut self, out: &mut Vec<AlertEvent>) {
        for d in &mut self.list {
            d.end_batch(out);
        }
    }

    fn on_tick(&mut self, now_ms: i64, out: &mut Vec<AlertEvent>) {
        for d in &mut self.list {
            d.on_tick(now_ms, out);
        }
    }

    fn on_scores(&mut self, scores: &[Scored], out: &mut Vec<AlertEvent>) {
        for d in &mut self.list {
            d.on_scores(scores, out);
        }
    }

    /// The first detector that owns the alert takes it.
    fn restore_firing(&mut self, alert: &StoredFiring<'_>) -> bool {
        self.list.iter_mut().any(|d| d.restore_firing(alert)) || self.learned.restore_firing(alert)
    }

    fn firing_count(&self) -> usize {
        self.list.iter().map(|d| d.firing_count()).sum::<usize>() + self.learned.firing_count()
    }
}
