//! The rules engine: feeds observations and timers to the alarm points, and commits every
//! change to the journal and the outbox before anything else sees it.
//!
//! [`Engine`] is the pure core (observations, timers and operator commands in, [`AlarmChange`]s
//! out, `now` passed in); [`run`] is the task around it, with a [`Clock`] that follows tokio's
//! time so tests run on paused time. Invariants:
//! - One task owns all alarm state; operator commands reach it through [`EngineHandle`].
//! - Changes are committed (journal, point state, outbox) before the next observation is taken,
//!   so the outbox never lags the journal and a restart resumes from what was committed.
//! - Activation ids are handed out by the engine, counting on from the highest in the store.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{info, warn};

use super::alarm::{AlarmPoint, CommandError, Event, Persisted};
use super::check::Check;
use super::facts::{self, DeviceFacts};
use super::{AlarmChange, AlarmState, Notice, Rule, Transition};
use crate::config::{Config, DeviceConfig};
use crate::model::{DeviceName, HealthState, Observation};
use crate::notify::ReceiverConfig;
use crate::store::Store;
use crate::store::alarms::SavedPoint;

/// Why an operator command failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No alarm point has this activation.
    #[error("alarm {0} is not an alarm of a configured rule")]
    NotFound(i64),
    /// The alarm exists but is not the point's current activation.
    #[error(
        "alarm {0} is finished (a newer activation or none replaced it); only the current alarm of a rule and device can be changed"
    )]
    NotCurrent(i64),
    /// The state machine refused.
    #[error(transparent)]
    Refused(#[from] CommandError),
    /// The engine is not running (shutting down).
    #[error("the rules engine is not running")]
    Stopped,
    /// The engine did not answer in time (e.g. it cannot write the journal).
    #[error("the rules engine did not answer in time; the alarm journal may be unwritable")]
    Busy,
    /// The change could not be stored.
    #[error("the alarm journal could not be written: {0}")]
    Store(String),
}

/// The engine's clock. In production it is the system clock (so an NTP correction after boot
/// is followed at once); in tests it follows tokio's clock, so paused time moves it exactly.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// `Utc::now()`; timers sleep on tokio's clock for the remaining span.
    System,
    /// System time read once, then advanced by tokio's clock.
    Tokio {
        /// Wall time at `base`.
        base_utc: DateTime<Utc>,
        /// The tokio instant it was read at.
        base: Instant,
    },
}

impl Clock {
    /// The system clock (production).
    pub fn system() -> Self {
        Self::System
    }

    /// A clock that reads the system time now and follows tokio's clock from here (tests).
    pub fn start() -> Self {
        Self::Tokio {
            base_utc: Utc::now(),
            base: Instant::now(),
        }
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Self::System => Utc::now(),
            Self::Tokio { base_utc, base } => {
                *base_utc + Instant::now().saturating_duration_since(*base)
            }
        }
    }

    /// The tokio instant at which it will be `t`.
    pub fn instant_at(&self, t: DateTime<Utc>) -> Instant {
        match self {
            Self::System => Instant::now() + (t - Utc::now()).to_std().unwrap_or(Duration::ZERO),
            Self::Tokio { base_utc, base } => {
                *base + (t - *base_utc).to_std().unwrap_or(Duration::ZERO)
            }
        }
    }
}

/// One alarm point: a rule on a device, with its check and state machine.
#[derive(Debug)]
struct Point {
    rule: Arc<Rule>,
    device: DeviceName,
    driver: &'static str,
    check: Check,
    alarm: AlarmPoint,
    /// Operands that failed at the last evaluation (monitors).
    failed: Vec<String>,
    offline: bool,
    schedule_off: bool,
    /// Whether the schedule has been applied at all (it is due at once until then).
    schedule_applied: bool,
    /// When the rule's schedule next opens or closes (`None`: never, e.g. always open).
    schedule_next: Option<DateTime<Utc>>,
    /// The deadline this point is filed under in the timer set.
    deadline: Option<DateTime<Utc>>,
}

/// The engine's state: every alarm point and what they see.
pub struct Engine {
    points: Vec<Point>,
    by_device: HashMap<DeviceName, Vec<usize>>,
    facts: HashMap<DeviceName, DeviceFacts>,
    timers: BTreeSet<(DateTime<Utc>, usize)>,
    receivers: Vec<Arc<ReceiverConfig>>,
    next_id: i64,
    evaluations: u64,
    metrics: Option<crate::metrics::Metrics>,
    /// Committed notices for live views (lossy: a slow browser misses some and reloads).
    notices: Option<tokio::sync::broadcast::Sender<Arc<Notice>>>,
}

