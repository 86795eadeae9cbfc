//! `plcdiag demo` and `plcdiag sim`: the gateway against built-in simulated devices.
//!
//! The demo starts Modbus simulators and S7 CPU simulators on loopback ports, writes a config
//! for them (parsed by the same code as any config file), and runs the gateway. A scenario task
//! makes the plant move: temperatures drift, a counter counts, a pump cycles, one tag answers
//! with a Modbus exception; every minute the press CPU's I/O module fails and returns, the
//! chiller stops answering for 25 s (offline, demoted, back), the oven CPU goes to STOP and
//! back to RUN, each change written to its diagnostic buffer, and a CC-Link station of the
//! assembly PLC drops off the link, then a cable breaks. Alarm rules watch each of these.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use plcdiag_melsec::sim::{McSim, McSimHandle, SimStation};
use plcdiag_modbus::{Encoding, ExceptionCode, Fault, Sim, SimHandle, Table, Value, WordOrder};
use plcdiag_s7::sim::{S7Sim, S7SimHandle, SimFamily, SimMode};
use tokio::time::Instant;
use tracing::info;

use crate::config;
use crate::gateway::Gateway;

/// The simulated plant.
#[derive(Clone)]
pub struct DemoPlant {
    /// Boiler controller (Modbus TCP).
    pub boiler: SimHandle,
    /// Packaging line PLC (Modbus TCP).
    pub packer: SimHandle,
    /// Chiller controller (Modbus TCP) that fails on a schedule.
    pub chiller: SimHandle,
    /// Press line S7-300 CPU whose I/O module fails and returns on a schedule.
    pub press: S7SimHandle,
    /// Oven S7-400 CPU that an operator stops and restarts on a schedule.
    pub oven: S7SimHandle,
    /// Assembly line Q CPU hosting a CC-Link master with six stations.
    pub assembly: McSimHandle,
}

/// When, within each minute, the AJ65SBTB1 at station 4 drops off CC-Link, and when it returns.
pub const STATION_DROP: (Duration, Duration) = (Duration::from_secs(5), Duration::from_secs(15));
/// When, within each minute, the CC-Link cable after station 4 breaks (the light curtain at 5
/// and the inverter at 6..7 lose the link together), and when it is repaired.
pub const CABLE_BREAK: (Duration, Duration) = (Duration::from_secs(35), Duration::from_secs(50));

/// When, within each minute, the oven CPU is stopped (from the programming device).
pub const OVEN_STOP_AT: Duration = Duration::from_secs(30);
/// When, within each minute, the oven CPU is back in RUN.
pub const OVEN_RUN_AT: Duration = Duration::from_secs(45);
/// When, within each minute, the press CPU's module in slot 5 fails, and when it returns.
const PRESS_MODULE_FAULT: (Duration, Duration) = (Duration::from_secs(10), Duration::from_secs(25));

/// When the chiller's outage starts within each minute, and how long it lasts.
pub const CHILLER_FAULT_AT: Duration = Duration::from_secs(20);
/// Length of the chiller's outage.
pub const CHILLER_FAULT_FOR: Duration = Duration::from_secs(25);
const CYCLE: Duration = Duration::from_secs(60);

impl DemoPlant {
    /// Starts the simulators on free loopback ports.
    pub async fn start() -> std::io::Result<Self> {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let boiler = Sim::builder()
            .fault(Fault::ExceptionAt {
                table: Table::HoldingRegister,
                start: 900,
                end: 999,
                code: ExceptionCode::IllegalDataAddress,
            })
            .spawn_tcp(any)
            .await?;
        let packer = Sim::builder().spawn_tcp(any).await?;
        let chiller = Sim::builder().spawn_tcp(any).await?;
        let mut press_db = vec![0u8; 8];
        press_db[0..4].copy_from_slice(&182.5f32.to_be_bytes());
        let press = S7Sim::builder()
            .identity(
                "6ES7 315-2EH14-0AB0",
                "V3.2.6",
                "Press line 2",
                "S C-X4U421302009",
            )
            .module(0, 4, 256)
            .module(0, 5, 272)
            .cycle_times(14, 9, 31)
            .db(20, &press_db)
            .spawn_tcp(any)
            .await?;
        let oven = S7Sim::builder()
            .family(SimFamily::S7400)
            .identity(
                "6ES7 416-3XR05-0AB0",
                "V5.3.0",
                "Oven zone control",
                "S Q-C2U112233",
            )
            .module_type_name("CPU 416-3 PN/DP")
            .cycle_times(22, 18, 47)
            .markers(&[0b0000_0001])
            .spawn_tcp(any)
            .await?;
        let assembly = McSim::builder()
            .cclink(
                0,
                0,
                [
                    SimStation::remote_io(1, "feeder inputs"),
                    SimStation::remote_io(2, "feeder outputs"),
                    SimStation::remote_device(3, 1, "servo amplifier"),
                    SimStation::remote_io(4, "gripper valves"),
                    SimStation::remote_io(5, "light curtain"),
                    SimStation::remote_device(6, 2, "inverter"),
                ],
            )
            .words("D100", &[0, 350])
            .spawn(any)
            .await?;
        let plant = Self {
            boiler,
            packer,
            chiller,
            press,
            oven,
            assembly,
        };
        plant.step(Duration::ZERO, Duration::ZERO);
        Ok(plant)
    }

