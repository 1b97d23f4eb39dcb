//! `edgewatch demo`: the simulated plant through the real pipeline into a local
//! state dir, with alerts shown live and a one-line status every few seconds.

use super::{paint, CommandError};
use crate::config::Config;
use crate::daemon::{self, Hooks};
use crate::event::format_ts;
use crate::event::{AlertEvent, AlertState};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::{broadcast, oneshot};
use tokio_util::sync::CancellationToken;

/// The demo's config ships inside the binary so the demo needs no files.
pub const DEMO_CONFIG: &str = include_str!("../../config/demo.toml");

pub struct DemoArgs {
    pub dir: PathBuf,
    pub listen: String,
    /// Stop by itself after this long (for scripted runs); Ctrl-C otherwise.
    pub duration: Option<Duration>,
}

pub fn config(args: &DemoArgs) -> Result<Config, CommandError> {
    let mut c = Config::from_toml(DEMO_CONFIG, Path::new("config/demo.toml"))?;
    c.gateway.state_dir = args.dir.clone();
    c.api.listen = args.listen.clone();
    if let Some(dir) = crate::ml::find_models_dir("motor-anomaly.toml") {
        c.onnx.models_dir = dir;
    }
    if let Some(dir) = crate::ml::find_models_dir("all-minilm-l6-v2/config.json") {
        c.knowledge.models_dir = dir;
    }
    Ok(c)
}

pub async fn run(args: DemoArgs) -> Result<(), CommandError> {
    let config = config(&args)?;
    let shutdown = CancellationToken::new();
    let (started_tx, started_rx) = oneshot::channel();
    let (alerts_tx, alerts_rx) = oneshot::channel();
    let daemon = tokio::spawn(daemon::run(
        config,
        shutdown.clone(),
        Hooks {
            started: Some(started_tx),
            alerts: Some(alerts_tx),
        },
    ));
    let (Ok(started), Ok(mut alerts)) = (started_rx.await, alerts_rx.await) else {
        return match daemon.await {
            Ok(Err(e)) => Err(e.into()),
            _ => Err(CommandError::Usage(
                "the demo daemon stopped during start-up".into(),
            )),
        };
    };
    println!(
        "edgewatch demo: a simulated plant (2 lines x 3 motors: temperature, vibration, pressure) with injected faults"
    );
    println!("state:  {}", started.state_dir.display());
    if let Some(addr) = started.api {
        println!("API:    http://{addr}/api/v1/alerts   http://{addr}/api/v1/status   http://{addr}/metrics");
    }
    println!(
        "alerts: `edgewatch alerts --state-dir {}`. Ctrl-C stops.\n",
        started.state_dir.display()
    );

    let stop_after = async {
        match args.duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stop_after);
    let mut status = tokio::time::interval(Duration::from_secs(5));
    status.tick().await;
    let m = started.metrics;
    loop {
        tokio::select! {
            _ = daemon::shutdown_signal() => break,
            _ = &mut stop_after => break,
            e = alerts.recv() => match e {
                Ok(e) => println!("{}", line(&e)),
                Err(broadcast::error::RecvError::Lagged(n)) => println!("({n} alert events not shown; all are in the store)"),
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = status.tick() => println!(
                "{}",
                paint("2", &format!(
                    "-- {} readings ({}/s), {} alerts firing, {} journaled, commit p99 {:.1} ms",
                    m.readings_in.get(),
                    m.readings_per_s.get(),
                    m.alerts_firing.get(),
                    m.journal_rows.get(),
                    m.commit_latency_us.summary().3 as f64 / 1000.0,
                ))
            ),
        }
    }
    println!("stopping: committing what was accepted ...");
    shutdown.cancel();
    match daemon.await {
        Ok(r) => r?,
        Err(e) => return Err(CommandError::Usage(format!("demo task failed: {e}"))),
    }
    println!("stopped cleanly; the store stays in {}", args.dir.display());
    Ok(())
}

fn line(e: &AlertEvent) -> String {
    let time = format_ts(e.event_ms);
    let time = time.get(11..19).unwrap_or(&time);
    match e.state {
        AlertState::Firing => {
            let colour = match e.severity {
                crate::event::Severity::Critical => "1;31",
                crate::event::Severity::Warning => "33",
                crate::event::Severity::Info => "36",
            };
            format!(
                "{time} {} {:<8} {}  [{}]",
                paint(colour, "FIRING  "),
                e.severity.as_str(),
                e.message,
                e.id
            )
        }
        AlertState::Resolved => format!(
            "{time} {} {:<8} {}  [{}]",
            paint("32", "RESOLVED"),
            e.severity.as_str(),
            e.message,
            e.id
        ),
    }
}
