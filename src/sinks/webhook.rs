//! HTTP(S) webhook sink (ureq on rustls): presets for generic JSON, Slack, Teams,
//! Discord and Splunk HEC; an HMAC-SHA256 signature over `timestamp.body`;
//! Retry-After honoured; redirects never followed.
//!
//! Requests run on the blocking pool: one at a time per sink, which is what keeps
//! the order, and a gateway has a handful of sinks.

use super::batch::{self, Deliver, Failure};
use super::kind::{Checks, SinkKind};
use super::presets::WebhookPreset;
use super::presets::{self, Request};
use super::retry::RetryConfig;
use super::{PendingHandle, SinkError};
use crate::issues::Issues;
use crate::store::{EventKind, OutboxConfig, RouteConfig};
use crate::store::{OutboxRow, WriteOp};
use ring::hmac;
use serde::Deserialize;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub const SIGNATURE_HEADER: &str = "X-Edgewatch-Signature";
pub const TIMESTAMP_HEADER: &str = "X-Edgewatch-Timestamp";
pub const KEY_HEADER: &str = "X-Edgewatch-Key";

/// `[[sinks.webhook]]`: an HTTP receiver (JSON, chat or Splunk HEC).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct WebhookSinkConfig {
    /// Unique among sinks; part of every dedup key and metric label.
    pub name: String,
    /// `https://...` (or `http://` on a trusted plant network); the host must be in
    /// `sinks.allowed-hosts`. Redirects are never followed.
    pub url: String,
    /// Body shape: json (default), slack, teams, discord, splunk-hec.
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
    /// Whole-request time limit.
    #[serde(default = "default_http_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Retry delays and the circuit breaker.
    #[serde(default)]
    pub retry: RetryConfig,
    /// Which events this sink receives (chat presets: alerts unless set).
    #[serde(default)]
    pub route: RouteConfig,
    /// This sink's queue budget.
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

pub struct WebhookSink {
    pub(super) handle: PendingHandle,
    retry: RetryConfig,
    sender: Sender,
}

#[derive(Clone)]
struct Sender {
    agent: ureq::Agent,
    url: Arc<str>,
    /// `scheme://host:port` only: webhook URLs often carry a secret in the path.
    shown: Arc<str>,
    preset: WebhookPreset,
    hmac: Option<hmac::Key>,
    token: Option<Arc<str>>,
    gateway: Arc<str>,
    sink: Arc<str>,
}

impl SinkKind for WebhookSink {
    type Config = WebhookSinkConfig;

    fn name(c: &WebhookSinkConfig) -> &str {
        &c.name
    }

    fn route(c: &WebhookSinkConfig) -> RouteConfig {
        c.effective_route()
    }

    fn outbox(c: &WebhookSinkConfig) -> &OutboxConfig {
        &c.outbox
    }

    fn validate(w: &WebhookSinkConfig, checks: &Checks, v: &mut Issues, k: &str) {
        match w.url.parse::<http::Uri>() {
            Err(e) => v.push(format!("{k}.url"), format!("not a URL: {e}")),
            Ok(u) => {
                let scheme = u.scheme_str().unwrap_or("");
                if scheme != "https" && scheme != "http" {
                    v.push(
                        format!("{k}.url"),
                        "must start with https:// (or http:// on a trusted network)",
                    );
                }
                if u.authority().is_some_and(|a| a.as_str().contains('@')) {
                    v.push(
                    format!("{k}.url"),
                    "must not hold credentials (user:password@); use hmac-key-file or token-file",
                );
                }
                match u.host() {
                None => v.push(format!("{k}.url"), "has no host"),
                Some(host) if !crate::allowed_hosts::allows(checks.allowed_hosts, host) => v.push(
                    format!("{k}.url"),
                    format!(
                        "host `{host}` is not in sinks.allowed-hosts; if it is the intended receiver, add it: allowed-hosts = [\"{host}\"]"
                    ),
                ),
                Some(_) => {}
            }
            }
        }
        if w.preset == WebhookPreset::SplunkHec && w.token_file.is_none() {
            v.push(
                format!("{k}.token-file"),
                "splunk-hec needs its HEC token: token-file = \"splunk-token\"",
            );
        }
        v.range(
            format!("{k}.timeout"),
            w.timeout,
            Duration::from_millis(100),
            Duration::from_secs(300),
        );
        w.retry.validate(v, k);
    }

    fn check_files(w: &WebhookSinkConfig, v: &mut Issues, k: &str) {
        if let Some(f) = &w.hmac_key_file {
            v.secret_file(format!("{k}.hmac-key-file"), f);
        }
        if let Some(f) = &w.token_file {
            v.secret_file(format!("{k}.token-file"), f);
        }
        if let Some(f) = &w.ca_file {
            v.certificates_file(format!("{k}.ca-file"), f);
        }
    }

    fn sink_name(&self) -> &str {
        &self.handle.name
    }

