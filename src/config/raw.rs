//! The configuration file as written: serde structs that mirror the TOML, one field per key.
//!
//! Every key is documented here; `docs/CONFIG.md` is written from these comments. Values that
//! need checking keep their position (`Spanned`) so errors can point at line and column.
//! Validation into the types the gateway runs on is in `config/mod.rs`.

use serde::Deserialize;
use toml::Spanned;

/// `[gateway]`: settings of the gateway process itself.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGateway {
    /// Address and port of the HTTP API, e.g. `"127.0.0.1:8080"` (the default).
    pub listen: Option<Spanned<String>>,
    /// SQLite history file; a relative path is taken from the config file's folder.
    /// Default `"plcdiag.db"`.
    pub database: Option<Spanned<String>>,
    /// How long history is kept, e.g. `"30d"` (the default), `"12h"`.
    pub retention: Option<Spanned<String>>,
    /// The address people use to reach this gateway's UI, e.g. `"http://gw-01:8080"`; links
    /// in notifications point there. Default: none (notifications carry no links).
    pub external_url: Option<Spanned<String>>,
    /// Serve the UI and API under this path, e.g. `"/plcdiag"` behind a reverse proxy that
    /// forwards `https://host/plcdiag/...` unchanged. Default: none (at the root).
    pub base_path: Option<Spanned<String>>,
    /// How long a client may take to send a request's headers, and how long an idle kept-alive
    /// connection stays open. Default `"10s"`. Live event streams are not affected.
    pub header_timeout: Option<Spanned<String>>,
    /// How long a request body may pause between two parts. Default `"30s"`.
    pub body_timeout: Option<Spanned<String>>,
    /// Most HTTP connections open at once; more are closed at once (counted in
    /// `plcdiag_http_connections_refused_total`). Default 512; keep it below the process's
    /// open-file limit.
    pub max_connections: Option<Spanned<u32>>,
}

/// `[defaults]`: values every device gets unless it sets its own.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    /// Time between the starts of two polls. Default `"1s"`.
    pub interval: Option<Spanned<String>>,
    /// How long to wait for a connection or an answer. Default `"500ms"`.
    pub timeout: Option<Spanned<String>>,
    /// Consecutive failed polls after which a device is demoted (taken off-scan); 0 disables.
    /// Default 3.
    pub demote_after: Option<u32>,
    /// How long a demoted device stays off-scan before it is probed again. Default `"30s"`.
    pub demote_for: Option<Spanned<String>>,
    /// A tag value is stored at least this often even when it does not change. Default `"60s"`.
    pub max_interval: Option<Spanned<String>>,
}

/// The device kinds this build can poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawKind {
    /// Modbus TCP or RTU.
    Modbus,
    /// Siemens S7-300/400 (and S7-1200/1500 with PUT/GET) over ISO-on-TCP.
    S7,
    /// Mitsubishi MELSEC over MC protocol (SLMP), with the CC-Link masters it hosts.
    Melsec,
}

