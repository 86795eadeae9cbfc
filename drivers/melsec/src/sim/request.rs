//! What the simulated CPU answers to one request: command, subcommand and request data in,
//! response data or an end code out. Pure; the connection layer does the envelope.
//!
//! * `0401` batch read: subcommand `0000` (words) / `0001` (bits) with the Q/L device
//!   specification (number 3 B LE + code 1 B + points 2 B); `0002`/`0003` with the iQ-R
//!   specification (number 4 B + code 2 B + points 2 B) on [`SimSeries::IqR`] only
//!   (reference §1.3). Words: 2 bytes LE per point, a bit device 16 bits per word with the
//!   head device in the LSB; bits: two points per byte, first point in the high nibble
//!   (§1.5).
//! * `0403` random read: subcommand `0000` (`0002` on iQ-R): word count, double-word count,
//!   then the devices; double words are two consecutive words, low word first.
//! * Every other command or subcommand (writes `1401`/`1402`, remote RUN/STOP `1001`/`1002`,
//!   `0101`, …) is refused with `C059`: the simulator never changes state from the network.
//!
//! End codes (§1.6): data length ≠ what the subcommand needs → `C061`; more than 960 words
//! → `C051`, more than 7168 bits → `C052` (plc-comm-slmp's split, §1.3/§1.6), random read
//! above 192 points (96 with the iQ-R specification) → `C054`, zero points likewise; unknown
//! device code → `C05B`; bit-unit access to a word device → `C05C`; beyond the highest
//! device number → `C056`.

use super::cpu::SimSeries;
use super::device::{Device, MAX_NUMBER, Unit};
use super::memory::View;

/// End codes the simulator answers with (reference §1.6).
pub(crate) mod end {
    /// Points out of range, word batch (plc-comm-slmp `direct_word_read`).
    pub(crate) const WORD_POINTS: u16 = 0xC051;
    /// Points out of range, bit batch (plc-comm-slmp `direct_bit_read`).
    pub(crate) const BIT_POINTS: u16 = 0xC052;
    /// Points out of range, random read (plc-comm-slmp `random_read_word`).
    pub(crate) const RANDOM_POINTS: u16 = 0xC054;
    /// Request exceeds the maximum address.
    pub(crate) const ADDRESS: u16 = 0xC056;
    /// Command or subcommand not usable.
    pub(crate) const COMMAND: u16 = 0xC059;
    /// Device cannot be accessed (unknown device code).
    pub(crate) const DEVICE: u16 = 0xC05B;
    /// Request content error (bit access to a word device).
    pub(crate) const CONTENT: u16 = 0xC05C;
    /// Request data length mismatch.
    pub(crate) const LENGTH: u16 = 0xC061;
}

/// Batch read limits (§1.3).
const MAX_WORDS: u32 = 960;
const MAX_BITS: u32 = 7168;
/// Random read limits: Q/L specification 192, iQ-R specification 96 (§1.3).
const MAX_RANDOM_QL: usize = 192;
const MAX_RANDOM_IQR: usize = 96;

/// The two device specifications of §1.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    /// Number 3 B + code 1 B.
    QL,
    /// Number 4 B + code 2 B.
    IqR,
}

impl Spec {
    fn len(self) -> usize {
        match self {
            Spec::QL => 4,
            Spec::IqR => 6,
        }
    }

    fn max_number(self) -> u32 {
        match self {
            Spec::QL => MAX_NUMBER,
            Spec::IqR => u32::MAX,
        }
    }

    /// Device No. + device code at the start of `d` (at least [`Spec::len`] bytes).
    fn device(self, d: &[u8]) -> Result<(Device, u32), u16> {
        let (number, code) = match self {
            Spec::QL => (u32::from_le_bytes([d[0], d[1], d[2], 0]), u16::from(d[3])),
            Spec::IqR => (
                u32::from_le_bytes([d[0], d[1], d[2], d[3]]),
                u16::from_le_bytes([d[4], d[5]]),
            ),
        };
        let device = Device::by_code(code).ok_or(end::DEVICE)?;
        Ok((device, number))
    }
}

/// Executes one request against the device memory.
pub(crate) fn execute(
    view: View<'_>,
    series: SimSeries,
    command: u16,
    subcommand: u16,
    data: &[u8],
) -> Result<Vec<u8>, u16> {
    let iqr = series == SimSeries::IqR;
    match (command, subcommand) {
        (0x0401, 0x0000) => batch(view, Spec::QL, false, data),
        (0x0401, 0x0001) => batch(view, Spec::QL, true, data),
        (0x0401, 0x0002) if iqr => batch(view, Spec::IqR, false, data),
        (0x0401, 0x0003) if iqr => batch(view, Spec::IqR, true, data),
        (0x0403, 0x0000) => random(view, Spec::QL, data),
        (0x0403, 0x0002) if iqr => random(view, Spec::IqR, data),
        _ => Err(end::COMMAND),
    }
}

