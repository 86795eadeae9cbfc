//! One task per receiver: read the outbox in order, batch, rate-limit, send, record the outcome.
//!
//! The loop of a receiver:
//! 1. Load its oldest pending rows. A row whose payload is not a readable [`Notice`] is
//!    dead-lettered on its own and the rest go on.
//! 2. If the oldest row already carries a batch key, an earlier attempt (maybe before a
//!    restart) sent it: that exact set of rows is sent again under the same key.
//! 3. Otherwise wait until `group_wait` has passed since the oldest row was committed, then for
//!    the rate limit, then take up to `max_batch` rows and give them the key
//!    `<receiver>-<first id>-<last id>`.
//! 4. Send with `Idempotency-Key: <key>`. Delivered: mark the rows delivered. Retry: count the
//!    attempt, keep the error, wait (backoff or the receiver's `Retry-After`), send the same
//!    batch again. Reject: dead-letter the batch's rows with the reason.
//!
//! Idle receivers wake on [`Notifier::wake`] or every [`POLL`], so rows committed by another
//! process or before a restart are picked up too.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use tokio::sync::Notify;
use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use super::delivery::{self, Backoff, Delivery, Outcome, TransportError, TransportErrorKind};
use super::rate::RateLimit;
use super::{NotifyError, ReceiverConfig, ReceiverKind, format, sign};
use crate::metrics::Metrics;
use crate::rules::{AlarmState, Notice, Priority, Transition};
use crate::store::outbox::OutboxRow;
use crate::store::{self, Store};

/// How often an idle receiver looks at the outbox without being woken.
pub const POLL: Duration = Duration::from_secs(1);

/// The most of an answer's body that is read (robots answer with a few bytes of JSON).
const ANSWER_MAX: usize = 64 * 1024;

/// The header that lets a receiver drop a request it has already processed (`Idempotency-Key`;
/// header names are case-insensitive, and `HeaderName` wants them in lowercase).
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The HTTP client the notifiers use: redirects are not followed (a POST redirected as a GET
/// would look delivered, and a token would go to another host), and plcdiag names itself.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("plcdiag/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Handle to the running receiver tasks.
#[derive(Debug)]
pub struct Notifier {
    wakers: Vec<Arc<Notify>>,
    tasks: Vec<JoinHandle<()>>,
    stop: CancellationToken,
    grace: Duration,
}

/// Starts one task per receiver. They run until `shutdown` is cancelled or
/// [`Notifier::stop`] is called.
pub fn spawn(
    store: Store,
    receivers: Vec<Arc<ReceiverConfig>>,
    metrics: Metrics,
    shutdown: CancellationToken,
) -> Notifier {
    let stop = shutdown.child_token();
    let client = match http_client() {
        Ok(c) => c,
        Err(e) => {
            error!(error = %e, "notify: cannot build the HTTP client with its settings; using the defaults");
            reqwest::Client::new()
        }
    };
    let grace = receivers
        .iter()
        .map(|r| r.timeout)
        .max()
        .unwrap_or_default()
        + Duration::from_secs(2);
    let mut wakers = Vec::with_capacity(receivers.len());
    let mut tasks = Vec::with_capacity(receivers.len());
    for receiver in receivers {
        let wake = Arc::new(Notify::new());
        let task = Task {
            store: store.clone(),
            limit: RateLimit::for_receiver(&receiver),
            receiver,
            metrics: metrics.clone(),
            client: client.clone(),
            wake: wake.clone(),
            stop: stop.clone(),
            single_until: None,
        };
        wakers.push(wake);
        tasks.push(tokio::spawn(supervise(task)));
    }
    Notifier {
        wakers,
        tasks,
        stop,
        grace,
    }
}

/// Wakes the receivers from another task (the rules engine, after each commit).
#[derive(Debug, Clone)]
pub struct Waker(Vec<Arc<Notify>>);

impl Waker {
    /// Tells every receiver that new outbox rows were committed.
    pub fn wake(&self) {
        for w in &self.0 {
            w.notify_one();
        }
    }
}

impl Notifier {
    /// Tells every receiver that new outbox rows were committed.
    pub fn wake(&self) {
        self.waker().wake();
    }

    /// A cloneable handle that wakes the receivers.
    pub fn waker(&self) -> Waker {
        Waker(self.wakers.clone())
    }

    /// Stops the receivers: waiting ends at once, a request in flight may finish (bounded by
    /// the longest receiver timeout and a little more), then the tasks are gone. Rows not yet
    /// marked stay pending and go after the next start, under the same batch key.
    pub async fn stop(self) {
        self.stop.cancel();
        let deadline = Instant::now() + self.grace;
        for mut task in self.tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                warn!("notify: a receiver did not stop in time; aborting it");
                task.abort();
            }
        }
    }
}

