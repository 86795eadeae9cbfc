//! A thin, read-only async Modbus client over tokio-modbus.
//!
//! Two kinds of failure are kept apart (see `STYLE.md` §4):
//!
//! * the device answered with a Modbus exception: [`Reply::Exception`] (or
//!   [`PointError::Exception`] per point). The connection is fine and stays usable;
//! * we could not talk to it (connect failure, timeout, reset, malformed or mismatched
//!   frame): [`Error`].
//!
//! **After any `Err(Error)` drop the [`Client`] and connect again.** A request that timed out
//! may still be answered later, and the stream may hold half a frame; a stream in that state
//! is never reused.
//!
//! Every request is wrapped in [`tokio::time::timeout`] with the client's timeout
//! ([`Error::ResponseTimeout`]); connecting is wrapped too ([`Error::ConnectTimeout`]).
//! The client only reads (function codes 0x01–0x04): plcdiag never writes to a PLC.
//!
//! The mapping of tokio-modbus's nested `Result<Result<Response, ExceptionCode>, Error>` lives
//! in one place, the private `Client::call`.

use std::fmt::Debug;
use std::io;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_modbus::client::{Client as _, Context};
use tokio_modbus::{Request, Response, Slave};

pub use crate::exception::ExceptionCode;
use crate::plan::ReadRequest;
use crate::point::Point;
use crate::value::{ParseNameError, Table, Value, ValueError};

/// The data of a successful read response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawData {
    /// Bits of a coil or discrete input read (FC01/FC02), exactly `count` of them.
    Bits(Vec<bool>),
    /// Registers of a holding or input register read (FC03/FC04), exactly `count` of them.
    Registers(Vec<u16>),
}

/// A device's answer: data, or a Modbus exception (spec §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<T> {
    /// The device answered with data.
    Ok(T),
    /// The device answered with an exception response.
    Exception(ExceptionCode),
}

/// A malformed or mismatched response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The response's header (transaction id, unit id) does not match the request.
    #[error("response header does not match the request: {0}")]
    HeaderMismatch(String),
    /// The response's function code does not match the request's.
    #[error("response function code does not match request function code 0x{request:02X}")]
    FunctionCodeMismatch {
        /// The request's function code.
        request: u8,
    },
    /// The response holds another kind of data than the request asked for.
    #[error("unexpected response to function code 0x{request:02X}: {response}")]
    UnexpectedResponse {
        /// The request's function code.
        request: u8,
        /// What came back (debug form).
        response: String,
    },
    /// The response holds fewer items than requested (spec §6.1–§6.4: the byte count must
    /// cover the requested quantity), or, for registers, a different number.
    #[error("response to a read of {expected} {table} item(s) holds {got}")]
    WrongQuantity {
        /// The table read.
        table: Table,
        /// Items requested.
        expected: u16,
        /// Items received.
        got: usize,
    },
}

/// A communication failure. After any of these drop the [`Client`] and reconnect.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The TCP connect did not finish in time.
    #[error("connect timed out after {0:?}")]
    ConnectTimeout(Duration),
    /// The TCP connect failed (refused, unreachable, ...).
    #[error("connect failed: {0}")]
    Connect(#[source] io::Error),
    /// No response arrived within the timeout.
    #[error("no response within {0:?}")]
    ResponseTimeout(Duration),
    /// Reading or writing the transport failed, or the peer closed it.
    #[error("transport error: {0}")]
    Io(#[source] io::Error),
    /// The response was malformed or did not match the request.
    #[error("protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// The serial port could not be opened or configured.
    #[error("serial port: {0}")]
    Serial(String),
}

/// A Modbus TCP device: socket address and unit identifier (Modbus Messaging on TCP/IP
/// Implementation Guide V1.0b, §3.1.3: the unit identifier addresses a device behind a
/// gateway; 0xFF or 0 for a device addressed by IP alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpTarget {
    /// The device's address.
    pub addr: SocketAddr,
    /// The unit identifier.
    pub unit: u8,
}

/// Serial parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Parity {
    /// No parity bit.
    #[default]
    None,
    /// Even parity (the Modbus serial line default, Modbus over Serial Line V1.02 §2.5.1).
    Even,
    /// Odd parity.
    Odd,
}

