//! `retry` of the network sinks: retry delays and the circuit breaker.

use crate::issues::Issues;
use serde::Deserialize;
use std::time::Duration;

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

impl RetryConfig {
    pub fn validate(&self, v: &mut Issues, k: &str) {
        let r = self;
        if r.min.is_zero() || r.min > r.max {
            v.push(
                format!("{k}.retry.min"),
                "must be above zero and not above retry.max",
            );
        }
        if r.breaker_failures == 0 {
            v.push(format!("{k}.retry.breaker-failures"), "must be 1 or more");
        }
        v.range(
            format!("{k}.retry.breaker-open-for"),
            r.breaker_open_for,
            Duration::from_millis(100),
            Duration::from_secs(86_400),
        );
    }
}
