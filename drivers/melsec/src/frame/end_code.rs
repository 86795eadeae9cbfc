//! MC/SLMP end codes (`melsec-cclink.md` §1.6, §7.4): the device's answer to a request it
//! did not execute. An end code is a device answer, never a communication failure.

use std::fmt;

/// A non-zero end code of a 3E/4E response (`melsec-cclink.md` §1.6). `0000` (normal
/// completion) is not an `EndCode`; it is a data response. Unknown codes are kept raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndCode {
    /// `4000`–`4FFF`: error detected by the CPU (not an MC-protocol error); a different code
    /// space from the SD0 self-diagnostic codes (§1.6, §7.4).
    CpuDetected(u16),
    /// `0055`: online change disabled; write to a RUN CPU refused (QnUDE built-in, §1.6).
    OnlineChangeDisabled,
    /// `C050`: ASCII code set; data not convertible to binary.
    AsciiNotConvertible,
    /// `C051`–`C054`: number of read/write points out of range. Published tables disagree on
    /// the per-code split (word vs bit, batch vs random; §1.6, §8.3), so it is one class here.
    PointsOutOfRange(u16),
    /// `C056`: read/write request exceeds the maximum address.
    AddressOutOfRange,
    /// `C058`: ASCII request length mismatch after conversion.
    AsciiLengthMismatch,
    /// `C059`: command or subcommand not usable by this CPU. To `0101` on QnU/LCPU built-in
    /// ports this means "model unknown", not a link failure (§1.3).
    WrongCommand,
    /// `C05B`: device cannot be accessed (device code unsupported).
    DeviceNotAccessible,
    /// `C05C`: request content error, e.g. bit-unit access to a word device; on FX5 also
    /// "device family absent" (field measurement, §1.6).
    RequestContentError,
    /// `C05F`: request cannot be executed for the target (wrong network/station/I/O No.).
    CannotExecuteForTarget,
    /// `C060`: bit-device data error (write).
    BitDataError,
    /// `C061`: request data length does not match the data that followed L.
    LengthMismatch,
    /// `C06F`: ASCII request to a binary entry or vice versa (normally no response is sent).
    AsciiBinaryMismatch,
    /// `C0B2`: receive buffer full; throttle.
    ReceiveBufferFull,
    /// `C0BD`: successive requests; throttle.
    SuccessiveRequests,
    /// `C200`–`C205`, `C810`–`C816`: remote password error or lockout.
    RemotePassword(u16),
    /// `7000`–`7FFF`: error of a serial communication module (§7.4).
    SerialModule(u16),
    /// `B000`–`BFFF`: error of a CC-Link module (§7.4).
    CcLinkModule(u16),
    /// `F000`–`FFFF`: error of a MELSECNET module (§7.4).
    MelsecNetModule(u16),
    /// Any other code, kept raw.
    Unknown(u16),
}

impl EndCode {
    /// The end code for a raw non-zero word (`0` maps to `Unknown(0)`; callers treat 0 as
    /// normal completion before calling this).
    pub fn from_code(code: u16) -> EndCode {
        match code {
            0x4000..=0x4FFF => EndCode::CpuDetected(code),
            0x0055 => EndCode::OnlineChangeDisabled,
            0xC050 => EndCode::AsciiNotConvertible,
            0xC051..=0xC054 => EndCode::PointsOutOfRange(code),
            0xC056 => EndCode::AddressOutOfRange,
            0xC058 => EndCode::AsciiLengthMismatch,
            0xC059 => EndCode::WrongCommand,
            0xC05B => EndCode::DeviceNotAccessible,
            0xC05C => EndCode::RequestContentError,
            0xC05F => EndCode::CannotExecuteForTarget,
            0xC060 => EndCode::BitDataError,
            0xC061 => EndCode::LengthMismatch,
            0xC06F => EndCode::AsciiBinaryMismatch,
            0xC0B2 => EndCode::ReceiveBufferFull,
            0xC0BD => EndCode::SuccessiveRequests,
            0xC200..=0xC205 | 0xC810..=0xC816 => EndCode::RemotePassword(code),
            0x7000..=0x7FFF => EndCode::SerialModule(code),
            0xB000..=0xBFFF => EndCode::CcLinkModule(code),
            0xF000..=0xFFFF => EndCode::MelsecNetModule(code),
            other => EndCode::Unknown(other),
        }
    }

    /// The raw word.
    pub fn code(self) -> u16 {
        match self {
            EndCode::CpuDetected(c)
            | EndCode::PointsOutOfRange(c)
            | EndCode::RemotePassword(c)
            | EndCode::SerialModule(c)
            | EndCode::CcLinkModule(c)
            | EndCode::MelsecNetModule(c)
            | EndCode::Unknown(c) => c,
            EndCode::OnlineChangeDisabled => 0x0055,
            EndCode::AsciiNotConvertible => 0xC050,
            EndCode::AddressOutOfRange => 0xC056,
            EndCode::AsciiLengthMismatch => 0xC058,
            EndCode::WrongCommand => 0xC059,
            EndCode::DeviceNotAccessible => 0xC05B,
            EndCode::RequestContentError => 0xC05C,
            EndCode::CannotExecuteForTarget => 0xC05F,
            EndCode::BitDataError => 0xC060,
            EndCode::LengthMismatch => 0xC061,
            EndCode::AsciiBinaryMismatch => 0xC06F,
            EndCode::ReceiveBufferFull => 0xC0B2,
            EndCode::SuccessiveRequests => 0xC0BD,
        }
    }

    /// A short English meaning (§1.6).
    pub fn meaning(self) -> &'static str {
        match self {
            EndCode::CpuDetected(_) => "error detected by the CPU (see the CPU manual)",
            EndCode::OnlineChangeDisabled => "online change disabled (write to a RUN CPU refused)",
            EndCode::AsciiNotConvertible => "ASCII data not convertible to binary",
            EndCode::PointsOutOfRange(_) => "number of read/write points out of range",
            EndCode::AddressOutOfRange => "request exceeds the maximum device address",
            EndCode::AsciiLengthMismatch => "ASCII request length mismatch",
            EndCode::WrongCommand => "wrong command or subcommand",
            EndCode::DeviceNotAccessible => "device cannot be accessed (device code unsupported)",
            EndCode::RequestContentError => {
                "request content error (e.g. bit access to a word device)"
            }
            EndCode::CannotExecuteForTarget => {
                "request cannot be executed for the target (network/station/I/O No.)"
            }
            EndCode::BitDataError => "bit device data error",
            EndCode::LengthMismatch => "request data length does not match",
            EndCode::AsciiBinaryMismatch => "ASCII/binary code mismatch with the port setting",
            EndCode::ReceiveBufferFull => "receive buffer full (throttle)",
            EndCode::SuccessiveRequests => "successive requests (throttle)",
            EndCode::RemotePassword(_) => "remote password error or lockout",
            EndCode::SerialModule(_) => "error reported by a serial communication module",
            EndCode::CcLinkModule(_) => "error reported by a CC-Link module",
            EndCode::MelsecNetModule(_) => "error reported by a MELSECNET module",
            EndCode::Unknown(_) => "unknown end code",
        }
    }

    /// True for `C059`: the command is not offered by this CPU or path; the gateway shows
    /// "unsupported", not an error.
    pub fn unsupported(self) -> bool {
        self == EndCode::WrongCommand
    }
}

impl fmt::Display for EndCode {
    /// `C059: wrong command or subcommand (0xC059)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04X}: {} (0x{:04X})",
            self.code(),
            self.meaning(),
            self.code()
        )
    }
}
