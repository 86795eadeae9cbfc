//! End to end: rows committed through the store's alarm transaction, delivered by the notifier
//! to a small axum receiver on 127.0.0.1:0 that answers from a script.
//!
//! Tests run in paused tokio time, so backoff, `Retry-After` and the rate limit cost no real
//! time. Paused time auto-advances to the next timer whenever the runtime has nothing ready,
//! also while a socket or SQLite's worker thread has not answered yet; left alone, it would
//! jump over a request's or the pool's timeout while a loaded machine is merely slow. So a
//! [`Ticker`] keeps a timer 10 ms ahead and spends 250 µs of real time per tick: the paused
//! clock then runs at most 40 times faster than real time, and receivers in these tests get a
//! one-day request timeout. No assertion depends on how fast the clock runs.

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::metrics::Metrics;
use crate::notify::testkit::{change, notice};
use crate::rules::Notice;
use crate::store::Store;
use crate::store::outbox::OutboxCounts;

/// One request the test receiver got.
#[derive(Debug, Clone)]
struct Got {
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    at: Instant,
}

impl Got {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }

    /// The journal ids of a webhook body's alerts, in order.
    fn journal_ids(&self) -> Vec<i64> {
        let v = self.json();
        v["alerts"]
            .as_array()
            .unwrap_or_else(|| panic!("no alerts: {v}"))
            .iter()
            .filter_map(|a| a["annotations"]["journal_id"].as_str())
            .filter_map(|s| s.parse().ok())
            .collect()
    }
}

/// An answer from the script.
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn reply(status: u16, body: &str) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body: body.to_owned(),
    }
}

struct Shared {
    script: Mutex<VecDeque<Reply>>,
    otherwise: Reply,
    got: Mutex<Vec<Got>>,
}

/// A receiver on 127.0.0.1:0 that records every request and answers from `script`, then with
/// `otherwise`.
struct TestReceiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl TestReceiver {
    async fn start(script: Vec<Reply>, otherwise: Reply) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let shared = Arc::new(Shared {
            script: Mutex::new(script.into()),
            otherwise,
            got: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(answer).with_state(shared.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, shared }
    }

    fn url(&self, path: &str) -> Secret {
        Secret::new(format!("http://{}{path}", self.addr))
    }

    fn got(&self) -> Vec<Got> {
        self.shared
            .got
            .lock()
            .map(|g| g.clone())
            .unwrap_or_default()
    }
}

async fn answer(
    State(s): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Ok(mut got) = s.got.lock() {
        got.push(Got {
            uri,
            headers,
            body,
            at: Instant::now(),
        });
    }
    let r = s
        .script
        .lock()
        .ok()
        .and_then(|mut q| q.pop_front())
        .unwrap_or_else(|| s.otherwise.clone());
    let mut h = HeaderMap::new();
    for (k, v) in &r.headers {
        if let Ok(v) = v.parse() {
            h.insert(*k, v);
        }
    }
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, h, r.body).into_response()
}

/// Keeps a timer 10 ms ahead and slows the paused clock to at most 40 times real time, for as
/// long as it lives (see the module doc).
struct Ticker(tokio::task::JoinHandle<()>);

