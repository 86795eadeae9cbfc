//! Configuration: one TOML file, checked all at once.
//!
//! Loading has two layers (as Vector's config does): `raw` mirrors the file with serde and
//! `deny_unknown_fields`, and [`parse`] validates it into [`Config`], the types the gateway runs
//! on: durations parsed, addresses checked, defaults resolved, names unique. Each device and
//! section is deserialized on its own so that one file with several mistakes reports all of
//! them, each with file, line and column.

mod auth;
pub mod pattern;
pub mod raw;
mod rules;
pub mod secret;

pub use auth::{ApiToken, AuthConfig, Role, User};

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use plcdiag_melsec::{
    CcLinkMaster, ConnectOptions as McConnectOptions, LinkScanMap, NetworkKind, StationConfig,
    TagAddress,
};
use plcdiag_modbus::{
    Address, ByteOrder, DataType, Encoding, Parity, PlanLimits, Point, SerialSettings, Table,
    WordOrder,
};
use plcdiag_s7::{ConnectOptions as S7ConnectOptions, VarAddress, VarType};
use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::model::DeviceName;
use raw::{RawDefaults, RawDevice, RawGateway, RawKind, RawTag};

/// Default HTTP listen address: loopback only, so a gateway without auth is not exposed.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_DATABASE: &str = "plcdiag.db";
const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);
/// The longest duration any setting takes (100 years): longer ones overflow date arithmetic.
const MAX_DURATION: Duration = Duration::from_secs(36_525 * 24 * 3600);
/// Default `gateway.header_timeout`.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `gateway.body_timeout`.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default `gateway.max_connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);
const DEFAULT_DEMOTE_AFTER: u32 = 3;
const DEFAULT_DEMOTE_FOR: Duration = Duration::from_secs(30);
const DEFAULT_MAX_INTERVAL: Duration = Duration::from_secs(60);
const MIN_INTERVAL: Duration = Duration::from_millis(10);
const MODBUS_TCP_PORT: u16 = 502;
const S7_PORT: u16 = 102;
const DEFAULT_STATUS_INTERVAL: Duration = Duration::from_secs(10);

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Gateway process settings.
    pub gateway: GatewaySettings,
    /// Every configured device, enabled or not, in file order; shared by the tasks that need it.
    pub devices: Vec<Arc<DeviceConfig>>,
    /// Alarm rules, compiled for the devices they apply to.
    pub rules: Vec<Arc<crate::rules::Rule>>,
    /// Where alarm notifications go.
    pub receivers: Vec<Arc<crate::notify::ReceiverConfig>>,
    /// Who may use the API's write actions.
    pub auth: AuthConfig,
    /// Things that work but are probably not meant (timeout ≥ interval, ...).
    pub warnings: Vec<Problem>,
}

/// `[gateway]` after validation.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// HTTP API address.
    pub listen: SocketAddr,
    /// SQLite history file.
    pub database: PathBuf,
    /// How long history rows are kept.
    pub retention: Duration,
    /// The address people reach the UI at, for links in notifications.
    pub external_url: Option<String>,
    /// Path prefix of every route (`""` for none, else `/name` without a trailing slash).
    pub base_path: String,
    /// Header read and keep-alive idle timeout of the HTTP server.
    pub header_timeout: Duration,
    /// Longest pause inside a request body.
    pub body_timeout: Duration,
    /// Most HTTP connections at once.
    pub max_connections: usize,
}

/// One device after validation.
#[derive(Debug, Clone)]
pub struct DeviceConfig {
    /// Unique name.
    pub name: DeviceName,
    /// The address as written, for display.
    pub address: String,
    /// Polled only when true.
    pub enabled: bool,
    /// Timing.
    pub poll: PollSettings,
    /// Tags in file order; kind-specific addresses are in the same order in `kind`.
    pub tags: Vec<TagConfig>,
    /// Protocol-specific part.
    pub kind: DeviceKind,
}

impl DeviceConfig {
    /// The kind's name as in the file.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            DeviceKind::Modbus(_) => "modbus",
            DeviceKind::S7(_) => "s7",
            DeviceKind::Melsec(_) => "melsec",
        }
    }
}

/// Poll timing of one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollSettings {
    /// Time between the starts of two polls.
    pub interval: Duration,
    /// Connect and response timeout.
    pub timeout: Duration,
    /// Consecutive failures before demotion (0: never).
    pub demote_after: u32,
    /// Off-scan period of a demoted device.
    pub demote_for: Duration,
}

/// The kind-independent part of a tag.
#[derive(Debug, Clone, PartialEq)]
pub struct TagConfig {
    /// Name, unique within its device.
    pub name: String,
    /// Engineering unit.
    pub unit: Option<String>,
    /// History deadband (absolute).
    pub deadband: f64,
    /// History heartbeat.
    pub max_interval: Duration,
    /// Raw value to engineering value.
    pub scaling: Scaling,
}

/// Linear scaling of a raw value: `raw * scale + offset`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scaling {
    /// Multiplier.
    pub scale: f64,
    /// Added after multiplying.
    pub offset: f64,
}

impl Default for Scaling {
    fn default() -> Self {
        Self {
            scale: 1.0,
            offset: 0.0,
        }
    }
}

impl Scaling {
    /// The engineering value of `raw`.
    pub fn apply(&self, raw: f64) -> f64 {
        raw * self.scale + self.offset
    }
}

/// The protocol-specific part of a device.
#[derive(Debug, Clone)]
pub enum DeviceKind {
    /// A Modbus TCP or RTU device.
    Modbus(ModbusDevice),
    /// A Siemens S7 CPU.
    S7(S7Device),
    /// A Mitsubishi MELSEC PLC, possibly hosting CC-Link masters.
    Melsec(MelsecDevice),
}

