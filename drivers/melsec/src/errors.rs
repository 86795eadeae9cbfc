//! Texts for CPU self-diagnostic error codes (SD0), in English and Simplified Chinese.
//!
//! Q/L CPUs store SD0 as a **decimal** number (BIN), iQ-R CPUs as a **hexadecimal** code
//! (`melsec-cclink.md` §7, §7.3); the table is chosen by [`Series`], never guessed from the
//! value. The Q/L rows are the common codes of §7.5. **Most rows are unconfirmed**: their
//! code numbers, messages and stop/continue behaviour come from secondary sources and must be
//! verified against SH(NA)-080483ENG (QCPU hardware design, maintenance and inspection) or
//! the L-series hardware manual. Such rows have [`ErrorText::confirmed`] `= false` and their
//! English text ends with "(unconfirmed: verify against SH(NA)-080483ENG)". Only the WDT
//! error (5000/5001) is confirmed by a public manual page (§7.5).
//!
//! iQ-R codes are classified by range only (§7.3, \[S\]): minor 1000H–1FFFH, moderate
//! 2000H–3BFFH, major 3C00H–3FFFH. Whether the CPU stopped is read from SD203
//! ([`RunState`](crate::RunState)), not inferred from the code (§7.6).
//!
//! MC end codes (`4xxx` etc.) are a different code space ([`EndCode`](crate::EndCode)).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use crate::frame::Series;

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

/// What the table knows about one SD0 code, in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorText {
    /// The code as given.
    pub code: u16,
    /// The message (e.g. "WDT ERROR: scan time exceeded the watchdog time").
    pub text: Cow<'static, str>,
    /// What to check.
    pub remedy: Cow<'static, str>,
    /// Whether the CPU stops: `Some(true)` stop, `Some(false)` continues, `None` when it
    /// depends on the PLC RAS parameter or is unknown. SD203 is authoritative (§7.6).
    pub stops_cpu: Option<bool>,
    /// True only if a public manual page confirms the row (§7.5 status column).
    pub confirmed: bool,
}

struct Row {
    lo: u16,
    hi: u16,
    stops: Option<bool>,
    confirmed: bool,
    en: &'static str,
    zh: &'static str,
    remedy_en: &'static str,
    remedy_zh: &'static str,
}

const UNCONFIRMED_EN: &str = " (unconfirmed: verify against SH(NA)-080483ENG)";
const UNCONFIRMED_ZH: &str = "（未确认：请对照 SH(NA)-080483ENG 核实）";

