//! What a question asks ([`Intent`]), read from its words in a fixed order of
//! precedence: a how-to question stays one whatever else it names, "how long"
//! comes before "when", "when did it clear" before "when did it start", and so on
//! down to a summary of what happened. A second pass corrects the readings that
//! the first gets wrong on its own (a quantity with no range asks for its value).

use super::cues;
use super::words::Words;
use super::Intent;
use crate::knowledge::timerange::{Clock, TimeRange};

/// What the rest of the question says, as far as the intent depends on it.
pub(super) struct Cues<'a> {
    pub now: bool,
    pub about_alerts: bool,
    pub has_quantities: bool,
    pub range: Option<&'a TimeRange>,
    /// "line 1 or line 2": the same noun with two numbers.
    pub same_noun_twice: bool,
    pub grouped: bool,
}

/// The intent, and for current values whether they are ranked highest first.
pub(super) fn intent(w: &Words, c: &Cues, clock: &Clock) -> (Intent, Option<bool>) {
    refine(first_reading(w, c), w, c, clock)
}

fn first_reading(w: &Words, c: &Cues) -> Intent {
    let asks_when = w.has("when") || w.phrase("what time");
    if how_to(w) {
        Intent::HowTo
    } else if w.phrase("how long") || w.has("duration") || w.phrase("for how") {
        Intent::Duration
    } else if asks_when && asks_end(w) {
        Intent::Cleared
    } else if asks_when || w.any(&["start", "started", "began"]) && !w.has("since") {
        Intent::Started
    } else if compares(w, c) {
        Intent::Compare
    } else if w.any_phrase(&["how many", "number of", "how often"]) || w.any(&["count", "total"]) {
        Intent::Count
    } else if w.any(&["average", "mean", "avg", "typical", "typically"]) {
        Intent::Average
    } else if asks_peak(w) {
        Intent::Peak
    } else if w.any(&["lowest", "min", "minimum", "coldest", "smallest"]) || w.phrase("how low") {
        Intent::Low
    } else if !c.about_alerts && asks_value(w, c) {
        Intent::Current
    } else if asks_status(w) {
        Intent::Status
    } else if w.any(&["which", "list", "show", "firing"])
        || w.phrase("what alerts")
        || (c.about_alerts && !w.phrase("what happened"))
    {
        Intent::List
    } else {
        Intent::Summary
    }
}

/// "what should I do", "according to the runbook", "how to reset".
fn how_to(w: &Words) -> bool {
    const DOCUMENTS: &[&str] = &[
        "runbook",
        "manual",
        "procedure",
        "document",
        "guide",
        "instruction",
    ];
    w.any_phrase(&[
        "what should",
        "what do i do",
        "what do we do",
        "what to do",
        "how do i",
        "how do we",
        "how to",
        "how should",
        "according to",
    ]) || (w.any_phrase(&["what does the", "what do the", "what does our"])
        && (w.any_stem(DOCUMENTS) || w.has("sop")))
        || w.any_stem(&[
            "runbook",
            "procedure",
            "manual",
            "instruction",
            "step",
            "recommend",
            "troubleshoot",
        ])
        || w.has("sop")
}

/// "... clear", "... stop", "... back to normal".
fn asks_end(w: &Words) -> bool {
    w.any_stem(&["clear", "resolve", "recover"])
        || w.any(&["resolved", "stop", "stopped", "end", "ended"])
        || w.any_phrase(&["back to normal", "return to normal"])
}

fn compares(w: &Words, c: &Cues) -> bool {
    let comparative = cues::comparative(w);
    w.any(&["compare", "compared", "versus", "vs"])
        || (c.same_noun_twice && (w.has("or") || comparative))
        || (c.grouped && comparative)
}

fn asks_peak(w: &Words) -> bool {
    w.any(&[
        "highest", "max", "maximum", "peak", "peaked", "hottest", "warmest", "top", "biggest",
        "largest",
    ]) || w.any_phrase(&["how high", "how hot"])
}

/// "temperature now", "latest value", "what is the pressure".
fn asks_value(w: &Words, c: &Cues) -> bool {
    c.now
        || w.any(&["current", "latest"])
        || w.has_stem("value") && !w.has("values")
        || (w.any_phrase(&["what is", "whats", "what are"])
            && c.has_quantities
            && c.range.is_none())
}

/// "is line 2 OK", "how is motor 3", "any problems".
fn asks_status(w: &Words) -> bool {
    w.any(&[
        "ok", "okay", "status", "healthy", "health", "fine", "normal", "running", "working",
        "alright", "wrong",
    ]) || w.any_phrase(&["how is", "hows", "how are", "any problems", "any issues"])
}

/// Corrections the first reading needs from the rest of the question.
fn refine(intent: Intent, w: &Words, c: &Cues, clock: &Clock) -> (Intent, Option<bool>) {
    let lifecycle_or_count = matches!(
        intent,
        Intent::HowTo | Intent::Started | Intent::Cleared | Intent::Duration | Intent::Count
    );
    let mut rank = None;
    let refined = match intent {
        _ if cues::about_silence(w) && !lifecycle_or_count => Intent::Silent,
        // "temp of L2 M3?": a quantity and no range asks for its value.
        Intent::Summary if c.has_quantities && c.range.is_none() && !c.about_alerts => {
            Intent::Current
        }
        // "is motor 3 overheating now?" asks whether anything is wrong.
        Intent::Current if cues::yes_no(w) => Intent::Status,
        // "what went wrong last night" is about then, not now.
        Intent::Status if c.range.is_some_and(|r| r.until_ms < clock.now_ms - 60_000) => {
            Intent::Summary
        }
        // "show me line 2 motor 3 temperature": its value.
        Intent::List if !c.about_alerts && c.has_quantities && c.range.is_none() => Intent::Current,
        // "the temperature of motor 1 at 17:30": what it read around then.
        Intent::Summary
            if !c.about_alerts
                && c.has_quantities
                && c.range.is_some_and(|r| r.label.starts_with("around")) =>
        {
            Intent::Average
        }
        Intent::Peak | Intent::Low if c.now && c.range.is_none() => {
            rank = Some(intent == Intent::Peak);
            Intent::Current
        }
        i => i,
    };
    (refined, rank)
}
