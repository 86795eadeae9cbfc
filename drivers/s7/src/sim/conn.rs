//! One simulated connection: ISO-on-TCP framing with the crate's [`IsoCodec`], COTP CR → CC,
//! setup communication, userdata read SZL (with fragments and follow-ups), read-var; every
//! other job is refused.
//!
//! The envelope (TPKT, COTP, S7 header) comes from [`crate::frame`]; the userdata parameter
//! block, SZL records and fragmentation are encoded here from the reference layouts, not with
//! the client's SZL types, so that the client and this server do not share a bug.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::{Encoder, Framed};

use super::memory::retcode;
use super::state::{SZL_NOT_AVAILABLE, SzlRefused};
use super::szl::fragment;
use super::{S7Fault, Shared};
use crate::codec::IsoCodec;
use crate::frame::{Cotp, CotpConnect, HeaderError, Rosctr, S7Pdu};

/// S7 function codes (Wireshark s7comm `param_functionnames`).
mod function {
    /// Setup communication.
    pub(super) const SETUP: u8 = 0xF0;
    /// Read variable.
    pub(super) const READ_VAR: u8 = 0x04;
}

/// Header error for refused jobs: class 0x81, code 0x04 ("service not implemented", §7.2).
const REFUSED: HeaderError = HeaderError {
    class: 0x81,
    code: 0x04,
};

/// Header error when an answer would not fit the PDU: 0x8500 (§7.2).
const OVER_PDU: HeaderError = HeaderError {
    class: 0x85,
    code: 0x00,
};

/// Userdata parameter error for functions the simulator does not offer (0x8104, §7.2).
const UD_NOT_IMPLEMENTED: u16 = 0x8104;

/// A fragmented SZL answer waiting for follow-ups.
#[derive(Debug)]
struct Pending {
    seq: u8,
    rest: std::vec::IntoIter<Vec<u8>>,
}

/// Per-connection protocol state.
#[derive(Debug)]
struct Session {
    pdu_size: u16,
    next_seq: u8,
    pending: Option<Pending>,
    /// Payload of DT TPDUs without EOT, awaiting the rest.
    partial: Vec<u8>,
}

enum Outcome {
    Answer(Cotp),
    Silent,
    Close,
}

/// Serves one accepted socket until the peer closes, a frame is malformed, or a fault
/// closes it.
pub(super) async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let pdu_max = shared.state().cpu.pdu_max;
    let mut framed = Framed::new(stream, IsoCodec);
    let mut session = Session {
        pdu_size: pdu_max,
        next_seq: 1,
        pending: None,
        partial: Vec::new(),
    };
    while let Some(frame) = framed.next().await {
        let Ok(frame) = frame else {
            tracing::debug!("s7 sim: malformed frame, closing the connection");
            break;
        };
        shared.requests.fetch_add(1, Ordering::Relaxed);
        let fault = shared.state().fault;
        match fault {
            S7Fault::NoAnswer => continue,
            S7Fault::DropConnection => break,
            _ => {}
        }
        let answer = match session.handle(frame, &shared, fault) {
            Outcome::Answer(answer) => answer,
            Outcome::Silent => continue,
            Outcome::Close => break,
        };
        if let S7Fault::Slow(delay) = fault {
            tokio::time::sleep(delay).await;
        }
        if fault == S7Fault::Truncated {
            let mut bytes = BytesMut::new();
            if IsoCodec.encode(answer, &mut bytes).is_ok() {
                let cut = (bytes.len() / 2).max(1);
                let _ = framed.get_mut().write_all(&bytes[..cut]).await;
            }
            break;
        }
        if framed.send(answer).await.is_err() {
            break;
        }
    }
}

impl Session {
    fn handle(&mut self, frame: Cotp, shared: &Shared, fault: S7Fault) -> Outcome {
        match frame {
            Cotp::ConnectRequest(cr) => Outcome::Answer(Cotp::ConnectConfirm(CotpConnect {
                dst_ref: cr.src_ref,
                src_ref: 0x0001,
                class: 0,
                params: cr.params,
            })),
            Cotp::Data(dt) => {
                self.partial.extend_from_slice(&dt.payload);
                if !dt.eot {
                    return Outcome::Silent;
                }
                let payload = std::mem::take(&mut self.partial);
                match S7Pdu::decode(&payload) {
                    Ok(pdu) => match self.answer(pdu, shared, fault) {
                        Some(pdu) => {
                            let mut bytes = BytesMut::new();
                            pdu.encode(&mut bytes);
                            Outcome::Answer(Cotp::data(bytes.to_vec()))
                        }
                        None => Outcome::Silent,
                    },
                    Err(error) => {
                        tracing::debug!(%error, "s7 sim: undecodable S7 PDU, closing");
                        Outcome::Close
                    }
                }
            }
            Cotp::DisconnectRequest(_) | Cotp::ConnectConfirm(_) => Outcome::Close,
        }
    }