/// `[[devices]]`: one polled device.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDevice {
    /// Unique name, used in the API, the UI and the history.
    pub name: Spanned<String>,
    /// Device kind: `"modbus"`, `"s7"` or `"melsec"`.
    pub kind: Spanned<RawKind>,
    /// Where the device is. Modbus: `"tcp://HOST[:PORT]"` (port 502 by default), `"HOST:PORT"`,
    /// or `"rtu:///dev/ttyUSB0"` for a serial line. S7: `"HOST[:PORT]"` (port 102 by default).
    /// MELSEC: `"HOST:PORT"`, the port set for MC protocol in the PLC's Ethernet parameters
    /// (there is no standard port, so it must be given).
    pub address: Spanned<String>,
    /// `false` keeps the device in the file but does not poll it. Default `true`.
    pub enabled: Option<bool>,
    /// Overrides `defaults.interval`.
    pub interval: Option<Spanned<String>>,
    /// Overrides `defaults.timeout`.
    pub timeout: Option<Spanned<String>>,
    /// Overrides `defaults.demote_after`.
    pub demote_after: Option<u32>,
    /// Overrides `defaults.demote_for`.
    pub demote_for: Option<Spanned<String>>,
    /// Modbus unit identifier (slave address), 0 to 255 (1 to 247 on RTU). Default 1.
    pub unit_id: Option<Spanned<i64>>,
    /// Modbus RTU: baud rate. Default 9600.
    pub baud_rate: Option<Spanned<u32>>,
    /// Modbus RTU: `"none"` (default), `"even"` or `"odd"`.
    pub parity: Option<Spanned<String>>,
    /// Modbus RTU: data bits, 5 to 8. Default 8.
    pub data_bits: Option<Spanned<u8>>,
    /// Modbus RTU: stop bits, 1 or 2. Default 1.
    pub stop_bits: Option<Spanned<u8>>,
    /// Modbus: largest hole (in registers) the read planner reads through to merge two reads
    /// into one request. Default 16; 0 merges only adjacent addresses.
    pub max_gap: Option<u16>,
    /// S7: rack of the CPU. Default 0.
    pub rack: Option<Spanned<u8>>,
    /// S7: slot of the CPU. Default 2 (S7-300); S7-1200/1500: 0 or 1; S7-400: see the rack.
    pub slot: Option<Spanned<u8>>,
    /// S7: connection type `"op"` (default, leaves the PG connection free), `"pg"` or `"basic"`.
    pub connection_type: Option<Spanned<String>>,
    /// S7: explicit local TSAP (e.g. `0x0100`), for LOGO! and S7-200.
    pub local_tsap: Option<Spanned<u16>>,
    /// S7: explicit remote TSAP (e.g. `0x0200`); overrides rack, slot and connection type.
    pub remote_tsap: Option<Spanned<u16>>,
    /// S7: PDU size to ask for (the CPU may answer less): 240 to 960. Default 480.
    pub pdu_size: Option<Spanned<u16>>,
    /// S7: read the diagnostic buffer (incrementally: only when its newest entry changed).
    /// Default `true`.
    pub diagnostics: Option<bool>,
    /// S7: how often the slower status (cycle times, protection, module status) is read.
    /// MELSEC: how often the link scan time is stored even when the station map is unchanged.
    /// Default `"10s"`.
    pub status_interval: Option<Spanned<String>>,
    /// MELSEC: `"tcp"` (default) or `"udp"`.
    pub transport: Option<Spanned<String>>,
    /// MELSEC: `"3e"` (default) or `"4e"` frames.
    pub frame: Option<Spanned<String>>,
    /// MELSEC: CPU series `"q"` (default), `"l"` or `"iq-r"` (device codes, error code format).
    pub series: Option<Spanned<String>>,
    /// MELSEC: network number of the route. Default 0 (the connected station).
    pub network: Option<u8>,
    /// MELSEC: PC number of the route. Default 0xFF (the connected station).
    pub pc_number: Option<u8>,
    /// MELSEC: request destination module I/O number. Default 0x03FF (the own CPU).
    pub module_io: Option<u16>,
    /// MELSEC: the CC-Link masters this PLC hosts.
    #[serde(default)]
    pub cclink: Vec<RawCcLink>,
    /// The values to read.
    #[serde(default)]
    pub tags: Vec<RawTag>,
}

/// `[[devices.tags]]`: one value read from a device.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTag {
    /// Name, unique within the device.
    pub name: Spanned<String>,
    /// Where the value is. Modbus: `"hr:100"` (holding register, 0-based), `"ir:5"` (input
    /// register), `"coil:3"`, `"di:7"` (discrete input), or Modicon notation `"40101"`.
    /// S7 (STEP 7 syntax, type after a colon where the width allows several): `"DB10.DBD4:REAL"`,
    /// `"DB10.DBX2.1"`, `"MW20:INT"`, `"M12.3"`, `"IW64"`, `"QB3"`, `"T5"`, `"C7"`.
    pub address: Spanned<String>,
    /// Modbus data type: `bool`, `u16` (default for registers), `i16`, `u32`, `i32`, `f32`,
    /// `u64`, `i64`, `f64`. Coils and discrete inputs are always `bool`. (S7 tags carry their
    /// type in the address.)
    #[serde(rename = "type")]
    pub data_type: Option<Spanned<String>>,
    /// Order of the two bytes in each register: `"big"` (default, the Modbus standard) or `"little"`.
    pub byte_order: Option<Spanned<String>>,
    /// Order of the registers of a 32/64-bit value: `"high_first"` (default) or `"low_first"`.
    pub word_order: Option<Spanned<String>>,
    /// Multiplier applied to the raw value: value = raw * scale + offset. Default 1.
    pub scale: Option<f64>,
    /// Added after scaling. Default 0.
    pub offset: Option<f64>,
    /// Engineering unit shown next to the value, e.g. `"°C"`.
    pub unit: Option<String>,
    /// History: a new sample is stored only when the value moved more than this (absolute,
    /// in engineering units) since the last stored one. Default 0: every change is stored.
    pub deadband: Option<Spanned<f64>>,
    /// History: store a sample at least this often even without change. Overrides
    /// `defaults.max_interval`.
    pub max_interval: Option<Spanned<String>>,
}

