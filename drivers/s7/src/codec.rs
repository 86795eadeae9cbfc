//! TPKT framing for tokio-util (`s7.md` §1.1): [`IsoCodec`] reads the 4-byte TPKT header,
//! rejects lengths below [`TPKT_MIN_LEN`] or above [`TPKT_MAX_LEN`] **before buffering**,
//! returns `Ok(None)` for partial frames and then calls the pure [`Cotp::decode`]. It is used
//! by the client and by servers alike (the codec is direction-neutral).

use std::io;

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::frame::{Cotp, DecodeError, tpkt_length};
#[cfg(doc)]
use crate::frame::{TPKT_MAX_LEN, TPKT_MIN_LEN};

/// A framing failure: transport error or malformed frame.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Reading or writing the transport failed.
    #[error("transport error: {0}")]
    Io(#[from] io::Error),
    /// A frame was malformed (or its TPKT length out of range).
    #[error("malformed frame: {0}")]
    Decode(#[from] DecodeError),
}

/// TPKT/COTP codec: one [`Cotp`] per TPKT frame.
#[derive(Debug, Clone, Copy, Default)]
pub struct IsoCodec;

impl Decoder for IsoCodec {
    type Item = Cotp;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Cotp>, CodecError> {
        if src.len() < 4 {
            return Ok(None);
        }
        let len = tpkt_length(&src[..4])?;
        if src.len() < len {
            src.reserve(len - src.len());
            return Ok(None);
        }
        let frame = src.split_to(len);
        Ok(Some(Cotp::decode(&frame)?))
    }
}

impl Encoder<Cotp> for IsoCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Cotp, dst: &mut BytesMut) -> Result<(), CodecError> {
        item.encode(dst);
        Ok(())
    }
}

impl Encoder<&Cotp> for IsoCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &Cotp, dst: &mut BytesMut) -> Result<(), CodecError> {
        item.encode(dst);
        Ok(())
    }
}
