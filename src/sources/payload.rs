//! Turns one MQTT payload into readings, per subscription settings. Pure: every
//! malformed payload becomes a [`Rejection`] with a reason, never a panic.

use super::subscription::{PayloadFormat, SubscriptionConfig};
use crate::event::{Labels, Quality, Reading, Rejection};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::sync::Arc;

/// Default of `max-clock-skew`: an hour covers device clocks that drift or run
/// in the wrong zone; a reading ten years ahead is refused.
pub const DEFAULT_MAX_FUTURE_MS: i64 = 3_600_000;

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
    /// Readings stamped further ahead of their arrival are `bad_timestamp`.
    max_future_ms: i64,
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
            max_future_ms: DEFAULT_MAX_FUTURE_MS,
        }
    }

    /// How far ahead of its arrival a reading's own timestamp may be.
    pub fn max_future(mut self, skew: std::time::Duration) -> Self {
        self.max_future_ms = i64::try_from(skew.as_millis()).unwrap_or(i64::MAX);
        self
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
        match payload.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => match serde_json::from_slice::<RawObject<'_>>(payload) {
                Ok(obj) => {
                    if let Err(e) = self.object(topic, &obj, received_ms, out) {
                        rejected.push(e);
                    }
                }
                Err(_) => rejected.push(Rejection::NotJson),
            },
            Some(b'[') => match serde_json::from_slice::<Vec<&RawValue>>(payload) {
                Ok(items) => {
                    for item in items {
                        let r = RawObject::parse(item)
                            .and_then(|o| self.object(topic, &o, received_ms, out));
                        if let Err(e) = r {
                            rejected.push(e);
                        }
                    }
                }
                Err(_) => rejected.push(Rejection::NotJson),
            },
            _ => match serde_json::from_slice::<&RawValue>(payload) {
                Ok(raw) if kind(raw) != Kind::Other => match self.bare(topic, raw, received_ms) {
                    Ok(r) => out.push(r),
                    Err(e) => rejected.push(e),
                },
                Ok(_) => rejected.push(Rejection::WrongType),
                Err(_) => rejected.push(Rejection::NotJson),
            },
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

    fn bare(&self, topic: &str, v: &RawValue, received_ms: i64) -> Result<Reading, Rejection> {
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
        obj: &RawObject<'_>,
        received_ms: i64,
        out: &mut Vec<Reading>,
    ) -> Result<(), Rejection> {
        let ts = match obj.lookup(&self.ts_path) {
            Some(t) if t.get() != "null" => timestamp_ms(t)?,
            _ => received_ms,
        };
        // A clock years ahead would open windows nobody closes and outlive
        // retention; a little skew is the normal state of device clocks.
        if ts > received_ms.saturating_add(self.max_future_ms) {
            return Err(Rejection::BadTimestamp);
        }
        let unit = obj
            .lookup(&self.unit_path)
            .and_then(text_of)
            .map(|u| Arc::from(&*u));
        let quality = obj
            .lookup(&self.status_path)
            .and_then(text_of)
            .map_or(Quality::Good, |s| Quality::from_status(&s));
        if self.format == PayloadFormat::Fields {
            return self.fields(topic, obj, ts, quality, out);
        }
        let value = match obj.lookup(&self.value_path) {
            Some(x) if x.get() != "null" => number_of(x)?,
            _ => return Err(Rejection::MissingValue),
        };
        let id = obj.lookup(&self.id_path).and_then(|x| match kind(x) {
            Kind::String => text_of(x).filter(|s| !s.is_empty()),
            Kind::Number => Some(Cow::Borrowed(x.get())),
            Kind::Other => None,
        });
        let sensor = self.sensor_id(topic, id.as_deref())?;
        out.push(self.reading(sensor, ts, value, unit, quality)?);
        Ok(())
    }

    /// Each numeric field of the object is its own sensor.
    fn fields(
        &self,
        topic: &str,
        obj: &RawObject<'_>,
        ts: i64,
        quality: Quality,
        out: &mut Vec<Reading>,
    ) -> Result<(), Rejection> {
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
            for (k, x) in &obj.0 {
                if skip(k) || kind(x) != Kind::Number {
                    continue;
                }
                let sensor = self.field_sensor(topic, k)?;
                out.push(self.reading(sensor, ts, number_of(x)?, None, quality)?);
            }
        } else {
            for k in &self.fields {
                let Some(x) = obj.get(k) else { continue };
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
        if super::sensor_id::check(&sensor).is_err() {
            return Err(Rejection::BadSensorId);
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

/// A number, a numeric string ("23.5": many devices send those) or a boolean.
/// "NaN", "inf" and numbers beyond f64's range are refused as not finite.
fn number_of(v: &RawValue) -> Result<f64, Rejection> {
    let t = v.get();
    match kind(v) {
        Kind::Number => t
            .parse::<f64>()
            .map_err(|_| Rejection::WrongType)
            .and_then(finite),
        Kind::String => {
            let s = text_of(v).ok_or(Rejection::WrongType)?;
            s.trim()
                .parse::<f64>()
                .map_err(|_| Rejection::WrongType)
                .and_then(finite)
        }
        _ if t == "true" => Ok(1.0),
        _ if t == "false" => Ok(0.0),
        _ => Err(Rejection::WrongType),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Number,
    String,
    Other,
}

/// What a raw JSON value is, from its first byte (serde_json already validated it).
fn kind(v: &RawValue) -> Kind {
    match v.get().as_bytes().first() {
        Some(b'-' | b'0'..=b'9') => Kind::Number,
        Some(b'"') => Kind::String,
        _ => Kind::Other,
    }
}

/// The text of a JSON string, borrowed unless it has escapes.
fn text_of(v: &RawValue) -> Option<Cow<'_, str>> {
    serde_json::from_str::<Text<'_>>(v.get()).ok().map(|t| t.0)
}

/// Epoch seconds, milliseconds, microseconds or nanoseconds (told apart by size), or
/// RFC 3339 text.
fn timestamp_ms(v: &RawValue) -> Result<i64, Rejection> {
    let n = match kind(v) {
        Kind::Number => v
            .get()
            .parse::<f64>()
            .map_err(|_| Rejection::BadTimestamp)?,
        Kind::String => {
            let s = text_of(v).ok_or(Rejection::BadTimestamp)?;
            match s.parse::<f64>() {
                Ok(x) => x,
                Err(_) => {
                    let t =
                        humantime::parse_rfc3339_weak(&s).map_err(|_| Rejection::BadTimestamp)?;
                    let d = t
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_err(|_| Rejection::BadTimestamp)?;
                    return Ok(d.as_millis() as i64);
                }
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

/// A JSON object's members with their values left unparsed: only the fields a
/// subscription asks for are ever parsed, and nothing is copied that need not be.
struct RawObject<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> RawObject<'a> {
    fn parse(v: &'a RawValue) -> Result<Self, Rejection> {
        if v.get().starts_with('{') {
            serde_json::from_str(v.get()).map_err(|_| Rejection::WrongType)
        } else {
            Err(Rejection::WrongType)
        }
    }

    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// Follows a dotted path through nested objects.
    fn lookup(&self, path: &[String]) -> Option<&'a RawValue> {
        let (first, rest) = path.split_first()?;
        let mut v = self.get(first)?;
        for key in rest {
            v = RawObject::parse(v).ok()?.get(key)?;
        }
        Some(v)
    }
}

impl<'de> Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((k, v)) = map.next_entry::<Text<'de>, &'de RawValue>()? {
                    members.push((k.0, v));
                }
                Ok(RawObject(members))
            }
        }
        d.deserialize_map(Members)
    }
}

/// A string borrowed from the payload, owned only when it had escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                s: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
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
