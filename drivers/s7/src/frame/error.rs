//! Decode errors and the device's error and return codes (reference `s7.md` §7).

use std::fmt;

/// A frame or record could not be decoded: a communication failure, never a device answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than the layout needs.
    #[error("truncated: needed {needed} bytes, got {got}")]
    Truncated {
        /// Bytes the layout needs.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
    /// A length field is outside the allowed range (TPKT length, COTP LI, S7 lengths).
    #[error("bad length {declared} (allowed at most {max})")]
    BadLength {
        /// The length the frame declares.
        declared: usize,
        /// The allowed maximum (or the available bytes).
        max: usize,
    },
    /// TPKT version is not 3 (RFC 1006, `s7.md` §1.1).
    #[error("bad TPKT version 0x{0:02X} (expected 0x03)")]
    BadTpktVersion(u8),
    /// The S7 protocol id is not 0x32 (`s7.md` §1.3; 0x72 is S7CommPlus).
    #[error("bad S7 protocol id 0x{0:02X} (expected 0x32)")]
    BadProtocolId(u8),
    /// A PDU type (COTP type, ROSCTR, function code) that is not expected here.
    #[error("unexpected PDU type 0x{0:02X}")]
    UnexpectedPdu(u8),
    /// A userdata parameter block does not start with `00 01 12` (`s7.md` §2.1).
    #[error("bad userdata parameter head {0:02X?}")]
    BadParamHead([u8; 3]),
    /// A read-var item specification does not start with `12 0A 10`.
    #[error("bad variable specification head {0:02X?}")]
    BadItemHead([u8; 3]),
    /// A field holds a value the layout does not allow.
    #[error("bad value 0x{value:X} in field {field}")]
    BadValue {
        /// The field's name.
        field: &'static str,
        /// The raw value.
        value: u32,
    },
    /// An SZL record has another length than its layout (`s7.md` §3).
    #[error("SZL record length {got}, expected at least {expected}")]
    BadRecordLength {
        /// The layout's record length.
        expected: usize,
        /// The record length received.
        got: usize,
    },
    /// The SZL answer is for another SZL-ID/index than requested.
    #[error("SZL answer for {got_id:#06X}/{got_index:#06X}, requested {id:#06X}/{index:#06X}")]
    SzlMismatch {
        /// Requested SZL-ID.
        id: u16,
        /// Requested index.
        index: u16,
        /// SZL-ID in the answer.
        got_id: u16,
        /// Index in the answer.
        got_index: u16,
    },
    /// A reassembled SZL answer holds fewer bytes than `N_DR × LENTHDR` (`s7.md` §2.4 rule 4).
    #[error(
        "SZL list truncated: {records} records of {record_len} bytes declared, {got} bytes received"
    )]
    SzlTruncated {
        /// N_DR.
        records: u16,
        /// LENTHDR.
        record_len: u16,
        /// Record bytes received.
        got: usize,
    },
}

/// A header error class and code of an Ack/Ack_Data (`s7.md` §1.3, §7.1). `0/0` is success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HeaderError {
    /// Error class, e.g. 0x81 application relationship, 0x85 supplies (`s7.md` §7.1).
    pub class: u8,
    /// Error code within the class.
    pub code: u8,
}

impl HeaderError {
    /// No error.
    pub const OK: HeaderError = HeaderError { class: 0, code: 0 };

    /// True for class 0, code 0.
    pub fn is_ok(self) -> bool {
        self.class == 0 && self.code == 0
    }

    /// Meaning of the error class (`s7.md` §7.1, Wireshark errcls table).
    pub fn class_meaning(self) -> &'static str {
        match self.class {
            0x00 => "no error",
            0x81 => "application relationship error",
            0x82 => "object definition error",
            0x83 => "no resources available",
            0x84 => "error on service processing",
            0x85 => "error on supplies",
            0x87 => "access error",
            _ => "unknown error class",
        }
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (class 0x{:02X}, code 0x{:02X})",
            self.class_meaning(),
            self.class,
            self.code
        )
    }
}

/// A parameter error code (userdata parameter bytes 10–11, Ack_Data parameters), `s7.md` §7.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamErrorCode {
    /// 0x0000: no error.
    NoError,
    /// 0x8104: service not implemented / frame error; commonly PUT/GET not enabled on
    /// S7-1200/1500 (§7.2).
    ServiceNotImplemented,
    /// 0x8500: wrong PDU size (§7.2).
    WrongPduSize,
    /// 0x8001: not allowed in current state (§7.2).
    NotAllowedInState,
    /// 0x8304: no further parallel upload (§7.2).
    NoParallelUpload,
    /// 0xD401: SZL information function unavailable (invalid SZL-ID) (§7.2).
    SzlIdNotAvailable,
    /// 0xD402: SZL information function unavailable (invalid index; the Snap7 server uses it
    /// for every unknown SZL) (§7.2).
    SzlIndexNotAvailable,
    /// 0xD404: maximum number of logged-on nodes (§7.2).
    MaxNodes,
    /// 0xD406: information currently not available (§7.2).
    InfoNotAvailableNow,
    /// 0xD0A1: protection level (§7.2).
    ProtectionLevel,
    /// 0xD241: protection level (§7.2).
    ProtectionLevel2,
    /// 0xDC01: invalid date/time (§7.2).
    InvalidDateTime,
    /// Any other code, kept raw.
    Unknown(u16),
}

