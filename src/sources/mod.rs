//! Sources: everything that produces readings. Each is built from its config section
//! and run as one task that sends [`IngestBatch`]es into a bounded channel until
//! shutdown. A new source kind is a new file implementing [`kind::SourceKind`], its
//! `mod` line and its line in the `source_kinds!` list below.

pub mod kind;
pub mod payload;
pub mod sensor_id;
pub mod subscription;

// The kinds.
pub mod modbus;
pub mod mqtt;
pub mod pump_rig;
pub mod simulator;

use crate::event::Reading;
use crate::event::{CommitAck, Rejected, SimFault};
use kind::{source_kinds, SourceKind};
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

source_kinds! {
    mqtt::MqttSource,
    modbus::ModbusSource,
    simulator::SimulatorSource,
}

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
