//! Why the history cannot take writes right now: a full disk, a read-only or failing file, a
//! lock held too long. A fault is a named condition, not a log line that scrolls away:
//! `/healthz` answers 503 with it, `/metrics` counts it and every page shows it in a banner,
//! until a write succeeds again. The writers ([`super::writer`], the rules engine) report
//! their failures and successes here; while a fault lasts they hold what they could not write
//! and retry, so nothing is lost when space comes back.
//!
//! Invariants: a component is faulty from its first failed write until its next successful
//! one; the log line repeats at most once per [`LOG_EVERY`] while the fault lasts.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;

use super::Error;

/// How often a lasting fault is logged again.
pub const LOG_EVERY: Duration = Duration::from_secs(60);

/// What kind of failure the database reported (SQLite's primary result code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// `SQLITE_FULL`: the disk (or the configured size limit) is full.
    DiskFull,
    /// `SQLITE_READONLY`: the file or its folder cannot be written.
    ReadOnly,
    /// `SQLITE_IOERR`, `SQLITE_CANTOPEN`: the operating system failed a read or write.
    Io,
    /// `SQLITE_CORRUPT`, `SQLITE_NOTADB`: the file is damaged.
    Corrupt,
    /// `SQLITE_BUSY`, `SQLITE_LOCKED`: another connection held the lock past the busy timeout.
    Busy,
    /// Anything else (a bug, or a pool that is closed).
    Other,
}

impl FaultKind {
    /// Classifies a store error by SQLite's primary result code.
    pub fn of(e: &Error) -> Self {
        let Error::Query(sqlx::Error::Database(db)) = e else {
            return Self::Other;
        };
        // sqlx gives SQLite's extended code; the primary code is its low byte.
        let code = db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0) & 0xff;
        match code {
            13 => Self::DiskFull,
            8 => Self::ReadOnly,
            10 | 14 => Self::Io,
            11 | 26 => Self::Corrupt,
            5 | 6 => Self::Busy,
            _ => Self::Other,
        }
    }

    /// The stable name used in `/healthz`, metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DiskFull => "disk_full",
            Self::ReadOnly => "read_only",
            Self::Io => "io_error",
            Self::Corrupt => "corrupt",
            Self::Busy => "busy",
            Self::Other => "other",
        }
    }

    /// Every kind, for metrics that show each at 0 or 1.
    pub const ALL: [Self; 6] = [
        Self::DiskFull,
        Self::ReadOnly,
        Self::Io,
        Self::Corrupt,
        Self::Busy,
        Self::Other,
    ];
}

/// One component's lasting write failure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fault {
    /// Which writer failed (`store writer`, `rules engine`).
    pub component: &'static str,
    /// What kind of failure.
    pub kind: FaultKind,
    /// Since when (the first failure of this run of failures).
    pub since: DateTime<Utc>,
    /// The database's message of the latest failure.
    pub detail: String,
    /// Messages or changes held in memory, waiting to be written.
    pub held: usize,
}

/// The faults of every writer; cheap to clone, shared by the store handle.
#[derive(Clone, Debug)]
pub struct Faults {
    now: watch::Sender<BTreeMap<&'static str, Fault>>,
    logged: Arc<Mutex<BTreeMap<&'static str, Instant>>>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            now: watch::channel(BTreeMap::new()).0,
            logged: Arc::default(),
        }
    }
}

/// What [`Faults::failed`] tells the caller to do about its log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLine {
    /// The fault is new, or was last logged [`LOG_EVERY`] ago: log it now.
    Due,
    /// Logged recently: stay quiet.
    Quiet,
}

impl Faults {
    /// `component` could not write (`held` items wait in memory); returns whether to log.
    pub fn failed(
        &self,
        component: &'static str,
        error: &Error,
        held: usize,
        now: DateTime<Utc>,
    ) -> LogLine {
        let kind = FaultKind::of(error);
        let detail = error.to_string();
        self.now.send_modify(|all| {
            let since = all
                .get(component)
                .filter(|f| f.kind == kind)
                .map_or(now, |f| f.since);
            all.insert(
                component,
                Fault {
                    component,
                    kind,
                    since,
                    detail,
                    held,
                },
            );
        });
        let mut logged = self.logged.lock().unwrap_or_else(|p| p.into_inner());
        let at = Instant::now();
        match logged.get(component) {
            Some(last) if at.duration_since(*last) < LOG_EVERY => LogLine::Quiet,
            _ => {
                logged.insert(component, at);
                LogLine::Due
            }
        }
    }

