//! The SQLite history: the only code that writes SQL.
//!
//! Invariants: one writer task ([`writer::run`]) owns every insert and delete and commits in
//! batched transactions; readers use the pool. The file is opened in WAL mode with
//! `synchronous = NORMAL`, so a crash loses at most the last uncommitted batch and never
//! corrupts the history. Queries are checked at run time (no database is needed to build).

pub mod alarms;
mod diag_page;
pub mod fault;
pub mod outbox;
mod sampling;
pub mod series;
pub mod sessions;
pub mod writer;

pub use diag_page::{DiagPage, DiagPageAt, DiagPosition, parse_class};
pub use fault::{Fault, FaultKind, Faults};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    SqliteTransactionManager,
};
use sqlx::{Row, TransactionManager};

use crate::config::DeviceConfig;

/// Store failures. Each names what was being done.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database file could not be opened or created.
    #[error("cannot open history database {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: sqlx::Error,
    },
    /// A migration failed (a database from a newer plcdiag, or a damaged file).
    #[error("cannot migrate history database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("history database query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// The writer stopped with observations it could not write: the database kept failing.
    #[error("{messages} observations could not be written to the history ({fault})")]
    Unwritten {
        /// How many observations were lost.
        messages: usize,
        /// The fault that kept them out ([`FaultKind::as_str`]).
        fault: &'static str,
    },
}

/// Handle to the history database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    faults: Faults,
    /// The size limit in pages (0: none), applied to each connection as it is acquired.
    max_pages: Arc<AtomicU64>,
}

/// `PRAGMA max_page_count` that lifts a limit (SQLite's own maximum).
const NO_PAGE_LIMIT: u64 = 4_294_967_294;

/// Sets the connection's `max_page_count` (a per-connection setting) when a limit was ever set.
async fn apply_page_limit(conn: &mut sqlx::SqliteConnection, pages: u64) -> sqlx::Result<bool> {
    if pages != 0 {
        sqlx::query(&format!("PRAGMA max_page_count = {pages}"))
            .execute(conn)
            .await?;
    }
    Ok(true)
}

/// The most rows one history request returns per table.
pub const HISTORY_ROW_LIMIT: i64 = 100_000;
/// Chart windows longer than this read the per-minute table (`status_minutes`).
const MINUTES_FROM_MS: i64 = 6 * 3_600_000;

