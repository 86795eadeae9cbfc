//! An S7-300/400-like CPU on ISO-on-TCP, for tests, benchmarks and `plcdiag demo`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use plcdiag_s7::sim::{S7Sim, SimMode};
//! let sim = S7Sim::builder()
//!     .cpu_mode(SimMode::Run)
//!     .pdu_size(240)
//!     .spawn_tcp("127.0.0.1:0".parse().unwrap())
//!     .await?;
//! sim.set_mode(SimMode::Stop); // writes 0x4304 to the diagnostic buffer, 0x0424 shows STOP
//! # Ok(()) }
//! ```
//!
//! What it answers (reference s7.md; section numbers below are that document's):
//! * COTP CR (parameters in any order) → CC echoing the parameters (§1.2); DR closes.
//! * Setup communication → min(requested PDU, [`S7SimBuilder::pdu_size`]), AmQ 1/1 (§1.4).
//! * Userdata read SZL (§2): 0x0000, 0x0011/0x0111, 0x001C/0x011C, 0x0424, 0x00A0 (all
//!   entries, newest first — a real S7-300 caps it at 10, the simulator does not, so that
//!   fragmentation can be tested), 0x01A0 index N, 0x0FA0 (header: N_DR = capacity),
//!   0x0C91 (by logical address), 0x0D91 (index `rr00` = rack rr), 0x0091 only for
//!   [`SimFamily::S7400`] (S7-400 only, §3.6), 0x0132 index 4 and 8, 0x0222 index 0/1.
//!   Answers longer than `PDU − 26` bytes are fragmented (§2.4); anything else is refused
//!   with parameter error 0xD402 and data `0A 00 00 00`, as a real CPU does (§8.1).
//! * Read-var (function 0x04) on inputs, outputs, markers and DBs, with per-item return codes
//!   (0xFF, 0x0A for a missing DB, 0x05 out of range) and the bit/byte length rules of §6.8.
//! * Every other job (write var, PLC control, up/download …) is refused with Ack_Data header
//!   error 0x81/0x04; other userdata functions with parameter error 0x8104. The simulator is
//!   read-only, like plcdiag.
//!
//! Design: the envelope (TPKT, COTP, S7 header) uses the crate's `frame` and `codec`; the
//! SZL records, the userdata parameters and the fragmentation are encoded in `sim` from the
//! reference layouts, so that the client's decoders are checked by an independent encoder.
//! The simulator never uses the client. State lives behind a `std::sync::Mutex` never held
//! across an `.await`; one task per connection, which [`S7SimHandle::stop`] aborts.
//! Timestamps are UTC (the simulator has no time zone).

mod conn;
mod memory;
mod state;
mod szl;

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinHandle;

use state::CpuState;

/// Entry point: `S7Sim::builder()`.
#[derive(Debug)]
pub enum S7Sim {}

impl S7Sim {
    /// A builder for a CPU in RUN with PDU 240, an empty diagnostic buffer of 100 entries,
    /// a CPU 315-2 PN/DP identity and no fault.
    pub fn builder() -> S7SimBuilder {
        S7SimBuilder::default()
    }
}

/// Operating mode of the simulated CPU (SZL 0x0424 codes 8, 4, 5; §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimMode {
    /// RUN (mode code 8).
    Run,
    /// STOP (mode code 4, "STOP (internal)").
    Stop,
    /// STARTUP (mode code 5, complete restart).
    Startup,
}

/// Which CPU family the simulator imitates where the families differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SimFamily {
    /// S7-300: SZL 0x0091 is not available (refused with 0xD402, as the real CPU 315 does).
    #[default]
    S7300,
    /// S7-400: SZL 0x0091 (all plugged modules) is answered.
    S7400,
}

/// A fault the simulator injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum S7Fault {
    /// Answer normally.
    #[default]
    None,
    /// Read every frame (the connection request too) and never answer; other connections
    /// are not blocked.
    NoAnswer,
    /// Answer after this delay.
    Slow(Duration),
    /// Send the first half of the answer, then close the connection.
    Truncated,
    /// Close the connection on every frame, without an answer.
    DropConnection,
    /// Answer every job except setup communication with this Ack_Data header error
    /// (userdata has no header error field and is answered normally).
    ErrorClass {
        /// Error class (§7.1), e.g. 0x85.
        class: u8,
        /// Error code.
        code: u8,
    },
    /// Refuse every SZL request with this parameter error (e.g. 0xD402) and data
    /// `0A 00 00 00`.
    SzlError(u16),
}

/// Builds a simulator: initial state and fault, then [`S7SimBuilder::spawn_tcp`].
#[derive(Debug)]
pub struct S7SimBuilder {
    cpu: CpuState,
    mode: SimMode,
    entries: Vec<[u8; 20]>,
    capacity: usize,
    fault: S7Fault,
}

