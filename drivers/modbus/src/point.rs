//! Addresses and points (one tag to read).
//!
//! An [`Address`] is a table plus a **0-based protocol address**, the number that goes on the
//! wire (Modbus Application Protocol Specification V1.1b3, §4.4: "In a MODBUS PDU each data is
//! addressed from 0 to 65535"). Manuals often use the older 1-based Modicon notation instead,
//! where the first digit names the table (`0` coil, `1` discrete input, `3` input register,
//! `4` holding register) and the rest is a 1-based number: `40001` is holding register 0.
//! [`Address::from_str`] accepts both; `Display` always prints the unambiguous `hr:100` form.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::value::{Encoding, Table, ValueError};

/// A table and a 0-based protocol address in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    /// The table.
    pub table: Table,
    /// 0-based protocol address (what goes on the wire).
    pub offset: u16,
}

impl Address {
    /// An address in `table` at 0-based `offset`.
    pub fn new(table: Table, offset: u16) -> Self {
        Address { table, offset }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.table.prefix(), self.offset)
    }
}

/// Why a text is not an [`Address`]. Every variant names the input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddressError {
    /// The text is empty.
    #[error("empty Modbus address (expected e.g. \"hr:100\" or \"40101\")")]
    Empty,
    /// The prefix before `:` names no table.
    #[error(
        "unknown table {prefix:?} in Modbus address {input:?} (expected hr/holding, ir/input, coil/co or di/discrete)"
    )]
    UnknownTable {
        /// The whole input.
        input: String,
        /// The prefix that was not recognised.
        prefix: String,
    },
    /// The offset after `:` is not a number in 0..=65535.
    #[error("offset {offset:?} in Modbus address {input:?} is not a number in 0..=65535")]
    BadOffset {
        /// The whole input.
        input: String,
        /// The text after the colon.
        offset: String,
    },
    /// A plain number that is not 5 or 6 digits of Modicon notation.
    #[error(
        "Modbus address {input:?} is ambiguous: use a table prefix (\"hr:100\", 0-based) or 5/6-digit Modicon notation (\"40101\", 1-based)"
    )]
    Ambiguous {
        /// The whole input.
        input: String,
    },
    /// The first digit of Modicon notation is not 0, 1, 3 or 4.
    #[error(
        "Modicon address {input:?} starts with {digit:?}; expected 0 (coil), 1 (discrete input), 3 (input register) or 4 (holding register)"
    )]
    ModiconTable {
        /// The whole input.
        input: String,
        /// The first digit.
        digit: char,
    },
    /// Modicon notation is 1-based: the number after the table digit must be 1..=65536
    /// (1..=9999 in 5-digit form).
    #[error("Modicon address {input:?} is out of range: the register number must be 1..={max}")]
    ModiconRange {
        /// The whole input.
        input: String,
        /// The largest register number for this form.
        max: u32,
    },
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let input = s.trim();
        if input.is_empty() {
            return Err(AddressError::Empty);
        }
        if let Some((prefix, offset)) = input.split_once(':') {
            let table = match prefix.trim().to_ascii_lowercase().as_str() {
                "hr" | "holding" | "holding_register" => Table::HoldingRegister,
                "ir" | "input" | "input_register" => Table::InputRegister,
                "coil" | "co" => Table::Coil,
                "di" | "discrete" | "discrete_input" => Table::DiscreteInput,
                _ => {
                    return Err(AddressError::UnknownTable {
                        input: input.to_owned(),
                        prefix: prefix.to_owned(),
                    });
                }
            };
            let offset = offset
                .trim()
                .parse::<u16>()
                .map_err(|_| AddressError::BadOffset {
                    input: input.to_owned(),
                    offset: offset.to_owned(),
                })?;
            return Ok(Address { table, offset });
        }
        parse_modicon(input)
    }
}

/// Parses 5- or 6-digit Modicon notation (1-based).
fn parse_modicon(input: &str) -> Result<Address, AddressError> {
    let all_digits = input.bytes().all(|b| b.is_ascii_digit());
    if !all_digits || !(5..=6).contains(&input.len()) {
        return Err(AddressError::Ambiguous {
            input: input.to_owned(),
        });
    }
    let mut chars = input.chars();
    let digit = chars.next().ok_or(AddressError::Empty)?;
    let table = match digit {
        '0' => Table::Coil,
        '1' => Table::DiscreteInput,
        '3' => Table::InputRegister,
        '4' => Table::HoldingRegister,
        _ => {
            return Err(AddressError::ModiconTable {
                input: input.to_owned(),
                digit,
            });
        }
    };
    let max: u32 = if input.len() == 5 { 9_999 } else { 65_536 };
    let range_error = || AddressError::ModiconRange {
        input: input.to_owned(),
        max,
    };
    let number: u32 = chars.as_str().parse().map_err(|_| range_error())?;
    if !(1..=max).contains(&number) {
        return Err(range_error());
    }
    let offset = u16::try_from(number - 1).map_err(|_| range_error())?;
    Ok(Address { table, offset })
}

/// One tag to read: where it is and how it is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Point {
    /// Where the value starts.
    pub address: Address,
    /// Its type, byte order and word order.
    pub encoding: Encoding,
}

impl Point {
    /// A point at `address` with `encoding`.
    pub fn new(address: Address, encoding: Encoding) -> Self {
        Point { address, encoding }
    }

    /// Registers (register tables) or bits (bit tables) the value occupies.
    pub fn width(&self) -> u16 {
        self.encoding.data_type.register_count()
    }

    /// Checks that the type can live in the table (bit tables hold only `bool`) and that
    /// the value ends at or before protocol address 65535 (spec §4.4).
    pub fn validate(&self) -> Result<(), ValueError> {
        let table = self.address.table;
        if !self.encoding.data_type.fits(table) {
            return Err(ValueError::TypeNotValidForTable {
                data_type: self.encoding.data_type,
                table,
            });
        }
        if self.end() > 65_536 {
            return Err(ValueError::OutOfRange {
                table,
                offset: self.address.offset,
                width: self.width(),
            });
        }
        Ok(())
    }

    /// One past the last address occupied, as u32 so it cannot overflow.
    pub(crate) fn end(&self) -> u32 {
        u32::from(self.address.offset) + u32::from(self.width())
    }
}
