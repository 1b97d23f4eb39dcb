//! Events of the store: commits that failed, outbox items dropped or moved aside.
//! The outbox's counts are kept in the store, in the transaction that drops the
//! items, and mirrored to /metrics after the commit; these events only log.

use super::InternalEvent;
use crate::metrics::Metrics;
use std::time::Duration;

/// A group commit failed; the same batch is retried after `retry_in` and nothing
/// in it is acknowledged meanwhile. Counted in `edgewatch_commit_errors_total`.
pub struct CommitFailed<'a> {
    pub metrics: &'a Metrics,
    pub error: &'a dyn std::fmt::Display,
    pub retry_in: Duration,
}

impl InternalEvent for CommitFailed<'_> {
    fn emit(self) {
        self.metrics.commit_errors.inc();
        tracing::error!(error = %self.error, retry_in = ?self.retry_in, "store commit failed; nothing in it is acknowledged, retrying");
    }
}

/// Why outbox items were dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxDropCause {
    /// Over `outbox.max-size`: the oldest aggregates go first.
    FullAggregates,
    /// Still over it with only alerts left, and `alerts-when-full = "drop-oldest"`.
    FullAlerts,
    /// Older than `outbox.max-age`.
    Aged,
}

/// Queued items of a sink were dropped; `total` is the sink's dropped count of
/// that kind since it was first configured.
pub struct OutboxDropped<'a> {
    pub sink: &'a str,
    /// `alert` or `aggregate`.
    pub kind: &'a str,
    pub dropped: u64,
    pub total: u64,
    pub cause: OutboxDropCause,
}

impl InternalEvent for OutboxDropped<'_> {
    fn emit(self) {
        let (sink, dropped, total, kind) = (self.sink, self.dropped, self.total, self.kind);
        match self.cause {
            OutboxDropCause::FullAggregates => {
                tracing::warn!(%sink, dropped, total, "outbox full: dropped the oldest aggregates (raise outbox.max-size or fix the uplink)")
            }
            OutboxDropCause::FullAlerts => {
                tracing::error!(%sink, dropped, total, "outbox full of alerts: dropped the oldest alerts (alerts-when-full = \"drop-oldest\")")
            }
            OutboxDropCause::Aged => {
                tracing::warn!(%sink, kind, dropped, total, "outbox items older than outbox.max-age dropped")
            }
        }
    }
}

/// An outbox item that can never be delivered was moved to the dead letters,
/// so the items behind it can go.
pub struct DeadLettered<'a> {
    pub sink: &'a str,
    pub seq: u64,
    pub reason: &'a str,
}

impl InternalEvent for DeadLettered<'_> {
    fn emit(self) {
        tracing::warn!(
            sink = self.sink, seq = self.seq, reason = self.reason,
            "outbox item moved to the dead letters so the items behind it can go; resend with `edgewatch dead-letters resend`"
        );
    }
}
