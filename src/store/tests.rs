//! The writer thread and reader against a real SQLite file.

use super::*;
use crate::config::Config;
use crate::event::{now_ms, CommitAck, Reading};
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::sources::IngestBatch;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, watch};

fn readings(sensor: &str, from_ms: i64, n: i64, step_ms: i64) -> Vec<Reading> {
    (0..n)
        .map(|i| Reading::new(sensor, from_ms + i * step_ms, i as f64))
        .collect()
}

async fn flush(w: &Writer) {
    let (tx, rx) = oneshot::channel();
    w.tx.send(WriteOp::Flush(tx)).await.unwrap();
    rx.await.unwrap();
}

#[tokio::test]
async fn ack_watermark_rises_only_after_commit() {
    let dir = tempfile::tempdir().unwrap();
    let w = Writer::spawn(
        &db_path(dir.path()),
        &StoreConfig::default(),
        Arc::default(),
    )
    .unwrap();
    let (tx, mut rx) = watch::channel(0);
    let tx = Arc::new(tx);
    for seq in 1..=3 {
        let batch = WriteBatch {
            readings: readings("a", now_ms(), 10, 1),
            acks: vec![CommitAck {
                watermark: tx.clone(),
                seq,
            }],
            ..Default::default()
        };
        w.tx.send(WriteOp::Batch(batch)).await.unwrap();
    }
    tokio::time::timeout(Duration::from_secs(5), rx.wait_for(|s| *s == 3))
        .await
        .unwrap()
        .unwrap();
    // Whatever the watermark says is committed is visible to an independent reader.
    let r = Reader::open(dir.path()).unwrap();
    assert_eq!(r.stats().unwrap().journal_rows, 30);
    w.join().unwrap();
}

#[tokio::test]
async fn retention_prunes_by_age_and_by_size() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = StoreConfig {
        journal_retention: Duration::from_secs(3600),
        journal_max_size: bytesize::ByteSize::mib(1),
        ..Default::default()
    };
    let w = Writer::spawn(&db_path(dir.path()), &cfg, Arc::default()).unwrap();
    let now = now_ms();
    let old = WriteBatch {
        readings: readings("old", now - 7_200_000, 100, 1000),
        ..Default::default()
    };
    let fresh = WriteBatch {
        readings: readings("fresh", now - 60_000, 100, 10),
        ..Default::default()
    };
    w.tx.send(WriteOp::Batch(old)).await.unwrap();
    w.tx.send(WriteOp::Batch(fresh)).await.unwrap();
    w.tx.send(WriteOp::Prune).await.unwrap();
    flush(&w).await;
    let r = Reader::open(dir.path()).unwrap();
    let mut names = Vec::new();
    r.replay(i64::MIN, i64::MAX, |x| names.push(x.sensor.to_string()))
        .unwrap();
    assert_eq!(names.len(), 100);
    assert!(
        names.iter().all(|n| n == "fresh"),
        "only readings older than an hour go"
    );

    // Size: fill well past 1 MiB of fresh readings; the oldest go first.
    for chunk in 0..10 {
        let b = WriteBatch {
            readings: readings("bulk", now - 50_000 + chunk * 5000, 5000, 1),
            ..Default::default()
        };
        w.tx.send(WriteOp::Batch(b)).await.unwrap();
    }
    flush(&w).await;
    let before = r.stats().unwrap().journal_rows;
    w.tx.send(WriteOp::Prune).await.unwrap();
    flush(&w).await;
    let after = r.stats().unwrap().journal_rows;
    assert!(after < before && after > 0, "{before} -> {after}");
    let mut first = None;
    r.replay(i64::MIN, i64::MAX, |x| {
        first.get_or_insert(x.ts_ms);
    })
    .unwrap();
    assert!(
        first.unwrap() > now - 50_000,
        "the newest readings are kept"
    );
    w.join().unwrap();
}

