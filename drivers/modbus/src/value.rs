//! Typed values and how they are laid out in Modbus tables.
//!
//! The Modbus data model (Modbus Application Protocol Specification V1.1b3, §4.3) has four
//! tables: two of single bits (coils, discrete inputs) and two of 16-bit registers (holding
//! registers, input registers). The specification defines a register as a big-endian 16-bit
//! word (§4.2: "MODBUS uses a 'big-Endian' representation for addresses and data items") but
//! says nothing about values wider than one register, so devices differ in two ways, and both
//! are configurable here:
//!
//! * [`ByteOrder`]: the order of the two bytes *inside* one register;
//! * [`WordOrder`]: the order of the registers of a 32- or 64-bit value.
//!
//! For a 32-bit value with bytes `A B C D` (most significant first) the four combinations
//! give these registers:
//!
//! | byte order | word order | registers | common name |
//! |---|---|---|---|
//! | big | high first | `[AB, CD]` | "ABCD", big-endian |
//! | big | low first | `[CD, AB]` | "CDAB", word swap |
//! | little | high first | `[BA, DC]` | "BADC", byte swap |
//! | little | low first | `[DC, BA]` | "DCBA", little-endian |
//!
//! Decoding is total: [`Encoding::decode_registers`] returns a [`ValueError`] for any slice
//! of the wrong length and never panics.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// One of the four Modbus data tables (Modbus Application Protocol Specification V1.1b3, §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// Coils: single read-write bits, read with function code 0x01 Read Coils (§6.1).
    Coil,
    /// Discrete inputs: single read-only bits, read with function code 0x02 Read Discrete
    /// Inputs (§6.2).
    DiscreteInput,
    /// Holding registers: 16-bit read-write words, read with function code 0x03 Read Holding
    /// Registers (§6.3).
    HoldingRegister,
    /// Input registers: 16-bit read-only words, read with function code 0x04 Read Input
    /// Registers (§6.4).
    InputRegister,
}

impl Table {
    /// All four tables, in the order the planner emits requests.
    pub const ALL: [Table; 4] = [
        Table::Coil,
        Table::DiscreteInput,
        Table::HoldingRegister,
        Table::InputRegister,
    ];

    /// Whether the table holds single bits (coils, discrete inputs) rather than registers.
    pub fn is_bits(self) -> bool {
        matches!(self, Table::Coil | Table::DiscreteInput)
    }

    /// The function code that reads this table (spec §6.1–§6.4): 0x01, 0x02, 0x03 or 0x04.
    pub fn read_function_code(self) -> u8 {
        match self {
            Table::Coil => 0x01,
            Table::DiscreteInput => 0x02,
            Table::HoldingRegister => 0x03,
            Table::InputRegister => 0x04,
        }
    }

    /// The most items one read of this table may ask for (spec §6.1–§6.4): 2000 (0x07D0)
    /// bits for coils and discrete inputs, 125 (0x007D) registers for holding and input
    /// registers.
    pub fn max_read_quantity(self) -> u16 {
        if self.is_bits() { 2000 } else { 125 }
    }

    /// The short prefix used by [`crate::Address`]'s `Display`: `coil`, `di`, `hr`, `ir`.
    pub fn prefix(self) -> &'static str {
        match self {
            Table::Coil => "coil",
            Table::DiscreteInput => "di",
            Table::HoldingRegister => "hr",
            Table::InputRegister => "ir",
        }
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Table::Coil => "coil",
            Table::DiscreteInput => "discrete input",
            Table::HoldingRegister => "holding register",
            Table::InputRegister => "input register",
        })
    }
}

/// A name that does not parse as one of this crate's enums (data type, byte order, word
/// order, parity).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown {kind} {input:?} (expected one of: {expected})")]
pub struct ParseNameError {
    /// What was being parsed, e.g. "data type".
    pub kind: &'static str,
    /// The text that did not parse.
    pub input: String,
    /// The accepted names, comma separated.
    pub expected: &'static str,
}

/// The type of a value stored in one bit or in one or more registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// A single bit (coil or discrete input), or a register read as `value != 0`.
    Bool,
    /// Unsigned 16-bit integer, one register.
    U16,
    /// Signed 16-bit integer (two's complement), one register.
    I16,
    /// Unsigned 32-bit integer, two registers.
    U32,
    /// Signed 32-bit integer, two registers.
    I32,
    /// IEEE 754 binary32 float, two registers.
    F32,
    /// Unsigned 64-bit integer, four registers.
    U64,
    /// Signed 64-bit integer, four registers.
    I64,
    /// IEEE 754 binary64 float, four registers.
    F64,
}

