//! `[[sinks.stdout]]`: every routed event as one JSON line (the envelope other
//! sinks send) on standard output, for watching a pipeline while setting it up
//! (`edgewatch run | jq`) or feeding another program. A row counts as delivered
//! once its line is written and flushed; a closed pipe is retried like any
//! unreachable upstream, so nothing is lost while the reader is away.

use super::batch::{self, Deliver, Failure};
use super::kind::{Checks, SinkKind};
use super::retry::RetryConfig;
use super::{envelope, PendingHandle, SinkError};
use crate::issues::Issues;
use crate::store::{OutboxConfig, OutboxRow, RouteConfig, WriteOp};
use serde::Deserialize;
use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// `[[sinks.stdout]]`: JSON lines on standard output.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StdoutSinkConfig {
    /// Unique among sinks; part of every dedup key and metric label.
    pub name: String,
    /// Which events this sink receives.
    #[serde(default)]
    pub route: RouteConfig,
    /// This sink's queue budget.
    #[serde(default)]
    pub outbox: OutboxConfig,
}

pub struct StdoutSink {
    handle: PendingHandle,
}

impl SinkKind for StdoutSink {
    type Config = StdoutSinkConfig;

    fn name(c: &StdoutSinkConfig) -> &str {
        &c.name
    }

    fn route(c: &StdoutSinkConfig) -> RouteConfig {
        c.route.clone()
    }

    fn outbox(c: &StdoutSinkConfig) -> &OutboxConfig {
        &c.outbox
    }

    fn validate(_: &StdoutSinkConfig, _: &Checks, _: &mut Issues, _: &str) {}

    fn build(_: &StdoutSinkConfig, handle: PendingHandle) -> Result<Self, SinkError> {
        Ok(StdoutSink { handle })
    }

    fn sink_name(&self) -> &str {
        &self.handle.name
    }

    async fn run(self, writer: mpsc::Sender<WriteOp>, shutdown: CancellationToken) {
        let lines = Lines {
            gateway: self.handle.gateway.clone(),
            sink: self.handle.name.clone(),
        };
        let outbox = self.handle.connect(writer);
        batch::run(outbox, &RetryConfig::default(), lines, shutdown).await;
    }
}

struct Lines {
    gateway: Arc<str>,
    sink: Arc<str>,
}

impl Deliver for Lines {
    fn send<'a>(
        &'a mut self,
        rows: &'a [OutboxRow],
    ) -> impl Future<Output = Result<(), Failure>> + Send + 'a {
        let mut buf = String::new();
        for r in rows {
            buf.push_str(&envelope::render(&self.gateway, &self.sink, r));
            buf.push('\n');
        }
        async move {
            // A blocked pipe must not stall a runtime thread.
            tokio::task::spawn_blocking(move || {
                let mut out = std::io::stdout().lock();
                out.write_all(buf.as_bytes()).and_then(|_| out.flush())
            })
            .await
            .map_err(|e| Failure::new(format!("stdout task failed: {e}")))?
            .map_err(|e| Failure::new(format!("cannot write to standard output: {e}")))
        }
    }
}
