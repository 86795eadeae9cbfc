//! TPKT (RFC 1006, `s7.md` §1.1) and COTP class 0 (ISO 8073, `s7.md` §1.2).

use bytes::{BufMut, BytesMut};

use super::error::{DecodeError, be16, need};

/// TPKT version byte (`s7.md` §1.1).
pub const TPKT_VERSION: u8 = 0x03;
/// TPKT header length (`s7.md` §1.1).
pub const TPKT_HEADER_LEN: usize = 4;
/// Smallest meaningful TPKT frame: 4-byte header + 3-byte COTP DT header (`s7.md` §1.2).
pub const TPKT_MIN_LEN: usize = 7;
/// Largest TPKT frame accepted: COTP TPDU size 8192 (`C0 0D`, `s7.md` §1.2) plus headroom for
/// the TPKT and COTP headers.
pub const TPKT_MAX_LEN: usize = 8192 + 64;

/// COTP PDU type CR, Connection Request (`s7.md` §1.2).
pub const COTP_CR: u8 = 0xE0;
/// COTP PDU type CC, Connection Confirm.
pub const COTP_CC: u8 = 0xD0;
/// COTP PDU type DT, Data.
pub const COTP_DT: u8 = 0xF0;
/// COTP PDU type DR, Disconnect Request.
pub const COTP_DR: u8 = 0x80;

/// Parameter code TPDU size (`C0 01 xx`, 2^xx bytes) (`s7.md` §1.2).
pub const PARAM_TPDU_SIZE: u8 = 0xC0;
/// Parameter code calling (local) TSAP (`C1 02 hi lo`).
pub const PARAM_CALLING_TSAP: u8 = 0xC1;
/// Parameter code called (remote) TSAP (`C2 02 hi lo`).
pub const PARAM_CALLED_TSAP: u8 = 0xC2;

/// A COTP connection parameter (TLV; any order, `s7.md` §1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CotpParam {
    /// `C0 01 xx`: TPDU size code (0x07..0x0D = 128..8192 bytes).
    TpduSize(u8),
    /// `C1 02 hi lo`: calling (local) TSAP.
    CallingTsap(u16),
    /// `C2 02 hi lo`: called (remote) TSAP.
    CalledTsap(u16),
    /// Any other parameter (or a TSAP of another length), kept raw.
    Other {
        /// Parameter code.
        code: u8,
        /// Parameter value.
        value: Vec<u8>,
    },
}

impl CotpParam {
    fn encoded_len(&self) -> usize {
        match self {
            CotpParam::TpduSize(_) => 3,
            CotpParam::CallingTsap(_) | CotpParam::CalledTsap(_) => 4,
            CotpParam::Other { value, .. } => 2 + value.len(),
        }
    }

    fn encode(&self, dst: &mut BytesMut) {
        match self {
            CotpParam::TpduSize(size) => dst.put_slice(&[PARAM_TPDU_SIZE, 1, *size]),
            CotpParam::CallingTsap(tsap) => {
                dst.put_slice(&[PARAM_CALLING_TSAP, 2]);
                dst.put_u16(*tsap);
            }
            CotpParam::CalledTsap(tsap) => {
                dst.put_slice(&[PARAM_CALLED_TSAP, 2]);
                dst.put_u16(*tsap);
            }
            CotpParam::Other { code, value } => {
                dst.put_u8(*code);
                dst.put_u8(value.len() as u8);
                dst.put_slice(value);
            }
        }
    }

    fn decode_all(mut buf: &[u8]) -> Result<Vec<CotpParam>, DecodeError> {
        let mut params = Vec::new();
        while !buf.is_empty() {
            need(buf, 2)?;
            let (code, len) = (buf[0], usize::from(buf[1]));
            need(buf, 2 + len)?;
            let value = &buf[2..2 + len];
            params.push(match (code, len) {
                (PARAM_TPDU_SIZE, 1) => CotpParam::TpduSize(value[0]),
                (PARAM_CALLING_TSAP, 2) => CotpParam::CallingTsap(be16(value, 0)),
                (PARAM_CALLED_TSAP, 2) => CotpParam::CalledTsap(be16(value, 0)),
                _ => CotpParam::Other {
                    code,
                    value: value.to_vec(),
                },
            });
            buf = &buf[2 + len..];
        }
        Ok(params)
    }
}