/// Q/L SD0 rows (decimal codes), `melsec-cclink.md` §7.5. Sorted by `lo`.
const QL_ROWS: &[Row] = &[
    Row {
        lo: 1000,
        hi: 1009,
        stops: Some(true),
        confirmed: false,
        en: "MAIN CPU DOWN: CPU runaway or hardware fault (noise, power supply or bus fault)",
        zh: "MAIN CPU DOWN：CPU 失控或硬件故障（噪声、电源或总线故障）",
        remedy_en: "Reset the CPU; if it recurs, check noise and replace the CPU, power supply or base unit",
        remedy_zh: "复位 CPU；如再次发生，检查噪声并更换 CPU、电源或基板",
    },
    Row {
        lo: 1010,
        hi: 1010,
        stops: Some(true),
        confirmed: false,
        en: "END NOT EXECUTE: the END instruction was not reached",
        zh: "END NOT EXECUTE：未执行到 END 指令",
        remedy_en: "Check for noise and hardware faults; reset the CPU",
        remedy_zh: "检查噪声与硬件故障；复位 CPU",
    },
    Row {
        lo: 1100,
        hi: 1199,
        stops: Some(true),
        confirmed: false,
        en: "RAM ERROR: CPU memory check failed",
        zh: "RAM ERROR：CPU 存储器检查失败",
        remedy_en: "Hardware fault: replace the CPU module",
        remedy_zh: "硬件故障：更换 CPU 模块",
    },
    Row {
        lo: 1200,
        hi: 1210,
        stops: Some(true),
        confirmed: false,
        en: "OPE. CIRCUIT ERR.: operation circuit fault",
        zh: "OPE. CIRCUIT ERR.：运算电路故障",
        remedy_en: "Hardware fault: replace the CPU module",
        remedy_zh: "硬件故障：更换 CPU 模块",
    },
    Row {
        lo: 1300,
        hi: 1300,
        stops: None,
        confirmed: false,
        en: "FUSE BREAK OFF: an output module has a blown fuse (remote I/O stations included; SM60, SD5/SD6 locate it)",
        zh: "FUSE BREAK OFF：输出模块保险丝熔断（含远程 I/O 站；由 SM60、SD5/SD6 定位）",
        remedy_en: "Replace the fuse and check the module's external supply",
        remedy_zh: "更换保险丝，检查模块的外部电源",
    },
    Row {
        lo: 1310,
        hi: 1310,
        stops: Some(true),
        confirmed: false,
        en: "I/O INT. ERROR: an interrupt occurred with no interrupt module mounted",
        zh: "I/O INT. ERROR：未安装中断模块却发生了中断",
        remedy_en: "Hardware fault: check the modules and base unit",
        remedy_zh: "硬件故障：检查模块和基板",
    },
    Row {
        lo: 1401,
        hi: 1403,
        stops: None,
        confirmed: false,
        en: "SP.UNIT DOWN: an intelligent function module did not answer (SD5: module No.)",
        zh: "SP.UNIT DOWN：智能功能模块无响应（SD5：模块编号）",
        remedy_en: "Reseat or replace the module; disconnect bus-connected devices (e.g. GOT bus cable) one by one",
        remedy_zh: "重新安装或更换该模块；逐个断开总线连接设备（如 GOT 总线电缆）排查",
    },
    Row {
        lo: 1500,
        hi: 1500,
        stops: Some(false),
        confirmed: false,
        en: "AC/DC DOWN: momentary power interruption (SD53 counts them)",
        zh: "AC/DC DOWN：瞬时停电（SD53 计数）",
        remedy_en: "Check the power supply",
        remedy_zh: "检查电源",
    },
    Row {
        lo: 1600,
        hi: 1600,
        stops: Some(false),
        confirmed: false,
        en: "BATTERY ERROR: CPU or memory-card battery low or not connected (SM51)",
        zh: "BATTERY ERROR：CPU 或存储卡电池电压低或未连接（SM51）",
        remedy_en: "Replace the battery",
        remedy_zh: "更换电池",
    },
    Row {
        lo: 2000,
        hi: 2000,
        stops: None,
        confirmed: false,
        en: "UNIT VERIFY ERR.: I/O module information differs from that at power-on (SM61; SD5/SD6)",
        zh: "UNIT VERIFY ERR.：I/O 模块信息与上电时不同（SM61；SD5/SD6）",
        remedy_en: "Reseat or replace the module at SD5/SD6",
        remedy_zh: "重新安装或更换 SD5/SD6 所指模块",
    },
    Row {
        lo: 2100,
        hi: 2100,
        stops: Some(true),
        confirmed: false,
        en: "SP.UNIT LAY ERR.: module layout contradicts the I/O assignment parameters",
        zh: "SP.UNIT LAY ERR.：模块配置与 I/O 分配参数不符",
        remedy_en: "Correct the I/O assignment",
        remedy_zh: "修正 I/O 分配",
    },
    Row {
        lo: 2110,
        hi: 2110,
        stops: Some(true),
        confirmed: false,
        en: "SP.UNIT ERROR: an instruction or refresh addressed a slot without an intelligent function module",
        zh: "SP.UNIT ERROR：指令或刷新访问了没有智能功能模块的插槽",
        remedy_en: "Correct the program or parameters",
        remedy_zh: "修正程序或参数",
    },
    Row {
        lo: 2120,
        hi: 2120,
        stops: Some(true),
        confirmed: false,
        en: "SP.UNIT LAY ERR.: base unit or module layout not supported by the CPU",
        zh: "SP.UNIT LAY ERR.：CPU 不支持该基板或模块配置",
        remedy_en: "Correct the hardware configuration",
        remedy_zh: "修正硬件配置",
    },
    Row {
        lo: 2400,
        hi: 2400,
        stops: Some(true),
        confirmed: false,
        en: "FILE SET ERROR: a file named in the parameters does not exist",
        zh: "FILE SET ERROR：参数中指定的文件不存在",
        remedy_en: "Write the file or correct the parameter",
        remedy_zh: "写入该文件或修正参数",
    },
    Row {
        lo: 2500,
        hi: 2500,
        stops: Some(true),
        confirmed: false,
        en: "CAN'T EXE. PRG.: a program file cannot be executed with the current parameters",
        zh: "CAN'T EXE. PRG.：程序文件无法以当前参数执行",
        remedy_en: "Correct the program or parameters",
        remedy_zh: "修正程序或参数",
    },
    Row {
        lo: 3000,
        hi: 3000,
        stops: Some(true),
        confirmed: false,
        en: "PARAMETER ERROR: a PLC parameter value is out of range for this CPU (SD16: parameter No.)",
        zh: "PARAMETER ERROR：PLC 参数值超出该 CPU 范围（SD16：参数编号）",
        remedy_en: "Correct and rewrite the parameters",
        remedy_zh: "修正并重新写入参数",
    },
    Row {
        lo: 3100,
        hi: 3100,
        stops: Some(true),
        confirmed: false,
        en: "LINK PARA. ERROR: network parameters do not match the network module",
        zh: "LINK PARA. ERROR：网络参数与网络模块不符",
        remedy_en: "Correct the network parameters",
        remedy_zh: "修正网络参数",
    },
    Row {
        lo: 4000,
        hi: 4000,
        stops: Some(true),
        confirmed: false,
        en: "INSTRCT. CODE ERR.: the program contains an instruction the CPU cannot decode",
        zh: "INSTRCT. CODE ERR.：程序中含有 CPU 无法解码的指令",
        remedy_en: "Correct the program at the error location (SD5–SD15)",
        remedy_zh: "修正错误位置（SD5–SD15）的程序",
    },
    Row {
        lo: 4010,
        hi: 4010,
        stops: Some(true),
        confirmed: false,
        en: "MISSING END INS.: no END instruction in the program",
        zh: "MISSING END INS.：程序中没有 END 指令",
        remedy_en: "Correct the program",
        remedy_zh: "修正程序",
    },
    Row {
        lo: 4100,
        hi: 4101,
        stops: None,
        confirmed: false,
        en: "OPERATION ERROR: an instruction cannot process its data or accesses beyond a device range (SM56)",
        zh: "OPERATION ERROR：指令无法处理数据或访问超出软元件范围（SM56）",
        remedy_en: "Correct the program at the error location (SD5–SD15)",
        remedy_zh: "修正错误位置（SD5–SD15）的程序",
    },
    Row {
        lo: 4200,
        hi: 4200,
        stops: Some(true),
        confirmed: false,
        en: "FOR NEXT ERROR: FOR–NEXT structure broken",
        zh: "FOR NEXT ERROR：FOR–NEXT 结构错误",
        remedy_en: "Correct the program",
        remedy_zh: "修正程序",
    },
    Row {
        lo: 5000,
        hi: 5001,
        stops: Some(true),
        confirmed: true,
        en: "WDT ERROR: scan time exceeded the watchdog time set in PLC RAS (all outputs OFF)",
        zh: "WDT ERROR：扫描时间超过 PLC RAS 中设定的看门狗时间（所有输出 OFF）",
        remedy_en: "Shorten the scan, raise the WDT setting or execute WDT reset; suspect hardware if the program is short",
        remedy_zh: "缩短扫描时间、增大看门狗设定或执行 WDT 复位；程序很短时怀疑硬件",
    },
    Row {
        lo: 5010,
        hi: 5010,
        stops: Some(false),
        confirmed: false,
        en: "PRG. TIME OVER: scan time exceeded the constant-scan setting",
        zh: "PRG. TIME OVER：扫描时间超过恒定扫描设定",
        remedy_en: "Shorten the scan or raise the constant-scan time",
        remedy_zh: "缩短扫描时间或增大恒定扫描时间",
    },
    Row {
        lo: 7000,
        hi: 7000,
        stops: Some(true),
        confirmed: false,
        en: "MULTI CPU DOWN: another CPU of the multiple CPU system stopped (SD5: CPU No.)",
        zh: "MULTI CPU DOWN：多 CPU 系统中的其他 CPU 停止（SD5：CPU 编号）",
        remedy_en: "Clear the error of the stopped CPU, then reset CPU No. 1",
        remedy_zh: "排除已停止 CPU 的错误，然后复位 1 号 CPU",
    },
    Row {
        lo: 7020,
        hi: 7020,
        stops: Some(false),
        confirmed: false,
        en: "MULTI CPU ERROR: another CPU of the multiple CPU system has a stop error",
        zh: "MULTI CPU ERROR：多 CPU 系统中的其他 CPU 发生停止错误",
        remedy_en: "Check the CPU at SD5",
        remedy_zh: "检查 SD5 所指 CPU",
    },
    Row {
        lo: 9000,
        hi: 9000,
        stops: Some(false),
        confirmed: false,
        en: "F**** annunciator: the program turned an annunciator F ON (application alarm, SM62)",
        zh: "F**** 信号报警器：程序将报警器 F 置 ON（应用报警，SM62）",
        remedy_en: "Handle the machine alarm (annunciator No. in SD16/SD62)",
        remedy_zh: "处理设备报警（报警器编号见 SD16/SD62）",
    },
];

