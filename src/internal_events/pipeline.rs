//! Events of the pipeline: sensors refused at the cap, model runs that failed.

use super::{worth_logging, InternalEvent};
use crate::metrics::Metrics;

/// A reading of a sensor never seen before was refused: `store.max-sensors` are
/// known. Counted in `edgewatch_sensors_refused_total`; the first refusal and
/// every power of two are logged with the (escaped) id.
pub struct SensorRefused<'a> {
    pub metrics: &'a Metrics,
    pub sensor: &'a str,
    pub known: usize,
}

impl InternalEvent for SensorRefused<'_> {
    fn emit(self) {
        let c = &self.metrics.sensors_refused;
        c.inc();
        let refused = c.get();
        if worth_logging(refused, 1) {
            tracing::warn!(
                sensor = %crate::untrusted::quote(self.sensor, &[], 80),
                known = self.known,
                refused,
                "reading of a new sensor refused: store.max-sensors are known (raise it if the plant has more)"
            );
        }
    }
}

/// An anomaly model could not score a batch of windows.
pub struct InferenceFailed<'a> {
    pub metrics: &'a Metrics,
    pub error: &'a dyn std::fmt::Display,
}

impl InternalEvent for InferenceFailed<'_> {
    fn emit(self) {
        self.metrics.inference_errors.inc();
        tracing::error!("{}", self.error);
    }
}
