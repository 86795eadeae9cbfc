//! `plcdiag probe`: connect to one device once, read, print what it answered, in a form an
//! engineer can paste into a fault report (`--json` for machines). Exit code 0 when the device
//! answered, 3 when it did not.

mod melsec;
mod modbus;
mod s7;

use std::time::Duration;

use clap::Args;

/// `plcdiag probe` arguments.
#[derive(Args, Debug)]
pub struct ProbeArgs {
    /// The device: `modbus://HOST[:PORT][?unit=N]`,
    /// `modbus+rtu:///dev/ttyUSB0[?unit=N&baud=9600&parity=none&data_bits=8&stop_bits=1]`, or
    /// `s7://HOST[:PORT][?rack=0&slot=2&type=op&pdu=480]`, or
    /// `mc://HOST:PORT[?udp&frame=4e&series=q&sb=0x0&sw=0x0&stations=1-8&nocclink]`.
    pub url: String,
    /// What to read. Modbus: `ADDRESS[:TYPE]`, e.g. `hr:0`, `hr:100:f32`, `coil:5`, `40001:u32`
    /// (default hr:0 to hr:9). S7: STEP 7 addresses, e.g. `DB10.DBD4:REAL`, `MW20`, `I0.1`.
    /// MELSEC: `D100:INT`, `D200:REAL`, `M20`, `X1F`.
    pub points: Vec<String>,
    /// Connect and response timeout.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Modbus: word order of 32/64-bit values, `high_first` or `low_first`.
    #[arg(long, default_value = "high_first")]
    pub word_order: String,
    /// S7: how many diagnostic-buffer entries to print, newest first.
    #[arg(long, default_value_t = 20)]
    pub entries: u16,
    /// Language of diagnostic texts: `en` or `zh` (简体中文).
    #[arg(long, default_value = "en")]
    pub lang: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the probe; `Ok(true)` when the device answered, `Err` for a bad command line.
pub async fn run(args: ProbeArgs) -> anyhow::Result<bool> {
    if args.url.starts_with("s7://") {
        s7::run(args).await
    } else if args.url.starts_with("mc://") {
        melsec::run(args).await
    } else {
        modbus::run(args).await
    }
}

/// Prints a probe's outcome, as JSON (`{device, answered, <key>: report}` plus `extra`) or as
/// text; returns whether the device answered.
fn print_outcome<E: std::fmt::Display>(
    args: &ProbeArgs,
    key: &str,
    extra: serde_json::Value,
    outcome: Result<serde_json::Value, E>,
    text: impl FnOnce(&serde_json::Value) -> String,
) -> bool {
    let (answered, mut body) = match &outcome {
        Ok(report) => (
            true,
            serde_json::json!({ "device": args.url, "answered": true, key: report }),
        ),
        Err(e) => (
            false,
            serde_json::json!({ "device": args.url, "answered": false, "error": e.to_string() }),
        ),
    };
    if args.json {
        if let (Some(body), serde_json::Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        println!("{body}");
    } else {
        match &outcome {
            Ok(report) => print!("{}", text(report)),
            Err(e) => println!("{}: no answer: {e}", args.url),
        }
    }
    answered
}