/// A COTP connection request or confirm body (`s7.md` §1.2): LI, type, dst-ref, src-ref,
/// class/options, TLV parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CotpConnect {
    /// Destination reference (CR: 0; CC: the client's src-ref).
    pub dst_ref: u16,
    /// Source reference (any non-zero value).
    pub src_ref: u16,
    /// Class and options byte (S7 requires 0, `s7.md` §1.2).
    pub class: u8,
    /// Parameters in wire order.
    pub params: Vec<CotpParam>,
}

impl CotpConnect {
    /// A CR/CC body with the three usual parameters in Snap7 order C0, C1, C2 (`s7.md` §1.2).
    pub fn new(dst_ref: u16, src_ref: u16, tpdu_size: u8, calling: u16, called: u16) -> Self {
        CotpConnect {
            dst_ref,
            src_ref,
            class: 0,
            params: vec![
                CotpParam::TpduSize(tpdu_size),
                CotpParam::CallingTsap(calling),
                CotpParam::CalledTsap(called),
            ],
        }
    }

    /// The TPDU size code (`C0`), if present.
    pub fn tpdu_size(&self) -> Option<u8> {
        self.params.iter().find_map(|p| match p {
            CotpParam::TpduSize(s) => Some(*s),
            _ => None,
        })
    }

    /// The calling (local) TSAP (`C1`), if present.
    pub fn calling_tsap(&self) -> Option<u16> {
        self.params.iter().find_map(|p| match p {
            CotpParam::CallingTsap(t) => Some(*t),
            _ => None,
        })
    }

    /// The called (remote) TSAP (`C2`), if present.
    pub fn called_tsap(&self) -> Option<u16> {
        self.params.iter().find_map(|p| match p {
            CotpParam::CalledTsap(t) => Some(*t),
            _ => None,
        })
    }
}

/// A COTP disconnect request (DR) body: dst-ref, src-ref, reason, parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CotpDisconnect {
    /// Destination reference.
    pub dst_ref: u16,
    /// Source reference.
    pub src_ref: u16,
    /// Disconnect reason (ISO 8073).
    pub reason: u8,
    /// Parameters in wire order.
    pub params: Vec<CotpParam>,
}

/// A COTP data TPDU (`02 F0 80` + payload, `s7.md` §1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CotpData {
    /// End of TSDU: the last TPDU of an S7 PDU (bit 0x80).
    pub eot: bool,
    /// TPDU number (bits 0..6).
    pub tpdu_number: u8,
    /// The payload (an S7 PDU or a part of it).
    pub payload: Vec<u8>,
}

/// A COTP PDU, carried in one TPKT frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cotp {
    /// CR `E0`.
    ConnectRequest(CotpConnect),
    /// CC `D0`.
    ConnectConfirm(CotpConnect),
    /// DT `F0`.
    Data(CotpData),
    /// DR `80`.
    DisconnectRequest(CotpDisconnect),
}

impl Cotp {
    /// A single DT TPDU with EOT set carrying a whole S7 PDU.
    pub fn data(payload: Vec<u8>) -> Self {
        Cotp::Data(CotpData {
            eot: true,
            tpdu_number: 0,
            payload,
        })
    }

    /// The PDU type byte.
    pub fn pdu_type(&self) -> u8 {
        match self {
            Cotp::ConnectRequest(_) => COTP_CR,
            Cotp::ConnectConfirm(_) => COTP_CC,
            Cotp::Data(_) => COTP_DT,
            Cotp::DisconnectRequest(_) => COTP_DR,
        }
    }

    /// Encodes the whole TPKT frame (TPKT header + COTP) into `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let start = dst.len();
        dst.put_slice(&[TPKT_VERSION, 0, 0, 0]);
        self.encode_cotp(dst);
        let len = (dst.len() - start) as u16;
        dst[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
    }

