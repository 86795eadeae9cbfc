//! The alarm journal and the notification outbox.
//!
//! Invariant: every alarm change is committed in one transaction that updates the activation
//! row, appends the journal row, saves the alarm point's state and inserts one outbox row per
//! receiver. A crash therefore leaves either all of it or none: the outbox never misses a
//! journalled change, and a restart resumes from exactly the state the journal shows.
//! The rules engine is the only writer of these tables (the store writer owns the history),
//! apart from [`Store::prune_alarms`], which deletes only what no operator or notifier still
//! needs.
//!
//! The read side serves the alarm list ([`Store::open_alarms`]), one activation
//! ([`Store::alarm`]), the journal ([`Store::alarm_journal`]) and the alarm-system KPIs
//! ([`Store::alarm_kpis`]).

use chrono::{DateTime, Utc};
use serde::de::IntoDeserializer;
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{Sqlite, SqliteRow};
use sqlx::{QueryBuilder, Row};

use super::{Error, HISTORY_ROW_LIMIT, Store, from_millis};
use crate::rules::{AlarmChange, AlarmState, Priority, Transition};

/// Which activations are open, i.e. still on the operator's alarm list: the condition is
/// active, or nobody has acknowledged it yet, or it is shelved or latched. Columns are
/// qualified so the condition also works in a join with the journal.
const OPEN_ALARM: &str =
    "(alarms.active = 1 OR alarms.acked = 0 OR alarms.state IN ('shelved', 'latched'))";

/// The columns [`AlarmRow::from_row`] reads.
const ALARM_COLUMNS: &str = "id, rule, device, driver, priority, state, active, acked, message, \
     vals, raised_ms, cleared_ms, acked_ms, acked_by, ack_note, shelved_until_ms, updated_ms";

/// One activation of an alarm point, as the alarm list and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmRow {
    /// Activation id: what the API acknowledges and shelves.
    pub id: i64,
    /// Rule name.
    pub rule: String,
    /// Device name.
    pub device: String,
    /// Device kind (`s7`, `melsec`, `modbus`).
    pub driver: String,
    /// Priority.
    pub priority: Priority,
    /// Current ISA-18.2 state.
    pub state: AlarmState,
    /// Whether the condition is (still) considered active.
    pub active: bool,
    /// Whether it is acknowledged.
    pub acked: bool,
    /// The rule's message as it was raised.
    pub message: String,
    /// The values that explain the alarm, as they were when it was raised.
    pub values: serde_json::Value,
    /// When it was raised.
    pub raised_at: DateTime<Utc>,
    /// When it cleared, once it has.
    pub cleared_at: Option<DateTime<Utc>>,
    /// When it was acknowledged, once it has been.
    pub acked_at: Option<DateTime<Utc>>,
    /// Who acknowledged (or reset) it; `None` when the system did (ack mode `auto` or `none`).
    pub acked_by: Option<String>,
    /// The note given with the acknowledgement.
    pub ack_note: Option<String>,
    /// End of the shelving, while shelved.
    pub shelved_until: Option<DateTime<Utc>>,
    /// Time of its latest transition.
    pub updated_at: DateTime<Utc>,
}

impl AlarmRow {
    fn from_row(r: &SqliteRow) -> Result<Self, Error> {
        let vals: String = r.try_get("vals")?;
        Ok(Self {
            id: r.try_get("id")?,
            rule: r.try_get("rule")?,
            device: r.try_get("device")?,
            driver: r.try_get("driver")?,
            priority: priority_column(r)?,
            state: state_column(r)?,
            active: r.try_get("active")?,
            acked: r.try_get("acked")?,
            message: r.try_get("message")?,
            values: serde_json::from_str(&vals).unwrap_or(serde_json::Value::Null),
            raised_at: from_millis(r.try_get("raised_ms")?),
            cleared_at: r.try_get::<Option<i64>, _>("cleared_ms")?.map(from_millis),
            acked_at: r.try_get::<Option<i64>, _>("acked_ms")?.map(from_millis),
            acked_by: r.try_get("acked_by")?,
            ack_note: r.try_get("ack_note")?,
            shelved_until: r
                .try_get::<Option<i64>, _>("shelved_until_ms")?
                .map(from_millis),
            updated_at: from_millis(r.try_get("updated_ms")?),
        })
    }
}

