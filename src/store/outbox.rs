//! The notification outbox queue: pending rows per receiver, batches, delivery marks.
//!
//! Invariants (the notifier relies on them):
//! - Rows are only inserted by [`Store::commit_alarm_changes`], in the journal's transaction,
//!   so ids grow in commit order and reading a receiver's pending rows by id is FIFO.
//! - A row leaves the queue only by [`Store::outbox_delivered`] (after the receiver's 2xx) or
//!   [`Store::outbox_dead`] (rejected for good, reason kept). Nothing here deletes a row.
//! - A row's `batch` key, once assigned, is never changed: a request that is retried, also after
//!   a restart, carries the same rows under the same `Idempotency-Key`.
//!
//! Id lists are passed to SQLite as one JSON array (`json_each`), so a batch of any size is one
//! statement with one bound parameter.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{Error, Store, from_millis};

/// One outbox row as the notifier reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    /// Row id: the queue order.
    pub id: i64,
    /// The journal row the notice comes from.
    pub journal_id: i64,
    /// The activation.
    pub alarm_id: i64,
    /// When the change was committed (the notice's time).
    pub created: DateTime<Utc>,
    /// The serialized [`crate::rules::Notice`]; may fail to parse if the row was damaged.
    pub payload: String,
    /// The idempotency key of the first request that carried the row, once one was made.
    pub batch: Option<String>,
    /// Failed attempts so far.
    pub attempts: i64,
}

/// How many rows a receiver has in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Neither delivered nor dead-lettered.
    pub pending: u64,
    /// Acknowledged by the receiver.
    pub delivered: u64,
    /// Rejected for good.
    pub dead: u64,
}

/// A dead-lettered row and why.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// Row id.
    pub id: i64,
    /// The journal row the notice comes from.
    pub journal_id: i64,
    /// When it was dead-lettered.
    pub at: DateTime<Utc>,
    /// The reason kept with it.
    pub reason: String,
}

const ROW_COLUMNS: &str = "id, journal_id, alarm_id, created_ms, payload, batch, attempts";

fn outbox_row(r: &SqliteRow) -> Result<OutboxRow, Error> {
    Ok(OutboxRow {
        id: r.try_get("id")?,
        journal_id: r.try_get("journal_id")?,
        alarm_id: r.try_get("alarm_id")?,
        created: from_millis(r.try_get("created_ms")?),
        payload: r.try_get("payload")?,
        batch: r.try_get("batch")?,
        attempts: r.try_get("attempts")?,
    })
}

/// The ids as the JSON array that `json_each(?)` reads.
fn id_list(ids: &[i64]) -> String {
    let mut s = String::with_capacity(ids.len() * 8 + 2);
    s.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&id.to_string());
    }
    s.push(']');
    s
}