/// A snapshot of one point for the API.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PointView {
    /// Rule name.
    pub rule: String,
    /// Device name.
    pub device: String,
    /// Current state.
    pub state: AlarmState,
    /// Current or last activation.
    pub alarm_id: Option<i64>,
}

impl Engine {
    /// Builds the points of `config`'s rules, restoring saved states, numbering new
    /// activations after `last_id`.
    pub fn new(config: &Config, saved: Vec<SavedPoint>, last_id: i64, now: DateTime<Utc>) -> Self {
        let mut saved: HashMap<(String, String), serde_json::Value> = saved
            .into_iter()
            .map(|p| ((p.rule, p.device), p.state))
            .collect();
        let devices: HashMap<&str, &Arc<DeviceConfig>> =
            config.devices.iter().map(|d| (&*d.name, d)).collect();
        let mut engine = Self {
            points: Vec::new(),
            by_device: HashMap::new(),
            facts: HashMap::new(),
            timers: BTreeSet::new(),
            receivers: config.receivers.clone(),
            next_id: last_id,
            evaluations: 0,
            metrics: None,
            notices: None,
        };
        for rule in &config.rules {
            for target in &rule.targets {
                let key = (rule.name.to_string(), target.device.to_string());
                let mut check = target.check.clone();
                let alarm = match saved.remove(&key).map(serde_json::from_value::<Persisted>) {
                    Some(Ok(p)) => AlarmPoint::restore(rule.settings.clone(), p),
                    Some(Err(e)) => {
                        warn!(rule = %rule.name, device = %target.device, error = %e, "saved alarm state unreadable; starting the point afresh");
                        AlarmPoint::new(rule.settings.clone())
                    }
                    None => AlarmPoint::new(rule.settings.clone()),
                };
                if alarm.saved().active {
                    check.assume_active();
                }
                let idx = engine.points.len();
                engine.points.push(Point {
                    rule: rule.clone(),
                    device: target.device.clone(),
                    driver: target.driver,
                    check,
                    alarm,
                    failed: Vec::new(),
                    offline: false,
                    schedule_off: false,
                    schedule_applied: false,
                    schedule_next: None,
                    deadline: None,
                });
                engine
                    .by_device
                    .entry(target.device.clone())
                    .or_default()
                    .push(idx);
                if let Some(d) = devices.get(&*target.device) {
                    engine
                        .facts
                        .entry(target.device.clone())
                        .or_insert_with(|| DeviceFacts::new(d));
                }
            }
        }
        for (rule, device) in saved.keys() {
            info!(%rule, %device, "saved alarm point has no rule or device in the config any more; ignored");
        }
        // Schedules: points of rules outside their window start suppressed (silently unless
        // an activation is open, which is then journalled by `start`).
        for idx in 0..engine.points.len() {
            engine.refile(idx, now);
        }
        engine
    }

    /// Restores which diagnostic events of `device` are still open, from its history (the
    /// device reports each event once, so after a restart only the history knows).
    pub fn replay(&mut self, device: &str, events: &[crate::model::DiagEvent]) {
        if let Some(f) = self.facts.get_mut(device) {
            f.replay(events);
        }
    }

    /// The devices that have alarm points.
    pub fn devices(&self) -> Vec<DeviceName> {
        self.facts.keys().cloned().collect()
    }

    /// Whether a point exists for `rule` on `device`.
    pub fn has_point(&self, rule: &str, device: &str) -> bool {
        self.points
            .iter()
            .any(|p| &*p.rule.name == rule && &*p.device == device)
    }

    /// The receivers `notice` goes to.
    pub fn route(&self, notice: &Notice) -> Vec<Arc<str>> {
        route(&self.receivers, notice)
    }

    /// Applies the rules' schedules at start-up; returns the resulting changes.
    pub fn start(&mut self, now: DateTime<Utc>) -> Vec<AlarmChange> {
        let mut out = Vec::new();
        for idx in 0..self.points.len() {
            self.apply_schedule(idx, now, &mut out);
            self.refile(idx, now);
        }
        out
    }

