//! Alerts are a lifecycle: one `Firing` event when a rule trips, one `Resolved`
//! event when it clears. Both carry the same stable alert id.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Firing,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// What kind of condition tripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertKind {
    Above,
    Below,
    RateAbove,
    Stale,
    #[serde(rename = "zscore")]
    ZScore,
    Stuck,
    Spike,
    /// An ONNX model's score over its threshold.
    Anomaly,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Above => "above",
            AlertKind::Below => "below",
            AlertKind::RateAbove => "rate-above",
            AlertKind::Stale => "stale",
            AlertKind::ZScore => "zscore",
            AlertKind::Stuck => "stuck",
            AlertKind::Spike => "spike",
            AlertKind::Anomaly => "anomaly",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertEvent {
    /// Stable id shared by the firing and the resolved event.
    pub id: String,
    pub state: AlertState,
    pub rule: Arc<str>,
    pub sensor: Arc<str>,
    pub severity: Severity,
    pub kind: AlertKind,
    /// The value that tripped (firing) or cleared (resolved) the rule.
    pub value: f64,
    pub limit: f64,
    pub unit: Option<Arc<str>>,
    pub fired_ms: i64,
    /// Time of this event: `fired_ms` for firing, the clearing time for resolved.
    pub event_ms: i64,
    pub message: String,
}

/// Deterministic id from what identifies one occurrence, so it survives restarts.
pub fn alert_id(rule: &str, sensor: &str, fired_ms: i64) -> String {
    // FNV-1a: tiny, stable across Rust versions (unlike `DefaultHasher`).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in rule
        .bytes()
        .chain([0])
        .chain(sensor.bytes())
        .chain([0])
        .chain(fired_ms.to_le_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("a{:015x}", h >> 4)
}

/// How bad an alert is; routes and chat messages use it.
#[derive(
    Debug, Clone, Copy, Deserialize, Serialize, Default, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}
