//! Reads of the knowledge tables: vectors for the in-memory index, alerts and
//! summary windows not yet embedded, chunks, documents and summaries for search
//! results.

use super::knowledge::{decode, Summary};
use super::reader::{alert_row, AlertRow, Reader, ALERT_COLUMNS};
use super::StoreError;
use crate::event::format_ts;
use rusqlite::params;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ChunkRow {
    pub id: i64,
    pub document: i64,
    pub title: String,
    pub source: String,
    pub seq: i64,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DocumentRow {
    pub id: i64,
    pub title: String,
    pub source: String,
    pub added: String,
    pub chunks: i64,
}

impl Reader {
    /// Every stored vector: (kind, ref, vector).
    pub fn vectors(&self) -> Result<Vec<(String, String, Vec<f32>)>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare("SELECT kind, ref, vector FROM vectors")?;
            let rows = st.query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, decode(&r.get::<_, Vec<u8>>(2)?)))
            })?;
            rows.collect()
        })
    }

    /// Alerts with no vector yet, newest first (embedded after a restart or a
    /// burst the embedding queue could not take).
    pub fn alerts_without_vectors(&self, limit: usize) -> Result<Vec<AlertRow>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {ALERT_COLUMNS} FROM alerts
                 WHERE id NOT IN (SELECT ref FROM vectors WHERE kind = 'alert')
                 ORDER BY fired_at DESC LIMIT ?1"
            ))?;
            let rows = st.query_map(params![limit as i64], alert_row)?;
            rows.collect()
        })
    }

    pub fn alerts_by_id(&self, ids: &[String]) -> Result<Vec<AlertRow>, StoreError> {
        self.with(|c| {
            let mut st =
                c.prepare_cached(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1"))?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(row) = st.query_map(params![id], alert_row)?.next() {
                    out.push(row?);
                }
            }
            Ok(out)
        })
    }

    pub fn chunks_by_id(&self, ids: &[i64]) -> Result<Vec<ChunkRow>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT c.id, c.document, d.title, d.source, c.seq, c.text
                 FROM chunks c JOIN documents d ON d.id = c.document WHERE c.id = ?1",
            )?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let mut rows = st.query_map(params![id], |r| {
                    Ok(ChunkRow {
                        id: r.get(0)?,
                        document: r.get(1)?,
                        title: r.get(2)?,
                        source: r.get(3)?,
                        seq: r.get(4)?,
                        text: r.get(5)?,
                    })
                })?;
                if let Some(row) = rows.next() {
                    out.push(row?);
                }
            }
            Ok(out)
        })
    }

    pub fn chunk_ids(&self, document: i64) -> Result<Vec<i64>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare("SELECT id FROM chunks WHERE document = ?1 ORDER BY seq")?;
            let rows = st.query_map(params![document], |r| r.get(0))?;
            rows.collect()
        })
    }

    pub fn documents(&self) -> Result<Vec<DocumentRow>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare(
                "SELECT d.id, d.title, d.source, d.added, (SELECT count(*) FROM chunks WHERE document = d.id)
                 FROM documents d ORDER BY d.id",
            )?;
            let rows = st.query_map([], |r| {
                Ok(DocumentRow {
                    id: r.get(0)?,
                    title: r.get(1)?,
                    source: r.get(2)?,
                    added: format_ts(r.get(3)?),
                    chunks: r.get(4)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Summaries of whole `window_ms` windows starting in `from_ms..to_ms` that are
    /// not stored yet, newest first: sums of the aggregates of each sensor in each
    /// window, with the alerts that fired on it there.
    pub fn summaries_due(
        &self,
        window_ms: i64,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<Summary>, StoreError> {
        self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT s.name, w.start, w.start + ?1, s.unit, w.n, w.mean, w.lo, w.hi,
                        (SELECT count(*) FROM alerts al WHERE al.sensor = s.name
                         AND al.fired_at >= w.start AND al.fired_at < w.start + ?1)
                 FROM (SELECT sensor, (window_start / ?1) * ?1 AS start, sum(count) AS n,
                              sum(mean * count) / sum(count) AS mean, min(min) AS lo, max(max) AS hi
                       FROM aggregates WHERE window_start >= ?2 AND window_start < ?3
                       GROUP BY sensor, start) w
                 JOIN sensors s ON s.id = w.sensor
                 WHERE w.n > 0 AND NOT EXISTS
                       (SELECT 1 FROM summaries m WHERE m.sensor = s.name AND m.start_ms = w.start)
                 ORDER BY w.start DESC, s.name LIMIT ?4",
            )?;
            let rows = st.query_map(
                params![window_ms, from_ms, to_ms, limit as i64],
                summary_row,
            )?;
            rows.collect()
        })
    }

    /// A stored summary by the `ref` of its vector.
    pub fn summary(&self, reference: &str) -> Result<Option<Summary>, StoreError> {
        let Some((sensor, start_ms)) = Summary::parse_reference(reference) else {
            return Ok(None);
        };
        self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT sensor, start_ms, end_ms, unit, count, mean, min, max, alerts
                 FROM summaries WHERE sensor = ?1 AND start_ms = ?2",
            )?;
            let mut rows = st.query_map(params![sensor, start_ms], summary_row)?;
            rows.next().transpose()
        })
    }
}

/// A summary from columns in the order of [`Summary`]'s fields: sensor, start,
/// end, unit, count, mean, min, max, alerts.
fn summary_row(r: &rusqlite::Row) -> rusqlite::Result<Summary> {
    Ok(Summary {
        sensor: r.get(0)?,
        start_ms: r.get(1)?,
        end_ms: r.get(2)?,
        unit: r.get(3)?,
        count: r.get(4)?,
        mean: r.get(5)?,
        min: r.get(6)?,
        max: r.get(7)?,
        alerts: r.get(8)?,
    })
}
