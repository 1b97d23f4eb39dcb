//! Typed internal events: one struct per thing inside the daemon that an
//! operator is told about, whose `emit` both logs it and counts it (Vector's
//! internal_events habit). A site says what happened; the wording of the log
//! line, its fields, the series it counts in and how often a repeating line is
//! written live here, once, so the log and /metrics cannot drift apart.
//!
//! Counts that must survive a restart (outbox drops, dead letters) are kept by
//! the store in the transaction that makes them; their events only log.
//! Lifecycle lines that count nothing (starting, listening, reloading) stay
//! plain tracing calls where they happen.

mod modbus;
mod pipeline;
mod sink;
mod source;
mod store;

pub use modbus::{DeviceAnswered, DeviceDown, ShortReply};
pub use pipeline::{InferenceFailed, SensorRefused};
pub use sink::{SinkDeliveringAgain, SinkSendFailed, UplinkConnected, UplinkLost};
pub use source::{Connection, ConnectionLost, MqttSourceConnected, PayloadRejected};
pub use store::{CommitFailed, DeadLettered, OutboxDropCause, OutboxDropped};

/// Something that happened, told once: logged and counted by `emit`.
pub trait InternalEvent {
    fn emit(self);
}

/// Emits `event`: the one call a site makes.
pub fn emit(event: impl InternalEvent) {
    event.emit();
}

/// Occurrences of a repeating event, so that a flood stays readable: the first
/// few are logged, then every power of two, which still shows that it goes on
/// and how often.
#[derive(Debug, Default, Clone, Copy)]
pub struct Repeats(u64);

impl Repeats {
    /// Counts one occurrence; whether this one is logged (the first `first`, then
    /// the powers of two).
    pub fn next(&mut self, first: u64) -> bool {
        self.0 = self.0.saturating_add(1);
        worth_logging(self.0, first)
    }

    pub fn count(&self) -> u64 {
        self.0
    }
}

/// Whether the `n`th occurrence (1-based) is logged.
pub fn worth_logging(n: u64, first: u64) -> bool {
    n <= first || n.is_power_of_two()
}

#[cfg(test)]
mod tests;