impl Ticker {
    fn start() -> Self {
        Self(tokio::spawn(async {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                // Deliberately blocking: this is what lets real work (SQLite, sockets) keep up.
                std::thread::sleep(Duration::from_micros(250));
            }
        }))
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn open_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open(&dir.path().join("plcdiag.db"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (dir, store)
}

/// Commits `notices` in one alarm transaction, each with an outbox row for `receiver`, and
/// returns their journal ids.
async fn commit(store: &Store, notices: Vec<Notice>, receiver: &str) -> Vec<i64> {
    let mut changes: Vec<_> = notices
        .into_iter()
        .map(|n| change(n, &[receiver]))
        .collect();
    store
        .commit_alarm_changes(&mut changes)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    changes.iter().map(|c| c.notice.journal_id).collect()
}

async fn counts(store: &Store, receiver: &str) -> OutboxCounts {
    store
        .outbox_counts(receiver)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Polls `check` every 10 ms of (paused) time, for at most 10 minutes of it.
async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..60_000 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("gave up waiting for {what}");
}

/// A request timeout that paused time cannot reach by accident (see the module doc).
const PATIENT: Duration = Duration::from_secs(86_400);

/// A webhook that never gives up (the notices here are dated [`t0`], months ago).
fn webhook(name: &str, url: Secret) -> ReceiverConfig {
    let mut r = ReceiverConfig::defaults(name, ReceiverKind::Webhook, url);
    r.timeout = PATIENT;
    r.max_age = Duration::ZERO;
    r
}

fn start(store: &Store, receivers: Vec<ReceiverConfig>, metrics: &Metrics) -> Notifier {
    spawn(
        store.clone(),
        receivers.into_iter().map(Arc::new).collect(),
        metrics.clone(),
        CancellationToken::new(),
    )
}

#[tokio::test(start_paused = true)]
async fn a_flaky_webhook_gets_every_notice_in_order_under_one_key_per_batch() {
    let _ticker = Ticker::start();
    let (_dir, store) = open_store().await;
    let mut retry_after = reply(429, "slow down");
    retry_after.headers.push(("retry-after", "3".into()));
    let rx = TestReceiver::start(
        vec![reply(500, "oops"), reply(500, "oops"), retry_after],
        reply(200, ""),
    )
    .await;
    let first = commit(
        &store,
        vec![
            notice(1, "press-07", Transition::Raised),
            notice(1, "press-07", Transition::Acknowledged),
            notice(2, "press-08", Transition::Raised),
        ],
        "ops",
    )
    .await;
    let mut r = webhook("ops", rx.url("/hook"));
    r.secret = Some(Secret::new("hook-secret"));
    let metrics = Metrics::new();
    let notifier = start(&store, vec![r], &metrics);
    wait_for("the first batch delivered", || async {
        counts(&store, "ops").await.delivered == 3
    })
    .await;

    let second = commit(
        &store,
        vec![
            notice(1, "press-07", Transition::Cleared),
            notice(2, "press-08", Transition::Acknowledged),
        ],
        "ops",
    )
    .await;
    notifier.wake();
    wait_for("the second batch delivered", || async {
        counts(&store, "ops").await.delivered == 5
    })
    .await;
    notifier.stop().await;

    let got = rx.got();
    assert_eq!(
        got.len(),
        5,
        "500, 500, 429, 200, then 200 for the second batch"
    );
    // The four attempts at the first batch carry the same rows under the same key.
    for g in &got[..4] {
        assert_eq!(g.header("idempotency-key"), "ops-1-3");
        assert_eq!(g.journal_ids(), first);
        assert_eq!(g.uri.path(), "/hook");
        assert_eq!(
            g.header("x-plcdiag-signature"),
            sign::webhook_signature(
                "hook-secret",
                g.header("x-plcdiag-timestamp").parse().unwrap_or_default(),
                &g.body
            )
        );
    }
    assert_eq!(got[4].header("idempotency-key"), "ops-4-5");
    assert_eq!(got[4].journal_ids(), second);
    assert_eq!(got[4].json()["status"], "firing");
    // Backoff (at least half of 1 s, then of 2 s) and the receiver's Retry-After were waited.
    let gap = |i: usize| got[i + 1].at.duration_since(got[i].at);
    assert!(gap(0) >= Duration::from_millis(500), "{:?}", gap(0));
    assert!(gap(1) >= Duration::from_secs(1), "{:?}", gap(1));
    assert!(gap(2) >= Duration::from_secs(3), "{:?}", gap(2));

    assert_eq!(
        counts(&store, "ops").await,
        OutboxCounts {
            pending: 0,
            delivered: 5,
            dead: 0
        }
    );
    let m = metrics.notify_counts("ops");
    assert_eq!((m.delivered, m.retried, m.dead_lettered), (5, 3, 0));
}

#[tokio::test(start_paused = true)]
async fn a_rejected_batch_is_dead_lettered_with_its_reason_and_the_next_rows_still_go() {
    let _ticker = Ticker::start();
    let (_dir, store) = open_store().await;
    let rx = TestReceiver::start(vec![reply(400, "missing field `alerts`")], reply(200, "")).await;
    let metrics = Metrics::new();
    let notifier = start(&store, vec![webhook("ops", rx.url("/"))], &metrics);
    let rejected = commit(
        &store,
        vec![notice(1, "press-07", Transition::Raised)],
        "ops",
    )
    .await;
    notifier.wake();
    wait_for("the dead letter", || async {
        counts(&store, "ops").await.dead == 1
    })
    .await;
    let next = commit(
        &store,
        vec![notice(2, "press-08", Transition::Raised)],
        "ops",
    )
    .await;
    notifier.wake();
    wait_for("the next row delivered", || async {
        counts(&store, "ops").await.delivered == 1
    })
    .await;
    notifier.stop().await;

    let got = rx.got();
    assert_eq!(got.len(), 2, "a rejection is not retried");
    assert_eq!(got[0].journal_ids(), rejected);
    assert_eq!(got[1].journal_ids(), next);
    let dead = store
        .outbox_dead_letters("ops", 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].journal_id, rejected[0]);
    assert_eq!(dead[0].reason, "HTTP 400: missing field `alerts`");
    let m = metrics.notify_counts("ops");
    assert_eq!((m.delivered, m.retried, m.dead_lettered), (1, 0, 1));
}

#[tokio::test(start_paused = true)]
async fn a_refused_batch_is_resent_one_by_one_so_only_the_refused_notice_is_dead_lettered() {
    let _ticker = Ticker::start();
    let (_dir, store) = open_store().await;
    // The batch of three is refused, then the singles: ok, refused, ok.
    let rx = TestReceiver::start(
        vec![
            reply(400, "bad alert"),
            reply(200, ""),
            reply(400, "bad alert"),
        ],
        reply(200, ""),
    )
    .await;
    let metrics = Metrics::new();
    let ids = commit(
        &store,
        vec![
            notice(1, "press-07", Transition::Raised),
            notice(2, "press-08", Transition::Raised),
            notice(3, "press-09", Transition::Raised),
        ],
        "ops",
    )
    .await;
    let notifier = start(&store, vec![webhook("ops", rx.url("/"))], &metrics);
    notifier.wake();
    wait_for("every row settled", || async {
        let c = counts(&store, "ops").await;
        c.delivered == 2 && c.dead == 1
    })
    .await;
    notifier.stop().await;
    let got = rx.got();
    let sent: Vec<Vec<i64>> = got.iter().map(Got::journal_ids).collect();
    assert_eq!(
        sent,
        vec![ids.clone(), vec![ids[0]], vec![ids[1]], vec![ids[2]],]
    );
    let dead = store
        .outbox_dead_letters("ops", 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].journal_id, ids[1]);
}

