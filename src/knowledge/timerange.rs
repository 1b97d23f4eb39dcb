//! Time ranges as engineers write them, read in the site's time zone
//! (`gateway.time-zone`): "last 6 hours", "past hour", "6h", "since 2 hours ago",
//! "since 14:00", "since Monday", "today", "yesterday", "last night", "this
//! morning", "this week", "between 10:00 and 12:00", "on 2026-11-30", "30 min ago".
//! Pure: the moment "now" is an argument.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ZonedDateTime};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

#[derive(Debug, Clone, PartialEq)]
pub struct TimeRange {
    pub since_ms: i64,
    pub until_ms: i64,
    /// Reads after a verb: "in the last 6 hours", "today", "since 14:00".
    pub label: String,
    /// Whether the question named the range (else the default was taken).
    pub explicit: bool,
}

/// The site's clock: a time zone and the moment of the question.
#[derive(Debug, Clone)]
pub struct Clock {
    pub tz: TimeZone,
    pub now_ms: i64,
}

impl Clock {
    pub fn new(tz: TimeZone, now_ms: i64) -> Clock {
        Clock { tz, now_ms }
    }

    fn now(&self) -> ZonedDateTime {
        Timestamp::from_millisecond(self.now_ms)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned_datetime(self.tz.clone())
    }

    fn today(&self) -> Date {
        self.now().date()
    }

    /// Milliseconds of a wall-clock time on a date in the site's zone.
    fn at(&self, date: Date, hour: i8, minute: i8) -> i64 {
        date.at(hour, minute, 0, 0)
            .to_zoned_datetime(self.tz.clone())
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(self.now_ms)
    }

    fn day_start(&self, date: Date) -> i64 {
        self.at(date, 0, 0)
    }

    fn days_before(&self, date: Date, n: i64) -> Date {
        date.checked_sub(Span::new().days(n)).unwrap_or(date)
    }

    /// A time for answers: "18:40" today, "Mon 30 Nov 18:40" on another day.
    pub fn show(&self, ms: i64) -> String {
        let Ok(t) = Timestamp::from_millisecond(ms) else {
            return ms.to_string();
        };
        let z = t.to_zoned_datetime(self.tz.clone());
        if z.date() == self.today() {
            z.strftime("%H:%M").to_string()
        } else if z.date().year() == self.today().year() {
            z.strftime("%a %d %b %H:%M").to_string()
        } else {
            z.strftime("%Y-%m-%d %H:%M").to_string()
        }
    }

    /// The zone's name for notes ("UTC", "Europe/Berlin", "UTC+05:30").
    pub fn zone_name(&self) -> String {
        match self.tz.iana_name() {
            Some(n) => n.to_owned(),
            None => {
                let at = Timestamp::from_millisecond(self.now_ms).unwrap_or(Timestamp::UNIX_EPOCH);
                format!("UTC{}", self.tz.to_offset(at))
            }
        }
    }
}