    fn build(c: &WebhookSinkConfig, handle: PendingHandle) -> Result<Self, SinkError> {
        let err = |e: &dyn std::fmt::Display| SinkError::setup(&c.name, e);
        let hmac = match &c.hmac_key_file {
            Some(f) => Some(hmac::Key::new(
                hmac::HMAC_SHA256,
                crate::secret::read(f).map_err(|e| err(&e))?.as_bytes(),
            )),
            None => None,
        };
        let token = match &c.token_file {
            Some(f) => Some(Arc::from(crate::secret::read(f).map_err(|e| err(&e))?)),
            None => None,
        };
        let roots = match &c.ca_file {
            Some(ca) => {
                let certs = crate::tls::certificates(ca).map_err(|e| err(&e))?;
                ureq::tls::RootCerts::Specific(Arc::new(
                    certs
                        .iter()
                        .map(|d| ureq::tls::Certificate::from_der(d.as_ref()).to_owned())
                        .collect(),
                ))
            }
            None => ureq::tls::RootCerts::WebPki,
        };
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(crate::tls::provider())
            .root_certs(roots)
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(c.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(concat!("edgewatch/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            .build()
            .into();
        let shown = c
            .url
            .parse::<http::Uri>()
            .ok()
            .map(|u| {
                format!(
                    "{}://{}",
                    u.scheme_str().unwrap_or("?"),
                    u.authority().map(|a| a.as_str()).unwrap_or("?")
                )
            })
            .unwrap_or_else(|| "?".into());
        Ok(WebhookSink {
            sender: Sender {
                agent,
                url: c.url.as_str().into(),
                shown: shown.into(),
                preset: c.preset,
                hmac,
                token,
                gateway: handle.gateway.clone(),
                sink: handle.name.clone(),
            },
            retry: c.retry.clone(),
            handle,
        })
    }

    async fn run(self, writer: mpsc::Sender<WriteOp>, shutdown: CancellationToken) {
        tracing::info!(sink = %self.handle.name, url = %self.sender.shown, preset = ?self.sender.preset, "webhook sink starting");
        batch::run(
            self.handle.connect(writer),
            &self.retry,
            self.sender,
            shutdown,
        )
        .await;
    }
}

impl Deliver for Sender {
    fn send<'a>(
        &'a mut self,
        rows: &'a [OutboxRow],
    ) -> impl Future<Output = Result<(), Failure>> + Send + 'a {
        let requests = presets::render(self.preset, &self.gateway, &self.sink, rows);
        let sender = self.clone();
        async move {
            let mut delivered = 0;
            for req in requests {
                let s = sender.clone();
                let items = req.items;
                let result = tokio::task::spawn_blocking(move || s.post(&req))
                    .await
                    .unwrap_or_else(|e| Err(Failure::new(format!("send task failed: {e}"))));
                match result {
                    Ok(()) => delivered += items,
                    Err(f) => return Err(Failure { delivered, ..f }),
                }
            }
            Ok(())
        }
    }
}

impl Sender {
    /// One request; a failure counts nothing delivered (the caller knows how much was).
    fn post(&self, req: &Request) -> Result<(), Failure> {
        let mut r = self
            .agent
            .post(&*self.url)
            .header("Content-Type", "application/json");
        if let Some(key) = &self.hmac {
            let ts = unix_seconds().to_string();
            r = r
                .header(TIMESTAMP_HEADER, &ts)
                .header(SIGNATURE_HEADER, &signature(key, &ts, &req.body));
        }
        if let Some(t) = &self.token {
            r = r.header("Authorization", &format!("Splunk {t}"));
        }
        if let Some(k) = &req.key {
            r = r.header(KEY_HEADER, k);
        }
        let mut resp = r
            .send(req.body.as_str())
            .map_err(|e| Failure::new(format!("{}: {e}", self.shown)))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = resp
            .body_mut()
            .with_config()
            .limit(4096)
            .read_to_string()
            .unwrap_or_default();
        // An upstream may echo the request: its URL path (a Slack secret) and
        // token must not reach the log or `status`, nor its control characters.
        let path = self.url.splitn(4, '/').nth(3).map(|p| format!("/{p}"));
        let secrets: Vec<&str> = [Some(&*self.url), path.as_deref(), self.token.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        let text = crate::untrusted::quote(body.trim(), &secrets, 200);
        let why = if status.is_redirection() {
            " (redirects are not followed: put the final URL in the config)"
        } else {
            ""
        };
        Err(Failure {
            delivered: 0,
            message: format!("{} answered {status}{why}: {text}", self.shown),
            retry_after,
            too_large: status == ureq::http::StatusCode::PAYLOAD_TOO_LARGE,
        })
    }
}

/// `v1=` + lowercase hex HMAC-SHA256 of `TIMESTAMP.BODY`.
pub fn signature(key: &hmac::Key, ts: &str, body: &str) -> String {
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(ts.as_bytes());
    ctx.update(b".");
    ctx.update(body.as_bytes());
    format!("v1={}", crate::digest::hex(ctx.sign().as_ref()))
}

/// Retry-After as delta-seconds or an HTTP date; capped at an hour.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    let d = match v.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => httpdate::parse_http_date(v)
            .ok()?
            .duration_since(SystemTime::now())
            .unwrap_or_default(),
    };
    Some(d.min(Duration::from_secs(3600)))
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_vector() {
        // Expected value from Python's hmac module over `1763700000.{"a":1}`.
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"Jefe");
        assert_eq!(
            signature(&key, "1763700000", r#"{"a":1}"#),
            "v1=0199b4d0d6561264b950053617410177f31c0594866264cb5def78f540beb05d"
        );
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("99999"), Some(Duration::from_secs(3600)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
