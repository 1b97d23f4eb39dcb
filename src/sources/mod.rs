//! Sources: everything that produces readings. Each is built from its config section
//! and run as one task that sends [`IngestBatch`]es into a bounded channel until
//! shutdown. A new source is a new file plus one arm in [`Source`].

pub mod modbus;
pub mod mqtt;
pub mod payload;
pub mod sensor_id;
pub mod simulator;

use crate::config::Config;
use crate::event::Reading;
use crate::event::{CommitAck, Rejected, SimFault};
use crate::metrics::Metrics;
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What a source hands the pipeline in one go. `ack` is told once all of it is
/// committed; sources that need no acknowledgement leave it `None`.
#[derive(Debug)]
pub struct IngestBatch {
    pub readings: Vec<Reading>,
    pub rejected: Vec<Rejected>,
    pub faults: Vec<SimFault>,
    pub ack: Option<CommitAck>,
    pub received: Instant,
}

impl IngestBatch {
    pub fn readings(readings: Vec<Reading>) -> Self {
        IngestBatch {
            readings,
            rejected: Vec::new(),
            faults: Vec::new(),
            ack: None,
            received: Instant::now(),
        }
    }
}

/// Sources send here; full means the pipeline is behind, and sources wait.
pub type IngestTx = mpsc::Sender<IngestBatch>;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source `{source_name}`: {message}")]
    Setup {
        source_name: String,
        message: String,
    },
}

pub enum Source {
    Mqtt(Box<mqtt::MqttSource>),
    Modbus(Box<modbus::ModbusSource>),
    Simulator(simulator::SimulatorSource),
}

impl Source {
    /// Builds every configured source (reads TLS files and secrets; no network yet).
    pub fn build_all(config: &Config, metrics: &Metrics) -> Result<Vec<Source>, SourceError> {
        let mut out = Vec::new();
        for m in &config.sources.mqtt {
            out.push(Source::Mqtt(Box::new(mqtt::MqttSource::build(
                m,
                &config.gateway.id,
                metrics.source(&m.name, "mqtt"),
            )?)));
        }
        for m in &config.sources.modbus {
            out.push(Source::Modbus(Box::new(modbus::ModbusSource::build(
                m,
                &config.modbus_maps,
                metrics,
            )?)));
        }
        for s in &config.sources.simulator {
            out.push(Source::Simulator(simulator::SimulatorSource::new(
                s,
                metrics.source(&s.name, "simulator"),
            )));
        }
        Ok(out)
    }

    pub fn name(&self) -> &str {
        match self {
            Source::Mqtt(s) => s.name(),
            Source::Modbus(s) => s.name(),
            Source::Simulator(s) => s.name(),
        }
    }

    /// Runs until `shutdown`; returns once everything it sent is committed or the
    /// grace period ran out.
    pub async fn run(self, out: IngestTx, shutdown: CancellationToken) {
        match self {
            Source::Mqtt(s) => s.run(out, shutdown).await,
            Source::Modbus(s) => s.run(out, shutdown).await,
            Source::Simulator(s) => s.run(out, shutdown).await,
        }
    }
}
