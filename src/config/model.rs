//! Config structs. Every field documents a key of `config/edgewatch.toml`.

use crate::event::Severity;
use crate::tls::TlsConfig;
use bytesize::ByteSize;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub gateway: GatewayConfig,
    #[serde(default)]
    pub api: ApiConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub store: crate::store::StoreConfig,
    #[serde(default)]
    pub aggregate: AggregateConfig,
    #[serde(default)]
    pub sources: SourcesConfig,
    /// Threshold, rate and staleness rules (`[[rules]]`).
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    /// Register maps shared by Modbus devices of one model (`[modbus-maps.NAME]`).
    #[serde(default)]
    pub modbus_maps: BTreeMap<String, super::RegisterMap>,
    /// Where alerts and aggregates are forwarded (`[[sinks.mqtt]]`, `[[sinks.webhook]]`,
    /// `[[sinks.file]]`, `[[sinks.stdout]]`).
    #[serde(default)]
    pub sinks: crate::sinks::SinksConfig,
    /// ONNX Runtime and model files (`[onnx]`).
    #[serde(default)]
    pub onnx: super::OnnxConfig,
    /// ONNX anomaly detectors bound to assets (`[[anomaly-models]]`).
    #[serde(default)]
    pub anomaly_models: Vec<super::AnomalyModelConfig>,
    /// Embeddings, search, questions (`[knowledge]`).
    #[serde(default)]
    pub knowledge: super::KnowledgeConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct GatewayConfig {
    /// Name of this gateway; appears in alerts and upstream topics.
    #[serde(default = "default_gateway_id")]
    pub id: String,
    /// Where the SQLite store lives. Created if missing.
    #[serde(default = "default_state_dir")]
    pub state_dir: PathBuf,
    /// The site's time zone (an IANA name such as `Europe/Berlin`): questions'
    /// "today", "last night" and "since 14:00", and the times in answers.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
}

impl GatewayConfig {
    /// The configured time zone; UTC when the name is unknown (validation
    /// refuses such a config before this is used).
    pub fn tz(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.time_zone).unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

fn default_time_zone() -> String {
    "UTC".to_owned()
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            id: default_gateway_id(),
            state_dir: default_state_dir(),
            time_zone: default_time_zone(),
        }
    }
}

fn default_gateway_id() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "edgewatch".to_owned())
}

fn default_state_dir() -> PathBuf {
    PathBuf::from("/var/lib/edgewatch")
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ApiConfig {
    /// Serve the HTTP API at all.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Address to listen on. Port 0 picks a free port (written to `api.addr` in the state dir).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// File holding a bearer token; required when `listen` is not a loopback address.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Open connections at most; one more is answered 503 and closed, so the
    /// API can never take the descriptors sources and the store need.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// A connection that sends no complete request head within this long (idle
    /// keep-alive included) is closed.
    #[serde(default = "default_header_timeout", with = "humantime_serde")]
    pub header_timeout: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            enabled: true,
            listen: default_listen(),
            token_file: None,
            max_connections: default_max_connections(),
            header_timeout: default_header_timeout(),
        }
    }
}

fn default_max_connections() -> usize {
    256
}

fn default_header_timeout() -> Duration {
    Duration::from_secs(10)
}

fn yes() -> bool {
    true
}

fn default_listen() -> String {
    "127.0.0.1:9464".to_owned()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LogConfig {
    /// Log filter, `RUST_LOG` syntax (`info`, `edgewatch=debug,rumqttc=warn`). `RUST_LOG` wins.
    #[serde(default = "default_log_level")]
    pub level: String,
    /// `auto` (native journald under systemd, plain text otherwise), `plain` or `json` (stderr).
    #[serde(default)]
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: default_log_level(),
            format: LogFormat::Auto,
        }
    }
}