fn batch(view: View<'_>, spec: Spec, bits: bool, data: &[u8]) -> Result<Vec<u8>, u16> {
    if data.len() != spec.len() + 2 {
        return Err(end::LENGTH);
    }
    let (device, number) = spec.device(data)?;
    let points = u32::from(u16::from_le_bytes([data[spec.len()], data[spec.len() + 1]]));
    if bits {
        if device.unit == Unit::Word {
            return Err(end::CONTENT);
        }
        if !(1..=MAX_BITS).contains(&points) {
            return Err(end::BIT_POINTS);
        }
        check_range(spec, number, points)?;
        let values: Vec<bool> = (number..number + points)
            .map(|n| view.bit(device, n))
            .collect();
        return Ok(encode_bits(&values));
    }
    if !(1..=MAX_WORDS).contains(&points) {
        return Err(end::WORD_POINTS);
    }
    let step = match device.unit {
        Unit::Word => 1,
        Unit::Bit => 16,
    };
    check_range(spec, number, points * step)?;
    Ok((0..points)
        .flat_map(|i| view.word(device, number + i * step).to_le_bytes())
        .collect())
}

fn random(view: View<'_>, spec: Spec, data: &[u8]) -> Result<Vec<u8>, u16> {
    if data.len() < 2 {
        return Err(end::LENGTH);
    }
    let (words, dwords) = (usize::from(data[0]), usize::from(data[1]));
    if data.len() != 2 + (words + dwords) * spec.len() {
        return Err(end::LENGTH);
    }
    let max = match spec {
        Spec::QL => MAX_RANDOM_QL,
        Spec::IqR => MAX_RANDOM_IQR,
    };
    if words + dwords == 0 || words + dwords > max {
        return Err(end::RANDOM_POINTS);
    }
    let mut out = Vec::with_capacity(words * 2 + dwords * 4);
    for (i, item) in data[2..].chunks_exact(spec.len()).enumerate() {
        let (device, number) = spec.device(item)?;
        let step = match device.unit {
            Unit::Word => 1,
            Unit::Bit => 16,
        };
        let count = if i < words { 1 } else { 2 };
        check_range(spec, number, count * step)?;
        for k in 0..count {
            out.extend_from_slice(&view.word(device, number + k * step).to_le_bytes());
        }
    }
    Ok(out)
}

/// `number .. number + span` must stay within the specification's device numbers.
fn check_range(spec: Spec, number: u32, span: u32) -> Result<(), u16> {
    match number.checked_add(span - 1) {
        Some(last) if last <= spec.max_number() => Ok(()),
        _ => Err(end::ADDRESS),
    }
}

