//! When to reconnect: one pure policy for every long-lived upstream or device
//! connection (MQTT source, MQTT sink, Modbus). The backoff starts again from its
//! minimum only after a connection proved itself (real progress, or it stayed up
//! for `stable_after`), never on a mere accept: a peer that accepts and then
//! closes, or two gateways sharing one MQTT client id and kicking each other off,
//! must back off like any other failure instead of reconnecting in a tight loop.
//!
//! Synchronous and clock-free: callers pass the time, so tests script it.

use crate::backoff::Backoff;
use std::time::Duration;
use tokio::time::Instant;

/// Drops in a row of connections that never proved themselves after which the
/// caller should say so (a client-id takeover, a peer that rejects us after accept).
pub const SHORT_LIVED_WARN: u32 = 3;

#[derive(Debug, Clone)]
pub struct Reconnect {
    backoff: Backoff,
    stable_after: Duration,
    connected_at: Option<Instant>,
    proven: bool,
    short_lived: u32,
}

/// What the caller does after a connection was lost or could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Wait this long before the next attempt.
    pub delay: Duration,
    /// Connections in a row that were accepted and lost before proving themselves.
    pub short_lived: u32,
}

impl Reconnect {
    pub fn new(backoff: Backoff, stable_after: Duration) -> Self {
        Reconnect {
            backoff,
            stable_after,
            connected_at: None,
            proven: false,
            short_lived: 0,
        }
    }

    /// The peer accepted the connection (TCP connect, CONNACK).
    pub fn connected(&mut self, now: Instant) {
        self.connected_at = Some(now);
        self.proven = false;
    }

    /// The connection did real work (a message received, a PUBACK, a poll answered).
    pub fn progressed(&mut self) {
        if self.connected_at.is_some() && !self.proven {
            self.prove();
        }
    }

    /// Call on every event or tick: a connection up for `stable_after` counts as
    /// proven even if there was nothing to do on it.
    pub fn tick(&mut self, now: Instant) {
        if let Some(at) = self.connected_at {
            if !self.proven && now.saturating_duration_since(at) >= self.stable_after {
                self.prove();
            }
        }
    }

    /// True once the current connection proved itself.
    pub fn is_proven(&self) -> bool {
        self.proven
    }

    /// The connection was lost, or the attempt failed: how long to wait.
    pub fn lost(&mut self, now: Instant) -> Retry {
        self.tick(now);
        if self.connected_at.take().is_some() && !self.proven {
            self.short_lived = self.short_lived.saturating_add(1);
        }
        self.proven = false;
        Retry {
            delay: self.backoff.next_delay(),
            short_lived: self.short_lived,
        }
    }

    fn prove(&mut self) {
        self.proven = true;
        self.short_lived = 0;
        self.backoff.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Reconnect {
        Reconnect::new(
            Backoff::new(Duration::from_millis(100), Duration::from_secs(2), 0.0),
            Duration::from_secs(30),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn accept_then_close_backs_off() {
        let mut r = policy();
        let mut delays = Vec::new();
        for _ in 0..6 {
            r.connected(Instant::now());
            let retry = r.lost(Instant::now());
            delays.push(retry.delay.as_millis());
            tokio::time::advance(retry.delay).await;
        }
        assert_eq!(delays, vec![100, 200, 400, 800, 1600, 2000]);
        assert_eq!(r.lost(Instant::now()).short_lived, 6);
    }

    #[tokio::test(start_paused = true)]
    async fn progress_resets_the_backoff_and_the_count() {
        let mut r = policy();
        for _ in 0..4 {
            r.connected(Instant::now());
            r.lost(Instant::now());
        }
        r.connected(Instant::now());
        r.progressed();
        assert!(r.is_proven());
        let retry = r.lost(Instant::now());
        assert_eq!(
            retry,
            Retry {
                delay: Duration::from_millis(100),
                short_lived: 0
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_connection_proves_itself_by_staying_up() {
        let mut r = policy();
        for _ in 0..3 {
            r.connected(Instant::now());
            r.lost(Instant::now());
        }
        r.connected(Instant::now());
        tokio::time::advance(Duration::from_secs(29)).await;
        r.tick(Instant::now());
        assert!(!r.is_proven());
        tokio::time::advance(Duration::from_secs(1)).await;
        let retry = r.lost(Instant::now());
        assert_eq!(retry.delay, Duration::from_millis(100));
        assert_eq!(retry.short_lived, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn failed_attempts_grow_the_delay_without_counting_as_short_lived() {
        let mut r = policy();
        let d: Vec<u128> = (0..3)
            .map(|_| r.lost(Instant::now()).delay.as_millis())
            .collect();
        assert_eq!(d, vec![100, 200, 400]);
        assert_eq!(r.lost(Instant::now()).short_lived, 0);
    }
}
