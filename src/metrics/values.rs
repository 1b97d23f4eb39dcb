//! The metric value types prometheus-client lacks: hdrhistogram latencies
//! exposed as Prometheus histograms, totals kept in the store and mirrored
//! (set, yet counters), and values computed at scrape time (ages, uptime).

use hdrhistogram::Histogram;
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::exemplar::Exemplar;
use prometheus_client::metrics::{MetricType, TypedMetric};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Upper bounds of the exposed latency buckets, in seconds: 100 µs to 1 min.
const BUCKETS_S: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 10.0, 60.0,
];

/// Latency in microseconds, 1 µs to 1 h at 3 significant digits. The status
/// API reads exact quantiles from it; /metrics gets cumulative buckets.
#[derive(Debug, Clone)]
pub struct Histo(Arc<Mutex<Histogram<u64>>>);

impl Default for Histo {
    fn default() -> Self {
        Histo(Arc::new(Mutex::new(
            Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("static bounds are valid"),
        )))
    }
}

impl Histo {
    pub fn record(&self, us: u64) {
        if let Ok(mut h) = self.0.lock() {
            h.saturating_record(us.max(1));
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

    /// (sum in seconds, count, per-bucket counts with +Inf last).
    fn buckets(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let Ok(h) = self.0.lock() else {
            return (0.0, 0, vec![(f64::INFINITY, 0)]);
        };
        let mut out = Vec::with_capacity(BUCKETS_S.len() + 1);
        let mut below = 0u64;
        for le in BUCKETS_S {
            let upto = h.count_between(0, (le * 1e6) as u64);
            out.push((le, upto - below));
            below = upto;
        }
        out.push((f64::INFINITY, h.len() - below));
        (h.mean() * h.len() as f64 / 1e6, h.len(), out)
    }
}

impl TypedMetric for Histo {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Histo {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let (sum, count, buckets) = self.buckets();
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// A total kept in the store (it survives restarts) and mirrored here after
/// each commit: set, not incremented, and exposed as a counter.
#[derive(Debug, Clone, Default)]
pub struct Total(Arc<AtomicI64>);

impl Total {
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl TypedMetric for Total {
    const TYPE: MetricType = MetricType::Counter;
}

impl EncodeMetric for Total {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let v = self.get().max(0) as u64;
        encoder.encode_counter::<NoLabelSet, _, u64>(&v, None::<&Exemplar<NoLabelSet, u64>>)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }
}

/// A time in ms since the epoch (0 for none), exposed as its age in seconds.
#[derive(Debug, Clone, Default)]
pub struct Since(Arc<AtomicI64>);

impl Since {
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::Relaxed);
    }
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl TypedMetric for Since {
    const TYPE: MetricType = MetricType::Gauge;
}

impl EncodeMetric for Since {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let at = self.get();
        let age = if at == 0 {
            0
        } else {
            ((crate::event::now_ms() - at) / 1000).max(0)
        };
        encoder.encode_gauge(&age)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Gauge
    }
}

/// Seconds since the metrics were made.
#[derive(Debug, Clone)]
pub struct Uptime(pub Instant);

impl TypedMetric for Uptime {
    const TYPE: MetricType = MetricType::Gauge;
}

impl EncodeMetric for Uptime {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_gauge(&(self.0.elapsed().as_secs() as i64))
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Gauge
    }
}
