//! The single SQLite writer: a dedicated thread that applies batches in group
//! commits and only then tells sources their data is safe ([`CommitAck`]).

use super::outbox::{OutboxRow, OutboxSpec, Outboxes};
use super::settings::{StoreConfig, Synchronous};
use super::{open_rw, StoreError};
use crate::aggregate::Aggregate;
use crate::backoff::Backoff;
use crate::event::{now_ms, Reading};
use crate::event::{AlertEvent, AlertState, CommitAck, Rejected, SimFault};
use crate::internal_events::{emit, CommitFailed};
use crate::metrics::Metrics;
use rusqlite::{params, Connection, Transaction};
use rustc_hash::FxHashMap as HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Everything one pipeline step produced; committed atomically with other batches.
#[derive(Debug, Default)]
pub struct WriteBatch {
    pub readings: Vec<Reading>,
    pub alerts: Vec<AlertEvent>,
    pub aggregates: Vec<Aggregate>,
    /// Aggregates of every window ending at or before this are in the store.
    pub closed_until_ms: Option<i64>,
    pub rejected: Vec<Rejected>,
    pub faults: Vec<SimFault>,
    pub acks: Vec<CommitAck>,
    /// When the oldest input of this batch arrived (for reading-to-alert latency).
    pub received: Option<Instant>,
}

impl WriteBatch {
    fn rows(&self) -> usize {
        self.readings.len() + self.alerts.len() + self.aggregates.len() + self.rejected.len() + 1
    }
}

pub enum WriteOp {
    Batch(WriteBatch),
    /// Apply retention now.
    Prune,
    /// Answered once everything sent before it is committed.
    Flush(oneshot::Sender<()>),
    /// A sink's next rows after `after` (committed ones), oldest first.
    Lease {
        sink: Arc<str>,
        after: u64,
        max: usize,
        reply: oneshot::Sender<Vec<OutboxRow>>,
    },
    /// A sink's upstream acknowledged every row up to `upto`: delete them.
    Delivered {
        sink: Arc<str>,
        upto: u64,
    },
    /// A sink can never deliver this row: move it to the dead letters.
    DeadLetter {
        sink: Arc<str>,
        seq: u64,
        reason: String,
    },
    /// Resend or drop dead letters (the operator asked).
    DeadLetters(super::outbox::dead_letters::DeadLetterOp),
    /// Documents, chunks and embedding vectors.
    Knowledge(super::knowledge::KnowledgeOp),
}

/// Handle to the writer thread. Dropping every sender stops it after a final commit.
pub struct Writer {
    pub tx: mpsc::Sender<WriteOp>,
    thread: std::thread::JoinHandle<Result<(), StoreError>>,
}

impl Writer {
    /// Opens (and migrates) the database and starts the writer thread.
    pub fn spawn(
        path: &Path,
        cfg: &StoreConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StoreError> {
        Self::spawn_with_outboxes(path, cfg, metrics, Vec::new())
    }

    /// As [`Writer::spawn`], also enqueuing alerts and aggregates for these sinks.
    pub fn spawn_with_outboxes(
        path: &Path,
        cfg: &StoreConfig,
        metrics: Arc<Metrics>,
        sinks: Vec<Arc<OutboxSpec>>,
    ) -> Result<Self, StoreError> {
        let conn = open_rw(path, cfg.synchronous == Synchronous::Full)?;
        // The boot epoch of the dedup key: this process's start, in seconds.
        let epoch = now_ms() / 1000;
        let outboxes = Outboxes::load(&conn, sinks, epoch)?;
        let (tx, rx) = mpsc::channel(256);
        let state = WriterState {
            conn,
            rx,
            metrics,
            outboxes,
            sensor_ids: HashMap::default(),
            commit_interval: cfg.commit_interval,
            max_rows: cfg.commit_max_rows,
            retention_ms: cfg.journal_retention.as_millis() as i64,
            history_ms: cfg.history_retention.as_millis() as i64,
            max_bytes: cfg.journal_max_size.as_u64(),
        };
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || state.run())
            .map_err(|e| StoreError::StateDir {
                path: path.to_owned(),
                source: e,
            })?;
        Ok(Writer { tx, thread })
    }

