//! Texts for S7-300/400 diagnostic event IDs, in English and Simplified Chinese.
//!
//! An event ID (reference s7.md §4; Siemens System Software for S7-300/400 Vol. 2 §34.1) is
//!
//! ```text
//!  15..12   11        10        9              8                  7..0
//!  class    external  internal  in diag buffer entering(1)/leaving(0)  number
//! ```
//!
//! Lookup order in [`describe`]:
//! 1. classes 1–7 and F: the full 16-bit ID in the fixed table;
//! 2. classes 8 and 9: `id & 0xF0FF` (the identifier nibble stripped), the state appended;
//! 3. anything else: a text composed from the class and the identifier bits, so the UI can
//!    always show something.
//!
//! The tables are plain data in `table.rs` (sorted; binary search). Only the raw `u16` is used
//! here, so the catalogue does not depend on the frame types.

mod table;

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use table::{EVENTS, MODULE_EVENTS, Row};

/// Language of the texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Simplified Chinese.
    ZhCn,
}

/// A language tag that is neither English nor Simplified Chinese.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {0:?}: expected \"en\", \"zh\" or \"zh-CN\"")]
pub struct UnknownLang(pub String);

impl FromStr for Lang {
    type Err = UnknownLang;

    /// Accepts `en`, `zh`, `zh-CN` (also `zh_CN`, `zh-Hans`, `en-US`…), case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let tag = s.trim().to_ascii_lowercase().replace('_', "-");
        match tag.as_str() {
            "en" | "en-us" | "en-gb" => Ok(Lang::En),
            "zh" | "zh-cn" | "zh-hans" | "zh-hans-cn" => Ok(Lang::ZhCn),
            _ => Err(UnknownLang(s.to_owned())),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        })
    }
}

/// What the catalogue knows about one event ID, in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventText {
    /// The event ID as given.
    pub id: u16,
    /// Short text: from the catalogue, or composed from the ID's bits for unknown IDs.
    /// (A `Cow` because composed texts are built at run time.)
    pub text: Cow<'static, str>,
    /// Meaning of the event class (bits 12–15).
    pub class_meaning: &'static str,
    /// What to check, where the catalogue has a hint.
    pub remedy: Option<&'static str>,
}

/// Event ID bit 8: 1 = event entering state, 0 = leaving state (reference §4).
pub const ENTERING_BIT: u16 = 0x0100;
/// Event ID bit 9: 1 = the event is entered in the diagnostic buffer.
pub const DIAG_BUFFER_BIT: u16 = 0x0200;
/// Event ID bit 10: 1 = internal error.
pub const INTERNAL_BIT: u16 = 0x0400;
/// Event ID bit 11: 1 = external error.
pub const EXTERNAL_BIT: u16 = 0x0800;

/// Class meanings, indexed by class (EN, ZH). Siemens Vol. 2 §34.1 / reference §4.
const CLASSES: [(&str, &str); 16] = [
    ("Reserved event class 0", "保留的事件类别 0"),
    ("Standard OB events", "标准 OB 事件"),
    ("Synchronous errors", "同步错误"),
    ("Asynchronous errors", "异步错误"),
    (
        "Stop events and other mode transitions",
        "停止事件及其他模式切换",
    ),
    ("Mode run-time events", "运行模式事件"),
    ("Communication events", "通信事件"),
    (
        "Events for fault-tolerant and fail-safe systems",
        "容错和故障安全系统事件",
    ),
    (
        "Standardised diagnostic data on modules",
        "模块标准诊断数据",
    ),
    ("Predefined user events", "预定义用户事件"),
    ("Freely definable user events", "自由定义的用户事件"),
    ("Freely definable user events", "自由定义的用户事件"),
    ("Reserved event class C", "保留的事件类别 C"),
    ("Reserved event class D", "保留的事件类别 D"),
    ("Reserved event class E", "保留的事件类别 E"),
    (
        "Events of modules other than CPUs (CP, FM)",
        "非 CPU 模块（CP、FM）的事件",
    ),
];

/// Meaning of an event class (the ID's bits 12–15; only the low nibble of `class` is used).
pub fn class_meaning(class: u8, lang: Lang) -> &'static str {
    let (en, zh) = CLASSES[usize::from(class & 0x0F)];
    pick(lang, en, zh)
}

