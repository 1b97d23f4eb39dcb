//! The embedding thread and what it serves: alerts embedded as they fire (from the
//! pipeline's broadcast, so ingest never waits), documents and queries embedded on
//! request. Vectors go to the store through the writer and into the index.

use super::index::{Hit, Kind, VectorIndex};
use crate::config::KnowledgeConfig;
use crate::event::{AlertEvent, AlertState};
use crate::metrics::Metrics;
use crate::ml::embed::{EmbedError, Embedder};
use crate::store::knowledge::{KnowledgeOp, Summary, VectorRow, KIND_ALERT};
use crate::store::{AlertRow, Reader, WriteOp};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, RwLock};
use tokio::sync::{broadcast, mpsc, oneshot};

/// Texts embedded in one forward pass.
const BATCH: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error("{0}")]
    Unavailable(String),
    #[error("busy: the embedding queue is full, retry shortly")]
    Busy,
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

pub(super) enum Job {
    Alerts(Vec<(String, String)>),
    Texts(
        Vec<String>,
        oneshot::Sender<Result<Vec<Vec<f32>>, EmbedError>>,
    ),
    /// Embedded and stored; the sender hears once they are committed.
    Summaries(Vec<Summary>, oneshot::Sender<()>),
    /// Summaries of windows that started before this leave the store and the index.
    PruneSummaries(i64),
    Stop,
}

pub struct Knowledge {
    jobs: SyncSender<Job>,
    pub index: Arc<RwLock<VectorIndex>>,
    pub reader: Reader,
    /// Taken at [`Knowledge::stop`]: the store writer ends only once every sender
    /// is gone, and the API (which holds this struct) outlives it.
    writer: std::sync::Mutex<Option<mpsc::Sender<WriteOp>>>,
    pub asker: super::ask::Asker,
}

/// The text an alert is embedded as.
pub fn alert_text(rule: &str, sensor: &str, severity: &str, message: &str) -> String {
    format!("{severity} alert {rule} on {sensor}: {message}")
}

