//! The simulator's Modbus TCP side: tokio-modbus's server behind a bridge task per
//! connection.
//!
//! tokio-modbus spawns its connection tasks itself and does not expose them, so each accepted
//! socket is handed to it through an in-memory pipe. The bridge task copies bytes between
//! socket and pipe; it is ours, so it can be aborted ([`super::SimHandle::stop`]) or told to
//! close ([`super::Fault::DropConnection`]). When the bridge ends, the socket and the pipe
//! close, and a request left waiting by `NoAnswer` or `Slow` is released through the
//! `closed` channel, so no task outlives its connection.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::io::DuplexStream;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{Notify, watch};
use tokio_modbus::server::Service;
use tokio_modbus::server::tcp::Server;
use tokio_modbus::{Request, Response};

use super::{Action, Shared, SimRequest};
use crate::client::RawData;
use crate::exception::ExceptionCode;
use crate::value::Table;

/// Bytes buffered in each direction of a connection's pipe; a Modbus TCP ADU is at most
/// 260 bytes (Modbus Messaging on TCP/IP Implementation Guide V1.0b §4.1).
const PIPE_BUFFER: usize = 4096;

/// Binds a listener with `SO_REUSEADDR`, so that a restart can rebind the port while
/// connections closed by `stop` are still in TIME_WAIT.
pub(super) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Accepts connections until aborted.
pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let server = Server::new(listener);
    let on_connected = |stream: TcpStream, peer: SocketAddr| {
        std::future::ready(Ok(Some(open_connection(stream, peer, &shared))))
    };
    let on_process_error = |error: io::Error| {
        tracing::debug!(%error, "modbus sim: connection ended with an error");
    };
    if let Err(error) = server.serve(&on_connected, on_process_error).await {
        tracing::warn!(%error, "modbus sim: accept failed; the TCP simulator stopped accepting");
    }
}

/// Starts the bridge for one accepted socket and returns the service and pipe end for
/// tokio-modbus.
fn open_connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Arc<Shared>,
) -> (ConnectionService, DuplexStream) {
    tracing::debug!(%peer, "modbus sim: connection accepted");
    // Best effort: small frames should not wait for Nagle.
    let _ = stream.set_nodelay(true);
    let (bridge_end, server_end) = tokio::io::duplex(PIPE_BUFFER);
    let kill = Arc::new(Notify::new());
    let (closed_tx, closed_rx) = watch::channel(());
    let service = ConnectionService {
        shared: Arc::clone(shared),
        kill: Arc::clone(&kill),
        closed: closed_rx,
    };
    let mut control = shared.control();
    let id = control.next_connection;
    control.next_connection = id.wrapping_add(1);
    shared.connections.fetch_add(1, Ordering::Relaxed);
    let guard = ConnectionGuard {
        shared: Arc::clone(shared),
        id,
    };
    let task = tokio::spawn(bridge(stream, bridge_end, kill, closed_tx, guard));
    control.connections.insert(id, task);
    (service, server_end)
}

/// Copies bytes between socket and pipe until either side closes or the connection is
/// killed; then everything it owns is dropped, which closes the connection.
async fn bridge(
    stream: TcpStream,
    pipe: DuplexStream,
    kill: Arc<Notify>,
    _closed: watch::Sender<()>,
    _guard: ConnectionGuard,
) {
    let (mut tcp_read, mut tcp_write) = stream.into_split();
    let (mut pipe_read, mut pipe_write) = tokio::io::split(pipe);
    tokio::select! {
        _ = tokio::io::copy(&mut tcp_read, &mut pipe_write) => {}
        _ = tokio::io::copy(&mut pipe_read, &mut tcp_write) => {}
        () = kill.notified() => {
            tracing::debug!("modbus sim: dropping connection (fault)");
        }
    }
}

/// Counts open connections and forgets a connection's task when it ends.
#[derive(Debug)]
struct ConnectionGuard {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.shared.connections.fetch_sub(1, Ordering::Relaxed);
        self.shared.control().connections.remove(&self.id);
    }
}

/// The tokio-modbus service of one connection.
#[derive(Debug)]
struct ConnectionService {
    shared: Arc<Shared>,
    kill: Arc<Notify>,
    closed: watch::Receiver<()>,
}

type ServiceResult = Result<Option<Response>, tokio_modbus::ExceptionCode>;

impl Service for ConnectionService {
    type Request = Request<'static>;
    type Response = Option<Response>;
    type Exception = tokio_modbus::ExceptionCode;
    type Future = Pin<Box<dyn Future<Output = ServiceResult> + Send>>;

    fn call(&self, request: Self::Request) -> Self::Future {
        let read = |table, start, quantity| SimRequest::Read {
            table,
            start,
            quantity,
        };
        let request = match request {
            Request::ReadCoils(start, quantity) => read(Table::Coil, start, quantity),
            Request::ReadDiscreteInputs(start, quantity) => {
                read(Table::DiscreteInput, start, quantity)
            }
            Request::ReadHoldingRegisters(start, quantity) => {
                read(Table::HoldingRegister, start, quantity)
            }
            Request::ReadInputRegisters(start, quantity) => {
                read(Table::InputRegister, start, quantity)
            }
            other => SimRequest::Other {
                function: other.function_code().value(),
            },
        };
        let mut closed = self.closed.clone();
        match self.shared.handle(request) {
            Action::Reply(answer) => Box::pin(std::future::ready(to_response(request, answer))),
            Action::Delayed(delay, answer) => Box::pin(async move {
                tokio::select! {
                    () = tokio::time::sleep(delay) => to_response(request, answer),
                    () = wait_closed(&mut closed) => Ok(None),
                }
            }),
            Action::NoAnswer => Box::pin(async move {
                wait_closed(&mut closed).await;
                Ok(None)
            }),
            Action::Drop => {
                self.kill.notify_one();
                Box::pin(async move {
                    wait_closed(&mut closed).await;
                    Ok(None)
                })
            }
        }
    }
}

/// Returns when the connection's bridge has ended.
async fn wait_closed(closed: &mut watch::Receiver<()>) {
    // Nothing is ever sent: `changed` only returns, with an error, once the sender is dropped.
    while closed.changed().await.is_ok() {}
}

fn to_response(request: SimRequest, answer: Result<RawData, ExceptionCode>) -> ServiceResult {
    match (request, answer) {
        (_, Err(code)) => Err(code.into()),
        (SimRequest::Read { table, .. }, Ok(data)) => Ok(Some(match (table, data) {
            (Table::Coil, RawData::Bits(bits)) => Response::ReadCoils(bits),
            (Table::DiscreteInput, RawData::Bits(bits)) => Response::ReadDiscreteInputs(bits),
            (Table::HoldingRegister, RawData::Registers(regs)) => {
                Response::ReadHoldingRegisters(regs)
            }
            (Table::InputRegister, RawData::Registers(regs)) => Response::ReadInputRegisters(regs),
            _ => return Err(ExceptionCode::ServerDeviceFailure.into()),
        })),
        (SimRequest::Other { .. }, Ok(_)) => Err(ExceptionCode::IllegalFunction.into()),
    }
}
