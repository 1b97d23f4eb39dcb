//! Counters, gauges and hdrhistogram latencies, rendered as Prometheus text.
//!
//! A hand-rolled registry of a few dozen fixed metrics: cheaper to read than a
//! generic metrics facade, and the exposition format is a page of code.

use crate::event::Rejection;
use hdrhistogram::Histogram;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
    pub fn add(&self, d: i64) {
        self.0.fetch_add(d, Ordering::Relaxed);
    }
}

/// Latency in microseconds, 1 µs to 1 h at 3 significant digits.
#[derive(Debug)]
pub struct Histo(Mutex<Histogram<u64>>);

impl Default for Histo {
    fn default() -> Self {
        Histo(Mutex::new(
            Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static bounds are valid"),
        ))
    }
}

impl Histo {
    pub fn record(&self, v: u64) {
        if let Ok(mut h) = self.0.lock() {
            h.saturating_record(v.max(1));
        }
    }

    /// Prometheus summary samples in seconds; `labels` is `k="v",...` or empty.
    fn write(&self, o: &mut String, name: &str, labels: &str) {
        let (n, p50, p90, p99, max) = self.summary();
        let sep = if labels.is_empty() { "" } else { "," };
        for (q, v) in [("0.5", p50), ("0.9", p90), ("0.99", p99), ("1", max)] {
            let _ = writeln!(
                o,
                "{name}{{{labels}{sep}quantile=\"{q}\"}} {}",
                v as f64 / 1e6
            );
        }
        if labels.is_empty() {
            let _ = writeln!(o, "{name}_count {n}");
        } else {
            let _ = writeln!(o, "{name}_count{{{labels}}} {n}");
        }
    }

    /// (count, p50, p90, p99, max) in microseconds.
    pub fn summary(&self) -> (u64, u64, u64, u64, u64) {
        match self.0.lock() {
            Ok(h) => (
                h.len(),
                h.value_at_quantile(0.5),
                h.value_at_quantile(0.9),
                h.value_at_quantile(0.99),
                h.max(),
            ),
            Err(_) => (0, 0, 0, 0, 0),
        }
    }
}

/// Per-source counters.
#[derive(Debug)]
pub struct SourceMetrics {
    pub name: String,
    pub kind: &'static str,
    pub messages: Counter,
    pub readings: Counter,
    pub rejected: [Counter; Rejection::ALL.len()],
    pub connected: Gauge,
    pub reconnects: Counter,
}

impl SourceMetrics {
    pub fn reject(&self, r: Rejection) {
        self.rejected[r as usize].inc();
    }

    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().map(Counter::get).sum()
    }
}

/// Per-sink figures. Totals that survive restarts (delivered, dropped) are kept
/// in the store and mirrored here after each commit.
#[derive(Debug, Default)]
pub struct SinkMetrics {
    pub name: String,
    pub kind: &'static str,
    pub queue_items: Gauge,
    pub queue_bytes: Gauge,
    /// Enqueue time of the oldest queued item (ms since the epoch), 0 when empty.
    pub oldest_ms: Gauge,
    pub delivered: Gauge,
    pub dropped_alerts: Gauge,
    pub dropped_aggregates: Gauge,
    /// Items moved aside because they can never be delivered.
    pub dead_letters: Gauge,
    pub sent: Counter,
    pub retries: Counter,
    pub connected: Gauge,
    /// 0 closed, 1 open, 2 half-open.
    pub breaker: Gauge,
    pub send_latency_us: Histo,
    pub last_error: Mutex<Option<String>>,
}

impl SinkMetrics {
    pub fn set_error(&self, e: Option<String>) {
        if let Ok(mut l) = self.last_error.lock() {
            *l = e;
        }
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|l| l.clone())
    }
}

