//! Modbus polling against edgewatch's simulator server (Modbus TCP on loopback):
//! points per second and client CPU per 1,000 points, coalesced reads versus one
//! request per point (`max-per-request = 1`). The server runs on its own runtime;
//! the client runs alone on one thread, whose CPU time is what is reported.
//!
//! cargo bench --bench modbus

mod common;

use edgewatch::commands::modbus_sim;
use edgewatch::config::Config;
use edgewatch::metrics::Metrics;
use edgewatch::sources::simulator::SimulatorConfig;
use edgewatch::sources::{IngestBatch, Source};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const UNITS: u32 = 240;
const RUN: Duration = Duration::from_secs(5);

/// CPU seconds of the calling thread.
fn thread_cpu() -> f64 {
    common::cpu_seconds("thread-self")
}

fn config(port: u16, max_per_request: u16) -> Config {
    let mut devices = String::new();
    for u in 1..=UNITS {
        devices.push_str(&format!(
            "{{ name = \"u{u}\", unit = {u}, map = \"sim-motor\", interval = \"10ms\" }},\n"
        ));
    }
    let text = format!(
        "[gateway]\nid = \"bench\"\n\
         [modbus-maps.sim-motor]\npoints = [\n\
           {{ name = \"temperature\", table = \"holding\", address = 0, type = \"f32\" }},\n\
           {{ name = \"vibration\", table = \"holding\", address = 2, type = \"f32\", order = \"cdab\" }},\n\
           {{ name = \"pressure\", table = \"holding\", address = 4, scale = 0.01 }},\n\
           {{ name = \"fault\", table = \"holding\", address = 5, type = \"bit\" }},\n\
           {{ name = \"samples\", table = \"input\", address = 0, type = \"u64\" }},\n\
           {{ name = \"running\", table = \"coil\", address = 0, type = \"bool\" }},\n]\n\
         [[sources.modbus]]\nname = \"sim\"\ntcp = \"127.0.0.1:{port}\"\nmax-per-request = {max_per_request}\n\
         devices = [\n{devices}]\n"
    );
    Config::from_toml(&text, Path::new("bench.toml")).unwrap()
}

/// Polls for RUN on a current-thread runtime; (points/s, CPU-s per 1000 points).
fn poll(port: u16, max_per_request: u16) -> (f64, f64) {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let c = config(port, max_per_request);
            let metrics = Metrics::default();
            let cx = edgewatch::sources::kind::Context {
                gateway: &c.gateway.id,
                modbus_maps: &c.modbus_maps,
                metrics: &metrics,
            };
            let mut sources = Source::build_all(&c.sources, &cx).unwrap();
            let (tx, mut rx) = mpsc::channel::<IngestBatch>(1024);
            let stop = CancellationToken::new();
            let task = tokio::spawn(sources.remove(0).run(tx, stop.clone()));
            // Warm up: connected and every device read once.
            tokio::time::sleep(Duration::from_millis(500)).await;
            while rx.try_recv().is_ok() {}
            let (cpu0, t0) = (thread_cpu(), Instant::now());
            let mut points = 0u64;
            while t0.elapsed() < RUN {
                if let Ok(Some(b)) =
                    tokio::time::timeout(Duration::from_millis(100), rx.recv()).await
                {
                    // Leave out the per-device `up` reading: count register points.
                    points += b
                        .readings
                        .iter()
                        .filter(|r| !r.sensor.ends_with("/up"))
                        .count() as u64;
                }
            }
            let (cpu, secs) = (thread_cpu() - cpu0, t0.elapsed().as_secs_f64());
            stop.cancel();
            let _ = task.await;
            (points as f64 / secs, cpu / points as f64 * 1000.0)
        })
    })
    .join()
    .unwrap()
}

fn main() {
    println!(
        "modbus bench: {UNITS} units x 6 points, {RUN:?} per run; {}",
        common::machine()
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stop = CancellationToken::new();
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
    let plant = SimulatorConfig {
        lines: UNITS / 6,
        machines_per_line: 6,
        interval: Duration::from_millis(100),
        ..Default::default()
    };
    rt.spawn(modbus_sim::serve(
        "127.0.0.1:0",
        plant,
        stop.clone(),
        Some(bound_tx),
    ));
    let port = rt.block_on(bound_rx).unwrap().port();
    for (label, max) in [
        ("coalesced (3 requests per poll)", 2000),
        ("one request per point (6 per poll)", 1),
    ] {
        let (rate, cpu) = poll(port, max);
        println!("{label:<36} {rate:>9.0} points/s  {cpu:.4} client CPU-s per 1000 points");
    }
    stop.cancel();
}
