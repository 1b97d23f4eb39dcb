use super::*;
use crate::config::Config;
use crate::event::{AlertKind, Reading};

fn rules(toml: &str) -> ThresholdRules {
    let c = Config::from_toml(toml, std::path::Path::new("t.toml")).unwrap();
    ThresholdRules::new(&c.rules).unwrap()
}

/// Feeds (seconds, value) pairs and returns (state, event time in s, value) per event.
fn feed(
    r: &mut ThresholdRules,
    sensor: &str,
    series: &[(i64, f64)],
) -> Vec<(AlertState, i64, f64)> {
    let mut out = Vec::new();
    for &(t, v) in series {
        r.on_reading(&Reading::new(sensor, t * 1000, v).with_unit("°C"), &mut out);
    }
    out.iter()
        .map(|e| (e.state, e.event_ms / 1000, e.value))
        .collect()
}

const HOT: &str = r#"
[[rules]]
name = "hot"
sensors = ["plant1/*/motor/*/temperature"]
above = 80.0
clear = 75.0
for = "10s"
severity = "critical"
"#;

#[test]
fn fires_once_after_debounce_and_resolves_once_after_hysteresis() {
    let mut r = rules(HOT);
    let s = "plant1/l1/motor/m1/temperature";
    let series = [
        (0, 70.0),
        (1, 81.0), // breach starts
        (5, 85.0),
        (11, 86.0), // 10 s in breach: fires
        (12, 90.0),
        (13, 79.0), // below limit but above clear: still firing
        (14, 81.0),
        (15, 74.0), // past clear: resolves
        (16, 70.0),
    ];
    let got = feed(&mut r, s, &series);
    assert_eq!(
        got,
        vec![
            (AlertState::Firing, 11, 86.0),
            (AlertState::Resolved, 15, 74.0)
        ]
    );
}

#[test]
fn short_breach_inside_debounce_does_not_fire() {
    let mut r = rules(HOT);
    let s = "plant1/l1/motor/m1/temperature";
    let got = feed(
        &mut r,
        s,
        &[(0, 81.0), (5, 85.0), (9, 79.0), (12, 81.0), (21, 82.0)],
    );
    assert!(got.is_empty(), "{got:?}");
    let got = feed(&mut r, s, &[(22, 83.0)]);
    assert_eq!(got, vec![(AlertState::Firing, 22, 83.0)]);
}

#[test]
fn alert_carries_stable_id_message_and_limit() {
    let mut r = rules(HOT);
    let mut out = Vec::new();
    let s = "plant1/l1/motor/m1/temperature";
    for (t, v) in [(0, 81.0), (10, 82.5), (20, 60.0)] {
        r.on_reading(&Reading::new(s, t * 1000, v).with_unit("°C"), &mut out);
    }
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].id, out[1].id);
    assert_eq!(out[0].id, alert_id("hot", s, 10_000));
    assert_eq!(out[0].limit, 80.0);
    assert_eq!(out[0].severity, Severity::Critical);
    assert_eq!(out[0].message, format!("{s} at 82.5°C is above 80°C"));
    assert_eq!(out[1].fired_ms, 10_000);
}

#[test]
fn count_debounce_and_below_rule() {
    let mut r = rules(
        "[[rules]]\nname = \"lowp\"\nsensors = [\"*/pressure\"]\nbelow = 4.0\nclear = 4.5\nfor-count = 3\n",
    );
    let got = feed(
        &mut r,
        "m1/pressure",
        &[
            (0, 3.9),
            (1, 3.8),
            (2, 4.1),
            (3, 3.9),
            (4, 3.9),
            (5, 3.8),
            (6, 4.2),
            (7, 4.6),
        ],
    );
    assert_eq!(
        got,
        vec![(AlertState::Firing, 5, 3.8), (AlertState::Resolved, 7, 4.6)]
    );
}