    /// Waits for the thread to commit what it still holds and exit. Drop every
    /// clone of `tx` first.
    pub fn join(self) -> Result<(), StoreError> {
        drop(self.tx);
        self.thread.join().unwrap_or(Err(StoreError::WriterGone))
    }
}

struct WriterState {
    conn: Connection,
    rx: mpsc::Receiver<WriteOp>,
    metrics: Arc<Metrics>,
    outboxes: Outboxes,
    sensor_ids: HashMap<Arc<str>, i64>,
    commit_interval: Duration,
    max_rows: usize,
    retention_ms: i64,
    history_ms: i64,
    max_bytes: u64,
}

impl WriterState {
    fn run(mut self) -> Result<(), StoreError> {
        while let Some(first) = self.rx.blocking_recv() {
            let started = Instant::now();
            let mut ops = vec![first];
            let mut rows = 0;
            // Group commit: take what is already queued, up to a size and time bound.
            while rows < self.max_rows && started.elapsed() < self.commit_interval {
                match self.rx.try_recv() {
                    Ok(op) => {
                        if let WriteOp::Batch(b) = &op {
                            rows += b.rows();
                        }
                        ops.push(op);
                    }
                    Err(_) => break,
                }
            }
            self.metrics.writer_queue.set(self.rx.len() as i64);
            // The same batch is retried until it commits: skipping it would let a later
            // commit raise the watermark past data that was never stored. Meanwhile the
            // queue fills and sources stop reading, which is the backpressure we want
            // on a full or failing disk.
            let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5), 0.2);
            while let Err(e) = self.commit(&mut ops) {
                // The rolled-back transaction may have held new sensor rows and
                // outbox counters.
                self.sensor_ids.clear();
                if let Err(e) = self.outboxes.reload(&self.conn) {
                    tracing::error!(error = %e, "cannot re-read outbox counters");
                }
                let delay = backoff.next_delay();
                emit(CommitFailed {
                    metrics: &self.metrics,
                    error: &e,
                    retry_in: delay,
                });
                std::thread::sleep(delay);
            }
            self.metrics
                .commit_latency_us
                .record(started.elapsed().as_micros() as u64);
            self.after_commit(ops);
        }
        Ok(())
    }

    fn commit(&mut self, ops: &mut [WriteOp]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        // Latest reading per sensor, written once per commit instead of once per reading.
        let mut last: HashMap<i64, &Reading> = HashMap::default();
        let mut prune = false;
        let now = now_ms();
        for op in ops.iter_mut() {
            match op {
                WriteOp::Batch(b) => {
                    write_batch(&tx, &mut self.sensor_ids, b, &mut last)?;
                    for r in &b.readings {
                        self.outboxes.note_labels(&r.sensor, &r.labels);
                    }
                    self.outboxes.enqueue(&tx, &b.alerts, &b.aggregates, now)?;
                }
                WriteOp::Delivered { sink, upto } => self.outboxes.delivered(&tx, sink, *upto)?,
                WriteOp::DeadLetter { sink, seq, reason } => {
                    self.outboxes.dead_letter(&tx, sink, *seq, reason, now)?
                }
                WriteOp::DeadLetters(d) => self.outboxes.apply_dead_letters(&tx, d, now)?,
                WriteOp::Prune => {
                    prune = true;
                    self.outboxes.expire(&tx, now)?;
                }
                WriteOp::Knowledge(k) => super::knowledge::apply(&tx, k, now)?,
                WriteOp::Flush(_) | WriteOp::Lease { .. } => {}
            }
        }
        {
            let mut st = tx.prepare_cached(
                "UPDATE sensors SET last_seen = max(coalesce(last_seen, ?2), ?2), last_value = ?3, last_quality = ?4,
                 unit = coalesce(?5, unit), labels = ?6 WHERE id = ?1",
            )?;
            for (id, r) in &last {
                let labels = (!r.labels.is_empty())
                    .then(|| serde_json::to_string(&*r.labels).unwrap_or_default());
                st.execute(params![
                    id,
                    r.ts_ms,
                    r.value,
                    r.quality.as_i64(),
                    r.unit.as_deref(),
                    labels
                ])?;
            }
        }
        tx.commit()?;
        // The batch is stored now. Retention failing (a full disk cannot even
        // delete in WAL mode) must not report it as failed, or the retry would
        // store it twice; retention simply runs again at the next interval.
        if prune {
            if let Err(e) = self.prune() {
                tracing::warn!(error = %e, "journal retention failed; retrying at the next prune interval");
            }
        }
        Ok(())
    }

    fn after_commit(&mut self, ops: Vec<WriteOp>) {
        let now = Instant::now();
        // Figures first: whoever is answered below sees them up to date.
        if !self.outboxes.is_empty() {
            self.outboxes.publish(&self.conn);
        }
        for op in ops {
            match op {
                WriteOp::Batch(b) => {
                    for a in &b.acks {
                        a.done();
                    }
                    self.metrics.journal_rows.inc_by(b.readings.len() as u64);
                    self.metrics
                        .aggregates_written
                        .inc_by(b.aggregates.len() as u64);
                    if let (Some(t), false) = (b.received, b.alerts.is_empty()) {
                        self.metrics
                            .alert_latency_us
                            .record(now.duration_since(t).as_micros() as u64);
                    }
                }
                WriteOp::Flush(done) => {
                    let _ = done.send(());
                }
                WriteOp::Lease {
                    sink,
                    after,
                    max,
                    reply,
                } => {
                    let rows = self
                        .outboxes
                        .lease(&self.conn, &sink, after, max)
                        .unwrap_or_else(|e| {
                            tracing::error!(sink = %sink, error = %e, "cannot read the outbox");
                            Vec::new()
                        });
                    let _ = reply.send(rows);
                }
                WriteOp::Knowledge(k) => super::knowledge::answer(k),
                WriteOp::DeadLetters(d) => d.answer(),
                WriteOp::Prune | WriteOp::Delivered { .. } | WriteOp::DeadLetter { .. } => {}
            }
        }

        self.metrics.commits.inc();
        self.metrics.last_commit_ms.set(now_ms());
    }

    /// Age and size retention, in chunks so a large backlog never holds the lock long.
    fn prune(&mut self) -> Result<(), StoreError> {
        const CHUNK: i64 = 20_000;
        let now = now_ms();
        let mut pruned = 0u64;
        loop {
            let n = self.conn.execute(
                "DELETE FROM journal WHERE id IN (SELECT id FROM journal WHERE ts < ?1 ORDER BY ts LIMIT ?2)",
                params![now - self.retention_ms, CHUNK],
            )?;
            pruned += n as u64;
            if (n as i64) < CHUNK {
                break;
            }
        }
        // Size: delete the oldest readings while the live data is above the budget.
        loop {
            let used = used_bytes(&self.conn)?;
            if used <= self.max_bytes {
                break;
            }
            let n = self.conn.execute(
                "DELETE FROM journal WHERE id IN (SELECT id FROM journal ORDER BY id LIMIT ?1)",
                params![CHUNK],
            )?;
            pruned += n as u64;
            if n == 0 {
                tracing::warn!(
                    used,
                    budget = self.max_bytes,
                    "database above journal-max-size with an empty journal"
                );
                break;
            }
        }
        let cutoff = now - self.history_ms;
        self.conn
            .execute("DELETE FROM alert_events WHERE ts < ?1", [cutoff])?;
        // An alert's vector goes with it (search would skip it, but it would stay).
        self.conn.execute(
            "DELETE FROM vectors WHERE kind = 'alert' AND ref IN
             (SELECT id FROM alerts WHERE state = 'resolved' AND resolved_at < ?1)",
            [cutoff],
        )?;
        self.conn.execute(
            "DELETE FROM alerts WHERE state = 'resolved' AND resolved_at < ?1",
            [cutoff],
        )?;
        self.conn
            .execute("DELETE FROM aggregates WHERE window_start < ?1", [cutoff])?;
        self.conn
            .execute("DELETE FROM rejected WHERE ts < ?1", [cutoff])?;
        if pruned > 0 {
            tracing::debug!(pruned, "journal retention");
        }
        self.metrics.pruned_rows.inc_by(pruned);
        Ok(())
    }
}

