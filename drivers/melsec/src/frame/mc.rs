//! Binary 3E/4E frames (`melsec-cclink.md` §1.1, §1.2): the envelope ([`Header`]: subheader,
//! serial number, [`Route`], length), [`Request`]s with typed [`Command`]s and
//! [`Response`]s, each with pure `encode`/`decode` for both directions.
//!
//! Layout (all multi-byte fields little-endian except the subheader):
//!
//! ```text
//! 3E request : 50 00 |                  net pc io(2) st | L(2) | timer(2) cmd(2) sub(2) data…
//! 4E request : 54 00 | serial(2) 00 00 | net pc io(2) st | L(2) | timer(2) cmd(2) sub(2) data…
//! 3E response: D0 00 |                  net pc io(2) st | L(2) | end(2) data…
//! 4E response: D4 00 | serial(2) 00 00 | net pc io(2) st | L(2) | end(2) data…
//! ```
//!
//! L counts from the monitoring timer (request) or the end code (response) to the end.
//! An abnormal response (end code ≠ 0) carries the error information: the responding
//! station's route (5 bytes) + command (2) + subcommand (2), so L = 11.

use std::fmt;
use std::str::FromStr;

use super::device::{Device, DeviceCode, DeviceForm};
use super::end_code::EndCode;
use super::error::{DecodeError, le16, need};

/// Largest L accepted (request or response), checked before buffering. A 960-word read
/// answers 1 922 bytes, a 7 168-bit read 3 586 (§1.3); 8 192 leaves room for other commands.
pub const MAX_LENGTH: usize = 8192;

/// `0401`: batch read (`melsec-cclink.md` §1.3).
pub const CMD_BATCH_READ: u16 = 0x0401;
/// `0403`: random read (§1.3).
pub const CMD_RANDOM_READ: u16 = 0x0403;
/// `0101`: read CPU model name (§1.3).
pub const CMD_READ_TYPE_NAME: u16 = 0x0101;

/// 3E (no serial number, one request in flight) or 4E (serial number; `melsec-cclink.md`
/// §1.2). Default 3E (§1.2 \[rec\]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FrameKind {
    /// 3E frame: subheaders `50 00` / `D0 00`.
    #[default]
    E3,
    /// 4E frame: subheaders `54 00` / `D4 00` + serial number.
    E4,
}

impl FrameKind {
    /// Bytes before the data that L counts (subheader, serial, route, L): 9 or 13.
    pub fn header_len(self) -> usize {
        match self {
            FrameKind::E3 => 9,
            FrameKind::E4 => 13,
        }
    }

    /// The request subheader, big-endian (`0x5000` / `0x5400`).
    pub fn request_subheader(self) -> u16 {
        match self {
            FrameKind::E3 => 0x5000,
            FrameKind::E4 => 0x5400,
        }
    }

    /// The response subheader, big-endian (`0xD000` / `0xD400`).
    pub fn response_subheader(self) -> u16 {
        match self {
            FrameKind::E3 => 0xD000,
            FrameKind::E4 => 0xD400,
        }
    }
}

impl fmt::Display for FrameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FrameKind::E3 => "3e",
            FrameKind::E4 => "4e",
        })
    }
}

/// An unknown frame kind name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown MC frame kind {0:?} (expected 3e or 4e)")]
pub struct ParseFrameKindError(pub String);

impl FromStr for FrameKind {
    type Err = ParseFrameKindError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "3e" => Ok(FrameKind::E3),
            "4e" => Ok(FrameKind::E4),
            _ => Err(ParseFrameKindError(s.to_owned())),
        }
    }
}

/// The access route (`melsec-cclink.md` §1.1). Default: own station (`00 FF FF 03 00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// Network No. (own network: 0).
    pub network: u8,
    /// PC No. / station (own station: `0xFF`).
    pub station: u8,
    /// Request destination module I/O No.: `0x03FF` own CPU, `0x03E0..=0x03E3` multi-CPU
    /// No. 1–4, `0x03D0`/`0x03D1` control/standby system (§1.1).
    pub module_io: u16,
    /// Request destination module station No. (multidrop; 0).
    pub multidrop: u8,
}

impl Default for Route {
    fn default() -> Self {
        Route {
            network: 0,
            station: 0xFF,
            module_io: 0x03FF,
            multidrop: 0,
        }
    }
}

