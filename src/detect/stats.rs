//! Per-sensor statistics for the anomaly conditions: an EWMA z-score, a stuck
//! detector and a robust (median/MAD) spike score. Pure, fed one good reading at a
//! time with its own timestamp, so replays and tests are exact.
//!
//! Real sensors are quantised (a pressure transmitter that reports 9 distinct
//! values, a temperature in 0.1 degree steps): their spread is often zero over a
//! window, and dividing by a tiny floor turned every one-step move into a
//! hundred-million-sigma "anomaly". Every spread here is floored at the sensor's
//! own [`Resolution`], the smallest step it has been seen to make.

use std::collections::VecDeque;

/// The smallest change between consecutive readings seen so far: the sensor's
/// resolution as it reports it.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    prev: Option<f64>,
    step: Option<f64>,
}

impl Resolution {
    pub fn observe(&mut self, x: f64) {
        if let Some(p) = self.prev {
            let d = (x - p).abs();
            // Differences this small are rounding in transport, not a step.
            let noise = 1e-9 * x.abs().max(p.abs()).max(1e-300);
            if d > noise && self.step.is_none_or(|s| d < s) {
                self.step = Some(d);
            }
        }
        self.prev = Some(x);
    }

    /// The smallest step seen; 0 while the sensor has never moved.
    pub fn step(&self) -> f64 {
        self.step.unwrap_or(0.0)
    }

    /// The least spread a reading of this sensor can be judged against: half a
    /// step (a reading is only known to within half a step either way).
    pub fn spread_floor(&self) -> f64 {
        self.step() / 2.0
    }
}

/// Exponentially weighted mean and variance (West's incremental form). After the
/// warm-up the spread learns ten times slower than the level, and not at all from
/// readings scoring beyond `limit` (a rule passes its clear level); the level then
/// learns fifty times slower. Otherwise a drift or a step inflates the spread it
/// is measured against, the level follows it within a few dozen readings, and a
/// minutes-long anomaly hides itself; a lasting change of level is still learned,
/// over thousands of readings instead of dozens.
#[derive(Debug, Clone)]
pub struct Ewma {
    alpha: f64,
    warmup: u32,
    n: u32,
    mean: f64,
    var: f64,
    resolution: Resolution,
}

impl Ewma {
    pub fn new(alpha: f64, warmup: u32) -> Self {
        Ewma {
            alpha,
            warmup,
            n: 0,
            mean: 0.0,
            var: 0.0,
            resolution: Resolution::default(),
        }
    }

    /// The z-score of `x` against what came before (None while warming up or
    /// while the history has no spread), then learns `x`.
    pub fn score_and_learn(&mut self, x: f64, limit: f64) -> Option<f64> {
        let sd = self.var.sqrt().max(self.resolution.spread_floor());
        let z = (self.n >= self.warmup && sd > 0.0).then(|| (x - self.mean) / sd);
        self.resolution.observe(x);
        if self.n == 0 {
            self.mean = x;
        } else {
            let d = x - self.mean;
            if self.n < self.warmup {
                // A plain running mean and variance, so the first values do not
                // weigh as if they were a long history.
                let a = 1.0 / f64::from(self.n + 1);
                self.mean += a * d;
                self.var = (1.0 - a) * (self.var + a * d * d);
            } else if z.is_none_or(|z| z.abs() <= limit) {
                self.mean += self.alpha * d;
                let b = self.alpha / 10.0;
                self.var = (1.0 - b) * (self.var + b * d * d);
            } else {
                self.mean += self.alpha / 50.0 * d;
            }
        }
        self.n = self.n.saturating_add(1);
        z
    }
}

/// How long the value has stayed within `tolerance` of where it settled.
///
/// It also remembers how long the sensor's earlier still periods lasted: a
/// discrete or slow sensor (a valve position, a tank level in coarse steps) holds
/// one value for minutes as a matter of course, and such a sensor is only stuck
/// when it holds still for much longer than it usually does.
#[derive(Debug, Clone, Default)]
pub struct Stuck {
    anchor: Option<(i64, f64)>,
    last_ms: i64,
    count: u32,
    /// Lengths of the last still periods that ended, in ms.
    runs: VecDeque<i64>,
}

/// Still periods remembered per sensor.
const RUNS_KEPT: usize = 64;

/// What [`Stuck::observe`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stillness {
    /// Milliseconds without change, up to this reading.
    pub still_ms: i64,
    /// Readings in that time.
    pub readings: u32,
    /// The longest usual still period: the second longest remembered, so one
    /// earlier fault does not teach the detector that being stuck is normal.
    pub usual_ms: i64,
}

