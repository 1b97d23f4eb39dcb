//! What every sink kind provides, and the macro that registers the kinds. A kind
//! is one file: its `[[sinks.KIND]]` config struct, pure validation, the files it
//! opens, its build and its run loop. [`sink_kinds!`] turns one line per kind into
//! the `[sinks]` config table, the closed [`super::Sink`] enum and the dispatch of
//! validation, file checks, build and run.

use super::{PendingHandle, SinkError};
use crate::issues::Issues;
use crate::store::{OutboxConfig, RouteConfig, WriteOp};
use std::future::Future;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What validation of one sink may look at beyond its own table.
pub struct Checks<'a> {
    /// `sinks.allowed-hosts`.
    pub allowed_hosts: &'a [String],
}

pub trait SinkKind: Sized + Send + 'static {
    /// One `[[sinks.KIND]]` entry (serde, kebab-case, unknown keys refused).
    type Config: serde::de::DeserializeOwned + Clone + std::fmt::Debug;

    fn name(c: &Self::Config) -> &str;

    /// The events this sink receives (a kind may narrow the default).
    fn route(c: &Self::Config) -> RouteConfig;

    fn outbox(c: &Self::Config) -> &OutboxConfig;

    /// Pure checks of the kind's own keys under `key` (`sinks.KIND[i]`); the
    /// family checks name, route and outbox.
    fn validate(c: &Self::Config, checks: &Checks, v: &mut Issues, key: &str);

    /// Opens the files the entry names as `build` will (secrets, certificates).
    fn check_files(_c: &Self::Config, _v: &mut Issues, _key: &str) {}

    /// Reads secrets and TLS files; no network yet.
    fn build(c: &Self::Config, handle: PendingHandle) -> Result<Self, SinkError>;

    /// The name it was built with.
    fn sink_name(&self) -> &str;

    /// Runs until `shutdown`; whatever was in flight then is sent again on the next
    /// start (a duplicate the dedup key identifies), never lost.
    fn run(
        self,
        writer: mpsc::Sender<WriteOp>,
        shutdown: CancellationToken,
    ) -> impl Future<Output = ()> + Send;
}

/// `sink_kinds! { mqtt::MqttSink, ... }`: each line names a module of `sinks/`
/// (the TOML key, `_` read as `-`) and the type in it that implements
/// [`SinkKind`]. The modules are declared outside the macro so that rustfmt,
/// which does not look into macros, still formats them.
macro_rules! sink_kinds {
    ($($kind:ident :: $ty:ident),* $(,)?) => {
        /// `[sinks]`: the allow-list of webhook hosts and one list per sink kind.
        #[derive(Debug, Clone, Default, serde::Deserialize)]
        #[serde(rename_all = "kebab-case", deny_unknown_fields)]
        pub struct SinksConfig {
            /// Hosts webhooks may post to (`hooks.slack.com`, `*.corp.example`,
            /// `10.0.4.7`). A URL whose host is not listed is refused at load time,
            /// so a typo cannot send plant data to an unintended address.
            #[serde(default)]
            pub allowed_hosts: Vec<String>,
            $(
                #[serde(default)]
                pub $kind: Vec<<$kind::$ty as SinkKind>::Config>,
            )*
        }

        /// One configured sink, of one of the registered kinds.
        pub enum Sink {
            $($ty(Box<$kind::$ty>),)*
        }

        impl SinksConfig {
            pub fn count(&self) -> usize {
                0 $(+ self.$kind.len())*
            }

            /// Every sink's key and name, for the one uniqueness check.
            pub fn names(&self) -> Vec<(String, &str)> {
                let mut out = Vec::new();
                $(
                    for (i, c) in self.$kind.iter().enumerate() {
                        out.push((kind::key(stringify!($kind), i), <$kind::$ty as SinkKind>::name(c)));
                    }
                )*
                out
            }

            pub fn validate(&self, v: &mut crate::issues::Issues) {
                let checks = kind::Checks { allowed_hosts: &self.allowed_hosts };
                family::validate_allowed_hosts(v, &self.allowed_hosts);
                $(
                    for (i, c) in self.$kind.iter().enumerate() {
                        family::validate::<$kind::$ty>(c, &checks, v, &kind::key(stringify!($kind), i));
                    }
                )*
            }

            pub fn check_files(&self, v: &mut crate::issues::Issues) {
                $(
                    for (i, c) in self.$kind.iter().enumerate() {
                        <$kind::$ty as SinkKind>::check_files(c, v, &kind::key(stringify!($kind), i));
                    }
                )*
            }
        }

        impl Sink {
            fn build_each(
                config: &SinksConfig,
                mut outbox: impl FnMut(&str, &crate::store::RouteConfig, &crate::store::OutboxConfig, &'static str) -> Result<PendingHandle, SinkError>,
            ) -> Result<Vec<Sink>, SinkError> {
                let mut sinks = Vec::new();
                $(
                    for c in &config.$kind {
                        type K = $kind::$ty;
                        let h = outbox(K::name(c), &K::route(c), K::outbox(c), stringify!($kind))?;
                        sinks.push(Sink::$ty(Box::new(K::build(c, h)?)));
                    }
                )*
                Ok(sinks)
            }

            pub fn name(&self) -> &str {
                match self {
                    $(Sink::$ty(s) => s.sink_name(),)*
                }
            }

            /// Runs until `shutdown`. Whatever was in flight then is sent again on
            /// the next start (a duplicate the dedup key identifies), never lost.
            pub async fn run(self, writer: mpsc::Sender<WriteOp>, shutdown: CancellationToken) {
                match self {
                    $(Sink::$ty(s) => s.run(writer, shutdown).await,)*
                }
            }
        }
    };
}
pub(super) use sink_kinds;

/// `sinks.KIND[i]`, with the TOML spelling of the kind.
pub fn key(kind: &str, i: usize) -> String {
    format!("sinks.{}[{i}]", kind.replace('_', "-"))
}
