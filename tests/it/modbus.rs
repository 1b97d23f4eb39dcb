//! Modbus against independent peers: pymodbus 3.16 as TCP and RTU server (RTU over
//! a socat pseudo-terminal pair), and mbpoll (libmodbus) against edgewatch's own
//! simulator server.

use crate::support::{free_port, sql, wait_until, Daemon, BIN};
use serde_json::{json, Value};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn pymodbus_python() -> String {
    let venv = std::env::var("EDGEWATCH_TEST_VENV")
        .unwrap_or_else(|_| "/var/cache/edgewatch-test/pymodbus-venv".into());
    format!("{venv}/bin/python")
}

/// A process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// pymodbus serving `spec`; every request it receives is logged as `DEVICE FUNCTION`.
fn pymodbus(dir: &Path, spec: &Value, endpoint: &[&str]) -> (Proc, PathBuf) {
    let spec_file = dir.join("spec.json");
    std::fs::write(&spec_file, spec.to_string()).unwrap();
    let log = dir.join("requests.log");
    let child = Command::new(pymodbus_python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/peers/modbus_server.py"
        ))
        .arg(&spec_file)
        .arg(&log)
        .args(endpoint)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("pymodbus.err")).unwrap())
        .spawn()
        .expect("pymodbus venv missing: run ./scripts/test-deps.sh");
    (Proc(child), log)
}

fn requests(log: &Path) -> Vec<(u8, u8)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (d, f) = l.split_once(' ')?;
            Some((d.parse().ok()?, f.parse().ok()?))
        })
        .collect()
}

/// Every type in every order, plus bits, coils and discrete inputs.
fn typed_points() -> Vec<Value> {
    let mut points = Vec::new();
    let mut address = 0;
    let values = [
        ("u16", 65000.0),
        ("i16", -1234.0),
        ("u32", 4_000_000_000.0),
        ("i32", -2_000_000_000.0),
        ("f32", 123.5),
        ("u64", 9_000_000_000_000.0),
        ("i64", -9_000_000_000_000.0),
        ("f64", -0.000_123_456_789),
    ];
    for order in ["abcd", "cdab", "badc", "dcba"] {
        for (ty, v) in values {
            let width = match ty {
                "u16" | "i16" => 1,
                "u32" | "i32" | "f32" => 2,
                _ => 4,
            };
            if width == 1 && order != "abcd" {
                continue;
            }
            points.push(json!({"name": format!("{ty}-{order}"), "table": "holding",
                "address": address, "type": ty, "order": order, "value": v}));
            address += width;
        }
    }
    points.push(
        json!({"name": "input-i32", "table": "input", "address": 7, "type": "i32", "value": -42}),
    );
    points.push(json!({"name": "status", "table": "holding", "address": address, "type": "u16", "value": 0b1010}));
    points.push(json!({"name": "coil", "table": "coil", "address": 3, "value": true}));
    points
        .push(json!({"name": "discrete", "table": "discrete-input", "address": 9, "value": true}));
    points
}

/// `[modbus-maps.NAME]` from points (the test's spec, minus the values).
fn map_toml(name: &str, points: &[Value]) -> String {
    let mut out = format!("[modbus-maps.{name}]\npoints = [\n");
    for p in points {
        let ty = match p["table"].as_str().unwrap() {
            "coil" | "discrete-input" => "bool",
            _ => p.get("type").and_then(Value::as_str).unwrap_or("u16"),
        };
        out.push_str(&format!(
            "  {{ name = \"{}\", table = \"{}\", address = {}, type = \"{ty}\", order = \"{}\" }},\n",
            p["name"].as_str().unwrap(),
            p["table"].as_str().unwrap(),
            p["address"],
            p.get("order").and_then(Value::as_str).unwrap_or("abcd"),
        ));
    }
    out.push_str("]\n");
    out
}