/// Describes an SD0 code for a CPU series (see the module doc).
pub fn describe(code: u16, series: Series, lang: Lang) -> ErrorText {
    match series {
        Series::Q | Series::L => describe_ql(code, lang),
        Series::IqR => describe_iqr(code, lang),
    }
}

fn describe_ql(code: u16, lang: Lang) -> ErrorText {
    if code == 0 {
        return no_error(lang);
    }
    if let Some(row) = QL_ROWS.iter().find(|r| (r.lo..=r.hi).contains(&code)) {
        let (text, remedy): (Cow<'static, str>, Cow<'static, str>) = match (lang, row.confirmed) {
            (Lang::En, true) => (row.en.into(), row.remedy_en.into()),
            (Lang::ZhCn, true) => (row.zh.into(), row.remedy_zh.into()),
            (Lang::En, false) => (
                format!("{}{UNCONFIRMED_EN}", row.en).into(),
                row.remedy_en.into(),
            ),
            (Lang::ZhCn, false) => (
                format!("{}{UNCONFIRMED_ZH}", row.zh).into(),
                row.remedy_zh.into(),
            ),
        };
        return ErrorText {
            code,
            text,
            remedy,
            stops_cpu: row.stops,
            confirmed: row.confirmed,
        };
    }
    // QnA class boundaries (§7.4 [S] for QnA; unconfirmed for Q/L).
    let (stops, en, zh) = if (1000..=1299).contains(&code) {
        (
            Some(true),
            "major error (QnA range 1000–1299 stops the CPU)",
            "重大错误（QnA 范围 1000–1299，CPU 停止）",
        )
    } else {
        (
            None,
            "self-diagnostic error not in the table",
            "表中未收录的自诊断错误",
        )
    };
    let (text, remedy) = match lang {
        Lang::En => (
            format!("error {code}: {en}{UNCONFIRMED_EN}"),
            "Look the code up in the CPU's error code list (SH(NA)-080483ENG); read SD203 for the CPU state",
        ),
        Lang::ZhCn => (
            format!("错误 {code}：{zh}{UNCONFIRMED_ZH}"),
            "请在 CPU 错误代码表（SH(NA)-080483ENG）中查找该代码；CPU 状态以 SD203 为准",
        ),
    };
    ErrorText {
        code,
        text: text.into(),
        remedy: remedy.into(),
        stops_cpu: stops,
        confirmed: false,
    }
}

