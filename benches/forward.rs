//! Store-and-forward: what queuing costs per event, and how fast a backlog drains
//! after an outage to a local Mosquitto (QoS 1) and to a local HTTP receiver.
//!
//! Baseline in the same run: the writer storing the same aggregates with no sink.
//!
//! cargo bench --bench forward        (needs mosquitto: scripts/test-deps.sh)

mod common;

use edgewatch::aggregate::Aggregate;
use edgewatch::config::Config;
use edgewatch::metrics::Metrics;
use edgewatch::sinks::Sink;
use edgewatch::store::{self, WriteBatch, WriteOp, Writer};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

const N: usize = 50_000;
const PER_BATCH: usize = 500;

fn aggregate(i: usize) -> Aggregate {
    Aggregate {
        sensor: format!("plant1/line{}/motor/m{:02}/temperature", i % 4, i % 25).into(),
        unit: Some("C".into()),
        window_start_ms: 1_763_700_000_000 + (i as i64 / 100) * 60_000,
        window_end_ms: 1_763_700_060_000 + (i as i64 / 100) * 60_000,
        count: 60,
        min: 61.2,
        max: 74.9,
        mean: 68.31,
        stddev: 2.7,
        p50: 68.2,
        p95: 72.9,
        p99: 74.1,
        first_ms: 1_763_700_000_500,
        last_ms: 1_763_700_059_500,
    }
}

fn config(dir: &Path, sinks: &str) -> Config {
    let text = format!(
        "[gateway]\nid = \"bench\"\nstate-dir = \"{}\"\n[store]\nsynchronous = \"normal\"\n{sinks}",
        dir.display()
    );
    Config::from_toml(&text, Path::new("bench.toml")).unwrap()
}

async fn flush(w: &Writer) {
    let (tx, rx) = oneshot::channel();
    w.tx.send(WriteOp::Flush(tx)).await.unwrap();
    rx.await.unwrap();
}

/// Stores N aggregates through the writer (queuing them for every sink); seconds.
async fn enqueue_all(w: &Writer) -> f64 {
    let t = Instant::now();
    for chunk in (0..N).collect::<Vec<_>>().chunks(PER_BATCH) {
        let b = WriteBatch {
            aggregates: chunk.iter().map(|i| aggregate(*i)).collect(),
            ..Default::default()
        };
        w.tx.send(WriteOp::Batch(b)).await.unwrap();
    }
    flush(w).await;
    t.elapsed().as_secs_f64()
}

/// Queues N items with the sink down, then starts it and times the drain.
async fn enqueue_and_drain(sinks: &str, name: &str) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), sinks);
    let metrics = Arc::new(Metrics::default());
    let built = Sink::build_all(&c.sinks, &c.gateway.id, &metrics).unwrap();
    let w = Writer::spawn_with_outboxes(
        &store::db_path(dir.path()),
        &c.store,
        metrics.clone(),
        built.outboxes,
    )
    .unwrap();
    let enqueue = enqueue_all(&w).await;
    let stop = CancellationToken::new();
    let t = Instant::now();
    let tasks: Vec<_> = built
        .sinks
        .into_iter()
        .map(|s| tokio::spawn(s.run(w.tx.clone(), stop.clone())))
        .collect();
    let m = metrics
        .sinks()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap();
    while m.delivered.get() < N as i64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "drain stalled at {}",
            m.delivered.get()
        );
    }
    let drain = t.elapsed().as_secs_f64();
    stop.cancel();
    for t in tasks {
        let _ = t.await;
    }
    tokio::task::spawn_blocking(move || w.join().unwrap())
        .await
        .unwrap();
    (N as f64 / enqueue, N as f64 / drain)
}

/// An HTTP receiver that answers 200 to everything (the ceiling is edgewatch's side).
async fn http_receiver() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().route("/", axum::routing::post(|_: String| async { "" }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

fn mosquitto() -> (std::process::Child, u16, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = dir.path().join("m.conf");
    std::fs::write(
        &conf,
        format!("user root\nlistener {port} 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 1000\n"),
    )
    .unwrap();
    let child = Command::new("mosquitto")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto (scripts/test-deps.sh installs it)");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port, dir)
}

#[tokio::main]
async fn main() {
    println!(
        "forward bench: {N} aggregates (~330 B each); {}",
        common::machine()
    );
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), "");
    let w = Writer::spawn(
        &store::db_path(dir.path()),
        &c.store,
        Arc::new(Metrics::default()),
    )
    .unwrap();
    let base = N as f64 / enqueue_all(&w).await;
    tokio::task::spawn_blocking(move || w.join().unwrap())
        .await
        .unwrap();
    println!(
        "baseline: store aggregates, no sink         {base:>10.0} items/s  ({:.1} us/item)",
        1e6 / base
    );

    let (mut broker, port, _bdir) = mosquitto();
    for batch in [100, 1000] {
        let (enq, drain) = enqueue_and_drain(
            &format!("[[sinks.mqtt]]\nname = \"up\"\nhost = \"127.0.0.1\"\nport = {port}\noutbox = {{ batch = {batch} }}\n"),
            "up",
        )
        .await;
        println!(
            "mqtt sink (QoS 1, {batch:>4} in flight): store+queue {enq:>8.0} items/s (+{:.1} us/item); drain {drain:>8.0} items/s",
            1e6 / enq - 1e6 / base
        );
    }
    let _ = broker.kill();
    let _ = broker.wait();

    let port = http_receiver().await;
    for batch in [100, 1000] {
        let (enq, drain) = enqueue_and_drain(
            &format!(
                "[sinks]\nallowed-hosts = [\"127.0.0.1\"]\n[[sinks.webhook]]\nname = \"hook\"\nurl = \"http://127.0.0.1:{port}/\"\noutbox = {{ batch = {batch} }}\n"
            ),
            "hook",
        )
        .await;
        println!(
            "webhook (json, {batch:>4} per request):  store+queue {enq:>8.0} items/s (+{:.1} us/item); drain {drain:>8.0} items/s",
            1e6 / enq - 1e6 / base
        );
    }
}
