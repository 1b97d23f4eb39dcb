//! `edgewatch replay FILE.csv|-`: a recorded file through the real pipeline in
//! event time. The clock is the readings' own: before each row the pipeline ticks
//! through the time since the last row (once a second, as the daemon's clock
//! would, at most an hour of ticks per gap), so staleness, debounce, aggregate
//! windows and alerts behave as they would have live. Results go to a store under
//! `--state-dir` that the API and CLI read like any other, or nowhere.
//!
//! With `--learn PATTERN --fit-rows N` the first N rows are the fit part: a
//! model is learned from them as `edgewatch learn` would from the journal
//! (alert spans and rows labelled anomalous left out), installed, and only the
//! rows after it are scored; without `--config` no rules run beside it, so the
//! score is the model's.
//!
//! With a label column, the alerts are scored against it ([`LabelledScore`]);
//! `--scores FILE` writes one row per input row (`timestamp,value,anomaly_score,
//! label`, the file format of the Numenta Anomaly Benchmark): 0 where no alert
//! fired, else the strength of the strongest alert that fired there, from 0.5 at
//! its limit towards 1 (so a threshold on the score keeps the clearest alerts).

use super::replay_csv::{CsvReader, Row};
use super::CommandError;
use crate::config::Config;
use crate::detect::labelled::LabelledScore;
use crate::detect::Detectors;
use crate::event::{AlertEvent, AlertState, Reading};
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::sources::IngestBatch;
use crate::store::{WriteBatch, WriteOp, Writer};
use rustc_hash::FxHashSet as HashSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The rules a replay runs without `--config`: the statistical conditions over
/// every sensor, no staleness (recorded files have gaps of their own).
pub const DEFAULT_RULES: &str = include_str!("../../config/replay.toml");

/// Ticks replayed per gap between two rows at most; a longer gap jumps.
const MAX_TICKS_PER_GAP: i64 = 3600;
/// Readings handed to the store writer at once.
const BATCH_READINGS: usize = 8192;

pub struct ReplayArgs {
    pub input: PathBuf,
    pub config: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    /// Prefix of the sensor ids made from column names; the file stem and `/` when unset.
    pub prefix: Option<String>,
    pub label: Option<String>,
    pub scores: Option<PathBuf>,
    pub alerts: Option<PathBuf>,
    /// Learn a model over these sensors (`PREFIX{channel}`) from the fit part.
    pub learn: Option<LearnOptions>,
}

/// The model a replay learns from its first rows.
pub struct LearnOptions {
    pub sensors: String,
    pub fit_rows: u64,
    pub method: Option<crate::learn::Method>,
    pub lags: Option<usize>,
    pub smooth: Option<usize>,
    pub track_ms: Option<i64>,
}

/// What a replay did.
#[derive(Debug, Clone, Default)]
pub struct ReplaySummary {
    pub rows: u64,
    /// Rows learned from (`--learn`), not scored.
    pub fit_rows: u64,
    pub readings: u64,
    pub fired: u64,
    pub resolved: u64,
    pub sensors: usize,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    /// Against the label column, when the file has one.
    pub labelled: Option<LabelledScore>,
}

