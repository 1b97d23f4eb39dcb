//! A question read as a typed query over the plant, with plain code: what it asks
//! ([`Intent`]), over which time range, for which severity or state of alerts,
//! and about what: numbered assets ("line 2", "motor 3", "m03"), measured
//! quantities ("temperature", "overheating") and other plant words ("coolant",
//! "cabinet") that [`super::resolve`] matches against the sensors the store knows.
//! A follow-up ("and on line 1?") takes what it leaves out from the question before.

use super::timerange::{self, Clock, TimeRange};
use super::vocab::{self, Quantity};

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

/// Words that carry no subject: question words, verbs of asking, alert words.
const STOP: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "all",
    "am",
    "an",
    "and",
    "any",
    "anything",
    "are",
    "around",
    "as",
    "at",
    "be",
    "been",
    "before",
    "below",
    "between",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "during",
    "each",
    "ever",
    "for",
    "from",
    "get",
    "give",
    "go",
    "going",
    "got",
    "had",
    "has",
    "have",
    "how",
    "i",
    "if",
    "in",
    "is",
    "it",
    "its",
    "just",
    "know",
    "last",
    "latest",
    "let",
    "like",
    "me",
    "my",
    "near",
    "now",
    "of",
    "on",
    "or",
    "our",
    "over",
    "past",
    "please",
    "right",
    "say",
    "see",
    "should",
    "show",
    "since",
    "so",
    "some",
    "tell",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "this",
    "those",
    "to",
    "today",
    "too",
    "up",
    "us",
    "was",
    "we",
    "were",
    "what",
    "whats",
    "when",
    "where",
    "which",
    "who",
    "why",
    "will",
    "with",
    "would",
    "you",
    "yesterday",
    "night",
    "week",
    "hour",
    "minute",
    "day",
    "month",
    "time",
    "many",
    "much",
    "number",
    "count",
    "often",
    "list",
    "alert",
    "warning",
    "critical",
    "info",
    "firing",
    "fire",
    "fired",
    "active",
    "open",
    "ongoing",
    "still",
    "resolv",
    "resolve",
    "cleared",
    "clear",
    "happen",
    "highest",
    "lowest",
    "max",
    "maximum",
    "min",
    "minimum",
    "peak",
    "average",
    "mean",
    "avg",
    "current",
    "currently",
    "value",
    "status",
    "ok",
    "okay",
    "fine",
    "normal",
    "healthy",
    "problem",
    "issue",
    "wrong",
    "start",
    "started",
    "begin",
    "began",
    "stop",
    "end",
    "long",
    "duration",
    "compar",
    "compare",
    "versus",
    "vs",
    "more",
    "most",
    "fewer",
    "least",
    "less",
    "top",
    "summary",
    "summarize",
    "summarise",
    "overview",
    "report",
    "runbook",
    "manual",
    "procedure",
    "document",
    "doc",
    "instruction",
    "step",
    "todo",
    "fix",
    "happened",
    "moment",
    "ago",
    "morning",
    "afternoon",
    "evening",
    "overnight",
    "shift",
    "recent",
    "previous",
    "run",
    "went",
    "high",
    "low",
    "higher",
    "lower",
    "reading",
    "measure",
    "measured",
    "incident",
    "event",
    "alarm",
    "trip",
    "trigger",
    "triggered",
    "recorded",
    "seen",
    "reported",
    "sensor",
    "state",
    "happening",
    "recommend",
    "recommended",
    "according",
    "sop",
    "handle",
    "respond",
    "react",
    "troubleshoot",
    "someth",
    "something",
    "everything",
    "recover",
    "back",
    "first",
    "second",
    "total",
    "altogether",
    "far",
    "both",
    "other",
    "same",
    "one",
    "exceed",
    "breach",
    "breached",
    "limit",
    "threshold",
    "check",
    "look",
    "alright",
    "working",
    "work",
    "typical",
    "kind",
    "type",
    "kinds",
    "sort",
    "whole",
    "plant",
    "entire",
];