/// Aborts the task when dropped (the supervisor's child, if the supervisor is aborted).
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs a receiver's task and restarts it after a panic, so one bug does not silence a receiver
/// for the rest of the process's life (its rows would wait in the outbox).
async fn supervise(task: Task) {
    loop {
        let child = tokio::spawn(task.clone().run());
        let _guard = AbortOnDrop(child.abort_handle());
        match child.await {
            Err(e) if e.is_panic() => {
                error!(receiver = %task.receiver.name, "notify: receiver task panicked; restarting it in 1s");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    () = task.stop.cancelled() => return,
                }
            }
            _ => return,
        }
    }
}

/// A pending row with its notice.
#[derive(Debug, Clone)]
struct Pending {
    row: OutboxRow,
    notice: Notice,
}

/// Rows sent together under one idempotency key.
#[derive(Debug, Clone)]
struct Batch {
    key: String,
    rows: Vec<Pending>,
}

impl Batch {
    fn ids(&self) -> Vec<i64> {
        self.rows.iter().map(|p| p.row.id).collect()
    }

    fn notices(&self) -> Vec<Notice> {
        self.rows.iter().map(|p| p.notice.clone()).collect()
    }
}

/// `<receiver>-<first id>-<last id>`, with every byte of the name outside `[A-Za-z0-9._-]`
/// percent-encoded, so that any receiver name makes a valid header value.
fn batch_key(receiver: &str, first: i64, last: i64) -> String {
    let mut name = String::with_capacity(receiver.len());
    for b in receiver.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            name.push(char::from(b));
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{name}-{first}-{last}")
}

#[derive(Clone)]
struct Task {
    store: Store,
    receiver: Arc<ReceiverConfig>,
    metrics: Metrics,
    client: reqwest::Client,
    wake: Arc<Notify>,
    stop: CancellationToken,
    limit: RateLimit,
    /// After a refused batch: rows up to this id go one per request, so one notice the
    /// receiver refuses does not take the others of its batch with it.
    single_until: Option<i64>,
}

impl Task {
    async fn run(mut self) {
        debug!(receiver = %self.receiver.name, kind = %self.receiver.kind, host = %self.receiver.url_for_logs(), "notify: receiver started");
        while let Some(batch) = self.next_batch().await {
            if self.deliver(batch).await.is_none() {
                break;
            }
        }
        debug!(receiver = %self.receiver.name, "notify: receiver stopped");
    }

    /// Sleeps for `d` unless stopped first (then `None`).
    async fn sleep(&self, d: Duration) -> Option<()> {
        tokio::select! {
            () = tokio::time::sleep(d) => Some(()),
            () = self.stop.cancelled() => None,
        }
    }

    /// Runs a store operation until it succeeds; `None` if stopped first. A failing database
    /// delays notices but loses none, so this warns and retries with backoff.
    async fn persist<T, F, Fut>(&self, what: &str, mut op: F) -> Option<T>
    where
        F: FnMut(Store) -> Fut,
        Fut: Future<Output = Result<T, store::Error>>,
    {
        let mut backoff = Backoff::new();
        loop {
            match op(self.store.clone()).await {
                Ok(v) => return Some(v),
                Err(e) => {
                    let delay = backoff.next_delay();
                    warn!(receiver = %self.receiver.name, error = %e, retry_in = ?delay, "notify: cannot {what}; retrying");
                    self.sleep(delay).await?;
                }
            }
        }
    }