impl Default for S7SimBuilder {
    fn default() -> Self {
        S7SimBuilder {
            cpu: CpuState::default(),
            mode: SimMode::Run,
            entries: Vec::new(),
            capacity: 100,
            fault: S7Fault::None,
        }
    }
}

impl S7SimBuilder {
    /// The initial mode (no transition events are written for it).
    pub fn cpu_mode(mut self, mode: SimMode) -> Self {
        self.mode = mode;
        self
    }

    /// The CPU's maximum PDU (240 S7-300, 480 S7-400, 960 S7-1500; §6.1). Setup
    /// communication answers min(requested, this). Values below 240 are raised to 240.
    pub fn pdu_size(mut self, max: u16) -> Self {
        self.cpu.pdu_max = max.max(240);
        self
    }

    /// Initial diagnostic-buffer records, oldest first (added after earlier calls' ones).
    pub fn diag_buffer(mut self, entries: impl IntoIterator<Item = [u8; 20]>) -> Self {
        self.entries.extend(entries);
        self
    }

    /// Ring size in entries (default 100; at least 1; real CPUs hold 10..3200). When more
    /// entries are added, the oldest fall out.
    pub fn buffer_capacity(mut self, n: usize) -> Self {
        self.capacity = n;
        self
    }

    /// Identity: order number (MLFB, SZL 0x0011 index 1 and 6), firmware "V3.2.6" (0x0011
    /// index 7), PLC/module name (0x001C index 1 and 2) and serial number (0x001C index 5).
    pub fn identity(
        mut self,
        order_number: &str,
        firmware: &str,
        name: &str,
        serial: &str,
    ) -> Self {
        let ident = &mut self.cpu.identity;
        ident.order_number = order_number.to_owned();
        ident.firmware = firmware.to_owned();
        ident.name = name.to_owned();
        ident.serial = serial.to_owned();
        self
    }

    /// Module type name (SZL 0x001C index 7), default "CPU 315-2 PN/DP".
    pub fn module_type_name(mut self, name: &str) -> Self {
        self.cpu.identity.module_type = name.to_owned();
        self
    }

    /// Cycle times in ms for SZL 0x0222: last, minimum, maximum (default 1, 0, 1).
    pub fn cycle_times(mut self, cur_ms: u16, min_ms: u16, max_ms: u16) -> Self {
        self.cpu.cycle = (cur_ms, min_ms, max_ms);
        self
    }

    /// Process-image inputs from byte 0.
    pub fn inputs(mut self, bytes: &[u8]) -> Self {
        self.cpu.memory.inputs = bytes.to_vec();
        self
    }

    /// Process-image outputs from byte 0.
    pub fn outputs(mut self, bytes: &[u8]) -> Self {
        self.cpu.memory.outputs = bytes.to_vec();
        self
    }

    /// Markers (M) from byte 0.
    pub fn markers(mut self, bytes: &[u8]) -> Self {
        self.cpu.memory.markers = bytes.to_vec();
        self
    }

    /// Data block `number` with these contents; reading a DB never set answers 0x0A.
    pub fn db(mut self, number: u16, bytes: &[u8]) -> Self {
        self.cpu.memory.dbs.insert(number, bytes.to_vec());
        self
    }

    /// A module at `rack`/`slot` with its first logical address (for 0x0D91/0x0C91). The CPU
    /// itself is at rack 0, slot 2 (logical address 0x7FFF).
    pub fn module(mut self, rack: u8, slot: u8, logical_address: u16) -> Self {
        self.cpu.add_module(rack, slot, logical_address);
        self
    }

    /// The CPU family (default S7-300).
    pub fn family(mut self, family: SimFamily) -> Self {
        self.cpu.family = family;
        self
    }

    /// The initial fault.
    pub fn fault(mut self, fault: S7Fault) -> Self {
        self.fault = fault;
        self
    }

    /// Binds `addr` (port 0 picks a free port), then spawns the server.
    /// [`S7SimHandle::addr`] is the bound address.
    pub async fn spawn_tcp(self, addr: SocketAddr) -> io::Result<S7SimHandle> {
        let listener = bind(addr)?;
        let bound = listener.local_addr()?;
        let handle = self.into_handle(bound);
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&handle.shared)));
        handle.shared.control().server = Some(accept);
        Ok(handle)
    }

    fn into_handle(self, addr: SocketAddr) -> S7SimHandle {
        let mut cpu = self.cpu;
        cpu.init_mode(self.mode);
        cpu.set_capacity(self.capacity);
        for entry in self.entries {
            cpu.push_diag(entry);
        }
        S7SimHandle {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    cpu,
                    fault: self.fault,
                }),
                requests: AtomicU64::new(0),
                addr,
                control: Mutex::new(Control::default()),
            }),
        }
    }
}

