//! MQTT over TLS with mutual authentication, certificates made by openssl in the test.

use crate::support::{sql_count, wait_until, Broker, Daemon};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn self_signed_ca(dir: &Path, name: &str, cn: &str) {
    let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={cn}"),
            "-keyout",
            &key,
            "-out",
            &pem,
        ],
    );
}

/// A test CA, a server certificate for 127.0.0.1, a client certificate, and a
/// second CA that signed nothing of the broker's.
pub fn make_pki(dir: &Path) {
    self_signed_ca(dir, "ca", "edgewatch test CA");
    for (name, cn) in [("server", "127.0.0.1"), ("client", "edgewatch-test")] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-subj",
                &format!("/CN={cn}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        std::fs::write(
            dir.join(format!("{name}.ext")),
            "subjectAltName=IP:127.0.0.1\n",
        )
        .unwrap();
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }
    self_signed_ca(dir, "other", "stranger CA");
}

/// mosquitto_pub/mosquitto_sub options for the test CA and client certificate.
pub fn client_tls_args(pki: &Path) -> [std::ffi::OsString; 6] {
    [
        "--cafile".into(),
        pki.join("ca.pem").into(),
        "--cert".into(),
        pki.join("client.pem").into(),
        "--key".into(),
        pki.join("client.key").into(),
    ]
}

/// Mosquitto with a TLS listener; `require_certificate` makes it mutual TLS.
pub fn tls_broker(pki: &Path, require_certificate: bool) -> Broker {
    let p = pki.to_owned();
    Broker::start_with(move |port, _| {
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\ncafile {p}/ca.pem\ncertfile {p}/server.pem\nkeyfile {p}/server.key\nrequire_certificate {require_certificate}\n",
            p = p.display()
        )
    })
}

fn tls_source(port: u16, pki: &Path, ca: &str) -> String {
    format!(
        "[[sources.mqtt]]\nname = \"secure\"\nhost = \"127.0.0.1\"\nport = {port}\nreconnect-min = \"100ms\"\nreconnect-max = \"500ms\"\n\
         [sources.mqtt.tls]\nca-file = \"{p}/{ca}\"\ncert-file = \"{p}/client.pem\"\nkey-file = \"{p}/client.key\"\n\
         [[sources.mqtt.subscriptions]]\ntopic = \"tls/#\"\n",
        p = pki.display()
    )
}

#[test]
fn mutual_tls_to_mosquitto() {
    let pki = tempfile::tempdir().unwrap();
    make_pki(pki.path());
    let broker = tls_broker(pki.path(), true);
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(dir.path(), &tls_source(broker.port, pki.path(), "ca.pem"));
    broker.wait_subscribed("edgewatch-test-secure", "tls/#");
    let status = Command::new("mosquitto_pub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &broker.port.to_string(),
            "-q",
            "1",
            "-t",
            "tls/a",
        ])
        .args(["-m", r#"{"sensor_id":"tls-sensor","value":42}"#])
        .args(client_tls_args(pki.path()))
        .status()
        .unwrap();
    assert!(status.success());
    let db = d.db();
    assert!(wait_until(Duration::from_secs(10), || {
        sql_count(
            &db,
            "SELECT count(*) FROM sensors WHERE name = 'tls-sensor' AND last_value = 42",
        ) == 1
    }));
    assert!(d.terminate().success());
}

#[test]
fn wrong_ca_never_connects_and_keeps_retrying() {
    let pki = tempfile::tempdir().unwrap();
    make_pki(pki.path());
    let broker = tls_broker(pki.path(), false);
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(
        dir.path(),
        &tls_source(broker.port, pki.path(), "other.pem"),
    );
    let retried = wait_until(Duration::from_secs(10), || {
        d.metric("edgewatch_source_reconnects_total{source=\"secure\"}") >= 3.0
    });
    assert!(retried, "log:\n{}", d.log());
    assert_eq!(
        d.metric("edgewatch_source_connected{source=\"secure\"}"),
        0.0
    );
    assert!(d.log().contains("mqtt connection failed"));
    assert!(d.terminate().success());
}