impl DataType {
    /// Every data type, for tests and help texts.
    pub const ALL: [DataType; 9] = [
        DataType::Bool,
        DataType::U16,
        DataType::I16,
        DataType::U32,
        DataType::I32,
        DataType::F32,
        DataType::U64,
        DataType::I64,
        DataType::F64,
    ];

    /// How many registers a value of this type occupies; for `Bool` this is 1 (one bit in a
    /// bit table, or one register in a register table).
    pub fn register_count(self) -> u16 {
        match self {
            DataType::Bool | DataType::U16 | DataType::I16 => 1,
            DataType::U32 | DataType::I32 | DataType::F32 => 2,
            DataType::U64 | DataType::I64 | DataType::F64 => 4,
        }
    }

    /// Whether a value of this type can live in `table`: bit tables hold only `Bool`,
    /// register tables hold every type.
    pub fn fits(self, table: Table) -> bool {
        !table.is_bits() || self == DataType::Bool
    }

    fn name(self) -> &'static str {
        match self {
            DataType::Bool => "bool",
            DataType::U16 => "u16",
            DataType::I16 => "i16",
            DataType::U32 => "u32",
            DataType::I32 => "i32",
            DataType::F32 => "f32",
            DataType::U64 => "u64",
            DataType::I64 => "i64",
            DataType::F64 => "f64",
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DataType {
    type Err = ParseNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "bool" | "bit" => DataType::Bool,
            "u16" | "uint16" => DataType::U16,
            "i16" | "int16" => DataType::I16,
            "u32" | "uint32" => DataType::U32,
            "i32" | "int32" => DataType::I32,
            "f32" | "float32" | "float" => DataType::F32,
            "u64" | "uint64" => DataType::U64,
            "i64" | "int64" => DataType::I64,
            "f64" | "float64" | "double" => DataType::F64,
            _ => {
                return Err(ParseNameError {
                    kind: "data type",
                    input: s.to_owned(),
                    expected: "bool, u16, i16, u32, i32, f32, u64, i64, f64",
                });
            }
        })
    }
}

/// The order of the two bytes inside one register.
///
/// The specification sends every register big-endian (spec §4.2), so `BigEndian` is the
/// default; `LittleEndian` is for devices that store values byte-swapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ByteOrder {
    /// High byte first, as the specification sends registers (§4.2).
    #[default]
    BigEndian,
    /// Low byte first: the two bytes of each register are swapped.
    LittleEndian,
}

impl fmt::Display for ByteOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ByteOrder::BigEndian => "big",
            ByteOrder::LittleEndian => "little",
        })
    }
}

impl FromStr for ByteOrder {
    type Err = ParseNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "big" | "big_endian" => Ok(ByteOrder::BigEndian),
            "little" | "little_endian" => Ok(ByteOrder::LittleEndian),
            _ => Err(ParseNameError {
                kind: "byte order",
                input: s.to_owned(),
                expected: "big, little",
            }),
        }
    }
}

/// The order of the registers of a 32- or 64-bit value. The specification does not define
/// it; most devices put the most significant register first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WordOrder {
    /// Most significant register at the lowest address.
    #[default]
    HighFirst,
    /// Least significant register at the lowest address ("word swap").
    LowFirst,
}

impl fmt::Display for WordOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WordOrder::HighFirst => "high_first",
            WordOrder::LowFirst => "low_first",
        })
    }
}

impl FromStr for WordOrder {
    type Err = ParseNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "high_first" | "big" => Ok(WordOrder::HighFirst),
            "low_first" | "little" => Ok(WordOrder::LowFirst),
            _ => Err(ParseNameError {
                kind: "word order",
                input: s.to_owned(),
                expected: "high_first, low_first, big, little",
            }),
        }
    }
}

/// How one value is stored: its type and, for register tables, its byte and word order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Encoding {
    /// The value's type.
    pub data_type: DataType,
    /// Order of the bytes inside each register.
    pub byte_order: ByteOrder,
    /// Order of the registers of a multi-register value.
    pub word_order: WordOrder,
}

impl Default for DataType {
    /// `U16`: one register as it is sent.
    fn default() -> Self {
        DataType::U16
    }
}

/// A decoded value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// A bit.
    Bool(bool),
    /// Unsigned 16-bit integer.
    U16(u16),
    /// Signed 16-bit integer.
    I16(i16),
    /// Unsigned 32-bit integer.
    U32(u32),
    /// Signed 32-bit integer.
    I32(i32),
    /// 32-bit float.
    F32(f32),
    /// Unsigned 64-bit integer.
    U64(u64),
    /// Signed 64-bit integer.
    I64(i64),
    /// 64-bit float.
    F64(f64),
}

