//! Dead letters: outbox items a sink can never deliver, moved aside so the queue
//! behind them moves. The writer moves a row when its sink says so, and resends or
//! drops dead letters when the operator asks (`edgewatch dead-letters`). A resent
//! item gets the next sequence number of its sink: the sink's cursor has moved
//! past the old one, and the new number keeps the dedup key unique.

use super::{ItemKind, Outboxes};
use crate::internal_events::{emit, DeadLettered};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::oneshot;

/// What the operator asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Resend,
    Drop,
}

/// A resend or drop of dead letters: of one sink or all, some ids or all of them.
#[derive(Debug)]
pub struct DeadLetterOp {
    pub action: Action,
    pub sink: Option<String>,
    /// `None` means every dead letter (of `sink`, when given).
    pub ids: Option<Vec<i64>>,
    /// How many were resent or dropped, answered after the commit; or why none.
    pub reply: oneshot::Sender<Result<u64, String>>,
    pub(crate) outcome: Option<Result<u64, String>>,
}

impl DeadLetterOp {
    pub fn new(
        action: Action,
        sink: Option<String>,
        ids: Option<Vec<i64>>,
    ) -> (Self, oneshot::Receiver<Result<u64, String>>) {
        let (reply, rx) = oneshot::channel();
        let op = DeadLetterOp {
            action,
            sink,
            ids,
            reply,
            outcome: None,
        };
        (op, rx)
    }

    /// Sends the outcome; call after the commit.
    pub(crate) fn answer(self) {
        let outcome = self
            .outcome
            .unwrap_or_else(|| Err("the store did not apply the request".to_owned()));
        let _ = self.reply.send(outcome);
    }
}

/// One dead letter as the API and CLI show it.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetterRow {
    pub id: i64,
    pub sink: String,
    /// The sequence number it had in its sink's outbox.
    pub seq: i64,
    pub kind: String,
    pub created_ms: i64,
    pub moved_ms: i64,
    pub reason: String,
    pub body: String,
}

impl Outboxes {
    /// Moves one queued row of `sink` aside with the reason it cannot be sent.
    pub(crate) fn dead_letter(
        &mut self,
        tx: &Transaction<'_>,
        sink: &str,
        seq: u64,
        reason: &str,
        now_ms: i64,
    ) -> rusqlite::Result<()> {
        let Some(i) = self.sinks.iter().position(|(s, _)| &*s.name == sink) else {
            return Ok(());
        };
        let bytes: Option<i64> = tx
            .query_row(
                "SELECT length(body) FROM outbox WHERE sink = ?1 AND seq = ?2",
                params![sink, seq as i64],
                |r| r.get(0),
            )
            .optional()?;
        let Some(bytes) = bytes else {
            // Already delivered or evicted: nothing to move.
            return Ok(());
        };
        tx.prepare_cached(
            "INSERT INTO dead_letters(sink, seq, epoch, kind, created, body, reason, moved)
             SELECT sink, seq, epoch, kind, created, body, ?3, ?4 FROM outbox WHERE sink = ?1 AND seq = ?2",
        )?
        .execute(params![sink, seq as i64, reason, now_ms])?;
        tx.prepare_cached("DELETE FROM outbox WHERE sink = ?1 AND seq = ?2")?
            .execute(params![sink, seq as i64])?;
        let st = &mut self.sinks[i].1;
        st.items = st.items.saturating_sub(1);
        st.bytes = st.bytes.saturating_sub(bytes as u64);
        st.dead_letters += 1;
        emit(DeadLettered { sink, seq, reason });
        Ok(())
    }

    /// Applies a resend or drop; the outcome is answered after the commit.
    pub(crate) fn apply_dead_letters(
        &mut self,
        tx: &Transaction<'_>,
        op: &mut DeadLetterOp,
        now_ms: i64,
    ) -> rusqlite::Result<()> {
        if let Some(sink) = &op.sink {
            if op.action == Action::Resend && !self.sinks.iter().any(|(s, _)| &*s.name == sink) {
                op.outcome = Some(Err(format!(
                    "sink `{sink}` is not configured: add it back to resend its dead letters, or drop them"
                )));
                return Ok(());
            }
        }
        let rows = select(tx, op.sink.as_deref(), op.ids.as_deref())?;
        let mut done = 0u64;
        for (id, sink, kind, body) in rows {
            let i = self.sinks.iter().position(|(s, _)| *s.name == *sink);
            if op.action == Action::Resend {
                // A dead letter of a sink no longer configured stays where it is.
                let Some(i) = i else { continue };
                self.insert(tx, i, ItemKind::parse(&kind), &body, now_ms)?;
                self.save(tx, i)?;
            }
            tx.prepare_cached("DELETE FROM dead_letters WHERE id = ?1")?
                .execute([id])?;
            if let Some(i) = i {
                let st = &mut self.sinks[i].1;
                st.dead_letters = st.dead_letters.saturating_sub(1);
            }
            done += 1;
        }
        op.outcome = Some(Ok(done));
        Ok(())
    }

    /// Dead letters per sink, from the database (at start and after a rollback).
    pub(super) fn count_dead_letters(conn: &Connection, sink: &Arc<str>) -> rusqlite::Result<u64> {
        conn.query_row(
            "SELECT count(*) FROM dead_letters WHERE sink = ?1",
            [&**sink],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n as u64)
    }
}

type Selected = (i64, String, String, String);

fn select(
    tx: &Transaction<'_>,
    sink: Option<&str>,
    ids: Option<&[i64]>,
) -> rusqlite::Result<Vec<Selected>> {
    let mut st = tx.prepare_cached(
        "SELECT id, sink, kind, body FROM dead_letters WHERE (?1 IS NULL OR sink = ?1) ORDER BY id",
    )?;
    let rows = st
        .query_map([sink], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<Vec<Selected>, _>>()?;
    Ok(match ids {
        None => rows,
        Some(ids) => rows.into_iter().filter(|r| ids.contains(&r.0)).collect(),
    })
}

/// Dead letters, oldest first, for the API and CLI.
pub(crate) fn list(
    conn: &Connection,
    sink: Option<&str>,
    limit: usize,
) -> rusqlite::Result<Vec<DeadLetterRow>> {
    let mut st = conn.prepare_cached(
        "SELECT id, sink, seq, kind, created, moved, reason, body FROM dead_letters
         WHERE (?1 IS NULL OR sink = ?1) ORDER BY id LIMIT ?2",
    )?;
    let rows = st
        .query_map(params![sink, limit as i64], |r| {
            Ok(DeadLetterRow {
                id: r.get(0)?,
                sink: r.get(1)?,
                seq: r.get(2)?,
                kind: r.get(3)?,
                created_ms: r.get(4)?,
                moved_ms: r.get(5)?,
                reason: r.get(6)?,
                body: r.get(7)?,
            })
        })?
        .collect();
    rows
}