    /// Parses loaded rows; unreadable ones are dead-lettered alone. `None` if stopped; the bool
    /// says whether any row was dead-lettered (the caller reloads then).
    async fn parse(&self, rows: Vec<OutboxRow>) -> Option<(Vec<Pending>, bool)> {
        let mut out = Vec::with_capacity(rows.len());
        let mut dropped = false;
        for row in rows {
            match serde_json::from_str::<Notice>(&row.payload) {
                Ok(mut notice) => {
                    notice.journal_id = row.journal_id;
                    out.push(Pending { row, notice });
                }
                Err(e) => {
                    let reason = format!("unreadable outbox payload: {e}");
                    let id = row.id;
                    let r = reason.clone();
                    self.persist("dead-letter an unreadable row", move |s| {
                        let r = r.clone();
                        async move { s.outbox_dead(&[id], &r, Utc::now()).await }
                    })
                    .await?;
                    emit_unreadable(&self.metrics, &self.receiver, id, &reason);
                    dropped = true;
                }
            }
        }
        Some((out, dropped))
    }

    /// The oldest readable pending rows, at most `max_batch`.
    async fn load(&self) -> Option<Vec<Pending>> {
        let name = self.receiver.name.clone();
        let limit = self.receiver.max_batch.max(1);
        loop {
            let n = name.clone();
            let rows = self
                .persist("read the outbox", move |s| {
                    let n = n.clone();
                    async move { s.outbox_pending(&n, limit).await }
                })
                .await?;
            let (rows, dropped) = self.parse(rows).await?;
            if !dropped {
                return Some(rows);
            }
        }
    }

    /// The readable pending rows of batch `key`.
    async fn load_batch(&self, key: &str) -> Option<Vec<Pending>> {
        let name = self.receiver.name.clone();
        let key: Arc<str> = key.into();
        let rows = self
            .persist("read the outbox", move |s| {
                let (n, k) = (name.clone(), key.clone());
                async move { s.outbox_batch(&n, &k).await }
            })
            .await?;
        Some(self.parse(rows).await?.0)
    }

    /// Waits until the rate limit lets a request go; `None` if stopped first.
    async fn wait_rate(&self) -> Option<()> {
        while let Some(at) = self.limit.ready_at(Instant::now()) {
            debug!(receiver = %self.receiver.name, wait = ?at.saturating_duration_since(Instant::now()), "notify: rate limit reached; waiting");
            tokio::select! {
                () = tokio::time::sleep_until(at) => {}
                () = self.stop.cancelled() => return None,
            }
        }
        Some(())
    }