/// Describes an event ID. Never fails: unknown IDs get a text composed from their bits,
/// e.g. "Asynchronous errors: event 0x39FF (entering state, external error)".
pub fn describe(event_id: u16, lang: Lang) -> EventText {
    let class = class_of(event_id);
    let class_text = class_meaning(class, lang);
    let (text, remedy) = match lookup(event_id) {
        Some((row, false)) => (Cow::Borrowed(pick(lang, row.en, row.zh)), row.remedy),
        Some((row, true)) => {
            let state = state_text(event_id, lang);
            let text = match lang {
                Lang::En => format!("{} ({state})", row.en),
                Lang::ZhCn => format!("{}（{state}）", row.zh),
            };
            (Cow::Owned(text), row.remedy)
        }
        None => (Cow::Owned(compose(event_id, class_text, lang)), None),
    };
    EventText {
        id: event_id,
        text,
        class_meaning: class_text,
        remedy: remedy.map(|(en, zh)| pick(lang, en, zh)),
    }
}

/// Every event ID the catalogue has a text for: the fixed IDs of classes 1–7/F, then the
/// class 8/9 IDs with the identifier nibble zero (they match any nibble).
pub fn known_ids() -> impl Iterator<Item = u16> {
    EVENTS.iter().chain(MODULE_EVENTS).map(|row| row.id)
}

fn class_of(event_id: u16) -> u8 {
    // The shift leaves 4 bits.
    (event_id >> 12) as u8
}

/// The catalogue row for an ID; `true` when it came from the masked class 8/9 table.
fn lookup(event_id: u16) -> Option<(&'static Row, bool)> {
    let find = |table: &'static [Row], id: u16| {
        table
            .binary_search_by_key(&id, |row| row.id)
            .ok()
            .map(|i| &table[i])
    };
    match class_of(event_id) {
        8 | 9 => find(MODULE_EVENTS, event_id & 0xF0FF).map(|row| (row, true)),
        _ => find(EVENTS, event_id).map(|row| (row, false)),
    }
}

fn state_text(event_id: u16, lang: Lang) -> &'static str {
    if event_id & ENTERING_BIT != 0 {
        pick(lang, "entering state", "进入状态")
    } else {
        pick(lang, "leaving state", "离开状态")
    }
}

fn compose(event_id: u16, class_text: &str, lang: Lang) -> String {
    let mut parts = vec![state_text(event_id, lang)];
    if event_id & INTERNAL_BIT != 0 {
        parts.push(pick(lang, "internal error", "内部错误"));
    }
    if event_id & EXTERNAL_BIT != 0 {
        parts.push(pick(lang, "external error", "外部错误"));
    }
    match lang {
        Lang::En => format!(
            "{class_text}: event 0x{event_id:04X} ({})",
            parts.join(", ")
        ),
        Lang::ZhCn => format!(
            "{class_text}：事件 0x{event_id:04X}（{}）",
            parts.join("，")
        ),
    }
}

