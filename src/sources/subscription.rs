//! `[[sources.mqtt.subscriptions]]`: a topic filter and how its payloads are read
//! (JSON object, plain number, or several value fields), with pure validation.

use crate::issues::Issues;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SubscriptionConfig {
    /// Topic filter, wildcards allowed: `factory/+/sensors/#`.
    pub topic: String,
    /// 0 or 1. QoS 1 messages are acknowledged only once journaled.
    #[serde(default = "default_qos")]
    pub qos: u8,
    /// `json` (object or array of objects), `fields` (each numeric field a sensor), `number`.
    #[serde(default)]
    pub format: PayloadFormat,
    /// Sensor id template over topic levels: `{1}/{3}` (0-based), `{topic}`, `{field}`.
    /// When unset, the id comes from `sensor-id-field` (json) or the topic (fields, number).
    #[serde(default)]
    pub sensor_id: Option<String>,
    /// Field paths are dotted (`data.value`).
    #[serde(default = "default_sensor_id_field")]
    pub sensor_id_field: String,
    #[serde(default = "default_value_field")]
    pub value_field: String,
    /// Number (epoch seconds or milliseconds) or RFC 3339 string; receive time if absent.
    #[serde(default = "default_timestamp_field")]
    pub timestamp_field: String,
    #[serde(default = "default_unit_field")]
    pub unit_field: String,
    /// Status word (`normal`, `bad`, `fault` ...) mapped to reading quality.
    #[serde(default = "default_status_field")]
    pub status_field: String,
    /// Unit when the payload carries none.
    #[serde(default)]
    pub unit: Option<String>,
    /// For `fields`: which fields to take (all numeric fields when empty).
    #[serde(default)]
    pub fields: Vec<String>,
    /// Labels added to every reading of this subscription.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn default_qos() -> u8 {
    1
}
fn default_sensor_id_field() -> String {
    "sensor_id".to_owned()
}
fn default_value_field() -> String {
    "value".to_owned()
}
fn default_timestamp_field() -> String {
    "ts".to_owned()
}
fn default_unit_field() -> String {
    "unit".to_owned()
}
fn default_status_field() -> String {
    "status".to_owned()
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum PayloadFormat {
    #[default]
    Json,
    Fields,
    Number,
}

impl SubscriptionConfig {
    pub fn validate(&self, v: &mut Issues, k: &str) {
        let s = self;
        if let Err(why) = check_topic_filter(&s.topic) {
            v.push(format!("{k}.topic"), format!("`{}` {why}", s.topic));
        }
        if s.qos > 1 {
            v.push(
                format!("{k}.qos"),
                format!(
                    "{} is not supported: use 0 or 1 (1 is durable end to end)",
                    s.qos
                ),
            );
        }
        if let Some(t) = &s.sensor_id {
            if let Err(why) = check_template(t, &s.topic) {
                v.push(format!("{k}.sensor-id"), why);
            }
        }
        if s.format != PayloadFormat::Fields && !s.fields.is_empty() {
            v.push(format!("{k}.fields"), "only used with format = \"fields\"");
        }
    }
}

/// MQTT filter rules: `#` only as the whole last level, `+` only as a whole level.
pub fn check_topic_filter(topic: &str) -> Result<(), String> {
    if topic.is_empty() {
        return Err("is empty: give a topic filter such as `factory/+/sensors/#`".into());
    }
    let levels: Vec<&str> = topic.split('/').collect();
    for (i, l) in levels.iter().enumerate() {
        if l.contains('#') && (*l != "#" || i + 1 != levels.len()) {
            return Err("is not a valid filter: `#` must be the whole last level".into());
        }
        if l.contains('+') && *l != "+" {
            return Err("is not a valid filter: `+` must be a whole level".into());
        }
    }
    Ok(())
}

/// `{N}` must be a topic level that exists for every matching topic.
fn check_template(template: &str, topic: &str) -> Result<(), String> {
    let levels = topic.split('/').count();
    let open_ended = topic.ends_with('#');
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            return Err(format!("`{template}` has an unclosed `{{`"));
        };
        let name = &rest[start + 1..start + len];
        match name.parse::<usize>() {
            Ok(n) if !open_ended && n >= levels => {
                return Err(format!(
                    "`{{{n}}}` is past the end of `{topic}`: levels are numbered 0 to {}",
                    levels - 1
                ))
            }
            Ok(_) => {}
            Err(_) if name == "topic" || name == "field" => {}
            Err(_) => {
                return Err(format!(
                    "`{{{name}}}` is unknown: use {{0}}, {{1}} ... (topic levels), {{topic}} or {{field}}"
                ))
            }
        }
        rest = &rest[start + len + 1..];
    }
    Ok(())
}