    /// Encodes the COTP part only (LI onward).
    pub fn encode_cotp(&self, dst: &mut BytesMut) {
        match self {
            Cotp::ConnectRequest(c) | Cotp::ConnectConfirm(c) => {
                let plen: usize = c.params.iter().map(CotpParam::encoded_len).sum();
                dst.put_u8((6 + plen) as u8);
                dst.put_u8(self.pdu_type());
                dst.put_u16(c.dst_ref);
                dst.put_u16(c.src_ref);
                dst.put_u8(c.class);
                c.params.iter().for_each(|p| p.encode(dst));
            }
            Cotp::DisconnectRequest(d) => {
                let plen: usize = d.params.iter().map(CotpParam::encoded_len).sum();
                dst.put_u8((6 + plen) as u8);
                dst.put_u8(COTP_DR);
                dst.put_u16(d.dst_ref);
                dst.put_u16(d.src_ref);
                dst.put_u8(d.reason);
                d.params.iter().for_each(|p| p.encode(dst));
            }
            Cotp::Data(d) => {
                dst.put_u8(2);
                dst.put_u8(COTP_DT);
                dst.put_u8(if d.eot { 0x80 } else { 0 } | (d.tpdu_number & 0x7F));
                dst.put_slice(&d.payload);
            }
        }
    }

    /// Decodes a whole TPKT frame (exactly one; trailing bytes are an error).
    pub fn decode(frame: &[u8]) -> Result<Cotp, DecodeError> {
        let len = tpkt_length(frame)?;
        if len != frame.len() {
            return Err(DecodeError::BadLength {
                declared: len,
                max: frame.len(),
            });
        }
        Self::decode_cotp(&frame[TPKT_HEADER_LEN..])
    }

    /// Decodes the COTP part (LI onward) of one TPKT frame.
    pub fn decode_cotp(buf: &[u8]) -> Result<Cotp, DecodeError> {
        need(buf, 2)?;
        let li = usize::from(buf[0]);
        if li < 2 || li + 1 > buf.len() {
            return Err(DecodeError::BadLength {
                declared: li,
                max: buf.len().saturating_sub(1),
            });
        }
        let header = &buf[1..=li];
        match buf[1] {
            COTP_DT => Ok(Cotp::Data(CotpData {
                eot: header[1] & 0x80 != 0,
                tpdu_number: header[1] & 0x7F,
                payload: buf[li + 1..].to_vec(),
            })),
            t @ (COTP_CR | COTP_CC | COTP_DR) => {
                need(header, 6)?;
                if li + 1 != buf.len() {
                    return Err(DecodeError::BadLength {
                        declared: li + 1,
                        max: buf.len(),
                    });
                }
                let params = CotpParam::decode_all(&header[6..])?;
                let (dst_ref, src_ref, fifth) = (be16(header, 1), be16(header, 3), header[5]);
                Ok(match t {
                    COTP_CR => Cotp::ConnectRequest(CotpConnect {
                        dst_ref,
                        src_ref,
                        class: fifth,
                        params,
                    }),
                    COTP_CC => Cotp::ConnectConfirm(CotpConnect {
                        dst_ref,
                        src_ref,
                        class: fifth,
                        params,
                    }),
                    _ => Cotp::DisconnectRequest(CotpDisconnect {
                        dst_ref,
                        src_ref,
                        reason: fifth,
                        params,
                    }),
                })
            }
            other => Err(DecodeError::UnexpectedPdu(other)),
        }
    }
}

/// Checks a TPKT header (`s7.md` §1.1) and returns the declared total length; does not
/// require the whole frame to be present.
pub fn tpkt_length(buf: &[u8]) -> Result<usize, DecodeError> {
    need(buf, TPKT_HEADER_LEN)?;
    if buf[0] != TPKT_VERSION {
        return Err(DecodeError::BadTpktVersion(buf[0]));
    }
    let len = usize::from(be16(buf, 2));
    if len < TPKT_MIN_LEN {
        return Err(DecodeError::BadLength {
            declared: len,
            max: TPKT_MAX_LEN,
        });
    }
    if len > TPKT_MAX_LEN {
        return Err(DecodeError::BadLength {
            declared: len,
            max: TPKT_MAX_LEN,
        });
    }
    Ok(len)
}
