//! Tag addresses (`D100:INT`, `M20`, `W1A:UINT`), value types and decoded values.
//!
//! Words are read as `u16` (`melsec-cclink.md` §1.5); 32-bit types take two consecutive
//! words, **low word first** (§1.5). A typed tag on a bit device (`X0:UINT`) reads 16
//! consecutive bits as one word, head device = LSB (§1.5).

use std::fmt;
use std::str::FromStr;

use crate::frame::{DecodeError, Device, EndCode, ParseDeviceError};

/// How a tag's points are interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WordType {
    /// One bit of a bit device (`M20`, `X1F`, `SB0040`).
    Bit,
    /// `INT`: signed 16-bit (the default for word devices).
    Int,
    /// `UINT`/`WORD`: unsigned 16-bit.
    Uint,
    /// `DINT`: signed 32-bit, two words, low word first.
    Dint,
    /// `UDINT`/`DWORD`: unsigned 32-bit, two words, low word first.
    Udint,
    /// `REAL`: IEEE-754 single precision, two words, low word first.
    Real,
}

impl WordType {
    /// Words the type occupies (0 for [`WordType::Bit`]).
    pub fn words(self) -> u16 {
        match self {
            WordType::Bit => 0,
            WordType::Int | WordType::Uint => 1,
            WordType::Dint | WordType::Udint | WordType::Real => 2,
        }
    }

    /// The name used in addresses (`INT`, `REAL`, …; `BIT` for bits).
    pub fn name(self) -> &'static str {
        match self {
            WordType::Bit => "BIT",
            WordType::Int => "INT",
            WordType::Uint => "UINT",
            WordType::Dint => "DINT",
            WordType::Udint => "UDINT",
            WordType::Real => "REAL",
        }
    }

    fn from_name(s: &str) -> Option<WordType> {
        Some(match s.to_ascii_uppercase().as_str() {
            "BIT" | "BOOL" => WordType::Bit,
            "INT" => WordType::Int,
            "UINT" | "WORD" => WordType::Uint,
            "DINT" => WordType::Dint,
            "UDINT" | "DWORD" => WordType::Udint,
            "REAL" => WordType::Real,
            _ => return None,
        })
    }

    /// Decodes the type from its words (exactly [`WordType::words`] of them).
    pub fn decode_words(self, words: &[u16]) -> Result<TagValue, DecodeError> {
        let dword = |lo: u16, hi: u16| u32::from(lo) | (u32::from(hi) << 16);
        match (self, words) {
            (WordType::Int, [w]) => Ok(TagValue::Int(i16::from_le_bytes(w.to_le_bytes()))),
            (WordType::Uint, [w]) => Ok(TagValue::Uint(*w)),
            (WordType::Dint, [lo, hi]) => Ok(TagValue::Dint(i32::from_le_bytes(
                dword(*lo, *hi).to_le_bytes(),
            ))),
            (WordType::Udint, [lo, hi]) => Ok(TagValue::Udint(dword(*lo, *hi))),
            (WordType::Real, [lo, hi]) => Ok(TagValue::Real(f32::from_bits(dword(*lo, *hi)))),
            _ => Err(DecodeError::DataLengthMismatch {
                expected: usize::from(self.words()) * 2,
                got: words.len() * 2,
            }),
        }
    }
}

impl fmt::Display for WordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A tag: a device and how to read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TagAddress {
    /// The (head) device.
    pub device: Device,
    /// The value type.
    pub data_type: WordType,
}

/// A tag address that does not parse. Every variant names the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The device part does not parse.
    #[error("bad tag address: {0}")]
    Device(#[from] ParseDeviceError),
    /// The type after `:` is unknown.
    #[error("{input:?}: unknown type {ty:?} (expected BIT, INT, UINT, DINT, UDINT or REAL)")]
    UnknownType {
        /// The input.
        input: String,
        /// The type text.
        ty: String,
    },
    /// `BIT` on a word device (bit-of-word addressing is not supported).
    #[error("{input:?}: BIT needs a bit device (M, X, Y, B, SB, SM, …), not a word device")]
    BitOnWordDevice {
        /// The input.
        input: String,
    },
}

impl FromStr for TagAddress {
    type Err = AddressError;

    /// `D100:INT`, `D200:REAL`, `M20` (bit device → BIT), `X1F`, `W1A:UINT`; a word device
    /// without a type is `INT`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let (dev, ty) = match t.split_once(':') {
            Some((d, ty)) => (d, Some(ty.trim())),
            None => (t, None),
        };
        let device: Device = dev.parse()?;
        let data_type = match ty {
            None if device.code.is_bit() => WordType::Bit,
            None => WordType::Int,
            Some(ty) => WordType::from_name(ty).ok_or_else(|| AddressError::UnknownType {
                input: s.to_owned(),
                ty: ty.to_owned(),
            })?,
        };
        if data_type == WordType::Bit && !device.code.is_bit() {
            return Err(AddressError::BitOnWordDevice {
                input: s.to_owned(),
            });
        }
        Ok(TagAddress { device, data_type })
    }
}

impl fmt::Display for TagAddress {
    /// `M20` for bits, `D100:INT` otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.data_type == WordType::Bit {
            write!(f, "{}", self.device)
        } else {
            write!(f, "{}:{}", self.device, self.data_type)
        }
    }
}

/// A decoded tag value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TagValue {
    /// A bit.
    Bool(bool),
    /// `INT`.
    Int(i16),
    /// `UINT`.
    Uint(u16),
    /// `DINT`.
    Dint(i32),
    /// `UDINT`.
    Udint(u32),
    /// `REAL`.
    Real(f32),
}

impl TagValue {
    /// The value as `f64` (bits: 0.0 / 1.0).
    pub fn as_f64(&self) -> f64 {
        match *self {
            TagValue::Bool(b) => f64::from(u8::from(b)),
            TagValue::Int(v) => f64::from(v),
            TagValue::Uint(v) => f64::from(v),
            TagValue::Dint(v) => f64::from(v),
            TagValue::Udint(v) => f64::from(v),
            TagValue::Real(v) => f64::from(v),
        }
    }
}

impl fmt::Display for TagValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagValue::Bool(b) => write!(f, "{}", u8::from(*b)),
            TagValue::Int(v) => write!(f, "{v}"),
            TagValue::Uint(v) => write!(f, "{v}"),
            TagValue::Dint(v) => write!(f, "{v}"),
            TagValue::Udint(v) => write!(f, "{v}"),
            TagValue::Real(v) => write!(f, "{v}"),
        }
    }
}

/// Why one tag has no value although the connection is fine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    /// The CPU refused the read that carried this tag.
    #[error("refused: {0}")]
    EndCode(EndCode),
    /// The answer to the read that carried this tag had the wrong data length (the frame
    /// itself was well delimited, so the connection stays in sync).
    #[error("bad answer: {0}")]
    Decode(DecodeError),
}
