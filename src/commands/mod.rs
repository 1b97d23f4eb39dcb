//! What the CLI subcommands do, kept in the library so they are testable; `main.rs`
//! only parses arguments and maps errors to exit codes.

pub mod alerts;
pub mod api_client;
pub mod dead_letters;
pub mod demo;
pub mod eval;
pub mod knowledge;
pub mod learn;
pub mod modbus_sim;
pub mod models;
pub mod replay;
pub mod replay_csv;
pub mod simulate;
pub mod status;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Daemon(#[from] crate::daemon::DaemonError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Usage(String),
    /// An anomaly model that cannot be used as configured.
    #[error("{0}")]
    Model(String),
    #[error("{0}")]
    Unreachable(String),
}

/// ANSI colour only when writing to a terminal.
pub(crate) fn paint(code: &str, text: &str) -> String {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}