impl Route {
    /// Encoded length.
    pub const LEN: usize = 5;

    /// Appends the 5 route bytes.
    pub fn encode(&self, dst: &mut Vec<u8>) {
        dst.push(self.network);
        dst.push(self.station);
        dst.extend_from_slice(&self.module_io.to_le_bytes());
        dst.push(self.multidrop);
    }

    /// Reads 5 route bytes.
    pub fn decode(buf: &[u8]) -> Result<Route, DecodeError> {
        need(buf, Route::LEN)?;
        Ok(Route {
            network: buf[0],
            station: buf[1],
            module_io: le16(buf, 2),
            multidrop: buf[4],
        })
    }
}

/// The envelope shared by requests and responses: frame kind, serial number (4E only) and
/// route. The response echoes the request's route and serial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Header {
    /// 3E or 4E.
    pub frame: FrameKind,
    /// 4E serial number (LE on the wire); ignored (and decoded as 0) for 3E.
    pub serial: u16,
    /// The access route.
    pub route: Route,
}

/// Direction of a frame, told by its subheader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `50 00` / `54 00`.
    Request,
    /// `D0 00` / `D4 00`.
    Response,
}

/// The frame kind and direction for a big-endian subheader word.
pub fn classify_subheader(sub: u16) -> Result<(FrameKind, Direction), DecodeError> {
    match sub {
        0x5000 => Ok((FrameKind::E3, Direction::Request)),
        0xD000 => Ok((FrameKind::E3, Direction::Response)),
        0x5400 => Ok((FrameKind::E4, Direction::Request)),
        0xD400 => Ok((FrameKind::E4, Direction::Response)),
        other => Err(DecodeError::BadSubheader(other)),
    }
}

/// Framing: the total length of the frame at the start of `buf`, or `Ok(None)` if the header
/// is not complete yet. Rejects unknown subheaders, subheaders of the other `direction`, and
/// L > [`MAX_LENGTH`] **before** the body is buffered.
pub fn frame_length(buf: &[u8], direction: Direction) -> Result<Option<usize>, DecodeError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let sub = u16::from_be_bytes([buf[0], buf[1]]);
    let (kind, dir) = classify_subheader(sub)?;
    if dir != direction {
        return Err(DecodeError::BadSubheader(sub));
    }
    let hl = kind.header_len();
    if buf.len() < hl {
        return Ok(None);
    }
    let l = usize::from(le16(buf, hl - 2));
    if l > MAX_LENGTH {
        return Err(DecodeError::BadLength {
            declared: l,
            max: MAX_LENGTH,
        });
    }
    Ok(Some(hl + l))
}

fn encode_header(header: &Header, sub: u16, body_len: usize, dst: &mut Vec<u8>) {
    dst.extend_from_slice(&sub.to_be_bytes());
    if header.frame == FrameKind::E4 {
        dst.extend_from_slice(&header.serial.to_le_bytes());
        dst.extend_from_slice(&[0, 0]);
    }
    header.route.encode(dst);
    // L is always computed from the encoded body (§1.1 \[rec\]); bodies are far below 64 KiB
    // for every command this crate builds.
    let l = u16::try_from(body_len).unwrap_or(u16::MAX);
    dst.extend_from_slice(&l.to_le_bytes());
}

/// Decodes the envelope of a whole frame; returns the header and the body L counts.
fn decode_header(buf: &[u8], direction: Direction) -> Result<(Header, &[u8]), DecodeError> {
    need(buf, 2)?;
    let sub = u16::from_be_bytes([buf[0], buf[1]]);
    let (frame, dir) = classify_subheader(sub)?;
    if dir != direction {
        return Err(DecodeError::BadSubheader(sub));
    }
    let hl = frame.header_len();
    need(buf, hl)?;
    let (serial, route_at) = match frame {
        FrameKind::E3 => (0, 2),
        FrameKind::E4 => (le16(buf, 2), 6),
    };
    let route = Route::decode(&buf[route_at..])?;
    let l = usize::from(le16(buf, hl - 2));
    if l > MAX_LENGTH {
        return Err(DecodeError::BadLength {
            declared: l,
            max: MAX_LENGTH,
        });
    }
    need(buf, hl + l)?;
    if buf.len() > hl + l {
        return Err(DecodeError::TrailingBytes {
            extra: buf.len() - hl - l,
        });
    }
    Ok((
        Header {
            frame,
            serial,
            route,
        },
        &buf[hl..],
    ))
}

