//! What a question is about, read with plain code: a time range ("last night",
//! "this week", "since Monday", "last 6 hours"; days in UTC) and the plant terms it
//! names (line 2, motor 3 / m03, temperature, vibration, pressure).

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

#[derive(Debug, Clone, PartialEq)]
pub struct About {
    pub since_ms: i64,
    pub until_ms: i64,
    /// The range as the question put it ("last 24 hours" when it did not).
    pub range: String,
    /// Path segments a sensor id must contain: `line2`, `m03`, `temperature`.
    pub terms: Vec<String>,
}

impl About {
    /// Whether a sensor (or asset) id matches every term.
    pub fn matches(&self, sensor: &str) -> bool {
        let s = sensor.to_ascii_lowercase();
        let parts: Vec<&str> = s.split('/').collect();
        self.terms.iter().all(|t| parts.iter().any(|p| p == t))
    }
}

pub fn parse(question: &str, now_ms: i64) -> About {
    let q = question.to_ascii_lowercase();
    let words: Vec<&str> = q
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let today = now_ms - now_ms.rem_euclid(DAY);
    let (since_ms, until_ms, range) = time_range(&q, &words, now_ms, today);
    About {
        since_ms,
        until_ms,
        range,
        terms: terms(&words),
    }
}

fn time_range(q: &str, words: &[&str], now: i64, today: i64) -> (i64, i64, String) {
    // 1970-01-01 was a Thursday: day index 0 = Thursday.
    let weekday = |ms: i64| (ms.div_euclid(DAY) + 3).rem_euclid(7); // 0 = Monday
    let monday = today - weekday(today) * DAY;
    if q.contains("last night") || q.contains("overnight") || q.contains("tonight") {
        return (
            today - 6 * HOUR,
            today + 6 * HOUR,
            "last night (18:00-06:00 UTC)".into(),
        );
    }
    if q.contains("yesterday") {
        return (today - DAY, today, "yesterday (UTC)".into());
    }
    if q.contains("today") {
        return (today, now, "today (UTC)".into());
    }
    if q.contains("this week") {
        return (monday, now, "this week (since Monday 00:00 UTC)".into());
    }
    if q.contains("last week") {
        return (monday - 7 * DAY, monday, "last week (UTC)".into());
    }
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    for (i, w) in words.iter().enumerate() {
        if *w == "since" {
            if let Some(d) = words
                .get(i + 1)
                .and_then(|n| DAYS.iter().position(|d| d == n))
            {
                let mut start = monday + d as i64 * DAY;
                if start > now {
                    start -= 7 * DAY;
                }
                return (start, now, format!("since {} 00:00 UTC", DAYS[d]));
            }
        }
        if matches!(*w, "last" | "past") {
            let (n, unit) = match (words.get(i + 1), words.get(i + 2)) {
                (Some(n), Some(u)) if n.parse::<i64>().is_ok() => {
                    (n.parse::<i64>().unwrap_or(1), *u)
                }
                (Some(u), _) => (1, *u),
                _ => continue,
            };
            let ms = match unit.trim_end_matches('s') {
                "minute" | "min" => 60_000,
                "hour" | "hr" | "h" => HOUR,
                "day" | "d" => DAY,
                "week" => 7 * DAY,
                _ => continue,
            };
            return (
                now - n * ms,
                now,
                format!(
                    "last {n} {}",
                    unit.trim_end_matches('s').to_owned() + if n == 1 { "" } else { "s" }
                ),
            );
        }
    }
    (now - DAY, now, "last 24 hours".into())
}

fn terms(words: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut push = |t: String| {
        if !out.contains(&t) {
            out.push(t)
        }
    };
    for (i, w) in words.iter().enumerate() {
        let next_num = words.get(i + 1).and_then(|n| n.parse::<u32>().ok());
        match *w {
            "line" => {
                if let Some(n) = next_num {
                    push(format!("line{n}"))
                }
            }
            "motor" | "machine" => {
                if let Some(n) = next_num {
                    push(format!("m{n:02}"))
                }
            }
            "temperature" | "temperatures" | "temp" | "hot" | "overheating" | "heat" => {
                push("temperature".into())
            }
            "vibration" | "vibrations" | "vibrating" | "shaking" => push("vibration".into()),
            "pressure" | "pressures" => push("pressure".into()),
            w => {
                if let Some(n) = w.strip_prefix("line").and_then(|n| n.parse::<u32>().ok()) {
                    push(format!("line{n}"))
                } else if let Some(n) = w.strip_prefix('m').and_then(|n| n.parse::<u32>().ok()) {
                    push(format!("m{n:02}"))
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-19T14:00:00Z, a Thursday.
    const NOW: i64 = 1_795_096_800_000;
    const TODAY: i64 = NOW - 14 * HOUR;

    #[test]
    fn time_ranges() {
        let a = parse("What happened on line 2 last night?", NOW);
        assert_eq!(
            (a.since_ms, a.until_ms),
            (TODAY - 6 * HOUR, TODAY + 6 * HOUR)
        );
        assert_eq!(a.terms, vec!["line2"]);
        let w = parse("which motors ran hot this week", NOW);
        assert_eq!(w.since_ms, TODAY - 3 * DAY, "Monday 00:00");
        assert_eq!(w.terms, vec!["temperature"]);
        assert_eq!(parse("alerts since Monday", NOW).since_ms, TODAY - 3 * DAY);
        assert_eq!(
            parse("since friday?", NOW).since_ms,
            TODAY - 6 * DAY,
            "last Friday"
        );
        assert_eq!(parse("in the last 6 hours", NOW).since_ms, NOW - 6 * HOUR);
        assert_eq!(parse("past hour", NOW).since_ms, NOW - HOUR);
        assert_eq!(parse("yesterday", NOW).until_ms, TODAY);
        let d = parse("anything wrong?", NOW);
        assert_eq!((d.since_ms, d.range.as_str()), (NOW - DAY, "last 24 hours"));
    }

    #[test]
    fn plant_terms_match_sensor_ids() {
        let a = parse("vibration of motor 3 on line2", NOW);
        assert_eq!(a.terms, vec!["vibration", "m03", "line2"]);
        assert!(a.matches("plant1/line2/motor/m03/vibration"));
        assert!(!a.matches("plant1/line2/motor/m03/temperature"));
        assert!(!a.matches("plant1/line1/motor/m03/vibration"));
        assert!(parse("m1 temperature", NOW).matches("plant1/line1/motor/m01/temperature"));
    }
}
