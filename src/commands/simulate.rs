//! `edgewatch simulate --mqtt HOST:PORT`: publishes the simulated plant to a broker
//! as JSON readings, one topic per sensor, at a chosen rate.

use super::CommandError;
use crate::event::now_ms;
use crate::sources::simulator::Plant;
use crate::sources::simulator::SimulatorConfig;
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, QoS};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

pub struct SimulateArgs {
    pub mqtt: String,
    /// Messages per second, all sensors together.
    pub rate: f64,
    /// Stop after this many messages (runs until Ctrl-C otherwise).
    pub count: Option<u64>,
    pub qos: u8,
    pub plant: SimulatorConfig,
}

pub async fn run(a: SimulateArgs, shutdown: CancellationToken) -> Result<u64, CommandError> {
    let (host, port) = a
        .mqtt
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_owned(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| {
            CommandError::Usage(format!(
                "--mqtt `{}`: write HOST:PORT, e.g. 127.0.0.1:1883",
                a.mqtt
            ))
        })?;
    if a.rate <= 0.0 || !a.rate.is_finite() {
        return Err(CommandError::Usage(
            "--rate must be above zero (messages per second)".into(),
        ));
    }
    let qos = match a.qos {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        q => return Err(CommandError::Usage(format!("--qos {q}: use 0 or 1"))),
    };
    let mut opts = MqttOptions::new(format!("edgewatch-sim-{}", std::process::id()), host, port);
    opts.set_keep_alive(Duration::from_secs(30))
        .set_inflight(1000);
    let (client, mut events) = AsyncClient::new(opts, 4096);
    let mut plant = Plant::new(&a.plant);
    let per_step = plant.sensor_count() as f64;
    let step = Duration::from_secs_f64(per_step / a.rate);
    let limit = a.count.unwrap_or(u64::MAX);

    let publisher = {
        let client = client.clone();
        let shutdown = shutdown.clone();
        async move {
            let mut sent = 0u64;
            let (mut readings, mut faults) = (Vec::new(), Vec::new());
            let mut tick = tokio::time::interval(step);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut last = now_ms();
            'outer: loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let now = now_ms();
                readings.clear();
                plant.step(now, (now - last).max(1), &mut readings, &mut faults);
                last = now;
                for r in &readings {
                    if sent >= limit {
                        break 'outer;
                    }
                    let payload = serde_json::json!({
                        "sensor_id": &*r.sensor,
                        "value": r.value,
                        "unit": r.unit.as_deref(),
                        "ts": r.ts_ms,
                    });
                    if client
                        .publish(&*r.sensor, qos, false, payload.to_string())
                        .await
                        .is_err()
                    {
                        break 'outer;
                    }
                    sent += 1;
                }
            }
            let _ = client.disconnect().await;
            sent
        }
    };
    let started = Instant::now();
    let driver = async {
        loop {
            match events.poll().await {
                Ok(Event::Outgoing(Outgoing::Disconnect)) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(CommandError::Unreachable(format!("broker {}: {e}", a.mqtt))),
            }
        }
    };
    let (sent, driven) = tokio::join!(publisher, driver);
    driven?;
    tracing::info!(
        sent,
        secs = started.elapsed().as_secs_f64(),
        "simulation published"
    );
    Ok(sent)
}

/// `edgewatch simulate --csv PATH --hours H`: the simulated plant, faster than real
/// time, as CSV (`ts_ms,sensor,value,fault`), one sample per sensor per second. The
/// `fault` column names the injected fault active on that sensor (empty when
/// healthy): training data for models/ and ground truth to check them against.
pub fn write_csv(
    plant: &crate::sources::simulator::SimulatorConfig,
    hours: f64,
    out: &mut dyn std::io::Write,
) -> std::io::Result<u64> {
    const START_MS: i64 = 1_763_683_200_000; // 2025-11-21T00:00Z, as eval uses
    let mut plant = Plant::new(plant);
    let (mut readings, mut faults) = (Vec::new(), Vec::new());
    let mut active: std::collections::HashMap<std::sync::Arc<str>, crate::event::SimFault> =
        Default::default();
    let mut rows = 0u64;
    writeln!(out, "ts_ms,sensor,value,fault")?;
    for step in 0..(hours * 3600.0) as i64 {
        let ts = START_MS + step * 1000;
        readings.clear();
        faults.clear();
        plant.step(ts, 1000, &mut readings, &mut faults);
        for f in faults.drain(..) {
            active.insert(f.sensor.clone(), f);
        }
        for r in &readings {
            let fault = active
                .get(&r.sensor)
                .filter(|f| ts >= f.start_ms && ts <= f.end_ms)
                .map_or("", |f| f.kind);
            writeln!(out, "{},{},{},{}", r.ts_ms, r.sensor, r.value, fault)?;
            rows += 1;
        }
    }
    out.flush()?;
    Ok(rows)
}
