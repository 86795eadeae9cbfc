//! CPU self-diagnosis from special relays and registers (`melsec-cclink.md` §7).
//!
//! One random read (`0403`, §1.3) fetches everything, [`CpuDiagnosis::DEVICES`] in order:
//! SD0–SD26 (27 words), SD203 (1 word), SM0–SM15 and SM48–SM63 (2 words: SM read in word
//! units, head device = LSB, §1.5) = 30 word points, below every random-read limit (§1.3).
//! [`CpuDiagnosis::decode`] is a pure function of those 30 words and the [`Series`]:
//!
//! * Q/L: SD0 decimal code, SD1–SD3 BCD time (two-digit year), SD4 category bytes,
//!   SD5–SD26 detail (§7.2);
//! * iQ-R: SD0 hexadecimal code, SD1–SD6 binary time (four-digit year), detail SD10–SD25 =
//!   up to 16 self-diagnostic error codes (§7.3); `detail_layout` is 0.
//!
//! The CPU state comes from SD203 (b3–b0 state, b7–b4 stop cause), never from the code
//! (§7.6). SM numbers beyond SM1 (SM51/56/60/61/62) follow the QCPU list; that QnU/LCPU use
//! the same numbers is *unconfirmed: verify against SH(NA)-080483ENG* (§7.1).

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};

use crate::frame::{DecodeError, Device, DeviceCode, Series};

/// The CPU operating state, SD203 b3–b0 (§7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunState {
    /// 0: RUN.
    Run,
    /// 1: STEP-RUN.
    StepRun,
    /// 2: STOP.
    Stop,
    /// 3: PAUSE.
    Pause,
    /// Any other value of b3–b0, kept raw.
    Unknown(u16),
}

impl RunState {
    /// From the whole SD203 word (uses b3–b0).
    pub fn from_sd203(sd203: u16) -> RunState {
        match sd203 & 0x000F {
            0 => RunState::Run,
            1 => RunState::StepRun,
            2 => RunState::Stop,
            3 => RunState::Pause,
            other => RunState::Unknown(other),
        }
    }
}

impl fmt::Display for RunState {
    /// `RUN`, `STEP-RUN`, `STOP`, `PAUSE`, `UNKNOWN(n)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunState::Run => f.write_str("RUN"),
            RunState::StepRun => f.write_str("STEP-RUN"),
            RunState::Stop => f.write_str("STOP"),
            RunState::Pause => f.write_str("PAUSE"),
            RunState::Unknown(v) => write!(f, "UNKNOWN({v})"),
        }
    }
}

/// The STOP/PAUSE cause (SD203 b7–b4, §7.2) as text: 0 RUN/STOP key switch, 1 remote
/// contact, 2 peripheral / computer link / remote, 3 program instruction, 4 error.
pub fn stop_cause_text(cause: u16) -> &'static str {
    match cause {
        0 => "RUN/STOP switch",
        1 => "remote contact",
        2 => "peripheral, computer link or other remote source",
        3 => "internal program instruction",
        4 => "error",
        _ => "unknown cause",
    }
}

/// The CPU's self-diagnosis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuDiagnosis {
    /// The series the words were decoded for.
    pub series: Series,
    /// SM0: diagnostic error (annunciators included; latched).
    pub error: bool,
    /// SM1: self-diagnosis error (annunciators excluded): a CPU fault (§7.6).
    pub self_diagnosis_error: bool,
    /// SD0 as the CPU reports it (decimal meaning on Q/L, hexadecimal on iQ-R); see
    /// [`errors::describe`](crate::errors::describe).
    pub error_code: u16,
    /// Time of the SD0 update (Q/L: SD1–SD3 BCD; iQ-R: SD1–SD6 binary); `None` if zero or
    /// not a valid date.
    pub error_time: Option<NaiveDateTime>,
    /// SD4 (Q/L): b7–b0 common, b15–b8 individual information category (§7.2). 0 on iQ-R.
    pub detail_layout: u16,
    /// Q/L: SD5–SD26 (raw; layout per `detail_layout`). iQ-R: SD10–SD25, the up to 16
    /// self-diagnostic error codes.
    pub detail: Vec<u16>,
    /// SD203 b3–b0.
    pub run_state: RunState,
    /// SD203 b7–b4 when the CPU is in STOP or PAUSE (see [`stop_cause_text`]).
    pub stop_cause: Option<u16>,
    /// SD203 raw.
    pub sd203: u16,
    /// SM51: battery low (latched).
    pub battery_low: bool,
    /// SM56: operation error.
    pub operation_error: bool,
    /// SM60: blown fuse detected (remote I/O stations included).
    pub fuse_blown: bool,
    /// SM61: I/O module verification error.
    pub io_verify_error: bool,
    /// SM62: annunciator ON (an application alarm, not a CPU fault, without SM1; §7.6).
    pub annunciator: bool,
}

impl CpuDiagnosis {
    /// Word points of the random read, in order (see the module doc).
    pub const DEVICES: [Device; 30] = {
        let mut d = [Device::new(DeviceCode::Sd, 0); 30];
        let mut i = 0;
        while i < 27 {
            d[i] = Device::new(DeviceCode::Sd, i as u32);
            i += 1;
        }
        d[27] = Device::new(DeviceCode::Sd, 203);
        d[28] = Device::new(DeviceCode::Sm, 0);
        d[29] = Device::new(DeviceCode::Sm, 48);
        d
    };

    /// True for an error stop: STOP with cause 4 (§7.6).
    pub fn error_stop(&self) -> bool {
        self.run_state == RunState::Stop && self.stop_cause == Some(4)
    }

