//! What every source kind provides, and the macro that registers the kinds. A
//! kind is one file (or folder): its `[[sources.KIND]]` config struct, pure
//! validation, the files it opens, its build and its run loop. [`source_kinds!`]
//! turns one line per kind into the `[sources]` config table, the closed
//! [`super::Source`] enum and the dispatch of validation, file checks, build and run.

use super::{IngestTx, SourceError};
use crate::issues::Issues;
use crate::metrics::Metrics;
use crate::sources::modbus::RegisterMap;
use std::collections::BTreeMap;
use std::future::Future;
use tokio_util::sync::CancellationToken;

/// What a source may use beyond its own table, at validation and at build.
pub struct Context<'a> {
    /// `gateway.id` (default MQTT client ids).
    pub gateway: &'a str,
    /// `[modbus-maps]`.
    pub modbus_maps: &'a BTreeMap<String, RegisterMap>,
    pub metrics: &'a Metrics,
}

pub trait SourceKind: Sized + Send + 'static {
    /// One `[[sources.KIND]]` entry (serde, kebab-case, unknown keys refused).
    type Config: serde::de::DeserializeOwned + Clone + std::fmt::Debug;

    fn name(c: &Self::Config) -> &str;

    /// Pure checks of the entry's keys under `key` (`sources.KIND[i]`); names
    /// are checked once for every kind by the config.
    fn validate(
        c: &Self::Config,
        modbus_maps: &BTreeMap<String, RegisterMap>,
        v: &mut Issues,
        key: &str,
    );

    /// Opens the files the entry names as `build` will (secrets, certificates).
    fn check_files(_c: &Self::Config, _v: &mut Issues, _key: &str) {}

    /// Reads secrets and TLS files; no network yet.
    fn build(c: &Self::Config, cx: &Context) -> Result<Self, SourceError>;

    /// The name it was built with.
    fn source_name(&self) -> &str;

    /// Runs until `shutdown`; returns once everything it sent is committed or the
    /// grace period ran out.
    fn run(self, out: IngestTx, shutdown: CancellationToken) -> impl Future<Output = ()> + Send;
}

/// `source_kinds! { mqtt::MqttSource, ... }`: each line names a module of
/// `sources/` (the TOML key) and the type in it that implements [`SourceKind`].
/// The modules are declared outside the macro so that rustfmt formats them.
macro_rules! source_kinds {
    ($($kind:ident :: $ty:ident),* $(,)?) => {
        /// `[sources]`: one list per source kind.
        #[derive(Debug, Clone, Default, serde::Deserialize)]
        #[serde(rename_all = "kebab-case", deny_unknown_fields)]
        pub struct SourcesConfig {
            $(
                #[serde(default)]
                pub $kind: Vec<<$kind::$ty as SourceKind>::Config>,
            )*
        }

        /// One configured source, of one of the registered kinds.
        pub enum Source {
            $($ty(Box<$kind::$ty>),)*
        }

        impl SourcesConfig {
            /// Every source's key and name, for the one uniqueness check.
            pub fn names(&self) -> Vec<(String, &str)> {
                let mut out = Vec::new();
                $(
                    for (i, c) in self.$kind.iter().enumerate() {
                        out.push((kind::key(stringify!($kind), i), <$kind::$ty as SourceKind>::name(c)));
                    }
                )*
                out
            }

            pub fn validate(
                &self,
                v: &mut crate::issues::Issues,
                modbus_maps: &std::collections::BTreeMap<String, modbus::RegisterMap>,
            ) {
                $(
                    for (i, c) in self.$kind.iter().enumerate() {
                        <$kind::$ty as SourceKind>::validate(c, modbus_maps, v, &kind::key(stringify!($kind), i));
                    }
                )*
            }

            pub fn check_files(&self, v: &mut crate::issues::Issues) {
                $(
                    for (i, c) in self.$kind.iter().enumerate() {
                        <$kind::$ty as SourceKind>::check_files(c, v, &kind::key(stringify!($kind), i));
                    }
                )*
            }
        }

        impl Source {
            /// Builds every configured source (reads TLS files and secrets; no network yet).
            pub fn build_all(
                config: &SourcesConfig,
                cx: &kind::Context,
            ) -> Result<Vec<Source>, SourceError> {
                let mut out = Vec::new();
                $(
                    for c in &config.$kind {
                        out.push(Source::$ty(Box::new(<$kind::$ty as SourceKind>::build(c, cx)?)));
                    }
                )*
                Ok(out)
            }

            pub fn name(&self) -> &str {
                match self {
                    $(Source::$ty(s) => s.source_name(),)*
                }
            }

            /// Runs until `shutdown`; returns once everything it sent is committed
            /// or the grace period ran out.
            pub async fn run(self, out: IngestTx, shutdown: CancellationToken) {
                match self {
                    $(Source::$ty(s) => s.run(out, shutdown).await,)*
                }
            }
        }
    };
}
pub(super) use source_kinds;

/// `sources.KIND[i]`, with the TOML spelling of the kind.
pub fn key(kind: &str, i: usize) -> String {
    format!("sources.{}[{i}]", kind.replace('_', "-"))
}
