//! The pages' languages: English and Simplified Chinese, as a typed message table.
//!
//! The language is chosen by `?lang=` (which also sets the `plcdiag_lang` cookie), else by that
//! cookie, else by the browser's `Accept-Language`, else English. Every label the pages show is
//! a field of [`Msgs`] (the device page's own labels: [`DeviceMsgs`]), so a missing translation
//! is a compile error, not a blank. Texts from device catalogues (S7 events, MELSEC errors) stay
//! with their driver crates and are looked up by code.

use axum::http::HeaderMap;

use crate::rules::{AlarmState, Transition};
use crate::store::{Fault, FaultKind};
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};

/// The cookie that keeps the language chosen with the switch.
pub(crate) const LANG_COOKIE: &str = "plcdiag_lang";

/// A language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Lang {
    /// English.
    #[default]
    En,
    /// Simplified Chinese.
    ZhCn,
}

impl Lang {
    /// The BCP 47 tag used in `lang=""`, the cookie and the switch links.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::ZhCn => "zh-CN",
        }
    }

    /// Parses a tag: `en`, `en-US`…, `zh`, `zh-CN`, `zh-Hans`… (case-insensitive).
    pub(crate) fn parse(tag: &str) -> Option<Self> {
        let tag = tag.trim().to_ascii_lowercase().replace('_', "-");
        let primary = tag.split('-').next().unwrap_or("");
        match primary {
            "en" => Some(Self::En),
            // Traditional Chinese is not offered; Simplified reads better than English there.
            "zh" => Some(Self::ZhCn),
            _ => None,
        }
    }

    /// The messages in this language.
    pub(crate) fn msgs(self) -> &'static Msgs {
        match self {
            Self::En => &EN,
            Self::ZhCn => &ZH_CN,
        }
    }

    /// The device page's labels in this language.
    pub(crate) fn device(self) -> &'static DeviceMsgs {
        match self {
            Self::En => &DEVICE_EN,
            Self::ZhCn => &DEVICE_ZH_CN,
        }
    }

    /// The S7 event catalogue's language.
    pub(crate) fn s7(self) -> plcdiag_s7::catalog::Lang {
        match self {
            Self::En => plcdiag_s7::catalog::Lang::En,
            Self::ZhCn => plcdiag_s7::catalog::Lang::ZhCn,
        }
    }

    /// The key of texts stored per language in JSON (`{"en": …, "zh": …}`).
    pub(crate) fn json_key(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::ZhCn => "zh",
        }
    }
}

impl Lang {
    /// An alarm state in words (ISA-18.2's states).
    pub(crate) fn alarm_state(self, s: AlarmState) -> &'static str {
        use AlarmState as S;
        match (self, s) {
            (Self::En, S::Normal) => "Normal",
            (Self::En, S::Unacknowledged) => "Unacknowledged",
            (Self::En, S::Acknowledged) => "Acknowledged",
            (Self::En, S::RtnUnacknowledged) => "Returned, unacknowledged",
            (Self::En, S::Latched) => "Latched",
            (Self::En, S::Shelved) => "Shelved",
            (Self::En, S::Suppressed) => "Suppressed",
            (Self::En, S::OutOfService) => "Out of service",
            (Self::ZhCn, S::Normal) => "正常",
            (Self::ZhCn, S::Unacknowledged) => "未确认",
            (Self::ZhCn, S::Acknowledged) => "已确认",
            (Self::ZhCn, S::RtnUnacknowledged) => "已恢复，未确认",
            (Self::ZhCn, S::Latched) => "已锁存",
            (Self::ZhCn, S::Shelved) => "已搁置",
            (Self::ZhCn, S::Suppressed) => "已抑制",
            (Self::ZhCn, S::OutOfService) => "停用",
        }
    }

    /// A journal transition in words.
    pub(crate) fn transition(self, t: Transition) -> &'static str {
        use Transition as T;
        match (self, t) {
            (Self::En, T::Raised) => "Raised",
            (Self::En, T::Cleared) => "Cleared",
            (Self::En, T::Acknowledged) => "Acknowledged",
            (Self::En, T::Reset) => "Reset",
            (Self::En, T::ReAlarmed) => "Re-alarmed",
            (Self::En, T::Shelved) => "Shelved",
            (Self::En, T::Unshelved) => "Unshelved",
            (Self::En, T::ShelveExpired) => "Shelving expired",
            (Self::En, T::Suppressed) => "Suppressed",
            (Self::En, T::Unsuppressed) => "Unsuppressed",
            (Self::ZhCn, T::Raised) => "报警",
            (Self::ZhCn, T::Cleared) => "恢复",
            (Self::ZhCn, T::Acknowledged) => "确认",
            (Self::ZhCn, T::Reset) => "复位",
            (Self::ZhCn, T::ReAlarmed) => "再次报警",
            (Self::ZhCn, T::Shelved) => "搁置",
            (Self::ZhCn, T::Unshelved) => "取消搁置",
            (Self::ZhCn, T::ShelveExpired) => "搁置到期",
            (Self::ZhCn, T::Suppressed) => "抑制",
            (Self::ZhCn, T::Unsuppressed) => "解除抑制",
        }
    }
}

