//! Read-var addresses in STEP 7 syntax and their values.
//!
//! Accepted forms (case-insensitive, English and German mnemonics):
//! `DB10.DBX4.1`, `DB10.DBB4`, `DB10.DBW4`, `DB10.DBD4`, `M12.3`, `MB5`, `MW10`, `MD20`,
//! `I0.1`/`E0.1`, `IB0`/`EB0`, `IW64`/`EW64`, `ID0`/`ED0`, `Q3.0`/`A3.0`, `QB3`/`AB3`, `QW`/`AW`,
//! `QD`/`AD`, `T5`, `C7`/`Z7`. An optional suffix chooses the interpretation:
//! `:REAL`, `:DINT`, `:DWORD` (on D), `:INT`, `:WORD` (on W), `:BYTE`, `:CHAR`,
//! `:STRING[n]` (on B: an S7 STRING of max length n at that byte, n + 2 bytes).
//! [`VarAddress`]'s `Display` gives the canonical English form, which parses back to the
//! same address.

use std::fmt;
use std::str::FromStr;

use crate::frame::var::{
    AREA_COUNTERS, AREA_DB, AREA_INPUTS, AREA_MARKERS, AREA_OUTPUTS, AREA_TIMERS,
};
use crate::frame::{DecodeError, ReturnCode};

/// A memory area for read-var.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Area {
    /// Process inputs (I / E), area code 0x81.
    Inputs,
    /// Process outputs (Q / A), area code 0x82.
    Outputs,
    /// Markers / flags (M), area code 0x83.
    Markers,
    /// A data block (DB n), area code 0x84.
    DataBlock(u16),
    /// S7 timers (T), area code 0x1D.
    Timers,
    /// S7 counters (C / Z), area code 0x1C.
    Counters,
}

impl Area {
    /// Area code and DB number for the S7ANY item.
    pub fn code(self) -> (u8, u16) {
        match self {
            Area::Inputs => (AREA_INPUTS, 0),
            Area::Outputs => (AREA_OUTPUTS, 0),
            Area::Markers => (AREA_MARKERS, 0),
            Area::DataBlock(n) => (AREA_DB, n),
            Area::Timers => (AREA_TIMERS, 0),
            Area::Counters => (AREA_COUNTERS, 0),
        }
    }
}

/// How the bytes at an address are read and interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VarType {
    /// One bit (0..=7) of the byte.
    Bit(u8),
    /// BYTE (unsigned 8 bit).
    Byte,
    /// WORD (unsigned 16 bit).
    Word,
    /// INT (signed 16 bit).
    Int,
    /// DWORD (unsigned 32 bit).
    DWord,
    /// DINT (signed 32 bit).
    DInt,
    /// REAL (IEEE 754 single).
    Real,
    /// S7 STRING with this maximum length: max(1) | actual(1) | chars (n + 2 bytes).
    String(u8),
    /// CHAR (one Latin-1 byte).
    Char,
    /// S7 timer word (S5TIME), area T.
    Timer,
    /// S7 counter word, area C.
    Counter,
}

impl VarType {
    /// Bytes the value occupies (timers and counters: 2 bytes per element).
    pub fn byte_len(self) -> usize {
        match self {
            VarType::Bit(_) | VarType::Byte | VarType::Char => 1,
            VarType::Word | VarType::Int | VarType::Timer | VarType::Counter => 2,
            VarType::DWord | VarType::DInt | VarType::Real => 4,
            VarType::String(n) => usize::from(n) + 2,
        }
    }
}

/// A read-var address: area, byte offset (or timer/counter number) and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VarAddress {
    /// The area.
    pub area: Area,
    /// Byte offset in the area, or the timer/counter number.
    pub byte: u32,
    /// The type.
    pub var_type: VarType,
}

/// Largest byte offset accepted (S7-300/400 DBs are at most 64 KiB).
pub const MAX_BYTE: u32 = 0xFFFF;

/// An address that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid S7 address {input:?}: {reason}")]
pub struct AddressError {
    /// The input as given.
    pub input: String,
    /// What is wrong.
    pub reason: &'static str,
}

fn num<T: FromStr>(s: &str) -> Option<T> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

impl FromStr for VarAddress {
    type Err = AddressError;

