//! `plcdiag probe mc://...`: CPU run state and self-diagnosis with error text, and each CC-Link
//! station's state with the likely causes, plus any MELSEC devices named on the command line.

use std::fmt::Write as _;

use anyhow::{Context, bail};
use plcdiag_melsec::errors::{self, Lang};
use plcdiag_melsec::{
    CcLinkMaster, Client, ConnectOptions, NetworkKind, Reply, StationConfig, TagAddress,
};
use serde_json::{Value, json};

use super::ProbeArgs;
use crate::config::parse_host_port;

/// What the URL asked for.
struct Target {
    host: String,
    port: u16,
    options: ConnectOptions,
    /// `None`: no CC-Link read (`?nocclink`).
    master: Option<CcLinkMaster>,
    /// True when the CC-Link master is the assumed default, so the output says so.
    assumed: bool,
}

/// Probes a MELSEC PLC; `Ok(true)` when it answered.
pub(super) async fn run(args: ProbeArgs) -> anyhow::Result<bool> {
    let mut t = parse_url(&args.url)?;
    t.options.timeout = args.timeout;
    let lang: Lang = args
        .lang
        .parse()
        .map_err(|_| anyhow::anyhow!("--lang must be en or zh"))?;
    let tags = args
        .points
        .iter()
        .map(|p| {
            p.parse::<TagAddress>()
                .with_context(|| format!("MELSEC address {p:?}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let outcome = probe(&t, &tags, lang).await;
    let extra = json!({ "assumed_default_master": t.assumed });
    Ok(super::print_outcome(&args, "plc", extra, outcome, |r| {
        text(&args.url, r, t.assumed)
    }))
}

async fn probe(
    t: &Target,
    tags: &[TagAddress],
    lang: Lang,
) -> Result<Value, plcdiag_melsec::Error> {
    let addr = crate::devices::resolve(t.host.as_str(), t.port, t.options.timeout)
        .await
        .map_err(|e| match e {
            crate::devices::ResolveError::Timeout(d) => plcdiag_melsec::Error::ConnectTimeout(d),
            crate::devices::ResolveError::Failed(e) => plcdiag_melsec::Error::Connect(e),
        })?;
    let mut c = Client::connect(addr, &t.options).await?;
    let cpu = match c.cpu_diagnosis().await? {
        Reply::Ok(d) => {
            let text =
                (d.error_code != 0).then(|| errors::describe(d.error_code, t.options.series, lang));
            json!({
                "run_state": d.run_state.to_string(),
                "error": d.error,
                "error_code": d.error_code,
                "error_text": text.as_ref().map(|t| t.text.to_string()),
                "remedy": text.as_ref().map(|t| t.remedy.to_string()),
                "text_confirmed": text.as_ref().map(|t| t.confirmed),
                "error_time": d.error_time.map(|t| t.to_string()),
                "stop_cause": d.stop_cause,
                "battery_low": d.battery_low,
            })
        }
        Reply::EndCode(code) => json!({ "refused": code.to_string() }),
    };
    let cclink = match &t.master {
        None => Value::Null,
        Some(m) => match c.cclink(m).await? {
            Reply::Ok(s) => {
                let pick = |en: &str, zh: &str| {
                    if lang == Lang::ZhCn {
                        zh.to_owned()
                    } else {
                        en.to_owned()
                    }
                };
                json!({
                    "sb_base": format!("SB{:04X}", m.sb_base),
                    "sw_base": format!("SW{:04X}", m.sw_base),
                    "line_ok": s.line_ok,
                    "link_scan": s.link_scan.map(|l| json!({ "current_ms": l.current_ms, "min_ms": l.min_ms, "max_ms": l.max_ms })),
                    "stations": s.stations.iter().map(|st| json!({
                        "number": st.number, "occupies": st.occupies, "state": format!("{:?}", st.state).to_lowercase(),
                        "down": st.is_down(), "watchdog_error": st.watchdog_error, "fuse_blown": st.fuse_blown,
                        "switch_changed": st.switch_changed, "number_overlap": st.number_overlap,
                    })).collect::<Vec<_>>(),
                    "findings": s.findings.iter().map(|f| json!({
                        "kind": format!("{:?}", f.kind), "stations": f.stations,
                        "text": pick(&f.text_en, &f.text_zh), "remedy": pick(&f.remedy_en, &f.remedy_zh), "confirmed": f.confirmed,
                    })).collect::<Vec<_>>(),
                })
            }
            Reply::EndCode(code) => json!({ "refused": code.to_string() }),
        },
    };
    let mut values = Vec::new();
    if !tags.is_empty() {
        for (a, r) in tags.iter().zip(c.read_tags(tags).await?) {
            values.push(match r {
                Ok(v) => json!({ "address": a.to_string(), "value": v.as_f64() }),
                Err(e) => json!({ "address": a.to_string(), "error": e.to_string() }),
            });
        }
    }
    Ok(json!({ "cpu": cpu, "cclink": cclink, "values": values }))
}

fn text(url: &str, r: &Value, assumed: bool) -> String {
    let s = |v: &Value| {
        v.as_str().map(str::to_owned).unwrap_or_else(|| {
            if v.is_null() {
                "-".into()
            } else {
                v.to_string()
            }
        })
    };
    let mut out = String::new();
    let cpu = &r["cpu"];
    let _ = writeln!(out, "MELSEC PLC {url}");
    match cpu.get("refused") {
        Some(why) => {
            let _ = writeln!(
                out,
                "  CPU:         self-diagnosis not available ({})",
                s(why)
            );
        }
        None => {
            let _ = writeln!(out, "  CPU:         {}", s(&cpu["run_state"]));
            if cpu["error_code"] == 0 {
                let _ = writeln!(out, "  Error:       none");
            } else {
                let _ = writeln!(
                    out,
                    "  Error:       {} {} (at {})",
                    cpu["error_code"],
                    s(&cpu["error_text"]),
                    s(&cpu["error_time"])
                );
                let _ = writeln!(out, "  Remedy:      {}", s(&cpu["remedy"]));
            }
        }
    }
    let cc = &r["cclink"];
    if !cc.is_null() {
        if assumed {
            let _ = writeln!(
                out,
                "  CC-Link:     assuming one master refreshed to SB0000/SW0000 with up to 64 stations (set sb=, sw=, stations= to change)"
            );
        }
        match cc.get("refused") {
            Some(why) => {
                let _ = writeln!(out, "  CC-Link:     SB/SW read refused ({})", s(why));
            }
            None => {
                let stations = cc["stations"].as_array().cloned().unwrap_or_default();
                let down: Vec<String> = stations
                    .iter()
                    .filter(|s| s["down"] == true)
                    .map(|s| s["number"].to_string())
                    .collect();
                let listed = if assumed {
                    // Without a station list only stations with a fault bit are known.
                    String::new()
                } else {
                    format!(", {} station(s)", stations.len())
                };
                let _ = writeln!(
                    out,
                    "  CC-Link:     SB{}/SW{} base, line {}, link scan {} ms{listed}, {} down{}",
                    s(&cc["sb_base"]).trim_start_matches("SB"),
                    s(&cc["sw_base"]).trim_start_matches("SW"),
                    if cc["line_ok"] == true {
                        "ok"
                    } else {
                        "ABNORMAL"
                    },
                    s(&cc["link_scan"]["current_ms"]),
                    down.len(),
                    if down.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", down.join(", "))
                    }
                );
                // Without the station list the probe cannot tell "all down" from "only these
                // exist", so it names the faulty numbers and leaves the causes out.
                if assumed && !down.is_empty() {
                    let _ = writeln!(
                        out,
                        "    (no station list given: add stations=1-N for likely causes)"
                    );
                }
                for f in cc["findings"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|_| !assumed)
                {
                    let _ = writeln!(out, "    - {}", s(&f["text"]));
                    let _ = writeln!(out, "      check: {}", s(&f["remedy"]));
                }
            }
        }
    }
    for v in r["values"].as_array().into_iter().flatten() {
        let shown = v
            .get("error")
            .map_or_else(|| s(&v["value"]), |e| format!("error: {}", s(e)));
        let _ = writeln!(out, "  {:<16} {shown}", s(&v["address"]));
    }
    out
}

/// `mc://HOST:PORT[?udp&frame=4e&series=q&sb=0x0&sw=0x0&kind=cc-link&stations=1-8,12&nocclink]`.
fn parse_url(url: &str) -> anyhow::Result<Target> {
    let rest = url
        .strip_prefix("mc://")
        .context("a MELSEC URL starts with mc://")?;
    let (target, query) = rest.split_once('?').unwrap_or((rest, ""));
    if target
        .rsplit_once(':')
        .is_none_or(|(_, p)| p.parse::<u16>().is_err())
    {
        bail!("{url:?} needs the MC protocol port set in the PLC, e.g. mc://192.168.3.39:5007");
    }
    let (host, port) = parse_host_port(target, 0).map_err(|e| anyhow::anyhow!("{url:?}: {e}"))?;
    let mut options = ConnectOptions::default();
    let mut kind = NetworkKind::CcLink;
    let (mut sb, mut sw, mut stations, mut cclink, mut assumed) = (0u32, 0u32, None, true, true);
    let number = |v: &str| -> anyhow::Result<u32> {
        Ok(
            match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
                Some(h) => u32::from_str_radix(h, 16)?,
                None => v.parse()?,
            },
        )
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "udp" => options.transport = plcdiag_melsec::Transport::Udp,
            "frame" => {
                options.frame = v
                    .parse()
                    .map_err(|_| anyhow::anyhow!("frame={v}: expected 3e or 4e"))?
            }
            "series" => {
                options.series = v
                    .parse()
                    .map_err(|_| anyhow::anyhow!("series={v}: expected q, l or iq-r"))?
            }
            "kind" => {
                kind = v.parse().map_err(|_| {
                    anyhow::anyhow!("kind={v}: expected cc-link or cc-link-ie-field")
                })?
            }
            "sb" => (sb, assumed) = (number(v).with_context(|| format!("sb={v}"))?, false),
            "sw" => (sw, assumed) = (number(v).with_context(|| format!("sw={v}"))?, false),
            "stations" => (stations, assumed) = (Some(station_list(v)?), false),
            "nocclink" => cclink = false,
            other => bail!(
                "unknown option `{other}` in {url:?}; known: udp, frame, series, kind, sb, sw, stations, nocclink"
            ),
        }
    }
    let master = cclink.then(|| {
        let mut m = CcLinkMaster::new("cc-link", kind);
        m.sb_base = sb;
        m.sw_base = sw;
        m.stations = stations.unwrap_or_default();
        m
    });
    Ok(Target {
        host,
        port,
        options,
        master,
        assumed: assumed && cclink,
    })
}

/// `1-8,12` → stations 1..8 and 12, each occupying one station number.
fn station_list(v: &str) -> anyhow::Result<Vec<StationConfig>> {
    let mut out = Vec::new();
    for part in v.split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u8, u8) = (
            a.parse().with_context(|| format!("stations={v}"))?,
            b.parse().with_context(|| format!("stations={v}"))?,
        );
        if a == 0 || b > 64 || a > b {
            bail!("stations={v}: station numbers are 1 to 64");
        }
        for n in a..=b {
            out.push(StationConfig {
                number: n,
                occupies: 1,
                name: format!("station {n}"),
                model: None,
                reserved: false,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mc_urls_need_a_port_and_take_transport_frame_and_cclink_options() {
        let t = parse_url("mc://10.0.0.3:5007?udp&frame=4e&sb=0x200&sw=0x200&stations=1-3,7")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((t.host.as_str(), t.port), ("10.0.0.3", 5007));
        assert_eq!(t.options.transport, plcdiag_melsec::Transport::Udp);
        assert_eq!(t.options.frame, plcdiag_melsec::FrameKind::E4);
        let m = t.master.unwrap_or_else(|| panic!("a master"));
        assert_eq!((m.sb_base, m.sw_base), (0x200, 0x200));
        let numbers: Vec<u8> = m.stations.iter().map(|s| s.number).collect();
        assert_eq!(numbers, [1, 2, 3, 7]);
        assert!(!t.assumed);
        let t = parse_url("mc://plc:5000").unwrap_or_else(|e| panic!("{e}"));
        assert!(
            t.assumed,
            "no CC-Link options: the default master is assumed and said"
        );
        assert!(parse_url("mc://plc:5000?nocclink").is_ok_and(|t| t.master.is_none()));
        assert!(parse_url("mc://plc").is_err(), "no port");
        assert!(parse_url("mc://plc:5000?stations=0-3").is_err());
        assert!(parse_url("mc://plc:5000?colour=red").is_err());
    }
}
