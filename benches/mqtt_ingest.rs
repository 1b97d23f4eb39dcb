//! Through Mosquitto: 100k JSON readings queued at the broker with QoS 1 for a
//! persistent session, then drained by (a) a no-op rumqttc subscriber, the ceiling,
//! and (b) the edgewatch binary, which journals every reading before its PUBACK.
//! Prints msgs/s, CPU seconds and peak RSS.
//!
//! cargo bench --bench mqtt_ingest        (needs mosquitto: scripts/test-deps.sh)

mod common;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const N: usize = 100_000;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn payload(i: usize) -> String {
    // ~100 bytes, like the peers measured in shared/FACTS.md.
    format!(
        r#"{{"sensor_id":"plant1/line{}/motor/m{:02}/temperature","value":{:.2},"unit":"C","status":"normal"}}"#,
        i % 4,
        i % 25,
        60.0 + (i % 300) as f64 / 10.0
    )
}

fn opts(id: &str, port: u16) -> MqttOptions {
    let mut o = MqttOptions::new(id, "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(30))
        .set_clean_session(false)
        .set_inflight(1000);
    o
}

/// Publishes N QoS 1 messages and waits for every PUBACK.
async fn publish_all(port: u16) {
    let (client, mut events) = AsyncClient::new(opts("bench-pub", port), 10_000);
    let publisher = tokio::spawn(async move {
        for i in 0..N {
            client
                .publish(
                    format!("bench/{}", i % 50),
                    QoS::AtLeastOnce,
                    false,
                    payload(i),
                )
                .await
                .unwrap();
        }
    });
    let mut acked = 0;
    while acked < N {
        if let Event::Incoming(Packet::PubAck(_)) = events.poll().await.unwrap() {
            acked += 1;
        }
    }
    publisher.await.unwrap();
}

/// Connects a persistent session so the broker queues for it, then leaves.
async fn register(id: &str, port: u16) {
    let (client, mut events) = AsyncClient::new(opts(id, port), 100);
    client.subscribe("bench/#", QoS::AtLeastOnce).await.unwrap();
    loop {
        if let Event::Incoming(Packet::SubAck(_)) = events.poll().await.unwrap() {
            break;
        }
    }
    client.disconnect().await.unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while events.poll().await.is_ok() {}
    })
    .await;
}

/// The ceiling: receive and auto-acknowledge, nothing else.
async fn noop_drain(port: u16) -> (f64, f64) {
    let cpu0 = common::cpu_seconds("self");
    let t = Instant::now();
    let (_client, mut events) = AsyncClient::new(opts("bench-noop", port), 100);
    let mut got = 0;
    while got < N {
        if let Event::Incoming(Packet::Publish(_)) = events.poll().await.unwrap() {
            got += 1;
        }
    }
    (
        t.elapsed().as_secs_f64(),
        common::cpu_seconds("self") - cpu0,
    )
}

fn metric(api: &str, name: &str) -> f64 {
    let body = ureq::get(&format!("{api}/metrics"))
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok());
    body.unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

struct Run {
    secs: f64,
    cpu: f64,
    rss: f64,
}

fn edgewatch_drain(
    dir: &std::path::Path,
    port: u16,
    sync: &str,
    rt: &tokio::runtime::Runtime,
) -> Run {
    let state = dir.join(format!("state-{sync}"));
    let config = dir.join(format!("edgewatch-{sync}.toml"));
    std::fs::write(
        &config,
        format!(
            "[gateway]\nid = \"bench\"\nstate-dir = \"{}\"\n[api]\nlisten = \"127.0.0.1:0\"\n[log]\nlevel = \"warn\"\n\
             [store]\nsynchronous = \"{sync}\"\n\
             [[sources.mqtt]]\nname = \"bench\"\nclient-id = \"bench-edgewatch-{sync}\"\nhost = \"127.0.0.1\"\nport = {port}\n\
             [[sources.mqtt.subscriptions]]\ntopic = \"bench/#\"\nqos = 1\n",
            state.display()
        ),
    )
    .unwrap();
    rt.block_on(register(&format!("bench-edgewatch-{sync}"), port));
    rt.block_on(publish_all(port));
    let addr_file = state.join("api.addr");
    let _ = std::fs::remove_file(&addr_file);
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_edgewatch"))
        .args(["run", "-c"])
        .arg(&config)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let mut api = String::new();
    let deadline = Instant::now() + Duration::from_secs(300);
    let (cpu, rss) = loop {
        assert!(
            Instant::now() < deadline,
            "edgewatch did not journal {N} readings in 300 s"
        );
        if api.is_empty() {
            if let Ok(a) = std::fs::read_to_string(&addr_file) {
                api = format!("http://{a}");
            }
        } else if metric(&api, "edgewatch_journal_rows_total") >= N as f64 {
            // Read before the process exits.
            break (common::cpu_seconds(&pid), common::peak_rss_mib(&pid));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let secs = t.elapsed().as_secs_f64();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let _ = child.wait();
    Run { secs, cpu, rss }
}

fn main() {
    let mosquitto = ["mosquitto", "/usr/sbin/mosquitto"]
        .into_iter()
        .find(|m| Command::new(m).arg("-h").output().is_ok());
    let Some(mosquitto) = mosquitto else {
        println!("mqtt_ingest bench skipped: mosquitto not installed (run scripts/test-deps.sh)");
        return;
    };
    println!("edgewatch MQTT ingest bench on {}", common::machine());
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("user root\nlistener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nmax_inflight_messages 1000\n"),
    )
    .unwrap();
    let mut broker = Command::new(mosquitto)
        .arg("-c")
        .arg(&conf)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "mosquitto did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    rt.block_on(register("bench-noop", port));
    rt.block_on(publish_all(port));
    let (noop_s, noop_cpu) = rt.block_on(noop_drain(port));
    let noop_rate = N as f64 / noop_s;
    println!("no-op rumqttc subscriber      {:>9.0} msgs/s  {:.2} CPU-s  (ceiling, in the bench process)", noop_rate, noop_cpu);
    for sync in ["normal", "full"] {
        let r = edgewatch_drain(dir.path(), port, sync, &rt);
        let rate = N as f64 / r.secs;
        println!(
            "edgewatch synchronous={sync:<6}   {:>9.0} msgs/s  {:.2} CPU-s  peak RSS {:.1} MiB  ({:.0}% of no-op; includes process start)",
            rate,
            r.cpu,
            r.rss,
            100.0 * rate / noop_rate
        );
    }
    let _ = broker.kill();
    let _ = broker.wait();
}
