//! Diagnostic buffer records (SZL xyA0, `s7.md` §3.2), event IDs (`s7.md` §4) and BCD
//! DATE_AND_TIME timestamps (`s7.md` §3.2).

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

use super::error::{DecodeError, be16, be32};

/// A diagnostic event ID (`s7.md` §4): class (bits 15–12) | identifier (bits 11–8: external,
/// internal, diagnostic-buffer entry, entering) | number (bits 7–0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(pub u16);

impl EventId {
    /// Event class, bits 15–12: 1 standard OB events, 2 synchronous errors, 3 asynchronous
    /// errors, 4 mode transitions, 5 run-time events, 6 communication, 7 H/F systems,
    /// 8 module diagnostics, 9 predefined user events, A/B user events, F other modules (§4).
    pub fn class(self) -> u8 {
        (self.0 >> 12) as u8
    }

    /// Identifier nibble, bits 11–8 (§4).
    pub fn identifier(self) -> u8 {
        ((self.0 >> 8) & 0x0F) as u8
    }

    /// Bit 8: the event is entering a state (§4).
    pub fn entering(self) -> bool {
        self.0 & 0x0100 != 0
    }

    /// Bit 8 clear: the event is leaving a state (§4).
    pub fn leaving(self) -> bool {
        !self.entering()
    }

    /// Bit 9: entry in the diagnostic buffer (§4).
    pub fn is_diag_buffer_entry(self) -> bool {
        self.0 & 0x0200 != 0
    }

    /// Bit 10: internal error (§4).
    pub fn is_internal(self) -> bool {
        self.0 & 0x0400 != 0
    }

    /// Bit 11: external error (§4).
    pub fn is_external(self) -> bool {
        self.0 & 0x0800 != 0
    }

    /// Event number, bits 7–0 (§4).
    pub fn number(self) -> u8 {
        self.0 as u8
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:04X}", self.0)
    }
}

fn bcd(b: u8) -> Option<u32> {
    let (hi, lo) = (b >> 4, b & 0x0F);
    (hi <= 9 && lo <= 9).then_some(u32::from(hi) * 10 + u32::from(lo))
}

fn to_bcd(v: u32) -> u8 {
    (((v / 10) % 10) << 4 | (v % 10)) as u8
}

/// Decodes an 8-byte BCD DATE_AND_TIME (`s7.md` §3.2): `YY MM DD hh mm ss`, byte 6 = the two
/// most significant millisecond digits, byte 7 high nibble = last millisecond digit, low
/// nibble = weekday. Years 90..99 are 1990s, 00..89 are 20xx. `None` for invalid BCD or an
/// impossible date (the weekday is not checked). Local CPU time, no zone.
pub fn decode_bcd_time(b: &[u8]) -> Option<NaiveDateTime> {
    if b.len() < 8 {
        return None;
    }
    let yy = bcd(b[0])?;
    let year = if yy >= 90 { 1900 + yy } else { 2000 + yy };
    let ms = bcd(b[6])? * 10 + {
        let d = b[7] >> 4;
        if d > 9 {
            return None;
        }
        u32::from(d)
    };
    NaiveDate::from_ymd_opt(year as i32, bcd(b[1])?, bcd(b[2])?)?.and_hms_milli_opt(
        bcd(b[3])?,
        bcd(b[4])?,
        bcd(b[5])?,
        ms,
    )
}

/// Encodes a timestamp as BCD DATE_AND_TIME (inverse of [`decode_bcd_time`]; weekday 1 =
/// Sunday). Years outside 1990..=2089 wrap modulo 100.
pub fn encode_bcd_time(t: &NaiveDateTime) -> [u8; 8] {
    let ms = t.nanosecond() / 1_000_000 % 1000;
    let weekday = t.weekday().num_days_from_sunday() + 1;
    [
        to_bcd(t.year().rem_euclid(100) as u32),
        to_bcd(t.month()),
        to_bcd(t.day()),
        to_bcd(t.hour()),
        to_bcd(t.minute()),
        to_bcd(t.second()),
        to_bcd(ms / 10),
        (((ms % 10) as u8) << 4) | weekday as u8,
    ]
}

/// One 20-byte diagnostic buffer record (`s7.md` §3.2): EventID(2) Prio(1) OB(1) DatID(2)
/// Info1(2) Info2(4) Timestamp(8, BCD). Prio and OB are event-specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DiagEntry {
    /// Event ID (§4).
    pub event_id: EventId,
    /// Priority class (byte 2).
    pub priority: u8,
    /// OB number (byte 3).
    pub ob: u8,
    /// DatID (bytes 4–5).
    pub dat_id: u16,
    /// Additional information 1 (bytes 6–7).
    pub info1: u16,
    /// Additional information 2 (bytes 8–11).
    pub info2: u32,
    /// Timestamp (bytes 12–19); `None` if not valid BCD.
    pub timestamp: Option<NaiveDateTime>,
    /// The record as received; deduplicate on it (entries have no sequence number, §6.4).
    pub raw: [u8; 20],
}

impl DiagEntry {
    /// Record length, LENTHDR 0x0014 (`s7.md` §3.2).
    pub const LEN: usize = 20;

    /// Builds an entry from fields (the raw bytes are computed; timestamp `None` = zeros).
    pub fn new(
        event_id: EventId,
        priority: u8,
        ob: u8,
        dat_id: u16,
        info1: u16,
        info2: u32,
        timestamp: Option<NaiveDateTime>,
    ) -> Self {
        let mut e = DiagEntry {
            event_id,
            priority,
            ob,
            dat_id,
            info1,
            info2,
            timestamp,
            raw: [0; 20],
        };
        e.raw = e.encode();
        e.timestamp = decode_bcd_time(&e.raw[12..]);
        e
    }

    /// Decodes a record (at least 20 bytes; the first 20 are used).
    pub fn decode(b: &[u8]) -> Result<DiagEntry, DecodeError> {
        if b.len() < Self::LEN {
            return Err(DecodeError::BadRecordLength {
                expected: Self::LEN,
                got: b.len(),
            });
        }
        let mut raw = [0u8; 20];
        raw.copy_from_slice(&b[..20]);
        Ok(DiagEntry {
            event_id: EventId(be16(b, 0)),
            priority: b[2],
            ob: b[3],
            dat_id: be16(b, 4),
            info1: be16(b, 6),
            info2: be32(b, 8),
            timestamp: decode_bcd_time(&b[12..20]),
            raw,
        })
    }

    /// Encodes the record. The timestamp bytes are taken from `raw` when they decode to
    /// `timestamp` (keeps weekday and invalid bytes), else encoded from `timestamp`.
    pub fn encode(&self) -> [u8; 20] {
        let mut out = [0u8; 20];
        out[0..2].copy_from_slice(&self.event_id.0.to_be_bytes());
        out[2] = self.priority;
        out[3] = self.ob;
        out[4..6].copy_from_slice(&self.dat_id.to_be_bytes());
        out[6..8].copy_from_slice(&self.info1.to_be_bytes());
        out[8..12].copy_from_slice(&self.info2.to_be_bytes());
        let ts = if decode_bcd_time(&self.raw[12..]) == self.timestamp {
            self.raw[12..].try_into().unwrap_or([0; 8])
        } else {
            self.timestamp.as_ref().map_or([0; 8], encode_bcd_time)
        };
        out[12..].copy_from_slice(&ts);
        out
    }
}
