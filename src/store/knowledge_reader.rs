//! Reads of the knowledge tables: vectors for the in-memory index, alerts not yet
//! embedded, chunks and documents for search results.

use super::knowledge::decode;
use super::reader::{alert_row, AlertRow, Reader, ALERT_COLUMNS};
use super::StoreError;
use crate::reading::format_ts;
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
}