impl Value {
    /// The value as `f64`, for scaling and charts: `false`/`true` become 0 and 1; 64-bit
    /// integers above 2^53 lose precision.
    #[allow(clippy::cast_precision_loss)] // documented: u64/i64 beyond 2^53 round
    pub fn as_f64(&self) -> f64 {
        match *self {
            Value::Bool(b) => f64::from(u8::from(b)),
            Value::U16(v) => f64::from(v),
            Value::I16(v) => f64::from(v),
            Value::U32(v) => f64::from(v),
            Value::I32(v) => f64::from(v),
            Value::F32(v) => f64::from(v),
            Value::U64(v) => v as f64,
            Value::I64(v) => v as f64,
            Value::F64(v) => v,
        }
    }

    /// The data type of this value.
    pub fn data_type(&self) -> DataType {
        match self {
            Value::Bool(_) => DataType::Bool,
            Value::U16(_) => DataType::U16,
            Value::I16(_) => DataType::I16,
            Value::U32(_) => DataType::U32,
            Value::I32(_) => DataType::I32,
            Value::F32(_) => DataType::F32,
            Value::U64(_) => DataType::U64,
            Value::I64(_) => DataType::I64,
            Value::F64(_) => DataType::F64,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(v) => v.fmt(f),
            Value::U16(v) => v.fmt(f),
            Value::I16(v) => v.fmt(f),
            Value::U32(v) => v.fmt(f),
            Value::I32(v) => v.fmt(f),
            Value::F32(v) => v.fmt(f),
            Value::U64(v) => v.fmt(f),
            Value::I64(v) => v.fmt(f),
            Value::F64(v) => v.fmt(f),
        }
    }
}

/// Why a value could not be decoded, encoded or placed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueError {
    /// The register slice does not have the length the data type needs.
    #[error("{data_type} needs {needed} register(s), got {got}")]
    WrongRegisterCount {
        /// The type being decoded.
        data_type: DataType,
        /// Registers the type occupies.
        needed: usize,
        /// Registers supplied.
        got: usize,
    },
    /// The type cannot live in the table (bit tables hold only `bool`).
    #[error("type {data_type} is not valid in the {table} table (bit tables hold only bool)")]
    TypeNotValidForTable {
        /// The configured type.
        data_type: DataType,
        /// The table it was placed in.
        table: Table,
    },
    /// A value of one type was given where the encoding names another.
    #[error("value of type {got} given for an encoding of type {expected}")]
    TypeMismatch {
        /// The encoding's type.
        expected: DataType,
        /// The value's type.
        got: DataType,
    },
    /// The value would run past the last protocol address 65535.
    #[error("{width} item(s) starting at {table} offset {offset} run past address 65535")]
    OutOfRange {
        /// The table.
        table: Table,
        /// First protocol address.
        offset: u16,
        /// Items (bits or registers) occupied.
        width: u16,
    },
    /// The response holds fewer items than the value needs.
    #[error("response too short: item needs {needed} {unit}, response has {got}")]
    ShortResponse {
        /// Items needed from the start of the response (offset + width).
        needed: usize,
        /// Items in the response.
        got: usize,
        /// "bits" or "registers".
        unit: &'static str,
    },
    /// The response holds bits where registers were expected, or the reverse.
    #[error("response holds {got} but a {table} read returns {expected}")]
    WrongResponseKind {
        /// The table that was read.
        table: Table,
        /// "bits" or "registers".
        expected: &'static str,
        /// "bits" or "registers".
        got: &'static str,
    },
    /// A planned item refers to a point index outside the points slice.
    #[error("planned item refers to point {index}, but only {len} points were given")]
    UnknownPoint {
        /// The index in the plan.
        index: usize,
        /// Length of the points slice.
        len: usize,
    },
}

impl Encoding {
    /// An encoding of `data_type` with the default byte order (big-endian) and word order
    /// (high first).
    pub fn new(data_type: DataType) -> Self {
        Encoding {
            data_type,
            ..Encoding::default()
        }
    }