    fn answer(&mut self, pdu: S7Pdu, shared: &Shared, fault: S7Fault) -> Option<S7Pdu> {
        match pdu.rosctr {
            Rosctr::Job => Some(self.job(&pdu, shared, fault)),
            Rosctr::Userdata => Some(self.userdata(&pdu, shared, fault)),
            Rosctr::Ack | Rosctr::AckData => None,
        }
    }

    fn job(&mut self, pdu: &S7Pdu, shared: &Shared, fault: S7Fault) -> S7Pdu {
        let ack = |error: HeaderError, params: Vec<u8>, data: Vec<u8>| S7Pdu {
            rosctr: Rosctr::AckData,
            pdu_ref: pdu.pdu_ref,
            error,
            params,
            data,
        };
        let function = pdu.params.first().copied();
        if function == Some(function::SETUP) && pdu.params.len() >= 8 {
            // §1.4: the CPU answers min(requested, its maximum), AmQ 1/1.
            let requested = u16::from_be_bytes([pdu.params[6], pdu.params[7]]);
            let max = shared.state().cpu.pdu_max;
            self.pdu_size = if requested == 0 {
                max
            } else {
                requested.min(max)
            };
            let mut params = vec![function::SETUP, 0x00, 0x00, 0x01, 0x00, 0x01];
            params.extend_from_slice(&self.pdu_size.to_be_bytes());
            return ack(HeaderError::OK, params, Vec::new());
        }
        if let S7Fault::ErrorClass { class, code } = fault {
            return ack(HeaderError { class, code }, Vec::new(), Vec::new());
        }
        if function == Some(function::READ_VAR) {
            let (params, data) = self.read_var(&pdu.params, shared);
            if 12 + params.len() + data.len() > usize::from(self.pdu_size) {
                return ack(OVER_PDU, Vec::new(), Vec::new());
            }
            return ack(HeaderError::OK, params, data);
        }
        // The simulator is read-only: write var, PLC control, up/download… are refused.
        ack(
            REFUSED,
            function.map(|f| vec![f, 0x00]).unwrap_or_default(),
            Vec::new(),
        )
    }

    fn read_var(&self, params: &[u8], shared: &Shared) -> (Vec<u8>, Vec<u8>) {
        let count = params.get(1).copied().unwrap_or(0);
        let state = shared.state();
        let mut data = Vec::new();
        for i in 0..usize::from(count) {
            if i > 0 && data.len() % 2 == 1 {
                data.push(0); // items are padded to even length, except after the last
            }
            let result = params
                .get(2 + i * 12..2 + (i + 1) * 12)
                .map_or(Err(retcode::OUT_OF_RANGE), |item| {
                    read_item(item, &state.cpu.memory)
                });
            match result {
                Ok((transport, length, bytes)) => {
                    data.extend_from_slice(&[retcode::OK, transport]);
                    data.extend_from_slice(&length.to_be_bytes());
                    data.extend_from_slice(&bytes);
                }
                Err(code) => data.extend_from_slice(&[code, 0x00, 0x00, 0x00]),
            }
        }
        (vec![function::READ_VAR, count], data)
    }

