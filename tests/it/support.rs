//! Test peers and the daemon under test, each started on a free loopback port and
//! awaited with a readiness check (never a fixed sleep).

#![allow(dead_code)]

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_edgewatch");

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// Polls `f` until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// A Mosquitto broker of its own, killed on drop.
pub struct Broker {
    child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Broker {
    pub fn start() -> Broker {
        Self::start_with(|port, _| format!("listener {port} 127.0.0.1\nallow_anonymous true\n"))
    }

    /// `listener` writes the listener section given the port and the broker's dir.
    pub fn start_with(listener: impl Fn(u16, &Path) -> String) -> Broker {
        Self::start_full(free_port(), false, listener)
    }

    /// A plain broker on a chosen port that keeps sessions and queued messages
    /// across [`Broker::stop`] and [`Broker::start_again`] (an upstream that goes away).
    pub fn start_persistent(port: u16) -> Broker {
        Self::start_full(port, true, |port, _| {
            format!("listener {port} 127.0.0.1\nallow_anonymous true\n")
        })
    }

    fn start_full(port: u16, persistent: bool, listener: impl Fn(u16, &Path) -> String) -> Broker {
        let dir = tempfile::tempdir().unwrap();
        let persistence = if persistent {
            format!(
                "persistence true\npersistence_location {}/\n",
                dir.path().display()
            )
        } else {
            "persistence false\n".to_owned()
        };
        let conf = format!(
            "user root\n{}\n{persistence}max_queued_messages 0\nmax_inflight_messages 100\nlog_dest file {}\n\
             log_type error\nlog_type warning\nlog_type notice\nlog_type information\nlog_type subscribe\n",
            listener(port, dir.path()),
            dir.path().join("mosquitto.log").display()
        );
        std::fs::write(dir.path().join("mosquitto.conf"), conf).unwrap();
        let mut b = Broker {
            child: None,
            port,
            dir,
        };
        b.start_again();
        b
    }

    /// Starts the broker (again) on its port with its config.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "broker already running");
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(self.dir.path().join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto not installed: run ./scripts/test.sh, which installs it");
        self.child = Some(child);
        let port = self.port;
        let up = wait_until(Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "mosquitto did not start on port {port}");
    }

    /// SIGTERM (a persistent broker saves its sessions) and wait for the exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            terminate(&mut c);
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }

    /// Waits until the broker logged `client` subscribing to `filter`.
    pub fn wait_subscribed(&self, client: &str, filter: &str) {
        let needle = format!("{client} 1 {filter}");
        let needle0 = format!("{client} 0 {filter}");
        let ok = wait_until(Duration::from_secs(15), || {
            let log = self.log();
            log.contains(&needle) || log.contains(&needle0)
        });
        assert!(
            ok,
            "{client} never subscribed to {filter}; broker log:\n{}",
            self.log()
        );
    }

