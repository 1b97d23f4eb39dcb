//! What a rule watches for: one closed enum, converted from a `[[rules]]` table
//! once and checked there ([`Condition::from_config`] is both the validation and
//! the build), so the lifecycle in `threshold.rs` never reads config again and a
//! new condition is one variant here with its arms side by side.

use super::rule_config::RuleConfig;
use super::stats::{Ewma, Mad, Stuck, Surprise};
use crate::event::{AlertKind, Reading};
use crate::issues::Issues;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Condition {
    Above {
        limit: f64,
        /// Hysteresis: the value must get back to this level to resolve.
        clear: f64,
    },
    Below {
        limit: f64,
        clear: f64,
    },
    /// Units per second between consecutive good readings.
    RateAbove {
        limit: f64,
    },
    /// No good reading for this long (judged on the tick's clock).
    Stale {
        after_ms: i64,
    },
    /// |z| against the sensor's own EWMA level and spread.
    ZScore {
        limit: f64,
        clear: f64,
        alpha: f64,
        warmup: u32,
    },
    /// The value has not moved by more than `tolerance` for this long.
    Stuck {
        for_ms: i64,
        tolerance: f64,
    },
    /// Robust deviations from the median of the last `window` readings.
    Spike {
        limit: f64,
        window: usize,
    },
}

/// What one good reading says under a condition.
#[derive(Debug, Clone, Copy)]
pub struct Observation {
    pub breach: bool,
    /// Back past the clear level (only asked while firing).
    pub cleared: bool,
    /// The value the alert reports: the reading, a rate, a score, seconds.
    pub value: f64,
}

/// Per rule and sensor: what a condition has learned from earlier readings.
#[derive(Debug, Clone)]
pub enum Memory {
    Nothing,
    Previous(Option<(i64, f64)>),
    Ewma(Ewma, Surprise),
    Stuck(Stuck),
    Mad(Mad, Surprise),
}

const ALL: &str = "above, below, rate-above, stale-after, zscore-above, stuck-for, spike-above";

impl Condition {
    /// The rule's one condition, or `None` with every problem written to `v`
    /// under `key` (the rule's key, e.g. `rules[3]`).
    pub fn from_config(r: &RuleConfig, key: &str, v: &mut Issues) -> Option<Condition> {
        let before = v.len();
        check_numbers(r, key, v);
        let set = [
            r.above.is_some(),
            r.below.is_some(),
            r.rate_above.is_some(),
            r.stale_after.is_some(),
            r.zscore_above.is_some(),
            r.stuck_for.is_some(),
            r.spike_above.is_some(),
        ];
        match set.iter().filter(|c| **c).count() {
            1 => {}
            0 => v.push(key, format!("has no condition: set one of {ALL}")),
            _ => v.push(
                key,
                format!(
                    "has several conditions: set exactly one of {ALL} (write one rule per condition)"
                ),
            ),
        }
        let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let condition = if let Some(limit) = r.above {
            Condition::Above {
                limit,
                clear: r.clear.unwrap_or(limit),
            }
        } else if let Some(limit) = r.below {
            Condition::Below {
                limit,
                clear: r.clear.unwrap_or(limit),
            }
        } else if let Some(limit) = r.rate_above {
            Condition::RateAbove { limit }
        } else if let Some(d) = r.stale_after {
            Condition::Stale {
                after_ms: millis(d),
            }
        } else if let Some(limit) = r.zscore_above {
            Condition::ZScore {
                limit,
                clear: r.clear.unwrap_or(limit / 2.0),
                alpha: r.ewma_alpha,
                warmup: r.warmup,
            }
        } else if let Some(d) = r.stuck_for {
            Condition::Stuck {
                for_ms: millis(d),
                tolerance: r.stuck_tolerance,
            }
        } else if let Some(limit) = r.spike_above {
            Condition::Spike {
                limit,
                window: r.spike_window,
            }
        } else {
            return None;
        };
        (v.len() == before).then_some(condition)
    }

    pub fn kind(&self) -> AlertKind {
        match self {
            Condition::Above { .. } => AlertKind::Above,
            Condition::Below { .. } => AlertKind::Below,
            Condition::RateAbove { .. } => AlertKind::RateAbove,
            Condition::Stale { .. } => AlertKind::Stale,
            Condition::ZScore { .. } => AlertKind::ZScore,
            Condition::Stuck { .. } => AlertKind::Stuck,
            Condition::Spike { .. } => AlertKind::Spike,
        }
    }

    /// The limit alerts report, in the unit of [`Observation::value`].
    pub fn limit(&self) -> f64 {
        match *self {
            Condition::Above { limit, .. }
            | Condition::Below { limit, .. }
            | Condition::RateAbove { limit }
            | Condition::ZScore { limit, .. }
            | Condition::Spike { limit, .. } => limit,
            Condition::Stale { after_ms } => after_ms as f64 / 1000.0,
            Condition::Stuck { for_ms, .. } => for_ms as f64 / 1000.0,
        }
    }

