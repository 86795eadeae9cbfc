//! Userdata read-SZL messages (`s7.md` §2.1–§2.4), [`SzlId`] and [`SzlList`] (`s7.md` §3.1).

use std::fmt;

use super::error::{DecodeError, HeaderError, ParamErrorCode, ReturnCode, be16, need};
use super::s7::{Rosctr, S7Message, S7Pdu};

/// Userdata parameter head `00 01 12` (`s7.md` §2.1).
pub const PARAM_HEAD: [u8; 3] = [0x00, 0x01, 0x12];
/// Method byte 4: request (`s7.md` §2.1).
pub const METHOD_REQUEST: u8 = 0x11;
/// Method byte 4: response; follow-up requests use it too (`s7.md` §2.1).
pub const METHOD_RESPONSE: u8 = 0x12;
/// Type/group byte 5: request, group 4 CPU functions (`s7.md` §2.1).
pub const TG_REQUEST_CPU: u8 = 0x44;
/// Type/group byte 5: response, group 4 CPU functions (`s7.md` §2.1).
pub const TG_RESPONSE_CPU: u8 = 0x84;
/// Subfunction byte 6: read SZL (`s7.md` §2.1).
pub const SUBFUNC_READ_SZL: u8 = 0x01;
/// Data transport size 0x09 octet string: length in bytes (`s7.md` §2.2, §6.8).
pub const TS_OCTET_STRING: u8 = 0x09;
/// Bytes of an SZL response PDU that are not payload: 10-byte header + 12-byte parameters +
/// 4-byte data header (`s7.md` §6.1). The payload of one fragment is at most PDU − 26.
pub const SZL_RESPONSE_OVERHEAD: usize = 26;

/// An SZL-ID (`s7.md` §3.1): bits 15–12 module class, 11–8 partial-list extract, 7–0
/// partial-list number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SzlId(pub u16);

impl SzlId {
    /// 0x0000: list of all SZL-IDs the module supports (`s7.md` §3.1).
    pub const SUPPORTED_IDS: SzlId = SzlId(0x0000);
    /// 0x0011: module identification, all records (`s7.md` §3.4).
    pub const MODULE_ID: SzlId = SzlId(0x0011);
    /// 0x0111: module identification, one record by index (`s7.md` §3.4).
    pub const MODULE_ID_ONE: SzlId = SzlId(0x0111);
    /// 0x001C: component identification, all records (`s7.md` §3.5).
    pub const COMPONENT_ID: SzlId = SzlId(0x001C);
    /// 0x0424: current operating mode (`s7.md` §3.3).
    pub const MODE: SzlId = SzlId(0x0424);
    /// 0x00A0: diagnostic buffer, all entries possible in the current mode (`s7.md` §3.2).
    pub const DIAG_BUFFER: SzlId = SzlId(0x00A0);
    /// 0x01A0: diagnostic buffer, the N most recent entries (index N) (`s7.md` §3.2).
    pub const DIAG_BUFFER_NEWEST: SzlId = SzlId(0x01A0);
    /// 0x0091: module status, all plugged modules (S7-400) (`s7.md` §3.6).
    pub const MODULE_STATUS: SzlId = SzlId(0x0091);
    /// 0x0C91: module status of one module by logical base address (`s7.md` §3.6).
    pub const MODULE_STATUS_ONE: SzlId = SzlId(0x0C91);
    /// 0x0D91: module status of all modules of a rack/station (index `xx00`) (`s7.md` §3.6).
    pub const MODULE_STATUS_RACK: SzlId = SzlId(0x0D91);
    /// 0x0132: communication, protection and time status (index = section) (`s7.md` §3.7).
    pub const COMM_STATUS: SzlId = SzlId(0x0132);
    /// 0x0222: cycle time of one OB / interrupt class (`s7.md` §3.8).
    pub const CYCLE_TIMES: SzlId = SzlId(0x0222);