/// One journal row: one transition of one activation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JournalRow {
    /// Journal id; ids grow in commit order.
    pub id: i64,
    /// The activation the transition belongs to.
    pub alarm_id: i64,
    /// When the transition happened (gateway clock).
    pub at: DateTime<Utc>,
    /// Rule name.
    pub rule: String,
    /// Device name.
    pub device: String,
    /// Priority.
    pub priority: Priority,
    /// What happened.
    pub transition: Transition,
    /// State after the transition.
    pub state: AlarmState,
    /// The rule's message with the values of that moment.
    pub message: String,
    /// The values of that moment.
    pub values: serde_json::Value,
    /// Who acknowledged, shelved or unshelved it.
    pub user: Option<String>,
    /// Their note.
    pub note: Option<String>,
}

impl JournalRow {
    fn from_row(r: &SqliteRow) -> Result<Self, Error> {
        let vals: String = r.try_get("vals")?;
        let transition: String = r.try_get("transition")?;
        Ok(Self {
            id: r.try_get("id")?,
            alarm_id: r.try_get("alarm_id")?,
            at: from_millis(r.try_get("at_ms")?),
            rule: r.try_get("rule")?,
            device: r.try_get("device")?,
            priority: priority_column(r)?,
            transition: parse_transition(&transition)
                .ok_or_else(|| unknown("transition", &transition))?,
            state: state_column(r)?,
            message: r.try_get("message")?,
            values: serde_json::from_str(&vals).unwrap_or(serde_json::Value::Null),
            user: r.try_get("user")?,
            note: r.try_get("note")?,
        })
    }
}

/// Which journal rows [`Store::alarm_journal`] returns. Every `Some` narrows the result;
/// the default matches everything and returns the newest [`JournalFilter::DEFAULT_LIMIT`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct JournalFilter {
    /// Transitions at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Transitions at or before this time.
    pub to: Option<DateTime<Utc>>,
    /// Of this device.
    pub device: Option<String>,
    /// Of this rule.
    pub rule: Option<String>,
    /// Of this priority.
    pub priority: Option<Priority>,
    /// Leaving the alarm in this state.
    pub state: Option<AlarmState>,
    /// Of this kind.
    pub transition: Option<Transition>,
    /// Of this activation.
    pub alarm_id: Option<i64>,
    /// The most rows to return; capped at [`HISTORY_ROW_LIMIT`], and 0 or less returns none.
    pub limit: i64,
    /// Only rows older than this journal id: pass the last id of one page to get the next.
    pub before_id: Option<i64>,
}

impl JournalFilter {
    /// The page size of the default filter.
    pub const DEFAULT_LIMIT: i64 = 200;
}

