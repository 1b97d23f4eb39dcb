//! Events of sources: payloads refused, connections made and lost.

use super::{InternalEvent, Repeats};
use crate::event::Rejection;
use crate::metrics::SourceMetrics;
use crate::reconnect::{Retry, SHORT_LIVED_WARN};

/// A payload, or parts of it, could not be read as readings. Every reason is
/// counted in `edgewatch_source_rejected_total`; the first few messages and then
/// every power of two are logged.
pub struct PayloadRejected<'a> {
    pub metrics: &'a SourceMetrics,
    pub topic: &'a str,
    /// One per refused part (an array payload may refuse several elements).
    pub reasons: &'a [Rejection],
    pub repeats: &'a mut Repeats,
}

impl InternalEvent for PayloadRejected<'_> {
    fn emit(self) {
        for r in self.reasons {
            self.metrics.reject(*r);
        }
        let Some(first) = self.reasons.first() else {
            return;
        };
        if self.repeats.next(10) {
            tracing::warn!(
                // A topic is publisher text: its control characters are escaped.
                source = %self.metrics.name, topic = %crate::untrusted::quote(self.topic, &[], 200),
                reason = first.reason(), count = self.reasons.len(),
                "payload rejected (counted in edgewatch_source_rejected_total; kept in the rejected table)"
            );
        }
    }
}

/// An MQTT source's broker accepted the connection (CONNACK).
pub struct MqttSourceConnected<'a> {
    pub metrics: &'a SourceMetrics,
    pub session_present: bool,
}

impl InternalEvent for MqttSourceConnected<'_> {
    fn emit(self) {
        self.metrics.connected.set(1);
        tracing::info!(source = %self.metrics.name, session_present = self.session_present, "mqtt connected");
    }
}

/// What a lost or refused connection was, for the words of its log line.
pub enum Connection<'a> {
    /// An MQTT broker, reached with this client id.
    Mqtt { client_id: &'a str },
    /// A Modbus connection that could not be opened.
    ModbusConnect,
    /// An open Modbus connection that broke.
    ModbusSession,
}

/// A source's connection could not be made or was lost; it retries after
/// `retry.delay`. Counted in `edgewatch_source_reconnects_total`. Connections
/// that keep dying right after the accept get a line naming the likely cause.
pub struct ConnectionLost<'a> {
    pub metrics: &'a SourceMetrics,
    pub connection: Connection<'a>,
    pub error: &'a dyn std::fmt::Display,
    pub retry: Retry,
}

impl InternalEvent for ConnectionLost<'_> {
    fn emit(self) {
        self.metrics.connected.set(0);
        self.metrics.reconnects.inc();
        let (source, error, retry_in) = (&self.metrics.name, self.error, self.retry.delay);
        let takeover = self.retry.short_lived >= SHORT_LIVED_WARN;
        let times = self.retry.short_lived;
        match self.connection {
            Connection::Mqtt { client_id } if takeover => tracing::warn!(
                %source, %client_id, %error, times, ?retry_in,
                "the broker keeps closing the connection soon after accepting it: another client may be using the same client id (cloned gateway images share /etc/hostname, which the default id comes from); set a unique client-id or gateway.id"
            ),
            Connection::Mqtt { .. } => {
                tracing::warn!(%source, %error, ?retry_in, "mqtt connection failed")
            }
            Connection::ModbusConnect => {
                tracing::warn!(%source, %error, ?retry_in, "modbus connection failed")
            }
            Connection::ModbusSession if takeover => tracing::warn!(
                %source, %error, ?retry_in, times,
                "modbus peer keeps closing the connection right after accepting it (connection limit of the device or gateway reached?); backing off"
            ),
            Connection::ModbusSession => {
                tracing::warn!(%source, %error, ?retry_in, "modbus connection lost; reconnecting")
            }
        }
    }
}