fn default_log_level() -> String {
    "info".to_owned()
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    #[default]
    Auto,
    Plain,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AggregateConfig {
    /// Tumbling window length, aligned to the epoch (60s windows start on the minute).
    #[serde(default = "default_window", with = "humantime_serde")]
    pub window: Duration,
    /// How long after a window ends late readings are still counted in it.
    #[serde(default = "default_lateness", with = "humantime_serde")]
    pub lateness: Duration,
    /// Windows one sensor may have open at once (readings stamped ahead open
    /// windows ahead); a reading that would open one more is journaled, not
    /// aggregated, and counted in `edgewatch_unwindowed_readings_total`.
    #[serde(default = "default_max_open_windows")]
    pub max_open_windows: usize,
}

impl Default for AggregateConfig {
    fn default() -> Self {
        AggregateConfig {
            window: default_window(),
            lateness: default_lateness(),
            max_open_windows: default_max_open_windows(),
        }
    }
}

fn default_max_open_windows() -> usize {
    120
}

fn default_window() -> Duration {
    Duration::from_secs(60)
}
fn default_lateness() -> Duration {
    Duration::from_secs(5)
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SourcesConfig {
    #[serde(default)]
    pub mqtt: Vec<MqttSourceConfig>,
    #[serde(default)]
    pub simulator: Vec<SimulatorConfig>,
    #[serde(default)]
    pub modbus: Vec<super::ModbusSourceConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MqttSourceConfig {
    /// Name used in logs and metrics.
    pub name: String,
    pub host: String,
    #[serde(default = "default_mqtt_port")]
    pub port: u16,
    /// Must be stable across restarts for the broker to keep the session.
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default = "default_keep_alive", with = "humantime_serde")]
    pub keep_alive: Duration,
    /// Off by default: the broker queues QoS 1 messages while edgewatch is down.
    #[serde(default)]
    pub clean_session: bool,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Read the password from this file (or `$CREDENTIALS_DIRECTORY/NAME` if relative).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// First reconnect delay; doubles (with jitter) up to `reconnect-max`.
    #[serde(default = "default_reconnect_min", with = "humantime_serde")]
    pub reconnect_min: Duration,
    #[serde(default = "default_reconnect_max", with = "humantime_serde")]
    pub reconnect_max: Duration,
    /// Larger payloads are rejected (counted as `too_large`).
    #[serde(default = "default_max_payload")]
    pub max_payload: ByteSize,
    /// Deeper JSON nesting is rejected (counted as `too_deep`).
    #[serde(default = "default_max_depth")]
    pub max_depth: usize,
    /// Readings stamped further ahead of the gateway's clock are rejected (counted
    /// as `bad_timestamp`): a device clock years ahead would otherwise keep windows
    /// open and rows past retention.
    #[serde(default = "default_max_clock_skew", with = "humantime_serde")]
    pub max_clock_skew: Duration,
    pub subscriptions: Vec<SubscriptionConfig>,
}

fn default_mqtt_port() -> u16 {
    1883
}
fn default_keep_alive() -> Duration {
    Duration::from_secs(30)
}
fn default_reconnect_min() -> Duration {
    Duration::from_millis(500)
}
fn default_reconnect_max() -> Duration {
    Duration::from_secs(30)
}
fn default_max_payload() -> ByteSize {
    ByteSize::kib(256)
}
fn default_max_depth() -> usize {
    16
}
fn default_max_clock_skew() -> Duration {
    Duration::from_millis(crate::sources::payload::DEFAULT_MAX_FUTURE_MS as u64)
}

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

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SimulatorConfig {
    #[serde(default = "default_sim_name")]
    pub name: String,
    /// First level of every simulated sensor id.
    #[serde(default = "default_site")]
    pub site: String,
    #[serde(default = "default_lines")]
    pub lines: u32,
    #[serde(default = "default_machines_per_line")]
    pub machines_per_line: u32,
    /// Time between two samples of one sensor.
    #[serde(default = "default_sim_interval", with = "humantime_serde")]
    pub interval: Duration,
    /// Injected faults per machine per hour.
    #[serde(default = "default_fault_rate")]
    pub fault_rate: f64,
    /// Mean length of an injected fault (drift, stuck sensor, dropout).
    #[serde(default = "default_fault_duration", with = "humantime_serde")]
    pub fault_duration: Duration,
    /// Same seed, same plant: faults and noise repeat exactly.
    #[serde(default)]
    pub seed: Option<u64>,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            name: default_sim_name(),
            site: default_site(),
            lines: default_lines(),
            machines_per_line: default_machines_per_line(),
            interval: default_sim_interval(),
            fault_rate: default_fault_rate(),
            fault_duration: default_fault_duration(),
            seed: None,
        }
    }
}

fn default_sim_name() -> String {
    "simulator".to_owned()
}
fn default_site() -> String {
    "plant1".to_owned()
}
fn default_lines() -> u32 {
    2
}
fn default_machines_per_line() -> u32 {
    3
}
fn default_sim_interval() -> Duration {
    Duration::from_secs(1)
}
fn default_fault_rate() -> f64 {
    0.5
}
fn default_fault_duration() -> Duration {
    Duration::from_secs(300)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RuleConfig {
    pub name: String,
    /// Sensor id globs; `*` stays within one `/` level, `**` crosses levels.
    #[serde(default)]
    pub sensors: Vec<String>,
    /// Labels a reading must carry (all of them) for the rule to apply.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Fires when the value goes above this limit.
    #[serde(default)]
    pub above: Option<f64>,
    /// Fires when the value goes below this limit.
    #[serde(default)]
    pub below: Option<f64>,
    /// Hysteresis: the alert resolves only once the value is back past this level.
    #[serde(default)]
    pub clear: Option<f64>,
    /// Fires when the value changes faster than this many units per second.
    #[serde(default)]
    pub rate_above: Option<f64>,
    /// Fires when a matching sensor sends nothing (or only bad readings) for this long.
    #[serde(default, with = "humantime_serde")]
    pub stale_after: Option<Duration>,
    /// Fires when |z| against the sensor's own EWMA mean and spread exceeds this
    /// (resolves at `clear`, default half of it): a drift before any limit is crossed.
    #[serde(default)]
    pub zscore_above: Option<f64>,
    /// EWMA weight of each new reading for `zscore-above` (smaller: longer memory).
    #[serde(default = "default_ewma_alpha")]
    pub ewma_alpha: f64,
    /// Readings learned before `zscore-above` or `spike-above` may fire.
    #[serde(default = "default_warmup")]
    pub warmup: u32,
    /// Fires when the value has not moved by more than `stuck-tolerance` for this long.
    #[serde(default, with = "humantime_serde")]
    pub stuck_for: Option<Duration>,
    #[serde(default)]
    pub stuck_tolerance: f64,
    /// Fires when a reading is this many robust deviations (1.4826 × MAD) from the
    /// median of the last `spike-window` readings; resolves on the next normal one.
    #[serde(default)]
    pub spike_above: Option<f64>,
    #[serde(default = "default_spike_window")]
    pub spike_window: usize,
    /// Debounce: the condition must hold this long before the alert fires.
    #[serde(default, rename = "for", with = "humantime_serde")]
    pub for_duration: Option<Duration>,
    /// Debounce: the condition must hold for this many consecutive readings.
    #[serde(default)]
    pub for_count: Option<u32>,
    #[serde(default)]
    pub severity: Severity,
    /// Message template: `{sensor}`, `{value}`, `{limit}`, `{unit}`, `{rule}`.
    #[serde(default)]
    pub message: Option<String>,
}

fn default_ewma_alpha() -> f64 {
    0.05
}
fn default_warmup() -> u32 {
    30
}
fn default_spike_window() -> usize {
    31
}