#[tokio::test(start_paused = true)]
async fn an_unreadable_outbox_row_is_dead_lettered_alone_and_does_not_block_the_queue() {
    let _ticker = Ticker::start();
    let (dir, store) = open_store().await;
    let rx = TestReceiver::start(Vec::new(), reply(200, "")).await;
    let mut journal = Vec::new();
    for i in 1..=3 {
        journal.extend(
            commit(
                &store,
                vec![notice(i, "press-07", Transition::Raised)],
                "ops",
            )
            .await,
        );
    }
    // Damage the second row behind the store's back.
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("plcdiag.db").display()
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let damaged =
        sqlx::query("UPDATE outbox SET payload = '{\"journal_id\": tru' WHERE journal_id = ?")
            .bind(journal[1])
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(damaged.rows_affected(), 1);
    pool.close().await;

    let metrics = Metrics::new();
    let notifier = start(&store, vec![webhook("ops", rx.url("/"))], &metrics);
    wait_for("the readable rows delivered", || async {
        counts(&store, "ops").await
            == OutboxCounts {
                pending: 0,
                delivered: 2,
                dead: 1,
            }
    })
    .await;
    notifier.stop().await;

    let delivered: Vec<i64> = rx.got().iter().flat_map(Got::journal_ids).collect();
    assert_eq!(delivered, [journal[0], journal[2]]);
    let dead = store
        .outbox_dead_letters("ops", 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].journal_id, journal[1]);
    assert!(
        dead[0].reason.starts_with("unreadable outbox payload"),
        "{}",
        dead[0].reason
    );
    assert_eq!(metrics.notify_counts("ops").dead_lettered, 1);
}