pub fn run(a: &ReplayArgs) -> Result<ReplaySummary, CommandError> {
    let usage = |e: &dyn std::fmt::Display| CommandError::Usage(e.to_string());
    let mut config = match &a.config {
        Some(path) => Config::load(path)?,
        None if a.learn.is_some() => Config::from_toml("", Path::new("(no rules)"))?,
        None => Config::from_toml(DEFAULT_RULES, Path::new("config/replay.toml"))?,
    };
    if let Some(dir) = &a.state_dir {
        config.gateway.state_dir = dir.clone();
    }
    let metrics = Arc::new(Metrics::default());
    let detectors = Detectors::inline(
        &config.rules,
        &config.onnx,
        &config.anomaly_models,
        Vec::new(),
    )
    .map_err(|e| usage(&e))?;
    let mut pipeline = Pipeline::with_detectors(&config, metrics.clone(), detectors);
    let writer = match &a.state_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| CommandError::Usage(format!("--state-dir {}: {e}", dir.display())))?;
            let path = crate::store::db_path(dir);
            Some(Writer::spawn(&path, &config.store, metrics)?)
        }
        None => None,
    };
    let input = open(&a.input)?;
    let prefix = a.prefix.clone().unwrap_or_else(|| {
        let stem = a.input.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        match stem {
            "" | "-" => "replay/".to_owned(),
            s => format!("{s}/"),
        }
    });
    let mut csv = CsvReader::new(input, &prefix, a.label.as_deref(), config.gateway.tz())
        .map_err(|e| input_error(&a.input, &e))?;
    let mut out = Outputs::open(a)?;
    let mut run = Run::default();
    let mut batch = WriteBatch::default();
    let mut fit = a.learn.as_ref().map(FitPart::new).transpose()?;
    while let Some(row) = csv.next_row().map_err(|e| input_error(&a.input, &e))? {
        if let Some(f) = &mut fit {
            if run.summary.rows < f.rows {
                f.observe(&row, csv.sensors(), &mut run, &mut pipeline, &mut batch);
                batch = hand_over_full(&writer, batch)?;
                continue;
            }
        }
        if let Some(f) = fit.take() {
            let model = f.finish(&mut run)?;
            pipeline.install_learned(model);
        }
        let first_alert = batch.alerts.len();
        run.tick_until(&mut pipeline, row.ts_ms, &mut batch);
        let readings: Vec<Reading> = row
            .values
            .iter()
            .map(|&(s, v)| Reading::new(csv.sensors()[s].clone(), row.ts_ms, v))
            .collect();
        run.summary.readings += readings.len() as u64;
        pipeline.process(IngestBatch::readings(readings), &mut batch);
        run.follow(&batch.alerts[first_alert..]);
        let strength = batch.alerts[first_alert..]
            .iter()
            .filter(|e| e.state == AlertState::Firing)
            .map(strength)
            .fold(0.0, f64::max);
        out.row(&row, strength, &batch.alerts[first_alert..])?;
        run.summary.rows += 1;
        if let Some(label) = row.label {
            let flagged = run.covers(&row, csv.sensors());
            run.summary
                .labelled
                .get_or_insert_with(LabelledScore::default)
                .observe(row.ts_ms, flagged, label);
        }
        batch = hand_over_full(&writer, batch)?;
    }
    hand_over(&writer, batch)?;
    out.finish()?;
    if let Some(w) = writer {
        w.join()?;
    }
    run.summary.sensors = csv.sensors().len();
    Ok(run.summary)
}

/// The first rows of a `--learn` replay: seen by the pipeline (so its rules and
/// windows warm up), learned from, not scored.
struct FitPart {
    learner: crate::learn::Learner,
    rows: u64,
    first_ms: Option<i64>,
    last_ms: i64,
}

impl FitPart {
    fn new(o: &LearnOptions) -> Result<Self, CommandError> {
        let mut spec = crate::learn::LearnSpec::new("learned", &o.sensors);
        if let Some(m) = o.method {
            spec.method = m;
        }
        if let Some(l) = o.lags {
            spec.lags = l;
        }
        if let Some(s) = o.smooth {
            spec.pca.smooth = s.max(1);
        }
        if let Some(t) = o.track_ms {
            spec.track_ms = t.max(0);
        }
        let learner = crate::learn::Learner::new(spec)
            .map_err(|e| CommandError::Usage(format!("--learn: {e}")))?;
        Ok(FitPart {
            learner,
            rows: o.fit_rows,
            first_ms: None,
            last_ms: 0,
        })
    }

    fn observe(
        &mut self,
        row: &Row,
        sensors: &[Arc<str>],
        run: &mut Run,
        p: &mut Pipeline,
        batch: &mut WriteBatch,
    ) {
        let first_alert = batch.alerts.len();
        run.tick_until(p, row.ts_ms, batch);
        self.first_ms.get_or_insert(row.ts_ms);
        self.last_ms = row.ts_ms;
        let readings: Vec<Reading> = row
            .values
            .iter()
            .map(|&(s, v)| {
                // A labelled anomaly is left out as an engineer leaves out a known incident.
                if row.label != Some(true) {
                    self.learner.observe(&sensors[s], row.ts_ms, v);
                }
                Reading::new(sensors[s].clone(), row.ts_ms, v)
            })
            .collect();
        run.summary.readings += readings.len() as u64;
        run.summary.rows += 1;
        run.summary.fit_rows += 1;
        p.process(IngestBatch::readings(readings), batch);
        run.follow(&batch.alerts[first_alert..]);
    }

