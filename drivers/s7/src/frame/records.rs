//! Decoders for SZL records other than the diagnostic buffer (`s7.md` §3.3–§3.8). Each takes
//! the records of one [`SzlList`](super::SzlList) (or one record) and never panics.

use std::fmt;

use chrono::NaiveDateTime;

use super::diag::{EventId, decode_bcd_time};
use super::error::{DecodeError, be16};

fn check_len(r: &[u8], expected: usize) -> Result<(), DecodeError> {
    if r.len() < expected {
        Err(DecodeError::BadRecordLength {
            expected,
            got: r.len(),
        })
    } else {
        Ok(())
    }
}

/// ASCII text of a zero/blank padded field; `None` when empty.
fn text(b: &[u8]) -> Option<String> {
    let s: String = b
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| char::from(c))
        .collect();
    let s = s.trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// Operating mode, low nibble of SZL 0x0424 byte 3 (`s7.md` §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CpuMode {
    /// 1: STOP (update).
    StopUpdate,
    /// 2: STOP (memory reset).
    StopMemoryReset,
    /// 3: STOP (self-initialisation).
    StopSelfInit,
    /// 4: STOP (internal).
    Stop,
    /// 5: STARTUP (complete restart).
    Startup,
    /// 7: STARTUP (restart).
    Restart,
    /// 8: RUN.
    Run,
    /// 0xA: HOLD.
    Hold,
    /// 0xD: DEFECT.
    Defect,
    /// Any other nibble, kept raw.
    Unknown(u8),
}

impl CpuMode {
    /// The mode for a nibble (the high nibble of `code` is ignored).
    pub fn from_code(code: u8) -> Self {
        match code & 0x0F {
            0x1 => CpuMode::StopUpdate,
            0x2 => CpuMode::StopMemoryReset,
            0x3 => CpuMode::StopSelfInit,
            0x4 => CpuMode::Stop,
            0x5 => CpuMode::Startup,
            0x7 => CpuMode::Restart,
            0x8 => CpuMode::Run,
            0xA => CpuMode::Hold,
            0xD => CpuMode::Defect,
            other => CpuMode::Unknown(other),
        }
    }

    /// The nibble.
    pub fn code(self) -> u8 {
        match self {
            CpuMode::StopUpdate => 0x1,
            CpuMode::StopMemoryReset => 0x2,
            CpuMode::StopSelfInit => 0x3,
            CpuMode::Stop => 0x4,
            CpuMode::Startup => 0x5,
            CpuMode::Restart => 0x7,
            CpuMode::Run => 0x8,
            CpuMode::Hold => 0xA,
            CpuMode::Defect => 0xD,
            CpuMode::Unknown(c) => c,
        }
    }

    /// True for any STOP variant.
    pub fn is_stop(self) -> bool {
        matches!(
            self,
            CpuMode::StopUpdate | CpuMode::StopMemoryReset | CpuMode::StopSelfInit | CpuMode::Stop
        )
    }
}

impl fmt::Display for CpuMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpuMode::StopUpdate => f.write_str("STOP (update)"),
            CpuMode::StopMemoryReset => f.write_str("STOP (memory reset)"),
            CpuMode::StopSelfInit => f.write_str("STOP (self-initialisation)"),
            CpuMode::Stop => f.write_str("STOP"),
            CpuMode::Startup => f.write_str("STARTUP"),
            CpuMode::Restart => f.write_str("STARTUP (restart)"),
            CpuMode::Run => f.write_str("RUN"),
            CpuMode::Hold => f.write_str("HOLD"),
            CpuMode::Defect => f.write_str("DEFECT"),
            CpuMode::Unknown(c) => write!(f, "unknown (0x{c:X})"),
        }
    }
}

/// One SZL 0x0424 record (20 bytes, `s7.md` §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeRecord {
    /// ereig: event ID of the transition (bytes 0–1).
    pub event_id: EventId,
    /// bzu-id raw (byte 3): bits 0–3 current, 4–7 previous mode.
    pub status: u8,
    /// Current mode (bzu-id bits 0–3).
    pub mode: CpuMode,
    /// Previous mode (bzu-id bits 4–7).
    pub previous: CpuMode,
    /// anlinfo2 (byte 9): type of startup just executed.
    pub startup_type: u8,
    /// Timestamp of the transition (bytes 12–19).
    pub changed_at: Option<NaiveDateTime>,
}