impl Default for JournalFilter {
    fn default() -> Self {
        Self {
            from: None,
            to: None,
            device: None,
            rule: None,
            priority: None,
            state: None,
            transition: None,
            alarm_id: None,
            limit: Self::DEFAULT_LIMIT,
            before_id: None,
        }
    }
}

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
            // An operator acknowledges by `Acknowledged`, or by `Reset` for a latched alarm
            // that was not acknowledged before; other operator actions (shelving) are not
            // acknowledgements. Who, when and the note are recorded only by the change that
            // first acknowledges the activation, so the three always describe one transition.
            let acked_by = matches!(n.transition, Transition::Acknowledged | Transition::Reset)
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
                     acked_by = CASE WHEN alarms.acked_ms IS NULL AND excluded.acked
                                     THEN excluded.acked_by ELSE alarms.acked_by END,
                     ack_note = CASE WHEN alarms.acked_ms IS NULL AND excluded.acked
                                     THEN excluded.ack_note ELSE alarms.ack_note END,
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

    /// Open alarms: active, or not yet acknowledged, or shelved/latched — what an operator
    /// must see; sorted by priority (critical first), then raised_at newest first.
    pub async fn open_alarms(&self) -> Result<Vec<AlarmRow>, Error> {
        let sql = format!("SELECT {ALARM_COLUMNS} FROM alarms WHERE {OPEN_ALARM}");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        let mut out = rows
            .iter()
            .map(AlarmRow::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then(b.raised_at.cmp(&a.raised_at))
                .then(b.id.cmp(&a.id))
        });
        Ok(out)
    }

    /// One activation, open or finished; `None` when there is no such id (or it was pruned).
    pub async fn alarm(&self, id: i64) -> Result<Option<AlarmRow>, Error> {
        let sql = format!("SELECT {ALARM_COLUMNS} FROM alarms WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(AlarmRow::from_row).transpose()
    }

    /// Journal rows matching the filter, newest first (by journal id, which is commit order).
    pub async fn alarm_journal(&self, filter: &JournalFilter) -> Result<Vec<JournalRow>, Error> {
        let limit = filter.limit.clamp(0, HISTORY_ROW_LIMIT);
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Only the filters that are set become SQL, so SQLite can pick the index that fits
        // (`?1 IS NULL OR col = ?1` would hide the time and activation indexes from it).
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT id, alarm_id, at_ms, rule, device, priority, transition, state, message, vals,
                    user, note
             FROM alarm_journal WHERE 1 = 1",
        );
        if let Some(from) = filter.from {
            q.push(" AND at_ms >= ").push_bind(from.timestamp_millis());
        }
        if let Some(to) = filter.to {
            q.push(" AND at_ms <= ").push_bind(to.timestamp_millis());
        }
        if let Some(device) = &filter.device {
            q.push(" AND device = ").push_bind(device.as_str());
        }
        if let Some(rule) = &filter.rule {
            q.push(" AND rule = ").push_bind(rule.as_str());
        }
        if let Some(priority) = filter.priority {
            q.push(" AND priority = ").push_bind(priority.as_str());
        }
        if let Some(state) = filter.state {
            q.push(" AND state = ").push_bind(state.as_str());
        }
        if let Some(transition) = filter.transition {
            q.push(" AND transition = ").push_bind(transition.as_str());
        }
        if let Some(alarm_id) = filter.alarm_id {
            q.push(" AND alarm_id = ").push_bind(alarm_id);
        }
        if let Some(before_id) = filter.before_id {
            q.push(" AND id < ").push_bind(before_id);
        }
        q.push(" ORDER BY id DESC LIMIT ").push_bind(limit);
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter().map(JournalRow::from_row).collect()
    }
}

fn priority_column(r: &SqliteRow) -> Result<Priority, Error> {
    let s: String = r.try_get("priority")?;
    Priority::parse(&s).ok_or_else(|| unknown("priority", &s))
}

fn state_column(r: &SqliteRow) -> Result<AlarmState, Error> {
    let s: String = r.try_get("state")?;
    AlarmState::parse(&s).ok_or_else(|| unknown("state", &s))
}

/// Parses a name written by [`Transition::as_str`] (its serde name is the same string).
fn parse_transition(s: &str) -> Option<Transition> {
    Transition::deserialize(IntoDeserializer::<serde::de::value::Error>::into_deserializer(s)).ok()
}

