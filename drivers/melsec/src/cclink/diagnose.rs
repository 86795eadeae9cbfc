//! The troubleshooting matrix of `melsec-cclink.md` §2.8 as a pure function of decoded
//! station states.
//!
//! The PLC-side signatures of §2.8 are *unconfirmed: verify against SH(NA)-080394E*, except
//! those that use only the data-link bitmap (SW0080–SW0083, confirmed); [`Finding::confirmed`]
//! says which. Cause inference is plcdiag's recommendation. "Stations after a point are down"
//! assumes station numbers ascend along the cable, the usual practice; the text says so.
//! The AJ65SBTB1 LED hints (§2.7) are *unconfirmed: verify against SH(NA)-4007*.

use super::{StationState, StationStatus};

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingKind {
    /// Every (non-masked) station is down: master side, trunk cable or master parameters.
    AllDown,
    /// The line status is abnormal while some stations still communicate.
    LineAbnormal,
    /// The stations from some point to the end of the line are down together: cable break
    /// or connector between the last good station and the first lost one.
    CableBreak,
    /// Several consecutive stations in the middle of the line are down together.
    GroupDown,
    /// A single station is down: module power, its cable/connector, switch settings.
    StationDown,
    /// A station is down, and the config lists no stations for the line: its neighbours are
    /// unknown, so no cause (station fault, group, cable break) is inferred.
    Down,
    /// The station reports a watchdog-timer error.
    WatchdogError,
    /// Duplicate station numbers.
    NumberOverlap,
    /// Station type or occupied stations differ from the master parameters.
    ParameterMismatch,
    /// Blown fuse or missing external output supply.
    FuseBlown,
    /// Station No. or B RATE switch changed while powered.
    SwitchChanged,
}

/// One troubleshooting finding, in English and Simplified Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Finding {
    /// Head station numbers concerned (ascending).
    pub stations: Vec<u8>,
    /// The kind.
    pub kind: FindingKind,
    /// What was found (English).
    pub text_en: String,
    /// What was found (Simplified Chinese).
    pub text_zh: String,
    /// What to do (English).
    pub remedy_en: String,
    /// What to do (Simplified Chinese).
    pub remedy_zh: String,
    /// True if the signature uses only confirmed registers (the data-link bitmap).
    pub confirmed: bool,
}