/// A request command with its data (`melsec-cclink.md` §1.3). Only read commands are typed;
/// the client sends nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Command {
    /// `0401` sub `0000` (Q/L) / `0002` (iQ-R): batch read in word units. On a bit device
    /// one word = 16 consecutive bits, head device = LSB (§1.5).
    BatchReadWords {
        /// First device.
        head: Device,
        /// Number of words.
        points: u16,
    },
    /// `0401` sub `0001` (Q/L) / `0003` (iQ-R): batch read in bit units, 2 points per byte,
    /// first point in the high nibble (§1.5).
    BatchReadBits {
        /// First device.
        head: Device,
        /// Number of bits.
        points: u16,
    },
    /// `0403` sub `0000` (Q/L) / `0002` (iQ-R): random read of word and double-word points
    /// (§1.3, §1.8 e).
    RandomRead {
        /// Word points.
        words: Vec<Device>,
        /// Double-word points.
        dwords: Vec<Device>,
    },
    /// `0101` sub `0000`: read CPU model name (§1.3, §1.8 f).
    ReadTypeName,
    /// Any other command, kept raw (a server answers it with an end code).
    Other {
        /// Command.
        command: u16,
        /// Subcommand.
        subcommand: u16,
        /// Request data after the subcommand.
        data: Vec<u8>,
    },
}

fn encode_spec(device: Device, form: DeviceForm, dst: &mut Vec<u8>) {
    match form {
        DeviceForm::QL => {
            // Q/L form carries 3 bytes; numbers above 0xFF_FFFF are the caller's error
            // (the client rejects them before encoding).
            dst.extend_from_slice(&device.number.to_le_bytes()[..3]);
            dst.push(device.code.code());
        }
        DeviceForm::IqR => {
            dst.extend_from_slice(&device.number.to_le_bytes());
            dst.extend_from_slice(&device.code.wire_code(form).to_le_bytes());
        }
    }
}

fn decode_spec(buf: &[u8], form: DeviceForm) -> Result<Device, DecodeError> {
    need(buf, form.spec_len())?;
    let (number, code) = match form {
        DeviceForm::QL => (
            u32::from_le_bytes([buf[0], buf[1], buf[2], 0]),
            u16::from(buf[3]),
        ),
        DeviceForm::IqR => (
            u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]),
            le16(buf, 4),
        ),
    };
    let code = DeviceCode::from_code(code).ok_or(DecodeError::UnknownDeviceCode(code))?;
    Ok(Device { code, number })
}

impl Command {
    /// The command word.
    pub fn command(&self) -> u16 {
        match self {
            Command::BatchReadWords { .. } | Command::BatchReadBits { .. } => CMD_BATCH_READ,
            Command::RandomRead { .. } => CMD_RANDOM_READ,
            Command::ReadTypeName => CMD_READ_TYPE_NAME,
            Command::Other { command, .. } => *command,
        }
    }

    /// The subcommand word for a device-specification form.
    pub fn subcommand(&self, form: DeviceForm) -> u16 {
        let iqr = form == DeviceForm::IqR;
        match self {
            Command::BatchReadWords { .. } | Command::RandomRead { .. } => {
                if iqr {
                    0x0002
                } else {
                    0x0000
                }
            }
            Command::BatchReadBits { .. } => {
                if iqr {
                    0x0003
                } else {
                    0x0001
                }
            }
            Command::ReadTypeName => 0x0000,
            Command::Other { subcommand, .. } => *subcommand,
        }
    }

    /// Appends the request data (after the subcommand).
    pub fn encode_data(&self, form: DeviceForm, dst: &mut Vec<u8>) {
        match self {
            Command::BatchReadWords { head, points } | Command::BatchReadBits { head, points } => {
                encode_spec(*head, form, dst);
                dst.extend_from_slice(&points.to_le_bytes());
            }
            Command::RandomRead { words, dwords } => {
                // Point counts are one byte each; the client keeps them ≤ 192 (§1.3).
                dst.push(u8::try_from(words.len()).unwrap_or(u8::MAX));
                dst.push(u8::try_from(dwords.len()).unwrap_or(u8::MAX));
                for d in words.iter().take(255).chain(dwords.iter().take(255)) {
                    encode_spec(*d, form, dst);
                }
            }
            Command::ReadTypeName => {}
            Command::Other { data, .. } => dst.extend_from_slice(data),
        }
    }

