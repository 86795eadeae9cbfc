//! What a rule condition sees about one device: tag readings, health, CPU mode, diagnostic
//! events and CC-Link stations, kept up to date from the hub's [`Observation`]s.
//!
//! [`DeviceFacts`] is a pure state machine: [`DeviceFacts::apply`] takes one observation, the
//! caller evaluates its conditions, then [`DeviceFacts::end_pulses`] ends that instant.
//! Conditions read it through the accessors here; [`render`] and [`check_template`] fill and
//! check rule messages from it.
//!
//! Invariants:
//! - A tag value is known only while its latest reading is good: a bad reading, a tag never
//!   read, and a reading made stale by the device going offline or demoted are all unknown.
//! - Device facts (CPU mode, CPU error, open events, CC-Link networks) are unknown while the
//!   device is offline or demoted: they describe the past, and nobody is reading them.
//! - Open events and the CPU error are known only after the device's first answered poll (an
//!   `Observation::Values`, which each poll publishes last), so a poll's own events are in.
//! - Event pulses hold from the observation that brought them until [`DeviceFacts::end_pulses`];
//!   a leaving event never pulses, it only closes what its entering event opened.
//! - S7 events pair by class and by the event ID with bit 8 (entering/leaving) cleared
//!   (`s7.md` §4: 0x39C4 opens what 0x38C4 closes). One S7 ID can stand for several
//!   instances (0x39C4 for each failed DP station, told apart only in the info fields), so a
//!   level counts its entering events and stays open until as many leaving ones came.
//!   MELSEC events pair by class and ID as a set: the adapter reports state changes, and
//!   reports the current ones again after a restart of its poller.
//! - An event whose raw record equals one applied recently is a re-report (the store
//!   deduplicates on `raw` the same way) and changes nothing.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::expr::{
    Operand, closest, describe_down, describe_error, format_number, link_scan_max, with_unit,
};
use crate::config::{DeviceConfig, DeviceKind};
use crate::model::{DeviceName, DiagEvent, HealthState, Observation, Quality, StatusUpdate};

/// Bit 8 of an S7 event ID: 1 = entering, 0 = leaving (`s7.md` §4, Siemens Vol. 2 §34.1).
pub const S7_ENTERING_BIT: u16 = 0x0100;

/// MELSEC event class of a CPU self-diagnostic error, event ID = error code (as
/// `devices::melsec::class::CPU_ERROR`, which is crate-private there).
pub const MELSEC_CPU_ERROR: u8 = 1;

/// MELSEC event class of a CC-Link station leaving or returning, event ID = station number
/// (as `devices::melsec::class::CCLINK_STATION`).
pub const MELSEC_CCLINK_STATION: u8 = 2;

/// Which protocol family a device belongs to: event matching and available facts differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Modbus: tags and health only.
    Modbus,
    /// Siemens S7: CPU mode and diagnostic-buffer events.
    S7,
    /// Mitsubishi MELSEC: CPU mode, CPU errors and CC-Link stations as events, networks.
    Melsec,
}

impl Family {
    /// The family of a configured device.
    pub fn of(device: &DeviceConfig) -> Self {
        match device.kind {
            DeviceKind::Modbus(_) => Self::Modbus,
            DeviceKind::S7(_) => Self::S7,
            DeviceKind::Melsec(_) => Self::Melsec,
        }
    }

    /// The ID under which an event opens and closes a level: S7 clears the entering bit.
    pub fn pairing_id(self, event_id: u16) -> u16 {
        match self {
            Self::S7 => event_id & !S7_ENTERING_BIT,
            Self::Modbus | Self::Melsec => event_id,
        }
    }

    /// Whether `event_id` lies in `lo..=hi`; S7 compares with bit 8 cleared on all three, so
    /// the entering and leaving forms of an ID name the same event.
    pub fn id_in(self, event_id: u16, lo: u16, hi: u16) -> bool {
        let (id, lo, hi) = (
            self.pairing_id(event_id),
            self.pairing_id(lo),
            self.pairing_id(hi),
        );
        (lo..=hi).contains(&id)
    }
}

/// One diagnostic event as conditions see it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFact {
    /// The event ID as reported (S7: with the entering bit as it came).
    pub event_id: u16,
    /// The event class.
    pub class: u8,
    /// The English text, for messages.
    pub text: String,
}

impl EventFact {
    fn of(e: &DiagEvent) -> Self {
        Self {
            event_id: e.event_id,
            class: e.class,
            text: e.text.clone(),
        }
    }
}

/// One CC-Link station from the network status the MELSEC adapter publishes.
#[derive(Debug, Clone, PartialEq)]
pub struct StationFact {
    /// Head station number.
    pub number: u16,
    /// Occupied station numbers (at least 1).
    pub occupies: u16,
    /// Name as configured (`station n` when not).
    pub name: String,
    /// Model, when configured.
    pub model: Option<String>,
    /// `ok`, `faulty`, `reserved` or `errorinvalid`, as the adapter writes it.
    pub state: String,
    /// Not exchanging data (data link or watchdog error).
    pub down: bool,
    /// The data-link status bit.
    pub data_link_error: bool,
    /// The watchdog-timer error bit.
    pub watchdog_error: bool,
    /// The troubleshooting finding that names this station (English), if any.
    pub finding: Option<String>,
}

impl StationFact {
    /// Whether station number `n` is this station or one it occupies.
    pub fn covers(&self, n: u16) -> bool {
        n >= self.number && n < self.number.saturating_add(self.occupies.max(1))
    }

