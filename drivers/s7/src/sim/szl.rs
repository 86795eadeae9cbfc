//! The simulator's SZL record encoders and the fragmenter, written from the record layouts
//! of the reference (s7.md §2–§3), independently of the client's decoders.
//!
//! An SZL answer is `SZL-ID(2) index(2) LENTHDR(2) N_DR(2) records…`; when that is longer
//! than `PDU − 26` bytes (10-byte header + 12-byte userdata parameters + 4-byte data header,
//! §6.1) it is cut into fragments of at most `PDU − 26` bytes; only the first carries the
//! ID/index/header (§2.4).

use std::time::SystemTime;

use chrono::{DateTime, Datelike, Timelike, Utc};

/// Bytes of one diagnostic-buffer record (xyA0, LENTHDR 0x0014; §3.2).
pub(crate) const DIAG_RECORD_LEN: usize = 20;

/// Fixed per-PDU overhead of a userdata SZL response: 10 header + 12 parameters + 4 data
/// header (§6.1).
pub(crate) const SZL_RESPONSE_OVERHEAD: usize = 26;

/// Records of one SZL answer, before the ID/index are put in front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SzlList {
    /// Record length in bytes.
    pub(crate) lenthdr: u16,
    /// Number of records.
    pub(crate) n_dr: u16,
    /// `n_dr × lenthdr` bytes (or none for a header-only 0x0Fxx answer).
    pub(crate) records: Vec<u8>,
}

impl SzlList {
    /// Builds a list from equally long records.
    pub(crate) fn from_records<const N: usize>(records: impl IntoIterator<Item = [u8; N]>) -> Self {
        let mut bytes = Vec::new();
        let mut n = 0u16;
        for record in records {
            bytes.extend_from_slice(&record);
            n = n.saturating_add(1);
        }
        SzlList {
            lenthdr: N as u16,
            n_dr: n,
            records: bytes,
        }
    }

    /// The whole SZL payload: ID, index, LENTHDR, N_DR, records (§2.2).
    pub(crate) fn payload(&self, id: u16, index: u16) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.records.len());
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&index.to_be_bytes());
        out.extend_from_slice(&self.lenthdr.to_be_bytes());
        out.extend_from_slice(&self.n_dr.to_be_bytes());
        out.extend_from_slice(&self.records);
        out
    }
}

/// Cuts an SZL payload into the data parts of successive fragments, each at most
/// `pdu_size − 26` bytes (§2.4: 214 bytes at PDU 240). Always at least one fragment.
pub(crate) fn fragment(payload: &[u8], pdu_size: u16) -> Vec<Vec<u8>> {
    let max = usize::from(pdu_size)
        .saturating_sub(SZL_RESPONSE_OVERHEAD)
        .max(1);
    if payload.is_empty() {
        return vec![Vec::new()];
    }
    payload.chunks(max).map(<[u8]>::to_vec).collect()
}

/// BCD of a value 0..=99.
fn bcd(value: u32) -> u8 {
    // Callers pass values below 100, so both digits fit a nibble.
    (((value / 10) % 10) << 4 | (value % 10)) as u8
}

/// The 8-byte BCD DATE_AND_TIME of §3.2 (UTC: the simulator has no time zone): YY MM DD hh mm
/// ss, byte 6 = two most significant millisecond digits, byte 7 = last millisecond digit
/// (high nibble) and weekday 1..7, 1 = Sunday (low nibble).
pub(crate) fn bcd_timestamp(at: SystemTime) -> [u8; 8] {
    let t: DateTime<Utc> = at.into();
    let ms = t.timestamp_subsec_millis().min(999);
    let weekday = t.weekday().number_from_sunday();
    [
        bcd(t.year().rem_euclid(100) as u32),
        bcd(t.month()),
        bcd(t.day()),
        bcd(t.hour()),
        bcd(t.minute()),
        bcd(t.second().min(59)),
        bcd(ms / 10),
        ((ms % 10) as u8) << 4 | weekday as u8,
    ]
}

/// A diagnostic-buffer record (§3.2): EventID(2) Prio(1) OB(1) DatID(2) Info1(2) Info2(4)
/// Timestamp(8).
pub(crate) fn diag_record(
    event_id: u16,
    priority: u8,
    ob: u8,
    dat_id: u16,
    info1: u16,
    info2: u32,
    timestamp: [u8; 8],
) -> [u8; DIAG_RECORD_LEN] {
    let mut r = [0u8; DIAG_RECORD_LEN];
    r[0..2].copy_from_slice(&event_id.to_be_bytes());
    r[2] = priority;
    r[3] = ob;
    r[4..6].copy_from_slice(&dat_id.to_be_bytes());
    r[6..8].copy_from_slice(&info1.to_be_bytes());
    r[8..12].copy_from_slice(&info2.to_be_bytes());
    r[12..20].copy_from_slice(&timestamp);
    r
}