/// Per Modbus device (unit id on a connection).
#[derive(Debug, Default)]
pub struct DeviceMetrics {
    pub source: String,
    pub device: String,
    pub requests: Counter,
    pub timeouts: Counter,
    /// Replies holding fewer values than the request asked for.
    pub short_replies: Counter,
    /// Exceptions by Modbus exception code.
    pub exceptions: Mutex<std::collections::BTreeMap<u8, u64>>,
    pub up: Gauge,
    pub poll_latency_us: Histo,
    /// How late a poll started after it was due.
    pub schedule_lag_us: Histo,
}

impl DeviceMetrics {
    pub fn exception(&self, code: u8) {
        if let Ok(mut m) = self.exceptions.lock() {
            *m.entry(code).or_default() += 1;
        }
    }

    pub fn exceptions(&self) -> Vec<(u8, u64)> {
        self.exceptions
            .lock()
            .map(|m| m.iter().map(|(k, v)| (*k, *v)).collect())
            .unwrap_or_default()
    }
}

#[derive(Debug)]
pub struct Metrics {
    pub started: Instant,
    sources: Mutex<Vec<Arc<SourceMetrics>>>,
    devices: Mutex<Vec<Arc<DeviceMetrics>>>,
    sinks: Mutex<Vec<Arc<SinkMetrics>>>,
    pub readings_in: Counter,
    pub late_readings: Counter,
    /// Readings whose sensor had `max-open-windows` windows open already.
    pub unwindowed_readings: Counter,
    /// Readings of new sensors refused because `store.max-sensors` are known.
    pub sensors_refused: Counter,
    pub sensors_known: Gauge,
    pub alerts_fired: Counter,
    pub alerts_resolved: Counter,
    pub aggregates_written: Counter,
    pub journal_rows: Counter,
    pub commits: Counter,
    pub commit_errors: Counter,
    pub pruned_rows: Counter,
    pub ingest_queue: Gauge,
    pub writer_queue: Gauge,
    pub alerts_firing: Gauge,
    pub open_windows: Gauge,
    pub readings_per_s: Gauge,
    /// Last clock tick of the pipeline task (watchdog: is it still turning?).
    pub pipeline_heartbeat_ms: Gauge,
    pub last_commit_ms: Gauge,
    pub commit_latency_us: Histo,
    pub alert_latency_us: Histo,
    /// ONNX anomaly models: windows scored and dropped (inference queue full),
    /// failed runs, model runs, windows waiting, time per run.
    pub anomaly_windows_scored: Counter,
    pub anomaly_windows_dropped: Counter,
    /// Alert events not embedded at once (embedding queue full, or skipped by
    /// the alert broadcast); the next start's backfill embeds those that fired.
    pub alert_embeddings_deferred: Counter,
    pub inference_errors: Counter,
    pub inference_batches: Counter,
    pub inference_queue: Gauge,
    pub anomaly_models_loaded: Gauge,
    pub inference_latency_us: Histo,
    /// Alerts given an embedding vector.
    pub alerts_embedded: Counter,
    /// Summary windows embedded and stored for search.
    pub summaries_embedded: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            sources: Mutex::default(),
            sinks: Mutex::default(),
            devices: Mutex::default(),
            readings_in: Counter::default(),
            late_readings: Counter::default(),
            unwindowed_readings: Counter::default(),
            sensors_refused: Counter::default(),
            sensors_known: Gauge::default(),
            alerts_fired: Counter::default(),
            alerts_resolved: Counter::default(),
            aggregates_written: Counter::default(),
            journal_rows: Counter::default(),
            commits: Counter::default(),
            commit_errors: Counter::default(),
            pruned_rows: Counter::default(),
            ingest_queue: Gauge::default(),
            writer_queue: Gauge::default(),
            alerts_firing: Gauge::default(),
            open_windows: Gauge::default(),
            readings_per_s: Gauge::default(),
            pipeline_heartbeat_ms: Gauge::default(),
            last_commit_ms: Gauge::default(),
            commit_latency_us: Histo::default(),
            alert_latency_us: Histo::default(),
            anomaly_windows_scored: Counter::default(),
            anomaly_windows_dropped: Counter::default(),
            alert_embeddings_deferred: Counter::default(),
            inference_errors: Counter::default(),
            inference_batches: Counter::default(),
            inference_queue: Gauge::default(),
            anomaly_models_loaded: Gauge::default(),
            inference_latency_us: Histo::default(),
            alerts_embedded: Counter::default(),
            summaries_embedded: Counter::default(),
        }
    }
}