    /// Module class, bits 15–12 (0 CPU, 4 IM, 8 FM, C CP) (`s7.md` §3.1).
    pub fn module_class(self) -> u8 {
        (self.0 >> 12) as u8
    }

    /// Partial-list extract number, bits 11–8 (`s7.md` §3.1).
    pub fn extract(self) -> u8 {
        ((self.0 >> 8) & 0x0F) as u8
    }

    /// Partial-list number, bits 7–0 (`s7.md` §3.1).
    pub fn list(self) -> u8 {
        self.0 as u8
    }
}

impl fmt::Display for SzlId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:04X}", self.0)
    }
}

/// What an SZL request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SzlRequestKind {
    /// First request: 8-byte parameters `00 01 12 04 11 44 01 00`, data
    /// `FF 09 00 04 <id> <index>` (`s7.md` §2.3).
    First {
        /// SZL-ID.
        id: SzlId,
        /// SZL index.
        index: u16,
    },
    /// Follow-up request for the next fragment: 12-byte parameters
    /// `00 01 12 08 12 44 01 <seq> 00 00 00 00`, data `0A 00 00 00` (`s7.md` §2.4 rule 2).
    FollowUp {
        /// Copy of the previous response's parameter byte 7.
        sequence: u8,
    },
}

/// A userdata read-SZL request (client → CPU).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SzlRequest {
    /// PDU reference.
    pub pdu_ref: u16,
    /// First or follow-up.
    pub kind: SzlRequestKind,
}

impl SzlRequest {
    /// The raw PDU.
    pub fn to_pdu(&self) -> S7Pdu {
        let (params, data) = match self.kind {
            SzlRequestKind::First { id, index } => {
                let mut d = vec![0xFF, TS_OCTET_STRING, 0x00, 0x04];
                d.extend_from_slice(&id.0.to_be_bytes());
                d.extend_from_slice(&index.to_be_bytes());
                (
                    vec![
                        0x00,
                        0x01,
                        0x12,
                        0x04,
                        METHOD_REQUEST,
                        TG_REQUEST_CPU,
                        SUBFUNC_READ_SZL,
                        0x00,
                    ],
                    d,
                )
            }
            SzlRequestKind::FollowUp { sequence } => (
                vec![
                    0x00,
                    0x01,
                    0x12,
                    0x08,
                    METHOD_RESPONSE,
                    TG_REQUEST_CPU,
                    SUBFUNC_READ_SZL,
                    sequence,
                    0x00,
                    0x00,
                    0x00,
                    0x00,
                ],
                vec![0x0A, 0x00, 0x00, 0x00],
            ),
        };
        S7Pdu {
            rosctr: Rosctr::Userdata,
            pdu_ref: self.pdu_ref,
            error: HeaderError::OK,
            params,
            data,
        }
    }
}

/// One userdata read-SZL response fragment (CPU → client), `s7.md` §2.1–§2.4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SzlResponse {
    /// PDU reference (echo).
    pub pdu_ref: u16,
    /// Parameter byte 7: sequence number; echoed by the follow-up request.
    pub sequence: u8,
    /// Parameter byte 8: data unit reference (non-zero when fragmented).
    pub data_unit_ref: u8,
    /// Parameter byte 9 ("last data unit") is `01`: more fragments follow.
    pub more: bool,
    /// Parameter bytes 10–11: error code (`D4 01`/`D4 02` …), `s7.md` §7.2.
    pub error: ParamErrorCode,
    /// Data byte 0: return code (`FF` ok, `0A` object does not exist …), `s7.md` §7.3.
    pub return_code: ReturnCode,
    /// Data byte 1: transport size (`09`, `00` without data).
    pub transport_size: u8,
    /// The bytes after the 4-byte data header: for the first fragment SZL-ID, index,
    /// LENTHDR, N_DR and records; for continuations raw record bytes (`s7.md` §2.2).
    pub payload: Vec<u8>,
}

