//! The S7 header (`s7.md` §1.3), Setup Communication (`s7.md` §1.4) and the typed message
//! enum [`S7Message`] over all PDUs the crate speaks, in both directions.

use bytes::{BufMut, BytesMut};

use super::error::{DecodeError, HeaderError, be16, need};
use super::szl::{SzlRequest, SzlResponse};
use super::var::{ReadVarAck, ReadVarJob};

/// S7 protocol id (`s7.md` §1.3).
pub const PROTOCOL_ID: u8 = 0x32;
/// Function code Setup Communication (`s7.md` §1.4).
pub const FUNC_SETUP: u8 = 0xF0;
/// Function code Read Variable.
pub const FUNC_READ_VAR: u8 = 0x04;

/// ROSCTR, the S7 PDU type (`s7.md` §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rosctr {
    /// `01` Job (request).
    Job,
    /// `02` Ack (no data).
    Ack,
    /// `03` Ack_Data (response with data).
    AckData,
    /// `07` Userdata (SZL and other CPU functions, `s7.md` §2).
    Userdata,
}

impl Rosctr {
    /// The wire byte.
    pub fn code(self) -> u8 {
        match self {
            Rosctr::Job => 0x01,
            Rosctr::Ack => 0x02,
            Rosctr::AckData => 0x03,
            Rosctr::Userdata => 0x07,
        }
    }

    /// The ROSCTR for a wire byte.
    pub fn from_code(code: u8) -> Result<Self, DecodeError> {
        match code {
            0x01 => Ok(Rosctr::Job),
            0x02 => Ok(Rosctr::Ack),
            0x03 => Ok(Rosctr::AckData),
            0x07 => Ok(Rosctr::Userdata),
            other => Err(DecodeError::UnexpectedPdu(other)),
        }
    }

    /// True for Ack and Ack_Data, whose header is 12 bytes with error class/code.
    pub fn has_error_fields(self) -> bool {
        matches!(self, Rosctr::Ack | Rosctr::AckData)
    }

    /// Header length: 10 for Job/Userdata, 12 for Ack/Ack_Data (`s7.md` §1.3).
    pub fn header_len(self) -> usize {
        if self.has_error_fields() { 12 } else { 10 }
    }
}

/// A raw S7 PDU: header fields, parameter and data bytes (`s7.md` §1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S7Pdu {
    /// PDU type.
    pub rosctr: Rosctr,
    /// PDU reference, chosen by the client and echoed (opaque).
    pub pdu_ref: u16,
    /// Error class/code; encoded only for Ack/Ack_Data, [`HeaderError::OK`] otherwise.
    pub error: HeaderError,
    /// Parameter bytes.
    pub params: Vec<u8>,
    /// Data bytes.
    pub data: Vec<u8>,
}

impl S7Pdu {
    /// Encoded length.
    pub fn encoded_len(&self) -> usize {
        self.rosctr.header_len() + self.params.len() + self.data.len()
    }

    /// Encodes the PDU (without TPKT/COTP).
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_u8(PROTOCOL_ID);
        dst.put_u8(self.rosctr.code());
        dst.put_u16(0);
        dst.put_u16(self.pdu_ref);
        dst.put_u16(self.params.len() as u16);
        dst.put_u16(self.data.len() as u16);
        if self.rosctr.has_error_fields() {
            dst.put_u8(self.error.class);
            dst.put_u8(self.error.code);
        }
        dst.put_slice(&self.params);
        dst.put_slice(&self.data);
    }

    /// Decodes one whole S7 PDU; the declared lengths must match `buf` exactly.
    pub fn decode(buf: &[u8]) -> Result<S7Pdu, DecodeError> {
        need(buf, 10)?;
        if buf[0] != PROTOCOL_ID {
            return Err(DecodeError::BadProtocolId(buf[0]));
        }
        let rosctr = Rosctr::from_code(buf[1])?;
        let header_len = rosctr.header_len();
        need(buf, header_len)?;
        let (param_len, data_len) = (usize::from(be16(buf, 6)), usize::from(be16(buf, 8)));
        let total = header_len + param_len + data_len;
        if total != buf.len() {
            return Err(DecodeError::BadLength {
                declared: total,
                max: buf.len(),
            });
        }
        let error = if rosctr.has_error_fields() {
            HeaderError {
                class: buf[10],
                code: buf[11],
            }
        } else {
            HeaderError::OK
        };
        Ok(S7Pdu {
            rosctr,
            pdu_ref: be16(buf, 4),
            error,
            params: buf[header_len..header_len + param_len].to_vec(),
            data: buf[header_len + param_len..].to_vec(),
        })
    }
}

/// Setup Communication parameters (`s7.md` §1.4): `F0 00 | AmQ caller | AmQ callee | PDU`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetupCommunication {
    /// Max parallel jobs of the caller (Snap7 asks 1).
    pub max_amq_caller: u16,
    /// Max parallel jobs of the callee (Snap7 asks 1).
    pub max_amq_callee: u16,
    /// PDU length: requested (job) or negotiated (ack) (`s7.md` §1.4, §6.1).
    pub pdu_size: u16,
}

