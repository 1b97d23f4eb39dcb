//! MQTT uplink (rumqttc over rustls): QoS 1, topic templates, optional retained
//! alerts, persistent session. A row counts as delivered on its PUBACK; acks
//! advance a contiguous watermark so the outbox is deleted strictly in order.
//!
//! Each connection gets a fresh client and event loop: after a drop, every
//! unacknowledged row is published again on the next connection (a duplicate the
//! dedup key identifies), and no packet id of an old connection can be mistaken
//! for one of the new.

use super::envelope::{self, EventView};
use super::kind::{Checks, SinkKind};
use super::mqtt_topic;
use super::mqtt_uplink::Uplink;
use super::retry::RetryConfig;
use super::{OutboxHandle, PendingHandle, SinkError};
use crate::backoff::Backoff;
use crate::internal_events::{emit, UplinkConnected, UplinkLost};
use crate::issues::Issues;
use crate::reconnect::Reconnect;
use crate::store::{ItemKind, WriteOp};
use crate::store::{OutboxConfig, RouteConfig};
use crate::tls::TlsConfig;
use bytesize::ByteSize;
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const ALERT_TOPIC_VARS: &[&str] = &["gateway", "sink", "severity", "sensor", "rule", "state"];
const AGGREGATE_TOPIC_VARS: &[&str] = &["gateway", "sink", "sensor"];

/// `[[sinks.mqtt]]`: an upstream MQTT broker.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MqttSinkConfig {
    /// Unique among sinks; part of every dedup key and metric label.
    pub name: String,
    /// Broker host name or address.
    pub host: String,
    /// Broker port (1883; 8883 is usual with TLS).
    #[serde(default = "default_mqtt_port")]
    pub port: u16,
    /// Stable across restarts so the upstream broker keeps the session.
    #[serde(default)]
    pub client_id: Option<String>,
    /// MQTT keep-alive interval (1 s to 18 h).
    #[serde(default = "default_keep_alive", with = "humantime_serde")]
    pub keep_alive: Duration,
    /// Login name; the password comes from `password` or `password-file`.
    #[serde(default)]
    pub username: Option<String>,
    /// The password written in the config (prefer `password-file`).
    #[serde(default)]
    pub password: Option<String>,
    /// Read the password from this file (or `$CREDENTIALS_DIRECTORY/NAME` if relative).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// TLS with an explicit CA bundle, optionally a client certificate.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Topic for alerts: `{gateway}`, `{sink}`, `{severity}`, `{sensor}`, `{rule}`, `{state}`.
    #[serde(default = "default_alert_topic")]
    pub alert_topic: String,
    /// Topic for aggregates: `{gateway}`, `{sink}`, `{sensor}`.
    #[serde(default = "default_aggregate_topic")]
    pub aggregate_topic: String,
    /// Publish alerts retained, so a subscriber sees the last state of each topic.
    #[serde(default)]
    pub retain_alerts: bool,
    /// Largest MQTT packet sent or accepted; set it to the broker's limit
    /// (Mosquitto `message_size_limit`). A larger item goes to the dead letters.
    #[serde(default = "default_max_packet_size")]
    pub max_packet_size: ByteSize,
    /// An item in flight each time the broker dropped the connection this many
    /// times in a row goes to the dead letters, so the queue behind it moves
    /// (0: never).
    #[serde(default = "default_dead_letter_after")]
    pub dead_letter_after: u32,
    /// Reconnect delays (the breaker settings do not apply to MQTT).
    #[serde(default)]
    pub retry: RetryConfig,
    /// Which events this sink receives.
    #[serde(default)]
    pub route: RouteConfig,
    /// This sink's queue budget.
    #[serde(default)]
    pub outbox: OutboxConfig,
}

fn default_max_packet_size() -> ByteSize {
    ByteSize::mib(1)
}
fn default_dead_letter_after() -> u32 {
    5
}
fn default_mqtt_port() -> u16 {
    1883
}
fn default_keep_alive() -> Duration {
    Duration::from_secs(30)
}
fn default_alert_topic() -> String {
    "edge/{gateway}/alerts/{severity}".to_owned()
}
fn default_aggregate_topic() -> String {
    "edge/{gateway}/aggregates/{sensor}".to_owned()
}

pub struct MqttSink {
    pub(super) handle: PendingHandle,
    options: MqttOptions,
    publish: Publish,
    dead_letter_after: u32,
    reconnect: Reconnect,
    host: String,
}

/// A connection counts as working once the broker acknowledged a publish on it
/// or it stayed up this long; only then does the backoff start again from its
/// minimum (a broker that accepts and then drops us must not be hammered).
const STABLE_AFTER: Duration = Duration::from_secs(30);

/// How rows become publishes.
struct Publish {
    alert_topic: String,
    aggregate_topic: String,
    retain_alerts: bool,
    max_packet: usize,
}

