use super::*;
use crate::detect::AnomalyModelConfig;
use crate::event::{AlertEvent, AlertState};
use crate::event::{Quality, Reading};
use crate::ml::Manifest;

/// Two channels, window 4, step 2, period 1 s, threshold 10.
fn manifest() -> Manifest {
    toml::from_str(
        r#"
        name = "m"
        file = "m.onnx"
        sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
        input = { name = "window", shape = [-1, 4, 2] }
        output = { name = "score", shape = [-1] }
        [features]
        channels = ["a", "b"]
        window = 4
        step = 2
        period = "1s"
        offset = [10.0, 0.0]
        scale = [2.0, 1.0]
        [score]
        threshold = 10.0
        "#,
    )
    .unwrap()
}

fn models(debounce: u32, clear_after: u32) -> AnomalyModels {
    let c = AnomalyModelConfig {
        name: "bind".into(),
        model: "m".into(),
        sensors: "site/*/{channel}".into(),
        severity: Default::default(),
        threshold: None,
        debounce,
        clear_after,
    };
    AnomalyModels::new(&[c], &[manifest()], &[0]).unwrap()
}

fn reading(sensor: &str, ts_ms: i64, value: f64) -> Reading {
    Reading::new(sensor, ts_ms, value)
}

/// Both channels of asset `site/x` at second `t`.
fn frame(m: &mut AnomalyModels, t: i64, jobs: &mut Vec<WindowJob>) {
    m.on_reading(&reading("site/x/a", t * 1000, 10.0 + 2.0 * t as f64), jobs);
    m.on_reading(&reading("site/x/b", t * 1000 + 10, -(t as f64)), jobs);
}

#[test]
fn frames_make_windows_every_step_normalised_in_channel_order() {
    let mut m = models(1, 1);
    let mut jobs = Vec::new();
    for t in 0..8 {
        frame(&mut m, t, &mut jobs);
    }
    // Windows complete at frames 4, 6 and 8 (every 2 frames once 4 are there).
    assert_eq!(jobs.len(), 3);
    assert_eq!(jobs[0].end_ms, 3010);
    // (value - offset) / scale: a = t, b = -t; frame-major, channels inside.
    assert_eq!(
        jobs[0].data,
        vec![0.0, 0.0, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0]
    );
    assert_eq!(jobs[2].data[..2], [4.0, -4.0]);
    assert!(jobs
        .iter()
        .all(|j| j.asset == jobs[0].asset && j.model == 0));
}

#[test]
fn a_frame_waits_for_every_channel_and_other_sensors_are_ignored() {
    let mut m = models(1, 1);
    let mut jobs = Vec::new();
    for t in 0..10 {
        // Only channel a: never a frame.
        m.on_reading(&reading("site/x/a", t * 1000, 1.0), &mut jobs);
        m.on_reading(&reading("site/x/c", t * 1000, 1.0), &mut jobs);
        m.on_reading(&reading("other/x/b", t * 1000, 1.0), &mut jobs);
    }
    assert!(jobs.is_empty());
    // Bad quality and NaN readings do not complete frames either.
    let mut bad = reading("site/x/b", 20_000, 1.0);
    bad.quality = Quality::Bad;
    m.on_reading(&bad, &mut jobs);
    m.on_reading(&reading("site/x/b", 20_000, f64::NAN), &mut jobs);
    assert!(jobs.is_empty());
}

#[test]
fn a_gap_restarts_the_window() {
    let mut m = models(1, 1);
    let mut jobs = Vec::new();
    for t in 0..3 {
        frame(&mut m, t, &mut jobs);
    }
    // 10 s of silence (over 3 periods): the three frames before do not count.
    for t in 13..16 {
        frame(&mut m, t, &mut jobs);
    }
    assert!(jobs.is_empty(), "only 3 frames since the gap");
    frame(&mut m, 16, &mut jobs);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].data[..2], [13.0, -13.0]);
}

