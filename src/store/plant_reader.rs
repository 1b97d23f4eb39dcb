//! Exact figures for questions, for any range and any number of sensors: value
//! statistics from the closed aggregate windows plus the journal after the last
//! closed window (never a capped scan), the time of a peak from the journal, and
//! the rule names that have fired (alerts come from [`Reader::alerts`] uncapped).

use super::reader::Reader;
use super::StoreError;
use rusqlite::{params, OptionalExtension};

/// A sensor's good-quality readings over a range.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueStats {
    pub sensor: String,
    pub unit: Option<String>,
    pub count: i64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// When the highest and lowest values were read (the reading itself when the
    /// journal still holds it, else the start of its aggregate window).
    pub max_ms: i64,
    pub min_ms: i64,
}

impl Reader {
    /// Statistics of each sensor over `[since_ms, until_ms)`; sensors without a
    /// reading there are left out.
    pub fn value_stats(
        &self,
        sensors: &[String],
        since_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<ValueStats>, StoreError> {
        self.with(|c| {
            let closed: i64 = c
                .query_row(
                    "SELECT value FROM meta WHERE key = 'aggregates_closed_until'",
                    [],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(i64::MIN);
            let mut windows = c.prepare_cached(
                "SELECT SUM(a.count), MIN(a.min), MAX(a.max), SUM(a.mean * a.count), MAX(a.window_end)
                 FROM aggregates a WHERE a.sensor = ?1 AND a.window_start >= ?2 AND a.window_start < ?3",
            )?;
            let mut extreme = c.prepare_cached(
                "SELECT window_start, window_end FROM aggregates
                 WHERE sensor = ?1 AND window_start >= ?2 AND window_start < ?3 AND (max = ?4 OR min = ?4)
                 ORDER BY window_start LIMIT 1",
            )?;
            let mut tail = c.prepare_cached(
                "SELECT COUNT(*), MIN(value), MAX(value), SUM(value) FROM journal
                 WHERE ts >= ?2 AND ts < ?3 AND sensor = ?1 AND quality = 0",
            )?;
            let mut at = c.prepare_cached(
                "SELECT ts FROM journal WHERE ts >= ?2 AND ts < ?3 AND sensor = ?1 AND value = ?4 AND quality = 0
                 ORDER BY ts LIMIT 1",
            )?;
            let mut id = c.prepare_cached("SELECT id, unit FROM sensors WHERE name = ?1")?;
            let mut out = Vec::new();
            for name in sensors {
                let Some((sid, unit)) = id
                    .query_row([name], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?)))
                    .optional()?
                else {
                    continue;
                };
                type Windows = (Option<i64>, Option<f64>, Option<f64>, Option<f64>, Option<i64>);
                let (n, lo, hi, sum, end): Windows =
                    windows.query_row(params![sid, since_ms, until_ms], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })?;
                // Readings after the last closed window (or all of them when the
                // range has no window) come from the journal.
                let tail_from = end.unwrap_or(since_ms).max(since_ms).max(if n.is_some() { closed } else { i64::MIN });
                let (tn, tlo, thi, tsum): (i64, Option<f64>, Option<f64>, Option<f64>) =
                    tail.query_row(params![sid, tail_from, until_ms], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })?;
                let count = n.unwrap_or(0) + tn;
                if count == 0 {
                    continue;
                }
                let fold = |a: Option<f64>, b: Option<f64>, pick: fn(f64, f64) -> f64| match (a, b) {
                    (Some(x), Some(y)) => pick(x, y),
                    (Some(x), None) | (None, Some(x)) => x,
                    (None, None) => f64::NAN,
                };
                let max = fold(hi, thi, f64::max);
                let min = fold(lo, tlo, f64::min);
                let mean = (sum.unwrap_or(0.0) + tsum.unwrap_or(0.0)) / count as f64;
                let mut when = |v: f64| -> rusqlite::Result<i64> {
                    // In the journal tail, else inside the window that holds it.
                    if let Some(ts) = at.query_row(params![sid, tail_from, until_ms, v], |r| r.get(0)).optional()? {
                        return Ok(ts);
                    }
                    let w: Option<(i64, i64)> = extreme
                        .query_row(params![sid, since_ms, until_ms, v], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()?;
                    let Some((ws, we)) = w else { return Ok(since_ms) };
                    Ok(at
                        .query_row(params![sid, ws, we, v], |r| r.get(0))
                        .optional()?
                        .unwrap_or(ws))
                };
                let (max_ms, min_ms) = (when(max)?, when(min)?);
                out.push(ValueStats {
                    sensor: name.clone(),
                    unit,
                    count,
                    min,
                    max,
                    mean,
                    max_ms,
                    min_ms,
                });
            }
            Ok(out)
        })
    }

    /// Alert rule names that have fired, for reading questions.
    pub fn rule_names(&self) -> Result<Vec<String>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare_cached("SELECT DISTINCT rule FROM alerts")?;
            let rows = st.query_map([], |r| r.get(0))?;
            rows.collect()
        })
    }
}