#[tokio::test(start_paused = true)]
async fn after_a_restart_the_interrupted_batch_goes_first_under_the_same_key() {
    let _ticker = Ticker::start();
    let (_dir, store) = open_store().await;
    let down = TestReceiver::start(Vec::new(), reply(503, "maintenance")).await;
    let first = commit(
        &store,
        vec![
            notice(1, "press-07", Transition::Raised),
            notice(2, "press-08", Transition::Raised),
        ],
        "ops",
    )
    .await;
    let metrics = Metrics::new();
    let notifier = start(&store, vec![webhook("ops", down.url("/"))], &metrics);
    wait_for("two failed attempts", || async { down.got().len() >= 2 }).await;
    // Stopping while backing off returns, leaving the rows pending with their key.
    notifier.stop().await;
    let key = down.got()[0].header("idempotency-key").to_owned();
    assert_eq!(key, "ops-1-2");
    let later = commit(
        &store,
        vec![notice(1, "press-07", Transition::Cleared)],
        "ops",
    )
    .await;
    assert_eq!(counts(&store, "ops").await.pending, 3);

    let up = TestReceiver::start(Vec::new(), reply(200, "")).await;
    let notifier = start(&store, vec![webhook("ops", up.url("/"))], &metrics);
    wait_for("everything delivered", || async {
        counts(&store, "ops").await.delivered == 3
    })
    .await;
    notifier.stop().await;
    let got = up.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].header("idempotency-key"), key);
    assert_eq!(got[0].journal_ids(), first);
    assert_eq!(got[1].header("idempotency-key"), "ops-3-3");
    assert_eq!(got[1].journal_ids(), later);
}