impl Store {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self, Error> {
        let opts = SqliteConnectOptions::from_str("sqlite:")
            .map_err(|source| Error::Open {
                path: path.to_owned(),
                source,
            })?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let max_pages = Arc::new(AtomicU64::new(0));
        let (on_connect, on_acquire) = (max_pages.clone(), max_pages.clone());
        // Under WAL readers run beside the writer, each connection on its own thread: the
        // store writer, the rules engine and a device page's parallel reads share these.
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .after_connect(move |conn, _| {
                let pages = on_connect.load(Ordering::Relaxed);
                Box::pin(async move { apply_page_limit(conn, pages).await.map(|_| ()) })
            })
            .before_acquire(move |conn, _| {
                let pages = on_acquire.load(Ordering::Relaxed);
                Box::pin(async move { apply_page_limit(conn, pages).await })
            })
            // A connection must come back outside any transaction. When SQLite rolls a
            // transaction back by itself (SQLITE_FULL, SQLITE_IOERR), sqlx's own ROLLBACK then
            // fails and it still counts the transaction as open: its next `begin()` would be a
            // savepoint inside a transaction that never commits and holds the write lock. Such
            // a connection (and any whose transaction was dropped) is closed, not reused.
            .after_release(|conn, _| {
                let clean = SqliteTransactionManager::get_transaction_depth(conn) == 0;
                Box::pin(async move { Ok(clean) })
            })
            .connect_with(opts)
            .await
            .map_err(|source| Error::Open {
                path: path.to_owned(),
                source,
            })?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self {
            pool,
            faults: Faults::default(),
            max_pages,
        })
    }

    /// Limits the database to about `bytes` (`None`: no limit beyond the disk's). Writes past
    /// it fail as on a full disk, so the history never takes more than its share of a small
    /// edge box's disk; tests use it to fill the "disk" portably.
    pub async fn set_size_limit(&self, bytes: Option<u64>) -> Result<(), Error> {
        let page: i64 = sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(&self.pool)
            .await?;
        let pages = match bytes {
            Some(b) => (b / page.max(512) as u64).clamp(1, NO_PAGE_LIMIT),
            None => NO_PAGE_LIMIT,
        };
        self.max_pages.store(pages, Ordering::Relaxed);
        Ok(())
    }

    /// The writers' faults (full disk and the like); see [`fault`].
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A cheap query that proves the database answers.
    pub async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Registers the configured devices and their tags (idempotent) and returns their row ids.
    pub(crate) async fn register(
        &self,
        devices: &[Arc<DeviceConfig>],
        now: DateTime<Utc>,
    ) -> Result<Vec<DeviceIds>, Error> {
        let mut tx = self.pool.begin().await?;
        let mut out = Vec::with_capacity(devices.len());
        for d in devices {
            sqlx::query(
                "INSERT INTO devices (name, kind, address, created_ms) VALUES (?, ?, ?, ?)
                 ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, address = excluded.address",
            )
            .bind(&*d.name)
            .bind(d.kind_name())
            .bind(&d.address)
            .bind(now.timestamp_millis())
            .execute(&mut *tx)
            .await?;
            let id: i64 = sqlx::query_scalar("SELECT id FROM devices WHERE name = ?")
                .bind(&*d.name)
                .fetch_one(&mut *tx)
                .await?;
            let mut tags = Vec::with_capacity(d.tags.len());
            for t in &d.tags {
                sqlx::query(
                    "INSERT INTO tags (device_id, name, unit) VALUES (?, ?, ?)
                     ON CONFLICT (device_id, name) DO UPDATE SET unit = excluded.unit",
                )
                .bind(id)
                .bind(&t.name)
                .bind(&t.unit)
                .execute(&mut *tx)
                .await?;
                let tag_id: i64 =
                    sqlx::query_scalar("SELECT id FROM tags WHERE device_id = ? AND name = ?")
                        .bind(id)
                        .bind(&t.name)
                        .fetch_one(&mut *tx)
                        .await?;
                tags.push(tag_id);
            }
            out.push(DeviceIds { device: id, tags });
        }
        tx.commit().await?;
        Ok(out)
    }

    /// A device's health timeline and tag samples between `from` and `to` (inclusive). The
    /// timeline starts with the state the device was in at `from`, when there is one.
    pub async fn history(
        &self,
        device: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Option<History>, Error> {
        let Some(id): Option<i64> = sqlx::query_scalar("SELECT id FROM devices WHERE name = ?")
            .bind(device)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
        let rows = sqlx::query(
            "SELECT * FROM (SELECT at_ms, state, error, rtt_us, failures FROM health_transitions
                            WHERE device_id = ?1 AND at_ms < ?2 ORDER BY at_ms DESC LIMIT 1)
             UNION ALL
             SELECT * FROM (SELECT at_ms, state, error, rtt_us, failures FROM health_transitions
                            WHERE device_id = ?1 AND at_ms BETWEEN ?2 AND ?3 ORDER BY at_ms LIMIT ?4)",
        )
        .bind(id)
        .bind(from_ms)
        .bind(to_ms)
        .bind(HISTORY_ROW_LIMIT)
        .fetch_all(&self.pool)
        .await?;
        let mut timeline = Vec::with_capacity(rows.len());
        for r in rows {
            timeline.push(TimelineEntry {
                at: from_millis(r.try_get("at_ms")?),
                state: r.try_get("state")?,
                error: r.try_get("error")?,
                rtt_ms: r
                    .try_get::<Option<i64>, _>("rtt_us")?
                    .map(|us| us as f64 / 1000.0),
                consecutive_failures: r.try_get("failures")?,
            });
        }
        let rows = sqlx::query(
            "SELECT t.name AS tag, s.at_ms, s.value, s.quality, s.reason
             FROM tags t JOIN tag_samples s ON s.tag_id = t.id
             WHERE t.device_id = ? AND s.at_ms BETWEEN ? AND ?
             ORDER BY t.name, s.at_ms LIMIT ?",
        )
        .bind(id)
        .bind(from_ms)
        .bind(to_ms)
        .bind(HISTORY_ROW_LIMIT + 1)
        .fetch_all(&self.pool)
        .await?;
        let truncated = rows.len() as i64 > HISTORY_ROW_LIMIT;
        let mut samples = Vec::with_capacity(rows.len());
        for r in rows.into_iter().take(HISTORY_ROW_LIMIT as usize) {
            samples.push(Sample {
                tag: r.try_get("tag")?,
                at: from_millis(r.try_get("at_ms")?),
                value: r.try_get("value")?,
                quality: r.try_get("quality")?,
                reason: r.try_get("reason")?,
            });
        }
        Ok(Some(History {
            device: device.to_owned(),
            from,
            to,
            timeline,
            samples,
            truncated,
        }))
    }
}

