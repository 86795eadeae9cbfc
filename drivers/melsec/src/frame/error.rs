//! Decode errors (STYLE.md practice 3): a malformed frame is a communication failure, never a
//! device answer. Device answers are [`EndCode`](super::EndCode)s.

/// A frame or a data block could not be decoded.
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
    /// The length field L is larger than the allowed maximum (checked before buffering).
    #[error("bad length {declared} (allowed at most {max})")]
    BadLength {
        /// The length the frame declares.
        declared: usize,
        /// The allowed maximum.
        max: usize,
    },
    /// The length field L is smaller than the fixed part it must cover (timer + command +
    /// subcommand = 6 for a request, end code = 2 for a response; `melsec-cclink.md` §1.1).
    #[error("length {declared} shorter than the minimum {min}")]
    ShortLength {
        /// The length the frame declares.
        declared: usize,
        /// The minimum for this frame kind.
        min: usize,
    },
    /// The subheader is none of `50 00`, `D0 00`, `54 00`, `D4 00` (or not the direction
    /// expected). The value is the two bytes read big-endian, e.g. `0x5000`.
    #[error("bad subheader 0x{0:04X}")]
    BadSubheader(u16),
    /// Bytes follow the end of the frame that L declares.
    #[error("{extra} bytes after the end of the frame")]
    TrailingBytes {
        /// Number of extra bytes.
        extra: usize,
    },
    /// The request data of a known command has another length than its layout.
    #[error(
        "command {command:04X}/{subcommand:04X}: request data of {got} bytes, expected {expected}"
    )]
    BadDataLength {
        /// Command.
        command: u16,
        /// Subcommand.
        subcommand: u16,
        /// Bytes the layout needs.
        expected: usize,
        /// Bytes present.
        got: usize,
    },
    /// The response data has another length than the request implies (e.g. 2 bytes per word).
    #[error("response data of {got} bytes, expected {expected} for the request")]
    DataLengthMismatch {
        /// Bytes the request implies.
        expected: usize,
        /// Bytes received.
        got: usize,
    },
    /// A device code that is not in the table of `melsec-cclink.md` §1.4.
    #[error("unknown device code 0x{0:04X}")]
    UnknownDeviceCode(u16),
    /// A field holds a value the layout does not allow.
    #[error("bad value 0x{value:X} in field {field}")]
    BadValue {
        /// The field's name.
        field: &'static str,
        /// The raw value.
        value: u32,
    },
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

/// Little-endian u16 at `at` (caller checked the length).
pub(crate) fn le16(buf: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([buf[at], buf[at + 1]])
}
