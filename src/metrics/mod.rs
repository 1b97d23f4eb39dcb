//! The daemon's metrics: typed handles the parts update (atomics, no lock on
//! the hot path), each registered once with its help text in a
//! prometheus-client `Registry`, which renders /metrics in the OpenMetrics
//! text format and escapes label values.
//!
//! Per-component series (sources, sinks, Modbus devices) are families keyed by
//! the component's name; its handles are clones of the family's entries.

mod values;

pub use values::{Histo, Since, Total};

use crate::event::Rejection;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::{Metric, Registry};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use values::Uptime;

pub type Counter = prometheus_client::metrics::counter::Counter;
pub type Gauge = prometheus_client::metrics::gauge::Gauge;

/// A series' labels, in the order they are shown.
type Labels = Vec<(&'static str, String)>;

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
#[derive(Debug)]
pub struct SinkMetrics {
    pub name: String,
    pub kind: &'static str,
    pub queue_items: Gauge,
    pub queue_bytes: Gauge,
    /// Enqueue time of the oldest queued item (ms since the epoch), 0 when empty.
    pub oldest_ms: Since,
    pub delivered: Total,
    pub dropped_alerts: Total,
    pub dropped_aggregates: Total,
    /// Items moved aside because they can never be delivered.
    pub dead_letters: Gauge,
    pub sent: Counter,
    pub retries: Counter,
    pub connected: Gauge,
    /// 0 closed, 1 open, 2 half-open.
    pub breaker: Gauge,
    pub send_latency_us: Histo,
    failing: Gauge,
    last_error: Mutex<Option<String>>,
}

impl SinkMetrics {
    pub fn set_error(&self, e: Option<String>) {
        self.failing.set(i64::from(e.is_some()));
        if let Ok(mut l) = self.last_error.lock() {
            *l = e;
        }
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|l| l.clone())
    }
}

/// Per Modbus device (unit id on a connection).
#[derive(Debug)]
pub struct DeviceMetrics {
    pub source: String,
    pub device: String,
    pub requests: Counter,
    pub timeouts: Counter,
    /// Replies holding fewer values than the request asked for.
    pub short_replies: Counter,
    pub up: Gauge,
    pub poll_latency_us: Histo,
    /// How late a poll started after it was due.
    pub schedule_lag_us: Histo,
    /// Exceptions by Modbus exception code, for the status API.
    exceptions: Mutex<std::collections::BTreeMap<u8, u64>>,
    exception_series: Family<Labels, Counter>,
}

impl DeviceMetrics {
    pub fn exception(&self, code: u8) {
        if let Ok(mut m) = self.exceptions.lock() {
            *m.entry(code).or_default() += 1;
        }
        self.exception_series
            .get_or_create(&vec![
                ("source", self.source.clone()),
                ("device", self.device.clone()),
                ("code", code.to_string()),
            ])
            .inc();
    }

    pub fn exceptions(&self) -> Vec<(u8, u64)> {
        self.exceptions
            .lock()
            .map(|m| m.iter().map(|(k, v)| (*k, *v)).collect())
            .unwrap_or_default()
    }
}

/// The families per-component handles come from.
#[derive(Debug)]
struct SourceSeries {
    messages: Family<Labels, Counter>,
    readings: Family<Labels, Counter>,
    rejected: Family<Labels, Counter>,
    connected: Family<Labels, Gauge>,
    reconnects: Family<Labels, Counter>,
}

#[derive(Debug)]
struct SinkSeries {
    queue_items: Family<Labels, Gauge>,
    queue_bytes: Family<Labels, Gauge>,
    queue_age: Family<Labels, Since>,
    delivered: Family<Labels, Total>,
    dead_letters: Family<Labels, Gauge>,
    sent: Family<Labels, Counter>,
    retries: Family<Labels, Counter>,
    connected: Family<Labels, Gauge>,
    breaker: Family<Labels, Gauge>,
    failing: Family<Labels, Gauge>,
    dropped: Family<Labels, Total>,
    send_latency: Family<Labels, Histo>,
}

#[derive(Debug)]
struct DeviceSeries {
    requests: Family<Labels, Counter>,
    timeouts: Family<Labels, Counter>,
    short_replies: Family<Labels, Counter>,
    up: Family<Labels, Gauge>,
    exceptions: Family<Labels, Counter>,
    poll_latency: Family<Labels, Histo>,
    schedule_lag: Family<Labels, Histo>,
}

