//! Where a CC-Link master keeps its diagnostic link special relays (SB) and registers (SW).
//!
//! Every offset is **data**: a site can override any field from its configuration. Offsets
//! are SB/SW numbers *relative to the master's refresh base* ([`CcLinkMaster::sb_base`],
//! [`CcLinkMaster::sw_base`]), i.e. the numbers printed in the module manual. Fields set to
//! `None` are not read.
//!
//! Only a few QJ61BT11N entries are confirmed by public sources (`melsec-cclink.md` §0.3,
//! §2.4): the station data-link bitmap SW0080–SW0083 and the retry counters SW00C0–SW00C8.
//! Every other classic CC-Link default below is *unconfirmed: verify against
//! SH(NA)-080394E*; each field's doc says which. The CC-Link IE Field defaults (§2.5) are
//! confirmed by the RJ71GF11-T2 / QJ71GF11-T2 manuals, except where noted.
//!
//! [`CcLinkMaster::sb_base`]: super::CcLinkMaster::sb_base
//! [`CcLinkMaster::sw_base`]: super::CcLinkMaster::sw_base

use std::fmt;
use std::str::FromStr;

/// Which SB/SW numbering the master uses (§2.5: same device letters, different maps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NetworkKind {
    /// Classic CC-Link (QJ61BT11N, L26CPU-BT, RJ61BT11 — the latter two *unconfirmed: verify
    /// against SH(NA)-081270ENG*, §2.6): station bitmap SW0080–SW0083.
    #[default]
    CcLink,
    /// CC-Link IE Field (QJ71GF11-T2 / RJ71GF11-T2): data link SW00B0–SW00B7, baton pass
    /// SW00A0–SW00A7, own data link SB0049 (§2.5).
    CcLinkIeField,
}

impl fmt::Display for NetworkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NetworkKind::CcLink => "cc-link",
            NetworkKind::CcLinkIeField => "cc-link-ie-field",
        })
    }
}

/// An unknown network kind name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown network kind {0:?} (expected cc-link or cc-link-ie-field)")]
pub struct ParseNetworkKindError(pub String);

impl FromStr for NetworkKind {
    type Err = ParseNetworkKindError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "cc-link" | "cclink" => Ok(NetworkKind::CcLink),
            "cc-link-ie-field" | "cclink-ie-field" | "ie-field" => Ok(NetworkKind::CcLinkIeField),
            _ => Err(ParseNetworkKindError(s.to_owned())),
        }
    }
}

/// SW offsets of the link scan time registers (1 ms units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkScanMap {
    /// Current link scan time.
    pub current: u32,
    /// Minimum link scan time.
    pub min: u32,
    /// Maximum link scan time.
    pub max: u32,
}

/// The SB/SW offsets the driver reads. Station bitmaps are `ceil(max_stations / 16)`
/// consecutive words starting at the given SW offset; station *n* is bit `(n−1) % 16` of word
/// `(n−1) / 16`, 1 = the condition holds (§2.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegisterMap {
    /// Highest station number (CC-Link 64; IE Field 120).
    pub max_stations: u8,
    /// Station data-link status bitmap, 1 = data-link error. CC-Link: SW0080–SW0083,
    /// **confirmed** (§2.3). IE Field: SW00B0–SW00B7, confirmed (§2.5).
    pub data_link_status: u32,
    /// Baton-pass status bitmap (IE Field SW00A0–SW00A7, confirmed §2.5; CC-Link: none).
    pub baton_pass_status: Option<u32>,
    /// Watchdog-timer error bitmap. CC-Link: SW0084–SW0087, *unconfirmed: verify against
    /// SH(NA)-080394E*.
    pub watchdog_status: Option<u32>,
    /// Fuse-blown / external supply error bitmap. CC-Link: SW0088–SW008B, *unconfirmed:
    /// verify against SH(NA)-080394E*.
    pub fuse_status: Option<u32>,
    /// Switch-change bitmap (station No./speed switch changed while powered). CC-Link:
    /// SW008C–SW008F, *unconfirmed: verify against SH(NA)-080394E*.
    pub switch_change_status: Option<u32>,
    /// Station number overlap bitmap. CC-Link: SW0098–SW009B, *unconfirmed: verify against
    /// SH(NA)-080394E*.
    pub overlap_status: Option<u32>,
    /// Loading / parameter consistency bitmap (station type or occupied stations ≠
    /// parameters). CC-Link: SW009C–SW009F, *unconfirmed: verify against SH(NA)-080394E*.
    pub parameter_mismatch_status: Option<u32>,
    /// Reserved-station setting bitmap (masked out of faults). CC-Link: SW0074–SW0077,
    /// *unconfirmed: verify against SH(NA)-080394E*. IE Field: SW00C0–SW00C7, confirmed.
    pub reserved_stations: Option<u32>,
    /// Error-invalid-station setting bitmap (masked out of faults). CC-Link: SW0078–SW007B,
    /// *unconfirmed: verify against SH(NA)-080394E*. IE Field: SW00D0–SW00D7, confirmed.
    pub error_invalid_stations: Option<u32>,
    /// Temporary error-invalid-station bitmap (masked out of faults). CC-Link:
    /// SW007C–SW007F, *unconfirmed: verify against SH(NA)-080394E*.
    pub temporary_error_invalid_stations: Option<u32>,
    /// Line status word, ≠ 0 = data link disabled. CC-Link: SW0090, *unconfirmed: verify
    /// against SH(NA)-080394E*.
    pub line_status_word: Option<u32>,
    /// Line / own data-link status relay, ON = abnormal. CC-Link: SB0090 (host line status),
    /// *unconfirmed: verify against SH(NA)-080394E*. IE Field: SB0049 (own data link status;
    /// the relay is confirmed, its polarity ON = error is *unconfirmed: verify against
    /// SH(NA)-081256ENG*).
    pub line_status_bit: Option<u32>,
    /// Link scan time registers. CC-Link: SW006D max / SW006E current / SW006F min (not
    /// SW0058–SW005A), *unconfirmed: verify against SH(NA)-080394E*.
    pub link_scan: Option<LinkScanMap>,
    /// First retry counter. CC-Link: SW00C0, **confirmed** (§2.4, CLPA BAP-C0401-009).
    pub retry_counters: Option<u32>,
    /// Number of retry counters (CC-Link: 9, SW00C0–SW00C8, confirmed).
    pub retry_counter_count: u8,
}

