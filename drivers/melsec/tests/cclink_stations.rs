//! Station decoding (`melsec-cclink.md` §2.3, §2.4) and the troubleshooting findings
//! (§2.8), on hand-built SW/SB images with the CC-Link default map.

use plcdiag_melsec::{
    CcLinkMaster, FindingKind, NetworkKind, NetworkStatus, StationConfig, StationState,
    StationStatus, diagnose,
};

/// An SW image SW0000..SW00FF and SB image SB0000..SB00FF (16 words), all zero.
struct Image {
    sw: Vec<u16>,
    sb: Vec<u16>,
}

impl Image {
    fn new() -> Image {
        Image {
            sw: vec![0; 0x100],
            sb: vec![0; 0x10],
        }
    }

    /// Sets station `n`'s bit in the bitmap at SW `first`.
    fn station(&mut self, first: usize, n: usize) -> &mut Self {
        self.sw[first + (n - 1) / 16] |= 1 << ((n - 1) % 16);
        self
    }

    fn decode(&self, master: &CcLinkMaster) -> NetworkStatus {
        NetworkStatus::decode(master, 0, &self.sw, 0, &self.sb)
    }
}

fn master(stations: Vec<StationConfig>) -> CcLinkMaster {
    let mut m = CcLinkMaster::new("line 1", NetworkKind::CcLink);
    m.stations = stations;
    m
}

fn stations(numbers: &[u8]) -> Vec<StationConfig> {
    numbers
        .iter()
        .map(|n| {
            let mut s = StationConfig::new(*n, format!("rio{n}"));
            s.model = Some("AJ65SBTB1-16D".into());
            s
        })
        .collect()
}

fn get(status: &NetworkStatus, n: u8) -> &StationStatus {
    status.stations.iter().find(|s| s.number == n).unwrap()
}

#[test]
fn section_1_8_a_image_marks_station_3_and_station_64_faulty() {
    let mut img = Image::new();
    img.sw[0x80] = 0x0004;
    img.sw[0x83] = 0x8000;
    let status = img.decode(&master(Vec::new()));
    let numbers: Vec<u8> = status.stations.iter().map(|s| s.number).collect();
    assert_eq!(numbers, vec![3, 64]);
    assert!(
        status
            .stations
            .iter()
            .all(|s| s.state == StationState::Faulty)
    );
    assert!(status.line_ok);
}

/// Issue 12, finding 6: without a station list the registers name only the stations that
/// report something; stations 3 and 64 down is no evidence that *all* are down (nor of a cable
/// break between them): each is reported as down, with no cause inferred.
#[test]
fn without_a_station_list_no_cause_is_claimed_for_the_stations_down() {
    let mut img = Image::new();
    img.sw[0x80] = 0x0004;
    img.sw[0x83] = 0x8000;
    let status = img.decode(&master(Vec::new()));
    let kinds: Vec<(FindingKind, Vec<u8>)> = status
        .findings
        .iter()
        .map(|f| (f.kind, f.stations.clone()))
        .collect();
    assert_eq!(
        kinds,
        vec![(FindingKind::Down, vec![3]), (FindingKind::Down, vec![64])]
    );
    for f in &status.findings {
        assert!(f.text_en.contains("no cause is inferred"), "{}", f.text_en);
        assert!(!f.text_en.contains("cable break"), "{}", f.text_en);
        assert!(f.remedy_en.contains("[[devices.cclink.stations]]"));
    }
    // The same two stations on a line the config lists in full: a cause is named.
    let listed = img.decode(&master(stations(&[3, 64])));
    assert_eq!(listed.findings[0].kind, FindingKind::AllDown);
    // Consecutive stations down without a list: still no cable break claimed.
    let mut img = Image::new();
    img.station(0x80, 5).station(0x80, 6).station(0x80, 7);
    let status = img.decode(&master(Vec::new()));
    assert!(
        status.findings.iter().all(|f| f.kind == FindingKind::Down),
        "{:?}",
        status.findings
    );
}

#[test]
fn every_fault_bitmap_sets_its_own_flag() {
    let mut img = Image::new();
    img.station(0x84, 2) // watchdog
        .station(0x88, 3) // fuse
        .station(0x8C, 4) // switch change
        .station(0x98, 5) // overlap
        .station(0x9C, 6); // parameter mismatch
    let status = img.decode(&master(stations(&[1, 2, 3, 4, 5, 6])));
    assert_eq!(get(&status, 1).state, StationState::Ok);
    assert!(get(&status, 2).watchdog_error);
    assert!(get(&status, 3).fuse_blown);
    assert!(get(&status, 4).switch_changed);
    assert_eq!(
        get(&status, 4).state,
        StationState::Ok,
        "a switch change alone is a warning"
    );
    assert!(get(&status, 5).number_overlap);
    assert!(get(&status, 6).parameter_mismatch);
    for n in [2, 3, 5, 6] {
        assert_eq!(get(&status, n).state, StationState::Faulty, "station {n}");
    }
}