impl FromStr for Parity {
    type Err = ParseNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "n" => Ok(Parity::None),
            "even" | "e" => Ok(Parity::Even),
            "odd" | "o" => Ok(Parity::Odd),
            _ => Err(ParseNameError {
                kind: "parity",
                input: s.to_owned(),
                expected: "none, even, odd",
            }),
        }
    }
}

/// Serial line settings for Modbus RTU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SerialSettings {
    /// Device path, e.g. `/dev/ttyUSB0`.
    pub path: String,
    /// Baud rate.
    pub baud_rate: u32,
    /// Parity.
    pub parity: Parity,
    /// Data bits, 5..=8 (Modbus RTU uses 8).
    pub data_bits: u8,
    /// Stop bits, 1 or 2.
    pub stop_bits: u8,
}

impl Default for SerialSettings {
    /// 9600 baud, 8 data bits, no parity, 1 stop bit ("8N1") on an empty path.
    fn default() -> Self {
        SerialSettings {
            path: String::new(),
            baud_rate: 9600,
            parity: Parity::None,
            data_bits: 8,
            stop_bits: 1,
        }
    }
}

/// Why one point has no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PointError {
    /// The device answered the point's read with an exception.
    #[error("device answered with exception {0}")]
    Exception(ExceptionCode),
    /// The response could not be decoded into the point's value.
    #[error(transparent)]
    Value(#[from] ValueError),
}

/// A connection to one Modbus device (TCP or RTU). See the module docs.
#[derive(Debug)]
pub struct Client {
    context: Context,
    timeout: Duration,
}

