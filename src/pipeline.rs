//! The pipeline: takes [`IngestBatch`]es from sources, runs detectors and the
//! aggregator, and hands readings, alerts and closed windows to the store writer as
//! one batch. Detection and aggregation are synchronous ([`Pipeline::process`],
//! [`Pipeline::tick`]); [`Pipeline::run`] is the thin async shell around them.

use crate::aggregate::{Added, Aggregator};
use crate::config::Config;
use crate::detect::anomaly::Scored;
use crate::detect::{Detector, Detectors, StoredFiring};
use crate::event::{now_ms, Labels};
use crate::event::{AlertEvent, AlertKind, AlertState, CommitAck};
use crate::internal_events::{emit, SensorRefused};
use crate::learn::LearnedModel;
use crate::metrics::Metrics;
use crate::sources::IngestBatch;
use crate::store::{Reader, StoreError, WriteBatch, WriteOp};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc};

/// Most readings merged into one write batch.
const MAX_BATCH_READINGS: usize = 8192;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Rules(#[from] crate::detect::threshold::RuleError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Pipeline {
    detectors: Detectors,
    aggregator: Aggregator,
    sensors: crate::sensor_limit::SensorLimit,
    metrics: Arc<Metrics>,
    /// Alert events for live viewers (the demo); lagging viewers lose events, the
    /// store never does.
    alerts: broadcast::Sender<AlertEvent>,
    prune_interval: Duration,
    /// Models learned while running, to install (see [`Pipeline::learned_sender`]).
    learned: (mpsc::Sender<LearnedModel>, mpsc::Receiver<LearnedModel>),
}

impl Pipeline {
    /// Builds detectors (see [`Detectors::start`]) and the aggregator.
    pub fn new(config: &Config, metrics: Arc<Metrics>) -> Result<Self, PipelineError> {
        let detectors = Detectors::start(
            &config.rules,
            &config.onnx,
            &config.anomaly_models,
            load_learned(&config.gateway.state_dir),
            &metrics,
        )?;
        Ok(Self::with_detectors(config, metrics, detectors))
    }

    /// The pipeline around detectors built elsewhere (a replay scores inline).
    pub fn with_detectors(config: &Config, metrics: Arc<Metrics>, detectors: Detectors) -> Self {
        Pipeline {
            detectors,
            aggregator: Aggregator::new(
                config.aggregate.window.as_millis() as i64,
                config.aggregate.lateness.as_millis() as i64,
                config.aggregate.max_open_windows,
                i64::MIN,
            ),
            sensors: crate::sensor_limit::SensorLimit::new(config.store.max_sensors),
            metrics,
            alerts: broadcast::channel(1024).0,
            prune_interval: config.store.prune_interval,
            learned: mpsc::channel(4),
        }
    }

    /// Where a model learned while the daemon runs is sent to be installed: it
    /// replaces the running model of its name from the next reading on.
    pub fn learned_sender(&self) -> mpsc::Sender<LearnedModel> {
        self.learned.0.clone()
    }

    /// Installs a learned model now (replays, tests).
    pub fn install_learned(&mut self, model: LearnedModel) {
        tracing::info!(model = %model.name, assets = model.assets.len(), "learned model installed");
        self.detectors.install_learned(model);
    }

    pub fn subscribe_alerts(&self) -> broadcast::Receiver<AlertEvent> {
        self.alerts.subscribe()
    }

    /// Rebuilds state after a restart: open aggregate windows from the journal,
    /// known sensors for staleness, firing alerts for hysteresis. Alerts whose rule
    /// is gone are resolved into `out`.
    pub fn restore(
        &mut self,
        reader: &Reader,
        out: &mut WriteBatch,
    ) -> Result<RestoreSummary, PipelineError> {
        let closed = reader.closed_until()?;
        self.aggregator = Aggregator::new(
            self.aggregator.window_ms(),
            self.aggregator.lateness_ms(),
            self.aggregator.max_open(),
            closed.unwrap_or(i64::MIN),
        );
        let agg = &mut self.aggregator;
        // Windows further ahead than a sensor may hold open are not rebuilt: a
        // journal of readings stamped years ahead must not hold up the start.
        let horizon =
            now_ms() + agg.lateness_ms() + agg.window_ms().saturating_mul(agg.max_open() as i64);
        let replayed = reader.replay(closed.unwrap_or(i64::MIN), horizon, |r| {
            agg.add(&r);
        })?;
        let sensors = reader.sensors()?;
        for s in &sensors {
            let id: Arc<str> = s.id.as_str().into();
            self.sensors.remember(&id);
            let labels: Labels =
                Arc::new(serde_json::from_value(s.labels.clone()).unwrap_or_default());
            self.detectors.register(&id, &labels, s.last_seen_ms);
        }
        let mut firing = 0;
        let now = now_ms();
        for a in reader.firing_alerts()? {
            let sensor: Arc<str> = a.sensor.as_str().into();
            let labels = sensors
                .iter()
                .find(|s| s.id == a.sensor)
                .and_then(|s| serde_json::from_value(s.labels.clone()).ok())
                .map(Arc::new)
                .unwrap_or_default();
            let stored = StoredFiring {
                rule: &a.rule,
                sensor: &sensor,
                labels: &labels,
                id: &a.id,
                fired_ms: a.fired_ms,
            };
            if self.detectors.restore_firing(&stored) {
                firing += 1;
            } else {
                out.alerts.push(orphan_resolved(&a, sensor, now));
            }
        }
        self.metrics.alerts_firing.set(firing as i64);
        Ok(RestoreSummary {
            replayed,
            sensors: sensors.len(),
            firing,
        })
    }