/// `[[devices.cclink]]`: a CC-Link master module hosted by a MELSEC PLC, read through the link
/// special relays (SB) and registers (SW) that the PLC refreshes into its own devices.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCcLink {
    /// Name of the network, e.g. `"line 3"`.
    pub name: Spanned<String>,
    /// `"cc-link"` (QJ61BT11N-style master, default) or `"cc-link-ie-field"`.
    pub kind: Option<Spanned<String>>,
    /// First SB device the master's link special relays are refreshed to (e.g. `0x0000` for
    /// SB0000, `0x0200` for SB0200), as set in the PLC's network parameters. Default 0.
    pub sb_base: Option<u32>,
    /// First SW device the master's link special registers are refreshed to. Default 0.
    pub sw_base: Option<u32>,
    /// The stations on the network. Empty: every station number the master reports.
    #[serde(default)]
    pub stations: Vec<RawStation>,
    /// Site overrides of SB/SW offsets (relative to the bases), for the entries the reference
    /// marks unconfirmed: see docs/CONFIG.md for the keys and defaults.
    pub map: Option<RawRegisterMap>,
}

/// `[[devices.cclink.stations]]`: one slave station.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStation {
    /// Station number, 1 to 64 (CC-Link IE Field: 1 to 120).
    pub number: Spanned<u8>,
    /// Station numbers the device occupies, 1 to 4. Default 1.
    pub occupies: Option<Spanned<u8>>,
    /// Name shown in the station map, e.g. `"valve terminal V3"`.
    pub name: Option<String>,
    /// Model, e.g. `"AJ65SBTB1-16D"`, shown with the station in the map and its events.
    pub model: Option<String>,
    /// A reserved station: configured in the master's parameters but not installed yet.
    pub reserved: Option<bool>,
}

/// `[devices.cclink.map]`: SB/SW offsets relative to the refresh bases. Unset keys keep the
/// defaults of the network kind.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegisterMap {
    /// SW offset of the data-link status bitmap (1 = station faulty). CC-Link: 0x80 (confirmed).
    pub data_link_status: Option<u32>,
    /// SW offset of the watchdog-error bitmap.
    pub watchdog_status: Option<u32>,
    /// SW offset of the fuse-blown bitmap.
    pub fuse_status: Option<u32>,
    /// SW offset of the switch-changed bitmap.
    pub switch_change_status: Option<u32>,
    /// SW offset of the station-number-overlap bitmap.
    pub overlap_status: Option<u32>,
    /// SW offset of the loading/parameter-mismatch bitmap.
    pub parameter_mismatch_status: Option<u32>,
    /// SW offset of the reserved-station bitmap.
    pub reserved_stations: Option<u32>,
    /// SW offset of the error-invalid-station bitmap.
    pub error_invalid_stations: Option<u32>,
    /// SW offset of the line status word.
    pub line_status_word: Option<u32>,
    /// SW offset of the current link scan time.
    pub link_scan_current: Option<u32>,
    /// SW offset of the minimum link scan time.
    pub link_scan_min: Option<u32>,
    /// SW offset of the maximum link scan time.
    pub link_scan_max: Option<u32>,
    /// SW offset of the first retry counter.
    pub retry_counters: Option<u32>,
}