/// A Mitsubishi MELSEC PLC reached over MC protocol.
#[derive(Debug, Clone)]
pub struct MelsecDevice {
    /// Host name or IP address.
    pub host: String,
    /// The MC protocol port set in the PLC.
    pub port: u16,
    /// Frame, transport, route, series, timeout.
    pub options: McConnectOptions,
    /// The CC-Link masters it hosts.
    pub masters: Vec<CcLinkMaster>,
    /// One address per tag, in tag order.
    pub addresses: Vec<TagAddress>,
    /// How often the network status is stored even when unchanged (link scan trend).
    pub status_interval: Duration,
}

/// A Siemens S7 CPU.
#[derive(Debug, Clone)]
pub struct S7Device {
    /// Host name or IP address.
    pub host: String,
    /// TCP port (102).
    pub port: u16,
    /// Connection parameters (TSAPs, PDU size, timeout).
    pub options: S7ConnectOptions,
    /// One address per tag, in tag order.
    pub addresses: Vec<VarAddress>,
    /// Whether the diagnostic buffer is read.
    pub diagnostics: bool,
    /// How often cycle times, protection and module status are read.
    pub status_interval: Duration,
}

/// A Modbus device.
#[derive(Debug, Clone)]
pub struct ModbusDevice {
    /// How to reach it.
    pub transport: ModbusTransport,
    /// Unit identifier.
    pub unit_id: u8,
    /// One point per tag, in tag order.
    pub points: Vec<Point>,
    /// Read planner limits.
    pub limits: PlanLimits,
}

/// Where a Modbus device is.
#[derive(Debug, Clone, PartialEq)]
pub enum ModbusTransport {
    /// Modbus TCP; the host is resolved at each connect.
    Tcp {
        /// Host name or IP address.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// Modbus RTU on a serial line.
    Rtu(SerialSettings),
}

/// One thing wrong (or suspicious) in a config file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column (in characters), 0 when unknown.
    pub column: usize,
    /// What is wrong, naming the key.
    pub message: String,
    /// The offending line of the file, for display.
    pub source_line: Option<String>,
}

