//! The async, read-only MC protocol client (binary 3E/4E over TCP or UDP).
//!
//! Two kinds of failure are kept apart (STYLE.md §4):
//!
//! * the CPU answered with an end code ≠ 0: [`Reply::EndCode`]. The connection is fine and
//!   stays usable;
//! * we could not talk to it (connect failure, timeout, reset, malformed or mismatched
//!   frame): [`Error`].
//!
//! **After any `Err(Error)` drop the [`Client`] and connect again.** A request that timed
//! out may still be answered later, and with 3E nothing would tell that late answer from
//! the next one (§1.2: two back-to-back 3E requests gave one answer for the last request);
//! a stream in that state is never reused.
//!
//! One request is in flight at a time, on TCP and UDP. With 4E every request carries a new
//! serial number (0, 1, 2 … wrapping) and the answer's serial must match. The read buffer
//! is cleared before each request. Every connect and every request is bounded by
//! [`ConnectOptions::timeout`], each with its own [`Error`] variant.
//!
//! The client has **no write command** and no remote RUN/STOP: it sends only `0401` batch
//! read, `0403` random read and `0101` read type name.

mod options;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;
use tokio_util::codec::Framed;

pub use options::{ConnectOptions, ParseTransportError, Transport};

use crate::address::{TagAddress, TagError, TagValue, WordType};
use crate::cclink::{CcLinkMaster, MAX_BLOCK_WORDS, NetworkStatus};
use crate::codec::{ClientCodec, CodecError};
use crate::cpu::CpuDiagnosis;
use crate::frame::{
    Command, DecodeError, Device, DeviceForm, EndCode, FrameKind, Header, MAX_LENGTH, Request,
    Response, ResponseBody, Route, Series, TypeName, decode_bits, decode_random, decode_words,
};
use crate::plan::{MAX_BITS, MAX_RANDOM_POINTS, MAX_WORDS, ReadPlan, Slot};

/// A CPU's answer: data, or an end code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<T> {
    /// End code 0: the data.
    Ok(T),
    /// The CPU refused with an end code (§1.6).
    EndCode(EndCode),
}

impl<T> Reply<T> {
    /// The data, if any.
    pub fn ok(self) -> Option<T> {
        match self {
            Reply::Ok(t) => Some(t),
            Reply::EndCode(_) => None,
        }
    }

    /// True if refused with `C059` (command not offered by this CPU or path).
    pub fn unsupported(&self) -> bool {
        matches!(self, Reply::EndCode(e) if e.unsupported())
    }

    /// Maps the data.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Reply<U> {
        match self {
            Reply::Ok(t) => Reply::Ok(f(t)),
            Reply::EndCode(e) => Reply::EndCode(e),
        }
    }

    /// Maps the data with a fallible function.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Reply<U>, E> {
        Ok(match self {
            Reply::Ok(t) => Reply::Ok(f(t)?),
            Reply::EndCode(e) => Reply::EndCode(e),
        })
    }
}

/// A communication failure. After any of these drop the [`Client`] and reconnect.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The TCP connect did not finish in time.
    #[error("connect timed out after {0:?}")]
    ConnectTimeout(Duration),
    /// The connect failed (refused, unreachable, UDP bind failed, ...).
    #[error("connect failed: {0}")]
    Connect(#[source] io::Error),
    /// No response arrived within the timeout. With a wrong L the CPU waits for more bytes
    /// and never answers (§1.1).
    #[error("no response within {0:?}")]
    ResponseTimeout(Duration),
    /// Reading or writing the transport failed.
    #[error("transport error: {0}")]
    Io(#[source] io::Error),
    /// The peer closed the connection.
    #[error("connection closed by the peer")]
    Closed,
    /// A frame was malformed.
    #[error("malformed frame: {0}")]
    Decode(#[from] DecodeError),
    /// A 4E answer carries another serial number than the request.
    #[error("4E serial number mismatch: sent {expected}, got {got}")]
    SerialMismatch {
        /// Sent.
        expected: u16,
        /// Received.
        got: u16,
    },
    /// An answer that does not fit the request (other frame kind, wrong data length).
    #[error("unexpected response to {request}: {got}")]
    UnexpectedResponse {
        /// What was requested.
        request: &'static str,
        /// What came back.
        got: String,
    },
    /// A request exceeds a limit (points, device number range); raised before anything is
    /// sent, so the connection is still in sync.
    #[error("{what} of {len} exceeds the limit of {max}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
}

impl From<CodecError> for Error {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::Io(e) => Error::Io(e),
            CodecError::Decode(e) => Error::Decode(e),
        }
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

enum Link {
    Stream(Framed<Box<dyn Stream>, ClientCodec>),
    Udp(UdpSocket),
}

/// A read-only MC protocol connection, see the module doc.
pub struct Client {
    link: Link,
    frame: FrameKind,
    route: Route,
    monitoring_timer: u16,
    series: Series,
    timeout: Duration,
    next_serial: u16,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("frame", &self.frame)
            .field(
                "transport",
                &match self.link {
                    Link::Stream(_) => "stream",
                    Link::Udp(_) => "udp",
                },
            )
            .field("series", &self.series)
            .field("timeout", &self.timeout)
            .finish()
    }
}

fn request_name(c: &Command) -> &'static str {
    match c {
        Command::BatchReadWords { .. } => "batch read (words)",
        Command::BatchReadBits { .. } => "batch read (bits)",
        Command::RandomRead { .. } => "random read",
        Command::ReadTypeName => "read type name",
        Command::Other { .. } => "request",
    }
}