    /// Counts evaluations, transitions and commit latency in `metrics` (the task does).
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Publishes every committed notice on `live` (the web pages' live stream).
    pub fn with_live(mut self, live: tokio::sync::broadcast::Sender<Arc<Notice>>) -> Self {
        self.notices = Some(live);
        self
    }

    /// Number of alarm points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether there are no alarm points.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Condition evaluations so far.
    pub fn evaluations(&self) -> u64 {
        self.evaluations
    }

    /// Every point's current state.
    pub fn points(&self, now: DateTime<Utc>) -> Vec<PointView> {
        self.points
            .iter()
            .map(|p| PointView {
                rule: p.rule.name.to_string(),
                device: p.device.to_string(),
                state: p.alarm.state(now),
                alarm_id: p.alarm.saved().alarm_id,
            })
            .collect()
    }

    /// Feeds one observation; returns the alarm changes it caused.
    pub fn observe(&mut self, obs: &Observation, now: DateTime<Utc>) -> Vec<AlarmChange> {
        let device = obs.device();
        let Some(indexes) = self.by_device.get(device).cloned() else {
            return Vec::new();
        };
        let Some(facts) = self.facts.get_mut(device) else {
            return Vec::new();
        };
        let mut changed = facts.apply(obs);
        if let Observation::Diagnostics { backlog: true, .. } = obs {
            // What the device held before the gateway watched: levels count, pulses do not.
            changed |= facts.end_pulses();
        }
        let mut out = Vec::new();
        if let Observation::Health { health, .. } = obs {
            let offline = matches!(health.state, HealthState::Offline | HealthState::Demoted);
            for &idx in &indexes {
                if let Some(p) = self.points.get_mut(idx)
                    && p.rule.suppress_when_offline
                {
                    p.offline = offline;
                    self.apply_suppression(idx, now, &mut out);
                }
            }
        }
        if changed {
            for &idx in &indexes {
                self.evaluate(idx, now, &mut out);
            }
        }
        let had_pulses = self
            .facts
            .get_mut(device)
            .is_some_and(DeviceFacts::end_pulses);
        if had_pulses {
            for &idx in &indexes {
                if self.points.get(idx).is_some_and(|p| p.check.uses_pulses()) {
                    self.evaluate(idx, now, &mut out);
                }
            }
        }
        out
    }

    /// The next moment [`Engine::tick`] has something to do.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// Applies whatever is due at `now`: delays, re-alarms, shelving expiry, reaction
    /// deadlines, schedule boundaries.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<AlarmChange> {
        let mut out = Vec::new();
        // Take what is due first: a point refiled at or before `now` waits for the next tick,
        // so one tick always ends.
        let mut due = Vec::new();
        while let Some(&(t, idx)) = self.timers.first() {
            if t > now {
                break;
            }
            self.timers.pop_first();
            if let Some(p) = self.points.get_mut(idx) {
                p.deadline = None;
            }
            due.push(idx);
        }
        for idx in due {
            self.apply_schedule(idx, now, &mut out);
            let due_check = self
                .points
                .get(idx)
                .filter(|p| !p.alarm.is_suppressed() && !p.alarm.settings().out_of_service)
                .and_then(|p| p.check.deadline())
                .is_some_and(|d| d <= now);
            if due_check {
                self.evaluate(idx, now, &mut out);
            } else if let Some(p) = self.points.get_mut(idx) {
                let events = p.alarm.tick(now, &mut self.next_id);
                self.emit(idx, events, now, &mut out);
            }
            self.refile(idx, now);
        }
        out
    }

