//! The simulator's Modbus RTU side, framed here rather than by tokio-modbus.
//!
//! An RTU frame is `address, function code, data, CRC` (Modbus over Serial Line
//! Specification and Implementation Guide V1.02 §2.5.1), at most 256 bytes. Real devices
//! find frame ends by 3.5 character times of silence; over a byte stream the simulator
//! instead derives each request's length from its function code (lengths from the
//! Application Protocol Specification V1.1b3 §6), checks the CRC, and on a bad CRC drops one
//! byte and tries again. A function code whose length it does not know makes it discard
//! what it has buffered, as a device discards a frame it cannot parse.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{Action, Shared, SimRequest};
use crate::client::RawData;
use crate::exception::ExceptionCode;
use crate::value::Table;

/// Largest RTU frame (Serial Line V1.02 §2.5.1: "The maximum size of a MODBUS RTU frame is
/// 256 bytes").
const MAX_FRAME: usize = 256;

/// Serves requests addressed to `unit` until the transport closes or the task is aborted.
pub(super) async fn serve<T>(mut transport: T, unit: u8, shared: Arc<Shared>)
where
    T: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut buffer: Vec<u8> = Vec::with_capacity(MAX_FRAME * 2);
    let mut chunk = [0u8; MAX_FRAME];
    loop {
        match parse_request(&buffer) {
            Parsed::Incomplete => match transport.read(&mut chunk).await {
                Ok(0) => return,
                Ok(n) => buffer.extend(chunk.get(..n).unwrap_or_default()),
                Err(error) => {
                    tracing::debug!(%error, "modbus sim: RTU transport read failed");
                    return;
                }
            },
            Parsed::Discard(n) => {
                buffer.drain(..n.min(buffer.len()));
            }
            Parsed::Request {
                len,
                unit: address,
                request,
            } => {
                buffer.drain(..len.min(buffer.len()));
                // Serial Line V1.02 §2.2: only the addressed slave answers; a broadcast
                // (address 0) is never answered.
                if address != unit {
                    continue;
                }
                let frame = match shared.handle(request) {
                    Action::Reply(answer) => encode_response(unit, request, &answer),
                    Action::Delayed(delay, answer) => {
                        tokio::time::sleep(delay).await;
                        encode_response(unit, request, &answer)
                    }
                    Action::NoAnswer | Action::Drop => continue,
                };
                if let Err(error) = transport.write_all(&frame).await {
                    tracing::debug!(%error, "modbus sim: RTU transport write failed");
                    return;
                }
                // Best effort, as above.
                let _ = transport.flush().await;
            }
        }
    }
}

/// The result of looking for one request at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// More bytes are needed.
    Incomplete,
    /// Drop this many bytes (bad CRC, unknown function code).
    Discard(usize),
    /// A complete request of `len` bytes.
    Request {
        /// Frame length including address and CRC.
        len: usize,
        /// The slave address.
        unit: u8,
        /// The request.
        request: SimRequest,
    },
}

/// Finds the request at the start of `buf`. Pure and total: never panics.
pub(crate) fn parse_request(buf: &[u8]) -> Parsed {
    let (Some(&unit), Some(&function)) = (buf.first(), buf.get(1)) else {
        return Parsed::Incomplete;
    };
    let byte_at = |index: usize| buf.get(index).map(|b| usize::from(*b));
    // Frame length = address + PDU + 2 CRC bytes.
    let len = match function {
        0x01..=0x06 | 0x08 => Some(8),
        0x07 | 0x0B | 0x0C | 0x11 => Some(4),
        0x0F | 0x10 => byte_at(6).map(|count| 9 + count),
        0x14 | 0x15 => byte_at(2).map(|count| 5 + count),
        0x16 => Some(10),
        0x17 => byte_at(10).map(|count| 13 + count),
        0x18 => Some(6),
        0x2B => Some(7),
        _ => return Parsed::Discard(buf.len()),
    };
    let Some(len) = len else {
        return Parsed::Incomplete;
    };
    if len > MAX_FRAME {
        return Parsed::Discard(1);
    }
    let Some(frame) = buf.get(..len) else {
        return Parsed::Incomplete;
    };
    let Some((body, crc)) = frame.split_last_chunk::<2>() else {
        return Parsed::Discard(1);
    };
    if crc16(body) != u16::from_le_bytes(*crc) {
        return Parsed::Discard(1);
    }
    let word = |index: usize| match (body.get(index), body.get(index + 1)) {
        (Some(hi), Some(lo)) => u16::from_be_bytes([*hi, *lo]),
        _ => 0,
    };
    let table = match function {
        0x01 => Some(Table::Coil),
        0x02 => Some(Table::DiscreteInput),
        0x03 => Some(Table::HoldingRegister),
        0x04 => Some(Table::InputRegister),
        _ => None,
    };
    let request = match table {
        Some(table) => SimRequest::Read {
            table,
            start: word(2),
            quantity: word(4),
        },
        None => SimRequest::Other { function },
    };
    Parsed::Request { len, unit, request }
}