fn score(m: &mut AnomalyModels, asset: usize, t: i64, s: f32) -> Vec<AlertEvent> {
    let mut out = Vec::new();
    m.on_scores(
        &[Scored {
            asset,
            end_ms: t,
            score: s,
        }],
        &mut out,
    );
    out
}

#[test]
fn debounce_fires_once_and_clear_after_resolves() {
    let mut m = models(2, 3);
    let mut jobs = Vec::new();
    for t in 0..4 {
        frame(&mut m, t, &mut jobs);
    }
    let asset = jobs[0].asset;
    assert!(
        score(&mut m, asset, 1, 11.0).is_empty(),
        "one window is not enough"
    );
    assert!(score(&mut m, asset, 2, 9.0).is_empty(), "the run broke");
    assert!(score(&mut m, asset, 3, 11.0).is_empty());
    let fired = score(&mut m, asset, 4, 12.5);
    assert_eq!(fired.len(), 1);
    let f = &fired[0];
    assert_eq!(
        (f.state, &*f.sensor, &*f.rule),
        (AlertState::Firing, "site/x", "bind")
    );
    assert_eq!((f.value, f.limit, f.fired_ms), (12.5, 10.0, 4));
    assert_eq!(
        f.message,
        "model `m` scored 12.50 (threshold 10) on site/x: a, b"
    );
    assert_eq!(m.firing_count(), 1);
    assert!(
        score(&mut m, asset, 5, 50.0).is_empty(),
        "still firing: no second alert"
    );
    assert!(score(&mut m, asset, 6, 1.0).is_empty());
    assert!(score(&mut m, asset, 7, 1.0).is_empty());
    let resolved = score(&mut m, asset, 8, 1.0);
    assert_eq!(resolved.len(), 1);
    assert_eq!(
        (resolved[0].state, &resolved[0].id, resolved[0].event_ms),
        (AlertState::Resolved, &f.id, 8)
    );
    assert_eq!(m.firing_count(), 0);
}

#[test]
fn a_restored_alert_resolves_without_firing_again() {
    let mut m = models(1, 1);
    assert!(m.restore_firing("bind", &"site/x".into(), "a1".into(), 5));
    assert!(!m.restore_firing("other", &"site/x".into(), "a2".into(), 5));
    let mut jobs = Vec::new();
    for t in 0..4 {
        frame(&mut m, t, &mut jobs);
    }
    assert!(
        score(&mut m, jobs[0].asset, 9, 20.0).is_empty(),
        "already firing"
    );
    let resolved = score(&mut m, jobs[0].asset, 10, 1.0);
    assert_eq!((resolved[0].id.as_str(), resolved[0].fired_ms), ("a1", 5));
}

#[test]
fn a_one_channel_model_makes_every_matching_sensor_an_asset() {
    let one: Manifest = toml::from_str(
        r#"
            name = "m1"
            file = "m.onnx"
            sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
            input = { name = "window", shape = [-1, 2, 1] }
            output = { name = "score", shape = [-1] }
            [features]
            channels = ["v"]
            window = 2
            step = 1
            period = "1s"
            offset = [0.0]
            scale = [1.0]
            [score]
            threshold = 1.0
            "#,
    )
    .unwrap();
    let c = AnomalyModelConfig {
        name: "single".into(),
        model: "m1".into(),
        sensors: "s/*".into(),
        severity: Default::default(),
        threshold: Some(0.5),
        debounce: 1,
        clear_after: 1,
    };
    let mut m = AnomalyModels::new(&[c], &[one], &[0]).unwrap();
    let mut jobs = Vec::new();
    for t in 0..2 {
        m.on_reading(&reading("s/a", t * 1000, 1.0), &mut jobs);
        m.on_reading(&reading("s/b", t * 1000, 2.0), &mut jobs);
    }
    assert_eq!(jobs.len(), 2);
    assert_ne!(jobs[0].asset, jobs[1].asset);
    let fired = score(&mut m, jobs[1].asset, 1, 0.6);
    assert_eq!(
        (&*fired[0].sensor, fired[0].limit),
        ("s/b", 0.5),
        "threshold from the binding"
    );
}