fn list(stations: &[u8]) -> String {
    match stations {
        [] => String::new(),
        [one] => one.to_string(),
        [first, .., last] if is_run(stations) => format!("{first}..{last}"),
        _ => stations
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn is_run(stations: &[u8]) -> bool {
    stations.len() > 2 && stations.windows(2).all(|w| w[1] == w[0].saturating_add(1))
}

fn label(s: &StationStatus) -> String {
    match &s.model {
        Some(m) => format!("station {} ({}, {m})", s.number, s.name),
        None => format!("station {} ({})", s.number, s.name),
    }
}

fn label_zh(s: &StationStatus) -> String {
    match &s.model {
        Some(m) => format!("{} 号站（{}，{m}）", s.number, s.name),
        None => format!("{} 号站（{}）", s.number, s.name),
    }
}

/// Findings for decoded stations and the line status (pure). Masked stations (reserved,
/// error-invalid) are ignored.
///
/// `whole_line`: `stations` are all the line's stations (the config lists them). Without that
/// list the master's registers only name the stations that report something, so whether
/// others are down too, or which come before or after a lost one, is unknown: no finding then
/// claims "all down", a cable break or a group; each lost station is reported as [`FindingKind::Down`].
pub fn diagnose(stations: &[StationStatus], line_ok: bool, whole_line: bool) -> Vec<Finding> {
    let mut active: Vec<&StationStatus> = stations
        .iter()
        .filter(|s| !matches!(s.state, StationState::Reserved | StationState::ErrorInvalid))
        .collect();
    active.sort_by_key(|s| s.number);
    let mut out = Vec::new();

    let down: Vec<&StationStatus> = active.iter().copied().filter(|s| s.is_down()).collect();
    // One configured station that is down is a station finding unless the line is abnormal.
    let all_down = whole_line
        && !active.is_empty()
        && down.len() == active.len()
        && (active.len() >= 2 || !line_ok);

    // Overlap and parameter mismatch explain their stations; they are not "down" findings.
    let overlap: Vec<u8> = active
        .iter()
        .filter(|s| s.number_overlap)
        .map(|s| s.number)
        .collect();
    if !overlap.is_empty() {
        out.push(Finding {
            text_en: format!(
                "station number overlap reported for station(s) {}: two devices use the same station number",
                list(&overlap)
            ),
            text_zh: format!("{} 号站报告站号重复：两台设备使用了相同的站号", list(&overlap)),
            remedy_en: "Renumber the devices (station No. switches), then power-cycle them".into(),
            remedy_zh: "修改站号开关使站号唯一，然后重新上电".into(),
            stations: overlap.clone(),
            kind: FindingKind::NumberOverlap,
            confirmed: false,
        });
    }
    let mismatch: Vec<u8> = active
        .iter()
        .filter(|s| s.parameter_mismatch)
        .map(|s| s.number)
        .collect();
    if !mismatch.is_empty() {
        out.push(Finding {
            text_en: format!(
                "station(s) {}: installed station type or number of occupied stations differs from the master parameters (L ERR. on steady)",
                list(&mismatch)
            ),
            text_zh: format!(
                "{} 号站：实际站类型或占用站数与主站参数不一致（L ERR. 常亮）",
                list(&mismatch)
            ),
            remedy_en: "Align the master's network parameters with the installed device, or fix its station No. / B RATE switches and power-cycle".into(),
            remedy_zh: "使主站网络参数与实际设备一致，或修正其站号 / B RATE 开关后重新上电".into(),
            stations: mismatch.clone(),
            kind: FindingKind::ParameterMismatch,
            confirmed: false,
        });
    }

    if all_down {
        let nums: Vec<u8> = down.iter().map(|s| s.number).collect();
        out.push(Finding {
            text_en: format!(
                "all stations ({}) are down{}: trunk cable break at the master side, master parameter or transmission speed error",
                list(&nums),
                if line_ok { "" } else { " and the line status is abnormal" }
            ),
            text_zh: format!(
                "所有站（{}）均断开{}：主站侧干线电缆断线、主站参数或传输速度错误",
                list(&nums),
                if line_ok { "" } else { "，线路状态异常" }
            ),
            remedy_en: "Check DA/DB/DG wiring and terminating resistors at the master, the master's ERR. LED, network parameters and transmission speed".into(),
            remedy_zh: "检查主站的 DA/DB/DG 接线和终端电阻、主站 ERR. 指示灯、网络参数和传输速度".into(),
            stations: nums,
            kind: FindingKind::AllDown,
            confirmed: line_ok,
        });
    } else {
        if !line_ok {
            out.push(Finding {
                stations: Vec::new(),
                kind: FindingKind::LineAbnormal,
                text_en: "the master reports the line status as abnormal".into(),
                text_zh: "主站报告线路状态异常".into(),
                remedy_en: "Check the trunk cable, terminating resistors at both ends and the SLD/FG grounding".into(),
                remedy_zh: "检查干线电缆、两端终端电阻以及 SLD/FG 接地".into(),
                confirmed: false,
            });
        }
        let explained = |s: &StationStatus| s.number_overlap || s.parameter_mismatch;
        // Runs of consecutive down stations in station-number order.
        let mut runs: Vec<Vec<&StationStatus>> = Vec::new();
        let mut current: Vec<&StationStatus> = Vec::new();
        for s in &active {
            if s.is_down() && !explained(s) {
                current.push(s);
                if !whole_line {
                    // Neighbours unknown: no station is placed next to another.
                    runs.push(std::mem::take(&mut current));
                }
            } else if !current.is_empty() {
                runs.push(std::mem::take(&mut current));
            }
        }
        let tail_run = !current.is_empty();
        if tail_run {
            runs.push(current);
        }
        let run_count = runs.len();
        for (i, run) in runs.into_iter().enumerate() {
            let nums: Vec<u8> = run.iter().map(|s| s.number).collect();
            let is_tail = tail_run && i + 1 == run_count;
            if run.len() >= 2 {
                let before = active
                    .iter()
                    .rev()
                    .find(|s| s.number < nums[0])
                    .map(|s| s.number);
                let (kind, text_en, text_zh, remedy_en, remedy_zh) = if is_tail {
                    let k =
                        before.map_or_else(|| "the master".to_owned(), |k| format!("station {k}"));
                    let k_zh = before.map_or_else(|| "主站".to_owned(), |k| format!("{k} 号站"));
                    (
                        FindingKind::CableBreak,
                        format!(
                            "stations {} lost together: cable break or connector fault between {k} and station {} (if station numbers follow the cable order)",
                            list(&nums),
                            nums[0]
                        ),
                        format!(
                            "{} 号站同时断开：{k_zh}与 {} 号站之间电缆断线或接头故障（假设站号按电缆顺序排列）",
                            list(&nums),
                            nums[0]
                        ),
                        format!(
                            "Inspect the cable segment and terminal-block connectors (DA/DB/DG/SLD) between {k} and station {}; check the terminating resistor at the line end",
                            nums[0]
                        ),
                        format!(
                            "检查{k_zh}与 {} 号站之间的电缆段和端子排接线（DA/DB/DG/SLD）；检查线路末端的终端电阻",
                            nums[0]
                        ),
                    )
                } else {
                    (
                        FindingKind::GroupDown,
                        format!(
                            "stations {} lost together while later stations still communicate: a shared 24 V supply, or wiring between these stations",
                            list(&nums)
                        ),
                        format!(
                            "{} 号站同时断开而后续站仍在通信：共用的 24 V 电源或这些站之间的接线",
                            list(&nums)
                        ),
                        "Check the 24 V supply shared by these stations (PW LEDs) and the DA/DB/DG wiring at their terminal blocks".into(),
                        "检查这些站共用的 24 V 电源（PW 指示灯）及其端子排上的 DA/DB/DG 接线".into(),
                    )
                };
                out.push(Finding {
                    stations: nums,
                    kind,
                    text_en,
                    text_zh,
                    remedy_en,
                    remedy_zh,
                    confirmed: true,
                });
            } else {
                let s = run[0];
                let (kind, text_en, text_zh, remedy_en, remedy_zh, confirmed) = if s.watchdog_error
                {
                    (
                        FindingKind::WatchdogError,
                        format!("{} reports a watchdog-timer error", label(s)),
                        format!("{}报告看门狗定时器错误", label_zh(s)),
                        "The station's own hardware or program stopped answering: power-cycle it, replace it if it recurs".to_owned(),
                        "该站自身硬件或程序停止响应：重新上电，如再次发生则更换".to_owned(),
                        false,
                    )
                } else if s.switch_changed {
                    (
                        FindingKind::SwitchChanged,
                        format!(
                            "{} is down and its station No. or B RATE switch was changed while powered (L ERR. flashes regularly)",
                            label(s)
                        ),
                        format!(
                            "{}断开，且其站号或 B RATE 开关在通电时被改动（L ERR. 规则闪烁）",
                            label_zh(s)
                        ),
                        "Restore the switch setting or power-cycle the station".to_owned(),
                        "恢复开关设置或将该站重新上电".to_owned(),
                        false,
                    )
                } else if !whole_line {
                    (
                        FindingKind::Down,
                        format!(
                            "{} is not in data link; the config lists no stations for this line, so whether others are down too is unknown and no cause is inferred",
                            label(s)
                        ),
                        format!(
                            "{}未处于数据链接；配置中未列出该线路的站，无法判断其他站是否也断开，因此不推断原因",
                            label_zh(s)
                        ),
                        "List the line's stations in the config ([[devices.cclink.stations]]) so a station fault, a shared supply and a cable break can be told apart; meanwhile check the station's PW and L RUN LEDs and the cable to it".to_owned(),
                        "在配置中列出该线路的站（[[devices.cclink.stations]]），以区分单站故障、共用电源和电缆断线；在此之前检查该站的 PW、L RUN 指示灯及其电缆".to_owned(),
                        true,
                    )
                } else {
                    (
                        FindingKind::StationDown,
                        format!(
                            "{} is not in data link: no 24 V supply (PW off), cable or connector at the station, station No./B RATE switch setting, or transmission speed different from the master",
                            label(s)
                        ),
                        format!(
                            "{}未处于数据链接：无 24 V 电源（PW 灭）、该站电缆或接头、站号 / B RATE 开关设置，或传输速度与主站不一致",
                            label_zh(s)
                        ),
                        "At the module: PW off → restore 24 V; L ERR. on steady → station No. 0/>64 or B RATE out of range, fix and power-cycle; RD flickers but L RUN never on → set B RATE to the master's speed; otherwise check DA/DB/DG/SLD at the terminal block".to_owned(),
                        "在模块处检查：PW 灭 → 恢复 24 V；L ERR. 常亮 → 站号为 0/大于 64 或 B RATE 超范围，修正后重新上电；RD 闪烁但 L RUN 不亮 → 将 B RATE 设为主站速度；否则检查端子排上的 DA/DB/DG/SLD".to_owned(),
                        true,
                    )
                };
                out.push(Finding {
                    stations: vec![s.number],
                    kind,
                    text_en,
                    text_zh,
                    remedy_en,
                    remedy_zh,
                    confirmed,
                });
            }
        }
    }

    for s in active.iter().filter(|s| s.fuse_blown) {
        out.push(Finding {
            stations: vec![s.number],
            kind: FindingKind::FuseBlown,
            text_en: format!("{}: blown fuse or missing external output supply", label(s)),
            text_zh: format!("{}：保险丝熔断或外部输出电源缺失", label_zh(s)),
            remedy_en: "Replace the fuse and restore the external output supply".into(),
            remedy_zh: "更换保险丝并恢复外部输出电源".into(),
            confirmed: false,
        });
    }
    for s in active.iter().filter(|s| s.switch_changed && !s.is_down()) {
        out.push(Finding {
            stations: vec![s.number],
            kind: FindingKind::SwitchChanged,
            text_en: format!(
                "{}: station No. or B RATE switch changed while powered (L ERR. flashes regularly)",
                label(s)
            ),
            text_zh: format!(
                "{}：站号或 B RATE 开关在通电时被改动（L ERR. 规则闪烁）",
                label_zh(s)
            ),
            remedy_en: "Restore the switch setting or power-cycle the station".into(),
            remedy_zh: "恢复开关设置或将该站重新上电".into(),
            confirmed: false,
        });
    }
    out
}
