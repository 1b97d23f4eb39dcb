//! Turns one MQTT payload into readings, per subscription settings. Pure: every
//! malformed payload becomes a [`Rejection`] with a reason, never a panic.

use crate::config::{PayloadFormat, SubscriptionConfig};
use crate::reading::{Labels, Quality, Reading};
use serde_json::Value;
use std::sync::Arc;

/// Why a payload (or one element of an array payload) was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rejection {
    TooLarge,
    TooDeep,
    NotJson,
    WrongType,
    MissingValue,
    NotFinite,
    BadTimestamp,
    NoSensorId,
}

impl Rejection {
    /// Metric label and log word.
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::TooLarge => "too_large",
            Rejection::TooDeep => "too_deep",
            Rejection::NotJson => "not_json",
            Rejection::WrongType => "wrong_type",
            Rejection::MissingValue => "missing_value",
            Rejection::NotFinite => "not_finite",
            Rejection::BadTimestamp => "bad_timestamp",
            Rejection::NoSensorId => "no_sensor_id",
        }
    }

    pub const ALL: [Rejection; 8] = [
        Rejection::TooLarge,
        Rejection::TooDeep,
        Rejection::NotJson,
        Rejection::WrongType,
        Rejection::MissingValue,
        Rejection::NotFinite,
        Rejection::BadTimestamp,
        Rejection::NoSensorId,
    ];
}

#[derive(Debug, Clone)]
pub struct Decoder {
    format: PayloadFormat,
    template: Option<String>,
    id_path: Vec<String>,
    value_path: Vec<String>,
    ts_path: Vec<String>,
    unit_path: Vec<String>,
    status_path: Vec<String>,
    unit: Option<Arc<str>>,
    fields: Vec<String>,
    labels: Labels,
    max_payload: usize,
    max_depth: usize,
}

fn path(p: &str) -> Vec<String> {
    p.split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Decoder {
    pub fn new(s: &SubscriptionConfig, max_payload: usize, max_depth: usize) -> Self {
        Decoder {
            format: s.format,
            template: s.sensor_id.clone(),
            id_path: path(&s.sensor_id_field),
            value_path: path(&s.value_field),
            ts_path: path(&s.timestamp_field),
            unit_path: path(&s.unit_field),
            status_path: path(&s.status_field),
            unit: s.unit.as_deref().map(Arc::from),
            fields: s.fields.clone(),
            labels: Arc::new(s.labels.clone()),
            max_payload,
            max_depth,
        }
    }

    /// Appends the readings in `payload` to `out` and the reasons of rejected parts to
    /// `rejected`. An array payload keeps its good elements.
    pub fn decode(
        &self,
        topic: &str,
        payload: &[u8],
        received_ms: i64,
        out: &mut Vec<Reading>,
        rejected: &mut Vec<Rejection>,
    ) {
        if payload.len() > self.max_payload {
            return rejected.push(Rejection::TooLarge);
        }
        if self.format == PayloadFormat::Number {
            return match self.number(topic, payload, received_ms) {
                Ok(r) => out.push(r),
                Err(e) => rejected.push(e),
            };
        }
        if json_depth(payload) > self.max_depth {
            return rejected.push(Rejection::TooDeep);
        }
        let doc: Value = match serde_json::from_slice(payload) {
            Ok(v) => v,
            Err(_) => return rejected.push(Rejection::NotJson),
        };
        match doc {
            Value::Array(items) => {
                for item in &items {
                    if let Err(e) = self.object(topic, item, received_ms, out) {
                        rejected.push(e);
                    }
                }
            }
            Value::Number(_) | Value::String(_) => match self.bare(topic, &doc, received_ms) {
                Ok(r) => out.push(r),
                Err(e) => rejected.push(e),
            },
            other => {
                if let Err(e) = self.object(topic, &other, received_ms, out) {
                    rejected.push(e);
                }
            }
        }
    }

    fn number(&self, topic: &str, payload: &[u8], received_ms: i64) -> Result<Reading, Rejection> {
        let text = std::str::from_utf8(payload).map_err(|_| Rejection::WrongType)?;
        let value: f64 = text.trim().parse().map_err(|_| Rejection::WrongType)?;
        self.reading(
            self.sensor_id(topic, None)?,
            received_ms,
            finite(value)?,
            None,
            Quality::Good,
        )
    }

    fn bare(&self, topic: &str, v: &Value, received_ms: i64) -> Result<Reading, Rejection> {
        let value = number_of(v)?;
        self.reading(
            self.sensor_id(topic, None)?,
            received_ms,
            value,
            None,
            Quality::Good,
        )
    }

    fn object(
        &self,
        topic: &str,
        v: &Value,
        received_ms: i64,
        out: &mut Vec<Reading>,
    ) -> Result<(), Rejection> {
        let Value::Object(_) = v else {
            return Err(Rejection::WrongType);
        };
        let ts = match lookup(v, &self.ts_path) {
            None | Some(Value::Null) => received_ms,
            Some(t) => timestamp_ms(t)?,
        };
        let unit = lookup(v, &self.unit_path)
            .and_then(Value::as_str)
            .map(Arc::from);
        let quality = lookup(v, &self.status_path)
            .and_then(Value::as_str)
            .map_or(Quality::Good, Quality::from_status);
        match self.format {
            PayloadFormat::Fields => self.fields(topic, v, ts, quality, out),
            _ => {
                let value = match lookup(v, &self.value_path) {
                    None | Some(Value::Null) => return Err(Rejection::MissingValue),
                    Some(x) => number_of(x)?,
                };
                let id = lookup(v, &self.id_path).and_then(|x| match x {
                    Value::String(s) if !s.is_empty() => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                });
                let sensor = self.sensor_id(topic, id.as_deref())?;
                out.push(self.reading(sensor, ts, value, unit, quality)?);
                Ok(())
            }
        }
    }

    /// Each numeric field of the object is its own sensor.
    fn fields(
        &self,
        topic: &str,
        v: &Value,
        ts: i64,
        quality: Quality,
        out: &mut Vec<Reading>,
    ) -> Result<(), Rejection> {
        let Value::Object(map) = v else {
            return Err(Rejection::WrongType);
        };
        let before = out.len();
        let skip = |k: &str| {
            [
                &self.ts_path,
                &self.unit_path,
                &self.status_path,
                &self.id_path,
            ]
            .iter()
            .any(|p| p.len() == 1 && p[0] == k)
        };
        if self.fields.is_empty() {
            for (k, x) in map {
                if skip(k) || !x.is_number() {
                    continue;
                }
                let sensor = self.field_sensor(topic, k)?;
                out.push(self.reading(sensor, ts, number_of(x)?, None, quality)?);
            }
        } else {
            for k in &self.fields {
                let Some(x) = map.get(k) else { continue };
                let sensor = self.field_sensor(topic, k)?;
                out.push(self.reading(sensor, ts, number_of(x)?, None, quality)?);
            }
        }
        if out.len() == before {
            return Err(Rejection::MissingValue);
        }
        Ok(())
    }

    fn field_sensor(&self, topic: &str, field: &str) -> Result<String, Rejection> {
        match &self.template {
            Some(t) => render(t, topic, Some(field)),
            None => Ok(format!("{topic}/{field}")),
        }
    }

    fn sensor_id(&self, topic: &str, from_payload: Option<&str>) -> Result<String, Rejection> {
        match (&self.template, from_payload) {
            (Some(t), field) => render(t, topic, field),
            (None, Some(id)) => Ok(id.to_owned()),
            (None, None) => Ok(topic.to_owned()),
        }
    }

    fn reading(
        &self,
        sensor: String,
        ts_ms: i64,
        value: f64,
        unit: Option<Arc<str>>,
        quality: Quality,
    ) -> Result<Reading, Rejection> {
        if sensor.is_empty() {
            return Err(Rejection::NoSensorId);
        }
        Ok(Reading {
            sensor: sensor.into(),
            ts_ms,
            value,
            unit: unit.or_else(|| self.unit.clone()),
            quality,
            labels: self.labels.clone(),
        })
    }
}

fn finite(v: f64) -> Result<f64, Rejection> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Rejection::NotFinite)
    }
}