impl Client {
    /// Connects to a Modbus TCP device, failing with [`Error::ConnectTimeout`] after
    /// `timeout`. The same `timeout` applies to each later request.
    pub async fn connect_tcp(
        addr: SocketAddr,
        unit: u8,
        timeout: Duration,
    ) -> Result<Client, Error> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| Error::ConnectTimeout(timeout))?
            .map_err(Error::Connect)?;
        // Small request/response frames: do not wait for Nagle.
        stream.set_nodelay(true).map_err(Error::Connect)?;
        Ok(Client::attach_tcp(stream, unit, timeout))
    }

    /// Connects to `target`; see [`Client::connect_tcp`].
    pub async fn connect(target: &TcpTarget, timeout: Duration) -> Result<Client, Error> {
        Client::connect_tcp(target.addr, target.unit, timeout).await
    }

    /// Opens a serial port for Modbus RTU and talks to device `unit` on it.
    pub fn open_rtu(
        settings: &SerialSettings,
        unit: u8,
        timeout: Duration,
    ) -> Result<Client, Error> {
        let path = &settings.path;
        let data_bits = match settings.data_bits {
            5 => tokio_serial::DataBits::Five,
            6 => tokio_serial::DataBits::Six,
            7 => tokio_serial::DataBits::Seven,
            8 => tokio_serial::DataBits::Eight,
            other => {
                return Err(Error::Serial(format!(
                    "{path}: data bits must be 5, 6, 7 or 8, not {other}"
                )));
            }
        };
        let stop_bits = match settings.stop_bits {
            1 => tokio_serial::StopBits::One,
            2 => tokio_serial::StopBits::Two,
            other => {
                return Err(Error::Serial(format!(
                    "{path}: stop bits must be 1 or 2, not {other}"
                )));
            }
        };
        let parity = match settings.parity {
            Parity::None => tokio_serial::Parity::None,
            Parity::Even => tokio_serial::Parity::Even,
            Parity::Odd => tokio_serial::Parity::Odd,
        };
        let builder = tokio_serial::new(path.as_str(), settings.baud_rate)
            .data_bits(data_bits)
            .stop_bits(stop_bits)
            .parity(parity)
            .timeout(timeout);
        let port = tokio_serial::SerialStream::open(&builder)
            .map_err(|e| Error::Serial(format!("{path}: cannot open: {e}")))?;
        Ok(Client::attach_rtu(port, unit, timeout))
    }

    /// Speaks Modbus RTU over any byte stream (a serial port, or a pty pair in tests).
    pub fn attach_rtu<T>(transport: T, unit: u8, timeout: Duration) -> Client
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + Debug + 'static,
    {
        Client {
            context: tokio_modbus::client::rtu::attach_slave(transport, Slave(unit)),
            timeout,
        }
    }

    /// Speaks Modbus TCP (MBAP framing) over any byte stream.
    pub fn attach_tcp<T>(transport: T, unit: u8, timeout: Duration) -> Client
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + Debug + 'static,
    {
        Client {
            context: tokio_modbus::client::tcp::attach_slave(transport, Slave(unit)),
            timeout,
        }
    }

    /// The timeout applied to each request.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Reads one planned range with the function code for its table: 0x01 Read Coils, 0x02
    /// Read Discrete Inputs, 0x03 Read Holding Registers or 0x04 Read Input Registers (spec
    /// §6.1–§6.4).
    ///
    /// The returned data holds exactly `req.count` items; a response with fewer (or, for
    /// registers, more) is an [`Error::Protocol`].
    pub async fn read(&mut self, req: &ReadRequest) -> Result<Reply<RawData>, Error> {
        let (start, count) = (req.start, req.count);
        let request = match req.table {
            Table::Coil => Request::ReadCoils(start, count),
            Table::DiscreteInput => Request::ReadDiscreteInputs(start, count),
            Table::HoldingRegister => Request::ReadHoldingRegisters(start, count),
            Table::InputRegister => Request::ReadInputRegisters(start, count),
        };
        let response = match self.call(request).await? {
            Reply::Ok(response) => response,
            Reply::Exception(code) => return Ok(Reply::Exception(code)),
        };
        let wrong_quantity = |got: usize| ProtocolError::WrongQuantity {
            table: req.table,
            expected: count,
            got,
        };
        let data = match (req.table, response) {
            (Table::Coil, Response::ReadCoils(mut bits))
            | (Table::DiscreteInput, Response::ReadDiscreteInputs(mut bits)) => {
                // Bits come padded to whole bytes (spec §6.1: "the remaining bits in the
                // final data byte will be padded with zeros").
                if bits.len() < usize::from(count) {
                    return Err(wrong_quantity(bits.len()).into());
                }
                bits.truncate(usize::from(count));
                RawData::Bits(bits)
            }
            (Table::HoldingRegister, Response::ReadHoldingRegisters(regs))
            | (Table::InputRegister, Response::ReadInputRegisters(regs)) => {
                if regs.len() != usize::from(count) {
                    return Err(wrong_quantity(regs.len()).into());
                }
                RawData::Registers(regs)
            }
            (table, other) => {
                return Err(ProtocolError::UnexpectedResponse {
                    request: table.read_function_code(),
                    response: format!("{other:?}"),
                }
                .into());
            }
        };
        Ok(Reply::Ok(data))
    }

    /// Runs `requests` in order and decodes every planned point.
    ///
    /// A request answered with an exception gives each of its points
    /// [`PointError::Exception`]; the other requests still run. A communication [`Error`]
    /// stops at once and is returned: drop the client then.
    pub async fn read_points(
        &mut self,
        requests: &[ReadRequest],
        points: &[Point],
    ) -> Result<Vec<(usize, Result<Value, PointError>)>, Error> {
        let mut values = Vec::with_capacity(requests.iter().map(|r| r.items.len()).sum());
        for request in requests {
            match self.read(request).await? {
                Reply::Ok(data) => values.extend(
                    request
                        .decode(&data, points)
                        .into_iter()
                        .map(|(index, result)| (index, result.map_err(PointError::Value))),
                ),
                Reply::Exception(code) => values.extend(
                    request
                        .items
                        .iter()
                        .map(|item| (item.point, Err(PointError::Exception(code)))),
                ),
            }
        }
        Ok(values)
    }

    /// The one place where tokio-modbus's nested result and the timeout are mapped.
    async fn call(&mut self, request: Request<'_>) -> Result<Reply<Response>, Error> {
        let function = request.function_code().value();
        let result = tokio::time::timeout(self.timeout, self.context.call(request))
            .await
            .map_err(|_| Error::ResponseTimeout(self.timeout))?;
        match result {
            Ok(Ok(response)) => Ok(Reply::Ok(response)),
            Ok(Err(code)) => Ok(Reply::Exception(code.into())),
            Err(tokio_modbus::Error::Transport(e)) => Err(Error::Io(e)),
            Err(tokio_modbus::Error::Protocol(e)) => Err(Error::Protocol(match e {
                tokio_modbus::ProtocolError::HeaderMismatch { message, .. } => {
                    ProtocolError::HeaderMismatch(message)
                }
                tokio_modbus::ProtocolError::FunctionCodeMismatch { .. } => {
                    ProtocolError::FunctionCodeMismatch { request: function }
                }
            })),
        }
    }
}