    /// An operator acknowledges alarm `id` (and resets it when latched).
    pub fn acknowledge(
        &mut self,
        id: i64,
        user: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<AlarmChange>, EngineError> {
        self.command(id, now, |a| a.acknowledge(user, note, now))
    }

    /// An operator shelves the point of alarm `id` for `duration`.
    pub fn shelve(
        &mut self,
        id: i64,
        duration: Duration,
        user: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<AlarmChange>, EngineError> {
        self.command(id, now, |a| a.shelve(duration, user, note, now))
    }

    /// An operator unshelves the point of alarm `id`.
    pub fn unshelve(
        &mut self,
        id: i64,
        user: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<AlarmChange>, EngineError> {
        self.command(id, now, |a| a.unshelve(user, note, now))
    }

    fn command(
        &mut self,
        id: i64,
        now: DateTime<Utc>,
        f: impl FnOnce(&mut AlarmPoint) -> Result<Vec<Event>, CommandError>,
    ) -> Result<Vec<AlarmChange>, EngineError> {
        let idx = self
            .points
            .iter()
            .position(|p| p.alarm.saved().alarm_id == Some(id))
            .ok_or(EngineError::NotFound(id))?;
        let p = self.points.get_mut(idx).ok_or(EngineError::NotFound(id))?;
        let events = f(&mut p.alarm)?;
        let mut out = Vec::new();
        self.emit(idx, events, now, &mut out);
        self.refile(idx, now);
        Ok(out)
    }

    fn evaluate(&mut self, idx: usize, now: DateTime<Utc>, out: &mut Vec<AlarmChange>) {
        let Some(p) = self.points.get_mut(idx) else {
            return;
        };
        if p.alarm.is_suppressed() || p.alarm.settings().out_of_service {
            return;
        }
        let Some(facts) = self.facts.get(&p.device) else {
            return;
        };
        self.evaluations += 1;
        let outcome = p.check.evaluate(facts, p.rule.deadband, now);
        if outcome.condition == Some(true) {
            p.failed = outcome.failed;
        }
        let events = p.alarm.update(outcome.condition, now, &mut self.next_id);
        self.emit(idx, events, now, out);
        self.refile(idx, now);
    }

    fn apply_schedule(&mut self, idx: usize, now: DateTime<Utc>, out: &mut Vec<AlarmChange>) {
        let Some(p) = self.points.get_mut(idx) else {
            return;
        };
        let Some(schedule) = &p.rule.schedule else {
            return;
        };
        if p.schedule_applied && p.schedule_next.is_none_or(|t| t > now) {
            return;
        }
        p.schedule_applied = true;
        p.schedule_off = !schedule.is_on(now);
        p.schedule_next = schedule.next_change(now);
        self.apply_suppression(idx, now, out);
    }

    fn apply_suppression(&mut self, idx: usize, now: DateTime<Utc>, out: &mut Vec<AlarmChange>) {
        let Some(p) = self.points.get_mut(idx) else {
            return;
        };
        let on = p.offline || p.schedule_off;
        if on == p.alarm.is_suppressed() {
            return;
        }
        let events = p.alarm.suppress(on, now);
        if on {
            p.check.reset();
        }
        self.emit(idx, events, now, out);
        if !on {
            // Back in service: judge the condition on what is known now.
            self.evaluate(idx, now, out);
        }
        self.refile(idx, now);
    }

    /// Files the point under its next deadline.
    fn refile(&mut self, idx: usize, now: DateTime<Utc>) {
        let Some(p) = self.points.get_mut(idx) else {
            return;
        };
        // A suppressed point's watch is not running; its own timers (shelving) still are.
        let watching = !p.alarm.is_suppressed() && !p.alarm.settings().out_of_service;
        let next = [
            p.alarm.next_deadline(),
            p.check.deadline().filter(|_| watching),
            p.schedule_next,
        ]
        .into_iter()
        .flatten()
        .min();
        // A schedule that has never been applied is due now.
        let next = if p.rule.schedule.is_some() && !p.schedule_applied {
            Some(next.map_or(now, |n| n.min(now)))
        } else {
            next
        };
        if p.deadline == next {
            return;
        }
        if let Some(old) = p.deadline {
            self.timers.remove(&(old, idx));
        }
        p.deadline = next;
        if let Some(t) = next {
            self.timers.insert((t, idx));
        }
    }

    /// Turns the point's events into changes: message on raise, notice, routing.
    fn emit(
        &mut self,
        idx: usize,
        events: Vec<Event>,
        now: DateTime<Utc>,
        out: &mut Vec<AlarmChange>,
    ) {
        if events.is_empty() {
            return;
        }
        let Some(p) = self.points.get_mut(idx) else {
            return;
        };
        if events.iter().any(|e| e.transition == Transition::Raised)
            && let Some(facts) = self.facts.get(&p.device)
        {
            let operands = p.check.explain(facts);
            let failed = p.failed.join(", ");
            let message = facts::render(&p.rule.message, facts, &operands, &failed);
            let values = json!({ "operands": operands, "failed": p.failed });
            p.alarm.explain(message, values);
        }
        let saved = p.alarm.saved();
        let Some(alarm_id) = saved.alarm_id else {
            return;
        };
        let state = p.alarm.state(now);
        let shelved = p.alarm.is_shelved(now);
        let point = serde_json::to_value(saved).unwrap_or(serde_json::Value::Null);
        for e in events {
            let notice = Notice {
                journal_id: 0,
                alarm_id,
                rule: p.rule.name.to_string(),
                device: p.device.to_string(),
                driver: p.driver.to_owned(),
                priority: p.rule.settings.priority,
                transition: e.transition,
                state,
                active: saved.active,
                acked: saved.acked,
                at: e.at,
                raised_at: saved.raised_at.unwrap_or(e.at),
                cleared_at: saved.cleared_at,
                message: saved.message.clone(),
                values: saved.values.clone(),
                user: e.user,
                note: e.note,
                shelved_until: saved.shelved_until.filter(|_| shelved),
            };
            // A shelved alarm is journalled but announced to nobody, except its shelving.
            let announce = !shelved
                || matches!(
                    e.transition,
                    Transition::Shelved | Transition::Unshelved | Transition::ShelveExpired
                );
            let receivers = if announce {
                route(&self.receivers, &notice)
            } else {
                Vec::new()
            };
            out.push(AlarmChange {
                notice,
                receivers,
                point: point.clone(),
            });
        }
    }
}

fn route(receivers: &[Arc<ReceiverConfig>], notice: &Notice) -> Vec<Arc<str>> {
    receivers
        .iter()
        .filter(|r| r.routes(notice))
        .map(|r| r.name.clone())
        .collect()
}

/// What an operator asks of an alarm.
#[derive(Debug, Clone, Copy)]
enum Action {
    Acknowledge,
    Shelve(Duration),
    Unshelve,
}

/// An operator command for the engine task.
struct Command {
    id: i64,
    action: Action,
    user: String,
    note: Option<String>,
    reply: oneshot::Sender<Result<(), EngineError>>,
}

/// How long an operator command waits for the engine (it may be retrying a commit).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

async fn answer(rx: oneshot::Receiver<Result<(), EngineError>>) -> Result<(), EngineError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, rx).await {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => Err(EngineError::Stopped),
        Err(_) => Err(EngineError::Busy),
    }
}

/// Sends operator commands to the engine task; cheap to clone.
#[derive(Clone)]
pub struct EngineHandle {
    tx: mpsc::Sender<Command>,
}

impl EngineHandle {
    /// Acknowledges alarm `id` as `user`; returns once the change is journalled.
    pub async fn acknowledge(
        &self,
        id: i64,
        user: &str,
        note: Option<String>,
    ) -> Result<(), EngineError> {
        self.request(id, Action::Acknowledge, user, note).await
    }