/// Controls a running simulator. Cheap to clone; all clones control the same simulator.
/// Dropping handles does not stop it: call [`S7SimHandle::stop`].
#[derive(Debug, Clone)]
pub struct S7SimHandle {
    shared: Arc<Shared>,
}

impl S7SimHandle {
    /// The bound address (kept across stop/restart).
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Changes the mode as a CPU does: writes the transition's events (to STOP 0x4304;
    /// STOP → RUN 0x4301, 0x1381, 0x4302; see the module docs of `state`) stamped now,
    /// and updates 0x0424 (mode, previous mode, event, time). The same mode writes nothing.
    pub fn set_mode(&self, mode: SimMode) {
        self.shared.state().cpu.set_mode(mode, SystemTime::now());
    }

    /// The current mode.
    pub fn mode(&self) -> SimMode {
        self.shared.state().cpu.mode
    }

    /// Adds a raw 20-byte record as the newest entry.
    pub fn push_diag(&self, entry: [u8; 20]) {
        self.shared.state().cpu.push_diag(entry);
    }

    /// Adds an entry built from its fields (priority 0xFF, DatID 0) stamped now.
    pub fn push_event(&self, event_id: u16, ob: u8, info1: u16, info2: u32) {
        let record = state::event_record(event_id, ob, info1, info2, SystemTime::now());
        self.shared.state().cpu.push_diag(record);
    }

    /// The diagnostic buffer, newest first, as 0x00A0 answers it.
    pub fn diag_entries(&self) -> Vec<[u8; 20]> {
        self.shared.state().cpu.newest(usize::MAX)
    }

    /// Marks a module faulty or OK (added if unknown). A change is reflected in the
    /// 0x0D91/0x0C91/0x0091 records (eastat bit 0) and writes 0x3942 "module error" or
    /// 0x3842 "module OK" (OB 82, priority 26, info1 = logical address, info2 = rack << 8 |
    /// slot), as a diagnostic interrupt does.
    pub fn set_module_fault(&self, rack: u8, slot: u8, faulty: bool) {
        self.shared
            .state()
            .cpu
            .set_module_fault(rack, slot, faulty, SystemTime::now());
    }

    /// Cycle times in ms for SZL 0x0222: last, minimum, maximum.
    pub fn set_cycle_times(&self, cur_ms: u16, min_ms: u16, max_ms: u16) {
        self.shared.state().cpu.cycle = (cur_ms, min_ms, max_ms);
    }

    /// Replaces the current fault.
    pub fn set_fault(&self, fault: S7Fault) {
        self.shared.state().fault = fault;
    }

    /// Frames received so far on all connections (answered or not).
    pub fn requests_served(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Connections currently open.
    pub fn connections(&self) -> usize {
        let mut control = self.shared.control();
        control.connections.retain(|_, task| !task.is_finished());
        control.connections.len()
    }

    /// Stops accepting and closes every open connection (peers see EOF). State is kept.
    pub async fn stop(&self) {
        let tasks: Vec<JoinHandle<()>> = {
            let mut control = self.shared.control();
            let server = control.server.take();
            let connections = control.connections.drain().map(|(_, task)| task);
            server.into_iter().chain(connections).collect()
        };
        for task in tasks {
            task.abort();
            // Aborted: the only error is `JoinError::Cancelled`.
            let _ = task.await;
        }
    }

    /// Rebinds the same address after [`S7SimHandle::stop`] and serves again, keeping the
    /// buffer, mode and fault. Does nothing while running.
    pub async fn restart(&self) -> io::Result<()> {
        if self.shared.control().server.is_some() {
            return Ok(());
        }
        let listener = bind(self.shared.addr)?;
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&self.shared)));
        self.shared.control().server = Some(accept);
        Ok(())
    }
}

/// State shared by the handle and the server tasks.
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    requests: AtomicU64,
    addr: SocketAddr,
    control: Mutex<Control>,
}

#[derive(Debug)]
struct State {
    cpu: CpuState,
    fault: S7Fault,
}

/// The running tasks.
#[derive(Debug, Default)]
struct Control {
    server: Option<JoinHandle<()>>,
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
}

/// Binds with `SO_REUSEADDR`, so that a restart can rebind while closed connections are in
/// TIME_WAIT.
fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Accepts connections until aborted; one task per connection.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tracing::debug!(%peer, "s7 sim: connection accepted");
                let task = tokio::spawn(conn::serve(stream, Arc::clone(&shared)));
                let mut control = shared.control();
                control.connections.retain(|_, task| !task.is_finished());
                let id = control.next_connection;
                control.next_connection = id.wrapping_add(1);
                control.connections.insert(id, task);
            }
            Err(error) => {
                tracing::debug!(%error, "s7 sim: accept failed");
                tokio::task::yield_now().await;
            }
        }
    }
}
