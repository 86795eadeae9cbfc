//! Plain data types for the MC protocol / SLMP binary 3E and 4E frames, both directions,
//! with pure `encode`/`decode` functions and no I/O (STYLE.md practices 1 and 3).
//!
//! * [`mc`]: [`FrameKind`], [`Route`], [`Header`], [`Request`] ([`Command`]),
//!   [`RequestHead`], [`Response`] ([`ResponseBody`], [`ErrorInfo`]), [`frame_length`]
//!   for framing, and the response data helpers ([`decode_words`], [`decode_bits`],
//!   [`decode_random`], [`TypeName`]) with their encoders for servers;
//! * [`device`]: [`DeviceCode`], [`Device`], [`Series`], [`DeviceForm`] (§1.4);
//! * [`end_code`]: [`EndCode`] (§1.6);
//! * [`error`]: the typed [`DecodeError`].
//!
//! A server (the simulator) decodes requests with [`Request::decode`] (or [`RequestHead`]
//! when it must answer a request it cannot decode) and encodes answers with
//! [`Response::ok`] / [`Response::error`] + [`Response::encode`].

pub mod device;
pub mod end_code;
pub mod error;
pub mod mc;

pub use device::{Device, DeviceCode, DeviceForm, ParseDeviceError, ParseSeriesError, Series};
pub use end_code::EndCode;
pub use error::DecodeError;
pub use mc::{
    CMD_BATCH_READ, CMD_RANDOM_READ, CMD_READ_TYPE_NAME, Command, Direction, ErrorInfo, FrameKind,
    Header, MAX_LENGTH, ParseFrameKindError, Request, RequestHead, Response, ResponseBody, Route,
    TypeName, classify_subheader, decode_bits, decode_random, decode_words, encode_bits,
    encode_random, encode_words, frame_length,
};