    /// Decodes a command from its command, subcommand and data. Unknown command/subcommand
    /// pairs become [`Command::Other`]; known ones with wrong data lengths are an error.
    /// Returns the device form the subcommand implies.
    pub fn decode(
        command: u16,
        subcommand: u16,
        data: &[u8],
    ) -> Result<(Command, DeviceForm), DecodeError> {
        let bad_len = |expected: usize| DecodeError::BadDataLength {
            command,
            subcommand,
            expected,
            got: data.len(),
        };
        match (command, subcommand) {
            (CMD_BATCH_READ, 0x0000..=0x0003) => {
                let form = if subcommand >= 2 {
                    DeviceForm::IqR
                } else {
                    DeviceForm::QL
                };
                let expected = form.spec_len() + 2;
                if data.len() != expected {
                    return Err(bad_len(expected));
                }
                let head = decode_spec(data, form)?;
                let points = le16(data, form.spec_len());
                let cmd = if subcommand.is_multiple_of(2) {
                    Command::BatchReadWords { head, points }
                } else {
                    Command::BatchReadBits { head, points }
                };
                Ok((cmd, form))
            }
            (CMD_RANDOM_READ, 0x0000 | 0x0002) => {
                let form = if subcommand == 2 {
                    DeviceForm::IqR
                } else {
                    DeviceForm::QL
                };
                if data.len() < 2 {
                    return Err(bad_len(2));
                }
                let (nw, nd) = (usize::from(data[0]), usize::from(data[1]));
                let expected = 2 + (nw + nd) * form.spec_len();
                if data.len() != expected {
                    return Err(bad_len(expected));
                }
                let mut specs = data[2..]
                    .chunks_exact(form.spec_len())
                    .map(|c| decode_spec(c, form));
                let words = specs.by_ref().take(nw).collect::<Result<Vec<_>, _>>()?;
                let dwords = specs.collect::<Result<Vec<_>, _>>()?;
                Ok((Command::RandomRead { words, dwords }, form))
            }
            (CMD_READ_TYPE_NAME, 0x0000) => {
                if !data.is_empty() {
                    return Err(bad_len(0));
                }
                Ok((Command::ReadTypeName, DeviceForm::QL))
            }
            _ => Ok((
                Command::Other {
                    command,
                    subcommand,
                    data: data.to_vec(),
                },
                DeviceForm::QL,
            )),
        }
    }

    /// Bytes of response data a normal answer to this command carries, if fixed.
    pub fn response_len(&self) -> Option<usize> {
        match self {
            Command::BatchReadWords { points, .. } => Some(usize::from(*points) * 2),
            Command::BatchReadBits { points, .. } => Some(usize::from(*points).div_ceil(2)),
            Command::RandomRead { words, dwords } => Some(words.len() * 2 + dwords.len() * 4),
            Command::ReadTypeName => Some(18),
            Command::Other { .. } => None,
        }
    }
}

/// A request frame (client → CPU).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Request {
    /// Frame kind, serial, route.
    pub header: Header,
    /// Monitoring timer in 250 ms units (0 = wait forever; §1.1, §1.10).
    pub monitoring_timer: u16,
    /// Device-specification form (selects subcommands and spec layout). Meaningless for
    /// [`Command::ReadTypeName`] and [`Command::Other`], which decode with
    /// [`DeviceForm::QL`].
    pub form: DeviceForm,
    /// The command.
    pub command: Command,
}

impl Request {
    /// The whole frame, with L computed from the encoded body (§1.1 \[rec\]).
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(16);
        body.extend_from_slice(&self.monitoring_timer.to_le_bytes());
        body.extend_from_slice(&self.command.command().to_le_bytes());
        body.extend_from_slice(&self.command.subcommand(self.form).to_le_bytes());
        self.command.encode_data(self.form, &mut body);
        let mut out = Vec::with_capacity(self.header.frame.header_len() + body.len());
        encode_header(
            &self.header,
            self.header.frame.request_subheader(),
            body.len(),
            &mut out,
        );
        out.extend_from_slice(&body);
        out
    }

    /// Decodes one whole request frame (exactly; trailing bytes are an error).
    pub fn decode(buf: &[u8]) -> Result<Request, DecodeError> {
        let head = RequestHead::decode(buf)?;
        let (command, form) = Command::decode(head.command, head.subcommand, head.data)?;
        Ok(Request {
            header: head.header,
            monitoring_timer: head.monitoring_timer,
            form,
            command,
        })
    }
}

