//! The store writer: the single task that inserts history rows and prunes old ones.
//!
//! Invariants: it takes observations from a lossless hub subscription and batches whatever is
//! queued (up to [`WriterSettings::max_batch`] messages) into one transaction. A row counts as
//! written only when its transaction committed. When a commit fails (a full disk, an I/O
//! error), the writer names the fault in [`super::fault`] and keeps taking observations, so
//! polling and the live view go on; it holds them in order (bounded by
//! [`WriterSettings::max_held`], see `Held`) and retries with back-off until a commit succeeds,
//! then writes everything held, oldest first. When the hub closes, the writer drains the
//! channel, commits and returns, which is how shutdown flushes; what it still cannot write
//! then is an error that names how much was lost, never a "flushed".

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use super::fault::{FaultKind, LogLine, Retry};
use super::sampling::{LastStored, should_store};
use super::{DeviceIds, Error, Store};
use crate::config::DeviceConfig;
use crate::hub::Message;
use crate::metrics::Metrics;
use crate::model::{DeviceName, Observation, Quality};

/// Writer tuning.
#[derive(Debug, Clone)]
pub struct WriterSettings {
    /// Rows older than this are pruned.
    pub retention: Duration,
    /// How often pruning runs (also once at start).
    pub prune_every: Duration,
    /// Most hub messages per transaction.
    pub max_batch: usize,
    /// Most observations held in memory while the database fails (see `Held`).
    pub max_held: usize,
    /// How long the writer keeps trying to write what it holds once the hub has closed.
    pub close_within: Duration,
}

impl WriterSettings {
    /// Hourly pruning for `retention`, batches of up to 512 messages.
    pub fn new(retention: Duration) -> Self {
        Self {
            retention,
            prune_every: Duration::from_secs(3600),
            max_batch: 512,
            max_held: 100_000,
            close_within: Duration::from_secs(5),
        }
    }
}

struct DeviceRows {
    ids: DeviceIds,
    config: Arc<DeviceConfig>,
    last: Vec<Option<LastStored>>,
}

/// Registers `devices` in the history, so that they can be queried from the start.
pub async fn prepare(store: Store, devices: Vec<Arc<DeviceConfig>>) -> Result<Writer, Error> {
    let ids = store.register(&devices, Utc::now()).await?;
    Ok(Writer {
        store,
        devices,
        ids,
    })
}

/// A writer whose devices are registered; [`Writer::run`] starts it.
pub struct Writer {
    store: Store,
    devices: Vec<Arc<DeviceConfig>>,
    ids: Vec<DeviceIds>,
}

impl Writer {
    /// Runs the writer until the hub closes `rx`; returns after the final commit.
    pub async fn run(
        self,
        rx: mpsc::Receiver<Message>,
        metrics: Metrics,
        settings: WriterSettings,
    ) -> Result<(), Error> {
        run(self.store, self.devices, self.ids, rx, metrics, settings).await
    }
}

/// Who reports the writer's faults (see [`super::fault`]).
const COMPONENT: &str = "store writer";