/// Why one connection ended.
enum Ended {
    Shutdown,
    Lost(String),
}

impl SinkKind for MqttSink {
    type Config = MqttSinkConfig;

    fn name(c: &MqttSinkConfig) -> &str {
        &c.name
    }

    fn route(c: &MqttSinkConfig) -> RouteConfig {
        c.route.clone()
    }

    fn outbox(c: &MqttSinkConfig) -> &OutboxConfig {
        &c.outbox
    }

    fn validate(m: &MqttSinkConfig, _: &Checks, v: &mut Issues, k: &str) {
        crate::mqtt_settings::validate_connection(
            v,
            k,
            &m.host,
            m.port,
            m.keep_alive,
            m.password.is_some() && m.password_file.is_some(),
            m.tls.as_ref(),
        );
        validate_topic(
            v,
            &format!("{k}.alert-topic"),
            &m.alert_topic,
            ALERT_TOPIC_VARS,
        );
        validate_topic(
            v,
            &format!("{k}.aggregate-topic"),
            &m.aggregate_topic,
            AGGREGATE_TOPIC_VARS,
        );
        // MQTT's remaining-length field stops at 256 MiB; below 128 B hardly any item fits.
        let size = m.max_packet_size.as_u64();
        if !(128..=crate::sinks::mqtt_topic::MAX_PACKET).contains(&size) {
            v.push(
                format!("{k}.max-packet-size"),
                format!(
                    "{} is out of range: allowed 128 B to 256 MiB",
                    m.max_packet_size
                ),
            );
        }
        m.retry.validate(v, k);
    }

    fn check_files(m: &MqttSinkConfig, v: &mut Issues, k: &str) {
        if let Some(f) = &m.password_file {
            v.secret_file(format!("{k}.password-file"), f);
        }
        if let Some(t) = &m.tls {
            v.tls_files(&format!("{k}.tls"), t);
        }
    }

    fn sink_name(&self) -> &str {
        &self.handle.name
    }

    fn build(c: &MqttSinkConfig, handle: PendingHandle) -> Result<Self, SinkError> {
        let client_id = c
            .client_id
            .clone()
            .unwrap_or_else(|| format!("edgewatch-{}-{}", handle.gateway, c.name));
        let mut o = MqttOptions::new(client_id, c.host.clone(), c.port);
        let max_packet = c.max_packet_size.as_u64().min(mqtt_topic::MAX_PACKET) as usize;
        o.set_keep_alive(c.keep_alive)
            .set_max_packet_size(max_packet, max_packet)
            .set_clean_session(false)
            .set_inflight(handle.outbox.batch.clamp(1, u16::MAX as usize) as u16);
        crate::mqtt_settings::apply_login(
            &mut o,
            c.username.as_ref(),
            c.password.as_ref(),
            c.password_file.as_ref(),
            c.tls.as_ref(),
        )
        .map_err(|e| SinkError::setup(&c.name, e))?;
        Ok(MqttSink {
            options: o,
            publish: Publish {
                alert_topic: c.alert_topic.clone(),
                aggregate_topic: c.aggregate_topic.clone(),
                retain_alerts: c.retain_alerts,
                max_packet,
            },
            dead_letter_after: c.dead_letter_after,
            reconnect: Reconnect::new(Backoff::new(c.retry.min, c.retry.max, 0.5), STABLE_AFTER),
            host: format!("{}:{}", c.host, c.port),
            handle,
        })
    }

