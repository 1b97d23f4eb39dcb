//! Detectors: everything that turns readings into alert lifecycle events.

pub mod alert;
pub mod anomaly;
pub mod anomaly_load;
pub mod inference;
pub mod score;
pub mod stats;
pub mod threshold;

pub use alert::{AlertEvent, AlertKind, AlertState};
pub use threshold::ThresholdRules;