fn describe_iqr(code: u16, lang: Lang) -> ErrorText {
    if code == 0 {
        return no_error(lang);
    }
    // Ranges \[S\] (§7.3); whether "moderate" always stops is not stated there.
    let (stops, en, zh) = match code {
        0x1000..=0x1FFF => (
            Some(false),
            "minor error (operation continues)",
            "轻度错误（继续运行）",
        ),
        0x2000..=0x3BFF => (None, "moderate error", "中度错误"),
        0x3C00..=0x3FFF => (Some(true), "major error", "重度错误"),
        _ => (
            None,
            "code outside the self-diagnostic ranges",
            "不在自诊断错误范围内的代码",
        ),
    };
    let (text, remedy) = match lang {
        Lang::En => (
            format!("iQ-R error {code:04X}H: {en}"),
            "Look the code up in the iQ-R CPU error code list; read SD203 for the CPU state",
        ),
        Lang::ZhCn => (
            format!("iQ-R 错误 {code:04X}H：{zh}"),
            "请在 iQ-R CPU 错误代码表中查找该代码；CPU 状态以 SD203 为准",
        ),
    };
    ErrorText {
        code,
        text: text.into(),
        remedy: remedy.into(),
        stops_cpu: stops,
        // The range classification is confirmed; the stop behaviour of "minor" follows the
        // usual iQ-R meaning and is not stated on the cited page.
        confirmed: false,
    }
}

