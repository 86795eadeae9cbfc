//! The simulated CPU as a plain struct: mode, diagnostic buffer, identity, modules, cycle
//! times, memory; and the SZL lists it answers. No I/O; time is passed in.
//!
//! Invariants: the diagnostic buffer holds at most `capacity` records, oldest first
//! internally, newest first in every SZL answer; a mode change writes the transition's
//! events before the mode is visible in 0x0424.

use std::collections::VecDeque;
use std::time::SystemTime;

use super::memory::Memory;
use super::szl::{
    self, DIAG_RECORD_LEN, ModuleStatus, SzlList, bcd_timestamp, component_record, cycle_record,
    diag_record, firmware_numbers, mode_code, mode_record, module_id_record, protection_record,
    time_record,
};
use super::{SimFamily, SimMode};

/// Event IDs the simulator writes (reference s7.md §2.3 real-CPU dump, §4).
pub(crate) mod event {
    /// Request for manual warm restart.
    pub(crate) const WARM_RESTART_REQUEST: u16 = 0x1381;
    /// Module error (entering state), OB 82.
    pub(crate) const MODULE_ERROR: u16 = 0x3942;
    /// Module OK (leaving state of 0x3942).
    pub(crate) const MODULE_OK: u16 = 0x3842;
    /// Mode transition STOP → STARTUP.
    pub(crate) const STOP_TO_STARTUP: u16 = 0x4301;
    /// Mode transition STARTUP → RUN.
    pub(crate) const STARTUP_TO_RUN: u16 = 0x4302;
    /// STOP caused by PG STOP operation or SFB 20 "STOP".
    pub(crate) const STOP_BY_PG: u16 = 0x4304;
}

/// Identification strings (xy11, xy1C).
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub(crate) order_number: String,
    pub(crate) firmware: String,
    pub(crate) name: String,
    pub(crate) serial: String,
    pub(crate) module_type: String,
}

impl Default for Identity {
    fn default() -> Self {
        Identity {
            order_number: "6ES7 315-2EH14-0AB0".into(),
            firmware: "V3.2.6".into(),
            name: "PLCDIAG-SIM".into(),
            serial: "S C-SIM000001".into(),
            module_type: "CPU 315-2 PN/DP".into(),
        }
    }
}

/// Why an SZL request is refused: the parameter error code (e.g. 0xD402) of §2.3/§7.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SzlRefused(pub(crate) u16);

/// 0xD402: the SZL-ID/index is not available (what the Snap7 server and real CPUs answer,
/// §8.1).
pub(crate) const SZL_NOT_AVAILABLE: SzlRefused = SzlRefused(0xD402);

/// The CPU model.
#[derive(Debug, Clone)]
pub(crate) struct CpuState {
    pub(crate) mode: SimMode,
    previous: SimMode,
    transition_event: u16,
    transition_at: [u8; 8],
    /// Oldest first.
    diag: VecDeque<[u8; DIAG_RECORD_LEN]>,
    capacity: usize,
    pub(crate) family: SimFamily,
    pub(crate) pdu_max: u16,
    pub(crate) identity: Identity,
    pub(crate) cycle: (u16, u16, u16),
    pub(crate) modules: Vec<ModuleStatus>,
    pub(crate) memory: Memory,
}

impl Default for CpuState {
    fn default() -> Self {
        CpuState {
            mode: SimMode::Run,
            previous: SimMode::Startup,
            transition_event: event::STARTUP_TO_RUN,
            transition_at: bcd_timestamp(SystemTime::now()),
            diag: VecDeque::new(),
            capacity: 100,
            family: SimFamily::S7300,
            pdu_max: 240,
            identity: Identity::default(),
            cycle: (1, 0, 1),
            modules: vec![ModuleStatus {
                rack: 0,
                slot: 2,
                logadr: 0x7FFF,
                module_type: 0x00C0,
                faulty: false,
            }],
            memory: Memory::default(),
        }
    }
}