/// Reads a question asked at `clock`; `previous` is the question before it in a
/// conversation, whose subject a follow-up keeps.
pub fn parse(question: &str, clock: &Clock, previous: Option<&Query>) -> Query {
    let q = question.to_lowercase().replace(['’', '\''], "");
    // Tokens keep ':' and '-' inside ("14:00", "2026-11-30", "motor-overtemp").
    let tokens: Vec<&str> = q
        .split(|c: char| !(c.is_alphanumeric() || c == ':' || c == '-' || c == '.'))
        .map(|t| t.trim_matches(|c: char| c == '.' || c == ':' || c == '-'))
        .filter(|t| !t.is_empty())
        .collect();
    let words: Vec<&str> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let stems: Vec<String> = words.iter().map(|w| vocab::stem(w)).collect();
    let has = |w: &str| words.contains(&w);
    let has_stem = |s: &str| stems.iter().any(|x| x == s);
    let phrase = |p: &str| contains_phrase(&words, p);

    let explicit_range = timerange::parse(&tokens, clock);
    let now_words = phrase("right now")
        || has("currently")
        || phrase("at the moment")
        || (has("now") && !has("since"));
    let (assets, used) = assets(&words);
    let quantities = quantities(&words, &stems);
    let severity =
        if has("critical") || has("crit") || has("severe") || has("emergency") || has("major") {
            Some("critical")
        } else if has_stem("warning") || has("minor") {
            Some("warning")
        } else if has("info") || has("informational") {
            Some("info")
        } else {
            None
        };
    let about_alerts = has_stem("alert")
        || severity.is_some()
        || has_stem("incident")
        || has_stem("event")
        || has("firing")
        || has("fired")
        || has_stem("trip")
        || has_stem("breach")
        || has_stem("problem")
        || has_stem("issue");
    let state = if has("resolved") || has("cleared") || has("closed") {
        Some("resolved")
    } else if has("firing")
        || has("active")
        || has("ongoing")
        || has("unresolved")
        || has("open")
        || has("still")
        || (about_alerts && now_words)
    {
        Some("firing")
    } else {
        None
    };
    let group_by = words
        .windows(2)
        .find(|p| matches!(p[0], "which" | "what") && vocab::is_asset_noun(vocab::asset_noun(p[1])))
        .map(|p| vocab::asset_noun(p[1]).to_owned());
    let fewer = has("fewer") || has("fewest") || has("least") || has("less");
    let comparative = has("more")
        || has("most")
        || fewer
        || has("higher")
        || has("hotter")
        || has("lower")
        || has("worse")
        || has("better")
        || has("colder");
    let same_noun_twice = assets.iter().enumerate().any(|(i, a)| {
        assets[i + 1..]
            .iter()
            .any(|b| b.noun == a.noun && b.number != a.number)
    });
    let how_to = phrase("what should")
        || phrase("what do i do")
        || phrase("what do we do")
        || phrase("what to do")
        || phrase("how do i")
        || phrase("how do we")
        || phrase("how to")
        || phrase("how should")
        || ((phrase("what does the") || phrase("what do the") || phrase("what does our"))
            && (has_stem("runbook")
                || has_stem("manual")
                || has_stem("procedure")
                || has_stem("document")
                || has_stem("guide")
                || has("sop")
                || has_stem("instruction")))
        || has_stem("runbook")
        || has_stem("procedure")
        || has_stem("manual")
        || has_stem("instruction")
        || has_stem("step")
        || has("sop")
        || has_stem("recommend")
        || phrase("according to")
        || has_stem("troubleshoot");
    let intent = if how_to {
        Intent::HowTo
    } else if phrase("how long") || has("duration") || phrase("for how") {
        Intent::Duration
    } else if (has("when") || phrase("what time"))
        && (has_stem("clear")
            || has_stem("resolve")
            || has("resolved")
            || has("stop")
            || has("stopped")
            || has("end")
            || has("ended")
            || has_stem("recover")
            || phrase("back to normal")
            || phrase("return to normal"))
    {
        Intent::Cleared
    } else if has("when")
        || phrase("what time")
        || (has("start") || has("started") || has("began")) && !has("since")
    {
        Intent::Started
    } else if has("compare")
        || has("compared")
        || has("versus")
        || has("vs")
        || (same_noun_twice && (has("or") || comparative))
        || (group_by.is_some() && comparative)
    {
        Intent::Compare
    } else if phrase("how many")
        || phrase("number of")
        || has("count")
        || phrase("how often")
        || has("total")
    {
        Intent::Count
    } else if has("average") || has("mean") || has("avg") || has("typical") || has("typically") {
        Intent::Average
    } else if has("highest")
        || has("max")
        || has("maximum")
        || has("peak")
        || has("peaked")
        || has("hottest")
        || has("warmest")
        || has("top")
        || has("biggest")
        || has("largest")
        || phrase("how high")
        || phrase("how hot")
    {
        Intent::Peak
    } else if has("lowest")
        || has("min")
        || has("minimum")
        || has("coldest")
        || has("smallest")
        || phrase("how low")
    {
        Intent::Low
    } else if !about_alerts
        && (now_words
            || has("current")
            || has("latest")
            || has_stem("value") && !has("values")
            || ((phrase("what is") || phrase("whats") || phrase("what are"))
                && !quantities.is_empty()
                && explicit_range.is_none()))
    {
        Intent::Current
    } else if has("ok")
        || has("okay")
        || has("status")
        || has("healthy")
        || has("health")
        || has("fine")
        || has("normal")
        || has("running")
        || has("working")
        || has("alright")
        || has("wrong")
        || phrase("how is")
        || phrase("hows")
        || phrase("how are")
        || phrase("any problems")
        || phrase("any issues")
    {
        Intent::Status
    } else if has("which")
        || has("list")
        || has("show")
        || has("firing")
        || phrase("what alerts")
        || (about_alerts && !phrase("what happened"))
    {
        Intent::List
    } else {
        Intent::Summary
    };
    let silent_words = has("silent")
        || has("offline")
        || has("reporting")
        || has("dead")
        || phrase("not reporting")
        || phrase("stopped reporting")
        || phrase("stopped sending")
        || phrase("no data")
        || phrase("not sending")
        || phrase("no readings")
        || phrase("gone quiet")
        || has("quiet")
        || phrase("not responding");
    let first = words.first().copied().unwrap_or("");
    let yes_no = matches!(
        first,
        "is" | "are" | "isnt" | "arent" | "was" | "were" | "does" | "do"
    );
    let mut rank = None;
    let intent = match intent {
        _ if silent_words
            && !matches!(
                intent,
                Intent::HowTo
                    | Intent::Started
                    | Intent::Cleared
                    | Intent::Duration
                    | Intent::Count
            ) =>
        {
            Intent::Silent
        }
        // "temp of L2 M3?": a quantity and no range asks for its value.
        Intent::Summary if !quantities.is_empty() && explicit_range.is_none() && !about_alerts => {
            Intent::Current
        }
        // "is motor 3 overheating now?" asks whether anything is wrong.
        Intent::Current if yes_no => Intent::Status,
        // "what went wrong last night" is about then, not now.
        Intent::Status
            if explicit_range
                .as_ref()
                .is_some_and(|r| r.until_ms < clock.now_ms - 60_000) =>
        {
            Intent::Summary
        }
        // "show me line 2 motor 3 temperature": its value.
        Intent::List if !about_alerts && !quantities.is_empty() && explicit_range.is_none() => {
            Intent::Current
        }
        // "the temperature of motor 1 at 17:30": what it read around then.
        Intent::Summary
            if !about_alerts
                && !quantities.is_empty()
                && explicit_range
                    .as_ref()
                    .is_some_and(|r| r.label.starts_with("around")) =>
        {
            Intent::Average
        }
        Intent::Peak | Intent::Low if now_words && explicit_range.is_none() => {
            rank = Some(intent == Intent::Peak);
            Intent::Current
        }
        i => i,
    };
    // "how long was the alarm active": the lifecycle answer says whether it still is.
    let state = if matches!(intent, Intent::Started | Intent::Cleared | Intent::Duration) {
        None
    } else {
        state
    };
    let default_hours = match intent {
        // "When did it start" looks further back than a day.
        Intent::Started | Intent::Cleared | Intent::Duration => 7 * 24,
        _ => 24,
    };
    let range = explicit_range.unwrap_or_else(|| timerange::default_range(clock, default_hours));
    let mut content = Vec::new();
    for (i, s) in stems.iter().enumerate() {
        let w = words[i];
        if used.contains(&i)
            || w.chars().all(|c| c.is_ascii_digit())
            || w.len() < 2
            || STOP.contains(&s.as_str())
            || STOP.contains(&w)
            || vocab::quantity_of_word(s).is_some()
            || vocab::number_word(w).is_some()
            || tokens.iter().any(|t| t.contains(':') && t.contains(w))
        {
            continue;
        }
        // "current" is the quantity only beside a word of electricity.
        if w == "current" {
            continue;
        }
        if !content.contains(s) {
            content.push(s.clone());
        }
    }
    let mut query = Query {
        intent,
        range,
        severity,
        state,
        assets,
        quantities,
        words: content,
        group_by,
        about_alerts,
        fewer,
        rank,
    };
    if let Some(prev) = previous {
        if is_follow_up(&words, &query) {
            query = follow_up(query, prev);
        }
    }
    query
}