/// Encodes a response frame: data (§6.1–§6.4) or an exception (§7: function code + 0x80,
/// then the exception code), followed by the CRC.
pub(crate) fn encode_response(
    unit: u8,
    request: SimRequest,
    answer: &Result<RawData, ExceptionCode>,
) -> Vec<u8> {
    let function = request.function();
    let mut frame = vec![unit];
    match answer {
        Ok(RawData::Bits(bits)) => {
            // §6.1: the LSB of the first data byte is the first addressed bit; the last
            // byte is padded with zeros.
            let packed: Vec<u8> = bits
                .chunks(8)
                .map(|byte| {
                    byte.iter()
                        .enumerate()
                        .fold(0u8, |acc, (i, bit)| acc | (u8::from(*bit) << i))
                })
                .collect();
            frame.push(function);
            frame.push(u8::try_from(packed.len()).unwrap_or(u8::MAX));
            frame.extend(packed);
        }
        Ok(RawData::Registers(registers)) => {
            frame.push(function);
            frame.push(u8::try_from(registers.len() * 2).unwrap_or(u8::MAX));
            frame.extend(registers.iter().flat_map(|r| r.to_be_bytes()));
        }
        Err(code) => {
            frame.push(function | 0x80);
            frame.push(code.code());
        }
    }
    let crc = crc16(&frame);
    frame.extend(crc.to_le_bytes());
    frame
}

/// CRC-16/MODBUS: initial 0xFFFF, reflected polynomial 0xA001, sent low byte first (Serial
/// Line V1.02 §2.5.1.2 and §6.2.2).
pub(crate) fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0xFFFF_u16, |crc, byte| {
        (0..8).fold(crc ^ u16::from(*byte), |crc, _| {
            if crc & 1 == 1 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Serial Line V1.02 §6.2.2 and the common worked example: the request
    /// `01 03 00 00 00 0A` (read 10 holding registers from slave 1) carries CRC `C5 CD`.
    #[test]
    fn crc_matches_the_read_holding_registers_example_frame() {
        assert_eq!(
            crc16(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x0A]).to_le_bytes(),
            [0xC5, 0xCD]
        );
    }

    #[test]
    fn a_read_holding_registers_frame_parses_to_a_read() {
        let frame = [0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD];
        assert_eq!(
            parse_request(&frame),
            Parsed::Request {
                len: 8,
                unit: 1,
                request: SimRequest::Read {
                    table: Table::HoldingRegister,
                    start: 0,
                    quantity: 10
                }
            }
        );
        assert_eq!(parse_request(&frame[..7]), Parsed::Incomplete);
    }

    #[test]
    fn a_frame_with_a_bad_crc_drops_one_byte() {
        let frame = [0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCE];
        assert_eq!(parse_request(&frame), Parsed::Discard(1));
    }

    #[test]
    fn exception_responses_set_the_high_bit_of_the_function_code() {
        let request = SimRequest::Read {
            table: Table::HoldingRegister,
            start: 0,
            quantity: 1,
        };
        let frame = encode_response(1, request, &Err(ExceptionCode::IllegalDataAddress));
        assert_eq!(frame.get(..3), Some(&[0x01, 0x83, 0x02][..]));
        assert_eq!(crc16(&frame), 0, "CRC over a frame including its CRC is 0");
    }

    #[test]
    fn coils_are_packed_lsb_first_and_padded() {
        let request = SimRequest::Read {
            table: Table::Coil,
            start: 0,
            quantity: 10,
        };
        let bits = vec![
            true, false, true, true, false, false, true, true, true, false,
        ];
        let frame = encode_response(1, request, &Ok(RawData::Bits(bits)));
        // §6.1 example: CD 6B ... here 0b1100_1101 = 0xCD, then 0b01 = 0x01.
        assert_eq!(frame.get(..5), Some(&[0x01, 0x01, 0x02, 0xCD, 0x01][..]));
    }

    proptest! {
        #[test]
        fn parsing_any_bytes_never_panics_and_never_overruns(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            match parse_request(&bytes) {
                Parsed::Incomplete => {}
                Parsed::Discard(n) => prop_assert!(n >= 1 && n <= bytes.len()),
                Parsed::Request { len, .. } => prop_assert!(len <= bytes.len()),
            }
        }
    }
}
