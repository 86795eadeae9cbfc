//! Device names, binary device codes and number radixes (reference §1.4), and the parser for
//! device text such as `"D100"`, `"SW0080"` or `"M20"`.
//!
//! The simulator keeps its own table, independent of the client's, so that a wrong code on
//! one side shows up as a failing test instead of two agreeing bugs.

use std::fmt;

/// Whether a device holds bits or words (reference §1.4 "unit").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Unit {
    /// One bit per device number; word access reads 16 consecutive numbers.
    Bit,
    /// One 16-bit word per device number.
    Word,
}

/// One device family: mnemonic, binary code (Q/L spec; the iQ-R spec sends the same value
/// as `00xx`), unit and the radix its numbers are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Device {
    pub(crate) name: &'static str,
    pub(crate) code: u8,
    pub(crate) unit: Unit,
    pub(crate) radix: u32,
}

const fn dev(name: &'static str, code: u8, unit: Unit, radix: u32) -> Device {
    Device {
        name,
        code,
        unit,
        radix,
    }
}

/// Reference §1.4 (SH(NA)-080956ENG-M §5.2 pp.35–36). ZR is taken as hexadecimal, the SLMP
/// manual's reading of a disputed radix.
pub(crate) const DEVICES: &[Device] = &[
    dev("SM", 0x91, Unit::Bit, 10),
    dev("SD", 0xA9, Unit::Word, 10),
    dev("X", 0x9C, Unit::Bit, 16),
    dev("Y", 0x9D, Unit::Bit, 16),
    dev("M", 0x90, Unit::Bit, 10),
    dev("L", 0x92, Unit::Bit, 10),
    dev("F", 0x93, Unit::Bit, 10),
    dev("V", 0x94, Unit::Bit, 10),
    dev("B", 0xA0, Unit::Bit, 16),
    dev("D", 0xA8, Unit::Word, 10),
    dev("W", 0xB4, Unit::Word, 16),
    dev("SB", 0xA1, Unit::Bit, 16),
    dev("SW", 0xB5, Unit::Word, 16),
    dev("DX", 0xA2, Unit::Bit, 16),
    dev("DY", 0xA3, Unit::Bit, 16),
    dev("TS", 0xC1, Unit::Bit, 10),
    dev("TC", 0xC0, Unit::Bit, 10),
    dev("TN", 0xC2, Unit::Word, 10),
    dev("CS", 0xC4, Unit::Bit, 10),
    dev("CC", 0xC3, Unit::Bit, 10),
    dev("CN", 0xC5, Unit::Word, 10),
    dev("SS", 0xC7, Unit::Bit, 10),
    dev("SC", 0xC6, Unit::Bit, 10),
    dev("SN", 0xC8, Unit::Word, 10),
    dev("S", 0x98, Unit::Bit, 10),
    dev("Z", 0xCC, Unit::Word, 10),
    dev("R", 0xAF, Unit::Word, 10),
    dev("ZR", 0xB0, Unit::Word, 16),
];

/// Link special relay (SB).
pub(crate) const SB: Device = dev("SB", 0xA1, Unit::Bit, 16);
/// Link special register (SW).
pub(crate) const SW: Device = dev("SW", 0xB5, Unit::Word, 16);
/// Special relay (SM).
pub(crate) const SM: Device = dev("SM", 0x91, Unit::Bit, 10);
/// Special register (SD).
pub(crate) const SD: Device = dev("SD", 0xA9, Unit::Word, 10);

/// The highest device number a 3-byte (Q/L spec) field can carry.
pub(crate) const MAX_NUMBER: u32 = 0x00FF_FFFF;

impl Device {
    /// The device with this binary code (the low byte of an iQ-R 2-byte code).
    pub(crate) fn by_code(code: u16) -> Option<Device> {
        let code = u8::try_from(code).ok()?;
        DEVICES.iter().copied().find(|d| d.code == code)
    }
}

/// Device text that the simulator cannot parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceError(pub(crate) String);

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a MELSEC device: {:?} (e.g. \"D100\", \"SW0080\", \"M20\")",
            self.0
        )
    }
}

impl std::error::Error for DeviceError {}

/// Parses `"D100"`, `"SW0080"`, `"x1f"`: the longest mnemonic that matches, then the number
/// in that device's radix.
pub(crate) fn parse(text: &str) -> Result<(Device, u32), DeviceError> {
    let err = || DeviceError(text.to_owned());
    let upper = text.trim().to_ascii_uppercase();
    let letters = upper.chars().take_while(char::is_ascii_alphabetic).count();
    // "SB1F" or "DX10": the mnemonic may be followed by hex digits, so try the longest
    // mnemonic that leaves a valid number.
    (1..=letters.min(2))
        .rev()
        .filter_map(|len| {
            let device = DEVICES.iter().find(|d| d.name == &upper[..len])?;
            let digits = &upper[len..];
            if digits.is_empty() {
                return None;
            }
            let number = u32::from_str_radix(digits, device.radix).ok()?;
            (number <= MAX_NUMBER).then_some((*device, number))
        })
        .next()
        .ok_or_else(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_and_hexadecimal_devices() {
        assert_eq!(parse("D100").map(|(d, n)| (d.code, n)), Ok((0xA8, 100)));
        assert_eq!(parse("SW0080").map(|(d, n)| (d.code, n)), Ok((0xB5, 0x80)));
        assert_eq!(parse("sb1f").map(|(d, n)| (d.code, n)), Ok((0xA1, 0x1F)));
        assert_eq!(parse("M20").map(|(d, n)| (d.code, n)), Ok((0x90, 20)));
        assert_eq!(parse("SD203").map(|(d, n)| (d.code, n)), Ok((0xA9, 203)));
        assert_eq!(parse("X1A").map(|(d, n)| (d.code, n)), Ok((0x9C, 0x1A)));
        // "DX10" is DX, not D followed by garbage.
        assert_eq!(parse("DX10").map(|(d, n)| (d.code, n)), Ok((0xA2, 0x10)));
        // "B1" (hex) vs "SB1".
        assert_eq!(parse("B1").map(|(d, n)| (d.code, n)), Ok((0xA0, 1)));
    }

    #[test]
    fn rejects_unknown_or_malformed_devices() {
        assert!(parse("QQ1").is_err());
        assert!(parse("D").is_err());
        assert!(parse("D1A").is_err());
        assert!(parse("").is_err());
        assert!(parse("D99999999").is_err());
    }

    #[test]
    fn every_code_is_unique() {
        for (i, a) in DEVICES.iter().enumerate() {
            for b in &DEVICES[i + 1..] {
                assert_ne!(a.code, b.code, "{} and {}", a.name, b.name);
                assert_ne!(a.name, b.name);
            }
        }
    }
}
