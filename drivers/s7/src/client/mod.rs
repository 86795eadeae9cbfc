//! The async, read-only S7 client.
//!
//! Two kinds of failure are kept apart (STYLE.md §4):
//!
//! * the CPU answered with an error: [`Reply::Refused`] carrying a [`Refusal`] (header error
//!   class/code, parameter error code such as `D402` "SZL not available", or data return code
//!   such as `0A` "object does not exist"). The connection is fine and stays usable;
//! * we could not talk to it (connect failure, timeout, reset, malformed or mismatched frame):
//!   [`Error`].
//!
//! **After any `Err(Error)` drop the [`Client`] and connect again.** A request that timed out
//! may still be answered later, a fragmented SZL transfer may be half done, and the stream
//! may hold half a frame; a stream in that state is never reused.
//!
//! One request is in flight at a time (`s7.md` §6.2); SZL follow-ups are never interleaved
//! with other requests (`s7.md` §2.4 rule 3); every answer's PDU reference must match the
//! request's. Every connect step and every request is bounded by
//! [`ConnectOptions::timeout`], each with its own [`Error`] variant.

mod options;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_util::codec::Framed;

pub use options::{ConnectOptions, ConnectionType, ParseConnectionTypeError};

use crate::address::{ItemError, VarAddress, VarValue};
use crate::codec::{CodecError, IsoCodec};
use crate::frame::{
    Cotp, CotpConnect, CycleTimes, DecodeError, DiagEntry, HeaderError, Identity, ModeStatus,
    ModuleStatus, ParamErrorCode, Protection, ReadVarJob, ReturnCode, S7Message,
    SetupCommunication, SetupJob, SzlId, SzlList, SzlRequest, SzlRequestKind, TimeStatus,
};
use crate::plan::ReadPlan;

/// Upper bound on the fragments of one SZL answer (`s7.md` §2.4 rule 4).
pub const MAX_SZL_FRAGMENTS: usize = 512;
/// Upper bound on the reassembled payload of one SZL answer (`s7.md` §2.4 rule 4).
pub const MAX_SZL_BYTES: usize = 256 * 1024;
/// Smallest negotiated PDU size accepted.
pub const MIN_PDU_SIZE: u16 = 64;

/// Why the CPU refused a request: a device answer, not a communication failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// Header error class/code of an Ack/Ack_Data (`s7.md` §7.1).
    Header {
        /// Error class.
        class: u8,
        /// Error code.
        code: u8,
    },
    /// Parameter error code (`s7.md` §7.2), e.g. D401/D402 SZL not available.
    Parameter(ParamErrorCode),
    /// Data return code (`s7.md` §7.3), e.g. 0x0A object does not exist.
    Data(ReturnCode),
}

impl Refusal {
    /// The SZL ID/index (or object) is not offered by this CPU: D401/D402 or 0x0A. The
    /// gateway shows "unsupported", not an error.
    pub fn unsupported(&self) -> bool {
        matches!(
            self,
            Refusal::Parameter(
                ParamErrorCode::SzlIdNotAvailable | ParamErrorCode::SzlIndexNotAvailable
            ) | Refusal::Data(ReturnCode::ObjectDoesNotExist)
        )
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Header { class, code } => HeaderError {
                class: *class,
                code: *code,
            }
            .fmt(f),
            Refusal::Parameter(p) => p.fmt(f),
            Refusal::Data(r) => r.fmt(f),
        }
    }
}

/// A CPU's answer: data, or a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<T> {
    /// The CPU answered with data.
    Ok(T),
    /// The CPU answered with an error.
    Refused(Refusal),
}

impl<T> Reply<T> {
    /// True if refused because the SZL ID/index is not offered (see [`Refusal::unsupported`]).
    pub fn unsupported(&self) -> bool {
        matches!(self, Reply::Refused(r) if r.unsupported())
    }

    /// The data, if any.
    pub fn ok(self) -> Option<T> {
        match self {
            Reply::Ok(t) => Some(t),
            Reply::Refused(_) => None,
        }
    }

    /// Maps the data.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Reply<U> {
        match self {
            Reply::Ok(t) => Reply::Ok(f(t)),
            Reply::Refused(r) => Reply::Refused(r),
        }
    }

    /// Maps the data with a fallible function.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Reply<U>, E> {
        Ok(match self {
            Reply::Ok(t) => Reply::Ok(f(t)?),
            Reply::Refused(r) => Reply::Refused(r),
        })
    }
}

