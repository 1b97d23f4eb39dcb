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
use super::{OutboxHandle, PendingHandle, SinkError};
use crate::backoff::Backoff;
use crate::config::MqttSinkConfig;
use crate::store::{ItemKind, OutboxRow, WriteOp};
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS, Transport};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub struct MqttSink {
    pub(super) handle: PendingHandle,
    options: MqttOptions,
    alert_topic: String,
    aggregate_topic: String,
    retain_alerts: bool,
    max_packet: usize,
    dead_letter_after: u32,
    backoff: Backoff,
    host: String,
}

/// A connection counts as working once the broker acknowledged a publish on it
/// or it stayed up this long; only then does the backoff start again from its
/// minimum (a broker that accepts and then drops us must not be hammered).
const STABLE_AFTER: Duration = Duration::from_secs(30);

/// The in-flight row at the head when the broker last dropped the connection,
/// and how many drops in a row it has been at the head for.
#[derive(Default)]
struct Suspect {
    seq: u64,
    strikes: u32,
}

struct InFlight {
    row: OutboxRow,
    pkid: Option<u16>,
    acked: bool,
    sent: Instant,
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
            alert_topic: c.alert_topic.clone(),
            aggregate_topic: c.aggregate_topic.clone(),
            retain_alerts: c.retain_alerts,
            max_packet,
            dead_letter_after: c.dead_letter_after,
            backoff: Backoff::new(c.retry.min, c.retry.max, 0.5),
            host: format!("{}:{}", c.host, c.port),
            handle,
        })
    }

    pub async fn run(mut self, writer: mpsc::Sender<WriteOp>, shutdown: CancellationToken) {
        let (alert_topic, aggregate_topic) =
            (self.alert_topic.clone(), self.aggregate_topic.clone());
        let mut outbox = self.handle.connect(writer);
        tracing::info!(sink = %outbox.name, broker = %self.host, "mqtt sink starting");
        let window = outbox.batch.max(1);
        // Leased, not yet published (oldest first), and published, not yet acked.
        let mut queue: VecDeque<OutboxRow> = VecDeque::new();
        let mut inflight: VecDeque<InFlight> = VecDeque::new();
        let mut cursor = 0u64;
        let mut failures = 0u64;
        let mut suspect = Suspect::default();
        while !shutdown.is_cancelled() {
            // Whatever the last connection did not get acknowledged goes first.
            while let Some(f) = inflight.pop_back() {
                queue.push_front(f.row);
            }
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
            let mut connected_at = Instant::now();
            let mut stable = false;
            let error = loop {
                if connected {
                    while inflight.len() < window {
                        if queue.is_empty() {
                            let rows = outbox.lease(cursor, window - inflight.len()).await;
                            if let Some(last) = rows.last() {
                                cursor = last.seq;
                            }
                            queue.extend(rows);
                        }
                        let Some(row) = queue.pop_front() else { break };
                        let view = EventView::parse(&row);
                        let (topic, retain) = match row.kind {
                            ItemKind::Alert => {
                                (topic(&alert_topic, &outbox, &view), self.retain_alerts)
                            }
                            ItemKind::Aggregate => (topic(&aggregate_topic, &outbox, &view), false),
                        };
                        let payload = envelope::render(&outbox.gateway, &outbox.name, &row);
                        if let Err(why) = mqtt_topic::check(&topic, payload.len(), self.max_packet)
                        {
                            outbox
                                .dead_letter(row.seq, format!("cannot be published: {why}"))
                                .await;
                            continue;
                        }
                        if client
                            .try_publish(topic, QoS::AtLeastOnce, retain, payload)
                            .is_err()
                        {
                            queue.push_front(row);
                            break;
                        }
                        inflight.push_back(InFlight {
                            row,
                            pkid: None,
                            acked: false,
                            sent: Instant::now(),
                        });
                    }
                }
                let can_take_more = connected && queue.is_empty() && inflight.len() < window;
                let first = tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => break None,
                    ev = events.recv() => ev,
                    more = outbox.wait_for_more(cursor, &shutdown), if can_take_more => {
                        if !more { break None; }
                        continue;
                    }
                };
                // Handle everything already queued, then delete the acknowledged
                // prefix with one store operation instead of one per PUBACK.
                let mut next = Some(first);
                let mut acked_upto = None;
                let mut failed = None;
                while let Some(ev) = next.take() {
                    match ev {
                        Some(Ok(Event::Incoming(Packet::ConnAck(ack)))) => {
                            connected = true;
                            connected_at = Instant::now();
                            outbox.metrics.connected.set(1);
                            if failures > 0 {
                                tracing::info!(sink = %outbox.name, "mqtt sink connected again; resending {} unacknowledged", queue.len());
                            } else {
                                tracing::info!(sink = %outbox.name, session_present = ack.session_present, "mqtt sink connected");
                            }
                            outbox.metrics.set_error(None);
                        }
                        Some(Ok(Event::Outgoing(Outgoing::Publish(pkid)))) => {
                            if let Some(f) = inflight.iter_mut().find(|f| f.pkid.is_none()) {
                                f.pkid = Some(pkid);
                            }
                        }
                        Some(Ok(Event::Incoming(Packet::PubAck(ack)))) => {
                            if let Some(seq) = on_puback(&mut inflight, ack.pkid, &outbox) {
                                acked_upto = Some(seq);
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
                    if seq >= suspect.seq {
                        suspect = Suspect::default();
                    }
                }
                if connected
                    && !stable
                    && (acked_upto.is_some() || connected_at.elapsed() >= STABLE_AFTER)
                {
                    stable = true;
                    failures = 0;
                    self.backoff.reset();
                }
                if let Some(e) = failed {
                    break Some(e);
                }
            };
            outbox.metrics.connected.set(0);
            match error {
                None => {
                    // Shutdown: say goodbye; whatever is unacknowledged is resent next start.
                    let _ = client.try_disconnect();
                    let _ = tokio::time::timeout(Duration::from_secs(1), poller).await;
                    break;
                }
                Some(e) => {
                    poller.abort();
                    if connected {
                        strike(
                            self.dead_letter_after,
                            &mut suspect,
                            &mut inflight,
                            &outbox,
                            &e,
                        )
                        .await;
                    }
                    failures += 1;
                    outbox.metrics.retries.inc();
                    let delay = self.backoff.next_delay();
                    if failures == 1 || failures.is_power_of_two() {
                        tracing::warn!(sink = %outbox.name, broker = %self.host, error = %e, failures, retry_in = ?delay, "mqtt sink disconnected; items stay queued");
                    }
                    outbox.metrics.set_error(Some(e));
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }
}

/// The broker dropped a working connection: the oldest unacknowledged publish is
/// the likely cause (a broker acknowledges in order). After `dead-letter-after`
/// drops in a row with the same row at the head, that row goes to the dead
/// letters so the queue behind it moves.
async fn strike(
    dead_letter_after: u32,
    suspect: &mut Suspect,
    inflight: &mut VecDeque<InFlight>,
    outbox: &OutboxHandle,
    error: &str,
) {
    let Some(head) = inflight.front().filter(|f| f.pkid.is_some() && !f.acked) else {
        return;
    };
    let seq = head.row.seq;
    if suspect.seq == seq {
        suspect.strikes += 1;
    } else {
        *suspect = Suspect { seq, strikes: 1 };
    }
    if dead_letter_after == 0 || suspect.strikes < dead_letter_after {
        return;
    }
    inflight.pop_front();
    let reason = format!(
        "the broker dropped the connection {} times in a row while this item was the oldest unacknowledged (last: {})",
        suspect.strikes,
        crate::untrusted::quote(error, &[], 300)
    );
    outbox.dead_letter(seq, reason).await;
    *suspect = Suspect::default();
}

/// Marks one publish acknowledged and pops the acknowledged prefix; returns the
/// last sequence number of that prefix.
fn on_puback(inflight: &mut VecDeque<InFlight>, pkid: u16, outbox: &OutboxHandle) -> Option<u64> {
    if let Some(f) = inflight
        .iter_mut()
        .find(|f| f.pkid == Some(pkid) && !f.acked)
    {
        f.acked = true;
        outbox
            .metrics
            .send_latency_us
            .record(f.sent.elapsed().as_micros() as u64);
    }
    let mut upto = None;
    while inflight.front().is_some_and(|f| f.acked) {
        if let Some(f) = inflight.pop_front() {
            upto = Some(f.row.seq);
            outbox.metrics.sent.inc();
        }
    }
    upto
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
