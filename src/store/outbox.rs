//! Per-sink durable queues (the writer's side). Alert events and closed aggregate
//! windows are routed and enqueued in the same transaction that stores them; a
//! sink leases rows in order and they are deleted only once it reports them
//! delivered. Each sink numbers its rows 1, 2, 3 ... for good, so `(gateway, sink,
//! epoch, seq)` is a dedup key and a gap in `seq` is a dropped row, counted.
//!
//! Budget: above `max-size` the oldest aggregates go first; alerts are kept or
//! dropped oldest-first per `alerts-when-full`. Rows leased to the sink are never
//! evicted, so every drop counted is an item the receiver never got.

pub mod dead_letters;
mod route;
mod settings;

pub use route::Route;
pub use settings::{AlertsWhenFull, EventKind, OutboxConfig, RouteConfig};

use crate::aggregate::Aggregate;
use crate::event::AlertEvent;
use crate::event::Labels;
use crate::internal_events::{emit, OutboxDropCause, OutboxDropped};
use crate::metrics::SinkMetrics;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;
use tokio::sync::watch;

/// What the daemon tells the writer about one sink.
#[derive(Debug)]
pub struct OutboxSpec {
    pub name: Arc<str>,
    pub route: Route,
    pub max_bytes: u64,
    pub max_age_ms: i64,
    pub alerts_when_full: AlertsWhenFull,
    pub metrics: Arc<SinkMetrics>,
    /// Raised to the newest enqueued `seq` after each commit: wakes the sink.
    pub enqueued: watch::Sender<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Alert,
    Aggregate,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Alert => "alert",
            ItemKind::Aggregate => "aggregate",
        }
    }

    fn parse(s: &str) -> Self {
        if s == "alert" {
            ItemKind::Alert
        } else {
            ItemKind::Aggregate
        }
    }
}

/// One queued item as a sink sees it.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub seq: u64,
    /// Start time (unix seconds) of the process that enqueued it.
    pub epoch: i64,
    pub kind: ItemKind,
    pub created_ms: i64,
    /// The event as JSON.
    pub body: String,
}

#[derive(Debug, Default, Clone)]
struct QueueState {
    next_seq: u64,
    items: u64,
    bytes: u64,
    /// Rows at or below this were handed to the sink: never evicted.
    leased_upto: u64,
    delivered: u64,
    dropped_alerts: u64,
    dropped_aggregates: u64,
    dead_letters: u64,
}

pub(crate) struct Outboxes {
    epoch: i64,
    sinks: Vec<(Arc<OutboxSpec>, QueueState)>,
    /// Latest labels per sensor, for routes that filter on labels.
    labels: HashMap<Arc<str>, Labels>,
    need_labels: bool,
}

impl Outboxes {
    pub(crate) fn load(
        conn: &Connection,
        specs: Vec<Arc<OutboxSpec>>,
        epoch: i64,
    ) -> rusqlite::Result<Self> {
        let need_labels = specs.iter().any(|s| s.route.wants_labels());
        let mut o = Outboxes {
            epoch,
            sinks: specs
                .into_iter()
                .map(|s| (s, QueueState::default()))
                .collect(),
            labels: HashMap::default(),
            need_labels,
        };
        o.reload(conn)?;
        o.warn_orphans(conn)?;
        Ok(o)
    }

