//! `plcdiag probe modbus://...`: through the same adapter as the gateway's polling, so what the
//! probe shows is what the gateway would see.

use std::time::Instant;

use anyhow::{Context, bail};
use plcdiag_modbus::{Address, DataType, Encoding, Parity, PlanLimits, Point, SerialSettings};
use serde_json::json;

use super::ProbeArgs;
use crate::config::{ModbusDevice, ModbusTransport, Scaling, parse_host_port};
use crate::devices::ModbusPoller;
use crate::model::Quality;

/// Probes a Modbus device; `Ok(true)` when it answered.
pub(super) async fn run(args: ProbeArgs) -> anyhow::Result<bool> {
    let (transport, unit_id) = parse_url(&args.url)?;
    let word_order = args
        .word_order
        .parse()
        .map_err(|_| anyhow::anyhow!("--word-order must be high_first or low_first"))?;
    let specs = if args.points.is_empty() {
        (0..10).map(|i| format!("hr:{i}")).collect()
    } else {
        args.points.clone()
    };
    let mut points = Vec::new();
    for s in &specs {
        let mut p = parse_point(s)?;
        p.encoding.word_order = word_order;
        points.push(p);
    }
    let device = ModbusDevice {
        transport,
        unit_id,
        points: points.clone(),
        limits: PlanLimits::default(),
    };
    let mut poller =
        ModbusPoller::new(device, vec![Scaling::default(); points.len()], args.timeout);
    let requests = poller.requests_per_poll();
    let started = Instant::now();
    let outcome = poller.poll().await;
    let rtt = started.elapsed();
    match outcome {
        Err(e) => {
            if args.json {
                println!(
                    "{}",
                    json!({ "device": args.url, "answered": false, "error": e.message, "kind": e.kind })
                );
            } else {
                println!("{}: no answer: {}", args.url, e.message);
            }
            Ok(false)
        }
        Ok(readings) => {
            if args.json {
                let values: Vec<_> = readings
                    .iter()
                    .zip(&points)
                    .map(|(r, p)| {
                        let error = match &r.quality {
                            Quality::Bad(why) => Some(why.as_str()),
                            _ => None,
                        };
                        json!({ "address": p.address.to_string(), "type": p.encoding.data_type.to_string(), "value": r.value, "error": error })
                    })
                    .collect();
                let body = json!({ "device": args.url, "answered": true, "rtt_ms": rtt.as_secs_f64() * 1000.0, "requests": requests, "values": values });
                println!("{body}");
            } else {
                println!(
                    "{}: unit {unit_id} answered in {:.1} ms ({requests} request{})",
                    args.url,
                    rtt.as_secs_f64() * 1000.0,
                    if requests == 1 { "" } else { "s" }
                );
                for (r, p) in readings.iter().zip(&points) {
                    let shown = match (&r.quality, r.value) {
                        (Quality::Bad(why), _) => format!("bad: {why}"),
                        (_, Some(v)) => v.to_string(),
                        (_, None) => "-".into(),
                    };
                    println!(
                        "  {:<12} {:<5} {shown}",
                        p.address.to_string(),
                        p.encoding.data_type.to_string()
                    );
                }
            }
            Ok(true)
        }
    }
}

fn parse_point(s: &str) -> anyhow::Result<Point> {
    let (addr, ty) = match s.rsplit_once(':') {
        Some((a, t)) if t.parse::<DataType>().is_ok() => (a, t.parse::<DataType>().ok()),
        _ => (s, None),
    };
    let address: Address = addr.parse().with_context(|| format!("point {s:?}"))?;
    let data_type = ty.unwrap_or(if address.table.is_bits() {
        DataType::Bool
    } else {
        DataType::U16
    });
    let point = Point::new(address, Encoding::new(data_type));
    point.validate().with_context(|| format!("point {s:?}"))?;
    Ok(point)
}

fn parse_url(url: &str) -> anyhow::Result<(ModbusTransport, u8)> {
    let (scheme, rest) = url
        .split_once("://")
        .context("the device URL needs a scheme: modbus:// or modbus+rtu://")?;
    let (target, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut unit = 1u8;
    let mut serial = SerialSettings::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "unit" => {
                unit = v
                    .parse()
                    .with_context(|| format!("unit={v}: expected 0..255"))?
            }
            "baud" => serial.baud_rate = v.parse().with_context(|| format!("baud={v}"))?,
            "parity" => {
                serial.parity = v
                    .parse::<Parity>()
                    .map_err(|_| anyhow::anyhow!("parity={v}: expected none, even or odd"))?
            }
            "data_bits" => {
                serial.data_bits = v.parse().with_context(|| format!("data_bits={v}"))?
            }
            "stop_bits" => {
                serial.stop_bits = v.parse().with_context(|| format!("stop_bits={v}"))?
            }
            other => bail!(
                "unknown option `{other}` in {url:?}; known: unit, baud, parity, data_bits, stop_bits"
            ),
        }
    }
    let transport = match scheme {
        "modbus" | "modbus+tcp" => {
            let (host, port) =
                parse_host_port(target, 502).map_err(|e| anyhow::anyhow!("{url:?}: {e}"))?;
            ModbusTransport::Tcp { host, port }
        }
        "modbus+rtu" => {
            if target.is_empty() {
                bail!("{url:?} names no serial port");
            }
            serial.path = target.to_owned();
            ModbusTransport::Rtu(serial)
        }
        other => bail!("unknown scheme `{other}`: this build probes modbus:// and modbus+rtu://"),
    };
    Ok((transport, unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_urls_give_transport_and_unit() {
        let (t, u) = parse_url("modbus://10.0.0.7:1502?unit=5").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            t,
            ModbusTransport::Tcp {
                host: "10.0.0.7".into(),
                port: 1502
            }
        );
        assert_eq!(u, 5);
        let (t, _) = parse_url("modbus://plc").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            t,
            ModbusTransport::Tcp {
                host: "plc".into(),
                port: 502
            }
        );
        let (t, _) = parse_url("modbus+rtu:///dev/ttyUSB0?baud=19200&parity=even")
            .unwrap_or_else(|e| panic!("{e}"));
        let ModbusTransport::Rtu(s) = t else {
            panic!("rtu expected")
        };
        assert_eq!(
            (s.path.as_str(), s.baud_rate, s.parity),
            ("/dev/ttyUSB0", 19200, Parity::Even)
        );
        assert!(parse_url("modbus://plc?speed=1").is_err());
        assert!(parse_url("s7://plc").is_err());
        assert!(parse_url("plc:502").is_err());
    }

    #[test]
    fn probe_points_take_an_optional_type() {
        let p = parse_point("hr:100:f32").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.address.to_string(), "hr:100");
        assert_eq!(p.encoding.data_type, DataType::F32);
        let p = parse_point("coil:5").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.encoding.data_type, DataType::Bool);
        assert!(parse_point("coil:5:f32").is_err());
        assert!(parse_point("xx:1").is_err());
    }
}