fn used_bytes(conn: &Connection) -> rusqlite::Result<u64> {
    let pages: u64 = conn.pragma_query_value(None, "page_count", |r| r.get(0))?;
    let free: u64 = conn.pragma_query_value(None, "freelist_count", |r| r.get(0))?;
    let size: u64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
    Ok((pages - free) * size)
}

fn sensor_id(
    tx: &Transaction<'_>,
    cache: &mut HashMap<Arc<str>, i64>,
    name: &Arc<str>,
    first_seen: i64,
) -> rusqlite::Result<i64> {
    if let Some(id) = cache.get(name) {
        return Ok(*id);
    }
    tx.prepare_cached(
        "INSERT INTO sensors(name, first_seen) VALUES (?1, ?2) ON CONFLICT(name) DO NOTHING",
    )?
    .execute(params![&**name, first_seen])?;
    let id = tx
        .prepare_cached("SELECT id FROM sensors WHERE name = ?1")?
        .query_row([&**name], |r| r.get(0))?;
    cache.insert(name.clone(), id);
    Ok(id)
}

fn write_batch<'b>(
    tx: &Transaction<'_>,
    ids: &mut HashMap<Arc<str>, i64>,
    b: &'b WriteBatch,
    last: &mut HashMap<i64, &'b Reading>,
) -> Result<(), StoreError> {
    {
        let mut ins = tx.prepare_cached(
            "INSERT INTO journal(sensor, ts, value, quality) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for r in &b.readings {
            let id = sensor_id(tx, ids, &r.sensor, r.ts_ms)?;
            ins.execute(params![id, r.ts_ms, r.value, r.quality.as_i64()])?;
            if last.get(&id).is_none_or(|l| l.ts_ms <= r.ts_ms) {
                last.insert(id, r);
            }
        }
    }
    for a in &b.alerts {
        write_alert(tx, a)?;
    }
    if !b.aggregates.is_empty() {
        let mut ins = tx.prepare_cached(
            "INSERT OR REPLACE INTO aggregates(sensor, window_start, window_end, count, min, max, mean, stddev,
             p50, p95, p99, first_ts, last_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        for g in &b.aggregates {
            let id = sensor_id(tx, ids, &g.sensor, g.first_ms)?;
            ins.execute(params![
                id,
                g.window_start_ms,
                g.window_end_ms,
                g.count as i64,
                g.min,
                g.max,
                g.mean,
                g.stddev,
                g.p50,
                g.p95,
                g.p99,
                g.first_ms,
                g.last_ms
            ])?;
        }
    }
    if let Some(t) = b.closed_until_ms {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('aggregates_closed_until', ?1)",
        )?
        .execute([t])?;
    }
    for r in &b.rejected {
        tx.prepare_cached(
            "INSERT INTO rejected(ts, source, topic, reason, payload) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![r.ts_ms, &*r.source, r.topic, r.reason, r.excerpt])?;
    }
    for f in &b.faults {
        tx.prepare_cached(
            "INSERT INTO sim_faults(sensor, kind, start_ms, end_ms) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![&*f.sensor, f.kind, f.start_ms, f.end_ms])?;
    }
    Ok(())
}

fn write_alert(tx: &Transaction<'_>, a: &AlertEvent) -> rusqlite::Result<()> {
    match a.state {
        AlertState::Firing => {
            tx.prepare_cached(
                "INSERT INTO alerts(id, rule, sensor, severity, kind, state, value, limit_value, unit, fired_at, message)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'firing', ?6, ?7, ?8, ?9, ?10) ON CONFLICT(id) DO NOTHING",
            )?
            .execute(params![
                a.id, &*a.rule, &*a.sensor, a.severity.as_str(), a.kind.as_str(), a.value, a.limit,
                a.unit.as_deref(), a.fired_ms, a.message
            ])?;
        }
        AlertState::Resolved => {
            tx.prepare_cached(
                "UPDATE alerts SET state = 'resolved', resolved_at = ?2, resolved_value = ?3, resolve_message = ?4
                 WHERE id = ?1",
            )?
            .execute(params![a.id, a.event_ms, a.value, a.message])?;
        }
    }
    tx.prepare_cached(
        "INSERT INTO alert_events(alert_id, state, ts, value, message) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        a.id,
        a.state.as_str(),
        a.event_ms,
        a.value,
        a.message
    ])?;
    Ok(())
}
