//! The cap on distinct sensors: every known sensor costs memory in the rules,
//! the aggregator and the store, so a burst of made-up ids (a hostile or broken
//! publisher) must not grow the gateway without end. Sensors already known are
//! always taken; a new one beyond `store.max-sensors` is refused (the pipeline counts and
//! logs it).

use rustc_hash::FxHashSet as HashSet;
use std::sync::Arc;

pub struct SensorLimit {
    known: HashSet<Arc<str>>,
    max: usize,
}

impl SensorLimit {
    pub fn new(max: usize) -> Self {
        SensorLimit {
            known: HashSet::default(),
            max,
        }
    }

    /// A sensor the store already has (at restart): known whatever the cap.
    pub fn remember(&mut self, sensor: &Arc<str>) {
        if !self.known.contains(sensor) {
            self.known.insert(sensor.clone());
        }
    }

    /// Whether a reading of `sensor` is taken; learns it when there is room.
    pub fn admit(&mut self, sensor: &Arc<str>) -> bool {
        if self.known.contains(sensor) {
            return true;
        }
        if self.known.len() >= self.max {
            return false;
        }
        self.known.insert(sensor.clone());
        true
    }

    pub fn known(&self) -> usize {
        self.known.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_sensors_always_pass_and_new_ones_stop_at_the_cap() {
        let mut l = SensorLimit::new(2);
        let (a, b, c): (Arc<str>, Arc<str>, Arc<str>) = ("a".into(), "b".into(), "c".into());
        l.remember(&"old".into());
        assert!(l.admit(&a));
        assert!(!l.admit(&b), "old + a fill the cap");
        assert!(l.admit(&a) && l.admit(&"old".into()));
        l.remember(&c);
        assert!(
            l.admit(&c),
            "a sensor the store has is known beyond the cap"
        );
        assert_eq!(l.known(), 3);
    }
}
