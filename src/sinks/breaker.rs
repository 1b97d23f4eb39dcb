//! Per-sink circuit breaker: after N consecutive failures the sink stops sending for
//! a while, then lets one probe through (half-open). A dead endpoint then costs one
//! small request per `open-for` instead of a retry storm.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open { until: Instant },
    HalfOpen,
}

#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    open_for: Duration,
    failures: u32,
    state: BreakerState,
}

impl Breaker {
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Breaker {
            threshold: threshold.max(1),
            open_for,
            failures: 0,
            state: BreakerState::Closed,
        }
    }

    /// `Ok` when a send may go out now (moving open → half-open once the wait is
    /// over), else how long to wait.
    pub fn allow(&mut self, now: Instant) -> Result<(), Duration> {
        match self.state {
            BreakerState::Open { until } if now < until => Err(until - now),
            BreakerState::Open { .. } => {
                self.state = BreakerState::HalfOpen;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    pub fn is_half_open(&self) -> bool {
        self.state == BreakerState::HalfOpen
    }

    pub fn success(&mut self) {
        self.failures = 0;
        self.state = BreakerState::Closed;
    }

    /// Records a failure; returns true when this one opened the breaker.
    pub fn failure(&mut self, now: Instant) -> bool {
        self.failures = self.failures.saturating_add(1);
        let open = self.state == BreakerState::HalfOpen || self.failures >= self.threshold;
        let was_closed = self.state == BreakerState::Closed;
        if open {
            self.state = BreakerState::Open {
                until: now + self.open_for,
            };
        }
        open && was_closed
    }

    /// For the metrics gauge: 0 closed, 1 open, 2 half-open.
    pub fn gauge(&self) -> i64 {
        match self.state {
            BreakerState::Closed => 0,
            BreakerState::Open { .. } => 1,
            BreakerState::HalfOpen => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_probes_once_and_closes_on_success() {
        let t0 = Instant::now();
        let mut b = Breaker::new(3, Duration::from_secs(10));
        assert!(!b.failure(t0));
        assert!(!b.failure(t0));
        assert!(b.allow(t0).is_ok());
        assert!(b.failure(t0), "the third failure opens it");
        assert_eq!(
            b.allow(t0 + Duration::from_secs(4)),
            Err(Duration::from_secs(6))
        );
        assert!(b.allow(t0 + Duration::from_secs(10)).is_ok());
        assert!(b.is_half_open());
        // A failed probe re-opens at once, without counting up to the threshold again.
        b.failure(t0 + Duration::from_secs(10));
        assert_eq!(b.gauge(), 1);
        assert!(b.allow(t0 + Duration::from_secs(15)).is_err());
        assert!(b.allow(t0 + Duration::from_secs(20)).is_ok());
        b.success();
        assert_eq!(b.gauge(), 0);
        assert!(
            !b.failure(t0 + Duration::from_secs(21)),
            "count restarts after success"
        );
    }
}