/// Copies `text` into a fixed field, padded with `pad`, cut if too long.
pub(crate) fn fixed<const N: usize>(text: &str, pad: u8) -> [u8; N] {
    let mut out = [pad; N];
    for (dst, src) in out.iter_mut().zip(text.bytes()) {
        *dst = src;
    }
    out
}

/// An xy11 module-identification record (LENTHDR 28, §3.4): index(2) MLFB(20, blank
/// padded) BGTyp(2) Ausbg1(2) Ausbg2(2).
pub(crate) fn module_id_record(
    index: u16,
    mlfb: &str,
    bg_typ: u16,
    ausbg1: u16,
    ausbg2: u16,
) -> [u8; 28] {
    let mut r = [0u8; 28];
    r[0..2].copy_from_slice(&index.to_be_bytes());
    r[2..22].copy_from_slice(&fixed::<20>(mlfb, b' '));
    r[22..24].copy_from_slice(&bg_typ.to_be_bytes());
    r[24..26].copy_from_slice(&ausbg1.to_be_bytes());
    r[26..28].copy_from_slice(&ausbg2.to_be_bytes());
    r
}

/// An xy1C component-identification record (LENTHDR 34, §3.5): index(2) + 32 bytes of
/// zero-padded text.
pub(crate) fn component_record(index: u16, text: &str) -> [u8; 34] {
    let mut r = [0u8; 34];
    r[0..2].copy_from_slice(&index.to_be_bytes());
    r[2..34].copy_from_slice(&fixed::<32>(text, 0));
    r
}

/// Parses "V3.2.6" / "3.2.6" into three version numbers (missing parts are 0).
pub(crate) fn firmware_numbers(firmware: &str) -> [u8; 3] {
    let mut out = [0u8; 3];
    let digits = firmware.trim().trim_start_matches(['V', 'v']);
    for (slot, part) in out.iter_mut().zip(digits.split('.')) {
        *slot = part.trim().parse().unwrap_or(0);
    }
    out
}

/// Operating-mode codes of the xy24 `bzu-id` nibbles (§3.3).
pub(crate) mod mode_code {
    /// STOP (internal).
    pub(crate) const STOP: u8 = 0x4;
    /// STARTUP (complete restart).
    pub(crate) const STARTUP: u8 = 0x5;
    /// RUN.
    pub(crate) const RUN: u8 = 0x8;
}

/// An xy24 operating-mode record (LENTHDR 20, §3.3): ereig(2) ae=FF bzu-id (current mode low
/// nibble, previous mode high nibble) reserved(4) anlinfo1..4 timestamp(8).
pub(crate) fn mode_record(event_id: u16, current: u8, previous: u8, at: [u8; 8]) -> [u8; 20] {
    let mut r = [0u8; 20];
    r[0..2].copy_from_slice(&event_id.to_be_bytes());
    r[2] = 0xFF;
    r[3] = (previous & 0x0F) << 4 | (current & 0x0F);
    r[12..20].copy_from_slice(&at);
    r
}

/// An xy91 module-status record (LENTHDR 16, §3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ModuleStatus {
    pub(crate) rack: u8,
    pub(crate) slot: u8,
    pub(crate) logadr: u16,
    pub(crate) module_type: u16,
    pub(crate) faulty: bool,
}

impl ModuleStatus {
    /// eastat bit 0: module error.
    const EASTAT_ERROR: u16 = 0x0001;
    /// eastat bit 1: module exists.
    const EASTAT_EXISTS: u16 = 0x0002;
    /// eastat bits 8–15: data ID 0xB4 (input), as in the real CPU 315 dump.
    const EASTAT_DATA_ID: u16 = 0xB400;
    /// ber_bgbr of an S7-300 module of width 1 (area 1 in bits 4–6, width 1 in bits 0–2).
    const BER_S7_300: u16 = 0x0011;

    pub(crate) fn record(&self) -> [u8; 16] {
        let mut eastat = Self::EASTAT_DATA_ID | Self::EASTAT_EXISTS;
        if self.faulty {
            eastat |= Self::EASTAT_ERROR;
        }
        let mut r = [0u8; 16];
        r[0..2].copy_from_slice(&u16::from(self.rack).to_be_bytes());
        r[2..4].copy_from_slice(&(u16::from(self.slot) << 8).to_be_bytes());
        r[4..6].copy_from_slice(&self.logadr.to_be_bytes());
        r[6..8].copy_from_slice(&self.module_type.to_be_bytes());
        r[8..10].copy_from_slice(&self.module_type.to_be_bytes());
        r[12..14].copy_from_slice(&eastat.to_be_bytes());
        r[14..16].copy_from_slice(&Self::BER_S7_300.to_be_bytes());
        r
    }
}

