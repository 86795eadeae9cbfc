//! The transports: one task per TCP connection (3E/4E framing with the crate's
//! [`FrameCodec`]) and one UDP task (one datagram = one frame). Both answer through
//! [`answer`], which decodes the envelope with [`RequestHead`] and encodes the reply with
//! [`Response`]; the request data itself is the simulator's own business (`request`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinSet;
use tokio_util::codec::Framed;

use super::request::end;
use super::{McFault, Shared};
use crate::codec::FrameCodec;
use crate::frame::{
    Direction, EndCode, FrameKind, Header, RequestHead, Response, Route, classify_subheader,
    frame_length,
};

/// Largest UDP datagram read (the frame limit is far below).
const UDP_BUFFER: usize = 65_536;

/// Accepts connections until aborted; one task per connection.
pub(super) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tracing::debug!(%peer, "mc sim: connection accepted");
                let task = tokio::spawn(serve_tcp(stream, Arc::clone(&shared)));
                let mut control = shared.control();
                control.connections.retain(|_, task| !task.is_finished());
                let id = control.next_connection;
                control.next_connection = id.wrapping_add(1);
                control.connections.insert(id, task);
            }
            Err(error) => {
                tracing::debug!(%error, "mc sim: accept failed");
                tokio::task::yield_now().await;
            }
        }
    }
}

/// Serves one TCP connection until the peer closes, the stream is not MC framing, or a fault
/// closes it. Requests are answered in order, one at a time.
async fn serve_tcp(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let mut framed = Framed::new(stream, FrameCodec::new(Direction::Request));
    while let Some(frame) = framed.next().await {
        let Ok(frame) = frame else {
            tracing::debug!("mc sim: not an MC request stream, closing the connection");
            break;
        };
        shared.requests.fetch_add(1, Ordering::Relaxed);
        let fault = shared.state().fault;
        match fault {
            McFault::NoAnswer => continue,
            McFault::DropConnection => break,
            _ => {}
        }
        let Some(reply) = answer(&frame, &shared, fault) else {
            break;
        };
        if let McFault::Slow(delay) = fault {
            tokio::time::sleep(delay).await;
        }
        if fault == McFault::Truncated {
            let cut = (reply.len() / 2).max(1);
            let _ = framed.get_mut().write_all(&reply[..cut]).await;
            break;
        }
        if framed.send(reply).await.is_err() {
            break;
        }
    }
}

/// Serves UDP datagrams until aborted. A datagram shorter than its L is not answered (a real
/// CPU waits for the rest, §1.1); one longer than its L gets `C061`. Delayed answers run in
/// their own tasks so that one slow answer does not hold up the others; aborting this task
/// drops them.
pub(super) async fn serve_udp(socket: UdpSocket, shared: Arc<Shared>) {
    let socket = Arc::new(socket);
    let mut delayed = JoinSet::new();
    let mut buf = vec![0u8; UDP_BUFFER];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(error) => {
                // e.g. ICMP port unreachable from an earlier answer's peer.
                tracing::debug!(%error, "mc sim: UDP receive failed");
                tokio::task::yield_now().await;
                continue;
            }
        };
        while delayed.try_join_next().is_some() {}
        let datagram = &buf[..len];
        shared.requests.fetch_add(1, Ordering::Relaxed);
        let fault = shared.state().fault;
        if matches!(fault, McFault::NoAnswer | McFault::DropConnection) {
            continue;
        }
        let reply = match frame_length(datagram, Direction::Request) {
            Ok(Some(n)) if n == len => answer(datagram, &shared, fault),
            Ok(Some(n)) if n < len => length_mismatch(&datagram[..n]),
            _ => None,
        };
        let Some(mut reply) = reply else {
            tracing::debug!(%peer, len, "mc sim: not an MC request datagram, ignored");
            continue;
        };
        if fault == McFault::Truncated {
            reply.truncate((reply.len() / 2).max(1));
        }
        if let McFault::Slow(delay) = fault {
            let socket = Arc::clone(&socket);
            delayed.spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = socket.send_to(&reply, peer).await;
            });
            continue;
        }
        if let Err(error) = socket.send_to(&reply, peer).await {
            tracing::debug!(%peer, %error, "mc sim: UDP send failed");
        }
    }
}

/// The reply to one whole request frame, or `None` if not even the envelope decodes.
fn answer(frame: &[u8], shared: &Shared, fault: McFault) -> Option<Vec<u8>> {
    let Ok(head) = RequestHead::decode(frame) else {
        // L counts fewer bytes than timer + command + subcommand (§1.1: L = 0 → C061).
        let header = header_of(frame)?;
        return Some(Response::error(header, EndCode::from_code(end::LENGTH), 0, 0).encode());
    };
    let result = match fault {
        McFault::EndCode(code) if code != 0 => Err(code),
        _ => shared
            .state()
            .execute(head.command, head.subcommand, head.data),
    };
    let response = match result {
        Ok(data) => Response::ok(head.header, data),
        Err(code) => Response::error(
            head.header,
            EndCode::from_code(code),
            head.command,
            head.subcommand,
        ),
    };
    Some(response.encode())
}

/// `C061` for a frame followed by more bytes than its L counts (UDP).
fn length_mismatch(frame: &[u8]) -> Option<Vec<u8>> {
    let (header, command, subcommand) = match RequestHead::decode(frame) {
        Ok(head) => (head.header, head.command, head.subcommand),
        Err(_) => (header_of(frame)?, 0, 0),
    };
    Some(Response::error(header, EndCode::from_code(end::LENGTH), command, subcommand).encode())
}

/// The envelope of a request frame whose body is too short for [`RequestHead`].
fn header_of(frame: &[u8]) -> Option<Header> {
    let sub = u16::from_be_bytes([*frame.first()?, *frame.get(1)?]);
    let (kind, _) = classify_subheader(sub).ok()?;
    let (serial, route_at) = match kind {
        FrameKind::E3 => (0, 2),
        FrameKind::E4 => (u16::from_le_bytes([*frame.get(2)?, *frame.get(3)?]), 6),
    };
    let route = Route::decode(frame.get(route_at..)?).ok()?;
    Some(Header {
        frame: kind,
        serial,
        route,
    })
}
