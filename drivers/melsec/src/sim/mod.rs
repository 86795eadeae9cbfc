//! A MELSEC CPU with CC-Link masters, answering MC protocol / SLMP binary 3E and 4E on TCP
//! and UDP, for tests, benchmarks and `plcdiag demo`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use plcdiag_melsec::sim::{McSim, SimStation};
//! let sim = McSim::builder()
//!     .cclink(0, 0, [SimStation::remote_io(1, "AJ65SBTB1-32D"), SimStation::remote_io(5, "AJ65SBTB1-32T")])
//!     .words("D100", &[1, 2, 3])
//!     .spawn("127.0.0.1:0".parse().unwrap())
//!     .await?;
//! sim.drop_station(0, 5, true); // SW0080 bit 4 and SB0080 turn on
//! sim.set_cpu_error(Some(5000)); // SM0/SM1, SD0 = 5000, SD1–SD3 BCD time, SD4
//! # Ok(()) }
//! ```
//!
//! What it answers (reference melsec-cclink.md; section numbers are that document's):
//! * `0401` batch read (words `0000`, bits `0001`; iQ-R specification `0002`/`0003` on
//!   [`SimSeries::IqR`]) and `0403` random read, on every device of §1.4 (unset = 0);
//!   limits and end codes of §1.3/§1.6 (more than 960 words → `C051`, see `request`).
//! * Everything else — writes `1401`/`1402`, remote RUN/STOP `1001`/`1002`, read type name
//!   `0101`, … — is refused with `C059` and an abnormal response carrying the error
//!   information (route, command, subcommand; §1.1, §1.8 g). The network never changes the
//!   simulator's state.
//! * A request whose data does not fit its command gets `C061`; a TCP stream that is not an
//!   MC request stream (unknown subheader, L above the frame limit) is closed; an
//!   overstated L is waited for, as a real CPU does (§1.1, no answer).
//! * The SB/SW image of each CC-Link master (`cclink` module docs: which bit each fault
//!   sets) and the CPU's SM/SD self-diagnosis image (`cpu` module docs, §7).
//!
//! Design: the envelope (3E/4E header, route, serial, L, end code and error information)
//! uses the crate's `frame` and `codec` ([`crate::codec::FrameCodec`],
//! [`crate::frame::RequestHead`], [`crate::frame::Response`]); the request data, the bit and
//! word packing, the device table and the SB/SW/SM/SD images are encoded here from the
//! reference, not with the client's types, so that client and simulator do not share a bug.
//! The simulator never uses the client. State lives behind a `std::sync::Mutex` never held
//! across an `.await`; one task per TCP connection and one UDP task, which
//! [`McSimHandle::stop`] aborts. Times are UTC.

mod cclink;
mod conn;
mod cpu;
mod device;
mod memory;
mod request;

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::net::{TcpListener, TcpSocket, UdpSocket};
use tokio::task::JoinHandle;

pub use cclink::{SimStation, SimStationKind};
pub use cpu::SimSeries;
pub use device::DeviceError;

use cclink::Master;
use cpu::{Civil, Cpu};
use memory::{Memory, View};

/// Entry point: `McSim::builder()`.
#[derive(Debug)]
pub enum McSim {}

impl McSim {
    /// A builder for a Q-series CPU in RUN without errors, one CC-Link master refreshed to
    /// SB0/SW0 without stations, empty device memory and no fault.
    pub fn builder() -> McSimBuilder {
        McSimBuilder::default()
    }
}

/// A fault the simulator injects, on TCP and UDP alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum McFault {
    /// Answer normally.
    #[default]
    None,
    /// Read every request and never answer; other connections and datagrams are not
    /// blocked.
    NoAnswer,
    /// Answer after this delay (TCP: per connection; UDP: per datagram, others go on).
    Slow(Duration),
    /// Send the first half of the answer, then close the connection (UDP: send half a
    /// datagram).
    Truncated,
    /// Close the connection on every request, without an answer (UDP: no answer).
    DropConnection,
    /// Answer every request with this end code (e.g. `0xC059`) and its error information.
    EndCode(u16),
}

/// Builds a simulator: series, CC-Link masters, device values and fault, then
/// [`McSimBuilder::spawn`].
#[derive(Debug, Default)]
pub struct McSimBuilder {
    series: SimSeries,
    masters: Vec<Master>,
    writes: Vec<Write>,
    fault: McFault,
}

