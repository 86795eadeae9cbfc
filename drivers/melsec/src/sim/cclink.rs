//! One simulated CC-Link master (QJ61BT11N-like) and the SB/SW image it refreshes into the
//! CPU (reference §2.2–§2.4, §2.8).
//!
//! Addresses are `base + offset` with the QJ61BT11N offsets of §2.4: the crate's
//! `RegisterMap::for_kind(NetworkKind::CcLink)` where it has them, module `offset` otherwise.
//! Rows tagged *unconfirmed* there are rendered as the map gives them, so that the client's
//! decoder and this encoder agree on one map that a site can override; the *encoding logic*
//! (which bits a fault sets) is this module's own reading of §2.3/§2.4/§2.8:
//!
//! * a station is **down** if it was dropped, lies behind a cable break, shares its number
//!   with another device (duplicate), or the master's speed does not match the line;
//! * a down device sets the SW0080 bit of **every** number it occupies (§2.3 leaves "head
//!   only or all" open; the driver treats any bit in the range as the device faulty);
//! * SB0080 = any SW0080–83 bit; SW0090 = 1 and SB0090 = 1 when every configured station is
//!   down (§2.8 "all stations down": trunk break at the master, master speed error);
//! * a duplicate number sets SW0098–9B for the device's numbers (and SB0098), and the device
//!   drops (§2.8 "two stations drop together | bits in SW0098");
//! * a speed mismatch drops every station without SW0098 bits (§2.8 "bit in SW0080, no
//!   SW0098"); all stations down then also gives SW0090/SB0090 (§2.8 "master speed error");
//! * retries: SW00C0–SW00C7 one byte per station for stations 1–16 (low byte = odd station,
//!   saturating at 255), SW00C8 the total (saturating) — the per-station layout is an
//!   assumption, only "SW00C0–C8 are retry counters" is confirmed (§0.3);
//! * link scan SW006D max / SW006E current / SW006F min in ms (unconfirmed row of §2.4).

use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use super::device::{SB, SW};
use super::memory::Memory;
use crate::cclink::{NetworkKind, RegisterMap};

/// SB/SW offsets from the refresh base (reference §2.4) that the crate's
/// [`RegisterMap`] does not hold; the mapped ones (station bitmaps, line status, link scan,
/// retries) come from `RegisterMap::for_kind(NetworkKind::CcLink)`, so that the driver and
/// the simulator share one source of truth for *addresses*.
pub(crate) mod offset {
    /// SW0060 mode (rendered 0).
    pub(crate) const SW_MODE: u32 = 0x60;
    /// SW0061 host station No. (0 = master).
    pub(crate) const SW_HOST_STATION: u32 = 0x61;
    /// SW0062 transmission speed (0: 156 k … 4: 10 M).
    pub(crate) const SW_SPEED: u32 = 0x62;
    /// SW0070 total stations (parameter): rendered as the highest occupied number.
    pub(crate) const SW_TOTAL_STATIONS: u32 = 0x70;
    /// SW0071 maximum communicating station No.
    pub(crate) const SW_MAX_COMMUNICATING: u32 = 0x71;
    /// SW0072 number of connected modules (devices communicating).
    pub(crate) const SW_CONNECTED: u32 = 0x72;
    /// SB0080 other station data-link status summary.
    pub(crate) const SB_LINK_ERROR: u32 = 0x80;
    /// SB0098 station number overlap summary.
    pub(crate) const SB_OVERLAP: u32 = 0x98;
    /// The SW words the image owns (each rendered, zeros included).
    pub(crate) const SW_WINDOW: std::ops::RangeInclusive<u32> = 0x60..=0xC8;
    /// The SB relays the image owns.
    pub(crate) const SB_WINDOW: std::ops::RangeInclusive<u32> = 0x40..=0x9F;
}

/// What kind of device sits at a station (reference §2.1, §2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimStationKind {
    /// Remote I/O station, RX/RY only, one station (e.g. AJ65SBTB1-32D).
    RemoteIo,
    /// Remote device station (RX/RY + RWr/RWw), 1–4 stations.
    RemoteDevice,
    /// Intelligent device station (cyclic + transient), 1–4 stations.
    Intelligent,
}