    /// `station 4 valve terminal V3 (AJ65SBTB1-16D): data link error`, for people.
    pub fn describe(&self) -> String {
        let numbers = if self.occupies > 1 {
            format!(
                "{}..{}",
                self.number,
                self.number.saturating_add(self.occupies - 1)
            )
        } else {
            self.number.to_string()
        };
        let mut s = format!("station {numbers}");
        if self.name != format!("station {}", self.number) && !self.name.is_empty() {
            s.push(' ');
            s.push_str(&self.name);
        }
        if let Some(m) = &self.model {
            s.push_str(&format!(" ({m})"));
        }
        let state = if self.down {
            let what = if self.data_link_error || !self.watchdog_error {
                "data link error"
            } else {
                "watchdog error"
            };
            match &self.finding {
                Some(f) if !f.is_empty() => format!("{what} ({f})"),
                _ => what.to_owned(),
            }
        } else {
            match self.state.as_str() {
                "errorinvalid" => "error-invalid".to_owned(),
                other => other.to_owned(),
            }
        };
        format!("{s}: {state}")
    }
}

/// One CC-Link network's latest status.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkFact {
    /// Line state normal, when reported.
    pub line_ok: Option<bool>,
    /// Stations listed in the status: every configured one, or, without a station list, those
    /// that any bitmap reports (an unlisted one is then back on the link).
    pub stations: Vec<StationFact>,
    /// Current link scan time in ms, when the map has the registers.
    pub link_scan_ms: Option<f64>,
}

