//! A Modbus TCP and RTU server (slave) simulator with fault injection, for tests,
//! benchmarks and `plcdiag demo`.
//!
//! * All four tables have 65536 items, stored sparsely. **Anything never set reads as 0
//!   (registers) or `false` (bits).**
//! * Reads (FC01–FC04) are checked as the specification says (Modbus Application Protocol
//!   Specification V1.1b3 §6.1–§6.4): a quantity of 0 or above 2000 bits / 125 registers is
//!   answered with 0x03 Illegal Data Value, a range past address 65535 with 0x02 Illegal
//!   Data Address.
//! * The simulator is read-only, like plcdiag: every other function code, writes included,
//!   is answered with 0x01 Illegal Function. Tests change values through [`SimHandle`].
//! * The state lives behind a `std::sync::Mutex` that is never held across an `.await`, so a
//!   test can change values and faults while clients are connected.
//! * TCP answers every unit identifier; RTU answers only its own unit and never a broadcast
//!   (unit 0).
//!
//! The TCP side runs tokio-modbus's server. Each accepted socket is bridged to the
//! tokio-modbus connection task through an in-memory pipe owned by a task of ours, so
//! [`SimHandle::stop`] and [`Fault::DropConnection`] can close a connection at any moment.
//! The RTU side frames requests itself (tokio-modbus's RTU server only takes a real
//! `SerialStream`), which also means the client's RTU codec is tested against an
//! independent implementation.

mod memory;
mod rtu;
mod tcp;

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;

use crate::exception::ExceptionCode;
use crate::value::{Encoding, Table, Value};

pub(crate) use memory::{Action, Memory, SimRequest};

/// Entry point: `Sim::builder()`.
#[derive(Debug)]
pub enum Sim {}

impl Sim {
    /// A builder for a simulator with empty tables and no fault.
    pub fn builder() -> SimBuilder {
        SimBuilder::default()
    }
}

/// A fault the simulator injects into its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Answer normally.
    #[default]
    None,
    /// Answer every request with this exception code.
    Exception(ExceptionCode),
    /// Answer reads of `table` that touch any address in `start..=end` (inclusive) with
    /// `code`; other requests are answered normally.
    ExceptionAt {
        /// The table.
        table: Table,
        /// First address of the refused range.
        start: u16,
        /// Last address of the refused range (inclusive).
        end: u16,
        /// The exception to answer with.
        code: ExceptionCode,
    },
    /// Read requests but never answer. Other connections are not blocked.
    NoAnswer,
    /// Answer after this delay.
    Slow(Duration),
    /// While set, every request closes its TCP connection without an answer (the client
    /// sees EOF). On RTU, which has no connection, requests are not answered.
    DropConnection,
}

/// Builds a simulator: initial values and fault, then `spawn_tcp` or `spawn_rtu`.
#[derive(Debug, Default)]
pub struct SimBuilder {
    memory: Memory,
    fault: Fault,
}

impl SimBuilder {
    /// Sets holding registers from `offset` (values past 65535 are dropped).
    pub fn holding(mut self, offset: u16, values: &[u16]) -> Self {
        self.memory
            .set_registers(Table::HoldingRegister, offset, values);
        self
    }

    /// Sets input registers from `offset`.
    pub fn input(mut self, offset: u16, values: &[u16]) -> Self {
        self.memory
            .set_registers(Table::InputRegister, offset, values);
        self
    }

    /// Sets coils from `offset`.
    pub fn coils(mut self, offset: u16, values: &[bool]) -> Self {
        self.memory.set_bits(Table::Coil, offset, values);
        self
    }

    /// Sets discrete inputs from `offset`.
    pub fn discrete(mut self, offset: u16, values: &[bool]) -> Self {
        self.memory.set_bits(Table::DiscreteInput, offset, values);
        self
    }

    /// Sets a typed value; see [`SimHandle::set_value`].
    pub fn value(mut self, table: Table, offset: u16, encoding: &Encoding, value: Value) -> Self {
        set_value(&mut self.memory, table, offset, encoding, value);
        self
    }

    /// Sets the initial fault.
    pub fn fault(mut self, fault: Fault) -> Self {
        self.fault = fault;
        self
    }

    /// Binds a Modbus TCP server on `addr` (port 0 picks a free port), then spawns it.
    /// [`SimHandle::addr`] is the bound address.
    pub async fn spawn_tcp(self, addr: SocketAddr) -> io::Result<SimHandle> {
        let handle = self.into_handle();
        let listener = tcp::bind(addr)?;
        let bound = listener.local_addr()?;
        let accept = tokio::spawn(tcp::serve(listener, Arc::clone(&handle.shared)));
        {
            let mut control = handle.shared.control();
            control.addr = Some(bound);
            control.server = Some(accept);
        }
        Ok(handle)
    }