impl Lang {
    /// The banner every page shows while the gateway is not whole: a task it cannot do without
    /// has ended (`failed`), or the history cannot be written (`fault`); `None` when all is well.
    pub(crate) fn gateway_fault(
        self,
        failed: Option<&str>,
        fault: Option<&Fault>,
    ) -> Option<String> {
        if let Some(why) = failed {
            return Some(match self {
                Self::En => format!("The gateway needs a restart: {why}."),
                Self::ZhCn => format!("网关需要重启：{why}。"),
            });
        }
        let f = fault?;
        let since = f.since.format("%Y-%m-%d %H:%M:%S");
        let held = f.held;
        Some(match self {
            Self::En => {
                let what = match f.kind {
                    FaultKind::DiskFull => "the disk is full",
                    FaultKind::ReadOnly => "the database file is read-only",
                    FaultKind::Io => "the disk reports I/O errors",
                    FaultKind::Corrupt => "the database file is damaged",
                    FaultKind::Busy => "the database stays locked",
                    FaultKind::Other => "an internal error",
                };
                format!(
                    "The history cannot be written ({what}) since {since} UTC. Polling and alarms go on; the {} holds {held} items to write when it can.",
                    f.component
                )
            }
            Self::ZhCn => {
                let what = match f.kind {
                    FaultKind::DiskFull => "磁盘已满",
                    FaultKind::ReadOnly => "数据库文件只读",
                    FaultKind::Io => "磁盘读写错误",
                    FaultKind::Corrupt => "数据库文件损坏",
                    FaultKind::Busy => "数据库持续被锁定",
                    FaultKind::Other => "内部错误",
                };
                let who = match f.component {
                    "store writer" => "历史写入任务",
                    "rules engine" => "规则引擎",
                    other => other,
                };
                format!(
                    "自 {since} UTC 起无法写入历史记录（{what}）。轮询和报警照常进行；{who}暂存 {held} 条，待可写入时写入。"
                )
            }
        })
    }
}

/// How the language was chosen: whether the response must set the cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Choice {
    /// The language.
    pub(crate) lang: Lang,
    /// Chosen with `?lang=` just now: remember it in the cookie.
    pub(crate) remember: bool,
}

/// Chooses the language from the `lang` query parameter, the cookie and `Accept-Language`.
pub(crate) fn choose(query_lang: Option<&str>, headers: &HeaderMap) -> Choice {
    if let Some(lang) = query_lang.and_then(Lang::parse) {
        return Choice {
            lang,
            remember: true,
        };
    }
    let from_cookie = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == LANG_COOKIE)
        .and_then(|(_, v)| Lang::parse(v));
    let lang = from_cookie
        .or_else(|| {
            headers
                .get(ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(accept_language)
        })
        .unwrap_or_default();
    Choice {
        lang,
        remember: false,
    }
}

