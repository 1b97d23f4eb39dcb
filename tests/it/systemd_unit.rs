//! The shipped unit file: `systemd-analyze verify` clean (stderr counts, since it
//! exits 0 on typos) and `systemd-analyze security` exposure at most 2.0, alone and
//! with the serial-port drop-in for Modbus RTU.

use crate::support::BIN;
use std::path::Path;
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A unit search path holding the unit, its ExecStart pointed at the built binary
/// (verify checks that the commands exist), and optionally the serial drop-in.
fn unit_dir(with_serial: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(Path::new(ROOT).join("systemd/edgewatch.service")).unwrap();
    std::fs::write(
        dir.path().join("edgewatch.service"),
        unit.replace("/usr/bin/edgewatch", BIN),
    )
    .unwrap();
    if with_serial {
        let d = dir.path().join("edgewatch.service.d");
        std::fs::create_dir(&d).unwrap();
        std::fs::copy(
            Path::new(ROOT).join("systemd/edgewatch-serial.conf"),
            d.join("serial.conf"),
        )
        .unwrap();
    }
    dir
}

fn analyze(dir: &Path, args: &[&str]) -> Output {
    Command::new("systemd-analyze")
        .args(args)
        .arg("edgewatch.service")
        // The trailing colon keeps systemd's own unit directories on the path.
        .env("SYSTEMD_UNIT_PATH", format!("{}:", dir.display()))
        .output()
        .expect("systemd-analyze (package systemd; scripts/test-deps.sh installs it)")
}

fn exposure(out: &Output) -> f64 {
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| {
            l.split("Overall exposure level for edgewatch.service:")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"))
}

#[test]
fn unit_verifies_clean_and_is_hardened() {
    for with_serial in [false, true] {
        let dir = unit_dir(with_serial);
        let out = analyze(dir.path(), &["verify"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.trim().is_empty(),
            "serial={with_serial}: {stderr}"
        );
        let level = exposure(&analyze(dir.path(), &["security", "--offline=true"]));
        assert!(level <= 2.0, "serial={with_serial}: exposure {level} > 2.0");
    }
}

#[test]
fn a_typo_in_the_unit_is_caught() {
    // Guards the guard: verify exits 0 here, only stderr tells.
    let dir = unit_dir(false);
    let path = dir.path().join("edgewatch.service");
    let unit = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        unit.replace("ProtectHome=yes", "ProtectHome=yes\nProtectHomme=yes"),
    )
    .unwrap();
    let out = analyze(dir.path(), &["verify"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("ProtectHomme"));
}
