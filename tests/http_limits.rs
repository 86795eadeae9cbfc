//! Issue 12, finding 4: hostile clients. Half-sent requests are closed after the header
//! timeout, connections past the limit are closed at once, and `/healthz` stays reachable;
//! a live event stream is a response, not a slow request, and stays open past the timeout.

mod common;

use std::time::Duration;

use common::{TestGateway, wait_for};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LIMIT: Duration = Duration::from_secs(20);

const CONFIG: &str =
    "[gateway]\ndatabase = \"h.db\"\nheader_timeout = \"1s\"\nmax_connections = 20\n";

/// Opens a connection and sends half a request (the headers never end).
async fn half_sent(gw: &TestGateway) -> TcpStream {
    let mut s = TcpStream::connect(gw.gateway.http_addr)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let _ = s
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await;
    s
}

/// Whether the server closed `s` (EOF, a reset, or a 408 and then EOF) within `within`.
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 512];
    let read = async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, read).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_are_closed_and_healthz_stays_reachable() {
    let gw = TestGateway::start(CONFIG).await;
    let mut slow = Vec::new();
    for _ in 0..60 {
        slow.push(half_sent(&gw).await);
    }
    // Past the limit, new connections were closed at once and counted.
    let text = wait_for("refusals counted", LIMIT, || async {
        let r = reqwest::get(format!("{}/metrics", gw.base)).await.ok()?;
        let text = r.text().await.ok()?;
        let refused: f64 = text
            .lines()
            .find(|l| l.starts_with("plcdiag_http_connections_refused_total "))?
            .rsplit(' ')
            .next()?
            .parse()
            .ok()?;
        (refused >= 1.0).then_some(text)
    })
    .await;
    assert!(text.contains("plcdiag_http_connections_refused_total"));
    // Once the header timeout has closed the half-sent requests, /healthz answers.
    let (status, body) = wait_for("healthz", LIMIT, || async {
        let r = reqwest::get(format!("{}/healthz", gw.base)).await.ok()?;
        let status = r.status().as_u16();
        Some((status, r.text().await.unwrap_or_default()))
    })
    .await;
    assert_eq!(status, 200, "{body}");
    // Every half-sent request was closed by the server.
    for s in &mut slow {
        assert!(
            closed_within(s, LIMIT).await,
            "a half-sent request stayed open"
        );
    }
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_is_closed_but_an_event_stream_stays_open() {
    let gw = TestGateway::start(CONFIG).await;
    // A complete request on a kept-alive connection, then nothing.
    let mut idle = TcpStream::connect(gw.gateway.http_addr)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        closed_within(&mut idle, LIMIT).await,
        "idle connection kept open"
    );

    let mut events = TcpStream::connect(gw.gateway.http_addr)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    events
        .write_all(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut head = [0u8; 256];
    let n = events.read(&mut head).await.unwrap_or(0);
    assert!(
        String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&head[..n])
    );
    // Three header timeouts later the stream is still open.
    assert!(
        !closed_within(&mut events, Duration::from_secs(3)).await,
        "the event stream was closed by the header timeout"
    );
    drop(events);
    gw.stop().await;
}

/// A client that connects and sends nothing at all is closed after the header timeout too
/// (a server that first sniffs the HTTP version would wait for its bytes forever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let gw = TestGateway::start(CONFIG).await;
    let mut silent = Vec::new();
    for _ in 0..30 {
        silent.push(
            TcpStream::connect(gw.gateway.http_addr)
                .await
                .unwrap_or_else(|e| panic!("connect: {e}")),
        );
    }
    for s in &mut silent {
        assert!(
            closed_within(s, LIMIT).await,
            "a silent connection stayed open"
        );
    }
    let (status, _) = gw.get_json("/healthz").await;
    assert_eq!(status, 200);
    gw.stop().await;
}