async fn run(
    store: Store,
    devices: Vec<Arc<DeviceConfig>>,
    ids: Vec<DeviceIds>,
    mut rx: mpsc::Receiver<Message>,
    metrics: Metrics,
    settings: WriterSettings,
) -> Result<(), Error> {
    let mut rows: HashMap<DeviceName, DeviceRows> = devices
        .into_iter()
        .zip(ids)
        .map(|(d, ids)| {
            let last = vec![None; d.tags.len()];
            (
                d.name.clone(),
                DeviceRows {
                    ids,
                    config: d,
                    last,
                },
            )
        })
        .collect();
    let mut prune = tokio::time::interval(settings.prune_every);
    prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut incoming: Vec<Message> = Vec::with_capacity(settings.max_batch);
    let mut held = Held::new(settings.max_held);
    let mut retry = Retry::default();
    loop {
        tokio::select! {
            biased;
            // While the database fails, what arrives is held (bounded); at the bound the hub
            // makes the publishers wait.
            n = rx.recv_many(&mut incoming, settings.max_batch), if held.accepting() => {
                if n == 0 {
                    return close(&store, &mut rows, &mut held, &metrics, &settings).await;
                }
                for m in incoming.drain(..) {
                    held.push(m, &metrics);
                }
            }
            () = retry.wait(), if retry.failing() => {
                // Full and failing, the writer takes nothing: notice a shutdown all the same.
                if !held.accepting() && rx.is_closed() {
                    while let Ok(m) = rx.try_recv() {
                        held.force(m);
                    }
                    return close(&store, &mut rows, &mut held, &metrics, &settings).await;
                }
                store.faults().holding(COMPONENT, held.queue.len());
            }
            _ = prune.tick() => {
                // Pruning also runs while writes fail: it may be what frees the space.
                match prune_older_than(&store, Utc::now(), settings.retention).await {
                    Ok(0) => {}
                    Ok(n) => info!(rows = n, "store writer: pruned history past retention"),
                    Err(e) => warn!(error = %e, "store writer: pruning failed; will retry at the next period"),
                }
            }
        }
        if retry.due() {
            write_held(
                &store, &mut rows, &mut held, &metrics, &settings, &mut retry,
            )
            .await;
        }
    }
}

/// Observations not yet committed, oldest first, at most about `limit`.
///
/// Over the limit the oldest tag samples go first (counted in
/// `plcdiag_store_samples_dropped_total` and logged as an error: a gap in a chart); health
/// changes, diagnostic events and status are never dropped: when only they are left the
/// writer stops taking messages and the hub makes polling wait.
struct Held {
    queue: VecDeque<Message>,
    /// How many of `queue` are tag samples (`Values`), the ones that may be dropped.
    samples: usize,
    limit: usize,
    /// Tag-sample observations dropped since the last time everything was written.
    dropped: u64,
}

impl Held {
    fn new(limit: usize) -> Self {
        Self {
            queue: VecDeque::new(),
            samples: 0,
            limit: limit.max(1),
            dropped: 0,
        }
    }

    /// Below the limit, or above it with tag samples left to drop for what comes.
    fn accepting(&self) -> bool {
        self.queue.len() < self.limit || self.samples > 0
    }

    /// Adds `m` past the limit (the hub closed: nothing more will come).
    fn force(&mut self, m: Message) {
        if matches!(&*m, Observation::Values { .. }) {
            self.samples += 1;
        }
        self.queue.push_back(m);
    }

    /// Forgets the oldest `n` (written).
    fn written(&mut self, n: usize) {
        let gone = self
            .queue
            .drain(..n)
            .filter(|m| matches!(&**m, Observation::Values { .. }))
            .count();
        self.samples -= gone.min(self.samples);
    }

    fn push(&mut self, m: Message, metrics: &Metrics) {
        // Failed polls are counted in metrics by the device task; the history has no row for them.
        if matches!(&*m, Observation::PollFailed { .. }) {
            return;
        }
        let oldest_samples = (self.queue.len() >= self.limit)
            .then(|| {
                self.queue
                    .iter()
                    .position(|m| matches!(&**m, Observation::Values { .. }))
            })
            .flatten();
        if let Some(dropped) = oldest_samples.and_then(|i| self.queue.remove(i)) {
            self.samples -= 1;
            metrics.store_samples_dropped(1);
            if self.dropped == 0 {
                error!(device = %dropped.device(), held = self.queue.len(), "store writer: holding too much while the history cannot be written; dropping the oldest tag samples (counted in plcdiag_store_samples_dropped_total)");
            }
            self.dropped += 1;
        }
        self.force(m);
        metrics.store_held(self.queue.len());
    }
}

