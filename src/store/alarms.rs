//! The alarm journal and the notification outbox.
//!
//! Invariant: every alarm change is committed in one transaction that updates the activation
//! row, appends the journal row, saves the alarm point's state and inserts one outbox row per
//! receiver. A crash therefore leaves either all of it or none: the outbox never misses a
//! journalled change, and a restart resumes from exactly the state the journal shows.
//! The rules engine is the only writer of these tables (the store writer owns the history).

use sqlx::Row;

use super::{Error, Store};
use crate::rules::AlarmChange;

/// An alarm point's saved state, as loaded at start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedPoint {
    /// Rule name.
    pub rule: String,
    /// Device name.
    pub device: String,
    /// The state machine's persisted state (JSON).
    pub state: serde_json::Value,
}

impl Store {
    /// Commits `changes` in order, in one transaction, and sets each notice's `journal_id`.
    pub async fn commit_alarm_changes(&self, changes: &mut [AlarmChange]) -> Result<(), Error> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for change in changes.iter_mut() {
            let n = &change.notice;
            let at = n.at.timestamp_millis();
            let values = n.values.to_string();
            let acked_by = (n.transition == crate::rules::Transition::Acknowledged)
                .then_some(n.user.as_deref())
                .flatten();
            sqlx::query(
                "INSERT INTO alarms (id, rule, device, driver, priority, state, active, acked,
                                     message, vals, raised_ms, cleared_ms, acked_ms, acked_by,
                                     ack_note, shelved_until_ms, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
                         CASE WHEN ?8 THEN ?13 END, ?14, ?15, ?16, ?13)
                 ON CONFLICT (id) DO UPDATE SET
                     state = excluded.state, active = excluded.active, acked = excluded.acked,
                     cleared_ms = excluded.cleared_ms,
                     acked_ms = CASE WHEN alarms.acked_ms IS NULL AND excluded.acked
                                     THEN excluded.updated_ms ELSE alarms.acked_ms END,
                     acked_by = COALESCE(alarms.acked_by, excluded.acked_by),
                     ack_note = COALESCE(alarms.ack_note, excluded.ack_note),
                     shelved_until_ms = excluded.shelved_until_ms,
                     updated_ms = excluded.updated_ms",
            )
            .bind(n.alarm_id)
            .bind(&n.rule)
            .bind(&n.device)
            .bind(&n.driver)
            .bind(n.priority.as_str())
            .bind(n.state.as_str())
            .bind(n.active)
            .bind(n.acked)
            .bind(&n.message)
            .bind(&values)
            .bind(n.raised_at.timestamp_millis())
            .bind(n.cleared_at.map(|t| t.timestamp_millis()))
            .bind(at)
            .bind(acked_by)
            .bind(acked_by.and(n.note.as_deref()))
            .bind(n.shelved_until.map(|t| t.timestamp_millis()))
            .execute(&mut *tx)
            .await?;
            let journal_id = sqlx::query(
                "INSERT INTO alarm_journal (alarm_id, at_ms, rule, device, priority, transition,
                                            state, message, vals, user, note)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(n.alarm_id)
            .bind(at)
            .bind(&n.rule)
            .bind(&n.device)
            .bind(n.priority.as_str())
            .bind(n.transition.as_str())
            .bind(n.state.as_str())
            .bind(&n.message)
            .bind(&values)
            .bind(&n.user)
            .bind(&n.note)
            .execute(&mut *tx)
            .await?
            .last_insert_rowid();
            change.notice.journal_id = journal_id;
            sqlx::query(
                "INSERT INTO alarm_points (rule, device, state, updated_ms) VALUES (?, ?, ?, ?)
                 ON CONFLICT (rule, device) DO UPDATE SET state = excluded.state,
                                                          updated_ms = excluded.updated_ms",
            )
            .bind(&change.notice.rule)
            .bind(&change.notice.device)
            .bind(change.point.to_string())
            .bind(at)
            .execute(&mut *tx)
            .await?;
            if !change.receivers.is_empty() {
                let payload = serde_json::to_string(&change.notice)
                    .map_err(|e| Error::Query(sqlx::Error::Encode(Box::new(e))))?;
                for receiver in &change.receivers {
                    sqlx::query(
                        "INSERT INTO outbox (receiver, journal_id, alarm_id, created_ms, payload)
                         VALUES (?, ?, ?, ?, ?)",
                    )
                    .bind(&**receiver)
                    .bind(journal_id)
                    .bind(change.notice.alarm_id)
                    .bind(at)
                    .bind(&payload)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every alarm point's saved state, to restore the engine after a restart.
    pub async fn alarm_points(&self) -> Result<Vec<SavedPoint>, Error> {
        let rows = sqlx::query("SELECT rule, device, state FROM alarm_points")
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let state: String = r.try_get("state")?;
            out.push(SavedPoint {
                rule: r.try_get("rule")?,
                device: r.try_get("device")?,
                // A damaged row restores as an unknown state, which the engine starts afresh.
                state: serde_json::from_str(&state).unwrap_or(serde_json::Value::Null),
            });
        }
        Ok(out)
    }

    /// The highest activation id used so far (0 for none): the engine numbers new ones after it.
    pub async fn last_alarm_id(&self) -> Result<i64, Error> {
        let id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM alarms")
            .fetch_one(&self.pool)
            .await?;
        Ok(id.unwrap_or(0))
    }
}
