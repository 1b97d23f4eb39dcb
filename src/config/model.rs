//! Config structs. Every field documents a key of `config/edgewatch.toml`.

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
    pub sources: crate::sources::SourcesConfig,
    /// Threshold, rate and staleness rules (`[[rules]]`).
    #[serde(default)]
    pub rules: Vec<crate::detect::RuleConfig>,
    /// Register maps shared by Modbus devices of one model (`[modbus-maps.NAME]`).
    #[serde(default)]
    pub modbus_maps: BTreeMap<String, crate::sources::modbus::RegisterMap>,
    /// Where alerts and aggregates are forwarded (`[[sinks.mqtt]]`, `[[sinks.webhook]]`,
    /// `[[sinks.file]]`, `[[sinks.stdout]]`).
    #[serde(default)]
    pub sinks: crate::sinks::SinksConfig,
    /// ONNX Runtime and model files (`[onnx]`).
    #[serde(default)]
    pub onnx: crate::detect::OnnxConfig,
    /// ONNX anomaly detectors bound to assets (`[[anomaly-models]]`).
    #[serde(default)]
    pub anomaly_models: Vec<crate::detect::AnomalyModelConfig>,
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