impl Client {
    /// TCP connect (bounded by `opts.timeout`) or UDP connect (a local socket bound to an
    /// ephemeral port and connected to `addr`).
    pub async fn connect(addr: SocketAddr, opts: &ConnectOptions) -> Result<Client, Error> {
        match opts.transport {
            Transport::Tcp => {
                let stream = timeout(opts.timeout, TcpStream::connect(addr))
                    .await
                    .map_err(|_| Error::ConnectTimeout(opts.timeout))?
                    .map_err(Error::Connect)?;
                stream.set_nodelay(true).map_err(Error::Connect)?;
                Ok(Self::attach(stream, opts))
            }
            Transport::Udp => {
                let local: SocketAddr = if addr.is_ipv4() {
                    ([0, 0, 0, 0], 0).into()
                } else {
                    (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
                };
                let socket = UdpSocket::bind(local).await.map_err(Error::Connect)?;
                socket.connect(addr).await.map_err(Error::Connect)?;
                Ok(Self::with_link(Link::Udp(socket), opts))
            }
        }
    }

    /// A client over any byte stream (TCP, `tokio::io::duplex`, a proxy …). `opts.transport`
    /// is ignored.
    pub fn attach<T: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
        transport: T,
        opts: &ConnectOptions,
    ) -> Client {
        let boxed: Box<dyn Stream> = Box::new(transport);
        Self::with_link(Link::Stream(Framed::new(boxed, ClientCodec)), opts)
    }

    fn with_link(link: Link, opts: &ConnectOptions) -> Client {
        Client {
            link,
            frame: opts.frame,
            route: opts.route,
            monitoring_timer: opts.monitoring_timer,
            series: opts.series,
            timeout: opts.timeout,
            next_serial: 0,
        }
    }

    /// The configured series.
    pub fn series(&self) -> Series {
        self.series
    }

    fn form(&self) -> DeviceForm {
        self.series.device_form()
    }

    fn check_device(&self, d: Device) -> Result<(), Error> {
        let max = self.form().max_number();
        if d.number > max {
            return Err(Error::TooLarge {
                what: "device number",
                len: usize::try_from(d.number).unwrap_or(usize::MAX),
                max: usize::try_from(max).unwrap_or(usize::MAX),
            });
        }
        Ok(())
    }

    /// Sends one request and waits for its answer; returns the data or the end code.
    async fn transact(&mut self, command: Command) -> Result<Reply<Vec<u8>>, Error> {
        let serial = match self.frame {
            FrameKind::E3 => 0,
            FrameKind::E4 => {
                let s = self.next_serial;
                self.next_serial = self.next_serial.wrapping_add(1);
                s
            }
        };
        let request = Request {
            header: Header {
                frame: self.frame,
                serial,
                route: self.route,
            },
            monitoring_timer: self.monitoring_timer,
            form: self.form(),
            command,
        };
        let t = self.timeout;
        let response = timeout(t, async {
            match &mut self.link {
                Link::Stream(framed) => {
                    framed.read_buffer_mut().clear();
                    framed.send(&request).await?;
                    match framed.next().await {
                        None => Err(Error::Closed),
                        Some(r) => Ok(r?),
                    }
                }
                Link::Udp(socket) => {
                    socket.send(&request.encode()).await.map_err(Error::Io)?;
                    let mut buf = vec![0u8; MAX_LENGTH + 16];
                    let n = socket.recv(&mut buf).await.map_err(Error::Io)?;
                    Ok(Response::decode(&buf[..n])?)
                }
            }
        })
        .await
        .map_err(|_| Error::ResponseTimeout(t))??;
        if response.header.frame != self.frame {
            return Err(Error::UnexpectedResponse {
                request: request_name(&request.command),
                got: format!("{:?} frame", response.header.frame),
            });
        }
        if self.frame == FrameKind::E4 && response.header.serial != serial {
            return Err(Error::SerialMismatch {
                expected: serial,
                got: response.header.serial,
            });
        }
        match response.body {
            ResponseBody::Ok(data) => {
                if let Some(expected) = request.command.response_len()
                    && expected != data.len()
                {
                    tracing::debug!(
                        expected,
                        got = data.len(),
                        "MC response data length mismatch"
                    );
                }
                Ok(Reply::Ok(data))
            }
            ResponseBody::Error { end_code, info } => {
                tracing::debug!(%end_code, ?info, "MC end code");
                Ok(Reply::EndCode(end_code))
            }
        }
    }

