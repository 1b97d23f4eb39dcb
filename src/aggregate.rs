//! Tumbling per-sensor windows aligned to the epoch: count, min, max, mean, stddev,
//! p50/p95/p99, first/last time. Pure: readings and a clock go in, closed windows
//! come out.
//!
//! Percentiles are nearest-rank over the window's values, exact up to
//! [`EXACT_VALUES`] values per window and over a uniform reservoir sample beyond,
//! so memory stays bounded for fast sensors.

use crate::event::{Quality, Reading};
use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::sync::Arc;

pub const EXACT_VALUES: usize = 8192;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Aggregate {
    pub sensor: Arc<str>,
    pub unit: Option<Arc<str>>,
    pub window_start_ms: i64,
    pub window_end_ms: i64,
    pub count: u64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// Sample standard deviation (n - 1); 0 for a single value.
    pub stddev: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub first_ms: i64,
    pub last_ms: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Added {
    Yes,
    /// Its window was already closed and stored.
    Late,
    /// Not of good quality: journaled, not aggregated.
    Skipped,
    /// Its sensor already has `max-open-windows` open: journaled, not aggregated.
    TooManyWindows,
}

#[derive(Debug)]
struct Acc {
    start_ms: i64,
    count: u64,
    min: f64,
    max: f64,
    mean: f64,
    m2: f64,
    first_ms: i64,
    last_ms: i64,
    values: Vec<f64>,
}

impl Acc {
    fn new(start_ms: i64) -> Self {
        Acc {
            start_ms,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            mean: 0.0,
            m2: 0.0,
            first_ms: i64::MAX,
            last_ms: i64::MIN,
            values: Vec::new(),
        }
    }

    fn add(&mut self, ts_ms: i64, v: f64, rng: &mut fastrand::Rng) {
        self.count += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        // Welford: stable mean and variance in one pass.
        let d = v - self.mean;
        self.mean += d / self.count as f64;
        self.m2 += d * (v - self.mean);
        self.first_ms = self.first_ms.min(ts_ms);
        self.last_ms = self.last_ms.max(ts_ms);
        if self.values.len() < EXACT_VALUES {
            self.values.push(v);
        } else {
            // Algorithm R: every value so far is kept with equal probability.
            let j = rng.u64(0..self.count) as usize;
            if j < EXACT_VALUES {
                self.values[j] = v;
            }
        }
    }

    fn finish(mut self, sensor: Arc<str>, unit: Option<Arc<str>>, window_ms: i64) -> Aggregate {
        self.values.sort_unstable_by(f64::total_cmp);
        let stddev = if self.count > 1 {
            (self.m2 / (self.count - 1) as f64).sqrt()
        } else {
            0.0
        };
        Aggregate {
            sensor,
            unit,
            window_start_ms: self.start_ms,
            window_end_ms: self.start_ms + window_ms,
            count: self.count,
            min: self.min,
            max: self.max,
            mean: self.mean,
            stddev,
            p50: nearest_rank(&self.values, 0.50),
            p95: nearest_rank(&self.values, 0.95),
            p99: nearest_rank(&self.values, 0.99),
            first_ms: self.first_ms,
            last_ms: self.last_ms,
        }
    }
}

/// Nearest-rank percentile of sorted values: the smallest value with at least `p`
/// of all values at or below it.
pub fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[derive(Debug, Default)]
struct SensorWindows {
    unit: Option<Arc<str>>,
    /// By start time: finding a reading's window and closing the due ones
    /// never scans every open window.
    open: BTreeMap<i64, Acc>,
}

#[derive(Debug)]
pub struct Aggregator {
    window_ms: i64,
    lateness_ms: i64,
    max_open: usize,
    sensors: HashMap<Arc<str>, SensorWindows>,
    /// Every window ending at or before this is closed and stored.
    closed_until_ms: i64,
    rng: fastrand::Rng,
}

impl Aggregator {
    /// `closed_until_ms` comes from the store on restart (`i64::MIN` when new);
    /// a sensor has at most `max_open` windows open at once.
    pub fn new(window_ms: i64, lateness_ms: i64, max_open: usize, closed_until_ms: i64) -> Self {
        Aggregator {
            window_ms: window_ms.max(1),
            lateness_ms,
            max_open: max_open.max(1),
            sensors: HashMap::default(),
            closed_until_ms,
            rng: fastrand::Rng::with_seed(0x5eed),
        }
    }

    pub fn window_ms(&self) -> i64 {
        self.window_ms
    }

    pub fn lateness_ms(&self) -> i64 {
        self.lateness_ms
    }

    pub fn max_open(&self) -> usize {
        self.max_open
    }

    pub fn closed_until_ms(&self) -> i64 {
        self.closed_until_ms
    }

    pub fn add(&mut self, r: &Reading) -> Added {
        if r.quality != Quality::Good {
            return Added::Skipped;
        }
        let start = r.ts_ms.div_euclid(self.window_ms) * self.window_ms;
        if start + self.window_ms <= self.closed_until_ms {
            return Added::Late;
        }
        let w = match self.sensors.get_mut(&r.sensor) {
            Some(w) => w,
            None => self.sensors.entry(r.sensor.clone()).or_default(),
        };
        if r.unit.is_some() {
            w.unit.clone_from(&r.unit);
        }
        let at_cap = w.open.len() >= self.max_open;
        let acc = match w.open.entry(start) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(_) if at_cap => return Added::TooManyWindows,
            Entry::Vacant(e) => e.insert(Acc::new(start)),
        };
        acc.add(r.ts_ms, r.value, &mut self.rng);
        Added::Yes
    }

    /// Closes every window whose end plus the allowed lateness is at or before `now_ms`.
    pub fn close_due(&mut self, now_ms: i64, out: &mut Vec<Aggregate>) {
        let cutoff = (now_ms - self.lateness_ms).div_euclid(self.window_ms) * self.window_ms;
        if cutoff <= self.closed_until_ms {
            return;
        }
        let window_ms = self.window_ms;
        for (sensor, w) in self.sensors.iter_mut() {
            while let Some(entry) = w.open.first_entry() {
                if entry.key() + window_ms > cutoff {
                    break;
                }
                let acc = entry.remove();
                out.push(acc.finish(sensor.clone(), w.unit.clone(), window_ms));
            }
        }
        self.sensors.retain(|_, w| !w.open.is_empty());
        self.closed_until_ms = cutoff;
    }

    pub fn open_windows(&self) -> usize {
        self.sensors.values().map(|w| w.open.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_statistics_match_independent_computation() {
        let mut a = Aggregator::new(60_000, 5_000, 64, i64::MIN);
        let values: Vec<f64> = (0..100).map(|i| ((i * 37) % 101) as f64 / 3.0).collect();
        for (i, v) in values.iter().enumerate() {
            assert_eq!(
                a.add(&Reading::new("s", 120_000 + i as i64 * 100, *v)),
                Added::Yes
            );
        }
        let mut out = Vec::new();
        a.close_due(184_999, &mut out);
        assert!(out.is_empty(), "lateness not yet over");
        a.close_due(185_000, &mut out);
        assert_eq!(out.len(), 1);
        let g = &out[0];
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let mut sorted = values.clone();
        sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_eq!((g.window_start_ms, g.window_end_ms), (120_000, 180_000));
        assert_eq!(g.count, 100);
        assert!((g.mean - mean).abs() < 1e-9);
        assert!((g.stddev - var.sqrt()).abs() < 1e-9);
        assert_eq!(g.min, sorted[0]);
        assert_eq!(g.max, sorted[99]);
        assert_eq!(g.p50, sorted[49]);
        assert_eq!(g.p95, sorted[94]);
        assert_eq!(g.p99, sorted[98]);
        assert_eq!((g.first_ms, g.last_ms), (120_000, 129_900));
    }

    #[test]
    fn late_and_bad_readings_are_kept_out() {
        let mut a = Aggregator::new(1_000, 0, 64, i64::MIN);
        a.add(&Reading::new("s", 500, 1.0));
        let mut out = Vec::new();
        a.close_due(1_000, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(a.add(&Reading::new("s", 999, 1.0)), Added::Late);
        let mut bad = Reading::new("s", 1_500, 1.0);
        bad.quality = Quality::Bad;
        assert_eq!(a.add(&bad), Added::Skipped);
        assert_eq!(a.add(&Reading::new("s", 1_000, 1.0)), Added::Yes);
    }

    #[test]
    fn a_sensor_holds_at_most_max_open_windows() {
        let mut a = Aggregator::new(1_000, 0, 3, i64::MIN);
        let r = |ts: i64| Reading::new("s", ts, 1.0);
        for ts in [0, 1_000, 2_000] {
            assert_eq!(a.add(&r(ts)), Added::Yes);
        }
        assert_eq!(a.add(&r(10_000_000)), Added::TooManyWindows);
        // An open window still takes readings at the cap.
        assert_eq!(a.add(&r(1_500)), Added::Yes);
        assert_eq!(a.open_windows(), 3);
        let mut out = Vec::new();
        a.close_due(2_000, &mut out);
        assert_eq!(out.len(), 2, "windows 0 and 1000 closed, oldest first");
        assert!(out[0].window_start_ms < out[1].window_start_ms);
        assert_eq!(out[1].count, 2);
        assert_eq!(a.add(&r(10_000_000)), Added::Yes, "room again");
    }

    #[test]
    fn large_windows_stay_bounded() {
        let mut a = Aggregator::new(60_000, 0, 64, i64::MIN);
        for i in 0..50_000 {
            a.add(&Reading::new("s", i, (i % 1000) as f64));
        }
        let mut out = Vec::new();
        a.close_due(60_000, &mut out);
        assert_eq!(out[0].count, 50_000);
        assert_eq!(out[0].max, 999.0);
        assert!((out[0].p50 - 500.0).abs() < 30.0, "{}", out[0].p50);
    }
}
