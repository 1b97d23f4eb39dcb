//! What a sink's outbox receives (`route`) and how much it may hold (`outbox`):
//! the two tables every `[[sinks.*]]` entry has, read by the store as it enqueues.

use crate::event::Severity;
use crate::issues::Issues;
use crate::sensor_glob;
use bytesize::ByteSize;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    Alerts,
    Aggregates,
}

/// Which events a sink receives. Everything matches when nothing is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RouteConfig {
    /// `["alerts"]`, `["aggregates"]` or both (the default; chat presets: alerts).
    #[serde(default)]
    pub events: Option<Vec<EventKind>>,
    /// Alerts below this severity are not sent here.
    #[serde(default = "lowest_severity")]
    pub min_severity: Severity,
    /// Sensor id globs (`*` one level, `**` across levels); empty means all.
    #[serde(default)]
    pub sensors: Vec<String>,
    /// Labels the sensor must carry (all of them).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl Default for RouteConfig {
    fn default() -> Self {
        RouteConfig {
            events: None,
            min_severity: lowest_severity(),
            sensors: Vec::new(),
            labels: BTreeMap::new(),
        }
    }
}

fn lowest_severity() -> Severity {
    Severity::Info
}

impl RouteConfig {
    pub fn validate(&self, v: &mut Issues, k: &str) {
        let r = self;
        if r.events.as_ref().is_some_and(|e| e.is_empty()) {
            v.push(
                format!("{k}.route.events"),
                "is empty: list \"alerts\", \"aggregates\" or both",
            );
        }
        for (i, g) in r.sensors.iter().enumerate() {
            if let Err(e) = sensor_glob::compile(g) {
                v.push(
                    format!("{k}.route.sensors[{i}]"),
                    format!("`{g}` is not a glob: {e}"),
                );
            }
        }
    }
}

/// What happens to alerts when a sink's outbox is full of alerts only.
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum AlertsWhenFull {
    /// Alerts are kept beyond the budget (they are rare; aggregates make room first).
    #[default]
    Keep,
    /// The oldest alerts are dropped, counted and logged as errors.
    DropOldest,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct OutboxConfig {
    /// Budget of this sink's queue; oldest aggregates are dropped first above it.
    #[serde(default = "default_outbox_size")]
    pub max_size: ByteSize,
    /// Items older than this are dropped (aggregates always; alerts per `alerts-when-full`).
    #[serde(default = "default_outbox_age", with = "humantime_serde")]
    pub max_age: Duration,
    #[serde(default)]
    pub alerts_when_full: AlertsWhenFull,
    /// Most items in one send (one HTTP request, or MQTT publishes in flight).
    #[serde(default = "default_batch")]
    pub batch: usize,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            max_size: default_outbox_size(),
            max_age: default_outbox_age(),
            alerts_when_full: AlertsWhenFull::Keep,
            batch: default_batch(),
        }
    }
}

fn default_outbox_size() -> ByteSize {
    ByteSize::mib(64)
}
fn default_outbox_age() -> Duration {
    Duration::from_secs(7 * 86_400)
}
fn default_batch() -> usize {
    100
}

impl OutboxConfig {
    pub fn validate(&self, v: &mut Issues, k: &str) {
        let o = self;
        if o.max_size < ByteSize::kib(16) {
            v.push(format!("{k}.outbox.max-size"), "must be at least 16 KiB");
        }
        v.range(
            format!("{k}.outbox.max-age"),
            o.max_age,
            Duration::from_secs(60),
            Duration::from_secs(366 * 86_400),
        );
        if o.batch == 0 || o.batch > 10_000 {
            v.push(format!("{k}.outbox.batch"), "allowed 1 to 10000");
        }
    }
}