    /// The model, learned from the fit part less the spans of alerts in it.
    fn finish(self, run: &mut Run) -> Result<crate::learn::LearnedModel, CommandError> {
        let from = self.first_ms.unwrap_or(0);
        let spans = std::mem::take(&mut run.spans);
        self.learner
            .finish(from, self.last_ms, &spans)
            .map_err(|e| CommandError::Model(format!("--learn: {e}")))
    }
}

#[derive(Default)]
struct Run {
    /// Alerts of the fit part, so the model does not learn from their spans.
    spans: Vec<crate::learn::Span>,
    summary: ReplaySummary,
    last_tick_ms: Option<i64>,
    /// (rule, sensor) of every alert firing now.
    firing: HashSet<(Arc<str>, Arc<str>)>,
}

impl Run {
    /// The daemon's once-a-second clock, from the last row's time to this one's.
    fn tick_until(&mut self, p: &mut Pipeline, ts_ms: i64, out: &mut WriteBatch) {
        self.summary.first_ms.get_or_insert(ts_ms);
        self.summary.last_ms = Some(ts_ms);
        let from = match self.last_tick_ms {
            Some(t) if ts_ms > t => t,
            Some(_) => return,
            None => ts_ms.saturating_sub(1000),
        };
        let start = from.max(ts_ms.saturating_sub(MAX_TICKS_PER_GAP * 1000));
        let mut t = start + 1000;
        while t < ts_ms {
            p.tick(t, out);
            t += 1000;
        }
        p.tick(ts_ms, out);
        self.last_tick_ms = Some(ts_ms);
    }

    /// Whether an alert is firing on one of the row's sensors or on the asset
    /// one belongs to (a long file's row holds one sensor; its label is that
    /// sensor's).
    fn covers(&self, row: &Row, sensors: &[Arc<str>]) -> bool {
        row.values.iter().any(|&(s, _)| {
            let id = &*sensors[s];
            self.firing.iter().any(|(_, on)| {
                id == &**on || (id.starts_with(&**on) && id.as_bytes().get(on.len()) == Some(&b'/'))
            })
        })
    }

    /// Follows the alert lifecycle.
    fn follow(&mut self, events: &[AlertEvent]) {
        for e in events {
            let key = (e.rule.clone(), e.sensor.clone());
            match e.state {
                AlertState::Firing => {
                    self.summary.fired += 1;
                    self.firing.insert(key);
                    self.spans.push(crate::learn::Span {
                        sensor: e.sensor.to_string(),
                        from_ms: e.fired_ms,
                        until_ms: i64::MAX,
                    });
                }
                AlertState::Resolved => {
                    self.summary.resolved += 1;
                    self.firing.remove(&key);
                    if let Some(s) = self
                        .spans
                        .iter_mut()
                        .rev()
                        .find(|s| *s.sensor == *e.sensor && s.from_ms == e.fired_ms)
                    {
                        s.until_ms = e.event_ms;
                    }
                }
            }
        }
    }
}

/// How far past its limit an alert fired: 0.5 at the limit, towards 1 beyond.
fn strength(e: &AlertEvent) -> f64 {
    let ratio = e.value.abs() / e.limit.abs();
    if ratio.is_finite() && ratio > 1.0 {
        1.0 - 0.5 / ratio
    } else {
        0.5
    }
}

/// Hands a full batch to the store writer; without a store, drops it.
fn hand_over_full(writer: &Option<Writer>, batch: WriteBatch) -> Result<WriteBatch, CommandError> {
    if batch.readings.len() >= BATCH_READINGS {
        hand_over(writer, batch)?;
        Ok(WriteBatch::default())
    } else if writer.is_none() {
        Ok(WriteBatch::default())
    } else {
        Ok(batch)
    }
}

fn hand_over(writer: &Option<Writer>, batch: WriteBatch) -> Result<(), CommandError> {
    if let Some(w) = writer {
        w.tx.blocking_send(WriteOp::Batch(batch))
            .map_err(|_| CommandError::Store(crate::store::StoreError::WriterGone))?;
    }
    Ok(())
}