    /// Queued items of sinks that are no longer configured stay (the sink may come
    /// back under the same name) but are said once at start, with how to drop them.
    fn warn_orphans(&self, conn: &Connection) -> rusqlite::Result<()> {
        let mut st = conn.prepare("SELECT sink, count(*) FROM outbox GROUP BY sink")?;
        let queued: Vec<(String, i64)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (sink, items) in queued {
            if !self.sinks.iter().any(|(s, _)| *s.name == *sink) {
                tracing::warn!(
                    sink = %sink, items,
                    "outbox of a sink that is no longer configured: its items are kept; add the sink back to send them, or drop them with `sqlite3 STATE_DIR/edgewatch.db \"DELETE FROM outbox WHERE sink = '{sink}'\"`"
                );
            }
        }
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    /// Re-reads counters from the database (at start, and after a failed commit
    /// rolled back what was counted in memory). Leases are kept: they live in the sinks.
    pub(crate) fn reload(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        for (spec, st) in &mut self.sinks {
            let leased = st.leased_upto;
            *st = QueueState {
                leased_upto: leased,
                ..QueueState::default()
            };
            if let Some((next, delivered, da, dg)) = conn
                .query_row(
                    "SELECT next_seq, delivered, dropped_alerts, dropped_aggregates FROM outbox_sinks WHERE sink = ?1",
                    [&*spec.name],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?)),
                )
                .optional()?
            {
                st.next_seq = next as u64;
                st.delivered = delivered as u64;
                st.dropped_alerts = da as u64;
                st.dropped_aggregates = dg as u64;
            } else {
                st.next_seq = 1;
            }
            let (items, bytes): (i64, i64) = conn.query_row(
                "SELECT count(*), coalesce(sum(length(body)), 0) FROM outbox WHERE sink = ?1",
                [&*spec.name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            st.items = items as u64;
            st.bytes = bytes as u64;
            st.dead_letters = Self::count_dead_letters(conn, &spec.name)?;
        }
        Ok(())
    }

    /// Remembers a sensor's labels for label routes.
    pub(crate) fn note_labels(&mut self, sensor: &Arc<str>, labels: &Labels) {
        if self.need_labels
            && self
                .labels
                .get(sensor)
                .is_none_or(|l| !Arc::ptr_eq(l, labels))
        {
            self.labels.insert(sensor.clone(), labels.clone());
        }
    }

    fn labels_of(&mut self, tx: &Transaction<'_>, sensor: &Arc<str>) -> Option<Labels> {
        if !self.need_labels {
            return None;
        }
        if let Some(l) = self.labels.get(sensor) {
            return Some(l.clone());
        }
        let stored: Option<String> = tx
            .query_row(
                "SELECT labels FROM sensors WHERE name = ?1",
                [&**sensor],
                |r| r.get(0),
            )
            .optional()
            .ok()
            .flatten()
            .flatten();
        let labels: Labels = Arc::new(
            stored
                .and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default(),
        );
        self.labels.insert(sensor.clone(), labels.clone());
        Some(labels)
    }

    /// Routes and enqueues, then applies each touched sink's budget.
    pub(crate) fn enqueue(
        &mut self,
        tx: &Transaction<'_>,
        alerts: &[AlertEvent],
        aggregates: &[Aggregate],
        now_ms: i64,
    ) -> rusqlite::Result<()> {
        if self.sinks.is_empty() || (alerts.is_empty() && aggregates.is_empty()) {
            return Ok(());
        }
        let mut touched = vec![false; self.sinks.len()];
        for a in alerts {
            let labels = self.labels_of(tx, &a.sensor);
            let body = serde_json::to_string(a).unwrap_or_default();
            for (i, t) in touched.iter_mut().enumerate() {
                let route = &self.sinks[i].0.route;
                if route.alert(a.severity, &a.sensor, labels.as_ref()) {
                    self.insert(tx, i, ItemKind::Alert, &body, now_ms)?;
                    *t = true;
                }
            }
        }
        if self.sinks.iter().any(|(s, _)| s.route.wants_aggregates()) {
            for g in aggregates {
                let labels = self.labels_of(tx, &g.sensor);
                let body = serde_json::to_string(g).unwrap_or_default();
                for (i, t) in touched.iter_mut().enumerate() {
                    if self.sinks[i].0.route.aggregate(&g.sensor, labels.as_ref()) {
                        self.insert(tx, i, ItemKind::Aggregate, &body, now_ms)?;
                        *t = true;
                    }
                }
            }
        }
        for (i, t) in touched.into_iter().enumerate() {
            if t {
                self.enforce_budget(tx, i)?;
                self.save(tx, i)?;
            }
        }
        Ok(())
    }

    fn insert(
        &mut self,
        tx: &Transaction<'_>,
        i: usize,
        kind: ItemKind,
        body: &str,
        now_ms: i64,
    ) -> rusqlite::Result<()> {
        let (spec, st) = &mut self.sinks[i];
        tx.prepare_cached(
            "INSERT INTO outbox(sink, seq, epoch, kind, created, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![&*spec.name, st.next_seq as i64, self.epoch, kind.as_str(), now_ms, body])?;
        st.next_seq += 1;
        st.items += 1;
        st.bytes += body.len() as u64;
        Ok(())
    }

    fn save(&self, tx: &Transaction<'_>, i: usize) -> rusqlite::Result<()> {
        let (spec, st) = &self.sinks[i];
        tx.prepare_cached(
            "INSERT OR REPLACE INTO outbox_sinks(sink, next_seq, delivered, dropped_alerts, dropped_aggregates)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            &*spec.name,
            st.next_seq as i64,
            st.delivered as i64,
            st.dropped_alerts as i64,
            st.dropped_aggregates as i64
        ])?;
        Ok(())
    }

    fn enforce_budget(&mut self, tx: &Transaction<'_>, i: usize) -> rusqlite::Result<()> {
        let (spec, st) = &self.sinks[i];
        if st.bytes <= spec.max_bytes {
            return Ok(());
        }
        let dropped = self.evict_while_over(tx, i, ItemKind::Aggregate)?;
        if dropped > 0 {
            let (spec, st) = &self.sinks[i];
            emit(OutboxDropped {
                sink: &spec.name,
                kind: ItemKind::Aggregate.as_str(),
                dropped,
                total: st.dropped_aggregates,
                cause: OutboxDropCause::FullAggregates,
            });
        }
        let (spec, st) = &self.sinks[i];
        if st.bytes > spec.max_bytes && spec.alerts_when_full == AlertsWhenFull::DropOldest {
            let dropped = self.evict_while_over(tx, i, ItemKind::Alert)?;
            if dropped > 0 {
                let (spec, st) = &self.sinks[i];
                emit(OutboxDropped {
                    sink: &spec.name,
                    kind: ItemKind::Alert.as_str(),
                    dropped,
                    total: st.dropped_alerts,
                    cause: OutboxDropCause::FullAlerts,
                });
            }
        }
        Ok(())
    }

    /// Deletes the oldest unleased rows of `kind` until the sink is within budget.
    fn evict_while_over(
        &mut self,
        tx: &Transaction<'_>,
        i: usize,
        kind: ItemKind,
    ) -> rusqlite::Result<u64> {
        let (spec, st) = &mut self.sinks[i];
        let mut dropped = 0;
        let mut select = tx.prepare_cached(
            "SELECT seq, length(body) FROM outbox WHERE sink = ?1 AND kind = ?2 AND seq > ?3 ORDER BY seq LIMIT 256",
        )?;
        let mut delete = tx.prepare_cached("DELETE FROM outbox WHERE sink = ?1 AND seq = ?2")?;
        while st.bytes > spec.max_bytes {
            let rows: Vec<(i64, i64)> = select
                .query_map(
                    params![&*spec.name, kind.as_str(), st.leased_upto as i64],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?
                .collect::<Result<_, _>>()?;
            if rows.is_empty() {
                break;
            }
            for (seq, len) in rows {
                if st.bytes <= spec.max_bytes {
                    break;
                }
                delete.execute(params![&*spec.name, seq])?;
                st.bytes -= len as u64;
                st.items -= 1;
                dropped += 1;
            }
        }
        match kind {
            ItemKind::Alert => st.dropped_alerts += dropped,
            ItemKind::Aggregate => st.dropped_aggregates += dropped,
        }
        Ok(dropped)
    }

    /// Removes rows a sink reports delivered (acknowledged upstream).
    pub(crate) fn delivered(
        &mut self,
        tx: &Transaction<'_>,
        sink: &str,
        upto: u64,
    ) -> rusqlite::Result<()> {
        let Some(i) = self.sinks.iter().position(|(s, _)| &*s.name == sink) else {
            return Ok(());
        };
        let (spec, st) = &mut self.sinks[i];
        let (n, bytes): (i64, i64) = tx.query_row(
            "SELECT count(*), coalesce(sum(length(body)), 0) FROM outbox WHERE sink = ?1 AND seq <= ?2",
            params![&*spec.name, upto as i64],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        tx.prepare_cached("DELETE FROM outbox WHERE sink = ?1 AND seq <= ?2")?
            .execute(params![&*spec.name, upto as i64])?;
        st.items -= (n as u64).min(st.items);
        st.bytes -= (bytes as u64).min(st.bytes);
        st.delivered += n as u64;
        self.save(tx, i)
    }

    /// Age limit: unleased rows older than `max-age` go (alerts only when the
    /// sink drops alerts at all).
    pub(crate) fn expire(&mut self, tx: &Transaction<'_>, now_ms: i64) -> rusqlite::Result<()> {
        for i in 0..self.sinks.len() {
            let (spec, st) = &mut self.sinks[i];
            let cutoff = now_ms - spec.max_age_ms;
            let mut kinds = vec![ItemKind::Aggregate];
            if spec.alerts_when_full == AlertsWhenFull::DropOldest {
                kinds.push(ItemKind::Alert);
            }
            let mut any = false;
            for kind in kinds {
                let (n, bytes): (i64, i64) = tx.query_row(
                    "SELECT count(*), coalesce(sum(length(body)), 0) FROM outbox
                     WHERE sink = ?1 AND kind = ?2 AND seq > ?3 AND created < ?4",
                    params![&*spec.name, kind.as_str(), st.leased_upto as i64, cutoff],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                if n == 0 {
                    continue;
                }
                tx.execute(
                    "DELETE FROM outbox WHERE sink = ?1 AND kind = ?2 AND seq > ?3 AND created < ?4",
                    params![&*spec.name, kind.as_str(), st.leased_upto as i64, cutoff],
                )?;
                st.items -= (n as u64).min(st.items);
                st.bytes -= (bytes as u64).min(st.bytes);
                let total = match kind {
                    ItemKind::Alert => &mut st.dropped_alerts,
                    ItemKind::Aggregate => &mut st.dropped_aggregates,
                };
                *total += n as u64;
                emit(OutboxDropped {
                    sink: &spec.name,
                    kind: kind.as_str(),
                    dropped: n as u64,
                    total: *total,
                    cause: OutboxDropCause::Aged,
                });
                any = true;
            }
            if any {
                self.save(tx, i)?;
            }
        }
        Ok(())
    }

    /// Rows after `after`, oldest first; marks them leased. Runs on committed data.
    pub(crate) fn lease(
        &mut self,
        conn: &Connection,
        sink: &str,
        after: u64,
        max: usize,
    ) -> rusqlite::Result<Vec<OutboxRow>> {
        let Some((spec, st)) = self.sinks.iter_mut().find(|(s, _)| &*s.name == sink) else {
            return Ok(Vec::new());
        };
        let rows: Vec<OutboxRow> = conn
            .prepare_cached(
                "SELECT seq, epoch, kind, created, body FROM outbox WHERE sink = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?
            .query_map(params![&*spec.name, after as i64, max as i64], |r| {
                Ok(OutboxRow {
                    seq: r.get::<_, i64>(0)? as u64,
                    epoch: r.get(1)?,
                    kind: ItemKind::parse(&r.get::<_, String>(2)?),
                    created_ms: r.get(3)?,
                    body: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        if let Some(last) = rows.last() {
            st.leased_upto = st.leased_upto.max(last.seq);
        }
        Ok(rows)
    }

    /// Publishes queue figures and wakes sinks; call after a commit.
    pub(crate) fn publish(&self, conn: &Connection) {
        for (spec, st) in &self.sinks {
            let m = &spec.metrics;
            m.queue_items.set(st.items as i64);
            m.queue_bytes.set(st.bytes as i64);
            m.delivered.set(st.delivered as i64);
            m.dropped_alerts.set(st.dropped_alerts as i64);
            m.dropped_aggregates.set(st.dropped_aggregates as i64);
            m.dead_letters.set(st.dead_letters as i64);
            let oldest: Option<i64> = if st.items == 0 {
                None
            } else {
                conn.query_row(
                    "SELECT created FROM outbox WHERE sink = ?1 ORDER BY seq LIMIT 1",
                    [&*spec.name],
                    |r| r.get(0),
                )
                .ok()
                .flatten()
            };
            m.oldest_ms.set(oldest.unwrap_or(0));
            let newest = st.next_seq.saturating_sub(1);
            spec.enqueued.send_if_modified(|v| {
                let newer = newest > *v;
                if newer {
                    *v = newest;
                }
                newer
            });
        }
    }
}
