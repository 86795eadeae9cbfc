//! Device codes and device addresses (`melsec-cclink.md` §1.4), CPU series and the two
//! binary device-specification forms (`melsec-cclink.md` §1.3).

use std::fmt;
use std::str::FromStr;

/// The CPU family of the MC/SLMP peer. It picks the device-specification form
/// ([`Series::device_form`], `melsec-cclink.md` §1.3) and the SD0 / error-time layout of the
/// self-diagnosis (Q/L: decimal code, BCD time; iQ-R: hexadecimal code, binary time; §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Series {
    /// MELSEC-Q (QnU, QnUDE(H), Q with QJ71E71): Q/L device specification.
    #[default]
    Q,
    /// MELSEC-L: Q/L device specification.
    L,
    /// MELSEC iQ-R: iQ-R device specification (subcommands `0002`/`0003`).
    IqR,
}

impl Series {
    /// The device-specification form this series uses.
    pub fn device_form(self) -> DeviceForm {
        match self {
            Series::Q | Series::L => DeviceForm::QL,
            Series::IqR => DeviceForm::IqR,
        }
    }
}

impl fmt::Display for Series {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Series::Q => "q",
            Series::L => "l",
            Series::IqR => "iq-r",
        })
    }
}

/// An unknown series name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown MELSEC series {0:?} (expected q, l or iq-r)")]
pub struct ParseSeriesError(pub String);

impl FromStr for Series {
    type Err = ParseSeriesError;

    /// Accepts `q`, `l`, `iq-r` (also `iqr`, `r`), case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "q" => Ok(Series::Q),
            "l" => Ok(Series::L),
            "iq-r" | "iqr" | "iq_r" | "r" => Ok(Series::IqR),
            _ => Err(ParseSeriesError(s.to_owned())),
        }
    }
}

/// The binary device specification of a request (`melsec-cclink.md` §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeviceForm {
    /// Q/L form: device No. 3 bytes LE + device code 1 byte; batch read subcommands
    /// `0000` (words) / `0001` (bits), random read `0000`.
    #[default]
    QL,
    /// iQ-R form: device No. 4 bytes LE + device code 2 bytes LE (`00xx`); batch read
    /// subcommands `0002` / `0003`, random read `0002`.
    IqR,
}

impl DeviceForm {
    /// Bytes of one device specification (4 or 6).
    pub fn spec_len(self) -> usize {
        match self {
            DeviceForm::QL => 4,
            DeviceForm::IqR => 6,
        }
    }

    /// The largest device number the form can carry (`0xFF_FFFF` for Q/L).
    pub fn max_number(self) -> u32 {
        match self {
            DeviceForm::QL => 0x00FF_FFFF,
            DeviceForm::IqR => u32::MAX,
        }
    }
}

macro_rules! device_codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $name:literal, $bit:literal, $hex:literal; )*) => {
        /// A device kind with its binary code (`melsec-cclink.md` §1.4, SH(NA)-080956ENG-M
        /// §5.2). The iQ-R form sends the same value as a 2-byte `00xx`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum DeviceCode {
            $( $(#[$doc])* $variant, )*
        }

        impl DeviceCode {
            /// Every device code the crate knows.
            pub const ALL: &'static [DeviceCode] = &[$(DeviceCode::$variant),*];

            /// The binary device code (1-byte Q/L form; the iQ-R form is `u16::from(code())`).
            pub fn code(self) -> u8 {
                match self { $(DeviceCode::$variant => $code,)* }
            }

            /// The device for a binary code, if known.
            pub fn from_code(code: u16) -> Option<DeviceCode> {
                match code { $($code => Some(DeviceCode::$variant),)* _ => None }
            }

            /// The mnemonic, e.g. `"SW"`.
            pub fn name(self) -> &'static str {
                match self { $(DeviceCode::$variant => $name,)* }
            }

            /// True for bit devices (one point = one bit); false for word devices.
            pub fn is_bit(self) -> bool {
                match self { $(DeviceCode::$variant => $bit,)* }
            }

            /// True if device numbers are written in hexadecimal (X, Y, B, W, SB, SW, DX, DY;
            /// `melsec-cclink.md` §1.4).
            pub fn is_hex_numbered(self) -> bool {
                match self { $(DeviceCode::$variant => $hex,)* }
            }
        }
    };
}