/// The range a question names, if it names one. `tokens` are the question's
/// lower-case words with `:` and `-` kept inside them ("14:00", "2026-11-30").
pub fn parse(tokens: &[&str], clock: &Clock) -> Option<TimeRange> {
    let now = clock.now_ms;
    let today = clock.today();
    let range = |since: i64, until: i64, label: String| {
        Some(TimeRange {
            since_ms: since.min(now),
            until_ms: until.min(now),
            label,
            explicit: true,
        })
    };
    let has = |w: &str| tokens.contains(&w);
    let pair = |a: &str, b: &str| tokens.windows(2).any(|p| p[0] == a && p[1] == b);

    // between X and Y / from X to Y (clock times or dates)
    for (i, t) in tokens.iter().enumerate() {
        if matches!(*t, "between" | "from") {
            if let Some((a, used)) = point(&tokens[i + 1..], clock) {
                let rest = &tokens[i + 1 + used..];
                if rest
                    .first()
                    .is_some_and(|s| matches!(*s, "and" | "to" | "until" | "till"))
                {
                    if let Some((b, _)) = point(&rest[1..], clock) {
                        let b_end = if b.is_day { b.ms + DAY } else { b.ms };
                        if b_end > a.ms {
                            return range(
                                a.ms,
                                b_end,
                                format!("between {} and {}", a.label, b.label),
                            );
                        }
                    }
                }
            }
        }
    }
    // since X
    for (i, t) in tokens.iter().enumerate() {
        if *t == "since" {
            let rest = &tokens[i + 1..];
            if let Some((ms, label)) = ago(rest, now) {
                return range(ms, now, format!("since {label}"));
            }
            if let Some((p, _)) = point(rest, clock) {
                return range(p.ms, now, format!("since {}", p.label));
            }
        }
    }
    // last / past / previous N units, "in the last hour", "the past 24h"
    for (i, t) in tokens.iter().enumerate() {
        if matches!(*t, "last" | "past" | "previous" | "recent" | "trailing") {
            // "last week" is the calendar week, "the last week" the last 7 days.
            let next = tokens.get(i + 1).copied();
            let after_the = i > 0 && tokens[i - 1] == "the";
            if *t == "last" && !after_the && matches!(next, Some("week" | "month" | "night")) {
                continue;
            }
            if let Some((n, unit, label)) = amount(&tokens[i + 1..]) {
                return range(now - n * unit, now, format!("in the last {label}"));
            }
        }
    }
    // "at 18:40", "around 2pm": a quarter of an hour either side.
    for (i, t) in tokens.iter().enumerate() {
        if matches!(*t, "at" | "around" | "about" | "near") {
            if let Some((h, m, _)) = clock_time(&tokens[i + 1..]) {
                let mut at = clock.at(today, h, m);
                if at > now {
                    at = clock.at(clock.days_before(today, 1), h, m);
                }
                return range(
                    at - 15 * MINUTE,
                    at + 15 * MINUTE,
                    format!("around {h:02}:{m:02}"),
                );
            }
        }
    }
    // "N units ago" without "since"
    for i in 0..tokens.len() {
        if let Some((ms, label)) = ago(&tokens[i..], now) {
            return range(ms, now, format!("since {label}"));
        }
    }
    // "6h", "30m", "2d" on their own ("alerts 6h")
    for t in tokens {
        if let Some((n, unit, label)) = compact(t) {
            return range(now - n * unit, now, format!("in the last {label}"));
        }
    }
    if pair("last", "night") || has("overnight") || has("tonight") {
        let start = clock.at(clock.days_before(today, 1), 18, 0);
        let end = clock.at(today, 6, 0);
        return range(start, end, "last night (18:00 to 06:00)".into());
    }
    for (part, from, to) in [
        ("morning", 6, 12),
        ("afternoon", 12, 18),
        ("evening", 18, 24),
    ] {
        if has(part) {
            let day = if has("yesterday") {
                clock.days_before(today, 1)
            } else {
                today
            };
            let start = clock.at(day, from, 0);
            let end = if to == 24 {
                clock.day_start(clock.days_before(day, -1))
            } else {
                clock.at(day, to, 0)
            };
            let which = if has("yesterday") {
                "yesterday"
            } else {
                "this"
            };
            return range(
                start,
                end,
                format!("{which} {part} ({from:02}:00 to {to:02}:00)"),
            );
        }
    }
    if has("yesterday") {
        let y = clock.days_before(today, 1);
        return range(
            clock.day_start(y),
            clock.day_start(today),
            "yesterday".into(),
        );
    }
    if has("today") || pair("this", "day") {
        return range(clock.day_start(today), now, "today".into());
    }
    let monday = clock.days_before(today, today.weekday().to_monday_zero_offset() as i64);
    if pair("this", "week") {
        return range(
            clock.day_start(monday),
            now,
            "this week (since Monday)".into(),
        );
    }
    if pair("last", "week") {
        let start = clock.days_before(monday, 7);
        return range(
            clock.day_start(start),
            clock.day_start(monday),
            "last week".into(),
        );
    }
    if pair("this", "month") {
        return range(
            clock.day_start(today.first_of_month()),
            now,
            "this month".into(),
        );
    }
    if pair("this", "shift") {
        return range(now - 8 * HOUR, now, "this shift (the last 8 hours)".into());
    }
    // A named day: "on Monday", "on 2026-11-30".
    for (i, t) in tokens.iter().enumerate() {
        if let Some(p) = day_point(t, clock) {
            let prev = i.checked_sub(1).map(|j| tokens[j]);
            if prev != Some("since") {
                return range(p.ms, p.ms + DAY, format!("on {}", p.label));
            }
        }
    }
    None
}