impl Metrics {
    pub fn source(&self, name: &str, kind: &'static str) -> Arc<SourceMetrics> {
        let m = Arc::new(SourceMetrics {
            name: name.to_owned(),
            kind,
            messages: Counter::default(),
            readings: Counter::default(),
            rejected: Default::default(),
            connected: Gauge::default(),
            reconnects: Counter::default(),
        });
        if let Ok(mut s) = self.sources.lock() {
            s.retain(|x| x.name != name);
            s.push(m.clone());
        }
        m
    }

    pub fn sources(&self) -> Vec<Arc<SourceMetrics>> {
        self.sources.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn sink(&self, name: &str, kind: &'static str) -> Arc<SinkMetrics> {
        let m = Arc::new(SinkMetrics {
            name: name.to_owned(),
            kind,
            ..SinkMetrics::default()
        });
        if let Ok(mut s) = self.sinks.lock() {
            s.retain(|x| x.name != name);
            s.push(m.clone());
        }
        m
    }

    pub fn modbus_device(&self, source: &str, device: &str) -> Arc<DeviceMetrics> {
        let m = Arc::new(DeviceMetrics {
            source: source.to_owned(),
            device: device.to_owned(),
            ..DeviceMetrics::default()
        });
        if let Ok(mut d) = self.devices.lock() {
            d.retain(|x| !(x.source == source && x.device == device));
            d.push(m.clone());
        }
        m
    }

    pub fn modbus_devices(&self) -> Vec<Arc<DeviceMetrics>> {
        self.devices.lock().map(|d| d.clone()).unwrap_or_default()
    }

    pub fn sinks(&self) -> Vec<Arc<SinkMetrics>> {
        self.sinks.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let mut o = String::with_capacity(4096);
        let counter = |o: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        counter(
            &mut o,
            "edgewatch_readings_total",
            "Readings accepted into the pipeline.",
            self.readings_in.get(),
        );
        counter(
            &mut o,
            "edgewatch_late_readings_total",
            "Readings too late for their aggregate window (journaled only).",
            self.late_readings.get(),
        );
        counter(
            &mut o,
            "edgewatch_unwindowed_readings_total",
            "Readings of a sensor that had aggregate.max-open-windows open already (journaled only).",
            self.unwindowed_readings.get(),
        );
        counter(
            &mut o,
            "edgewatch_sensors_refused_total",
            "Readings of new sensors refused because store.max-sensors are known (not journaled).",
            self.sensors_refused.get(),
        );
        counter(
            &mut o,
            "edgewatch_journal_rows_total",
            "Readings committed to the journal.",
            self.journal_rows.get(),
        );
        counter(
            &mut o,
            "edgewatch_commits_total",
            "Group commits.",
            self.commits.get(),
        );
        counter(
            &mut o,
            "edgewatch_commit_errors_total",
            "Failed commit attempts (the batch is retried; nothing in it is acknowledged).",
            self.commit_errors.get(),
        );
        counter(
            &mut o,
            "edgewatch_journal_pruned_rows_total",
            "Readings removed by retention.",
            self.pruned_rows.get(),
        );
        counter(
            &mut o,
            "edgewatch_aggregates_total",
            "Aggregate windows stored.",
            self.aggregates_written.get(),
        );
        counter(
            &mut o,
            "edgewatch_alerts_fired_total",
            "Alerts that fired.",
            self.alerts_fired.get(),
        );
        counter(
            &mut o,
            "edgewatch_alerts_resolved_total",
            "Alerts that resolved.",
            self.alerts_resolved.get(),
        );
        let gauge = |o: &mut String, name: &str, help: &str, v: i64| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        gauge(
            &mut o,
            "edgewatch_alerts_firing",
            "Alerts firing now.",
            self.alerts_firing.get(),
        );
        gauge(
            &mut o,
            "edgewatch_ingest_queue_depth",
            "Batches waiting for the pipeline.",
            self.ingest_queue.get(),
        );
        gauge(
            &mut o,
            "edgewatch_writer_queue_depth",
            "Batches waiting for the store writer.",
            self.writer_queue.get(),
        );
        gauge(
            &mut o,
            "edgewatch_open_windows",
            "Aggregate windows in progress.",
            self.open_windows.get(),
        );
        gauge(
            &mut o,
            "edgewatch_sensors_known",
            "Distinct sensors the pipeline knows (capped by store.max-sensors).",
            self.sensors_known.get(),
        );
        for (name, help, v) in [
            (
                "edgewatch_anomaly_windows_scored_total",
                "Windows scored by ONNX anomaly models.",
                self.anomaly_windows_scored.get(),
            ),
            (
                "edgewatch_anomaly_windows_dropped_total",
                "Windows dropped because the inference queue was full (readings are never dropped).",
                self.anomaly_windows_dropped.get(),
            ),
            (
                "edgewatch_alert_embeddings_deferred_total",
                "Alerts not embedded at once because the embedding queue was full (embedded at the next start).",
                self.alert_embeddings_deferred.get(),
            ),
            (
                "edgewatch_inference_errors_total",
                "Failed ONNX model runs.",
                self.inference_errors.get(),
            ),
            (
                "edgewatch_alerts_embedded_total",
                "Alerts given an embedding vector for search.",
                self.alerts_embedded.get(),
            ),
            (
                "edgewatch_summaries_embedded_total",
                "Summaries of sensors over summary windows embedded for search.",
                self.summaries_embedded.get(),
            ),
            (
                "edgewatch_inference_batches_total",
                "ONNX model runs (each scores a batch of windows).",
                self.inference_batches.get(),
            ),
        ] {
            counter(&mut o, name, help, v);
        }
        gauge(
            &mut o,
            "edgewatch_anomaly_models_loaded",
            "ONNX anomaly models loaded and running.",
            self.anomaly_models_loaded.get(),
        );
        gauge(
            &mut o,
            "edgewatch_inference_queue_depth",
            "Windows waiting for inference.",
            self.inference_queue.get(),
        );
        gauge(
            &mut o,
            "edgewatch_uptime_seconds",
            "Seconds since start.",
            self.started.elapsed().as_secs() as i64,
        );
        for (name, help, h) in [
            (
                "edgewatch_commit_latency_seconds",
                "Group commit latency.",
                &self.commit_latency_us,
            ),
            (
                "edgewatch_reading_to_alert_latency_seconds",
                "From receiving a reading to its alert being committed.",
                &self.alert_latency_us,
            ),
            (
                "edgewatch_inference_latency_seconds",
                "Time of one ONNX model run (a batch of windows).",
                &self.inference_latency_us,
            ),
        ] {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} summary");
            h.write(&mut o, name, "");
        }
        let sources = self.sources();
        if !sources.is_empty() {
            o.push_str("# HELP edgewatch_source_messages_total Messages received per source.\n# TYPE edgewatch_source_messages_total counter\n");
            for s in &sources {
                let _ = writeln!(
                    o,
                    "edgewatch_source_messages_total{{source=\"{}\",kind=\"{}\"}} {}",
                    Label(&s.name),
                    s.kind,
                    s.messages.get()
                );
            }
            o.push_str("# HELP edgewatch_source_readings_total Readings decoded per source.\n# TYPE edgewatch_source_readings_total counter\n");
            for s in &sources {
                let _ = writeln!(
                    o,
                    "edgewatch_source_readings_total{{source=\"{}\"}} {}",
                    Label(&s.name),
                    s.readings.get()
                );
            }
            o.push_str("# HELP edgewatch_source_rejected_total Payloads (or array elements) refused, per reason.\n# TYPE edgewatch_source_rejected_total counter\n");
            for s in &sources {
                for r in Rejection::ALL {
                    let _ = writeln!(
                        o,
                        "edgewatch_source_rejected_total{{source=\"{}\",reason=\"{}\"}} {}",
                        Label(&s.name),
                        r.reason(),
                        s.rejected[r as usize].get()
                    );
                }
            }
            o.push_str("# HELP edgewatch_source_connected 1 while the source is connected.\n# TYPE edgewatch_source_connected gauge\n");
            for s in &sources {
                let _ = writeln!(
                    o,
                    "edgewatch_source_connected{{source=\"{}\"}} {}",
                    Label(&s.name),
                    s.connected.get()
                );
            }
            o.push_str("# HELP edgewatch_source_reconnects_total Connection failures followed by a retry.\n# TYPE edgewatch_source_reconnects_total counter\n");
            for s in &sources {
                let _ = writeln!(
                    o,
                    "edgewatch_source_reconnects_total{{source=\"{}\"}} {}",
                    Label(&s.name),
                    s.reconnects.get()
                );
            }
        }
        render_sinks(&mut o, &self.sinks());
        render_devices(&mut o, &self.modbus_devices());
        o
    }
}

