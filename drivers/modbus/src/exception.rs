//! Modbus exception codes: "the device said no".

use std::fmt;

/// An exception code from a Modbus exception response (Modbus Application Protocol
/// Specification V1.1b3, §7 "MODBUS Exception Responses": the server sets the function
/// code's high bit and sends one of these codes).
///
/// Unknown codes are kept as [`ExceptionCode::Unknown`] so the UI can show the raw number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExceptionCode {
    /// 0x01 ILLEGAL FUNCTION: the function code is not allowed for the server (§7).
    IllegalFunction,
    /// 0x02 ILLEGAL DATA ADDRESS: the address (or address plus quantity) is not allowed for
    /// the server (§7).
    IllegalDataAddress,
    /// 0x03 ILLEGAL DATA VALUE: a value in the request, e.g. the quantity, is not allowed
    /// (§7; §6.1–§6.4 use it for quantities outside 1..2000 / 1..125).
    IllegalDataValue,
    /// 0x04 SERVER DEVICE FAILURE: an unrecoverable error while performing the action (§7).
    ServerDeviceFailure,
    /// 0x05 ACKNOWLEDGE: accepted, but processing takes long; poll later (§7).
    Acknowledge,
    /// 0x06 SERVER DEVICE BUSY: the server is busy with a long command; retry later (§7).
    ServerDeviceBusy,
    /// 0x08 MEMORY PARITY ERROR: parity error in extended file memory (FC20/21) (§7).
    MemoryParityError,
    /// 0x0A GATEWAY PATH UNAVAILABLE: the gateway could not route the request (§7).
    GatewayPathUnavailable,
    /// 0x0B GATEWAY TARGET DEVICE FAILED TO RESPOND: no answer from the device behind the
    /// gateway (§7).
    GatewayTargetDeviceFailedToRespond,
    /// A code the specification does not define.
    Unknown(u8),
}

impl ExceptionCode {
    /// The code for a raw byte.
    pub fn from_code(code: u8) -> Self {
        match code {
            0x01 => ExceptionCode::IllegalFunction,
            0x02 => ExceptionCode::IllegalDataAddress,
            0x03 => ExceptionCode::IllegalDataValue,
            0x04 => ExceptionCode::ServerDeviceFailure,
            0x05 => ExceptionCode::Acknowledge,
            0x06 => ExceptionCode::ServerDeviceBusy,
            0x08 => ExceptionCode::MemoryParityError,
            0x0A => ExceptionCode::GatewayPathUnavailable,
            0x0B => ExceptionCode::GatewayTargetDeviceFailedToRespond,
            other => ExceptionCode::Unknown(other),
        }
    }

    /// The raw byte.
    pub fn code(self) -> u8 {
        match self {
            ExceptionCode::IllegalFunction => 0x01,
            ExceptionCode::IllegalDataAddress => 0x02,
            ExceptionCode::IllegalDataValue => 0x03,
            ExceptionCode::ServerDeviceFailure => 0x04,
            ExceptionCode::Acknowledge => 0x05,
            ExceptionCode::ServerDeviceBusy => 0x06,
            ExceptionCode::MemoryParityError => 0x08,
            ExceptionCode::GatewayPathUnavailable => 0x0A,
            ExceptionCode::GatewayTargetDeviceFailedToRespond => 0x0B,
            ExceptionCode::Unknown(code) => code,
        }
    }

    /// The specification's name in title case, e.g. "Illegal Data Address".
    pub fn name(self) -> &'static str {
        match self {
            ExceptionCode::IllegalFunction => "Illegal Function",
            ExceptionCode::IllegalDataAddress => "Illegal Data Address",
            ExceptionCode::IllegalDataValue => "Illegal Data Value",
            ExceptionCode::ServerDeviceFailure => "Server Device Failure",
            ExceptionCode::Acknowledge => "Acknowledge",
            ExceptionCode::ServerDeviceBusy => "Server Device Busy",
            ExceptionCode::MemoryParityError => "Memory Parity Error",
            ExceptionCode::GatewayPathUnavailable => "Gateway Path Unavailable",
            ExceptionCode::GatewayTargetDeviceFailedToRespond => {
                "Gateway Target Device Failed to Respond"
            }
            ExceptionCode::Unknown(_) => "Unknown Exception",
        }
    }
}

impl From<u8> for ExceptionCode {
    fn from(code: u8) -> Self {
        ExceptionCode::from_code(code)
    }
}

impl From<ExceptionCode> for u8 {
    fn from(code: ExceptionCode) -> Self {
        code.code()
    }
}

impl fmt::Display for ExceptionCode {
    /// E.g. "Illegal Data Address (0x02)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:02X})", self.name(), self.code())
    }
}

impl From<tokio_modbus::ExceptionCode> for ExceptionCode {
    fn from(code: tokio_modbus::ExceptionCode) -> Self {
        ExceptionCode::from_code(code.into())
    }
}

impl From<ExceptionCode> for tokio_modbus::ExceptionCode {
    fn from(code: ExceptionCode) -> Self {
        tokio_modbus::ExceptionCode::new(code.code())
    }
}