    /// Decodes a value from exactly [`DataType::register_count`] registers.
    ///
    /// `Bool` decodes one register as `register != 0`. Any other length is a
    /// [`ValueError::WrongRegisterCount`]; this function never panics.
    pub fn decode_registers(&self, regs: &[u16]) -> Result<Value, ValueError> {
        Ok(match self.data_type {
            DataType::Bool => Value::Bool(u16::from_be_bytes(self.bytes::<2>(regs)?) != 0),
            DataType::U16 => Value::U16(u16::from_be_bytes(self.bytes::<2>(regs)?)),
            DataType::I16 => Value::I16(i16::from_be_bytes(self.bytes::<2>(regs)?)),
            DataType::U32 => Value::U32(u32::from_be_bytes(self.bytes::<4>(regs)?)),
            DataType::I32 => Value::I32(i32::from_be_bytes(self.bytes::<4>(regs)?)),
            DataType::F32 => Value::F32(f32::from_be_bytes(self.bytes::<4>(regs)?)),
            DataType::U64 => Value::U64(u64::from_be_bytes(self.bytes::<8>(regs)?)),
            DataType::I64 => Value::I64(i64::from_be_bytes(self.bytes::<8>(regs)?)),
            DataType::F64 => Value::F64(f64::from_be_bytes(self.bytes::<8>(regs)?)),
        })
    }

    /// Encodes `v` into registers in this encoding's byte and word order; the inverse of
    /// [`Encoding::decode_registers`]. `Bool` encodes as one register, 1 or 0.
    ///
    /// The value's type must equal `data_type`, else [`ValueError::TypeMismatch`].
    pub fn encode_registers(&self, v: Value) -> Result<Vec<u16>, ValueError> {
        if v.data_type() != self.data_type {
            return Err(ValueError::TypeMismatch {
                expected: self.data_type,
                got: v.data_type(),
            });
        }
        Ok(match v {
            Value::Bool(b) => self.words(&u16::from(b).to_be_bytes()),
            Value::U16(x) => self.words(&x.to_be_bytes()),
            Value::I16(x) => self.words(&x.to_be_bytes()),
            Value::U32(x) => self.words(&x.to_be_bytes()),
            Value::I32(x) => self.words(&x.to_be_bytes()),
            Value::F32(x) => self.words(&x.to_be_bytes()),
            Value::U64(x) => self.words(&x.to_be_bytes()),
            Value::I64(x) => self.words(&x.to_be_bytes()),
            Value::F64(x) => self.words(&x.to_be_bytes()),
        })
    }

    /// Puts the registers' bytes into most-significant-first order.
    fn bytes<const N: usize>(&self, regs: &[u16]) -> Result<[u8; N], ValueError> {
        let needed = N / 2;
        if regs.len() != needed {
            return Err(ValueError::WrongRegisterCount {
                data_type: self.data_type,
                needed,
                got: regs.len(),
            });
        }
        let mut out = [0u8; N];
        let register_bytes = |r: &u16| match self.byte_order {
            ByteOrder::BigEndian => r.to_be_bytes(),
            ByteOrder::LittleEndian => r.to_le_bytes(),
        };
        let chunks = out.chunks_exact_mut(2);
        match self.word_order {
            WordOrder::HighFirst => chunks
                .zip(regs.iter())
                .for_each(|(dst, r)| dst.copy_from_slice(&register_bytes(r))),
            WordOrder::LowFirst => chunks
                .zip(regs.iter().rev())
                .for_each(|(dst, r)| dst.copy_from_slice(&register_bytes(r))),
        }
        Ok(out)
    }

    /// Splits most-significant-first bytes into registers in this encoding's order.
    fn words(&self, be_bytes: &[u8]) -> Vec<u16> {
        let mut words: Vec<u16> = be_bytes
            .chunks_exact(2)
            .map(|pair| {
                let pair = [pair.first().copied(), pair.get(1).copied()];
                let [hi, lo] = pair.map(Option::unwrap_or_default);
                match self.byte_order {
                    ByteOrder::BigEndian => u16::from_be_bytes([hi, lo]),
                    ByteOrder::LittleEndian => u16::from_le_bytes([hi, lo]),
                }
            })
            .collect();
        if self.word_order == WordOrder::LowFirst {
            words.reverse();
        }
        words
    }
}

/// Linear scaling of a raw value: `value = raw * scale + offset`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scaling {
    /// Factor applied first.
    pub scale: f64,
    /// Added after scaling.
    pub offset: f64,
}

impl Default for Scaling {
    /// The identity: scale 1, offset 0.
    fn default() -> Self {
        Scaling {
            scale: 1.0,
            offset: 0.0,
        }
    }
}

impl Scaling {
    /// Returns `raw * scale + offset`.
    pub fn apply(&self, raw: f64) -> f64 {
        raw * self.scale + self.offset
    }
}