/// The range when a question names none.
pub fn default_range(clock: &Clock, hours: i64) -> TimeRange {
    TimeRange {
        since_ms: clock.now_ms - hours * HOUR,
        until_ms: clock.now_ms,
        label: if hours == 24 {
            "in the last 24 hours".into()
        } else if hours % 24 == 0 {
            format!("in the last {} days", hours / 24)
        } else {
            format!("in the last {hours} hours")
        },
        explicit: false,
    }
}

struct Point {
    ms: i64,
    label: String,
    /// A whole day (its end is the next midnight).
    is_day: bool,
}

/// A clock time today ("14:00", "2pm", "2 pm", "noon") or a day; with how many
/// tokens it took.
fn point(tokens: &[&str], clock: &Clock) -> Option<(Point, usize)> {
    let first = *tokens.first()?;
    if let Some(p) = day_point(first, clock) {
        // "monday 14:00"
        if let Some((h, m, used)) = clock_time(&tokens[1..]) {
            let date = Timestamp::from_millisecond(p.ms)
                .ok()?
                .to_zoned_datetime(clock.tz.clone())
                .date();
            return Some((
                Point {
                    ms: clock.at(date, h, m),
                    label: format!("{} {h:02}:{m:02}", p.label),
                    is_day: false,
                },
                1 + used,
            ));
        }
        return Some((p, 1));
    }
    if matches!(first, "yesterday") {
        let y = clock.days_before(clock.today(), 1);
        return Some((
            Point {
                ms: clock.day_start(y),
                label: "yesterday".into(),
                is_day: true,
            },
            1,
        ));
    }
    if matches!(first, "today") {
        return Some((
            Point {
                ms: clock.day_start(clock.today()),
                label: "today".into(),
                is_day: true,
            },
            1,
        ));
    }
    let (h, m, used) = clock_time(tokens)?;
    let mut date = clock.today();
    let mut ms = clock.at(date, h, m);
    // "since 23:00" asked at 01:00 means yesterday's 23:00.
    if ms > clock.now_ms {
        date = clock.days_before(date, 1);
        ms = clock.at(date, h, m);
    }
    Some((
        Point {
            ms,
            label: format!("{h:02}:{m:02}"),
            is_day: false,
        },
        used,
    ))
}

/// A weekday (the latest one not after today) or an ISO date.
fn day_point(t: &str, clock: &Clock) -> Option<Point> {
    const DAYS: [(&str, &str, Weekday); 7] = [
        ("monday", "mon", Weekday::Monday),
        ("tuesday", "tue", Weekday::Tuesday),
        ("wednesday", "wed", Weekday::Wednesday),
        ("thursday", "thu", Weekday::Thursday),
        ("friday", "fri", Weekday::Friday),
        ("saturday", "sat", Weekday::Saturday),
        ("sunday", "sun", Weekday::Sunday),
    ];
    let today = clock.today();
    if let Some((name, _, wd)) = DAYS.iter().find(|(n, s, _)| t == *n || t == *s) {
        let back =
            (today.weekday().to_monday_zero_offset() - wd.to_monday_zero_offset()).rem_euclid(7);
        let date = clock.days_before(today, back as i64);
        let mut label = (*name).to_owned();
        if let Some(c) = label.get_mut(0..1) {
            c.make_ascii_uppercase();
        }
        return Some(Point {
            ms: clock.day_start(date),
            label,
            is_day: true,
        });
    }
    let date: Date = t.parse().ok()?;
    Some(Point {
        ms: clock.day_start(date),
        label: t.to_owned(),
        is_day: true,
    })
}

/// "14:00", "14:30", "2pm", "2:30pm", "2 pm", "14h", "noon", "midnight": (hour,
/// minute, tokens used).
fn clock_time(tokens: &[&str]) -> Option<(i8, i8, usize)> {
    let t = *tokens.first()?;
    match t {
        "noon" | "midday" => return Some((12, 0, 1)),
        "midnight" => return Some((0, 0, 1)),
        _ => {}
    }
    let (body, mut pm, mut am, mut used) = if let Some(b) = t.strip_suffix("pm") {
        (b, true, false, 1)
    } else if let Some(b) = t.strip_suffix("am") {
        (b, false, true, 1)
    } else {
        (t.strip_suffix('h').unwrap_or(t), false, false, 1)
    };
    match tokens.get(1) {
        Some(&"pm") if !pm && !am => {
            pm = true;
            used = 2;
        }
        Some(&"am") if !pm && !am => {
            am = true;
            used = 2;
        }
        _ => {}
    }
    let (h, m) = match body.split_once(':') {
        Some((h, m)) => (h.parse::<i8>().ok()?, m.parse::<i8>().ok()?),
        // A bare number is a time only with am/pm or an h ("since 2" is not).
        None if pm || am || t.ends_with('h') => (body.parse::<i8>().ok()?, 0),
        None => return None,
    };
    let h = match (pm, am) {
        (true, _) if (1..12).contains(&h) => h + 12,
        (_, true) if h == 12 => 0,
        _ => h,
    };
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some((h, m, used))
}