fn last_values(db: &Path) -> Vec<(String, f64, String)> {
    sql::<String>(
        db,
        "SELECT name || char(9) || last_value || char(9) || last_quality FROM sensors ORDER BY name",
    )
    .into_iter()
    .map(|s| {
        let mut p = s.split('\t');
        let name = p.next().unwrap().to_owned();
        let v = p.next().unwrap().parse().unwrap_or(f64::NAN);
        let q = match p.next().unwrap() {
            "0" => "good",
            "2" => "bad",
            _ => "uncertain",
        };
        (name, v, q.to_owned())
    })
    .collect()
}

fn check_decoded(db: &Path, source: &str, device: &str, points: &[Value]) {
    let got = last_values(db);
    for p in points {
        let name = format!("{source}/{device}/{}", p["name"].as_str().unwrap());
        let want = match &p["value"] {
            Value::Bool(b) => f64::from(u8::from(*b)),
            v => v.as_f64().unwrap(),
        };
        let (_, v, q) = got
            .iter()
            .find(|(n, ..)| *n == name)
            .unwrap_or_else(|| panic!("no reading for {name}; have {got:?}"));
        assert_eq!(q, "good", "{name}");
        let tol = if p["type"] == "f32" {
            1e-3
        } else {
            want.abs() * 1e-12
        };
        assert!(
            (v - want).abs() <= tol,
            "{name}: read {v}, the server holds {want}"
        );
    }
}

#[test]
fn tcp_decodes_every_type_and_order_in_few_requests_and_counts_exceptions() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let points = typed_points();
    let spec = json!({"devices": [
        {"id": 1, "points": points},
        {"id": 2, "busy": true, "points": [{"table": "holding", "address": 0, "value": 5}]},
    ]});
    let (_server, log) = pymodbus(dir.path(), &spec, &["--tcp", &port.to_string()]);
    assert!(wait_until(Duration::from_secs(15), || TcpStream::connect(
        ("127.0.0.1", port)
    )
    .is_ok()));
    let mut missing = vec![json!({"name": "missing", "table": "holding", "address": 900})];
    let config = format!(
        "{}{}[modbus-maps.one]\npoints = [{{ name = \"r\", table = \"holding\", address = 0 }}]\n\
         [[sources.modbus]]\nname = \"tcp\"\ntcp = \"127.0.0.1:{port}\"\ntimeout = \"1s\"\nmax-gap = 8\n\
         devices = [{{ name = \"meter\", unit = 1, map = \"typed\", interval = \"200ms\" }},\n\
                    {{ name = \"odd\", unit = 1, map = \"gappy\", interval = \"200ms\" }},\n\
                    {{ name = \"busy\", unit = 2, map = \"one\", interval = \"200ms\" }}]\n",
        map_toml("typed", &points),
        map_toml("gappy", &{
            missing.insert(0, json!({"name": "first", "table": "holding", "address": 0}));
            missing.clone()
        }),
    );
    let d = Daemon::start(dir.path(), &config);
    let db = d.db();
    let all = wait_until(Duration::from_secs(20), || {
        last_values(&db).len() >= points.len() + 5
    });
    assert!(all, "sensors: {:?}\nlog:\n{}", last_values(&db), d.log());
    check_decoded(&db, "tcp", "meter", &points);
    // Exceptions: an unmapped address (2) and a busy device (6) give bad-quality
    // readings, never values, and are counted per code.
    let exc = |dev: &str, code: u8| {
        d.metric(&format!(
            "edgewatch_modbus_exceptions_total{{source=\"tcp\",device=\"{dev}\",code=\"{code}\"}}"
        ))
    };
    let counted = wait_until(Duration::from_secs(10), || {
        exc("odd", 2) >= 2.0 && exc("busy", 6) >= 2.0
    });
    assert!(
        counted,
        "metrics:\n{}\nlog:\n{}",
        d.get("/metrics")
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("modbus"))
            .collect::<Vec<_>>()
            .join("\n"),
        d.log()
    );
    let values = last_values(&db);
    for bad in ["tcp/odd/missing", "tcp/busy/r"] {
        let (_, v, q) = values.iter().find(|(n, ..)| n == bad).unwrap();
        assert_eq!((q.as_str(), *v), ("bad", 0.0), "{bad}");
    }
    let good = values.iter().find(|(n, ..)| n == "tcp/odd/first").unwrap();
    assert_eq!(
        good.2, "good",
        "the other request of that device still reads"
    );
    assert_eq!(
        d.metric("edgewatch_modbus_device_up{source=\"tcp\",device=\"busy\"}"),
        1.0
    );
    let meter_requests =
        || d.metric("edgewatch_modbus_requests_total{source=\"tcp\",device=\"meter\"}");
    assert!(wait_until(Duration::from_secs(10), || meter_requests() >= 16.0));
    let requests_metric = meter_requests();
    assert!(d.terminate().success());

    // Coalescing, counted on the server: the 30 points of device "meter" are read with
    // one request per table (holding, input, coil, discrete input) per poll.
    let seen = requests(&log);
    let meter: Vec<u8> = seen
        .iter()
        .filter(|(dev, _)| *dev == 1)
        .map(|(_, f)| *f)
        .collect();
    let per_fc = |fc: u8| meter.iter().filter(|f| **f == fc).count();
    let polls = per_fc(2);
    assert!(polls >= 3, "{seen:?}");
    // Device "odd" (also unit 1) adds two holding reads per poll.
    for fc in [1, 4] {
        assert!(
            per_fc(fc).abs_diff(polls) <= 1,
            "fc {fc}: {} vs {polls} polls",
            per_fc(fc)
        );
    }
    assert!(
        per_fc(3).abs_diff(3 * polls) <= 3,
        "fc 3: {} vs 3 x {polls}",
        per_fc(3)
    );
    assert!(requests_metric >= 4.0 * (polls as f64 - 2.0));
    eprintln!(
        "{} points read with 4 requests per poll ({polls} polls)",
        points.len()
    );
}

