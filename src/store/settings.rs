//! `[store]`: how durable commits are, how they are grouped, and how long what
//! is stored is kept.

use crate::issues::Issues;
use bytesize::ByteSize;
use serde::Deserialize;
use std::time::Duration;

/// `[store]`: the SQLite file's durability, group commits and retention.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct StoreConfig {
    /// `full` fsyncs every commit (survives power loss); `normal` survives a crash of
    /// edgewatch but may lose the last commits on power loss.
    #[serde(default)]
    pub synchronous: Synchronous,
    /// Longest a reading waits for its group commit.
    #[serde(default = "default_commit_interval", with = "humantime_serde")]
    pub commit_interval: Duration,
    /// Most rows in one group commit.
    #[serde(default = "default_commit_max_rows")]
    pub commit_max_rows: usize,
    /// Raw readings older than this are pruned.
    #[serde(default = "default_retention", with = "humantime_serde")]
    pub journal_retention: Duration,
    /// Raw readings are pruned oldest-first above this database size.
    #[serde(default = "default_journal_max_size")]
    pub journal_max_size: ByteSize,
    /// How often retention runs.
    #[serde(default = "default_prune_interval", with = "humantime_serde")]
    pub prune_interval: Duration,
    /// Alerts and aggregates older than this are pruned.
    #[serde(default = "default_history_retention", with = "humantime_serde")]
    pub history_retention: Duration,
    /// Distinct sensors at most; readings of a new one beyond it are refused
    /// (counted in `edgewatch_sensors_refused_total`), known ones never are.
    #[serde(default = "default_max_sensors")]
    pub max_sensors: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            synchronous: Synchronous::Full,
            commit_interval: default_commit_interval(),
            commit_max_rows: default_commit_max_rows(),
            journal_retention: default_retention(),
            journal_max_size: default_journal_max_size(),
            prune_interval: default_prune_interval(),
            history_retention: default_history_retention(),
            max_sensors: default_max_sensors(),
        }
    }
}

fn default_max_sensors() -> usize {
    100_000
}

fn default_commit_interval() -> Duration {
    Duration::from_millis(5)
}
fn default_commit_max_rows() -> usize {
    10_000
}
fn default_retention() -> Duration {
    Duration::from_secs(7 * 86_400)
}
fn default_journal_max_size() -> ByteSize {
    ByteSize::mib(512)
}
fn default_prune_interval() -> Duration {
    Duration::from_secs(60)
}
fn default_history_retention() -> Duration {
    Duration::from_secs(90 * 86_400)
}

/// SQLite `synchronous` for the journal.
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Synchronous {
    Normal,
    #[default]
    Full,
}

impl StoreConfig {
    pub fn validate(&self, v: &mut Issues) {
        let s = self;
        if !(1..=10_000_000).contains(&s.max_sensors) {
            v.push(
                "store.max-sensors",
                format!("{} is out of range: allowed 1 to 10000000", s.max_sensors),
            );
        }
        v.range(
            "store.commit-interval".into(),
            s.commit_interval,
            Duration::from_millis(1),
            Duration::from_secs(1),
        );
        if s.commit_max_rows == 0 || s.commit_max_rows > 1_000_000 {
            v.push("store.commit-max-rows", "allowed 1 to 1000000");
        }
        v.range(
            "store.journal-retention".into(),
            s.journal_retention,
            Duration::from_secs(60),
            Duration::from_secs(3650 * 86_400),
        );
        v.range(
            "store.history-retention".into(),
            s.history_retention,
            Duration::from_secs(3600),
            Duration::from_secs(3650 * 86_400),
        );
        if s.journal_max_size < ByteSize::mib(1) {
            v.push("store.journal-max-size", "must be at least 1 MiB");
        }
        v.range(
            "store.prune-interval".into(),
            s.prune_interval,
            Duration::from_secs(1),
            Duration::from_secs(86_400),
        );
    }
}
