//! The CC-Link master model: configuration ([`CcLinkMaster`], [`StationConfig`],
//! [`RegisterMap`]), the decoded [`NetworkStatus`] and the troubleshooting [`diagnose`]
//! (`melsec-cclink.md` §2).
//!
//! The remote stations have no MC endpoint; everything comes from the master PLC's link
//! special registers (SW) and relays (SB), refreshed into the CPU at the master's configured
//! bases (§2.2). [`CcLinkMaster::sw_block`] and [`CcLinkMaster::sb_block`] give the (at most
//! two) word reads that cover every offset of the [`RegisterMap`];
//! [`NetworkStatus::decode`] is a pure, total function of the words read.
//!
//! Health rule (§2.4 \[rec\]): a device is faulty if **any** bit of its occupied station range
//! is set in the data-link bitmap (whether a multi-station device sets only its head bit or
//! all of them is unconfirmed, §8.1, so both decode the same); reserved and error-invalid
//! stations are masked (state [`StationState::Reserved`] / [`StationState::ErrorInvalid`],
//! every fault flag cleared).

mod diagnose;
mod map;

use std::ops::RangeInclusive;

pub use diagnose::{Finding, FindingKind, diagnose};
pub use map::{LinkScanMap, NetworkKind, ParseNetworkKindError, RegisterMap};

/// Largest word count of one batch read (`melsec-cclink.md` §1.3).
pub const MAX_BLOCK_WORDS: u32 = 960;

/// One configured station (device) of the network.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StationConfig {
    /// Station number (1..=64 on CC-Link; 1..=120 on IE Field).
    pub number: u8,
    /// Occupied station numbers (1..=4; an AJ65SBTB1 occupies 1).
    pub occupies: u8,
    /// Name shown to the operator.
    pub name: String,
    /// Model, e.g. `AJ65SBTB1-16D`.
    pub model: Option<String>,
    /// Configured as reserved (masked like a reserved bit).
    pub reserved: bool,
}

impl StationConfig {
    /// A one-station device.
    pub fn new(number: u8, name: impl Into<String>) -> StationConfig {
        StationConfig {
            number,
            occupies: 1,
            name: name.into(),
            model: None,
            reserved: false,
        }
    }

    /// The occupied station numbers (at least the head number).
    pub fn range(&self) -> RangeInclusive<u16> {
        let head = u16::from(self.number);
        head..=head + u16::from(self.occupies.max(1)) - 1
    }
}

/// One CC-Link master module and where its SB/SW are refreshed to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CcLinkMaster {
    /// Name shown to the operator.
    pub name: String,
    /// Which numbering the module uses.
    pub kind: NetworkKind,
    /// CPU SB number that the module's SB0000 is refreshed to (commonly 0 for the first
    /// module; per project, §2.2 — the default window for CC-Link modules is *unconfirmed:
    /// verify against SH(NA)-080394E*).
    pub sb_base: u32,
    /// CPU SW number that the module's SW0000 is refreshed to (see `sb_base`).
    pub sw_base: u32,
    /// Configured stations. Empty: every station number that any bitmap reports is listed,
    /// as a one-station device named `station n` (healthy stations are then unknown).
    pub stations: Vec<StationConfig>,
    /// The register offsets (defaults per kind; override per site).
    pub map: RegisterMap,
}

impl CcLinkMaster {
    /// A master with the default map for `kind`, bases 0 and no station list.
    pub fn new(name: impl Into<String>, kind: NetworkKind) -> CcLinkMaster {
        CcLinkMaster {
            name: name.into(),
            kind,
            sb_base: 0,
            sw_base: 0,
            stations: Vec::new(),
            map: RegisterMap::for_kind(kind),
        }
    }

    /// The SW word read: absolute first SW number and word count covering every SW offset of
    /// the map (SW006D..SW00C8 = 92 words for the CC-Link defaults).
    pub fn sw_block(&self) -> (u32, u32) {
        let ranges = self.map.sw_ranges();
        let lo = ranges.iter().map(|r| r.0).min().unwrap_or(0);
        let hi = ranges
            .iter()
            .map(|r| r.0.saturating_add(r.1))
            .max()
            .unwrap_or(lo);
        (self.sw_base.saturating_add(lo), hi.saturating_sub(lo))
    }

