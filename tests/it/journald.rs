//! Under systemd edgewatch logs through journald's native protocol, so every field
//! of an event is a journal field. A real systemd-journald, private to the test
//! (tests/peers/journald_run.sh: own mount namespace, own /run), receives it.

use crate::support::{peer, BIN};
use serde_json::Value;

#[test]
fn under_systemd_logs_go_to_journald_natively_with_their_fields() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("edgewatch.toml");
    std::fs::write(
        &config,
        format!(
            "[gateway]\nstate-dir = \"{}\"\n[api]\nlisten = \"127.0.0.1:0\"\n\
             [knowledge]\nmodels-dir = \"{}\"\n\
             [[sources.simulator]]\nname = \"sim\"\nlines = 1\nmachines-per-line = 1\ninterval = \"50ms\"\n",
            dir.path().join("state").display(),
            dir.path().join("no-models").display(),
        ),
    )
    .unwrap();
    let out = std::process::Command::new(peer("journald_run.sh"))
        .args(["3", BIN, "run", "-c"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "journald_run.sh (needs root and systemd-journald): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entries: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let ours: Vec<&Value> = entries
        .iter()
        .filter(|e| e["_COMM"] == "edgewatch")
        .collect();
    let find = |message: &str| {
        ours.iter()
            .find(|e| {
                e["MESSAGE"]
                    .as_str()
                    .is_some_and(|m| m.starts_with(message))
            })
            .unwrap_or_else(|| panic!("no journal entry `{message}` in {ours:#?}"))
    };

    // Native entries, not lines scraped from stderr; the event's fields are
    // fields of the entry (journalctl F_SOURCE=sim).
    let started = find("source starting");
    assert_eq!(started["_TRANSPORT"], "journal", "{started}");
    assert_eq!(started["SYSLOG_IDENTIFIER"], "edgewatch", "{started}");
    assert_eq!(started["F_SOURCE"], "sim", "{started}");
    assert_eq!(started["PRIORITY"], "5", "info is notice: {started}");
    // Severity maps to the journal's priority.
    let degraded = find("search and questions disabled");
    assert_eq!(degraded["PRIORITY"], "3", "{degraded}");
    // The shutdown is logged to the end.
    find("stopped cleanly");
    assert!(
        ours.iter().all(|e| e["_TRANSPORT"] == "journal"),
        "something went to stderr instead: {ours:#?}"
    );
}
