//! 3E/4E framing for tokio-util over a byte stream (TCP). Each decoder reads the subheader
//! and L, rejects unknown subheaders and L > [`MAX_LENGTH`] **before buffering** the body,
//! returns `Ok(None)` for partial frames and then calls the pure frame decoder
//! (STYLE.md practice 3).
//!
//! * [`ClientCodec`]: encodes [`Request`]s, decodes [`Response`]s (`D0 00` / `D4 00`);
//! * [`ServerCodec`]: decodes [`Request`]s (`50 00` / `54 00`), encodes [`Response`]s;
//! * [`FrameCodec`]: framing only, yields each whole raw frame of one direction (for a server
//!   that must answer requests it cannot decode, e.g. with end code `C061`).
//!
//! UDP needs no codec: one datagram is one frame.

use std::io;

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

#[cfg(doc)]
use crate::frame::MAX_LENGTH;
use crate::frame::{DecodeError, Direction, Request, Response, frame_length};

/// A framing failure: transport error or malformed frame.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Reading or writing the transport failed.
    #[error("transport error: {0}")]
    Io(#[from] io::Error),
    /// A frame was malformed (unknown subheader, L out of range, bad body).
    #[error("malformed frame: {0}")]
    Decode(#[from] DecodeError),
}

/// Splits one whole frame of `direction` off `src`, or `Ok(None)`.
fn split_frame(src: &mut BytesMut, direction: Direction) -> Result<Option<BytesMut>, DecodeError> {
    let Some(len) = frame_length(src, direction)? else {
        return Ok(None);
    };
    if src.len() < len {
        src.reserve(len - src.len());
        return Ok(None);
    }
    Ok(Some(src.split_to(len)))
}

/// Client side: requests out, responses in.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientCodec;

impl Decoder for ClientCodec {
    type Item = Response;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Response>, CodecError> {
        match split_frame(src, Direction::Response)? {
            None => Ok(None),
            Some(frame) => Ok(Some(Response::decode(&frame)?)),
        }
    }
}

impl Encoder<&Request> for ClientCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &Request, dst: &mut BytesMut) -> Result<(), CodecError> {
        dst.extend_from_slice(&item.encode());
        Ok(())
    }
}

impl Encoder<Request> for ClientCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Request, dst: &mut BytesMut) -> Result<(), CodecError> {
        self.encode(&item, dst)
    }
}

/// Server side: requests in, responses out.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerCodec;

impl Decoder for ServerCodec {
    type Item = Request;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Request>, CodecError> {
        match split_frame(src, Direction::Request)? {
            None => Ok(None),
            Some(frame) => Ok(Some(Request::decode(&frame)?)),
        }
    }
}

impl Encoder<&Response> for ServerCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &Response, dst: &mut BytesMut) -> Result<(), CodecError> {
        dst.extend_from_slice(&item.encode());
        Ok(())
    }
}

impl Encoder<Response> for ServerCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Response, dst: &mut BytesMut) -> Result<(), CodecError> {
        self.encode(&item, dst)
    }
}

/// Framing only: yields whole raw frames of one direction; encodes raw bytes unchanged.
#[derive(Debug, Clone, Copy)]
pub struct FrameCodec {
    direction: Direction,
}

impl FrameCodec {
    /// A codec that reads frames of `direction` (`Direction::Request` for a server).
    pub fn new(direction: Direction) -> FrameCodec {
        FrameCodec { direction }
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, CodecError> {
        Ok(split_frame(src, self.direction)?)
    }
}

impl Encoder<&[u8]> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &[u8], dst: &mut BytesMut) -> Result<(), CodecError> {
        dst.extend_from_slice(item);
        Ok(())
    }
}

impl Encoder<Vec<u8>> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, item: Vec<u8>, dst: &mut BytesMut) -> Result<(), CodecError> {
        dst.extend_from_slice(&item);
        Ok(())
    }
}