#[test]
fn rate_of_change_uses_reading_timestamps() {
    let mut r = rules("[[rules]]\nname = \"jump\"\nsensors = [\"*\"]\nrate-above = 2.0\n");
    let got = feed(
        &mut r,
        "p",
        &[(0, 10.0), (10, 20.0), (11, 25.0), (12, 25.5)],
    );
    assert_eq!(
        got,
        vec![
            (AlertState::Firing, 11, 5.0),
            (AlertState::Resolved, 12, 0.5)
        ]
    );
    let mut out = Vec::new();
    r.on_reading(&Reading::new("q", 0, 1.0).with_unit("bar"), &mut out);
    r.on_reading(&Reading::new("q", 1000, 9.0).with_unit("bar"), &mut out);
    r.on_reading(&Reading::new("q", 2000, 9.5).with_unit("bar"), &mut out);
    assert_eq!(out[1].message, "q changes 0.5bar/s again (rule jump)");
}

#[test]
fn stale_fires_on_silence_and_on_bad_quality_and_resolves_on_good() {
    let mut r = rules("[[rules]]\nname = \"quiet\"\nsensors = [\"*\"]\nstale-after = \"30s\"\n");
    let mut out = Vec::new();
    r.on_reading(&Reading::new("s", 0, 1.0), &mut out);
    r.on_tick(30_000, &mut out);
    assert!(out.is_empty());
    // Bad readings do not count as signs of life.
    let mut bad = Reading::new("s", 20_000, 1.0);
    bad.quality = Quality::Bad;
    r.on_reading(&bad, &mut out);
    r.on_tick(30_001, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, AlertKind::Stale);
    r.on_tick(60_000, &mut out);
    assert_eq!(out.len(), 1, "fires once, not on every tick");
    r.on_reading(&Reading::new("s", 61_000, 1.0), &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].state, AlertState::Resolved);
}