    /// Decodes the 30 words of [`CpuDiagnosis::DEVICES`]. Total: any 30 words decode.
    pub fn decode(series: Series, words: &[u16]) -> Result<CpuDiagnosis, DecodeError> {
        if words.len() != Self::DEVICES.len() {
            return Err(DecodeError::DataLengthMismatch {
                expected: Self::DEVICES.len() * 2,
                got: words.len() * 2,
            });
        }
        let sd = &words[..27];
        let sd203 = words[27];
        let sm0 = words[28];
        let sm48 = words[29];
        let bit48 = |n: u16| sm48 & (1 << (n - 48)) != 0;
        let run_state = RunState::from_sd203(sd203);
        let stop_cause =
            matches!(run_state, RunState::Stop | RunState::Pause).then_some((sd203 >> 4) & 0x000F);
        let (error_time, detail_layout, detail) = match series {
            Series::Q | Series::L => (bcd_time(sd[1], sd[2], sd[3]), sd[4], sd[5..27].to_vec()),
            Series::IqR => (
                bin_time(sd[1], sd[2], sd[3], sd[4], sd[5], sd[6]),
                0,
                sd[10..26].to_vec(),
            ),
        };
        Ok(CpuDiagnosis {
            series,
            error: sm0 & 0x0001 != 0,
            self_diagnosis_error: sm0 & 0x0002 != 0,
            error_code: sd[0],
            error_time,
            detail_layout,
            detail,
            run_state,
            stop_cause,
            sd203,
            battery_low: bit48(51),
            operation_error: bit48(56),
            fuse_blown: bit48(60),
            io_verify_error: bit48(61),
            annunciator: bit48(62),
        })
    }
}

fn bcd(b: u16) -> Option<u32> {
    let (hi, lo) = (u32::from(b >> 4), u32::from(b & 0x0F));
    (hi < 10 && lo < 10).then_some(hi * 10 + lo)
}

/// Q/L error time: SD1 year(2)/month, SD2 day/hour, SD3 minute/second, BCD (§7.2).
/// Two-digit years 80–99 are 19xx, others 20xx.
fn bcd_time(sd1: u16, sd2: u16, sd3: u16) -> Option<NaiveDateTime> {
    if sd1 == 0 && sd2 == 0 && sd3 == 0 {
        return None;
    }
    let yy = bcd(sd1 >> 8)?;
    let year = if yy >= 80 { 1900 + yy } else { 2000 + yy };
    let month = bcd(sd1 & 0xFF)?;
    let day = bcd(sd2 >> 8)?;
    let hour = bcd(sd2 & 0xFF)?;
    let minute = bcd(sd3 >> 8)?;
    let second = bcd(sd3 & 0xFF)?;
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?
        .and_hms_opt(hour, minute, second)
}

/// iQ-R error time: SD1 year (four digits), SD2 month, SD3 day, SD4 hour, SD5 minute,
/// SD6 second, binary (§7.3).
fn bin_time(y: u16, mo: u16, d: u16, h: u16, mi: u16, s: u16) -> Option<NaiveDateTime> {
    if y == 0 {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::from(y), u32::from(mo), u32::from(d))?.and_hms_opt(
        u32::from(h),
        u32::from(mi),
        u32::from(s),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Vec<u16> {
        vec![0; 30]
    }

    #[test]
    fn q_error_time_is_decoded_from_bcd_pairs_of_section_7_2() {
        let mut w = words();
        w[0] = 5000;
        w[1] = 0x9510; // October 1995
        w[2] = 0x2510; // 25th, 10 h
        w[3] = 0x3548; // 35 min 48 s
        w[27] = 0x0042; // STOP, cause 4 (error)
        w[28] = 0x0003;
        let d = CpuDiagnosis::decode(Series::Q, &w).unwrap();
        assert_eq!(d.error_time.unwrap().to_string(), "1995-10-25 10:35:48");
        assert!(d.error && d.self_diagnosis_error);
        assert_eq!(d.run_state, RunState::Stop);
        assert_eq!(d.stop_cause, Some(4));
        assert!(d.error_stop());
        assert_eq!(d.detail.len(), 22);
    }

    #[test]
    fn iqr_time_is_binary_and_detail_is_the_error_list() {
        let mut w = words();
        w[0] = 0x3C00;
        w[1] = 2024;
        w[2] = 2;
        w[3] = 29;
        w[4] = 23;
        w[5] = 59;
        w[6] = 58;
        w[10] = 0x1800;
        let d = CpuDiagnosis::decode(Series::IqR, &w).unwrap();
        assert_eq!(d.error_time.unwrap().to_string(), "2024-02-29 23:59:58");
        assert_eq!(d.detail.len(), 16);
        assert_eq!(d.detail[0], 0x1800);
        assert_eq!(d.run_state, RunState::Run);
        assert_eq!(d.stop_cause, None);
    }

    #[test]
    fn invalid_bcd_time_is_none_not_an_error() {
        let mut w = words();
        w[1] = 0x9A13;
        assert_eq!(
            CpuDiagnosis::decode(Series::L, &w).unwrap().error_time,
            None
        );
    }

    #[test]
    fn sm48_word_carries_battery_fuse_and_annunciator_flags() {
        let mut w = words();
        w[29] = (1 << 3) | (1 << 12) | (1 << 14);
        let d = CpuDiagnosis::decode(Series::Q, &w).unwrap();
        assert!(d.battery_low && d.fuse_blown && d.annunciator);
        assert!(!d.operation_error && !d.io_verify_error);
    }

    #[test]
    fn run_state_displays_like_the_manual() {
        assert_eq!(RunState::from_sd203(0x0001).to_string(), "STEP-RUN");
        assert_eq!(RunState::from_sd203(0x0023).to_string(), "PAUSE");
        assert_eq!(RunState::from_sd203(0x0009).to_string(), "UNKNOWN(9)");
    }
}