    /// Batch read of `count` words from `start` (`0401` word units; on a bit device each word
    /// holds 16 bits, head = LSB). At most 960 words.
    pub async fn read_words(
        &mut self,
        start: Device,
        count: u16,
    ) -> Result<Reply<Vec<u16>>, Error> {
        if count > MAX_WORDS {
            return Err(Error::TooLarge {
                what: "word read",
                len: usize::from(count),
                max: usize::from(MAX_WORDS),
            });
        }
        self.check_device(start)?;
        if count == 0 {
            return Ok(Reply::Ok(Vec::new()));
        }
        self.transact(Command::BatchReadWords {
            head: start,
            points: count,
        })
        .await?
        .try_map(|data| decode_words(&data, usize::from(count)).map_err(Error::Decode))
    }

    /// Batch read of `count` bits from `start` (`0401` bit units). At most 7 168 bits.
    pub async fn read_bits(
        &mut self,
        start: Device,
        count: u16,
    ) -> Result<Reply<Vec<bool>>, Error> {
        if count > MAX_BITS {
            return Err(Error::TooLarge {
                what: "bit read",
                len: usize::from(count),
                max: usize::from(MAX_BITS),
            });
        }
        self.check_device(start)?;
        if count == 0 {
            return Ok(Reply::Ok(Vec::new()));
        }
        self.transact(Command::BatchReadBits {
            head: start,
            points: count,
        })
        .await?
        .try_map(|data| decode_bits(&data, usize::from(count)).map_err(Error::Decode))
    }

    /// Random read of word and double-word points (`0403`). At most 96 points in all.
    pub async fn read_random(
        &mut self,
        words: &[Device],
        dwords: &[Device],
    ) -> Result<Reply<(Vec<u16>, Vec<u32>)>, Error> {
        let points = words.len() + dwords.len();
        if points > MAX_RANDOM_POINTS {
            return Err(Error::TooLarge {
                what: "random read points",
                len: points,
                max: MAX_RANDOM_POINTS,
            });
        }
        for d in words.iter().chain(dwords) {
            self.check_device(*d)?;
        }
        if points == 0 {
            return Ok(Reply::Ok((Vec::new(), Vec::new())));
        }
        let (nw, nd) = (words.len(), dwords.len());
        self.transact(Command::RandomRead {
            words: words.to_vec(),
            dwords: dwords.to_vec(),
        })
        .await?
        .try_map(|data| decode_random(&data, nw, nd).map_err(Error::Decode))
    }

    /// `0101` read CPU model name. `C059` here means "model unknown" on QnU/LCPU built-in
    /// ports (§1.3), not a link failure: see [`Reply::unsupported`].
    pub async fn read_type_name(&mut self) -> Result<Reply<TypeName>, Error> {
        self.transact(Command::ReadTypeName)
            .await?
            .try_map(|data| TypeName::decode(&data).map_err(Error::Decode))
    }

    /// CPU self-diagnosis: SM0–SM15, SM48–SM63, SD0–SD26 and SD203 in **one** random read
    /// (§7.6; see [`CpuDiagnosis::DEVICES`]), decoded for the configured series.
    pub async fn cpu_diagnosis(&mut self) -> Result<Reply<CpuDiagnosis>, Error> {
        let series = self.series;
        self.read_random(&CpuDiagnosis::DEVICES, &[])
            .await?
            .try_map(|(words, _)| CpuDiagnosis::decode(series, &words).map_err(Error::Decode))
    }

