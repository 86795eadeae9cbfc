//! The API's query parameters: times (`from`, `to`), page positions (`before`, `after`) and
//! event classes, as the handlers parse them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plcdiag::store::{DiagPosition, parse_class};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = plcdiag::web::time::parse("from", s) {
        // Accepted times leave room for every window the handlers compute.
        let _ = t - chrono::Duration::days(366);
        let _ = t + chrono::Duration::days(366);
    }
    let _ = s.parse::<DiagPosition>();
    let _ = parse_class(s);
});
