//! Scores of a detector against labelled rows (a recorded file with a ground-truth
//! column): point-wise precision, recall, F1, false-alarm and missed-alarm rates
//! as the multivariate benchmarks report them, and per labelled event whether and
//! how soon it was flagged.

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LabelledScore {
    pub true_pos: u64,
    pub false_pos: u64,
    pub false_neg: u64,
    pub true_neg: u64,
    /// Runs of consecutive anomalous rows.
    pub events: u64,
    pub events_detected: u64,
    delay_ms_total: i64,
    /// The labelled run in progress: when it began, whether it was flagged yet.
    open: Option<(i64, bool)>,
}

impl LabelledScore {
    /// One row: whether the detector flagged it (an alert firing), and its label.
    pub fn observe(&mut self, ts_ms: i64, flagged: bool, anomalous: bool) {
        match (flagged, anomalous) {
            (true, true) => self.true_pos += 1,
            (true, false) => self.false_pos += 1,
            (false, true) => self.false_neg += 1,
            (false, false) => self.true_neg += 1,
        }
        match (&mut self.open, anomalous) {
            (None, true) => {
                self.events += 1;
                self.open = Some((ts_ms, false));
                self.flag(ts_ms, flagged);
            }
            (Some(_), true) => self.flag(ts_ms, flagged),
            (Some(_), false) => self.open = None,
            (None, false) => {}
        }
    }

    fn flag(&mut self, ts_ms: i64, flagged: bool) {
        if let Some((start, seen)) = &mut self.open {
            if flagged && !*seen {
                *seen = true;
                self.events_detected += 1;
                self.delay_ms_total += ts_ms - *start;
            }
        }
    }

    pub fn precision(&self) -> f64 {
        ratio(self.true_pos, self.true_pos + self.false_pos)
    }

    pub fn recall(&self) -> f64 {
        ratio(self.true_pos, self.true_pos + self.false_neg)
    }

    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }

    /// Normal rows flagged, of all normal rows.
    pub fn false_alarm_rate(&self) -> f64 {
        ratio(self.false_pos, self.false_pos + self.true_neg)
    }

    /// Anomalous rows not flagged, of all anomalous rows.
    pub fn missed_alarm_rate(&self) -> f64 {
        ratio(self.false_neg, self.false_neg + self.true_pos)
    }

    /// Mean time from an event's first row to its first flagged row.
    pub fn mean_delay_s(&self) -> f64 {
        if self.events_detected == 0 {
            0.0
        } else {
            self.delay_ms_total as f64 / 1000.0 / self.events_detected as f64
        }
    }

    /// Adds another file's counts (the benchmark's totals over files).
    pub fn add(&mut self, o: &LabelledScore) {
        self.true_pos += o.true_pos;
        self.false_pos += o.false_pos;
        self.false_neg += o.false_neg;
        self.true_neg += o.true_neg;
        self.events += o.events;
        self.events_detected += o.events_detected;
        self.delay_ms_total += o.delay_ms_total;
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rows_and_events_as_the_benchmarks_define_them() {
        let mut s = LabelledScore::default();
        // (flagged, label) at 1 s steps: one false alarm, an event of 4 rows found
        // on its third row, a second event missed.
        let rows = [
            (false, false),
            (true, false),
            (false, true),
            (false, true),
            (true, true),
            (true, true),
            (false, false),
            (false, true),
        ];
        for (i, (f, l)) in rows.into_iter().enumerate() {
            s.observe(i as i64 * 1000, f, l);
        }
        assert_eq!(
            (s.true_pos, s.false_pos, s.false_neg, s.true_neg),
            (2, 1, 3, 2)
        );
        assert_eq!((s.events, s.events_detected), (2, 1));
        assert_eq!(s.mean_delay_s(), 2.0);
        assert!((s.precision() - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.recall() - 0.4).abs() < 1e-12);
        assert!((s.false_alarm_rate() - 1.0 / 3.0).abs() < 1e-12);
        assert!((s.missed_alarm_rate() - 0.6).abs() < 1e-12);
        assert!((s.f1() - 0.5).abs() < 1e-12);
    }
}