impl NetworkFact {
    /// Reads the JSON of `StatusUpdate::Network` as built in `devices::melsec::network`;
    /// `None` for the `{"error": ..}` form (the PLC refused the SB/SW read) or anything else.
    pub fn from_json(v: &Value) -> Option<Self> {
        let obj = v.as_object()?;
        if obj.contains_key("error") {
            return None;
        }
        let findings: Vec<(Vec<u64>, String)> = obj
            .get("findings")
            .and_then(Value::as_array)
            .map(|fs| {
                fs.iter()
                    .map(|f| {
                        let stations = f
                            .get("stations")
                            .and_then(Value::as_array)
                            .map(|a| a.iter().filter_map(Value::as_u64).collect())
                            .unwrap_or_default();
                        let text = f
                            .get("text")
                            .and_then(|t| t.get("en"))
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned();
                        (stations, text)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let stations = obj
            .get("stations")?
            .as_array()?
            .iter()
            .filter_map(|s| {
                let number = u16::try_from(s.get("number")?.as_u64()?).ok()?;
                let flag = |k: &str| s.get(k).and_then(Value::as_bool).unwrap_or(false);
                let finding = findings
                    .iter()
                    .find(|(st, _)| st.contains(&u64::from(number)))
                    .map(|(_, t)| t.clone());
                Some(StationFact {
                    number,
                    occupies: s
                        .get("occupies")
                        .and_then(Value::as_u64)
                        .and_then(|o| u16::try_from(o).ok())
                        .unwrap_or(1)
                        .max(1),
                    name: s
                        .get("name")
                        .and_then(Value::as_str)
                        .map_or_else(|| format!("station {number}"), str::to_owned),
                    model: s.get("model").and_then(Value::as_str).map(str::to_owned),
                    state: s
                        .get("state")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown")
                        .to_owned(),
                    down: flag("down"),
                    data_link_error: flag("data_link_error"),
                    watchdog_error: flag("watchdog_error"),
                    finding,
                })
            })
            .collect();
        let link_scan_ms = obj
            .get("link_scan")
            .and_then(|l| l.get("current_ms"))
            .and_then(Value::as_f64);
        Some(Self {
            line_ok: obj.get("line_ok").and_then(Value::as_bool),
            stations,
            link_scan_ms,
        })
    }

    /// Whether station `n` is down; an unlisted station is not (see [`NetworkFact::stations`]).
    pub fn station_down(&self, n: u16) -> bool {
        self.stations.iter().any(|s| s.covers(n) && s.down)
    }

    /// The station that covers number `n`, if listed.
    pub fn station(&self, n: u16) -> Option<&StationFact> {
        self.stations.iter().find(|s| s.covers(n))
    }

    /// Stations that are down.
    pub fn down(&self) -> impl Iterator<Item = &StationFact> {
        self.stations.iter().filter(|s| s.down)
    }
}

#[derive(Debug, Clone, PartialEq)]
struct TagInfo {
    name: String,
    unit: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct TagState {
    /// The latest value as reported (kept when it goes stale, for messages).
    value: Option<f64>,
    /// `None`: never read.
    quality: Option<Quality>,
    /// The last two good finite readings, newest last, for `rate`.
    last_good: Option<(f64, DateTime<Utc>)>,
    prev_good: Option<(f64, DateTime<Utc>)>,
}

impl TagState {
    fn rate(&self) -> Option<f64> {
        if self.quality != Some(Quality::Good) {
            return None;
        }
        let ((v1, t1), (v0, t0)) = (self.last_good?, self.prev_good?);
        let dt = (t1 - t0).num_microseconds()? as f64 / 1e6;
        let r = (v1 - v0) / dt;
        (dt > 0.0 && r.is_finite()).then_some(r)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum NetworkState {
    NotYet,
    Refused,
    Known(NetworkFact),
}

/// Everything a rule condition can see about one device, as of the last observation.
#[derive(Debug, Clone)]
pub struct DeviceFacts {
    name: DeviceName,
    family: Family,
    tag_info: Arc<[TagInfo]>,
    tags: Vec<TagState>,
    health: HealthState,
    last_error: Option<String>,
    answered: bool,
    cpu_mode: Option<String>,
    /// Open levels by (class, pairing ID): the latest entering event and how many are open.
    open: BTreeMap<(u8, u16), (EventFact, u32)>,
    /// Raw records of the latest events, to ignore re-reports.
    recent: VecDeque<Vec<u8>>,
    pulses: Vec<EventFact>,
    network_names: Arc<[String]>,
    networks: Vec<NetworkState>,
}

impl DeviceFacts {
    /// Facts about `device` before anything was observed: every value unknown.
    pub fn new(device: &DeviceConfig) -> Self {
        let tag_info: Arc<[TagInfo]> = device
            .tags
            .iter()
            .map(|t| TagInfo {
                name: t.name.clone(),
                unit: t.unit.clone(),
            })
            .collect();
        let network_names: Arc<[String]> = match &device.kind {
            DeviceKind::Melsec(m) => m.masters.iter().map(|m| m.name.clone()).collect(),
            _ => Arc::from(Vec::new()),
        };
        Self {
            name: device.name.clone(),
            family: Family::of(device),
            tags: vec![TagState::default(); tag_info.len()],
            tag_info,
            health: HealthState::Unknown,
            last_error: None,
            answered: false,
            cpu_mode: None,
            open: BTreeMap::new(),
            recent: VecDeque::new(),
            pulses: Vec::new(),
            networks: vec![NetworkState::NotYet; network_names.len()],
            network_names,
        }
    }

    /// Applies one observation about this device. Returns true if anything a condition can see
    /// changed. Observations about other devices are ignored.
    pub fn apply(&mut self, obs: &Observation) -> bool {
        if **obs.device() != *self.name {
            return false;
        }
        match obs {
            Observation::Values { at, readings, .. } => {
                let mut changed = !self.answered;
                self.answered = true;
                for r in readings.iter() {
                    let Some(t) = self.tags.get_mut(r.tag) else {
                        continue;
                    };
                    let before = (t.value, t.quality.clone(), t.rate());
                    t.value = r.value;
                    t.quality = Some(r.quality.clone());
                    if let (Quality::Good, Some(v)) = (&r.quality, r.value)
                        && v.is_finite()
                    {
                        t.prev_good = t.last_good.take();
                        t.last_good = Some((v, *at));
                    }
                    changed |= before != (t.value, t.quality.clone(), t.rate());
                }
                changed
            }
            Observation::Health { health, .. } => {
                let was = self.health;
                self.health = health.state;
                self.last_error.clone_from(&health.last_error);
                let mut changed = was != health.state;
                if matches!(health.state, HealthState::Offline | HealthState::Demoted) {
                    for t in &mut self.tags {
                        if t.quality == Some(Quality::Good) {
                            t.quality = Some(Quality::Stale);
                            changed = true;
                        }
                    }
                }
                changed
            }
            Observation::Diagnostics { events, .. } => {
                let mut changed = false;
                for e in events.iter() {
                    if self.seen(e) {
                        continue;
                    }
                    changed |= self.level(e);
                    if e.entering != Some(false) {
                        self.pulses.push(EventFact::of(e));
                        changed = true;
                    }
                }
                changed
            }
            Observation::Status { update, .. } => match update {
                StatusUpdate::CpuMode(m) => {
                    let changed = self.cpu_mode.as_deref() != Some(m.mode.as_str());
                    self.cpu_mode = Some(m.mode.clone());
                    changed
                }
                StatusUpdate::Network { name, status } => {
                    let Some(i) = self.network_names.iter().position(|n| n == name) else {
                        return false;
                    };
                    let new = NetworkFact::from_json(status)
                        .map_or(NetworkState::Refused, NetworkState::Known);
                    match self.networks.get_mut(i) {
                        Some(slot) if *slot != new => {
                            *slot = new;
                            true
                        }
                        _ => false,
                    }
                }
                _ => false,
            },
            Observation::PollFailed { .. } => false,
        }
    }

    /// Replays events from the history (e.g. at start-up) into the open levels without pulsing,
    /// since a diagnostic buffer is not reported twice. Returns true if any level changed.
    pub fn replay(&mut self, events: &[DiagEvent]) -> bool {
        events
            .iter()
            .fold(false, |c, e| (!self.seen(e) && self.level(e)) | c)
    }

    /// Whether `e` was applied recently (same raw record); remembers it if not.
    fn seen(&mut self, e: &DiagEvent) -> bool {
        /// Enough for a few polls' worth of diagnostic-buffer entries.
        const REMEMBERED: usize = 256;
        if e.raw.is_empty() {
            return false;
        }
        if self.recent.contains(&e.raw) {
            return true;
        }
        if self.recent.len() == REMEMBERED {
            self.recent.pop_front();
        }
        self.recent.push_back(e.raw.clone());
        false
    }

    /// Opens or closes the level `e` belongs to; true if whether it is open changed.
    fn level(&mut self, e: &DiagEvent) -> bool {
        let key = (e.class, self.family.pairing_id(e.event_id));
        let counted = self.family == Family::S7;
        match e.entering {
            Some(true) => {
                let slot = self.open.entry(key).or_insert((EventFact::of(e), 0));
                slot.0 = EventFact::of(e);
                slot.1 = if counted { slot.1.saturating_add(1) } else { 1 };
                slot.1 == 1
            }
            Some(false) => match self.open.get_mut(&key) {
                Some(slot) if slot.1 > 1 => {
                    slot.1 -= 1;
                    false
                }
                Some(_) => self.open.remove(&key).is_some(),
                None => false,
            },
            None => false,
        }
    }

    /// Ends the instant of the last observation: event pulses are cleared. Returns true if
    /// there were any.
    pub fn end_pulses(&mut self) -> bool {
        let had = !self.pulses.is_empty();
        self.pulses.clear();
        had
    }

    /// The device's name.
    pub fn device(&self) -> &str {
        &self.name
    }

    /// The device's protocol family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Current health state.
    pub fn health(&self) -> HealthState {
        self.health
    }

    /// The last communication error reported with the health, if any.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Whether device facts can be trusted: the device is not offline or demoted.
    fn reachable(&self) -> bool {
        !matches!(self.health, HealthState::Offline | HealthState::Demoted)
    }

    /// Number of configured tags.
    pub fn tag_count(&self) -> usize {
        self.tag_info.len()
    }

    /// The index of the tag named `name`.
    pub fn tag_index(&self, name: &str) -> Option<usize> {
        self.tag_info.iter().position(|t| t.name == name)
    }

    /// A tag's configured name.
    pub fn tag_name(&self, tag: usize) -> Option<&str> {
        self.tag_info.get(tag).map(|t| t.name.as_str())
    }

    /// A tag's unit.
    pub fn tag_unit(&self, tag: usize) -> Option<&str> {
        self.tag_info.get(tag).and_then(|t| t.unit.as_deref())
    }

    /// The tag's value while its latest reading is good and finite; unknown otherwise.
    pub fn tag_value(&self, tag: usize) -> Option<f64> {
        let t = self.tags.get(tag)?;
        match (&t.quality, t.value) {
            (Some(Quality::Good), Some(v)) if v.is_finite() => Some(v),
            _ => None,
        }
    }

    /// The latest reported value whatever its quality (a stale one is the last known), for
    /// messages.
    pub fn tag_last_value(&self, tag: usize) -> Option<f64> {
        self.tags.get(tag).and_then(|t| t.value)
    }

    /// The quality of the tag's latest reading; `None` if never read.
    pub fn tag_quality(&self, tag: usize) -> Option<&Quality> {
        self.tags.get(tag).and_then(|t| t.quality.as_ref())
    }

    /// Change per second between the tag's last two good readings, while the latest is good.
    pub fn tag_rate(&self, tag: usize) -> Option<f64> {
        self.tags.get(tag).and_then(TagState::rate)
    }

    /// The CPU's operating mode as published (`RUN`, `STOP`, `STEP-RUN`, `STOP (update)`...).
    pub fn cpu_mode(&self) -> Option<&str> {
        self.cpu_mode.as_deref().filter(|_| self.reachable())
    }

    /// Event pulses of the current observation (entering or undirected events only).
    pub fn pulses(&self) -> &[EventFact] {
        &self.pulses
    }

    /// Open levels (entered, not yet left); `None` while unknown.
    pub fn open_events(&self) -> Option<impl Iterator<Item = &EventFact>> {
        (self.answered && self.reachable()).then(|| self.open.values().map(|(e, _)| e))
    }

    /// The MELSEC CPU's current error: `Some(None)` for none, `None` while unknown.
    pub fn cpu_error(&self) -> Option<Option<&EventFact>> {
        let mut open = self.open_events()?;
        Some(
            open.find(|e| e.class == MELSEC_CPU_ERROR)
                .filter(|_| self.family == Family::Melsec),
        )
    }

    /// Configured CC-Link network names, in config order.
    pub fn network_names(&self) -> &[String] {
        &self.network_names
    }

    /// A network's latest status by config index; `None` while unknown.
    pub fn network(&self, index: usize) -> Option<&NetworkFact> {
        if !self.reachable() {
            return None;
        }
        match self.networks.get(index)? {
            NetworkState::Known(n) => Some(n),
            NetworkState::NotYet | NetworkState::Refused => None,
        }
    }
}

/// One piece of a message template.
enum Piece<'t> {
    /// Text written as is (an escaped brace is a one-character literal).
    Literal(&'t str),
    /// `{name}`, with its byte span (braces included).
    Hole(&'t str, Range<usize>),
    /// A `{` without a closing `}`, or a `}` without an opening `{`.
    Stray(&'t str, Range<usize>),
}

fn pieces(t: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut lit = 0;
    let part = |a: usize, b: usize| t.get(a..b).unwrap_or_default();
    while let Some(rest) = t.get(i..).filter(|r| !r.is_empty()) {
        let (piece, len) = if rest.starts_with("{{") || rest.starts_with("}}") {
            (Piece::Literal(part(i, i + 1)), 2)
        } else if rest.starts_with('{') {
            let after = rest.get(1..).unwrap_or_default();
            match after.find(['{', '}']) {
                Some(j) if after.get(j..).is_some_and(|r| r.starts_with('}')) => {
                    (Piece::Hole(part(i + 1, i + 1 + j), i..i + j + 2), j + 2)
                }
                found => {
                    let end = i + 1 + found.unwrap_or(after.len());
                    (Piece::Stray(part(i, i + 1), i..end), 1)
                }
            }
        } else if rest.starts_with('}') {
            (Piece::Stray(part(i, i + 1), i..i + 1), 1)
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
            continue;
        };
        if lit < i {
            out.push(Piece::Literal(part(lit, i)));
        }
        out.push(piece);
        i += len;
        lit = i;
    }
    if lit < t.len() {
        out.push(Piece::Literal(part(lit, t.len())));
    }
    out
}

/// Placeholders every template may use, whatever the device.
const PLACEHOLDERS: &[&str] = &[
    "device",
    "health",
    "cpu_mode",
    "cpu_error",
    "event",
    "stations",
    "link_scan_ms",
    "condition",
    "failed",
];

/// The tag an operand names: `temperature` or `tag("Motor 1 temp")`.
fn operand_tag(facts: &DeviceFacts, name: &str) -> Option<usize> {
    facts.tag_index(name).or_else(|| {
        let inner = name.strip_prefix("tag(")?.strip_suffix(')')?.trim();
        let unquoted = inner
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .or_else(|| inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))?;
        facts.tag_index(unquoted)
    })
}

fn is_event_operand(name: &str) -> bool {
    let f = name.split('(').next().unwrap_or_default().trim();
    matches!(
        f,
        "event" | "event_class" | "event_active" | "event_active_class"
    )
}

fn tag_text(facts: &DeviceFacts, i: usize) -> String {
    let unit = facts.tag_unit(i);
    match (facts.tag_quality(i), facts.tag_last_value(i)) {
        (Some(Quality::Good), Some(v)) => with_unit(v, unit),
        (Some(Quality::Stale), Some(v)) => format!("{} (stale)", with_unit(v, unit)),
        (Some(Quality::Bad(why)), _) => format!("? (bad: {why})"),
        _ => "?".to_owned(),
    }
}

fn operand_text(facts: &DeviceFacts, o: &Operand) -> String {
    let mut s = match &o.value {
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            match operand_tag(facts, &o.name) {
                Some(i) => with_unit(x, facts.tag_unit(i)),
                None => format_number(x),
            }
        }
        Value::Bool(b) => b.to_string(),
        Value::String(s) => s.clone(),
        Value::Null => "?".to_owned(),
        other => other.to_string(),
    };
    if let Some(t) = &o.text {
        s.push_str(&format!(" ({t})"));
    }
    s
}

fn fill(name: &str, facts: &DeviceFacts, operands: &[Operand], failed: &str) -> Option<String> {
    let unknown = || "?".to_owned();
    Some(match name {
        "device" => facts.device().to_owned(),
        "health" => facts.health().as_str().to_owned(),
        "cpu_mode" => facts.cpu_mode().map_or_else(unknown, str::to_owned),
        "cpu_error" => match facts.cpu_error() {
            None => unknown(),
            Some(None) => "none".to_owned(),
            Some(Some(e)) => describe_error(e),
        },
        "event" => operands
            .iter()
            .filter(|o| is_event_operand(&o.name) && o.value == Value::Bool(true))
            .find_map(|o| o.text.clone())
            .unwrap_or_else(unknown),
        "stations" => describe_down(facts, None).unwrap_or_else(|| {
            let known = (0..facts.network_names().len()).all(|i| facts.network(i).is_some());
            if known { "none".to_owned() } else { unknown() }
        }),
        "link_scan_ms" => link_scan_max(facts).map_or_else(unknown, format_number),
        "condition" => operands
            .iter()
            .map(|o| format!("{} = {}", o.name, operand_text(facts, o)))
            .collect::<Vec<_>>()
            .join("; "),
        "failed" => failed.to_owned(),
        tag => tag_text(facts, facts.tag_index(tag)?),
    })
}

/// Fills a rule message template: `{device}`, `{<tag name>}` (value with unit, 4 significant
/// digits), `{health}`, `{cpu_mode}`, `{cpu_error}` (code in hex and the event text), `{event}`
/// (the text of the first event operand that is true), `{stations}` (down stations: number,
/// name, model, cause), `{link_scan_ms}`, `{condition}` (operands as `name = value; ...`) and
/// `{failed}` (given by the caller). What is not known shows as `?`. Unknown placeholders stay
/// as written, and `{{`/`}}` are literal braces.
pub fn render(template: &str, facts: &DeviceFacts, operands: &[Operand], failed: &str) -> String {
    let mut out = String::with_capacity(template.len());
    for piece in pieces(template) {
        match piece {
            Piece::Literal(s) => out.push_str(s),
            Piece::Hole(name, span) => match fill(name, facts, operands, failed) {
                Some(v) => out.push_str(&v),
                None => out.push_str(template.get(span).unwrap_or_default()),
            },
            Piece::Stray(s, _) => out.push_str(s),
        }
    }
    out
}

/// Checks a template at config load, so a misspelt placeholder is reported rather than sent:
/// an unknown placeholder, one this device cannot fill, or an unpaired brace is an error with
/// its byte span.
pub fn check_template(template: &str, device: &DeviceConfig) -> Result<(), (Range<usize>, String)> {
    let family = Family::of(device);
    let cclink = matches!(&device.kind, DeviceKind::Melsec(m) if !m.masters.is_empty());
    let events = match &device.kind {
        DeviceKind::Modbus(_) => false,
        DeviceKind::S7(s) => s.diagnostics,
        DeviceKind::Melsec(_) => true,
    };
    for piece in pieces(template) {
        let (name, span) = match piece {
            Piece::Literal(_) => continue,
            Piece::Stray("{", span) => {
                return Err((
                    span,
                    "`{` without a closing `}`; write `{{` for a literal brace".to_owned(),
                ));
            }
            Piece::Stray(_, span) => {
                return Err((
                    span,
                    "`}` without an opening `{`; write `}}` for a literal brace".to_owned(),
                ));
            }
            Piece::Hole(name, span) => (name, span),
        };
        let kind = device.kind_name();
        let dev = &device.name;
        let refusal = match name {
            "cpu_mode" if family == Family::Modbus => Some(format!(
                "`{{cpu_mode}}` needs an s7 or melsec device; `{dev}` is a {kind} device"
            )),
            "cpu_error" if family != Family::Melsec => Some(format!(
                "`{{cpu_error}}` needs a melsec device; `{dev}` is a {kind} device"
            )),
            "event" if !events => Some(format!(
                "`{{event}}` needs diagnostic events, which device `{dev}` does not report"
            )),
            "stations" | "link_scan_ms" if !cclink => Some(format!(
                "`{{{name}}}` needs a melsec device with CC-Link networks; `{dev}` has none"
            )),
            // Built-in names win over a tag of the same name, as in `render`.
            n if PLACEHOLDERS.contains(&n) => None,
            n if device.tags.iter().any(|t| t.name == n) => None,
            "" => Some("empty placeholder `{}`; write `{{}}` for literal braces".to_owned()),
            _ => {
                let candidates = PLACEHOLDERS
                    .iter()
                    .copied()
                    .chain(device.tags.iter().map(|t| t.name.as_str()));
                Some(match closest(name, candidates) {
                    Some(best) => {
                        format!("unknown placeholder `{{{name}}}`; did you mean `{{{best}}}`?")
                    }
                    None => format!(
                        "unknown placeholder `{{{name}}}`; use one of {}, or a tag name of device `{dev}`",
                        PLACEHOLDERS
                            .iter()
                            .map(|p| format!("{{{p}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
            }
        };
        if let Some(message) = refusal {
            return Err((span, message));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;
    use crate::model::{CpuModeView, Health, TagReading};
    use chrono::TimeZone;
    use serde_json::json;
    use std::path::Path;

    fn device(toml: &str) -> Arc<DeviceConfig> {
        match parse(toml, Path::new(".")) {
            Ok(cfg) => cfg
                .devices
                .into_iter()
                .next()
                .unwrap_or_else(|| panic!("no device")),
            Err(p) => panic!("{p:?}"),
        }
    }

    const S7: &str = "[[devices]]\nname = \"cpu\"\nkind = \"s7\"\naddress = \"10.0.0.1\"\n\
                      [[devices.tags]]\nname = \"t\"\naddress = \"DB1.DBD0:REAL\"\n";

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0)
            .single()
            .unwrap_or_default()
    }

    fn values(v: Option<f64>, quality: Quality, s: i64) -> Observation {
        Observation::Values {
            device: "cpu".into(),
            at: at(s),
            rtt: std::time::Duration::from_millis(5),
            readings: vec![TagReading {
                tag: 0,
                value: v,
                quality,
            }]
            .into(),
        }
    }

    fn health(state: HealthState) -> Observation {
        Observation::Health {
            device: "cpu".into(),
            health: Health {
                state,
                since: at(0),
                last_error: None,
                rtt: None,
                consecutive_failures: 0,
            },
        }
    }

    fn event(id: u16) -> DiagEvent {
        DiagEvent {
            device_time: None,
            gateway_time: at(0),
            event_id: id,
            class: (id >> 12) as u8,
            entering: Some(id & S7_ENTERING_BIT != 0),
            text: format!("event {id:04X}"),
            details: json!({}),
            raw: id.to_be_bytes().to_vec(),
        }
    }

    #[test]
    fn a_tag_value_is_known_only_while_its_reading_is_good() {
        let mut f = DeviceFacts::new(&device(S7));
        assert_eq!(f.tag_value(0), None);
        assert!(f.apply(&values(Some(1.5), Quality::Good, 0)));
        assert_eq!(f.tag_value(0), Some(1.5));
        assert!(f.apply(&health(HealthState::Offline)));
        assert_eq!(f.tag_quality(0), Some(&Quality::Stale));
        assert_eq!((f.tag_value(0), f.tag_last_value(0)), (None, Some(1.5)));
        assert!(f.apply(&values(None, Quality::Bad("decode".into()), 1)));
        assert_eq!(f.tag_value(0), None);
    }

    #[test]
    fn the_same_reading_again_changes_nothing() {
        let mut f = DeviceFacts::new(&device(S7));
        f.apply(&values(Some(1.0), Quality::Good, 0));
        f.apply(&values(Some(1.0), Quality::Good, 1));
        assert!(!f.apply(&values(Some(1.0), Quality::Good, 2)));
    }

    #[test]
    fn observations_about_another_device_are_ignored() {
        let mut f = DeviceFacts::new(&device(S7));
        let other = Observation::Values {
            device: "other".into(),
            at: at(0),
            rtt: std::time::Duration::ZERO,
            readings: vec![TagReading {
                tag: 0,
                value: Some(1.0),
                quality: Quality::Good,
            }]
            .into(),
        };
        assert!(!f.apply(&other));
        assert_eq!(f.tag_value(0), None);
    }

    #[test]
    fn the_cpu_mode_is_unknown_while_the_device_is_offline() {
        let mut f = DeviceFacts::new(&device(S7));
        let mode = Observation::Status {
            device: "cpu".into(),
            at: at(0),
            update: StatusUpdate::CpuMode(CpuModeView {
                mode: "RUN".into(),
                previous: None,
                changed_at: None,
            }),
        };
        assert!(f.apply(&mode));
        assert_eq!(f.cpu_mode(), Some("RUN"));
        f.apply(&health(HealthState::Demoted));
        assert_eq!(f.cpu_mode(), None);
        f.apply(&health(HealthState::Online));
        assert_eq!(f.cpu_mode(), Some("RUN"));
    }

    #[test]
    fn replayed_history_opens_levels_without_pulsing() {
        let mut f = DeviceFacts::new(&device(S7));
        f.apply(&values(Some(1.0), Quality::Good, 0));
        assert!(f.replay(&[event(0x39C4)]));
        assert!(f.pulses().is_empty());
        let open: Vec<u16> = f
            .open_events()
            .map(|o| o.map(|e| e.event_id).collect())
            .unwrap_or_default();
        assert_eq!(open, vec![0x39C4]);
    }

    #[test]
    fn s7_ranges_compare_with_the_entering_bit_cleared() {
        assert!(Family::S7.id_in(0x38C4, 0x39C4, 0x39C4));
        assert!(Family::S7.id_in(0x39C4, 0x3900, 0x39FF));
        assert!(!Family::Melsec.id_in(0x38C4, 0x39C4, 0x39C4));
    }

    #[test]
    fn a_station_description_names_number_name_model_and_cause() {
        let s = StationFact {
            number: 4,
            occupies: 1,
            name: "valve terminal V3".into(),
            model: Some("AJ65SBTB1-16D".into()),
            state: "faulty".into(),
            down: true,
            data_link_error: true,
            watchdog_error: false,
            finding: None,
        };
        assert_eq!(
            s.describe(),
            "station 4 valve terminal V3 (AJ65SBTB1-16D): data link error"
        );
    }

    const PLANT: &str = r#"
[[devices]]
name = "boiler"
kind = "modbus"
address = "tcp://10.0.0.5"

[[devices.tags]]
name = "temperature"
address = "hr:100"
unit = "°C"

[[devices.tags]]
name = "Motor 1 temp"
address = "hr:101"

[[devices]]
name = "plc"
kind = "melsec"
address = "10.0.0.8:5007"

[[devices.cclink]]
name = "line 3"

[[devices.cclink.stations]]
number = 4
name = "valve terminal V3"
model = "AJ65SBTB1-16D"

[[devices.tags]]
name = "count"
address = "D100:INT"

[[devices]]
name = "plc2"
kind = "melsec"
address = "10.0.0.9:5007"
"#;

    fn plant(name: &str) -> Arc<DeviceConfig> {
        let cfg = parse(PLANT, Path::new(".")).unwrap_or_else(|p| panic!("{p:?}"));
        cfg.devices
            .into_iter()
            .find(|d| &*d.name == name)
            .unwrap_or_else(|| panic!("no device {name}"))
    }

    fn obs_values(dev: &str, readings: Vec<TagReading>) -> Observation {
        Observation::Values {
            device: dev.into(),
            at: at(0),
            rtt: std::time::Duration::ZERO,
            readings: readings.into(),
        }
    }

    fn good(tag: usize, v: f64) -> TagReading {
        TagReading {
            tag,
            value: Some(v),
            quality: Quality::Good,
        }
    }

    /// The PLC online, in STOP with error 0x3300, station 4 of "line 3" down.
    fn plc_facts() -> DeviceFacts {
        let mut f = DeviceFacts::new(&plant("plc"));
        f.apply(&obs_values("plc", vec![good(0, 1234.6)]));
        f.apply(&Observation::Status {
            device: "plc".into(),
            at: at(0),
            update: StatusUpdate::CpuMode(CpuModeView {
                mode: "STOP".into(),
                previous: Some("RUN".into()),
                changed_at: None,
            }),
        });
        f.apply(&Observation::Diagnostics {
            device: "plc".into(),
            backlog: false,
            events: vec![DiagEvent {
                device_time: None,
                gateway_time: at(0),
                event_id: 0x3300,
                class: MELSEC_CPU_ERROR,
                entering: Some(true),
                text: "OPERATION ERROR".into(),
                details: json!({}),
                raw: vec![1, 1],
            }]
            .into(),
        });
        f.apply(&Observation::Status {
            device: "plc".into(),
            at: at(0),
            update: StatusUpdate::Network {
                name: "line 3".into(),
                status: json!({
                    "kind": "cc-link", "line_ok": true,
                    "stations": [{
                        "number": 4, "occupies": 1, "name": "valve terminal V3",
                        "model": "AJ65SBTB1-16D", "state": "faulty", "down": true,
                        "data_link_error": true, "watchdog_error": false, "fuse_blown": false,
                        "switch_changed": false, "number_overlap": false,
                        "parameter_mismatch": false,
                    }],
                    "findings": [{
                        "kind": "StationDown", "stations": [4], "confirmed": true,
                        "text": { "en": "one station is down", "zh": "" },
                        "remedy": { "en": "check its power", "zh": "" },
                    }],
                    "link_scan": { "current_ms": 12, "min_ms": 8, "max_ms": 15 },
                    "retries": [[0, 3]],
                }),
            },
        });
        f
    }

    fn operands(dev: &str, src: &str, f: &DeviceFacts) -> Vec<Operand> {
        let d = plant(dev);
        match crate::rules::expr::compile(src, &crate::rules::expr::Scope { device: &d }) {
            Ok(e) => e.explain(f),
            Err(e) => panic!("{src}: {e:?}"),
        }
    }

    #[test]
    fn a_template_is_filled_with_device_facts_and_the_condition_operands() {
        let f = plc_facts();
        let ops = operands("plc", "cpu_error(0x3300) && count > 1000", &f);
        let text = render(
            "{device} in {cpu_mode}: {cpu_error}; {event}; count {count}; down: {stations}; \
             scan {link_scan_ms} ms; {condition}; failed: {failed}; {health}",
            &f,
            &ops,
            "count > 1000",
        );
        assert_eq!(
            text,
            "plc in STOP: error 13056: OPERATION ERROR; ?; count 1235; \
             down: station 4 valve terminal V3 (AJ65SBTB1-16D): data link error (one station is down); \
             scan 12 ms; cpu_error(0x3300) = true (error 13056: OPERATION ERROR); count = 1235; \
             failed: count > 1000; unknown"
        );
    }

    #[test]
    fn the_event_placeholder_takes_the_first_true_event_operand() {
        let f = plc_facts();
        let ops = operands("plc", "event(0x2220) || event(0x3300)", &f);
        assert_eq!(render("{event}", &f, &ops, ""), "OPERATION ERROR");
    }

    #[test]
    fn tag_values_show_units_and_quality_and_unknown_facts_a_question_mark() {
        let mut f = DeviceFacts::new(&plant("boiler"));
        f.apply(&obs_values(
            "boiler",
            vec![
                good(0, 95.2549),
                TagReading {
                    tag: 1,
                    value: None,
                    quality: Quality::Bad("exception 2".into()),
                },
            ],
        ));
        let ops = operands(
            "boiler",
            "temperature > 90 || tag(\"Motor 1 temp\") > 80",
            &f,
        );
        assert_eq!(
            render("{temperature}, {Motor 1 temp}, {condition}", &f, &ops, ""),
            "95.25 °C, ? (bad: exception 2), temperature = 95.25 °C; \
             tag(\"Motor 1 temp\") = ? (bad: exception 2)"
        );
        f.apply(&Observation::Health {
            device: "boiler".into(),
            health: crate::model::Health {
                state: HealthState::Offline,
                since: at(0),
                last_error: None,
                rtt: None,
                consecutive_failures: 1,
            },
        });
        assert_eq!(
            render("{temperature} {cpu_mode}", &f, &[], ""),
            "95.25 °C (stale) ?"
        );
    }

    #[test]
    fn unknown_placeholders_and_stray_braces_stay_as_written_and_double_braces_escape() {
        let f = plc_facts();
        assert_eq!(
            render("{{device}} {nope} {device} { } } {", &f, &[], ""),
            "{device} {nope} plc { } } {"
        );
        assert_eq!(render("{a{device}}", &f, &[], ""), "{aplc}");
    }

    #[test]
    fn a_template_check_accepts_known_placeholders_and_tag_names() {
        assert_eq!(
            check_template(
                "{device}: {temperature} {Motor 1 temp} {{literal}} {condition} {failed} {health}",
                &plant("boiler")
            ),
            Ok(())
        );
        assert_eq!(
            check_template(
                "{cpu_mode} {cpu_error} {event} {stations} {link_scan_ms} {count}",
                &plant("plc")
            ),
            Ok(())
        );
    }

    #[test]
    fn a_template_check_reports_each_mistake_at_its_span() {
        let boiler = plant("boiler");
        let err = |t: &str, d: &DeviceConfig| check_template(t, d).err().unwrap_or_default();
        let (span, msg) = err("T = {temprature}", &boiler);
        assert_eq!(span, 4..16);
        assert!(msg.contains("did you mean `{temperature}`?"), "{msg}");
        let (span, msg) = err("{device} {cpu_mode}", &boiler);
        assert_eq!(span, 9..19);
        assert!(msg.contains("s7 or melsec"), "{msg}");
        let (span, msg) = err("{stations}", &plant("plc2"));
        assert_eq!(span, 0..10);
        assert!(msg.contains("CC-Link"), "{msg}");
        let (span, msg) = err("{event}", &boiler);
        assert_eq!(span, 0..7);
        assert!(msg.contains("diagnostic events"), "{msg}");
        let (span, msg) = err("at {device", &boiler);
        assert_eq!(span, 3..10);
        assert!(msg.contains("without a closing"), "{msg}");
        let (span, msg) = err("a } b", &boiler);
        assert_eq!(span, 2..3);
        assert!(msg.contains("without an opening"), "{msg}");
        let (span, msg) = err("x {}", &boiler);
        assert_eq!(span, 2..4);
        assert!(msg.contains("empty placeholder"), "{msg}");
        let (_, msg) = err("{zzzzzzzz}", &boiler);
        assert!(msg.contains("use one of {device}"), "{msg}");
    }

    #[test]
    fn compiled_conditions_and_facts_can_be_shared_between_tasks() {
        fn shareable<T: Send + Sync + Clone + std::fmt::Debug>() {}
        shareable::<crate::rules::expr::Expr>();
        shareable::<crate::rules::expr::Memo>();
        shareable::<DeviceFacts>();
    }

    proptest::proptest! {
        #[test]
        fn rendering_or_checking_any_template_never_panics(t in "\\PC{0,60}") {
            let f = plc_facts();
            let ops = operands("plc", "count > 1 && station_down(4)", &f);
            let _ = render(&t, &f, &ops, "x");
            let _ = check_template(&t, &plant("plc"));
            let _ = check_template(&t, &plant("boiler"));
        }

        #[test]
        fn any_mix_of_braces_and_names_renders_and_checks_without_panicking(
            parts in proptest::collection::vec(
                proptest::sample::select(vec!["{", "}", "{{", "}}", "device", "count", "é", " ", "stations"]),
                0..20,
            )
        ) {
            let t = parts.concat();
            let f = plc_facts();
            let _ = render(&t, &f, &[], "");
            let _ = check_template(&t, &plant("plc"));
        }
    }
}