    fn userdata(&mut self, pdu: &S7Pdu, shared: &Shared, fault: S7Fault) -> S7Pdu {
        let p = &pdu.params;
        // 00 01 12 | len | method | type/group | subfunction | seq (§2.1)
        let valid = p.len() >= 8 && p[0..3] == [0x00, 0x01, 0x12];
        let (method, group, subfunction, seq) = if valid {
            (p[4], p[5] & 0x0F, p[6], p[7])
        } else {
            (0, 0, 0, 0)
        };
        let reply = |seq: u8, dur: u8, more: bool, error: u16, data: Vec<u8>| S7Pdu {
            rosctr: Rosctr::Userdata,
            pdu_ref: pdu.pdu_ref,
            error: HeaderError::OK,
            params: {
                let mut params = vec![
                    0x00,
                    0x01,
                    0x12,
                    0x08,
                    0x12,
                    0x80 | group,
                    subfunction,
                    seq,
                    dur,
                ];
                params.push(u8::from(more));
                params.extend_from_slice(&error.to_be_bytes());
                params
            },
            data,
        };
        let refused =
            |seq: u8, code: u16| reply(seq, 0, false, code, vec![retcode::NO_OBJECT, 0, 0, 0]);
        if !valid || group != 0x4 || subfunction != 0x01 {
            return refused(seq, UD_NOT_IMPLEMENTED);
        }
        if let S7Fault::SzlError(code) = fault {
            self.pending = None;
            return refused(seq, code);
        }
        if method == 0x12 {
            // Follow-up: byte 7 echoes the sequence number of the fragment it continues.
            let Some(pending) = self.pending.as_mut().filter(|pending| pending.seq == seq) else {
                return refused(seq, SZL_NOT_AVAILABLE.0);
            };
            let Some(part) = pending.rest.next() else {
                self.pending = None;
                return refused(seq, SZL_NOT_AVAILABLE.0);
            };
            let more = pending.rest.len() > 0;
            if !more {
                self.pending = None;
            }
            return reply(seq, seq, more, 0, szl_data(part));
        }
        // A new request abandons an unfinished transfer.
        self.pending = None;
        let d = &pdu.data;
        if d.len() < 8 {
            return refused(seq, SZL_NOT_AVAILABLE.0);
        }
        let id = u16::from_be_bytes([d[4], d[5]]);
        let index = u16::from_be_bytes([d[6], d[7]]);
        let list = shared.state().cpu.szl(id, index, SystemTime::now());
        match list {
            Err(SzlRefused(code)) => refused(seq, code),
            Ok(list) => {
                let mut parts = fragment(&list.payload(id, index), self.pdu_size).into_iter();
                let first = parts.next().unwrap_or_default();
                if parts.len() == 0 {
                    return reply(0, 0, false, 0, szl_data(first));
                }
                let seq = self.next_seq;
                self.next_seq = self.next_seq.checked_add(1).unwrap_or(1);
                self.pending = Some(Pending { seq, rest: parts });
                reply(seq, seq, true, 0, szl_data(first))
            }
        }
    }
}

/// The data part of a successful SZL answer: `FF 09 <len> <bytes>` (§2.2).
fn szl_data(part: Vec<u8>) -> Vec<u8> {
    let mut data = vec![retcode::OK, 0x09];
    data.extend_from_slice(&(part.len() as u16).to_be_bytes());
    data.extend_from_slice(&part);
    data
}

/// Reads one S7ANY item `12 0A 10 <ts> <count:2> <db:2> <area> <bit address:3>`; returns
/// the response transport size, the length field (bits for 0x03/0x04/0x05, bytes for 0x07)
/// and the bytes.
fn read_item(item: &[u8], memory: &super::memory::Memory) -> Result<(u8, u16, Vec<u8>), u8> {
    if item.len() != 12 || item[0..3] != [0x12, 0x0A, 0x10] {
        return Err(retcode::OUT_OF_RANGE);
    }
    let transport = item[3];
    let count = usize::from(u16::from_be_bytes([item[4], item[5]]));
    let db = u16::from_be_bytes([item[6], item[7]]);
    let area = item[8];
    let address = u32::from_be_bytes([0, item[9], item[10], item[11]]);
    let byte = (address >> 3) as usize;
    if transport == 0x01 {
        // BIT: one bit, answered with transport size 0x03 and length 1 (bits).
        if count != 1 {
            return Err(retcode::OUT_OF_RANGE);
        }
        let value = memory.read(area, db, byte, 1)?[0] >> (address & 7) & 1;
        return Ok((0x03, 1, vec![value]));
    }
    let (element, answer_ts, in_bits) = match transport {
        0x02 | 0x03 => (1, 0x04, true), // BYTE, CHAR
        0x04 => (2, 0x04, true),        // WORD
        0x06 => (4, 0x04, true),        // DWORD
        0x05 => (2, 0x05, true),        // INT
        0x07 => (4, 0x05, true),        // DINT
        0x08 => (4, 0x07, false),       // REAL: length in bytes
        _ => return Err(retcode::TYPE_NOT_SUPPORTED),
    };
    let len = count * element;
    let bytes = memory.read(area, db, byte, len)?.to_vec();
    let length = if in_bits { len * 8 } else { len };
    let length = u16::try_from(length).map_err(|_| retcode::OUT_OF_RANGE)?;
    Ok((answer_ts, length, bytes))
}
