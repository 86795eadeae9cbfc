//! The store writer: the single task that inserts history rows and prunes old ones.
//!
//! Invariants: it takes observations from a lossless hub subscription, batches whatever is
//! queued (up to [`WriterSettings::max_batch`] messages) into one transaction, and only then
//! takes more. A failed commit is retried with back-off, holding the batch: the hub's bounded
//! channel then makes publishers wait instead of anything being dropped. When the hub closes,
//! the writer drains the channel, commits and returns, which is how shutdown flushes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

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
}

impl WriterSettings {
    /// Hourly pruning for `retention`, batches of up to 512 messages.
    pub fn new(retention: Duration) -> Self {
        Self {
            retention,
            prune_every: Duration::from_secs(3600),
            max_batch: 512,
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
    let mut batch: Vec<Message> = Vec::with_capacity(settings.max_batch);
    loop {
        tokio::select! {
            biased;
            n = rx.recv_many(&mut batch, settings.max_batch) => {
                if n == 0 {
                    info!("store writer: hub closed, history flushed");
                    return Ok(());
                }
                commit_with_retry(&store, &mut rows, &batch, &metrics).await;
                batch.clear();
            }
            _ = prune.tick() => {
                match prune_older_than(&store, Utc::now(), settings.retention).await {
                    Ok(0) => {}
                    Ok(n) => info!(rows = n, "store writer: pruned history past retention"),
                    Err(e) => warn!(error = %e, "store writer: pruning failed; will retry at the next period"),
                }
            }
        }
    }
}

async fn commit_with_retry(
    store: &Store,
    rows: &mut HashMap<DeviceName, DeviceRows>,
    batch: &[Message],
    metrics: &Metrics,
) {
    let mut delay = Duration::from_millis(100);
    loop {
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
                return;
            }
            Err(e) => {
                error!(error = %e, retry_in = ?delay, messages = batch.len(), "store writer: commit failed; holding the batch and retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
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