impl ParamErrorCode {
    /// The code for a raw word.
    pub fn from_code(code: u16) -> Self {
        match code {
            0x0000 => Self::NoError,
            0x8104 => Self::ServiceNotImplemented,
            0x8500 => Self::WrongPduSize,
            0x8001 => Self::NotAllowedInState,
            0x8304 => Self::NoParallelUpload,
            0xD401 => Self::SzlIdNotAvailable,
            0xD402 => Self::SzlIndexNotAvailable,
            0xD404 => Self::MaxNodes,
            0xD406 => Self::InfoNotAvailableNow,
            0xD0A1 => Self::ProtectionLevel,
            0xD241 => Self::ProtectionLevel2,
            0xDC01 => Self::InvalidDateTime,
            other => Self::Unknown(other),
        }
    }

    /// The raw word.
    pub fn code(self) -> u16 {
        match self {
            Self::NoError => 0x0000,
            Self::ServiceNotImplemented => 0x8104,
            Self::WrongPduSize => 0x8500,
            Self::NotAllowedInState => 0x8001,
            Self::NoParallelUpload => 0x8304,
            Self::SzlIdNotAvailable => 0xD401,
            Self::SzlIndexNotAvailable => 0xD402,
            Self::MaxNodes => 0xD404,
            Self::InfoNotAvailableNow => 0xD406,
            Self::ProtectionLevel => 0xD0A1,
            Self::ProtectionLevel2 => 0xD241,
            Self::InvalidDateTime => 0xDC01,
            Self::Unknown(code) => code,
        }
    }

    /// A short meaning.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::NoError => "no error",
            Self::ServiceNotImplemented => "service not implemented (PUT/GET not enabled?)",
            Self::WrongPduSize => "wrong PDU size",
            Self::NotAllowedInState => "not allowed in current state",
            Self::NoParallelUpload => "no further parallel upload",
            Self::SzlIdNotAvailable | Self::SzlIndexNotAvailable => "SZL not available",
            Self::MaxNodes => "maximum number of logged-on nodes",
            Self::InfoNotAvailableNow => "information currently not available",
            Self::ProtectionLevel | Self::ProtectionLevel2 => "protection level",
            Self::InvalidDateTime => "invalid date/time",
            Self::Unknown(_) => "unknown parameter error",
        }
    }
}

impl fmt::Display for ParamErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:04X})", self.meaning(), self.code())
    }
}

/// A data return code: the first byte of a read-var data item or a userdata data part
/// (`s7.md` §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReturnCode {
    /// 0xFF: success.
    Success,
    /// 0x0A: object does not exist (SZL-ID/index unsupported, DB missing) (§7.3).
    ObjectDoesNotExist,
    /// 0x05: invalid address / out of range (§7.3).
    InvalidAddress,
    /// 0x03: access not allowed (§7.3).
    AccessDenied,
    /// 0x01: hardware fault (§7.3).
    HardwareFault,
    /// 0x06: data type not supported (§7.3).
    DataTypeNotSupported,
    /// 0x07: data type inconsistent (§7.3).
    DataTypeInconsistent,
    /// 0x00: reserved (§7.3).
    Reserved,
    /// Any other code, kept raw.
    Unknown(u8),
}

impl ReturnCode {
    /// The code for a raw byte.
    pub fn from_code(code: u8) -> Self {
        match code {
            0xFF => Self::Success,
            0x0A => Self::ObjectDoesNotExist,
            0x05 => Self::InvalidAddress,
            0x03 => Self::AccessDenied,
            0x01 => Self::HardwareFault,
            0x06 => Self::DataTypeNotSupported,
            0x07 => Self::DataTypeInconsistent,
            0x00 => Self::Reserved,
            other => Self::Unknown(other),
        }
    }

    /// The raw byte.
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0xFF,
            Self::ObjectDoesNotExist => 0x0A,
            Self::InvalidAddress => 0x05,
            Self::AccessDenied => 0x03,
            Self::HardwareFault => 0x01,
            Self::DataTypeNotSupported => 0x06,
            Self::DataTypeInconsistent => 0x07,
            Self::Reserved => 0x00,
            Self::Unknown(code) => code,
        }
    }

    /// True for 0xFF.
    pub fn is_success(self) -> bool {
        self == Self::Success
    }

    /// A short meaning.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::ObjectDoesNotExist => "object does not exist",
            Self::InvalidAddress => "invalid address",
            Self::AccessDenied => "access not allowed",
            Self::HardwareFault => "hardware fault",
            Self::DataTypeNotSupported => "data type not supported",
            Self::DataTypeInconsistent => "data type inconsistent",
            Self::Reserved => "reserved",
            Self::Unknown(_) => "unknown return code",
        }
    }
}

impl fmt::Display for ReturnCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:02X})", self.meaning(), self.code())
    }
}

/// Checks that `buf` holds at least `needed` bytes.
pub(crate) fn need(buf: &[u8], needed: usize) -> Result<(), DecodeError> {
    if buf.len() < needed {
        Err(DecodeError::Truncated {
            needed,
            got: buf.len(),
        })
    } else {
        Ok(())
    }
}

/// Big-endian u16 at `at` (caller checked the length).
pub(crate) fn be16(buf: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([buf[at], buf[at + 1]])
}

/// Big-endian u32 at `at` (caller checked the length).
pub(crate) fn be32(buf: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}