/// The most preferred language of an `Accept-Language` header that the pages offer.
pub(crate) fn accept_language(header: &str) -> Option<Lang> {
    let mut offers: Vec<(f32, usize, Lang)> = header
        .split(',')
        .enumerate()
        .filter_map(|(i, item)| {
            let mut parts = item.split(';');
            let lang = Lang::parse(parts.next()?)?;
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (q > 0.0).then_some((q, i, lang))
        })
        .collect();
    // Highest weight first; equal weights keep the header's order.
    offers.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    offers.first().map(|o| o.2)
}

/// Every label of the pages, in one language.
#[derive(Debug)]
pub(crate) struct Msgs {
    pub(crate) app_title: &'static str,
    pub(crate) nav_overview: &'static str,
    pub(crate) nav_alarms: &'static str,
    pub(crate) live_connected: &'static str,
    pub(crate) live_lost: &'static str,
    pub(crate) sound: &'static str,
    pub(crate) new_alarm: &'static str,
    pub(crate) language: &'static str,
    pub(crate) logout: &'static str,
    // Overview.
    pub(crate) devices: &'static str,
    pub(crate) all: &'static str,
    pub(crate) filter_placeholder: &'static str,
    pub(crate) col_device: &'static str,
    pub(crate) col_state: &'static str,
    pub(crate) col_since: &'static str,
    pub(crate) col_alarms: &'static str,
    pub(crate) col_last_diagnostic: &'static str,
    pub(crate) no_devices: &'static str,
    pub(crate) no_match: &'static str,
    pub(crate) state_online: &'static str,
    pub(crate) state_offline: &'static str,
    pub(crate) state_demoted: &'static str,
    pub(crate) state_unknown: &'static str,
    pub(crate) state_stop: &'static str,
    pub(crate) state_cclink_fault: &'static str,
    pub(crate) remedy: &'static str,
    // Alarms.
    pub(crate) active_alarms: &'static str,
    pub(crate) no_active_alarms: &'static str,
    pub(crate) history: &'static str,
    pub(crate) kpis: &'static str,
    pub(crate) undelivered: &'static str,
    pub(crate) undelivered_hint: &'static str,
    pub(crate) col_receiver: &'static str,
    pub(crate) col_reason: &'static str,
    pub(crate) col_priority: &'static str,
    pub(crate) col_alarm_state: &'static str,
    pub(crate) col_message: &'static str,
    pub(crate) col_raised: &'static str,
    pub(crate) col_time: &'static str,
    pub(crate) col_rule: &'static str,
    pub(crate) col_transition: &'static str,
    pub(crate) col_user: &'static str,
    pub(crate) col_note: &'static str,
    pub(crate) col_actions: &'static str,
    pub(crate) ack: &'static str,
    pub(crate) shelve: &'static str,
    pub(crate) unshelve: &'static str,
    pub(crate) note_placeholder: &'static str,
    pub(crate) shelved_until: &'static str,
    pub(crate) acked_by: &'static str,
    pub(crate) filter: &'static str,
    pub(crate) any: &'static str,
    pub(crate) window_hours: &'static str,
    pub(crate) no_history: &'static str,
    pub(crate) kpi_window: &'static str,
    pub(crate) kpi_total: &'static str,
    pub(crate) kpi_average: &'static str,
    pub(crate) kpi_peak: &'static str,
    pub(crate) kpi_floods: &'static str,
    pub(crate) kpi_time_in_flood: &'static str,
    pub(crate) kpi_standing: &'static str,
    pub(crate) kpi_rate: &'static str,
    pub(crate) kpi_top10: &'static str,
    pub(crate) kpi_activations: &'static str,
    pub(crate) kpi_share: &'static str,
    pub(crate) priority_low: &'static str,
    pub(crate) priority_medium: &'static str,
    pub(crate) priority_high: &'static str,
    pub(crate) priority_critical: &'static str,
    pub(crate) action_failed: &'static str,
    // Errors.
    pub(crate) not_found_title: &'static str,
    pub(crate) not_found_text: &'static str,
    pub(crate) back_to_overview: &'static str,
}

