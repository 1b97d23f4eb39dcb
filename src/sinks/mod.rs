//! Sinks: where alerts and aggregates go upstream. Each sink owns a durable outbox
//! in the store (see [`crate::store::outbox`]); its task leases rows in order,
//! sends them, and reports them delivered only once the upstream acknowledged
//! them (MQTT PUBACK, HTTP 2xx, fsync). A new sink kind is a new file implementing
//! [`kind::SinkKind`], its `mod` line and its line in the `sink_kinds!` list below.

mod batch;
pub mod breaker;
pub mod envelope;
mod family;
pub mod kind;
pub mod mqtt_topic;
mod mqtt_uplink;
pub mod presets;
pub mod retry;

// The kinds.
pub mod file;
pub mod mqtt;
pub mod stdout;
pub mod webhook;

use crate::metrics::{Metrics, SinkMetrics};
use crate::store::{OutboxRow, OutboxSpec, Route, WriteOp};
use kind::{sink_kinds, SinkKind};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

sink_kinds! {
    mqtt::MqttSink,
    webhook::WebhookSink,
    file::FileSink,
    stdout::StdoutSink,
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("sink `{sink}`: {message}")]
    Setup { sink: String, message: String },
}

impl SinkError {
    fn setup(sink: &str, e: impl std::fmt::Display) -> Self {
        SinkError::Setup {
            sink: sink.to_owned(),
            message: e.to_string(),
        }
    }
}

/// A sink's line to its outbox: lease rows, report them delivered, wait for more.
pub struct OutboxHandle {
    pub name: Arc<str>,
    pub gateway: Arc<str>,
    pub batch: usize,
    pub metrics: Arc<SinkMetrics>,
    writer: mpsc::Sender<WriteOp>,
    enqueued: watch::Receiver<u64>,
}

impl OutboxHandle {
    /// The next rows after `after`, oldest first; empty when there are none (or the
    /// writer has stopped).
    pub async fn lease(&self, after: u64, max: usize) -> Vec<OutboxRow> {
        let (reply, rx) = oneshot::channel();
        let op = WriteOp::Lease {
            sink: self.name.clone(),
            after,
            max,
            reply,
        };
        if self.writer.send(op).await.is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    /// Everything up to `upto` was acknowledged upstream.
    pub async fn delivered(&self, upto: u64) {
        let _ = self
            .writer
            .send(WriteOp::Delivered {
                sink: self.name.clone(),
                upto,
            })
            .await;
    }

    /// This row can never be delivered: move it aside so the rows behind it go.
    pub async fn dead_letter(&self, seq: u64, reason: String) {
        let _ = self
            .writer
            .send(WriteOp::DeadLetter {
                sink: self.name.clone(),
                seq,
                reason,
            })
            .await;
    }

    /// Waits until something newer than `seen` is enqueued; false on shutdown.
    pub async fn wait_for_more(&mut self, seen: u64, shutdown: &CancellationToken) -> bool {
        tokio::select! {
            _ = shutdown.cancelled() => false,
            r = self.enqueued.wait_for(|v| *v > seen) => r.is_ok(),
        }
    }
}

/// The configured sinks plus what the store writer needs to fill their outboxes.
pub struct Built {
    pub sinks: Vec<Sink>,
    pub outboxes: Vec<Arc<OutboxSpec>>,
}

impl Sink {
    /// Builds every sink (reads secrets and TLS files; no network yet). Sinks get
    /// their writer line later, in [`Sink::run`].
    pub fn build_all(
        config: &SinksConfig,
        gateway: &str,
        metrics: &Metrics,
    ) -> Result<Built, SinkError> {
        let gateway: Arc<str> = gateway.into();
        let mut outboxes = Vec::new();
        // Each sink's outbox: the spec the store writer fills, the handle the sink reads.
        let sinks = Sink::build_each(config, |name, route, outbox, kind| {
            let m = metrics.sink(name, kind);
            let (tx, rx) = watch::channel(0);
            outboxes.push(Arc::new(OutboxSpec {
                name: name.into(),
                route: Route::new(route).map_err(|e| SinkError::setup(name, e))?,
                max_bytes: outbox.max_size.as_u64(),
                max_age_ms: outbox.max_age.as_millis() as i64,
                alerts_when_full: outbox.alerts_when_full,
                metrics: m.clone(),
                enqueued: tx,
            }));
            Ok(PendingHandle {
                name: name.into(),
                gateway: gateway.clone(),
                outbox: outbox.clone(),
                metrics: m,
                enqueued: rx,
            })
        })?;
        Ok(Built { sinks, outboxes })
    }
}

/// A sink's outbox line before the writer exists.
pub struct PendingHandle {
    pub name: Arc<str>,
    pub gateway: Arc<str>,
    pub outbox: crate::store::OutboxConfig,
    pub metrics: Arc<SinkMetrics>,
    enqueued: watch::Receiver<u64>,
}

impl PendingHandle {
    pub fn connect(self, writer: mpsc::Sender<WriteOp>) -> OutboxHandle {
        OutboxHandle {
            name: self.name,
            gateway: self.gateway,
            batch: self.outbox.batch,
            metrics: self.metrics,
            writer,
            enqueued: self.enqueued,
        }
    }
}