impl SzlResponse {
    /// An error answer as the Snap7 server sends it: parameter error `error`, data
    /// `0A 00 00 00` (`s7.md` §2.3 error example).
    pub fn refusal(pdu_ref: u16, error: ParamErrorCode) -> Self {
        SzlResponse {
            pdu_ref,
            sequence: 0,
            data_unit_ref: 0,
            more: false,
            error,
            return_code: ReturnCode::ObjectDoesNotExist,
            transport_size: 0,
            payload: Vec::new(),
        }
    }

    /// Splits a whole SZL list into response fragments for a PDU size (each fragment's
    /// payload at most `pdu_size − 26`, `s7.md` §2.4, §6.1). Unfragmented answers use
    /// sequence 0 and data unit reference 0; fragmented ones the given values on every
    /// fragment and `more` on all but the last.
    pub fn fragments(
        pdu_ref: u16,
        list: &SzlList,
        pdu_size: u16,
        sequence: u8,
        data_unit_ref: u8,
    ) -> Vec<SzlResponse> {
        let payload = list.encode_payload();
        let max = usize::from(pdu_size)
            .saturating_sub(SZL_RESPONSE_OVERHEAD)
            .max(1);
        let chunks: Vec<&[u8]> = payload.chunks(max).collect();
        let fragmented = chunks.len() > 1;
        let n = chunks.len();
        chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| SzlResponse {
                pdu_ref,
                sequence: if fragmented { sequence } else { 0 },
                data_unit_ref: if fragmented { data_unit_ref } else { 0 },
                more: i + 1 < n,
                error: ParamErrorCode::NoError,
                return_code: ReturnCode::Success,
                transport_size: TS_OCTET_STRING,
                payload: chunk.to_vec(),
            })
            .collect()
    }

    /// The raw PDU.
    pub fn to_pdu(&self) -> S7Pdu {
        let mut params = vec![
            0x00,
            0x01,
            0x12,
            0x08,
            METHOD_RESPONSE,
            TG_RESPONSE_CPU,
            SUBFUNC_READ_SZL,
        ];
        params.push(self.sequence);
        params.push(self.data_unit_ref);
        params.push(u8::from(self.more));
        params.extend_from_slice(&self.error.code().to_be_bytes());
        let mut data = vec![self.return_code.code(), self.transport_size];
        data.extend_from_slice(&(self.payload.len() as u16).to_be_bytes());
        data.extend_from_slice(&self.payload);
        S7Pdu {
            rosctr: Rosctr::Userdata,
            pdu_ref: self.pdu_ref,
            error: HeaderError::OK,
            params,
            data,
        }
    }
}

/// Types a userdata PDU of group 4 subfunction 1; `None` for other userdata.
pub(crate) fn decode_userdata(pdu: &S7Pdu) -> Result<Option<S7Message>, DecodeError> {
    let p = &pdu.params;
    need(p, 8)?;
    if p[0..3] != PARAM_HEAD {
        return Err(DecodeError::BadParamHead([p[0], p[1], p[2]]));
    }
    let follow = usize::from(p[3]);
    if 4 + follow != p.len() {
        return Err(DecodeError::BadLength {
            declared: 4 + follow,
            max: p.len(),
        });
    }
    let (method, tg, subfn) = (p[4], p[5], p[6]);
    if tg & 0x0F != 0x04 || subfn != SUBFUNC_READ_SZL {
        return Ok(None);
    }
    let d = &pdu.data;
    match (tg >> 4, method) {
        (0x4, METHOD_REQUEST) => {
            need(d, 8)?;
            Ok(Some(S7Message::SzlRequest(SzlRequest {
                pdu_ref: pdu.pdu_ref,
                kind: SzlRequestKind::First {
                    id: SzlId(be16(d, 4)),
                    index: be16(d, 6),
                },
            })))
        }
        (0x4, METHOD_RESPONSE) => Ok(Some(S7Message::SzlRequest(SzlRequest {
            pdu_ref: pdu.pdu_ref,
            kind: SzlRequestKind::FollowUp { sequence: p[7] },
        }))),
        (0x8, _) => {
            need(p, 12)?;
            need(d, 4)?;
            let len = usize::from(be16(d, 2));
            need(d, 4 + len)?;
            Ok(Some(S7Message::SzlResponse(SzlResponse {
                pdu_ref: pdu.pdu_ref,
                sequence: p[7],
                data_unit_ref: p[8],
                more: p[9] != 0,
                error: ParamErrorCode::from_code(be16(p, 10)),
                return_code: ReturnCode::from_code(d[0]),
                transport_size: d[1],
                payload: d[4..4 + len].to_vec(),
            })))
        }
        _ => Ok(None),
    }
}

