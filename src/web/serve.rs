//! The HTTP server's accept loop: axum's router on hyper, with the limits an edge box needs to
//! survive slow or hostile clients (issue 12, finding 4), which `axum::serve` does not offer:
//! - a header read timeout, which also closes kept-alive connections idle that long;
//! - a body timeout (the longest pause inside a request body);
//! - a limit on open connections: past it a new connection is closed at once and counted, so a
//!   flood of half-sent requests can hold at most that many file descriptors, each for at most
//!   the header timeout.
//!
//! Live event streams (`/events`) are responses: once their headers are read no timeout applies;
//! they send their own heartbeat.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::connect_info::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tracing::{debug, warn};

use crate::metrics::Metrics;

/// The server's limits (from `[gateway]`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Header read and keep-alive idle timeout.
    pub header_timeout: Duration,
    /// Longest pause inside a request body.
    pub body_timeout: Duration,
    /// Most connections at once.
    pub max_connections: usize,
}

/// Serves `app` on `listener` until `shutdown` is cancelled, then waits for open connections
/// to finish (the caller bounds that wait).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = app.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        limits.body_timeout,
    ));
    // HTTP/1.1 only: a reverse proxy in front speaks HTTP/2 to browsers if wanted. (The
    // version-sniffing auto builder reads its first bytes with no timeout at all.) The header
    // timer runs from the connection's start, so a client that sends nothing is closed too.
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    // Owned here: when the caller gives up waiting and drops this future, every connection ends.
    let mut connections = JoinSet::new();
    let mut refused_logged: Option<tokio::time::Instant> = None;
    loop {
        // Reap finished connection tasks so the set does not grow.
        while connections.try_join_next().is_some() {}
        let (stream, remote) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors (EMFILE) or a connection reset before accept:
                    // wait a moment instead of spinning, as hyper's and axum's loops do.
                    debug!(error = %e, "HTTP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            drop(stream);
            metrics.http_connection_refused();
            let now = tokio::time::Instant::now();
            if refused_logged.is_none_or(|t| now.duration_since(t) >= Duration::from_secs(60)) {
                refused_logged = Some(now);
                warn!(%remote, max_connections = limits.max_connections, "HTTP connection limit reached; closing new connections until some end (logged once a minute)");
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = app.clone();
        let service = TowerToHyperService::new(router.map_request(
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(remote));
                req
            },
        ));
        // No upgrades: the UI uses server-sent events, not WebSockets.
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        connections.spawn(async move {
            if let Err(e) = conn.await {
                debug!(%remote, error = %e, "HTTP connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    connections.shutdown().await;
    Ok(())
}
