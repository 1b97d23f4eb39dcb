//! The facts an answer may rest on, gathered with SQL and semantic search, each
//! with a citation id: `alert:ID`, `agg:SENSOR@TIME` (an aggregate window),
//! `doc:CHUNK`. A deterministic summary is written from them alone.

use super::question::About;
pub use crate::reading::format_num as num;
use crate::reading::format_ts;
use crate::store::{AlertFilter, AlertRow, ChunkRow, Reader, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct Fact {
    pub id: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    pub range: String,
    pub since: String,
    pub until: String,
    pub alerts: usize,
    pub facts: Vec<Fact>,
    /// What the deterministic summary says, sentence by sentence.
    #[serde(skip)]
    pub summary: Vec<String>,
}

/// Alert groups quoted (the rest are counted): a short facts block keeps the
/// prompt, and so the time to the first token, small.
const MAX_ALERTS: usize = 5;
const MAX_PEAKS: usize = 3;

pub fn gather(
    reader: &Reader,
    about: &About,
    related_alerts: &[AlertRow],
    chunks: &[ChunkRow],
) -> Result<Facts, StoreError> {
    let all = reader.alerts(&AlertFilter {
        since_ms: Some(about.since_ms),
        until_ms: Some(about.until_ms),
        limit: 5000,
        ..Default::default()
    })?;
    let alerts: Vec<&AlertRow> = all.iter().filter(|a| about.matches(&a.sensor)).collect();
    let (since, until) = (
        short_ts(&format_ts(about.since_ms)),
        short_ts(&format_ts(about.until_ms)),
    );
    let scope = if about.terms.is_empty() {
        String::new()
    } else {
        format!(" on sensors matching {}", about.terms.join(" + "))
    };
    let mut facts = Vec::new();
    let mut summary = Vec::new();
    let firing = alerts.iter().filter(|a| a.state == "firing").count();
    facts.push(Fact {
        id: "range".into(),
        text: format!(
            "{} alerts fired{scope} from {since} to {until} ({}); {firing} still firing.",
            alerts.len(),
            about.range
        ),
    });
    summary.push(format!(
        "{} alert(s) fired{scope} {} ({firing} still firing) [range].",
        alerts.len(),
        about.range
    ));

    // Counts per rule and sensor, most frequent first, citing the latest occurrence.
    let mut groups: BTreeMap<(&str, &str), Vec<&AlertRow>> = BTreeMap::new();
    for a in &alerts {
        groups.entry((&a.rule, &a.sensor)).or_default().push(a);
    }
    let mut ranked: Vec<_> = groups.into_iter().collect();
    ranked.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    for ((rule, sensor), list) in ranked.iter().take(MAX_ALERTS) {
        let a = list[0];
        let peak = list.iter().filter_map(|x| x.value).fold(f64::NAN, |m, v| {
            if m.is_nan() || v.abs() > m.abs() {
                v
            } else {
                m
            }
        });
        facts.push(Fact {
            id: format!("alert:{}", a.id),
            text: format!(
                "{} x {} alert `{rule}` on {sensor}, latest fired {}, {}; largest value {} (limit {}); message: \"{}\"",
                list.len(),
                a.severity,
                short_ts(&a.fired_at),
                a.state,
                num(peak),
                a.limit.map_or("none".into(), num),
                a.message
            ),
        });
    }
    if let Some(((rule, sensor), list)) = ranked.first() {
        summary.push(format!(
            "Most frequent: `{rule}` on {sensor}, {} time(s), latest at {} [alert:{}].",
            list.len(),
            list[0].fired_at,
            list[0].id
        ));
    }
    // Semantically related alerts in the range that the counts did not quote.
    for a in related_alerts
        .iter()
        .filter(|a| about.matches(&a.sensor))
        .take(2)
    {
        let id = format!("alert:{}", a.id);
        if !facts.iter().any(|f| f.id == id) {
            facts.push(Fact {
                id,
                text: format!(
                    "{} alert `{}` on {} fired {}: \"{}\"",
                    a.severity,
                    a.rule,
                    a.sensor,
                    short_ts(&a.fired_at),
                    a.message
                ),
            });
        }
    }
    // Peaks of the named sensors from the aggregate windows.
    if !about.terms.is_empty() {
        let aggs = reader.aggregates(None, about.since_ms, about.until_ms, 20_000)?;
        let mut peaks: BTreeMap<&str, &crate::store::reader::AggregateRow> = BTreeMap::new();
        for g in aggs.iter().filter(|g| about.matches(&g.sensor)) {
            let e = peaks.entry(&g.sensor).or_insert(g);
            if g.max > e.max {
                *e = g;
            }
        }
        let mut top: Vec<_> = peaks.iter().collect();
        top.sort_by(|a, b| b.1.max.total_cmp(&a.1.max));
        for (sensor, g) in top.into_iter().take(MAX_PEAKS) {
            facts.push(Fact {
                id: format!("agg:{sensor}@{}", g.window_start),
                text: format!(
                    "{sensor}: highest value {} in the window starting {} (mean {} there)",
                    num(g.max),
                    short_ts(&g.window_start),
                    num(g.mean)
                ),
            });
        }
        if let Some((sensor, g)) = peaks.iter().max_by(|a, b| a.1.max.total_cmp(&b.1.max)) {
            summary.push(format!(
                "Highest reading: {} on {sensor} [agg:{sensor}@{}].",
                num(g.max),
                g.window_start
            ));
        }
    }
    for c in chunks {
        facts.push(Fact {
            id: format!("doc:{}", c.id),
            text: format!(
                "from the document \"{}\": \"{}\"",
                c.title,
                c.text.replace('\n', " ")
            ),
        });
    }
    if let Some(c) = chunks.first() {
        let first = c
            .text
            .split_inclusive(['.', '\n'])
            .next()
            .unwrap_or(&c.text)
            .trim();
        summary.push(format!(
            "The document \"{}\" says: \"{first}\" [doc:{}].",
            c.title, c.id
        ));
    }
    Ok(Facts {
        range: about.range.clone(),
        since,
        until,
        alerts: alerts.len(),
        facts,
        summary,
    })
}

/// A time without its milliseconds: fewer tokens, same meaning here.
fn short_ts(t: &str) -> String {
    match (t.find('.'), t.ends_with('Z')) {
        (Some(dot), true) => format!("{}Z", &t[..dot]),
        _ => t.to_owned(),
    }
}

impl Facts {
    /// The facts block of the prompt: one line per fact, id first; recorded text
    /// stays inside quotes, as data.
    pub fn block(&self) -> String {
        self.facts
            .iter()
            .map(|f| format!("[{}] {}\n", f.id, f.text))
            .collect()
    }

    pub fn deterministic(&self) -> String {
        self.summary.join(" ")
    }
}
