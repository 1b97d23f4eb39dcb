//! A simulated plant: machines with temperature, vibration and pressure sensors,
//! noise, a daily cycle, and injected faults (spike, drift to failure, stuck sensor,
//! dropout) whose ground truth is recorded for scoring detectors; optionally pumps
//! whose channels move together and whose faults bend those relations
//! ([`super::pump_rig`]).
//!
//! [`Plant`] is pure (explicit time, seeded randomness) so benches and evaluations
//! can run it faster than real time; [`SimulatorSource`] paces it with the clock.

use super::kind::{Context, SourceKind};
use super::modbus::RegisterMap;
use super::pump_rig::{self, Pump};
use super::{IngestBatch, IngestTx, SourceError};
use crate::event::SimFault;
use crate::event::{now_ms, Labels, Reading};
use crate::issues::Issues;
use crate::metrics::SourceMetrics;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// `[[sources.simulator]]`: a simulated plant with injected faults.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SimulatorConfig {
    #[serde(default = "default_sim_name")]
    pub name: String,
    /// First level of every simulated sensor id.
    #[serde(default = "default_site")]
    pub site: String,
    #[serde(default = "default_lines")]
    pub lines: u32,
    #[serde(default = "default_machines_per_line")]
    pub machines_per_line: u32,
    /// Pumps per line (flow, pressure, current, vibration, temperature that move
    /// together; faults that are machine states), none by default.
    #[serde(default)]
    pub pumps_per_line: u32,
    /// Time between two samples of one sensor.
    #[serde(default = "default_sim_interval", with = "humantime_serde")]
    pub interval: Duration,
    /// Injected faults per machine per hour.
    #[serde(default = "default_fault_rate")]
    pub fault_rate: f64,
    /// Mean length of an injected fault (drift, stuck sensor, dropout).
    #[serde(default = "default_fault_duration", with = "humantime_serde")]
    pub fault_duration: Duration,
    /// Same seed, same plant: faults and noise repeat exactly.
    #[serde(default)]
    pub seed: Option<u64>,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            name: default_sim_name(),
            site: default_site(),
            lines: default_lines(),
            machines_per_line: default_machines_per_line(),
            pumps_per_line: 0,
            interval: default_sim_interval(),
            fault_rate: default_fault_rate(),
            fault_duration: default_fault_duration(),
            seed: None,
        }
    }
}

fn default_sim_name() -> String {
    "simulator".to_owned()
}
fn default_site() -> String {
    "plant1".to_owned()
}
fn default_lines() -> u32 {
    2
}
fn default_machines_per_line() -> u32 {
    3
}
fn default_sim_interval() -> Duration {
    Duration::from_secs(1)
}
fn default_fault_rate() -> f64 {
    0.5
}
fn default_fault_duration() -> Duration {
    Duration::from_secs(300)
}

const DAY_MS: f64 = 86_400_000.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Temperature,
    Vibration,
    Pressure,
}

impl Metric {
    const ALL: [Metric; 3] = [Metric::Temperature, Metric::Vibration, Metric::Pressure];

    fn name(self) -> &'static str {
        match self {
            Metric::Temperature => "temperature",
            Metric::Vibration => "vibration",
            Metric::Pressure => "pressure",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Metric::Temperature => "°C",
            Metric::Vibration => "mm/s",
            Metric::Pressure => "bar",
        }
    }

    /// (normal level, machine-to-machine spread, noise sigma, daily swing, fault
    /// magnitude with its direction: a hot motor, a shaking bearing, a leaking line).
    fn profile(self) -> (f64, f64, f64, f64, f64) {
        match self {
            Metric::Temperature => (62.0, 4.0, 0.4, 3.0, 35.0),
            Metric::Vibration => (2.5, 0.5, 0.15, 0.2, 8.0),
            Metric::Pressure => (6.0, 0.2, 0.05, 0.1, -3.0),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    Spike,
    Drift,
    Stuck,
    Dropout,
}

impl FaultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Spike => "spike",
            FaultKind::Drift => "drift",
            FaultKind::Stuck => "stuck",
            FaultKind::Dropout => "dropout",
        }
    }
}

#[derive(Debug, Clone)]
struct Fault {
    kind: FaultKind,
    start_ms: i64,
    end_ms: i64,
    stuck_value: f64,
}

#[derive(Debug)]
struct Sensor {
    id: Arc<str>,
    unit: Arc<str>,
    labels: Labels,
    metric: Metric,
    level: f64,
    last: f64,
    fault: Option<Fault>,
}

#[derive(Debug)]
pub struct Plant {
    sensors: Vec<Sensor>,
    pumps: Vec<Pump>,
    rng: fastrand::Rng,
    faults_per_machine_ms: f64,
    fault_mean_ms: f64,
}

