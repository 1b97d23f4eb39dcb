//! `edgewatch eval`: replays a labelled simulator run (faults injected with their
//! ground truth) through detector sets, faster than real time, and scores each
//! against the faults: precision, recall, F1, detection delay, false alerts per
//! sensor-day.
//!
//! Sets: the demo's thresholds (config/demo.toml), the statistical set
//! (config/eval-statistical.toml), the ONNX model (config/eval-onnx.toml, when the
//! model and ONNX Runtime are installed), and combinations.

use super::CommandError;
use crate::config::Config;
use crate::detect::onnx::OnnxDetector;
use crate::detect::score::{score, Fired, Score};
use crate::detect::{Detector, RuleConfig, ThresholdRules};
use crate::event::Reading;
use crate::event::{AlertEvent, AlertState};
use crate::sources::simulator::Plant;
use crate::sources::simulator::SimulatorConfig;
use std::path::Path;
use std::time::Duration;

pub const STATISTICAL: &str = include_str!("../../config/eval-statistical.toml");
pub const ONNX: &str = include_str!("../../config/eval-onnx.toml");

pub struct EvalArgs {
    pub hours: f64,
    pub seed: u64,
    pub lines: u32,
    pub machines_per_line: u32,
    pub fault_rate: f64,
    pub fault_duration: Duration,
}

/// Alerts matching a fault up to this long after it ended still count as true.
const GRACE_MS: i64 = 30_000;

fn parse(text: &str) -> Result<Config, CommandError> {
    Config::from_toml(text, Path::new("eval.toml")).map_err(|e| CommandError::Usage(e.to_string()))
}

/// One detector set: threshold-style rules, and ONNX models (scored inline, in
/// the plant's time) when `onnx` names their directory.
struct Set {
    name: &'static str,
    rules: ThresholdRules,
    onnx: Option<OnnxDetector>,
}

impl Set {
    fn new(name: &'static str, texts: &[&str], onnx: Option<&Path>) -> Result<Set, CommandError> {
        let mut rules = Vec::new();
        let mut anomaly_models = Vec::new();
        for t in texts {
            let c = parse(t)?;
            // Sets share the staleness rule: keep one of each name.
            for r in c.rules {
                if !rules.iter().any(|x: &RuleConfig| x.name == r.name) {
                    rules.push(r);
                }
            }
            if onnx.is_some() {
                anomaly_models.extend(c.anomaly_models);
            }
        }
        let mut c = parse("")?;
        c.rules = rules;
        c.anomaly_models = anomaly_models;
        if let Some(dir) = onnx {
            c.onnx.models_dir = dir.to_owned();
        }
        let usage = |e: &dyn std::fmt::Display| CommandError::Usage(e.to_string());
        Ok(Set {
            name,
            rules: ThresholdRules::new(&c.rules).map_err(|e| usage(&e))?,
            onnx: OnnxDetector::inline(&c.onnx, &c.anomaly_models).map_err(|e| usage(&e))?,
        })
    }

    /// One step of the plant: readings, clock, then the windows it completed.
    fn step(
        &mut self,
        readings: &[Reading],
        ts: i64,
        events: &mut Vec<AlertEvent>,
    ) -> Result<(), CommandError> {
        for r in readings {
            self.rules.on_reading(r, events);
        }
        self.rules.on_tick(ts, events);
        if let Some(onnx) = &mut self.onnx {
            for r in readings {
                onnx.on_reading(r, events);
            }
            onnx.end_batch(events);
            if let Some(e) = onnx.take_error() {
                return Err(CommandError::Usage(e.to_string()));
            }
        }
        Ok(())
    }
}

