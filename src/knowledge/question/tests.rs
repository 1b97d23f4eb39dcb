//! Questions as engineers type them, read into queries.

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
