//! Summaries of each sensor over summary windows (an hour by default), made from
//! its aggregates once the store has closed the window, and handed to the
//! embedding thread: search then finds how a sensor behaved, not only its alerts.

use super::embedder_thread::Job;
use crate::config::KnowledgeConfig;
use crate::event::now_ms;
use crate::store::knowledge::Summary;
use crate::store::{Reader, StoreError};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Duration;
use tokio::sync::oneshot;

/// Windows offered per pass: one embedding batch, so a question waits behind at
/// most one batch of summaries.
const PER_PASS: usize = 32;
/// How often summaries past their retention are pruned.
const PRUNE_EVERY_MS: i64 = 3_600_000;

#[derive(Debug, Clone, Copy)]
pub struct Windows {
    pub window_ms: i64,
    pub retention_ms: i64,
}

impl Windows {
    pub fn from_config(c: &KnowledgeConfig) -> Windows {
        Windows {
            window_ms: (c.summary_window.as_millis() as i64).max(1),
            retention_ms: c.summary_retention.as_millis() as i64,
        }
    }

    /// How often closed windows are looked for: a quarter window, 1 s to 1 min.
    fn every(&self) -> Duration {
        Duration::from_millis((self.window_ms / 4) as u64)
            .clamp(Duration::from_secs(1), Duration::from_secs(60))
    }

    /// Start of the oldest window still kept.
    fn oldest_ms(&self, now_ms: i64) -> i64 {
        (now_ms - self.retention_ms).div_euclid(self.window_ms) * self.window_ms + self.window_ms
    }
}

enum Pass {
    /// A full batch went in: more may be waiting (catching up after downtime).
    More,
    Done,
    /// The embedding thread has stopped.
    Stopped,
}

/// Until the embedding thread stops: summarises every closed window not stored
/// yet (newest first) and prunes those past their retention.
pub(super) async fn run(reader: Reader, jobs: SyncSender<Job>, w: Windows) {
    let mut tick = tokio::time::interval(w.every());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pruned_at = i64::MIN;
    loop {
        tick.tick().await;
        loop {
            match pass(&reader, &jobs, w).await {
                Pass::More => continue,
                Pass::Done => break,
                Pass::Stopped => return,
            }
        }
        let now = now_ms();
        if now.saturating_sub(pruned_at) >= PRUNE_EVERY_MS {
            match jobs.try_send(Job::PruneSummaries(w.oldest_ms(now))) {
                Ok(()) => pruned_at = now,
                Err(TrySendError::Full(_)) => {}
                Err(TrySendError::Disconnected(_)) => return,
            }
        }
    }
}

async fn pass(reader: &Reader, jobs: &SyncSender<Job>, w: Windows) -> Pass {
    let r = reader.clone();
    let due = tokio::task::spawn_blocking(move || -> Result<Vec<Summary>, StoreError> {
        // A window is whole once the store has closed every aggregate in it.
        let Some(closed) = r.closed_until()? else {
            return Ok(Vec::new());
        };
        let until = closed.div_euclid(w.window_ms) * w.window_ms;
        r.summaries_due(w.window_ms, w.oldest_ms(now_ms()), until, PER_PASS)
    })
    .await;
    let due = match due {
        Ok(Ok(due)) => due,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "cannot read aggregates to summarise; retrying");
            return Pass::Done;
        }
        Err(_) => return Pass::Done,
    };
    if due.is_empty() {
        return Pass::Done;
    }
    let full = due.len() == PER_PASS;
    let (tx, rx) = oneshot::channel();
    match jobs.try_send(Job::Summaries(due, tx)) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => return Pass::Done,
        Err(TrySendError::Disconnected(_)) => return Pass::Stopped,
    }
    // Committed, or failed (logged by the embedding thread; tried again next tick).
    match rx.await {
        Ok(()) if full => Pass::More,
        _ => Pass::Done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_keep_whole_windows_inside_the_retention() {
        let w = Windows {
            window_ms: 3_600_000,
            retention_ms: 86_400_000,
        };
        // Half past midnight: the window that began 24.5 h ago is partly outside
        // the retention, so the next one is the oldest kept.
        let now = 10 * 86_400_000 + 1_800_000;
        assert_eq!(w.oldest_ms(now), 9 * 86_400_000 + 3_600_000);
        assert_eq!(w.every(), Duration::from_secs(60));
        let fast = Windows {
            window_ms: 2_000,
            retention_ms: 60_000,
        };
        assert_eq!(fast.every(), Duration::from_secs(1));
    }
}