/// Scores per detector set, and why the ONNX sets are missing, if they are.
pub struct EvalResult {
    pub scores: Vec<(&'static str, Score)>,
    pub onnx_missing: Option<String>,
}

/// Runs the evaluation. ONNX sets are left out, with the reason, when the model or
/// runtime is missing.
pub fn run(a: &EvalArgs) -> Result<EvalResult, CommandError> {
    let demo = super::demo::DEMO_CONFIG;
    let mut sets = vec![
        Set::new("threshold (config/demo.toml)", &[demo], None)?,
        Set::new(
            "statistical (config/eval-statistical.toml)",
            &[STATISTICAL],
            None,
        )?,
        Set::new("threshold + statistical", &[demo, STATISTICAL], None)?,
    ];
    let models_dir = crate::ml::find_models_dir("motor-anomaly.toml");
    let onnx_missing = match &models_dir {
        None => Some("ONNX model not scored: models/motor-anomaly.toml not found".to_owned()),
        Some(dir) => match Set::new(
            "ONNX motor-anomaly + staleness (config/eval-onnx.toml)",
            &[ONNX],
            Some(dir),
        ) {
            Ok(set) => {
                sets.push(set);
                sets.push(Set::new(
                    "statistical + ONNX",
                    &[STATISTICAL, ONNX],
                    Some(dir),
                )?);
                None
            }
            Err(e) => Some(format!("ONNX model not scored: {e}")),
        },
    };
    let mut fired: Vec<Vec<Fired>> = vec![Vec::new(); sets.len()];
    let plant_cfg = SimulatorConfig {
        lines: a.lines,
        machines_per_line: a.machines_per_line,
        fault_rate: a.fault_rate,
        fault_duration: a.fault_duration,
        seed: Some(a.seed),
        ..Default::default()
    };
    let mut plant = Plant::new(&plant_cfg);
    let sensors = plant.sensor_count();
    let start_ms: i64 = 1_763_683_200_000; // 2025-11-21T00:00Z: any fixed start works
    let steps = (a.hours * 3600.0) as i64;
    let (mut readings, mut faults, mut all_faults) = (Vec::new(), Vec::new(), Vec::new());
    let mut events = Vec::new();
    for step in 0..steps {
        let ts = start_ms + step * 1000;
        readings.clear();
        faults.clear();
        plant.step(ts, 1000, &mut readings, &mut faults);
        all_faults.extend(faults.iter().cloned());
        for (set, out) in sets.iter_mut().zip(fired.iter_mut()) {
            events.clear();
            set.step(&readings, ts, &mut events)?;
            out.extend(
                events
                    .iter()
                    .filter(|e| e.state == AlertState::Firing)
                    .map(|e| Fired {
                        sensor: e.sensor.to_string(),
                        ms: e.fired_ms,
                    }),
            );
        }
    }
    let sensor_days = sensors as f64 * a.hours / 24.0;
    let scores = sets
        .iter()
        .zip(&fired)
        .map(|(set, f)| (set.name, score(&all_faults, f, GRACE_MS, sensor_days)))
        .collect();
    Ok(EvalResult {
        scores,
        onnx_missing,
    })
}

/// The results as a Markdown table.
pub fn table(a: &EvalArgs, results: &[(&str, Score)]) -> String {
    let mut out = format!(
        "Simulated {} h, {} machines x 3 sensors, seed {}, {} faults per machine-hour of ~{}; \
         alerts count as true up to {} s after their fault ended.\n\n\
         | detector | alerts | faults detected | precision | recall | F1 | mean delay | false alerts per sensor-day |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        a.hours,
        a.lines * a.machines_per_line,
        a.seed,
        a.fault_rate,
        humantime::format_duration(a.fault_duration),
        GRACE_MS / 1000
    );
    for (name, s) in results {
        out.push_str(&format!(
            "| {name} | {} | {}/{} | {:.3} | {:.3} | {:.3} | {:.1} s | {:.2} |\n",
            s.alerts,
            s.detected,
            s.faults,
            s.precision,
            s.recall,
            s.f1,
            s.mean_delay_s,
            s.false_per_sensor_day
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistical_rules_catch_injected_faults_that_thresholds_miss() {
        let a = EvalArgs {
            hours: 4.0,
            seed: 11,
            lines: 2,
            machines_per_line: 3,
            fault_rate: 2.0,
            fault_duration: Duration::from_secs(120),
        };
        let r = run(&a).unwrap().scores;
        let (threshold, statistical) = (&r[0].1, &r[1].1);
        assert!(statistical.faults > 20, "{statistical:?}");
        assert!(
            statistical.recall >= 0.85 && statistical.precision >= 0.9,
            "{statistical:?}"
        );
        assert!(
            statistical.f1 > threshold.f1 + 0.1,
            "{threshold:?} vs {statistical:?}"
        );
        assert!(statistical.false_per_sensor_day <= 1.0, "{statistical:?}");
        assert_eq!(
            table(&a, &r).lines().count(),
            4 + r.len(),
            "sentence, blank, header, rule, one row per set"
        );
    }
}