#[tokio::test]
async fn restart_rebuilds_open_windows_and_firing_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[gateway]\nstate-dir = \"{}\"\n[aggregate]\nwindow = \"60s\"\nlateness = \"0s\"\n\
         [[rules]]\nname = \"hot\"\nsensors = [\"t\"]\nabove = 10.0\nclear = 5.0\n",
        dir.path().display()
    );
    let config = Config::from_toml(&text, std::path::Path::new("t.toml")).unwrap();
    let start = (now_ms() / 60_000) * 60_000;
    // First life: a few readings, one alert fires, then a crash before the window closes.
    {
        let metrics = Arc::new(Metrics::default());
        let w = Writer::spawn(&db_path(dir.path()), &config.store, metrics.clone()).unwrap();
        let mut p = Pipeline::new(&config, metrics).unwrap();
        let mut batch = WriteBatch::default();
        p.process(
            IngestBatch::readings(vec![
                Reading::new("t", start + 1, 4.0),
                Reading::new("t", start + 2, 12.0),
            ]),
            &mut batch,
        );
        assert_eq!(batch.alerts.len(), 1);
        w.tx.send(WriteOp::Batch(batch)).await.unwrap();
        w.join().unwrap();
    }
    // Second life: the window comes back from the journal, the alert resolves once.
    let metrics = Arc::new(Metrics::default());
    let w = Writer::spawn(&db_path(dir.path()), &config.store, metrics.clone()).unwrap();
    let reader = Reader::open(dir.path()).unwrap();
    let mut p = Pipeline::new(&config, metrics).unwrap();
    let mut batch = WriteBatch::default();
    let summary = p.restore(&reader, &mut batch).unwrap();
    assert_eq!((summary.replayed, summary.firing), (2, 1));
    p.process(
        IngestBatch::readings(vec![
            Reading::new("t", start + 3, 11.0),
            Reading::new("t", start + 4, 3.0),
        ]),
        &mut batch,
    );
    assert_eq!(
        batch.alerts.len(),
        1,
        "still firing at 11, resolves at 3: {:?}",
        batch.alerts
    );
    p.tick(start + 60_000, &mut batch);
    assert_eq!(batch.aggregates.len(), 1);
    let g = &batch.aggregates[0];
    assert_eq!((g.count, g.min, g.max), (4, 3.0, 12.0));
    w.tx.send(WriteOp::Batch(batch)).await.unwrap();
    flush(&w).await;
    let firing = reader.firing_alerts().unwrap();
    assert!(firing.is_empty());
    assert_eq!(reader.closed_until().unwrap(), Some(start + 60_000));
    w.join().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_commit_is_retried_and_acknowledges_nothing_until_it_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::default());
    let w = Writer::spawn(
        &db_path(dir.path()),
        &StoreConfig::default(),
        metrics.clone(),
    )
    .unwrap();
    // Another process's write lock, held past the writer's 5 s busy timeout.
    let blocker = rusqlite::Connection::open(db_path(dir.path())).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let (tx, rx) = watch::channel(0);
    let tx = Arc::new(tx);
    let batch = WriteBatch {
        readings: readings("locked", now_ms(), 5, 1),
        acks: vec![CommitAck {
            watermark: tx.clone(),
            seq: 1,
        }],
        ..Default::default()
    };
    w.tx.send(WriteOp::Batch(batch)).await.unwrap();
    let failed = tokio::time::timeout(Duration::from_secs(20), async {
        while metrics.commit_errors.get() == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(failed.is_ok(), "the commit should have failed on the lock");
    assert_eq!(
        *rx.borrow(),
        0,
        "nothing acknowledged while the commit fails"
    );
    blocker.execute_batch("ROLLBACK").unwrap();
    let mut rx = rx;
    tokio::time::timeout(Duration::from_secs(20), rx.wait_for(|s| *s == 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        Reader::open(dir.path())
            .unwrap()
            .stats()
            .unwrap()
            .journal_rows,
        5
    );
    w.join().unwrap();
}

#[tokio::test]
async fn summaries_sum_closed_aggregates_per_window_and_are_offered_once() {
    use super::knowledge::{KnowledgeOp, Summary};
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[gateway]\nstate-dir = \"{}\"\n\
         [[rules]]\nname = \"hot\"\nsensors = [\"t\"]\nabove = 10.0\nclear = 5.0\n",
        dir.path().display()
    );
    let config = Config::from_toml(&text, std::path::Path::new("t.toml")).unwrap();
    let hour = 3_600_000;
    let h = (now_ms() / hour - 3) * hour;
    let metrics = Arc::new(Metrics::default());
    let w = Writer::spawn(&db_path(dir.path()), &config.store, metrics.clone()).unwrap();
    let reader = Reader::open(dir.path()).unwrap();
    let mut p = Pipeline::new(&config, metrics).unwrap();
    let mut batch = WriteBatch::default();
    // Hour h: 4, 12 (fires), 3 (resolves) in one minute, 8 half an hour later;
    // hour h+1: a single 1.
    p.process(
        IngestBatch::readings(vec![
            Reading::new("t", h + 1_000, 4.0),
            Reading::new("t", h + 2_000, 12.0),
            Reading::new("t", h + 3_000, 3.0),
            Reading::new("t", h + hour / 2, 8.0),
            Reading::new("t", h + hour + 5_000, 1.0),
        ]),
        &mut batch,
    );
    p.tick(h + 3 * hour, &mut batch);
    w.tx.send(WriteOp::Batch(batch)).await.unwrap();
    flush(&w).await;

    let due = reader
        .summaries_due(hour, h - hour, h + 2 * hour, 10)
        .unwrap();
    assert_eq!(due.len(), 2, "{due:?}");
    assert_eq!(
        (due[0].start_ms, due[0].count, due[0].mean, due[0].alerts),
        (h + hour, 1, 1.0, 0),
        "newest first"
    );
    let first = &due[1];
    assert_eq!(
        (
            first.start_ms,
            first.end_ms,
            first.count,
            first.min,
            first.max,
            first.alerts
        ),
        (h, h + hour, 4, 3.0, 12.0, 1)
    );
    assert!((first.mean - 6.75).abs() < 1e-9, "{}", first.mean);
    assert!(
        first.text().starts_with("summary of t from ")
            && first
                .text()
                .ends_with(": 4 readings, mean 6.75, min 3, max 12; 1 alert fired"),
        "{}",
        first.text()
    );

    // Stored once: no longer due, found by its reference, pruned with its vector.
    let (tx, rx) = oneshot::channel();
    let op = KnowledgeOp::Summaries {
        rows: vec![(first.clone(), vec![0.5; crate::ml::embed::DIM])],
        reply: Some(tx),
    };
    w.tx.send(WriteOp::Knowledge(op)).await.unwrap();
    rx.await.unwrap();
    let due = reader
        .summaries_due(hour, h - hour, h + 2 * hour, 10)
        .unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].start_ms, h + hour);
    assert_eq!(
        reader.summary(&first.reference()).unwrap().as_ref(),
        Some(first)
    );
    assert_eq!(Summary::parse_reference("a@b@123"), Some(("a@b", 123)));
    let summaries = || {
        reader
            .vectors()
            .unwrap()
            .into_iter()
            .filter(|(k, _, _)| k == "summary")
            .count()
    };
    assert_eq!(summaries(), 1);
    w.tx.send(WriteOp::Knowledge(KnowledgeOp::PruneSummaries {
        before_ms: h + 1,
    }))
    .await
    .unwrap();
    flush(&w).await;
    assert_eq!(reader.summary(&first.reference()).unwrap(), None);
    assert_eq!(summaries(), 0);
    w.join().unwrap();
}
