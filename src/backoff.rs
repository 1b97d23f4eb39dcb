//! Jittered exponential backoff for every retry loop (rumqttc has none of its own).

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    /// Fraction of each delay drawn at random: 0.0 in tests, 0.5 in service.
    jitter: f64,
    current: Duration,
    rng: fastrand::Rng,
}

impl Backoff {
    /// `min` must be above zero and not above `max` (config validation checks it).
    pub fn new(min: Duration, max: Duration, jitter: f64) -> Self {
        // Far beyond any sane setting, and small enough that jitter arithmetic in
        // f64 and `Instant + delay` cannot overflow.
        let ceiling = Duration::from_secs(u64::from(u32::MAX));
        let min = min.clamp(Duration::from_millis(1), ceiling);
        Backoff {
            min,
            max: max.clamp(min, ceiling),
            jitter: jitter.clamp(0.0, 1.0),
            current: min,
            rng: fastrand::Rng::new(),
        }
    }

    /// The delay to wait now; the next one doubles up to `max`.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.current;
        // Saturating: a huge configured maximum must not overflow the doubling.
        self.current = self.current.saturating_mul(2).min(self.max);
        // "Equal jitter": keep (1 - jitter) of the delay, draw the rest.
        let keep = base.mul_f64(1.0 - self.jitter);
        keep.saturating_add(base.mul_f64(self.jitter * self.rng.f64()))
    }

    /// Call after a success so the next failure starts small again.
    pub fn reset(&mut self) {
        self.current = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_caps_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(500), 0.0);
        let got: Vec<u128> = (0..5).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(got, vec![100, 200, 400, 500, 500]);
        b.reset();
        assert_eq!(b.next_delay().as_millis(), 100);
    }

    #[test]
    fn a_huge_maximum_saturates_instead_of_overflowing() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::MAX, 0.5);
        for _ in 0..200 {
            let d = b.next_delay();
            assert!(d >= Duration::from_millis(500));
        }
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(10), 0.5);
        for _ in 0..100 {
            b.reset();
            let d = b.next_delay().as_millis();
            assert!((50..=100).contains(&d), "{d}");
        }
    }
}
