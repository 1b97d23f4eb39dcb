//! MQTT source (rumqttc): subscriptions with wildcards, TLS via rustls, persistent
//! session, manual acknowledgements, reconnect with jittered backoff (reset only
//! once a connection delivered a message or stayed up, see [`crate::reconnect`]).
//!
//! Durability: a QoS 1 message is PUBACKed only once the batch holding it is
//! committed. The writer raises a per-source watermark ([`CommitAck`]); a small
//! acker task acknowledges every pending publish at or below it. A crash before the
//! commit means no PUBACK, so the broker redelivers.

use super::kind::{Context, SourceKind};
use super::modbus::RegisterMap;
use super::payload::Decoder;
use super::subscription::SubscriptionConfig;
use super::{IngestBatch, IngestTx, SourceError};
use crate::backoff::Backoff;
use crate::event::now_ms;
use crate::event::{CommitAck, Rejected, Rejection};
use crate::internal_events::{
    emit, Connection, ConnectionLost, MqttSourceConnected, PayloadRejected, Repeats,
};
use crate::issues::Issues;
use crate::metrics::SourceMetrics;
use crate::reconnect::Reconnect;
use crate::tls::TlsConfig;
use bytesize::ByteSize;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, Publish, QoS, SubscribeFilter};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How long shutdown waits for the last batches to commit so they can be acknowledged.
const ACK_GRACE: Duration = Duration::from_secs(5);
/// The MQTT maximum, so an oversized payload reaches our own check (and is counted
/// and acknowledged) instead of breaking the connection in a redelivery loop.
const MAX_PACKET: usize = 268_435_455;
/// A connection without a message counts as working once it stayed up this long.
const STABLE_AFTER: Duration = Duration::from_secs(30);

/// `[[sources.mqtt]]`: a broker to subscribe to.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MqttSourceConfig {
    /// Name used in logs and metrics.
    pub name: String,
    pub host: String,
    #[serde(default = "default_mqtt_port")]
    pub port: u16,
    /// Must be stable across restarts for the broker to keep the session.
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default = "default_keep_alive", with = "humantime_serde")]
    pub keep_alive: Duration,
    /// Off by default: the broker queues QoS 1 messages while edgewatch is down.
    #[serde(default)]
    pub clean_session: bool,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Read the password from this file (or `$CREDENTIALS_DIRECTORY/NAME` if relative).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// First reconnect delay; doubles (with jitter) up to `reconnect-max`.
    #[serde(default = "default_reconnect_min", with = "humantime_serde")]
    pub reconnect_min: Duration,
    #[serde(default = "default_reconnect_max", with = "humantime_serde")]
    pub reconnect_max: Duration,
    /// Larger payloads are rejected (counted as `too_large`).
    #[serde(default = "default_max_payload")]
    pub max_payload: ByteSize,
    /// Deeper JSON nesting is rejected (counted as `too_deep`).
    #[serde(default = "default_max_depth")]
    pub max_depth: usize,
    /// Readings stamped further ahead of the gateway's clock are rejected (counted
    /// as `bad_timestamp`): a device clock years ahead would otherwise keep windows
    /// open and rows past retention.
    #[serde(default = "default_max_clock_skew", with = "humantime_serde")]
    pub max_clock_skew: Duration,
    pub subscriptions: Vec<SubscriptionConfig>,
}

fn default_mqtt_port() -> u16 {
    1883
}
fn default_keep_alive() -> Duration {
    Duration::from_secs(30)
}
fn default_reconnect_min() -> Duration {
    Duration::from_millis(500)
}
fn default_reconnect_max() -> Duration {
    Duration::from_secs(30)
}
fn default_max_payload() -> ByteSize {
    ByteSize::kib(256)
}
fn default_max_depth() -> usize {
    16
}
fn default_max_clock_skew() -> Duration {
    Duration::from_millis(super::payload::DEFAULT_MAX_FUTURE_MS as u64)
}

/// Bytes of a rejected message's topic kept in the rejected table.
const MAX_KEPT_TOPIC: usize = 1024;

pub struct MqttSource {
    name: Arc<str>,
    options: MqttOptions,
    subscriptions: Vec<(String, QoS, Decoder)>,
    reconnect: Reconnect,
    metrics: Arc<SourceMetrics>,
}

type Pending = Arc<Mutex<VecDeque<(u64, Publish)>>>;

impl SourceKind for MqttSource {
    type Config = MqttSourceConfig;

    fn name(c: &MqttSourceConfig) -> &str {
        &c.name
    }

