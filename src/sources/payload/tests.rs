use super::*;
use crate::config::Config;

fn decoder(sub: &str) -> Decoder {
    let text = format!(
        "[[sources.mqtt]]\nname = \"m\"\nhost = \"h\"\nmax-payload = \"1KiB\"\nmax-depth = 4\n[[sources.mqtt.subscriptions]]\n{sub}\n"
    );
    let c = Config::from_toml(&text, std::path::Path::new("t.toml")).unwrap();
    let m = &c.sources.mqtt[0];
    Decoder::new(
        &m.subscriptions[0],
        m.max_payload.as_u64() as usize,
        m.max_depth,
    )
}

fn run(d: &Decoder, topic: &str, payload: &str) -> (Vec<Reading>, Vec<Rejection>) {
    let (mut out, mut rej) = (Vec::new(), Vec::new());
    d.decode(
        topic,
        payload.as_bytes(),
        1_700_000_000_000,
        &mut out,
        &mut rej,
    );
    (out, rej)
}

#[test]
fn default_json_object() {
    let d = decoder("topic = \"plant/#\"");
    let (out, rej) = run(
        &d,
        "plant/x",
        r#"{"sensor_id":"M-3421","value":0.48,"unit":"mm/s","status":"normal"}"#,
    );
    assert!(rej.is_empty());
    assert_eq!(&*out[0].sensor, "M-3421");
    assert_eq!(out[0].value, 0.48);
    assert_eq!(out[0].unit.as_deref(), Some("mm/s"));
    assert_eq!(out[0].quality, Quality::Good);
    assert_eq!(out[0].ts_ms, 1_700_000_000_000, "no ts: receive time");
}