impl Stuck {
    /// Learns `x`. A gap longer than `max_gap_ms` since the last reading starts a
    /// new still period: a sensor not heard from was not seen holding still (that
    /// is staleness, not a stuck value).
    pub fn observe(&mut self, ts_ms: i64, x: f64, tolerance: f64, max_gap_ms: i64) -> Stillness {
        let gap = ts_ms.saturating_sub(self.last_ms) > max_gap_ms;
        match self.anchor {
            Some((_, a)) if !gap && (x - a).abs() <= tolerance => self.count += 1,
            ended => {
                if let Some((t0, _)) = ended {
                    if self.runs.len() == RUNS_KEPT {
                        self.runs.pop_front();
                    }
                    self.runs.push_back(self.last_ms.saturating_sub(t0));
                }
                self.anchor = Some((ts_ms, x));
                self.count = 1;
            }
        }
        self.last_ms = ts_ms;
        let since = self.anchor.map_or(ts_ms, |(t, _)| t);
        let (mut first, mut second) = (0, 0);
        for &r in &self.runs {
            if r > first {
                second = first;
                first = r;
            } else if r > second {
                second = r;
            }
        }
        Stillness {
            still_ms: ts_ms.saturating_sub(since),
            readings: self.count,
            usual_ms: second,
        }
    }
}

/// Robust z-score: distance from the median of the last `window` values in units
/// of 1.4826 × MAD (which estimates the standard deviation for normal data, and
/// which one spike cannot drag along as it drags a mean).
#[derive(Debug, Clone)]
pub struct Mad {
    window: usize,
    values: VecDeque<f64>,
    scratch: Vec<f64>,
    resolution: Resolution,
}

impl Mad {
    pub fn new(window: usize) -> Self {
        Mad {
            window: window.max(3),
            values: VecDeque::new(),
            scratch: Vec::new(),
            resolution: Resolution::default(),
        }
    }

    /// Scores `x` against the window (None until it is full), then adds it.
    pub fn score_and_learn(&mut self, x: f64) -> Option<f64> {
        let z = (self.values.len() == self.window).then(|| {
            self.scratch.clear();
            self.scratch.extend(self.values.iter().copied());
            let med = median(&mut self.scratch);
            for v in self.scratch.iter_mut() {
                *v = (*v - med).abs();
            }
            let mad = median(&mut self.scratch);
            // A flat window has no spread: measure against the sensor's own
            // resolution (a tiny floor only while it has never moved), so one step
            // of a quantised sensor scores 2, not 1e9.
            let scale = (1.4826 * mad)
                .max(self.resolution.spread_floor())
                .max(1e-9 * med.abs().max(1.0));
            (x - med) / scale
        });
        self.resolution.observe(x);
        if self.values.len() == self.window {
            self.values.pop_front();
        }
        self.values.push_back(x);
        z
    }
}

/// How surprising a score is for this sensor: the 99th percentile of its recent
/// scores. Heavy-tailed sensors (traffic, counts, vibration) cross a fixed limit
/// of 8 deviations every few hundred readings as a matter of course; a limit
/// raised to 1.5 x that percentile keeps their alerts as rare as a well-behaved
/// sensor's, and leaves a well-behaved sensor's limit alone (Gaussian noise has a
/// 99th percentile of 2.6). Scores are learned capped at the limit in force, so
/// an anomaly cannot teach the detector that it is normal.
#[derive(Debug, Clone, Default)]
pub struct Surprise {
    recent: VecDeque<f64>,
    since_sort: usize,
    p99: f64,
    scratch: Vec<f64>,
}

/// Scores remembered per sensor, and how often their percentile is refreshed.
const SURPRISE_KEPT: usize = 1024;
const SURPRISE_EVERY: usize = 64;