impl RegisterMap {
    /// The defaults for a network kind (see each field).
    pub fn for_kind(kind: NetworkKind) -> RegisterMap {
        match kind {
            NetworkKind::CcLink => RegisterMap {
                max_stations: 64,
                data_link_status: 0x80,
                baton_pass_status: None,
                watchdog_status: Some(0x84),
                fuse_status: Some(0x88),
                switch_change_status: Some(0x8C),
                overlap_status: Some(0x98),
                parameter_mismatch_status: Some(0x9C),
                reserved_stations: Some(0x74),
                error_invalid_stations: Some(0x78),
                temporary_error_invalid_stations: Some(0x7C),
                line_status_word: Some(0x90),
                line_status_bit: Some(0x90),
                link_scan: Some(LinkScanMap {
                    current: 0x6E,
                    min: 0x6F,
                    max: 0x6D,
                }),
                retry_counters: Some(0xC0),
                retry_counter_count: 9,
            },
            NetworkKind::CcLinkIeField => RegisterMap {
                max_stations: 120,
                data_link_status: 0xB0,
                baton_pass_status: Some(0xA0),
                watchdog_status: None,
                fuse_status: None,
                switch_change_status: None,
                overlap_status: None,
                parameter_mismatch_status: None,
                reserved_stations: Some(0xC0),
                error_invalid_stations: Some(0xD0),
                temporary_error_invalid_stations: None,
                line_status_word: None,
                line_status_bit: Some(0x49),
                link_scan: None,
                retry_counters: None,
                retry_counter_count: 0,
            },
        }
    }

    /// Words of one station bitmap: `ceil(max_stations / 16)`.
    pub fn bitmap_words(&self) -> u32 {
        u32::from(self.max_stations).div_ceil(16)
    }

    /// Every SW range `(first, words)` the map uses (relative offsets).
    pub fn sw_ranges(&self) -> Vec<(u32, u32)> {
        let bw = self.bitmap_words();
        let mut out = vec![(self.data_link_status, bw)];
        for m in [
            self.baton_pass_status,
            self.watchdog_status,
            self.fuse_status,
            self.switch_change_status,
            self.overlap_status,
            self.parameter_mismatch_status,
            self.reserved_stations,
            self.error_invalid_stations,
            self.temporary_error_invalid_stations,
        ]
        .into_iter()
        .flatten()
        {
            out.push((m, bw));
        }
        if let Some(l) = self.line_status_word {
            out.push((l, 1));
        }
        if let Some(s) = self.link_scan {
            out.extend([(s.current, 1), (s.min, 1), (s.max, 1)]);
        }
        if let (Some(r), n) = (self.retry_counters, self.retry_counter_count)
            && n > 0
        {
            out.push((r, u32::from(n)));
        }
        out
    }

    /// Every SB offset the map uses (relative).
    pub fn sb_bits(&self) -> Vec<u32> {
        self.line_status_bit.into_iter().collect()
    }
}

impl Default for RegisterMap {
    fn default() -> Self {
        RegisterMap::for_kind(NetworkKind::CcLink)
    }
}