    /// The silence limit of a staleness condition.
    pub fn stale_after_ms(&self) -> Option<i64> {
        match *self {
            Condition::Stale { after_ms } => Some(after_ms),
            _ => None,
        }
    }

    /// The memory this condition learns into, fresh for a new sensor.
    pub fn memory(&self) -> Memory {
        match *self {
            Condition::RateAbove { .. } => Memory::Previous(None),
            Condition::ZScore { alpha, warmup, .. } => {
                Memory::Ewma(Ewma::new(alpha, warmup), Surprise::default())
            }
            Condition::Stuck { .. } => Memory::Stuck(Stuck::default()),
            Condition::Spike { window, .. } => Memory::Mad(Mad::new(window), Surprise::default()),
            Condition::Above { .. } | Condition::Below { .. } | Condition::Stale { .. } => {
                Memory::Nothing
            }
        }
    }

    /// Judges one good reading, learning from it into `m` (made by
    /// [`Condition::memory`]). `None` when it says nothing yet (warming up, a
    /// first reading, no spread): the lifecycle stays as it is. Staleness is
    /// judged on ticks, never here.
    pub fn observe(&self, m: &mut Memory, r: &Reading) -> Option<Observation> {
        let seen = |breach, cleared, value| {
            Some(Observation {
                breach,
                cleared,
                value,
            })
        };
        match (*self, m) {
            (Condition::Above { limit, clear }, _) => {
                seen(r.value > limit, r.value <= clear, r.value)
            }
            (Condition::Below { limit, clear }, _) => {
                seen(r.value < limit, r.value >= clear, r.value)
            }
            (Condition::RateAbove { limit }, Memory::Previous(prev)) => {
                let (t0, v0) = prev
                    .replace((r.ts_ms, r.value))
                    .filter(|(t0, _)| r.ts_ms > *t0)?;
                let rate = (r.value - v0).abs() * 1000.0 / (r.ts_ms - t0) as f64;
                seen(rate > limit, rate <= limit, rate)
            }
            (Condition::ZScore { limit, clear, .. }, Memory::Ewma(e, surprise)) => {
                // The spread learns only from readings that look normal (within the clear level).
                let z = e.score_and_learn(r.value, clear)?;
                let limit = surprise.limit(limit, z);
                seen(z.abs() > limit, z.abs() <= clear, z)
            }
            (Condition::Stuck { for_ms, tolerance }, Memory::Stuck(s)) => {
                // A gap of a third of the window means the sensor was not watched.
                let still = s.observe(r.ts_ms, r.value, tolerance, for_ms / 3);
                // Twice as long as the sensor usually holds still, and three
                // readings at least: two equal samples prove nothing.
                let limit = for_ms.max(still.usual_ms.saturating_mul(2));
                seen(
                    still.still_ms >= limit && still.readings >= 3,
                    still.still_ms == 0,
                    still.still_ms as f64 / 1000.0,
                )
            }
            (Condition::Spike { limit, .. }, Memory::Mad(s, surprise)) => {
                let z = s.score_and_learn(r.value)?;
                let limit = surprise.limit(limit, z);
                seen(z.abs() > limit, z.abs() <= limit, z)
            }
            // Staleness, or a memory made for another condition.
            _ => None,
        }
    }

    /// The message of a firing alert without a template of its own.
    pub fn fired_message(&self, sensor: &str, value: f64, unit: &str) -> String {
        let (v, l, u) = (num(value), num(self.limit()), unit);
        match self {
            Condition::Above { .. } => format!("{sensor} at {v}{u} is above {l}{u}"),
            Condition::Below { .. } => format!("{sensor} at {v}{u} is below {l}{u}"),
            Condition::RateAbove { .. } => {
                format!("{sensor} changes {v}{u}/s, faster than {l}{u}/s")
            }
            Condition::Stale { .. } => {
                format!("{sensor} sent no good reading for {v} s (limit {l} s)")
            }
            Condition::ZScore { .. } => format!(
                "{sensor} is {v} deviations from its recent level (limit {l}): a drift before any limit"
            ),
            Condition::Stuck { .. } => {
                format!("{sensor} has not changed for {v} s (limit {l} s): stuck?")
            }
            Condition::Spike { .. } => {
                format!("{sensor} spiked {v} robust deviations from its recent median (limit {l})")
            }
        }
    }

