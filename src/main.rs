//! The `edgewatch` binary: parses the command line, sets up logging and the runtime,
//! calls the library, and maps errors to exit codes (78 = bad config, EX_CONFIG).

mod cli;

use clap::Parser;
use cli::{ApiArgs, Cli, Command, DeadLettersCommand, DocsCommand, LearnedCommand, ModelsCommand};
use edgewatch::commands::{self, CommandError};
use edgewatch::config::{Config, LogFormat};
use edgewatch::learn::Method;
use edgewatch::sources::simulator::SimulatorConfig;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const EX_CONFIG: u8 = 78;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = match &e {
                CommandError::Config(_) | CommandError::Model(_) => EX_CONFIG,
                CommandError::Daemon(edgewatch::daemon::DaemonError::Source(_)) => EX_CONFIG,
                _ => 1,
            };
            eprintln!("edgewatch: {e}");
            ExitCode::from(code)
        }
    }
}

/// The API of the daemon `--url` names, or of the config's daemon.
fn api_client(
    a: ApiArgs,
    timeout: Duration,
) -> Result<commands::api_client::ApiClient, CommandError> {
    Ok(match a.url {
        Some(u) => commands::api_client::ApiClient::new(&u, None, timeout),
        None => commands::api_client::ApiClient::from_config(&load(&a.config)?, timeout),
    })
}

/// Sockets, the database and its WAL need descriptors whatever the API does: the
/// soft limit goes up to the hard one (systemd's default soft limit is 1024).
fn raise_open_files_limit(api_connections: usize) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) if n < api_connections as u64 + 128 => tracing::warn!(
            open_files = n,
            api_connections,
            "the open-files limit leaves little beside api.max-connections: raise LimitNOFILE or lower it"
        ),
        Ok(n) => tracing::debug!(open_files = n, "open-files limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-files limit"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("edgewatch")
        .build()
        .expect("cannot start the tokio runtime")
}

fn init_logging(level: &str, format: LogFormat) {
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Third-party crates log whole request lines (a webhook URL is a secret) and
    // packets (an MQTT CONNECT holds the password) at debug and trace: they stay
    // at info whatever level is asked for.
    let filter = [
        "ureq=info",
        "ureq_proto=info",
        "rustls=info",
        "rumqttc=info",
    ]
    .iter()
    .filter_map(|d| d.parse().ok())
    .fold(filter, |f, d| f.add_directive(d));
    let registry = tracing_subscriber::registry().with(filter);
    // systemd sets JOURNAL_STREAM when stderr goes to the journal: log natively
    // there, so fields (source, topic, reason ...) stay queryable with journalctl.
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    if under_journald && format == LogFormat::Auto {
        match tracing_journald::layer() {
            Ok(journald) => {
                let _ = registry
                    .with(journald.with_syslog_identifier("edgewatch".into()))
                    .try_init();
                return;
            }
            Err(e) => eprintln!("edgewatch: journald socket unavailable ({e}); logging to stderr"),
        }
    }
    let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => registry.with(stderr.json()).try_init(),
        // journald stamps time itself.
        _ if under_journald => registry
            .with(stderr.without_time().with_ansi(false))
            .try_init(),
        // Colours only for a person at a terminal, not in files or pipes.
        _ => {
            use std::io::IsTerminal;
            let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            registry.with(stderr.with_ansi(ansi)).try_init()
        }
    };
}

fn load(path: &std::path::Path) -> Result<Config, CommandError> {
    Ok(Config::load(path)?)
}

/// Parses and validates the config, then loads its anomaly models as the daemon
/// would: a model that does not fit its manifest is a config error; a missing ONNX
/// Runtime only a warning, since the daemon runs on without those detectors.
fn check_config(config: &std::path::Path, files: bool) -> Result<(), CommandError> {
    use edgewatch::detect::anomaly_load::{self, AnomalyLoadError};
    use edgewatch::ml::OnnxError;
    let c = if files {
        Config::load_checked(config)?
    } else {
        Config::load(config)?
    };
    match anomaly_load::load(&c.onnx, &c.anomaly_models) {
        Ok(_) => {}
        Err(
            e @ AnomalyLoadError::Model {
                source: OnnxError::RuntimeMissing { .. } | OnnxError::RuntimeLoad { .. },
                ..
            },
        ) => eprintln!("warning: anomaly models will be disabled: {e}"),
        Err(e) => return Err(CommandError::Model(format!("{}: {e}", config.display()))),
    }
    println!(
        "{}: OK ({} mqtt source(s), {} modbus source(s), {} simulator(s), {} rule(s), {} anomaly model(s), {} sink(s))",
        config.display(),
        c.sources.mqtt.len(),
        c.sources.modbus.len(),
        c.sources.simulator.len(),
        c.rules.len(),
        c.anomaly_models.len(),
        c.sinks.count()
    );
    Ok(())
}

