//! The API's accept loop, with the limits `axum::serve` lacks: a cap on open
//! connections (one over it is answered 503 and closed at once, so idle clients
//! can never take the descriptors sources and the store need) and a timeout on
//! each request head, idle keep-alive included (hyper's header-read timer runs
//! whenever the connection waits for a request).
//!
//! Connections are tasks of the serve task itself (a `JoinSet`), so when it
//! ends after the graceful second, what is still open is cut off with it
//! instead of holding the API's stop stage to the deadline.

use crate::shutdown::Tasks;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
}

/// What a connection over the cap gets before it is closed.
fn busy() -> Vec<u8> {
    let body = r#"{"error":"too many open API connections: close idle ones, or raise api.max-connections"}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serves `app` until the API stage is told to stop, then lets open requests
/// finish for a second.
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, stage: Tasks) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut refused = 0u64;
    loop {
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            _ = stage.stopping() => break,
            r = listener.accept() => r,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                // Out of descriptors, most likely: wait instead of spinning.
                tracing::warn!(error = %e, "api cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(
                    refused,
                    max = limits.max_connections,
                    "api connection refused: api.max-connections are open"
                );
            }
            connections.spawn(async move {
                let mut tcp = tcp;
                let _ = tokio::time::timeout(Duration::from_secs(1), tcp.write_all(&busy())).await;
            });
            continue;
        };
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        let conn = http.serve_connection(TokioIo::new(tcp), TowerToHyperService::new(app.clone()));
        let conn = graceful.watch(conn);
        connections.spawn(async move {
            let _ = conn.await;
            drop(slot);
        });
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), graceful.shutdown()).await;
}