/// English.
pub(crate) static EN: Msgs = Msgs {
    app_title: "plcdiag",
    nav_overview: "Overview",
    nav_alarms: "Alarms",
    live_connected: "Live",
    live_lost: "Connection lost, reconnecting…",
    sound: "Sound",
    new_alarm: "New alarm",
    language: "Language",
    logout: "Log out",
    devices: "Devices",
    all: "All",
    filter_placeholder: "Filter by name, address, kind, state…",
    col_device: "Device",
    col_state: "State",
    col_since: "Since",
    col_alarms: "Alarms",
    col_last_diagnostic: "Last diagnostic",
    no_devices: "No devices are configured.",
    no_match: "No device matches the filter.",
    state_online: "Online",
    state_offline: "Offline",
    state_demoted: "Demoted",
    state_unknown: "Unknown",
    state_stop: "CPU STOP",
    state_cclink_fault: "CC-Link station fault",
    remedy: "What to do",
    active_alarms: "Active alarms",
    no_active_alarms: "No alarm needs attention.",
    history: "History",
    kpis: "Alarm KPIs (last 24 h)",
    undelivered: "Undelivered notifications",
    undelivered_hint: "These notices did not reach their receiver: it refused them, or it kept failing past its max_age or max_attempts. The alarms themselves are in the journal.",
    col_receiver: "Receiver",
    col_reason: "Why",
    col_priority: "Priority",
    col_alarm_state: "State",
    col_message: "Message",
    col_raised: "Raised",
    col_time: "Time",
    col_rule: "Rule",
    col_transition: "Transition",
    col_user: "User",
    col_note: "Note",
    col_actions: "Actions",
    ack: "Acknowledge",
    shelve: "Shelve",
    unshelve: "Unshelve",
    note_placeholder: "Note",
    shelved_until: "Shelved until",
    acked_by: "Acknowledged by",
    filter: "Filter",
    any: "Any",
    window_hours: "Last hours",
    no_history: "No journal entries in this window.",
    kpi_window: "Window",
    kpi_total: "Activations",
    kpi_average: "Average per 10 min",
    kpi_peak: "Peak per 10 min",
    kpi_floods: "Floods",
    kpi_time_in_flood: "Time in flood",
    kpi_standing: "Standing (> 24 h)",
    kpi_rate: "Alarm rate per 10 min",
    kpi_top10: "Top 10 alarm points",
    kpi_activations: "Activations",
    kpi_share: "Share",
    priority_low: "Low",
    priority_medium: "Medium",
    priority_high: "High",
    priority_critical: "Critical",
    action_failed: "The action failed",
    not_found_title: "Not found",
    not_found_text: "There is no page at this address.",
    back_to_overview: "Back to the overview",
};

/// Simplified Chinese.
pub(crate) static ZH_CN: Msgs = Msgs {
    app_title: "plcdiag",
    nav_overview: "总览",
    nav_alarms: "报警",
    live_connected: "实时",
    live_lost: "连接中断，正在重连…",
    sound: "声音",
    new_alarm: "新报警",
    language: "语言",
    logout: "退出登录",
    devices: "设备",
    all: "全部",
    filter_placeholder: "按名称、地址、类型、状态筛选…",
    col_device: "设备",
    col_state: "状态",
    col_since: "起始时间",
    col_alarms: "报警",
    col_last_diagnostic: "最近诊断",
    no_devices: "未配置任何设备。",
    no_match: "没有符合筛选条件的设备。",
    state_online: "在线",
    state_offline: "离线",
    state_demoted: "已降级",
    state_unknown: "未知",
    state_stop: "CPU 停止",
    state_cclink_fault: "CC-Link 站故障",
    remedy: "处理措施",
    active_alarms: "活动报警",
    no_active_alarms: "没有需要处理的报警。",
    history: "历史记录",
    kpis: "报警指标（最近 24 小时）",
    undelivered: "未送达的通知",
    undelivered_hint: "这些通知未送达接收方：被接收方拒绝，或接收方持续失败超过其 max_age 或 max_attempts。报警本身已记入日志。",
    col_receiver: "接收方",
    col_reason: "原因",
    col_priority: "优先级",
    col_alarm_state: "状态",
    col_message: "消息",
    col_raised: "触发时间",
    col_time: "时间",
    col_rule: "规则",
    col_transition: "变化",
    col_user: "用户",
    col_note: "备注",
    col_actions: "操作",
    ack: "确认",
    shelve: "搁置",
    unshelve: "取消搁置",
    note_placeholder: "备注",
    shelved_until: "搁置至",
    acked_by: "确认人",
    filter: "筛选",
    any: "任意",
    window_hours: "最近小时数",
    no_history: "此时间段内没有日志记录。",
    kpi_window: "时间段",
    kpi_total: "触发次数",
    kpi_average: "每 10 分钟平均",
    kpi_peak: "每 10 分钟峰值",
    kpi_floods: "报警泛滥",
    kpi_time_in_flood: "泛滥时间占比",
    kpi_standing: "长期报警（> 24 小时）",
    kpi_rate: "每 10 分钟报警率",
    kpi_top10: "前 10 个报警点",
    kpi_activations: "触发次数",
    kpi_share: "占比",
    priority_low: "低",
    priority_medium: "中",
    priority_high: "高",
    priority_critical: "紧急",
    action_failed: "操作失败",
    not_found_title: "未找到",
    not_found_text: "此地址没有页面。",
    back_to_overview: "返回总览",
};