fn pick(lang: Lang, en: &'static str, zh: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::ZhCn => zh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ids_give_their_text_in_both_languages() {
        let stop = describe(0x4304, Lang::En);
        assert_eq!(
            stop.text,
            "STOP caused by PG STOP operation or by SFB 20 \"STOP\""
        );
        assert_eq!(stop.class_meaning, "Stop events and other mode transitions");
        assert_eq!(
            describe(0x4302, Lang::ZhCn).text,
            "运行模式从 STARTUP（启动）切换到 RUN"
        );
        assert_eq!(describe(0x3501, Lang::En).text, "Cycle time exceeded");
        assert_eq!(describe(0x3501, Lang::ZhCn).text, "超出扫描周期时间");
        assert!(describe(0x3501, Lang::En).remedy.is_some());
        assert_eq!(
            describe(0x1381, Lang::En).text,
            "Request for manual warm restart"
        );
        assert_eq!(describe(0x39C4, Lang::ZhCn).class_meaning, "异步错误");
    }

    #[test]
    fn every_row_has_texts_and_the_tables_are_sorted_with_unique_ids() {
        for table in [EVENTS, MODULE_EVENTS] {
            for pair in table.windows(2) {
                assert!(
                    pair[0].id < pair[1].id,
                    "0x{:04X} then 0x{:04X}",
                    pair[0].id,
                    pair[1].id
                );
            }
            for row in table {
                assert!(!row.en.trim().is_empty(), "0x{:04X} en", row.id);
                assert!(!row.zh.trim().is_empty(), "0x{:04X} zh", row.id);
                if let Some((en, zh)) = row.remedy {
                    assert!(!en.trim().is_empty() && !zh.trim().is_empty());
                }
            }
        }
        assert!(known_ids().count() >= 100);
    }

    #[test]
    fn the_fixed_table_holds_classes_1_to_7_and_the_masked_table_only_classes_8_and_9() {
        for row in EVENTS {
            assert!((1..=7).contains(&class_of(row.id)) || class_of(row.id) == 0xF);
        }
        for row in MODULE_EVENTS {
            assert!(matches!(class_of(row.id), 8 | 9));
            assert_eq!(row.id & 0x0F00, 0, "0x{:04X} has identifier bits", row.id);
        }
    }

    #[test]
    fn unknown_ids_compose_a_text_from_class_and_bits() {
        let d = describe(0x39FF, Lang::En);
        assert_eq!(
            d.text,
            "Asynchronous errors: event 0x39FF (entering state, external error)"
        );
        assert_eq!(d.remedy, None);
        let d = describe(0x46FE, Lang::En);
        assert_eq!(
            d.text,
            "Stop events and other mode transitions: event 0x46FE (leaving state, internal error)"
        );
        let d = describe(0xA123, Lang::ZhCn);
        assert_eq!(d.text, "自由定义的用户事件：事件 0xA123（进入状态）");
        assert_eq!(
            describe(0x0000, Lang::En).class_meaning,
            "Reserved event class 0"
        );
    }

    #[test]
    fn class_8_and_9_ids_are_looked_up_without_the_identifier_nibble_and_show_the_state() {
        // 0x8100 and 0x8000: module fault entering / leaving (bit 8 = 0x0100).
        assert_eq!(
            describe(0x8100, Lang::En).text,
            "Module fault/OK (entering state)"
        );
        assert_eq!(
            describe(0x8000, Lang::En).text,
            "Module fault/OK (leaving state)"
        );
        assert_eq!(
            describe(0x8354, Lang::En).text,
            "Analog input: wire break (entering state)"
        );
        assert_eq!(
            describe(0x9101, Lang::ZhCn).text,
            "自动／手动模式（进入 = 手动，离开 = 自动）（进入状态）"
        );
        // A class-8 number the table does not know still decodes to class and bits.
        assert_eq!(
            describe(0x81FE, Lang::En).text,
            "Standardised diagnostic data on modules: event 0x81FE (entering state)"
        );
    }

    #[test]
    fn entering_and_leaving_variants_resolve_by_bit_8() {
        // Station failure 0x39C4 (bit 8 set) and its return 0x38C4 are distinct catalogue rows.
        assert!(describe(0x39C4, Lang::En).text.contains("entering"));
        assert!(describe(0x38C4, Lang::En).text.contains("leaving"));
        assert_eq!(describe(0x3942, Lang::En).text, "Module error");
        assert_eq!(describe(0x3842, Lang::En).text, "Module OK");
    }

    #[test]
    fn languages_parse_from_common_tags() {
        assert_eq!("en".parse::<Lang>(), Ok(Lang::En));
        assert_eq!("zh".parse::<Lang>(), Ok(Lang::ZhCn));
        assert_eq!("zh-CN".parse::<Lang>(), Ok(Lang::ZhCn));
        assert_eq!("zh_cn".parse::<Lang>(), Ok(Lang::ZhCn));
        assert!("de".parse::<Lang>().is_err());
    }

    #[test]
    fn class_meanings_cover_every_class() {
        for class in 0..16u8 {
            assert!(!class_meaning(class, Lang::En).is_empty());
            assert!(!class_meaning(class, Lang::ZhCn).is_empty());
        }
        assert_eq!(class_meaning(2, Lang::En), "Synchronous errors");
        assert_eq!(class_meaning(0xA, Lang::ZhCn), "自由定义的用户事件");
    }
}
