//! The shipped ONNX model (models/motor-anomaly.onnx) through ONNX Runtime:
//! inferences per second and latency percentiles at batch 1 and batched, and the
//! CPU cost per 1,000 readings of the detector (windows + inference) beside the
//! threshold and statistical rules alone, measured in the same run.
//!
//! ./scripts/fetch-models.sh && cargo bench --bench onnx

mod common;

use edgewatch::commands::eval::{ONNX, STATISTICAL};
use edgewatch::config::Config;
use edgewatch::detect::anomaly::WindowJob;
use edgewatch::detect::anomaly_load;
use edgewatch::detect::inference::score_jobs;
use edgewatch::detect::onnx::OnnxDetector;
use edgewatch::detect::{Detector, ThresholdRules};
use edgewatch::event::Reading;
use edgewatch::sources::simulator::Plant;
use edgewatch::sources::simulator::SimulatorConfig;
use hdrhistogram::Histogram;
use std::path::Path;
use std::time::Instant;

const STEPS: i64 = 3600;

/// 100 motors x 3 sensors, one hour at 1 s.
fn readings() -> Vec<Vec<Reading>> {
    let mut p = Plant::new(&SimulatorConfig {
        lines: 10,
        machines_per_line: 10,
        fault_rate: 2.0,
        seed: Some(3),
        ..Default::default()
    });
    let mut faults = Vec::new();
    (0..STEPS)
        .map(|i| {
            let mut out = Vec::new();
            p.step(1_700_000_000_000 + i * 1000, 1000, &mut out, &mut faults);
            out
        })
        .collect()
}

fn config(texts: &[&str]) -> Config {
    let mut c = Config::from_toml("", Path::new("bench.toml")).unwrap();
    for t in texts {
        let part = Config::from_toml(t, Path::new("bench.toml")).unwrap();
        c.rules
            .extend(part.rules.into_iter().filter(|r| r.name != "silent"));
        c.anomaly_models.extend(part.anomaly_models);
    }
    c.onnx.models_dir =
        edgewatch::ml::find_models_dir("motor-anomaly.toml").expect("models/ not found");
    c
}

fn main() {
    println!("edgewatch ONNX bench on {}", common::machine());
    let steps = readings();
    let total: usize = steps.iter().map(Vec::len).sum();

    // Windows the detector makes from the plant, for the inference runs.
    let c = config(&[ONNX]);
    let mut loaded =
        anomaly_load::load(&c.onnx, &c.anomaly_models).expect("run scripts/fetch-models.sh");
    let mut windows: Vec<WindowJob> = Vec::new();
    for step in &steps {
        for r in step {
            loaded.detectors.on_reading(r, &mut windows);
        }
    }
    println!(
        "model motor-anomaly ({} bytes), {} windows of 30 x 3 from {} readings\n",
        std::fs::metadata(loaded.models[0].manifest.model_path()).map_or(0, |m| m.len()),
        windows.len(),
        total
    );
    println!("| batch | windows/s | runs/s | p50 per run | p99 per run | max per run |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for batch in [1usize, 8, 64, 256] {
        let mut h = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3).unwrap();
        let n = windows.len().div_ceil(batch);
        let t = Instant::now();
        for chunk in windows.chunks(batch).take(n) {
            let start = Instant::now();
            let (scored, errors) = score_jobs(&mut loaded.models, chunk);
            assert!(errors.is_empty() && scored.len() == chunk.len());
            h.record(start.elapsed().as_micros().max(1) as u64).unwrap();
        }
        let secs = t.elapsed().as_secs_f64();
        let runs = h.len() as f64;
        println!(
            "| {batch} | {:.0} | {:.0} | {} µs | {} µs | {} µs |",
            runs * batch as f64 / secs,
            runs / secs,
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.max()
        );
    }

    // CPU per 1,000 readings: rules alone, then rules + the model (windows built
    // and scored inline, batched per step as the inference thread would).
    println!("\n| detectors | CPU per 1,000 readings | readings/s |");
    println!("| --- | ---: | ---: |");
    for (name, texts) in [
        ("statistical rules (baseline)", vec![STATISTICAL]),
        ("statistical rules + ONNX model", vec![STATISTICAL, ONNX]),
        ("ONNX model alone", vec![ONNX]),
    ] {
        let c = config(&texts);
        let mut rules = ThresholdRules::new(&c.rules).unwrap();
        let mut onnx = OnnxDetector::inline(&c.onnx, &c.anomaly_models).unwrap();
        let mut events = Vec::new();
        let cpu = common::cpu_seconds("self");
        let t = Instant::now();
        for (i, step) in steps.iter().enumerate() {
            for r in step {
                rules.on_reading(r, &mut events);
                if let Some(onnx) = &mut onnx {
                    onnx.on_reading(r, &mut events);
                }
            }
            rules.on_tick(1_700_000_000_000 + i as i64 * 1000, &mut events);
            if let Some(onnx) = &mut onnx {
                onnx.end_batch(&mut events);
            }
            events.clear();
        }
        let wall = t.elapsed().as_secs_f64();
        let cpu = common::cpu_seconds("self") - cpu;
        println!(
            "| {name} | {:.1} µs CPU ({:.1} µs wall) | {:.0} |",
            cpu / total as f64 * 1e9,
            wall / total as f64 * 1e9,
            total as f64 / wall
        );
    }
}
