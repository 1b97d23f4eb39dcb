//! Config of the forwarding half: `[sinks]` with `[[sinks.mqtt]]`, `[[sinks.webhook]]`
//! and `[[sinks.file]]`. Every sink has a `route` (what it receives) and an `outbox`
//! (its durable queue's budget).

use super::TlsConfig;
use crate::event::Severity;
use bytesize::ByteSize;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SinksConfig {
    /// Hosts webhooks may post to (`hooks.slack.com`, `*.corp.example`, `10.0.4.7`).
    /// A webhook URL whose host is not listed is refused at load time, so a typo
    /// cannot send plant data to an unintended address.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    #[serde(default)]
    pub mqtt: Vec<MqttSinkConfig>,
    #[serde(default)]
    pub webhook: Vec<WebhookSinkConfig>,
    #[serde(default)]
    pub file: Vec<FileSinkConfig>,
}

impl SinksConfig {
    pub fn count(&self) -> usize {
        self.mqtt.len() + self.webhook.len() + self.file.len()
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    Alerts,
    Aggregates,
}

/// Which events a sink receives. Everything matches when nothing is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RouteConfig {
    /// `["alerts"]`, `["aggregates"]` or both (the default; chat presets: alerts).
    #[serde(default)]
    pub events: Option<Vec<EventKind>>,
    /// Alerts below this severity are not sent here.
    #[serde(default = "lowest_severity")]
    pub min_severity: Severity,
    /// Sensor id globs (`*` one level, `**` across levels); empty means all.
    #[serde(default)]
    pub sensors: Vec<String>,
    /// Labels the sensor must carry (all of them).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl Default for RouteConfig {
    fn default() -> Self {
        RouteConfig {
            events: None,
            min_severity: lowest_severity(),
            sensors: Vec::new(),
            labels: BTreeMap::new(),
        }
    }
}

fn lowest_severity() -> Severity {
    Severity::Info
}

/// What happens to alerts when a sink's outbox is full of alerts only.
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum AlertsWhenFull {
    /// Alerts are kept beyond the budget (they are rare; aggregates make room first).
    #[default]
    Keep,
    /// The oldest alerts are dropped, counted and logged as errors.
    DropOldest,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct OutboxConfig {
    /// Budget of this sink's queue; oldest aggregates are dropped first above it.
    #[serde(default = "default_outbox_size")]
    pub max_size: ByteSize,
    /// Items older than this are dropped (aggregates always; alerts per `alerts-when-full`).
    #[serde(default = "default_outbox_age", with = "humantime_serde")]
    pub max_age: Duration,
    #[serde(default)]
    pub alerts_when_full: AlertsWhenFull,
    /// Most items in one send (one HTTP request, or MQTT publishes in flight).
    #[serde(default = "default_batch")]
    pub batch: usize,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            max_size: default_outbox_size(),
            max_age: default_outbox_age(),
            alerts_when_full: AlertsWhenFull::Keep,
            batch: default_batch(),
        }
    }
}

fn default_outbox_size() -> ByteSize {
    ByteSize::mib(64)
}
fn default_outbox_age() -> Duration {
    Duration::from_secs(7 * 86_400)
}
fn default_batch() -> usize {
    100
}

/// Retries and the circuit breaker, shared by network sinks.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RetryConfig {
    /// First retry delay; doubles (with jitter) up to `max`.
    #[serde(default = "default_retry_min", with = "humantime_serde")]
    pub min: Duration,
    #[serde(default = "default_retry_max", with = "humantime_serde")]
    pub max: Duration,
    /// Consecutive failures that open the circuit breaker.
    #[serde(default = "default_breaker_failures")]
    pub breaker_failures: u32,
    /// How long an open breaker waits before one probe request.
    #[serde(default = "default_breaker_open", with = "humantime_serde")]
    pub breaker_open_for: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            min: default_retry_min(),
            max: default_retry_max(),
            breaker_failures: default_breaker_failures(),
            breaker_open_for: default_breaker_open(),
        }
    }
}