/// A column holding a name this version does not know: a damaged row, or one written by a
/// newer plcdiag. Reported, not guessed, so the alarm list never shows a wrong priority.
fn unknown(column: &str, value: &str) -> Error {
    Error::Query(sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: format!("unknown {column} {value:?}").into(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;
    use serde_json::json;

    use super::*;
    use crate::rules::Notice;

    /// `secs` after a fixed start (2026-05-28T20:26:40Z), so tests never read the clock.
    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_780_000_000 + secs, 0)
            .single()
            .unwrap_or_default()
    }

    /// A change of activation `alarm_id` of `overtemp` on `press-1` (high, one receiver),
    /// with `active`/`acked` as `state` implies; tests override the rest.
    fn change(
        alarm_id: i64,
        transition: Transition,
        state: AlarmState,
        at: DateTime<Utc>,
    ) -> AlarmChange {
        let (active, acked) = match state {
            AlarmState::Unacknowledged | AlarmState::Shelved => (true, false),
            AlarmState::Acknowledged => (true, true),
            AlarmState::RtnUnacknowledged | AlarmState::Latched => (false, false),
            AlarmState::Normal | AlarmState::Suppressed | AlarmState::OutOfService => (false, true),
        };
        AlarmChange {
            notice: Notice {
                journal_id: 0,
                alarm_id,
                rule: "overtemp".into(),
                device: "press-1".into(),
                driver: "s7".into(),
                priority: Priority::High,
                transition,
                state,
                active,
                acked,
                at,
                raised_at: at,
                cleared_at: (!active).then_some(at),
                message: format!("oil temperature {transition}"),
                values: json!({ "temperature": 95.0 }),
                user: None,
                note: None,
                shelved_until: None,
            },
            receivers: vec![Arc::from("ops")],
            point: json!({ "state": state.as_str() }),
        }
    }

    fn on(mut c: AlarmChange, rule: &str, device: &str, priority: Priority) -> AlarmChange {
        c.notice.rule = rule.into();
        c.notice.device = device.into();
        c.notice.priority = priority;
        c
    }

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(&dir.path().join("h.db"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (dir, store)
    }

    async fn commit(store: &Store, changes: Vec<AlarmChange>) {
        let mut changes = changes;
        store
            .commit_alarm_changes(&mut changes)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    async fn open_ids(store: &Store) -> Vec<i64> {
        let open = store.open_alarms().await.unwrap_or_else(|e| panic!("{e}"));
        open.iter().map(|a| a.id).collect()
    }

    async fn journal(store: &Store, filter: JournalFilter) -> Vec<JournalRow> {
        store
            .alarm_journal(&filter)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    use AlarmState as S;
    use Transition as T;

    #[tokio::test]
    async fn open_alarms_are_the_active_unacknowledged_shelved_and_latched_ones_critical_first_then_newest()
     {
        let (_dir, store) = store().await;
        let mut shelved = change(6, T::Shelved, S::Shelved, t(95));
        (shelved.notice.active, shelved.notice.acked) = (false, true);
        shelved.notice.shelved_until = Some(t(1000));
        commit(
            &store,
            vec![
                change(1, T::Raised, S::Unacknowledged, t(0)),
                on(
                    change(2, T::Raised, S::Unacknowledged, t(10)),
                    "estop",
                    "press-1",
                    Priority::Critical,
                ),
                change(3, T::Raised, S::Unacknowledged, t(20)),
                change(3, T::Cleared, S::RtnUnacknowledged, t(30)),
                // Acknowledged, then cleared: finished, off the list.
                change(4, T::Raised, S::Unacknowledged, t(40)),
                change(4, T::Acknowledged, S::Acknowledged, t(50)),
                change(4, T::Cleared, S::Normal, t(60)),
                on(
                    change(5, T::Raised, S::Unacknowledged, t(70)),
                    "level",
                    "tank",
                    Priority::Low,
                ),
                on(
                    change(5, T::Acknowledged, S::Acknowledged, t(80)),
                    "level",
                    "tank",
                    Priority::Low,
                ),
                on(
                    change(6, T::Raised, S::Unacknowledged, t(90)),
                    "door",
                    "cell",
                    Priority::Medium,
                ),
                on(
                    change(6, T::Acknowledged, S::Acknowledged, t(91)),
                    "door",
                    "cell",
                    Priority::Medium,
                ),
                on(
                    change(6, T::Cleared, S::Normal, t(92)),
                    "door",
                    "cell",
                    Priority::Medium,
                ),
                on(shelved, "door", "cell", Priority::Medium),
                on(
                    change(7, T::Raised, S::Unacknowledged, t(100)),
                    "guard",
                    "cell",
                    Priority::Medium,
                ),
                on(
                    change(7, T::Cleared, S::Latched, t(110)),
                    "guard",
                    "cell",
                    Priority::Medium,
                ),
            ],
        )
        .await;
        assert_eq!(open_ids(&store).await, [2, 3, 1, 7, 6, 5]);
        let open = store.open_alarms().await.unwrap_or_else(|e| panic!("{e}"));
        let rtn = open.iter().find(|a| a.id == 3);
        assert_eq!(
            rtn.map(|a| (a.state, a.active, a.acked)),
            Some((S::RtnUnacknowledged, false, false))
        );
    }

    #[tokio::test]
    async fn alarm_returns_one_activation_open_or_finished_and_none_for_an_unknown_id() {
        let (_dir, store) = store().await;
        commit(
            &store,
            vec![
                change(4, T::Raised, S::Unacknowledged, t(40)),
                change(4, T::Acknowledged, S::Acknowledged, t(50)),
                change(4, T::Cleared, S::Normal, t(60)),
            ],
        )
        .await;
        let a = store.alarm(4).await.unwrap_or_else(|e| panic!("{e}"));
        let a = a.unwrap_or_else(|| panic!("alarm 4 is stored"));
        assert_eq!(
            (a.rule.as_str(), a.device.as_str(), a.driver.as_str()),
            ("overtemp", "press-1", "s7")
        );
        assert_eq!(
            (a.priority, a.state, a.active, a.acked),
            (Priority::High, S::Normal, false, true)
        );
        assert_eq!(
            (a.raised_at, a.acked_at, a.cleared_at),
            (t(40), Some(t(50)), Some(t(60)))
        );
        assert_eq!(a.updated_at, t(60));
        assert_eq!(store.alarm(5).await.ok(), Some(None));
    }

    /// Three activations over two rules and two devices, six journal rows (ids 1 to 6).
    async fn three_activations(store: &Store) {
        let mut ack = change(1, T::Acknowledged, S::Acknowledged, t(10));
        ack.notice.user = Some("ana".into());
        commit(
            store,
            vec![
                change(1, T::Raised, S::Unacknowledged, t(0)),
                ack,
                change(1, T::Cleared, S::Normal, t(20)),
                on(
                    change(2, T::Raised, S::Unacknowledged, t(30)),
                    "overtemp",
                    "press-2",
                    Priority::High,
                ),
                on(
                    change(2, T::Cleared, S::RtnUnacknowledged, t(40)),
                    "overtemp",
                    "press-2",
                    Priority::High,
                ),
                on(
                    change(3, T::Raised, S::Unacknowledged, t(50)),
                    "lowpressure",
                    "press-1",
                    Priority::Critical,
                ),
            ],
        )
        .await;
    }

    fn keys(rows: &[JournalRow]) -> Vec<(i64, Transition)> {
        rows.iter().map(|r| (r.alarm_id, r.transition)).collect()
    }

    #[tokio::test]
    async fn the_journal_without_filters_is_every_row_newest_first() {
        let (_dir, store) = store().await;
        three_activations(&store).await;
        let rows = journal(&store, JournalFilter::default()).await;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        assert_eq!(ids, [6, 5, 4, 3, 2, 1]);
        let ack = rows.iter().find(|r| r.transition == T::Acknowledged);
        assert_eq!(
            ack.map(|r| (
                r.at,
                r.state,
                r.user.as_deref(),
                r.rule.as_str(),
                r.priority
            )),
            Some((
                t(10),
                S::Acknowledged,
                Some("ana"),
                "overtemp",
                Priority::High
            ))
        );
    }

    #[tokio::test]
    async fn each_journal_filter_narrows_to_its_rows() {
        let (_dir, store) = store().await;
        three_activations(&store).await;
        let f = JournalFilter::default;
        let cases: [(JournalFilter, &[(i64, Transition)]); 10] = [
            (
                JournalFilter {
                    from: Some(t(20)),
                    ..f()
                },
                &[
                    (3, T::Raised),
                    (2, T::Cleared),
                    (2, T::Raised),
                    (1, T::Cleared),
                ],
            ),
            (
                JournalFilter {
                    to: Some(t(10)),
                    ..f()
                },
                &[(1, T::Acknowledged), (1, T::Raised)],
            ),
            (
                JournalFilter {
                    from: Some(t(10)),
                    to: Some(t(30)),
                    ..f()
                },
                &[(2, T::Raised), (1, T::Cleared), (1, T::Acknowledged)],
            ),
            (
                JournalFilter {
                    device: Some("press-2".into()),
                    ..f()
                },
                &[(2, T::Cleared), (2, T::Raised)],
            ),
            (
                JournalFilter {
                    rule: Some("lowpressure".into()),
                    ..f()
                },
                &[(3, T::Raised)],
            ),
            (
                JournalFilter {
                    priority: Some(Priority::Critical),
                    ..f()
                },
                &[(3, T::Raised)],
            ),
            (
                JournalFilter {
                    state: Some(S::RtnUnacknowledged),
                    ..f()
                },
                &[(2, T::Cleared)],
            ),
            (
                JournalFilter {
                    transition: Some(T::Raised),
                    ..f()
                },
                &[(3, T::Raised), (2, T::Raised), (1, T::Raised)],
            ),
            (
                JournalFilter {
                    alarm_id: Some(1),
                    ..f()
                },
                &[(1, T::Cleared), (1, T::Acknowledged), (1, T::Raised)],
            ),
            (
                JournalFilter {
                    device: Some("press-1".into()),
                    transition: Some(T::Raised),
                    ..f()
                },
                &[(3, T::Raised), (1, T::Raised)],
            ),
        ];
        for (filter, want) in cases {
            assert_eq!(
                keys(&journal(&store, filter.clone()).await),
                want,
                "{filter:?}"
            );
        }
    }

    #[tokio::test]
    async fn journal_pages_follow_before_id_until_an_empty_page() {
        let (_dir, store) = store().await;
        three_activations(&store).await;
        let mut pages = Vec::new();
        let mut before_id = None;
        loop {
            let page = journal(
                &store,
                JournalFilter {
                    limit: 4,
                    before_id,
                    ..Default::default()
                },
            )
            .await;
            let Some(last) = page.last() else { break };
            before_id = Some(last.id);
            pages.push(page.iter().map(|r| r.id).collect::<Vec<_>>());
        }
        assert_eq!(pages, [vec![6, 5, 4, 3], vec![2, 1]]);
        // Paging combines with the other filters.
        let page = journal(
            &store,
            JournalFilter {
                alarm_id: Some(1),
                before_id: Some(3),
                limit: 1,
                ..Default::default()
            },
        )
        .await;
        assert_eq!(keys(&page), [(1, T::Acknowledged)]);
    }

    #[tokio::test]
    async fn a_journal_limit_of_zero_or_less_returns_nothing_and_a_huge_one_is_capped() {
        let (_dir, store) = store().await;
        three_activations(&store).await;
        assert!(
            journal(
                &store,
                JournalFilter {
                    limit: 0,
                    ..Default::default()
                }
            )
            .await
            .is_empty()
        );
        assert!(
            journal(
                &store,
                JournalFilter {
                    limit: -5,
                    ..Default::default()
                }
            )
            .await
            .is_empty()
        );
        assert_eq!(
            journal(
                &store,
                JournalFilter {
                    limit: i64::MAX,
                    ..Default::default()
                }
            )
            .await
            .len(),
            6
        );
    }

    async fn alarm_row(store: &Store, id: i64) -> AlarmRow {
        let row = store.alarm(id).await.unwrap_or_else(|e| panic!("{e}"));
        row.unwrap_or_else(|| panic!("alarm {id} is stored"))
    }

    #[tokio::test]
    async fn acknowledging_records_who_when_and_why_and_the_first_raises_values_are_kept() {
        let (_dir, store) = store().await;
        let mut shelve = change(1, T::Shelved, S::Shelved, t(5));
        (shelve.notice.user, shelve.notice.note) = (Some("ben".into()), Some("noisy".into()));
        let mut ack = change(1, T::Acknowledged, S::Acknowledged, t(10));
        ack.notice.user = Some("ana".into());
        ack.notice.note = Some("cooling valve stuck".into());
        ack.notice.values = json!({ "temperature": 80.0 });
        ack.notice.message = "oil temperature 80".into();
        let mut clear = change(1, T::Cleared, S::Normal, t(20));
        clear.notice.values = json!({ "temperature": 60.0 });
        commit(
            &store,
            vec![change(1, T::Raised, S::Unacknowledged, t(0)), shelve],
        )
        .await;
        // Shelving is an operator action but not an acknowledgement.
        let a = alarm_row(&store, 1).await;
        assert_eq!(
            (a.acked, a.acked_at, a.acked_by, a.ack_note),
            (false, None, None, None)
        );
        commit(&store, vec![ack, clear]).await;
        let a = alarm_row(&store, 1).await;
        assert_eq!(a.acked_at, Some(t(10)));
        assert_eq!(a.acked_by.as_deref(), Some("ana"));
        assert_eq!(a.ack_note.as_deref(), Some("cooling valve stuck"));
        assert_eq!(a.values, json!({ "temperature": 95.0 }));
        assert_eq!(a.message, "oil temperature raised");
        assert_eq!(
            (a.raised_at, a.cleared_at, a.updated_at),
            (t(0), Some(t(20)), t(20))
        );
        // The journal keeps each transition's own values.
        let rows = journal(
            &store,
            JournalFilter {
                alarm_id: Some(1),
                ..Default::default()
            },
        )
        .await;
        let temps: Vec<_> = rows
            .iter()
            .map(|r| r.values["temperature"].clone())
            .collect();
        assert_eq!(temps, [json!(60.0), json!(80.0), json!(95.0), json!(95.0)]);
    }

    #[tokio::test]
    async fn resetting_a_latched_alarm_records_who_reset_it_as_the_acknowledgement() {
        let (_dir, store) = store().await;
        let mut reset = change(1, T::Reset, S::Normal, t(30));
        reset.notice.user = Some("ben".into());
        reset.notice.note = Some("guard closed".into());
        reset.notice.cleared_at = Some(t(20));
        commit(
            &store,
            vec![
                change(1, T::Raised, S::Unacknowledged, t(0)),
                change(1, T::Cleared, S::Latched, t(20)),
                reset,
            ],
        )
        .await;
        let a = alarm_row(&store, 1).await;
        assert_eq!(
            (a.acked_at, a.acked_by.as_deref()),
            (Some(t(30)), Some("ben"))
        );
        assert_eq!(a.ack_note.as_deref(), Some("guard closed"));
    }

    #[tokio::test]
    async fn who_acknowledged_and_when_come_from_the_same_transition() {
        let (_dir, store) = store().await;
        // Ack mode `none`: acknowledged by the system as it is raised.
        let mut raise = change(1, T::Raised, S::Acknowledged, t(0));
        raise.notice.acked = true;
        let mut late = change(1, T::Acknowledged, S::Acknowledged, t(10));
        late.notice.user = Some("ana".into());
        commit(&store, vec![raise, late]).await;
        let a = alarm_row(&store, 1).await;
        assert_eq!(
            (a.acked_at, a.acked_by, a.ack_note),
            (Some(t(0)), None, None)
        );
    }

    #[test]
    fn every_transition_name_reads_back_and_unknown_names_do_not() {
        for tr in [
            T::Raised,
            T::Cleared,
            T::Acknowledged,
            T::Reset,
            T::ReAlarmed,
            T::Shelved,
            T::Unshelved,
            T::ShelveExpired,
            T::Suppressed,
            T::Unsuppressed,
        ] {
            assert_eq!(parse_transition(tr.as_str()), Some(tr));
        }
        assert_eq!(parse_transition("exploded"), None);
    }
}