/// Commits what is held, oldest first, a batch at a time, until it is all written or a
/// commit fails (then `retry` says when to try again).
async fn write_held(
    store: &Store,
    rows: &mut HashMap<DeviceName, DeviceRows>,
    held: &mut Held,
    metrics: &Metrics,
    settings: &WriterSettings,
    retry: &mut Retry,
) {
    let mut written = 0usize;
    while !held.queue.is_empty() {
        let n = held.queue.len().min(settings.max_batch);
        let batch = &held.queue.make_contiguous()[..n];
        // Sampling state is only kept when the transaction commits, so a retry decides again.
        let mut attempt: HashMap<DeviceName, Vec<Option<LastStored>>> = HashMap::new();
        match write_batch(store, rows, &mut attempt, batch).await {
            Ok(counts) => {
                for (name, last) in attempt {
                    if let Some(d) = rows.get_mut(&name) {
                        d.last = last;
                    }
                }
                metrics.store_committed(&counts);
                held.written(n);
                written += n;
            }
            Err(e) => {
                let delay = retry.failed();
                let held_now = held.queue.len();
                metrics.store_write_failed(COMPONENT, FaultKind::of(&e));
                if store.faults().failed(COMPONENT, &e, held_now, Utc::now()) == LogLine::Due {
                    error!(error = %e, fault = FaultKind::of(&e).as_str(), held = held_now, retry_in = ?delay, "store writer: cannot write the history; holding observations and retrying (repeated every minute while it lasts)");
                }
                metrics.store_held(held_now);
                return;
            }
        }
    }
    metrics.store_held(0);
    if retry.succeeded()
        && let Some(f) = store.faults().recovered(COMPONENT)
    {
        metrics.store_recovered(COMPONENT, f.kind);
        let dropped = std::mem::take(&mut held.dropped);
        info!(fault = f.kind.as_str(), since = %f.since, written, dropped, "store writer: the history is writable again; wrote what was held");
    }
}

/// The hub closed: write what is held, trying for [`WriterSettings::close_within`].
async fn close(
    store: &Store,
    rows: &mut HashMap<DeviceName, DeviceRows>,
    held: &mut Held,
    metrics: &Metrics,
    settings: &WriterSettings,
) -> Result<(), Error> {
    let give_up = tokio::time::Instant::now() + settings.close_within;
    let mut retry = Retry::default();
    loop {
        retry.due_now();
        write_held(store, rows, held, metrics, settings, &mut retry).await;
        if held.queue.is_empty() {
            info!("store writer: hub closed, history flushed");
            return Ok(());
        }
        let next = tokio::time::Instant::now() + Duration::from_millis(500);
        if next >= give_up {
            let fault = store.faults().first();
            return Err(Error::Unwritten {
                messages: held.queue.len(),
                fault: fault.map_or("unknown", |f| f.kind.as_str()),
            });
        }
        tokio::time::sleep_until(next).await;
    }
}