fn dispatch(command: Command) -> Result<(), CommandError> {
    match command {
        Command::CheckConfig {
            config,
            file,
            no_files,
        } => {
            let config = file.unwrap_or(config);
            check_config(&config, !no_files)
        }
        Command::Run { config } => {
            let c = Config::load_checked(&config)?;
            init_logging(&c.log.level, c.log.format);
            tracing::info!(config = %config.display(), gateway = %c.gateway.id, "edgewatch {} starting", env!("CARGO_PKG_VERSION"));
            raise_open_files_limit(c.api.max_connections);
            let rt = runtime();
            let result = rt.block_on(edgewatch::daemon::supervise(config, c));
            // A store writer stuck retrying on a failing disk must not hold the exit.
            rt.shutdown_timeout(Duration::from_secs(1));
            Ok(result?)
        }
        Command::Demo {
            dir,
            listen,
            duration,
        } => {
            init_logging("warn", LogFormat::Plain);
            runtime().block_on(commands::demo::run(commands::demo::DemoArgs {
                dir,
                listen,
                duration,
            }))
        }
        Command::Alerts {
            config,
            state_dir,
            since,
            sensor,
            state,
            limit,
            json,
        } => {
            let state_dir = match state_dir {
                Some(d) => d,
                None => load(&config)?.gateway.state_dir,
            };
            let out = commands::alerts::run(commands::alerts::AlertsArgs {
                state_dir: &state_dir,
                since: &since,
                sensor: sensor.as_deref(),
                state: state.as_deref(),
                limit,
                json,
            })?;
            print!("{out}");
            Ok(())
        }
        Command::Status { api, json } => {
            let api = api_client(api, Duration::from_secs(5))?;
            print!("{}", commands::status::run(&api, json)?);
            Ok(())
        }
        Command::Ask {
            api,
            json,
            question,
        } => {
            let api = api_client(api, Duration::from_secs(120))?;
            print!(
                "{}",
                commands::knowledge::ask(&api, &question.join(" "), json)?
            );
            Ok(())
        }
        Command::DeadLetters { api, what } => {
            let api = api_client(api, Duration::from_secs(30))?;
            let out = match what {
                DeadLettersCommand::List { sink, json } => {
                    commands::dead_letters::list(&api, sink.as_deref(), json)?
                }
                DeadLettersCommand::Resend { which } => {
                    commands::dead_letters::resend(&api, &which.into_selection())?
                }
                DeadLettersCommand::Drop { which } => {
                    commands::dead_letters::drop(&api, &which.into_selection())?
                }
            };
            print!("{out}");
            Ok(())
        }
        Command::Models { dir, what } => {
            let dir = dir
                .or_else(|| edgewatch::ml::find_models_dir("models.toml"))
                .unwrap_or_else(|| PathBuf::from("/usr/share/edgewatch/models"));
            match what {
                ModelsCommand::List | ModelsCommand::Verify => {
                    let (out, ok) =
                        commands::models::list(&dir, matches!(what, ModelsCommand::Verify))?;
                    print!("{out}");
                    if !ok && matches!(what, ModelsCommand::Verify) {
                        return Err(CommandError::Usage(
                            "some model files are missing or damaged".into(),
                        ));
                    }
                }
                ModelsCommand::Import { file } => {
                    print!("{}", commands::models::import(&dir, &file)?)
                }
            }
            Ok(())
        }
        Command::Learn {
            api,
            name,
            sensors,
            from,
            until,
            method,
            lags,
            smooth,
            track,
            debounce,
            clear_after,
            severity,
        } => {
            let api = api_client(api, Duration::from_secs(600))?;
            let out = commands::learn::learn(
                &api,
                &commands::learn::LearnArgs {
                    name: &name,
                    sensors: &sensors,
                    from: &from,
                    until: until.as_deref(),
                    method: method.as_deref(),
                    lags,
                    smooth,
                    track: track.as_deref(),
                    debounce,
                    clear_after,
                    severity: severity.as_deref(),
                },
            )?;
            print!("{out}");
            Ok(())
        }
        Command::Learned { api, what } => {
            let api = api_client(api, Duration::from_secs(30))?;
            let out = match what {
                LearnedCommand::List => commands::learn::list(&api)?,
                LearnedCommand::Show { name } => commands::learn::show(&api, &name)?,
            };
            print!("{out}");
            Ok(())
        }
        Command::Docs { api, what } => {
            let api = api_client(api, Duration::from_secs(300))?;
            let out = match what {
                DocsCommand::Add { files } => commands::knowledge::add(&api, &files)?,
                DocsCommand::List => commands::knowledge::list(&api)?,
                DocsCommand::Rm { id } => commands::knowledge::remove(&api, id)?,
            };
            print!("{out}");
            Ok(())
        }
        Command::Eval {
            hours,
            seed,
            lines,
            machines_per_line,
            fault_rate,
            fault_duration,
        } => {
            if !(hours > 0.0 && hours <= 24.0 * 365.0) {
                return Err(CommandError::Usage(
                    "--hours must be above 0 (e.g. 24)".into(),
                ));
            }
            let args = commands::eval::EvalArgs {
                hours,
                seed,
                lines,
                machines_per_line,
                fault_rate,
                fault_duration,
            };
            let r = commands::eval::run(&args)?;
            print!("{}", commands::eval::table(&args, &r.scores));
            if let Some(why) = r.onnx_missing {
                eprintln!("{why}");
            }
            Ok(())
        }
        Command::Replay {
            input,
            config,
            state_dir,
            prefix,
            label,
            scores,
            alerts,
            learn,
            fit_rows,
            method,
            lags,
            smooth,
            track,
        } => {
            init_logging("warn", LogFormat::Plain);
            let summary = commands::replay::run(&commands::replay::ReplayArgs {
                input,
                config,
                state_dir,
                prefix,
                label,
                scores,
                alerts,
                learn: learn.map(|sensors| commands::replay::LearnOptions {
                    sensors,
                    fit_rows: fit_rows.unwrap_or(0),
                    method: method.map(|m| {
                        if m == "mset" {
                            Method::Mset
                        } else {
                            Method::Pca
                        }
                    }),
                    lags,
                    smooth,
                    track_ms: track.map(|t| t.as_millis() as i64),
                }),
            })?;
            print!("{}", commands::replay::report(&summary));
            Ok(())
        }
        Command::Simulate {
            mqtt,
            modbus_tcp,
            csv,
            hours,
            interval,
            rate,
            count,
            qos,
            lines,
            machines_per_line,
            pumps_per_line,
            fault_rate,
            fault_duration,
            seed,
        } => {
            init_logging("info", LogFormat::Plain);
            if machines_per_line == 0 && pumps_per_line == 0 {
                return Err(CommandError::Usage(
                    "--machines-per-line 0 and --pumps-per-line 0 leave nothing to simulate: set one above 0".into(),
                ));
            }
            let plant = SimulatorConfig {
                lines,
                machines_per_line,
                pumps_per_line,
                fault_rate,
                fault_duration,
                seed,
                interval,
                ..Default::default()
            };
            if let Some(path) = csv {
                return write_simulated_csv(&plant, hours, &path);
            }
            if let Some(addr) = modbus_tcp {
                return runtime().block_on(async {
                    commands::modbus_sim::serve(&addr, plant, cancel_on_signal(), None).await
                });
            }
            let mqtt = mqtt.unwrap_or_default();
            let sent = runtime().block_on(async {
                commands::simulate::run(
                    commands::simulate::SimulateArgs {
                        mqtt,
                        rate,
                        count,
                        qos,
                        plant,
                    },
                    cancel_on_signal(),
                )
                .await
            })?;
            println!("published {sent} messages");
            Ok(())
        }
    }
}

fn write_simulated_csv(
    plant: &SimulatorConfig,
    hours: f64,
    path: &std::path::Path,
) -> Result<(), CommandError> {
    let io = |e: std::io::Error| CommandError::Usage(format!("--csv {}: {e}", path.display()));
    let rows = if path == std::path::Path::new("-") {
        commands::simulate::write_csv(plant, hours, &mut std::io::stdout().lock()).map_err(io)?
    } else {
        let file = std::fs::File::create(path).map_err(io)?;
        let mut out = std::io::BufWriter::new(file);
        commands::simulate::write_csv(plant, hours, &mut out).map_err(io)?
    };
    eprintln!("wrote {rows} readings");
    Ok(())
}

/// A token cancelled on SIGINT or SIGTERM; call inside the runtime.
fn cancel_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        edgewatch::daemon::shutdown_signal().await;
        trigger.cancel();
    });
    token
}
