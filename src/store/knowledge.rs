//! Knowledge rows: documents, their chunks, and embedding vectors of chunks and
//! alerts. Written by the store writer ([`KnowledgeOp`]), read by [`super::Reader`].

use rusqlite::{params, Transaction};
use tokio::sync::oneshot;

/// What a vector belongs to.
pub const KIND_ALERT: &str = "alert";
pub const KIND_CHUNK: &str = "chunk";

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
        KnowledgeOp::Vectors(_) => {}
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
