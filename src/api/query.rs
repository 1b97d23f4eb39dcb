//! Query parameters of the API and the time syntax they share with the CLI.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct AlertQuery {
    pub since: Option<String>,
    pub until: Option<String>,
    pub sensor: Option<String>,
    pub severity: Option<String>,
    pub state: Option<String>,
    pub limit: Option<usize>,
    /// The `next` of the page before.
    pub after: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct AggregateQuery {
    pub sensor: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<usize>,
    /// The `next` of the page before.
    pub after: Option<String>,
}

/// A time as RFC 3339 (`2026-11-21T08:00:00Z`), epoch milliseconds, or a duration
/// ago (`15m`, `24h`, `7d`).
pub fn parse_time(s: &str, now_ms: i64) -> Result<i64, String> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    if let Ok(d) = humantime::parse_duration(s) {
        return Ok(now_ms - d.as_millis() as i64);
    }
    humantime::parse_rfc3339_weak(s)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
        .ok_or_else(|| format!("`{s}` is not a time: use RFC 3339 (2026-11-21T08:00:00Z), epoch ms, or a duration ago (15m, 24h)"))
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn three_time_forms() {
        assert_eq!(parse_time("1700000000000", 0), Ok(1_700_000_000_000));
        assert_eq!(parse_time("15m", 1_000_000), Ok(100_000));
        assert_eq!(parse_time("2023-11-14T22:13:20Z", 0), Ok(1_700_000_000_000));
        assert!(parse_time("yesterday", 0).unwrap_err().contains("RFC 3339"));
    }
}
