//! A question read as a typed query over the plant, with plain code: what it asks
//! ([`Intent`]), over which time range, for which severity or state of alerts,
//! and about what: numbered assets ("line 2", "motor 3", "m03"), measured
//! quantities ("temperature", "overheating") and other plant words ("coolant",
//! "cabinet") that [`super::resolve`] matches against the sensors the store knows.
//! A follow-up ("and on line 1?") takes what it leaves out from the question before.

mod assets;
mod cues;
mod follow_up;
mod intent;
mod stop_words;
mod words;

use super::timerange::{self, Clock, TimeRange};
use super::vocab::Quantity;
use intent::Cues;
use words::Words;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// How many alerts.
    Count,
    /// Which alerts / which sensors or assets had them.
    List,
    /// Highest value.
    Peak,
    /// Lowest value.
    Low,
    Average,
    /// The latest reading.
    Current,
    /// Is it OK: firing alerts, silent sensors, latest readings.
    Status,
    /// Which sensors have stopped reporting.
    Silent,
    /// When an alert started.
    Started,
    /// When an alert cleared.
    Cleared,
    /// How long an alert lasted.
    Duration,
    /// Two or more assets side by side.
    Compare,
    /// What happened: alerts and the values around them.
    Summary,
    /// What a document says to do.
    HowTo,
}

impl Intent {
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Count => "count",
            Intent::List => "list",
            Intent::Peak => "peak",
            Intent::Low => "low",
            Intent::Average => "average",
            Intent::Current => "current",
            Intent::Status => "status",
            Intent::Silent => "silent",
            Intent::Started => "started",
            Intent::Cleared => "cleared",
            Intent::Duration => "duration",
            Intent::Compare => "compare",
            Intent::Summary => "summary",
            Intent::HowTo => "how-to",
        }
    }
}

/// An asset named with its number: `line 2`, `motor 3`, `m03`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRef {
    /// Canonical noun (`motor` for "m", "mot", "motors").
    pub noun: String,
    pub number: u32,
}

impl AssetRef {
    pub fn label(&self) -> String {
        format!("{} {}", self.noun, self.number)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub intent: Intent,
    pub range: TimeRange,
    pub severity: Option<&'static str>,
    /// `firing` or `resolved`.
    pub state: Option<&'static str>,
    pub assets: Vec<AssetRef>,
    pub quantities: Vec<Quantity>,
    /// Other content words, stemmed ("coolant", "cabinet", "bearing").
    pub words: Vec<String>,
    /// "which line ...": the noun the answer is grouped by.
    pub group_by: Option<String>,
    /// Whether the question is about alerts (alarms, warnings, incidents, firing).
    pub about_alerts: bool,
    /// "more", "most", "hotter": a comparison asks for the larger first.
    pub fewer: bool,
    /// Current values ranked: `Some(true)` highest first ("which pump has the
    /// lowest pressure right now" is `Some(false)`).
    pub rank: Option<bool>,
}

/// Reads a question asked at `clock`; `previous` is the question before it in a
/// conversation, whose subject a follow-up keeps.
pub fn parse(question: &str, clock: &Clock, previous: Option<&Query>) -> Query {
    let lower = question.to_lowercase().replace(['’', '\''], "");
    let w = Words::new(&lower);
    let explicit_range = timerange::parse(&w.tokens, clock);
    let now = cues::about_now(&w);
    let (assets, used) = assets::assets(&w.words);
    let quantities = assets::quantities(&w.words, &w.stems);
    let severity = cues::severity(&w);
    let about_alerts = cues::about_alerts(&w, severity);
    let group_by = cues::group_by(&w);
    let same_noun_twice = assets.iter().enumerate().any(|(i, a)| {
        assets[i + 1..]
            .iter()
            .any(|b| b.noun == a.noun && b.number != a.number)
    });
    let cues = Cues {
        now,
        about_alerts,
        has_quantities: !quantities.is_empty(),
        range: explicit_range.as_ref(),
        same_noun_twice,
        grouped: group_by.is_some(),
    };
    let (intent, rank) = intent::intent(&w, &cues, clock);
    let lifecycle = matches!(intent, Intent::Started | Intent::Cleared | Intent::Duration);
    // "how long was the alarm active": the lifecycle answer says whether it still is.
    let state = if lifecycle {
        None
    } else {
        cues::state(&w, about_alerts, now)
    };
    // "When did it start" looks further back than a day.
    let default_hours = if lifecycle { 7 * 24 } else { 24 };
    let range = explicit_range.unwrap_or_else(|| timerange::default_range(clock, default_hours));
    let mut query = Query {
        intent,
        range,
        severity,
        state,
        assets,
        quantities,
        words: w.content(&used),
        group_by,
        about_alerts,
        fewer: cues::fewer(&w),
        rank,
    };
    if let Some(prev) = previous {
        if follow_up::is_follow_up(&w.words, &query) {
            query = follow_up::follow_up(query, prev);
        }
    }
    query
}

#[cfg(test)]
mod tests;