/// A socat pseudo-terminal pair: (process, server end, client end).
fn pty_pair(dir: &Path) -> (Proc, PathBuf, PathBuf) {
    let (a, b) = (dir.join("ttyA"), dir.join("ttyB"));
    let child = Command::new("socat")
        .arg(format!("pty,raw,echo=0,link={}", a.display()))
        .arg(format!("pty,raw,echo=0,link={}", b.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("socat (scripts/test-deps.sh installs it)");
    assert!(wait_until(Duration::from_secs(10), || a.exists() && b.exists()));
    (Proc(child), a, b)
}

#[test]
fn rtu_over_a_pty_pair_keeps_the_live_device_on_schedule_while_a_dead_one_backs_off() {
    let dir = tempfile::tempdir().unwrap();
    let (_socat, server_end, client_end) = pty_pair(dir.path());
    let points: Vec<Value> = typed_points()
        .into_iter()
        .filter(|p| p["table"] == "holding" && p["address"].as_u64().unwrap() < 20)
        .collect();
    let spec = json!({"devices": [{"id": 1, "points": points}]});
    let (_server, log) = pymodbus(dir.path(), &spec, &["--rtu", server_end.to_str().unwrap()]);
    let config = format!(
        "{}[[sources.modbus]]\nname = \"bus\"\nserial = \"{}\"\nbaud = 19200\ntimeout = \"150ms\"\nretries = 0\n\
         backoff-min = \"1s\"\nbackoff-max = \"4s\"\n\
         devices = [{{ name = \"live\", unit = 1, map = \"rtu\", interval = \"200ms\" }},\n\
                    {{ name = \"dead\", unit = 7, map = \"rtu\", interval = \"200ms\" }}]\n\
         [[rules]]\nname = \"device-down\"\nsensors = [\"bus/*/up\"]\nbelow = 0.5\n",
        map_toml("rtu", &points),
        client_end.display()
    );
    let d = Daemon::start(dir.path(), &config);
    let db = d.db();
    let up = wait_until(Duration::from_secs(20), || {
        d.metric("edgewatch_modbus_device_up{source=\"bus\",device=\"live\"}") == 1.0
    });
    assert!(up, "log:\n{}", d.log());
    let start = requests(&log).iter().filter(|(dev, _)| *dev == 1).count();
    let t0 = std::time::Instant::now();
    std::thread::sleep(Duration::from_secs(6));
    let polled = requests(&log).iter().filter(|(dev, _)| *dev == 1).count() - start;
    let secs = t0.elapsed().as_secs_f64();
    // One holding request per poll every 200 ms: 30 in 6 s. The dead device costs
    // one 150 ms timeout per backoff period (1 s, doubling), so allow 25 %.
    let expected = secs / 0.2;
    assert!(
        polled as f64 >= 0.75 * expected,
        "live device polled {polled} times in {secs:.1} s (schedule: {expected:.0})"
    );
    let dead_requests = d.metric("edgewatch_modbus_requests_total{source=\"bus\",device=\"dead\"}");
    assert!(
        dead_requests <= 8.0,
        "the dead device should be backed off, got {dead_requests} requests; log:\n{}",
        d.log()
    );
    assert_eq!(
        d.metric("edgewatch_modbus_device_up{source=\"bus\",device=\"dead\"}"),
        0.0
    );
    check_decoded(&db, "bus", "live", &points);
    let fired: Vec<String> = sql(
        &db,
        "SELECT sensor FROM alerts WHERE rule = 'device-down' AND state = 'firing'",
    );
    assert_eq!(fired, vec!["bus/dead/up".to_owned()]);
    eprintln!("rtu: live polled {polled} in {secs:.1} s, dead {dead_requests} requests");
    assert!(d.terminate().success());
}

#[test]
fn mbpoll_reads_the_simulator_server() {
    let port = free_port();
    let server = Proc(
        Command::new(BIN)
            .args([
                "simulate",
                "--modbus-tcp",
                &format!("127.0.0.1:{port}"),
                "--seed",
                "1",
            ])
            .args(["--interval", "100ms"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert!(wait_until(Duration::from_secs(10), || TcpStream::connect(
        ("127.0.0.1", port)
    )
    .is_ok()));
    let mbpoll = |args: &[&str]| {
        let out = Command::new("mbpoll")
            .args(["-m", "tcp", "-p", &port.to_string(), "-1", "-0"])
            .args(args)
            .arg("127.0.0.1")
            .output()
            .expect("mbpoll (scripts/test-deps.sh installs it)");
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
    };
    // Holding registers 0-5 of unit 1 as plain 16-bit values: mbpoll prints `[addr]: value`.
    let regs = mbpoll(&["-a", "1", "-t", "4", "-r", "0", "-c", "6"]);
    let values: Vec<u16> = regs
        .lines()
        .filter_map(|l| l.trim().strip_prefix('[')?.split_once("]:"))
        .filter_map(|(_, v)| v.split_whitespace().next()?.parse().ok())
        .collect();
    assert_eq!(values.len(), 6, "{regs}");
    let temperature = f32::from_bits((u32::from(values[0]) << 16) | u32::from(values[1]));
    let vibration = f32::from_bits((u32::from(values[3]) << 16) | u32::from(values[2]));
    let pressure = f64::from(values[4]) / 100.0;
    assert!(
        (20.0..150.0).contains(&temperature),
        "temperature {temperature}"
    );
    assert!((0.0..50.0).contains(&vibration), "vibration {vibration}");
    assert!((0.5..20.0).contains(&pressure), "pressure {pressure}");
    let coil = mbpoll(&["-a", "1", "-t", "0", "-r", "0", "-c", "1"]);
    assert!(
        coil.contains("[0]: \t1") || coil.contains("[0]:  1") || coil.contains("[0]: 1"),
        "{coil}"
    );
    // An absent unit and an address past the map answer Modbus exceptions.
    let absent = mbpoll(&["-a", "99", "-t", "4", "-r", "0", "-c", "1"]);
    // libmodbus words exception 11 as "target device failed to respond".
    assert!(
        absent.contains("Target device failed to respond"),
        "{absent}"
    );
    let past = mbpoll(&["-a", "1", "-t", "4", "-r", "40", "-c", "1"]);
    assert!(
        past.to_lowercase().contains("illegal data address"),
        "{past}"
    );
    drop(server);
}

/// A device whose firmware answers fewer registers than asked: the points beyond
/// the reply are bad quality and the short reply is counted, never silently dropped.
#[test]
fn a_short_reply_reads_the_missing_points_as_bad_and_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let points: Vec<Value> = (0..4)
        .map(
            |a| json!({"name": format!("r{a}"), "table": "holding", "address": a, "value": 10 + a}),
        )
        .collect();
    let spec = json!({"devices": [{"id": 3, "short": 2, "points": points}]});
    let (_server, _log) = pymodbus(dir.path(), &spec, &["--tcp", &port.to_string()]);
    assert!(wait_until(Duration::from_secs(15), || TcpStream::connect(
        ("127.0.0.1", port)
    )
    .is_ok()));
    let config = format!(
        "{}[[sources.modbus]]\nname = \"tcp\"\ntcp = \"127.0.0.1:{port}\"\ntimeout = \"1s\"\n\
         devices = [{{ name = \"fw\", unit = 3, map = \"four\", interval = \"200ms\" }}]\n",
        map_toml("four", &points),
    );
    let d = Daemon::start(dir.path(), &config);
    let db = d.db();
    let short = || d.metric("edgewatch_modbus_short_replies_total{source=\"tcp\",device=\"fw\"}");
    let seen = wait_until(Duration::from_secs(20), || {
        last_values(&db).len() >= 5 && short() >= 2.0
    });
    assert!(seen, "sensors: {:?}\nlog:\n{}", last_values(&db), d.log());
    let values = last_values(&db);
    let of = |n: &str| values.iter().find(|(s, ..)| s == n).cloned().unwrap();
    assert_eq!(of("tcp/fw/r0").1, 10.0);
    assert_eq!(of("tcp/fw/r1").2, "good");
    for missing in ["tcp/fw/r2", "tcp/fw/r3"] {
        assert_eq!(of(missing).2, "bad", "{missing}");
    }
    // A reply is still an answer: the device stays up.
    assert_eq!(
        d.metric("edgewatch_modbus_device_up{source=\"tcp\",device=\"fw\"}"),
        1.0
    );
    assert!(d.log().contains("fewer values than asked"), "{}", d.log());
    assert!(d.terminate().success());
}

/// A peer that accepts every connection and closes it at once (a gateway at its
/// connection limit): edgewatch backs off instead of reconnecting in a tight loop.
#[test]
fn a_peer_that_accepts_and_closes_is_reconnected_with_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepts = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counted = accepts.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(conn);
        }
    });
    let config = format!(
        "{}[[sources.modbus]]\nname = \"tcp\"\ntcp = \"127.0.0.1:{port}\"\ntimeout = \"1s\"\n\
         backoff-min = \"200ms\"\nbackoff-max = \"2s\"\n\
         devices = [{{ name = \"m\", unit = 1, map = \"one\", interval = \"100ms\" }}]\n",
        map_toml(
            "one",
            &[json!({"name": "r", "table": "holding", "address": 0})]
        ),
    );
    let d = Daemon::start(dir.path(), &config);
    assert!(wait_until(Duration::from_secs(10), || accepts
        .load(std::sync::atomic::Ordering::SeqCst)
        >= 1));
    let first = std::time::Instant::now();
    std::thread::sleep(Duration::from_secs(5));
    let n = accepts.load(std::sync::atomic::Ordering::SeqCst);
    // 0.2 + 0.4 + 0.8 + 1.6 + 2 + 2 s between attempts (jitter halves at most):
    // at most ~12 in 5 s; the tight loop made thousands.
    assert!(n <= 15, "{n} connections in {:?}", first.elapsed());
    assert!(n >= 3, "it keeps trying: {n}");
    assert!(
        d.log().contains("keeps closing the connection"),
        "{}",
        d.log()
    );
    assert!(d.terminate().success());
}
