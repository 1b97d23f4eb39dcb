//! edgewatch: an edge gateway daemon. Sources emit [`event::Reading`]s into the
//! [`pipeline`], which runs detectors and aggregates and hands everything to the
//! single SQLite writer in [`store`]; the [`api`] and CLI read the store.

pub mod aggregate;
pub mod allowed_hosts;
pub mod api;
pub mod backoff;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod detect;
pub mod digest;
pub mod event;
pub mod internal_events;
pub mod issues;
pub mod knowledge;
pub mod learn;
pub mod learn_from_journal;
pub mod metrics;
pub mod ml;
pub mod mqtt_settings;
pub mod pipeline;

pub mod reconnect;
pub mod secret;
pub mod sensor_glob;
pub mod sensor_limit;
pub mod shutdown;
pub mod sinks;
pub mod sources;
pub mod store;
pub mod systemd;
pub mod template;
pub mod tls;
pub mod untrusted;
