//! Pipeline alone: simulator -> detect -> aggregate -> journal, readings per second,
//! each stage beside a baseline measured in the same run.
//!
//! cargo bench --bench pipeline

mod common;

use edgewatch::config::Config;
use edgewatch::event::Reading;
use edgewatch::metrics::Metrics;
use edgewatch::pipeline::Pipeline;
use edgewatch::sources::simulator::Plant;
use edgewatch::sources::simulator::SimulatorConfig;
use edgewatch::sources::IngestBatch;
use edgewatch::store::{self, WriteBatch, WriteOp, Writer};
use edgewatch::store::{StoreConfig, Synchronous};
use std::sync::Arc;
use std::time::Instant;

const STEPS: i64 = 4000;

fn plant() -> Plant {
    Plant::new(&SimulatorConfig {
        lines: 10,
        machines_per_line: 10,
        fault_rate: 2.0,
        seed: Some(1),
        ..Default::default()
    })
}

/// 300 sensors x 4000 one-second steps = 1.2 M readings, grouped per step.
fn generate() -> Vec<Vec<Reading>> {
    let mut p = plant();
    let mut faults = Vec::new();
    (0..STEPS)
        .map(|i| {
            let mut out = Vec::with_capacity(p.sensor_count());
            p.step(1_700_000_000_000 + i * 1000, 1000, &mut out, &mut faults);
            out
        })
        .collect()
}

fn config() -> Config {
    let demo = edgewatch::commands::demo::DEMO_CONFIG;
    let mut c = Config::from_toml(demo, std::path::Path::new("demo.toml")).unwrap();
    c.aggregate.window = std::time::Duration::from_secs(60);
    // The ONNX model has its own bench (benches/onnx.rs).
    c.anomaly_models.clear();
    c
}

fn rate(n: usize, secs: f64) -> String {
    format!("{:>12.0} readings/s", n as f64 / secs)
}

fn main() {
    println!("edgewatch pipeline bench on {}", common::machine());
    let total = (STEPS as usize) * plant().sensor_count();

    // Baseline 1: producing the readings at all.
    let t = Instant::now();
    let steps = generate();
    let gen_s = t.elapsed().as_secs_f64();
    println!(
        "baseline  simulator generation            {}  ({total} readings)",
        rate(total, gen_s)
    );

    // Stage: MQTT payload decoding (the default JSON shape), no broker.
    let payloads: Vec<String> = steps
        .iter()
        .flatten()
        .take(300_000)
        .map(|r| {
            format!(
                r#"{{"sensor_id":"{}","value":{},"unit":"C","status":"normal"}}"#,
                r.sensor, r.value
            )
        })
        .collect();
    let sub = edgewatch::sources::subscription::SubscriptionConfig {
        topic: "plant1/#".into(),
        qos: 1,
        format: Default::default(),
        sensor_id: None,
        sensor_id_field: "sensor_id".into(),
        value_field: "value".into(),
        timestamp_field: "ts".into(),
        unit_field: "unit".into(),
        status_field: "status".into(),
        unit: None,
        fields: Vec::new(),
        labels: Default::default(),
    };
    let decoder = edgewatch::sources::payload::Decoder::new(&sub, 1 << 20, 16);
    let t = Instant::now();
    let (mut out, mut rejected) = (Vec::with_capacity(1), Vec::new());
    for p in &payloads {
        out.clear();
        decoder.decode("plant1/x", p.as_bytes(), 0, &mut out, &mut rejected);
    }
    assert!(rejected.is_empty());
    println!(
        "stage     decode JSON payloads             {}",
        rate(payloads.len(), t.elapsed().as_secs_f64())
    );

    // Stage: detectors + aggregator, no store.
    let cfg = config();
    let mut p = Pipeline::new(&cfg, Arc::new(Metrics::default())).unwrap();
    let t = Instant::now();
    let mut alerts = 0;
    let mut aggregates = 0;
    for (i, s) in steps.iter().enumerate() {
        let mut batch = WriteBatch::default();
        p.process(IngestBatch::readings(s.clone()), &mut batch);
        if i % 10 == 0 {
            p.tick(1_700_000_000_000 + i as i64 * 1000, &mut batch);
        }
        alerts += batch.alerts.len();
        aggregates += batch.aggregates.len();
    }
    let detect_s = t.elapsed().as_secs_f64();
    println!("stage     detect + aggregate               {}  ({alerts} alert events, {aggregates} windows)", rate(total, detect_s));

    // Baseline 2: SQLite alone, the same rows inserted with one prepared statement.
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("raw.db")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.execute_batch("CREATE TABLE j (id INTEGER PRIMARY KEY, sensor INTEGER, ts INTEGER, value REAL, quality INTEGER); CREATE INDEX j_ts ON j(ts);").unwrap();
    let t = Instant::now();
    for chunk in steps.chunks(27) {
        let tx = conn.unchecked_transaction().unwrap();
        {
            let mut st = tx
                .prepare_cached("INSERT INTO j(sensor, ts, value, quality) VALUES (?1, ?2, ?3, 0)")
                .unwrap();
            for s in chunk {
                for (k, r) in s.iter().enumerate() {
                    st.execute(rusqlite::params![k as i64, r.ts_ms, r.value])
                        .unwrap();
                }
            }
        }
        tx.commit().unwrap();
    }
    let raw_s = t.elapsed().as_secs_f64();
    println!(
        "baseline  raw SQLite insert (8k-row txns)  {}",
        rate(total, raw_s)
    );

    // Full pipeline: detect + aggregate here, journal on the writer thread.
    for sync in [Synchronous::Normal, Synchronous::Full] {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Arc::new(Metrics::default());
        let store_cfg = StoreConfig {
            synchronous: sync,
            ..Default::default()
        };
        let writer =
            Writer::spawn(&store::db_path(dir.path()), &store_cfg, metrics.clone()).unwrap();
        let mut p = Pipeline::new(&cfg, metrics.clone()).unwrap();
        let cpu0 = common::cpu_seconds("self");
        let t = Instant::now();
        let mut batch = WriteBatch::default();
        for (i, s) in steps.iter().enumerate() {
            p.process(IngestBatch::readings(s.clone()), &mut batch);
            if i % 10 == 0 {
                p.tick(1_700_000_000_000 + i as i64 * 1000, &mut batch);
            }
            if batch.readings.len() >= 8192 {
                writer
                    .tx
                    .blocking_send(WriteOp::Batch(std::mem::take(&mut batch)))
                    .unwrap();
            }
        }
        writer.tx.blocking_send(WriteOp::Batch(batch)).unwrap();
        writer.join().unwrap();
        let full_s = t.elapsed().as_secs_f64();
        let cpu = common::cpu_seconds("self") - cpu0;
        println!(
            "pipeline  full, synchronous={:<6}          {}  ({:.2} CPU-s per 100k readings, commit p99 {:.1} ms)",
            format!("{sync:?}").to_lowercase(),
            rate(total, full_s),
            cpu * 100_000.0 / total as f64,
            metrics.commit_latency_us.summary().3 as f64 / 1000.0
        );
    }
    println!(
        "peak RSS of the bench process: {:.1} MiB",
        common::peak_rss_mib("self")
    );
}
