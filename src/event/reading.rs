//! The one sample type every source emits and every detector consumes.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How far a value can be trusted. Bad readings are journaled (they are evidence)
/// but never feed limits or aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    #[default]
    Good,
    Uncertain,
    Bad,
}

impl Quality {
    pub fn as_i64(self) -> i64 {
        match self {
            Quality::Good => 0,
            Quality::Uncertain => 1,
            Quality::Bad => 2,
        }
    }

    pub fn from_i64(v: i64) -> Self {
        match v {
            0 => Quality::Good,
            1 => Quality::Uncertain,
            _ => Quality::Bad,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Quality::Good => "good",
            Quality::Uncertain => "uncertain",
            Quality::Bad => "bad",
        }
    }

    /// Maps the status words devices commonly put in payloads.
    pub fn from_status(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "bad" | "error" | "fault" | "failed" | "offline" => Quality::Bad,
            "uncertain" | "stale" | "questionable" => Quality::Uncertain,
            _ => Quality::Good,
        }
    }
}

/// Labels are shared between all readings of one subscription or device, hence `Arc`.
pub type Labels = Arc<BTreeMap<String, String>>;

#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Stable sensor id, e.g. `plant1/line2/motor/m03/temperature`.
    pub sensor: Arc<str>,
    /// Sample time, UTC milliseconds since the Unix epoch.
    pub ts_ms: i64,
    pub value: f64,
    pub unit: Option<Arc<str>>,
    pub quality: Quality,
    pub labels: Labels,
}

impl Reading {
    pub fn new(sensor: impl Into<Arc<str>>, ts_ms: i64, value: f64) -> Self {
        Reading {
            sensor: sensor.into(),
            ts_ms,
            value,
            unit: None,
            quality: Quality::Good,
            labels: Labels::default(),
        }
    }

    pub fn with_unit(mut self, unit: &str) -> Self {
        self.unit = Some(unit.into());
        self
    }
}

/// Wall-clock now in UTC milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// RFC 3339 text for a UTC millisecond timestamp (what the API and CLI show).
pub fn format_ts(ts_ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ts_ms.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

/// A number as facts and summaries print it: at most three decimals, no trailing
/// zeros, `none` for NaN.
pub fn format_num(v: f64) -> String {
    if v.is_nan() {
        return "none".into();
    }
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}