async fn write_batch(
    store: &Store,
    rows: &HashMap<DeviceName, DeviceRows>,
    attempt: &mut HashMap<DeviceName, Vec<Option<LastStored>>>,
    batch: &[Message],
) -> Result<[(&'static str, u64); 4], Error> {
    let mut tx = store.pool.begin().await?;
    let (mut transitions, mut samples, mut diagnostics, mut statuses) = (0u64, 0u64, 0u64, 0u64);
    for msg in batch {
        let Some(dev) = rows.get(msg.device()) else {
            continue;
        };
        match &**msg {
            Observation::Health { health, .. } => {
                sqlx::query(
                    "INSERT INTO health_transitions (device_id, at_ms, state, error, rtt_us, failures) VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(dev.ids.device)
                .bind(health.since.timestamp_millis())
                .bind(health.state.as_str())
                .bind(&health.last_error)
                .bind(health.rtt.map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX)))
                .bind(i64::from(health.consecutive_failures))
                .execute(&mut *tx)
                .await?;
                transitions += 1;
            }
            Observation::Values {
                device,
                at,
                readings,
                ..
            } => {
                let last = attempt
                    .entry(device.clone())
                    .or_insert_with(|| dev.last.clone());
                let at_ms = at.timestamp_millis();
                for r in readings.iter() {
                    let (Some(tag), Some(tag_id), Some(slot)) = (
                        dev.config.tags.get(r.tag),
                        dev.ids.tags.get(r.tag),
                        last.get_mut(r.tag),
                    ) else {
                        continue;
                    };
                    if !should_store(slot, r, at_ms, tag.deadband, tag.max_interval) {
                        continue;
                    }
                    let reason = match &r.quality {
                        Quality::Bad(why) => Some(why.as_str()),
                        _ => None,
                    };
                    sqlx::query("INSERT INTO tag_samples (tag_id, at_ms, value, quality, reason) VALUES (?, ?, ?, ?, ?)")
                        .bind(tag_id)
                        .bind(at_ms)
                        .bind(r.value)
                        .bind(r.quality.as_str())
                        .bind(reason)
                        .execute(&mut *tx)
                        .await?;
                    samples += 1;
                }
            }
            Observation::Diagnostics { events, .. } => {
                for e in events.iter() {
                    let inserted = sqlx::query(
                        "INSERT OR IGNORE INTO diag_events
                         (device_id, gateway_ms, device_time, event_id, class, entering, text, details, raw)
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(dev.ids.device)
                    .bind(e.gateway_time.timestamp_millis())
                    .bind(e.device_time.map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()))
                    .bind(i64::from(e.event_id))
                    .bind(i64::from(e.class))
                    .bind(e.entering)
                    .bind(&e.text)
                    .bind(e.details.to_string())
                    .bind(&e.raw)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    diagnostics += inserted;
                }
            }
            Observation::Status { at, update, .. } => {
                let value = update.value();
                sqlx::query(
                    "INSERT INTO device_status (device_id, at_ms, kind, value) VALUES (?, ?, ?, ?)",
                )
                .bind(dev.ids.device)
                .bind(at.timestamp_millis())
                .bind(update.kind())
                .bind(value.to_string())
                .execute(&mut *tx)
                .await?;
                statuses += 1;
                for (series, v) in super::series::of(update.kind(), &value) {
                    let at_ms = at.timestamp_millis();
                    super::series::insert(&mut tx, dev.ids.device, &series, at_ms, &v).await?;
                }
            }
            Observation::PollFailed { .. } => {}
        }
    }
    tx.commit().await?;
    Ok([
        ("health_transitions", transitions),
        ("tag_samples", samples),
        ("diag_events", diagnostics),
        ("device_status", statuses),
    ])
}

/// Deletes history rows older than `retention` before `now`; returns how many.
pub async fn prune_older_than(
    store: &Store,
    now: DateTime<Utc>,
    retention: Duration,
) -> Result<u64, Error> {
    let retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
    let cutoff = now
        .checked_sub_signed(retention)
        .map_or(i64::MIN, |t| t.timestamp_millis());
    let mut tx = store.pool.begin().await?;
    // Per-tag deletes use the (tag_id, at_ms) index instead of scanning the table.
    let samples =
        sqlx::query("DELETE FROM tag_samples WHERE tag_id IN (SELECT id FROM tags) AND at_ms < ?")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    let transitions = sqlx::query(
        "DELETE FROM health_transitions WHERE device_id IN (SELECT id FROM devices) AND at_ms < ?",
    )
    .bind(cutoff)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let diagnostics = sqlx::query(
        "DELETE FROM diag_events WHERE device_id IN (SELECT id FROM devices) AND gateway_ms < ?",
    )
    .bind(cutoff)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let statuses = sqlx::query("DELETE FROM device_status WHERE at_ms < ?")
        .bind(cutoff)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    // Per device, so the (device_id, series, at_ms) index finds the old rows.
    sqlx::query(
        "DELETE FROM status_values WHERE device_id IN (SELECT id FROM devices) AND at_ms < ?",
    )
    .bind(cutoff)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM status_minutes WHERE device_id IN (SELECT id FROM devices) AND minute < ?",
    )
    .bind(cutoff.div_euclid(60_000))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(samples + transitions + diagnostics + statuses)
}