/// The device page's labels in one language ([`Lang::device`]). Texts it shares with the other
/// pages (state names, "What to do", the way back) are in [`Msgs`].
#[derive(Debug)]
pub(crate) struct DeviceMsgs {
    pub(crate) device: &'static str,
    pub(crate) not_found: &'static str,
    pub(crate) ignored: &'static str,
    pub(crate) health: &'static str,
    pub(crate) since: &'static str,
    pub(crate) last_error: &'static str,
    pub(crate) rtt: &'static str,
    pub(crate) address: &'static str,
    pub(crate) identity: &'static str,
    pub(crate) order_number: &'static str,
    pub(crate) firmware: &'static str,
    pub(crate) serial: &'static str,
    pub(crate) hardware: &'static str,
    pub(crate) module_name: &'static str,
    pub(crate) plc_name: &'static str,
    pub(crate) plant_id: &'static str,
    pub(crate) mode: &'static str,
    pub(crate) mode_timeline: &'static str,
    pub(crate) window: &'static str,
    pub(crate) tags: &'static str,
    pub(crate) tag: &'static str,
    pub(crate) value: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) quality: &'static str,
    pub(crate) age: &'static str,
    pub(crate) no_tags: &'static str,
    pub(crate) diag_buffer: &'static str,
    pub(crate) class: &'static str,
    pub(crate) all_classes: &'static str,
    pub(crate) from: &'static str,
    pub(crate) to: &'static str,
    pub(crate) apply: &'static str,
    pub(crate) shown_of: &'static str,
    /// The page links of an event table.
    pub(crate) pages: &'static str,
    pub(crate) newest: &'static str,
    pub(crate) newer: &'static str,
    pub(crate) older: &'static str,
    pub(crate) gateway_time: &'static str,
    pub(crate) device_time: &'static str,
    pub(crate) event_id: &'static str,
    pub(crate) text: &'static str,
    pub(crate) state: &'static str,
    pub(crate) ob_priority: &'static str,
    pub(crate) details: &'static str,
    pub(crate) entering: &'static str,
    pub(crate) leaving: &'static str,
    pub(crate) no_events: &'static str,
    pub(crate) modules: &'static str,
    pub(crate) rack: &'static str,
    pub(crate) slot: &'static str,
    pub(crate) types: &'static str,
    pub(crate) cycle_time: &'static str,
    pub(crate) cycle_trend: &'static str,
    pub(crate) current: &'static str,
    pub(crate) min: &'static str,
    pub(crate) max: &'static str,
    pub(crate) cpu_error: &'static str,
    pub(crate) no_cpu_error: &'static str,
    pub(crate) cpu_errors: &'static str,
    pub(crate) code: &'static str,
    pub(crate) cleared: &'static str,
    pub(crate) network: &'static str,
    pub(crate) line: &'static str,
    pub(crate) station: &'static str,
    pub(crate) station_timeline: &'static str,
    pub(crate) link_scan: &'static str,
    pub(crate) link_scan_trend: &'static str,
    pub(crate) cause: &'static str,
    pub(crate) generic_remedy: &'static str,
    pub(crate) last_known: &'static str,
    pub(crate) flag_data_link: &'static str,
    pub(crate) flag_watchdog: &'static str,
    pub(crate) flag_fuse: &'static str,
    pub(crate) flag_switch: &'static str,
    pub(crate) flag_overlap: &'static str,
    pub(crate) flag_parameter: &'static str,
    pub(crate) ok: &'static str,
    pub(crate) good: &'static str,
    pub(crate) stale: &'static str,
    pub(crate) bad: &'static str,
    pub(crate) fault: &'static str,
    pub(crate) down: &'static str,
    pub(crate) error: &'static str,
    pub(crate) reserved: &'static str,
    pub(crate) unknown: &'static str,
    pub(crate) no_data: &'static str,
    pub(crate) unsupported: &'static str,
}