    /// The master's diagnostic SB/SW block in at most 2 requests ([`CcLinkMaster::sw_block`]
    /// as words, then [`CcLinkMaster::sb_block`] as words), decoded per its
    /// [`RegisterMap`](crate::RegisterMap). An end code on either read is returned as is.
    pub async fn cclink(&mut self, master: &CcLinkMaster) -> Result<Reply<NetworkStatus>, Error> {
        let (sw_first, sw_words) = master.sw_block();
        let sb = master.sb_block();
        for words in std::iter::once(sw_words).chain(sb.map(|b| b.1)) {
            if words > MAX_BLOCK_WORDS {
                return Err(Error::TooLarge {
                    what: "CC-Link register block (words)",
                    len: usize::try_from(words).unwrap_or(usize::MAX),
                    max: usize::try_from(MAX_BLOCK_WORDS).unwrap_or(usize::MAX),
                });
            }
        }
        let sw_count = u16::try_from(sw_words).unwrap_or(MAX_WORDS);
        let sw = match self
            .read_words(
                Device::new(crate::frame::DeviceCode::Sw, sw_first),
                sw_count,
            )
            .await?
        {
            Reply::Ok(w) => w,
            Reply::EndCode(e) => return Ok(Reply::EndCode(e)),
        };
        let (sb_first, sb_words) = match sb {
            Some((first, words)) => {
                let count = u16::try_from(words).unwrap_or(MAX_WORDS);
                match self
                    .read_words(Device::new(crate::frame::DeviceCode::Sb, first), count)
                    .await?
                {
                    Reply::Ok(w) => (first, w),
                    Reply::EndCode(e) => return Ok(Reply::EndCode(e)),
                }
            }
            None => (0, Vec::new()),
        };
        Ok(Reply::Ok(NetworkStatus::decode(
            master, sw_first, &sw, sb_first, &sb_words,
        )))
    }

    /// Reads tags with as few requests as the limits allow ([`ReadPlan`]). One result per
    /// tag, in order: an end code or a wrong data length in the answer to one request fails
    /// only the tags of that request ([`TagError`]); communication failures fail the call.
    pub async fn read_tags(
        &mut self,
        tags: &[TagAddress],
    ) -> Result<Vec<Result<TagValue, TagError>>, Error> {
        for t in tags {
            self.check_device(t.device)?;
        }
        let plan = ReadPlan::new(tags);
        let mut out: Vec<Result<TagValue, TagError>> =
            vec![
                Err(TagError::Decode(DecodeError::DataLengthMismatch {
                    expected: 0,
                    got: 0
                }));
                tags.len()
            ];
        for read in plan.reads {
            let expected = read.command.response_len().unwrap_or(0);
            let (nw, nd) = match &read.command {
                Command::RandomRead { words, dwords } => (words.len(), dwords.len()),
                _ => (0, 0),
            };
            let is_bits = matches!(read.command, Command::BatchReadBits { .. });
            let points = match &read.command {
                Command::BatchReadWords { points, .. } | Command::BatchReadBits { points, .. } => {
                    usize::from(*points)
                }
                _ => 0,
            };
            let data = match self.transact(read.command).await? {
                Reply::EndCode(e) => {
                    for (i, _) in &read.tags {
                        out[*i] = Err(TagError::EndCode(e));
                    }
                    continue;
                }
                Reply::Ok(d) => d,
            };
            if data.len() != expected {
                let e = DecodeError::DataLengthMismatch {
                    expected,
                    got: data.len(),
                };
                for (i, _) in &read.tags {
                    out[*i] = Err(TagError::Decode(e.clone()));
                }
                continue;
            }
            // Lengths were checked above, so these decoders succeed.
            let bits = if is_bits {
                decode_bits(&data, points).unwrap_or_default()
            } else {
                Vec::new()
            };
            let words = if !is_bits && nw + nd == 0 {
                decode_words(&data, points).unwrap_or_default()
            } else {
                Vec::new()
            };
            let (rw, rd) = if nw + nd > 0 {
                decode_random(&data, nw, nd).unwrap_or_default()
            } else {
                (Vec::new(), Vec::new())
            };
            for (i, slot) in read.tags {
                let ty = tags[i].data_type;
                let missing = || {
                    TagError::Decode(DecodeError::DataLengthMismatch {
                        expected,
                        got: data.len(),
                    })
                };
                out[i] = match slot {
                    Slot::Bit(b) => bits.get(b).map(|v| TagValue::Bool(*v)).ok_or_else(missing),
                    Slot::Words { index, words: n } => words
                        .get(index..index + n)
                        .ok_or_else(missing)
                        .and_then(|w| ty.decode_words(w).map_err(TagError::Decode)),
                    Slot::RandomWord(k) => rw
                        .get(k)
                        .ok_or_else(missing)
                        .and_then(|w| ty.decode_words(&[*w]).map_err(TagError::Decode)),
                    Slot::RandomDword(k) => rd.get(k).ok_or_else(missing).and_then(|d| {
                        ty.decode_words(&[(*d & 0xFFFF) as u16, (*d >> 16) as u16])
                            .map_err(TagError::Decode)
                    }),
                };
                if ty == WordType::Bit && !matches!(slot, Slot::Bit(_)) {
                    out[i] = Err(missing());
                }
            }
        }
        Ok(out)
    }
}