    /// The gateway config for this plant (TOML, as a user would write it).
    pub fn config_text(&self, listen: SocketAddr, database: &Path) -> String {
        let port = |h: &SimHandle| h.addr().map_or(0, |a| a.port());
        format!(
            r#"# Generated by `plcdiag demo`: simulated Modbus devices and S7 CPUs on loopback.
[gateway]
listen = "{listen}"
database = {database:?}
retention = "1d"

[defaults]
interval = "1s"
timeout = "500ms"
demote_after = 3
demote_for = "10s"
max_interval = "30s"

[[devices]]
name = "boiler-1"
kind = "modbus"
address = "tcp://127.0.0.1:{boiler}"

[[devices.tags]]
name = "water_temperature"
address = "hr:0"
type = "f32"
unit = "°C"
deadband = 0.2

[[devices.tags]]
name = "steam_pressure"
address = "hr:2"
type = "u16"
scale = 0.01
unit = "bar"
deadband = 0.05

[[devices.tags]]
name = "flame_on"
address = "coil:0"

[[devices.tags]]
name = "o2_trim"
address = "hr:900"
unit = "%"

[[devices]]
name = "packer-3"
kind = "modbus"
address = "tcp://127.0.0.1:{packer}"
interval = "500ms"
timeout = "300ms"

[[devices.tags]]
name = "cartons_packed"
address = "hr:10"
type = "u32"
word_order = "low_first"

[[devices.tags]]
name = "motor_current"
address = "ir:0"
type = "i16"
scale = 0.1
unit = "A"

[[devices.tags]]
name = "running"
address = "di:0"

[[devices]]
name = "chiller-2"
kind = "modbus"
address = "tcp://127.0.0.1:{chiller}"

[[devices.tags]]
name = "supply_temperature"
address = "ir:0"
type = "i16"
scale = 0.1
unit = "°C"
deadband = 0.1

[[devices]]
name = "press-cpu"
kind = "s7"
address = "127.0.0.1:{press}"
rack = 0
slot = 2
status_interval = "2s"

[[devices.tags]]
name = "hydraulic_temperature"
address = "DB20.DBD0:REAL"
unit = "°C"
deadband = 0.5

[[devices]]
name = "oven-cpu"
kind = "s7"
address = "127.0.0.1:{oven}"
rack = 0
slot = 3
status_interval = "5s"

[[devices.tags]]
name = "burner_enable"
address = "M0.0"

[[devices]]
name = "assembly-plc"
kind = "melsec"
address = "{assembly}"
frame = "3e"

[[devices.cclink]]
name = "assembly line"

[[devices.cclink.stations]]
number = 1
name = "feeder inputs"
model = "AJ65SBTB1-16D"

[[devices.cclink.stations]]
number = 2
name = "feeder outputs"
model = "AJ65SBTB1-16T"

[[devices.cclink.stations]]
number = 3
name = "servo amplifier"

[[devices.cclink.stations]]
number = 4
name = "gripper valves"
model = "AJ65SBTB1-16T"

[[devices.cclink.stations]]
number = 5
name = "light curtain"
model = "AJ65SBTB1-16D"

[[devices.cclink.stations]]
number = 6
occupies = 2
name = "inverter"

[[devices.tags]]
name = "parts_assembled"
address = "D100:UINT"

[[devices.tags]]
name = "takt_time"
address = "D101:INT"
scale = 0.1
unit = "s"

# Alarm rules on the scripted faults: watch them raise, clear and wait for acknowledgement at
# /api/alarms (acknowledge with POST /api/alarms/ID/ack).

[[rules]]
name = "cpu_stop"
devices = ["oven-cpu", "press-cpu"]
when = 'cpu_mode() == "STOP"'
priority = "critical"
message = "{{device}}: CPU in STOP"

[[rules]]
name = "io_module_fault"
device = "press-cpu"
when = "event_active(0x3942)"
priority = "high"
message = "{{device}}: {{event}}"

[[rules]]
name = "cclink_station_down"
device = "assembly-plc"
when = "stations_down() > 0"
priority = "high"
message = "CC-Link {{device}}: {{stations}}"

[[rules]]
name = "boiler_water_hot"
device = "boiler-1"
when = "water_temperature > 77"
on_delay = "5s"
deadband = 0.5
priority = "medium"
message = "Boiler water {{water_temperature}} above 77 °C for 5 s"

[[rules]]
name = "device_offline"
devices = ["chiller-2", "boiler-1", "packer-3"]
when = "offline()"
on_delay = "2s"
priority = "high"
message = "{{device}} does not answer"
"#,
            boiler = port(&self.boiler),
            packer = port(&self.packer),
            chiller = port(&self.chiller),
            press = self.press.addr().port(),
            oven = self.oven.addr().port(),
            assembly = self.assembly.addr(),
        )
    }

