//! Scores detectors against recorded ground truth (the simulator's injected
//! faults): precision, recall, F1, detection delay and false alerts per sensor-day.
//! Pure: fault intervals and firing times in, figures out.

use crate::event::SimFault;

/// One firing alert: sensor (or asset: a prefix of its sensors' ids) and time.
#[derive(Debug, Clone)]
pub struct Fired {
    pub sensor: String,
    pub ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Score {
    pub alerts: usize,
    pub true_alerts: usize,
    pub faults: usize,
    pub detected: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Mean time from fault start to its first alert, over detected faults.
    pub mean_delay_s: f64,
    pub false_per_sensor_day: f64,
}

/// An alert is true when it fires on a faulty sensor, or on the asset the sensor
/// belongs to (`line1/m01` for `line1/m01/temperature`), between the fault's start and
/// its end plus `grace_ms` (a detector may confirm a one-sample spike a reading
/// later, or a drift once it has grown). A fault is detected by its first true alert.
pub fn score(faults: &[SimFault], fired: &[Fired], grace_ms: i64, sensor_days: f64) -> Score {
    let mut first: Vec<Option<i64>> = vec![None; faults.len()];
    let mut true_alerts = 0;
    for a in fired {
        let mut hit = false;
        for (i, f) in faults.iter().enumerate() {
            if covers(&a.sensor, &f.sensor) && a.ms >= f.start_ms && a.ms <= f.end_ms + grace_ms {
                hit = true;
                first[i] = Some(first[i].map_or(a.ms, |t| t.min(a.ms)));
            }
        }
        true_alerts += usize::from(hit);
    }
    let detected: Vec<i64> = faults
        .iter()
        .zip(&first)
        .filter_map(|(f, t)| t.map(|t| t - f.start_ms))
        .collect();
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let precision = ratio(true_alerts, fired.len());
    let recall = ratio(detected.len(), faults.len());
    Score {
        alerts: fired.len(),
        true_alerts,
        faults: faults.len(),
        detected: detected.len(),
        precision,
        recall,
        f1: if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        },
        mean_delay_s: if detected.is_empty() {
            0.0
        } else {
            detected.iter().sum::<i64>() as f64 / detected.len() as f64 / 1000.0
        },
        false_per_sensor_day: (fired.len() - true_alerts) as f64 / sensor_days.max(1e-9),
    }
}

/// The alert's sensor is the faulty sensor or its asset.
fn covers(alerted: &str, faulty: &str) -> bool {
    faulty
        .strip_prefix(alerted)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(sensor: &str, start: i64, end: i64) -> SimFault {
        SimFault {
            sensor: sensor.into(),
            kind: "drift",
            start_ms: start,
            end_ms: end,
        }
    }

    fn fired(sensor: &str, ms: i64) -> Fired {
        Fired {
            sensor: sensor.into(),
            ms,
        }
    }

    #[test]
    fn precision_recall_delay_and_false_alerts() {
        let faults = [
            fault("a", 1000, 5000),
            fault("b", 10_000, 10_001),
            fault("c", 0, 100),
        ];
        let alerts = [
            fired("a", 3000),   // true, delay 2 s
            fired("a", 4000),   // true again, same fault
            fired("b", 10_500), // true within the grace
            fired("b", 20_000), // false: long after
            fired("x", 1000),   // false: wrong sensor
        ];
        let s = score(&faults, &alerts, 1000, 2.0);
        assert_eq!(
            (s.alerts, s.true_alerts, s.faults, s.detected),
            (5, 3, 3, 2)
        );
        assert!((s.precision - 0.6).abs() < 1e-12);
        assert!((s.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.f1 - 2.0 * 0.6 * (2.0 / 3.0) / (0.6 + 2.0 / 3.0)).abs() < 1e-12);
        assert!((s.mean_delay_s - 1.25).abs() < 1e-12, "(2 s + 0.5 s) / 2");
        assert!((s.false_per_sensor_day - 1.0).abs() < 1e-12);
    }

    #[test]
    fn an_asset_alert_covers_its_sensors_only() {
        let faults = [fault("l1/m01/temperature", 1000, 5000)];
        let alerts = [
            fired("l1/m01", 2000),
            fired("l1/m0", 2000),
            fired("l1/m01/t", 2000),
        ];
        let s = score(&faults, &alerts, 0, 1.0);
        assert_eq!((s.true_alerts, s.detected), (1, 1));
    }
}