    /// Updates how much `component` holds, while its fault lasts.
    pub fn holding(&self, component: &'static str, held: usize) {
        self.now
            .send_if_modified(|all| match all.get_mut(component) {
                Some(f) if f.held != held => {
                    f.held = held;
                    true
                }
                _ => false,
            });
    }

    /// `component` wrote successfully; returns the fault it had, if any.
    pub fn recovered(&self, component: &'static str) -> Option<Fault> {
        let mut was = None;
        self.now.send_if_modified(|all| {
            was = all.remove(component);
            was.is_some()
        });
        if was.is_some() {
            let mut logged = self.logged.lock().unwrap_or_else(|p| p.into_inner());
            logged.remove(component);
        }
        was
    }

    /// The oldest fault now, if any.
    pub fn first(&self) -> Option<Fault> {
        self.now.borrow().values().min_by_key(|f| f.since).cloned()
    }

    /// Every fault now.
    pub fn all(&self) -> Vec<Fault> {
        self.now.borrow().values().cloned().collect()
    }

    /// Follows changes (the live feed's banner).
    pub fn subscribe(&self) -> watch::Receiver<BTreeMap<&'static str, Fault>> {
        self.now.subscribe()
    }
}

/// When a writer that failed tries again: capped exponential back-off, 250 ms doubling to
/// [`MAX_RETRY`]. The store writer and the rules engine share it.
#[derive(Debug, Default)]
pub struct Retry {
    at: Option<(Instant, Duration)>,
}

/// The longest wait between two tries while writes fail.
pub const MAX_RETRY: Duration = Duration::from_secs(5);

impl Retry {
    /// Whether the last write failed.
    pub fn failing(&self) -> bool {
        self.at.is_some()
    }

    /// Not failing, or failing and the wait is over.
    pub fn due(&self) -> bool {
        self.at.is_none_or(|(at, _)| Instant::now() >= at)
    }

    /// Resolves when the next try is due; pending while nothing failed.
    pub async fn wait(&self) {
        match self.at {
            Some((at, _)) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    }

    /// A write failed; returns how long until the next try.
    pub fn failed(&mut self) -> Duration {
        let delay = match self.at {
            Some((_, d)) => (d * 2).min(MAX_RETRY),
            None => Duration::from_millis(250),
        };
        self.at = Some((Instant::now() + delay, delay));
        delay
    }

    /// A write succeeded; returns whether it had been failing.
    pub fn succeeded(&mut self) -> bool {
        self.at.take().is_some()
    }

    /// Makes the next try due now (shutdown), still counting as failing.
    pub fn due_now(&mut self) {
        if let Some((at, _)) = &mut self.at {
            *at = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Error {
        #[derive(Debug)]
        struct Full;
        impl std::fmt::Display for Full {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("database or disk is full")
            }
        }
        impl std::error::Error for Full {}
        impl sqlx::error::DatabaseError for Full {
            fn message(&self) -> &str {
                "database or disk is full"
            }
            fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
                Some("13".into())
            }
            fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
                self
            }
            fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
                self
            }
            fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
                self
            }
            fn kind(&self) -> sqlx::error::ErrorKind {
                sqlx::error::ErrorKind::Other
            }
        }
        Error::Query(sqlx::Error::Database(Box::new(Full)))
    }

    #[tokio::test(start_paused = true)]
    async fn a_fault_lasts_until_a_write_succeeds_and_is_logged_once_a_minute() {
        let faults = Faults::default();
        let t0 = Utc::now();
        assert_eq!(faults.failed("store writer", &full(), 1, t0), LogLine::Due);
        tokio::time::advance(Duration::from_secs(30)).await;
        let t1 = t0 + chrono::Duration::seconds(30);
        assert_eq!(
            faults.failed("store writer", &full(), 9, t1),
            LogLine::Quiet
        );
        let f = faults.first().unwrap_or_else(|| panic!("a fault"));
        assert_eq!((f.kind, f.since, f.held), (FaultKind::DiskFull, t0, 9));
        tokio::time::advance(LOG_EVERY).await;
        assert_eq!(faults.failed("store writer", &full(), 9, t1), LogLine::Due);
        assert!(faults.recovered("store writer").is_some());
        assert_eq!(faults.first(), None);
        assert!(faults.recovered("store writer").is_none());
        // A new fault after recovery is logged at once.
        assert_eq!(faults.failed("store writer", &full(), 1, t1), LogLine::Due);
    }

    #[test]
    fn errors_that_are_not_from_the_database_are_other() {
        let e = Error::Query(sqlx::Error::PoolClosed);
        assert_eq!(FaultKind::of(&e), FaultKind::Other);
        assert_eq!(FaultKind::of(&full()), FaultKind::DiskFull);
    }
}