fn code(mode: SimMode) -> u8 {
    match mode {
        SimMode::Run => mode_code::RUN,
        SimMode::Stop => mode_code::STOP,
        SimMode::Startup => mode_code::STARTUP,
    }
}

impl CpuState {
    /// Sets the mode without writing events (builder: the initial mode).
    pub(crate) fn init_mode(&mut self, mode: SimMode) {
        self.mode = mode;
        (self.previous, self.transition_event) = match mode {
            SimMode::Run => (SimMode::Startup, event::STARTUP_TO_RUN),
            SimMode::Startup => (SimMode::Stop, event::STOP_TO_STARTUP),
            SimMode::Stop => (SimMode::Run, event::STOP_BY_PG),
        };
    }

    /// Sets the ring size (at least 1), dropping the oldest records that no longer fit.
    pub(crate) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
        self.trim();
    }

    fn trim(&mut self) {
        while self.diag.len() > self.capacity {
            self.diag.pop_front();
        }
    }

    /// Appends a record as the newest; the oldest falls out at capacity.
    pub(crate) fn push_diag(&mut self, record: [u8; DIAG_RECORD_LEN]) {
        self.diag.push_back(record);
        self.trim();
    }

    /// The `n` newest records, newest first.
    pub(crate) fn newest(&self, n: usize) -> Vec<[u8; DIAG_RECORD_LEN]> {
        self.diag.iter().rev().take(n).copied().collect()
    }

    /// Number of records held.
    #[cfg(test)]
    pub(crate) fn diag_len(&self) -> usize {
        self.diag.len()
    }

    /// Changes the mode as a CPU does, writing the transition's events (with the byte
    /// pattern of the real CPU 315 records of §2.3) stamped `now`:
    ///
    /// * to STOP: 0x4304 (STOP by PG / SFB 20);
    /// * STOP → STARTUP: 0x4301, 0x1381 (manual warm-restart request);
    /// * STARTUP → RUN: 0x4302; STOP → RUN: 0x4301, 0x1381, 0x4302;
    /// * RUN → STARTUP: 0x4304, 0x4301, 0x1381.
    ///
    /// The same mode again writes nothing.
    pub(crate) fn set_mode(&mut self, target: SimMode, now: SystemTime) {
        if target == self.mode {
            return;
        }
        let at = bcd_timestamp(now);
        let stop_cause = if self.mode == SimMode::Stop {
            self.transition_event
        } else {
            event::STOP_BY_PG
        };
        let stop = diag_record(event::STOP_BY_PG, 0xFF, 0x84, 0, 0, 0, at);
        let startup = [
            diag_record(
                event::STOP_TO_STARTUP,
                0xFF,
                0x46,
                0xC772,
                stop_cause,
                0x0814_7714,
                at,
            ),
            diag_record(
                event::WARM_RESTART_REQUEST,
                0xFE,
                0x64,
                0xC772,
                stop_cause,
                0x0814_7714,
                at,
            ),
        ];
        let run = diag_record(
            event::STARTUP_TO_RUN,
            0xFF,
            0x68,
            0xC700,
            0,
            0x0814_7714,
            at,
        );
        let mut steps: Vec<([u8; DIAG_RECORD_LEN], SimMode)> = Vec::new();
        match (self.mode, target) {
            (_, SimMode::Stop) => steps.push((stop, SimMode::Stop)),
            (SimMode::Stop, SimMode::Startup) => {
                steps.extend(startup.map(|r| (r, SimMode::Startup)));
            }
            (SimMode::Startup, SimMode::Run) => steps.push((run, SimMode::Run)),
            (SimMode::Stop, SimMode::Run) => {
                steps.extend(startup.map(|r| (r, SimMode::Startup)));
                steps.push((run, SimMode::Run));
            }
            (SimMode::Run, SimMode::Startup) => {
                steps.push((stop, SimMode::Stop));
                steps.extend(startup.map(|r| (r, SimMode::Startup)));
            }
            // Equal modes returned above.
            (SimMode::Run, SimMode::Run) | (SimMode::Startup, SimMode::Startup) => {}
        }
        for (record, mode) in steps {
            let id = u16::from_be_bytes([record[0], record[1]]);
            self.push_diag(record);
            if id != event::WARM_RESTART_REQUEST {
                if mode != self.mode {
                    self.previous = self.mode;
                    self.mode = mode;
                }
                self.transition_event = id;
                self.transition_at = at;
            }
        }
    }

    /// Marks a module faulty or OK; an unknown module is added first. A change writes
    /// 0x3942 (module error, entering) or 0x3842 (module OK, leaving) with OB 82 and the
    /// module's logical address as info1, as a diagnostic interrupt does.
    pub(crate) fn set_module_fault(&mut self, rack: u8, slot: u8, faulty: bool, now: SystemTime) {
        let index = match self
            .modules
            .iter()
            .position(|m| m.rack == rack && m.slot == slot)
        {
            Some(i) => i,
            None => {
                self.modules.push(ModuleStatus {
                    rack,
                    slot,
                    logadr: 0,
                    module_type: 0,
                    faulty: false,
                });
                self.modules.sort_by_key(|m| (m.rack, m.slot));
                self.modules
                    .iter()
                    .position(|m| m.rack == rack && m.slot == slot)
                    .unwrap_or(0)
            }
        };
        let module = &mut self.modules[index];
        if module.faulty == faulty {
            return;
        }
        module.faulty = faulty;
        let logadr = module.logadr;
        let id = if faulty {
            event::MODULE_ERROR
        } else {
            event::MODULE_OK
        };
        let info2 = u32::from(rack) << 8 | u32::from(slot);
        self.push_diag(diag_record(
            id,
            26,
            82,
            0,
            logadr,
            info2,
            bcd_timestamp(now),
        ));
    }

    /// Adds a module (builder).
    pub(crate) fn add_module(&mut self, rack: u8, slot: u8, logadr: u16) {
        self.modules.retain(|m| !(m.rack == rack && m.slot == slot));
        self.modules.push(ModuleStatus {
            rack,
            slot,
            logadr,
            module_type: 0,
            faulty: false,
        });
        self.modules.sort_by_key(|m| (m.rack, m.slot));
    }

    /// The SZL-IDs answered, for 0x0000.
    pub(crate) fn supported_ids(&self) -> Vec<u16> {
        let mut ids = vec![
            0x0000, 0x0011, 0x0111, 0x001C, 0x011C, 0x0222, 0x0132, 0x0424, 0x0C91, 0x0D91, 0x00A0,
            0x01A0, 0x0FA0,
        ];
        if self.family == SimFamily::S7400 {
            ids.push(0x0091);
        }
        ids.sort_unstable();
        ids
    }

    /// The list for `id`/`index`, or the parameter error a CPU answers.
    pub(crate) fn szl(&self, id: u16, index: u16, now: SystemTime) -> Result<SzlList, SzlRefused> {
        match id {
            0x0000 => Ok(SzlList::from_records(
                self.supported_ids().into_iter().map(u16::to_be_bytes),
            )),
            0x0011 | 0x0111 => {
                let fw = firmware_numbers(&self.identity.firmware);
                let order = self.identity.order_number.as_str();
                let records = [
                    module_id_record(0x0001, order, 0x00C0, 0, 0),
                    module_id_record(0x0006, order, 0x00C0, 0, 0),
                    module_id_record(
                        0x0007,
                        "",
                        0x00C0,
                        u16::from_be_bytes([b'V', fw[0]]),
                        u16::from_be_bytes([fw[1], fw[2]]),
                    ),
                ];
                select(id == 0x0111, index, records, |r| [r[0], r[1]])
            }
            0x001C | 0x011C => {
                let ident = &self.identity;
                let records = [
                    component_record(0x0001, &ident.name),
                    component_record(0x0002, &ident.name),
                    component_record(0x0003, ""),
                    component_record(0x0004, "Original Siemens Equipment"),
                    component_record(0x0005, &ident.serial),
                    component_record(0x0007, &ident.module_type),
                ];
                select(id == 0x011C, index, records, |r| [r[0], r[1]])
            }
            0x0424 => Ok(SzlList::from_records([mode_record(
                self.transition_event,
                code(self.mode),
                code(self.previous),
                self.transition_at,
            )])),
            0x00A0 => Ok(SzlList::from_records(self.newest(self.diag.len()))),
            0x01A0 => Ok(SzlList::from_records(self.newest(usize::from(index)))),
            0x0FA0 => Ok(SzlList {
                lenthdr: DIAG_RECORD_LEN as u16,
                n_dr: u16::try_from(self.capacity).unwrap_or(u16::MAX),
                records: Vec::new(),
            }),
            0x0091 if self.family == SimFamily::S7400 => Ok(SzlList::from_records(
                self.modules.iter().map(ModuleStatus::record),
            )),
            0x0D91 => {
                let rack = (index >> 8) as u8;
                Ok(SzlList::from_records(
                    self.modules
                        .iter()
                        .filter(|m| m.rack == rack)
                        .map(ModuleStatus::record),
                ))
            }
            0x0C91 => self
                .modules
                .iter()
                .find(|m| m.logadr == index & 0x7FFF)
                .map(|m| SzlList::from_records([m.record()]))
                .ok_or(SZL_NOT_AVAILABLE),
            0x0132 => match index {
                0x0004 => Ok(SzlList::from_records([protection_record()])),
                0x0008 => Ok(SzlList::from_records([time_record(bcd_timestamp(now))])),
                _ => Err(SZL_NOT_AVAILABLE),
            },
            0x0222 => match index {
                0x0000 | 0x0001 => {
                    let (cur, min, max) = self.cycle;
                    Ok(SzlList::from_records([cycle_record(
                        cur,
                        min,
                        max,
                        bcd_timestamp(now),
                    )]))
                }
                _ => Err(SZL_NOT_AVAILABLE),
            },
            _ => Err(SZL_NOT_AVAILABLE),
        }
    }
}