#[tokio::test(start_paused = true)]
async fn thirty_notices_to_a_robot_limited_to_twenty_a_minute_arrive_as_a_few_digests() {
    let _ticker = Ticker::start();
    let (_dir, store) = open_store().await;
    let rx = TestReceiver::start(Vec::new(), reply(200, r#"{"errcode":0,"errmsg":"ok"}"#)).await;
    let mut r = ReceiverConfig::defaults(
        "robot",
        ReceiverKind::DingTalk,
        rx.url("/robot/send?access_token=T0KEN"),
    );
    r.secret = Some(Secret::new("SECrobot"));
    r.group_wait = Duration::ZERO;
    r.timeout = PATIENT;
    assert_eq!(r.rate_per_minute, 20);
    let metrics = Metrics::new();
    let notifier = start(&store, vec![r], &metrics);
    // One notice at a time, 100 ms apart: without the limit each would be its own message.
    for i in 1..=30 {
        commit(
            &store,
            vec![notice(i, &format!("press-{i:02}"), Transition::Raised)],
            "robot",
        )
        .await;
        notifier.wake();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for("all 30 delivered", || async {
        counts(&store, "robot").await.delivered == 30
    })
    .await;
    notifier.stop().await;

    let got = rx.got();
    assert!(got.len() < 30, "{} messages", got.len());
    // Every notice is listed once, in order, across the digests.
    let mut devices = Vec::new();
    for g in &got {
        let v = g.json();
        assert_eq!(v["msgtype"], "markdown");
        let text = v["markdown"]["text"].as_str().unwrap_or("");
        assert!(!text.contains("more not listed"), "{text}");
        devices.extend(
            text.lines()
                .filter_map(|l| l.split(" · ").next())
                .filter_map(|l| l.strip_prefix("- **HIGH** "))
                .map(str::to_owned),
        );
        // Each request is signed for DingTalk, and the token stays in the URL.
        let q: Vec<(String, String)> = url_pairs(&g.uri);
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("access_token"), Some("T0KEN"));
        let ts: i64 = get("timestamp").and_then(|t| t.parse().ok()).unwrap_or(0);
        assert_eq!(
            get("sign"),
            Some(sign::dingtalk_sign("SECrobot", ts).as_str())
        );
    }
    let expected: Vec<String> = (1..=30).map(|i| format!("press-{i:02}")).collect();
    assert_eq!(devices, expected);
    // No minute of (paused) time saw more than 20 requests.
    for (i, g) in got.iter().enumerate() {
        let in_minute = got[i..]
            .iter()
            .take_while(|h| h.at.duration_since(g.at) < Duration::from_secs(60))
            .count();
        assert!(in_minute <= 20, "{in_minute} requests within a minute");
    }
    assert_eq!(metrics.notify_counts("robot").delivered, 30);
}

fn url_pairs(uri: &Uri) -> Vec<(String, String)> {
    let url = format!("http://x{uri}");
    reqwest::Url::parse(&url)
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_test_send_reports_what_the_receiver_answered() {
    let rx = TestReceiver::start(
        vec![reply(
            200,
            r#"{"errcode":310000,"errmsg":"keywords not in content"}"#,
        )],
        reply(200, ""),
    )
    .await;
    let client = http_client().unwrap_or_else(|e| panic!("{e}"));
    let robot = ReceiverConfig::defaults(
        "robot",
        ReceiverKind::DingTalk,
        rx.url("/robot/send?access_token=T"),
    );
    let reply = send_test(&robot, &client)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains("keywords not in content"));
    assert!(
        matches!(reply.delivery, Delivery::Reject { .. }),
        "{reply:?}"
    );

    let hook = webhook("ops", rx.url("/hook"));
    let reply = send_test(&hook, &client)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.delivery, Delivery::Delivered);
    let got = rx.got();
    assert_eq!(got.len(), 2);
    let body = got[1].json();
    assert_eq!(body["alerts"][0]["labels"]["alertname"], "plcdiag_test");
    assert!(got[1].header("idempotency-key").starts_with("ops-test-"));
}

#[tokio::test]
async fn a_test_send_to_a_closed_port_fails_without_showing_the_token() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    drop(listener);
    let client = http_client().unwrap_or_else(|e| panic!("{e}"));
    let robot = ReceiverConfig::defaults(
        "robot",
        ReceiverKind::WeCom,
        Secret::new(format!("http://{addr}/cgi-bin/webhook/send?key=SECRET-KEY")),
    );
    match send_test(&robot, &client).await {
        Ok(r) => panic!("answered: {r:?}"),
        Err(e) => {
            let text = e.to_string();
            assert!(!text.contains("SECRET-KEY"), "{text}");
            assert!(text.contains(&format!("http://{addr}")), "{text}");
        }
    }
}