/// A device write from the builder, applied at spawn (errors surface there).
#[derive(Debug)]
enum Write {
    Words(String, Vec<u16>),
    Bits(String, Vec<bool>),
}

impl McSimBuilder {
    /// The CPU family (default [`SimSeries::Q`]): the SD layout of the self-diagnosis (SD0
    /// decimal on Q/L, hexadecimal on iQ-R, §7.3) and whether the iQ-R device
    /// specification is answered.
    pub fn series(mut self, series: SimSeries) -> Self {
        self.series = series;
        self
    }

    /// Adds a CC-Link master whose SB/SW are refreshed to `SB sb_base` / `SW sw_base`
    /// (commonly 0/0 for the first module, §2.2) with these devices on its line. Masters are
    /// numbered from 0 in the order added; without any call there is one master at 0/0
    /// with no stations. Station numbers 1–64 and 1–4 occupied stations are checked at
    /// [`McSimBuilder::spawn`].
    pub fn cclink(
        mut self,
        sb_base: u32,
        sw_base: u32,
        stations: impl IntoIterator<Item = SimStation>,
    ) -> Self {
        let stations = stations.into_iter().collect();
        self.masters.push(Master::new(sb_base, sw_base, stations));
        self
    }

    /// Word values from `device` on (`"D100"`, `"SW0100"`; on a bit device 16 bits per
    /// word, LSB first). They win over the CC-Link and CPU images (see `memory`).
    pub fn words(mut self, device: &str, values: &[u16]) -> Self {
        self.writes
            .push(Write::Words(device.to_owned(), values.to_vec()));
        self
    }

    /// Bit values from a bit device `device` on (`"M20"`, `"X1F"`).
    pub fn bits(mut self, device: &str, values: &[bool]) -> Self {
        self.writes
            .push(Write::Bits(device.to_owned(), values.to_vec()));
        self
    }

    /// The initial fault.
    pub fn fault(mut self, fault: McFault) -> Self {
        self.fault = fault;
        self
    }

    /// Binds TCP and UDP on `addr` (port 0: TCP picks a free port and UDP binds the same
    /// one; retried if UDP's port is taken), then serves 3E and 4E on both.
    /// [`McSimHandle::addr`] is the bound address. Fails with `InvalidInput` for a bad
    /// device text or station.
    pub async fn spawn(self, addr: SocketAddr) -> io::Result<McSimHandle> {
        let invalid = |message: String| io::Error::new(io::ErrorKind::InvalidInput, message);
        for station in self.masters.iter().flat_map(Master::stations) {
            station.validate().map_err(invalid)?;
        }
        let mut user = Memory::default();
        for write in &self.writes {
            match write {
                Write::Words(text, values) => {
                    let (device, number) =
                        device::parse(text).map_err(|e| invalid(e.to_string()))?;
                    user.set_words(device, number, values);
                }
                Write::Bits(text, values) => {
                    let (device, number) = bit_device(text).map_err(invalid)?;
                    user.set_bits(device, number, values);
                }
            }
        }
        let mut masters = self.masters;
        if masters.is_empty() {
            masters.push(Master::new(0, 0, Vec::new()));
        }
        let mut state = State {
            user,
            image: Memory::default(),
            masters,
            cpu: Cpu {
                series: self.series,
                error: None,
                stopped: false,
            },
            fault: self.fault,
        };
        state.render();
        let (listener, udp) = bind_both(addr).await?;
        let bound = listener.local_addr()?;
        let handle = McSimHandle {
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                requests: AtomicU64::new(0),
                addr: bound,
                control: Mutex::new(Control::default()),
            }),
        };
        handle.start(listener, udp);
        Ok(handle)
    }
}

/// Parses a device text that must name a bit device.
fn bit_device(text: &str) -> Result<(device::Device, u32), String> {
    let (device, number) = device::parse(text).map_err(|e| e.to_string())?;
    if device.unit != device::Unit::Bit {
        return Err(format!("{text:?} is a word device; use words()"));
    }
    Ok((device, number))
}

/// Controls a running simulator. Cheap to clone; all clones control the same simulator.
/// Dropping handles does not stop it: call [`McSimHandle::stop`].
///
/// The `master` arguments index the masters in the order [`McSimBuilder::cclink`] added
/// them; an index without a master panics (a test's programming error), as does a device
/// text that does not parse.
#[derive(Debug, Clone)]
pub struct McSimHandle {
    shared: Arc<Shared>,
}

