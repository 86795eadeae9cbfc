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

use std::collections::HashMap;

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

/// Rows one prune statement deletes, so the engine's commits never wait long for the lock.
const PRUNE_BATCH: u32 = 1000;

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

/// Width of one KPI bucket: ISA-18.2 and EEMUA 191 count alarms per 10 minutes.
const BUCKET_MS: i64 = 10 * 60 * 1000;
/// A bucket with more activations than this starts a flood ("> 10 alarms per 10 minutes").
const FLOOD_START_ABOVE: usize = 10;
/// A flood ends at the first bucket with fewer activations than this.
const FLOOD_END_BELOW: usize = 5;
/// Chattering: at least [`CHATTER_MIN`] activations of one point within this window (inclusive).
const CHATTER_WINDOW_MS: i64 = 60_000;
/// Chattering: "occurs and clears three or more times in a minute".
const CHATTER_MIN: usize = 3;
/// An alarm active for longer than this is standing (stale).
const STANDING_AFTER_MS: i64 = 24 * 60 * 60 * 1000;
/// How many bad actors [`Kpis::top10`] lists.
const TOP_N: usize = 10;

/// The longest window [`Store::alarm_kpis`] evaluates (one bucket list of about 53,000
/// entries); a longer request is shortened by moving `from` forward.
pub const KPI_MAX_WINDOW_DAYS: i64 = 366;

/// Alarm-system KPIs over a window (ISA-18.2 / EEMUA 191), from the activations in the journal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kpis {
    /// Window start (inclusive), as evaluated.
    pub from: DateTime<Utc>,
    /// Window end (exclusive).
    pub to: DateTime<Utc>,
    /// Activations (`raised` transitions) in the window.
    pub total_activations: usize,
    /// Activations per 10-minute bucket, aligned to `from`, every bucket of the window
    /// including empty ones; the last one is shorter when the window is not a multiple of
    /// 10 minutes.
    pub per_10_min: Vec<KpiBucket>,
    /// Activations per 10 minutes over the whole window (total / window length).
    pub average_per_10_min: f64,
    /// The most activations in one bucket.
    pub peak_10_min: usize,
    /// Alarm floods, oldest first (see [`Store::alarm_kpis`] for the definition).
    pub floods: Vec<AlarmFlood>,
    /// Share of the window spent in a flood, in percent (target: below about 1 %).
    pub time_in_flood_pct: f64,
    /// Chattering alarm points, the worst first.
    pub chattering: Vec<ChatteringPoint>,
    /// The alarm points with the most activations, at most ten, the most first.
    pub top10: Vec<BadActor>,
    /// Share of all activations that came from `top10`, in percent.
    pub top10_share_pct: f64,
    /// Activations by priority (EEMUA 191 aims at about 80 % low, 15 % medium, 5 % high).
    pub by_priority: PriorityCounts,
    /// Alarms that had been active for more than 24 hours at `to`.
    pub standing: usize,
}

/// One 10-minute bucket of [`Kpis::per_10_min`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiBucket {
    /// Bucket start; the bucket runs for 10 minutes (or to the window's end).
    pub start: DateTime<Utc>,
    /// Activations in the bucket.
    pub count: usize,
}

/// One alarm flood: consecutive buckets from one with more than 10 activations up to (not
/// including) the first following bucket with fewer than 5.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmFlood {
    /// Start of its first bucket.
    pub start: DateTime<Utc>,
    /// Start of the quiet bucket that ended it, or the window's end if it had not ended.
    pub end: DateTime<Utc>,
    /// Activations during the flood.
    pub activations: usize,
    /// The most activations in one of its buckets.
    pub peak_10_min: usize,
}

/// An alarm point that chattered: 3 or more activations within 60 s at least once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatteringPoint {
    /// Rule name.
    pub rule: String,
    /// Device name.
    pub device: String,
    /// Its activations in the whole window.
    pub activations: usize,
    /// The most of its activations within any 60 s (both ends included).
    pub max_in_60s: usize,
}

/// One of the top-10 bad actors: an alarm point (rule x device) by activations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadActor {
    /// Rule name.
    pub rule: String,
    /// Device name.
    pub device: String,
    /// Its activations in the window.
    pub activations: usize,
    /// Its share of all activations, in percent.
    pub share_pct: f64,
}

/// Activations by priority.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PriorityCounts {
    /// Low.
    pub low: usize,
    /// Medium.
    pub medium: usize,
    /// High.
    pub high: usize,
    /// Critical.
    pub critical: usize,
}