impl ModeRecord {
    /// Record length.
    pub const LEN: usize = 20;

    /// Decodes one record.
    pub fn decode(r: &[u8]) -> Result<Self, DecodeError> {
        check_len(r, Self::LEN)?;
        Ok(ModeRecord {
            event_id: EventId(be16(r, 0)),
            status: r[3],
            mode: CpuMode::from_code(r[3]),
            previous: CpuMode::from_code(r[3] >> 4),
            startup_type: r[9],
            changed_at: decode_bcd_time(&r[12..20]),
        })
    }
}

/// Operating mode from SZL 0x0424 (`s7.md` §3.3): the first record's values, plus all
/// records (H systems return one per CPU, §6.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeStatus {
    /// Current mode (first record).
    pub mode: CpuMode,
    /// Previous mode (first record).
    pub previous: CpuMode,
    /// Time of the last transition (first record).
    pub changed_at: Option<NaiveDateTime>,
    /// Number of records received.
    pub raw_records: usize,
    /// All records in order.
    pub records: Vec<ModeRecord>,
}

impl ModeStatus {
    /// Decodes the records of an 0x0424 list; at least one record is required.
    pub fn decode(records: &[Vec<u8>]) -> Result<Self, DecodeError> {
        let records = records
            .iter()
            .map(|r| ModeRecord::decode(r))
            .collect::<Result<Vec<_>, _>>()?;
        let first = records.first().ok_or(DecodeError::BadRecordLength {
            expected: ModeRecord::LEN,
            got: 0,
        })?;
        Ok(ModeStatus {
            mode: first.mode,
            previous: first.previous,
            changed_at: first.changed_at,
            raw_records: records.len(),
            records,
        })
    }
}

/// Module and component identification from SZL 0x0011 (`s7.md` §3.4) and 0x001C
/// (`s7.md` §3.5), parsed by record index. Missing records leave fields `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// MLFB / order number (0x0011 index 1).
    pub order_number: Option<String>,
    /// Firmware version "Vx.y.z" (0x0011 index 7).
    pub firmware: Option<String>,
    /// Hardware version (0x0011 index 6).
    pub hardware: Option<String>,
    /// PLC (automation system) name (0x001C index 1).
    pub plc_name: Option<String>,
    /// Module name (0x001C index 2).
    pub module_name: Option<String>,
    /// Plant ID (0x001C index 3).
    pub plant_id: Option<String>,
    /// Copyright (0x001C index 4).
    pub copyright: Option<String>,
    /// Serial number (0x001C index 5).
    pub serial: Option<String>,
    /// Module type name (0x001C index 7).
    pub module_type: Option<String>,
}

impl Identity {
    /// Record length of 0x0011 (LENTHDR 0x1C).
    pub const MODULE_RECORD_LEN: usize = 28;
    /// Record length of 0x001C (LENTHDR 0x22).
    pub const COMPONENT_RECORD_LEN: usize = 34;

    /// Applies the records of an 0x0011 list: index(2) | MLFB(20) | BGTyp(2) | Ausbg1(2) |
    /// Ausbg2(2); for index 6/7 Ausbg1 = 'V' + first number, Ausbg2 = the other two.
    pub fn apply_module_records(&mut self, records: &[Vec<u8>]) -> Result<(), DecodeError> {
        for r in records {
            check_len(r, Self::MODULE_RECORD_LEN)?;
            let version = || (r[24] == b'V').then(|| format!("V{}.{}.{}", r[25], r[26], r[27]));
            match be16(r, 0) {
                0x0001 => self.order_number = text(&r[2..22]),
                0x0006 => self.hardware = version(),
                0x0007 => self.firmware = version(),
                _ => {}
            }
        }
        Ok(())
    }

