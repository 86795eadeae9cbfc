//! SZL answers and their records (mode, modules, protection, cycle times, diagnostic buffer
//! entries) as a CPU sends them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plcdiag_s7::frame::records::{
    CycleTimes, ModeRecord, ModeStatus, ModuleStatus, Protection, TimeStatus,
};
use plcdiag_s7::frame::{DiagEntry, SzlHeader, SzlList, decode_bcd_time};

fuzz_target!(|data: &[u8]| {
    let _ = SzlHeader::decode(data);
    if let Ok(list) = SzlList::decode_payload(data) {
        let _ = ModeStatus::decode(&list.records);
        for r in &list.records {
            records(r);
        }
    }
    records(data);
});

fn records(r: &[u8]) {
    let _ = ModeRecord::decode(r);
    let _ = ModuleStatus::decode(r);
    let _ = Protection::decode(r);
    let _ = TimeStatus::decode(r);
    let _ = CycleTimes::decode(r);
    let _ = decode_bcd_time(r);
    if let Ok(e) = DiagEntry::decode(r) {
        let _ = format!("{e:?}");
    }
}