impl PriorityCounts {
    fn add(&mut self, p: Priority) {
        let n = match p {
            Priority::Low => &mut self.low,
            Priority::Medium => &mut self.medium,
            Priority::High => &mut self.high,
            Priority::Critical => &mut self.critical,
        };
        *n += 1;
    }
}

/// One activation, as the KPIs see it.
#[derive(Debug, Clone, PartialEq)]
struct Activation {
    at: DateTime<Utc>,
    rule: String,
    device: String,
    priority: Priority,
}

/// The KPI window as evaluated: `to` no earlier than `from`, at most [`KPI_MAX_WINDOW_DAYS`].
fn kpi_window(from: DateTime<Utc>, to: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let from = from.min(to);
    let earliest = to
        .checked_sub_signed(chrono::Duration::days(KPI_MAX_WINDOW_DAYS))
        .unwrap_or(from);
    (from.max(earliest), to)
}

/// Every KPI except `standing`, from the activations (in any order; those outside
/// `[from, to)` are ignored). `from` and `to` must come from [`kpi_window`].
fn compute_kpis(from: DateTime<Utc>, to: DateTime<Utc>, activations: &[Activation]) -> Kpis {
    let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
    let span_ms = to_ms.saturating_sub(from_ms).max(0);
    let buckets = usize::try_from(span_ms.saturating_add(BUCKET_MS - 1) / BUCKET_MS).unwrap_or(0);
    let mut counts = vec![0_usize; buckets];
    let mut by_priority = PriorityCounts::default();
    let mut by_point: HashMap<(&str, &str), Vec<i64>> = HashMap::new();
    let mut total = 0_usize;
    for a in activations {
        let at = a.at.timestamp_millis();
        if at < from_ms || at >= to_ms {
            continue;
        }
        let bucket = usize::try_from((at - from_ms) / BUCKET_MS).ok();
        let Some(count) = bucket.and_then(|b| counts.get_mut(b)) else {
            continue;
        };
        *count += 1;
        total += 1;
        by_priority.add(a.priority);
        by_point.entry((&a.rule, &a.device)).or_default().push(at);
    }

    let mut per_10_min = Vec::with_capacity(buckets);
    let mut start_ms = from_ms;
    for &count in &counts {
        per_10_min.push(KpiBucket {
            start: from_millis(start_ms),
            count,
        });
        start_ms = start_ms.saturating_add(BUCKET_MS);
    }

    let floods = floods(&per_10_min, to);
    let flood_ms: i64 = floods
        .iter()
        .map(|f| (f.end - f.start).num_milliseconds())
        .sum();

    let mut points: Vec<((&str, &str), Vec<i64>)> = by_point.into_iter().collect();
    let mut chattering = Vec::new();
    for ((rule, device), times) in &mut points {
        times.sort_unstable();
        let max_in_60s = max_within(times, CHATTER_WINDOW_MS);
        if max_in_60s >= CHATTER_MIN {
            chattering.push(ChatteringPoint {
                rule: (*rule).to_owned(),
                device: (*device).to_owned(),
                activations: times.len(),
                max_in_60s,
            });
        }
    }
    chattering.sort_by(|a, b| {
        (b.max_in_60s, b.activations)
            .cmp(&(a.max_in_60s, a.activations))
            .then_with(|| (&a.rule, &a.device).cmp(&(&b.rule, &b.device)))
    });

    // The most activations first; ties in name order, so the list is stable.
    points.sort_by(|(ka, a), (kb, b)| b.len().cmp(&a.len()).then_with(|| ka.cmp(kb)));
    let top10: Vec<BadActor> = points
        .iter()
        .take(TOP_N)
        .map(|((rule, device), times)| BadActor {
            rule: (*rule).to_owned(),
            device: (*device).to_owned(),
            activations: times.len(),
            share_pct: pct(times.len() as f64, total as f64),
        })
        .collect();
    let top10_total: usize = top10.iter().map(|b| b.activations).sum();

    Kpis {
        from,
        to,
        total_activations: total,
        average_per_10_min: if span_ms > 0 {
            total as f64 * BUCKET_MS as f64 / span_ms as f64
        } else {
            0.0
        },
        peak_10_min: counts.iter().copied().max().unwrap_or(0),
        per_10_min,
        floods,
        time_in_flood_pct: pct(flood_ms as f64, span_ms as f64),
        chattering,
        top10_share_pct: pct(top10_total as f64, total as f64),
        top10,
        by_priority,
        standing: 0,
    }
}

