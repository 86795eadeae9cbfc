//! Read-var job (function 0x04) with S7ANY item addressing and its Ack_Data with per-item
//! return codes. The layout is the classic S7comm read-var (Wireshark `packet-s7comm.c`
//! `s7comm_decode_param_item` / `s7comm_decode_response_read_data`); the data-length rule
//! is `s7.md` §6.8: transport sizes 0x03/0x04/0x05 count **bits**, 0x07/0x09 bytes.

use super::error::{DecodeError, HeaderError, ReturnCode, be16, need};
use super::s7::{FUNC_READ_VAR, Rosctr, S7Pdu};

/// Area code: process inputs (I/E).
pub const AREA_INPUTS: u8 = 0x81;
/// Area code: process outputs (Q/A).
pub const AREA_OUTPUTS: u8 = 0x82;
/// Area code: flags / markers (M).
pub const AREA_MARKERS: u8 = 0x83;
/// Area code: data blocks (DB).
pub const AREA_DB: u8 = 0x84;
/// Area code: S7 counters (C/Z); address = counter number.
pub const AREA_COUNTERS: u8 = 0x1C;
/// Area code: S7 timers (T); address = timer number.
pub const AREA_TIMERS: u8 = 0x1D;

/// Item transport size (request): BIT.
pub const ITEM_TS_BIT: u8 = 0x01;
/// Item transport size (request): BYTE.
pub const ITEM_TS_BYTE: u8 = 0x02;
/// Item transport size (request): COUNTER.
pub const ITEM_TS_COUNTER: u8 = 0x1C;
/// Item transport size (request): TIMER.
pub const ITEM_TS_TIMER: u8 = 0x1D;

/// Data transport size (response): none (error items).
pub const DATA_TS_NULL: u8 = 0x00;
/// Data transport size (response): BIT, length in bits (`s7.md` §6.8).
pub const DATA_TS_BIT: u8 = 0x03;
/// Data transport size (response): BYTE/WORD/DWORD, length in bits (`s7.md` §6.8).
pub const DATA_TS_BYTE: u8 = 0x04;
/// Data transport size (response): INTEGER, length in bits (`s7.md` §6.8).
pub const DATA_TS_INT: u8 = 0x05;
/// Data transport size (response): REAL, length in bytes.
pub const DATA_TS_REAL: u8 = 0x07;
/// Data transport size (response): OCTET STRING, length in bytes (timers, counters).
pub const DATA_TS_OCTET: u8 = 0x09;

/// One S7ANY item specification: `12 0A 10 | TS | count(2) | DB(2) | area | address(3)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AnyItem {
    /// Item transport size (0x02 BYTE, 0x01 BIT, 0x1C COUNTER, 0x1D TIMER …).
    pub transport_size: u8,
    /// Number of elements of that size.
    pub count: u16,
    /// DB number (0 outside DBs).
    pub db: u16,
    /// Area code (0x81 I, 0x82 Q, 0x83 M, 0x84 DB, 0x1C C, 0x1D T).
    pub area: u8,
    /// 24-bit address: byte × 8 + bit, or the timer/counter number.
    pub address: u32,
}

impl AnyItem {
    /// Encoded length of one item specification.
    pub const LEN: usize = 12;

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[0x12, 0x0A, 0x10, self.transport_size]);
        out.extend_from_slice(&self.count.to_be_bytes());
        out.extend_from_slice(&self.db.to_be_bytes());
        out.push(self.area);
        out.extend_from_slice(&(self.address & 0x00FF_FFFF).to_be_bytes()[1..]);
    }

    fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        need(b, Self::LEN)?;
        if b[0..3] != [0x12, 0x0A, 0x10] {
            return Err(DecodeError::BadItemHead([b[0], b[1], b[2]]));
        }
        Ok(AnyItem {
            transport_size: b[3],
            count: be16(b, 4),
            db: be16(b, 6),
            area: b[8],
            address: u32::from_be_bytes([0, b[9], b[10], b[11]]),
        })
    }
}

/// Read-var job (client → CPU).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadVarJob {
    /// PDU reference.
    pub pdu_ref: u16,
    /// The items (at most 255).
    pub items: Vec<AnyItem>,
}

impl ReadVarJob {
    /// Encoded PDU length for `n` items: 10-byte header + 2 + 12 × n.
    pub fn encoded_len(n: usize) -> usize {
        10 + 2 + AnyItem::LEN * n
    }

    /// The raw PDU.
    pub fn to_pdu(&self) -> S7Pdu {
        let mut params = vec![FUNC_READ_VAR, self.items.len() as u8];
        self.items.iter().for_each(|i| i.encode(&mut params));
        S7Pdu {
            rosctr: Rosctr::Job,
            pdu_ref: self.pdu_ref,
            error: HeaderError::OK,
            params,
            data: Vec::new(),
        }
    }