fn render_sinks(o: &mut String, sinks: &[Arc<SinkMetrics>]) {
    if sinks.is_empty() {
        return;
    }
    type Get = fn(&SinkMetrics) -> i64;
    let series: [(&str, &str, &str, Get); 10] = [
        (
            "edgewatch_sink_queue_items",
            "gauge",
            "Items waiting in the sink's outbox.",
            |s| s.queue_items.get(),
        ),
        (
            "edgewatch_sink_queue_bytes",
            "gauge",
            "Bytes waiting in the sink's outbox.",
            |s| s.queue_bytes.get(),
        ),
        (
            "edgewatch_sink_queue_age_seconds",
            "gauge",
            "Age of the oldest item in the outbox (0 when empty).",
            |s| {
                let oldest = s.oldest_ms.get();
                if oldest == 0 {
                    0
                } else {
                    ((crate::event::now_ms() - oldest) / 1000).max(0)
                }
            },
        ),
        (
            "edgewatch_sink_delivered_total",
            "counter",
            "Items acknowledged upstream and removed from the outbox (kept across restarts).",
            |s| s.delivered.get(),
        ),
        (
            "edgewatch_sink_dead_letters",
            "gauge",
            "Items moved aside because they can never be delivered (see `edgewatch dead-letters`).",
            |s| s.dead_letters.get(),
        ),
        (
            "edgewatch_sink_sent_total",
            "counter",
            "Items sent, including resends.",
            |s| s.sent.get() as i64,
        ),
        (
            "edgewatch_sink_retries_total",
            "counter",
            "Failed sends that were retried.",
            |s| s.retries.get() as i64,
        ),
        (
            "edgewatch_sink_connected",
            "gauge",
            "1 while an MQTT sink is connected.",
            |s| s.connected.get(),
        ),
        (
            "edgewatch_sink_breaker_state",
            "gauge",
            "Circuit breaker: 0 closed, 1 open, 2 half-open.",
            |s| s.breaker.get(),
        ),
        (
            "edgewatch_sink_last_error",
            "gauge",
            "1 while the last send failed.",
            |s| i64::from(s.last_error().is_some()),
        ),
    ];
    for (name, kind, help, get) in series {
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for s in sinks {
            let _ = writeln!(
                o,
                "{name}{{sink=\"{}\",type=\"{}\"}} {}",
                Label(&s.name),
                s.kind,
                get(s)
            );
        }
    }
    let name = "edgewatch_sink_dropped_total";
    let _ = writeln!(o, "# HELP {name} Items dropped by the outbox budget (size or age), per kind (kept across restarts).\n# TYPE {name} counter");
    for s in sinks {
        for (kind, v) in [
            ("alert", s.dropped_alerts.get()),
            ("aggregate", s.dropped_aggregates.get()),
        ] {
            let _ = writeln!(
                o,
                "{name}{{sink=\"{}\",kind=\"{kind}\"}} {v}",
                Label(&s.name)
            );
        }
    }
    let name = "edgewatch_sink_send_latency_seconds";
    let _ = writeln!(
        o,
        "# HELP {name} From send to upstream acknowledgement.\n# TYPE {name} summary"
    );
    for s in sinks {
        s.send_latency_us
            .write(o, name, &format!("sink=\"{}\"", Label(&s.name)));
    }
}

