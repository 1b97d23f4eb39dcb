//! Knowledge rows: documents, their chunks, summaries of aggregates, and embedding
//! vectors of chunks, alerts and summaries. Written by the store writer
//! ([`KnowledgeOp`]), read by [`super::Reader`].

use crate::event::{format_num, format_ts};
use rusqlite::{params, Transaction};
use serde::{Serialize, Serializer};
use tokio::sync::oneshot;

/// What a vector belongs to.
pub const KIND_ALERT: &str = "alert";
pub const KIND_CHUNK: &str = "chunk";
pub const KIND_SUMMARY: &str = "summary";

/// One sensor's aggregates over a summary window (an hour by default): what search
/// finds when a question is about how a sensor behaved rather than about an alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub sensor: String,
    #[serde(rename = "start", serialize_with = "ts")]
    pub start_ms: i64,
    #[serde(rename = "end", serialize_with = "ts")]
    pub end_ms: i64,
    pub unit: Option<String>,
    pub count: i64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// Alerts on this sensor that fired in the window.
    pub alerts: i64,
}

fn ts<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_ts(*ms))
}

impl Summary {
    /// The vector's `ref`: sensor ids never end in `@<digits>`, so the last `@` splits it.
    pub fn reference(&self) -> String {
        format!("{}@{}", self.sensor, self.start_ms)
    }

    /// (sensor, start) of a summary's `ref`.
    pub fn parse_reference(r: &str) -> Option<(&str, i64)> {
        let (sensor, start) = r.rsplit_once('@')?;
        Some((sensor, start.parse().ok()?))
    }

    /// What is embedded and shown: plain words and the figures.
    pub fn text(&self) -> String {
        let unit = self
            .unit
            .as_deref()
            .map_or(String::new(), |u| format!(" {u}"));
        let alerts = match self.alerts {
            0 => "no alerts".to_owned(),
            1 => "1 alert fired".to_owned(),
            n => format!("{n} alerts fired"),
        };
        format!(
            "summary of {} from {} to {}: {} readings, mean {}{unit}, min {}{unit}, max {}{unit}; {alerts}",
            self.sensor,
            short_ts(self.start_ms),
            short_ts(self.end_ms),
            self.count,
            format_num(self.mean),
            format_num(self.min),
            format_num(self.max),
        )
    }
}

/// `2026-12-01T09:00:00Z`: whole seconds, as summary windows are.
fn short_ts(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

#[derive(Debug, Clone)]
pub struct VectorRow {
    pub kind: &'static str,
    /// Alert id, or chunk id as text.
    pub reference: String,
    pub vector: Vec<f32>,
}

#[derive(Debug)]
pub enum KnowledgeOp {
    Vectors(Vec<VectorRow>),
    /// Summaries with their vectors; answered once committed, so the summariser
    /// never offers the same window twice.
    Summaries {
        rows: Vec<(Summary, Vec<f32>)>,
        reply: Option<oneshot::Sender<()>>,
    },
    /// Summaries (and their vectors) of windows that started before this.
    PruneSummaries {
        before_ms: i64,
    },
    /// A document with its chunks and their vectors; answered with the new id and
    /// chunk ids once committed.
    AddDocument {
        title: String,
        source: String,
        chunks: Vec<(String, Vec<f32>)>,
        reply: Option<oneshot::Sender<(i64, Vec<i64>)>>,
        ids: Option<(i64, Vec<i64>)>,
    },
    DeleteDocument {
        id: i64,
        reply: Option<oneshot::Sender<bool>>,
        found: bool,
    },
}

pub fn encode(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn decode(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Applies one op inside the writer's transaction.
pub fn apply(tx: &Transaction, op: &mut KnowledgeOp, now_ms: i64) -> rusqlite::Result<()> {
    match op {
        KnowledgeOp::Vectors(rows) => {
            let mut st = tx.prepare_cached(
                "INSERT OR REPLACE INTO vectors (kind, ref, vector) VALUES (?1, ?2, ?3)",
            )?;
            for r in rows.iter() {
                st.execute(params![r.kind, r.reference, encode(&r.vector)])?;
            }
        }
        KnowledgeOp::Summaries { rows, .. } => {
            let mut row = tx.prepare_cached(
                "INSERT OR REPLACE INTO summaries
                 (sensor, start_ms, end_ms, unit, count, mean, min, max, alerts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            let mut vector = tx.prepare_cached(
                "INSERT OR REPLACE INTO vectors (kind, ref, vector) VALUES (?1, ?2, ?3)",
            )?;
            for (s, v) in rows.iter() {
                row.execute(params![
                    s.sensor, s.start_ms, s.end_ms, s.unit, s.count, s.mean, s.min, s.max, s.alerts
                ])?;
                vector.execute(params![KIND_SUMMARY, s.reference(), encode(v)])?;
            }
        }
        KnowledgeOp::PruneSummaries { before_ms } => {
            tx.execute(
                "DELETE FROM vectors WHERE kind = ?1 AND ref IN
                 (SELECT sensor || '@' || start_ms FROM summaries WHERE start_ms < ?2)",
                params![KIND_SUMMARY, *before_ms],
            )?;
            tx.execute(
                "DELETE FROM summaries WHERE start_ms < ?1",
                params![*before_ms],
            )?;
        }
        KnowledgeOp::AddDocument {
            title,
            source,
            chunks,
            ids,
            ..
        } => {
            tx.execute(
                "INSERT INTO documents (title, source, added) VALUES (?1, ?2, ?3)",
                params![&*title, &*source, now_ms],
            )?;
            let doc = tx.last_insert_rowid();
            let mut chunk_ids = Vec::with_capacity(chunks.len());
            for (seq, (text, vector)) in chunks.iter().enumerate() {
                tx.execute(
                    "INSERT INTO chunks (document, seq, text) VALUES (?1, ?2, ?3)",
                    params![doc, seq as i64, text],
                )?;
                let id = tx.last_insert_rowid();
                tx.execute(
                    "INSERT OR REPLACE INTO vectors (kind, ref, vector) VALUES (?1, ?2, ?3)",
                    params![KIND_CHUNK, id.to_string(), encode(vector)],
                )?;
                chunk_ids.push(id);
            }
            *ids = Some((doc, chunk_ids));
        }
        KnowledgeOp::DeleteDocument { id, found, .. } => {
            tx.execute(
                "DELETE FROM vectors WHERE kind = ?1 AND ref IN (SELECT CAST(id AS TEXT) FROM chunks WHERE document = ?2)",
                params![KIND_CHUNK, *id],
            )?;
            tx.execute("DELETE FROM chunks WHERE document = ?1", params![*id])?;
            *found = tx.execute("DELETE FROM documents WHERE id = ?1", params![*id])? > 0;
        }
    }
    Ok(())
}

/// Answers the op's caller after the commit.
pub fn answer(op: KnowledgeOp) {
    match op {
        KnowledgeOp::Vectors(_) | KnowledgeOp::PruneSummaries { .. } => {}
        KnowledgeOp::Summaries { reply, .. } => {
            if let Some(r) = reply {
                let _ = r.send(());
            }
        }
        KnowledgeOp::AddDocument { reply, ids, .. } => {
            if let (Some(r), Some(ids)) = (reply, ids) {
                let _ = r.send(ids);
            }
        }
        KnowledgeOp::DeleteDocument { reply, found, .. } => {
            if let Some(r) = reply {
                let _ = r.send(found);
            }
        }
    }
}
