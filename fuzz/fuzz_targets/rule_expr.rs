//! The rule language (lexer, parser, type checker) on any condition text, compiled against a
//! plant of every device kind, as `check-config` does.
#![no_main]

use libfuzzer_sys::fuzz_target;

const PLANT: &str = r#"
[[devices]]
name = "boiler"
kind = "modbus"
address = "tcp://127.0.0.1:502"

[[devices.tags]]
name = "temperature"
address = "hr:0"

[[devices]]
name = "cpu"
kind = "s7"
address = "127.0.0.1"

[[devices]]
name = "plc"
kind = "melsec"
address = "127.0.0.1:5007"

[[devices.cclink]]
name = "line 3"
"#;

fuzz_target!(|data: &[u8]| {
    let Ok(condition) = std::str::from_utf8(data) else {
        return;
    };
    // A TOML literal string cannot hold a newline or an apostrophe; a basic one escapes all.
    let mut escaped = String::with_capacity(condition.len());
    for c in condition.chars() {
        match c {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            c if c.is_control() => escaped.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => escaped.push(c),
        }
    }
    let text = format!(
        "{PLANT}\n[[rules]]\nname = \"r\"\nwhen = \"{escaped}\"\nmessage = \"{escaped}\"\n"
    );
    let _ = plcdiag::config::parse(&text, std::path::Path::new("/etc/plcdiag"));
});