/// All records, or (for the xy11/xy1C "one record" extract) the one whose index matches.
fn select<const N: usize>(
    single: bool,
    index: u16,
    records: impl IntoIterator<Item = [u8; N]>,
    index_of: impl Fn(&[u8; N]) -> [u8; 2],
) -> Result<SzlList, SzlRefused> {
    let records: Vec<[u8; N]> = records
        .into_iter()
        .filter(|r| !single || u16::from_be_bytes(index_of(r)) == index)
        .collect();
    if single && records.is_empty() {
        return Err(SZL_NOT_AVAILABLE);
    }
    Ok(SzlList::from_records(records))
}

/// The xyA0 helper for tests and `push_event`.
pub(crate) fn event_record(
    event_id: u16,
    ob: u8,
    info1: u16,
    info2: u32,
    now: SystemTime,
) -> [u8; 20] {
    szl::diag_record(event_id, 0xFF, ob, 0, info1, info2, bcd_timestamp(now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::szl::fragment;

    fn ids(state: &CpuState) -> Vec<u16> {
        state
            .newest(usize::MAX)
            .iter()
            .rev()
            .map(|r| u16::from_be_bytes([r[0], r[1]]))
            .collect()
    }

    #[test]
    fn set_mode_records_the_transition_events_in_order() {
        let mut cpu = CpuState::default();
        let now = SystemTime::now();
        cpu.set_mode(SimMode::Stop, now);
        cpu.set_mode(SimMode::Run, now);
        cpu.set_mode(SimMode::Run, now);
        assert_eq!(ids(&cpu), [0x4304, 0x4301, 0x1381, 0x4302]);
        cpu.set_mode(SimMode::Startup, now);
        assert_eq!(ids(&cpu)[4..], [0x4304, 0x4301, 0x1381]);
        assert_eq!(cpu.mode, SimMode::Startup);
    }

    #[test]
    fn mode_list_0424_shows_current_and_previous_mode_and_the_transition_event() {
        let mut cpu = CpuState::default();
        let now = SystemTime::now();
        cpu.set_mode(SimMode::Stop, now);
        let list = cpu.szl(0x0424, 0, now).expect("0x0424");
        assert_eq!((list.lenthdr, list.n_dr), (20, 1));
        assert_eq!(&list.records[..4], &[0x43, 0x04, 0xFF, 0x84]);
        assert_eq!(&list.records[12..20], &bcd_timestamp(now));
        cpu.set_mode(SimMode::Run, now);
        let list = cpu.szl(0x0424, 0, now).expect("0x0424");
        assert_eq!(&list.records[..4], &[0x43, 0x02, 0xFF, 0x58]);
    }

    #[test]
    fn the_ring_buffer_drops_the_oldest_entry_at_capacity() {
        let mut cpu = CpuState::default();
        cpu.set_capacity(3);
        for i in 1..=5u8 {
            cpu.push_diag([i; 20]);
        }
        assert_eq!(cpu.diag_len(), 3);
        assert_eq!(cpu.newest(10), vec![[5; 20], [4; 20], [3; 20]]);
    }

    #[test]
    fn szl_01a0_index_n_returns_the_n_newest_entries_newest_first() {
        let mut cpu = CpuState::default();
        for i in 1..=8u8 {
            cpu.push_diag([i; 20]);
        }
        let list = cpu.szl(0x01A0, 3, SystemTime::now()).expect("0x01A0");
        assert_eq!((list.lenthdr, list.n_dr), (20, 3));
        assert_eq!(list.records, [[8u8; 20], [7; 20], [6; 20]].concat());
        let all = cpu.szl(0x00A0, 0, SystemTime::now()).expect("0x00A0");
        assert_eq!(all.n_dr, 8);
    }

    #[test]
    fn a_60_entry_buffer_at_pdu_240_is_cut_into_six_fragments() {
        let mut cpu = CpuState::default();
        for i in 0..60u8 {
            cpu.push_diag([i; 20]);
        }
        let payload = cpu
            .szl(0x00A0, 0, SystemTime::now())
            .expect("0x00A0")
            .payload(0x00A0, 0);
        // 4 (ID, index) + 4 (LENTHDR, N_DR) + 1200 = 1208 bytes = 5 × 214 + 138.
        let parts = fragment(&payload, 240);
        assert_eq!(parts.len(), 6);
        assert!(parts[..5].iter().all(|p| p.len() == 214));
        assert_eq!(parts[5].len(), 138);
        assert_eq!(&parts[0][4..8], &[0x00, 0x14, 0x00, 60]);
    }

    #[test]
    fn a_module_fault_is_reflected_in_0d91_and_written_as_a_class_3_event() {
        let mut cpu = CpuState::default();
        cpu.add_module(0, 4, 0);
        let now = SystemTime::now();
        cpu.set_module_fault(0, 4, true, now);
        cpu.set_module_fault(0, 4, true, now);
        let list = cpu.szl(0x0D91, 0x0000, now).expect("0x0D91");
        assert_eq!(list.n_dr, 2);
        assert_eq!(&list.records[16 + 12..16 + 14], &[0xB4, 0x03]);
        cpu.set_module_fault(0, 4, false, now);
        assert_eq!(ids(&cpu), [0x3942, 0x3842]);
    }

    #[test]
    fn unsupported_lists_are_refused_with_d402() {
        let cpu = CpuState::default();
        let now = SystemTime::now();
        assert_eq!(cpu.szl(0x0091, 0, now), Err(SzlRefused(0xD402)));
        assert_eq!(cpu.szl(0x0132, 1, now), Err(SzlRefused(0xD402)));
        assert!(cpu.szl(0x0000, 0, now).expect("0x0000").n_dr >= 10);
    }
}
