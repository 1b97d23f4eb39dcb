use super::*;
use crate::learn::{LearnSpec, Learner, Method};

/// Current and flow follow the load together; temperature is its own noise.
fn pump_reading(rng: &mut fastrand::Rng, t: i64, flow_offset: f64) -> [Reading; 3] {
    let load = rng.f64();
    [
        Reading::new("plant/p1/current", t * 1000, 10.0 + load),
        Reading::new(
            "plant/p1/flow",
            t * 1000,
            50.0 + 5.0 * load + 0.05 * rng.f64() + flow_offset,
        ),
        Reading::new("plant/p1/temp", t * 1000, 40.0 + rng.f64()),
    ]
}

fn learned() -> LearnedModel {
    learned_by(Method::Pca)
}

fn learned_by(method: Method) -> LearnedModel {
    let mut rng = fastrand::Rng::with_seed(11);
    let mut spec = LearnSpec::new("pump-model", "plant/p1/{channel}");
    spec.method = method;
    let mut l = Learner::new(spec).unwrap();
    for t in 0..600 {
        for r in pump_reading(&mut rng, t, 0.0) {
            l.observe(&r.sensor, r.ts_ms, r.value);
        }
    }
    l.finish(0, 600_000, &[]).unwrap()
}

fn run(
    d: &mut LearnedDetector,
    rng: &mut fastrand::Rng,
    from: i64,
    n: i64,
    offset: f64,
) -> Vec<AlertEvent> {
    let mut out = Vec::new();
    for t in from..from + n {
        for r in pump_reading(rng, t, offset) {
            d.on_reading(&r, &mut out);
        }
    }
    out
}

#[test]
fn normal_data_stays_quiet_and_a_broken_correlation_fires_naming_flow() {
    let mut d = LearnedDetector::new(vec![learned()]);
    let mut rng = fastrand::Rng::with_seed(99);
    let quiet = run(&mut d, &mut rng, 1000, 600, 0.0);
    assert!(quiet.is_empty(), "{quiet:?}");
    // Flow 3 below what the load says: each channel is in its usual range alone.
    let out = run(&mut d, &mut rng, 1600, 60, -3.0);
    assert_eq!(out.len(), 1, "{out:?}");
    let fired = &out[0];
    assert_eq!(fired.state, AlertState::Firing);
    assert_eq!((&*fired.rule, &*fired.sensor), ("pump-model", "plant/p1"));
    assert!(fired.value > 1.0 && fired.limit == 1.0);
    assert!(
        fired.message.contains("no longer move together") && fired.message.contains("flow"),
        "{}",
        fired.message
    );
    assert_eq!(d.firing_count(), 1);
    let out = run(&mut d, &mut rng, 1660, 60, 0.0);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(
        (out[0].state, &out[0].id),
        (AlertState::Resolved, &fired.id)
    );
    assert_eq!(d.firing_count(), 0);
}

#[test]
fn a_relearned_model_keeps_the_open_alert_and_a_stored_one_is_taken_over() {
    let mut d = LearnedDetector::new(vec![learned()]);
    let mut rng = fastrand::Rng::with_seed(5);
    let out = run(&mut d, &mut rng, 1000, 60, -3.0);
    let id = out[0].id.clone();
    d.install(learned());
    assert_eq!(d.names(), ["pump-model"]);
    let out = run(&mut d, &mut rng, 1060, 60, 0.0);
    assert_eq!((out.len(), &out[0].id), (1, &id));

    let mut d = LearnedDetector::new(vec![learned()]);
    let sensor: Arc<str> = "plant/p1".into();
    let labels = crate::event::Labels::default();
    let stored = |rule| StoredFiring {
        rule,
        sensor: &sensor,
        labels: &labels,
        id: "stored-1",
        fired_ms: 7,
    };
    assert!(!d.restore_firing(&stored("other-rule")));
    assert!(d.restore_firing(&stored("pump-model")));
    let out = run(&mut d, &mut rng, 2000, 20, 0.0);
    assert_eq!(
        (out.len(), out[0].id.as_str(), out[0].fired_ms),
        (1, "stored-1", 7)
    );
}

#[test]
fn a_gap_restarts_smoothing_instead_of_joining_distant_frames() {
    let mut m = learned();
    m.lags = 0;
    let mut d = LearnedDetector::new(vec![m]);
    let mut rng = fastrand::Rng::with_seed(8);
    // Two anomalous frames, an hour of silence, then normal: the debounce of 3
    // must not count frames across the gap.
    run(&mut d, &mut rng, 0, 2, -3.0);
    let out = run(&mut d, &mut rng, 3600, 1, -3.0);
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn a_similarity_model_stays_quiet_on_normal_data_and_fires_on_an_unfamiliar_state() {
    let model = learned_by(Method::Mset);
    assert!(model.assets[0].similarity.is_some());
    // Through its file and back, as the daemon loads it.
    let dir = tempfile::tempdir().unwrap();
    let path = model.save(dir.path()).unwrap();
    let model = LearnedModel::load(&path).unwrap();
    // A file that names the method but lost its memory is refused, not run.
    let mut broken = model.clone();
    broken.assets[0].similarity = None;
    let bad = broken.save(dir.path()).unwrap();
    let e = LearnedModel::load(&bad).unwrap_err().to_string();
    assert!(e.contains("do not fit its 3 channels"), "{e}");
    let mut d = LearnedDetector::new(vec![model]);
    let mut rng = fastrand::Rng::with_seed(99);
    let quiet = run(&mut d, &mut rng, 1000, 600, 0.0);
    assert!(quiet.is_empty(), "{quiet:?}");
    let out = run(&mut d, &mut rng, 1600, 60, -3.0);
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(
        out[0].message.contains("unlike any it learned as normal")
            && out[0].message.contains("flow"),
        "{}",
        out[0].message
    );
    let out = run(&mut d, &mut rng, 1660, 60, 0.0);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].state, AlertState::Resolved);
}