fn no_error(lang: Lang) -> ErrorText {
    let (text, remedy) = match lang {
        Lang::En => ("no error", ""),
        Lang::ZhCn => ("无错误", ""),
    };
    ErrorText {
        code: 0,
        text: text.into(),
        remedy: remedy.into(),
        stops_cpu: Some(false),
        confirmed: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_are_sorted_and_disjoint() {
        for w in QL_ROWS.windows(2) {
            assert!(w[0].lo <= w[0].hi && w[0].hi < w[1].lo);
        }
    }

    #[test]
    fn wdt_error_is_confirmed_and_stops_the_cpu() {
        let t = describe(5000, Series::Q, Lang::En);
        assert!(t.confirmed);
        assert_eq!(t.stops_cpu, Some(true));
        assert!(t.text.starts_with("WDT ERROR"));
        assert!(!t.text.contains("unconfirmed"));
    }

    #[test]
    fn unconfirmed_rows_say_so_in_both_languages() {
        let en = describe(1600, Series::L, Lang::En);
        let zh = describe(1600, Series::L, Lang::ZhCn);
        assert!(!en.confirmed);
        assert!(
            en.text
                .contains("unconfirmed: verify against SH(NA)-080483ENG")
        );
        assert!(zh.text.contains("未确认"));
    }

    #[test]
    fn iqr_codes_are_classified_by_hex_range() {
        assert_eq!(
            describe(0x1800, Series::IqR, Lang::En).stops_cpu,
            Some(false)
        );
        assert_eq!(
            describe(0x3C00, Series::IqR, Lang::En).stops_cpu,
            Some(true)
        );
        assert!(
            describe(0x2400, Series::IqR, Lang::En)
                .text
                .contains("2400H")
        );
    }

    #[test]
    fn unknown_codes_still_get_a_text() {
        let t = describe(8123, Series::Q, Lang::En);
        assert!(t.text.contains("8123"));
        assert!(!t.confirmed);
    }
}