/// Bit-unit response data: two points per byte, first in the high nibble (§1.5).
fn encode_bits(values: &[bool]) -> Vec<u8> {
    values
        .chunks(2)
        .map(|pair| {
            let hi = u8::from(pair[0]) << 4;
            let lo = pair.get(1).map_or(0, |b| u8::from(*b));
            hi | lo
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::device::{SB, SW};
    use super::super::memory::Memory;
    use super::*;

    fn run(
        user: &Memory,
        series: SimSeries,
        cmd: u16,
        sub: u16,
        data: &[u8],
    ) -> Result<Vec<u8>, u16> {
        let image = Memory::default();
        execute(
            View {
                user,
                image: &image,
            },
            series,
            cmd,
            sub,
            data,
        )
    }

    #[test]
    fn reference_vector_a_sw0080_times_4() {
        let mut user = Memory::default();
        user.set_words(SW, 0x80, &[0x0004, 0, 0, 0x8000]);
        let out = run(&user, SimSeries::Q, 0x0401, 0, &[0x80, 0, 0, 0xB5, 4, 0]);
        assert_eq!(out, Ok(vec![0x04, 0, 0, 0, 0, 0, 0, 0x80]));
    }

    #[test]
    fn reference_vector_d_bit_read_sb0040_times_16() {
        let mut user = Memory::default();
        for n in [0x40, 0x43, 0x46, 0x49, 0x4C, 0x4F] {
            user.set_bit(SB, n, true);
        }
        let out = run(&user, SimSeries::Q, 0x0401, 1, &[0x40, 0, 0, 0xA1, 0x10, 0]);
        assert_eq!(
            out,
            Ok(vec![0x10, 0x01, 0x00, 0x10, 0x01, 0x00, 0x10, 0x01])
        );
    }

    #[test]
    fn an_odd_bit_count_pads_the_low_nibble() {
        let mut user = Memory::default();
        user.set_bit(SB, 2, true);
        let out = run(&user, SimSeries::Q, 0x0401, 1, &[0, 0, 0, 0xA1, 3, 0]);
        assert_eq!(out, Ok(vec![0x00, 0x10]));
    }

    #[test]
    fn reference_vector_e_random_read_and_double_words() {
        let mut user = Memory::default();
        user.set_words(SW, 0x80, &[0x1234]);
        user.set_words(SW, 0x90, &[0x0001, 0xABCD]);
        let data = [2, 1, 0x80, 0, 0, 0xB5, 0x90, 0, 0, 0xB5, 0x90, 0, 0, 0xB5];
        let out = run(&user, SimSeries::Q, 0x0403, 0, &data);
        assert_eq!(out, Ok(vec![0x34, 0x12, 0x01, 0, 0x01, 0, 0xCD, 0xAB]));
    }

    #[test]
    fn the_iqr_specification_is_answered_on_iqr_only() {
        let mut user = Memory::default();
        user.set_words(SW, 0x80, &[7]);
        let data = [0x80, 0, 0, 0, 0xB5, 0, 1, 0];
        assert_eq!(run(&user, SimSeries::IqR, 0x0401, 2, &data), Ok(vec![7, 0]));
        assert_eq!(
            run(&user, SimSeries::Q, 0x0401, 2, &data),
            Err(end::COMMAND)
        );
    }

    #[test]
    fn writes_and_remote_control_are_refused_with_c059() {
        let user = Memory::default();
        for (cmd, sub) in [
            (0x1401, 0),
            (0x1402, 1),
            (0x1001, 0),
            (0x1002, 0),
            (0x0101, 0),
            (0x0401, 0x0080),
        ] {
            assert_eq!(
                run(&user, SimSeries::Q, cmd, sub, &[]),
                Err(0xC059),
                "{cmd:04X}/{sub:04X}"
            );
        }
    }

    #[test]
    fn limits_and_malformed_requests_get_their_end_codes() {
        let user = Memory::default();
        let q = SimSeries::Q;
        // 960 words is fine, 961 is not.
        assert_eq!(
            run(&user, q, 0x0401, 0, &[0, 0, 0, 0xA8, 0xC0, 0x03]).map(|d| d.len()),
            Ok(1920)
        );
        assert_eq!(
            run(&user, q, 0x0401, 0, &[0, 0, 0, 0xA8, 0xC1, 0x03]),
            Err(0xC051)
        );
        assert_eq!(
            run(&user, q, 0x0401, 0, &[0, 0, 0, 0xA8, 0, 0]),
            Err(0xC051)
        );
        assert_eq!(
            run(&user, q, 0x0401, 1, &[0, 0, 0, 0x90, 0x00, 0x1C]).map(|d| d.len()),
            Ok(3584)
        );
        assert_eq!(
            run(&user, q, 0x0401, 1, &[0, 0, 0, 0x90, 0x01, 0x1C]),
            Err(0xC052)
        );
        assert_eq!(run(&user, q, 0x0401, 0, &[0, 0, 0, 0xA8, 1]), Err(0xC061));
        assert_eq!(
            run(&user, q, 0x0401, 0, &[0, 0, 0, 0xA8, 1, 0, 0]),
            Err(0xC061)
        );
        assert_eq!(
            run(&user, q, 0x0401, 0, &[0, 0, 0, 0x01, 1, 0]),
            Err(0xC05B)
        );
        assert_eq!(
            run(&user, q, 0x0401, 1, &[0, 0, 0, 0xA8, 1, 0]),
            Err(0xC05C)
        );
        assert_eq!(
            run(&user, q, 0x0401, 0, &[0xFF, 0xFF, 0xFF, 0xA8, 2, 0]),
            Err(0xC056)
        );
        let mut random = vec![193, 0];
        random.extend(std::iter::repeat_n([0, 0, 0, 0xA8], 193).flatten());
        assert_eq!(run(&user, q, 0x0403, 0, &random), Err(0xC054));
        assert_eq!(run(&user, q, 0x0403, 0, &[0, 0]), Err(0xC054));
        assert_eq!(run(&user, q, 0x0403, 0, &[1, 0, 0, 0]), Err(0xC061));
    }
}
