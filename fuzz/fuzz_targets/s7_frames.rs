//! TPKT/COTP framing and S7 PDUs from a CPU (or a client, for the simulator): any bytes give
//! frames or a typed error, never a panic, never an unbounded buffer.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use plcdiag_s7::codec::IsoCodec;
use plcdiag_s7::frame::{Cotp, S7Message, S7Pdu};
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    // The stream as the client's framed transport sees it.
    let mut buf = BytesMut::from(data);
    let mut codec = IsoCodec;
    for _ in 0..64 {
        match codec.decode(&mut buf) {
            Ok(Some(cotp)) => {
                let _ = format!("{cotp:?}");
            }
            Ok(None) | Err(_) => break,
        }
    }
    let _ = Cotp::decode(data);
    let _ = Cotp::decode_cotp(data);
    let _ = S7Pdu::decode(data);
    let _ = S7Message::decode(data);
});
