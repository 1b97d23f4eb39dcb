//! Detectors: everything that turns readings into alert lifecycle events.

pub mod anomaly;
pub mod anomaly_load;
pub mod inference;
pub mod score;
pub mod stats;
pub mod threshold;

pub use threshold::ThresholdRules;
