//! The command line: every subcommand, its arguments and their help text (clap).
//! `main.rs` dispatches them.

use clap::{Parser, Subcommand};
use edgewatch::commands;
use std::path::PathBuf;
use std::time::Duration;

const DEFAULT_CONFIG: &str = "/etc/edgewatch/edgewatch.toml";

#[derive(Parser)]
#[command(
    name = "edgewatch",
    version,
    about = "Edge gateway daemon: sensors in, alerts and aggregates out, durable in SQLite"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Run the daemon.
    Run {
        #[arg(short, long, default_value = DEFAULT_CONFIG, env = "EDGEWATCH_CONFIG")]
        config: PathBuf,
    },
    /// Run a simulated plant through the real pipeline; no broker or config needed.
    Demo {
        /// State directory for the demo's store.
        #[arg(long, default_value = "edgewatch-demo")]
        dir: PathBuf,
        /// API address.
        #[arg(long, default_value = "127.0.0.1:9464")]
        listen: String,
        /// Stop after this long (e.g. "2m"); runs until Ctrl-C otherwise.
        #[arg(long, value_parser = humantime::parse_duration)]
        duration: Option<Duration>,
    },
    /// Validate a config file without starting anything; exit 78 if it is invalid.
    CheckConfig {
        #[arg(short, long, default_value = DEFAULT_CONFIG, env = "EDGEWATCH_CONFIG")]
        config: PathBuf,
        /// The file, as an alternative to -c.
        #[arg(value_name = "FILE", conflicts_with = "config")]
        file: Option<PathBuf>,
        /// Do not open the secrets, certificates and keys it names (checking a
        /// config on a machine other than the gateway).
        #[arg(long)]
        no_files: bool,
    },
    /// Show recent alerts from the store (works with the daemon running or not).
    Alerts {
        #[arg(short, long, default_value = DEFAULT_CONFIG, env = "EDGEWATCH_CONFIG")]
        config: PathBuf,
        /// Read this state directory instead of the config's.
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// How far back: a duration ("24h") or an RFC 3339 time.
        #[arg(long, default_value = "24h")]
        since: String,
        /// Sensor id glob.
        #[arg(long)]
        sensor: Option<String>,
        /// firing or resolved.
        #[arg(long, value_parser = ["firing", "resolved"])]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Show what the running daemon reports (via its HTTP API).
    Status {
        #[command(flatten)]
        api: ApiArgs,
        #[arg(long)]
        json: bool,
    },
    /// Ask the running daemon a question about the plant; the answer cites the
    /// alerts, aggregates and documents it rests on.
    Ask {
        #[command(flatten)]
        api: ApiArgs,
        #[arg(long)]
        json: bool,
        /// The question, e.g. "what happened on line 2 last night?"
        #[arg(required = true)]
        question: Vec<String>,
    },
    /// Items a sink can never deliver (too large, refused, or dropping the
    /// connection each time): list them, resend them, or drop them.
    DeadLetters {
        #[command(flatten)]
        api: ApiArgs,
        #[command(subcommand)]
        what: DeadLettersCommand,
    },
    /// Model files on this box (models.toml): list, verify sha256, import from a USB stick.
    Models {
        /// The models directory (default: ./models in a checkout, else /usr/share/edgewatch/models).
        #[arg(long)]
        dir: Option<PathBuf>,
        #[command(subcommand)]
        what: ModelsCommand,
    },
    /// Learn a multivariate model per asset from the journal's history of a
    /// period marked normal (alert spans left out); the daemon saves it to
    /// STATE_DIR/learned/NAME.json and watches with it at once.
    Learn {
        #[command(flatten)]
        api: ApiArgs,
        /// The model's name: its file and the rule name on its alerts.
        name: String,
        /// Sensor glob whose last level is {channel}: `plant1/pump*/{channel}`
        /// makes one model per pump from its sensors.
        #[arg(long)]
        sensors: String,
        /// Start of the normal period: a duration ago ("7d") or an RFC 3339 time.
        #[arg(long)]
        from: String,
        /// End of it (default: now).
        #[arg(long)]
        until: Option<String>,
        /// mset (default: similarity to remembered normal states; follows curved
        /// relations between channels) or pca (T-squared and Q).
        #[arg(long, value_parser = ["pca", "mset"])]
        method: Option<String>,
        /// Earlier frames joined to each frame (dynamic PCA; catches changed dynamics).
        #[arg(long)]
        lags: Option<usize>,
        /// Frames each statistic is averaged over before it is judged.
        #[arg(long)]
        smooth: Option<usize>,
        /// How slowly the model follows a normal asset's level ("1h"; "0s": never).
        #[arg(long)]
        track: Option<String>,
        /// Consecutive anomalous frames before an alert fires.
        #[arg(long)]
        debounce: Option<u32>,
        /// Consecutive normal frames before it resolves.
        #[arg(long)]
        clear_after: Option<u32>,
        #[arg(long, value_parser = ["info", "warning", "critical"])]
        severity: Option<String>,
    },
    /// The models `edgewatch learn` made: list them, or show one whole (JSON).
    Learned {
        #[command(flatten)]
        api: ApiArgs,
        #[command(subcommand)]
        what: LearnedCommand,
    },
    /// Documents the daemon searches and answers from (runbooks, manuals).
    Docs {
        #[command(flatten)]
        api: ApiArgs,
        #[command(subcommand)]
        what: DocsCommand,
    },
    /// Score the rule sets against a labelled simulator run (faults with ground
    /// truth), faster than real time: precision, recall, F1, delay, false alerts.
    Eval {
        /// Simulated hours.
        #[arg(long, default_value_t = 24.0)]
        hours: f64,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long, default_value_t = 2)]
        lines: u32,
        #[arg(long, default_value_t = 3)]
        machines_per_line: u32,
        /// Injected faults per machine-hour.
        #[arg(long, default_value_t = 2.0)]
        fault_rate: f64,
        /// Mean fault length.
        #[arg(long, default_value = "2m", value_parser = humantime::parse_duration)]
        fault_duration: std::time::Duration,
    },
    /// Run a recorded CSV through the real pipeline in event time (the readings'
    /// own clock): alerts, aggregates and staleness as they would have been live;
    /// with a label column, precision, recall, F1, false and missed alarm rates.
    Replay {
        /// The CSV file, `-` for stdin: a time column and one column per sensor,
        /// or `ts,sensor,value` rows.
        input: std::path::PathBuf,
        /// Rules, models and store settings; config/replay.toml's statistical rules
        /// over every sensor when unset.
        #[arg(short, long)]
        config: Option<std::path::PathBuf>,
        /// Keep readings, alerts and aggregates in a store here (query it with
        /// `edgewatch alerts`, the API, `ask`); nothing is kept when unset.
        #[arg(long)]
        state_dir: Option<std::path::PathBuf>,
        /// Sensor ids are this prefix plus the column name (default: `FILESTEM/`).
        #[arg(long)]
        prefix: Option<String>,
        /// The ground-truth column (default: one named label, anomaly, is_anomaly or fault).
        #[arg(long)]
        label: Option<String>,
        /// Write `timestamp,value,anomaly_score,label` per row (NAB's result format).
        #[arg(long)]
        scores: Option<std::path::PathBuf>,
        /// Write every alert event as one JSON line.
        #[arg(long)]
        alerts: Option<std::path::PathBuf>,
        /// Learn a multivariate model from the first --fit-rows rows over these
        /// sensors (`PREFIX{channel}`, e.g. `pump/{channel}`) and score the rest.
        #[arg(long, requires = "fit_rows")]
        learn: Option<String>,
        /// Rows of the fit part (--learn).
        #[arg(long, requires = "learn")]
        fit_rows: Option<u64>,
        /// --learn: pca or mset (see `edgewatch learn --help`).
        #[arg(long, requires = "learn", value_parser = ["pca", "mset"])]
        method: Option<String>,
        /// --learn: earlier frames joined to each frame (dynamic PCA).
        #[arg(long, requires = "learn")]
        lags: Option<usize>,
        /// --learn: frames each statistic is averaged over.
        #[arg(long, requires = "learn")]
        smooth: Option<usize>,
        /// --learn: how slowly the model follows a normal asset's level ("1h"; "0s": never).
        #[arg(long, requires = "learn", value_parser = humantime::parse_duration)]
        track: Option<Duration>,
    },
    /// Publish a simulated plant to an MQTT broker, or serve it as a Modbus TCP slave
    /// (register map: config/modbus-sim.toml), for trials, tests and benches.
    Simulate {
        /// Broker address HOST:PORT.
        #[arg(
            long,
            required_unless_present_any = ["modbus_tcp", "csv"],
            conflicts_with_all = ["modbus_tcp", "csv"]
        )]
        mqtt: Option<String>,
        /// Write the plant as CSV to this file (`-` for stdout), faster than real
        /// time, one sample per sensor per second; see --hours.
        #[arg(long, conflicts_with = "modbus_tcp")]
        csv: Option<std::path::PathBuf>,
        /// CSV: simulated hours.
        #[arg(long, default_value_t = 1.0, requires = "csv")]
        hours: f64,
        /// Serve Modbus TCP on HOST:PORT: machine N is unit id N.
        #[arg(long)]
        modbus_tcp: Option<String>,
        /// Modbus: time between two samples of the plant.
        #[arg(long, default_value = "500ms", value_parser = humantime::parse_duration)]
        interval: std::time::Duration,
        /// Messages per second, all sensors together.
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        /// Stop after this many messages.
        #[arg(long)]
        count: Option<u64>,
        #[arg(long, default_value_t = 1)]
        qos: u8,
        #[arg(long, default_value_t = 2)]
        lines: u32,
        /// Motors per line (temperature, vibration, pressure; 0 for none).
        #[arg(long, default_value_t = 3)]
        machines_per_line: u32,
        /// Pumps per line (flow, pressure, current, vibration, temperature that
        /// move together; bearing wear, clogged filter, cavitation).
        #[arg(long, default_value_t = 0)]
        pumps_per_line: u32,
        /// Injected faults per machine-hour.
        #[arg(long, default_value_t = 0.5)]
        fault_rate: f64,
        /// Mean fault length (drift, stuck, dropout, every pump fault).
        #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
        fault_duration: std::time::Duration,
        #[arg(long)]
        seed: Option<u64>,
    },
}