#[test]
fn registered_sensor_goes_stale_without_new_readings() {
    let mut r = rules("[[rules]]\nname = \"quiet\"\nsensors = [\"*\"]\nstale-after = \"30s\"\n");
    r.register(&"s".into(), &Labels::default(), Some(1_000));
    let mut out = Vec::new();
    r.on_tick(40_000, &mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn restored_firing_alert_resolves_with_its_old_id() {
    let mut r = rules(HOT);
    let s: Arc<str> = "plant1/l1/motor/m1/temperature".into();
    let labels = Labels::default();
    let stored = |rule, id| StoredFiring {
        rule,
        sensor: &s,
        labels: &labels,
        id,
        fired_ms: 5,
    };
    assert!(r.restore_firing(&stored("hot", "a-old")));
    assert!(!r.restore_firing(&stored("gone", "a-x")));
    let mut out = Vec::new();
    r.on_reading(&Reading::new(s.clone(), 100, 90.0), &mut out);
    assert!(out.is_empty(), "still firing, must not fire twice");
    r.on_reading(&Reading::new(s, 200, 70.0), &mut out);
    assert_eq!(out[0].id, "a-old");
    assert_eq!(out[0].state, AlertState::Resolved);
}

#[test]
fn labels_restrict_rules() {
    let mut r = rules("[[rules]]\nname = \"l\"\nlabels = { line = \"2\" }\nabove = 1.0\n");
    let mut out = Vec::new();
    r.on_reading(&Reading::new("a", 0, 5.0), &mut out);
    assert!(out.is_empty());
    let mut tagged = Reading::new("b", 0, 5.0);
    tagged.labels = Arc::new([("line".to_string(), "2".to_string())].into());
    r.on_reading(&tagged, &mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn one_hour_above_limit_gives_one_event() {
    let mut r = rules(HOT);
    let series: Vec<(i64, f64)> = (0..3600).map(|t| (t, 95.0)).collect();
    assert_eq!(
        feed(&mut r, "plant1/a/motor/b/temperature", &series).len(),
        1
    );
}

/// Noise around `level`: deterministic (seeded) uniform ±1, one reading a second.
fn noisy(from_s: i64, to_s: i64, level: impl Fn(i64) -> f64) -> Vec<(i64, f64)> {
    let mut rng = fastrand::Rng::with_seed(42);
    (from_s..to_s)
        .map(|t| (t, level(t) + (rng.f64() * 2.0 - 1.0)))
        .collect()
}

const STATS: &str = r#"
[[rules]]
name = "drift"
sensors = ["m/*"]
zscore-above = 6.0
ewma-alpha = 0.02
warmup = 60
for-count = 3

[[rules]]
name = "stuck"
sensors = ["m/*"]
stuck-for = "30s"
stuck-tolerance = 0.001

[[rules]]
name = "spike"
sensors = ["m/*"]
spike-above = 8.0
spike-window = 31
"#;

fn by_rule(r: &mut ThresholdRules, series: &[(i64, f64)]) -> Vec<(String, AlertState, i64)> {
    let mut out = Vec::new();
    for &(t, v) in series {
        r.on_reading(&Reading::new("m/a", t * 1000, v), &mut out);
    }
    out.iter()
        .map(|e| (e.rule.to_string(), e.state, e.event_ms / 1000))
        .collect()
}

#[test]
fn noise_alone_raises_nothing() {
    let mut r = rules(STATS);
    let got = by_rule(&mut r, &noisy(0, 3600, |_| 50.0));
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn a_step_fires_the_zscore_after_its_debounce_and_stays_firing_for_minutes() {
    let mut r = rules(STATS);
    let got = by_rule(
        &mut r,
        &noisy(0, 7200, |t| if t < 300 { 50.0 } else { 60.0 }),
    );
    let drift: Vec<_> = got.iter().filter(|(n, ..)| n == "drift").collect();
    // Three readings past the step (for-count = 3). The level then learns fifty
    // times slower, so a minutes-long anomaly is not absorbed; a lasting step is
    // learned as the new normal within about an hour and resolves once.
    assert_eq!(drift[0].1, AlertState::Firing);
    assert_eq!(drift[0].2, 302, "{drift:?}");
    assert_eq!(
        drift.get(1).map(|d| d.1),
        Some(AlertState::Resolved),
        "{drift:?}"
    );
    assert!((1800..7200).contains(&drift[1].2), "{drift:?}");
    assert_eq!(drift.len(), 2, "one lifecycle: {drift:?}");
    // A ten-unit step in ±1 noise is no spike after the first few readings: the
    // spike rule fires at the step and clears as the window fills with the new level.
    assert!(
        got.iter()
            .all(|(n, _, t)| n != "spike" || (300..320).contains(t)),
        "{got:?}"
    );
}

#[test]
fn a_slow_ramp_is_caught_by_the_zscore_before_it_is_large() {
    let mut r = rules(STATS);
    // +0.2 per second from t = 600 (a bearing heating up): a threshold 15 above
    // normal would fire 75 s into the ramp.
    let got = by_rule(
        &mut r,
        &noisy(0, 1500, |t| 50.0 + 0.2 * (t - 600).max(0) as f64),
    );
    let fired = got
        .iter()
        .find(|(n, s, _)| n == "drift" && *s == AlertState::Firing)
        .unwrap_or_else(|| panic!("{got:?}"));
    let rise = 0.2 * (fired.2 - 600) as f64;
    assert!(
        fired.2 > 600 && rise < 15.0,
        "fired at {} s, {rise} above normal",
        fired.2
    );
}

#[test]
fn a_stuck_sensor_fires_after_the_window_and_resolves_when_it_moves() {
    let mut r = rules(STATS);
    let mut series = noisy(0, 100, |_| 50.0);
    series.extend((100..200).map(|t| (t, 49.5)));
    series.extend(noisy(200, 260, |_| 50.0));
    let got: Vec<_> = by_rule(&mut r, &series)
        .into_iter()
        .filter(|(n, ..)| n == "stuck")
        .collect();
    assert_eq!(
        got,
        vec![
            ("stuck".into(), AlertState::Firing, 130),
            ("stuck".into(), AlertState::Resolved, 200)
        ]
    );
}

#[test]
fn a_single_spike_fires_and_resolves_on_the_next_reading() {
    let mut r = rules(STATS);
    let mut series = noisy(0, 100, |_| 50.0);
    series[70].1 = 80.0;
    let got: Vec<_> = by_rule(&mut r, &series)
        .into_iter()
        .filter(|(n, ..)| n == "spike")
        .collect();
    assert_eq!(
        got,
        vec![
            ("spike".into(), AlertState::Firing, 70),
            ("spike".into(), AlertState::Resolved, 71)
        ]
    );
}