fn default_retry_min() -> Duration {
    Duration::from_millis(500)
}
fn default_retry_max() -> Duration {
    Duration::from_secs(60)
}
fn default_breaker_failures() -> u32 {
    5
}
fn default_breaker_open() -> Duration {
    Duration::from_secs(30)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MqttSinkConfig {
    pub name: String,
    pub host: String,
    #[serde(default = "default_mqtt_port")]
    pub port: u16,
    /// Stable across restarts so the upstream broker keeps the session.
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default = "default_keep_alive", with = "humantime_serde")]
    pub keep_alive: Duration,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Read the password from this file (or `$CREDENTIALS_DIRECTORY/NAME` if relative).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Topic for alerts: `{gateway}`, `{sink}`, `{severity}`, `{sensor}`, `{rule}`, `{state}`.
    #[serde(default = "default_alert_topic")]
    pub alert_topic: String,
    /// Topic for aggregates: `{gateway}`, `{sink}`, `{sensor}`.
    #[serde(default = "default_aggregate_topic")]
    pub aggregate_topic: String,
    /// Publish alerts retained, so a subscriber sees the last state of each topic.
    #[serde(default)]
    pub retain_alerts: bool,
    /// Largest MQTT packet sent or accepted; set it to the broker's limit
    /// (Mosquitto `message_size_limit`). A larger item goes to the dead letters.
    #[serde(default = "default_max_packet_size")]
    pub max_packet_size: ByteSize,
    /// An item in flight each time the broker dropped the connection this many
    /// times in a row goes to the dead letters, so the queue behind it moves
    /// (0: never).
    #[serde(default = "default_dead_letter_after")]
    pub dead_letter_after: u32,
    #[serde(default)]
    pub retry: RetryConfig,
    #[serde(default)]
    pub route: RouteConfig,
    #[serde(default)]
    pub outbox: OutboxConfig,
}

fn default_max_packet_size() -> ByteSize {
    ByteSize::mib(1)
}
fn default_dead_letter_after() -> u32 {
    5
}
fn default_mqtt_port() -> u16 {
    1883
}
fn default_keep_alive() -> Duration {
    Duration::from_secs(30)
}
fn default_alert_topic() -> String {
    "edge/{gateway}/alerts/{severity}".to_owned()
}
fn default_aggregate_topic() -> String {
    "edge/{gateway}/aggregates/{sensor}".to_owned()
}

/// How a webhook body is shaped.
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum WebhookPreset {
    /// `{"items": [envelope, ...]}`: every field, batched.
    #[default]
    Json,
    Slack,
    Teams,
    Discord,
    /// Splunk HTTP Event Collector (batched; `Authorization: Splunk TOKEN`).
    SplunkHec,
}

impl WebhookPreset {
    /// Presets that post one human message per event.
    pub fn is_chat(self) -> bool {
        matches!(
            self,
            WebhookPreset::Slack | WebhookPreset::Teams | WebhookPreset::Discord
        )
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct WebhookSinkConfig {
    pub name: String,
    /// `https://...` (or `http://` on a trusted plant network); the host must be in
    /// `sinks.allowed-hosts`. Redirects are never followed.
    pub url: String,
    #[serde(default)]
    pub preset: WebhookPreset,
    /// HMAC-SHA256 key file (or `$CREDENTIALS_DIRECTORY/NAME` if relative). When set,
    /// each request carries `X-Edgewatch-Timestamp` and `X-Edgewatch-Signature:
    /// v1=HEX(HMAC(key, "TIMESTAMP.BODY"))`.
    #[serde(default)]
    pub hmac_key_file: Option<PathBuf>,
    /// Splunk HEC token file (or `$CREDENTIALS_DIRECTORY/NAME` if relative).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// PEM CA bundle for an https URL signed by a private CA; the bundled public
    /// roots are used when unset.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default = "default_http_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    #[serde(default)]
    pub retry: RetryConfig,
    #[serde(default)]
    pub route: RouteConfig,
    #[serde(default)]
    pub outbox: OutboxConfig,
}

impl WebhookSinkConfig {
    /// The route as configured; chat presets default to alerts only, since a chat
    /// channel wants alerts, not a message per aggregate window.
    pub fn effective_route(&self) -> RouteConfig {
        let mut r = self.route.clone();
        if r.events.is_none() && self.preset.is_chat() {
            r.events = Some(vec![EventKind::Alerts]);
        }
        r
    }
}

fn default_http_timeout() -> Duration {
    Duration::from_secs(10)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FileSinkConfig {
    pub name: String,
    /// Directory for `NAME-YYYYmmddTHHMMSSZ.jsonl` files (created if missing).
    pub dir: PathBuf,
    /// Start a new file above this size.
    #[serde(default = "default_rotate_size")]
    pub rotate_size: ByteSize,
    /// Start a new file after this long.
    #[serde(default = "default_rotate_age", with = "humantime_serde")]
    pub rotate_age: Duration,
    /// Oldest files are deleted beyond this many (0 keeps all).
    #[serde(default = "default_keep_files")]
    pub keep_files: usize,
    #[serde(default)]
    pub route: RouteConfig,
    #[serde(default)]
    pub outbox: OutboxConfig,
}

fn default_rotate_size() -> ByteSize {
    ByteSize::mib(16)
}
fn default_rotate_age() -> Duration {
    Duration::from_secs(86_400)
}
fn default_keep_files() -> usize {
    30
}