/// How the CLI finds the running daemon's API.
#[derive(clap::Args)]
pub(crate) struct ApiArgs {
    #[arg(short, long, default_value = DEFAULT_CONFIG, env = "EDGEWATCH_CONFIG")]
    pub config: PathBuf,
    /// API base URL; default from the config's api.listen.
    #[arg(long)]
    pub url: Option<String>,
}

#[derive(Subcommand)]
pub(crate) enum ModelsCommand {
    /// What models.toml names and whether each file is present.
    List,
    /// Check every file's sha256 (exit 1 if one is missing or damaged).
    Verify,
    /// Copy a model file in (its sha256 says which one it is).
    Import { file: PathBuf },
}

#[derive(Subcommand)]
pub(crate) enum DeadLettersCommand {
    /// The dead letters, oldest first, with why each could not be sent.
    List {
        #[arg(long)]
        sink: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Put dead letters back into their sink's outbox (e.g. after raising
    /// max-packet-size); they are sent after what is queued now.
    Resend {
        #[command(flatten)]
        which: DeadLetterSelection,
    },
    /// Delete dead letters for good.
    Drop {
        #[command(flatten)]
        which: DeadLetterSelection,
    },
}

#[derive(clap::Args)]
pub(crate) struct DeadLetterSelection {
    /// Dead letter ids, from `edgewatch dead-letters list`.
    pub ids: Vec<i64>,
    /// Every dead letter (of --sink, when given).
    #[arg(long)]
    pub all: bool,
    #[arg(long)]
    pub sink: Option<String>,
}

impl DeadLetterSelection {
    pub(crate) fn into_selection(self) -> commands::dead_letters::Selection {
        commands::dead_letters::Selection {
            sink: self.sink,
            ids: self.ids,
            all: self.all,
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum DocsCommand {
    /// Add text, Markdown or PDF files (split into chunks and embedded).
    Add {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List documents.
    List,
    /// Delete a document by id.
    Rm { id: i64 },
}

#[derive(Subcommand)]
pub(crate) enum LearnedCommand {
    /// Each model with its assets, periods and limits.
    List,
    /// One model's file, for inspection or export.
    Show { name: String },
}