#[derive(Debug)]
pub struct Metrics {
    pub started: Instant,
    registry: Registry,
    source_series: SourceSeries,
    sink_series: SinkSeries,
    device_series: DeviceSeries,
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

/// Registers a clone of `metric` (its handles share the value) and hands it back.
fn put<M: Metric + Clone>(r: &mut Registry, name: &str, help: &str, metric: M) -> M {
    r.register(name, help, metric.clone());
    metric
}

impl Default for Metrics {
    fn default() -> Self {
        let started = Instant::now();
        let mut r = Registry::with_prefix("edgewatch");
        let c = |r: &mut Registry, name: &str, help: &str| put(r, name, help, Counter::default());
        let g = |r: &mut Registry, name: &str, help: &str| put(r, name, help, Gauge::default());
        let h = |r: &mut Registry, name: &str, help: &str| put(r, name, help, Histo::default());
        Metrics {
            started,
            readings_in: c(&mut r, "readings", "Readings accepted into the pipeline."),
            late_readings: c(&mut r, "late_readings", "Readings too late for their aggregate window (journaled only)."),
            unwindowed_readings: c(&mut r, "unwindowed_readings", "Readings of a sensor that had aggregate.max-open-windows open already (journaled only)."),
            sensors_refused: c(&mut r, "sensors_refused", "Readings of new sensors refused because store.max-sensors are known (not journaled)."),
            journal_rows: c(&mut r, "journal_rows", "Readings committed to the journal."),
            commits: c(&mut r, "commits", "Group commits."),
            commit_errors: c(&mut r, "commit_errors", "Failed commit attempts (the batch is retried; nothing in it is acknowledged)."),
            pruned_rows: c(&mut r, "journal_pruned_rows", "Readings removed by retention."),
            aggregates_written: c(&mut r, "aggregates", "Aggregate windows stored."),
            alerts_fired: c(&mut r, "alerts_fired", "Alerts that fired."),
            alerts_resolved: c(&mut r, "alerts_resolved", "Alerts that resolved."),
            alerts_firing: g(&mut r, "alerts_firing", "Alerts firing now."),
            ingest_queue: g(&mut r, "ingest_queue_depth", "Batches waiting for the pipeline."),
            writer_queue: g(&mut r, "writer_queue_depth", "Batches waiting for the store writer."),
            open_windows: g(&mut r, "open_windows", "Aggregate windows in progress."),
            sensors_known: g(&mut r, "sensors_known", "Distinct sensors the pipeline knows (capped by store.max-sensors)."),
            readings_per_s: g(&mut r, "readings_per_second", "Readings accepted in the last second."),
            anomaly_windows_scored: c(&mut r, "anomaly_windows_scored", "Windows scored by ONNX anomaly models."),
            anomaly_windows_dropped: c(&mut r, "anomaly_windows_dropped", "Windows dropped because the inference queue was full (readings are never dropped)."),
            alert_embeddings_deferred: c(&mut r, "alert_embeddings_deferred", "Alerts not embedded at once because the embedding queue was full (embedded at the next start)."),
            inference_errors: c(&mut r, "inference_errors", "Failed ONNX model runs."),
            alerts_embedded: c(&mut r, "alerts_embedded", "Alerts given an embedding vector for search."),
            summaries_embedded: c(&mut r, "summaries_embedded", "Summaries of sensors over summary windows embedded for search."),
            inference_batches: c(&mut r, "inference_batches", "ONNX model runs (each scores a batch of windows)."),
            anomaly_models_loaded: g(&mut r, "anomaly_models_loaded", "ONNX anomaly models loaded and running."),
            inference_queue: g(&mut r, "inference_queue_depth", "Windows waiting for inference."),
            commit_latency_us: h(&mut r, "commit_latency_seconds", "Group commit latency."),
            alert_latency_us: h(&mut r, "reading_to_alert_latency_seconds", "From receiving a reading to its alert being committed."),
            inference_latency_us: h(&mut r, "inference_latency_seconds", "Time of one ONNX model run (a batch of windows)."),
            pipeline_heartbeat_ms: Gauge::default(),
            last_commit_ms: Gauge::default(),
            source_series: SourceSeries::registered(&mut r),
            sink_series: SinkSeries::registered(&mut r),
            device_series: DeviceSeries::registered(&mut r),
            sources: Mutex::default(),
            sinks: Mutex::default(),
            devices: Mutex::default(),
            registry: {
                r.register("uptime_seconds", "Seconds since start.", Uptime(started));
                r
            },
        }
    }
}

impl SourceSeries {
    fn registered(r: &mut Registry) -> Self {
        SourceSeries {
            messages: put(
                r,
                "source_messages",
                "Messages received per source.",
                Family::default(),
            ),
            readings: put(
                r,
                "source_readings",
                "Readings decoded per source.",
                Family::default(),
            ),
            rejected: put(
                r,
                "source_rejected",
                "Payloads (or array elements) refused, per reason.",
                Family::default(),
            ),
            connected: put(
                r,
                "source_connected",
                "1 while the source is connected.",
                Family::default(),
            ),
            reconnects: put(
                r,
                "source_reconnects",
                "Connection failures followed by a retry.",
                Family::default(),
            ),
        }
    }
}

impl SinkSeries {
    fn registered(r: &mut Registry) -> Self {
        SinkSeries {
            queue_items: put(r, "sink_queue_items", "Items waiting in the sink's outbox.", Family::default()),
            queue_bytes: put(r, "sink_queue_bytes", "Bytes waiting in the sink's outbox.", Family::default()),
            queue_age: put(r, "sink_queue_age_seconds", "Age of the oldest item in the outbox (0 when empty).", Family::default()),
            delivered: put(r, "sink_delivered", "Items acknowledged upstream and removed from the outbox (kept across restarts).", Family::default()),
            dead_letters: put(r, "sink_dead_letters", "Items moved aside because they can never be delivered (see `edgewatch dead-letters`).", Family::default()),
            sent: put(r, "sink_sent", "Items sent, including resends.", Family::default()),
            retries: put(r, "sink_retries", "Failed sends that were retried.", Family::default()),
            connected: put(r, "sink_connected", "1 while an MQTT sink is connected.", Family::default()),
            breaker: put(r, "sink_breaker_state", "Circuit breaker: 0 closed, 1 open, 2 half-open.", Family::default()),
            failing: put(r, "sink_last_error", "1 while the last send failed.", Family::default()),
            dropped: put(r, "sink_dropped", "Items dropped by the outbox budget (size or age), per kind (kept across restarts).", Family::default()),
            send_latency: put(r, "sink_send_latency_seconds", "From send to upstream acknowledgement.", Family::default()),
        }
    }
}

impl DeviceSeries {
    fn registered(r: &mut Registry) -> Self {
        DeviceSeries {
            requests: put(r, "modbus_requests", "Modbus read requests sent, retries included.", Family::default()),
            timeouts: put(r, "modbus_timeouts", "Modbus requests that got no answer in time.", Family::default()),
            short_replies: put(r, "modbus_short_replies", "Modbus replies with fewer values than asked (the points beyond are read as bad quality).", Family::default()),
            up: put(r, "modbus_device_up", "1 while the device answers.", Family::default()),
            exceptions: put(r, "modbus_exceptions", "Modbus exception responses by code (2 illegal address, 6 busy, 11 gateway target failed ...).", Family::default()),
            poll_latency: put(r, "modbus_poll_latency_seconds", "Time to read all of a device's points.", Family::default()),
            schedule_lag: put(r, "modbus_schedule_lag_seconds", "How late polls start after they are due.", Family::default()),
        }
    }
}

impl Metrics {
    pub fn source(&self, name: &str, kind: &'static str) -> Arc<SourceMetrics> {
        let s = &self.source_series;
        let one = vec![("source", name.to_owned())];
        let m = Arc::new(SourceMetrics {
            name: name.to_owned(),
            kind,
            messages: s.messages.get_or_create_owned(&vec![
                ("source", name.to_owned()),
                ("kind", kind.to_owned()),
            ]),
            readings: s.readings.get_or_create_owned(&one),
            rejected: Rejection::ALL.map(|r| {
                s.rejected.get_or_create_owned(&vec![
                    ("source", name.to_owned()),
                    ("reason", r.reason().to_owned()),
                ])
            }),
            connected: s.connected.get_or_create_owned(&one),
            reconnects: s.reconnects.get_or_create_owned(&one),
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
        let k = &self.sink_series;
        let typed = vec![("sink", name.to_owned()), ("type", kind.to_owned())];
        let dropped = |what: &str| {
            k.dropped
                .get_or_create_owned(&vec![("sink", name.to_owned()), ("kind", what.to_owned())])
        };
        let m = Arc::new(SinkMetrics {
            name: name.to_owned(),
            kind,
            queue_items: k.queue_items.get_or_create_owned(&typed),
            queue_bytes: k.queue_bytes.get_or_create_owned(&typed),
            oldest_ms: k.queue_age.get_or_create_owned(&typed),
            delivered: k.delivered.get_or_create_owned(&typed),
            dropped_alerts: dropped("alert"),
            dropped_aggregates: dropped("aggregate"),
            dead_letters: k.dead_letters.get_or_create_owned(&typed),
            sent: k.sent.get_or_create_owned(&typed),
            retries: k.retries.get_or_create_owned(&typed),
            connected: k.connected.get_or_create_owned(&typed),
            breaker: k.breaker.get_or_create_owned(&typed),
            send_latency_us: k
                .send_latency
                .get_or_create_owned(&vec![("sink", name.to_owned())]),
            failing: k.failing.get_or_create_owned(&typed),
            last_error: Mutex::default(),
        });
        if let Ok(mut s) = self.sinks.lock() {
            s.retain(|x| x.name != name);
            s.push(m.clone());
        }
        m
    }

    pub fn modbus_device(&self, source: &str, device: &str) -> Arc<DeviceMetrics> {
        let d = &self.device_series;
        let both = vec![("source", source.to_owned()), ("device", device.to_owned())];
        let m = Arc::new(DeviceMetrics {
            source: source.to_owned(),
            device: device.to_owned(),
            requests: d.requests.get_or_create_owned(&both),
            timeouts: d.timeouts.get_or_create_owned(&both),
            short_replies: d.short_replies.get_or_create_owned(&both),
            up: d.up.get_or_create_owned(&both),
            poll_latency_us: d.poll_latency.get_or_create_owned(&both),
            schedule_lag_us: d.schedule_lag.get_or_create_owned(&both),
            exceptions: Mutex::default(),
            exception_series: d.exceptions.clone(),
        });
        if let Ok(mut list) = self.devices.lock() {
            list.retain(|x| !(x.source == source && x.device == device));
            list.push(m.clone());
        }
        m
    }

    pub fn modbus_devices(&self) -> Vec<Arc<DeviceMetrics>> {
        self.devices.lock().map(|d| d.clone()).unwrap_or_default()
    }

    pub fn sinks(&self) -> Vec<Arc<SinkMetrics>> {
        self.sinks.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The OpenMetrics text exposition, ending in `# EOF`.
    pub fn render(&self) -> String {
        let mut o = String::with_capacity(8192);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut o, &self.registry);
        o
    }
}

/// The content type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

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

    #[test]
    fn handles_update_the_exposed_series() {
        let m = Metrics::default();
        m.readings_in.inc_by(3);
        let sink = m.sink("up", "mqtt");
        sink.delivered.set(41);
        sink.dropped_aggregates.set(2);
        sink.set_error(Some("refused".into()));
        let dev = m.modbus_device("bus", "meter");
        dev.exception(2);
        dev.exception(2);
        for us in [50, 700, 700, 3_000_000] {
            m.commit_latency_us.record(us);
        }
        let text = m.render();
        for line in [
            "edgewatch_readings_total 3",
            r#"edgewatch_sink_delivered_total{sink="up",type="mqtt"} 41"#,
            r#"edgewatch_sink_dropped_total{sink="up",kind="aggregate"} 2"#,
            r#"edgewatch_sink_last_error{sink="up",type="mqtt"} 1"#,
            r#"edgewatch_modbus_exceptions_total{source="bus",device="meter",code="2"} 2"#,
            "edgewatch_commit_latency_seconds_count 4",
            r#"edgewatch_commit_latency_seconds_bucket{le="0.0001"} 1"#,
            r#"edgewatch_commit_latency_seconds_bucket{le="0.001"} 3"#,
            r#"edgewatch_commit_latency_seconds_bucket{le="1.0"} 3"#,
            r#"edgewatch_commit_latency_seconds_bucket{le="10.0"} 4"#,
            r#"edgewatch_commit_latency_seconds_bucket{le="+Inf"} 4"#,
            "# TYPE edgewatch_sink_delivered counter",
        ] {
            assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert_eq!(dev.exceptions(), [(2, 2)]);
    }
}