impl Plant {
    pub fn new(c: &SimulatorConfig) -> Self {
        let mut rng = match c.seed {
            Some(s) => fastrand::Rng::with_seed(s),
            None => fastrand::Rng::new(),
        };
        let mut sensors = Vec::new();
        for line in 1..=c.lines {
            for m in 1..=c.machines_per_line {
                for metric in Metric::ALL {
                    let (level, spread, ..) = metric.profile();
                    let level = level + spread * (rng.f64() * 2.0 - 1.0);
                    let labels: BTreeMap<String, String> = [
                        ("line".to_string(), format!("line{line}")),
                        ("machine".to_string(), format!("m{m:02}")),
                        ("metric".to_string(), metric.name().to_string()),
                    ]
                    .into();
                    sensors.push(Sensor {
                        id: format!("{}/line{line}/motor/m{m:02}/{}", c.site, metric.name()).into(),
                        unit: metric.unit().into(),
                        labels: Arc::new(labels),
                        metric,
                        level,
                        last: level,
                        fault: None,
                    });
                }
            }
        }
        let mut pumps = Vec::new();
        for line in 1..=c.lines {
            for n in 1..=c.pumps_per_line {
                pumps.push(Pump::new(&c.site, line, n, &mut rng));
            }
        }
        Plant {
            sensors,
            pumps,
            rng,
            faults_per_machine_ms: c.fault_rate / 3_600_000.0,
            fault_mean_ms: c.fault_duration.as_millis() as f64,
        }
    }

    pub fn sensor_count(&self) -> usize {
        self.sensors.len() + self.pumps.len() * pump_rig::CHANNELS.len()
    }

    /// Samples every sensor at `ts_ms`, `dt_ms` after the previous step. Faults that
    /// start now are appended to `faults` with their planned end.
    pub fn step(
        &mut self,
        ts_ms: i64,
        dt_ms: i64,
        out: &mut Vec<Reading>,
        faults: &mut Vec<SimFault>,
    ) {
        let p_fault = self.faults_per_machine_ms * dt_ms as f64;
        for machine in self.sensors.chunks_mut(Metric::ALL.len()) {
            for s in machine.iter_mut() {
                if s.fault.as_ref().is_some_and(|f| ts_ms >= f.end_ms) {
                    s.fault = None;
                }
            }
            let healthy = machine.iter().all(|s| s.fault.is_none());
            if healthy && p_fault > 0.0 && self.rng.f64() < p_fault {
                let s = &mut machine[self.rng.usize(0..Metric::ALL.len())];
                let kind = [
                    FaultKind::Spike,
                    FaultKind::Drift,
                    FaultKind::Stuck,
                    FaultKind::Dropout,
                ][self.rng.usize(0..4)];
                let len = match kind {
                    // Exactly one sample, however late the next tick comes.
                    FaultKind::Spike => 1,
                    // Exponential lengths, at least ten seconds.
                    _ => (-(1.0 - self.rng.f64()).ln() * self.fault_mean_ms).max(10_000.0) as i64,
                };
                let f = Fault {
                    kind,
                    start_ms: ts_ms,
                    end_ms: ts_ms + len,
                    stuck_value: s.last,
                };
                faults.push(SimFault {
                    sensor: s.id.clone(),
                    kind: kind.as_str(),
                    start_ms: f.start_ms,
                    end_ms: f.end_ms,
                });
                s.fault = Some(f);
            }
            for s in machine.iter_mut() {
                if let Some(v) = sample(s, ts_ms, &mut self.rng) {
                    s.last = v;
                    out.push(Reading {
                        sensor: s.id.clone(),
                        ts_ms,
                        value: v,
                        unit: Some(s.unit.clone()),
                        quality: crate::event::Quality::Good,
                        labels: s.labels.clone(),
                    });
                }
            }
        }
        for pump in &mut self.pumps {
            if pump.is_healthy() && p_fault > 0.0 && self.rng.f64() < p_fault {
                let len = (-(1.0 - self.rng.f64()).ln() * self.fault_mean_ms) as i64;
                pump.start_fault(ts_ms, len, &mut self.rng, faults);
            }
            pump.step(ts_ms, dt_ms, &mut self.rng, out);
        }
    }
}

fn sample(s: &Sensor, ts_ms: i64, rng: &mut fastrand::Rng) -> Option<f64> {
    let (_, _, sigma, swing, magnitude) = s.metric.profile();
    let phase = (ts_ms as f64 % DAY_MS) / DAY_MS * std::f64::consts::TAU;
    let normal = s.level + swing * phase.sin() + sigma * gaussian(rng);
    let Some(f) = &s.fault else {
        return Some(round3(normal));
    };
    let v = match f.kind {
        FaultKind::Spike => normal + magnitude * (0.8 + 0.4 * rng.f64()),
        FaultKind::Drift => {
            let p = (ts_ms - f.start_ms) as f64 / (f.end_ms - f.start_ms).max(1) as f64;
            normal + magnitude * p.clamp(0.0, 1.0).powf(1.5)
        }
        FaultKind::Stuck => f.stuck_value,
        FaultKind::Dropout => return None,
    };
    Some(round3(v))
}