/// The floods among `buckets` (see [`Store::alarm_kpis`]); one still going at the end of the
/// window ends at `to`.
fn floods(buckets: &[KpiBucket], to: DateTime<Utc>) -> Vec<AlarmFlood> {
    let mut floods = Vec::new();
    let mut flood: Option<AlarmFlood> = None;
    for b in buckets {
        if let Some(f) = &mut flood {
            if b.count < FLOOD_END_BELOW {
                f.end = b.start;
                floods.extend(flood.take());
            } else {
                f.activations += b.count;
                f.peak_10_min = f.peak_10_min.max(b.count);
            }
        } else if b.count > FLOOD_START_ABOVE {
            flood = Some(AlarmFlood {
                start: b.start,
                end: to,
                activations: b.count,
                peak_10_min: b.count,
            });
        }
    }
    floods.extend(flood);
    floods
}

/// The most of the sorted `times` within any window of `window_ms` (both ends included):
/// one pass with two indexes.
fn max_within(times: &[i64], window_ms: i64) -> usize {
    let mut best = 0;
    let mut first = 0;
    for (last, &t) in times.iter().enumerate() {
        while times
            .get(first)
            .is_some_and(|&f| t.saturating_sub(f) > window_ms)
        {
            first += 1;
        }
        best = best.max((last + 1).saturating_sub(first));
    }
    best
}