    /// `mosquitto_pub` aimed at this broker, topic and QoS.
    fn mosquitto_pub(&self, topic: &str, qos: u8) -> Command {
        let mut c = Command::new("mosquitto_pub");
        c.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-q",
            &qos.to_string(),
            "-t",
            topic,
        ]);
        c
    }

    /// Publishes with the independent `mosquitto_pub` client.
    pub fn publish(&self, topic: &str, payload: &str, qos: u8) {
        let status = self
            .mosquitto_pub(topic, qos)
            .args(["-m", payload])
            .status()
            .expect("mosquitto_pub");
        assert!(status.success(), "mosquitto_pub failed");
    }

    /// Publishes many payloads on one topic with one `mosquitto_pub -l` process.
    pub fn publish_lines(&self, topic: &str, lines: &[String], qos: u8) {
        let mut child = self
            .mosquitto_pub(topic, qos)
            .arg("-l")
            .stdin(Stdio::piped())
            .spawn()
            .expect("mosquitto_pub");
        let mut stdin = child.stdin.take().unwrap();
        for l in lines {
            writeln!(stdin, "{l}").unwrap();
        }
        drop(stdin);
        assert!(child.wait().unwrap().success());
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn terminate(c: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &c.id().to_string()])
        .status();
    let stopped = wait_until(Duration::from_secs(10), || {
        c.try_wait().ok().flatten().is_some()
    });
    if !stopped {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// `edgewatch check-config -c PATH`: exit code, stdout, stderr.
pub fn check_config(path: &Path) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(["check-config", "-c"])
        .arg(path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The Python that scripts/test-deps.sh gave paho-mqtt (override: EDGEWATCH_TEST_PYTHON).
pub fn python() -> String {
    std::env::var("EDGEWATCH_TEST_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into())
}

pub fn peer(script: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(script)
}

/// A Python process (an independent peer), killed on drop.
pub struct Peer {
    child: Child,
    pub out: PathBuf,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Peer {
    /// The upstream subscriber: every message as `topic<TAB>retain<TAB>payload`.
    pub fn mqtt_collector(port: u16, filter: &str, tls: Option<&Path>) -> Peer {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("received.txt");
        let mut cmd = Command::new(python());
        cmd.arg(peer("mqtt_collect.py"))
            .arg(port.to_string())
            .arg(filter)
            .arg(&out);
        if let Some(pki) = tls {
            cmd.arg(pki.join("ca.pem"))
                .arg(pki.join("client.pem"))
                .arg(pki.join("client.key"));
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("stderr.txt")).unwrap())
            .spawn()
            .expect("python3 (./scripts/test-deps.sh installs it)");
        Peer {
            child,
            out,
            port,
            _dir: dir,
        }
    }

    /// The webhook receiver on `port`: 500 to the first `fail` requests, 429 with
    /// Retry-After `wait` to the next `throttle`, then 200 when correctly signed.
    pub fn webhook_receiver(port: u16, secret: &Path, fail: u32, throttle: u32, wait: u32) -> Peer {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("requests.jsonl");
        let child = Command::new(python())
            .arg(peer("webhook_receiver.py"))
            .arg(port.to_string())
            .arg(secret)
            .arg(&out)
            .args([fail.to_string(), throttle.to_string(), wait.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("stderr.txt")).unwrap())
            .spawn()
            .expect("python3 (./scripts/test-deps.sh installs it)");
        let up = wait_until(Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "webhook receiver did not start on port {port}");
        Peer {
            child,
            out,
            port,
            _dir: dir,
        }
    }

    pub fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The edgewatch binary running a config, with its own state dir.
pub struct Daemon {
    child: Option<Child>,
    pub state_dir: PathBuf,
    pub config: PathBuf,
    pub api: String,
}

impl Daemon {
    /// Writes `body` plus gateway and API sections into a config in `dir` and starts
    /// `edgewatch run`; returns once /readyz answers.
    pub fn start(dir: &Path, body: &str) -> Daemon {
        Self::start_env(dir, body, &[])
    }

    /// As [`Daemon::start`], with extra environment variables.
    pub fn start_env(dir: &Path, body: &str, env: &[(&str, &str)]) -> Daemon {
        Self::start_under(dir, body, env, &[])
    }

    /// As [`Daemon::start_env`], started by `launcher` (a program that execs the
    /// command it is given, e.g. to put restrictions in force first).
    pub fn start_under(dir: &Path, body: &str, env: &[(&str, &str)], launcher: &[&str]) -> Daemon {
        let state_dir = dir.join("state");
        let config = dir.join("edgewatch.toml");
        std::fs::write(
            &config,
            format!(
                "[gateway]\nid = \"test\"\nstate-dir = \"{}\"\n[api]\nlisten = \"127.0.0.1:0\"\n[log]\nlevel = \"info,edgewatch=debug\"\n{body}",
                state_dir.display()
            ),
        )
        .unwrap();
        Self::start_config(&config, &state_dir, env, launcher)
    }

    /// Starts again on the same config and state dir.
    pub fn restart(dir: &Path) -> Daemon {
        Self::start_config(&dir.join("edgewatch.toml"), &dir.join("state"), &[], &[])
    }

    pub fn start_config(
        config: &Path,
        state_dir: &Path,
        env: &[(&str, &str)],
        launcher: &[&str],
    ) -> Daemon {
        let _ = std::fs::remove_file(state_dir.join("api.addr"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(config.with_extension("log"))
            .unwrap();
        let mut command = match launcher.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        let child = command
            .args(["run", "-c"])
            .arg(config)
            .env("RUST_LOG", "info,edgewatch=debug")
            .envs(env.iter().copied())
            .stdout(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(config.with_extension("out"))
                    .unwrap(),
            )
            .stderr(log)
            .spawn()
            .unwrap();
        let mut d = Daemon {
            child: Some(child),
            state_dir: state_dir.to_owned(),
            config: config.to_owned(),
            api: String::new(),
        };
        d.refresh_api();
        d
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.config.with_extension("log")).unwrap_or_default()
    }

    /// What the daemon wrote to standard output (its stdout sinks).
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.config.with_extension("out")).unwrap_or_default()
    }

    pub fn db(&self) -> PathBuf {
        self.state_dir.join("edgewatch.db")
    }

    /// GET a path; `None` unless it answers 2xx.
    pub fn get(&self, path: &str) -> Option<String> {
        ureq::get(&format!("{}{path}", self.api))
            .call()
            .ok()?
            .body_mut()
            .read_to_string()
            .ok()
    }

    /// POST JSON, waiting up to 3 minutes (answers from the language model).
    fn send_json(
        &self,
        path: &str,
        body: &serde_json::Value,
        status_as_error: bool,
    ) -> ureq::http::Response<ureq::Body> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(status_as_error)
            .timeout_global(Some(Duration::from_secs(180)))
            .build()
            .into();
        agent
            .post(&format!("{}{path}", self.api))
            .header("Content-Type", "application/json")
            .send(body.to_string().as_bytes())
            .unwrap()
    }

    /// POST JSON; the status and the JSON answer.
    pub fn post(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let mut r = self.send_json(path, body, false);
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// POST JSON to a server-sent-events route: each event's name and JSON data,
    /// in order, once the stream ends.
    pub fn post_events(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Vec<(String, serde_json::Value)> {
        let mut r = self.send_json(path, body, true);
        let text = r.body_mut().read_to_string().unwrap();
        text.split("\n\n")
            .filter(|e| !e.trim().is_empty())
            .map(|e| {
                let field = |name: &str| {
                    e.lines()
                        .filter_map(|l| l.strip_prefix(name))
                        .map(str::trim_start)
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                let data = field("data:");
                (
                    field("event:"),
                    serde_json::from_str(&data).unwrap_or(serde_json::Value::String(data)),
                )
            })
            .collect()
    }

    /// GET a path and return the status code (for error cases).
    pub fn status_of(&self, path: &str) -> u16 {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        agent
            .get(&format!("{}{path}", self.api))
            .call()
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }

    pub fn json(&self, path: &str) -> serde_json::Value {
        serde_json::from_str(
            &self
                .get(path)
                .unwrap_or_else(|| panic!("GET {path} failed")),
        )
        .unwrap()
    }

    /// A sample from /metrics, by its full name with labels.
    pub fn metric(&self, series: &str) -> f64 {
        let text = self.get("/metrics").unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(f64::NAN)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Sends SIGHUP (reload).
    pub fn hup(&self) {
        Command::new("kill")
            .args(["-HUP", &self.pid().to_string()])
            .status()
            .unwrap();
    }

    /// Finds the API (bound to port 0, so its address is in `api.addr`) and waits
    /// for /readyz; again after a reload, which may pick a new port.
    pub fn refresh_api(&mut self) {
        let addr_file = self.state_dir.join("api.addr");
        let up = wait_until(Duration::from_secs(20), || {
            match std::fs::read_to_string(&addr_file) {
                Ok(a) if !a.is_empty() => {
                    self.api = format!("http://{a}");
                    self.get("/readyz").is_some()
                }
                _ => false,
            }
        });
        assert!(up, "edgewatch API not ready; log:\n{}", self.log());
    }

    /// SIGKILL: no shutdown path runs at all.
    pub fn kill9(mut self) {
        let mut c = self.child.take().unwrap();
        c.kill().unwrap();
        c.wait().unwrap();
    }

    /// Whether the process is still running (not crashed, not exited).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// SIGTERM and wait for the exit.
    pub fn terminate(mut self) -> ExitStatus {
        let mut c = self.child.take().unwrap();
        Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = c.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "edgewatch did not stop within 20 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Read-only look into a store, independent of edgewatch's reader.
pub fn sql<T: rusqlite::types::FromSql>(db: &Path, query: &str) -> Vec<T> {
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return Vec::new();
    };
    let Ok(mut st) = conn.prepare(query) else {
        return Vec::new();
    };
    st.query_map([], |r| r.get(0))
        .map(|rows| rows.filter_map(Result::ok).collect())
        .unwrap_or_default()
}

pub fn sql_count(db: &Path, query: &str) -> i64 {
    sql::<i64>(db, query).first().copied().unwrap_or(-1)
}

/// A TCP proxy that holds every chunk from the server for `delay` before passing
/// it on: a slow uplink (no `tc netem` in this kernel). Runs until the test ends.
pub fn slow_proxy(server_port: u16, delay: Duration) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", server_port)) else {
                continue; // the client sees the connection close, like a dead uplink
            };
            let pipe = move |mut from: TcpStream, mut to: TcpStream, delay: Duration| {
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        std::thread::sleep(delay);
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(std::net::Shutdown::Both);
                    let _ = from.shutdown(std::net::Shutdown::Both);
                });
            };
            pipe(
                client.try_clone().unwrap(),
                server.try_clone().unwrap(),
                Duration::ZERO,
            );
            pipe(server, client, delay);
        }
    });
    port
}