    fn validate(m: &MqttSourceConfig, _: &BTreeMap<String, RegisterMap>, v: &mut Issues, k: &str) {
        crate::mqtt_settings::validate_connection(
            v,
            k,
            &m.host,
            m.port,
            m.keep_alive,
            m.password.is_some() && m.password_file.is_some(),
            m.tls.as_ref(),
        );
        if m.reconnect_min.is_zero() || m.reconnect_min > m.reconnect_max {
            v.push(
                format!("{k}.reconnect-min"),
                "must be above zero and not above reconnect-max",
            );
        }
        if m.max_depth == 0 || m.max_depth > 128 {
            v.push(format!("{k}.max-depth"), "allowed 1 to 128");
        }
        if m.max_payload.as_u64() == 0 || m.max_payload > ByteSize::mib(64) {
            v.push(
                format!("{k}.max-payload"),
                format!("{} is out of range: allowed 1 B to 64 MiB", m.max_payload),
            );
        }
        v.range(
            format!("{k}.reconnect-max"),
            m.reconnect_max,
            Duration::from_millis(1),
            Duration::from_secs(3600),
        );
        v.range(
            format!("{k}.max-clock-skew"),
            m.max_clock_skew,
            Duration::from_secs(1),
            Duration::from_secs(366 * 86_400),
        );
        if (m.password_file.is_some() || m.password.is_some()) && m.username.is_none() {
            v.push(
                format!("{k}.password-file"),
                "a password is only sent with a username: set username too",
            );
        }
        if m.subscriptions.is_empty() {
            v.push(
                format!("{k}.subscriptions"),
                "at least one [[sources.mqtt.subscriptions]] with a topic is needed",
            );
        }
        for (i, s) in m.subscriptions.iter().enumerate() {
            s.validate(v, &format!("{k}.subscriptions[{i}]"));
        }
    }

    fn check_files(m: &MqttSourceConfig, v: &mut Issues, k: &str) {
        if let Some(f) = &m.password_file {
            v.secret_file(format!("{k}.password-file"), f);
        }
        if let Some(t) = &m.tls {
            v.tls_files(&format!("{k}.tls"), t);
        }
    }

    fn source_name(&self) -> &str {
        &self.name
    }

    fn build(c: &MqttSourceConfig, cx: &Context) -> Result<Self, SourceError> {
        let gateway = cx.gateway;
        let metrics = cx.metrics.source(&c.name, "mqtt");
        let client_id = c
            .client_id
            .clone()
            .unwrap_or_else(|| format!("edgewatch-{gateway}-{}", c.name));
        let mut o = MqttOptions::new(client_id, c.host.clone(), c.port);
        o.set_keep_alive(c.keep_alive)
            .set_clean_session(c.clean_session)
            .set_manual_acks(true)
            .set_max_packet_size(MAX_PACKET, 1 << 20)
            .set_request_channel_capacity(1024);
        crate::mqtt_settings::apply_login(
            &mut o,
            c.username.as_ref(),
            c.password.as_ref(),
            c.password_file.as_ref(),
            c.tls.as_ref(),
        )
        .map_err(|message| SourceError::Setup {
            source_name: c.name.clone(),
            message,
        })?;
        let max_payload = c.max_payload.as_u64() as usize;
        let subscriptions = c
            .subscriptions
            .iter()
            .map(|s| {
                let qos = if s.qos == 0 {
                    QoS::AtMostOnce
                } else {
                    QoS::AtLeastOnce
                };
                (
                    s.topic.clone(),
                    qos,
                    Decoder::new(s, max_payload, c.max_depth).max_future(c.max_clock_skew),
                )
            })
            .collect();
        Ok(MqttSource {
            name: c.name.as_str().into(),
            options: o,
            subscriptions,
            reconnect: Reconnect::new(
                Backoff::new(c.reconnect_min, c.reconnect_max, 0.5),
                STABLE_AFTER,
            ),
            metrics,
        })
    }

    async fn run(mut self, out: IngestTx, shutdown: CancellationToken) {
        let (client, mut events) = AsyncClient::new(self.options.clone(), 1024);
        let (watermark, seen) = watch::channel(0u64);
        let watermark = Arc::new(watermark);
        let pending: Pending = Arc::default();
        let acker = tokio::spawn(ack_committed(client.clone(), seen.clone(), pending.clone()));
        let mut seq = 0u64;
        let mut rejections = Repeats::default();
        loop {
            let event = tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                e = events.poll() => e,
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    self.reconnect.connected(tokio::time::Instant::now());
                    // Publishes of the previous connection will be redelivered; their
                    // packet ids mean nothing on this one.
                    if let Ok(mut p) = pending.lock() {
                        p.clear();
                    }
                    emit(MqttSourceConnected {
                        metrics: &self.metrics,
                        session_present: ack.session_present,
                    });
                    let filters: Vec<SubscribeFilter> = self
                        .subscriptions
                        .iter()
                        .map(|(t, q, _)| SubscribeFilter::new(t.clone(), *q))
                        .collect();
                    let c = client.clone();
                    // Not awaited here: this task must keep polling for the request to go out.
                    tokio::spawn(async move { c.subscribe_many(filters).await });
                }
                Ok(Event::Incoming(Packet::SubAck(ack))) => {
                    if ack
                        .return_codes
                        .iter()
                        .any(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure))
                    {
                        tracing::error!(source = %self.name, "broker refused a subscription (check the topic filter and the broker's ACL)");
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    self.reconnect.progressed();
                    seq += 1;
                    let batch = self.decode(&p, seq, &watermark, &pending, &mut rejections);
                    if out.send(batch).await.is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    let retry = self.reconnect.lost(tokio::time::Instant::now());
                    emit(ConnectionLost {
                        metrics: &self.metrics,
                        connection: Connection::Mqtt {
                            client_id: &self.options.client_id(),
                        },
                        error: &e,
                        retry,
                    });
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(retry.delay) => {}
                    }
                }
            }
        }
        self.drain(&client, &mut events, seen, seq, &pending).await;
        acker.abort();
        self.metrics.connected.set(0);
    }
}

