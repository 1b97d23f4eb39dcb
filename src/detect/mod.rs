//! Detectors: everything that turns readings into alert lifecycle events. Each
//! kind owns its config and validation; the pipeline sees them only as a
//! [`Detectors`] list behind the [`Detector`] trait.

pub mod anomaly;
pub mod anomaly_config;
pub mod anomaly_load;
pub mod condition;
pub mod debounce;
pub mod detector;
pub mod inference;
pub mod labelled;
pub mod learned;
pub mod onnx;
pub mod rule_config;
pub mod score;
pub mod set;
pub mod stats;
pub mod threshold;

pub use anomaly_config::{AnomalyModelConfig, OnnxConfig};
pub use detector::{Detector, StoredFiring};
pub use rule_config::RuleConfig;
pub use set::Detectors;
pub use threshold::ThresholdRules;