    /// The SB read (in word units, 16 relays per word, head = LSB, §1.5): absolute first SB
    /// number (the lowest used offset rounded down to a multiple of 16) and word count, or
    /// `None` if the map uses no SB.
    pub fn sb_block(&self) -> Option<(u32, u32)> {
        let bits = self.map.sb_bits();
        let lo = bits.iter().min()? & !0xF;
        let hi = bits.iter().max()?;
        Some((self.sb_base.saturating_add(lo), (hi - lo) / 16 + 1))
    }
}

/// Link scan times in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkScan {
    /// Current.
    pub current_ms: u16,
    /// Minimum.
    pub min_ms: u16,
    /// Maximum.
    pub max_ms: u16,
}

/// A station's state after masking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StationState {
    /// No fault bit set.
    Ok,
    /// A fault bit is set (data link, watchdog, fuse, overlap or parameter mismatch).
    Faulty,
    /// Reserved (configured or by the reserved-station bitmap): faults masked.
    Reserved,
    /// Error-invalid (or temporarily error-invalid): faults masked.
    ErrorInvalid,
}

/// One device's decoded status. Flags are "any bit of the occupied range set".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StationStatus {
    /// Head station number.
    pub number: u8,
    /// Occupied stations.
    pub occupies: u8,
    /// Name.
    pub name: String,
    /// Model.
    pub model: Option<String>,
    /// State after masking.
    pub state: StationState,
    /// Data-link status bit (CC-Link SW0080–83, confirmed; on IE Field also the baton-pass
    /// bit).
    pub data_link_error: bool,
    /// Watchdog-timer error bit (unconfirmed map).
    pub watchdog_error: bool,
    /// Fuse-blown bit (unconfirmed map).
    pub fuse_blown: bool,
    /// Switch-change bit (unconfirmed map).
    pub switch_changed: bool,
    /// Station number overlap bit (unconfirmed map).
    pub number_overlap: bool,
    /// Parameter / loading consistency bit (unconfirmed map).
    pub parameter_mismatch: bool,
}

impl StationStatus {
    /// True if the station is not exchanging data (data-link or watchdog error).
    pub fn is_down(&self) -> bool {
        self.state == StationState::Faulty && (self.data_link_error || self.watchdog_error)
    }

    /// True if masked (reserved or error-invalid).
    pub fn is_masked(&self) -> bool {
        matches!(
            self.state,
            StationState::Reserved | StationState::ErrorInvalid
        )
    }
}

/// The master's network status.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NetworkStatus {
    /// Line normal: line status word 0 and line status relay OFF (only the configured ones;
    /// true if the map has neither).
    pub line_ok: bool,
    /// Link scan times, if mapped.
    pub link_scan: Option<LinkScan>,
    /// Retry counters as `(index from the first counter, value)`: index 0 = SW00C0 with the
    /// CC-Link defaults. A rising count means a line quality problem (§2.4).
    pub retries: Vec<(u8, u16)>,
    /// One entry per configured device (or per reported station number).
    pub stations: Vec<StationStatus>,
    /// Troubleshooting findings from [`diagnose`].
    pub findings: Vec<Finding>,
}

/// Words read from the master: SW words from `sw_first`, SB words (16 relays each) from
/// `sb_first`. Absent offsets read as 0 / OFF.
struct Registers<'a> {
    sw_first: u32,
    sw: &'a [u16],
    sb_first: u32,
    sb: &'a [u16],
}

impl Registers<'_> {
    fn sw(&self, abs: u32) -> Option<u16> {
        let i = abs.checked_sub(self.sw_first)?;
        self.sw.get(usize::try_from(i).ok()?).copied()
    }

    fn sb(&self, abs: u32) -> Option<bool> {
        let i = abs.checked_sub(self.sb_first)?;
        let w = self.sb.get(usize::try_from(i / 16).ok()?)?;
        Some(w & (1 << (i % 16)) != 0)
    }

    /// Bit for station `n` (1-based) of the bitmap at absolute SW `first`.
    fn station_bit(&self, first: u32, n: u16) -> bool {
        if n == 0 {
            return false;
        }
        let n = u32::from(n - 1);
        self.sw(first.saturating_add(n / 16))
            .is_some_and(|w| w & (1 << (n % 16)) != 0)
    }

    fn any_bit(&self, first: Option<u32>, range: &RangeInclusive<u16>) -> bool {
        first.is_some_and(|f| range.clone().any(|n| self.station_bit(f, n)))
    }
}