impl Store {
    /// The oldest `limit` rows of `receiver` that are neither delivered nor dead, in id order.
    pub async fn outbox_pending(
        &self,
        receiver: &str,
        limit: usize,
    ) -> Result<Vec<OutboxRow>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = sqlx::query(&format!(
            "SELECT {ROW_COLUMNS} FROM outbox
             WHERE receiver = ? AND delivered_ms IS NULL AND dead_ms IS NULL
             ORDER BY id LIMIT ?"
        ))
        .bind(receiver)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbox_row).collect()
    }

    /// Every pending row of `receiver` that a request with idempotency key `batch` carried, in id
    /// order: the exact set to send again under that key.
    pub async fn outbox_batch(&self, receiver: &str, batch: &str) -> Result<Vec<OutboxRow>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {ROW_COLUMNS} FROM outbox
             WHERE receiver = ? AND batch = ? AND delivered_ms IS NULL AND dead_ms IS NULL
             ORDER BY id"
        ))
        .bind(receiver)
        .bind(batch)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbox_row).collect()
    }

    /// Gives the rows `ids` the idempotency key `key` before their first request. Rows that
    /// already have a key keep it.
    pub async fn outbox_assign_batch(&self, ids: &[i64], key: &str) -> Result<(), Error> {
        sqlx::query(
            "UPDATE outbox SET batch = ?
             WHERE batch IS NULL AND id IN (SELECT value FROM json_each(?))",
        )
        .bind(key)
        .bind(id_list(ids))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Releases the rows `ids` from their batch, to be sent again in other batches (a refused
    /// batch is split to find the notice the receiver refuses).
    pub async fn outbox_release_batch(&self, ids: &[i64], error: &str) -> Result<(), Error> {
        sqlx::query(
            "UPDATE outbox SET batch = NULL, attempts = attempts + 1, last_error = ?
             WHERE delivered_ms IS NULL AND dead_ms IS NULL
               AND id IN (SELECT value FROM json_each(?))",
        )
        .bind(error)
        .bind(id_list(ids))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks the rows `ids` delivered at `at` (the receiver answered 2xx).
    pub async fn outbox_delivered(&self, ids: &[i64], at: DateTime<Utc>) -> Result<(), Error> {
        sqlx::query(
            "UPDATE outbox SET delivered_ms = ?
             WHERE delivered_ms IS NULL AND dead_ms IS NULL
               AND id IN (SELECT value FROM json_each(?))",
        )
        .bind(at.timestamp_millis())
        .bind(id_list(ids))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a failed attempt at the rows `ids`: one more attempt, and the error.
    pub async fn outbox_failed(&self, ids: &[i64], error: &str) -> Result<(), Error> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?
             WHERE id IN (SELECT value FROM json_each(?))",
        )
        .bind(error)
        .bind(id_list(ids))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Dead-letters the pending rows `ids` at `at`, keeping `reason`. They are not sent again.
    pub async fn outbox_dead(
        &self,
        ids: &[i64],
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE outbox SET dead_ms = ?, last_error = ?
             WHERE delivered_ms IS NULL AND dead_ms IS NULL
               AND id IN (SELECT value FROM json_each(?))",
        )
        .bind(at.timestamp_millis())
        .bind(reason)
        .bind(id_list(ids))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Dead-letters the pending rows of receivers that are no longer configured (renamed or
    /// removed): nothing would ever send them, and they would keep their alarms from being
    /// pruned. Returns how many rows.
    pub async fn outbox_dead_unknown(
        &self,
        configured: &[&str],
        at: DateTime<Utc>,
    ) -> Result<u64, Error> {
        let mut q = sqlx::QueryBuilder::new("UPDATE outbox SET dead_ms = ");
        q.push_bind(at.timestamp_millis());
        q.push(", last_error = 'receiver no longer configured' WHERE delivered_ms IS NULL AND dead_ms IS NULL");
        if !configured.is_empty() {
            q.push(" AND receiver NOT IN (");
            let mut names = q.separated(", ");
            for name in configured {
                names.push_bind(*name);
            }
            q.push(")");
        }
        Ok(q.build().execute(&self.pool).await?.rows_affected())
    }

    /// How many rows `receiver` has pending, delivered and dead-lettered.
    pub async fn outbox_counts(&self, receiver: &str) -> Result<OutboxCounts, Error> {
        let r = sqlx::query(
            "SELECT COALESCE(SUM(delivered_ms IS NULL AND dead_ms IS NULL), 0) AS pending,
                    COALESCE(SUM(delivered_ms IS NOT NULL), 0) AS delivered,
                    COALESCE(SUM(dead_ms IS NOT NULL), 0) AS dead
             FROM outbox WHERE receiver = ?",
        )
        .bind(receiver)
        .fetch_one(&self.pool)
        .await?;
        let count = |name: &str| -> Result<u64, Error> {
            let n: i64 = r.try_get(name)?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        Ok(OutboxCounts {
            pending: count("pending")?,
            delivered: count("delivered")?,
            dead: count("dead")?,
        })
    }

    /// The dead-lettered rows of `receiver`, oldest first, at most `limit`.
    pub async fn outbox_dead_letters(
        &self,
        receiver: &str,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = sqlx::query(
            "SELECT id, journal_id, dead_ms, last_error FROM outbox
             WHERE receiver = ? AND dead_ms IS NOT NULL ORDER BY id LIMIT ?",
        )
        .bind(receiver)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeadLetter {
                    id: r.try_get("id")?,
                    journal_id: r.try_get("journal_id")?,
                    at: from_millis(r.try_get("dead_ms")?),
                    reason: r
                        .try_get::<Option<String>, _>("last_error")?
                        .unwrap_or_default(),
                })
            })
            .collect()
    }
}

/// A notice that was not delivered, with what it was about: the dead-letter list of the API
/// and the alarms page.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Undelivered {
    /// Outbox row id.
    pub id: i64,
    /// The receiver it was for.
    pub receiver: String,
    /// The journal row (and so the transition) it carried.
    pub journal_id: i64,
    /// The activation.
    pub alarm_id: i64,
    /// The rule, device and transition, while the journal still holds the row.
    pub rule: Option<String>,
    /// The device.
    pub device: Option<String>,
    /// The transition.
    pub transition: Option<String>,
    /// When the change was made.
    pub created: DateTime<Utc>,
    /// When it was dead-lettered.
    pub dead_at: DateTime<Utc>,
    /// Failed attempts.
    pub attempts: i64,
    /// Why: the receiver's refusal, an unreadable row, or given up after `max_age`/`max_attempts`.
    pub reason: String,
}

