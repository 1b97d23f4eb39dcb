//! Config of Modbus sources (`[[sources.modbus]]`, one per TCP connection or serial
//! bus) and the register maps they share (`[modbus-maps.NAME]`), with their pure
//! validation.

use super::decode::{DataType, Order, Table};
use crate::issues::Issues;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// A device model's registers, defined once and used by every device of that model.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RegisterMap {
    pub points: Vec<PointConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct PointConfig {
    /// Sensor id: `{source}`, `{device}` and `{unit}` are filled in
    /// (default `{source}/{device}/NAME`).
    pub name: String,
    #[serde(default)]
    pub sensor: Option<String>,
    pub table: Table,
    /// 0-based protocol address. A data sheet's "40001" is holding address 0,
    /// "30001" input address 0, "10001" discrete input 0, "00001" coil 0.
    pub address: u16,
    #[serde(rename = "type", default = "default_type")]
    pub data_type: DataType,
    /// Byte and word order of multi-register values: abcd, cdab, badc, dcba.
    #[serde(default)]
    pub order: Order,
    /// For `type = "bit"`: which bit of the register (0 = least significant).
    #[serde(default)]
    pub bit: u8,
    /// value = raw * scale + offset.
    #[serde(default = "one")]
    pub scale: f64,
    #[serde(default)]
    pub offset: f64,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn default_type() -> DataType {
    DataType::U16
}
fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Parity {
    #[default]
    None,
    Even,
    Odd,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ModbusSourceConfig {
    pub name: String,
    /// Modbus TCP: `host:port`. Set this or `serial`.
    #[serde(default)]
    pub tcp: Option<String>,
    /// Modbus RTU: the serial device (`/dev/ttyUSB0`). Every device on it is polled
    /// by one scheduler, one request at a time.
    #[serde(default)]
    pub serial: Option<String>,
    #[serde(default = "default_baud")]
    pub baud: u32,
    #[serde(default)]
    pub parity: Parity,
    #[serde(default = "default_data_bits")]
    pub data_bits: u8,
    #[serde(default = "default_stop_bits")]
    pub stop_bits: u8,
    /// Longest wait for one answer.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Extra attempts of a timed-out request before the device counts as down.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Pause between two requests on the bus (slow RTU devices need a few ms).
    #[serde(default, with = "humantime_serde")]
    pub inter_request_delay: Duration,
    /// Unused registers a coalesced read may span between two points.
    #[serde(default = "default_max_gap")]
    pub max_gap: u16,
    /// Most registers (or bits) one read asks for; lower it for devices that
    /// refuse long reads (1 reads every point on its own). Protocol limits: 125/2000.
    #[serde(default = "default_max_per_request")]
    pub max_per_request: u16,
    /// A down device is retried after this, doubling (with jitter) up to `backoff-max`.
    #[serde(default = "default_backoff_min", with = "humantime_serde")]
    pub backoff_min: Duration,
    #[serde(default = "default_backoff_max", with = "humantime_serde")]
    pub backoff_max: Duration,
    pub devices: Vec<DeviceConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DeviceConfig {
    pub name: String,
    /// Unit id (slave address), 1-247; 0 or 255 for some TCP devices.
    pub unit: u8,
    /// Name of a `[modbus-maps.NAME]`.
    pub map: String,
    #[serde(default = "default_poll", with = "humantime_serde")]
    pub interval: Duration,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn default_baud() -> u32 {
    9600
}
fn default_data_bits() -> u8 {
    8
}
fn default_stop_bits() -> u8 {
    1
}
fn default_timeout() -> Duration {
    Duration::from_millis(500)
}
fn default_retries() -> u32 {
    1
}
fn default_max_gap() -> u16 {
    8
}
fn default_max_per_request() -> u16 {
    2000
}
fn default_backoff_min() -> Duration {
    Duration::from_secs(1)
}
fn default_backoff_max() -> Duration {
    Duration::from_secs(60)
}
fn default_poll() -> Duration {
    Duration::from_secs(1)
}

/// `[modbus-maps.NAME]`: every map's points.
pub fn validate_maps(v: &mut Issues, maps: &BTreeMap<String, RegisterMap>) {
    for (name, map) in maps {
        let k = format!("modbus-maps.{name}");
        if map.points.is_empty() {
            v.push(
                format!("{k}.points"),
                "a register map needs at least one point",
            );
        }
        for (i, p) in map.points.iter().enumerate() {
            let k = format!("{k}.points[{i}]");
            if p.table.is_bits() && p.data_type != DataType::Bool {
                v.push(
                    format!("{k}.type"),
                    format!("{} tables hold bits: use type = \"bool\"", p.table.as_str()),
                );
            }
            if p.bit > 15 {
                v.push(format!("{k}.bit"), "a register has bits 0 to 15");
            }
            if u32::from(p.address) + u32::from(p.data_type.width()) > 65_536 {
                v.push(format!("{k}.address"), "the value runs past address 65535");
            }
            if !p.scale.is_finite() || !p.offset.is_finite() {
                v.push(
                    format!("{k}.scale"),
                    "scale and offset must be finite numbers",
                );
            }
        }
    }
}

impl ModbusSourceConfig {
    /// This source's keys under `k`; `maps` are the `[modbus-maps]` its devices name.
    pub fn validate(&self, v: &mut Issues, k: &str, maps: &BTreeMap<String, RegisterMap>) {
        let m = self;
        match (&m.tcp, &m.serial) {
            (Some(_), Some(_)) => {
                v.push(k, "set tcp or serial, not both (one source per connection)")
            }
            (None, None) => v.push(
                k,
                "set tcp = \"host:port\" (Modbus TCP) or serial = \"/dev/ttyUSB0\" (RTU)",
            ),
            (Some(addr), None) if !addr.contains(':') => v.push(
                format!("{k}.tcp"),
                format!("`{addr}` needs a port: \"{addr}:502\""),
            ),
            _ => {}
        }
        if m.max_per_request == 0 {
            v.push(format!("{k}.max-per-request"), "must be 1 or more");
        }
        if !matches!(m.data_bits, 7 | 8) {
            v.push(format!("{k}.data-bits"), "allowed 7 or 8");
        }
        if !matches!(m.stop_bits, 1 | 2) {
            v.push(format!("{k}.stop-bits"), "allowed 1 or 2");
        }
        v.range(
            format!("{k}.timeout"),
            m.timeout,
            Duration::from_millis(10),
            Duration::from_secs(60),
        );
        if m.backoff_min.is_zero() || m.backoff_min > m.backoff_max {
            v.push(
                format!("{k}.backoff-min"),
                "must be above zero and not above backoff-max",
            );
        }
        if m.devices.is_empty() {
            v.push(
                format!("{k}.devices"),
                "at least one [[sources.modbus.devices]] is needed",
            );
        }
        v.unique_names(
            m.devices
                .iter()
                .enumerate()
                .map(|(j, d)| (format!("{k}.devices[{j}].name"), d.name.as_str())),
        );
        for (j, d) in m.devices.iter().enumerate() {
            let dk = format!("{k}.devices[{j}]");
            if !maps.contains_key(&d.map) {
                let known: Vec<&str> = maps.keys().map(String::as_str).collect();
                v.push(
                    format!("{dk}.map"),
                    format!(
                        "no [modbus-maps.{}] (defined: {})",
                        d.map,
                        if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        }
                    ),
                );
            }
            if m.serial.is_some() && !(1..=247).contains(&d.unit) {
                v.push(format!("{dk}.unit"), "RTU unit ids are 1 to 247");
            }
            v.range(
                format!("{dk}.interval"),
                d.interval,
                Duration::from_millis(10),
                Duration::from_secs(86_400),
            );
        }
    }
}