/// The header of a whole SZL answer (first fragment's payload, `s7.md` §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SzlHeader {
    /// SZL-ID.
    pub id: SzlId,
    /// Index.
    pub index: u16,
    /// LENTHDR: record length in bytes.
    pub record_len: u16,
    /// N_DR: number of records.
    pub count: u16,
}

impl SzlHeader {
    /// Bytes of the header in the first fragment's payload.
    pub const LEN: usize = 8;

    /// Decodes the first 8 payload bytes.
    pub fn decode(payload: &[u8]) -> Result<SzlHeader, DecodeError> {
        need(payload, Self::LEN)?;
        Ok(SzlHeader {
            id: SzlId(be16(payload, 0)),
            index: be16(payload, 2),
            record_len: be16(payload, 4),
            count: be16(payload, 6),
        })
    }
}

/// A whole (reassembled) SZL list: ID, index, LENTHDR and the records (`s7.md` §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SzlList {
    /// SZL-ID as answered.
    pub id: SzlId,
    /// Index as answered.
    pub index: u16,
    /// LENTHDR: record length in bytes.
    pub record_len: u16,
    /// The records, each `record_len` bytes.
    pub records: Vec<Vec<u8>>,
}

impl SzlList {
    /// A list from fixed-length records (`record_len` from the first record, 0 if empty).
    pub fn new(id: SzlId, index: u16, records: Vec<Vec<u8>>) -> Self {
        let record_len = records.first().map_or(0, |r| r.len() as u16);
        SzlList {
            id,
            index,
            record_len,
            records,
        }
    }

    /// The payload of an unfragmented answer: ID, index, LENTHDR, N_DR, records.
    pub fn encode_payload(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.records.len() * usize::from(self.record_len));
        out.extend_from_slice(&self.id.0.to_be_bytes());
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&self.record_len.to_be_bytes());
        out.extend_from_slice(&(self.records.len() as u16).to_be_bytes());
        for r in &self.records {
            out.extend_from_slice(r);
        }
        out
    }

    /// Decodes a complete payload (all fragments concatenated). Fails with
    /// [`DecodeError::SzlTruncated`] when fewer than N_DR × LENTHDR record bytes are present
    /// (`s7.md` §2.4 rule 4); extra trailing bytes are ignored.
    pub fn decode_payload(payload: &[u8]) -> Result<SzlList, DecodeError> {
        let h = SzlHeader::decode(payload)?;
        let body = &payload[SzlHeader::LEN..];
        let rl = usize::from(h.record_len);
        let needed = rl * usize::from(h.count);
        if body.len() < needed {
            return Err(DecodeError::SzlTruncated {
                records: h.count,
                record_len: h.record_len,
                got: body.len(),
            });
        }
        let records = if rl == 0 {
            vec![Vec::new(); usize::from(h.count)]
        } else {
            body[..needed].chunks(rl).map(<[u8]>::to_vec).collect()
        };
        Ok(SzlList {
            id: h.id,
            index: h.index,
            record_len: h.record_len,
            records,
        })
    }
}