    /// Runs detectors and the aggregator over one source batch, appending to `out`.
    pub fn process(&mut self, mut b: IngestBatch, out: &mut WriteBatch) {
        let first_alert = out.alerts.len();
        b.readings.retain(|r| {
            let admitted = self.sensors.admit(&r.sensor);
            if !admitted {
                emit(SensorRefused {
                    metrics: &self.metrics,
                    sensor: &r.sensor,
                    known: self.sensors.known(),
                });
            }
            admitted
        });
        self.metrics.sensors_known.set(self.sensors.known() as i64);
        for r in &b.readings {
            self.detectors.on_reading(r, &mut out.alerts);
            match self.aggregator.add(r) {
                Added::Late => {
                    self.metrics.late_readings.inc();
                }
                Added::TooManyWindows => {
                    self.metrics.unwindowed_readings.inc();
                }
                Added::Yes | Added::Skipped => {}
            }
        }
        self.detectors.end_batch(&mut out.alerts);
        self.metrics.readings_in.inc_by(b.readings.len() as u64);
        if out.readings.is_empty() {
            out.readings = b.readings;
        } else {
            out.readings.extend(b.readings);
        }
        out.rejected.extend(b.rejected);
        out.faults.extend(b.faults);
        if let Some(ack) = b.ack {
            merge_ack(&mut out.acks, ack);
        }
        out.received = Some(out.received.map_or(b.received, |t| t.min(b.received)));
        self.publish(&out.alerts[first_alert..]);
    }

    /// Clock duties: staleness and closing aggregate windows.
    pub fn tick(&mut self, now_ms: i64, out: &mut WriteBatch) {
        let first_alert = out.alerts.len();
        self.detectors.on_tick(now_ms, &mut out.alerts);
        let closed_before = self.aggregator.closed_until_ms();
        self.aggregator.close_due(now_ms, &mut out.aggregates);
        if self.aggregator.closed_until_ms() != closed_before {
            out.closed_until_ms = Some(self.aggregator.closed_until_ms());
        }
        self.metrics
            .open_windows
            .set(self.aggregator.open_windows() as i64);
        self.publish(&out.alerts[first_alert..]);
    }

    /// Scores back from inference: the anomaly alert lifecycle.
    pub fn scored(&mut self, scores: &[Scored], out: &mut WriteBatch) {
        let first_alert = out.alerts.len();
        self.detectors.on_scores(scores, &mut out.alerts);
        self.publish(&out.alerts[first_alert..]);
    }

    fn publish(&self, events: &[AlertEvent]) {
        for e in events {
            match e.state {
                AlertState::Firing => self.metrics.alerts_fired.inc(),
                AlertState::Resolved => self.metrics.alerts_resolved.inc(),
            };
            let _ = self.alerts.send(e.clone());
        }
        if !events.is_empty() {
            self.metrics
                .alerts_firing
                .set(self.detectors.firing_count() as i64);
        }
    }