    /// Applies the records of an 0x001C list: index(2) | 32 bytes text (`s7.md` §3.5).
    pub fn apply_component_records(&mut self, records: &[Vec<u8>]) -> Result<(), DecodeError> {
        for r in records {
            check_len(r, Self::COMPONENT_RECORD_LEN)?;
            let (idx, t) = (be16(r, 0), &r[2..34]);
            match idx {
                0x0001 => self.plc_name = text(&t[..24]),
                0x0002 => self.module_name = text(&t[..24]),
                0x0003 => self.plant_id = text(t),
                0x0004 => self.copyright = text(&t[..26]),
                0x0005 => self.serial = text(&t[..24]),
                0x0007 => self.module_type = text(t),
                _ => {}
            }
        }
        Ok(())
    }
}

/// One module status record, SZL xy91 (16 bytes, `s7.md` §3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModuleStatus {
    /// adr1 (bytes 0–1): rack / DP master system ID / PN system.
    pub adr1: u16,
    /// adr2 (bytes 2–3): slot / station / submodule; central rack: slot in the high byte
    /// (real CPU 315 dump: slot 2 = 0x0200).
    pub adr2: u16,
    /// First logical I/O address (bytes 4–5); CPU: 0x7FFF.
    pub logical_address: u16,
    /// Expected type (bytes 6–7; PN, otherwise reserved).
    pub expected_type: u16,
    /// Actual type (bytes 8–9; PN, otherwise reserved).
    pub actual_type: u16,
    /// Bytes 10–11: reserved / number of submodules (0C91/4C91/0D91).
    pub submodules: u16,
    /// eastat raw (bytes 12–13).
    pub eastat: u16,
    /// ber_bgbr raw (bytes 14–15).
    pub ber_bgbr: u16,
}

impl ModuleStatus {
    /// Record length (LENTHDR 0x10).
    pub const LEN: usize = 16;

    /// Decodes one record.
    pub fn decode(r: &[u8]) -> Result<Self, DecodeError> {
        check_len(r, Self::LEN)?;
        Ok(ModuleStatus {
            adr1: be16(r, 0),
            adr2: be16(r, 2),
            logical_address: be16(r, 4),
            expected_type: be16(r, 6),
            actual_type: be16(r, 8),
            submodules: be16(r, 10),
            eastat: be16(r, 12),
            ber_bgbr: be16(r, 14),
        })
    }

    /// Rack (adr1, central configuration).
    pub fn rack(&self) -> u16 {
        self.adr1
    }

    /// Slot (high byte of adr2, central configuration).
    pub fn slot(&self) -> u8 {
        (self.adr2 >> 8) as u8
    }

    /// eastat bit 0: module error.
    pub fn module_error(&self) -> bool {
        self.eastat & 0x0001 != 0
    }

    /// eastat bit 1: module exists.
    pub fn exists(&self) -> bool {
        self.eastat & 0x0002 != 0
    }

    /// eastat bit 2: module not available.
    pub fn not_available(&self) -> bool {
        self.eastat & 0x0004 != 0
    }

    /// eastat bit 3: module disabled.
    pub fn disabled(&self) -> bool {
        self.eastat & 0x0008 != 0
    }

    /// eastat bit 4: station error.
    pub fn station_error(&self) -> bool {
        self.eastat & 0x0010 != 0
    }

    /// eastat bit 5: CiR event busy.
    pub fn cir_busy(&self) -> bool {
        self.eastat & 0x0020 != 0
    }

    /// eastat bit 7: in local bus segment.
    pub fn in_local_bus_segment(&self) -> bool {
        self.eastat & 0x0080 != 0
    }

    /// eastat bits 8–15: data ID (B4 input, B5 output, FF DP interface).
    pub fn data_id(&self) -> u8 {
        (self.eastat >> 8) as u8
    }

    /// ber_bgbr bits 0–2: module width.
    pub fn width(&self) -> u8 {
        (self.ber_bgbr & 0x07) as u8
    }

    /// ber_bgbr bits 4–6: area (0 S7-400, 1 S7-300, 2 PN IO, 3 P, 4 Q, 5 IM3, 6 IM4).
    pub fn area(&self) -> u8 {
        ((self.ber_bgbr >> 4) & 0x07) as u8
    }
}

/// Mode (key) switch position, SZL 0x0132 index 4 `bart_sch` (`s7.md` §3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeySwitch {
    /// 0: undefined / not readable.
    Undefined,
    /// 1: RUN.
    Run,
    /// 2: RUN-P.
    RunP,
    /// 3: STOP.
    Stop,
    /// 4: MRES.
    Mres,
    /// Any other value.
    Unknown(u16),
}