impl Surprise {
    /// The limit in force for a rule limit `k`, after learning `score`.
    pub fn limit(&mut self, k: f64, score: f64) -> f64 {
        let limit = k.max(1.5 * self.p99);
        if self.recent.len() == SURPRISE_KEPT {
            self.recent.pop_front();
        }
        self.recent.push_back(score.abs().min(limit));
        self.since_sort += 1;
        if self.since_sort >= SURPRISE_EVERY && self.recent.len() >= 256 {
            self.since_sort = 0;
            self.scratch.clear();
            self.scratch.extend(self.recent.iter().copied());
            let i = (self.scratch.len() * 99 / 100).min(self.scratch.len() - 1);
            let (_, p, _) = self.scratch.select_nth_unstable_by(i, f64::total_cmp);
            self.p99 = *p;
        }
        limit
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ewma_scores_after_warmup_against_the_learned_spread() {
        let mut e = Ewma::new(0.1, 10);
        let mut scores = Vec::new();
        for i in 0..20 {
            scores.push(e.score_and_learn(if i % 2 == 0 { 9.0 } else { 11.0 }, 4.0));
        }
        assert!(scores[..10].iter().all(Option::is_none), "warm-up");
        let z = scores[19].unwrap().abs();
        assert!(
            (0.5..1.5).contains(&z),
            "a normal value scores about 1: {z}"
        );
        let far = e.score_and_learn(20.0, 4.0).unwrap();
        assert!(far > 8.0, "ten away, spread one: {far}");
    }

    #[test]
    fn stuck_counts_time_and_readings_since_the_last_move() {
        let mut s = Stuck::default();
        let seen = |s: Stillness| (s.still_ms, s.readings);
        assert_eq!(seen(s.observe(0, 5.0, 0.01, 5000)), (0, 1));
        assert_eq!(seen(s.observe(1000, 5.005, 0.01, 5000)), (1000, 2));
        assert_eq!(seen(s.observe(2000, 5.0, 0.01, 5000)), (2000, 3));
        assert_eq!(
            seen(s.observe(3000, 6.0, 0.01, 5000)),
            (0, 1),
            "a move resets"
        );
        assert_eq!(seen(s.observe(4000, 6.0, 0.01, 5000)), (1000, 2));
        assert_eq!(
            seen(s.observe(60_000, 6.0, 0.01, 5000)),
            (0, 1),
            "so does a gap"
        );
    }

    #[test]
    fn stuck_learns_the_usual_still_period_but_not_from_one_long_one() {
        let mut s = Stuck::default();
        // Still periods of 10 s, 60 s (one fault), 20 s, at 1 s per reading.
        let mut t = 0;
        for (value, secs) in [(1.0, 10), (2.0, 60), (3.0, 20), (4.0, 1)] {
            for _ in 0..=secs {
                s.observe(t * 1000, value, 0.0, 5000);
                t += 1;
            }
        }
        assert_eq!(s.observe(t * 1000, 4.0, 0.0, 5000).usual_ms, 20_000);
    }

    #[test]
    fn a_quantised_sensor_steps_by_two_deviations_not_a_billion() {
        // Pressure in 0.1 bar steps, flat for the whole window, then one step.
        let mut m = Mad::new(9);
        let mut e = Ewma::new(0.05, 20);
        for i in 0..40 {
            let v = if i % 13 == 0 { 2.1 } else { 2.0 };
            m.score_and_learn(v);
            e.score_and_learn(v, 3.0);
        }
        let spike = m.score_and_learn(2.1).unwrap();
        assert!((1.5..=2.5).contains(&spike), "{spike}");
        let z = e.score_and_learn(2.1, 3.0).unwrap();
        assert!(z < 3.0, "{z}");
        // A real jump is still large.
        assert!(m.score_and_learn(3.5).unwrap() > 10.0);
    }

    #[test]
    fn surprise_raises_the_limit_of_a_heavy_tailed_sensor_only() {
        let mut rng = fastrand::Rng::with_seed(3);
        let (mut calm, mut wild) = (Surprise::default(), Surprise::default());
        let (mut calm_limit, mut wild_limit) = (0.0, 0.0);
        for _ in 0..2000 {
            // Uniform noise in units of its deviation, and one with 3 % bursts of 12.
            calm_limit = calm.limit(8.0, (rng.f64() * 2.0 - 1.0) * 1.7);
            let burst = if rng.f64() < 0.03 { 12.0 } else { 1.0 };
            wild_limit = wild.limit(8.0, burst);
        }
        assert_eq!(calm_limit, 8.0);
        assert!(wild_limit >= 12.0, "{wild_limit}");
    }

    #[test]
    fn the_level_does_not_follow_an_anomaly_within_minutes() {
        let mut e = Ewma::new(0.02, 60);
        for i in 0..600 {
            e.score_and_learn(50.0 + if i % 2 == 0 { 0.5 } else { -0.5 }, 3.0);
        }
        // Ten minutes ten deviations up (1 Hz): still far from the learned level.
        let mut z = 0.0;
        for _ in 0..600 {
            z = e.score_and_learn(55.0, 3.0).unwrap();
        }
        assert!(z > 3.0, "absorbed: {z}");
    }

    #[test]
    fn mad_ignores_one_spike_in_its_window() {
        let mut m = Mad::new(9);
        let base = [10.0, 10.2, 9.9, 10.1, 9.8, 10.0, 10.3, 9.7, 10.1];
        for v in base {
            assert!(m.score_and_learn(v).is_none());
        }
        let spike = m.score_and_learn(25.0).unwrap();
        assert!(spike > 20.0, "{spike}");
        // The spike is now in the window; a normal value still scores low.
        let normal = m.score_and_learn(10.05).unwrap();
        assert!(normal.abs() < 1.0, "{normal}");
    }
}