/// "and on line 1?", "what about motor 2", "and yesterday?": short, and asks
/// nothing of its own.
fn is_follow_up(words: &[&str], q: &Query) -> bool {
    let opener = matches!(words.first(), Some(&"and") | Some(&"also") | Some(&"same"))
        || contains_phrase(words, "what about")
        || contains_phrase(words, "how about");
    opener
        && words.len() <= 8
        && matches!(q.intent, Intent::Summary | Intent::List | Intent::Status)
        || (words.len() <= 4 && matches!(q.intent, Intent::Summary) && q.quantities.is_empty())
}

fn follow_up(mut q: Query, prev: &Query) -> Query {
    q.intent = prev.intent;
    if !q.range.explicit {
        q.range = prev.range.clone();
    }
    q.severity = q.severity.or(prev.severity);
    q.state = q.state.or(prev.state);
    q.about_alerts |= prev.about_alerts;
    if q.quantities.is_empty() {
        q.quantities = prev.quantities.clone();
    }
    if q.words.is_empty() {
        q.words = prev.words.clone();
    }
    // A new "line 1" replaces the old line; the old motor stays unless renamed.
    let mut assets: Vec<AssetRef> = prev
        .assets
        .iter()
        .filter(|a| !q.assets.iter().any(|n| n.noun == a.noun))
        .cloned()
        .collect();
    assets.extend(q.assets.iter().cloned());
    q.assets = assets;
    q.group_by = q.group_by.or_else(|| prev.group_by.clone());
    q
}