/// Everything wrong with a config file.
#[derive(Debug)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// All problems found, in file order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "{} has {n} problem{}:",
            self.file.display(),
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write_problem(f, &self.file, p)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Writes `file:line:col: message` and the offending line with a caret, as compilers do.
pub fn write_problem(f: &mut impl fmt::Write, file: &Path, p: &Problem) -> fmt::Result {
    if p.line == 0 {
        writeln!(f, "{}: {}", file.display(), p.message)
    } else {
        writeln!(
            f,
            "{}:{}:{}: {}",
            file.display(),
            p.line,
            p.column,
            p.message
        )?;
        if let Some(src) = &p.source_line {
            writeln!(f, "    {src}")?;
            writeln!(f, "    {}^", " ".repeat(p.column.saturating_sub(1)))?;
        }
        Ok(())
    }
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let problem = |line, column, message| ConfigError {
        file: path.to_owned(),
        problems: vec![Problem {
            line,
            column,
            message,
            source_line: None,
        }],
    };
    let bytes = std::fs::read(path).map_err(|e| problem(0, 0, format!("cannot read: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        // Where the first byte that is not UTF-8 is, counted like a problem in valid text.
        let good = e
            .as_bytes()
            .get(..e.utf8_error().valid_up_to())
            .unwrap_or_default();
        let good = std::str::from_utf8(good).unwrap_or_default();
        let line = good.matches('\n').count() + 1;
        let column = good.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let byte = e.as_bytes().get(good.len()).copied().unwrap_or(0);
        problem(
            line,
            column,
            format!("the file is not UTF-8: byte 0x{byte:02X} here; save it as UTF-8"),
        )
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse(&text, base).map_err(|problems| ConfigError {
        file: path.to_owned(),
        problems,
    })
}

/// Validates config text; relative paths in it are taken from `base_dir`.
pub fn parse(text: &str, base_dir: &Path) -> Result<Config, Vec<Problem>> {
    let mut cx = Checker {
        text,
        line_starts: std::cell::OnceCell::new(),
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        for e in syntax {
            cx.error(e.span(), e.message().to_owned());
        }
        return Err(cx.problems);
    }
    let mut root = root.into_inner();
    cx.printable_names(&root);
    let mut gateway = RawGateway::default();
    let mut defaults = RawDefaults::default();
    let mut devices = Vec::new();
    let mut rules = Vec::new();
    let mut receivers = Vec::new();
    let mut auth = raw::RawAuth::default();
    for (key, value) in std::mem::take(&mut root) {
        match key.get_ref().as_ref() {
            "gateway" => gateway = cx.deserialize(value, "gateway").unwrap_or_default(),
            "defaults" => defaults = cx.deserialize(value, "defaults").unwrap_or_default(),
            "devices" => devices = cx.devices(value),
            "rules" => rules = cx.list(value, "rules"),
            "receivers" => receivers = cx.list(value, "receivers"),
            "auth" => auth = cx.deserialize(value, "auth").unwrap_or_default(),
            other => cx.error(
                Some(key.span()),
                format!(
                    "unknown section `{other}`, expected one of `gateway`, `defaults`, `devices`, `rules`, `receivers`, `auth`"
                ),
            ),
        }
    }
    let gateway = cx.gateway(gateway, base_dir);
    let defaults = cx.defaults(defaults);
    let devices = cx.validate_devices(devices, &defaults);
    // Rules are compiled against the devices only when those are valid, so one mistake in a
    // device is not reported again by every rule that uses it.
    let rules = if cx.problems.is_empty() {
        cx.rules(rules, &devices)
    } else {
        Vec::new()
    };
    let receivers = cx.receivers(receivers, gateway.external_url.as_deref());
    let auth = cx.auth(auth);
    if cx.problems.is_empty() {
        cx.warnings.sort_by_key(|p| (p.line, p.column));
        Ok(Config {
            gateway,
            devices,
            rules,
            receivers,
            auth,
            warnings: cx.warnings,
        })
    } else {
        cx.problems.sort_by_key(|p| (p.line, p.column));
        Err(cx.problems)
    }
}

/// Resolved `[defaults]`.
struct Defaults {
    poll: PollSettings,
    max_interval: Duration,
}

struct Checker<'a> {
    text: &'a str,
    /// Byte offset of each line's start, computed at the first problem.
    line_starts: std::cell::OnceCell<Vec<usize>>,
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl Checker<'_> {
    fn problem(&self, span: Option<Range<usize>>, message: String) -> Problem {
        let Some(span) = span else {
            return Problem {
                line: 0,
                column: 0,
                message,
                source_line: None,
            };
        };
        let start = span.start.min(self.text.len());
        // Line starts are found once, so each problem costs a binary search, not a scan.
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        let index = starts.partition_point(|&s| s <= start).saturating_sub(1);
        let line_start = starts.get(index).copied().unwrap_or(0);
        let line = index + 1;
        let column = self
            .text
            .get(line_start..start)
            .map_or(0, |s| s.chars().count())
            + 1;
        let line_end = starts.get(index + 1).map_or(self.text.len(), |e| e - 1);
        let source_line = self
            .text
            .get(line_start..line_end)
            .map(|l| l.trim_end_matches('\r').to_owned());
        Problem {
            line,
            column,
            message,
            source_line,
        }
    }

    /// Names (`name`, `unit`, `model` anywhere) must be printable: a control character (an
    /// ANSI escape, a newline) in a device name would forge log lines and garble the UI.
    fn printable_names(&mut self, table: &DeTable<'_>) {
        for (key, value) in table {
            match value.get_ref() {
                DeValue::String(s)
                    if matches!(key.get_ref().as_ref(), "name" | "unit" | "model")
                        && s.chars().any(char::is_control) =>
                {
                    self.error(
                        Some(value.span()),
                        format!(
                            "{}: {:?} contains a control character (escape, newline, ...); names must be printable",
                            key.get_ref(),
                            s
                        ),
                    );
                }
                DeValue::Table(t) => self.printable_names(t),
                DeValue::Array(items) => {
                    for item in items {
                        if let DeValue::Table(t) = item.get_ref() {
                            self.printable_names(t);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn error(&mut self, span: Option<Range<usize>>, message: String) {
        let p = self.problem(span, message);
        self.problems.push(p);
    }

    fn warn(&mut self, span: Option<Range<usize>>, message: String) {
        let p = self.problem(span, message);
        self.warnings.push(p);
    }

    fn deserialize<T: DeserializeOwned>(
        &mut self,
        value: Spanned<DeValue<'_>>,
        what: &str,
    ) -> Option<T> {
        let span = value.span();
        match T::deserialize(ValueDeserializer::from(value)) {
            Ok(v) => Some(v),
            Err(e) => {
                let span = e.span().or(Some(span));
                self.error(span, format!("{what}: {}", e.message()));
                None
            }
        }
    }

    /// A `[[section]]` list, each item deserialized on its own so all mistakes are reported.
    fn list<T: DeserializeOwned>(&mut self, value: Spanned<DeValue<'_>>, what: &str) -> Vec<T> {
        let span = value.span();
        let DeValue::Array(items) = value.into_inner() else {
            self.error(
                Some(span),
                format!("`{what}` must be a list of tables: write each as [[{what}]]"),
            );
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.deserialize(item.clone(), &format!("{what}[{i}]")))
            .collect()
    }

    fn devices(&mut self, value: Spanned<DeValue<'_>>) -> Vec<RawDevice> {
        let span = value.span();
        let DeValue::Array(items) = value.into_inner() else {
            self.error(
                Some(span),
                "`devices` must be a list of tables: write each as [[devices]]".into(),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(d) = self.deserialize::<RawDevice>(item.clone(), &format!("devices[{i}]")) {
                out.push(d);
            }
        }
        out
    }

    fn duration(
        &mut self,
        value: &Option<Spanned<String>>,
        key: &str,
        default: Duration,
    ) -> Duration {
        let Some(v) = value else { return default };
        match humantime::parse_duration(v.get_ref()) {
            Ok(d) if d > MAX_DURATION => {
                self.error(
                    Some(v.span()),
                    format!("{key}: {:?} is longer than 100 years", v.get_ref()),
                );
                default
            }
            Ok(d) => d,
            Err(e) => {
                self.error(
                    Some(v.span()),
                    format!("{key}: invalid duration {:?} ({e}); write e.g. \"500ms\", \"2s\", \"5m\", \"30d\"", v.get_ref()),
                );
                default
            }
        }
    }

    fn gateway(&mut self, raw: RawGateway, base_dir: &Path) -> GatewaySettings {
        let listen = match &raw.listen {
            None => DEFAULT_LISTEN.parse().unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080))),
            Some(v) => v.get_ref().parse().unwrap_or_else(|e| {
                self.error(
                    Some(v.span()),
                    format!("gateway.listen: {:?} is not an IP address and port ({e}), e.g. \"127.0.0.1:8080\"", v.get_ref()),
                );
                SocketAddr::from(([127, 0, 0, 1], 8080))
            }),
        };
        let database = raw
            .database
            .as_ref()
            .map_or(DEFAULT_DATABASE, |d| d.get_ref().as_str());
        if database.is_empty() {
            let span = raw.database.as_ref().map(Spanned::span);
            self.error(span, "gateway.database: must not be empty".into());
        }
        let retention = self.duration(&raw.retention, "gateway.retention", DEFAULT_RETENTION);
        if retention < Duration::from_secs(60) {
            let span = raw.retention.as_ref().map(Spanned::span);
            self.error(span, "gateway.retention: must be at least 1m".into());
        }
        let external_url = raw.external_url.as_ref().and_then(|u| {
            let url = u.get_ref().trim_end_matches('/');
            if url.starts_with("http://") || url.starts_with("https://") {
                Some(url.to_owned())
            } else {
                self.error(
                    Some(u.span()),
                    "gateway.external_url: must start with http:// or https://".into(),
                );
                None
            }
        });
        let base_path = match &raw.base_path {
            None => String::new(),
            Some(b) => match normalize_base_path(b.get_ref()) {
                Ok(p) => p,
                Err(e) => {
                    self.error(Some(b.span()), format!("gateway.base_path: {e}"));
                    String::new()
                }
            },
        };
        let header_timeout = self.duration(
            &raw.header_timeout,
            "gateway.header_timeout",
            DEFAULT_HEADER_TIMEOUT,
        );
        let body_timeout = self.duration(
            &raw.body_timeout,
            "gateway.body_timeout",
            DEFAULT_BODY_TIMEOUT,
        );
        for (d, raw_d, key) in [
            (
                header_timeout,
                &raw.header_timeout,
                "gateway.header_timeout",
            ),
            (body_timeout, &raw.body_timeout, "gateway.body_timeout"),
        ] {
            if d.is_zero() {
                let span = raw_d.as_ref().map(Spanned::span);
                self.error(span, format!("{key}: must be longer than 0s"));
            }
        }
        let max_connections = match &raw.max_connections {
            None => DEFAULT_MAX_CONNECTIONS,
            Some(n) if *n.get_ref() == 0 => {
                self.error(
                    Some(n.span()),
                    "gateway.max_connections: must be at least 1".into(),
                );
                DEFAULT_MAX_CONNECTIONS
            }
            Some(n) => *n.get_ref() as usize,
        };
        GatewaySettings {
            listen,
            database: base_dir.join(database),
            retention,
            external_url,
            base_path,
            header_timeout,
            body_timeout,
            max_connections,
        }
    }

    fn defaults(&mut self, raw: RawDefaults) -> Defaults {
        let poll = PollSettings {
            interval: self.duration(&raw.interval, "defaults.interval", DEFAULT_INTERVAL),
            timeout: self.duration(&raw.timeout, "defaults.timeout", DEFAULT_TIMEOUT),
            demote_after: raw.demote_after.unwrap_or(DEFAULT_DEMOTE_AFTER),
            demote_for: self.duration(&raw.demote_for, "defaults.demote_for", DEFAULT_DEMOTE_FOR),
        };
        if let Some(v) = &raw.interval
            && poll.interval < MIN_INTERVAL
        {
            self.error(
                Some(v.span()),
                "defaults.interval: must be at least 10ms".into(),
            );
        }
        if let Some(v) = &raw.timeout
            && poll.timeout.is_zero()
        {
            self.error(
                Some(v.span()),
                "defaults.timeout: must be more than 0".into(),
            );
        }
        let max_interval = self.duration(
            &raw.max_interval,
            "defaults.max_interval",
            DEFAULT_MAX_INTERVAL,
        );
        Defaults { poll, max_interval }
    }

    fn validate_devices(
        &mut self,
        raws: Vec<RawDevice>,
        defaults: &Defaults,
    ) -> Vec<Arc<DeviceConfig>> {
        // Name → where it was first defined (a byte offset: lines are only counted for errors).
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::new();
        for raw in raws {
            let name = raw.name.get_ref().trim().to_owned();
            if name.is_empty() {
                self.error(
                    Some(raw.name.span()),
                    "devices.name: must not be empty".into(),
                );
            } else if let Some(&first) = seen.get(&name) {
                let line = self.problem(Some(first..first), String::new()).line;
                self.error(
                    Some(raw.name.span()),
                    format!("devices.name: duplicate device name `{name}` (first defined on line {line})"),
                );
            } else {
                seen.insert(name.clone(), raw.name.span().start);
            }
            if let Some(device) = self.device(raw, name, defaults) {
                out.push(Arc::new(device));
            }
        }
        out
    }

    fn device(
        &mut self,
        raw: RawDevice,
        name: String,
        defaults: &Defaults,
    ) -> Option<DeviceConfig> {
        let key = |k: &str| format!("device `{name}`: {k}");
        let poll = PollSettings {
            interval: self.duration(&raw.interval, &key("interval"), defaults.poll.interval),
            timeout: self.duration(&raw.timeout, &key("timeout"), defaults.poll.timeout),
            demote_after: raw.demote_after.unwrap_or(defaults.poll.demote_after),
            demote_for: self.duration(
                &raw.demote_for,
                &key("demote_for"),
                defaults.poll.demote_for,
            ),
        };
        let interval_span = raw
            .interval
            .as_ref()
            .map(Spanned::span)
            .or(Some(raw.name.span()));
        // Bad defaults are reported once, at [defaults], not again at every device using them.
        if poll.interval < MIN_INTERVAL && raw.interval.is_some() {
            self.error(
                interval_span.clone(),
                format!("{}: must be at least 10ms", key("interval")),
            );
        }
        if poll.timeout.is_zero() && raw.timeout.is_some() {
            let span = raw
                .timeout
                .as_ref()
                .map(Spanned::span)
                .or(Some(raw.name.span()));
            self.error(span, format!("{}: must be more than 0", key("timeout")));
        } else if !poll.timeout.is_zero() && poll.timeout >= poll.interval {
            let span = raw.timeout.as_ref().map(Spanned::span).or(interval_span);
            self.warn(
                span,
                format!(
                    "device `{name}`: timeout ({}) is not shorter than interval ({}); a device that does not answer is then polled less often than configured",
                    humantime::format_duration(poll.timeout),
                    humantime::format_duration(poll.interval)
                ),
            );
        }
        let mut tags = Vec::new();
        let mut tag_names: HashMap<String, ()> = HashMap::new();
        for t in &raw.tags {
            let tname = t.name.get_ref().trim().to_owned();
            if tname.is_empty() {
                self.error(
                    Some(t.name.span()),
                    format!("{}: tag name must not be empty", key("tags")),
                );
            } else if tag_names.insert(tname.clone(), ()).is_some() {
                self.error(
                    Some(t.name.span()),
                    format!("{}: duplicate tag name `{tname}`", key("tags")),
                );
            }
            let deadband = t.deadband.as_ref().map_or(0.0, |d| *d.get_ref());
            if let Some(d) = &t.deadband
                && !(deadband.is_finite() && deadband >= 0.0)
            {
                self.error(
                    Some(d.span()),
                    format!("{}: deadband must be a finite number ≥ 0", key("tags")),
                );
            }
            let max_interval = self.duration(
                &t.max_interval,
                &key("tags.max_interval"),
                defaults.max_interval,
            );
            let scaling = Scaling {
                scale: t.scale.unwrap_or(1.0),
                offset: t.offset.unwrap_or(0.0),
            };
            if !(scaling.scale.is_finite() && scaling.offset.is_finite()) {
                self.error(
                    Some(t.name.span()),
                    format!(
                        "{}: scale and offset must be finite numbers (not nan or inf)",
                        key("tags")
                    ),
                );
            }
            tags.push(TagConfig {
                name: tname,
                unit: t.unit.clone(),
                deadband,
                max_interval,
                scaling,
            });
        }
        self.reject_keys_of_other_kinds(&raw, &name);
        let kind = match raw.kind.get_ref() {
            RawKind::Modbus => DeviceKind::Modbus(self.modbus(&raw, &name)?),
            RawKind::S7 => DeviceKind::S7(self.s7(&raw, &name, poll.timeout)?),
            RawKind::Melsec => DeviceKind::Melsec(self.melsec(&raw, &name, poll.timeout)?),
        };
        Some(DeviceConfig {
            name: name.into(),
            address: raw.address.get_ref().clone(),
            enabled: raw.enabled.unwrap_or(true),
            poll,
            tags,
            kind,
        })
    }

    /// Keys that belong to another device kind are errors, not silently ignored.
    fn reject_keys_of_other_kinds(&mut self, raw: &RawDevice, name: &str) {
        use RawKind::{Melsec, Modbus, S7};
        let whole = Some(raw.name.span());
        let keys: [(&str, RawKind, Option<Range<usize>>); 21] = [
            ("unit_id", Modbus, raw.unit_id.as_ref().map(Spanned::span)),
            (
                "baud_rate",
                Modbus,
                raw.baud_rate.as_ref().map(Spanned::span),
            ),
            ("parity", Modbus, raw.parity.as_ref().map(Spanned::span)),
            (
                "data_bits",
                Modbus,
                raw.data_bits.as_ref().map(Spanned::span),
            ),
            (
                "stop_bits",
                Modbus,
                raw.stop_bits.as_ref().map(Spanned::span),
            ),
            ("max_gap", Modbus, raw.max_gap.and(whole.clone())),
            ("rack", S7, raw.rack.as_ref().map(Spanned::span)),
            ("slot", S7, raw.slot.as_ref().map(Spanned::span)),
            (
                "connection_type",
                S7,
                raw.connection_type.as_ref().map(Spanned::span),
            ),
            ("local_tsap", S7, raw.local_tsap.as_ref().map(Spanned::span)),
            (
                "remote_tsap",
                S7,
                raw.remote_tsap.as_ref().map(Spanned::span),
            ),
            ("pdu_size", S7, raw.pdu_size.as_ref().map(Spanned::span)),
            ("diagnostics", S7, raw.diagnostics.and(whole.clone())),
            (
                "transport",
                Melsec,
                raw.transport.as_ref().map(Spanned::span),
            ),
            ("frame", Melsec, raw.frame.as_ref().map(Spanned::span)),
            ("series", Melsec, raw.series.as_ref().map(Spanned::span)),
            ("network", Melsec, raw.network.and(whole.clone())),
            ("pc_number", Melsec, raw.pc_number.and(whole.clone())),
            ("module_io", Melsec, raw.module_io.and(whole.clone())),
            ("cclink", Melsec, raw.cclink.first().map(|c| c.name.span())),
            (
                "status_interval",
                S7,
                raw.status_interval.as_ref().map(Spanned::span),
            ),
        ];
        let kind = *raw.kind.get_ref();
        for (key, owner, span) in keys {
            // status_interval is shared by S7 and MELSEC.
            let shared = key == "status_interval" && kind == Melsec;
            if span.is_some() && owner != kind && !shared {
                let owner = match owner {
                    Modbus => "modbus",
                    S7 if key == "status_interval" => "s7\" or \"melsec",
                    S7 => "s7",
                    Melsec => "melsec",
                };
                self.error(
                    span,
                    format!("device `{name}`: {key} applies to kind = \"{owner}\" only"),
                );
            }
        }
        let example = match kind {
            Modbus => return,
            S7 => "S7 tags carry their type in the address, e.g. \"DB10.DBD4:REAL\"",
            Melsec => "MELSEC tags carry their type in the address, e.g. \"D100:INT\"",
        };
        {
            for t in &raw.tags {
                for (key, at) in [
                    ("type", t.data_type.as_ref().map(Spanned::span)),
                    ("byte_order", t.byte_order.as_ref().map(Spanned::span)),
                    ("word_order", t.word_order.as_ref().map(Spanned::span)),
                ] {
                    if at.is_some() {
                        self.error(
                            at,
                            format!(
                                "device `{name}`, tag `{}`: {key} applies to Modbus tags; {example}",
                                t.name.get_ref()
                            ),
                        );
                    }
                }
            }
        }
    }

    /// Parses every tag's address as `A`; `refuse` names what a parsed address may not be.
    fn tag_addresses<A>(
        &mut self,
        raw: &RawDevice,
        device: &str,
        refuse: impl Fn(&A) -> Option<&'static str>,
    ) -> Vec<A>
    where
        A: std::str::FromStr,
        A::Err: fmt::Display,
    {
        let mut out = Vec::new();
        for t in &raw.tags {
            let problem = match t.address.get_ref().parse::<A>() {
                Ok(a) => match refuse(&a) {
                    None => {
                        out.push(a);
                        continue;
                    }
                    Some(why) => why.to_owned(),
                },
                Err(e) => e.to_string(),
            };
            self.error(
                Some(t.address.span()),
                format!("device `{device}`, tag `{}`: {problem}", t.name.get_ref()),
            );
        }
        out
    }

    fn melsec(&mut self, raw: &RawDevice, name: &str, timeout: Duration) -> Option<MelsecDevice> {
        let before = self.problems.len();
        let addr = raw.address.get_ref().trim();
        let addr_span = Some(raw.address.span());
        let (host, port) = match addr.rsplit_once(':').map(|(_, p)| p.parse::<u16>()) {
            Some(Ok(_)) => match parse_host_port(addr.strip_prefix("mc://").unwrap_or(addr), 0) {
                Ok(hp) => hp,
                Err(why) => {
                    self.error(
                        addr_span,
                        format!("device `{name}`: bad address {addr:?}: {why}"),
                    );
                    (String::new(), 0)
                }
            },
            _ => {
                self.error(
                    addr_span,
                    format!(
                        "device `{name}`: address {addr:?} needs the MC protocol port set in the PLC, e.g. \"192.168.3.39:5007\""
                    ),
                );
                (String::new(), 0)
            }
        };
        let mut options = McConnectOptions {
            timeout,
            ..McConnectOptions::default()
        };
        macro_rules! choice {
            ($field:ident, $what:literal) => {
                if let Some(v) = &raw.$field {
                    match v.get_ref().parse() {
                        Ok(x) => options.$field = x,
                        Err(_) => self.error(
                            Some(v.span()),
                            format!("device `{name}`: {} must be {}", stringify!($field), $what),
                        ),
                    }
                }
            };
        }
        choice!(transport, "\"tcp\" or \"udp\"");
        choice!(frame, "\"3e\" or \"4e\"");
        choice!(series, "\"q\", \"l\" or \"iq-r\"");
        options.route.network = raw.network.unwrap_or(options.route.network);
        options.route.station = raw.pc_number.unwrap_or(options.route.station);
        options.route.module_io = raw.module_io.unwrap_or(options.route.module_io);
        let status_interval = self.duration(
            &raw.status_interval,
            &format!("device `{name}`: status_interval"),
            DEFAULT_STATUS_INTERVAL,
        );
        let mut masters = Vec::new();
        let mut names: HashMap<String, ()> = HashMap::new();
        for c in &raw.cclink {
            if names.insert(c.name.get_ref().clone(), ()).is_some() {
                self.error(
                    Some(c.name.span()),
                    format!("device `{name}`: duplicate CC-Link network name"),
                );
            }
            if let Some(m) = self.cclink(c, name) {
                masters.push(m);
            }
        }
        let addresses = self.tag_addresses(raw, name, |_: &TagAddress| None);
        if self.problems.len() != before {
            return None;
        }
        Some(MelsecDevice {
            host,
            port,
            options,
            masters,
            addresses,
            status_interval,
        })
    }

    fn cclink(&mut self, raw: &raw::RawCcLink, device: &str) -> Option<CcLinkMaster> {
        let net = raw.name.get_ref();
        let kind = match &raw.kind {
            None => NetworkKind::CcLink,
            Some(k) => match k.get_ref().parse() {
                Ok(k) => k,
                Err(_) => {
                    self.error(
                        Some(k.span()),
                        format!("device `{device}`, CC-Link `{net}`: kind must be \"cc-link\" or \"cc-link-ie-field\""),
                    );
                    return None;
                }
            },
        };
        let mut master = CcLinkMaster::new(net.clone(), kind);
        master.sb_base = raw.sb_base.unwrap_or(0);
        master.sw_base = raw.sw_base.unwrap_or(0);
        let max = master.map.max_stations;
        let mut taken: HashMap<u8, u8> = HashMap::new();
        for s in &raw.stations {
            let number = *s.number.get_ref();
            let occupies = s.occupies.as_ref().map_or(1, |o| *o.get_ref());
            if !(1..=4).contains(&occupies) {
                let span = s.occupies.as_ref().map(Spanned::span);
                self.error(
                    span,
                    format!("device `{device}`, CC-Link `{net}`: occupies must be 1 to 4"),
                );
                continue;
            }
            let last = u16::from(number) + u16::from(occupies) - 1;
            if number == 0 || last > u16::from(max) {
                self.error(
                    Some(s.number.span()),
                    format!("device `{device}`, CC-Link `{net}`: station {number} occupying {occupies} does not fit in 1 to {max}"),
                );
                continue;
            }
            for n in number..=number.saturating_add(occupies - 1) {
                if let Some(first) = taken.insert(n, number) {
                    self.error(
                        Some(s.number.span()),
                        format!("device `{device}`, CC-Link `{net}`: station number {n} is also taken by station {first}"),
                    );
                }
            }
            master.stations.push(StationConfig {
                number,
                occupies,
                name: s
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("station {number}")),
                model: s.model.clone(),
                reserved: s.reserved.unwrap_or(false),
            });
        }
        if let Some(m) = &raw.map {
            let map = &mut master.map;
            if let Some(v) = m.data_link_status {
                map.data_link_status = v;
            }
            let optional = [
                (m.watchdog_status, &mut map.watchdog_status),
                (m.fuse_status, &mut map.fuse_status),
                (m.switch_change_status, &mut map.switch_change_status),
                (m.overlap_status, &mut map.overlap_status),
                (
                    m.parameter_mismatch_status,
                    &mut map.parameter_mismatch_status,
                ),
                (m.reserved_stations, &mut map.reserved_stations),
                (m.error_invalid_stations, &mut map.error_invalid_stations),
                (m.line_status_word, &mut map.line_status_word),
                (m.retry_counters, &mut map.retry_counters),
            ];
            for (set, field) in optional {
                if set.is_some() {
                    *field = set;
                }
            }
            let given = [m.link_scan_current, m.link_scan_min, m.link_scan_max];
            match (map.link_scan, given) {
                (_, [None, None, None]) => {}
                (Some(base), [current, min, max]) => {
                    map.link_scan = Some(LinkScanMap {
                        current: current.unwrap_or(base.current),
                        min: min.unwrap_or(base.min),
                        max: max.unwrap_or(base.max),
                    });
                }
                (None, [Some(current), Some(min), Some(max)]) => {
                    map.link_scan = Some(LinkScanMap { current, min, max });
                }
                (None, _) => self.error(
                    Some(raw.name.span()),
                    format!(
                        "device `{device}`, CC-Link `{net}`: this network kind has no default link scan registers; give all of link_scan_current, link_scan_min and link_scan_max"
                    ),
                ),
            }
        }
        Some(master)
    }

    fn s7(&mut self, raw: &RawDevice, name: &str, timeout: Duration) -> Option<S7Device> {
        let before = self.problems.len();
        let addr = raw.address.get_ref().trim();
        let (host, port) =
            match parse_host_port(addr.strip_prefix("s7://").unwrap_or(addr), S7_PORT) {
                Ok(hp) => hp,
                Err(why) => {
                    self.error(
                        Some(raw.address.span()),
                        format!(
                            "device `{name}`: bad address {addr:?}: {why}; expected \"HOST[:PORT]\""
                        ),
                    );
                    (String::new(), S7_PORT)
                }
            };
        let mut options = S7ConnectOptions {
            timeout,
            ..S7ConnectOptions::default()
        };
        if let Some(r) = &raw.rack {
            options.rack = *r.get_ref();
            if options.rack > 7 {
                self.error(
                    Some(r.span()),
                    format!("device `{name}`: rack must be 0 to 7"),
                );
            }
        }
        if let Some(s) = &raw.slot {
            options.slot = *s.get_ref();
            if options.slot > 31 {
                self.error(
                    Some(s.span()),
                    format!("device `{name}`: slot must be 0 to 31"),
                );
            }
        }
        if let Some(c) = &raw.connection_type {
            match c.get_ref().parse() {
                Ok(t) => options.connection_type = t,
                Err(_) => self.error(
                    Some(c.span()),
                    format!("device `{name}`: connection_type must be \"op\", \"pg\" or \"basic\""),
                ),
            }
        }
        options.local_tsap = raw.local_tsap.as_ref().map(|t| *t.get_ref());
        options.remote_tsap = raw.remote_tsap.as_ref().map(|t| *t.get_ref());
        if let Some(p) = &raw.pdu_size {
            options.pdu_size = *p.get_ref();
            if !(240..=960).contains(&options.pdu_size) {
                self.error(
                    Some(p.span()),
                    format!("device `{name}`: pdu_size must be 240 to 960"),
                );
            }
        }
        let status_interval = self.duration(
            &raw.status_interval,
            &format!("device `{name}`: status_interval"),
            DEFAULT_STATUS_INTERVAL,
        );
        let addresses: Vec<VarAddress> = self.tag_addresses(raw, name, |a: &VarAddress| {
            matches!(a.var_type, VarType::String(_) | VarType::Char).then_some(
                "text values (CHAR, STRING) cannot be tags yet; tags are numbers or bits",
            )
        });
        if self.problems.len() != before {
            return None;
        }
        Some(S7Device {
            host,
            port,
            options,
            addresses,
            diagnostics: raw.diagnostics.unwrap_or(true),
            status_interval,
        })
    }

    fn modbus(&mut self, raw: &RawDevice, name: &str) -> Option<ModbusDevice> {
        let before = self.problems.len();
        let transport = self.modbus_transport(raw, name);
        let is_rtu = matches!(transport, Some(ModbusTransport::Rtu(_)));
        if !is_rtu {
            for (key, span) in [
                ("baud_rate", raw.baud_rate.as_ref().map(Spanned::span)),
                ("parity", raw.parity.as_ref().map(Spanned::span)),
                ("data_bits", raw.data_bits.as_ref().map(Spanned::span)),
                ("stop_bits", raw.stop_bits.as_ref().map(Spanned::span)),
            ] {
                if span.is_some() && transport.is_some() {
                    self.error(
                        span,
                        format!("device `{name}`: {key} applies to rtu:// addresses only"),
                    );
                }
            }
        }
        let unit_id = match &raw.unit_id {
            None => 1,
            Some(u) => match u8::try_from(*u.get_ref()) {
                Ok(v) if !is_rtu || (1..=247).contains(&v) => v,
                _ => {
                    let range = if is_rtu {
                        "1 to 247 on RTU"
                    } else {
                        "0 to 255"
                    };
                    self.error(
                        Some(u.span()),
                        format!("device `{name}`: unit_id must be {range}"),
                    );
                    1
                }
            },
        };
        let mut points = Vec::new();
        for t in &raw.tags {
            if let Some(p) = self.modbus_point(t, name) {
                points.push(p);
            }
        }
        let limits = PlanLimits {
            max_gap_registers: raw
                .max_gap
                .unwrap_or(PlanLimits::default().max_gap_registers),
            ..PlanLimits::default()
        };
        if self.problems.len() != before {
            return None;
        }
        Some(ModbusDevice {
            transport: transport?,
            unit_id,
            points,
            limits,
        })
    }

    fn modbus_transport(&mut self, raw: &RawDevice, name: &str) -> Option<ModbusTransport> {
        let addr = raw.address.get_ref().trim();
        let span = Some(raw.address.span());
        if let Some(path) = addr.strip_prefix("rtu:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                self.error(span, format!("device `{name}`: address {addr:?} names no serial port, e.g. \"rtu:///dev/ttyUSB0\""));
                return None;
            }
            let mut s = SerialSettings {
                path: path.to_owned(),
                ..SerialSettings::default()
            };
            if let Some(b) = &raw.baud_rate {
                s.baud_rate = *b.get_ref();
                if s.baud_rate == 0 {
                    self.error(
                        Some(b.span()),
                        format!("device `{name}`: baud_rate must be more than 0"),
                    );
                }
            }
            if let Some(p) = &raw.parity {
                match p.get_ref().parse::<Parity>() {
                    Ok(v) => s.parity = v,
                    Err(_) => self.error(
                        Some(p.span()),
                        format!("device `{name}`: parity must be \"none\", \"even\" or \"odd\""),
                    ),
                }
            }
            if let Some(d) = &raw.data_bits {
                s.data_bits = *d.get_ref();
                if !(5..=8).contains(&s.data_bits) {
                    self.error(
                        Some(d.span()),
                        format!("device `{name}`: data_bits must be 5 to 8"),
                    );
                }
            }
            if let Some(d) = &raw.stop_bits {
                s.stop_bits = *d.get_ref();
                if !(1..=2).contains(&s.stop_bits) {
                    self.error(
                        Some(d.span()),
                        format!("device `{name}`: stop_bits must be 1 or 2"),
                    );
                }
            }
            return Some(ModbusTransport::Rtu(s));
        }
        match parse_host_port(addr.strip_prefix("tcp://").unwrap_or(addr), MODBUS_TCP_PORT) {
            Ok((host, port)) => Some(ModbusTransport::Tcp { host, port }),
            Err(why) => {
                self.error(span, format!("device `{name}`: bad address {addr:?}: {why}; expected \"tcp://HOST[:PORT]\" or \"rtu:///dev/ttyX\""));
                None
            }
        }
    }

    fn modbus_point(&mut self, t: &RawTag, device: &str) -> Option<Point> {
        let tag = t.name.get_ref();
        let address: Address = match t.address.get_ref().parse() {
            Ok(a) => a,
            Err(e) => {
                self.error(
                    Some(t.address.span()),
                    format!("device `{device}`, tag `{tag}`: {e}"),
                );
                return None;
            }
        };
        let is_bits = matches!(address.table, Table::Coil | Table::DiscreteInput);
        let data_type = match &t.data_type {
            None if is_bits => DataType::Bool,
            None => DataType::U16,
            Some(s) => match s.get_ref().parse::<DataType>() {
                Ok(d) => d,
                Err(e) => {
                    self.error(
                        Some(s.span()),
                        format!("device `{device}`, tag `{tag}`: {e}"),
                    );
                    return None;
                }
            },
        };
        let byte_order = match &t.byte_order {
            None => ByteOrder::default(),
            Some(s) => match s.get_ref().parse() {
                Ok(v) => v,
                Err(_) => {
                    self.error(Some(s.span()), format!("device `{device}`, tag `{tag}`: byte_order must be \"big\" or \"little\""));
                    return None;
                }
            },
        };
        let word_order = match &t.word_order {
            None => WordOrder::default(),
            Some(s) => match s.get_ref().parse() {
                Ok(v) => v,
                Err(_) => {
                    self.error(
                        Some(s.span()),
                        format!("device `{device}`, tag `{tag}`: word_order must be \"high_first\" or \"low_first\""),
                    );
                    return None;
                }
            },
        };
        let point = Point {
            address,
            encoding: Encoding {
                data_type,
                byte_order,
                word_order,
            },
        };
        if let Err(e) = point.validate() {
            let span = t.data_type.as_ref().map_or(t.address.span(), Spanned::span);
            self.error(Some(span), format!("device `{device}`, tag `{tag}`: {e}"));
            return None;
        }
        Some(point)
    }
}

/// Splits `host[:port]` (IPv6 in brackets) and checks both parts.
/// `"/plcdiag/"` → `"/plcdiag"`, `"/"` or `""` → `""`; must start with `/` and use only URL
/// path characters.
pub fn normalize_base_path(s: &str) -> Result<String, String> {
    let trimmed = s.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if !trimmed.starts_with('/') {
        return Err(format!("{s:?} must start with `/`, e.g. \"/plcdiag\""));
    }
    if !trimmed
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/-_.~".contains(c))
        || trimmed.contains("//")
    {
        return Err(format!(
            "{s:?} may only contain letters, digits and - _ . ~ between single slashes"
        ));
    }
    Ok(trimmed.to_owned())
}

pub(crate) fn parse_host_port(s: &str, default_port: u16) -> Result<(String, u16), String> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok((sa.ip().to_string(), sa.port()));
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or("unclosed `[`")?;
        match after.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if after.is_empty() => (h, None),
            None => return Err("unexpected text after `]`".into()),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    if host.contains(|c: char| c.is_whitespace() || c == '/' || c == '?' || c == '#' || c == '@') {
        return Err(format!("`{host}` is not a host name"));
    }
    let port = match port {
        None => default_port,
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| format!("`{p}` is not a port number (1-65535)"))?,
    };
    if port == 0 {
        return Err("port 0 is not a port a device listens on".into());
    }
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests;
