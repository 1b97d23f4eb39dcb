//! What a question says besides its subject: the severity and state of the
//! alerts it asks about, whether it asks about now, whether it compares.

use super::words::Words;
use crate::knowledge::vocab;

/// "right now", "currently", "at the moment".
pub(super) fn about_now(w: &Words) -> bool {
    w.phrase("right now")
        || w.has("currently")
        || w.phrase("at the moment")
        || (w.has("now") && !w.has("since"))
}

pub(super) fn severity(w: &Words) -> Option<&'static str> {
    if w.any(&["critical", "crit", "severe", "emergency", "major"]) {
        Some("critical")
    } else if w.has_stem("warning") || w.has("minor") {
        Some("warning")
    } else if w.any(&["info", "informational"]) {
        Some("info")
    } else {
        None
    }
}

/// Alarms, warnings, incidents, trips, anything firing.
pub(super) fn about_alerts(w: &Words, severity: Option<&str>) -> bool {
    severity.is_some()
        || w.any_stem(&[
            "alert", "incident", "event", "trip", "breach", "problem", "issue",
        ])
        || w.any(&["firing", "fired"])
}

/// `firing` or `resolved`.
pub(super) fn state(w: &Words, about_alerts: bool, now: bool) -> Option<&'static str> {
    if w.any(&["resolved", "cleared", "closed"]) {
        Some("resolved")
    } else if w.any(&["firing", "active", "ongoing", "unresolved", "open", "still"])
        || (about_alerts && now)
    {
        Some("firing")
    } else {
        None
    }
}

/// "which line ...", "what motor ...": the noun the answer is grouped by.
pub(super) fn group_by(w: &Words) -> Option<String> {
    w.words
        .windows(2)
        .find(|p| matches!(p[0], "which" | "what") && vocab::is_asset_noun(vocab::asset_noun(p[1])))
        .map(|p| vocab::asset_noun(p[1]).to_owned())
}

/// "fewer", "least": a comparison that asks for the smaller first.
pub(super) fn fewer(w: &Words) -> bool {
    w.any(&["fewer", "fewest", "least", "less"])
}

/// "more", "hotter", "worse": two things set against each other.
pub(super) fn comparative(w: &Words) -> bool {
    fewer(w)
        || w.any(&[
            "more", "most", "higher", "hotter", "lower", "worse", "better", "colder",
        ])
}

/// "offline", "not reporting", "gone quiet".
pub(super) fn about_silence(w: &Words) -> bool {
    w.any(&["silent", "offline", "reporting", "dead", "quiet"])
        || w.any_phrase(&[
            "not reporting",
            "stopped reporting",
            "stopped sending",
            "no data",
            "not sending",
            "no readings",
            "gone quiet",
            "not responding",
        ])
}

/// "is it ...", "are the ...", "does ...": asks yes or no.
pub(super) fn yes_no(w: &Words) -> bool {
    matches!(
        w.first(),
        "is" | "are" | "isnt" | "arent" | "was" | "were" | "does" | "do"
    )
}