    /// Shelves the point of alarm `id` for `duration`.
    pub async fn shelve(
        &self,
        id: i64,
        duration: Duration,
        user: &str,
        note: Option<String>,
    ) -> Result<(), EngineError> {
        self.request(id, Action::Shelve(duration), user, note).await
    }

    /// Unshelves the point of alarm `id`.
    pub async fn unshelve(
        &self,
        id: i64,
        user: &str,
        note: Option<String>,
    ) -> Result<(), EngineError> {
        self.request(id, Action::Unshelve, user, note).await
    }

    async fn request(
        &self,
        id: i64,
        action: Action,
        user: &str,
        note: Option<String>,
    ) -> Result<(), EngineError> {
        let (reply, rx) = oneshot::channel();
        let command = Command {
            id,
            action,
            user: user.to_owned(),
            note,
            reply,
        };
        tokio::time::timeout(COMMAND_TIMEOUT, self.tx.send(command))
            .await
            .map_err(|_| EngineError::Busy)?
            .map_err(|_| EngineError::Stopped)?;
        answer(rx).await
    }
}

/// Loads the saved alarm state and builds the engine for `config`.
pub async fn prepare(
    config: &Config,
    store: &Store,
    clock: &Clock,
) -> Result<Engine, crate::store::Error> {
    /// Enough history to find the events still open on a CPU.
    const REPLAY: u32 = 1000;
    let saved = store.alarm_points().await?;
    let last = store.last_alarm_id().await?;
    let mut engine = Engine::new(config, saved, last, clock.now());
    let known = store.last_diag_records().await?;
    for device in engine.devices() {
        if known.contains_key(&*device) {
            let events = store.recent_diag_events(&device, REPLAY).await?;
            engine.replay(&device, &events);
        }
    }
    Ok(engine)
}

/// A command channel and the handle that feeds it.
pub fn command_channel() -> (EngineHandle, CommandReceiver) {
    let (tx, rx) = mpsc::channel(64);
    (EngineHandle { tx }, CommandReceiver(rx))
}

/// The engine task's end of the command channel.
pub struct CommandReceiver(mpsc::Receiver<Command>);

mod task;
pub use task::run;

#[cfg(test)]
mod tests;