device_codes! {
    /// SM special relay (bit, decimal), code `91`.
    Sm = 0x91, "SM", true, false;
    /// SD special register (word, decimal), code `A9`.
    Sd = 0xA9, "SD", false, false;
    /// X input (bit, hexadecimal; octal literal on iQ-F, not supported here), code `9C`.
    X = 0x9C, "X", true, true;
    /// Y output (bit, hexadecimal), code `9D`.
    Y = 0x9D, "Y", true, true;
    /// M internal relay (bit, decimal), code `90`.
    M = 0x90, "M", true, false;
    /// L latch relay (bit, decimal), code `92`.
    L = 0x92, "L", true, false;
    /// F annunciator (bit, decimal), code `93`.
    F = 0x93, "F", true, false;
    /// V edge relay (bit, decimal), code `94`.
    V = 0x94, "V", true, false;
    /// S step relay (bit, decimal), code `98`.
    S = 0x98, "S", true, false;
    /// B link relay (bit, hexadecimal), code `A0`.
    B = 0xA0, "B", true, true;
    /// SB link special relay (bit, hexadecimal), code `A1`.
    Sb = 0xA1, "SB", true, true;
    /// DX direct input (bit, hexadecimal), code `A2`.
    Dx = 0xA2, "DX", true, true;
    /// DY direct output (bit, hexadecimal), code `A3`.
    Dy = 0xA3, "DY", true, true;
    /// D data register (word, decimal), code `A8`.
    D = 0xA8, "D", false, false;
    /// R file register (word, decimal), code `AF`.
    R = 0xAF, "R", false, false;
    /// ZR file register, serial numbering (word), code `B0`. Radix **disputed**
    /// (`melsec-cclink.md` §1.4: hexadecimal per SH(NA)-080956ENG, decimal per JY997D56001 and
    /// hardware-validated serial targets); this crate parses and prints it in **decimal**.
    Zr = 0xB0, "ZR", false, false;
    /// W link register (word, hexadecimal), code `B4`.
    W = 0xB4, "W", false, true;
    /// SW link special register (word, hexadecimal), code `B5`.
    Sw = 0xB5, "SW", false, true;
    /// Z index register (word, decimal), code `CC`.
    Z = 0xCC, "Z", false, false;
    /// TS timer contact (bit, decimal), code `C1`.
    Ts = 0xC1, "TS", true, false;
    /// TC timer coil (bit, decimal), code `C0`.
    Tc = 0xC0, "TC", true, false;
    /// TN timer current value (word, decimal), code `C2`.
    Tn = 0xC2, "TN", false, false;
    /// SS (STS) retentive timer contact (bit, decimal), code `C7`.
    Ss = 0xC7, "SS", true, false;
    /// SC (STC) retentive timer coil (bit, decimal), code `C6`.
    Sc = 0xC6, "SC", true, false;
    /// SN (STN) retentive timer current value (word, decimal), code `C8`.
    Sn = 0xC8, "SN", false, false;
    /// CS counter contact (bit, decimal), code `C4`.
    Cs = 0xC4, "CS", true, false;
    /// CC counter coil (bit, decimal), code `C3`.
    Cc = 0xC3, "CC", true, false;
    /// CN counter current value (word, decimal), code `C5`.
    Cn = 0xC5, "CN", false, false;
}

impl DeviceCode {
    /// The wire value of the code in a device-specification form (1 byte or `00xx`).
    pub fn wire_code(self, form: DeviceForm) -> u16 {
        let _ = form;
        u16::from(self.code())
    }

    /// Parses a mnemonic (`"SW"`, `"STS"` = SS, …), case-insensitive.
    pub fn from_name(name: &str) -> Option<DeviceCode> {
        let upper = name.to_ascii_uppercase();
        match upper.as_str() {
            "STS" => return Some(DeviceCode::Ss),
            "STC" => return Some(DeviceCode::Sc),
            "STN" => return Some(DeviceCode::Sn),
            _ => {}
        }
        DeviceCode::ALL.iter().copied().find(|c| c.name() == upper)
    }
}

impl fmt::Display for DeviceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One device point: kind + number, e.g. `SW0080` or `D100`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Device {
    /// The device kind.
    pub code: DeviceCode,
    /// The device number (the wire value; its text radix is [`DeviceCode::is_hex_numbered`]).
    pub number: u32,
}