/// Row ids of one registered device, tags in config order.
#[derive(Debug, Clone)]
pub(crate) struct DeviceIds {
    pub(crate) device: i64,
    pub(crate) tags: Vec<i64>,
}

/// One device's history over a time window.
#[derive(Debug, Clone, Serialize)]
pub struct History {
    /// Device name.
    pub device: String,
    /// Window start.
    pub from: DateTime<Utc>,
    /// Window end.
    pub to: DateTime<Utc>,
    /// Health changes, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// Samples, by tag name then time.
    pub samples: Vec<Sample>,
    /// True when there were more samples than [`HISTORY_ROW_LIMIT`]: narrow the window.
    pub truncated: bool,
}

/// One health change.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// New state.
    pub state: String,
    /// Error at that time.
    pub error: Option<String>,
    /// Round-trip time in milliseconds.
    pub rtt_ms: Option<f64>,
    /// Failures in a row.
    pub consecutive_failures: i64,
}

/// One stored tag value.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Tag name.
    pub tag: String,
    /// When it was read.
    pub at: DateTime<Utc>,
    /// Value (null when bad).
    pub value: Option<f64>,
    /// `good`, `stale` or `bad`.
    pub quality: String,
    /// Why it was bad.
    pub reason: Option<String>,
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// One stored diagnostic event, as the API returns it.
#[derive(Debug, Clone, Serialize)]
pub struct StoredDiagEvent {
    /// The row id: with the gateway time, the event's place in the history ([`DiagPosition`]).
    pub id: i64,
    /// When the gateway first saw it.
    pub gateway_time: DateTime<Utc>,
    /// The device's own timestamp (local time of the device, no zone).
    pub device_time: Option<String>,
    /// Event ID, e.g. 17154 (0x4302).
    pub event_id: u16,
    /// Event ID in hex, as manuals print it.
    pub event_hex: String,
    /// Event class.
    pub class: u8,
    /// Entering (true), leaving (false) or not applicable.
    pub entering: Option<bool>,
    /// English catalogue text.
    pub text: String,
    /// Protocol-specific details.
    pub details: serde_json::Value,
    /// The raw record in hex.
    pub raw: String,
}