/// A device on the simulated CC-Link line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimStation {
    /// Station number of the device's first occupied station (1–64).
    pub number: u8,
    /// Occupied stations (1–4); the device holds `number ..= number + occupies − 1`.
    pub occupies: u8,
    /// Device kind.
    pub kind: SimStationKind,
    /// A name for logs and test messages (the simulator does not put it on the wire).
    pub name: String,
}

impl SimStation {
    /// A one-station remote I/O module such as an AJ65SBTB1.
    pub fn remote_io(number: u8, name: &str) -> Self {
        SimStation {
            number,
            occupies: 1,
            kind: SimStationKind::RemoteIo,
            name: name.to_owned(),
        }
    }

    /// A remote device station occupying `occupies` stations.
    pub fn remote_device(number: u8, occupies: u8, name: &str) -> Self {
        SimStation {
            number,
            occupies,
            kind: SimStationKind::RemoteDevice,
            name: name.to_owned(),
        }
    }

    /// An intelligent device station occupying `occupies` stations.
    pub fn intelligent(number: u8, occupies: u8, name: &str) -> Self {
        SimStation {
            number,
            occupies,
            kind: SimStationKind::Intelligent,
            name: name.to_owned(),
        }
    }

    /// The station numbers the device occupies.
    pub fn numbers(&self) -> RangeInclusive<u8> {
        self.number..=self.number.saturating_add(self.occupies.saturating_sub(1))
    }

    /// Checks the number (1–64) and occupied count (1–4, within 64).
    pub(crate) fn validate(&self) -> Result<(), String> {
        let last = u16::from(self.number) + u16::from(self.occupies);
        if !(1..=64).contains(&self.number) || !(1..=4).contains(&self.occupies) || last > 65 {
            return Err(format!(
                "CC-Link station {:?}: number {} occupying {} is outside 1..=64 / 1..=4",
                self.name, self.number, self.occupies
            ));
        }
        Ok(())
    }
}

/// The fault state of one master's line.
#[derive(Debug, Clone)]
pub(crate) struct Master {
    pub(crate) sb_base: u32,
    pub(crate) sw_base: u32,
    /// The classic CC-Link addresses (the driver's defaults).
    map: RegisterMap,
    stations: Vec<SimStation>,
    /// Head numbers (or bare numbers of unconfigured stations) dropped by `drop_station`.
    dropped: BTreeSet<u8>,
    break_after: Option<u8>,
    duplicates: BTreeSet<u8>,
    speed_mismatch: bool,
    /// Retries per station number (index 0 unused).
    retries: [u32; 65],
    /// Transmission speed code for SW0062 (0 = 156 kbit/s, as the reference's real rig).
    speed: u16,
    /// Link scan (current, min, max) in ms, as rendered.
    scan: (u16, u16, u16),
    /// The (min, max) last set: the band jitter moves in, so that it does not drift.
    scan_set: (u16, u16),
    jitter: bool,
    rng: u32,
}

impl Master {
    /// A healthy line with these devices, refreshed to `sb_base`/`sw_base`.
    pub(crate) fn new(sb_base: u32, sw_base: u32, stations: Vec<SimStation>) -> Self {
        Master {
            sb_base,
            sw_base,
            map: RegisterMap::for_kind(NetworkKind::CcLink),
            stations,
            dropped: BTreeSet::new(),
            break_after: None,
            duplicates: BTreeSet::new(),
            speed_mismatch: false,
            retries: [0; 65],
            speed: 0,
            scan: (3, 2, 4),
            scan_set: (2, 4),
            jitter: false,
            rng: 0x2545_F491 ^ sb_base ^ (sw_base << 16),
        }
    }

    pub(crate) fn stations(&self) -> &[SimStation] {
        &self.stations
    }