/// `[[rules]]`: one alarm rule. It applies to every device its `device`/`devices` name, giving
/// each an alarm point of its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// Unique name; the alarm's name in the API, the journal and notifications.
    pub name: Spanned<String>,
    /// The device it watches: a name or a pattern with `*` (`"press-*"`).
    pub device: Option<Spanned<String>>,
    /// Several devices (names or patterns). Without `device` and `devices`: every device.
    pub devices: Option<Spanned<Vec<String>>>,
    /// `"condition"` (default), `"reaction"` (when `trigger` becomes true, `expect` must follow
    /// within `within`) or `"interlock"` (while `when` is true, every `require` must hold).
    pub kind: Option<Spanned<String>>,
    /// The condition (kind condition) or the action whose interlocks are watched (kind
    /// interlock), in the condition language of docs/RULES.md, e.g. `"temperature > 90"`.
    pub when: Option<Spanned<String>>,
    /// Reaction monitor: what starts the watch, e.g. `"motor_m1_start"`.
    pub trigger: Option<Spanned<String>>,
    /// Reaction monitor: what must follow, e.g. `"motor_m1_running"`.
    pub expect: Option<Spanned<String>>,
    /// Reaction monitor: how long `expect` may take, e.g. `"5s"`.
    pub within: Option<Spanned<String>>,
    /// Interlock monitor: conditions that must all hold while `when` is true.
    pub require: Option<Vec<Spanned<String>>>,
    /// `"low"`, `"medium"` (default), `"high"` or `"critical"`.
    pub priority: Option<Spanned<String>>,
    /// Text of the alarm, with `{placeholders}` filled when it is raised: `{device}`, any tag
    /// name, `{health}`, `{cpu_mode}`, `{cpu_error}`, `{event}`, `{stations}`,
    /// `{link_scan_ms}`, `{condition}`, `{failed}`. Default: the rule's name and its condition.
    pub message: Option<Spanned<String>>,
    /// The condition must hold this long before the alarm is raised. Default `"0s"`.
    pub on_delay: Option<Spanned<String>>,
    /// The condition must be false this long before the alarm clears. Default `"0s"`.
    pub off_delay: Option<Spanned<String>>,
    /// Analog limits (`>`, `<`, `in`): once true, a limit comparison stays true until the value
    /// is back past the limit by this much (engineering units). Default 0.
    pub deadband: Option<Spanned<f64>>,
    /// The alarm stays (latched) after its condition is gone, until an operator acknowledges
    /// it. Default `false`.
    pub latch: Option<bool>,
    /// Acknowledgement: `"manual"` (default), `"auto"` (when the condition clears) or `"none"`.
    pub ack: Option<Spanned<String>>,
    /// Announce the alarm again when it is still unacknowledged after this long, e.g. `"30m"`.
    pub re_alarm: Option<Spanned<String>>,
    /// Whether operators may shelve it. Default `true`.
    pub shelving: Option<bool>,
    /// Longest shelving an operator may ask for. Default `"8h"`.
    pub max_shelve: Option<Spanned<String>>,
    /// Removed from service (maintenance): the rule is checked but never raises. Default `false`.
    pub out_of_service: Option<bool>,
    /// Suppress the alarm while its device is offline or demoted (one communication alarm
    /// instead of one per stale value). Default: `true` unless the condition itself looks at
    /// the device's health.
    pub suppress_when_offline: Option<bool>,
    /// Offset of the schedule's times from UTC, e.g. `"+08:00"`. Default: the gateway's time zone.
    pub utc_offset: Option<Spanned<String>>,
    /// Time windows in which the rule runs; outside them its alarms are suppressed. None: always.
    #[serde(default)]
    pub schedule: Vec<RawWindow>,
}

/// `[[rules.schedule]]`: one weekly time window.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    /// Days it starts on: `["mon-fri"]`, `["sat", "sun"]`, `["daily"]` (the default).
    #[serde(default)]
    pub days: Vec<String>,
    /// Start, `"HH:MM"`.
    pub from: Spanned<String>,
    /// End, `"HH:MM"`; not after `from` means the next day (a night shift).
    pub to: Spanned<String>,
}