/// `part` as a percentage of `whole` (0 when `whole` is 0).
fn pct(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        part * 100.0 / whole
    } else {
        0.0
    }
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
            if change.notice.transition == crate::rules::Transition::Raised {
                // Shelving and suppression belong to the point; the point's finished
                // activations show them no more once a new one starts.
                sqlx::query(
                    "UPDATE alarms SET state = 'normal'
                     WHERE rule = ? AND device = ? AND id < ? AND active = 0 AND acked = 1
                       AND state IN ('shelved', 'suppressed')",
                )
                .bind(&change.notice.rule)
                .bind(&change.notice.device)
                .bind(change.notice.alarm_id)
                .execute(&mut *tx)
                .await?;
            }
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

    /// KPIs of activations (transition = 'raised') between from and to.
    ///
    /// The window is `[from, to)`; a `to` before `from` gives an empty window, and a window
    /// longer than [`KPI_MAX_WINDOW_DAYS`] starts that many days before `to` (see
    /// [`Kpis::from`]). Activations are counted in 10-minute buckets aligned to `from`.
    ///
    /// - **Flood** (ISA-18.2, "> 10 alarms per 10 minutes"): evaluated bucket by bucket, a flood
    ///   starts at a bucket with more than 10 activations and ends at the first following
    ///   bucket with fewer than 5; buckets with 5 to 10 continue a flood but do not start one.
    ///   It lasts from the start of its first bucket to the start of that quiet bucket (or to
    ///   `to`), and time-in-flood is the floods' total duration / (`to` - `from`).
    /// - **Peak** is the fullest bucket (aligned buckets, not a sliding window).
    /// - **Chattering**: 3 or more activations of the same alarm point (rule, device) within
    ///   any 60 s, both ends included (0 s, 30 s and 60 s chatter; 0 s, 30 s and 61 s do not).
    /// - **Top 10 bad actors**: alarm points by activations, ties in (rule, device) order.
    /// - **Standing**: alarms raised more than 24 h before `to` and still active at `to`.
    ///
    /// Activations are read from the journal, so a window older than the alarm retention
    /// ([`Store::prune_alarms`]) counts only what is left.
    pub async fn alarm_kpis(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Kpis, Error> {
        let (from, to) = kpi_window(from, to);
        let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
        let rows = sqlx::query(
            "SELECT at_ms, rule, device, priority FROM alarm_journal
             WHERE at_ms >= ? AND at_ms < ? AND transition = 'raised'",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await?;
        let mut activations = Vec::with_capacity(rows.len());
        for r in &rows {
            activations.push(Activation {
                at: from_millis(r.try_get("at_ms")?),
                rule: r.try_get("rule")?,
                device: r.try_get("device")?,
                priority: priority_column(r)?,
            });
        }
        let mut kpis = compute_kpis(from, to, &activations);
        // Still active now (the open-alarms index), or cleared after `to`: such an alarm has a
        // journal row after `to` (the time index), which is short for a recent `to`. Both
        // avoid scanning every alarm raised before the cut-off.
        let standing: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM alarms
                     WHERE active = 1 AND cleared_ms IS NULL AND raised_ms < ?1)
                  + (SELECT COUNT(*) FROM alarms
                     WHERE id IN (SELECT alarm_id FROM alarm_journal WHERE at_ms > ?2)
                       AND cleared_ms > ?2 AND raised_ms < ?1)",
        )
        .bind(to_ms.saturating_sub(STANDING_AFTER_MS))
        .bind(to_ms)
        .fetch_one(&self.pool)
        .await?;
        kpis.standing = usize::try_from(standing).unwrap_or(0);
        Ok(kpis)
    }

    /// Deletes journal rows, finished alarms (not open) and delivered/dead outbox rows older
    /// than `before`; never deletes open alarms, their journal rows, or pending outbox rows.
    /// Returns rows deleted.
    ///
    /// A journal row still referenced by a pending outbox row is kept too, and an activation
    /// is deleted only once none of its journal rows is left, so the foreign keys always hold.
    /// Deletes run in batches of 1000 rows, each its own transaction, so the
    /// rules engine's commits are never held up for long.
    pub async fn prune_alarms(&self, before: DateTime<Utc>) -> Result<u64, Error> {
        let statements = [
            "DELETE FROM outbox WHERE id IN (
                 SELECT id FROM outbox
                 WHERE created_ms < ?1 AND (delivered_ms IS NOT NULL OR dead_ms IS NOT NULL)
                   AND id < (SELECT MAX(id) FROM outbox)
                 LIMIT ?2)"
                .to_owned(),
            format!(
                "DELETE FROM alarm_journal WHERE id IN (
                     SELECT j.id FROM alarm_journal j JOIN alarms ON alarms.id = j.alarm_id
                     WHERE j.at_ms < ?1 AND NOT {OPEN_ALARM}
                       AND j.id NOT IN (SELECT journal_id FROM outbox)
                       AND j.id < (SELECT MAX(id) FROM alarm_journal)
                     LIMIT ?2)"
            ),
            format!(
                "DELETE FROM alarms WHERE id IN (
                     SELECT id FROM alarms
                     WHERE raised_ms < ?1 AND updated_ms < ?1 AND NOT {OPEN_ALARM}
                       AND NOT EXISTS (SELECT 1 FROM alarm_journal j WHERE j.alarm_id = alarms.id)
                       AND id < (SELECT MAX(id) FROM alarms)
                     LIMIT ?2)"
            ),
        ];
        let before_ms = before.timestamp_millis();
        let mut deleted = 0;
        for sql in &statements {
            loop {
                let n = sqlx::query(sql)
                    .bind(before_ms)
                    .bind(i64::from(PRUNE_BATCH))
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                deleted += n;
                if n < u64::from(PRUNE_BATCH) {
                    break;
                }
            }
        }
        Ok(deleted)
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

    /// An alarm point other than the default one: rule, device, priority.
    type Point = (&'static str, &'static str, Priority);
    const ESTOP: Point = ("estop", "press-1", Priority::Critical);
    const LOW_PRESSURE: Point = ("lowpressure", "press-1", Priority::Critical);
    const PRESS_2: Point = ("overtemp", "press-2", Priority::High);
    const DOOR: Point = ("door", "cell", Priority::Medium);
    const GUARD: Point = ("guard", "cell", Priority::Medium);
    const TANK: Point = ("level", "tank", Priority::Low);

    /// `c` on another alarm point.
    fn on((rule, device, priority): Point, mut c: AlarmChange) -> AlarmChange {
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
                on(ESTOP, change(2, T::Raised, S::Unacknowledged, t(10))),
                change(3, T::Raised, S::Unacknowledged, t(20)),
                change(3, T::Cleared, S::RtnUnacknowledged, t(30)),
                // Acknowledged, then cleared: finished, off the list.
                change(4, T::Raised, S::Unacknowledged, t(40)),
                change(4, T::Acknowledged, S::Acknowledged, t(50)),
                change(4, T::Cleared, S::Normal, t(60)),
                on(TANK, change(5, T::Raised, S::Unacknowledged, t(70))),
                on(TANK, change(5, T::Acknowledged, S::Acknowledged, t(80))),
                on(DOOR, change(6, T::Raised, S::Unacknowledged, t(90))),
                on(DOOR, change(6, T::Acknowledged, S::Acknowledged, t(91))),
                on(DOOR, change(6, T::Cleared, S::Normal, t(92))),
                on(DOOR, shelved),
                on(GUARD, change(7, T::Raised, S::Unacknowledged, t(100))),
                on(GUARD, change(7, T::Cleared, S::Latched, t(110))),
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
                on(PRESS_2, change(2, T::Raised, S::Unacknowledged, t(30))),
                on(PRESS_2, change(2, T::Cleared, S::RtnUnacknowledged, t(40))),
                on(LOW_PRESSURE, change(3, T::Raised, S::Unacknowledged, t(50))),
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
        type Case = (fn(&mut JournalFilter), &'static [(i64, Transition)]);
        let cases: [Case; 10] = [
            (
                |f| f.from = Some(t(20)),
                &[
                    (3, T::Raised),
                    (2, T::Cleared),
                    (2, T::Raised),
                    (1, T::Cleared),
                ],
            ),
            (
                |f| f.to = Some(t(10)),
                &[(1, T::Acknowledged), (1, T::Raised)],
            ),
            (
                |f| (f.from, f.to) = (Some(t(10)), Some(t(30))),
                &[(2, T::Raised), (1, T::Cleared), (1, T::Acknowledged)],
            ),
            (
                |f| f.device = Some("press-2".into()),
                &[(2, T::Cleared), (2, T::Raised)],
            ),
            (|f| f.rule = Some("lowpressure".into()), &[(3, T::Raised)]),
            (|f| f.priority = Some(Priority::Critical), &[(3, T::Raised)]),
            (|f| f.state = Some(S::RtnUnacknowledged), &[(2, T::Cleared)]),
            (
                |f| f.transition = Some(T::Raised),
                &[(3, T::Raised), (2, T::Raised), (1, T::Raised)],
            ),
            (
                |f| f.alarm_id = Some(1),
                &[(1, T::Cleared), (1, T::Acknowledged), (1, T::Raised)],
            ),
            (
                |f| (f.device, f.transition) = (Some("press-1".into()), Some(T::Raised)),
                &[(3, T::Raised), (1, T::Raised)],
            ),
        ];
        for (narrow, want) in cases {
            let mut filter = JournalFilter::default();
            narrow(&mut filter);
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

    fn act(at: DateTime<Utc>, rule: &str, device: &str, priority: Priority) -> Activation {
        Activation {
            at,
            rule: rule.into(),
            device: device.into(),
            priority,
        }
    }

    const MIN: i64 = 60;

    /// `counts[i]` activations in the i-th 10-minute bucket after `t(0)`, each from its own
    /// point and 10 s apart, so nothing chatters.
    fn buckets(counts: &[usize]) -> Vec<Activation> {
        let mut out = Vec::new();
        for (b, &n) in counts.iter().enumerate() {
            for k in 0..n {
                let at = t(i64::try_from(b * 600 + k * 10).unwrap_or(0));
                out.push(act(at, "r", &format!("d{b}-{k}"), Priority::Low));
            }
        }
        out
    }

    fn counts(k: &Kpis) -> Vec<usize> {
        k.per_10_min.iter().map(|b| b.count).collect()
    }

    #[test]
    fn buckets_are_aligned_to_from_zero_filled_and_the_window_excludes_to() {
        let a = [
            act(t(-1), "r", "d", Priority::Low),
            act(t(0), "r", "d", Priority::Low),
            act(t(25 * MIN), "r", "d", Priority::Low),
            act(t(25 * MIN + 1), "r", "e", Priority::Low),
            act(t(35 * MIN - 1), "r", "d", Priority::Low),
            act(t(35 * MIN), "r", "d", Priority::Low),
        ];
        let k = compute_kpis(t(0), t(35 * MIN), &a);
        assert_eq!(counts(&k), [1, 0, 2, 1]);
        let starts: Vec<_> = k.per_10_min.iter().map(|b| b.start).collect();
        assert_eq!(starts, [t(0), t(10 * MIN), t(20 * MIN), t(30 * MIN)]);
        assert_eq!((k.total_activations, k.peak_10_min), (4, 2));
        assert!((k.average_per_10_min - 4.0 * 10.0 / 35.0).abs() < 1e-9);
    }

    #[test]
    fn a_flood_starts_above_10_and_ends_at_the_first_following_bucket_below_5() {
        // 10 does not start a flood; 11 does; 7 and 5 continue it; 4 ends it; the second
        // flood is still going at the end of the window.
        let k = compute_kpis(t(0), t(70 * MIN), &buckets(&[10, 11, 7, 5, 4, 11, 12]));
        let floods: Vec<_> = k
            .floods
            .iter()
            .map(|f| (f.start, f.end, f.activations, f.peak_10_min))
            .collect();
        assert_eq!(
            floods,
            [
                (t(10 * MIN), t(40 * MIN), 23, 11),
                (t(50 * MIN), t(70 * MIN), 23, 12),
            ]
        );
        assert!((k.time_in_flood_pct - 100.0 * 5.0 / 7.0).abs() < 1e-9);
        assert_eq!(k.peak_10_min, 12);
    }

    #[test]
    fn five_to_ten_per_bucket_neither_starts_nor_ends_a_flood() {
        let k = compute_kpis(t(0), t(50 * MIN), &buckets(&[10, 5, 11, 10, 5]));
        let floods: Vec<_> = k.floods.iter().map(|f| (f.start, f.end)).collect();
        assert_eq!(floods, [(t(20 * MIN), t(50 * MIN))]);
        assert!((k.time_in_flood_pct - 60.0).abs() < 1e-9);
        let quiet = compute_kpis(t(0), t(30 * MIN), &buckets(&[10, 9, 10]));
        assert!(quiet.floods.is_empty());
        assert_eq!(quiet.time_in_flood_pct, 0.0);
    }

    #[test]
    fn three_activations_within_60_s_chatter_and_within_61_s_do_not() {
        let mut a = Vec::new();
        for s in [0, 30, 60] {
            a.push(act(t(s), "hi", "exactly-60", Priority::Low));
        }
        for s in [0, 30, 61] {
            a.push(act(t(s), "hi", "over-60", Priority::Low));
        }
        for s in [0, 10, 20, 30, 200] {
            a.push(act(t(s), "hi", "four-in-30", Priority::Low));
        }
        // Two points of one rule that fire together are two points, not one chattering one.
        for s in [0, 1] {
            a.push(act(t(s), "lo", "x", Priority::Low));
            a.push(act(t(s), "lo", "y", Priority::Low));
        }
        let k = compute_kpis(t(0), t(10 * MIN), &a);
        let chat: Vec<_> = k
            .chattering
            .iter()
            .map(|c| (c.device.as_str(), c.activations, c.max_in_60s))
            .collect();
        assert_eq!(chat, [("four-in-30", 5, 4), ("exactly-60", 3, 3)]);
    }

    #[test]
    fn top10_is_the_ten_busiest_points_with_ties_in_name_order() {
        // Twelve points: d00 has 12 activations, then d01 to d11 have 11 - i / 2 each.
        let mut a = Vec::new();
        let n = |i: usize| if i == 0 { 12 } else { 11 - i / 2 };
        for i in 0..12 {
            for k in 0..n(i) {
                a.push(act(
                    t(i64::try_from(k * 100).unwrap_or(0)),
                    "r",
                    &format!("d{i:02}"),
                    Priority::Low,
                ));
            }
        }
        // Same count as d01 (11) but a later rule name, and a device name that sorts first.
        for k in 0..11 {
            a.push(act(t(k * 100), "s", "a", Priority::Low));
        }
        let total = a.len();
        let k = compute_kpis(t(0), t(60 * MIN), &a);
        let top: Vec<_> = k
            .top10
            .iter()
            .map(|b| (format!("{}/{}", b.rule, b.device), b.activations))
            .collect();
        let want: Vec<(String, usize)> = [
            ("r/d00", 12),
            ("r/d01", 11),
            ("s/a", 11),
            ("r/d02", 10),
            ("r/d03", 10),
            ("r/d04", 9),
            ("r/d05", 9),
            ("r/d06", 8),
            ("r/d07", 8),
            ("r/d08", 7),
        ]
        .into_iter()
        .map(|(p, c)| (p.to_owned(), c))
        .collect();
        assert_eq!(top, want);
        let top_total: usize = want.iter().map(|(_, c)| c).sum();
        assert!((k.top10_share_pct - 100.0 * top_total as f64 / total as f64).abs() < 1e-9);
        let first = k.top10.first().map(|b| b.share_pct).unwrap_or_default();
        assert!((first - 100.0 * 12.0 / total as f64).abs() < 1e-9);
    }

    #[test]
    fn priorities_are_counted_once_per_activation() {
        let a = [
            act(t(0), "a", "d", Priority::Low),
            act(t(1), "b", "d", Priority::Low),
            act(t(2), "c", "d", Priority::High),
            act(t(3), "e", "d", Priority::Critical),
        ];
        let k = compute_kpis(t(0), t(MIN), &a);
        let want = PriorityCounts {
            low: 2,
            medium: 0,
            high: 1,
            critical: 1,
        };
        assert_eq!(k.by_priority, want);
    }

    #[test]
    fn an_empty_or_reversed_window_has_no_buckets_and_no_nan() {
        let a = buckets(&[3]);
        for (from, to) in [(t(0), t(0)), (t(600), t(0))] {
            let (from, to) = kpi_window(from, to);
            let k = compute_kpis(from, to, &a);
            assert!(k.per_10_min.is_empty(), "{k:?}");
            assert_eq!((k.total_activations, k.peak_10_min), (0, 0));
            assert_eq!(
                (k.average_per_10_min, k.time_in_flood_pct, k.top10_share_pct),
                (0.0, 0.0, 0.0)
            );
        }
    }

    #[test]
    fn a_window_longer_than_the_maximum_starts_that_many_days_before_to() {
        let to = t(0);
        let (from, to2) = kpi_window(DateTime::<Utc>::MIN_UTC, to);
        assert_eq!((to - from).num_days(), KPI_MAX_WINDOW_DAYS);
        assert_eq!(to2, to);
        let k = compute_kpis(from, to, &[]);
        assert_eq!(
            k.per_10_min.len(),
            usize::try_from(KPI_MAX_WINDOW_DAYS * 144).unwrap_or(0)
        );
    }

    #[tokio::test]
    async fn kpis_from_the_store_count_raised_transitions_in_the_window_and_standing_alarms() {
        let (_dir, store) = store().await;
        const H: i64 = 3600;
        let to = t(72 * H);
        let from = t(71 * H);
        let p = |mut c: AlarmChange, device: &str| {
            c.notice.device = device.into();
            c
        };
        let mut cleared_late = change(2, T::Cleared, S::RtnUnacknowledged, t(73 * H));
        cleared_late.notice.raised_at = t(0);
        commit(
            &store,
            vec![
                // Raised 72 h before `to` and still active: standing.
                p(change(1, T::Raised, S::Unacknowledged, t(0)), "a"),
                // Raised 72 h before `to`, cleared after `to`: standing at `to`.
                p(change(2, T::Raised, S::Unacknowledged, t(0)), "b"),
                // Raised 72 h before, cleared 48 h before `to`: not standing.
                p(change(3, T::Raised, S::Unacknowledged, t(0)), "c"),
                p(change(3, T::Cleared, S::RtnUnacknowledged, t(24 * H)), "c"),
                // Raised in the window, active for 1 h: counted, not standing.
                p(change(4, T::Raised, S::Unacknowledged, t(71 * H)), "d"),
                p(
                    change(4, T::Acknowledged, S::Acknowledged, t(71 * H + 10)),
                    "d",
                ),
                // Three raises of one point within 60 s: chattering.
                p(
                    change(5, T::Raised, S::Unacknowledged, t(71 * H + 100)),
                    "e",
                ),
                p(
                    change(5, T::Cleared, S::RtnUnacknowledged, t(71 * H + 110)),
                    "e",
                ),
                p(
                    change(6, T::Raised, S::Unacknowledged, t(71 * H + 120)),
                    "e",
                ),
                p(
                    change(6, T::Cleared, S::RtnUnacknowledged, t(71 * H + 130)),
                    "e",
                ),
                p(
                    change(7, T::Raised, S::Unacknowledged, t(71 * H + 160)),
                    "e",
                ),
                // Raised at `to`: outside the window.
                p(change(8, T::Raised, S::Unacknowledged, to), "f"),
                p(cleared_late, "b"),
            ],
        )
        .await;
        let k = store
            .alarm_kpis(from, to)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (k.from, k.to, k.total_activations, k.standing),
            (from, to, 4, 2)
        );
        assert_eq!(k.per_10_min.len(), 6);
        assert_eq!(k.per_10_min.first().map(|b| b.count), Some(4));
        assert_eq!(k.by_priority.high, 4);
        let chat: Vec<_> = k
            .chattering
            .iter()
            .map(|c| (c.device.as_str(), c.max_in_60s))
            .collect();
        assert_eq!(chat, [("e", 3)]);
        let top: Vec<_> = k
            .top10
            .iter()
            .map(|b| (b.device.as_str(), b.activations))
            .collect();
        assert_eq!(top, [("e", 3), ("d", 1)]);
        // At a `to` before alarm 2 cleared and alarm 1 turned 24 h old, nothing was standing.
        let early = store
            .alarm_kpis(t(0), t(23 * H))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((early.standing, early.total_activations), (0, 3));
        // At 25 h, alarms 1 and 2 were standing, 3 had cleared.
        let mid = store
            .alarm_kpis(t(0), t(25 * H))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mid.standing, 2);
    }

    async fn count(store: &Store, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&store.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    async fn transitions_of(store: &Store, alarm_id: i64) -> Vec<Transition> {
        let rows = journal(
            store,
            JournalFilter {
                alarm_id: Some(alarm_id),
                ..Default::default()
            },
        )
        .await;
        rows.iter().rev().map(|r| r.transition).collect()
    }

    #[tokio::test]
    async fn pruning_deletes_finished_history_and_keeps_open_alarms_and_pending_notifications() {
        let (_dir, store) = store().await;
        const DAY: i64 = 86_400;
        commit(
            &store,
            vec![
                // 1: old and finished: everything goes.
                change(1, T::Raised, S::Unacknowledged, t(0)),
                change(1, T::Acknowledged, S::Acknowledged, t(10)),
                change(1, T::Cleared, S::Normal, t(20)),
                // 2: old but still open (never acknowledged): alarm and journal stay.
                change(2, T::Raised, S::Unacknowledged, t(30)),
                change(2, T::Cleared, S::RtnUnacknowledged, t(40)),
                // 3: old and finished, but the clear's notification is still pending.
                change(3, T::Raised, S::Unacknowledged, t(50)),
                change(3, T::Acknowledged, S::Acknowledged, t(60)),
                change(3, T::Cleared, S::Normal, t(70)),
                // 4: raised before the cut, finished after it: only the old row goes.
                change(4, T::Raised, S::Unacknowledged, t(80)),
                change(4, T::Acknowledged, S::Acknowledged, t(6 * DAY)),
                change(4, T::Cleared, S::Normal, t(6 * DAY + 10)),
                // 5: new: stays.
                change(5, T::Raised, S::Unacknowledged, t(7 * DAY)),
                change(5, T::Acknowledged, S::Acknowledged, t(7 * DAY + 1)),
                change(5, T::Cleared, S::Normal, t(7 * DAY + 2)),
            ],
        )
        .await;
        // Everything was delivered except alarm 3's clear (pending) and its ack (dead).
        sqlx::query(
            "UPDATE outbox SET delivered_ms = created_ms
             WHERE journal_id NOT IN (SELECT id FROM alarm_journal
                                      WHERE alarm_id = 3 AND transition <> 'raised')",
        )
        .execute(&store.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        sqlx::query(
            "UPDATE outbox SET dead_ms = created_ms, last_error = '400 bad payload'
             WHERE journal_id IN (SELECT id FROM alarm_journal
                                  WHERE alarm_id = 3 AND transition = 'acknowledged')",
        )
        .execute(&store.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

        let deleted = store
            .prune_alarms(t(5 * DAY))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // Outbox: 3 of alarm 1, 2 of alarm 2, raise and dead ack of 3, raise of 4. Journal: 3
        // of alarm 1, raise and ack of 3, raise of 4. Alarms: 1.
        assert_eq!(deleted, 8 + 6 + 1);
        assert_eq!(store.alarm(1).await.ok(), Some(None));
        assert_eq!(open_ids(&store).await, [2]);
        assert_eq!(transitions_of(&store, 2).await, [T::Raised, T::Cleared]);
        assert_eq!(transitions_of(&store, 3).await, [T::Cleared]);
        assert_eq!(
            transitions_of(&store, 4).await,
            [T::Acknowledged, T::Cleared]
        );
        assert_eq!(transitions_of(&store, 5).await.len(), 3);
        assert!(store.alarm(3).await.ok().flatten().is_some());
        assert!(store.alarm(4).await.ok().flatten().is_some());
        let pending = "SELECT COUNT(*) FROM outbox WHERE delivered_ms IS NULL AND dead_ms IS NULL";
        assert_eq!(count(&store, pending).await, 1);
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM outbox").await,
            1 + 2 + 3
        );

        // Once the pending row is delivered, alarm 3 goes at the next prune.
        sqlx::query("UPDATE outbox SET delivered_ms = created_ms")
            .execute(&store.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.prune_alarms(t(5 * DAY)).await.ok(), Some(3));
        assert_eq!(store.alarm(3).await.ok(), Some(None));
        assert_eq!(store.prune_alarms(t(5 * DAY)).await.ok(), Some(0));
    }

    #[tokio::test]
    async fn pruning_more_rows_than_one_batch_deletes_them_all() {
        let (_dir, store) = store().await;
        let n = i64::from(PRUNE_BATCH) + 5;
        let mut changes = Vec::new();
        for id in 1..=n {
            for (tr, st, at) in [
                (T::Raised, S::Acknowledged, 2 * id),
                (T::Cleared, S::Normal, 2 * id + 1),
            ] {
                let mut c = change(id, tr, st, t(at));
                c.notice.acked = true;
                c.receivers.clear();
                changes.push(c);
            }
        }
        commit(&store, changes).await;
        let deleted = store
            .prune_alarms(t(4 * n))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // The newest journal row and its activation stay, so that ids are never handed out
        // twice after a prune (SQLite reuses the highest rowid once it is gone).
        assert_eq!(deleted, u64::try_from(3 * n - 2).unwrap_or(0));
        assert_eq!(count(&store, "SELECT COUNT(*) FROM alarms").await, 1);
        assert_eq!(count(&store, "SELECT MAX(id) FROM alarms").await, n);
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