impl KeySwitch {
    /// From `bart_sch`.
    pub fn from_code(code: u16) -> Self {
        match code {
            0 => KeySwitch::Undefined,
            1 => KeySwitch::Run,
            2 => KeySwitch::RunP,
            3 => KeySwitch::Stop,
            4 => KeySwitch::Mres,
            other => KeySwitch::Unknown(other),
        }
    }
}

impl fmt::Display for KeySwitch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySwitch::Undefined => f.write_str("undefined"),
            KeySwitch::Run => f.write_str("RUN"),
            KeySwitch::RunP => f.write_str("RUN-P"),
            KeySwitch::Stop => f.write_str("STOP"),
            KeySwitch::Mres => f.write_str("MRES"),
            KeySwitch::Unknown(c) => write!(f, "unknown ({c})"),
        }
    }
}

/// Protection status, SZL 0x0132 index 4 (`s7.md` §3.7): index | key | param | real |
/// bart_sch | crst_wrst | rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Protection {
    /// `real`: effective protection level 1..3.
    pub level: u16,
    /// `param`: configured protection level 0..3 (0 = no password).
    pub parameterised_level: u16,
    /// `key`: protection level set by the key switch 1..3.
    pub key_switch_level: u16,
    /// `bart_sch`: mode switch position.
    pub key_switch: KeySwitch,
    /// `crst_wrst`: startup switch (0 undefined, 1 CRST, 2 WRST).
    pub startup_switch: u16,
    /// A password is configured (`param` != 0).
    pub password_set: bool,
}

impl Protection {
    /// Record length (LENTHDR 0x28).
    pub const LEN: usize = 40;

    /// Decodes the record (the first 12 bytes are used).
    pub fn decode(r: &[u8]) -> Result<Self, DecodeError> {
        check_len(r, 12)?;
        let param = be16(r, 4);
        Ok(Protection {
            level: be16(r, 6),
            parameterised_level: param,
            key_switch_level: be16(r, 2),
            key_switch: KeySwitch::from_code(be16(r, 8)),
            startup_switch: be16(r, 10),
            password_set: param != 0,
        })
    }
}

/// Time system status, SZL 0x0132 index 8 (`s7.md` §3.7): the CPU clock at record offset
/// 22..30 and the time status word. The status word offset (34) follows from the field list
/// of §3.7 with one byte each for bszl_0/1 and bszü_0/1 — *inferred, verify on hardware*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeStatus {
    /// CPU clock (local time), `None` if not valid BCD.
    pub time: Option<NaiveDateTime>,
    /// Raw time status word (bit 0 sync ok, bit 6 summer time, bits 10–14 correction ×0.5 h,
    /// bit 15 sign).
    pub status: u16,
}

impl TimeStatus {
    /// Decodes the record (at least 36 bytes).
    pub fn decode(r: &[u8]) -> Result<Self, DecodeError> {
        check_len(r, 36)?;
        Ok(TimeStatus {
            time: decode_bcd_time(&r[22..30]),
            status: be16(r, 34),
        })
    }

    /// Status bit 0: time synchronisation ok.
    pub fn synchronised(&self) -> bool {
        self.status & 0x0001 != 0
    }

    /// Status bit 6: summer time.
    pub fn summer_time(&self) -> bool {
        self.status & 0x0040 != 0
    }
}

/// Cycle times from SZL 0x0222 index 1 (OB1), `s7.md` §3.8, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CycleTimes {
    /// Bytes 6–7, OB1_PREV_CYCLE (last cycle) — *unconfirmed per §3.8*.
    pub current_ms: u16,
    /// Bytes 8–9: minimum cycle time.
    pub min_ms: u16,
    /// Bytes 10–11: maximum cycle time.
    pub max_ms: u16,
}

impl CycleTimes {
    /// Record length (LENTHDR 0x1C).
    pub const LEN: usize = 28;

    /// Decodes the record (the first 12 bytes are used).
    pub fn decode(r: &[u8]) -> Result<Self, DecodeError> {
        check_len(r, 12)?;
        Ok(CycleTimes {
            current_ms: be16(r, 6),
            min_ms: be16(r, 8),
            max_ms: be16(r, 10),
        })
    }
}