    /// The configured device holding `number`, if any.
    fn device_at(&self, number: u8) -> Option<&SimStation> {
        self.stations.iter().find(|s| s.numbers().contains(&number))
    }

    /// The numbers a fault on `number` affects: the whole device holding it, else `number`.
    fn numbers_of(&self, number: u8) -> RangeInclusive<u8> {
        self.device_at(number)
            .map_or(number..=number, SimStation::numbers)
    }

    fn head_of(&self, number: u8) -> u8 {
        self.device_at(number).map_or(number, |s| s.number)
    }

    pub(crate) fn drop_station(&mut self, number: u8, down: bool) {
        let head = self.head_of(number);
        if down {
            self.dropped.insert(head);
        } else {
            self.dropped.remove(&head);
        }
    }

    pub(crate) fn cable_break_after(&mut self, number: Option<u8>) {
        self.break_after = number;
    }

    pub(crate) fn duplicate_station(&mut self, number: u8, on: bool) {
        let head = self.head_of(number);
        if on {
            self.duplicates.insert(head);
        } else {
            self.duplicates.remove(&head);
        }
    }

    pub(crate) fn set_speed_mismatch(&mut self, on: bool) {
        self.speed_mismatch = on;
    }

    pub(crate) fn add_retries(&mut self, number: u8, n: u16) {
        if let Some(count) = self.retries.get_mut(usize::from(number)) {
            *count = count.saturating_add(u32::from(n));
        }
    }

    pub(crate) fn set_link_scan(&mut self, current_ms: u16, min_ms: u16, max_ms: u16) {
        self.scan = (current_ms, min_ms, max_ms);
        self.scan_set = (min_ms, max_ms);
    }

    pub(crate) fn set_jitter(&mut self, on: bool) {
        self.jitter = on;
    }

    /// Per request while jitter is on: the current link scan moves within
    /// `min ..= 2 × max`, and the maximum follows it up as a real SW006D does.
    /// Returns whether jitter is on (the image must be rendered again).
    pub(crate) fn tick(&mut self) -> bool {
        if !self.jitter {
            return false;
        }
        // xorshift32: deterministic per master, no dependency.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        let (min, max) = self.scan_set;
        let top = u32::from(max.max(min)) * 2;
        let span = top.saturating_sub(u32::from(min)) + 1;
        let current = u32::from(min) + x % span;
        let current = u16::try_from(current).unwrap_or(u16::MAX);
        let (_, seen_min, seen_max) = self.scan;
        self.scan = (current, seen_min.min(current), seen_max.max(current));
        true
    }

    /// Whether a configured device is out of the data link.
    fn is_down(&self, station: &SimStation) -> bool {
        self.speed_mismatch
            || self.dropped.contains(&station.number)
            || self.duplicates.contains(&station.number)
            || self.break_after.is_some_and(|k| station.number > k)
    }

    /// Numbers with a data-link error: down devices (all their numbers) and dropped
    /// numbers that belong to no configured device.
    fn link_error_numbers(&self) -> BTreeSet<u8> {
        let mut numbers: BTreeSet<u8> = self
            .stations
            .iter()
            .filter(|s| self.is_down(s))
            .flat_map(SimStation::numbers)
            .collect();
        for &n in self.dropped.iter().chain(&self.duplicates) {
            numbers.extend(self.numbers_of(n));
        }
        numbers
    }