impl NetworkStatus {
    /// Decodes the master's words (pure and total: any words give a status). `sw_first` /
    /// `sb_first` are the absolute numbers of the first word read (see
    /// [`CcLinkMaster::sw_block`], [`CcLinkMaster::sb_block`]).
    pub fn decode(
        master: &CcLinkMaster,
        sw_first: u32,
        sw: &[u16],
        sb_first: u32,
        sb: &[u16],
    ) -> NetworkStatus {
        let regs = Registers {
            sw_first,
            sw,
            sb_first,
            sb,
        };
        let map = &master.map;
        let swb = master.sw_base;
        let abs = |o: Option<u32>| o.map(|o| swb.saturating_add(o));

        let line_word_ok = abs(map.line_status_word).is_none_or(|a| regs.sw(a).unwrap_or(0) == 0);
        let line_bit_ok = map
            .line_status_bit
            .is_none_or(|o| !regs.sb(master.sb_base.saturating_add(o)).unwrap_or(false));
        let line_ok = line_word_ok && line_bit_ok;

        let link_scan = map.link_scan.and_then(|s| {
            Some(LinkScan {
                current_ms: regs.sw(swb.saturating_add(s.current))?,
                min_ms: regs.sw(swb.saturating_add(s.min))?,
                max_ms: regs.sw(swb.saturating_add(s.max))?,
            })
        });

        let retries = match map.retry_counters {
            Some(first) => (0..map.retry_counter_count)
                .filter_map(|i| {
                    regs.sw(swb.saturating_add(first).saturating_add(u32::from(i)))
                        .map(|v| (i, v))
                })
                .collect(),
            None => Vec::new(),
        };

        let configs: Vec<StationConfig> = if master.stations.is_empty() {
            reported_stations(&regs, master)
        } else {
            master.stations.clone()
        };

        let dl = Some(swb.saturating_add(map.data_link_status));
        let stations = configs
            .iter()
            .map(|c| {
                let r = c.range();
                let reserved = c.reserved || regs.any_bit(abs(map.reserved_stations), &r);
                let invalid = regs.any_bit(abs(map.error_invalid_stations), &r)
                    || regs.any_bit(abs(map.temporary_error_invalid_stations), &r);
                let mut s = StationStatus {
                    number: c.number,
                    occupies: c.occupies.max(1),
                    name: c.name.clone(),
                    model: c.model.clone(),
                    state: StationState::Ok,
                    data_link_error: regs.any_bit(dl, &r)
                        || regs.any_bit(abs(map.baton_pass_status), &r),
                    watchdog_error: regs.any_bit(abs(map.watchdog_status), &r),
                    fuse_blown: regs.any_bit(abs(map.fuse_status), &r),
                    switch_changed: regs.any_bit(abs(map.switch_change_status), &r),
                    number_overlap: regs.any_bit(abs(map.overlap_status), &r),
                    parameter_mismatch: regs.any_bit(abs(map.parameter_mismatch_status), &r),
                };
                if reserved || invalid {
                    s.state = if reserved {
                        StationState::Reserved
                    } else {
                        StationState::ErrorInvalid
                    };
                    s.data_link_error = false;
                    s.watchdog_error = false;
                    s.fuse_blown = false;
                    s.switch_changed = false;
                    s.number_overlap = false;
                    s.parameter_mismatch = false;
                } else if s.data_link_error
                    || s.watchdog_error
                    || s.fuse_blown
                    || s.number_overlap
                    || s.parameter_mismatch
                {
                    s.state = StationState::Faulty;
                }
                s
            })
            .collect::<Vec<_>>();
        let findings = diagnose(&stations, line_ok, !master.stations.is_empty());
        NetworkStatus {
            line_ok,
            link_scan,
            retries,
            stations,
            findings,
        }
    }
}

/// With no configured stations: every station number with a bit in any station bitmap.
fn reported_stations(regs: &Registers<'_>, master: &CcLinkMaster) -> Vec<StationConfig> {
    let map = &master.map;
    let swb = master.sw_base;
    let maps: Vec<u32> = [
        Some(map.data_link_status),
        map.watchdog_status,
        map.fuse_status,
        map.switch_change_status,
        map.overlap_status,
        map.parameter_mismatch_status,
        map.reserved_stations,
        map.error_invalid_stations,
        map.temporary_error_invalid_stations,
    ]
    .into_iter()
    .flatten()
    .map(|o| swb.saturating_add(o))
    .collect();
    (1..=u16::from(map.max_stations))
        .filter(|n| maps.iter().any(|m| regs.station_bit(*m, *n)))
        .filter_map(|n| u8::try_from(n).ok())
        .map(|n| StationConfig::new(n, format!("station {n}")))
        .collect()
}