    /// Waits for and forms the next batch; `None` if stopped first.
    async fn next_batch(&mut self) -> Option<Batch> {
        loop {
            if self.stop.is_cancelled() {
                return None;
            }
            let rows = self.load().await?;
            let Some(first) = rows.first() else {
                tokio::select! {
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(POLL) => {}
                    () = self.stop.cancelled() => return None,
                }
                continue;
            };
            if let Some(key) = first.row.batch.clone() {
                let rows = self.load_batch(&key).await?;
                if rows.is_empty() {
                    continue;
                }
                return Some(Batch { key, rows });
            }
            // Gather: wait out group_wait from the oldest row's commit (measured once against
            // the wall clock, then slept on the runtime's clock).
            let age = (Utc::now() - first.row.created)
                .to_std()
                .unwrap_or_default();
            let wait = self.receiver.group_wait.saturating_sub(age);
            if !wait.is_zero() {
                self.sleep(wait).await?;
            }
            // Rows that arrive while the rate limit holds us join this batch.
            self.wait_rate().await?;
            let single = self.single_until;
            let rows: Vec<Pending> = self
                .load()
                .await?
                .into_iter()
                .take_while(|p| p.row.batch.is_none())
                .collect();
            let rows: Vec<Pending> = match single {
                Some(until) if rows.first().is_some_and(|p| p.row.id <= until) => {
                    rows.into_iter().take(1).collect()
                }
                _ => {
                    self.single_until = None;
                    rows
                }
            };
            let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
                continue;
            };
            let key = batch_key(&self.receiver.name, first.row.id, last.row.id);
            let ids: Vec<i64> = rows.iter().map(|p| p.row.id).collect();
            let k = key.clone();
            self.persist("assign a batch", move |s| {
                let (ids, k) = (ids.clone(), k.clone());
                async move { s.outbox_assign_batch(&ids, &k).await }
            })
            .await?;
            return Some(Batch { key, rows });
        }
    }

    /// Dead-letters rows `ids` of batch `key` for `reason`; `None` if stopped first.
    async fn dead_letter(&self, key: &str, ids: Vec<i64>, reason: String) -> Option<()> {
        let (i, r) = (ids.clone(), reason.clone());
        self.persist("dead-letter notices", move |s| {
            let (i, r) = (i.clone(), r.clone());
            async move { s.outbox_dead(&i, &r, Utc::now()).await }
        })
        .await?;
        emit_dead_lettered(&self.metrics, &self.receiver, key, ids.len(), &reason);
        Some(())
    }

    /// Releases rows `ids` from their batch, to go again in others; `None` if stopped first.
    async fn release(&self, what: &str, ids: Vec<i64>, reason: String) -> Option<()> {
        self.persist(what, move |s| {
            let (i, r) = (ids.clone(), reason.clone());
            async move { s.outbox_release_batch(&i, &r).await }
        })
        .await
    }

    /// The rows of `batch` to stop retrying after `failures` failed attempts in this run, and
    /// why: those past the receiver's `max_age` (after at least one retry in this run, so
    /// notices left by a long stop of the gateway get a fair try) or `max_attempts`.
    fn give_up(&self, batch: &Batch, failures: u32, reason: &str) -> (Vec<i64>, String) {
        let r = &self.receiver;
        let now = Utc::now();
        let mut expired = Vec::new();
        let (mut most, mut oldest) = (0i64, Duration::ZERO);
        for p in &batch.rows {
            // Attempts before this run (a restart keeps counting) and those of this run.
            let attempts = p.row.attempts.saturating_add(i64::from(failures));
            let age = (now - p.row.created).to_std().unwrap_or_default();
            let too_old = !r.max_age.is_zero() && failures >= 2 && age >= r.max_age;
            let too_often = r.max_attempts > 0 && attempts >= i64::from(r.max_attempts);
            if too_old || too_often {
                expired.push(p.row.id);
                most = most.max(attempts);
                oldest = oldest.max(age);
            }
        }
        let why = format!(
            "given up after {most} failed attempts over {} (max_age {}, max_attempts {}): {reason}",
            humantime::format_duration(Duration::from_secs(oldest.as_secs())),
            humantime::format_duration(r.max_age),
            r.max_attempts
        );
        (expired, why)
    }

    /// Sends `batch` until it is delivered or rejected; `None` if stopped first (the rows stay
    /// pending with their key).
    async fn deliver(&mut self, batch: Batch) -> Option<()> {
        let mut backoff = Backoff::new();
        let notices = batch.notices();
        let ids = batch.ids();
        loop {
            self.wait_rate().await?;
            self.limit.record(Instant::now());
            let delivery = attempt(&self.client, &self.receiver, &notices, &batch.key).await;
            match delivery {
                Delivery::Delivered => {
                    let i = ids.clone();
                    self.persist("mark notices delivered", move |s| {
                        let i = i.clone();
                        async move { s.outbox_delivered(&i, Utc::now()).await }
                    })
                    .await?;
                    emit_delivered(
                        &self.metrics,
                        &self.receiver,
                        &batch.key,
                        ids.len(),
                        backoff.attempts(),
                    );
                    return Some(());
                }
                Delivery::Retry { reason, after } => {
                    let (i, r) = (ids.clone(), reason.clone());
                    self.persist("record a failed attempt", move |s| {
                        let (i, r) = (i.clone(), r.clone());
                        async move { s.outbox_failed(&i, &r).await }
                    })
                    .await?;
                    let (expired, why) = self.give_up(&batch, backoff.attempts() + 1, &reason);
                    if !expired.is_empty() {
                        self.dead_letter(&batch.key, expired.clone(), why).await?;
                        // The batch's younger notices go on, in a batch of their own.
                        let rest: Vec<i64> = ids
                            .iter()
                            .copied()
                            .filter(|i| !expired.contains(i))
                            .collect();
                        if !rest.is_empty() {
                            let r = format!("batch split: older notices given up; {reason}");
                            self.release("split a batch given up in part", rest, r)
                                .await?;
                        }
                        return Some(());
                    }
                    let backoff_delay = backoff.next_delay();
                    let delay = after.filter(|a| !a.is_zero()).unwrap_or(backoff_delay);
                    emit_retrying(
                        &self.metrics,
                        &self.receiver,
                        &batch.key,
                        ids.len(),
                        backoff.attempts(),
                        &reason,
                        delay,
                    );
                    self.sleep(delay).await?;
                }
                Delivery::Reject { reason } if ids.len() > 1 => {
                    // Which notice is refused is unknown: send them one by one.
                    let r = format!("batch refused, sent singly: {reason}");
                    self.release("split a refused batch", ids.clone(), r)
                        .await?;
                    warn!(receiver = %self.receiver.name, key = %batch.key, notices = ids.len(), %reason, "notify: the receiver refused a batch; sending its notices one by one");
                    self.single_until = ids.iter().max().copied();
                    return Some(());
                }
                Delivery::Reject { reason } => {
                    self.dead_letter(&batch.key, ids.clone(), reason).await?;
                    return Some(());
                }
            }
        }
    }
}