/// Issue 12: a receiver that keeps failing cannot hold its later notices forever. Past
/// `max_attempts` (or `max_age`) the notice is dead-lettered with the reason, and the notices
/// after it go out in order.
#[tokio::test(start_paused = true)]
async fn a_notice_the_receiver_keeps_failing_is_given_up_and_the_next_ones_go_out() {
    let _ticker = Ticker::start();
    let (_dir, store) = open_store().await;
    let rx = TestReceiver::start(
        vec![reply(503, ""), reply(503, ""), reply(503, "")],
        reply(200, ""),
    )
    .await;
    let metrics = Metrics::new();
    let first = commit(
        &store,
        vec![notice(1, "press-07", Transition::Raised)],
        "ops",
    )
    .await;
    let mut receiver = webhook("ops", rx.url("/"));
    receiver.max_attempts = 3;
    let notifier = start(&store, vec![receiver], &metrics);
    notifier.wake();
    wait_for("the first notice given up", || async {
        counts(&store, "ops").await.dead == 1
    })
    .await;
    let next = commit(
        &store,
        vec![notice(2, "press-07", Transition::Cleared)],
        "ops",
    )
    .await;
    notifier.wake();
    wait_for("the next notice delivered", || async {
        counts(&store, "ops").await.delivered == 1
    })
    .await;
    notifier.stop().await;
    let sent: Vec<Vec<i64>> = rx.got().iter().map(Got::journal_ids).collect();
    assert_eq!(
        sent,
        vec![first.clone(), first.clone(), first.clone(), next]
    );
    let dead = store
        .outbox_dead_letters("ops", 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].journal_id, first[0]);
    assert!(
        dead[0]
            .reason
            .starts_with("given up after 3 failed attempts"),
        "{}",
        dead[0].reason
    );
    assert_eq!(metrics.notify_counts("ops").dead_lettered, 1);
}

#[tokio::test(start_paused = true)]
async fn a_notice_older_than_max_age_is_given_up_after_one_retry() {
    let _ticker = Ticker::start();
    let (_dir, store) = open_store().await;
    let rx = TestReceiver::start(vec![], reply(500, "")).await;
    let metrics = Metrics::new();
    // Dated months ago: past a max_age of a day at its first failure.
    commit(
        &store,
        vec![notice(1, "press-07", Transition::Raised)],
        "ops",
    )
    .await;
    let mut receiver = webhook("ops", rx.url("/"));
    receiver.max_age = Duration::from_secs(24 * 3600);
    let notifier = start(&store, vec![receiver], &metrics);
    notifier.wake();
    wait_for("given up", || async {
        counts(&store, "ops").await.dead == 1
    })
    .await;
    notifier.stop().await;
    assert_eq!(rx.got().len(), 2, "tried, retried once, then given up");
    let dead = store
        .outbox_dead_letters("ops", 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        dead[0].reason.contains("max_age 1day"),
        "{}",
        dead[0].reason
    );
}

/// Giving up on old notices does not take the young ones of the same batch with them.
#[tokio::test(start_paused = true)]
async fn only_the_notices_past_max_age_are_given_up_the_rest_of_the_batch_goes_on() {
    let _ticker = Ticker::start();
    let (_dir, store) = open_store().await;
    let rx = TestReceiver::start(vec![reply(500, ""), reply(500, "")], reply(200, "")).await;
    let metrics = Metrics::new();
    let old = notice(1, "press-07", Transition::Raised);
    let mut young = notice(2, "press-08", Transition::Raised);
    young.at = chrono::Utc::now();
    let ids = commit(&store, vec![old, young], "ops").await;
    let mut receiver = webhook("ops", rx.url("/"));
    receiver.max_age = Duration::from_secs(24 * 3600);
    let notifier = start(&store, vec![receiver], &metrics);
    notifier.wake();
    wait_for("settled", || async {
        let c = counts(&store, "ops").await;
        c.dead == 1 && c.delivered == 1
    })
    .await;
    notifier.stop().await;
    let sent: Vec<Vec<i64>> = rx.got().iter().map(Got::journal_ids).collect();
    assert_eq!(sent, vec![ids.clone(), ids.clone(), vec![ids[1]]]);
    let dead = store
        .outbox_dead_letters("ops", 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].journal_id, ids[0]);
}
