use super::*;
use std::path::Path;

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, Path::new("test.toml"))
}

fn issues(text: &str) -> Vec<ConfigIssue> {
    match load(text) {
        Err(ConfigError::Invalid { issues, .. }) => issues,
        other => panic!("expected validation issues, got {other:?}"),
    }
}

#[test]
fn empty_file_gets_defaults() {
    let c = load("").unwrap();
    assert_eq!(c.aggregate.window, std::time::Duration::from_secs(60));
    assert_eq!(c.api.listen, "127.0.0.1:9464");
    assert_eq!(c.store.synchronous, crate::store::Synchronous::Full);
}

#[test]
fn unknown_key_is_rejected_with_its_line() {
    let err = load("[store]\ncommit-interval = \"5ms\"\ncomit-max-rows = 3\n").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("comit-max-rows"), "{text}");
    assert!(text.contains("line 3"), "{text}");
}

#[test]
fn human_durations_parse() {
    let c = load("[aggregate]\nwindow = \"5m\"\n").unwrap();
    assert_eq!(c.aggregate.window.as_secs(), 300);
    let err = load("[aggregate]\nwindow = 60\n").unwrap_err().to_string();
    assert!(err.contains("window"), "{err}");
}

#[test]
fn rule_errors_name_key_and_line() {
    let text = r#"
[[rules]]
name = "hot"
sensors = ["a/*"]
above = 80.0

[[rules]]
name = "cold"
sensors = ["b/*"]
below = 5.0
clear = 2.0
"#;
    let got = issues(text);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].key, "rules[1].clear");
    assert_eq!(got[0].line, Some(11));
    assert!(got[0].message.contains("at or above"), "{}", got[0].message);
}

#[test]
fn rule_needs_exactly_one_condition() {
    let got = issues("[[rules]]\nname = \"x\"\nsensors = [\"a\"]\n");
    assert!(got[0].message.contains("no condition"));
    let got = issues("[[rules]]\nname = \"x\"\nsensors = [\"a\"]\nabove = 1.0\nbelow = 0.0\n");
    assert!(got[0].message.contains("several conditions"));
}

#[test]
fn mqtt_checks_topic_template_and_qos() {
    let text = r#"
[[sources.mqtt]]
name = "m"
host = "127.0.0.1"
keep-alive = "500ms"
[[sources.mqtt.subscriptions]]
topic = "factory/+/sensors"
sensor-id = "{1}/{5}"
qos = 2
[[sources.mqtt.subscriptions]]
topic = "a/#/b"
"#;
    let keys: Vec<String> = issues(text).into_iter().map(|i| i.key).collect();
    assert!(
        keys.contains(&"sources.mqtt[0].keep-alive".to_string()),
        "{keys:?}"
    );
    assert!(keys.contains(&"sources.mqtt[0].subscriptions[0].sensor-id".to_string()));
    assert!(keys.contains(&"sources.mqtt[0].subscriptions[0].qos".to_string()));
    assert!(keys.contains(&"sources.mqtt[0].subscriptions[1].topic".to_string()));
}

#[test]
fn open_api_needs_a_token() {
    let got = issues("[api]\nlisten = \"0.0.0.0:9464\"\n");
    assert_eq!(got[0].key, "api.listen");
    assert!(got[0].message.contains("token-file"));
}

#[test]
fn shipped_configs_are_valid() {
    for f in ["config/edgewatch.toml", "config/demo.toml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(f);
        if let Err(e) = Config::load(&path) {
            panic!("{f}: {e}");
        }
    }
}

