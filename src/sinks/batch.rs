//! The delivery loop of sinks that send rows in batches (webhooks, files): lease
//! in order, send, report delivered, and on failure retry the same rows with
//! jittered exponential backoff (or the receiver's Retry-After) behind a circuit
//! breaker. Order is kept because nothing later is sent before a batch succeeds.

use super::breaker::Breaker;
use super::retry::RetryConfig;
use super::OutboxHandle;
use crate::backoff::Backoff;
use crate::internal_events::{emit, SinkDeliveringAgain, SinkSendFailed};
use crate::store::OutboxRow;
use std::future::Future;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Why a send failed, and how much of it got through first.
#[derive(Debug)]
pub struct Failure {
    /// Leading rows that were acknowledged before the failure.
    pub delivered: usize,
    pub message: String,
    /// The receiver asked to wait this long (HTTP Retry-After).
    pub retry_after: Option<Duration>,
    /// The receiver refused the request as too large (HTTP 413): smaller
    /// batches are tried, and a single item it refuses goes to the dead letters.
    pub too_large: bool,
}

impl Failure {
    /// A failure before anything got through, with no hint from the receiver.
    pub fn new(message: String) -> Self {
        Failure {
            delivered: 0,
            message,
            retry_after: None,
            too_large: false,
        }
    }
}

pub trait Deliver: Send {
    /// Sends `rows` in order; `Ok` once the receiver acknowledged all of them.
    fn send<'a>(
        &'a mut self,
        rows: &'a [OutboxRow],
    ) -> impl Future<Output = Result<(), Failure>> + Send + 'a;
}

pub async fn run<D: Deliver>(
    mut outbox: OutboxHandle,
    retry: &RetryConfig,
    mut sender: D,
    shutdown: CancellationToken,
) {
    let mut backoff = Backoff::new(retry.min, retry.max, 0.5);
    let mut breaker = Breaker::new(retry.breaker_failures, retry.breaker_open_for);
    let mut cursor = 0u64;
    let mut rows: Vec<OutboxRow> = Vec::new();
    let mut failures = 0u64;
    // Items per request: halved while the receiver answers "too large".
    let mut limit = usize::MAX;
    let sleep = |d: Duration| {
        let s = shutdown.clone();
        async move {
            tokio::select! {
                _ = s.cancelled() => false,
                _ = tokio::time::sleep(d) => true,
            }
        }
    };
    while !shutdown.is_cancelled() {
        if rows.is_empty() {
            rows = outbox.lease(cursor, outbox.batch).await;
            if rows.is_empty() {
                if !outbox.wait_for_more(cursor, &shutdown).await {
                    break;
                }
                continue;
            }
        }
        if let Err(wait) = breaker.allow(Instant::now()) {
            outbox.metrics.breaker.set(breaker.gauge());
            if !sleep(wait).await {
                break;
            }
            continue;
        }
        outbox.metrics.breaker.set(breaker.gauge());
        // A half-open breaker probes with one item: a dead endpoint costs little.
        let n = if breaker.is_half_open() {
            1
        } else {
            rows.len().min(limit)
        };
        let started = Instant::now();
        let result = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = sender.send(&rows[..n]) => r,
        };
        let done = match &result {
            Ok(()) => n,
            Err(f) => f.delivered.min(n),
        };
        if done > 0 {
            let last = rows[done - 1].seq;
            outbox.delivered(last).await;
            cursor = last;
            rows.drain(..done);
            outbox.metrics.sent.inc_by(done as u64);
            outbox
                .metrics
                .send_latency_us
                .record(started.elapsed().as_micros() as u64);
        }
        if let Err(f) = &result {
            if f.too_large && done < n {
                if n - done > 1 {
                    limit = ((n - done) / 2).max(1);
                } else {
                    let row = rows.remove(done);
                    cursor = cursor.max(row.seq);
                    let reason = format!("the receiver refused it as too large: {}", f.message);
                    outbox.dead_letter(row.seq, reason).await;
                }
                continue;
            }
        }
        match result {
            Ok(()) => {
                limit = usize::MAX;
                emit(SinkDeliveringAgain {
                    metrics: &outbox.metrics,
                    after_failures: failures,
                });
                failures = 0;
                breaker.success();
                backoff.reset();
            }
            Err(f) => {
                failures += 1;
                let opened = breaker.failure(Instant::now());
                let delay = backoff.next_delay().max(f.retry_after.unwrap_or_default());
                emit(SinkSendFailed {
                    metrics: &outbox.metrics,
                    error: f.message,
                    failures,
                    retry_in: delay,
                    breaker_open: opened,
                    breaker_gauge: breaker.gauge(),
                });
                if !sleep(delay).await {
                    break;
                }
            }
        }
    }
}
