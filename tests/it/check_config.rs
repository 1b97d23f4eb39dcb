//! `edgewatch check-config` as a binary: stdout, stderr and exit codes.

use crate::support::{check_config as check, BIN};
use std::process::Command;

#[test]
fn shipped_configs_pass() {
    for f in [
        "config/edgewatch.toml",
        "config/demo.toml",
        "config/sinks-example.toml",
        "config/modbus-sim.toml",
        "config/eval-statistical.toml",
        "config/eval-onnx.toml",
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(f);
        // The example names secrets and certificates of a real gateway.
        let (code, stdout, stderr) = if f.contains("example") {
            let out = Command::new(BIN)
                .args(["check-config", "--no-files", "-c"])
                .arg(&path)
                .output()
                .unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        } else {
            check(&path)
        };
        assert_eq!(code, 0, "{f}: {stderr}");
        assert!(stdout.contains("OK"), "{stdout}");
    }
}

#[test]
fn invalid_values_exit_78_naming_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[aggregate]\nwindow = \"0s\"\n\n[[rules]]\nname = \"hot\"\nsensors = [\"a/*\"]\nabove = 80.0\nclear = 90.0\n",
    )
    .unwrap();
    let (code, stdout, stderr) = check(&path);
    assert_eq!(code, 78);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("2 problem(s)"), "{stderr}");
    assert!(stderr.contains("line 2: aggregate.window"), "{stderr}");
    assert!(
        stderr.contains("line 8: rules[0].clear: 90 is above the limit 80"),
        "{stderr}"
    );
}

#[test]
fn unknown_key_and_syntax_errors_exit_78() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.toml");
    std::fs::write(&path, "[store]\ncommit-intervall = \"5ms\"\n").unwrap();
    let (code, _, stderr) = check(&path);
    assert_eq!(code, 78);
    assert!(
        stderr.contains("unknown field `commit-intervall`"),
        "{stderr}"
    );
    assert!(stderr.contains("line 2"), "{stderr}");

    std::fs::write(&path, "[store\n").unwrap();
    let (code, _, stderr) = check(&path);
    assert_eq!(code, 78);
    assert!(stderr.contains("typo.toml"), "{stderr}");
}

#[test]
fn missing_file_says_how_to_fix() {
    let (code, _, stderr) = check(std::path::Path::new("/nonexistent/edgewatch.toml"));
    assert_eq!(code, 78);
    assert!(
        stderr.contains("cannot read config file /nonexistent/edgewatch.toml"),
        "{stderr}"
    );
    assert!(stderr.contains("-c FILE"), "{stderr}");
}

#[test]
fn run_refuses_a_bad_config_with_78() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[[rules]]\nname = \"x\"\nsensors = [\"a\"]\n").unwrap();
    let out = Command::new(BIN)
        .args(["run", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no condition"));
}

#[test]
fn file_can_be_given_without_dash_c() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/edgewatch.toml");
    let out = Command::new(BIN)
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("edgewatch.toml: OK"));
}
