//! Per-sensor statistics for the anomaly conditions: an EWMA z-score, a stuck
//! detector and a robust (median/MAD) spike score. Pure, fed one good reading at a
//! time with its own timestamp, so replays and tests are exact.

use std::collections::VecDeque;

/// Exponentially weighted mean and variance (West's incremental form). After the
/// warm-up the spread learns ten times slower than the level, and not at all from
/// readings scoring beyond `limit` (a rule passes its clear level): otherwise a drift or a step inflates the spread it is
/// measured against and hides itself.
#[derive(Debug, Clone)]
pub struct Ewma {
    alpha: f64,
    warmup: u32,
    n: u32,
    mean: f64,
    var: f64,
}

impl Ewma {
    pub fn new(alpha: f64, warmup: u32) -> Self {
        Ewma {
            alpha,
            warmup,
            n: 0,
            mean: 0.0,
            var: 0.0,
        }
    }

    /// The z-score of `x` against what came before (None while warming up or
    /// while the history has no spread), then learns `x`.
    pub fn score_and_learn(&mut self, x: f64, limit: f64) -> Option<f64> {
        let z =
            (self.n >= self.warmup && self.var > 0.0).then(|| (x - self.mean) / self.var.sqrt());
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
            } else {
                self.mean += self.alpha * d;
                if z.is_none_or(|z| z.abs() <= limit) {
                    let b = self.alpha / 10.0;
                    self.var = (1.0 - b) * (self.var + b * d * d);
                }
            }
        }
        self.n = self.n.saturating_add(1);
        z
    }
}

/// How long the value has stayed within `tolerance` of where it settled.
#[derive(Debug, Clone, Default)]
pub struct Stuck {
    anchor: Option<(i64, f64)>,
    count: u32,
}

impl Stuck {
    /// Returns (milliseconds without change, readings in that time) after `x`.
    pub fn observe(&mut self, ts_ms: i64, x: f64, tolerance: f64) -> (i64, u32) {
        match self.anchor {
            Some((_, a)) if (x - a).abs() <= tolerance => self.count += 1,
            _ => {
                self.anchor = Some((ts_ms, x));
                self.count = 1;
            }
        }
        let since = self.anchor.map_or(ts_ms, |(t, _)| t);
        (ts_ms - since, self.count)
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
}

impl Mad {
    pub fn new(window: usize) -> Self {
        Mad {
            window: window.max(3),
            values: VecDeque::new(),
            scratch: Vec::new(),
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
            // A flat window has no spread: measure against a tiny one instead of
            // dividing by zero, so only a real move scores high.
            let scale = (1.4826 * mad).max(1e-9 * med.abs().max(1.0));
            (x - med) / scale
        });
        if self.values.len() == self.window {
            self.values.pop_front();
        }
        self.values.push_back(x);
        z
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
        assert_eq!(s.observe(0, 5.0, 0.01), (0, 1));
        assert_eq!(s.observe(1000, 5.005, 0.01), (1000, 2));
        assert_eq!(s.observe(2000, 5.0, 0.01), (2000, 3));
        assert_eq!(s.observe(3000, 6.0, 0.01), (0, 1), "a move resets");
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