impl SetupCommunication {
    fn encode(&self) -> Vec<u8> {
        let mut p = vec![FUNC_SETUP, 0];
        p.extend_from_slice(&self.max_amq_caller.to_be_bytes());
        p.extend_from_slice(&self.max_amq_callee.to_be_bytes());
        p.extend_from_slice(&self.pdu_size.to_be_bytes());
        p
    }

    fn decode(p: &[u8]) -> Result<Self, DecodeError> {
        need(p, 8)?;
        Ok(SetupCommunication {
            max_amq_caller: be16(p, 2),
            max_amq_callee: be16(p, 4),
            pdu_size: be16(p, 6),
        })
    }
}

/// Setup Communication job (client → CPU), `s7.md` §1.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetupJob {
    /// PDU reference.
    pub pdu_ref: u16,
    /// Requested values.
    pub params: SetupCommunication,
}

/// Setup Communication Ack_Data (CPU → client), `s7.md` §1.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetupAck {
    /// PDU reference (echo).
    pub pdu_ref: u16,
    /// Header error class/code.
    pub error: HeaderError,
    /// The CPU's values.
    pub params: SetupCommunication,
}

/// Every S7 PDU the crate knows, in both directions. PDUs of other kinds (Ack, other
/// functions, userdata of other groups, Ack_Data with an error and no parameters) decode to
/// [`S7Message::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S7Message {
    /// Setup Communication job.
    SetupJob(SetupJob),
    /// Setup Communication Ack_Data.
    SetupAck(SetupAck),
    /// Read-var job.
    ReadVarJob(ReadVarJob),
    /// Read-var Ack_Data.
    ReadVarAck(ReadVarAck),
    /// Userdata read-SZL request: first or follow-up (`s7.md` §2).
    SzlRequest(SzlRequest),
    /// Userdata read-SZL response fragment (`s7.md` §2).
    SzlResponse(SzlResponse),
    /// Any other PDU, raw.
    Other(S7Pdu),
}

impl S7Message {
    /// The PDU reference.
    pub fn pdu_ref(&self) -> u16 {
        match self {
            S7Message::SetupJob(m) => m.pdu_ref,
            S7Message::SetupAck(m) => m.pdu_ref,
            S7Message::ReadVarJob(m) => m.pdu_ref,
            S7Message::ReadVarAck(m) => m.pdu_ref,
            S7Message::SzlRequest(m) => m.pdu_ref,
            S7Message::SzlResponse(m) => m.pdu_ref,
            S7Message::Other(m) => m.pdu_ref,
        }
    }

    /// The raw PDU.
    pub fn to_pdu(&self) -> S7Pdu {
        match self {
            S7Message::SetupJob(m) => S7Pdu {
                rosctr: Rosctr::Job,
                pdu_ref: m.pdu_ref,
                error: HeaderError::OK,
                params: m.params.encode(),
                data: Vec::new(),
            },
            S7Message::SetupAck(m) => S7Pdu {
                rosctr: Rosctr::AckData,
                pdu_ref: m.pdu_ref,
                error: m.error,
                params: m.params.encode(),
                data: Vec::new(),
            },
            S7Message::ReadVarJob(m) => m.to_pdu(),
            S7Message::ReadVarAck(m) => m.to_pdu(),
            S7Message::SzlRequest(m) => m.to_pdu(),
            S7Message::SzlResponse(m) => m.to_pdu(),
            S7Message::Other(m) => m.clone(),
        }
    }

    /// Encodes the S7 PDU (without TPKT/COTP).
    pub fn encode(&self, dst: &mut BytesMut) {
        self.to_pdu().encode(dst);
    }

    /// Encodes the S7 PDU as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = BytesMut::new();
        self.encode(&mut b);
        b.to_vec()
    }

    /// Decodes one whole S7 PDU (without TPKT/COTP).
    pub fn decode(buf: &[u8]) -> Result<S7Message, DecodeError> {
        Self::from_pdu(S7Pdu::decode(buf)?)
    }

    /// Types a raw PDU.
    pub fn from_pdu(pdu: S7Pdu) -> Result<S7Message, DecodeError> {
        let func = pdu.params.first().copied();
        Ok(match (pdu.rosctr, func) {
            (Rosctr::Job, Some(FUNC_SETUP)) => S7Message::SetupJob(SetupJob {
                pdu_ref: pdu.pdu_ref,
                params: SetupCommunication::decode(&pdu.params)?,
            }),
            (Rosctr::AckData, Some(FUNC_SETUP)) => S7Message::SetupAck(SetupAck {
                pdu_ref: pdu.pdu_ref,
                error: pdu.error,
                params: SetupCommunication::decode(&pdu.params)?,
            }),
            (Rosctr::Job, Some(FUNC_READ_VAR)) => {
                S7Message::ReadVarJob(ReadVarJob::from_pdu(&pdu)?)
            }
            (Rosctr::AckData, Some(FUNC_READ_VAR)) => {
                S7Message::ReadVarAck(ReadVarAck::from_pdu(&pdu)?)
            }
            (Rosctr::Userdata, _) => match super::szl::decode_userdata(&pdu)? {
                Some(m) => m,
                None => S7Message::Other(pdu),
            },
            _ => S7Message::Other(pdu),
        })
    }
}