/// The fixed part of a request: what a server needs to answer even a request whose data it
/// cannot decode (the abnormal response echoes command and subcommand).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHead<'a> {
    /// Frame kind, serial, route.
    pub header: Header,
    /// Monitoring timer.
    pub monitoring_timer: u16,
    /// Command.
    pub command: u16,
    /// Subcommand.
    pub subcommand: u16,
    /// Request data after the subcommand.
    pub data: &'a [u8],
}

impl<'a> RequestHead<'a> {
    /// Decodes the envelope, timer, command and subcommand of one whole request frame.
    pub fn decode(buf: &'a [u8]) -> Result<RequestHead<'a>, DecodeError> {
        let (header, body) = decode_header(buf, Direction::Request)?;
        if body.len() < 6 {
            return Err(DecodeError::ShortLength {
                declared: body.len(),
                min: 6,
            });
        }
        Ok(RequestHead {
            header,
            monitoring_timer: le16(body, 0),
            command: le16(body, 2),
            subcommand: le16(body, 4),
            data: &body[6..],
        })
    }
}

/// The error information of an abnormal response: the responding station's route and the
/// command/subcommand it refused (`melsec-cclink.md` §1.1, §1.8 g).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorInfo {
    /// Route of the responding station.
    pub route: Route,
    /// Refused command.
    pub command: u16,
    /// Refused subcommand.
    pub subcommand: u16,
}

impl ErrorInfo {
    /// Encoded length (9).
    pub const LEN: usize = 9;
}

/// The body of a response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ResponseBody {
    /// End code `0000`: the response data.
    Ok(Vec<u8>),
    /// End code ≠ 0: the device refused.
    Error {
        /// The end code.
        end_code: EndCode,
        /// Error information, if the response carries at least its 9 bytes (extra bytes
        /// after it are ignored).
        info: Option<ErrorInfo>,
    },
}

/// A response frame (CPU → client).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Response {
    /// Frame kind, serial (echoed), route (echoed).
    pub header: Header,
    /// Data or end code.
    pub body: ResponseBody,
}

impl Response {
    /// A normal response with data.
    pub fn ok(header: Header, data: Vec<u8>) -> Response {
        Response {
            header,
            body: ResponseBody::Ok(data),
        }
    }

    /// An abnormal response to `command`/`subcommand` with the error information the
    /// reference documents (§1.1): the header's route as responding route.
    pub fn error(header: Header, end_code: EndCode, command: u16, subcommand: u16) -> Response {
        Response {
            header,
            body: ResponseBody::Error {
                end_code,
                info: Some(ErrorInfo {
                    route: header.route,
                    command,
                    subcommand,
                }),
            },
        }
    }

    /// The raw end code (0 for normal completion).
    pub fn end_code_raw(&self) -> u16 {
        match &self.body {
            ResponseBody::Ok(_) => 0,
            ResponseBody::Error { end_code, .. } => end_code.code(),
        }
    }

    /// The whole frame, with L computed from the encoded body.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        match &self.body {
            ResponseBody::Ok(data) => {
                body.extend_from_slice(&[0, 0]);
                body.extend_from_slice(data);
            }
            ResponseBody::Error { end_code, info } => {
                body.extend_from_slice(&end_code.code().to_le_bytes());
                if let Some(info) = info {
                    info.route.encode(&mut body);
                    body.extend_from_slice(&info.command.to_le_bytes());
                    body.extend_from_slice(&info.subcommand.to_le_bytes());
                }
            }
        }
        let mut out = Vec::with_capacity(self.header.frame.header_len() + body.len());
        encode_header(
            &self.header,
            self.header.frame.response_subheader(),
            body.len(),
            &mut out,
        );
        out.extend_from_slice(&body);
        out
    }

    /// Decodes one whole response frame (exactly; trailing bytes are an error).
    pub fn decode(buf: &[u8]) -> Result<Response, DecodeError> {
        let (header, body) = decode_header(buf, Direction::Response)?;
        if body.len() < 2 {
            return Err(DecodeError::ShortLength {
                declared: body.len(),
                min: 2,
            });
        }
        let code = le16(body, 0);
        let rest = &body[2..];
        let body = if code == 0 {
            ResponseBody::Ok(rest.to_vec())
        } else {
            let info = if rest.len() >= ErrorInfo::LEN {
                Some(ErrorInfo {
                    route: Route::decode(rest)?,
                    command: le16(rest, 5),
                    subcommand: le16(rest, 7),
                })
            } else {
                None
            };
            ResponseBody::Error {
                end_code: EndCode::from_code(code),
                info,
            }
        };
        Ok(Response { header, body })
    }
}