impl Store {
    /// Dead-lettered notices of every receiver, newest first, at most `limit`.
    pub async fn undelivered(&self, limit: u32) -> Result<Vec<Undelivered>, Error> {
        let rows = sqlx::query(
            "SELECT o.id, o.receiver, o.journal_id, o.alarm_id, o.created_ms, o.dead_ms,
                    o.attempts, o.last_error, j.rule, j.device, j.transition
             FROM outbox o LEFT JOIN alarm_journal j ON j.id = o.journal_id
             WHERE o.dead_ms IS NOT NULL ORDER BY o.dead_ms DESC, o.id DESC LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Undelivered {
                    id: r.try_get("id")?,
                    receiver: r.try_get("receiver")?,
                    journal_id: r.try_get("journal_id")?,
                    alarm_id: r.try_get("alarm_id")?,
                    rule: r.try_get("rule")?,
                    device: r.try_get("device")?,
                    transition: r.try_get("transition")?,
                    created: from_millis(r.try_get("created_ms")?),
                    dead_at: from_millis(r.try_get("dead_ms")?),
                    attempts: r.try_get("attempts")?,
                    reason: r
                        .try_get::<Option<String>, _>("last_error")?
                        .unwrap_or_default(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::testkit::{change, notice, t0};
    use crate::rules::{Notice, Transition};

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(&dir.path().join("outbox.db"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (dir, store)
    }

    fn ok<T>(r: Result<T, Error>) -> T {
        r.unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn rows_move_from_pending_to_delivered_or_dead_and_keep_their_batch_key() {
        let (_dir, store) = store().await;
        let mut changes = vec![
            change(notice(1, "press-07", Transition::Raised), &["a", "b"]),
            change(notice(1, "press-07", Transition::Cleared), &["a"]),
            change(notice(2, "press-08", Transition::Raised), &["a"]),
        ];
        ok(store.commit_alarm_changes(&mut changes).await);

        let rows = ok(store.outbox_pending("a", 10).await);
        assert_eq!(rows.len(), 3);
        assert!(rows.windows(2).all(|w| w[0].id < w[1].id));
        let journal: Vec<i64> = changes.iter().map(|c| c.notice.journal_id).collect();
        assert_eq!(
            rows.iter().map(|r| r.journal_id).collect::<Vec<_>>(),
            journal
        );
        assert!(rows.iter().all(|r| r.batch.is_none() && r.attempts == 0));
        assert_eq!(rows[0].created, t0() + chrono::Duration::seconds(1));
        let first: Notice =
            serde_json::from_str(&rows[0].payload).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first, changes[0].notice);
        assert_eq!(ok(store.outbox_pending("a", 2).await).len(), 2);
        assert_eq!(ok(store.outbox_pending("b", 10).await).len(), 1);

        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        ok(store.outbox_assign_batch(&ids[..2], "a-1-2").await);
        // A key once given is kept.
        ok(store.outbox_assign_batch(&ids[..2], "other").await);
        let batch = ok(store.outbox_batch("a", "a-1-2").await);
        assert_eq!(batch.iter().map(|r| r.id).collect::<Vec<_>>(), ids[..2]);
        assert!(ok(store.outbox_batch("a", "other").await).is_empty());

        ok(store.outbox_failed(&ids[..2], "HTTP 500").await);
        ok(store.outbox_failed(&ids[..2], "HTTP 503").await);
        assert_eq!(ok(store.outbox_pending("a", 1).await)[0].attempts, 2);
        ok(store.outbox_delivered(&ids[..2], t0()).await);
        let counts = ok(store.outbox_counts("a").await);
        assert_eq!(
            counts,
            OutboxCounts {
                pending: 1,
                delivered: 2,
                dead: 0
            }
        );

        ok(store.outbox_dead(&ids[2..], "HTTP 400: bad", t0()).await);
        // Neither mark undoes the other.
        ok(store.outbox_delivered(&ids[2..], t0()).await);
        let counts = ok(store.outbox_counts("a").await);
        assert_eq!(
            counts,
            OutboxCounts {
                pending: 0,
                delivered: 2,
                dead: 1
            }
        );
        let dead = ok(store.outbox_dead_letters("a", 10).await);
        assert_eq!(dead.len(), 1);
        assert_eq!(
            (dead[0].id, dead[0].reason.as_str()),
            (ids[2], "HTTP 400: bad")
        );
        assert_eq!(
            ok(store.outbox_counts("nobody").await),
            OutboxCounts::default()
        );
    }

    #[test]
    fn id_lists_are_json_arrays() {
        assert_eq!(id_list(&[]), "[]");
        assert_eq!(id_list(&[3]), "[3]");
        assert_eq!(id_list(&[1, -2, 30]), "[1,-2,30]");
    }
}