fn number_of(v: &Value) -> Result<f64, Rejection> {
    match v {
        Value::Number(n) => n.as_f64().ok_or(Rejection::NotFinite).and_then(finite),
        // Many devices send numbers as strings ("23.5"); "NaN" and "inf" are refused.
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| Rejection::WrongType)
            .and_then(finite),
        Value::Bool(b) => Ok(if *b { 1.0 } else { 0.0 }),
        _ => Err(Rejection::WrongType),
    }
}

fn lookup<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    if path.is_empty() {
        return None;
    }
    path.iter().try_fold(v, |v, k| v.get(k))
}

/// Epoch seconds, milliseconds, microseconds or nanoseconds (told apart by size), or
/// RFC 3339 text.
fn timestamp_ms(v: &Value) -> Result<i64, Rejection> {
    let n = match v {
        Value::Number(n) => n.as_f64().ok_or(Rejection::BadTimestamp)?,
        Value::String(s) => {
            if let Ok(x) = s.parse::<f64>() {
                x
            } else {
                let t = humantime::parse_rfc3339_weak(s).map_err(|_| Rejection::BadTimestamp)?;
                let d = t
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_err(|_| Rejection::BadTimestamp)?;
                return Ok(d.as_millis() as i64);
            }
        }
        _ => return Err(Rejection::BadTimestamp),
    };
    if !n.is_finite() || n <= 0.0 {
        return Err(Rejection::BadTimestamp);
    }
    let ms = if n < 1e11 {
        n * 1e3
    } else if n < 1e14 {
        n
    } else if n < 1e17 {
        n / 1e3
    } else {
        n / 1e6
    };
    Ok(ms.round() as i64)
}

/// `{N}` is topic level N (0-based), `{topic}` the whole topic, `{field}` the field
/// name (fields format) or the payload's sensor id (json format).
fn render(template: &str, topic: &str, field: Option<&str>) -> Result<String, Rejection> {
    let levels: Vec<&str> = topic.split('/').collect();
    let mut out = String::with_capacity(template.len() + topic.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').ok_or(Rejection::NoSensorId)? + start;
        let name = &rest[start + 1..end];
        match name {
            "topic" => out.push_str(topic),
            "field" => out.push_str(field.ok_or(Rejection::NoSensorId)?),
            n => {
                let i: usize = n.parse().map_err(|_| Rejection::NoSensorId)?;
                out.push_str(levels.get(i).ok_or(Rejection::NoSensorId)?);
            }
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Nesting depth of a JSON text, counted without parsing so a hostile payload cannot
/// make the parser recurse.
pub fn json_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod tests;