#[test]
fn reserved_and_error_invalid_stations_are_masked() {
    let mut img = Image::new();
    img.station(0x80, 2)
        .station(0x74, 2) // reserved
        .station(0x80, 3)
        .station(0x78, 3) // error invalid
        .station(0x80, 4)
        .station(0x7C, 4) // temporary error invalid
        .station(0x80, 6);
    let mut cfg = stations(&[1, 2, 3, 4, 5, 6]);
    cfg[4].reserved = true; // station 5 reserved in the configuration
    let status = img.decode(&master(cfg));
    assert_eq!(get(&status, 2).state, StationState::Reserved);
    assert!(!get(&status, 2).data_link_error);
    assert_eq!(get(&status, 3).state, StationState::ErrorInvalid);
    assert_eq!(get(&status, 4).state, StationState::ErrorInvalid);
    assert_eq!(get(&status, 5).state, StationState::Reserved);
    assert_eq!(get(&status, 6).state, StationState::Faulty);
    // Only station 6 is reported.
    let reported: Vec<u8> = status
        .findings
        .iter()
        .flat_map(|f| f.stations.clone())
        .collect();
    assert_eq!(reported, vec![6]);
}

#[test]
fn four_station_device_is_faulty_whether_only_the_head_bit_or_all_bits_are_set() {
    // §2.3 / §8.1: whether classic CC-Link sets one or all occupied bits is unconfirmed.
    let mut cfg = stations(&[1, 5]);
    cfg[0].occupies = 4;
    cfg[0].model = Some("intelligent device, 4 stations".into());
    let m = master(cfg);

    let mut head_only = Image::new();
    head_only.station(0x80, 1);
    let mut all = Image::new();
    for n in 1..=4 {
        all.station(0x80, n);
    }
    let mut last_only = Image::new();
    last_only.station(0x80, 4);
    for img in [&head_only, &all, &last_only] {
        let status = img.decode(&m);
        assert_eq!(status.stations.len(), 2);
        assert!(get(&status, 1).data_link_error);
        assert_eq!(get(&status, 1).state, StationState::Faulty);
        assert_eq!(get(&status, 5).state, StationState::Ok);
    }
    // A bit of the next device does not leak into the 4-station device.
    let mut next = Image::new();
    next.station(0x80, 5);
    let status = next.decode(&m);
    assert_eq!(get(&status, 1).state, StationState::Ok);
}

#[test]
fn station_bits_cross_word_boundaries_per_section_2_3() {
    let mut img = Image::new();
    img.station(0x80, 16)
        .station(0x80, 17)
        .station(0x80, 33)
        .station(0x80, 49);
    assert_eq!(img.sw[0x80], 0x8000);
    assert_eq!(img.sw[0x81], 0x0001);
    let status = img.decode(&master(Vec::new()));
    let numbers: Vec<u8> = status.stations.iter().map(|s| s.number).collect();
    assert_eq!(numbers, vec![16, 17, 33, 49]);
}

#[test]
fn refresh_bases_shift_every_offset() {
    let mut m = master(stations(&[1, 2]));
    m.sw_base = 0x200;
    m.sb_base = 0x200;
    let (first, words) = m.sw_block();
    assert_eq!(first, 0x200 + 0x6D);
    assert_eq!(words, 0xC9 - 0x6D);
    let mut sw = vec![0u16; words as usize];
    sw[(0x80 - 0x6D) as usize] = 0b10; // station 2
    sw[(0x6E - 0x6D) as usize] = 12; // current link scan
    let (sb_first, sb_words) = m.sb_block().unwrap();
    assert_eq!((sb_first, sb_words), (0x290, 1));
    let status = NetworkStatus::decode(&m, first, &sw, sb_first, &[0]);
    assert_eq!(get(&status, 2).state, StationState::Faulty);
    assert_eq!(status.link_scan.unwrap().current_ms, 12);
    assert_eq!(status.retries.len(), 9);
}

#[test]
fn line_status_word_or_relay_makes_the_line_abnormal() {
    let mut img = Image::new();
    img.sw[0x90] = 1;
    assert!(!img.decode(&master(stations(&[1]))).line_ok);
    let mut img = Image::new();
    img.sb[0x9] = 1; // SB0090
    assert!(!img.decode(&master(stations(&[1]))).line_ok);
}