    /// Sets every simulated value for `t` after the demo started.
    pub fn step(&self, before: Duration, t: Duration) {
        let s = t.as_secs_f64();
        let f32be = Encoding::new(plcdiag_modbus::DataType::F32);
        self.boiler.set_value(
            Table::HoldingRegister,
            0,
            &f32be,
            Value::F32(72.0 + 6.0 * (s / 40.0).sin() as f32),
        );
        self.boiler
            .set_holding(2, &[(850.0 + 40.0 * (s / 25.0).cos()) as u16]);
        self.boiler.set_coils(0, &[(s as u64 / 15) % 4 != 3]);

        let running = (s as u64 / 20) % 3 != 2;
        let cartons = (s * 1.7) as u32;
        let u32lo = Encoding {
            word_order: WordOrder::LowFirst,
            ..Encoding::new(plcdiag_modbus::DataType::U32)
        };
        self.packer
            .set_value(Table::HoldingRegister, 10, &u32lo, Value::U32(cartons));
        let current = if running {
            123 + ((s * 3.0).sin() * 8.0) as i16
        } else {
            0
        };
        self.packer.set_input(0, &[current as u16]);
        self.packer.set_discrete(0, &[running]);

        self.chiller
            .set_input(0, &[(65.0 + 5.0 * (s / 30.0).sin()) as i16 as u16]);
        let in_cycle = Duration::from_secs_f64(s % CYCLE.as_secs_f64());
        let down = in_cycle >= CHILLER_FAULT_AT && in_cycle < CHILLER_FAULT_AT + CHILLER_FAULT_FOR;
        self.chiller
            .set_fault(if down { Fault::NoAnswer } else { Fault::None });

        // Events happen once, when their moment in the minute passes between `before` and `t`.
        let passed = |at: Duration| occurrences(t, at) > occurrences(before, at);
        if passed(PRESS_MODULE_FAULT.0) {
            self.press.set_module_fault(0, 5, true);
        }
        if passed(PRESS_MODULE_FAULT.1) {
            self.press.set_module_fault(0, 5, false);
        }
        if passed(OVEN_STOP_AT) {
            self.oven.set_mode(SimMode::Stop);
        }
        if passed(OVEN_RUN_AT) {
            self.oven.set_mode(SimMode::Run);
        }
        if passed(STATION_DROP.0) {
            self.assembly.drop_station(0, 4, true);
        }
        if passed(STATION_DROP.1) {
            self.assembly.drop_station(0, 4, false);
        }
        if passed(CABLE_BREAK.0) {
            self.assembly.cable_break_after(0, Some(4));
        }
        if passed(CABLE_BREAK.1) {
            self.assembly.cable_break_after(0, None);
        }
        self.assembly.set_words("D100", &[(s * 0.8) as u16]);
        let cycle = 14 + ((s * 0.7).sin() * 4.0) as u16;
        self.press.set_cycle_times(cycle, 9, cycle.max(31));
    }

