//! MQTT uplink (rumqttc over rustls): QoS 1, topic templates, optional retained
//! alerts, persistent session. A row counts as delivered on its PUBACK; acks
//! advance a contiguous watermark so the outbox is deleted strictly in order.
//!
//! Each connection gets a fresh client and event loop: after a drop, every
//! unacknowledged row is published again on the next connection (a duplicate the
//! dedup key identifies), and no packet id of an old connection can be mistaken
//! for one of the new.

use super::envelope::{self, EventView};
use super::mqtt_topic;
use super::mqtt_uplink::Uplink;
use super::{OutboxHandle, PendingHandle, SinkError};
use crate::backoff::Backoff;
use crate::config::MqttSinkConfig;
use crate::reconnect::{Reconnect, SHORT_LIVED_WARN};
use crate::store::{ItemKind, WriteOp};
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS, Transport};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

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

impl MqttSink {
    pub fn build(c: &MqttSinkConfig, handle: PendingHandle) -> Result<Self, SinkError> {
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
        let password = match (&c.password, &c.password_file) {
            (Some(p), _) => Some(p.clone()),
            (_, Some(f)) => Some(crate::secret::read(f).map_err(|e| SinkError::setup(&c.name, e))?),
            _ => None,
        };
        if let Some(user) = &c.username {
            o.set_credentials(user.clone(), password.unwrap_or_default());
        }
        if let Some(tls) = &c.tls {
            let cfg = crate::tls::client_config(tls).map_err(|e| SinkError::setup(&c.name, e))?;
            o.set_transport(Transport::tls_with_config(
                rumqttc::TlsConfiguration::Rustls(Arc::new(cfg)),
            ));
        }
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

    pub async fn run(mut self, writer: mpsc::Sender<WriteOp>, shutdown: CancellationToken) {
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
                            outbox.metrics.connected.set(1);
                            if failures > 0 {
                                tracing::info!(sink = %outbox.name, "mqtt sink connected again; resending {} unacknowledged", uplink.unsent());
                            } else {
                                tracing::info!(sink = %outbox.name, session_present = ack.session_present, "mqtt sink connected");
                            }
                            outbox.metrics.set_error(None);
                        }
                        Some(Ok(Event::Outgoing(Outgoing::Publish(pkid)))) => uplink.written(pkid),
                        Some(Ok(Event::Incoming(Packet::PubAck(ack)))) => {
                            let a = uplink.puback(ack.pkid, now);
                            if let Some(l) = a.latency {
                                outbox.metrics.send_latency_us.record(l.as_micros() as u64);
                            }
                            outbox.metrics.sent.add(a.delivered);
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
            outbox.metrics.retries.inc();
            let retry = self.reconnect.lost(Instant::now());
            if retry.short_lived >= SHORT_LIVED_WARN && retry.short_lived.is_power_of_two() {
                tracing::warn!(sink = %outbox.name, broker = %self.host, client_id = %self.options.client_id(), error = %e, times = retry.short_lived, retry_in = ?retry.delay, "the broker keeps closing the connection soon after accepting it: another client may be using the same client id (cloned gateway images share /etc/hostname, which the default id comes from); set a unique client-id or gateway.id");
            } else if failures == 1 || failures.is_power_of_two() {
                tracing::warn!(sink = %outbox.name, broker = %self.host, error = %e, failures, retry_in = ?retry.delay, "mqtt sink disconnected; items stay queued");
            }
            outbox.metrics.set_error(Some(e));
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