fn emit_delivered(
    metrics: &Metrics,
    receiver: &ReceiverConfig,
    batch: &str,
    notices: usize,
    failures: u32,
) {
    metrics.notices_delivered(&receiver.name, notices);
    if failures > 0 {
        info!(receiver = %receiver.name, batch, notices, failures, "notify: delivered after retrying");
    } else {
        debug!(receiver = %receiver.name, batch, notices, "notify: delivered");
    }
}

fn emit_retrying(
    metrics: &Metrics,
    receiver: &ReceiverConfig,
    batch: &str,
    notices: usize,
    failures: u32,
    reason: &str,
    retry_in: Duration,
) {
    metrics.notification_retried(&receiver.name);
    warn!(
        receiver = %receiver.name,
        host = %receiver.url_for_logs(),
        batch,
        notices,
        failures,
        retry_in = ?retry_in,
        reason,
        "notify: request failed; retrying the same batch"
    );
}

fn emit_dead_lettered(
    metrics: &Metrics,
    receiver: &ReceiverConfig,
    batch: &str,
    notices: usize,
    reason: &str,
) {
    metrics.notices_dead_lettered(&receiver.name, notices);
    error!(
        receiver = %receiver.name,
        host = %receiver.url_for_logs(),
        batch,
        notices,
        reason,
        "notify: receiver rejected the notices; dead-lettered, they will not be sent"
    );
}

fn emit_unreadable(metrics: &Metrics, receiver: &ReceiverConfig, outbox_id: i64, reason: &str) {
    metrics.notices_dead_lettered(&receiver.name, 1);
    error!(receiver = %receiver.name, outbox_id, reason, "notify: outbox row cannot be read; dead-lettered");
}

/// A request ready to go: URL (signed for DingTalk), headers (signed for webhooks), body.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) url: reqwest::Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

