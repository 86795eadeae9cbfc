//! `plcdiag probe s7://...`: identity, mode, protection, cycle time and the newest diagnostic
//! entries of one S7 CPU, plus any variables named on the command line.

use std::fmt::Write as _;

use anyhow::{Context, bail};
use plcdiag_s7::catalog::{self, Lang};
use plcdiag_s7::{Client, ConnectOptions, DiagEntry, Reply, VarAddress};
use serde_json::{Value, json};

use super::ProbeArgs;
use crate::config::parse_host_port;

const S7_PORT: u16 = 102;

/// Probes an S7 CPU; `Ok(true)` when it answered.
pub(super) async fn run(args: ProbeArgs) -> anyhow::Result<bool> {
    let (host, port, mut options) = parse_url(&args.url)?;
    options.timeout = args.timeout;
    let lang: Lang = args
        .lang
        .parse()
        .map_err(|_| anyhow::anyhow!("--lang must be en or zh"))?;
    let points = args
        .points
        .iter()
        .map(|p| {
            p.parse::<VarAddress>()
                .with_context(|| format!("S7 address {p:?}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let outcome = probe(&host, port, &options, args.entries, &points, lang).await;
    Ok(super::print_outcome(
        &args,
        "cpu",
        json!({}),
        outcome,
        |r| text(&args.url, r),
    ))
}

/// Everything read, as JSON (also the source of the text form).
async fn probe(
    host: &str,
    port: u16,
    options: &ConnectOptions,
    entries: u16,
    points: &[VarAddress],
    lang: Lang,
) -> Result<Value, plcdiag_s7::Error> {
    let addr = crate::devices::resolve(host, port, options.timeout)
        .await
        .map_err(|e| match e {
            crate::devices::ResolveError::Timeout(d) => plcdiag_s7::Error::ConnectTimeout(d),
            crate::devices::ResolveError::Failed(e) => plcdiag_s7::Error::Connect(e),
        })?;
    let mut c = Client::connect(addr, options).await?;
    let refused = |r: plcdiag_s7::Refusal| json!({ "refused": r.to_string(), "unsupported": r.unsupported() });
    let identity = match c.identity().await? {
        Reply::Ok(i) => json!({
            "order_number": i.order_number, "firmware": i.firmware, "hardware": i.hardware,
            "plc_name": i.plc_name, "module_name": i.module_name, "serial": i.serial, "module_type": i.module_type,
        }),
        Reply::Refused(r) => refused(r),
    };
    let mode = match c.cpu_mode().await? {
        Reply::Ok(m) => {
            json!({ "mode": m.mode.to_string(), "previous": m.previous.to_string(), "changed_at": m.changed_at })
        }
        Reply::Refused(r) => refused(r),
    };
    let protection = match c.protection().await? {
        Reply::Ok(p) => json!({
            "level": p.level, "parameterised_level": p.parameterised_level,
            "key_switch": format!("{:?}", p.key_switch), "password_set": p.password_set,
        }),
        Reply::Refused(r) => refused(r),
    };
    let cycle = match c.cycle_times().await? {
        Reply::Ok(t) => {
            json!({ "current_ms": t.current_ms, "min_ms": t.min_ms, "max_ms": t.max_ms })
        }
        Reply::Refused(r) => refused(r),
    };
    let diagnostics = if entries == 0 {
        json!([])
    } else {
        match c.diag_buffer(entries).await? {
            Reply::Ok(list) => json!(list.iter().map(|e| entry_json(e, lang)).collect::<Vec<_>>()),
            Reply::Refused(r) => refused(r),
        }
    };
    let mut values = Vec::new();
    if !points.is_empty() {
        for (a, r) in points.iter().zip(c.read_vars(points).await?) {
            values.push(match r {
                Ok(v) => json!({ "address": a.to_string(), "value": v.as_f64(), "raw": format!("{v:?}") }),
                Err(e) => json!({ "address": a.to_string(), "error": e.to_string() }),
            });
        }
    }
    Ok(json!({
        "pdu_size": c.pdu_size(),
        "rack": options.rack, "slot": options.slot, "connection_type": options.connection_type.to_string(),
        "identity": identity, "mode": mode, "protection": protection, "cycle_times": cycle,
        "diagnostic_buffer": diagnostics, "values": values,
    }))
}

fn entry_json(e: &DiagEntry, lang: Lang) -> Value {
    let text = catalog::describe(e.event_id.0, lang);
    json!({
        "time": e.timestamp.map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()),
        "event_id": format!("0x{:04X}", e.event_id.0),
        "class": e.event_id.class(),
        "entering": e.event_id.entering(),
        "text": text.text,
        "class_meaning": text.class_meaning,
        "remedy": text.remedy,
        "priority": e.priority, "ob": e.ob,
        "dat_id": format!("0x{:04X}", e.dat_id), "info1": format!("0x{:04X}", e.info1), "info2": format!("0x{:08X}", e.info2),
    })
}

/// The report as text for a fault report.
fn text(url: &str, r: &Value) -> String {
    let s = |v: &Value| {
        v.as_str().map(str::to_owned).unwrap_or_else(|| {
            if v.is_null() {
                "-".into()
            } else {
                v.to_string()
            }
        })
    };
    let part = |v: &Value, f: &dyn Fn(&Value) -> String| match v.get("refused") {
        Some(why) => format!("not available ({})", s(why)),
        None => f(v),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "S7 CPU {url}: rack {}, slot {}, {} connection, PDU {}",
        r["rack"],
        r["slot"],
        s(&r["connection_type"]),
        r["pdu_size"]
    );
    let id = &r["identity"];
    let _ = writeln!(
        out,
        "  Identity:    {}",
        part(id, &|i| format!(
            "{}  firmware {}  serial {}  {}",
            s(&i["order_number"]),
            s(&i["firmware"]),
            s(&i["serial"]),
            s(&i["module_type"])
        ))
    );
    let _ = writeln!(
        out,
        "  Mode:        {}",
        part(&r["mode"], &|m| format!(
            "{} (previous {}, changed {})",
            s(&m["mode"]),
            s(&m["previous"]),
            s(&m["changed_at"])
        ))
    );
    let _ = writeln!(
        out,
        "  Protection:  {}",
        part(&r["protection"], &|p| format!(
            "level {}, key switch {}, password {}",
            p["level"],
            s(&p["key_switch"]),
            if p["password_set"] == true {
                "set"
            } else {
                "not set"
            }
        ))
    );
    let _ = writeln!(
        out,
        "  Cycle time:  {}",
        part(&r["cycle_times"], &|c| format!(
            "{} ms (min {} ms, max {} ms)",
            c["current_ms"], c["min_ms"], c["max_ms"]
        ))
    );
    match r["diagnostic_buffer"].as_array() {
        None => {
            let _ = writeln!(
                out,
                "  Diagnostic buffer: {}",
                part(&r["diagnostic_buffer"], &|_| String::new())
            );
        }
        Some(list) => {
            let _ = writeln!(
                out,
                "  Diagnostic buffer, newest first ({} entries):",
                list.len()
            );
            for e in list {
                let _ = writeln!(
                    out,
                    "    {:<23}  {}  {}{}",
                    s(&e["time"]),
                    s(&e["event_id"]),
                    s(&e["text"]),
                    if e["entering"] == false {
                        " (leaving)"
                    } else {
                        ""
                    }
                );
                let _ = writeln!(
                    out,
                    "    {:<23}          OB {} PK {} DatID {} info1 {} info2 {}",
                    "",
                    e["ob"],
                    e["priority"],
                    s(&e["dat_id"]),
                    s(&e["info1"]),
                    s(&e["info2"])
                );
            }
        }
    }
    for v in r["values"].as_array().into_iter().flatten() {
        let shown = match v.get("error") {
            Some(e) => format!("error: {}", s(e)),
            None => s(&v["value"]),
        };
        let _ = writeln!(out, "  {:<20} {shown}", s(&v["address"]));
    }
    out
}

/// `s7://HOST[:PORT][?rack=0&slot=2&type=op&pdu=480&local_tsap=0x0100&remote_tsap=0x0200]`.
fn parse_url(url: &str) -> anyhow::Result<(String, u16, ConnectOptions)> {
    let rest = url
        .strip_prefix("s7://")
        .context("an S7 URL starts with s7://")?;
    let (target, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (host, port) =
        parse_host_port(target, S7_PORT).map_err(|e| anyhow::anyhow!("{url:?}: {e}"))?;
    let mut o = ConnectOptions::default();
    let tsap = |v: &str| -> anyhow::Result<u16> {
        let hex = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X"));
        Ok(match hex {
            Some(h) => u16::from_str_radix(h, 16)?,
            None => v.parse()?,
        })
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "rack" => o.rack = v.parse().with_context(|| format!("rack={v}"))?,
            "slot" => o.slot = v.parse().with_context(|| format!("slot={v}"))?,
            "type" => {
                o.connection_type = v
                    .parse()
                    .map_err(|_| anyhow::anyhow!("type={v}: expected op, pg or basic"))?
            }
            "pdu" => o.pdu_size = v.parse().with_context(|| format!("pdu={v}"))?,
            "local_tsap" => {
                o.local_tsap = Some(tsap(v).with_context(|| format!("local_tsap={v}"))?)
            }
            "remote_tsap" => {
                o.remote_tsap = Some(tsap(v).with_context(|| format!("remote_tsap={v}"))?)
            }
            other => bail!(
                "unknown option `{other}` in {url:?}; known: rack, slot, type, pdu, local_tsap, remote_tsap"
            ),
        }
    }
    // The same limits as the config file (docs/CONFIG.md), so a probe tests what a config would use.
    if o.rack > 7 || o.slot > 31 {
        bail!(
            "rack must be 0 to 7 and slot 0 to 31 (got rack {}, slot {})",
            o.rack,
            o.slot
        );
    }
    if !(240..=960).contains(&o.pdu_size) {
        bail!("pdu must be 240 to 960 (got {})", o.pdu_size);
    }
    Ok((host, port, o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s7_urls_give_host_port_and_connection_options() {
        let (h, p, o) = parse_url("s7://10.0.0.9?rack=0&slot=3&type=pg&pdu=240")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (h.as_str(), p, o.rack, o.slot, o.pdu_size),
            ("10.0.0.9", 102, 0, 3, 240)
        );
        assert_eq!(o.connection_type, plcdiag_s7::ConnectionType::Pg);
        let (_, p, o) =
            parse_url("s7://plc:1102?remote_tsap=0x0200").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p, o.remote_tsap), (1102, Some(0x0200)));
        assert!(parse_url("s7://plc?slot=x").is_err());
        assert!(parse_url("s7://plc?speed=1").is_err());
        assert!(parse_url("s7://plc?rack=9").is_err());
        assert!(parse_url("s7://plc?pdu=100").is_err());
    }
}