impl McSimHandle {
    /// The bound address, TCP and UDP (kept across stop/restart).
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Takes a station out of (or back into) the data link: the SW0080–83 bits of every
    /// number its device occupies, SB0080, and SW0090/SB0090 when no station is left
    /// (§2.3, §2.4). A number inside a multi-station device means that device; a number
    /// without a device sets just its own bit.
    pub fn drop_station(&self, master: usize, number: u8, down: bool) {
        self.master(master, |m| m.drop_station(number, down));
    }

    /// A cable break behind station `number`: every device whose first station number is
    /// higher goes down together (§2.8 "stations after a point down"); `Some(0)` takes the
    /// whole line down, `None` repairs it.
    pub fn cable_break_after(&self, master: usize, number: Option<u8>) {
        self.master(master, |m| m.cable_break_after(number));
    }

    /// Two devices share station `number`: station number overlap bits SW0098–9B (+ SB0098)
    /// for its numbers, and the device drops out of the link (§2.8; unconfirmed row of the
    /// map).
    pub fn duplicate_station(&self, master: usize, number: u8, on: bool) {
        self.master(master, |m| m.duplicate_station(number, on));
    }

    /// The master's transmission speed does not match the line (§2.8): every station's
    /// SW0080 bit without overlap bits, and SW0090/SB0090 since the whole line is down.
    pub fn speed_mismatch(&self, master: usize, on: bool) {
        self.master(master, |m| m.set_speed_mismatch(on));
    }

    /// Adds `n` retries for station `number`: its byte in SW00C0–C7 (stations 1–16) and the
    /// total in SW00C8 (both saturating; see `cclink` for the layout assumption).
    pub fn add_retries(&self, master: usize, number: u8, n: u16) {
        self.master(master, |m| m.add_retries(number, n));
    }

    /// Link scan times in ms: SW006E current, SW006F minimum, SW006D maximum.
    pub fn set_link_scan(&self, master: usize, current_ms: u16, min_ms: u16, max_ms: u16) {
        self.master(master, |m| m.set_link_scan(current_ms, min_ms, max_ms));
    }

    /// While on, every request moves the current link scan within `min ..= 2 × max` and the
    /// maximum follows it up.
    pub fn jitter_link_scan(&self, master: usize, on: bool) {
        self.master(master, |m| m.set_jitter(on));
    }

    /// Sets (or with `None` clears) the CPU's self-diagnosed error, stamped now (UTC): SM0,
    /// SM1 (not for the Q/L annunciator code 9000, which sets SM62), SD0 = `code` (Q/L: the
    /// decimal code of the manual, e.g. 5000; iQ-R: the hexadecimal code, e.g. 0x3C00),
    /// SD1–SD3 BCD time and SD4 categories on Q/L, SD1–SD7 binary time and SD10 on iQ-R.
    pub fn set_cpu_error(&self, code: Option<u16>) {
        let now = Civil::from_system_time(SystemTime::now());
        let mut state = self.shared.state();
        state.cpu.error = code.map(|code| (code, now));
        state.render();
    }

    /// RUN (`true`) or STOP: SD203 b3–b0 = 0 / 2, and b7–b4 = 4 (error) when stopped with an
    /// error set, else 0 (RUN/STOP switch) (§7.2).
    pub fn set_run_state(&self, run: bool) {
        let mut state = self.shared.state();
        state.cpu.stopped = !run;
        state.render();
    }

    /// Word values from `device` on; they win over the CC-Link and CPU images.
    ///
    /// # Panics
    /// If `device` is not a MELSEC device text.
    pub fn set_words(&self, device: &str, values: &[u16]) {
        let (device, number) = device::parse(device).unwrap_or_else(|e| panic!("{e}"));
        self.shared.state().user.set_words(device, number, values);
    }

    /// Bit values from a bit device on; they win over the CC-Link and CPU images.
    ///
    /// # Panics
    /// If `device` is not a MELSEC bit-device text.
    pub fn set_bits(&self, device: &str, values: &[bool]) {
        let (device, number) = bit_device(device).unwrap_or_else(|e| panic!("{e}"));
        self.shared.state().user.set_bits(device, number, values);
    }