    /// Runs until every source has dropped its sender, then returns after handing
    /// the last batch to the writer. Open windows are not closed on the way out:
    /// they are rebuilt from the journal on the next start.
    pub async fn run(mut self, mut rx: mpsc::Receiver<IngestBatch>, writer: mpsc::Sender<WriteOp>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut prune = tokio::time::interval_at(
            tokio::time::Instant::now() + self.prune_interval,
            self.prune_interval,
        );
        let mut rate = RateMeter::new(&self.metrics);
        let mut scores = self.detectors.take_scores();
        loop {
            let mut batch = WriteBatch::default();
            // Clock duties first: they are ready once a second and must not starve
            // behind a channel that always has input under load.
            tokio::select! {
                biased;
                _ = tick.tick() => {
                    let now = now_ms();
                    self.tick(now, &mut batch);
                    rate.update(&self.metrics);
                    self.metrics.pipeline_heartbeat_ms.set(now);
                }
                _ = prune.tick() => {
                    if writer.send(WriteOp::Prune).await.is_err() {
                        break;
                    }
                    continue;
                }
                Some(s) = recv_scores(&mut scores) => self.scored(&s, &mut batch),
                Some(m) = self.learned.1.recv() => {
                    self.install_learned(m);
                    continue;
                }
                b = rx.recv() => {
                    let Some(b) = b else { break };
                    self.process(b, &mut batch);
                    // Merge what is already waiting: fewer, larger commits under load.
                    while batch.readings.len() < MAX_BATCH_READINGS {
                        match rx.try_recv() {
                            Ok(b) => self.process(b, &mut batch),
                            Err(_) => break,
                        }
                    }
                    self.metrics.ingest_queue.set(rx.len() as i64);
                }
            }
            if is_empty(&batch) {
                continue;
            }
            if writer.send(WriteOp::Batch(batch)).await.is_err() {
                tracing::error!("store writer stopped; pipeline stops");
                break;
            }
        }
    }
}

/// The learned models a state directory keeps; a file that cannot be read is
/// logged and left out, the rest of the daemon runs.
fn load_learned(state_dir: &std::path::Path) -> Vec<LearnedModel> {
    let (models, errors) = crate::learn::model::load_all(state_dir);
    for e in errors {
        tracing::error!("learned model left out: {e}");
    }
    if !models.is_empty() {
        tracing::info!(models = models.len(), "learned models loaded");
    }
    models
}

/// Scores from inference, or never without anomaly models.
async fn recv_scores(rx: &mut Option<mpsc::Receiver<Vec<Scored>>>) -> Option<Vec<Scored>> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Keeps one acknowledgement per source: the highest sequence number. Sources
/// number their batches in order, so the newest covers all before it.
fn merge_ack(acks: &mut Vec<CommitAck>, ack: CommitAck) {
    match acks
        .iter_mut()
        .find(|a| Arc::ptr_eq(&a.watermark, &ack.watermark))
    {
        Some(a) => a.seq = a.seq.max(ack.seq),
        None => acks.push(ack),
    }
}

fn is_empty(b: &WriteBatch) -> bool {
    b.readings.is_empty()
        && b.alerts.is_empty()
        && b.aggregates.is_empty()
        && b.rejected.is_empty()
        && b.faults.is_empty()
        && b.acks.is_empty()
        && b.closed_until_ms.is_none()
}

fn orphan_resolved(a: &crate::store::AlertRow, sensor: Arc<str>, now: i64) -> AlertEvent {
    AlertEvent {
        id: a.id.clone(),
        state: AlertState::Resolved,
        rule: a.rule.as_str().into(),
        sensor,
        severity: crate::event::Severity::parse(&a.severity).unwrap_or_default(),
        kind: AlertKind::Above,
        value: f64::NAN,
        limit: a.limit.unwrap_or(f64::NAN),
        unit: a.unit.as_deref().map(Arc::from),
        fired_ms: a.fired_ms,
        event_ms: now,
        message: format!(
            "resolved at start-up: rule `{}` no longer applies to {}",
            a.rule, a.sensor
        ),
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RestoreSummary {
    pub replayed: u64,
    pub sensors: usize,
    pub firing: usize,
}

/// Readings per second over the last few seconds, for status lines.
struct RateMeter {
    last: Instant,
    count: u64,
}

impl RateMeter {
    fn new(m: &Metrics) -> Self {
        RateMeter {
            last: Instant::now(),
            count: m.readings_in.get(),
        }
    }

    fn update(&mut self, m: &Metrics) {
        let elapsed = self.last.elapsed().as_secs_f64();
        if elapsed >= 2.0 {
            let n = m.readings_in.get();
            m.readings_per_s
                .set(((n - self.count) as f64 / elapsed).round() as i64);
            self.count = n;
            self.last = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::watch;

    #[test]
    fn acks_collapse_to_the_highest_per_source() {
        let a = Arc::new(watch::channel(0).0);
        let b = Arc::new(watch::channel(0).0);
        let mut acks = Vec::new();
        for (w, seq) in [(&a, 1), (&b, 7), (&a, 3), (&a, 2)] {
            merge_ack(
                &mut acks,
                CommitAck {
                    watermark: w.clone(),
                    seq,
                },
            );
        }
        let got: Vec<u64> = acks.iter().map(|x| x.seq).collect();
        assert_eq!(got, vec![3, 7]);
    }
}
