//! Simulated centrifugal pumps whose channels move together, as a real pump's do:
//! one operating point (the load, changed now and then by the process) drives
//! flow, discharge pressure, motor current and vibration, and the motor's
//! temperature follows its losses with a lag. Faults are machine states that
//! bend those relations, not one sensor misbehaving:
//! - bearing wear: vibration, current and temperature creep up together;
//! - a filter clogging: flow falls while pressure rises, current eases off;
//! - cavitation: vibration turns rough, flow and pressure sag and flutter.
//!
//! Each channel can stay inside its normal range while the machine is faulty,
//! so a detector has to watch the relations (a learned multivariate model), not
//! only the levels. Pressure is quantised to 0.1 bar as a cheap transmitter
//! would report it. Pure: explicit time, the caller's seeded generator.

use super::simulator::gaussian;
use crate::event::{Labels, Quality, Reading, SimFault};
use std::collections::BTreeMap;
use std::sync::Arc;

const DAY_MS: f64 = 86_400_000.0;

/// The channels of one pump, in the order readings are emitted.
pub const CHANNELS: [(&str, &str); 5] = [
    ("flow", "m³/h"),
    ("pressure", "bar"),
    ("current", "A"),
    ("vibration", "mm/s"),
    ("temperature", "°C"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PumpFault {
    BearingWear,
    CloggedFilter,
    Cavitation,
}

impl PumpFault {
    const ALL: [PumpFault; 3] = [
        PumpFault::BearingWear,
        PumpFault::CloggedFilter,
        PumpFault::Cavitation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PumpFault::BearingWear => "bearing-wear",
            PumpFault::CloggedFilter => "clogged-filter",
            PumpFault::Cavitation => "cavitation",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct ActiveFault {
    kind: PumpFault,
    start_ms: i64,
    end_ms: i64,
    /// How far this one goes at its worst, 0.5..1.
    severity: f64,
}

/// One pump and its five sensors.
#[derive(Debug)]
pub struct Pump {
    ids: [Arc<str>; 5],
    units: [Arc<str>; 5],
    labels: [Labels; 5],
    /// Flow at full load, m³/h (pumps differ a little).
    rated_flow: f64,
    /// Load now and where the process is taking it, 0.55..1.
    load: f64,
    target: f64,
    next_change_ms: i64,
    /// The motor's temperature (a lagging state, not a function of now).
    temperature: f64,
    fault: Option<ActiveFault>,
}

impl Pump {
    pub fn new(site: &str, line: u32, n: u32, rng: &mut fastrand::Rng) -> Pump {
        let make = |i: usize| -> (Arc<str>, Arc<str>, Labels) {
            let (channel, unit) = CHANNELS[i];
            let labels: BTreeMap<String, String> = [
                ("line".to_string(), format!("line{line}")),
                ("machine".to_string(), format!("p{n:02}")),
                ("metric".to_string(), channel.to_string()),
            ]
            .into();
            (
                format!("{site}/line{line}/pump/p{n:02}/{channel}").into(),
                unit.into(),
                Arc::new(labels),
            )
        };
        let parts: Vec<_> = (0..5).map(make).collect();
        let load = 0.7 + 0.2 * rng.f64();
        Pump {
            ids: std::array::from_fn(|i| parts[i].0.clone()),
            units: std::array::from_fn(|i| parts[i].1.clone()),
            labels: std::array::from_fn(|i| parts[i].2.clone()),
            rated_flow: 30.0 * (0.95 + 0.1 * rng.f64()),
            load,
            target: load,
            next_change_ms: i64::MIN,
            temperature: f64::NAN,
            fault: None,
        }
    }

    pub fn is_healthy(&self) -> bool {
        self.fault.is_none()
    }

    /// Starts a fault of a random kind lasting `len_ms`; its ground truth is one
    /// [`SimFault`] per channel (the whole machine is faulty).
    pub fn start_fault(
        &mut self,
        ts_ms: i64,
        len_ms: i64,
        rng: &mut fastrand::Rng,
        faults: &mut Vec<SimFault>,
    ) {
        let kind = PumpFault::ALL[rng.usize(0..PumpFault::ALL.len())];
        let f = ActiveFault {
            kind,
            start_ms: ts_ms,
            end_ms: ts_ms + len_ms.max(30_000),
            severity: 0.5 + 0.5 * rng.f64(),
        };
        for id in &self.ids {
            faults.push(SimFault {
                sensor: id.clone(),
                kind: kind.as_str(),
                start_ms: f.start_ms,
                end_ms: f.end_ms,
            });
        }
        self.fault = Some(f);
    }

    /// Advances the pump to `ts_ms` (`dt_ms` after the last step) and samples it.
    pub fn step(
        &mut self,
        ts_ms: i64,
        dt_ms: i64,
        rng: &mut fastrand::Rng,
        out: &mut Vec<Reading>,
    ) {
        if self.fault.is_some_and(|f| ts_ms >= f.end_ms) {
            self.fault = None;
        }
        let dt = dt_ms.max(1) as f64 / 1000.0;
        self.move_load(ts_ms, dt, rng);
        let l = (self.load + 0.004 * gaussian(rng)).clamp(0.5, 1.05);

        // How far each fault has gone: wear and clogging build up, cavitation is there at once.
        let (mut wear, mut clog, mut cav) = (0.0, 0.0, 0.0);
        if let Some(f) = self.fault {
            let p = ((ts_ms - f.start_ms) as f64 / (f.end_ms - f.start_ms) as f64).clamp(0.0, 1.0);
            match f.kind {
                PumpFault::BearingWear => wear = f.severity * (0.3 + 0.7 * p),
                PumpFault::CloggedFilter => clog = f.severity * (0.3 + 0.7 * p),
                PumpFault::Cavitation => cav = f.severity,
            }
        }
        let flutter = cav * 0.06 * gaussian(rng);
        let flow =
            self.rated_flow * l * (1.0 - 0.25 * clog - 0.10 * cav + flutter) + 0.15 * gaussian(rng);
        let pressure =
            (1.0 + 3.0 * l * l) * (1.0 + 0.22 * clog - 0.12 * cav + flutter) + 0.03 * gaussian(rng);
        let current =
            2.0 + 8.0 * l.powi(3) * (1.0 - 0.12 * clog) + 0.45 * wear + 0.05 * gaussian(rng);
        let vibration = 1.2
            + 1.0 * l
            + 0.5 * wear
            + (0.06 + 0.35 * cav) * gaussian(rng).abs()
            + 0.02 * gaussian(rng);
        // The motor heats with its losses (current squared) and the bearing's friction,
        // cools towards the hall's air, which swings over the day.
        let phase = (ts_ms as f64 % DAY_MS) / DAY_MS * std::f64::consts::TAU;
        let ambient = 24.0 + 3.0 * phase.sin();
        let settled = ambient + 32.0 * (current / 10.0).powi(2) + 6.0 * wear;
        if self.temperature.is_nan() {
            self.temperature = settled;
        }
        self.temperature += (settled - self.temperature) * (1.0 - (-dt / 600.0).exp());
        let temperature = self.temperature + 0.08 * gaussian(rng);

        let values = [
            round_to(flow.max(0.0), 0.1),
            round_to(pressure.max(0.0), 0.1),
            round_to(current, 0.01),
            round_to(vibration.max(0.0), 0.001),
            round_to(temperature, 0.1),
        ];
        for (i, v) in values.into_iter().enumerate() {
            out.push(Reading {
                sensor: self.ids[i].clone(),
                ts_ms,
                value: v,
                unit: Some(self.units[i].clone()),
                quality: Quality::Good,
                labels: self.labels[i].clone(),
            });
        }
    }

    /// The process asks for a new load every so often (mean 20 min); the pump
    /// ramps there at ~2 % a second, as a drive's ramp would.
    fn move_load(&mut self, ts_ms: i64, dt: f64, rng: &mut fastrand::Rng) {
        if self.next_change_ms == i64::MIN {
            self.next_change_ms = ts_ms + next_change(rng);
        }
        if ts_ms >= self.next_change_ms {
            self.target = 0.55 + 0.45 * rng.f64();
            self.next_change_ms = ts_ms + next_change(rng);
        }
        let step = 0.02 * dt;
        self.load += (self.target - self.load).clamp(-step, step);
    }
}

fn next_change(rng: &mut fastrand::Rng) -> i64 {
    (-(1.0 - rng.f64()).ln() * 1_200_000.0).max(60_000.0) as i64
}

fn round_to(v: f64, step: f64) -> f64 {
    let r = (v / step).round() * step;
    // Printed as the transmitter would: no 0.30000000000000004.
    (r * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pump: &mut Pump, rng: &mut fastrand::Rng, from_s: i64, secs: i64) -> Vec<[f64; 5]> {
        let mut out = Vec::new();
        let mut rows = Vec::new();
        for s in from_s..from_s + secs {
            out.clear();
            pump.step(s * 1000, 1000, rng, &mut out);
            rows.push(std::array::from_fn(|i| out[i].value));
        }
        rows
    }

    fn mean(rows: &[[f64; 5]], ch: usize) -> f64 {
        rows.iter().map(|r| r[ch]).sum::<f64>() / rows.len() as f64
    }

    #[test]
    fn healthy_channels_follow_the_load_together() {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut p = Pump::new("plant1", 1, 1, &mut rng);
        let rows = run(&mut p, &mut rng, 0, 6 * 3600);
        // Flow and current rise and fall with the load: strongly correlated.
        let (mf, mc) = (mean(&rows, 0), mean(&rows, 2));
        let (mut sfc, mut sff, mut scc) = (0.0, 0.0, 0.0);
        for r in &rows {
            sfc += (r[0] - mf) * (r[2] - mc);
            sff += (r[0] - mf).powi(2);
            scc += (r[2] - mc).powi(2);
        }
        let corr = sfc / (sff * scc).sqrt();
        assert!(corr > 0.9, "flow-current correlation {corr}");
        for r in &rows {
            assert!((14.0..33.0).contains(&r[0]), "flow {}", r[0]);
            assert!((1.8..4.4).contains(&r[1]), "pressure {}", r[1]);
            // Quantised to 0.1 bar.
            assert!(((r[1] * 10.0).round() - r[1] * 10.0).abs() < 1e-9);
        }
    }

    #[test]
    fn a_clogging_filter_lowers_flow_and_raises_pressure_at_the_same_load() {
        let mut rng = fastrand::Rng::with_seed(5);
        let mut healthy = Pump::new("plant1", 1, 1, &mut rng);
        let mut faulty = Pump::new("plant1", 1, 1, &mut rng);
        for p in [&mut healthy, &mut faulty] {
            p.rated_flow = 30.0;
            p.load = 0.8;
            p.target = 0.8;
            p.next_change_ms = i64::MAX;
        }
        let mut truth = Vec::new();
        faulty.fault = Some(ActiveFault {
            kind: PumpFault::CloggedFilter,
            start_ms: 0,
            end_ms: 600_000,
            severity: 1.0,
        });
        let a = run(&mut healthy, &mut rng, 0, 600);
        let b = run(&mut faulty, &mut rng, 0, 600);
        assert!(mean(&b, 0) < mean(&a, 0) - 2.0);
        assert!(mean(&b, 1) > mean(&a, 1) + 0.2);
        assert!(mean(&b, 2) < mean(&a, 2));
        // The fault is over at its end.
        let c = run(&mut faulty, &mut rng, 600, 60);
        assert!((mean(&c, 0) - mean(&a, 0)).abs() < 1.0);
        truth.clear();
        faulty.start_fault(700_000, 60_000, &mut rng, &mut truth);
        assert_eq!(truth.len(), 5, "one ground-truth span per channel");
    }

    #[test]
    fn bearing_wear_raises_vibration_and_current_together() {
        let mut rng = fastrand::Rng::with_seed(9);
        let mut p = Pump::new("plant1", 1, 1, &mut rng);
        p.next_change_ms = i64::MAX;
        let before = run(&mut p, &mut rng, 0, 600);
        p.fault = Some(ActiveFault {
            kind: PumpFault::BearingWear,
            start_ms: 600_000,
            end_ms: 1_200_000,
            severity: 1.0,
        });
        let during = run(&mut p, &mut rng, 600, 600);
        assert!(mean(&during, 3) > mean(&before, 3) + 0.2);
        assert!(mean(&during, 2) > mean(&before, 2) + 0.2);
        assert!(
            (mean(&during, 0) - mean(&before, 0)).abs() < 0.5,
            "flow unchanged"
        );
    }
}