    /// Renders SB `sb_base + 0x40 ..= 0x9F` and SW `sw_base + 0x60 ..= 0xC8` into `image`.
    pub(crate) fn render(&self, image: &mut Memory) {
        for off in offset::SW_WINDOW {
            image.set_word(SW, self.sw_base + off, 0);
        }
        for off in offset::SB_WINDOW {
            image.set_bit(SB, self.sb_base + off, false);
        }
        let sw = |image: &mut Memory, off: u32, value: u16| {
            image.set_word(SW, self.sw_base + off, value);
        };

        let map = &self.map;
        let errors = self.link_error_numbers();
        let overlap: BTreeSet<u8> = self
            .duplicates
            .iter()
            .flat_map(|&n| self.numbers_of(n))
            .collect();
        let all_down = !self.stations.is_empty() && self.stations.iter().all(|s| self.is_down(s));
        let bitmaps = [
            (
                Some(map.data_link_status),
                station_bitmap(errors.iter().copied()),
            ),
            (map.overlap_status, station_bitmap(overlap.iter().copied())),
        ];
        for (at, words) in bitmaps {
            if let Some(at) = at {
                for (i, word) in (0u32..).zip(words) {
                    sw(image, at + i, word);
                }
            }
        }
        if let Some(at) = map.line_status_word {
            sw(image, at, u16::from(all_down));
        }
        if let Some(at) = map.line_status_bit {
            image.set_bit(SB, self.sb_base + at, all_down);
        }
        image.set_bit(SB, self.sb_base + offset::SB_LINK_ERROR, !errors.is_empty());
        image.set_bit(SB, self.sb_base + offset::SB_OVERLAP, !overlap.is_empty());

        sw(image, offset::SW_MODE, 0);
        sw(image, offset::SW_HOST_STATION, 0);
        sw(image, offset::SW_SPEED, self.speed);
        if let Some(at) = map.link_scan {
            let (current, min, max) = self.scan;
            sw(image, at.max, max);
            sw(image, at.current, current);
            sw(image, at.min, min);
        }
        let last = |s: &SimStation| *s.numbers().end();
        let up: Vec<&SimStation> = self.stations.iter().filter(|s| !self.is_down(s)).collect();
        sw(
            image,
            offset::SW_TOTAL_STATIONS,
            self.stations.iter().map(last).max().map_or(0, u16::from),
        );
        sw(
            image,
            offset::SW_MAX_COMMUNICATING,
            up.iter().map(|s| last(s)).max().map_or(0, u16::from),
        );
        sw(
            image,
            offset::SW_CONNECTED,
            u16::try_from(up.len()).unwrap_or(u16::MAX),
        );

        // SW00C0..: per-station words, the last counter the total (9 counters by default).
        if let Some(first) = map.retry_counters {
            let count = u32::from(map.retry_counter_count);
            let (per_station, total) = retry_words(&self.retries);
            for (i, word) in (0u32..count.saturating_sub(1)).zip(per_station) {
                sw(image, first + i, word);
            }
            if count > 0 {
                sw(image, first + count - 1, total);
            }
        }
    }
}

/// Station `n` (1–64) → word `(n−1)/16`, bit `(n−1)%16` (reference §2.3); other numbers are
/// ignored.
pub(crate) fn station_bitmap(numbers: impl IntoIterator<Item = u8>) -> [u16; 4] {
    let mut words = [0u16; 4];
    for n in numbers {
        if (1..=64).contains(&n) {
            let i = usize::from(n - 1);
            words[i / 16] |= 1 << (i % 16);
        }
    }
    words
}

/// SW00C0–SW00C7 (a byte per station 1–16, odd station in the low byte) and SW00C8 (total).
fn retry_words(retries: &[u32; 65]) -> ([u16; 8], u16) {
    let byte = |n: usize| u16::try_from(retries[n].min(0xFF)).unwrap_or(0xFF);
    let mut words = [0u16; 8];
    for (i, word) in words.iter_mut().enumerate() {
        *word = byte(2 * i + 1) | (byte(2 * i + 2) << 8);
    }
    let total: u32 = retries.iter().fold(0u32, |sum, r| sum.saturating_add(*r));
    (words, u16::try_from(total).unwrap_or(u16::MAX))
}

#[cfg(test)]
mod tests {
    use super::super::memory::View;
    use super::*;

    fn line() -> Master {
        Master::new(
            0,
            0,
            vec![
                SimStation::remote_io(1, "in-1"),
                SimStation::remote_io(2, "out-2"),
                SimStation::remote_device(3, 2, "valve-3"),
                SimStation::remote_io(5, "in-5"),
                SimStation::intelligent(9, 4, "drive-9"),
                SimStation::remote_io(13, "in-13"),
                SimStation::remote_io(64, "last-64"),
            ],
        )
    }

