//! What a source hands the writer besides readings, and what it is told back:
//! refused payloads, injected faults (ground truth), and commit acknowledgements.

use std::sync::Arc;
use tokio::sync::watch;

/// Tells a source that everything it sent up to `seq` is committed.
#[derive(Debug, Clone)]
pub struct CommitAck {
    pub watermark: Arc<watch::Sender<u64>>,
    pub seq: u64,
}

impl CommitAck {
    /// Raises the watermark to `seq` (never lowers it).
    pub fn done(&self) {
        self.watermark.send_if_modified(|w| {
            let newer = self.seq > *w;
            if newer {
                *w = self.seq;
            }
            newer
        });
    }
}

/// A refused payload, kept for inspection.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub ts_ms: i64,
    pub source: Arc<str>,
    pub topic: String,
    pub reason: &'static str,
    pub excerpt: Vec<u8>,
}

/// A fault the simulator injected (ground truth).
#[derive(Debug, Clone, PartialEq)]
pub struct SimFault {
    pub sensor: Arc<str>,
    pub kind: &'static str,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// Why a payload (or one element of an array payload) was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rejection {
    TooLarge,
    TooDeep,
    NotJson,
    WrongType,
    MissingValue,
    NotFinite,
    BadTimestamp,
    NoSensorId,
    /// Control characters, non-characters or longer than the sensor id limit.
    BadSensorId,
}

impl Rejection {
    /// Metric label and log word.
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::TooLarge => "too_large",
            Rejection::TooDeep => "too_deep",
            Rejection::NotJson => "not_json",
            Rejection::WrongType => "wrong_type",
            Rejection::MissingValue => "missing_value",
            Rejection::NotFinite => "not_finite",
            Rejection::BadTimestamp => "bad_timestamp",
            Rejection::NoSensorId => "no_sensor_id",
            Rejection::BadSensorId => "bad_sensor_id",
        }
    }

    pub const ALL: [Rejection; 9] = [
        Rejection::TooLarge,
        Rejection::TooDeep,
        Rejection::NotJson,
        Rejection::WrongType,
        Rejection::MissingValue,
        Rejection::NotFinite,
        Rejection::BadTimestamp,
        Rejection::NoSensorId,
        Rejection::BadSensorId,
    ];
}