fn open(path: &Path) -> Result<Box<dyn BufRead>, CommandError> {
    if path == Path::new("-") {
        return Ok(Box::new(std::io::stdin().lock()));
    }
    let f = std::fs::File::open(path)
        .map_err(|e| CommandError::Usage(format!("cannot read {}: {e}", path.display())))?;
    Ok(Box::new(std::io::BufReader::new(f)))
}

fn input_error(path: &Path, e: &dyn std::fmt::Display) -> CommandError {
    CommandError::Usage(format!("{}: {e}", path.display()))
}

/// The optional per-row score file and alert log.
struct Outputs {
    scores: Option<(PathBuf, std::io::BufWriter<std::fs::File>)>,
    alerts: Option<(PathBuf, std::io::BufWriter<std::fs::File>)>,
}

impl Outputs {
    fn open(a: &ReplayArgs) -> Result<Self, CommandError> {
        let create = |p: &PathBuf| {
            std::fs::File::create(p)
                .map(|f| (p.clone(), std::io::BufWriter::new(f)))
                .map_err(|e| CommandError::Usage(format!("cannot write {}: {e}", p.display())))
        };
        let mut scores = a.scores.as_ref().map(create).transpose()?;
        if let Some((p, f)) = &mut scores {
            writeln!(f, "timestamp,value,anomaly_score,label").map_err(|e| write_error(p, e))?;
        }
        Ok(Outputs {
            scores,
            alerts: a.alerts.as_ref().map(create).transpose()?,
        })
    }

    fn row(&mut self, row: &Row, score: f64, events: &[AlertEvent]) -> Result<(), CommandError> {
        if let Some((p, f)) = &mut self.scores {
            let value = row.values.first().map_or(f64::NAN, |v| v.1);
            let time = jiff::Timestamp::from_millisecond(row.ts_ms)
                .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default();
            let label = u8::from(row.label.unwrap_or(false));
            writeln!(f, "{time},{value},{score:.4},{label}").map_err(|e| write_error(p, e))?;
        }
        if let Some((p, f)) = &mut self.alerts {
            for e in events {
                let line = serde_json::json!({
                    "id": e.id, "state": e.state.as_str(), "rule": &*e.rule,
                    "sensor": &*e.sensor, "value": e.value, "limit": e.limit,
                    "fired": crate::event::format_ts(e.fired_ms),
                    "at": crate::event::format_ts(e.event_ms), "message": e.message,
                });
                writeln!(f, "{line}").map_err(|e| write_error(p, e))?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), CommandError> {
        for (p, f) in self.scores.iter_mut().chain(self.alerts.iter_mut()) {
            f.flush().map_err(|e| write_error(p, e))?;
        }
        Ok(())
    }
}

fn write_error(p: &Path, e: std::io::Error) -> CommandError {
    CommandError::Usage(format!("cannot write {}: {e}", p.display()))
}

/// The summary a person reads: what was replayed, and the scores when labelled.
pub fn report(s: &ReplaySummary) -> String {
    let span = match (s.first_ms, s.last_ms) {
        (Some(a), Some(b)) => format!(
            "{} to {}",
            crate::event::format_ts(a),
            crate::event::format_ts(b)
        ),
        _ => "no rows".to_owned(),
    };
    let mut out = format!(
        "replayed {} rows ({} readings of {} sensors, {span}): {} alerts fired, {} resolved\n",
        s.rows, s.readings, s.sensors, s.fired, s.resolved
    );
    if s.fit_rows > 0 {
        out.push_str(&format!(
            "the first {} rows were learned from and are not scored\n",
            s.fit_rows
        ));
    }
    if let Some(l) = &s.labelled {
        out.push_str(&format!(
            "against the labels: precision {:.3}, recall {:.3}, F1 {:.3}, false alarm rate {:.1} %, \
             missed alarm rate {:.1} %; {}/{} labelled events flagged, mean delay {:.1} s\n",
            l.precision(),
            l.recall(),
            l.f1(),
            100.0 * l.false_alarm_rate(),
            100.0 * l.missed_alarm_rate(),
            l.events_detected,
            l.events,
            l.mean_delay_s()
        ));
    }
    out
}