/// A communication failure. After any of these drop the [`Client`] and reconnect.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The TCP connect did not finish in time.
    #[error("TCP connect timed out after {0:?}")]
    ConnectTimeout(Duration),
    /// The TCP connect failed (refused, unreachable, ...).
    #[error("TCP connect failed: {0}")]
    Connect(#[source] io::Error),
    /// No COTP Connection Confirm arrived in time (`s7.md` §6.10).
    #[error("no COTP connection confirm within {0:?}")]
    CotpTimeout(Duration),
    /// The CPU refused the ISO connection with a Disconnect Request (`s7.md` §6.10), e.g.
    /// no free connection resources or a wrong TSAP (rack/slot).
    #[error(
        "COTP connection refused (disconnect reason 0x{reason:02X}); check rack/slot/TSAP and free connections"
    )]
    CotpRefused {
        /// DR reason code.
        reason: u8,
    },
    /// No Setup Communication answer arrived in time.
    #[error("no setup communication answer within {0:?}")]
    SetupTimeout(Duration),
    /// The CPU refused Setup Communication.
    #[error("setup communication refused: {0}")]
    SetupRefused(HeaderError),
    /// The negotiated PDU size is unusable.
    #[error("negotiated PDU size {0} is too small")]
    BadPduSize(u16),
    /// No response arrived within the timeout.
    #[error("no response within {0:?}")]
    ResponseTimeout(Duration),
    /// Reading or writing the transport failed.
    #[error("transport error: {0}")]
    Io(#[source] io::Error),
    /// The peer closed the connection (or sent a COTP disconnect request).
    #[error("connection closed by the peer")]
    Closed,
    /// A frame was malformed.
    #[error("malformed frame: {0}")]
    Decode(#[from] DecodeError),
    /// An answer of another kind than the request expects.
    #[error("unexpected response to {request}: {got}")]
    UnexpectedResponse {
        /// What was requested.
        request: &'static str,
        /// What came back (short description).
        got: String,
    },
    /// The answer's PDU reference does not match the request's.
    #[error("PDU reference mismatch: sent {expected}, got {got}")]
    PduRefMismatch {
        /// Sent.
        expected: u16,
        /// Received.
        got: u16,
    },
    /// A request or an answer exceeds a limit (PDU size, SZL fragment/size caps).
    #[error("{what} of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its length.
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

trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

/// A read-only S7 connection (ISO-on-TCP), see the module doc.
pub struct Client {
    framed: Framed<Box<dyn Transport>, IsoCodec>,
    pdu_size: u16,
    next_ref: u16,
    timeout: Duration,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("pdu_size", &self.pdu_size)
            .field("timeout", &self.timeout)
            .finish()
    }
}

fn describe(m: &S7Message) -> String {
    match m {
        S7Message::SetupJob(_) => "setup job".into(),
        S7Message::SetupAck(_) => "setup ack".into(),
        S7Message::ReadVarJob(_) => "read-var job".into(),
        S7Message::ReadVarAck(_) => "read-var ack".into(),
        S7Message::SzlRequest(_) => "SZL request".into(),
        S7Message::SzlResponse(_) => "SZL response".into(),
        S7Message::Other(p) => format!(
            "{:?} PDU, params {:02X?}",
            p.rosctr,
            &p.params[..p.params.len().min(8)]
        ),
    }
}

impl Client {
    /// TCP connect, COTP CR/CC and Setup Communication, each bounded by `opts.timeout`.
    pub async fn connect(addr: SocketAddr, opts: &ConnectOptions) -> Result<Client, Error> {
        let stream = timeout(opts.timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| Error::ConnectTimeout(opts.timeout))?
            .map_err(Error::Connect)?;
        stream.set_nodelay(true).map_err(Error::Connect)?;
        Self::attach(stream, opts).await
    }

    /// The same handshake over any byte stream.
    pub async fn attach<T: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
        transport: T,
        opts: &ConnectOptions,
    ) -> Result<Client, Error> {
        let boxed: Box<dyn Transport> = Box::new(transport);
        let mut client = Client {
            framed: Framed::new(boxed, IsoCodec),
            pdu_size: opts.pdu_size,
            next_ref: 0,
            timeout: opts.timeout,
        };
        // COTP CR/CC (s7.md §1.2): TPDU size 1024 (code 0x0A) as Snap7.
        let cr = Cotp::ConnectRequest(CotpConnect::new(
            0,
            0x0001,
            0x0A,
            opts.local_tsap(),
            opts.remote_tsap(),
        ));
        client.framed.send(cr).await?;
        let answer = timeout(opts.timeout, client.framed.next())
            .await
            .map_err(|_| Error::CotpTimeout(opts.timeout))?;
        match answer {
            None => return Err(Error::Closed),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(Cotp::ConnectConfirm(_))) => {}
            Some(Ok(Cotp::DisconnectRequest(d))) => {
                return Err(Error::CotpRefused { reason: d.reason });
            }
            Some(Ok(other)) => {
                return Err(Error::UnexpectedResponse {
                    request: "COTP connection request",
                    got: format!("COTP PDU type 0x{:02X}", other.pdu_type()),
                });
            }
        }
        // Setup Communication (s7.md §1.4).
        let pdu_ref = client.next_pdu_ref();
        let job = S7Message::SetupJob(SetupJob {
            pdu_ref,
            params: SetupCommunication {
                max_amq_caller: 1,
                max_amq_callee: 1,
                pdu_size: opts.pdu_size,
            },
        });
        let answer = match client.transact_inner(&job, pdu_ref).await {
            Err(Error::ResponseTimeout(d)) => return Err(Error::SetupTimeout(d)),
            other => other?,
        };
        match answer {
            S7Message::SetupAck(ack) if ack.error.is_ok() => {
                if ack.params.pdu_size < MIN_PDU_SIZE {
                    return Err(Error::BadPduSize(ack.params.pdu_size));
                }
                client.pdu_size = ack.params.pdu_size.min(opts.pdu_size.max(MIN_PDU_SIZE));
                tracing::debug!(pdu_size = client.pdu_size, "S7 connection set up");
                Ok(client)
            }
            S7Message::SetupAck(ack) => Err(Error::SetupRefused(ack.error)),
            S7Message::Other(p) if !p.error.is_ok() => Err(Error::SetupRefused(p.error)),
            other => Err(Error::UnexpectedResponse {
                request: "setup communication",
                got: describe(&other),
            }),
        }
    }

    /// The negotiated PDU size.
    pub fn pdu_size(&self) -> u16 {
        self.pdu_size
    }

    fn next_pdu_ref(&mut self) -> u16 {
        self.next_ref = self.next_ref.wrapping_add(1).max(1);
        self.next_ref
    }

    /// Sends one PDU and waits for the answer with the same PDU reference.
    async fn transact(&mut self, msg: &S7Message) -> Result<S7Message, Error> {
        let len = msg.to_pdu().encoded_len();
        if len > usize::from(self.pdu_size) {
            return Err(Error::TooLarge {
                what: "request",
                len,
                max: usize::from(self.pdu_size),
            });
        }
        self.transact_inner(msg, msg.pdu_ref()).await
    }

    async fn transact_inner(&mut self, msg: &S7Message, pdu_ref: u16) -> Result<S7Message, Error> {
        self.framed.read_buffer_mut().clear();
        self.framed.send(Cotp::data(msg.to_bytes())).await?;
        let t = self.timeout;
        let max = usize::from(self.pdu_size.max(MIN_PDU_SIZE)) + 64;
        let bytes = timeout(t, async {
            let mut payload = Vec::new();
            loop {
                match self.framed.next().await {
                    None => return Err(Error::Closed),
                    Some(Err(e)) => return Err(e.into()),
                    Some(Ok(Cotp::Data(d))) => {
                        payload.extend_from_slice(&d.payload);
                        if payload.len() > max.max(8192) {
                            return Err(Error::TooLarge {
                                what: "response",
                                len: payload.len(),
                                max,
                            });
                        }
                        if d.eot {
                            return Ok(payload);
                        }
                    }
                    Some(Ok(Cotp::DisconnectRequest(_))) => return Err(Error::Closed),
                    Some(Ok(other)) => {
                        return Err(Error::UnexpectedResponse {
                            request: "S7 request",
                            got: format!("COTP PDU type 0x{:02X}", other.pdu_type()),
                        });
                    }
                }
            }
        })
        .await
        .map_err(|_| Error::ResponseTimeout(t))??;
        let answer = S7Message::decode(&bytes)?;
        if answer.pdu_ref() != pdu_ref {
            return Err(Error::PduRefMismatch {
                expected: pdu_ref,
                got: answer.pdu_ref(),
            });
        }
        Ok(answer)
    }

    /// Reads an SZL list, following fragments until the last data unit (`s7.md` §2.4).
    pub async fn read_szl(&mut self, id: SzlId, index: u16) -> Result<Reply<SzlList>, Error> {
        let mut kind = SzlRequestKind::First { id, index };
        let mut payload = Vec::new();
        for fragment in 0.. {
            if fragment >= MAX_SZL_FRAGMENTS {
                return Err(Error::TooLarge {
                    what: "SZL answer (fragments)",
                    len: fragment,
                    max: MAX_SZL_FRAGMENTS,
                });
            }
            let pdu_ref = self.next_pdu_ref();
            let answer = self
                .transact(&S7Message::SzlRequest(SzlRequest { pdu_ref, kind }))
                .await?;
            let resp = match answer {
                S7Message::SzlResponse(r) => r,
                other => {
                    return Err(Error::UnexpectedResponse {
                        request: "read SZL",
                        got: describe(&other),
                    });
                }
            };
            if resp.error != ParamErrorCode::NoError {
                return Ok(Reply::Refused(Refusal::Parameter(resp.error)));
            }
            if resp.return_code != ReturnCode::Success {
                return Ok(Reply::Refused(Refusal::Data(resp.return_code)));
            }
            payload.extend_from_slice(&resp.payload);
            if payload.len() > MAX_SZL_BYTES {
                return Err(Error::TooLarge {
                    what: "SZL answer",
                    len: payload.len(),
                    max: MAX_SZL_BYTES,
                });
            }
            if !resp.more {
                break;
            }
            tracing::trace!(%id, fragment, sequence = resp.sequence, "SZL follow-up");
            kind = SzlRequestKind::FollowUp {
                sequence: resp.sequence,
            };
        }
        Ok(Reply::Ok(SzlList::decode_payload(&payload)?))
    }

    /// SZL 0x0000: the SZL-IDs this CPU supports (`s7.md` §3.1).
    pub async fn supported_szl_ids(&mut self) -> Result<Reply<Vec<SzlId>>, Error> {
        self.read_szl(SzlId::SUPPORTED_IDS, 0)
            .await?
            .try_map(|list| {
                list.records
                    .iter()
                    .map(|r| match r.as_slice() {
                        [hi, lo, ..] => Ok(SzlId(u16::from_be_bytes([*hi, *lo]))),
                        _ => Err(Error::Decode(DecodeError::BadRecordLength {
                            expected: 2,
                            got: r.len(),
                        })),
                    })
                    .collect()
            })
    }

    /// SZL 0x0011 (order number, versions) and 0x001C (names, serial, …), `s7.md` §3.4–§3.5.
    /// 0x001C refused as unsupported (S7-1200, `s7.md` §5) leaves its fields `None`.
    pub async fn identity(&mut self) -> Result<Reply<Identity>, Error> {
        let mut identity = Identity::default();
        match self.read_szl(SzlId::MODULE_ID, 0).await? {
            Reply::Ok(list) => identity.apply_module_records(&list.records)?,
            Reply::Refused(r) => return Ok(Reply::Refused(r)),
        }
        match self.read_szl(SzlId::COMPONENT_ID, 0).await? {
            Reply::Ok(list) => identity.apply_component_records(&list.records)?,
            Reply::Refused(r) if r.unsupported() => {
                tracing::debug!(refusal = %r, "SZL 0x001C not supported")
            }
            Reply::Refused(r) => return Ok(Reply::Refused(r)),
        }
        Ok(Reply::Ok(identity))
    }

    /// SZL 0x0424: operating mode (`s7.md` §3.3).
    pub async fn cpu_mode(&mut self) -> Result<Reply<ModeStatus>, Error> {
        self.read_szl(SzlId::MODE, 0)
            .await?
            .try_map(|l| ModeStatus::decode(&l.records).map_err(Error::Decode))
    }

    /// The diagnostic buffer, newest first as the CPU sends it (`s7.md` §3.2):
    /// `newest == 0` reads 0x00A0 (all entries), `newest == N` reads 0x01A0 index N.
    pub async fn diag_buffer(&mut self, newest: u16) -> Result<Reply<Vec<DiagEntry>>, Error> {
        let (id, index) = if newest == 0 {
            (SzlId::DIAG_BUFFER, 0)
        } else {
            (SzlId::DIAG_BUFFER_NEWEST, newest)
        };
        self.read_szl(id, index).await?.try_map(|l| {
            l.records
                .iter()
                .map(|r| DiagEntry::decode(r).map_err(Error::Decode))
                .collect()
        })
    }

    /// SZL 0x0D91 index 0: status of all modules of rack 0 (`s7.md` §3.6).
    pub async fn module_status(&mut self) -> Result<Reply<Vec<ModuleStatus>>, Error> {
        self.rack_status(0).await
    }

    /// SZL 0x0D91 index `rack << 8`: status of all modules of a rack (`s7.md` §3.6).
    pub async fn rack_status(&mut self, rack: u8) -> Result<Reply<Vec<ModuleStatus>>, Error> {
        self.module_list(SzlId::MODULE_STATUS_RACK, u16::from(rack) << 8)
            .await
    }

    /// SZL 0x0C91: status of one module by logical base address (bit 15 = output),
    /// `s7.md` §3.6.
    pub async fn module_status_at(
        &mut self,
        logical_address: u16,
    ) -> Result<Reply<Vec<ModuleStatus>>, Error> {
        self.module_list(SzlId::MODULE_STATUS_ONE, logical_address)
            .await
    }

    async fn module_list(
        &mut self,
        id: SzlId,
        index: u16,
    ) -> Result<Reply<Vec<ModuleStatus>>, Error> {
        self.read_szl(id, index).await?.try_map(|l| {
            l.records
                .iter()
                .map(|r| ModuleStatus::decode(r).map_err(Error::Decode))
                .collect()
        })
    }

    /// SZL 0x0132 index 4: protection level and key switch (`s7.md` §3.7).
    pub async fn protection(&mut self) -> Result<Reply<Protection>, Error> {
        self.single_record(SzlId::COMM_STATUS, 4, Protection::decode)
            .await
    }

    /// SZL 0x0132 index 8: CPU clock and time status (`s7.md` §3.7).
    pub async fn time_status(&mut self) -> Result<Reply<TimeStatus>, Error> {
        self.single_record(SzlId::COMM_STATUS, 8, TimeStatus::decode)
            .await
    }

    /// SZL 0x0222 index 1 (OB1), falling back to index 0 when unsupported (`s7.md` §3.8).
    pub async fn cycle_times(&mut self) -> Result<Reply<CycleTimes>, Error> {
        match self
            .single_record(SzlId::CYCLE_TIMES, 1, CycleTimes::decode)
            .await?
        {
            r @ Reply::Refused(_) if r.unsupported() => {
                self.single_record(SzlId::CYCLE_TIMES, 0, CycleTimes::decode)
                    .await
            }
            other => Ok(other),
        }
    }

    async fn single_record<T>(
        &mut self,
        id: SzlId,
        index: u16,
        decode: fn(&[u8]) -> Result<T, DecodeError>,
    ) -> Result<Reply<T>, Error> {
        self.read_szl(id, index)
            .await?
            .try_map(|l| match l.records.first() {
                Some(r) => decode(r).map_err(Error::Decode),
                None => Err(Error::Decode(DecodeError::BadRecordLength {
                    expected: 1,
                    got: 0,
                })),
            })
    }

    /// Reads variables: merged, split and packed to the negotiated PDU size (see
    /// [`crate::plan`]); one result per input item, in input order. Per-item errors are
    /// device answers; `Err` is a communication failure.
    pub async fn read_vars(
        &mut self,
        items: &[VarAddress],
    ) -> Result<Vec<Result<VarValue, ItemError>>, Error> {
        let plan = ReadPlan::new(items, self.pdu_size);
        let mut answers = Vec::with_capacity(plan.job_count());
        for job in 0..plan.job_count() {
            let job_items = plan.job_items(job);
            let pdu_ref = self.next_pdu_ref();
            let n = job_items.len();
            let answer = self
                .transact(&S7Message::ReadVarJob(ReadVarJob {
                    pdu_ref,
                    items: job_items,
                }))
                .await?;
            answers.push(match answer {
                S7Message::ReadVarAck(ack) if !ack.error.is_ok() => {
                    Err(ItemError::Refused(Refusal::Header {
                        class: ack.error.class,
                        code: ack.error.code,
                    }))
                }
                S7Message::ReadVarAck(ack) if ack.items.len() == n => Ok(ack.items),
                S7Message::ReadVarAck(ack) => {
                    return Err(Error::UnexpectedResponse {
                        request: "read-var",
                        got: format!("{} items for {n} requested", ack.items.len()),
                    });
                }
                S7Message::Other(p) if !p.error.is_ok() => {
                    Err(ItemError::Refused(Refusal::Header {
                        class: p.error.class,
                        code: p.error.code,
                    }))
                }
                other => {
                    return Err(Error::UnexpectedResponse {
                        request: "read-var",
                        got: describe(&other),
                    });
                }
            });
        }
        Ok(plan.assemble(&answers))
    }
}
