//! The outbox through the real writer thread and a real SQLite file.

use super::outbox::{ItemKind, OutboxSpec};
use super::*;
use crate::aggregate::Aggregate;
use crate::event::Severity;
use crate::event::{AlertEvent, AlertKind, AlertState};
use crate::metrics::Metrics;
use std::sync::Arc;
use tokio::sync::{oneshot, watch};

fn spec(name: &str, route: Route, max_bytes: u64, policy: AlertsWhenFull) -> Arc<OutboxSpec> {
    Arc::new(OutboxSpec {
        name: name.into(),
        route,
        max_bytes,
        max_age_ms: 86_400_000,
        alerts_when_full: policy,
        metrics: crate::metrics::Metrics::default().sink("test", "test"),
        enqueued: watch::channel(0).0,
    })
}

fn alert(n: i64, severity: Severity) -> AlertEvent {
    AlertEvent {
        id: format!("a{n}"),
        state: AlertState::Firing,
        rule: "hot".into(),
        sensor: format!("line2/m{n}/temp").into(),
        severity,
        kind: AlertKind::Above,
        value: 91.0,
        limit: 90.0,
        unit: None,
        fired_ms: n,
        event_ms: n,
        message: format!("m{n} hot"),
    }
}

fn aggregate(n: i64) -> Aggregate {
    Aggregate {
        sensor: format!("line2/m{n}/temp").into(),
        unit: None,
        window_start_ms: n * 1000,
        window_end_ms: n * 1000 + 1000,
        count: 1,
        min: 1.0,
        max: 1.0,
        mean: 1.0,
        stddev: 0.0,
        p50: 1.0,
        p95: 1.0,
        p99: 1.0,
        first_ms: n * 1000,
        last_ms: n * 1000,
    }
}

fn writer(dir: &std::path::Path, specs: Vec<Arc<OutboxSpec>>) -> Writer {
    Writer::spawn_with_outboxes(
        &db_path(dir),
        &StoreConfig::default(),
        Arc::new(Metrics::default()),
        specs,
    )
    .unwrap()
}

async fn send(w: &Writer, alerts: Vec<AlertEvent>, aggregates: Vec<Aggregate>) {
    let b = WriteBatch {
        alerts,
        aggregates,
        ..Default::default()
    };
    w.tx.send(WriteOp::Batch(b)).await.unwrap();
}

async fn lease(w: &Writer, sink: &str, after: u64, max: usize) -> Vec<OutboxRow> {
    let (reply, rx) = oneshot::channel();
    w.tx.send(WriteOp::Lease {
        sink: sink.into(),
        after,
        max,
        reply,
    })
    .await
    .unwrap();
    rx.await.unwrap()
}

#[tokio::test]
async fn routes_number_and_delete_per_sink() {
    let dir = tempfile::tempdir().unwrap();
    let critical_only = Route::new(&RouteConfig {
        events: Some(vec![EventKind::Alerts]),
        min_severity: Severity::Critical,
        ..Default::default()
    })
    .unwrap();
    let w = writer(
        dir.path(),
        vec![
            spec("all", Route::all(), 1 << 20, AlertsWhenFull::Keep),
            spec("pager", critical_only, 1 << 20, AlertsWhenFull::Keep),
        ],
    );
    send(
        &w,
        vec![alert(1, Severity::Warning), alert(2, Severity::Critical)],
        vec![aggregate(3)],
    )
    .await;
    let all = lease(&w, "all", 0, 10).await;
    let kinds: Vec<(u64, ItemKind)> = all.iter().map(|r| (r.seq, r.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (1, ItemKind::Alert),
            (2, ItemKind::Alert),
            (3, ItemKind::Aggregate)
        ]
    );
    let pager = lease(&w, "pager", 0, 10).await;
    assert_eq!(pager.len(), 1);
    assert_eq!(pager[0].seq, 1, "each sink numbers its own stream");
    assert!(pager[0].body.contains("\"a2\""));

    // Delivered rows go; the numbering continues after a restart.
    w.tx.send(WriteOp::Delivered {
        sink: "all".into(),
        upto: 2,
    })
    .await
    .unwrap();
    let seqs: Vec<u64> = lease(&w, "all", 0, 10)
        .await
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(seqs, vec![3]);
    w.join().unwrap();
    let w = writer(
        dir.path(),
        vec![spec("all", Route::all(), 1 << 20, AlertsWhenFull::Keep)],
    );
    send(&w, vec![alert(4, Severity::Info)], vec![]).await;
    let seqs: Vec<u64> = lease(&w, "all", 0, 10)
        .await
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(seqs, vec![3, 4]);
    w.join().unwrap();
}