/// The device page in English.
pub(crate) static DEVICE_EN: DeviceMsgs = DeviceMsgs {
    device: "Device",
    not_found: "No device has this name",
    ignored: "Ignored an invalid value",
    health: "Communication",
    since: "since",
    last_error: "Last error",
    rtt: "Round-trip time",
    address: "Address",
    identity: "Identity",
    order_number: "Order number",
    firmware: "Firmware",
    serial: "Serial number",
    hardware: "Hardware",
    module_name: "Module name",
    plc_name: "PLC name",
    plant_id: "Plant ID",
    mode: "Operating mode",
    mode_timeline: "Operating mode",
    window: "Window",
    tags: "Tag values",
    tag: "Tag",
    value: "Value",
    unit: "Unit",
    quality: "Quality",
    age: "Age",
    no_tags: "No tags are configured.",
    diag_buffer: "Diagnostic buffer",
    class: "Class",
    all_classes: "All classes",
    from: "From (UTC)",
    to: "To (UTC)",
    apply: "Apply",
    shown_of: "rows shown of",
    pages: "Pages",
    newest: "Newest",
    newer: "Newer",
    older: "Older",
    gateway_time: "Seen (gateway)",
    device_time: "Device time",
    event_id: "Event ID",
    text: "Text",
    state: "State",
    ob_priority: "OB / priority",
    details: "Details",
    entering: "entering",
    leaving: "leaving",
    no_events: "No events in this window.",
    modules: "Modules",
    rack: "Rack",
    slot: "Slot",
    types: "Expected / actual type",
    cycle_time: "Cycle time",
    cycle_trend: "Cycle time",
    current: "current",
    min: "min",
    max: "max",
    cpu_error: "CPU error",
    no_cpu_error: "No CPU error.",
    cpu_errors: "CPU error history (30 days)",
    code: "Code",
    cleared: "cleared",
    network: "CC-Link network",
    line: "Line",
    station: "Station",
    station_timeline: "Stations down",
    link_scan: "Link scan time",
    link_scan_trend: "Link scan time",
    cause: "Cause",
    generic_remedy: "Check the station's power supply, cable and connectors, terminating resistors and station number switches.",
    last_known: "last known; the PLC does not answer",
    flag_data_link: "data link error",
    flag_watchdog: "watchdog timer error",
    flag_fuse: "fuse blown or no external supply",
    flag_switch: "switch changed while powered",
    flag_overlap: "station number overlap",
    flag_parameter: "differs from the master parameters",
    ok: "OK",
    good: "good",
    stale: "stale",
    bad: "bad",
    fault: "Fault",
    down: "down",
    error: "error",
    reserved: "reserved",
    unknown: "unknown",
    no_data: "No data in this window",
    unsupported: "Not offered by this device",
};