    fn sw_words(master: &Master, from: u32, n: u32) -> Vec<u16> {
        let mut image = Memory::default();
        master.render(&mut image);
        let user = Memory::default();
        let view = View {
            user: &user,
            image: &image,
        };
        (from..from + n)
            .map(|a| view.word(SW, master.sw_base + a))
            .collect()
    }

    fn sb(master: &Master, number: u32) -> bool {
        let mut image = Memory::default();
        master.render(&mut image);
        let user = Memory::default();
        View {
            user: &user,
            image: &image,
        }
        .bit(SB, master.sb_base + number)
    }

    #[test]
    fn every_station_from_1_to_64_maps_to_its_own_word_and_bit() {
        for n in 1..=64u8 {
            let map = station_bitmap([n]);
            let (word, bit) = ((n - 1) / 16, (n - 1) % 16);
            for (i, w) in map.iter().enumerate() {
                let expected = if i == usize::from(word) {
                    1u16 << bit
                } else {
                    0
                };
                assert_eq!(*w, expected, "station {n}, word {i}");
            }
        }
        assert_eq!(station_bitmap([0, 65, 200]), [0; 4]);
        // Reference §1.8(a): station 3 → SW0080 = 0x0004, station 64 → SW0083 = 0x8000.
        assert_eq!(station_bitmap([3, 64]), [0x0004, 0, 0, 0x8000]);
    }

    #[test]
    fn a_healthy_line_has_no_error_bits_and_counts_every_device() {
        let master = line();
        assert_eq!(sw_words(&master, 0x80, 4), [0; 4]);
        assert_eq!(sw_words(&master, 0x90, 1), [0]);
        assert!(!sb(&master, 0x80));
        assert_eq!(sw_words(&master, 0x70, 3), [64, 64, 7]);
        assert_eq!(sw_words(&master, 0x6D, 3), [4, 3, 2]);
    }

    #[test]
    fn a_dropped_single_station_sets_one_bit_and_the_summary() {
        let mut master = line();
        master.drop_station(5, true);
        assert_eq!(sw_words(&master, 0x80, 4), [0x0010, 0, 0, 0]);
        assert!(sb(&master, 0x80));
        assert!(!sb(&master, 0x90));
        assert_eq!(sw_words(&master, 0x90, 1), [0]);
        master.drop_station(5, false);
        assert_eq!(sw_words(&master, 0x80, 4), [0; 4]);
        assert!(!sb(&master, 0x80));
    }

    #[test]
    fn a_dropped_multi_station_device_sets_all_its_occupied_bits() {
        let mut master = line();
        master.drop_station(9, true); // occupies 9..=12
        assert_eq!(sw_words(&master, 0x80, 4), [0x0F00, 0, 0, 0]);
        master.drop_station(9, false);
        master.drop_station(4, true); // the second number of the device at 3
        assert_eq!(sw_words(&master, 0x80, 4), [0x000C, 0, 0, 0]);
    }

    #[test]
    fn a_multi_station_device_across_a_word_boundary_sets_bits_in_both_words() {
        let mut master = Master::new(0, 0, vec![SimStation::remote_device(15, 4, "x")]);
        master.drop_station(15, true);
        assert_eq!(sw_words(&master, 0x80, 4), [0xC000, 0x0003, 0, 0]);
    }

    #[test]
    fn a_cable_break_drops_every_device_behind_it_and_repairs() {
        let mut master = line();
        master.cable_break_after(Some(9));
        // Devices at 13 and 64 are behind the break; the device at 9 (9..=12) is not.
        assert_eq!(sw_words(&master, 0x80, 4), [1 << 12, 0, 0, 0x8000]);
        assert_eq!(sw_words(&master, 0x90, 1), [0]);
        assert_eq!(sw_words(&master, 0x71, 2), [12, 5]);
        master.cable_break_after(Some(2));
        assert_eq!(
            sw_words(&master, 0x80, 4),
            [0b0001_1111_0001_1100, 0, 0, 0x8000]
        );
        master.cable_break_after(None);
        assert_eq!(sw_words(&master, 0x80, 4), [0; 4]);
    }