fn contains_phrase(words: &[&str], phrase: &str) -> bool {
    let p: Vec<&str> = phrase.split(' ').collect();
    words.windows(p.len()).any(|w| w == p.as_slice())
}

/// Numbered assets and the word positions they took: "line 2", "line2", "l2",
/// "motor #3", "m03", "line two", "the third motor".
fn assets(words: &[&str]) -> (Vec<AssetRef>, Vec<usize>) {
    let mut out: Vec<AssetRef> = Vec::new();
    let mut used = Vec::new();
    let mut push = |noun: &str, number: u32, at: &[usize], out: &mut Vec<AssetRef>| {
        let r = AssetRef {
            noun: noun.to_owned(),
            number,
        };
        if !out.contains(&r) {
            out.push(r);
        }
        used.extend_from_slice(at);
    };
    let time_unit = |w: &str| {
        matches!(
            w,
            "hour"
                | "hours"
                | "h"
                | "hr"
                | "hrs"
                | "min"
                | "mins"
                | "minute"
                | "minutes"
                | "m"
                | "day"
                | "days"
                | "d"
                | "week"
                | "weeks"
                | "w"
                | "second"
                | "seconds"
                | "s"
                | "sec"
                | "month"
                | "months"
                | "am"
                | "pm"
        )
    };
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).copied();
        let noun = vocab::asset_noun(vocab::stem(w).as_str()).to_owned();
        let noun = if vocab::is_asset_noun(&noun) {
            noun
        } else {
            vocab::asset_noun(w).to_owned()
        };
        if vocab::is_asset_noun(&noun) && noun != "plant" {
            // "line 2", "motor no 3", "line two"
            let mut j = i + 1;
            if matches!(next, Some("no") | Some("nr") | Some("number") | Some("num")) {
                j += 1;
            }
            if let Some(n) = words
                .get(j)
                .and_then(|x| x.parse::<u32>().ok().or_else(|| vocab::number_word(x)))
            {
                if !words.get(j + 1).is_some_and(|u| time_unit(u)) {
                    push(&noun, n, &[i, j], &mut out);
                    continue;
                }
            }
            // "the third motor"
            if let Some(n) = i.checked_sub(1).and_then(|p| vocab::number_word(words[p])) {
                if i >= 2 && words[i - 2] == "the" {
                    push(&noun, n, &[i - 1, i], &mut out);
                }
            }
            continue;
        }
        // "line2", "l2", "m03", "motor3"
        let split = w.find(|c: char| c.is_ascii_digit());
        if let Some(at) = split.filter(|at| *at > 0) {
            let (letters, digits) = w.split_at(at);
            if let (Ok(n), true) = (
                digits.parse::<u32>(),
                letters.chars().all(|c| c.is_alphabetic()),
            ) {
                let noun = vocab::asset_noun(letters);
                if vocab::is_asset_noun(noun) && !time_unit(letters)
                    || letters == "m" && !time_unit_context(words, i)
                {
                    push(noun, n, &[i], &mut out);
                }
            }
        }
    }
    (out, used)
}