#[test]
fn custom_paths_timestamps_and_status() {
    let d = decoder(
        "topic = \"t\"\nvalue-field = \"data.v\"\ntimestamp-field = \"data.time\"\nsensor-id-field = \"meta.id\"",
    );
    let (out, _) = run(
        &d,
        "t",
        r#"{"meta":{"id":"a"},"data":{"v":"23.5","time":1700000001}}"#,
    );
    assert_eq!((out[0].value, out[0].ts_ms), (23.5, 1_700_000_001_000));
    let (out, _) = run(
        &d,
        "t",
        r#"{"meta":{"id":"a"},"data":{"v":1,"time":1700000001234}}"#,
    );
    assert_eq!(out[0].ts_ms, 1_700_000_001_234);
    let (out, _) = run(
        &d,
        "t",
        r#"{"meta":{"id":"a"},"data":{"v":1,"time":"2023-11-14T22:13:21.5Z"}}"#,
    );
    assert_eq!(out[0].ts_ms, 1_700_000_001_500);
    let d = decoder("topic = \"t\"");
    let (out, _) = run(&d, "t", r#"{"sensor_id":"a","value":1,"status":"fault"}"#);
    assert_eq!(out[0].quality, Quality::Bad);
}

#[test]
fn several_fields_as_several_sensors() {
    let d = decoder("topic = \"room/+\"\nformat = \"fields\"\nunit = \"x\"");
    let (out, rej) = run(
        &d,
        "room/7",
        r#"{"temp":70.3,"hum":65.8,"ts":1700000000,"label":"a"}"#,
    );
    assert!(rej.is_empty());
    let mut got: Vec<(String, f64)> = out
        .iter()
        .map(|r| (r.sensor.to_string(), r.value))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![("room/7/hum".into(), 65.8), ("room/7/temp".into(), 70.3)]
    );
    assert_eq!(out[0].ts_ms, 1_700_000_000_000);
    let d = decoder(
        "topic = \"r\"\nformat = \"fields\"\nfields = [\"temp\"]\nsensor-id = \"env/{field}\"",
    );
    let (out, _) = run(&d, "r", r#"{"temp":70.3,"hum":65.8}"#);
    assert_eq!(out.len(), 1);
    assert_eq!(&*out[0].sensor, "env/temp");
}

#[test]
fn bare_number_and_topic_template() {
    let d = decoder(
        "topic = \"factory/+/sensors/#\"\nformat = \"number\"\nsensor-id = \"{1}/{3}/{4}\"",
    );
    let (out, rej) = run(&d, "factory/line2/sensors/m7/temperature", " 71.25 ");
    assert!(rej.is_empty());
    assert_eq!(&*out[0].sensor, "line2/m7/temperature");
    assert_eq!(out[0].value, 71.25);
    // A JSON number on a json subscription works too, id from the topic.
    let d = decoder("topic = \"a/b\"");
    let (out, _) = run(&d, "a/b", "3");
    assert_eq!((&*out[0].sensor, out[0].value), ("a/b", 3.0));
}

#[test]
fn array_keeps_good_elements() {
    let d = decoder("topic = \"t\"");
    let (out, rej) = run(
        &d,
        "t",
        r#"[{"sensor_id":"a","value":1},{"sensor_id":"b","value":"x"},{"sensor_id":"c","value":3}]"#,
    );
    assert_eq!(out.len(), 2);
    assert_eq!(rej, vec![Rejection::WrongType]);
}

#[test]
fn every_bad_payload_reason() {
    let d = decoder("topic = \"t\"");
    let cases = [
        ("x".repeat(2000), Rejection::TooLarge),
        ("[[[[[1]]]]]".to_string(), Rejection::TooDeep),
        ("{not json".to_string(), Rejection::NotJson),
        ("true".to_string(), Rejection::WrongType),
        (
            r#"{"sensor_id":"a","value":[1]}"#.to_string(),
            Rejection::WrongType,
        ),
        (r#"{"sensor_id":"a"}"#.to_string(), Rejection::MissingValue),
        (
            r#"{"sensor_id":"a","value":"NaN"}"#.to_string(),
            Rejection::NotFinite,
        ),
        (
            r#"{"sensor_id":"a","value":"inf"}"#.to_string(),
            Rejection::NotFinite,
        ),
        (
            r#"{"sensor_id":"a","value":1,"ts":"yesterday"}"#.to_string(),
            Rejection::BadTimestamp,
        ),
        (
            r#"{"sensor_id":"a","value":1,"ts":-5}"#.to_string(),
            Rejection::BadTimestamp,
        ),
    ];
    for (payload, want) in cases {
        let (out, rej) = run(&d, "t", &payload);
        assert!(out.is_empty(), "{payload}");
        assert_eq!(rej, vec![want], "{payload}");
    }
    let d = decoder("topic = \"t\"\nformat = \"number\"");
    assert_eq!(run(&d, "t", "NaN").1, vec![Rejection::NotFinite]);
    assert_eq!(run(&d, "t", "abc").1, vec![Rejection::WrongType]);
    let d = decoder("topic = \"t/#\"\nsensor-id = \"{3}\"");
    assert_eq!(
        run(&d, "t/a", r#"{"value":1}"#).1,
        vec![Rejection::NoSensorId]
    );
}

#[test]
fn depth_counter_ignores_brackets_in_strings() {
    assert_eq!(json_depth(br#"{"a":"[[[[[[","b":[1]}"#), 2);
    assert_eq!(json_depth(br#"{"a":"\"[[[["}"#), 1);
}

#[test]
fn escaped_keys_and_strings_and_out_of_range_numbers() {
    let d = decoder("topic = \"t\"");
    let (out, rej) = run(
        &d,
        "t",
        r#"{"sensor_\u0069d":"tank \"A\"","value":"4.5","unit":"m\u00b3"}"#,
    );
    assert!(rej.is_empty(), "{rej:?}");
    assert_eq!(&*out[0].sensor, "tank \"A\"");
    assert_eq!(out[0].unit.as_deref(), Some("m³"));
    assert_eq!(
        run(&d, "t", r#"{"sensor_id":"a","value":1e999}"#).1,
        vec![Rejection::NotFinite]
    );
    assert_eq!(
        run(&d, "t", r#"{"sensor_id":"a","value":null}"#).1,
        vec![Rejection::MissingValue]
    );
    assert_eq!(
        run(&d, "t", r#"{"sensor_id":"a","value":1} trailing"#).1,
        vec![Rejection::NotJson]
    );
    let (out, _) = run(&d, "t", r#"{"sensor_id":42,"value":true}"#);
    assert_eq!((&*out[0].sensor, out[0].value), ("42", 1.0));
}