/// Word-unit response data: 2 bytes LE per point (§1.5), exactly `count` points.
pub fn decode_words(data: &[u8], count: usize) -> Result<Vec<u16>, DecodeError> {
    if data.len() != count * 2 {
        return Err(DecodeError::DataLengthMismatch {
            expected: count * 2,
            got: data.len(),
        });
    }
    Ok(data.chunks_exact(2).map(|c| le16(c, 0)).collect())
}

/// Encodes words as response data.
pub fn encode_words(words: &[u16]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// Bit-unit response data: 2 points per byte, first point in the high nibble, an odd count
/// padded in the low nibble (§1.5). A nibble ≠ 0 reads as ON.
pub fn decode_bits(data: &[u8], count: usize) -> Result<Vec<bool>, DecodeError> {
    let expected = count.div_ceil(2);
    if data.len() != expected {
        return Err(DecodeError::DataLengthMismatch {
            expected,
            got: data.len(),
        });
    }
    Ok((0..count)
        .map(|i| {
            let b = data[i / 2];
            if i % 2 == 0 {
                b >> 4 != 0
            } else {
                b & 0x0F != 0
            }
        })
        .collect())
}

/// Encodes bits as bit-unit response data (§1.5).
pub fn encode_bits(bits: &[bool]) -> Vec<u8> {
    bits.chunks(2)
        .map(|c| {
            let hi = u8::from(c[0]) << 4;
            let lo = c.get(1).map_or(0, |b| u8::from(*b));
            hi | lo
        })
        .collect()
}

/// Random-read response data: the word points (2 bytes each) then the double-word points
/// (4 bytes each, LE), exactly as many as requested (§1.3, §1.8 e).
pub fn decode_random(
    data: &[u8],
    words: usize,
    dwords: usize,
) -> Result<(Vec<u16>, Vec<u32>), DecodeError> {
    let expected = words * 2 + dwords * 4;
    if data.len() != expected {
        return Err(DecodeError::DataLengthMismatch {
            expected,
            got: data.len(),
        });
    }
    let (w, d) = data.split_at(words * 2);
    Ok((
        w.chunks_exact(2).map(|c| le16(c, 0)).collect(),
        d.chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    ))
}

/// Encodes random-read response data.
pub fn encode_random(words: &[u16], dwords: &[u32]) -> Vec<u8> {
    let mut out = encode_words(words);
    for d in dwords {
        out.extend_from_slice(&d.to_le_bytes());
    }
    out
}

/// The answer to `0101` read CPU model name: 16 ASCII bytes (space padded) + model code
/// (2 bytes LE), §1.3, §1.8 f.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TypeName {
    /// Model name with trailing spaces removed, e.g. `Q06UDEHCPU`.
    pub model: String,
    /// Model code, e.g. `0x026A`.
    pub code: u16,
}

impl TypeName {
    /// Decodes the 18 data bytes.
    pub fn decode(data: &[u8]) -> Result<TypeName, DecodeError> {
        if data.len() != 18 {
            return Err(DecodeError::DataLengthMismatch {
                expected: 18,
                got: data.len(),
            });
        }
        let model = String::from_utf8_lossy(&data[..16])
            .trim_end_matches([' ', '\0'])
            .to_owned();
        Ok(TypeName {
            model,
            code: le16(data, 16),
        })
    }

    /// Encodes the 18 data bytes (the name cut or space-padded to 16 bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut out: Vec<u8> = self.model.bytes().take(16).collect();
        out.resize(16, b' ');
        out.extend_from_slice(&self.code.to_le_bytes());
        out
    }
}
