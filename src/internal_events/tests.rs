//! Each event counts in its series and writes its line, throttled as it says.

use super::*;
use crate::event::Rejection;
use crate::metrics::Metrics;
use crate::reconnect::Retry;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Log lines written while `f` runs.
fn logged(f: impl FnOnce()) -> Vec<String> {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let out = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || out.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&buf.0.lock().unwrap()).into_owned();
    text.lines().map(str::to_owned).collect()
}

fn series(m: &Metrics, line: &str) -> bool {
    m.render().lines().any(|l| l == line)
}

#[test]
fn a_flood_is_logged_at_first_and_then_at_powers_of_two() {
    let mut r = Repeats::default();
    let logged: Vec<u64> = (1..=100u64).filter(|_| r.next(3)).collect();
    assert_eq!(logged, [1, 2, 3, 4, 8, 16, 32, 64]);
    assert_eq!(r.count(), 100);
    assert!(worth_logging(1, 0));
    assert!(!worth_logging(3, 0));
}

#[test]
fn rejected_payloads_count_every_reason_and_log_a_readable_sample() {
    let m = Metrics::default();
    let src = m.source("in", "mqtt");
    let mut repeats = Repeats::default();
    let lines = logged(|| {
        for _ in 0..100 {
            emit(PayloadRejected {
                metrics: &src,
                topic: "in/\u{1b}[31m",
                reasons: &[Rejection::NotJson, Rejection::BadSensorId],
                repeats: &mut repeats,
            });
        }
        // A payload that was read whole is not an event.
        emit(PayloadRejected {
            metrics: &src,
            topic: "in/ok",
            reasons: &[],
            repeats: &mut repeats,
        });
    });
    assert_eq!(src.rejected_total(), 200);
    assert!(series(
        &m,
        r#"edgewatch_source_rejected_total{source="in",reason="not_json"} 100"#
    ));
    // The first 10, then 16, 32 and 64.
    assert_eq!(lines.len(), 13, "{lines:#?}");
    assert!(
        lines[0].contains("payload rejected") && lines[0].contains("reason=\"not_json\""),
        "{}",
        lines[0]
    );
    assert!(
        !lines[0].contains('\u{1b}'),
        "the topic's escape is quoted: {}",
        lines[0]
    );
    assert_eq!(repeats.count(), 100);
}

#[test]
fn a_lost_connection_counts_a_reconnect_and_names_a_client_id_takeover() {
    let m = Metrics::default();
    let src = m.source("in", "mqtt");
    let lines = logged(|| {
        emit(MqttSourceConnected {
            metrics: &src,
            session_present: false,
        });
        assert_eq!(src.connected.get(), 1);
        for short_lived in [0, 3] {
            emit(ConnectionLost {
                metrics: &src,
                connection: Connection::Mqtt { client_id: "gw-1" },
                error: &"connection reset",
                retry: Retry {
                    delay: Duration::from_secs(2),
                    short_lived,
                },
            });
        }
    });
    assert_eq!(src.connected.get(), 0);
    assert_eq!(src.reconnects.get(), 2);
    assert!(lines[1].contains("mqtt connection failed"), "{lines:#?}");
    assert!(
        lines[2].contains("same client id") && lines[2].contains("gw-1"),
        "{lines:#?}"
    );
}

#[test]
fn a_failing_sink_is_counted_every_time_and_logged_when_it_matters() {
    let m = Metrics::default();
    let sink = m.sink("hook", "webhook");
    let lines = logged(|| {
        for failures in 1..=5 {
            emit(SinkSendFailed {
                metrics: &sink,
                error: format!("answered 503 ({failures})"),
                failures,
                retry_in: Duration::from_secs(1),
                breaker_open: failures == 5,
                breaker_gauge: i64::from(failures == 5),
            });
        }
        emit(SinkDeliveringAgain {
            metrics: &sink,
            after_failures: 5,
        });
    });
    assert_eq!(sink.retries.get(), 5);
    assert_eq!(sink.breaker.get(), 1);
    assert_eq!(sink.last_error(), None, "cleared once it delivers again");
    // Failures 1, 2 and 4, then 5 because the breaker opened, then the recovery.
    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert!(lines[3].contains("breaker_open=true"), "{lines:#?}");
    assert!(lines[4].contains("sink delivering again"), "{lines:#?}");
}

#[test]
fn refused_sensors_and_short_replies_are_counted_and_logged_sparingly() {
    let m = Metrics::default();
    let dev = m.modbus_device("bus", "meter");
    let lines = logged(|| {
        for i in 0..5 {
            emit(SensorRefused {
                metrics: &m,
                sensor: &format!("made/up/{i}"),
                known: 10,
            });
            emit(ShortReply {
                metrics: &dev,
                unit: 1,
                table: &"holding",
                start: 0,
                asked: 4,
                got: 2,
            });
        }
    });
    assert_eq!(m.sensors_refused.get(), 5);
    assert_eq!(dev.short_replies.get(), 5);
    // Occurrences 1, 2 and 4 of each.
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("new sensor refused"))
            .count(),
        3,
        "{lines:#?}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("fewer values than asked"))
            .count(),
        3,
        "{lines:#?}"
    );
}
