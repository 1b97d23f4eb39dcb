//! Which events a sink receives: event kind, minimum alert severity, sensor globs
//! and labels. Pure; evaluated by the store writer as it enqueues.

use super::settings::{EventKind, RouteConfig};
use crate::event::Labels;
use crate::event::Severity;
use crate::sensor_glob::SensorGlob;

#[derive(Debug, Clone)]
pub struct Route {
    alerts: bool,
    aggregates: bool,
    min_severity: Severity,
    sensors: SensorGlob,
    labels: Vec<(String, String)>,
}

impl Route {
    pub fn new(c: &RouteConfig) -> Result<Self, globset::Error> {
        let events = c
            .events
            .clone()
            .unwrap_or_else(|| vec![EventKind::Alerts, EventKind::Aggregates]);
        Ok(Route {
            alerts: events.contains(&EventKind::Alerts),
            aggregates: events.contains(&EventKind::Aggregates),
            min_severity: c.min_severity,
            sensors: SensorGlob::new(&c.sensors)?,
            labels: c
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
    }

    /// Everything, for tests and benches.
    pub fn all() -> Self {
        Route::new(&RouteConfig::default()).expect("no globs to compile")
    }

    pub fn wants_aggregates(&self) -> bool {
        self.aggregates
    }

    pub fn wants_labels(&self) -> bool {
        !self.labels.is_empty()
    }

    pub fn alert(&self, severity: Severity, sensor: &str, labels: Option<&Labels>) -> bool {
        self.alerts && severity >= self.min_severity && self.sensor(sensor, labels)
    }

    pub fn aggregate(&self, sensor: &str, labels: Option<&Labels>) -> bool {
        self.aggregates && self.sensor(sensor, labels)
    }

    fn sensor(&self, sensor: &str, labels: Option<&Labels>) -> bool {
        self.sensors.is_match(sensor)
            && self
                .labels
                .iter()
                .all(|(k, v)| labels.and_then(|l| l.get(k)).is_some_and(|x| x == v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    #[test]
    fn filters_by_kind_severity_glob_and_labels() {
        let c = RouteConfig {
            events: Some(vec![EventKind::Alerts]),
            min_severity: Severity::Warning,
            sensors: vec!["*.database.*".into()],
            labels: BTreeMap::from([("line".into(), "2".into())]),
        };
        let r = Route::new(&c).unwrap();
        let l2: Labels = Arc::new(BTreeMap::from([("line".into(), "2".into())]));
        let l3: Labels = Arc::new(BTreeMap::from([("line".into(), "3".into())]));
        assert!(r.alert(Severity::Critical, "eu.database.primary", Some(&l2)));
        assert!(!r.alert(Severity::Info, "eu.database.primary", Some(&l2)));
        assert!(!r.alert(Severity::Critical, "eu.web.primary", Some(&l2)));
        assert!(!r.alert(Severity::Critical, "eu.database.primary", Some(&l3)));
        assert!(!r.alert(Severity::Critical, "eu.database.primary", None));
        assert!(!r.aggregate("eu.database.primary", Some(&l2)));
        let all = Route::all();
        assert!(all.alert(Severity::Info, "x", None) && all.aggregate("x", None));
    }
}