/// "N units ago": the moment and its label.
fn ago(tokens: &[&str], now: i64) -> Option<(i64, String)> {
    let (n, unit, label) = amount(tokens)?;
    let used = label_tokens(tokens);
    (tokens.get(used) == Some(&"ago")).then(|| (now - n * unit, format!("{label} ago")))
}

/// Tokens an [`amount`] took ("2 hours" 2, "an hour" 2, "hour" 1, "6h" 1).
fn label_tokens(tokens: &[&str]) -> usize {
    match tokens.first() {
        Some(t)
            if t.parse::<i64>().is_ok() || matches!(*t, "a" | "an" | "one" | "few" | "couple") =>
        {
            if tokens.get(1) == Some(&"of") {
                3
            } else {
                2
            }
        }
        _ => 1,
    }
}

/// "6 hours", "an hour", "hour", "24h", "30 min", "two days": (count, unit ms,
/// label).
fn amount(tokens: &[&str]) -> Option<(i64, i64, String)> {
    let first = *tokens.first()?;
    if let Some(c) = compact(first) {
        return Some(c);
    }
    let (n, unit_tok) = match first.parse::<i64>() {
        Ok(n) => (n, tokens.get(1)?),
        Err(_) => match first {
            "a" | "an" | "one" => (1, tokens.get(1)?),
            "few" => (3, tokens.get(1)?),
            "couple" => (2, tokens.get(2)?),
            w => match super::vocab::number_word(w) {
                Some(n) => (n as i64, tokens.get(1)?),
                None => (1, &first),
            },
        },
    };
    let (unit, name) = unit_of(unit_tok)?;
    (n > 0 && n < 100_000).then(|| (n, unit, plural(n, name)))
}

/// "6h", "30m", "2d", "90min", "1w".
fn compact(t: &str) -> Option<(i64, i64, String)> {
    let split = t.find(|c: char| !c.is_ascii_digit())?;
    if split == 0 {
        return None;
    }
    let n: i64 = t[..split].parse().ok()?;
    let (unit, name) = match &t[split..] {
        "m" | "min" | "mins" => (MINUTE, "minute"),
        "h" | "hr" | "hrs" => (HOUR, "hour"),
        "d" => (DAY, "day"),
        "w" | "wk" => (7 * DAY, "week"),
        _ => return None,
    };
    (n > 0 && n < 100_000).then(|| (n, unit, plural(n, name)))
}

fn unit_of(t: &str) -> Option<(i64, &'static str)> {
    Some(match t {
        "second" | "seconds" | "sec" | "secs" | "s" => (1000, "second"),
        "minute" | "minutes" | "min" | "mins" | "m" => (MINUTE, "minute"),
        "hour" | "hours" | "hr" | "hrs" | "h" => (HOUR, "hour"),
        "day" | "days" | "d" | "24h" => (DAY, "day"),
        "week" | "weeks" | "wk" | "w" => (7 * DAY, "week"),
        "month" | "months" => (30 * DAY, "month"),
        _ => return None,
    })
}