#[tokio::test]
async fn budget_drops_oldest_aggregates_then_alerts_per_policy_and_never_leased_rows() {
    let dir = tempfile::tempdir().unwrap();
    let one = serde_json::to_string(&aggregate(10)).unwrap().len() as u64;
    // Room for about five aggregates.
    let budget = one * 5 + one / 2;
    let keep = spec("keep", Route::all(), budget, AlertsWhenFull::Keep);
    let drop = spec("drop", Route::all(), budget, AlertsWhenFull::DropOldest);
    let w = writer(dir.path(), vec![keep.clone(), drop.clone()]);
    send(&w, vec![], (10..13).map(aggregate).collect()).await;
    // The sink holds rows 1 and 2 in flight: they must never be evicted.
    assert_eq!(lease(&w, "keep", 0, 2).await.len(), 2);
    assert_eq!(lease(&w, "drop", 0, 2).await.len(), 2);
    send(&w, vec![], (13..20).map(aggregate).collect()).await;
    let left: Vec<u64> = lease(&w, "keep", 0, 100)
        .await
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(
        left,
        vec![1, 2, 8, 9, 10],
        "oldest unleased aggregates dropped"
    );
    assert_eq!(keep.metrics.dropped_aggregates.get(), 5);

    // Alerts alone now: `keep` keeps them beyond the budget, `drop` drops the oldest.
    w.tx.send(WriteOp::Delivered {
        sink: "keep".into(),
        upto: 10,
    })
    .await
    .unwrap();
    w.tx.send(WriteOp::Delivered {
        sink: "drop".into(),
        upto: 10,
    })
    .await
    .unwrap();
    let alerts: Vec<AlertEvent> = (30..50).map(|n| alert(n, Severity::Critical)).collect();
    send(&w, alerts, vec![]).await;
    assert_eq!(lease(&w, "keep", 10, 100).await.len(), 20);
    assert_eq!(keep.metrics.dropped_alerts.get(), 0);
    let kept = lease(&w, "drop", 10, 100).await;
    let dropped = drop.metrics.dropped_alerts.get();
    assert!(
        dropped > 0 && kept.len() as i64 + dropped == 20,
        "{dropped} + {}",
        kept.len()
    );
    assert_eq!(kept.last().unwrap().seq, 30, "the newest alerts stay");
    assert!(drop.metrics.queue_bytes.get() as u64 <= budget);
    w.join().unwrap();
}

#[tokio::test]
async fn a_removed_sink_keeps_its_queue_for_when_it_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let w = writer(
        dir.path(),
        vec![spec("old", Route::all(), 1 << 20, AlertsWhenFull::Keep)],
    );
    send(&w, vec![alert(1, Severity::Critical)], vec![aggregate(2)]).await;
    w.join().unwrap();
    // Started without it: nothing of its queue is touched.
    let w = writer(
        dir.path(),
        vec![spec("new", Route::all(), 1 << 20, AlertsWhenFull::Keep)],
    );
    send(&w, vec![alert(3, Severity::Critical)], vec![]).await;
    w.join().unwrap();
    let w = writer(
        dir.path(),
        vec![spec("old", Route::all(), 1 << 20, AlertsWhenFull::Keep)],
    );
    let seqs: Vec<u64> = lease(&w, "old", 0, 10)
        .await
        .iter()
        .map(|r| r.seq)
        .collect();
    assert_eq!(seqs, vec![1, 2]);
    w.join().unwrap();
}