    /// Serves Modbus RTU as device `unit` over `transport` (a serial port or one end of a
    /// pty pair). [`SimHandle::addr`] is `None`. Must be called inside a tokio runtime.
    pub fn spawn_rtu<T>(self, transport: T, unit: u8) -> SimHandle
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let handle = self.into_handle();
        let task = tokio::spawn(rtu::serve(transport, unit, Arc::clone(&handle.shared)));
        handle.shared.control().server = Some(task);
        handle
    }

    fn into_handle(self) -> SimHandle {
        SimHandle {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    memory: self.memory,
                    fault: self.fault,
                }),
                requests: AtomicU64::new(0),
                connections: AtomicUsize::new(0),
                control: Mutex::new(Control::default()),
            }),
        }
    }
}

/// Controls a running simulator. Cheap to clone; all clones control the same simulator.
/// Dropping handles does not stop the simulator: call [`SimHandle::stop`].
#[derive(Debug, Clone)]
pub struct SimHandle {
    shared: Arc<Shared>,
}

impl SimHandle {
    /// The bound TCP address; `None` for RTU.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.shared.control().addr
    }

    /// Sets holding registers from `offset` (values past 65535 are dropped).
    pub fn set_holding(&self, offset: u16, values: &[u16]) {
        self.shared
            .state()
            .memory
            .set_registers(Table::HoldingRegister, offset, values);
    }

    /// Sets input registers from `offset`.
    pub fn set_input(&self, offset: u16, values: &[u16]) {
        self.shared
            .state()
            .memory
            .set_registers(Table::InputRegister, offset, values);
    }

    /// Sets coils from `offset`.
    pub fn set_coils(&self, offset: u16, values: &[bool]) {
        self.shared
            .state()
            .memory
            .set_bits(Table::Coil, offset, values);
    }

    /// Sets discrete inputs from `offset`.
    pub fn set_discrete(&self, offset: u16, values: &[bool]) {
        self.shared
            .state()
            .memory
            .set_bits(Table::DiscreteInput, offset, values);
    }

    /// Sets a typed value at `offset` of `table`, laid out with `encoding`'s byte and word
    /// order. The value's own type decides the width (an `F32` takes two registers whatever
    /// `encoding.data_type` says). In a bit table the bit is set to `value.as_f64() != 0`; a
    /// `Bool` in a register table is the register 1 or 0.
    pub fn set_value(&self, table: Table, offset: u16, encoding: &Encoding, value: Value) {
        set_value(
            &mut self.shared.state().memory,
            table,
            offset,
            encoding,
            value,
        );
    }

    /// Replaces the current fault.
    pub fn set_fault(&self, fault: Fault) {
        self.shared.state().fault = fault;
    }

    /// Requests received so far (on all connections), whether answered or not.
    pub fn requests_served(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// TCP connections currently open.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Stops accepting and closes every open connection (peers see EOF); for RTU, stops
    /// serving and drops the transport. Returns when all of it is closed.
    pub async fn stop(&self) {
        let (server, connections) = {
            let mut control = self.shared.control();
            let connections: Vec<JoinHandle<()>> =
                control.connections.drain().map(|(_, task)| task).collect();
            (control.server.take(), connections)
        };
        for task in server.into_iter().chain(connections) {
            task.abort();
            // The task was aborted: the only error is `JoinError::Cancelled`.
            let _ = task.await;
        }
    }

    /// Rebinds the same TCP address after [`SimHandle::stop`] and serves again, keeping
    /// values and fault. Does nothing if the server is running. RTU cannot restart (the
    /// transport was dropped): that gives [`io::ErrorKind::Unsupported`].
    pub async fn restart(&self) -> io::Result<()> {
        let addr = {
            let control = self.shared.control();
            if control.server.is_some() {
                return Ok(());
            }
            control.addr.ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::Unsupported,
                    "an RTU simulator cannot restart: its transport was dropped by stop()",
                )
            })?
        };
        let listener = tcp::bind(addr)?;
        let accept = tokio::spawn(tcp::serve(listener, Arc::clone(&self.shared)));
        self.shared.control().server = Some(accept);
        Ok(())
    }
}

fn set_value(memory: &mut Memory, table: Table, offset: u16, encoding: &Encoding, value: Value) {
    if table.is_bits() {
        memory.set_bits(table, offset, &[value.as_f64() != 0.0]);
        return;
    }
    let encoding = Encoding {
        data_type: value.data_type(),
        ..*encoding
    };
    // The encoding's type is the value's own, so encoding cannot fail.
    if let Ok(registers) = encoding.encode_registers(value) {
        memory.set_registers(table, offset, &registers);
    }
}

/// State shared by the handle and the server tasks.
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    requests: AtomicU64,
    connections: AtomicUsize,
    control: Mutex<Control>,
}

#[derive(Debug)]
struct State {
    memory: Memory,
    fault: Fault,
}

/// The running tasks.
#[derive(Debug, Default)]
struct Control {
    /// Bound TCP address, kept across stop for restart.
    addr: Option<SocketAddr>,
    /// The TCP accept task or the RTU task.
    server: Option<JoinHandle<()>>,
    /// Open TCP connections by id.
    connections: HashMap<u64, JoinHandle<()>>,
    next_connection: u64,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain data behind: keep serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts the request and decides what to do with it under the current fault.
    fn handle(&self, request: SimRequest) -> Action {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let state = self.state();
        state.memory.handle(request, &state.fault)
    }
}
