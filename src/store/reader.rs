//! Read side of the store: a small pool of read-only connections for the API, the
//! CLI and start-up recovery. WAL lets these run while the writer commits.

use super::{db_path, StoreError};
use crate::event::{format_ts, Labels, Quality, Reading};
use crate::sensor_glob::SensorGlob;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Reader {
    path: PathBuf,
    pool: Arc<Mutex<Vec<Connection>>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SensorRow {
    pub id: String,
    pub unit: Option<String>,
    pub labels: serde_json::Value,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    #[serde(skip)]
    pub last_seen_ms: Option<i64>,
    pub last_value: Option<f64>,
    pub last_quality: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertRow {
    pub id: String,
    pub rule: String,
    pub sensor: String,
    pub severity: String,
    pub kind: String,
    pub state: String,
    pub value: Option<f64>,
    pub limit: Option<f64>,
    pub unit: Option<String>,
    pub fired_at: String,
    #[serde(skip)]
    pub fired_ms: i64,
    pub message: String,
    pub resolved_at: Option<String>,
    #[serde(skip)]
    pub resolved_ms: Option<i64>,
    pub resolved_value: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AggregateRow {
    pub sensor: String,
    #[serde(skip)]
    pub window_start_ms: i64,
    pub window_start: String,
    pub window_end: String,
    pub count: i64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub stddev: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub first: String,
    pub last: String,
}

#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub sensor: Option<SensorGlob>,
    pub severity: Option<String>,
    pub state: Option<String>,
    pub limit: usize,
    /// Only alerts listed after this one (fired at, id), newest first: the cursor
    /// of the page before.
    pub after: Option<(i64, String)>,
}

/// When an alert on `sensor` was open; `resolved_ms` is `i64::MAX` while firing.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSpan {
    pub sensor: String,
    pub fired_ms: i64,
    pub resolved_ms: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoreStats {
    pub journal_rows: i64,
    pub sensors: i64,
    pub alerts_firing: i64,
    pub db_bytes: u64,
}

impl Reader {
    /// Opens the store of a state directory read-only; fails if it does not exist.
    pub fn open(state_dir: &Path) -> Result<Self, StoreError> {
        let r = Reader {
            path: db_path(state_dir),
            pool: Arc::default(),
        };
        let conn = r.connect()?;
        r.give_back(conn);
        Ok(r)
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open {
            path: self.path.clone(),
            source,
        })?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut pool) = self.pool.lock() {
            if pool.len() < 4 {
                pool.push(conn);
            }
        }
    }

    pub(super) fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let pooled = self.pool.lock().ok().and_then(|mut p| p.pop());
        let conn = match pooled {
            Some(c) => c,
            None => self.connect()?,
        };
        let out = f(&conn);
        self.give_back(conn);
        Ok(out?)
    }

    /// Dead letters (of one sink, or all), oldest first.
    pub fn dead_letters(
        &self,
        sink: Option<&str>,
        limit: usize,
    ) -> Result<Vec<super::DeadLetterRow>, StoreError> {
        self.with(|c| super::outbox::dead_letters::list(c, sink, limit))
    }

    pub fn sensors(&self) -> Result<Vec<SensorRow>, StoreError> {
        self.sensors_page(None, usize::MAX)
    }

    /// Sensors by name after `after` (a page cursor), at most `limit`.
    pub fn sensors_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SensorRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT name, unit, labels, first_seen, last_seen, last_value, last_quality FROM sensors
                 WHERE ?1 IS NULL OR name > ?1 ORDER BY name LIMIT ?2",
            )?;
            let rows = st.query_map(rusqlite::params![after, limit], |r| {
                let labels: Option<String> = r.get(2)?;
                let last_seen: Option<i64> = r.get(4)?;
                Ok(SensorRow {
                    id: r.get(0)?,
                    unit: r.get(1)?,
                    labels: labels
                        .and_then(|l| serde_json::from_str(&l).ok())
                        .unwrap_or(serde_json::Value::Object(Default::default())),
                    first_seen: r.get::<_, Option<i64>>(3)?.map(format_ts),
                    last_seen: last_seen.map(format_ts),
                    last_seen_ms: last_seen,
                    last_value: r.get(5)?,
                    last_quality: r.get::<_, Option<i64>>(6)?.map(|q| Quality::from_i64(q).as_str()),
                })
            })?;
            rows.collect()
        })
    }

    pub fn alerts(&self, f: &AlertFilter) -> Result<Vec<AlertRow>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {ALERT_COLUMNS} FROM alerts
                 WHERE fired_at >= ?1 AND fired_at <= ?2
                   AND (?3 IS NULL OR severity = ?3) AND (?4 IS NULL OR state = ?4)
                   AND (?5 IS NULL OR fired_at < ?5 OR (fired_at = ?5 AND id > ?6))
                 ORDER BY fired_at DESC, id"
            ))?;
            let (after_ms, after_id) = f.after.clone().unzip();
            let rows = st.query_map(
                params![
                    f.since_ms.unwrap_or(i64::MIN),
                    f.until_ms.unwrap_or(i64::MAX),
                    f.severity,
                    f.state,
                    after_ms,
                    after_id
                ],
                alert_row,
            )?;
            let limit = if f.limit == 0 { usize::MAX } else { f.limit };
            let mut out = Vec::new();
            for row in rows {
                let row = row?;
                if f.sensor.as_ref().is_none_or(|g| g.is_match(&row.sensor)) {
                    out.push(row);
                    if out.len() >= limit {
                        break;
                    }
                }
            }
            Ok(out)
        })
    }

    /// Every alert open at some time in `[from_ms, until_ms]`, still firing or not.
    pub fn alert_spans(&self, from_ms: i64, until_ms: i64) -> Result<Vec<AlertSpan>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT sensor, fired_at, resolved_at FROM alerts
                 WHERE fired_at <= ?2 AND (resolved_at IS NULL OR resolved_at >= ?1)",
            )?;
            let rows = st.query_map([from_ms, until_ms], |r| {
                Ok(AlertSpan {
                    sensor: r.get(0)?,
                    fired_ms: r.get(1)?,
                    resolved_ms: r.get::<_, Option<i64>>(2)?.unwrap_or(i64::MAX),
                })
            })?;
            rows.collect()
        })
    }

    pub fn firing_alerts(&self) -> Result<Vec<AlertRow>, StoreError> {
        self.alerts(&AlertFilter {
            state: Some("firing".into()),
            ..Default::default()
        })
    }

    /// Aggregates of windows starting in `[from_ms, to_ms)`, by window start and
    /// sensor; `after` (window start, sensor) continues a page before.
    pub fn aggregates(
        &self,
        sensor: Option<&SensorGlob>,
        (from_ms, to_ms): (i64, i64),
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> Result<Vec<AggregateRow>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT s.name, a.window_start, a.window_end, a.count, a.min, a.max, a.mean, a.stddev,
                        a.p50, a.p95, a.p99, a.first_ts, a.last_ts
                 FROM aggregates a JOIN sensors s ON s.id = a.sensor
                 WHERE a.window_start >= ?1 AND a.window_start < ?2
                   AND (?3 IS NULL OR a.window_start > ?3 OR (a.window_start = ?3 AND s.name > ?4))
                 ORDER BY a.window_start, s.name",
            )?;
            let (after_ms, after_sensor) = after.unzip();
            let rows = st.query_map(params![from_ms, to_ms, after_ms, after_sensor], |r| {
                Ok(AggregateRow {
                    sensor: r.get(0)?,
                    window_start_ms: r.get(1)?,
                    window_start: format_ts(r.get(1)?),
                    window_end: format_ts(r.get(2)?),
                    count: r.get(3)?,
                    min: r.get(4)?,
                    max: r.get(5)?,
                    mean: r.get(6)?,
                    stddev: r.get(7)?,
                    p50: r.get(8)?,
                    p95: r.get(9)?,
                    p99: r.get(10)?,
                    first: format_ts(r.get(11)?),
                    last: format_ts(r.get(12)?),
                })
            })?;
            let mut out = Vec::new();
            for row in rows {
                let row = row?;
                if sensor.is_none_or(|g| g.is_match(&row.sensor)) {
                    out.push(row);
                    if limit > 0 && out.len() >= limit {
                        break;
                    }
                }
            }
            Ok(out)
        })
    }

    pub fn closed_until(&self) -> Result<Option<i64>, StoreError> {
        self.with(|c| {
            c.query_row(
                "SELECT value FROM meta WHERE key = 'aggregates_closed_until'",
                [],
                |r| r.get(0),
            )
            .optional()
        })
    }

    /// Streams journaled readings with `since_ms <= ts <= until_ms` in commit order.
    pub fn replay(
        &self,
        since_ms: i64,
        until_ms: i64,
        mut f: impl FnMut(Reading),
    ) -> Result<u64, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT s.name, j.ts, j.value, j.quality, s.unit FROM journal j JOIN sensors s ON s.id = j.sensor
                 WHERE j.ts >= ?1 AND j.ts <= ?2 ORDER BY j.id",
            )?;
            let mut rows = st.query([since_ms, until_ms])?;
            let mut names: std::collections::HashMap<String, Arc<str>> = Default::default();
            let mut n = 0;
            while let Some(r) = rows.next()? {
                let name: String = r.get(0)?;
                let sensor = names.entry(name.clone()).or_insert_with(|| name.into()).clone();
                let unit: Option<String> = r.get(4)?;
                f(Reading {
                    sensor,
                    ts_ms: r.get(1)?,
                    value: r.get(2)?,
                    unit: unit.map(Arc::from),
                    quality: Quality::from_i64(r.get(3)?),
                    labels: Labels::default(),
                });
                n += 1;
            }
            Ok(n)
        })
    }

    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        self.with(|c| {
            // max - min of the rowid is exact for an append-only table pruned from
            // the front, and O(1) where COUNT(*) would scan.
            let journal_rows = c.query_row(
                "SELECT coalesce(max(id) - min(id) + 1, 0) FROM journal",
                [],
                |r| r.get(0),
            )?;
            let sensors = c.query_row("SELECT count(*) FROM sensors", [], |r| r.get(0))?;
            let alerts_firing = c.query_row(
                "SELECT count(*) FROM alerts WHERE state = 'firing'",
                [],
                |r| r.get(0),
            )?;
            let pages: u64 = c.pragma_query_value(None, "page_count", |r| r.get(0))?;
            let size: u64 = c.pragma_query_value(None, "page_size", |r| r.get(0))?;
            Ok(StoreStats {
                journal_rows,
                sensors,
                alerts_firing,
                db_bytes: pages * size,
            })
        })
    }
}

/// The columns [`alert_row`] reads, in its order.
pub(super) const ALERT_COLUMNS: &str =
    "id, rule, sensor, severity, kind, state, value, limit_value, unit, \
    fired_at, message, resolved_at, resolved_value";

pub(super) fn alert_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AlertRow> {
    let fired_ms: i64 = r.get(9)?;
    let resolved_ms: Option<i64> = r.get(11)?;
    Ok(AlertRow {
        id: r.get(0)?,
        rule: r.get(1)?,
        sensor: r.get(2)?,
        severity: r.get(3)?,
        kind: r.get(4)?,
        state: r.get(5)?,
        value: r.get(6)?,
        limit: r.get(7)?,
        unit: r.get(8)?,
        fired_at: format_ts(fired_ms),
        fired_ms,
        message: r.get(10)?,
        resolved_at: resolved_ms.map(format_ts),
        resolved_ms,
        resolved_value: r.get(12)?,
    })
}
