//! `edgewatch eval`: replays a labelled simulator run (faults injected with their
//! ground truth) through rule sets, faster than real time, and scores each against
//! the faults: precision, recall, F1, detection delay, false alerts per sensor-day.
//!
//! Rule sets: the demo's thresholds (config/demo.toml), the statistical set
//! (config/eval-statistical.toml), and both together. ONNX models come with issue 5's
//! model files and are not scored yet.

use super::CommandError;
use crate::config::{Config, RuleConfig, SimulatorConfig};
use crate::detect::score::{score, Fired, Score};
use crate::detect::{AlertState, ThresholdRules};
use crate::sources::simulator::Plant;
use std::path::Path;
use std::time::Duration;

pub const STATISTICAL: &str = include_str!("../../config/eval-statistical.toml");

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

fn rules(text: &str) -> Result<Vec<RuleConfig>, CommandError> {
    Config::from_toml(text, Path::new("eval.toml"))
        .map(|c| c.rules)
        .map_err(|e| CommandError::Usage(e.to_string()))
}

/// Runs the evaluation; returns (rule set name, score) per set.
pub fn run(a: &EvalArgs) -> Result<Vec<(&'static str, Score)>, CommandError> {
    let threshold = rules(super::demo::DEMO_CONFIG)?;
    let statistical = rules(STATISTICAL)?;
    let both: Vec<RuleConfig> = threshold.iter().chain(&statistical).cloned().collect();
    let sets: Vec<(&'static str, Vec<RuleConfig>)> = vec![
        ("threshold (config/demo.toml)", threshold),
        ("statistical (config/eval-statistical.toml)", statistical),
        ("threshold + statistical", both),
    ];
    let mut detectors: Vec<ThresholdRules> = sets
        .iter()
        .map(|(_, r)| ThresholdRules::new(r).map_err(|e| CommandError::Usage(e.to_string())))
        .collect::<Result<_, _>>()?;
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
        for (d, out) in detectors.iter_mut().zip(fired.iter_mut()) {
            events.clear();
            for r in &readings {
                d.on_reading(r, &mut events);
            }
            d.on_tick(ts, &mut events);
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
    Ok(sets
        .iter()
        .zip(&fired)
        .map(|((name, _), f)| (*name, score(&all_faults, f, GRACE_MS, sensor_days)))
        .collect())
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
        let r = run(&a).unwrap();
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
            7,
            "sentence, blank, header, rule, three rows"
        );
    }
}