/// Formats and signs a request carrying `notices` to `receiver`, signed at `now`.
pub(crate) fn prepare(
    receiver: &ReceiverConfig,
    notices: &[Notice],
    key: &str,
    now: DateTime<Utc>,
) -> Result<Prepared, NotifyError> {
    let bad_url = || NotifyError::BadUrl {
        receiver: receiver.name.clone(),
    };
    let mut url = reqwest::Url::parse(receiver.url.expose()).map_err(|_| bad_url())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad_url());
    }
    let body = serde_json::to_vec(&format::body(receiver, notices, now)).map_err(|source| {
        NotifyError::Body {
            receiver: receiver.name.clone(),
            source,
        }
    })?;
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let header = |name: &'static str, value: &str| {
        HeaderValue::from_str(value)
            .map(|v| (HeaderName::from_static(name), v))
            .map_err(|_| NotifyError::BadHeader {
                receiver: receiver.name.clone(),
                header: name,
            })
    };
    let (n, v) = header(IDEMPOTENCY_KEY, key)?;
    headers.insert(n, v);
    let secret = receiver.secret.as_ref().map(|s| s.expose());
    match (receiver.kind, secret) {
        (ReceiverKind::Webhook, Some(secret)) => {
            let (n, v) = header("x-plcdiag-timestamp", &now.timestamp().to_string())?;
            headers.insert(n, v);
            let (n, v) = header(
                "x-plcdiag-signature",
                &sign::webhook_signature(secret, now.timestamp(), &body),
            )?;
            headers.insert(n, v);
        }
        (ReceiverKind::DingTalk, Some(secret)) => {
            sign::dingtalk_url(&mut url, secret, now.timestamp_millis());
        }
        // Feishu signs in the body (format::body); WeCom and Slack have no signing.
        _ => {}
    }
    Ok(Prepared { url, headers, body })
}

/// An answer, its body cut to [`ANSWER_MAX`].
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = ANSWER_MAX.saturating_sub(body.len());
        body.extend(chunk.iter().take(room));
        if body.len() >= ANSWER_MAX {
            break;
        }
    }
    Ok(body)
}

/// Sends a prepared request and reads the answer, all within `timeout`.
async fn exchange(
    client: &reqwest::Client,
    prepared: Prepared,
    timeout: Duration,
) -> Result<Answer, TransportError> {
    let request = client
        .post(prepared.url)
        .headers(prepared.headers)
        .body(prepared.body);
    let go = async {
        let response = request.send().await.map_err(TransportError::from_reqwest)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = read_capped(response)
            .await
            .map_err(TransportError::from_reqwest)?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    };
    match tokio::time::timeout(timeout, go).await {
        Ok(answer) => answer,
        Err(_) => Err(TransportError {
            kind: TransportErrorKind::Timeout,
            message: format!("no answer within {}", humantime::format_duration(timeout)),
        }),
    }
}

/// One attempt at sending `notices` under `key`, classified.
async fn attempt(
    client: &reqwest::Client,
    receiver: &ReceiverConfig,
    notices: &[Notice],
    key: &str,
) -> Delivery {
    let now = Utc::now();
    let prepared = match prepare(receiver, notices, key, now) {
        Ok(p) => p,
        Err(e) => {
            return Delivery::Reject {
                reason: e.to_string(),
            };
        }
    };
    match exchange(client, prepared, receiver.timeout).await {
        Ok(a) => delivery::classify(
            receiver.kind,
            Outcome::Answer {
                status: a.status,
                headers: &a.headers,
                body: &a.body,
            },
            Utc::now(),
        ),
        Err(e) => delivery::classify(receiver.kind, Outcome::Failed(&e), Utc::now()),
    }
}

/// What a receiver answered to a test notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestReply {
    /// HTTP status.
    pub status: u16,
    /// The answer's body (at most 64 KiB, invalid UTF-8 replaced).
    pub body: String,
    /// What the notifier would make of this answer.
    pub delivery: Delivery,
}

/// The notice `plcdiag notify test` sends: a low-priority raise on device `plcdiag`.
pub fn test_notice(now: DateTime<Utc>) -> Notice {
    Notice {
        journal_id: 0,
        alarm_id: 0,
        rule: "plcdiag_test".into(),
        device: "plcdiag".into(),
        driver: "plcdiag".into(),
        priority: Priority::Low,
        transition: Transition::Raised,
        state: AlarmState::Unacknowledged,
        active: true,
        acked: false,
        at: now,
        raised_at: now,
        cleared_at: None,
        message: "Test notification from plcdiag: this receiver is configured correctly (测试通知)"
            .into(),
        values: serde_json::json!({}),
        user: None,
        note: None,
        shelved_until: None,
    }
}

