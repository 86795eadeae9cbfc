//! MC protocol 3E/4E binary frames as a PLC (or, for the simulator, a client) sends them, the
//! commands inside them, random-read data, type names and the CPU self-diagnosis words.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use plcdiag_melsec::CpuDiagnosis;
use plcdiag_melsec::codec::{ClientCodec, FrameCodec, ServerCodec};
use plcdiag_melsec::frame::{
    Command, Direction, Request, Response, Route, Series, TypeName, decode_bits, decode_random,
    decode_words,
};
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    for _ in 0..64 {
        match ClientCodec.decode(&mut buf) {
            Ok(Some(r)) => {
                let _ = format!("{r:?}");
            }
            Ok(None) | Err(_) => break,
        }
    }
    let mut buf = BytesMut::from(data);
    for _ in 0..64 {
        if !matches!(ServerCodec.decode(&mut buf), Ok(Some(_))) {
            break;
        }
    }
    for direction in [Direction::Request, Direction::Response] {
        let mut buf = BytesMut::from(data);
        let _ = FrameCodec::new(direction).decode(&mut buf);
    }
    let _ = Response::decode(data);
    let _ = Request::decode(data);
    let _ = Route::decode(data);
    let _ = TypeName::decode(data);
    if let [c0, c1, s0, s1, rest @ ..] = data {
        let command = u16::from_le_bytes([*c0, *c1]);
        let subcommand = u16::from_le_bytes([*s0, *s1]);
        let _ = Command::decode(command, subcommand, rest);
        let words = usize::from(*c0 % 32);
        let dwords = usize::from(*c1 % 16);
        let _ = decode_random(rest, words, dwords);
        let _ = decode_words(rest, usize::from(*s0));
        let _ = decode_bits(rest, usize::from(*s1));
    }
    let words: Vec<u16> = data
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c.get(1).copied().unwrap_or(0)]))
        .collect();
    for series in [Series::Q, Series::L, Series::IqR] {
        if let Ok(d) = CpuDiagnosis::decode(series, &words) {
            let _ = (d.error_stop(), d.run_state.to_string(), format!("{d:?}"));
        }
    }
});