/// Standard normal draw (Box-Muller).
pub(super) fn gaussian(rng: &mut fastrand::Rng) -> f64 {
    let u1 = 1.0 - rng.f64();
    let u2 = rng.f64();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

pub struct SimulatorSource {
    name: String,
    plant: Plant,
    interval: std::time::Duration,
    metrics: Arc<SourceMetrics>,
}

impl SourceKind for SimulatorSource {
    type Config = SimulatorConfig;

    fn name(c: &SimulatorConfig) -> &str {
        &c.name
    }

    fn validate(s: &SimulatorConfig, _: &BTreeMap<String, RegisterMap>, v: &mut Issues, k: &str) {
        if s.lines == 0 || s.lines > 100 {
            v.push(format!("{k}.lines"), "allowed 1 to 100");
        }
        if s.machines_per_line > 1000 {
            v.push(format!("{k}.machines-per-line"), "allowed 0 to 1000");
        }
        if s.pumps_per_line > 1000 {
            v.push(format!("{k}.pumps-per-line"), "allowed 0 to 1000");
        }
        if s.machines_per_line == 0 && s.pumps_per_line == 0 {
            v.push(
                format!("{k}.machines-per-line"),
                "a plant needs machines or pumps: set machines-per-line or pumps-per-line above 0",
            );
        }
        v.range(
            format!("{k}.interval"),
            s.interval,
            Duration::from_micros(1),
            Duration::from_secs(3600),
        );
        if !(0.0..=3600.0).contains(&s.fault_rate) {
            v.push(
                format!("{k}.fault-rate"),
                "allowed 0 to 3600 faults per machine-hour",
            );
        }
        v.range(
            format!("{k}.fault-duration"),
            s.fault_duration,
            Duration::from_secs(1),
            Duration::from_secs(86_400),
        );
        if s.site.is_empty() || s.site.contains('/') {
            v.push(
                format!("{k}.site"),
                "must be one non-empty id level (no `/`)",
            );
        }
    }

    fn build(c: &SimulatorConfig, cx: &Context) -> Result<Self, SourceError> {
        Ok(SimulatorSource {
            name: c.name.clone(),
            plant: Plant::new(c),
            interval: c.interval,
            metrics: cx.metrics.source(&c.name, "simulator"),
        })
    }

    fn source_name(&self) -> &str {
        &self.name
    }

    async fn run(mut self, out: IngestTx, shutdown: CancellationToken) {
        self.metrics.connected.set(1);
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut last = now_ms();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            let now = now_ms();
            let mut batch = IngestBatch::readings(Vec::with_capacity(self.plant.sensor_count()));
            self.plant.step(
                now,
                (now - last).max(1),
                &mut batch.readings,
                &mut batch.faults,
            );
            last = now;
            self.metrics.messages.inc();
            self.metrics.readings.inc_by(batch.readings.len() as u64);
            if out.send(batch).await.is_err() {
                break;
            }
        }
        self.metrics.connected.set(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plant(rate: f64) -> Plant {
        Plant::new(&SimulatorConfig {
            fault_rate: rate,
            seed: Some(7),
            ..Default::default()
        })
    }

    #[test]
    fn healthy_plant_stays_in_normal_bands() {
        let mut p = plant(0.0);
        let (mut out, mut faults) = (Vec::new(), Vec::new());
        for i in 0..3600 {
            p.step(i * 1000, 1000, &mut out, &mut faults);
        }
        assert!(faults.is_empty());
        assert_eq!(out.len(), 3600 * 18);
        for r in &out {
            let ok = match r.unit.as_deref() {
                Some("°C") => (50.0..75.0).contains(&r.value),
                Some("mm/s") => (1.0..4.5).contains(&r.value),
                Some("bar") => (5.0..7.0).contains(&r.value),
                u => panic!("unit {u:?}"),
            };
            assert!(ok, "{} = {}", r.sensor, r.value);
        }
    }

    #[test]
    fn faults_are_injected_recorded_and_visible() {
        let mut p = plant(30.0);
        let (mut out, mut faults) = (Vec::new(), Vec::new());
        for i in 0..7200 {
            p.step(i * 1000, 1000, &mut out, &mut faults);
        }
        assert!(faults.len() > 20, "{}", faults.len());
        for kind in ["spike", "drift", "stuck", "dropout"] {
            assert!(faults.iter().any(|f| f.kind == kind), "no {kind}");
        }
        // A spike is one sample, however the ticks fall.
        assert!(faults
            .iter()
            .filter(|f| f.kind == "spike")
            .all(|f| f.end_ms - f.start_ms == 1));
        // A dropout leaves a gap in its sensor's readings.
        let d = faults.iter().find(|f| f.kind == "dropout").unwrap();
        let inside = out
            .iter()
            .filter(|r| r.sensor == d.sensor && r.ts_ms >= d.start_ms && r.ts_ms < d.end_ms)
            .count();
        assert_eq!(inside, 0);
    }

    #[test]
    fn same_seed_same_plant() {
        let run = || {
            let mut p = plant(10.0);
            let (mut out, mut faults) = (Vec::new(), Vec::new());
            for i in 0..600 {
                p.step(i * 1000, 1000, &mut out, &mut faults);
            }
            (out.iter().map(|r| r.value).collect::<Vec<_>>(), faults)
        };
        assert_eq!(run(), run());
    }
}