/// Sends one test notice to `receiver`, formatted and signed like a real one, without the
/// outbox, and reports the answer. An error means no answer came (or no request could be made).
pub async fn send_test(
    receiver: &ReceiverConfig,
    client: &reqwest::Client,
) -> Result<TestReply, NotifyError> {
    let now = Utc::now();
    let key = batch_key(
        &format!("{}-test", receiver.name),
        now.timestamp_millis(),
        now.timestamp_millis(),
    );
    let prepared = prepare(receiver, &[test_notice(now)], &key, now)?;
    let answer = exchange(client, prepared, receiver.timeout)
        .await
        .map_err(|e| NotifyError::Transport {
            receiver: receiver.name.clone(),
            host: receiver.url_for_logs(),
            reason: e.message,
        })?;
    let delivery = delivery::classify(
        receiver.kind,
        Outcome::Answer {
            status: answer.status,
            headers: &answer.headers,
            body: &answer.body,
        },
        Utc::now(),
    );
    Ok(TestReply {
        status: answer.status,
        body: String::from_utf8_lossy(&answer.body).into_owned(),
        delivery,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::secret::Secret;
    use crate::notify::testkit::{notice, t0};

    #[test]
    fn batch_keys_name_the_receiver_and_the_id_range_in_header_safe_text() {
        assert_eq!(batch_key("ops", 3, 9), "ops-3-9");
        assert_eq!(
            batch_key("维护 team", 1, 1),
            "%E7%BB%B4%E6%8A%A4%20team-1-1"
        );
        assert!(HeaderValue::from_str(&batch_key("维护/班组", 1, 2)).is_ok());
    }

    #[test]
    fn a_signed_webhook_request_carries_the_hmac_of_its_exact_body() {
        let mut r = ReceiverConfig::defaults(
            "ops",
            ReceiverKind::Webhook,
            Secret::new("http://127.0.0.1:9/hook"),
        );
        r.secret = Some(Secret::new("hook-secret"));
        let p = prepare(
            &r,
            &[notice(1, "press-07", Transition::Raised)],
            "ops-1-1",
            t0(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let h = |n: &str| p.headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert_eq!(h("idempotency-key"), "ops-1-1");
        assert_eq!(h("content-type"), "application/json");
        assert_eq!(h("x-plcdiag-timestamp"), t0().timestamp().to_string());
        assert_eq!(
            h("x-plcdiag-signature"),
            sign::webhook_signature("hook-secret", t0().timestamp(), &p.body)
        );
        r.secret = None;
        let p = prepare(&r, &[notice(1, "press-07", Transition::Raised)], "k", t0())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(p.headers.get("x-plcdiag-signature").is_none());
    }

    #[test]
    fn a_signed_dingtalk_request_carries_timestamp_and_sign_in_its_url() {
        let mut r = ReceiverConfig::defaults(
            "dt",
            ReceiverKind::DingTalk,
            Secret::new("https://oapi.dingtalk.com/robot/send?access_token=T"),
        );
        r.secret = Some(Secret::new("SECtest"));
        let p = prepare(&r, &[notice(1, "press-07", Transition::Raised)], "k", t0())
            .unwrap_or_else(|e| panic!("{e}"));
        let pairs: Vec<(String, String)> = p.url.query_pairs().into_owned().collect();
        let ts = t0().timestamp_millis().to_string();
        let expect = [
            ("access_token".to_owned(), "T".to_owned()),
            ("timestamp".to_owned(), ts),
            (
                "sign".to_owned(),
                sign::dingtalk_sign("SECtest", t0().timestamp_millis()),
            ),
        ];
        assert_eq!(pairs, expect);
    }

    #[test]
    fn a_receiver_url_that_is_not_http_is_refused_without_showing_it() {
        let r = ReceiverConfig::defaults(
            "ops",
            ReceiverKind::Webhook,
            Secret::new("ftp://host/secret-token"),
        );
        let e = match prepare(&r, &[], "k", t0()) {
            Ok(p) => panic!("prepared {:?}", p.headers),
            Err(e) => e,
        };
        assert!(!e.to_string().contains("secret-token"), "{e}");
    }
}