/// The device page in Simplified Chinese.
pub(crate) static DEVICE_ZH_CN: DeviceMsgs = DeviceMsgs {
    device: "设备",
    not_found: "没有此名称的设备",
    ignored: "已忽略无效的参数",
    health: "通信",
    since: "起始于",
    last_error: "最近错误",
    rtt: "往返时间",
    address: "地址",
    identity: "标识",
    order_number: "订货号",
    firmware: "固件版本",
    serial: "序列号",
    hardware: "硬件版本",
    module_name: "模块名称",
    plc_name: "PLC 名称",
    plant_id: "工厂标识",
    mode: "运行模式",
    mode_timeline: "运行模式",
    window: "时间段",
    tags: "变量值",
    tag: "变量",
    value: "值",
    unit: "单位",
    quality: "质量",
    age: "时长",
    no_tags: "未配置变量。",
    diag_buffer: "诊断缓冲区",
    class: "类别",
    all_classes: "全部类别",
    from: "从（UTC）",
    to: "到（UTC）",
    apply: "应用",
    shown_of: "行，共",
    pages: "分页",
    newest: "最新",
    newer: "较新",
    older: "较早",
    gateway_time: "网关记录时间",
    device_time: "设备时间",
    event_id: "事件 ID",
    text: "文本",
    state: "状态",
    ob_priority: "OB / 优先级",
    details: "详细信息",
    entering: "进入",
    leaving: "离开",
    no_events: "此时间段内没有事件。",
    modules: "模块",
    rack: "机架",
    slot: "插槽",
    types: "期望 / 实际类型",
    cycle_time: "扫描周期",
    cycle_trend: "扫描周期",
    current: "当前",
    min: "最小",
    max: "最大",
    cpu_error: "CPU 错误",
    no_cpu_error: "无 CPU 错误。",
    cpu_errors: "CPU 错误历史（30 天）",
    code: "代码",
    cleared: "已清除",
    network: "CC-Link 网络",
    line: "线路",
    station: "站",
    station_timeline: "掉站记录",
    link_scan: "链接扫描时间",
    link_scan_trend: "链接扫描时间",
    cause: "原因",
    generic_remedy: "检查该站的电源、电缆和连接器、终端电阻以及站号开关。",
    last_known: "最后已知状态；PLC 无应答",
    flag_data_link: "数据链路异常",
    flag_watchdog: "看门狗定时器错误",
    flag_fuse: "保险丝熔断或无外部电源",
    flag_switch: "通电时更改了开关",
    flag_overlap: "站号重复",
    flag_parameter: "与主站参数不一致",
    ok: "正常",
    good: "良好",
    stale: "过时",
    bad: "不良",
    fault: "故障",
    down: "掉站",
    error: "错误",
    reserved: "预留",
    unknown: "未知",
    no_data: "此时间段内没有数据",
    unsupported: "此设备不提供",
};

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn accept_language_picks_the_highest_weight_offered() {
        assert_eq!(accept_language("zh-CN,zh;q=0.9,en;q=0.8"), Some(Lang::ZhCn));
        assert_eq!(accept_language("de-DE, en;q=0.5, zh;q=0.4"), Some(Lang::En));
        assert_eq!(accept_language("en;q=0.1, zh-Hans;q=0.9"), Some(Lang::ZhCn));
        assert_eq!(accept_language("fr, de"), None);
        assert_eq!(accept_language("zh;q=0, en"), Some(Lang::En));
    }

    #[test]
    fn query_beats_cookie_and_cookie_beats_accept_language() {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("zh-CN"));
        assert_eq!(choose(None, &h).lang, Lang::ZhCn);
        h.insert(COOKIE, HeaderValue::from_static("a=b; plcdiag_lang=en"));
        assert_eq!(
            choose(None, &h),
            Choice {
                lang: Lang::En,
                remember: false
            }
        );
        assert_eq!(
            choose(Some("zh-CN"), &h),
            Choice {
                lang: Lang::ZhCn,
                remember: true
            }
        );
        // An unknown `lang` falls back to the cookie.
        assert_eq!(choose(Some("xx"), &h).lang, Lang::En);
    }
}