    /// Runs the scenario until cancelled.
    pub async fn animate(self) {
        let start = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut before = Duration::ZERO;
        loop {
            tick.tick().await;
            let now = start.elapsed();
            self.step(before, now);
            before = now;
        }
    }

    /// Stops the simulators.
    pub async fn stop(&self) {
        self.boiler.stop().await;
        self.packer.stop().await;
        self.chiller.stop().await;
        self.press.stop().await;
        self.oven.stop().await;
        self.assembly.stop().await;
    }
}

/// How many times the moment `at` of the minute has come by `t` since the demo started.
fn occurrences(t: Duration, at: Duration) -> u64 {
    match t.checked_sub(at) {
        None => 0,
        Some(since) => since.as_secs() / CYCLE.as_secs() + 1,
    }
}

/// Runs the demo until `stop` resolves.
pub async fn run(
    listen: SocketAddr,
    database: PathBuf,
    base_path: String,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let plant = DemoPlant::start()
        .await
        .context("starting the simulators")?;
    let database = std::path::absolute(&database).unwrap_or(database);
    let text = plant.config_text(listen, &database);
    let mut cfg = config::parse(&text, Path::new("."))
        .map_err(|p| anyhow::anyhow!("demo config is invalid: {p:?}"))?;
    cfg.gateway.base_path = base_path;
    let base = cfg.gateway.base_path.clone();
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!("cannot listen on {listen}; choose another address with --listen")
        })?;
    let gateway = Gateway::start(cfg, Some(listener)).await?;
    let animation = tokio::spawn(plant.clone().animate());
    println!(
        "plcdiag demo: 3 simulated Modbus devices, 2 S7 CPUs and a MELSEC PLC with CC-Link; history in {}",
        database.display()
    );
    let url = format!("http://{}{base}", gateway.http_addr);
    // With a base path the overview is `{base}` itself (`{base}/` redirects there).
    let ui = if base.is_empty() {
        format!("{url}/")
    } else {
        url.clone()
    };
    println!("  UI:      {ui}");
    println!("  API:     {url}/api/devices");
    println!("  alarms:  {url}/api/alarms");
    println!("  metrics: {url}/metrics");
    println!("  Every minute, from the start:");
    println!(
        "    {:>2}s  assembly-plc: CC-Link station 4 (AJ65SBTB1) drops off ({}s: returns)",
        STATION_DROP.0.as_secs(),
        STATION_DROP.1.as_secs()
    );
    println!(
        "    {:>2}s  press-cpu: I/O module in slot 5 fails ({}s: returns)",
        PRESS_MODULE_FAULT.0.as_secs(),
        PRESS_MODULE_FAULT.1.as_secs()
    );
    println!(
        "    {:>2}s  chiller-2 stops answering for {}s (offline, then demoted, then back)",
        CHILLER_FAULT_AT.as_secs(),
        CHILLER_FAULT_FOR.as_secs()
    );
    println!(
        "    {:>2}s  oven-cpu goes to STOP ({}s: back to RUN), with diagnostic buffer entries",
        OVEN_STOP_AT.as_secs(),
        OVEN_RUN_AT.as_secs()
    );
    println!(
        "    {:>2}s  assembly-plc: CC-Link cable breaks after station 4, stations 5 and 6 lose the link ({}s: repaired)",
        CABLE_BREAK.0.as_secs(),
        CABLE_BREAK.1.as_secs()
    );
    println!(
        "  Alarm rules raise on each of these (cpu_stop, io_module_fault, cclink_station_down, device_offline)"
    );
    println!("  and on the boiler's water over 77 °C for 5 s; acknowledge with");
    println!(
        "    curl -X POST {url}/api/alarms/ID/ack -H 'content-type: application/json' -d '{{\"user\":\"me\",\"note\":\"seen\"}}'"
    );
    println!("  Press Ctrl-C to stop.");
    let failed = tokio::select! {
        () = stop => None,
        why = gateway.failed() => Some(why),
    };
    info!("demo stopping");
    animation.abort();
    let result = gateway.shutdown().await;
    plant.stop().await;
    match failed {
        Some(why) => Err(anyhow::anyhow!("{why}; the demo stopped")),
        None => result,
    }
}