/// `[[receivers]]`: where alarm notifications go.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReceiver {
    /// Unique name, used by `plcdiag notify test NAME` and in the outbox.
    pub name: Spanned<String>,
    /// `"webhook"` (Prometheus Alertmanager v4 JSON), `"dingtalk"`, `"wecom"`, `"feishu"`
    /// (also Lark) or `"slack"`.
    pub kind: Spanned<String>,
    /// The URL to POST to. Robot URLs carry their access token: prefer `url_env`.
    pub url: Option<Spanned<String>>,
    /// Name of an environment variable that holds the URL.
    pub url_env: Option<Spanned<String>>,
    /// Signing secret: webhook HMAC-SHA256 header, DingTalk and Feishu signatures.
    pub secret: Option<Spanned<String>>,
    /// Name of an environment variable that holds the signing secret.
    pub secret_env: Option<Spanned<String>>,
    /// Only alarms of these priorities. Default: all.
    pub priorities: Option<Spanned<Vec<String>>>,
    /// Only alarms of these devices (names or patterns with `*`). Default: all.
    pub devices: Option<Vec<String>>,
    /// Only these transitions (`raised`, `cleared`, `acknowledged`, `reset`, `re_alarmed`,
    /// `shelved`, `unshelved`, `shelve_expired`, `suppressed`, `unsuppressed`). Default: all.
    pub transitions: Option<Spanned<Vec<String>>>,
    /// Send `cleared` and `reset` too. Default `true`.
    pub send_resolved: Option<bool>,
    /// Most requests per minute (the chat robots block senders above their limit). Default by
    /// kind: dingtalk 20, wecom 20, feishu 100, slack 60, webhook 600. Notices that wait for the
    /// limit are sent together as one digest, never dropped.
    pub rate_per_minute: Option<u32>,
    /// Wait this long after the first pending notice to collect others into the same request.
    /// Default: webhook `"0s"`, chat robots `"2s"`.
    pub group_wait: Option<Spanned<String>>,
    /// Most notices in one request. Default 100.
    pub max_batch: Option<usize>,
    /// Per-request timeout. Default `"10s"`.
    pub timeout: Option<Spanned<String>>,
    /// Give up on a notice this long after it was made, while the receiver keeps failing: it
    /// is dead-lettered (listed on the alarms page and in the API, counted, logged) so that
    /// the notices after it go out. `"0s"` never gives up. Default `"24h"`.
    pub max_age: Option<Spanned<String>>,
    /// Give up on a notice after this many failed attempts. Default 0: no limit by count.
    pub max_attempts: Option<u32>,
}

/// `[auth]`: who may see the UI and the API and who may act on alarms. Without any user and
/// token everything is open and the gateway listens only on loopback.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// API tokens for machines and scripts (`Authorization: Bearer TOKEN`).
    #[serde(default)]
    pub tokens: Vec<RawToken>,
    /// People who log in to the UI with a name and a password.
    #[serde(default)]
    pub users: Vec<RawUser>,
    /// Believe a reverse proxy's `X-Forwarded-Proto` and `X-Forwarded-For` headers. Default
    /// false; set it only when the gateway is reachable through the proxy alone.
    pub trust_proxy: Option<bool>,
}

/// `[[auth.users]]`: one person who logs in.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUser {
    /// Login name; recorded as the user of their acknowledgements and shelvings.
    pub name: Spanned<String>,
    /// argon2id hash of the password as a PHC string, printed by `plcdiag passwd`.
    pub password_hash: Spanned<String>,
    /// `"viewer"` (read only), `"operator"` (may acknowledge and shelve) or `"admin"`.
    pub role: Option<Spanned<String>>,
}

/// `[[auth.tokens]]`: one bearer token.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawToken {
    /// Who uses it; recorded as the user of acknowledgements made with it.
    pub name: Spanned<String>,
    /// The token itself (at least 16 characters). Prefer `token_env`.
    pub token: Option<Spanned<String>>,
    /// Name of an environment variable that holds the token.
    pub token_env: Option<Spanned<String>>,
    /// `"viewer"` (read only), `"operator"` (default: may acknowledge and shelve) or `"admin"`.
    pub role: Option<Spanned<String>>,
}