impl MqttSource {
    fn decode(
        &self,
        p: &Publish,
        seq: u64,
        watermark: &Arc<watch::Sender<u64>>,
        pending: &Pending,
        rejections: &mut Repeats,
    ) -> IngestBatch {
        let received = Instant::now();
        let now = now_ms();
        self.metrics.messages.inc();
        let decoder = self
            .subscriptions
            .iter()
            .find(|(f, _, _)| topic_matches(f, &p.topic))
            .or(self.subscriptions.first())
            .map(|(_, _, d)| d);
        let (mut readings, mut reasons) = (Vec::new(), Vec::new());
        if let Some(d) = decoder {
            d.decode(&p.topic, &p.payload, now, &mut readings, &mut reasons);
        }
        self.metrics.readings.inc_by(readings.len() as u64);
        emit(PayloadRejected {
            metrics: &self.metrics,
            topic: &p.topic,
            reasons: &reasons,
            repeats: rejections,
        });
        let rejected = reasons.first().map(|r: &Rejection| Rejected {
            ts_ms: now,
            source: self.name.clone(),
            // A topic may be 64 KiB; the table keeps enough to find the publisher.
            topic: crate::untrusted::truncate(&p.topic, MAX_KEPT_TOPIC).to_owned(),
            reason: r.reason(),
            excerpt: p.payload[..p.payload.len().min(512)].to_vec(),
        });
        if p.qos != QoS::AtMostOnce {
            if let Ok(mut q) = pending.lock() {
                q.push_back((seq, p.clone()));
            }
        }
        IngestBatch {
            readings,
            rejected: rejected.into_iter().collect(),
            faults: Vec::new(),
            ack: Some(CommitAck {
                watermark: watermark.clone(),
                seq,
            }),
            received,
        }
    }

    /// Shutdown: stop taking messages, wait for what was sent to commit, acknowledge
    /// it, disconnect. Messages arriving now stay unacknowledged and are redelivered.
    async fn drain(
        &self,
        client: &AsyncClient,
        events: &mut EventLoop,
        mut seen: watch::Receiver<u64>,
        last_seq: u64,
        pending: &Pending,
    ) {
        let deadline = tokio::time::Instant::now() + ACK_GRACE;
        loop {
            let committed = *seen.borrow_and_update();
            let ready = take_committed(pending, committed);
            for p in ready {
                let _ = client.try_ack(&p);
            }
            if committed >= last_seq {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {
                    tracing::warn!(source = %self.name, "shutdown before the last messages committed; the broker will redeliver them");
                    break;
                }
                _ = seen.changed() => {}
                e = events.poll() => if e.is_err() { break },
            }
        }
        let _ = client.try_disconnect();
        // Let the acks and the DISCONNECT reach the socket.
        let flush = async {
            while let Ok(e) = events.poll().await {
                if let Event::Outgoing(rumqttc::Outgoing::Disconnect) = e {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), flush).await;
    }
}

fn take_committed(pending: &Pending, committed: u64) -> Vec<Publish> {
    let mut out = Vec::new();
    if let Ok(mut q) = pending.lock() {
        while q.front().is_some_and(|(s, _)| *s <= committed) {
            if let Some((_, p)) = q.pop_front() {
                out.push(p);
            }
        }
    }
    out
}

async fn ack_committed(client: AsyncClient, mut seen: watch::Receiver<u64>, pending: Pending) {
    while seen.changed().await.is_ok() {
        let committed = *seen.borrow_and_update();
        for p in take_committed(&pending, committed) {
            if client.ack(&p).await.is_err() {
                return;
            }
        }
    }
}

/// MQTT topic filter matching (`+` one level, `#` the rest).
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    let mut t = topic.split('/');
    for f in filter.split('/') {
        match (f, t.next()) {
            ("#", _) => return true,
            ("+", Some(_)) => {}
            (f, Some(l)) if f == l => {}
            _ => return false,
        }
    }
    t.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::topic_matches;

    #[test]
    fn topic_filters() {
        assert!(topic_matches(
            "factory/+/sensors/#",
            "factory/l2/sensors/m1/temp"
        ));
        assert!(topic_matches("a/#", "a"));
        assert!(topic_matches("a/+", "a/b"));
        assert!(!topic_matches("a/+", "a/b/c"));
        assert!(!topic_matches("a/b", "a/c"));
        assert!(topic_matches("#", "x/y"));
    }
}