    #[test]
    fn a_break_before_the_first_station_takes_the_whole_line_down() {
        let mut master = line();
        master.cable_break_after(Some(0));
        assert_eq!(sw_words(&master, 0x90, 1), [1]);
        assert!(sb(&master, 0x90));
        assert_eq!(sw_words(&master, 0x71, 2), [0, 0]);
    }

    #[test]
    fn a_duplicate_number_sets_overlap_and_link_error_bits() {
        let mut master = line();
        master.duplicate_station(13, true);
        assert_eq!(sw_words(&master, 0x98, 4), [1 << 12, 0, 0, 0]);
        assert_eq!(sw_words(&master, 0x80, 4), [1 << 12, 0, 0, 0]);
        assert!(sb(&master, 0x98));
        master.duplicate_station(13, false);
        assert_eq!(sw_words(&master, 0x98, 4), [0; 4]);
        assert!(!sb(&master, 0x98));
    }

    #[test]
    fn a_speed_mismatch_drops_every_station_without_overlap_bits() {
        let mut master = line();
        master.set_speed_mismatch(true);
        assert_eq!(
            sw_words(&master, 0x80, 4),
            [0b0001_1111_0001_1111, 0, 0, 0x8000]
        );
        assert_eq!(sw_words(&master, 0x98, 4), [0; 4]);
        assert_eq!(sw_words(&master, 0x90, 1), [1]);
    }

    #[test]
    fn retries_count_per_station_and_in_total() {
        let mut master = line();
        master.add_retries(1, 3);
        master.add_retries(2, 1);
        master.add_retries(16, 300);
        master.add_retries(40, 7);
        let words = sw_words(&master, 0xC0, 9);
        assert_eq!(words[0], 0x0103);
        assert_eq!(words[7], 0xFF00, "station 16 saturates at 255 in its byte");
        assert_eq!(words[8], 311);
        master.add_retries(40, u16::MAX);
        assert_eq!(sw_words(&master, 0xC8, 1), [u16::MAX]);
    }

    #[test]
    fn the_image_follows_the_refresh_bases() {
        let mut master = Master::new(0x200, 0x200, vec![SimStation::remote_io(5, "x")]);
        master.drop_station(5, true);
        assert_eq!(sw_words(&master, 0x80, 1), [0x0010]);
        let mut image = Memory::default();
        master.render(&mut image);
        let user = Memory::default();
        let view = View {
            user: &user,
            image: &image,
        };
        assert_eq!(view.word(SW, 0x280), 0x0010);
        assert_eq!(view.word(SW, 0x80), 0);
        assert!(view.bit(SB, 0x280));
        assert!(!view.bit(SB, 0x80));
    }

    #[test]
    fn jitter_moves_the_current_scan_and_drags_the_maximum_up() {
        let mut master = line();
        master.set_link_scan(10, 8, 12);
        master.set_jitter(true);
        let mut seen = BTreeSet::new();
        for _ in 0..200 {
            master.tick();
            let (current, min, max) = master.scan;
            assert!((8..=24).contains(&current));
            assert_eq!(min, 8);
            assert!(max >= current && max >= 12);
            seen.insert(current);
        }
        assert!(seen.len() > 5, "the current scan varies: {seen:?}");
        master.set_jitter(false);
        master.set_link_scan(10, 8, 12);
        master.tick();
        assert_eq!(master.scan, (10, 8, 12));
    }

    #[test]
    fn station_validation_rejects_out_of_range_devices() {
        assert!(SimStation::remote_io(0, "x").validate().is_err());
        assert!(SimStation::remote_io(65, "x").validate().is_err());
        assert!(SimStation::remote_device(62, 4, "x").validate().is_err());
        assert!(SimStation::remote_device(61, 4, "x").validate().is_ok());
        assert!(SimStation::intelligent(1, 5, "x").validate().is_err());
    }
}