/// "30m ago" is a time; "m3" is a motor.
fn time_unit_context(words: &[&str], i: usize) -> bool {
    matches!(words.get(i + 1), Some(&"ago"))
}

fn quantities(words: &[&str], stems: &[String]) -> Vec<Quantity> {
    let mut out = Vec::new();
    for (i, s) in stems.iter().enumerate() {
        let q = vocab::quantity_of_word(s).or_else(|| {
            // "motor current", "current draw", "amps": the electrical quantity.
            (words[i] == "current"
                && (matches!(words.get(i + 1), Some(&"draw") | Some(&"consumption"))
                    || i > 0
                        && vocab::is_asset_noun(vocab::asset_noun(words[i - 1]))
                        && !matches!(
                            words.get(i + 1),
                            Some(&"value") | Some(&"reading") | Some(&"status") | Some(&"state")
                        )))
            .then_some(Quantity::Current)
        });
        if let Some(q) = q {
            // "press 2" is an asset, not pressure.
            if s == "press" && words.get(i + 1).is_some_and(|n| n.parse::<u32>().is_ok()) {
                continue;
            }
            if !out.contains(&q) {
                out.push(q);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::TimeZone;

    // 2026-11-19T14:00:00Z, a Thursday.
    const NOW: i64 = 1_795_096_800_000;
    const HOUR: i64 = 3_600_000;

    fn q(text: &str) -> Query {
        parse(text, &Clock::new(TimeZone::UTC, NOW), None)
    }

    fn refs(q: &Query) -> Vec<String> {
        q.assets.iter().map(AssetRef::label).collect()
    }

    #[test]
    fn intents_as_engineers_write_them() {
        let cases = [
            (
                "how many critical alerts in the last 6 hours?",
                Intent::Count,
            ),
            ("How many warnings since 2 hours ago", Intent::Count),
            (
                "which line had more alerts today, line 1 or line 2?",
                Intent::Compare,
            ),
            (
                "what does the runbook say to do when a motor overheats?",
                Intent::HowTo,
            ),
            (
                "what should I do if the cabinet humidity is high",
                Intent::HowTo,
            ),
            (
                "what is the temperature of line 2 motor 3 right now?",
                Intent::Current,
            ),
            (
                "current value of the coolant flow on line 1",
                Intent::Current,
            ),
            ("is the electrical cabinet on line 2 OK?", Intent::Status),
            (
                "when did the overheating on motor 3 start?",
                Intent::Started,
            ),
            ("when did the humidity alarm clear", Intent::Cleared),
            ("for how long was motor 1 overheating", Intent::Duration),
            ("average pressure on line 1 today", Intent::Average),
            ("highest temperature today", Intent::Peak),
            ("what was the lowest coolant flow yesterday", Intent::Low),
            ("what is firing right now?", Intent::List),
            ("which motors ran hot today?", Intent::List),
            ("what happened on line 2 last night?", Intent::Summary),
            ("any alerts on line 1?", Intent::List),
            ("show me line 2 motor 3 temperature", Intent::Current),
            (
                "what was the temperature of motor 1 line 1 at 17:30?",
                Intent::Average,
            ),
        ];
        for (text, intent) in cases {
            assert_eq!(q(text).intent, intent, "{text}");
        }
    }

    #[test]
    fn filters_and_subjects() {
        let a = q("how many critical alerts in the last 6 hours?");
        assert_eq!(
            (a.severity, a.range.since_ms),
            (Some("critical"), NOW - 6 * HOUR)
        );
        assert!(
            a.assets.is_empty(),
            "the 6 of 6 hours is no asset: {:?}",
            a.assets
        );
        let b = q("what is the temperature of line 2 motor 3 right now?");
        assert_eq!(refs(&b), ["line 2", "motor 3"]);
        assert_eq!(b.quantities, [Quantity::Temperature]);
        assert_eq!(refs(&q("m03 on l2")), ["motor 3", "line 2"]);
        assert_eq!(
            refs(&q("vibration of the third motor on line two")),
            ["motor 3", "line 2"]
        );
        let c = q("is the coolant flow on line 1 ok");
        assert_eq!(
            (c.quantities.as_slice(), c.words.as_slice()),
            (
                [Quantity::Flow].as_slice(),
                ["coolant".to_owned()].as_slice()
            )
        );
        let d = q("which line had more alerts today, line 1 or line 2?");
        assert_eq!(
            (refs(&d), d.group_by.as_deref()),
            (vec!["line 1".to_owned(), "line 2".to_owned()], Some("line"))
        );
        assert_eq!(q("what is firing right now").state, Some("firing"));
        assert_eq!(
            q("how many alerts were resolved today").state,
            Some("resolved")
        );
        assert_eq!(q("motor current of m2").quantities, [Quantity::Current]);
        assert!(q("current temperature of m2").quantities == [Quantity::Temperature]);
        assert_eq!(
            q("when did it start").range.since_ms,
            NOW - 7 * 24 * HOUR,
            "when looks back a week"
        );
    }

    #[test]
    fn follow_ups_keep_the_subject() {
        let clock = Clock::new(TimeZone::UTC, NOW);
        let first = parse("how many critical alerts on line 2 today?", &clock, None);
        let next = parse("and on line 1?", &clock, Some(&first));
        assert_eq!(
            (next.intent, next.severity),
            (Intent::Count, Some("critical"))
        );
        assert_eq!(refs(&next), ["line 1"]);
        assert_eq!(next.range, first.range);
        let other = parse(
            "what is the temperature of motor 3 on line 2",
            &clock,
            Some(&first),
        );
        assert_eq!(
            other.intent,
            Intent::Current,
            "a whole question is not a follow-up"
        );
    }
}