    pub(crate) fn from_pdu(pdu: &S7Pdu) -> Result<Self, DecodeError> {
        let p = &pdu.params;
        need(p, 2)?;
        let n = usize::from(p[1]);
        need(p, 2 + n * AnyItem::LEN)?;
        let items = (0..n)
            .map(|i| AnyItem::decode(&p[2 + i * AnyItem::LEN..]))
            .collect::<Result<_, _>>()?;
        Ok(ReadVarJob {
            pdu_ref: pdu.pdu_ref,
            items,
        })
    }
}

/// One data item of a read-var Ack_Data: `return code | TS | length | data [| pad]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataItem {
    /// Per-item return code (`s7.md` §7.3).
    pub return_code: ReturnCode,
    /// Data transport size (0x03/0x04/0x05: length in bits; otherwise bytes).
    pub transport_size: u8,
    /// The data bytes.
    pub data: Vec<u8>,
}

impl DataItem {
    /// A successful byte item (TS 0x04, length in bits).
    pub fn bytes(data: Vec<u8>) -> Self {
        DataItem {
            return_code: ReturnCode::Success,
            transport_size: DATA_TS_BYTE,
            data,
        }
    }

    /// A failed item: return code, TS 0, no data.
    pub fn error(code: ReturnCode) -> Self {
        DataItem {
            return_code: code,
            transport_size: DATA_TS_NULL,
            data: Vec::new(),
        }
    }

    /// The length field for the data, in bits or bytes per the transport size. Items with
    /// a return code other than 0xFF carry no data (their `data` is not encoded).
    fn length_field(&self) -> u16 {
        if !self.return_code.is_success() {
            return 0;
        }
        let n = self.data.len();
        (match self.transport_size {
            DATA_TS_BIT if n == 1 => 1,
            DATA_TS_BIT | DATA_TS_BYTE | DATA_TS_INT => n * 8,
            _ => n,
        }) as u16
    }

    /// Data bytes for a length field.
    fn data_len(transport_size: u8, field: u16) -> usize {
        let field = usize::from(field);
        match transport_size {
            DATA_TS_BIT | DATA_TS_BYTE | DATA_TS_INT => field.div_ceil(8),
            _ => field,
        }
    }

    /// Encoded length of an item with `data_len` bytes, with the fill byte unless `last`.
    pub fn encoded_len(data_len: usize, last: bool) -> usize {
        4 + data_len + usize::from(!last && data_len % 2 == 1)
    }
}

/// Read-var Ack_Data (CPU → client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadVarAck {
    /// PDU reference (echo).
    pub pdu_ref: u16,
    /// Header error class/code.
    pub error: HeaderError,
    /// One data item per requested item, in request order.
    pub items: Vec<DataItem>,
}

impl ReadVarAck {
    /// The raw PDU.
    pub fn to_pdu(&self) -> S7Pdu {
        let params = vec![FUNC_READ_VAR, self.items.len() as u8];
        let mut data = Vec::new();
        let n = self.items.len();
        for (i, item) in self.items.iter().enumerate() {
            data.push(item.return_code.code());
            data.push(item.transport_size);
            data.extend_from_slice(&item.length_field().to_be_bytes());
            let payload: &[u8] = if item.return_code.is_success() {
                &item.data
            } else {
                &[]
            };
            data.extend_from_slice(payload);
            if i + 1 < n && payload.len() % 2 == 1 {
                data.push(0);
            }
        }
        S7Pdu {
            rosctr: Rosctr::AckData,
            pdu_ref: self.pdu_ref,
            error: self.error,
            params,
            data,
        }
    }

    pub(crate) fn from_pdu(pdu: &S7Pdu) -> Result<Self, DecodeError> {
        need(&pdu.params, 2)?;
        let n = usize::from(pdu.params[1]);
        let d = &pdu.data;
        let mut at = 0;
        let mut items = Vec::with_capacity(n);
        for i in 0..n {
            need(d, at + 4)?;
            let (rc, ts) = (ReturnCode::from_code(d[at]), d[at + 1]);
            // A failed item carries no data. Real CPUs send `0A 00 00 00`; the Snap7 server
            // sends a non-zero length (`0A 00 00 04`) without data bytes, so the length field
            // of a failed item is ignored.
            let len = if rc.is_success() {
                DataItem::data_len(ts, be16(d, at + 2))
            } else {
                0
            };
            need(d, at + 4 + len)?;
            items.push(DataItem {
                return_code: rc,
                transport_size: ts,
                data: d[at + 4..at + 4 + len].to_vec(),
            });
            at += 4 + len;
            if i + 1 < n && len % 2 == 1 {
                at += 1;
            }
        }
        Ok(ReadVarAck {
            pdu_ref: pdu.pdu_ref,
            error: pdu.error,
            items,
        })
    }
}