/// `plcdiag sim modbus` arguments.
#[derive(Args, Debug)]
pub struct SimArgs {
    /// Address to listen on; port 0 picks a free one (printed at start).
    #[arg(long, default_value = "127.0.0.1:5020")]
    pub listen: SocketAddr,
    /// Holding and input registers 0..N are filled with their own address (hr:7 = 7), coils and
    /// discrete inputs 0..N alternate.
    #[arg(long, default_value_t = 1000)]
    pub registers: u16,
    /// Change this many registers (from 0) every second, so pollers see movement.
    #[arg(long, default_value_t = 0)]
    pub changing: u16,
    /// Inject a fault: `none`, `no-answer`, `slow=DURATION`, `exception=CODE`, `drop`.
    #[arg(long, default_value = "none", value_parser = parse_fault)]
    pub fault: Fault,
}

fn parse_fault(s: &str) -> Result<Fault, String> {
    Ok(match s.split_once('=') {
        None if s == "none" => Fault::None,
        None if s == "no-answer" => Fault::NoAnswer,
        None if s == "drop" => Fault::DropConnection,
        Some(("slow", d)) => {
            Fault::Slow(humantime::parse_duration(d).map_err(|e| format!("slow={d}: {e}"))?)
        }
        Some(("exception", c)) => {
            let code = c
                .trim_start_matches("0x")
                .parse::<u8>()
                .map_err(|_| format!("exception={c}: expected a code like 2"))?;
            Fault::Exception(ExceptionCode::from_code(code))
        }
        _ => {
            return Err(format!(
                "unknown fault {s:?}: none, no-answer, slow=500ms, exception=2, drop"
            ));
        }
    })
}

/// Runs a standalone Modbus simulator until `stop` resolves.
pub async fn run_sim(
    args: SimArgs,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let n = args.registers;
    let regs: Vec<u16> = (0..n).collect();
    let bits: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
    let sim = Sim::builder()
        .holding(0, &regs)
        .input(0, &regs)
        .coils(0, &bits)
        .discrete(0, &bits)
        .fault(args.fault)
        .spawn_tcp(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = sim.addr().context("simulator has no address")?;
    // The first stdout line is the contract for scripts and `plcdiag bench`.
    println!("modbus simulator listening on {addr}");
    let changer = sim.clone();
    let changing = args.changing.min(n);
    let animate = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut k: u16 = 0;
        loop {
            tick.tick().await;
            k = k.wrapping_add(1);
            let values: Vec<u16> = (0..changing).map(|i| i.wrapping_add(k)).collect();
            changer.set_holding(0, &values);
        }
    });
    stop.await;
    animate.abort();
    sim.stop().await;
    Ok(())
}

/// `plcdiag sim s7` arguments.
#[derive(Args, Debug)]
pub struct S7SimArgs {
    /// Address to listen on (the real port 102 needs privileges); port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:1102")]
    pub listen: SocketAddr,
    /// The largest PDU the simulated CPU accepts: 240 (S7-300), 480 (S7-400) or 960 (S7-1500).
    #[arg(long, default_value_t = 240)]
    pub pdu: u16,
    /// Go to STOP right after start (recorded in the diagnostic buffer like a PG STOP).
    #[arg(long)]
    pub stop: bool,
    /// Switch between RUN and STOP every this often (each switch is written to the diagnostic
    /// buffer, as a CPU does), so pollers see changes; 0 keeps the mode.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub toggle: Duration,
}

