//! The Modbus poll scheduler as a pure state machine: which device is due when,
//! which are down and on what backoff, and when the connection is tried again.
//! The async source only performs what [`Schedule::next`] says and reports the
//! outcome back; every timing decision lives here, tested with scripted outcomes
//! under tokio's paused clock.

use crate::backoff::Backoff;
use crate::reconnect::{Reconnect, Retry};
use std::time::Duration;
use tokio::time::Instant;

/// A connection that stays up this long without an answer still counts as working.
const STABLE_AFTER: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Open the connection at this time.
    Connect { at: Instant },
    /// Poll this device at this time (its due time).
    Poll { device: usize, at: Instant },
    /// Connected, nothing configured to poll.
    Idle,
}

/// How one poll of a device ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every request was answered (values, exceptions or short replies).
    Answered,
    /// A request got no answer in time, retries included.
    Timeout,
    /// The connection broke (closed, reset, framing).
    Transport,
}

/// What the poll's outcome means, for the source to log and count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The device answered; `recovered` when it was down before.
    Up { recovered: bool },
    /// The device is down; `newly` on the first timeout, retried in `retry_in`.
    /// The connection is reopened at once so a late answer cannot be misread.
    Down { newly: bool, retry_in: Duration },
    /// The connection is lost; tried again after the retry's delay.
    Lost(Retry),
}

#[derive(Debug, Clone)]
struct Clock {
    interval: Duration,
    next_due: Instant,
    down: bool,
    backoff: Backoff,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    clocks: Vec<Clock>,
    link: Reconnect,
    connected: bool,
    connect_at: Instant,
}

impl Schedule {
    /// One clock per device, each polled first at `now`; `backoff` is the template
    /// for the devices' and the connection's backoff.
    pub fn new(intervals: &[Duration], backoff: &Backoff, now: Instant) -> Self {
        Schedule {
            clocks: intervals
                .iter()
                .map(|&interval| Clock {
                    interval,
                    next_due: now,
                    down: false,
                    backoff: backoff.clone(),
                })
                .collect(),
            link: Reconnect::new(backoff.clone(), STABLE_AFTER),
            connected: false,
            connect_at: now,
        }
    }

    pub fn next(&self) -> Next {
        if !self.connected {
            return Next::Connect {
                at: self.connect_at,
            };
        }
        self.clocks
            .iter()
            .enumerate()
            .min_by_key(|(_, c)| c.next_due)
            .map_or(Next::Idle, |(device, c)| Next::Poll {
                device,
                at: c.next_due,
            })
    }

    pub fn connected(&mut self, now: Instant) {
        self.connected = true;
        self.link.connected(now);
    }

    pub fn connect_failed(&mut self, now: Instant) -> Retry {
        self.lose(now)
    }

    /// The outcome of polling `device`, which was due at `due` and started at `started`.
    pub fn polled(
        &mut self,
        device: usize,
        due: Instant,
        started: Instant,
        now: Instant,
        outcome: Outcome,
    ) -> Effect {
        self.link.tick(now);
        let Some(c) = self.clocks.get_mut(device) else {
            return Effect::Up { recovered: false };
        };
        match outcome {
            Outcome::Answered => {
                self.link.progressed();
                let recovered = std::mem::replace(&mut c.down, false);
                c.backoff.reset();
                // Fixed rate: one interval after this poll was due, unless the bus
                // fell behind by more than that.
                c.next_due = (due + c.interval).max(started);
                Effect::Up { recovered }
            }
            Outcome::Timeout => {
                let retry_in = c.backoff.next_delay();
                let newly = !std::mem::replace(&mut c.down, true);
                c.next_due = now + retry_in;
                // Reopened at once: not a loss, the device's backoff paces it.
                self.connected = false;
                self.connect_at = now;
                Effect::Down { newly, retry_in }
            }
            Outcome::Transport => {
                // First in line once the connection is back.
                c.next_due = now;
                Effect::Lost(self.lose(now))
            }
        }
    }

    pub fn is_down(&self, device: usize) -> bool {
        self.clocks.get(device).is_some_and(|c| c.down)
    }