fn plural(n: i64, name: &str) -> String {
    if n == 1 {
        name.to_owned()
    } else {
        format!("{n} {name}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-19T14:00:00Z, a Thursday.
    const NOW: i64 = 1_795_096_800_000;
    const MIDNIGHT: i64 = NOW - 14 * HOUR;

    fn utc() -> Clock {
        Clock::new(TimeZone::UTC, NOW)
    }

    fn p(q: &str, c: &Clock) -> Option<TimeRange> {
        let toks: Vec<&str> = q.split_whitespace().collect();
        parse(&toks, c)
    }

    #[test]
    fn relative_ranges() {
        let c = utc();
        let r = p("alerts in the last 6 hours", &c).unwrap();
        assert_eq!(
            (r.since_ms, r.until_ms, r.label.as_str()),
            (NOW - 6 * HOUR, NOW, "in the last 6 hours")
        );
        assert_eq!(p("past hour", &c).unwrap().since_ms, NOW - HOUR);
        assert_eq!(p("last hour", &c).unwrap().label, "in the last hour");
        assert_eq!(p("alerts 6h", &c).unwrap().since_ms, NOW - 6 * HOUR);
        assert_eq!(p("since 2 hours ago", &c).unwrap().since_ms, NOW - 2 * HOUR);
        assert_eq!(p("30 min ago", &c).unwrap().since_ms, NOW - 30 * MINUTE);
        assert_eq!(
            p("over the past two days", &c).unwrap().since_ms,
            NOW - 2 * DAY
        );
        assert_eq!(p("last 90m", &c).unwrap().since_ms, NOW - 90 * MINUTE);
        assert!(p("how many alerts", &c).is_none());
        let r = p("what happened at 13:40", &c).unwrap();
        assert_eq!(
            (r.since_ms, r.until_ms),
            (
                MIDNIGHT + 13 * HOUR + 25 * MINUTE,
                MIDNIGHT + 13 * HOUR + 55 * MINUTE
            )
        );
        assert!(
            p("line 2 motor 3", &c).is_none(),
            "numbers of assets are no range"
        );
    }

    #[test]
    fn calendar_ranges() {
        let c = utc();
        let r = p("what happened today", &c).unwrap();
        assert_eq!((r.since_ms, r.until_ms), (MIDNIGHT, NOW));
        let r = p("yesterday", &c).unwrap();
        assert_eq!((r.since_ms, r.until_ms), (MIDNIGHT - DAY, MIDNIGHT));
        let r = p("last night", &c).unwrap();
        assert_eq!(
            (r.since_ms, r.until_ms),
            (MIDNIGHT - 6 * HOUR, MIDNIGHT + 6 * HOUR)
        );
        assert_eq!(p("since monday", &c).unwrap().since_ms, MIDNIGHT - 3 * DAY);
        assert_eq!(p("since friday", &c).unwrap().since_ms, MIDNIGHT - 6 * DAY);
        assert_eq!(p("this week", &c).unwrap().since_ms, MIDNIGHT - 3 * DAY);
        let r = p("last week", &c).unwrap();
        assert_eq!(
            (r.since_ms, r.until_ms),
            (MIDNIGHT - 10 * DAY, MIDNIGHT - 3 * DAY)
        );
        assert_eq!(
            p("since 09:30", &c).unwrap().since_ms,
            MIDNIGHT + 9 * HOUR + 30 * MINUTE
        );
        assert_eq!(p("since 2pm", &c).unwrap().since_ms, MIDNIGHT + 14 * HOUR);
        assert_eq!(
            p("since 3 pm", &c).unwrap().since_ms,
            MIDNIGHT + 15 * HOUR - DAY,
            "3 pm has not come yet today"
        );
        let r = p("between 10:00 and 12:00", &c).unwrap();
        assert_eq!(
            (r.since_ms, r.until_ms),
            (MIDNIGHT + 10 * HOUR, MIDNIGHT + 12 * HOUR)
        );
        let r = p("on 2026-11-17", &c).unwrap();
        assert_eq!(
            (r.since_ms, r.until_ms),
            (MIDNIGHT - 2 * DAY, MIDNIGHT - DAY)
        );
        let r = p("this morning", &c).unwrap();
        assert_eq!(
            (r.since_ms, r.until_ms),
            (MIDNIGHT + 6 * HOUR, MIDNIGHT + 12 * HOUR)
        );
    }

    #[test]
    fn ranges_follow_the_site_time_zone() {
        // 14:00 UTC is 15:00 in Berlin (CET, +01:00): "today" began at 23:00 UTC.
        let berlin = Clock::new(TimeZone::get("Europe/Berlin").unwrap(), NOW);
        assert_eq!(p("today", &berlin).unwrap().since_ms, MIDNIGHT - HOUR);
        assert_eq!(p("since 14:00", &berlin).unwrap().since_ms, NOW - HOUR);
        assert_eq!(berlin.show(NOW), "15:00");
        assert_eq!(utc().show(NOW - DAY), "Wed 18 Nov 14:00");
    }
}
