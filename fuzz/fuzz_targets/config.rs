//! The config loader on any text: problems with positions, or a config; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match plcdiag::config::parse(text, std::path::Path::new("/etc/plcdiag")) {
        Ok(config) => {
            let _ = config.devices.len();
        }
        Err(problems) => {
            // Every problem points into the text (or at no place at all).
            let lines = text.lines().count().max(1);
            for p in problems {
                assert!(
                    p.line <= lines + 1,
                    "line {} of {lines}: {}",
                    p.line,
                    p.message
                );
            }
        }
    }
});