/// The 0x0132 index 4 protection record (LENTHDR 40, §3.7): key 1, no password, effective
/// level 1, mode switch RUN_P (2), no CRST/WRST switch — the real CPU 315 values.
pub(crate) fn protection_record() -> [u8; 40] {
    let mut r = [0u8; 40];
    r[0..2].copy_from_slice(&4u16.to_be_bytes());
    r[2..4].copy_from_slice(&1u16.to_be_bytes());
    r[6..8].copy_from_slice(&1u16.to_be_bytes());
    r[8..10].copy_from_slice(&2u16.to_be_bytes());
    r
}

/// The 0x0132 index 8 time-system record (LENTHDR 40, §3.7): the current time at record
/// offset 22; everything else zero.
pub(crate) fn time_record(now: [u8; 8]) -> [u8; 40] {
    let mut r = [0u8; 40];
    r[0..2].copy_from_slice(&8u16.to_be_bytes());
    r[22..30].copy_from_slice(&now);
    r
}

/// The 0x0222 cycle-time record (LENTHDR 28, §3.8) for OB1: the OB1 start information with
/// the last cycle at bytes 6–7, minimum at 8–9, maximum at 10–11 (ms), then al1 0x0010,
/// al2 0x0008, al3 0 as in the real CPU 315 dump.
pub(crate) fn cycle_record(cur_ms: u16, min_ms: u16, max_ms: u16, at: [u8; 8]) -> [u8; 28] {
    let mut r = [0u8; 28];
    r[0] = 0x11;
    r[1] = 0x03;
    r[2] = 0x01;
    r[3] = 0x01;
    r[4] = 0xC8;
    r[5] = 0x58;
    r[6..8].copy_from_slice(&cur_ms.to_be_bytes());
    r[8..10].copy_from_slice(&min_ms.to_be_bytes());
    r[10..12].copy_from_slice(&max_ms.to_be_bytes());
    r[12..20].copy_from_slice(&at);
    r[20..22].copy_from_slice(&0x0010u16.to_be_bytes());
    r[22..24].copy_from_slice(&0x0008u16.to_be_bytes());
    r
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn timestamps_are_bcd_with_milliseconds_and_weekday() {
        // 2024-03-05 14:07:09.123 UTC, a Tuesday (weekday 3 counting from Sunday = 1).
        let at = UNIX_EPOCH + Duration::from_millis(1_709_647_629_123);
        assert_eq!(
            bcd_timestamp(at),
            [0x24, 0x03, 0x05, 0x14, 0x07, 0x09, 0x12, 0x33]
        );
    }

    #[test]
    fn a_50_record_buffer_at_pdu_240_splits_like_the_reference_exchange() {
        let list = SzlList::from_records((0..50u8).map(|i| [i; 20]));
        let payload = list.payload(0x00A0, 0);
        assert_eq!(payload.len(), 4 + 1004);
        let parts = fragment(&payload, 240);
        let sizes: Vec<usize> = parts.iter().map(Vec::len).collect();
        // §2.4: 214 (ID + index + 210) + 214 + 214 + 214 + 152.
        assert_eq!(sizes, [214, 214, 214, 214, 152]);
        assert_eq!(
            &parts[0][..12],
            &[0x00, 0xA0, 0, 0, 0x00, 0x14, 0x00, 0x32, 0, 0, 0, 0]
        );
        assert_eq!(parts.concat(), payload);
    }

    #[test]
    fn a_short_answer_is_one_fragment() {
        let list = SzlList::from_records([[1u8; 20]]);
        assert_eq!(fragment(&list.payload(0x0424, 0), 240).len(), 1);
    }

    #[test]
    fn firmware_versions_parse_with_or_without_v() {
        assert_eq!(firmware_numbers("V3.2.6"), [3, 2, 6]);
        assert_eq!(firmware_numbers("2.6"), [2, 6, 0]);
    }

    #[test]
    fn module_status_marks_faulty_modules_in_eastat_bit_0() {
        let mut m = ModuleStatus {
            rack: 0,
            slot: 2,
            logadr: 0x7FFF,
            module_type: 0x00C0,
            faulty: false,
        };
        // The real CPU 315 record of §3.6.
        assert_eq!(
            m.record(),
            [
                0, 0, 2, 0, 0x7F, 0xFF, 0, 0xC0, 0, 0xC0, 0, 0, 0xB4, 0x02, 0, 0x11
            ]
        );
        m.faulty = true;
        assert_eq!(m.record()[13], 0x03);
    }
}