    /// Replaces the current fault.
    pub fn set_fault(&self, fault: McFault) {
        self.shared.state().fault = fault;
    }

    /// Requests received so far on all connections and datagrams (answered or not).
    pub fn requests_served(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// TCP connections currently open.
    pub fn connections(&self) -> usize {
        let mut control = self.shared.control();
        control.connections.retain(|_, task| !task.is_finished());
        control.connections.len()
    }

    /// The devices of master `master`, as configured.
    pub fn stations(&self, master: usize) -> Vec<SimStation> {
        let state = self.shared.state();
        state
            .masters
            .get(master)
            .map(|m| m.stations().to_vec())
            .unwrap_or_default()
    }

    /// Stops serving TCP and UDP and closes every open connection (peers see EOF). State
    /// is kept.
    pub async fn stop(&self) {
        let tasks: Vec<JoinHandle<()>> = {
            let mut control = self.shared.control();
            let servers = control.servers.drain(..).collect::<Vec<_>>();
            let connections = control.connections.drain().map(|(_, task)| task);
            servers.into_iter().chain(connections).collect()
        };
        for task in tasks {
            task.abort();
            // Aborted: the only error is `JoinError::Cancelled`.
            let _ = task.await;
        }
    }

    /// Rebinds the same address (TCP and UDP) after [`McSimHandle::stop`] and serves again,
    /// keeping all state and the fault. Does nothing while running.
    pub async fn restart(&self) -> io::Result<()> {
        if !self.shared.control().servers.is_empty() {
            return Ok(());
        }
        let (listener, udp) = bind_both(self.shared.addr).await?;
        self.start(listener, udp);
        Ok(())
    }

    fn start(&self, listener: TcpListener, udp: UdpSocket) {
        let tcp = tokio::spawn(conn::accept_loop(listener, Arc::clone(&self.shared)));
        let udp = tokio::spawn(conn::serve_udp(udp, Arc::clone(&self.shared)));
        self.shared.control().servers = vec![tcp, udp];
    }

    fn master(&self, index: usize, change: impl FnOnce(&mut Master)) {
        let mut state = self.shared.state();
        let count = state.masters.len();
        let master = state
            .masters
            .get_mut(index)
            .unwrap_or_else(|| panic!("no CC-Link master {index} (the simulator has {count})"));
        change(master);
        state.render();
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
    user: Memory,
    image: Memory,
    masters: Vec<Master>,
    cpu: Cpu,
    fault: McFault,
}

impl State {
    /// Rebuilds the SB/SW/SM/SD image from the masters and the CPU.
    fn render(&mut self) {
        self.image.clear();
        for master in &self.masters {
            master.render(&mut self.image);
        }
        self.cpu.render(&mut self.image);
    }

    /// Answers one request: advances jittering link scans, then reads.
    fn execute(&mut self, command: u16, subcommand: u16, data: &[u8]) -> Result<Vec<u8>, u16> {
        let mut jitter = false;
        for master in &mut self.masters {
            jitter |= master.tick();
        }
        if jitter {
            self.render();
        }
        let view = View {
            user: &self.user,
            image: &self.image,
        };
        request::execute(view, self.cpu.series, command, subcommand, data)
    }
}

/// The running tasks.
#[derive(Debug, Default)]
struct Control {
    /// TCP accept loop and UDP loop.
    servers: Vec<JoinHandle<()>>,
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

/// Binds TCP (with `SO_REUSEADDR`, so that a restart can rebind while closed connections are
/// in TIME_WAIT) and UDP on the same port. With port 0, TCP picks the port and UDP follows;
/// if UDP's port is taken, both are retried on a new port.
async fn bind_both(addr: SocketAddr) -> io::Result<(TcpListener, UdpSocket)> {
    const ATTEMPTS: usize = 8;
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let listener = bind_tcp(addr)?;
        let bound = listener.local_addr()?;
        match UdpSocket::bind(bound).await {
            Ok(udp) => return Ok((listener, udp)),
            Err(error) if addr.port() == 0 && error.kind() == io::ErrorKind::AddrInUse => {
                tracing::debug!(%bound, "mc sim: UDP port taken, retrying on another port");
                last = Some(error);
            }
            Err(error) => return Err(error),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AddrInUse)))
}

fn bind_tcp(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}
