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
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
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
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_timeout));
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut refused_logged: Option<tokio::time::Instant> = None;
    loop {
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
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                debug!(%remote, error = %e, "HTTP connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
