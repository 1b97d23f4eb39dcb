//! Answers that set assets side by side: alerts and values per asset.

use super::builder::{capitalise, plural, Builder};
use crate::knowledge::facts::{with_unit, Fact, Gathered};
use crate::knowledge::question::Intent;

/// The assets named, side by side: alerts per asset, then values per asset.
pub(super) fn compare(b: &mut Builder, g: &Gathered, range_cite: &str) {
    let q = &g.query;
    let label = &q.range.label;
    if g.groups.len() < 2 {
        b.say(format!("There is nothing to compare: the question names fewer than two assets of one kind {range_cite}."));
        return;
    }
    let by_value = !q.quantities.is_empty() && !q.about_alerts;
    let mut groups = g.groups.clone();
    let mut cites = Vec::new();
    for gr in &groups {
        let text = match (&gr.stats, by_value) {
            (Some(s), true) => format!(
                "{}: highest {} at {}, lowest {}, average {} {label}",
                gr.label,
                with_unit(s.max, s.unit.as_deref()),
                b.clock.show(s.max_ms),
                with_unit(s.min, s.unit.as_deref()),
                with_unit(
                    crate::knowledge::facts::round_mean(s.mean),
                    s.unit.as_deref()
                )
            ),
            (None, true) => format!("{}: no reading {label}", gr.label),
            _ => format!(
                "{}: {} {label}",
                gr.label,
                plural(gr.alerts, "alert", "alerts")
            ),
        };
        cites.push(b.cite(Fact {
            id: format!("count:{}", gr.label),
            text,
        }));
    }
    let mut order: Vec<usize> = (0..groups.len()).collect();
    let key = |gr: &crate::knowledge::facts::Group| -> f64 {
        match (&gr.stats, by_value) {
            (Some(s), true) if q.fewer || q.intent == Intent::Low => -s.min,
            (Some(s), true) => s.max,
            (None, true) => f64::NEG_INFINITY,
            _ if q.fewer => -(gr.alerts as f64),
            _ => gr.alerts as f64,
        }
    };
    order.sort_by(|x, y| key(&groups[*y]).total_cmp(&key(&groups[*x])));
    let (first, second) = (order[0], order[1]);
    let others: Vec<String> = order[1..]
        .iter()
        .map(|i| {
            let gr = &groups[*i];
            let v = match (&gr.stats, by_value) {
                (Some(s), true) if q.fewer || q.intent == Intent::Low => {
                    with_unit(s.min, s.unit.as_deref())
                }
                (Some(s), true) => with_unit(s.max, s.unit.as_deref()),
                (None, true) => "no reading".into(),
                _ => gr.alerts.to_string(),
            };
            format!("{v} on {} {}", gr.label, cites[*i])
        })
        .collect();
    let top = &groups[first];
    if !by_value && top.alerts == groups[second].alerts {
        let tied: Vec<String> = order
            .iter()
            .filter(|i| groups[**i].alerts == top.alerts)
            .map(|i| format!("{} {}", groups[*i].label, cites[*i]))
            .collect();
        b.say(format!(
            "{} had the same number of alerts {label}: {} each.",
            capitalise(&tied.join(" and ")),
            top.alerts
        ));
    } else if by_value {
        let (word, v) = match &top.stats {
            Some(s) if q.fewer || q.intent == Intent::Low => {
                ("lowest", with_unit(s.min, s.unit.as_deref()))
            }
            Some(s) => ("highest", with_unit(s.max, s.unit.as_deref())),
            None => ("highest", "no reading".into()),
        };
        let what = q
            .quantities
            .iter()
            .map(|x| x.name())
            .collect::<Vec<_>>()
            .join(" or ");
        b.say(format!(
            "{} had the {word} {what} {label}: {v} {}, against {}.",
            capitalise(&top.label),
            cites[first],
            others.join(", ")
        ));
    } else {
        let word = if q.fewer { "fewer" } else { "more" };
        b.say(format!(
            "{} had {word} alerts {label}: {} {}, against {}.",
            capitalise(&top.label),
            top.alerts,
            cites[first],
            others.join(", ")
        ));
    }
    groups.clear();
}