#[test]
fn sink_errors_name_the_key_and_the_fix() {
    let text = r#"
[sinks]
allowed-hosts = ["hooks.slack.com", "*.corp.example"]

[[sinks.webhook]]
name = "chat"
url = "https://hooks.slack.com/services/T0/B0/XYZ"
preset = "slack"

[[sinks.webhook]]
name = "typo"
url = "https://10.0.0.1:8443/admin"

[[sinks.webhook]]
name = "splunk"
url = "https://hec.corp.example/services/collector"
preset = "splunk-hec"

[[sinks.mqtt]]
name = "chat"
host = "central"
alert-topic = "edge/{gateway}/{line}/#"
outbox = { max-size = "1KiB" }
"#;
    let got = issues(text);
    let find = |key: &str| {
        got.iter()
            .find(|i| i.key == key)
            .unwrap_or_else(|| panic!("no issue for {key}: {got:?}"))
    };
    let typo = find("sinks.webhook[1].url");
    assert!(typo.message.contains("10.0.0.1") && typo.message.contains("allowed-hosts"));
    assert_eq!(typo.line, Some(12));
    assert!(find("sinks.webhook[2].token-file")
        .message
        .contains("token-file"));
    assert!(find("sinks.webhook[0].name").message.contains("used twice"));
    let topic: Vec<&ConfigIssue> = got
        .iter()
        .filter(|i| i.key == "sinks.mqtt[0].alert-topic")
        .collect();
    assert_eq!(topic.len(), 2, "`#` and `{{line}}`: {topic:?}");
    assert!(find("sinks.mqtt[0].outbox.max-size")
        .message
        .contains("16 KiB"));
    assert!(!got.iter().any(|i| i.key == "sinks.webhook[0].url"));
}

#[test]
fn chat_presets_receive_alerts_only_unless_told_otherwise() {
    let c = load(
        "[sinks]\nallowed-hosts = [\"h\"]\n[[sinks.webhook]]\nname = \"s\"\nurl = \"https://h/x\"\npreset = \"slack\"\n",
    )
    .unwrap();
    let route = c.sinks.webhook[0].effective_route();
    assert_eq!(route.events, Some(vec![crate::store::EventKind::Alerts]));
}

#[test]
fn a_missing_key_points_at_its_table() {
    let text = r#"
[[rules]]
name = "hot"
sensors = ["a/*"]
above = 80.0

[[rules]]
name = "cold"
below = 5.0
"#;
    let got = issues(text);
    let missing = got.iter().find(|i| i.key.starts_with("rules[1]")).unwrap();
    assert!(
        matches!(missing.line, Some(7..=9)),
        "{missing:?} should point at the second [[rules]]"
    );
}

#[test]
fn component_names_are_unique_across_every_kind_of_source_and_of_sink() {
    let text = "[modbus-maps.m]\npoints = [{ name = \"r\", table = \"holding\", address = 0 }]\n\
        [[sources.mqtt]]\nname = \"line\"\nhost = \"b\"\n[[sources.mqtt.subscriptions]]\ntopic = \"t\"\n\
        [[sources.modbus]]\nname = \"line\"\ntcp = \"h:502\"\ndevices = [{ name = \"d\", unit = 1, map = \"m\" }]\n\
        [[sources.modbus]]\nname = \"line\"\ntcp = \"h:502\"\ndevices = [{ name = \"d\", unit = 1, map = \"m\" }]\n\
        [[sinks.file]]\nname = \"up\"\ndir = \"/tmp/x\"\n[[sinks.stdout]]\nname = \"up\"\n";
    let found = issues(text);
    let keys: Vec<&str> = found.iter().map(|i| i.key.as_str()).collect();
    assert!(keys.contains(&"sources.modbus[0].name"), "{found:?}");
    assert!(keys.contains(&"sources.modbus[1].name"), "{found:?}");
    assert!(keys.contains(&"sinks.stdout[0].name"), "{found:?}");
    assert!(
        !keys.contains(&"sources.mqtt[0].name"),
        "the first use is fine"
    );
}

#[test]
fn a_quote_in_a_component_name_is_refused() {
    let found = issues("[[sinks.stdout]]\nname = 'a\"b'\n");
    assert_eq!(found[0].key, "sinks.stdout[0].name", "{found:?}");
    assert!(found[0].line.is_some(), "{found:?}");
}