/// Runs a standalone S7 CPU simulator until `stop` resolves.
pub async fn run_s7_sim(
    args: S7SimArgs,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut db1 = vec![0u8; 64];
    db1[0..4].copy_from_slice(&21.5f32.to_be_bytes());
    let sim = S7Sim::builder()
        .pdu_size(args.pdu)
        .cpu_mode(SimMode::Run)
        .db(1, &db1)
        .markers(&[0b0101_0101; 16])
        .spawn_tcp(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    if args.stop {
        // Stopped the way an operator does it, so the buffer says why.
        sim.set_mode(SimMode::Stop);
    }
    // The first stdout line is the contract for scripts.
    println!("s7 simulator listening on {}", sim.addr());
    let toggler = sim.clone();
    let toggle = args.toggle;
    let task = tokio::spawn(async move {
        if toggle.is_zero() {
            return;
        }
        let mut tick = tokio::time::interval(toggle);
        tick.tick().await;
        loop {
            tick.tick().await;
            let next = if toggler.mode() == SimMode::Run {
                SimMode::Stop
            } else {
                SimMode::Run
            };
            toggler.set_mode(next);
        }
    });
    stop.await;
    task.abort();
    sim.stop().await;
    Ok(())
}

/// `plcdiag sim melsec` arguments.
#[derive(Args, Debug)]
pub struct McSimArgs {
    /// Address to listen on, TCP and UDP on the same port; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:5007")]
    pub listen: SocketAddr,
    /// Remote I/O stations 1..N on one CC-Link master refreshed to SB0000/SW0000.
    #[arg(long, default_value_t = 8)]
    pub stations: u8,
    /// Drop the last station off the link and bring it back every this often; 0 never.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub toggle: Duration,
}

/// Runs a standalone MELSEC Q CPU + CC-Link simulator until `stop` resolves.
pub async fn run_mc_sim(
    args: McSimArgs,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let n = args.stations.clamp(1, 64);
    let stations: Vec<SimStation> = (1..=n)
        .map(|i| SimStation::remote_io(i, &format!("remote I/O {i}")))
        .collect();
    let sim = McSim::builder()
        .cclink(0, 0, stations)
        .words("D0", &(0..100).collect::<Vec<u16>>())
        .spawn(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    // The first stdout line is the contract for scripts.
    println!(
        "melsec simulator (TCP and UDP, 3E and 4E) listening on {}",
        sim.addr()
    );
    let toggler = sim.clone();
    let toggle = args.toggle;
    let task = tokio::spawn(async move {
        if toggle.is_zero() {
            return;
        }
        let mut tick = tokio::time::interval(toggle);
        tick.tick().await;
        let mut down = false;
        loop {
            tick.tick().await;
            down = !down;
            toggler.drop_station(0, n, down);
        }
    });
    stop.await;
    task.abort();
    sim.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_demo_config_is_valid_and_names_every_simulator() {
        let plant = DemoPlant::start().await.unwrap_or_else(|e| panic!("{e}"));
        let text = plant.config_text(
            "127.0.0.1:8080".parse().unwrap_or_else(|e| panic!("{e}")),
            Path::new("/tmp/demo.db"),
        );
        let cfg = config::parse(&text, Path::new(".")).unwrap_or_else(|p| panic!("{p:#?}"));
        assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
        let names: Vec<&str> = cfg.devices.iter().map(|d| &*d.name).collect();
        let expected = [
            "boiler-1",
            "packer-3",
            "chiller-2",
            "press-cpu",
            "oven-cpu",
            "assembly-plc",
        ];
        assert_eq!(names, expected);
        assert!(text.contains(&format!("address = \"{}\"", plant.assembly.addr())));
        for sim in [&plant.boiler, &plant.packer, &plant.chiller] {
            let port = sim.addr().map(|a| a.port()).unwrap_or_default();
            assert!(text.contains(&format!("127.0.0.1:{port}\"")));
        }
        for cpu in [&plant.press, &plant.oven] {
            assert!(text.contains(&format!("\"{}\"", cpu.addr())));
        }
        plant.stop().await;
    }

    #[test]
    fn scripted_events_fire_once_per_minute_when_their_moment_passes() {
        let s = Duration::from_secs;
        let at = s(30);
        assert_eq!(occurrences(s(29), at), 0);
        assert_eq!(occurrences(s(30), at), 1);
        assert_eq!(occurrences(s(89), at), 1);
        assert_eq!(occurrences(s(90), at), 2);
        // A step from 29.9 s to 30.1 s passes 30 s once; the next step does not pass it again.
        let passed =
            |before: Duration, now: Duration| occurrences(now, at) > occurrences(before, at);
        assert!(passed(
            Duration::from_millis(29_900),
            Duration::from_millis(30_100)
        ));
        assert!(!passed(
            Duration::from_millis(30_100),
            Duration::from_millis(30_350)
        ));
    }

    #[test]
    fn sim_fault_flags_parse() {
        assert!(matches!(parse_fault("no-answer"), Ok(Fault::NoAnswer)));
        assert!(
            matches!(parse_fault("slow=250ms"), Ok(Fault::Slow(d)) if d == Duration::from_millis(250))
        );
        assert!(matches!(
            parse_fault("exception=2"),
            Ok(Fault::Exception(ExceptionCode::IllegalDataAddress))
        ));
        assert!(parse_fault("explode").is_err());
    }
}