    async fn run(mut self, writer: mpsc::Sender<WriteOp>, shutdown: CancellationToken) {
        let mut outbox = self.handle.connect(writer);
        tracing::info!(sink = %outbox.name, broker = %self.host, "mqtt sink starting");
        let window = outbox.batch.max(1);
        let mut uplink = Uplink::new(window, self.dead_letter_after);
        let mut failures = 0u64;
        while !shutdown.is_cancelled() {
            uplink.reconnecting();
            let (client, mut eventloop) = AsyncClient::new(self.options.clone(), window + 16);
            let (ev_tx, mut events) = mpsc::channel(256);
            let poller = tokio::spawn(async move {
                loop {
                    let ev = eventloop.poll().await.map_err(|e| e.to_string());
                    let stop = ev.is_err();
                    if ev_tx.send(ev).await.is_err() || stop {
                        break;
                    }
                }
            });
            let mut connected = false;
            let ended = loop {
                if connected {
                    self.publish.window(&client, &mut uplink, &outbox).await;
                }
                let can_take_more = connected && uplink.can_take_more();
                let first = tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => break Ended::Shutdown,
                    ev = events.recv() => ev,
                    more = outbox.wait_for_more(uplink.cursor(), &shutdown), if can_take_more => {
                        if !more { break Ended::Shutdown; }
                        continue;
                    }
                };
                // Handle everything already queued, then delete the acknowledged
                // prefix with one store operation instead of one per PUBACK.
                let mut next = Some(first);
                let mut acked_upto = None;
                let mut failed = None;
                while let Some(ev) = next.take() {
                    let now = Instant::now();
                    match ev {
                        Some(Ok(Event::Incoming(Packet::ConnAck(ack)))) => {
                            connected = true;
                            self.reconnect.connected(now);
                            emit(UplinkConnected {
                                metrics: &outbox.metrics,
                                session_present: ack.session_present,
                                after_failures: failures,
                                resending: uplink.unsent(),
                            });
                        }
                        Some(Ok(Event::Outgoing(Outgoing::Publish(pkid)))) => uplink.written(pkid),
                        Some(Ok(Event::Incoming(Packet::PubAck(ack)))) => {
                            let a = uplink.puback(ack.pkid, now);
                            if let Some(l) = a.latency {
                                outbox.metrics.send_latency_us.record(l.as_micros() as u64);
                            }
                            outbox.metrics.sent.inc_by(a.delivered);
                            if a.upto.is_some() {
                                acked_upto = a.upto;
                                self.reconnect.progressed();
                            }
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => failed = Some(e),
                        None => failed = Some("event loop stopped".to_owned()),
                    }
                    if failed.is_none() {
                        next = events.try_recv().ok().map(Some);
                    }
                }
                if let Some(seq) = acked_upto {
                    outbox.delivered(seq).await;
                }
                self.reconnect.tick(Instant::now());
                if self.reconnect.is_proven() {
                    failures = 0;
                }
                if let Some(e) = failed {
                    break Ended::Lost(e);
                }
            };
            outbox.metrics.connected.set(0);
            let e = match ended {
                Ended::Shutdown => {
                    // Say goodbye; whatever is unacknowledged is resent next start.
                    let _ = client.try_disconnect();
                    let _ = tokio::time::timeout(Duration::from_secs(1), poller).await;
                    break;
                }
                Ended::Lost(e) => e,
            };
            poller.abort();
            if connected {
                if let Some((seq, reason)) = uplink.dropped(&e) {
                    outbox.dead_letter(seq, reason).await;
                }
            }
            failures += 1;
            let retry = self.reconnect.lost(Instant::now());
            emit(UplinkLost {
                metrics: &outbox.metrics,
                broker: &self.host,
                client_id: &self.options.client_id(),
                error: e,
                failures,
                retry,
            });
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(retry.delay) => {}
            }
        }
    }
}

impl Publish {
    /// Leases and publishes until the window is full or the outbox is empty; an
    /// item that can never be published goes to the dead letters.
    async fn window(&self, client: &AsyncClient, uplink: &mut Uplink, outbox: &OutboxHandle) {
        loop {
            let wants = uplink.wants();
            if wants > 0 {
                uplink.leased(outbox.lease(uplink.cursor(), wants).await);
            }
            let Some(row) = uplink.next_to_send() else {
                return;
            };
            let view = EventView::parse(&row);
            let (topic, retain) = match row.kind {
                ItemKind::Alert => (topic(&self.alert_topic, outbox, &view), self.retain_alerts),
                ItemKind::Aggregate => (topic(&self.aggregate_topic, outbox, &view), false),
            };
            let payload = envelope::render(&outbox.gateway, &outbox.name, &row);
            if let Err(why) = mqtt_topic::check(&topic, payload.len(), self.max_packet) {
                outbox
                    .dead_letter(row.seq, format!("cannot be published: {why}"))
                    .await;
                continue;
            }
            if client
                .try_publish(topic, QoS::AtLeastOnce, retain, payload)
                .is_err()
            {
                uplink.not_taken(row);
                return;
            }
            uplink.handed_over(row, Instant::now());
        }
    }
}

/// A publish topic from a template, its values made valid topic text.
fn topic(template: &str, outbox: &OutboxHandle, v: &EventView) -> String {
    let sensor = mqtt_topic::clean_level(&v.sensor);
    let rule = v.rule.as_deref().map(mqtt_topic::clean_level);
    crate::template::render(template, |name| match name {
        "gateway" => Some(&outbox.gateway),
        "sink" => Some(&outbox.name),
        "sensor" => Some(sensor.as_str()),
        "severity" => v.severity.as_deref(),
        "state" => v.state.as_deref(),
        "rule" => rule.as_deref(),
        _ => None,
    })
}

fn validate_topic(v: &mut Issues, k: &str, t: &str, known: &[&str]) {
    if t.is_empty() || t.contains(['+', '#']) {
        v.push(
            k,
            format!("`{t}` is not a topic to publish to: it must be non-empty without `+` or `#`"),
        );
    }
    match crate::template::placeholders(t) {
        Err(e) => v.push(k, e),
        Ok(names) => {
            for n in names {
                if !known.contains(&n) {
                    v.push(
                        k,
                        format!("`{{{n}}}` is not known here: use {}", known.join(", ")),
                    );
                }
            }
        }
    }
}
