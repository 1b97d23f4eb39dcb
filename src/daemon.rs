//! Wires the parts into a running daemon: builds them from the config, spawns
//! each into its stage of the shutdown tree ([`crate::shutdown`]), and on the
//! signal stops the tree within one deadline.

use crate::api::{self, ApiState};
use crate::config::Config;
use crate::event::AlertEvent;
use crate::metrics::Metrics;
use crate::pipeline::{Pipeline, PipelineError};
use crate::shutdown::{Stage, Tree};
use crate::sinks::{Sink, SinkError};
use crate::sources::{IngestBatch, Source, SourceError};
use crate::store::{self, Reader, StoreError, WriteBatch, WriteOp, Writer};
use crate::systemd;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// How long a whole stop may take before the process gives up and exits
/// non-zero, inside systemd's TimeoutStopSec (30 s) so it is not SIGKILLed.
const STOP_DEADLINE: Duration = Duration::from_secs(15);
/// What [`supervise`] allows beyond the tree's own deadline, for a stop that
/// arrives while the daemon is still starting.
const STOP_BACKSTOP: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("cannot listen on {addr}: {source} (change api.listen or stop what uses that port)")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("the daemon task failed: {0}")]
    Crashed(String),
    #[error(
        "{0} (is the disk full, so the store cannot commit?); exiting without acknowledging anything uncommitted, the brokers redeliver it"
    )]
    StopTimedOut(crate::shutdown::Overran),
    #[error(
        "could not start and stop within {0:?}; exiting without acknowledging anything uncommitted"
    )]
    StartStopTimedOut(Duration),
    #[error("cannot read api.token-file {path}: {source}")]
    Token {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What a started daemon tells its caller.
#[derive(Debug, Clone)]
pub struct Started {
    pub api: Option<SocketAddr>,
    pub metrics: Arc<Metrics>,
    pub state_dir: PathBuf,
}

#[derive(Default)]
pub struct Hooks {
    /// Told once everything is up.
    pub started: Option<oneshot::Sender<Started>>,
    /// Receives every alert event as it happens (for the demo's live view).
    pub alerts: Option<oneshot::Sender<broadcast::Receiver<AlertEvent>>>,
}

/// Runs until `shutdown` is cancelled, then stops in order and returns.
pub async fn run(
    config: Config,
    shutdown: CancellationToken,
    hooks: Hooks,
) -> Result<(), DaemonError> {
    let metrics = Arc::new(Metrics::default());
    let state_dir = config.gateway.state_dir.clone();
    let sinks = Sink::build_all(&config.sinks, &config.gateway.id, &metrics)?;
    let writer = Writer::spawn_with_outboxes(
        &store::db_path(&state_dir),
        &config.store,
        metrics.clone(),
        sinks.outboxes,
    )?;
    let reader = Reader::open(&state_dir)?;

    let mut pipeline = Pipeline::new(&config, metrics.clone())?;
    let mut recovered = WriteBatch::default();
    let summary = pipeline.restore(&reader, &mut recovered)?;
    tracing::info!(
        replayed = summary.replayed,
        sensors = summary.sensors,
        firing = summary.firing,
        "state restored from the store"
    );
    if !recovered.alerts.is_empty() {
        let _ = writer.tx.send(WriteOp::Batch(recovered)).await;
    }
    if let Some(tx) = hooks.alerts {
        let _ = tx.send(pipeline.subscribe_alerts());
    }
    let knowledge = start_knowledge(&config, &reader, &writer, &pipeline, &metrics);

    let sources = Source::build_all(
        &config.sources,
        &crate::sources::kind::Context {
            gateway: &config.gateway.id,
            modbus_maps: &config.modbus_maps,
            metrics: &metrics,
        },
    )?;
    let (ingest_tx, ingest_rx) = mpsc::channel::<IngestBatch>(1024);
    let learned_tx = pipeline.learned_sender();
    let tree = Tree::default();
    tree.tasks(Stage::Pipeline)
        .spawn(pipeline.run(ingest_rx, writer.tx.clone()));

    let ready = Arc::new(AtomicBool::new(false));
    let api_addr = if config.api.enabled {
        let token = match &config.api.token_file {
            Some(path) => Some(Arc::from(
                std::fs::read_to_string(path)
                    .map_err(|source| DaemonError::Token {
                        path: path.clone(),
                        source,
                    })?
                    .trim(),
            )),
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(&config.api.listen)
            .await
            .map_err(|source| DaemonError::Listen {
                addr: config.api.listen.clone(),
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| DaemonError::Listen {
                addr: config.api.listen.clone(),
                source,
            })?;
        // Lets `edgewatch status` and tests find an API bound to port 0.
        let _ = std::fs::write(state_dir.join("api.addr"), addr.to_string());
        let api_tasks = tree.tasks(Stage::Api);
        let app = api::router(ApiState {
            reader: reader.clone(),
            metrics: metrics.clone(),
            ready: ready.clone(),
            token,
            gateway: config.gateway.id.as_str().into(),
            writer: Some(writer.tx.downgrade()),
            knowledge: knowledge.clone(),
            learned: Some(api::learn::LearnedModels {
                state_dir: state_dir.clone(),
                install: learned_tx.clone(),
            }),
            tasks: api_tasks.clone(),
        });
        let limits = api::serve::Limits {
            max_connections: config.api.max_connections,
            header_timeout: config.api.header_timeout,
        };
        api_tasks.spawn(api::serve::serve(listener, app, limits, api_tasks.clone()));
        tracing::info!(%addr, "api listening");
        Some(addr)
    } else {
        None
    };

    let intake = tree.tasks(Stage::Sources);
    for s in sources {
        tracing::info!(source = s.name(), "source starting");
        intake.spawn(s.run(ingest_tx.clone(), intake.token()));
    }
    drop(ingest_tx);
    let outlets = tree.tasks(Stage::Sinks);
    for s in sinks.sinks {
        outlets.spawn(s.run(writer.tx.clone(), outlets.token()));
    }
    // The watchdog holds a writer sender, so it ends with intake.
    intake.spawn(systemd::watchdog(
        metrics.clone(),
        writer.tx.clone(),
        intake.token(),
    ));
    intake.spawn(systemd::report_status(metrics.clone(), intake.token()));
    if let Ok(k) = knowledge.clone() {
        tree.tasks(Stage::Knowledge)
            .on_stop_blocking(move || k.stop());
    }
    let writer_joined = tree
        .tasks(Stage::Writer)
        .on_stop_blocking(move || writer.join());

    ready.store(true, Ordering::Relaxed);
    systemd::ready(&metrics);
    if let Some(tx) = hooks.started {
        let _ = tx.send(Started {
            api: api_addr,
            metrics: metrics.clone(),
            state_dir: state_dir.clone(),
        });
    }

    shutdown.cancelled().await;
    tracing::info!("shutting down: stopping sources");
    systemd::stopping();
    ready.store(false, Ordering::Relaxed);
    if let Err(overran) = tree.stop(STOP_DEADLINE).await {
        let e = DaemonError::StopTimedOut(overran);
        tracing::error!("{e}");
        return Err(e);
    }
    writer_joined
        .await
        .ok()
        .flatten()
        .unwrap_or(Err(StoreError::WriterGone))?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Starts embeddings and search, or says once why not (the rest runs on).
fn start_knowledge(
    config: &Config,
    reader: &Reader,
    writer: &Writer,
    pipeline: &Pipeline,
    metrics: &Arc<Metrics>,
) -> Result<Arc<crate::knowledge::Knowledge>, Arc<str>> {
    if !config.knowledge.enabled {
        return Err("knowledge is off (knowledge.enabled = false)".into());
    }
    crate::knowledge::Knowledge::start(
        &config.knowledge,
        config.gateway.tz(),
        reader.clone(),
        writer.tx.clone(),
        pipeline.subscribe_alerts(),
        metrics.clone(),
    )
    .map_err(|e| {
        tracing::error!("search and questions disabled: {e}");
        Arc::from(e.to_string())
    })
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// The result of a finished daemon task; a panic is an error of its own.
fn joined(r: Result<Result<(), DaemonError>, tokio::task::JoinError>) -> Result<(), DaemonError> {
    r.unwrap_or_else(|e| Err(DaemonError::Crashed(e.to_string())))
}

/// What ends a [`supervise`] wait.
enum Signal {
    Stop,
    Reload,
}

async fn next_signal() -> Signal {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut hup) = signal(SignalKind::hangup()) {
            return tokio::select! {
                _ = shutdown_signal() => Signal::Stop,
                _ = hup.recv() => Signal::Reload,
            };
        }
    }
    shutdown_signal().await;
    Signal::Stop
}

/// Runs the daemon from a config file until SIGTERM/SIGINT. SIGHUP re-reads and
/// validates the file: an invalid one is logged and the running config stays; a
/// valid one is applied by stopping the running instance in order (everything
/// accepted is committed; unacknowledged MQTT messages are redelivered) and
/// starting again with it. systemd sees RELOADING=1, then READY=1.
pub async fn supervise(path: PathBuf, mut config: Config) -> Result<(), DaemonError> {
    loop {
        let shutdown = CancellationToken::new();
        let mut instance = tokio::spawn(run(config.clone(), shutdown.clone(), Hooks::default()));
        let reload = loop {
            tokio::select! {
                // The instance ending by itself is a failure (or a finished start-up error).
                result = &mut instance => return joined(result),
                signal = next_signal() => match signal {
                    Signal::Stop => break None,
                    Signal::Reload => match Config::load(&path) {
                        Ok(new) => break Some(new),
                        Err(e) => tracing::error!("reload refused, the running config stays: {e}"),
                    },
                },
            }
        };
        if reload.is_some() {
            systemd::reloading();
            tracing::info!(config = %path.display(), "reloading");
        }
        shutdown.cancel();
        // The tree's own deadline ends a stop; this one also bounds a stop that
        // arrives during start-up. A writer retrying a commit on a full disk never
        // finishes; nothing it holds was acknowledged, so exiting loses nothing
        // the brokers will not resend.
        let backstop = STOP_DEADLINE + STOP_BACKSTOP;
        match tokio::time::timeout(backstop, &mut instance).await {
            Ok(r) => joined(r)?,
            Err(_) => {
                instance.abort();
                let e = DaemonError::StartStopTimedOut(backstop);
                tracing::error!("{e}");
                return Err(e);
            }
        }
        match reload {
            Some(new) => config = new,
            None => return Ok(()),
        }
    }
}