    fn from_str(input: &str) -> Result<Self, AddressError> {
        let err = |reason| AddressError {
            input: input.to_string(),
            reason,
        };
        let upper = input.trim().to_ascii_uppercase();
        let (main, suffix) = match upper.split_once(':') {
            Some((m, s)) => (m.trim(), Some(s.trim())),
            None => (upper.as_str(), None),
        };
        // Area and the rest ("X4.1", "B4", "W4", "D4", "4.1", "5" for T/C).
        let (area, rest) = if let Some(r) = main.strip_prefix("DB") {
            let (db, r) = r
                .split_once('.')
                .ok_or_else(|| err("expected DBn.DBX/DBB/DBW/DBD"))?;
            let db: u16 = num(db).ok_or_else(|| err("bad DB number"))?;
            if db == 0 {
                return Err(err("DB number must be at least 1"));
            }
            let r = r
                .strip_prefix("DB")
                .ok_or_else(|| err("expected DBX, DBB, DBW or DBD after the DB number"))?;
            if !r.starts_with(['X', 'B', 'W', 'D']) {
                return Err(err("expected DBX, DBB, DBW or DBD after the DB number"));
            }
            (Area::DataBlock(db), r)
        } else if let Some(r) = main.strip_prefix('M') {
            (Area::Markers, r)
        } else if let Some(r) = main.strip_prefix('I').or_else(|| main.strip_prefix('E')) {
            (Area::Inputs, r)
        } else if let Some(r) = main.strip_prefix('Q').or_else(|| main.strip_prefix('A')) {
            (Area::Outputs, r)
        } else if let Some(r) = main.strip_prefix('T') {
            (Area::Timers, r)
        } else if let Some(r) = main.strip_prefix('C').or_else(|| main.strip_prefix('Z')) {
            (Area::Counters, r)
        } else {
            return Err(err("unknown area (expected DB, M, I/E, Q/A, T, C/Z)"));
        };
        if matches!(area, Area::Timers | Area::Counters) {
            if suffix.is_some() {
                return Err(err("timers and counters take no type suffix"));
            }
            let n: u32 = num(rest).ok_or_else(|| err("bad timer/counter number"))?;
            if n > MAX_BYTE {
                return Err(err("timer/counter number too large"));
            }
            let var_type = if area == Area::Timers {
                VarType::Timer
            } else {
                VarType::Counter
            };
            return Ok(VarAddress {
                area,
                byte: n,
                var_type,
            });
        }
        let (size, digits) = match rest.as_bytes().first() {
            Some(b'X') => ('X', &rest[1..]),
            Some(b'B') => ('B', &rest[1..]),
            Some(b'W') => ('W', &rest[1..]),
            Some(b'D') => ('D', &rest[1..]),
            _ => ('X', rest),
        };
        let (byte, bit) = match digits.split_once('.') {
            Some((b, bit)) => (b, Some(bit)),
            None => (digits, None),
        };
        let byte: u32 = num(byte).ok_or_else(|| err("bad byte offset"))?;
        if byte > MAX_BYTE {
            return Err(err("byte offset too large"));
        }
        let var_type = match (size, bit) {
            ('X', Some(bit)) => {
                let bit: u8 = num(bit)
                    .filter(|b| *b <= 7)
                    .ok_or_else(|| err("bit must be 0..7"))?;
                if suffix.is_some() {
                    return Err(err("bit addresses take no type suffix"));
                }
                VarType::Bit(bit)
            }
            ('X', None) => return Err(err("bit address needs .bit (e.g. M12.3)")),
            (_, Some(_)) => return Err(err("only bit addresses take .bit")),
            ('B', None) => match suffix {
                None | Some("BYTE") => VarType::Byte,
                Some("CHAR") => VarType::Char,
                Some(s) => {
                    let n = s
                        .strip_prefix("STRING[")
                        .and_then(|s| s.strip_suffix(']'))
                        .and_then(num::<u8>)
                        .ok_or_else(|| err("byte addresses take :BYTE, :CHAR or :STRING[n]"))?;
                    if n == 0 || n > 254 {
                        return Err(err("string length must be 1..254"));
                    }
                    VarType::String(n)
                }
            },
            ('W', None) => match suffix {
                None | Some("WORD") => VarType::Word,
                Some("INT") => VarType::Int,
                Some(_) => return Err(err("word addresses take :WORD or :INT")),
            },
            (_, None) => match suffix {
                None | Some("DWORD") => VarType::DWord,
                Some("DINT") => VarType::DInt,
                Some("REAL") => VarType::Real,
                Some(_) => return Err(err("double-word addresses take :DWORD, :DINT or :REAL")),
            },
        };
        Ok(VarAddress {
            area,
            byte,
            var_type,
        })
    }
}

impl fmt::Display for VarAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (prefix, sep) = match self.area {
            Area::Timers => return write!(f, "T{}", self.byte),
            Area::Counters => return write!(f, "C{}", self.byte),
            Area::DataBlock(n) => (format!("DB{n}.DB"), ""),
            Area::Inputs => ("I".to_string(), ""),
            Area::Outputs => ("Q".to_string(), ""),
            Area::Markers => ("M".to_string(), ""),
        };
        let db = matches!(self.area, Area::DataBlock(_));
        let b = self.byte;
        match self.var_type {
            VarType::Bit(bit) if db => write!(f, "{prefix}X{b}.{bit}"),
            VarType::Bit(bit) => write!(f, "{prefix}{sep}{b}.{bit}"),
            VarType::Byte => write!(f, "{prefix}B{b}"),
            VarType::Char => write!(f, "{prefix}B{b}:CHAR"),
            VarType::String(n) => write!(f, "{prefix}B{b}:STRING[{n}]"),
            VarType::Word => write!(f, "{prefix}W{b}"),
            VarType::Int => write!(f, "{prefix}W{b}:INT"),
            VarType::DWord => write!(f, "{prefix}D{b}"),
            VarType::DInt => write!(f, "{prefix}D{b}:DINT"),
            VarType::Real => write!(f, "{prefix}D{b}:REAL"),
            VarType::Timer => write!(f, "T{b}"),
            VarType::Counter => write!(f, "C{b}"),
        }
    }
}

