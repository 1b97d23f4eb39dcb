//! systemd service integration: READY once everything is up, a live STATUS line,
//! WATCHDOG pings only while the pipeline and the store writer make progress, and
//! STOPPING on shutdown. Every call is a no-op when `NOTIFY_SOCKET` is unset.

use crate::event::now_ms;
use crate::metrics::Metrics;
use crate::store::WriteOp;
use sd_notify::NotifyState;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// How often STATUS= is refreshed.
const STATUS_EVERY: Duration = Duration::from_secs(5);

fn notify(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}

pub fn ready(m: &Metrics) {
    notify(&[NotifyState::Ready, NotifyState::Status(&status_line(m))]);
}

pub fn reloading() {
    notify(&[
        NotifyState::Reloading,
        NotifyState::Status("reloading configuration"),
    ]);
}

pub fn stopping() {
    notify(&[
        NotifyState::Stopping,
        NotifyState::Status("stopping: committing accepted data"),
    ]);
}

/// The one-line summary `systemctl status` shows.
pub fn status_line(m: &Metrics) -> String {
    let outbox: i64 = m.sinks().iter().map(|s| s.queue_items.get()).sum();
    format!(
        "{} readings/s, {} alerts firing, {} journaled, writer queue {}, outbox {}",
        m.readings_per_s.get(),
        m.alerts_firing.get(),
        m.journal_rows.get(),
        m.writer_queue.get(),
        outbox
    )
}

/// Refreshes STATUS= until shutdown.
pub async fn report_status(m: Arc<Metrics>, shutdown: CancellationToken) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(STATUS_EVERY) => notify(&[NotifyState::Status(&status_line(&m))]),
        }
    }
}

/// Pings the watchdog at half of `WATCHDOG_USEC`, but only when a probe shows the
/// daemon is alive end to end: the pipeline ticked recently and the store writer
/// answered a flush queued behind all pending work. A wedged writer or pipeline
/// therefore stops the pings and systemd restarts the service.
pub async fn watchdog(m: Arc<Metrics>, writer: mpsc::Sender<WriteOp>, shutdown: CancellationToken) {
    let Some(period) = sd_notify::watchdog_enabled() else {
        return;
    };
    let every = period / 2;
    let mut withheld = false;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let alive = probe(&m, &writer, period, every).await.is_ok();
        if alive {
            notify(&[NotifyState::Watchdog]);
            if withheld {
                tracing::info!("progress again; watchdog pings resumed");
            }
        } else if !withheld {
            tracing::error!(
                "pipeline or store writer not making progress; withholding watchdog pings"
            );
        }
        withheld = !alive;
    }
}

/// The progress probe the watchdog and `/healthz` share: the pipeline ticked
/// within `stale_after` (plus its one-second tick) and the store writer answered
/// a flush queued behind all pending work within `answer_within`. Says which part
/// is stuck.
pub async fn probe(
    m: &Metrics,
    writer: &mpsc::Sender<WriteOp>,
    stale_after: Duration,
    answer_within: Duration,
) -> Result<(), &'static str> {
    if !pipeline_ticking(m, stale_after) {
        return Err("the pipeline has not ticked");
    }
    if !writer_answers(writer, answer_within).await {
        return Err("the store writer does not answer");
    }
    Ok(())
}

fn pipeline_ticking(m: &Metrics, period: Duration) -> bool {
    // The pipeline ticks every second; allow the watchdog period plus that.
    now_ms() - m.pipeline_heartbeat_ms.get() <= period.as_millis() as i64 + 1000
}

async fn writer_answers(writer: &mpsc::Sender<WriteOp>, within: Duration) -> bool {
    let (tx, rx) = oneshot::channel();
    let probe = async { writer.send(WriteOp::Flush(tx)).await.is_ok() && rx.await.is_ok() };
    tokio::time::timeout(within, probe).await.unwrap_or(false)
}
