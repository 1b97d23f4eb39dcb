//! The lifecycle of a scored alert (ONNX and learned models): it fires after
//! `debounce` anomalous scores in a row and resolves after `clear_after` normal
//! ones, keeping its id from firing to resolving.

/// What one score did to the alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    None,
    /// Fire now; the caller names the alert and calls [`Debounce::fired`].
    Fire,
    /// Resolved: the id and firing time of the alert that ends.
    Resolve {
        id: String,
        fired_ms: i64,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Debounce {
    over: u32,
    under: u32,
    firing: Option<(String, i64)>,
}

impl Debounce {
    pub fn observe(&mut self, anomalous: bool, debounce: u32, clear_after: u32) -> Change {
        if anomalous {
            self.over = self.over.saturating_add(1);
            self.under = 0;
            if self.firing.is_none() && self.over >= debounce {
                return Change::Fire;
            }
        } else {
            self.under = self.under.saturating_add(1);
            self.over = 0;
            if self.under >= clear_after {
                if let Some((id, fired_ms)) = self.firing.take() {
                    return Change::Resolve { id, fired_ms };
                }
            }
        }
        Change::None
    }

    /// Nothing firing and nothing building up: the state in which a detector
    /// may follow a slow change without absorbing an anomaly.
    pub fn is_quiet(&self) -> bool {
        self.firing.is_none() && self.over == 0
    }

    /// The alert that fired (or a stored one taken over at restart).
    pub fn fired(&mut self, id: String, fired_ms: i64) {
        self.firing = Some((id, fired_ms));
    }

    pub fn firing(&self) -> Option<&(String, i64)> {
        self.firing.as_ref()
    }

    /// Forgets the run of scores (a gap in the data), not a firing alert.
    pub fn restart(&mut self) {
        self.over = 0;
        self.under = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_after_debounce_and_resolves_after_clear_with_its_id() {
        let mut d = Debounce::default();
        assert_eq!(d.observe(true, 2, 2), Change::None);
        assert_eq!(d.observe(true, 2, 2), Change::Fire);
        d.fired("a1".into(), 5);
        assert_eq!(d.observe(true, 2, 2), Change::None);
        assert_eq!(d.observe(false, 2, 2), Change::None);
        assert_eq!(d.observe(true, 2, 2), Change::None);
        assert_eq!(d.observe(false, 2, 2), Change::None);
        assert_eq!(
            d.observe(false, 2, 2),
            Change::Resolve {
                id: "a1".into(),
                fired_ms: 5
            }
        );
        assert!(d.firing().is_none());
    }
}
