//! The crate's layering, checked on its source: each top-level module may use
//! (`crate::NAME`) only modules of a lower layer, so no import cycle can come
//! back unnoticed. A new module takes its place in [`LAYERS`]; a new edge that
//! points up fails here with the file that holds it.

use std::collections::BTreeSet;
use std::path::Path;

/// Lowest first. A module may use any module of a layer below its own.
const LAYERS: &[&[&str]] = &[
    // Leaves: value types and small pure helpers.
    &[
        "event",
        "backoff",
        "digest",
        "secret",
        "sensor_glob",
        "template",
        "untrusted",
        "allowed_hosts",
        "shutdown",
    ],
    &[
        "tls",
        "reconnect",
        "sensor_limit",
        "aggregate",
        "metrics",
        "ml",
        "learn",
    ],
    // What the parts tell operators: each event logs and counts in one place.
    &["internal_events"],
    &["issues"],
    &["mqtt_settings", "store", "detect"],
    &["sinks"],
    &["sources"],
    // The config file: the table of every part's settings.
    &["config"],
    &["pipeline", "knowledge", "systemd", "learn_from_journal"],
    &["api"],
    &["daemon"],
    &["commands"],
    // The binary's command line (src/main.rs dispatches it).
    &["cli"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// `crate::NAME` references outside `#[cfg(test)]` code and test files.
fn uses(file: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_module_uses_only_modules_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    let mut unplaced = BTreeSet::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        let name = f.file_name().unwrap().to_string_lossy();
        if top == "main" || top == "lib" || name.ends_with("tests.rs") {
            continue;
        }
        let Some(own) = layer(&top) else {
            unplaced.insert(top);
            continue;
        };
        for used in uses(f) {
            if used == top {
                continue;
            }
            match layer(&used) {
                Some(l) if l < own => {}
                Some(_) => wrong.push(format!("{}: {top} uses {used}", rel.display())),
                None => {
                    unplaced.insert(used);
                }
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules missing from LAYERS: {unplaced:?}"
    );
    assert!(
        wrong.is_empty(),
        "imports that point up (or sideways) in the layering:\n{}",
        wrong.join("\n")
    );
}