/// A value read from the CPU.
#[derive(Debug, Clone, PartialEq)]
pub enum VarValue {
    /// A bit.
    Bool(bool),
    /// BYTE.
    Byte(u8),
    /// WORD.
    Word(u16),
    /// INT.
    Int(i16),
    /// DWORD.
    DWord(u32),
    /// DINT.
    DInt(i32),
    /// REAL.
    Real(f32),
    /// S7 STRING (Latin-1 decoded, actual length clamped to the maximum and the data).
    String(String),
    /// CHAR (Latin-1).
    Char(char),
    /// Raw S5TIME timer word; see [`VarValue::timer_ms`].
    Timer(u16),
    /// Raw counter word as the CPU sends it.
    Counter(u16),
}

impl VarValue {
    /// Numeric view: bools as 0/1, numbers, timers in ms (if valid S5TIME), counters raw;
    /// `None` for strings and chars.
    pub fn as_f64(&self) -> Option<f64> {
        Some(match *self {
            VarValue::Bool(b) => f64::from(u8::from(b)),
            VarValue::Byte(v) => f64::from(v),
            VarValue::Word(v) => f64::from(v),
            VarValue::Int(v) => f64::from(v),
            VarValue::DWord(v) => f64::from(v),
            VarValue::DInt(v) => f64::from(v),
            VarValue::Real(v) => f64::from(v),
            VarValue::Timer(w) => return Self::timer_ms(w).map(|ms| ms as f64),
            VarValue::Counter(v) => f64::from(v),
            VarValue::String(_) | VarValue::Char(_) => return None,
        })
    }

    /// Decodes an S5TIME word: bits 12–13 time base (10 ms, 100 ms, 1 s, 10 s), bits 0–11
    /// three BCD digits. `None` for invalid BCD.
    pub fn timer_ms(word: u16) -> Option<u64> {
        let digits = [(word >> 8) & 0xF, (word >> 4) & 0xF, word & 0xF];
        if digits.iter().any(|d| *d > 9) {
            return None;
        }
        let value = u64::from(digits[0] * 100 + digits[1] * 10 + digits[2]);
        let base = [10u64, 100, 1000, 10_000][usize::from((word >> 12) & 0x3)];
        Some(value * base)
    }

    /// Decodes the bytes of a value of `var_type` (exactly `var_type.byte_len()` bytes
    /// needed; strings may be shorter than their maximum).
    pub fn decode(var_type: VarType, b: &[u8]) -> Result<VarValue, DecodeError> {
        let needed = match var_type {
            VarType::String(_) => 2,
            t => t.byte_len(),
        };
        if b.len() < needed {
            return Err(DecodeError::Truncated {
                needed,
                got: b.len(),
            });
        }
        Ok(match var_type {
            VarType::Bit(bit) => VarValue::Bool(b[0] >> (bit & 7) & 1 == 1),
            VarType::Byte => VarValue::Byte(b[0]),
            VarType::Char => VarValue::Char(char::from(b[0])),
            VarType::Word => VarValue::Word(u16::from_be_bytes([b[0], b[1]])),
            VarType::Int => VarValue::Int(i16::from_be_bytes([b[0], b[1]])),
            VarType::Timer => VarValue::Timer(u16::from_be_bytes([b[0], b[1]])),
            VarType::Counter => VarValue::Counter(u16::from_be_bytes([b[0], b[1]])),
            VarType::DWord => VarValue::DWord(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            VarType::DInt => VarValue::DInt(i32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            VarType::Real => VarValue::Real(f32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            VarType::String(max) => {
                let len = usize::from(b[1]).min(usize::from(max)).min(b.len() - 2);
                VarValue::String(b[2..2 + len].iter().map(|&c| char::from(c)).collect())
            }
        })
    }
}

/// Why one read-var item has no value (the other items of the same call are unaffected).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    /// The CPU answered this item with a return code (`s7.md` §7.3), e.g. "object does not
    /// exist (0x0A)" for a missing DB or "invalid address (0x05)" beyond its end.
    #[error("CPU returned {0}")]
    Return(ReturnCode),
    /// The CPU refused the whole request (header error), e.g. PUT/GET not enabled.
    #[error("CPU refused the request: {0}")]
    Refused(crate::client::Refusal),
    /// The item's data could not be decoded (too short).
    #[error("bad item data: {0}")]
    Decode(DecodeError),
}
