//! Events of sinks: sends failed and recovered, the MQTT uplink connected and lost.

use super::{worth_logging, InternalEvent};
use crate::metrics::SinkMetrics;
use crate::reconnect::{Retry, SHORT_LIVED_WARN};
use std::time::Duration;

/// A batch sink's send failed; its items stay queued and are sent again after
/// `retry_in`. Counted in `edgewatch_sink_retries_total`, shown as the sink's
/// last error; logged at the first failure, every power of two, and when the
/// breaker opens.
pub struct SinkSendFailed<'a> {
    pub metrics: &'a SinkMetrics,
    pub error: String,
    /// Failures in a row, this one included.
    pub failures: u64,
    pub retry_in: Duration,
    pub breaker_open: bool,
    /// The breaker's state for `edgewatch_sink_breaker_state`.
    pub breaker_gauge: i64,
}

impl InternalEvent for SinkSendFailed<'_> {
    fn emit(self) {
        let m = self.metrics;
        m.retries.inc();
        if worth_logging(self.failures, 1) || self.breaker_open {
            tracing::warn!(
                sink = %m.name, error = %self.error, failures = self.failures, retry_in = ?self.retry_in,
                breaker_open = self.breaker_open, "sink send failed; the items stay queued"
            );
        }
        m.set_error(Some(self.error));
        m.breaker.set(self.breaker_gauge);
    }
}

/// A sink delivers again after failing; its last error is cleared.
pub struct SinkDeliveringAgain<'a> {
    pub metrics: &'a SinkMetrics,
    pub after_failures: u64,
}

impl InternalEvent for SinkDeliveringAgain<'_> {
    fn emit(self) {
        if self.after_failures > 0 {
            tracing::info!(sink = %self.metrics.name, after_failures = self.after_failures, "sink delivering again");
        }
        self.metrics.set_error(None);
    }
}

/// The MQTT uplink's broker accepted the connection (CONNACK).
pub struct UplinkConnected<'a> {
    pub metrics: &'a SinkMetrics,
    pub session_present: bool,
    /// Failures before this connection; > 0 means a reconnect.
    pub after_failures: u64,
    /// Items sent before and not yet acknowledged, sent again now.
    pub resending: usize,
}

impl InternalEvent for UplinkConnected<'_> {
    fn emit(self) {
        let m = self.metrics;
        m.connected.set(1);
        if self.after_failures > 0 {
            tracing::info!(sink = %m.name, "mqtt sink connected again; resending {} unacknowledged", self.resending);
        } else {
            tracing::info!(sink = %m.name, session_present = self.session_present, "mqtt sink connected");
        }
        m.set_error(None);
    }
}

/// The MQTT uplink's connection was lost or could not be made; items stay
/// queued. Counted in `edgewatch_sink_retries_total`; connections that keep
/// dying right after the accept get a line naming the likely cause.
pub struct UplinkLost<'a> {
    pub metrics: &'a SinkMetrics,
    pub broker: &'a str,
    pub client_id: &'a str,
    pub error: String,
    /// Failures in a row, this one included.
    pub failures: u64,
    pub retry: Retry,
}

impl InternalEvent for UplinkLost<'_> {
    fn emit(self) {
        let m = self.metrics;
        m.connected.set(0);
        m.retries.inc();
        let (sink, broker, error, retry_in) = (&m.name, self.broker, &self.error, self.retry.delay);
        let times = self.retry.short_lived;
        if times >= SHORT_LIVED_WARN && times.is_power_of_two() {
            tracing::warn!(%sink, %broker, client_id = %self.client_id, %error, times, ?retry_in, "the broker keeps closing the connection soon after accepting it: another client may be using the same client id (cloned gateway images share /etc/hostname, which the default id comes from); set a unique client-id or gateway.id");
        } else if worth_logging(self.failures, 1) {
            tracing::warn!(%sink, %broker, %error, failures = self.failures, ?retry_in, "mqtt sink disconnected; items stay queued");
        }
        m.set_error(Some(self.error));
    }
}