    fn lose(&mut self, now: Instant) -> Retry {
        self.connected = false;
        let retry = self.link.lost(now);
        self.connect_at = now + retry.delay;
        retry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn schedule(intervals: &[u64]) -> Schedule {
        let iv: Vec<Duration> = intervals.iter().map(|&i| ms(i)).collect();
        Schedule::new(&iv, &Backoff::new(ms(100), ms(1000), 0.0), Instant::now())
    }

    /// Performs what the schedule says until `until`, every connect succeeding
    /// and every poll ending as `outcome(device)`; returns the connects made.
    async fn drive(
        s: &mut Schedule,
        until: Duration,
        outcome: impl Fn(usize) -> Outcome,
    ) -> (u32, Vec<(usize, Duration)>) {
        let start = Instant::now();
        let (mut connects, mut polls) = (0, Vec::new());
        loop {
            let next = s.next();
            match next {
                Next::Connect { at } | Next::Poll { at, .. } if at - start >= until => break,
                _ => {}
            }
            match next {
                Next::Connect { at } => {
                    tokio::time::sleep_until(at).await;
                    connects += 1;
                    s.connected(Instant::now());
                }
                Next::Poll { device, at } => {
                    tokio::time::sleep_until(at).await;
                    let now = Instant::now();
                    polls.push((device, now - start));
                    s.polled(device, at, now, now, outcome(device));
                }
                Next::Idle => break,
            }
        }
        (connects, polls)
    }

    #[tokio::test(start_paused = true)]
    async fn devices_keep_their_own_fixed_rate() {
        let mut s = schedule(&[100, 250]);
        let (connects, polls) = drive(&mut s, ms(1000), |_| Outcome::Answered).await;
        assert_eq!(connects, 1);
        let of = |d| polls.iter().filter(|p| p.0 == d).count();
        assert_eq!((of(0), of(1)), (10, 4));
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_accepts_then_closes_is_backed_off() {
        // The review's bug: every accepted connect reset the backoff, so a peer
        // closing each connection at once was reconnected in a tight loop.
        let mut s = schedule(&[100]);
        let (connects, _) = drive(&mut s, ms(5000), |_| Outcome::Transport).await;
        // 100 + 200 + 400 + 800 + 1000 + 1000 + 1000 ... ms between connects.
        assert!((6..=8).contains(&connects), "{connects} connects in 5 s");
    }

    #[tokio::test(start_paused = true)]
    async fn a_dead_device_is_backed_off_and_the_others_keep_their_schedule() {
        let mut s = schedule(&[100, 100]);
        let (_, polls) = drive(&mut s, ms(2000), |d| {
            if d == 1 {
                Outcome::Timeout
            } else {
                Outcome::Answered
            }
        })
        .await;
        let dead: Vec<u128> = polls
            .iter()
            .filter(|p| p.0 == 1)
            .map(|p| p.1.as_millis())
            .collect();
        assert_eq!(dead, vec![0, 100, 300, 700, 1500]);
        assert!(s.is_down(1) && !s.is_down(0));
        assert_eq!(polls.iter().filter(|p| p.0 == 0).count(), 20);
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_after_losses_resets_the_connection_backoff() {
        let mut s = schedule(&[100]);
        for _ in 0..4 {
            s.connected(Instant::now());
            let now = Instant::now();
            s.polled(0, now, now, now, Outcome::Transport);
        }
        s.connected(Instant::now());
        let now = Instant::now();
        assert_eq!(
            s.polled(0, now, now, now, Outcome::Answered),
            Effect::Up { recovered: false }
        );
        let Effect::Lost(retry) = s.polled(0, now, now, now, Outcome::Transport) else {
            panic!("a transport error loses the connection");
        };
        assert_eq!(retry.delay, ms(100));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_connect_waits_before_the_next() {
        let mut s = schedule(&[100]);
        let start = Instant::now();
        let r = s.connect_failed(start);
        assert_eq!(
            s.next(),
            Next::Connect {
                at: start + r.delay
            }
        );
        assert_eq!(r.delay, ms(100));
        assert_eq!(s.connect_failed(start).delay, ms(200));
    }
}