#[test]
fn override_map_moves_the_station_bitmap() {
    let mut m = master(stations(&[1, 2]));
    m.map.data_link_status = 0xA0;
    let mut img = Image::new();
    img.station(0xA0, 1);
    let status = img.decode(&m);
    assert_eq!(get(&status, 1).state, StationState::Faulty);
    assert_eq!(get(&status, 2).state, StationState::Ok);
}

#[test]
fn ie_field_uses_its_own_bitmap() {
    let mut m = CcLinkMaster::new("ie", NetworkKind::CcLinkIeField);
    m.stations = stations(&[1, 100]);
    let mut img = Image::new();
    img.station(0xB0, 100);
    img.station(0x80, 1); // the classic CC-Link bitmap means nothing here
    let status = img.decode(&m);
    assert_eq!(get(&status, 1).state, StationState::Ok);
    assert_eq!(get(&status, 100).state, StationState::Faulty);
}

// --- diagnose() ---

fn st(n: u8, down: bool) -> StationStatus {
    StationStatus {
        number: n,
        occupies: 1,
        name: format!("rio{n}"),
        model: Some("AJ65SBTB1-32D".into()),
        state: if down {
            StationState::Faulty
        } else {
            StationState::Ok
        },
        data_link_error: down,
        watchdog_error: false,
        fuse_blown: false,
        switch_changed: false,
        number_overlap: false,
        parameter_mismatch: false,
    }
}

fn line(down: &[u8], upto: u8) -> Vec<StationStatus> {
    (1..=upto).map(|n| st(n, down.contains(&n))).collect()
}

#[test]
fn one_station_down_points_at_module_power_cable_and_switches() {
    let f = diagnose(&line(&[7], 12), true, true);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, FindingKind::StationDown);
    assert_eq!(f[0].stations, vec![7]);
    assert!(f[0].text_en.contains("24 V"));
    assert!(f[0].text_en.contains("AJ65SBTB1-32D"));
    assert!(f[0].remedy_en.contains("B RATE"));
    assert!(f[0].remedy_zh.contains("B RATE"));
    assert!(f[0].confirmed);
}

#[test]
fn contiguous_run_to_the_end_is_a_cable_break_between_k_and_k_plus_1() {
    let f = diagnose(&line(&[5, 6, 7, 8, 9, 10, 11, 12], 12), true, true);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, FindingKind::CableBreak);
    assert_eq!(f[0].stations, (5..=12).collect::<Vec<u8>>());
    assert!(
        f[0].text_en
            .contains("stations 5..12 lost together: cable break or connector fault between station 4 and station 5"),
        "{}",
        f[0].text_en
    );
    assert!(f[0].text_zh.contains("4 号站"));
}

#[test]
fn a_run_in_the_middle_is_a_group_and_not_a_cable_break() {
    let f = diagnose(&line(&[3, 4, 5], 8), true, true);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, FindingKind::GroupDown);
    assert_eq!(f[0].stations, vec![3, 4, 5]);
}

#[test]
fn all_stations_down_points_at_master_and_trunk_line() {
    let all: Vec<u8> = (1..=6).collect();
    let f = diagnose(&line(&all, 6), false, true);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, FindingKind::AllDown);
    assert!(f[0].text_en.contains("line status is abnormal"));
    assert!(f[0].remedy_en.contains("master"));
}

#[test]
fn overlap_is_reported_once_for_both_stations() {
    let mut s = line(&[], 6);
    for n in [2usize, 4] {
        s[n - 1].number_overlap = true;
        s[n - 1].data_link_error = true;
        s[n - 1].state = StationState::Faulty;
    }
    let f = diagnose(&s, true, true);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].kind, FindingKind::NumberOverlap);
    assert_eq!(f[0].stations, vec![2, 4]);
    assert!(!f[0].confirmed);
}

#[test]
fn parameter_mismatch_is_reported_instead_of_station_down() {
    let mut s = line(&[3], 6);
    s[2].parameter_mismatch = true;
    let f = diagnose(&s, true, true);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].kind, FindingKind::ParameterMismatch);
    assert_eq!(f[0].stations, vec![3]);
}

#[test]
fn blown_fuse_and_switch_change_on_a_running_station_are_reported() {
    let mut s = line(&[], 4);
    s[0].fuse_blown = true;
    s[0].state = StationState::Faulty;
    s[1].switch_changed = true;
    let f = diagnose(&s, true, true);
    let kinds: Vec<FindingKind> = f.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        vec![FindingKind::FuseBlown, FindingKind::SwitchChanged]
    );
}

#[test]
fn line_abnormal_with_stations_still_up_is_its_own_finding() {
    let f = diagnose(&line(&[], 4), false, true);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, FindingKind::LineAbnormal);
}

#[test]
fn healthy_network_has_no_findings() {
    assert!(diagnose(&line(&[], 64), true, true).is_empty());
}
