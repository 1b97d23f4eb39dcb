//! The JSON every sink forwards: the event plus its dedup key.
//!
//! `key` = `gateway:sink:epoch:seq`. `seq` counts 1, 2, 3 ... per sink for the life
//! of the database; `epoch` is the start time (unix seconds) of the process that
//! enqueued the item. A receiver drops an item whose key it has seen (at-least-once
//! delivery resends what was in flight at a crash), and a jump in `seq` is an item
//! the outbox budget dropped (counted in `edgewatch_sink_dropped_total`).

use crate::store::OutboxRow;
use serde::Deserialize;

pub fn key(gateway: &str, sink: &str, row: &OutboxRow) -> String {
    format!("{gateway}:{sink}:{}:{}", row.epoch, row.seq)
}

/// `{"key":..,"gateway":..,"sink":..,"epoch":..,"seq":..,"type":"alert","event":{..}}`
pub fn render(gateway: &str, sink: &str, row: &OutboxRow) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    format!(
        r#"{{"key":{},"gateway":{},"sink":{},"epoch":{},"seq":{},"type":"{}","event":{}}}"#,
        q(&key(gateway, sink, row)),
        q(gateway),
        q(sink),
        row.epoch,
        row.seq,
        row.kind.as_str(),
        row.body
    )
}

/// The fields of a stored event that presets and topics need. Alerts and
/// aggregates share `sensor`; the rest is optional.
#[derive(Debug, Default, Deserialize)]
pub struct EventView {
    #[serde(default)]
    pub sensor: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub rule: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub event_ms: Option<i64>,
    #[serde(default)]
    pub window_end_ms: Option<i64>,
}

impl EventView {
    pub fn parse(row: &OutboxRow) -> Self {
        serde_json::from_str(&row.body).unwrap_or_default()
    }

    /// Event time in ms: when the alert changed state, or when the window ended.
    pub fn time_ms(&self, row: &OutboxRow) -> i64 {
        self.event_ms
            .or(self.window_end_ms)
            .unwrap_or(row.created_ms)
    }

    /// One line for a person: `[CRITICAL] gw1: line2/m1/temp above 90 (firing)`.
    pub fn headline(&self, gateway: &str) -> String {
        let sev = self.severity.as_deref().unwrap_or("info").to_uppercase();
        let msg = self.message.as_deref().unwrap_or(&self.sensor);
        match self.state.as_deref() {
            Some("resolved") => format!("[RESOLVED] {gateway}: {msg}"),
            _ => format!("[{sev}] {gateway}: {msg}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ItemKind;

    #[test]
    fn envelope_is_json_with_the_dedup_key() {
        let row = OutboxRow {
            seq: 42,
            epoch: 1_763_700_000,
            kind: ItemKind::Alert,
            created_ms: 1,
            body: r#"{"id":"a1","state":"firing","sensor":"l2/t","severity":"critical","message":"l2/t above 90"}"#.into(),
        };
        let v: serde_json::Value = serde_json::from_str(&render("gw\"1", "ops", &row)).unwrap();
        assert_eq!(v["key"], "gw\"1:ops:1763700000:42");
        assert_eq!(v["type"], "alert");
        assert_eq!(v["event"]["sensor"], "l2/t");
        assert_eq!(
            EventView::parse(&row).headline("gw1"),
            "[CRITICAL] gw1: l2/t above 90"
        );
    }
}