impl Knowledge {
    /// Loads the embedding model and the stored vectors and starts the thread; an
    /// error names what is missing (the daemon runs on without knowledge).
    pub fn start(
        c: &KnowledgeConfig,
        tz: jiff::tz::TimeZone,
        reader: Reader,
        writer: mpsc::Sender<WriteOp>,
        alerts: broadcast::Receiver<AlertEvent>,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Knowledge>, KnowledgeError> {
        let embedder = Embedder::load(&c.models_dir.join("all-minilm-l6-v2"))?;
        let mut index = VectorIndex::default();
        for (kind, reference, v) in reader.vectors()? {
            if let Some(k) = Kind::parse(&kind) {
                index.insert(k, reference, &v);
            }
        }
        let index = Arc::new(RwLock::new(index));
        let (tx, rx) = sync_channel(c.embed_queue.max(1));
        let thread_index = index.clone();
        let thread_writer = writer.clone();
        let forward_metrics = metrics.clone();
        std::thread::Builder::new()
            .name("edgewatch-embed".into())
            .spawn(move || run(embedder, rx, thread_index, thread_writer, metrics))
            .map_err(|e| {
                KnowledgeError::Unavailable(format!("cannot start the embedding thread: {e}"))
            })?;
        let k = Arc::new(Knowledge {
            jobs: tx,
            index,
            reader,
            writer: std::sync::Mutex::new(Some(writer)),
            asker: super::ask::Asker::new(c, tz),
        });
        k.backfill();
        tokio::spawn(forward_alerts(alerts, k.jobs.clone(), forward_metrics));
        tokio::spawn(super::summary::run(
            k.reader.clone(),
            k.jobs.clone(),
            super::summary::Windows::from_config(c),
        ));
        Ok(k)
    }

    /// Queues alerts stored without a vector (fired while the queue was full or
    /// before knowledge was on).
    fn backfill(&self) {
        let Ok(rows) = self.reader.alerts_without_vectors(10_000) else {
            return;
        };
        for chunk in rows.chunks(BATCH) {
            let items = chunk.iter().map(row_item).collect();
            if self.jobs.try_send(Job::Alerts(items)).is_err() {
                break;
            }
        }
    }

    /// Embeds texts on the embedding thread.
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, KnowledgeError> {
        let (tx, rx) = oneshot::channel();
        match self.jobs.try_send(Job::Texts(texts, tx)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(KnowledgeError::Busy),
            Err(TrySendError::Disconnected(_)) => {
                return Err(KnowledgeError::Unavailable(
                    "the embedding thread has stopped".into(),
                ))
            }
        }
        rx.await
            .map_err(|_| KnowledgeError::Unavailable("the embedding thread has stopped".into()))?
            .map_err(Into::into)
    }

    /// Nearest stored vectors to `query`.
    pub async fn nearest(
        &self,
        query: &str,
        k: usize,
        kinds: &[Kind],
    ) -> Result<Vec<Hit>, KnowledgeError> {
        let q = self.embed(vec![query.to_owned()]).await?.remove(0);
        let ix = self
            .index
            .read()
            .map_err(|_| KnowledgeError::Unavailable("index poisoned".into()))?;
        Ok(ix.search(&q, k, |kind| kinds.is_empty() || kinds.contains(&kind)))
    }

    /// Splits, embeds and stores a document; returns its id and chunk count.
    pub async fn add_document(
        &self,
        title: &str,
        source: &str,
        text: &str,
    ) -> Result<(i64, usize), KnowledgeError> {
        let chunks = super::chunk::split(text);
        if chunks.is_empty() {
            return Err(KnowledgeError::Unavailable(
                "the document has no text".into(),
            ));
        }
        let mut vectors = Vec::with_capacity(chunks.len());
        for part in chunks.chunks(BATCH) {
            vectors.extend(self.embed(part.to_vec()).await?);
        }
        let (tx, rx) = oneshot::channel();
        let op = KnowledgeOp::AddDocument {
            title: title.to_owned(),
            source: source.to_owned(),
            chunks: chunks.into_iter().zip(vectors.iter().cloned()).collect(),
            reply: Some(tx),
            ids: None,
        };
        self.writer()?
            .send(WriteOp::Knowledge(op))
            .await
            .map_err(|_| KnowledgeError::Unavailable("the store writer has stopped".into()))?;
        let (doc, chunk_ids) = rx
            .await
            .map_err(|_| KnowledgeError::Unavailable("the store writer has stopped".into()))?;
        if let Ok(mut ix) = self.index.write() {
            for (id, v) in chunk_ids.iter().zip(&vectors) {
                ix.insert(Kind::Chunk, id.to_string(), v);
            }
        }
        Ok((doc, chunk_ids.len()))
    }

    /// Deletes a document, its chunks and their vectors; false if there was none.
    pub async fn delete_document(&self, id: i64) -> Result<bool, KnowledgeError> {
        let chunk_ids = self.reader.chunk_ids(id)?;
        let (tx, rx) = oneshot::channel();
        self.writer()?
            .send(WriteOp::Knowledge(KnowledgeOp::DeleteDocument {
                id,
                reply: Some(tx),
                found: false,
            }))
            .await
            .map_err(|_| KnowledgeError::Unavailable("the store writer has stopped".into()))?;
        let found = rx.await.unwrap_or(false);
        if let Ok(mut ix) = self.index.write() {
            for c in chunk_ids {
                ix.remove(Kind::Chunk, &c.to_string());
            }
        }
        Ok(found)
    }

    fn writer(&self) -> Result<mpsc::Sender<WriteOp>, KnowledgeError> {
        self.writer
            .lock()
            .ok()
            .and_then(|w| w.clone())
            .ok_or_else(|| KnowledgeError::Unavailable("shutting down".into()))
    }

    /// Lets the store writer stop: ends the embedding thread (after the jobs
    /// already queued; blocks until it takes the request) and drops this handle's
    /// sender. Call from a blocking context.
    pub fn stop(&self) {
        if let Ok(mut w) = self.writer.lock() {
            w.take();
        }
        let _ = self.jobs.send(Job::Stop);
    }
}

fn row_item(a: &AlertRow) -> (String, String) {
    (
        a.id.clone(),
        alert_text(&a.rule, &a.sensor, &a.severity, &a.message),
    )
}

/// Firing alerts to the embedding thread. One that finds the queue full (or that
/// the broadcast skipped) is counted and embedded at the next start's backfill.
async fn forward_alerts(
    mut alerts: broadcast::Receiver<AlertEvent>,
    jobs: SyncSender<Job>,
    metrics: Arc<Metrics>,
) {
    loop {
        match alerts.recv().await {
            Ok(e) if e.state == AlertState::Firing => {
                let text = alert_text(&e.rule, &e.sensor, e.severity.as_str(), &e.message);
                match jobs.try_send(Job::Alerts(vec![(e.id, text)])) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => {
                        metrics.alert_embeddings_deferred.inc();
                    }
                    Err(TrySendError::Disconnected(_)) => break,
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                metrics.alert_embeddings_deferred.inc_by(n);
            }
            Ok(_) => {}
            Err(broadcast::error::RecvError::Closed) => break,
        }
    }
}

fn run(
    embedder: Embedder,
    rx: Receiver<Job>,
    index: Arc<RwLock<VectorIndex>>,
    writer: mpsc::Sender<WriteOp>,
    metrics: Arc<Metrics>,
) {
    let answer = |texts: Vec<String>, reply: oneshot::Sender<Result<Vec<Vec<f32>>, EmbedError>>| {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let _ = reply.send(embedder.embed(&refs));
    };
    let store = |op: KnowledgeOp| writer.blocking_send(WriteOp::Knowledge(op)).is_ok();
    // A summary, prune or stop job met while gathering a burst of alerts waits
    // here for its turn.
    let mut next: Option<Job> = None;
    loop {
        let job = match next.take() {
            Some(job) => job,
            None => match rx.recv() {
                Ok(job) => job,
                Err(_) => break,
            },
        };
        let stored = match job {
            Job::Stop => break,
            Job::Texts(texts, reply) => {
                answer(texts, reply);
                true
            }
            Job::Alerts(mut pending) => {
                // Take whatever alerts are already queued: one pass for a burst.
                while pending.len() < BATCH {
                    match rx.try_recv() {
                        Ok(Job::Alerts(more)) => pending.extend(more),
                        // A query does not wait for the burst (as before summaries).
                        Ok(Job::Texts(texts, reply)) => answer(texts, reply),
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let texts: Vec<&str> = pending.iter().map(|(_, t)| t.as_str()).collect();
                match embedder.embed(&texts) {
                    Ok(vectors) => {
                        if let Ok(mut ix) = index.write() {
                            for ((id, _), v) in pending.iter().zip(&vectors) {
                                ix.insert(Kind::Alert, id.clone(), v);
                            }
                        }
                        metrics.alerts_embedded.inc_by(vectors.len() as u64);
                        let rows = pending
                            .into_iter()
                            .zip(vectors)
                            .map(|((id, _), vector)| VectorRow {
                                kind: KIND_ALERT,
                                reference: id,
                                vector,
                            })
                            .collect();
                        store(KnowledgeOp::Vectors(rows))
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot embed alerts");
                        true
                    }
                }
            }
            Job::Summaries(rows, reply) => {
                let texts: Vec<String> = rows.iter().map(Summary::text).collect();
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                match embedder.embed(&refs) {
                    Ok(vectors) => {
                        if let Ok(mut ix) = index.write() {
                            for (s, v) in rows.iter().zip(&vectors) {
                                ix.insert(Kind::Summary, s.reference(), v);
                            }
                        }
                        metrics.summaries_embedded.inc_by(vectors.len() as u64);
                        store(KnowledgeOp::Summaries {
                            rows: rows.into_iter().zip(vectors).collect(),
                            reply: Some(reply),
                        })
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot embed summaries");
                        true
                    }
                }
            }
            Job::PruneSummaries(before_ms) => {
                if let Ok(mut ix) = index.write() {
                    let old = ix.references(Kind::Summary, |r| {
                        Summary::parse_reference(r).is_some_and(|(_, start)| start < before_ms)
                    });
                    for r in old {
                        ix.remove(Kind::Summary, &r);
                    }
                }
                store(KnowledgeOp::PruneSummaries { before_ms })
            }
        };
        if !stored {
            break;
        }
    }
}