impl Device {
    /// A device.
    pub const fn new(code: DeviceCode, number: u32) -> Device {
        Device { code, number }
    }

    /// The device `offset` points further (saturating).
    pub fn offset(self, offset: u32) -> Device {
        Device {
            code: self.code,
            number: self.number.saturating_add(offset),
        }
    }
}

impl fmt::Display for Device {
    /// `SW0080`, `SB0040` (SB/SW with four hex digits, the manuals' convention), `X1F`, `D100`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            DeviceCode::Sb | DeviceCode::Sw => write!(f, "{}{:04X}", self.code, self.number),
            c if c.is_hex_numbered() => write!(f, "{}{:X}", self.code, self.number),
            c => write!(f, "{}{}", c, self.number),
        }
    }
}

/// A device address that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseDeviceError {
    /// No known device mnemonic at the start.
    #[error("{input:?}: unknown device (expected e.g. D100, M20, X1F, SW0080, SB40, ZR1000)")]
    UnknownDevice {
        /// The input.
        input: String,
    },
    /// The number is missing or not in the device's radix.
    #[error("{input:?}: bad {radix} device number")]
    BadNumber {
        /// The input.
        input: String,
        /// "decimal" or "hexadecimal".
        radix: &'static str,
    },
}

/// Mnemonics longest first, so that `SW`, `DX`, `ZR` win over `S`, `D`, `Z`.
const PREFIXES: &[(&str, DeviceCode)] = &[
    ("STS", DeviceCode::Ss),
    ("STC", DeviceCode::Sc),
    ("STN", DeviceCode::Sn),
    ("SM", DeviceCode::Sm),
    ("SD", DeviceCode::Sd),
    ("SB", DeviceCode::Sb),
    ("SW", DeviceCode::Sw),
    ("SS", DeviceCode::Ss),
    ("SC", DeviceCode::Sc),
    ("SN", DeviceCode::Sn),
    ("DX", DeviceCode::Dx),
    ("DY", DeviceCode::Dy),
    ("ZR", DeviceCode::Zr),
    ("TS", DeviceCode::Ts),
    ("TC", DeviceCode::Tc),
    ("TN", DeviceCode::Tn),
    ("CS", DeviceCode::Cs),
    ("CC", DeviceCode::Cc),
    ("CN", DeviceCode::Cn),
    ("X", DeviceCode::X),
    ("Y", DeviceCode::Y),
    ("M", DeviceCode::M),
    ("L", DeviceCode::L),
    ("F", DeviceCode::F),
    ("V", DeviceCode::V),
    ("S", DeviceCode::S),
    ("B", DeviceCode::B),
    ("D", DeviceCode::D),
    ("R", DeviceCode::R),
    ("W", DeviceCode::W),
    ("Z", DeviceCode::Z),
];

impl FromStr for Device {
    type Err = ParseDeviceError;

    /// Parses `D100`, `M20`, `X1F`, `SW80`, `SB0040`, `ZR1000`, `SM0`, `SD203`, `L5`, `F3`,
    /// `R100` (case-insensitive; hex-numbered devices per §1.4, optional `H` suffix
    /// not accepted).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let upper = t.to_ascii_uppercase();
        for (prefix, code) in PREFIXES {
            let Some(rest) = upper.strip_prefix(prefix) else {
                continue;
            };
            // A hex-numbered single-letter device (B, W, X, Y) could swallow the first letter
            // of a longer mnemonic only if that mnemonic were tried later; the table is
            // ordered longest first, so the first match is the right one.
            let (radix, radix_name) = if code.is_hex_numbered() {
                (16, "hexadecimal")
            } else {
                (10, "decimal")
            };
            let bad = || ParseDeviceError::BadNumber {
                input: s.to_owned(),
                radix: radix_name,
            };
            if rest.is_empty() || !rest.chars().all(|c| c.is_digit(radix)) {
                // `D` + hex-looking rest (e.g. "DX") was already handled by the longer
                // prefixes; anything else is a bad number for this device.
                return Err(bad());
            }
            let number = u32::from_str_radix(rest, radix).map_err(|_| bad())?;
            return Ok(Device {
                code: *code,
                number,
            });
        }
        Err(ParseDeviceError::UnknownDevice {
            input: s.to_owned(),
        })
    }
}
