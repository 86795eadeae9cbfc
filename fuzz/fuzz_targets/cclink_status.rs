//! The CC-Link master's link registers (SW/SB words) decoded into a station map and findings,
//! with and without a configured station list, for both network kinds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plcdiag_melsec::cclink::{CcLinkMaster, NetworkKind, NetworkStatus, StationConfig};

fuzz_target!(|data: &[u8]| {
    let Some((&shape, rest)) = data.split_first() else {
        return;
    };
    let words: Vec<u16> = rest
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c.get(1).copied().unwrap_or(0)]))
        .collect();
    let (sw, sb) = words.split_at(words.len() * 3 / 4);
    let kind = if shape & 1 == 0 {
        NetworkKind::CcLink
    } else {
        NetworkKind::CcLinkIeField
    };
    let mut master = CcLinkMaster::new("line", kind);
    if shape & 2 != 0 {
        // A configured list: stations 1..N, some occupying several numbers, some reserved.
        master.stations = (1..=(shape >> 2).max(1))
            .map(|n| {
                let mut s = StationConfig::new(n, format!("s{n}"));
                s.occupies = 1 + n % 4;
                s.reserved = n % 7 == 0;
                s
            })
            .collect();
    }
    let (sw_first, _) = master.sw_block();
    let sb_first = master.sb_block().map_or(0, |b| b.0);
    let status = NetworkStatus::decode(&master, sw_first, sw, sb_first, sb);
    for f in &status.findings {
        assert!(!f.text_en.is_empty() && !f.text_zh.is_empty());
    }
});