    /// The message of the alert's resolution.
    pub fn resolved_message(&self, sensor: &str, value: f64, unit: &str, rule: &str) -> String {
        let v = num(value);
        match self {
            Condition::Stale { .. } => format!("{sensor} is reporting again"),
            Condition::RateAbove { .. } => {
                format!("{sensor} changes {v}{unit}/s again (rule {rule})")
            }
            Condition::ZScore { .. } | Condition::Spike { .. } => {
                format!("{sensor} back to its usual level, {v} deviations (rule {rule})")
            }
            Condition::Stuck { .. } => format!("{sensor} is moving again (rule {rule})"),
            Condition::Above { .. } | Condition::Below { .. } => {
                format!("{sensor} back to {v}{unit} (rule {rule})")
            }
        }
    }
}

/// The numbers of every condition key, whichever is set: finite, in range, a
/// clear level on the right side of its limit.
fn check_numbers(r: &RuleConfig, k: &str, v: &mut Issues) {
    for (name, value) in [
        ("zscore-above", r.zscore_above),
        ("spike-above", r.spike_above),
    ] {
        if value.is_some_and(|x| !(x.is_finite() && x > 0.0)) {
            v.push(
                format!("{k}.{name}"),
                "must be a number above zero (deviations)",
            );
        }
    }
    if let (Some(z), Some(c)) = (r.zscore_above, r.clear) {
        if !(0.0..=z).contains(&c) {
            v.push(
                format!("{k}.clear"),
                format!("for zscore-above the clear level is a |z| from 0 to {z}"),
            );
        }
    }
    if !(r.ewma_alpha > 0.0 && r.ewma_alpha < 1.0) {
        v.push(
            format!("{k}.ewma-alpha"),
            "must be between 0 and 1 (e.g. 0.05)",
        );
    }
    if r.spike_window < 5 || r.spike_window > 10_000 {
        v.push(format!("{k}.spike-window"), "allowed 5 to 10000 readings");
    }
    if !(r.stuck_tolerance >= 0.0 && r.stuck_tolerance.is_finite()) {
        v.push(format!("{k}.stuck-tolerance"), "must be zero or more");
    }
    let day30 = Duration::from_secs(30 * 86_400);
    if let Some(d) = r.stuck_for {
        v.range(format!("{k}.stuck-for"), d, Duration::from_secs(1), day30);
    }
    if let Some(d) = r.stale_after {
        v.range(format!("{k}.stale-after"), d, Duration::from_secs(1), day30);
    }
    for (name, value) in [
        ("above", r.above),
        ("below", r.below),
        ("clear", r.clear),
        ("rate-above", r.rate_above),
    ] {
        if value.is_some_and(|x| !x.is_finite()) {
            v.push(format!("{k}.{name}"), "must be a finite number");
        }
    }
    match (r.above, r.below, r.clear) {
        (Some(a), _, Some(c)) if c > a => v.push(
            format!("{k}.clear"),
            format!("{c} is above the limit {a}: for an `above` rule the clear level must be at or below it"),
        ),
        (_, Some(b), Some(c)) if c < b => v.push(
            format!("{k}.clear"),
            format!("{c} is below the limit {b}: for a `below` rule the clear level must be at or above it"),
        ),
        (None, None, Some(_)) if r.zscore_above.is_none() => v.push(
            format!("{k}.clear"),
            "only applies to above, below or zscore-above rules",
        ),
        _ => {}
    }
    if r.rate_above.is_some_and(|x| x <= 0.0) {
        v.push(
            format!("{k}.rate-above"),
            "must be above zero (units per second)",
        );
    }
}

/// Short human number: at most three decimals, no trailing zeros.
pub fn num(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(toml: &str) -> (Option<Condition>, Vec<String>) {
        let r: RuleConfig = toml::from_str(&format!("name = \"r\"\nsensors = [\"a\"]\n{toml}"))
            .expect("rule parses");
        let mut v = Issues::default();
        let c = Condition::from_config(&r, "rules[0]", &mut v);
        (c, v.into_vec().into_iter().map(|i| i.key).collect())
    }

    #[test]
    fn each_key_becomes_its_condition_with_the_documented_clear_levels() {
        let (c, _) = convert("above = 80.0");
        assert_eq!(
            c,
            Some(Condition::Above {
                limit: 80.0,
                clear: 80.0
            })
        );
        let (c, _) = convert("zscore-above = 4.0");
        assert!(matches!(c, Some(Condition::ZScore { clear, .. }) if clear == 2.0));
        let (c, _) = convert("stale-after = \"90s\"");
        assert_eq!(c.and_then(|c| c.stale_after_ms()), Some(90_000));
        assert_eq!(c.map(|c| c.limit()), Some(90.0));
    }

    #[test]
    fn a_bad_condition_converts_to_nothing_and_names_its_key() {
        assert_eq!(
            convert("above = 80.0\nclear = 85.0"),
            (None, vec!["rules[0].clear".into()])
        );
        assert_eq!(
            convert("above = 1.0\nbelow = 0.0").1,
            vec!["rules[0]".to_owned()]
        );
        assert_eq!(convert("").1, vec!["rules[0]".to_owned()]);
    }
}