/// A `diag_events` row as the API returns it.
fn stored_diag_event(r: &sqlx::sqlite::SqliteRow) -> Result<StoredDiagEvent, Error> {
    let event_id = u16::try_from(r.try_get::<i64, _>("event_id")?).unwrap_or_default();
    let details: &str = r.try_get("details")?;
    let raw: &[u8] = r.try_get("raw")?;
    Ok(StoredDiagEvent {
        id: r.try_get("id")?,
        gateway_time: from_millis(r.try_get("gateway_ms")?),
        device_time: r.try_get("device_time")?,
        event_id,
        event_hex: format!("0x{event_id:04X}"),
        class: u8::try_from(r.try_get::<i64, _>("class")?).unwrap_or_default(),
        entering: r.try_get("entering")?,
        text: r.try_get("text")?,
        details: serde_json::from_str(details).unwrap_or(serde_json::Value::Null),
        raw: crate::model::raw_hex(raw),
    })
}

/// A status part as stored, e.g. one entry of the operating-mode timeline.
#[derive(Debug, Clone, Serialize)]
pub struct StoredStatus {
    /// When the gateway saw the change.
    pub at: DateTime<Utc>,
    /// `cpu_mode`, `identity`, `protection`, `cycle_times`, `modules`, `unsupported`.
    pub kind: String,
    /// The value.
    pub value: serde_json::Value,
}

impl Store {
    /// A device's last `limit` diagnostic events, oldest first, as the model carries them: the
    /// rules engine replays them at start-up to know which events are still open.
    pub async fn recent_diag_events(
        &self,
        device: &str,
        limit: u32,
    ) -> Result<Vec<crate::model::DiagEvent>, Error> {
        let Some(id) = self.device_id(device).await? else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT gateway_ms, device_time, event_id, class, entering, text, details, raw
             FROM diag_events WHERE device_id = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows.into_iter().rev() {
            let device_time: Option<String> = r.try_get("device_time")?;
            let details: String = r.try_get("details")?;
            out.push(crate::model::DiagEvent {
                device_time: device_time.and_then(|t| t.parse().ok()),
                gateway_time: from_millis(r.try_get("gateway_ms")?),
                event_id: u16::try_from(r.try_get::<i64, _>("event_id")?).unwrap_or_default(),
                class: u8::try_from(r.try_get::<i64, _>("class")?).unwrap_or_default(),
                entering: r.try_get("entering")?,
                text: r.try_get("text")?,
                details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
                raw: r.try_get("raw")?,
            });
        }
        Ok(out)
    }

    /// A device's status changes between `from` and `to` (oldest first), optionally of one kind.
    pub async fn status_history(
        &self,
        device: &str,
        kind: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Option<Vec<StoredStatus>>, Error> {
        let Some(id) = self.device_id(device).await? else {
            return Ok(None);
        };
        // Two statements, not `(?2 IS NULL OR kind = ?2)`: with that condition SQLite can use
        // only the device of the (device_id, kind, at_ms) index and reads every status row the
        // device ever stored (a year of cycle times is millions) to find one kind's window.
        let sql = if kind.is_some() {
            "SELECT at_ms, kind, value FROM device_status
             WHERE device_id = ?1 AND kind = ?2 AND at_ms BETWEEN ?3 AND ?4 ORDER BY at_ms, id LIMIT ?5"
        } else {
            "SELECT at_ms, kind, value FROM device_status
             WHERE device_id = ?1 AND ?2 IS NULL AND at_ms BETWEEN ?3 AND ?4 ORDER BY at_ms, id LIMIT ?5"
        };
        let rows = sqlx::query(sql)
            .bind(id)
            .bind(kind)
            .bind(from.timestamp_millis())
            .bind(to.timestamp_millis())
            .bind(HISTORY_ROW_LIMIT)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let value: String = r.try_get("value")?;
            out.push(StoredStatus {
                at: from_millis(r.try_get("at_ms")?),
                kind: r.try_get("kind")?,
                value: serde_json::from_str(&value).unwrap_or(serde_json::Value::Null),
            });
        }
        Ok(Some(out))
    }

