//! The pages' languages: English and Simplified Chinese, as a typed message table.
//!
//! The language is chosen by `?lang=` (which also sets the `plcdiag_lang` cookie), else by that
//! cookie, else by the browser's `Accept-Language`, else English. Every label the pages show is
//! a field of [`Msgs`], so a missing translation is a compile error, not a blank.

use axum::http::HeaderMap;
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
