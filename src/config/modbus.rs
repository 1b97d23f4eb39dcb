//! Config of Modbus sources (`[[sources.modbus]]`, one per TCP connection or serial
//! bus) and the register maps they share (`[modbus-maps.NAME]`).

use crate::sources::modbus::decode::{DataType, Order, Table};
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
