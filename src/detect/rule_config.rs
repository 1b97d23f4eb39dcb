//! One `[[rules]]` table: which sensors it watches, its condition's keys, its
//! debounce and its alert's look; and the rule's pure validation (the condition's
//! own keys are checked where they are converted, in [`super::condition`]).

use super::condition::Condition;
use crate::event::Severity;
use crate::issues::Issues;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RuleConfig {
    /// Rule name on the alerts it raises; unique among rules and anomaly models.
    pub name: String,
    /// Sensor id globs; `*` stays within one `/` level, `**` crosses levels.
    #[serde(default)]
    pub sensors: Vec<String>,
    /// Labels a reading must carry (all of them) for the rule to apply.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Fires when the value goes above this limit.
    #[serde(default)]
    pub above: Option<f64>,
    /// Fires when the value goes below this limit.
    #[serde(default)]
    pub below: Option<f64>,
    /// Hysteresis: the alert resolves only once the value is back past this level.
    #[serde(default)]
    pub clear: Option<f64>,
    /// Fires when the value changes faster than this many units per second.
    #[serde(default)]
    pub rate_above: Option<f64>,
    /// Fires when a matching sensor sends nothing (or only bad readings) for this long.
    #[serde(default, with = "humantime_serde")]
    pub stale_after: Option<Duration>,
    /// Fires when |z| against the sensor's own EWMA mean and spread exceeds this
    /// (resolves at `clear`, default half of it): a drift before any limit is crossed.
    #[serde(default)]
    pub zscore_above: Option<f64>,
    /// EWMA weight of each new reading for `zscore-above` (smaller: longer memory).
    #[serde(default = "default_ewma_alpha")]
    pub ewma_alpha: f64,
    /// Readings learned before `zscore-above` or `spike-above` may fire.
    #[serde(default = "default_warmup")]
    pub warmup: u32,
    /// Fires when the value has not moved by more than `stuck-tolerance` for this long.
    #[serde(default, with = "humantime_serde")]
    pub stuck_for: Option<Duration>,
    /// How far the value may wander and still count as not moving (`stuck-for`).
    #[serde(default)]
    pub stuck_tolerance: f64,
    /// Fires when a reading is this many robust deviations (1.4826 × MAD) from the
    /// median of the last `spike-window` readings; resolves on the next normal one.
    #[serde(default)]
    pub spike_above: Option<f64>,
    /// Readings whose median and MAD a `spike-above` reading is judged against.
    #[serde(default = "default_spike_window")]
    pub spike_window: usize,
    /// Debounce: the condition must hold this long before the alert fires.
    #[serde(default, rename = "for", with = "humantime_serde")]
    pub for_duration: Option<Duration>,
    /// Debounce: the condition must hold for this many consecutive readings.
    #[serde(default)]
    pub for_count: Option<u32>,
    /// `info`, `warning` or `critical`.
    #[serde(default)]
    pub severity: Severity,
    /// Message template: `{sensor}`, `{value}`, `{limit}`, `{unit}`, `{rule}`.
    #[serde(default)]
    pub message: Option<String>,
}

fn default_ewma_alpha() -> f64 {
    0.05
}
fn default_warmup() -> u32 {
    30
}
fn default_spike_window() -> usize {
    31
}

/// Checks one rule (`key` is e.g. `rules[3]`); the condition itself is checked by
/// converting it.
pub fn validate(v: &mut Issues, k: &str, r: &RuleConfig) {
    if r.sensors.is_empty() && r.labels.is_empty() {
        v.push(
            format!("{k}.sensors"),
            "a rule needs sensor globs (sensors = [\"plant1/*/temperature\"]) or labels to match",
        );
    }
    for (i, g) in r.sensors.iter().enumerate() {
        if let Err(e) = crate::sensor_glob::compile(g) {
            v.push(
                format!("{k}.sensors[{i}]"),
                format!("`{g}` is not a glob: {e}"),
            );
        }
    }
    Condition::from_config(r, k, v);
    if r.for_duration.is_some() && r.for_count.is_some() {
        v.push(
            format!("{k}.for-count"),
            "set `for` (a duration) or `for-count`, not both",
        );
    }
    if r.for_count == Some(0) {
        v.push(format!("{k}.for-count"), "must be 1 or more");
    }
}