fn render_devices(o: &mut String, devices: &[Arc<DeviceMetrics>]) {
    if devices.is_empty() {
        return;
    }
    type Get = fn(&DeviceMetrics) -> u64;
    let series: [(&str, &str, &str, Get); 4] = [
        (
            "edgewatch_modbus_requests_total",
            "counter",
            "Modbus read requests sent, retries included.",
            |d| d.requests.get(),
        ),
        (
            "edgewatch_modbus_timeouts_total",
            "counter",
            "Modbus requests that got no answer in time.",
            |d| d.timeouts.get(),
        ),
        (
            "edgewatch_modbus_short_replies_total",
            "counter",
            "Modbus replies with fewer values than asked (the points beyond are read as bad quality).",
            |d| d.short_replies.get(),
        ),
        (
            "edgewatch_modbus_device_up",
            "gauge",
            "1 while the device answers.",
            |d| d.up.get().max(0) as u64,
        ),
    ];
    for (name, kind, help, get) in series {
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for d in devices {
            let _ = writeln!(
                o,
                "{name}{{source=\"{}\",device=\"{}\"}} {}",
                Label(&d.source),
                Label(&d.device),
                get(d)
            );
        }
    }
    let name = "edgewatch_modbus_exceptions_total";
    let _ = writeln!(o, "# HELP {name} Modbus exception responses by code (2 illegal address, 6 busy, 11 gateway target failed ...).\n# TYPE {name} counter");
    for d in devices {
        for (code, n) in d.exceptions() {
            let _ = writeln!(
                o,
                "{name}{{source=\"{}\",device=\"{}\",code=\"{code}\"}} {n}",
                Label(&d.source),
                Label(&d.device)
            );
        }
    }
    type Pick = fn(&DeviceMetrics) -> &Histo;
    let summaries: [(&str, &str, Pick); 2] = [
        (
            "edgewatch_modbus_poll_latency_seconds",
            "Time to read all of a device's points.",
            |d| &d.poll_latency_us,
        ),
        (
            "edgewatch_modbus_schedule_lag_seconds",
            "How late polls start after they are due.",
            |d| &d.schedule_lag_us,
        ),
    ];
    for (name, help, pick) in summaries {
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} summary");
        for d in devices {
            let labels = format!(
                "source=\"{}\",device=\"{}\"",
                Label(&d.source),
                Label(&d.device)
            );
            pick(d).write(o, name, &labels);
        }
    }
}

/// A label value in the exposition format: `\`, `"` and newlines escaped, so a
/// name can never break `/metrics` (config validation refuses such names too).
struct Label<'a>(&'a str);

impl std::fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in self.0.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '"' => f.write_str("\\\"")?,
                '\n' => f.write_str("\\n")?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_in_the_exposition() {
        let m = Metrics::default();
        m.sink("a\"b\\c\nd", "file");
        m.source("s\"1", "mqtt");
        let text = m.render();
        assert!(
            text.contains(r#"edgewatch_sink_connected{sink="a\"b\\c\nd",type="file"}"#),
            "{text}"
        );
        assert!(
            text.contains(r#"edgewatch_source_connected{source="s\"1"} 0"#),
            "{text}"
        );
        // Every sample line still has a well-formed label set.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.matches('{').count() <= 1, "{line}");
        }
    }
}