    /// A numeric series of a device (src/store/series.rs) over `window`, reduced in SQL to at
    /// most `buckets` buckets of equal width: (first time, min, max) of each, in time order.
    pub async fn series_buckets(
        &self,
        device: &str,
        series: &str,
        window: (DateTime<Utc>, DateTime<Utc>),
        buckets: u32,
    ) -> Result<Vec<(DateTime<Utc>, f64, f64)>, Error> {
        let Some(id) = self.device_id(device).await? else {
            return Ok(Vec::new());
        };
        let (from, to) = (window.0.timestamp_millis(), window.1.timestamp_millis());
        // Over more than a few hours a bucket spans minutes: read the per-minute min and max
        // (a minute partly before the window counts from the window's start).
        let sql = if to - from > MINUTES_FROM_MS {
            "SELECT MAX(MIN(minute) * 60000, ?3), MIN(min), MAX(max) FROM status_minutes
             WHERE device_id = ?1 AND series = ?2 AND minute BETWEEN ?3 / 60000 AND ?4 / 60000
             GROUP BY MIN(MAX(minute * 60000 - ?3, 0) * ?5 / MAX(?4 - ?3, 1), ?5 - 1)
             ORDER BY 1"
        } else {
            "SELECT MIN(at_ms), CAST(MIN(value) AS REAL), CAST(MAX(value) AS REAL) FROM status_values
             WHERE device_id = ?1 AND series = ?2 AND at_ms BETWEEN ?3 AND ?4 AND value IS NOT NULL
             GROUP BY MIN((at_ms - ?3) * ?5 / MAX(?4 - ?3, 1), ?5 - 1)
             ORDER BY 1"
        };
        let rows: Vec<(i64, f64, f64)> = sqlx::query_as(sql)
            .bind(id)
            .bind(series)
            .bind(from)
            .bind(to)
            .bind(i64::from(buckets.max(1)))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(at, min, max)| (from_millis(at), min, max))
            .collect())
    }

    /// The values of a series over `window` where they change, in time order, starting with
    /// the value it had when the window began (dated at the window's start) if one is stored.
    /// `None` stays `None`: an unknown state.
    pub async fn series_changes(
        &self,
        device: &str,
        series: &str,
        window: (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<Vec<(DateTime<Utc>, Option<i64>)>, Error> {
        let Some(id) = self.device_id(device).await? else {
            return Ok(Vec::new());
        };
        let (from, to) = (window.0.timestamp_millis(), window.1.timestamp_millis());
        let rows: Vec<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT * FROM (SELECT at_ms, value FROM status_values
                            WHERE device_id = ?1 AND series = ?2 AND at_ms < ?3
                            ORDER BY at_ms DESC LIMIT 1)
             UNION ALL
             SELECT * FROM (SELECT at_ms, value FROM status_values
                            WHERE device_id = ?1 AND series = ?2 AND at_ms BETWEEN ?3 AND ?4
                            ORDER BY at_ms LIMIT ?5)",
        )
        .bind(id)
        .bind(series)
        .bind(from)
        .bind(to)
        .bind(HISTORY_ROW_LIMIT)
        .fetch_all(&self.pool)
        .await?;
        // The writer stores only changes; rows from before it did are skipped here.
        let mut out: Vec<(DateTime<Utc>, Option<i64>)> = Vec::new();
        for (at, v) in rows {
            if out.last().is_none_or(|(_, last)| *last != v) {
                out.push((from_millis(at.max(from)), v));
            }
        }
        Ok(out)
    }

    /// The newest stored diagnostic record of each device, by name: where incremental
    /// diagnostic polling resumes after a gateway restart.
    pub async fn last_diag_records(&self) -> Result<HashMap<String, Vec<u8>>, Error> {
        let rows = sqlx::query(
            "SELECT d.name, e.raw FROM diag_events e JOIN devices d ON d.id = e.device_id
             WHERE e.id IN (SELECT MAX(id) FROM diag_events GROUP BY device_id)",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = HashMap::new();
        for r in rows {
            out.insert(r.try_get("name")?, r.try_get("raw")?);
        }
        Ok(out)
    }

    async fn device_id(&self, device: &str) -> Result<Option<i64>, Error> {
        Ok(sqlx::query_scalar("SELECT id FROM devices WHERE name = ?")
            .bind(device)
            .fetch_optional(&self.pool)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
        r.unwrap_or_else(|e| panic!("{e}"))
    }

    /// Issue 12, finding 1: when SQLite rolls a transaction back by itself (SQLITE_FULL), sqlx
    /// still counts it open; reused, that connection's later transactions became savepoints
    /// inside one that never committed. Such a connection must be closed, not reused.
    #[tokio::test]
    async fn a_transaction_sqlite_rolled_back_itself_does_not_poison_later_ones() {
        let dir = ok(tempfile::tempdir());
        let db = dir.path().join("h.db");
        let store = ok(Store::open(&db).await);
        ok(
            sqlx::query("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
                .execute(&store.pool)
                .await,
        );
        // Fill every connection of the pool to the limit, so whichever comes next was poisoned.
        ok(store.set_size_limit(Some(64 * 1024)).await);
        let mut held = Vec::new();
        for _ in 0..8 {
            held.push(ok(store.pool.begin().await));
        }
        for tx in &mut held {
            let mut full = false;
            for _ in 0..200 {
                let r = sqlx::query("INSERT INTO t (v) VALUES (zeroblob(4000))")
                    .execute(&mut **tx)
                    .await;
                if r.is_err() {
                    full = true;
                    break;
                }
            }
            assert!(full, "the size limit never filled the database");
        }
        drop(held);
        ok(store.set_size_limit(None).await);
        for k in 1..=8i64 {
            // A failed statement that SQLite does not roll back by itself, then a write.
            let mut tx = ok(store.pool.begin().await);
            let dup = sqlx::query("INSERT INTO t (k) VALUES (1), (1)")
                .execute(&mut *tx)
                .await;
            assert!(dup.is_err());
            drop(tx);
            let mut tx = ok(store.pool.begin().await);
            ok(sqlx::query("INSERT INTO t (k, v) VALUES (?, 'kept')")
                .bind(1000 + k)
                .execute(&mut *tx)
                .await);
            ok(tx.commit().await);
        }
        // Another connection sees every committed row and can write.
        let url = format!("sqlite://{}", db.display());
        let mut other = ok(<sqlx::SqliteConnection as sqlx::Connection>::connect(&url).await);
        let kept: i64 = ok(
            sqlx::query_scalar("SELECT count(*) FROM t WHERE v = 'kept'")
                .fetch_one(&mut other)
                .await,
        );
        assert_eq!(kept, 8);
        ok(sqlx::query("PRAGMA busy_timeout = 100")
            .execute(&mut other)
            .await);
        ok(sqlx::query("INSERT INTO t (v) VALUES ('other')")
            .execute(&mut other)
            .await);
    }

    pub(super) fn at(ms: i64) -> DateTime<Utc> {
        from_millis(ms)
    }

    /// A store with device `cpu` and 20 events, 10 ms apart from 1,000 ms: classes 1 and 2
    /// alternating, the last two sharing their gateway time (one poll).
    pub(super) async fn store_with_events() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(&dir.path().join("h.db"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        sqlx::query(
            "INSERT INTO devices (name, kind, address, created_ms) VALUES ('cpu', 's7', 'x', 0)",
        )
        .execute(&store.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        for i in 0..20i64 {
            sqlx::query(
                "INSERT INTO diag_events (device_id, gateway_ms, event_id, class, entering, text, details, raw)
                 VALUES (1, ?, ?, ?, 1, 'e', '{\"n\":1}', ?)",
            )
            .bind(1_000 + 10 * i.min(18))
            .bind(0x1000 * (1 + i % 2) + i)
            .bind(1 + i % 2)
            .bind(vec![0xAB, u8::try_from(i).unwrap_or(0)])
            .execute(&store.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        }
        (dir, store)
    }

    #[tokio::test]
    async fn series_buckets_keep_peaks_and_drop_what_is_outside_the_window() {
        let (_dir, store) = store_with_events().await;
        let day = 86_400_000i64;
        let mut tx = store.pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
        // 20,000 points of 5.0 over the day, one peak and one dip.
        for i in 0..20_000i64 {
            let v = match i {
                5_432 => 99.0,
                1_234 => -1.0,
                _ => 5.0,
            };
            series::insert(
                &mut tx,
                1,
                "cycle_ms",
                i * 4_320,
                &series::SeriesValue::Number(v),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        }
        // After the window (in the next minute), an unknown value, another series.
        for (name, at, v) in [("cycle_ms", day + 60_001, 1000.0), ("other", 7, -50.0)] {
            series::insert(&mut tx, 1, name, at, &series::SeriesValue::Number(v))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        sqlx::query("INSERT INTO status_values VALUES (1, 'cycle_ms', 5, NULL)")
            .execute(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        // A day reads the per-minute table, an hour the rows themselves: the same peaks.
        for (window, buckets) in [
            ((at(0), at(day)), 500),
            ((at(20_000_000), at(30_000_000)), 500),
        ] {
            let b = store
                .series_buckets("cpu", "cycle_ms", window, 500)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(b.len(), buckets, "{window:?}");
            assert!(b.windows(2).all(|p| p[0].0 < p[1].0));
            assert!(b.first().is_some_and(|f| f.0 >= window.0), "{window:?}");
        }
        let b = store
            .series_buckets("cpu", "cycle_ms", (at(0), at(day)), 500)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.iter().map(|b| b.2).fold(f64::MIN, f64::max), 99.0);
        assert_eq!(b.iter().map(|b| b.1).fold(f64::MAX, f64::min), -1.0);
        let hour = store
            .series_buckets("cpu", "cycle_ms", (at(23_000_000), at(24_000_000)), 500)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            hour.iter().map(|b| b.2).fold(f64::MIN, f64::max),
            99.0,
            "54,321 × 864 ms"
        );
        assert!(
            store
                .series_buckets("nope", "cycle_ms", (at(0), at(day)), 500)
                .await
                .is_ok_and(|b| b.is_empty())
        );
    }

    #[tokio::test]
    async fn a_station_mask_is_stored_only_when_it_changes() {
        let (_dir, store) = store_with_events().await;
        let mut conn = store.pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
        for (at_ms, m) in [
            (1, Some(0)),
            (2, Some(0)),
            (3, None),
            (4, None),
            (5, Some(8)),
            (6, Some(8)),
        ] {
            series::insert(
                &mut conn,
                1,
                "stations:l",
                at_ms,
                &series::SeriesValue::Mask(m),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        }
        let stored: Vec<(i64, Option<i64>)> =
            sqlx::query_as("SELECT at_ms, value FROM status_values ORDER BY at_ms")
                .fetch_all(&mut *conn)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stored, [(1, Some(0)), (3, None), (5, Some(8))]);
    }

    #[tokio::test]
    async fn series_changes_are_the_first_value_and_each_different_one() {
        let (_dir, store) = store_with_events().await;
        for (at_ms, v) in [
            (10, Some(0)),
            (20, Some(0)),
            (30, Some(16)),
            (40, Some(16)),
            (50, None),
            (60, None),
            (70, Some(0)),
        ] {
            sqlx::query("INSERT INTO status_values VALUES (1, 'stations:l', ?, ?)")
                .bind(at_ms)
                .bind(v)
                .execute(&store.pool)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let got = store
            .series_changes("cpu", "stations:l", (at(15), at(100)))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let got: Vec<(i64, Option<i64>)> = got
            .iter()
            .map(|(t, v)| (t.timestamp_millis(), *v))
            .collect();
        // The value at 10 is the state when the window begins, dated at its start.
        assert_eq!(
            got,
            [(15, Some(0)), (30, Some(16)), (50, None), (70, Some(0))]
        );
    }
}
