//! The one interface the pipeline drives every detector through (threshold and
//! statistical rules, ONNX models, and whatever kind comes next): readings and
//! clock ticks in, alert lifecycle events out, firing alerts taken over at restart.

use super::anomaly::Scored;
use crate::event::{AlertEvent, Labels, Reading};
use std::sync::Arc;

/// A firing alert found in the store at start-up.
#[derive(Debug, Clone, Copy)]
pub struct StoredFiring<'a> {
    pub rule: &'a str,
    pub sensor: &'a Arc<str>,
    pub labels: &'a Labels,
    pub id: &'a str,
    pub fired_ms: i64,
}

pub trait Detector: Send {
    /// A sensor known from the store before it sends anything (restart).
    fn register(&mut self, _sensor: &Arc<str>, _labels: &Labels, _last_good_ms: Option<i64>) {}

    /// One reading, in arrival order; alert events go to `out`.
    fn on_reading(&mut self, r: &Reading, out: &mut Vec<AlertEvent>);

    /// After a batch of readings: work gathered per reading may be handed on at once.
    fn end_batch(&mut self, _out: &mut Vec<AlertEvent>) {}

    /// Clock duties at `now_ms`: silence has no reading to judge it by.
    fn on_tick(&mut self, _now_ms: i64, _out: &mut Vec<AlertEvent>) {}

    /// Scores back from the inference thread this detector handed windows to.
    fn on_scores(&mut self, _scores: &[Scored], _out: &mut Vec<AlertEvent>) {}

    /// Takes over a stored firing alert so it resolves with its own id; false when
    /// the alert is not this detector's (its rule is gone or no longer applies).
    fn restore_firing(&mut self, alert: &StoredFiring<'_>) -> bool;

    /// Alerts firing now.
    fn firing_count(&self) -> usize;
}
