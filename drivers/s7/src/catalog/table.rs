//! The event texts, as data.
//!
//! Facts only: event ID → short meaning, as listed in Siemens "System Software for S7-300/400
//! System and Standard Functions", Vol. 2, chapter 34 "Events" (§34.2 … §34.13), cross-checked
//! against the event-ID texts of the Wireshark 4.0.17 s7comm dissector (reference s7.md §4).
//! The English texts are retyped (several shortened), the Chinese texts are plcdiag's own
//! translations. Remedies are plcdiag's short operator hints, given only where the event text
//! itself names the thing to check.
//!
//! Invariants (tested): [`EVENTS`] is sorted by id with no duplicates; [`MODULE_EVENTS`]
//! likewise, holding only ids of classes 8 and 9 with the identifier nibble (bits 8–11) zero,
//! because they are looked up with `id & 0xF0FF`. Every text is non-empty.

/// One row of the catalogue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    pub(crate) id: u16,
    pub(crate) en: &'static str,
    pub(crate) zh: &'static str,
    /// (English, Chinese).
    pub(crate) remedy: Option<(&'static str, &'static str)>,
}

const fn e(id: u16, en: &'static str, zh: &'static str) -> Row {
    Row {
        id,
        en,
        zh,
        remedy: None,
    }
}

const fn r(
    id: u16,
    en: &'static str,
    zh: &'static str,
    remedy_en: &'static str,
    remedy_zh: &'static str,
) -> Row {
    Row {
        id,
        en,
        zh,
        remedy: Some((remedy_en, remedy_zh)),
    }
}

const CHECK_OB_LOADED: (&str, &str) = (
    "Check that the error OB for this event is loaded in the CPU, then find the cause in the detail entries before it.",
    "检查 CPU 中是否已下载该事件对应的错误 OB，并根据此前的诊断条目查找原因。",
);

const fn s(id: u16, en: &'static str, zh: &'static str) -> Row {
    Row {
        id,
        en,
        zh,
        remedy: Some(CHECK_OB_LOADED),
    }
}

/// Events of classes 1–7 and F, keyed by the full 16-bit event ID. Sorted by id.
pub(crate) static EVENTS: &[Row] = &[
    // Class 1: standard OB events (§34.2).
    e(
        0x113A,
        "Start request for cyclic interrupt OB with special handling (S7-300 only)",
        "带特殊处理的循环中断 OB 启动请求（仅 S7-300）",
    ),
    e(
        0x1155,
        "Status interrupt for PROFIBUS DP",
        "PROFIBUS DP 状态中断",
    ),
    e(
        0x1156,
        "Update interrupt for PROFIBUS DP",
        "PROFIBUS DP 更新中断",
    ),
    e(
        0x1157,
        "Manufacturer interrupt for PROFIBUS DP",
        "PROFIBUS DP 制造商中断",
    ),
    e(
        0x1158,
        "Status interrupt for PROFINET IO",
        "PROFINET IO 状态中断",
    ),
    e(
        0x1159,
        "Update interrupt for PROFINET IO",
        "PROFINET IO 更新中断",
    ),
    e(
        0x115A,
        "Manufacturer interrupt for PROFINET IO",
        "PROFINET IO 制造商中断",
    ),
    e(
        0x115B,
        "PROFINET IO: profile-specific interrupt",
        "PROFINET IO：行规专用中断",
    ),
    e(
        0x116A,
        "Technology synchronization interrupt",
        "工艺同步中断",
    ),
    e(0x1381, "Request for manual warm restart", "手动暖启动请求"),
    e(
        0x1382,
        "Request for automatic warm restart",
        "自动暖启动请求",
    ),
    e(0x1383, "Request for manual hot restart", "手动热启动请求"),
    e(
        0x1384,
        "Request for automatic hot restart",
        "自动热启动请求",
    ),
    e(0x1385, "Request for manual cold restart", "手动冷启动请求"),
    e(
        0x1386,
        "Request for automatic cold restart",
        "自动冷启动请求",
    ),
    e(
        0x1387,
        "Master CPU: request for manual cold restart",
        "主 CPU：手动冷启动请求",
    ),
    e(
        0x1388,
        "Master CPU: request for automatic cold restart",
        "主 CPU：自动冷启动请求",
    ),
    e(
        0x138A,
        "Master CPU: request for manual warm restart",
        "主 CPU：手动暖启动请求",
    ),
    e(
        0x138B,
        "Master CPU: request for automatic warm restart",
        "主 CPU：自动暖启动请求",
    ),
    e(
        0x138C,
        "Standby CPU: request for manual hot restart",
        "备用 CPU：手动热启动请求",
    ),
    e(
        0x138D,
        "Standby CPU: request for automatic hot restart",
        "备用 CPU：自动热启动请求",
    ),
    // Class 2: synchronous errors (§34.3).
    e(0x2521, "BCD conversion error", "BCD 转换错误"),
    e(
        0x2522,
        "Area length error when reading",
        "读访问时区域长度错误",
    ),
    e(
        0x2523,
        "Area length error when writing",
        "写访问时区域长度错误",
    ),
    e(0x2524, "Area error when reading", "读访问时区域错误"),
    e(0x2525, "Area error when writing", "写访问时区域错误"),
    e(0x2526, "Timer number error", "定时器编号错误"),
    e(0x2527, "Counter number error", "计数器编号错误"),
    e(0x2528, "Alignment error when reading", "读访问时对齐错误"),
    e(0x2529, "Alignment error when writing", "写访问时对齐错误"),
    e(
        0x2530,
        "Write error when accessing the DB",
        "访问 DB 时写错误",
    ),
    e(
        0x2531,
        "Write error when accessing the DI",
        "访问 DI（背景数据块）时写错误",
    ),
    e(
        0x2532,
        "Block number error when opening a DB",
        "打开 DB 时块编号错误",
    ),
    e(
        0x2533,
        "Block number error when opening a DI",
        "打开 DI 时块编号错误",
    ),
    e(
        0x2534,
        "Block number error when calling an FC",
        "调用 FC 时块编号错误",
    ),
    e(
        0x2535,
        "Block number error when calling an FB",
        "调用 FB 时块编号错误",
    ),
    e(0x253A, "DB not loaded", "DB 未下载"),
    e(0x253C, "FC not loaded", "FC 未下载"),
    e(0x253D, "SFC not loaded", "SFC 未下载"),
    e(0x253E, "FB not loaded", "FB 未下载"),
    e(0x253F, "SFB not loaded", "SFB 未下载"),
    e(
        0x2942,
        "I/O access error when reading",
        "读访问时 I/O 访问错误",
    ),
    e(
        0x2943,
        "I/O access error when writing",
        "写访问时 I/O 访问错误",
    ),
    // Class 3: asynchronous errors (§34.4).
    e(0x3267, "End of module reconfiguration", "模块重新配置结束"),
    e(
        0x3367,
        "Start of module reconfiguration",
        "模块重新配置开始",
    ),
    r(
        0x3501,
        "Cycle time exceeded",
        "超出扫描周期时间",
        "Compare the program run time with the configured maximum cycle time (scan cycle monitoring time).",
        "比较程序运行时间与组态的最大扫描周期时间（扫描周期监视时间）。",
    ),
    e(
        0x3502,
        "User interface (OB or FRB) request error",
        "用户接口（OB 或 FRB）请求错误",
    ),
    e(
        0x3503,
        "Delay too long processing a priority class",
        "处理优先级等级时延迟过长",
    ),
    e(
        0x3505,
        "Time-of-day interrupt(s) skipped due to new clock setting",
        "由于重新设置时钟，跳过了时间中断",
    ),
    e(
        0x3506,
        "Time-of-day interrupt(s) skipped when changing to RUN after HOLD",
        "从 HOLD 切换到 RUN 时跳过了时间中断",
    ),
    e(
        0x3507,
        "Multiple OB request errors caused internal buffer overflow",
        "多次 OB 请求错误导致内部缓冲区溢出",
    ),
    e(
        0x3508,
        "Synchronous cycle interrupt timing error",
        "同步循环中断时序错误",
    ),
    e(
        0x3509,
        "Interrupt loss due to excess interrupt load",
        "中断负载过高导致中断丢失",
    ),
    e(0x350A, "Resume RUN mode after CiR", "CiR 之后恢复 RUN 模式"),
    e(
        0x3571,
        "Nesting depth too high in nesting levels",
        "括号嵌套层数过深",
    ),
    e(
        0x3572,
        "Nesting depth for Master Control Relays too high",
        "主控继电器（MCR）嵌套深度过深",
    ),
    e(
        0x3573,
        "Nesting depth too high after synchronous errors",
        "同步错误后嵌套深度过深",
    ),
    e(
        0x3574,
        "Nesting depth for block calls (U stack) too high",
        "块调用嵌套深度（U 堆栈）过深",
    ),
    e(
        0x3575,
        "Nesting depth for block calls (B stack) too high",
        "块调用嵌套深度（B 堆栈）过深",
    ),
    e(0x3576, "Local data allocation error", "局部数据分配错误"),
    e(0x3578, "Unknown instruction", "未知指令"),
    e(
        0x357A,
        "Jump instruction to a target outside the block",
        "跳转指令的目标在块之外",
    ),
    e(
        0x3582,
        "Memory error detected and corrected by the operating system",
        "操作系统检测到并纠正了存储器错误",
    ),
    e(
        0x3583,
        "Accumulation of detected and corrected memory errors",
        "检测到并纠正的存储器错误累积",
    ),
    e(
        0x3587,
        "Multi-bit memory error detected and corrected",
        "检测到并纠正了多位存储器错误",
    ),
    e(
        0x35A1,
        "User interface (OB or FRB) not found",
        "未找到用户接口（OB 或 FRB）",
    ),
    e(
        0x35A2,
        "OB not loaded (started by SFC or by the operating system due to configuration)",
        "OB 未下载（由 SFC 或操作系统按组态启动）",
    ),
    e(
        0x35A3,
        "Error when the operating system accesses a block",
        "操作系统访问块时出错",
    ),
    e(
        0x35D2,
        "Diagnostic entries cannot be sent at present",
        "当前无法发送诊断条目",
    ),
    e(
        0x35D3,
        "Synchronization frames cannot be sent",
        "无法发送同步帧",
    ),
    e(
        0x35D4,
        "Illegal time jump resulting from synchronization",
        "时间同步导致非法时间跳变",
    ),
    e(
        0x35D5,
        "Error adopting the synchronization time",
        "采用同步时间时出错",
    ),
    e(
        0x35E1,
        "Incorrect frame ID in GD",
        "全局数据（GD）中帧标识错误",
    ),
    e(
        0x35E2,
        "GD packet status cannot be entered in DB",
        "GD 包状态无法写入 DB",
    ),
    e(0x35E3, "Frame length error in GD", "GD 帧长度错误"),
    e(
        0x35E4,
        "Illegal GD packet number received",
        "接收到非法的 GD 包编号",
    ),
    e(
        0x35E5,
        "Error accessing DB in communication SFBs for configured S7 connections",
        "组态的 S7 连接的通信 SFB 访问 DB 时出错",
    ),
    e(
        0x35E6,
        "GD total status cannot be entered in DB",
        "GD 总状态无法写入 DB",
    ),
    e(
        0x3821,
        "BATTF: failure of at least one backup battery of the central rack, problem eliminated",
        "BATTF：中央机架至少一个后备电池故障，已排除",
    ),
    e(
        0x3822,
        "BAF: failure of backup voltage on the central rack, problem eliminated",
        "BAF：中央机架后备电压故障，已排除",
    ),
    e(
        0x3823,
        "24 V supply failure on the central rack, problem eliminated",
        "中央机架 24 V 电源故障，已排除",
    ),
    e(
        0x3825,
        "BATTF: failure of at least one backup battery of the redundant central rack, problem eliminated",
        "BATTF：冗余中央机架至少一个后备电池故障，已排除",
    ),
    e(
        0x3826,
        "BAF: failure of backup voltage on the redundant central rack, problem eliminated",
        "BAF：冗余中央机架后备电压故障，已排除",
    ),
    e(
        0x3827,
        "24 V supply failure on the redundant central rack, problem eliminated",
        "冗余中央机架 24 V 电源故障，已排除",
    ),
    e(
        0x3831,
        "BATTF: failure of at least one backup battery of the expansion rack, problem eliminated",
        "BATTF：扩展机架至少一个后备电池故障，已排除",
    ),
    e(
        0x3832,
        "BAF: failure of backup voltage on the expansion rack, problem eliminated",
        "BAF：扩展机架后备电压故障，已排除",
    ),
    e(
        0x3833,
        "24 V supply failure on at least one expansion rack, problem eliminated",
        "至少一个扩展机架 24 V 电源故障，已排除",
    ),
    e(0x3842, "Module OK", "模块正常"),
    e(
        0x3861,
        "Module/interface module inserted, module type OK",
        "模块/接口模块已插入，模块类型正确",
    ),
    e(
        0x3863,
        "Module/interface module inserted, but wrong module type",
        "模块/接口模块已插入，但模块类型错误",
    ),
    e(
        0x3864,
        "Module/interface module inserted, but causing a problem (type ID unreadable)",
        "模块/接口模块已插入，但有故障（无法读取类型标识）",
    ),
    e(
        0x3865,
        "Module inserted, but error in module parameter assignment",
        "模块已插入，但模块参数分配错误",
    ),
    e(
        0x3866,
        "Module can be addressed again, load voltage error removed",
        "模块可再次访问，负载电压错误已消除",
    ),
    e(
        0x3881,
        "Interface error, leaving state",
        "接口错误（离开状态）",
    ),
    e(0x3884, "Interface module inserted", "接口模块已插入"),
    e(
        0x38B3,
        "I/O access error when updating the process image input table, leaving state",
        "更新过程映像输入表时 I/O 访问错误（离开状态）",
    ),
    e(
        0x38B4,
        "I/O access error when transferring the process image to the output modules, leaving state",
        "将过程映像传送到输出模块时 I/O 访问错误（离开状态）",
    ),
    e(
        0x38C1,
        "Expansion rack operational again (1 to 21), leaving state",
        "扩展机架（1 至 21）恢复运行（离开状态）",
    ),
    e(
        0x38C2,
        "Expansion rack operational again, but mismatch between expected and actual configuration",
        "扩展机架恢复运行，但预设组态与实际组态不一致",
    ),
    e(
        0x38C4,
        "Distributed I/O: station failure, leaving state (station returned)",
        "分布式 I/O：站故障（离开状态，站已恢复）",
    ),
    e(
        0x38C5,
        "Distributed I/O: station fault, leaving state",
        "分布式 I/O：站错误（离开状态）",
    ),
    e(
        0x38C6,
        "Expansion rack operational again, but error(s) in module parameter assignment",
        "扩展机架恢复运行，但模块参数分配有错误",
    ),
    e(
        0x38C7,
        "DP: station operational again, but error(s) in module parameter assignment",
        "DP：站恢复运行，但模块参数分配有错误",
    ),
    e(
        0x38C8,
        "DP: station operational again, but mismatch between expected and actual configuration",
        "DP：站恢复运行，但预设组态与实际组态不一致",
    ),
    e(
        0x38CB,
        "PROFINET IO station operational again",
        "PROFINET IO 站恢复运行",
    ),
    e(
        0x38CC,
        "PROFINET IO station error corrected",
        "PROFINET IO 站错误已排除",
    ),
    r(
        0x3921,
        "BATTF: failure of at least one backup battery of the central rack",
        "BATTF：中央机架至少一个后备电池故障",
        "Replace the backup battery of the central rack's power supply.",
        "更换中央机架电源模块的后备电池。",
    ),
    r(
        0x3922,
        "BAF: failure of backup voltage on the central rack",
        "BAF：中央机架后备电压故障",
        "Check the backup battery and the power supply of the central rack.",
        "检查中央机架的后备电池和电源。",
    ),
    r(
        0x3923,
        "24 V supply failure on the central rack",
        "中央机架 24 V 电源故障",
        "Check the 24 V supply of the central rack.",
        "检查中央机架的 24 V 电源。",
    ),
    e(
        0x3925,
        "BATTF: failure of at least one backup battery of the redundant central rack",
        "BATTF：冗余中央机架至少一个后备电池故障",
    ),
    e(
        0x3926,
        "BAF: failure of backup voltage on the redundant central rack",
        "BAF：冗余中央机架后备电压故障",
    ),
    e(
        0x3927,
        "24 V supply failure on the redundant central rack",
        "冗余中央机架 24 V 电源故障",
    ),
    r(
        0x3931,
        "BATTF: failure of at least one backup battery of the expansion rack",
        "BATTF：扩展机架至少一个后备电池故障",
        "Replace the backup battery of the expansion rack's power supply.",
        "更换扩展机架电源模块的后备电池。",
    ),
    e(
        0x3932,
        "BAF: failure of backup voltage on the expansion rack",
        "BAF：扩展机架后备电压故障",
    ),
    r(
        0x3933,
        "24 V supply failure on at least one expansion rack",
        "至少一个扩展机架 24 V 电源故障",
        "Check the 24 V supply of the expansion racks.",
        "检查扩展机架的 24 V 电源。",
    ),
    r(
        0x3942,
        "Module error",
        "模块错误",
        "Read the module's diagnostic data (rack/slot in the entry) and check the module and its wiring.",
        "读取该模块的诊断数据（条目中的机架/插槽），检查模块及其接线。",
    ),
    e(
        0x3951,
        "PROFINET IO submodule removed",
        "PROFINET IO 子模块已拔出",
    ),
    e(
        0x3954,
        "PROFINET IO interface submodule/submodule removed",
        "PROFINET IO 接口子模块/子模块已拔出",
    ),
    e(
        0x3961,
        "Module/interface module removed, cannot be addressed",
        "模块/接口模块已拔出，无法访问",
    ),
    r(
        0x3966,
        "Module cannot be addressed, load voltage error",
        "模块无法访问，负载电压错误",
        "Check the module's load voltage supply.",
        "检查该模块的负载电源。",
    ),
    e(
        0x3968,
        "Module reconfiguration has ended with an error",
        "模块重新配置结束，但有错误",
    ),
    e(
        0x3981,
        "Interface error, entering state",
        "接口错误（进入状态）",
    ),
    e(0x3984, "Interface module removed", "接口模块已拔出"),
    e(
        0x39B1,
        "I/O access error when updating the process image input table",
        "更新过程映像输入表时 I/O 访问错误",
    ),
    e(
        0x39B2,
        "I/O access error when transferring the process image to the output modules",
        "将过程映像传送到输出模块时 I/O 访问错误",
    ),
    e(
        0x39B3,
        "I/O access error when updating the process image input table",
        "更新过程映像输入表时 I/O 访问错误",
    ),
    e(
        0x39B4,
        "I/O access error when transferring the process image to the output modules",
        "将过程映像传送到输出模块时 I/O 访问错误",
    ),
    r(
        0x39C1,
        "Expansion rack failure (1 to 21), entering state",
        "扩展机架（1 至 21）故障（进入状态）",
        "Check the expansion rack's power supply and the interface-module connection.",
        "检查扩展机架的电源及接口模块连接。",
    ),
    e(
        0x39C3,
        "Distributed I/O: master system failure, entering state",
        "分布式 I/O：主站系统故障（进入状态）",
    ),
    r(
        0x39C4,
        "Distributed I/O: station failure, entering state",
        "分布式 I/O：站故障（进入状态）",
        "Check the station's power supply, bus cable, connectors and address setting.",
        "检查该站的电源、总线电缆、连接器和地址设置。",
    ),
    e(
        0x39C5,
        "Distributed I/O: station fault, entering state",
        "分布式 I/O：站错误（进入状态）",
    ),
    e(0x39CA, "PROFINET IO system failure", "PROFINET IO 系统故障"),
    r(
        0x39CB,
        "PROFINET IO station failure",
        "PROFINET IO 站故障",
        "Check the IO device's power supply, Ethernet cabling and device name.",
        "检查 IO 设备的电源、以太网电缆和设备名称。",
    ),
    e(0x39CC, "PROFINET IO station error", "PROFINET IO 站错误"),
    e(
        0x39CD,
        "PROFINET IO station operational again, but expected configuration does not match actual configuration",
        "PROFINET IO 站恢复运行，但预设组态与实际组态不一致",
    ),
    e(
        0x39CE,
        "PROFINET IO station operational again, but error(s) in module parameter assignment",
        "PROFINET IO 站恢复运行，但模块参数分配有错误",
    ),
    // Class 4: stop events and other mode transitions (§34.5).
    e(
        0x42F3,
        "Checksum error detected and corrected by the operating system",
        "操作系统检测到并纠正了校验和错误",
    ),
    e(0x4300, "Backed-up power on", "带后备的上电"),
    e(
        0x4301,
        "Mode transition from STOP to STARTUP",
        "运行模式从 STOP 切换到 STARTUP（启动）",
    ),
    e(
        0x4302,
        "Mode transition from STARTUP to RUN",
        "运行模式从 STARTUP（启动）切换到 RUN",
    ),
    e(
        0x4303,
        "STOP caused by the stop switch being operated",
        "操作停止开关导致 STOP",
    ),
    e(
        0x4304,
        "STOP caused by PG STOP operation or by SFB 20 \"STOP\"",
        "编程器 STOP 操作或 SFB 20“STOP”导致 STOP",
    ),
    e(0x4305, "HOLD: breakpoint reached", "HOLD：到达断点"),
    e(0x4306, "HOLD: breakpoint exited", "HOLD：离开断点"),
    e(
        0x4307,
        "Memory reset started by PG operation",
        "编程器操作启动存储器复位",
    ),
    e(
        0x4308,
        "Memory reset started by switch setting",
        "模式开关启动存储器复位",
    ),
    r(
        0x4309,
        "Memory reset started automatically (power on not backed up)",
        "自动启动存储器复位（上电时无后备）",
        "Check the backup battery: the CPU lost its retentive data at power on.",
        "检查后备电池：CPU 上电时丢失了保持性数据。",
    ),
    e(
        0x430A,
        "HOLD exited, transition to STOP",
        "退出 HOLD，切换到 STOP",
    ),
    e(
        0x430D,
        "STOP caused by another CPU in multicomputing",
        "多 CPU 运行中其他 CPU 导致 STOP",
    ),
    e(0x430E, "Memory reset executed", "已执行存储器复位"),
    e(
        0x430F,
        "STOP on the module due to STOP on a CPU",
        "由于某 CPU 进入 STOP，模块进入 STOP",
    ),
    e(0x4318, "Start of CiR", "CiR（运行中组态更改）开始"),
    e(0x4319, "CiR completed", "CiR（运行中组态更改）完成"),
    e(0x4357, "Module watchdog started", "模块看门狗已启动"),
    e(
        0x4358,
        "All modules are ready for operation",
        "所有模块均已就绪",
    ),
    e(0x43B0, "Firmware update was successful", "固件更新成功"),
    e(0x43D3, "STOP on standby CPU", "备用 CPU 进入 STOP"),
    e(
        0x4510,
        "STOP: violation of the CPU's data range",
        "STOP：违反 CPU 数据范围",
    ),
    e(
        0x4520,
        "DEFECTIVE: STOP not possible",
        "故障（DEFECT）：无法进入 STOP",
    ),
    e(
        0x4521,
        "DEFECTIVE: failure of the instruction processing processor",
        "故障（DEFECT）：指令处理处理器失效",
    ),
    e(
        0x4522,
        "DEFECTIVE: failure of the clock chip",
        "故障（DEFECT）：时钟芯片失效",
    ),
    e(
        0x4523,
        "DEFECTIVE: failure of the clock pulse generator",
        "故障（DEFECT）：时钟脉冲发生器失效",
    ),
    e(
        0x4524,
        "DEFECTIVE: failure of the timer update function",
        "故障（DEFECT）：定时器更新功能失效",
    ),
    e(
        0x4525,
        "DEFECTIVE: failure of multicomputing synchronization",
        "故障（DEFECT）：多 CPU 同步失效",
    ),
    e(
        0x4527,
        "DEFECTIVE: failure of I/O access monitoring",
        "故障（DEFECT）：I/O 访问监视失效",
    ),
    e(
        0x4528,
        "DEFECTIVE: failure of scan time monitoring",
        "故障（DEFECT）：扫描时间监视失效",
    ),
    e(
        0x4530,
        "DEFECTIVE: memory test error in internal memory",
        "故障（DEFECT）：内部存储器测试错误",
    ),
    e(
        0x4532,
        "DEFECTIVE: failure of core resources",
        "故障（DEFECT）：核心资源失效",
    ),
    e(
        0x4536,
        "DEFECTIVE: switch defective",
        "故障（DEFECT）：开关损坏",
    ),
    e(
        0x4541,
        "STOP caused by the priority class system",
        "优先级等级系统导致 STOP",
    ),
    e(
        0x4542,
        "STOP caused by the object management system",
        "对象管理系统导致 STOP",
    ),
    e(0x4543, "STOP caused by test functions", "测试功能导致 STOP"),
    e(
        0x4544,
        "STOP caused by the diagnostic system",
        "诊断系统导致 STOP",
    ),
    e(
        0x4545,
        "STOP caused by the communication system",
        "通信系统导致 STOP",
    ),
    e(
        0x4546,
        "STOP caused by CPU memory management",
        "CPU 存储器管理导致 STOP",
    ),
    e(
        0x4547,
        "STOP caused by process image management",
        "过程映像管理导致 STOP",
    ),
    e(0x4548, "STOP caused by I/O management", "I/O 管理导致 STOP"),
    e(
        0x454A,
        "STOP caused by configuration: an OB deselected with STEP 7 was being loaded into the CPU during STARTUP",
        "组态导致 STOP：启动期间正在向 CPU 下载一个在 STEP 7 中已取消选择的 OB",
    ),
    e(
        0x4550,
        "DEFECTIVE: internal system error",
        "故障（DEFECT）：内部系统错误",
    ),
    e(
        0x4555,
        "No restart possible, monitoring time elapsed",
        "无法重启，监视时间已到",
    ),
    e(
        0x4556,
        "STOP: memory reset request from the communication system / due to data inconsistency",
        "STOP：通信系统请求存储器复位／数据不一致",
    ),
    s(
        0x4562,
        "STOP caused by programming error (OB not loaded or not possible)",
        "编程错误导致 STOP（OB 未下载或无法执行）",
    ),
    s(
        0x4563,
        "STOP caused by I/O access error (OB not loaded or not possible)",
        "I/O 访问错误导致 STOP（OB 未下载或无法执行）",
    ),
    e(0x4567, "STOP caused by H event", "H 事件导致 STOP"),
    s(
        0x4568,
        "STOP caused by time error (OB not loaded or not possible)",
        "时间错误导致 STOP（OB 未下载或无法执行）",
    ),
    s(
        0x456A,
        "STOP caused by diagnostic interrupt (OB not loaded or not possible)",
        "诊断中断导致 STOP（OB 未下载或无法执行）",
    ),
    s(
        0x456B,
        "STOP caused by removing/inserting a module (OB not loaded or not possible)",
        "插拔模块导致 STOP（OB 未下载或无法执行）",
    ),
    s(
        0x456C,
        "STOP caused by CPU hardware error (OB not loaded or not possible, or no FRB)",
        "CPU 硬件错误导致 STOP（OB 未下载或无法执行，或无 FRB）",
    ),
    s(
        0x456D,
        "STOP caused by program sequence error (OB not loaded or not possible)",
        "程序执行错误导致 STOP（OB 未下载或无法执行）",
    ),
    s(
        0x456E,
        "STOP caused by communication error (OB not loaded or not possible)",
        "通信错误导致 STOP（OB 未下载或无法执行）",
    ),
    s(
        0x456F,
        "STOP caused by rack failure (OB not loaded or not possible)",
        "机架故障导致 STOP（OB 未下载或无法执行）",
    ),
    s(
        0x4570,
        "STOP caused by process interrupt (OB not loaded or not possible)",
        "过程中断导致 STOP（OB 未下载或无法执行）",
    ),
    e(
        0x4571,
        "STOP caused by nesting stack error",
        "嵌套堆栈错误导致 STOP",
    ),
    e(
        0x4572,
        "STOP caused by master control relay stack error",
        "主控继电器堆栈错误导致 STOP",
    ),
    e(
        0x4573,
        "STOP caused by exceeding the nesting depth for synchronous errors",
        "超出同步错误嵌套深度导致 STOP",
    ),
    e(
        0x4574,
        "STOP caused by exceeding the interrupt stack nesting depth in the priority class stack",
        "超出优先级等级堆栈中的中断堆栈嵌套深度导致 STOP",
    ),
    e(
        0x4575,
        "STOP caused by exceeding the block stack nesting depth in the priority class stack",
        "超出优先级等级堆栈中的块堆栈嵌套深度导致 STOP",
    ),
    e(
        0x4576,
        "STOP caused by error when allocating the local data",
        "分配局部数据时出错导致 STOP",
    ),
    e(
        0x4578,
        "STOP caused by unknown opcode",
        "未知操作码导致 STOP",
    ),
    e(
        0x457A,
        "STOP caused by code length error",
        "代码长度错误导致 STOP",
    ),
    e(0x457F, "STOP caused by STOP command", "STOP 指令导致 STOP"),
    e(
        0x4580,
        "STOP: backup buffer contents inconsistent (no transition to RUN)",
        "STOP：后备缓冲区内容不一致（不切换到 RUN）",
    ),
    e(
        0x4590,
        "STOP caused by overloading the internal functions",
        "内部功能过载导致 STOP",
    ),
    e(
        0x4926,
        "DEFECTIVE: failure of the watchdog for I/O access",
        "故障（DEFECT）：I/O 访问看门狗失效",
    ),
    e(
        0x4931,
        "STOP or DEFECTIVE: memory test error in memory submodule",
        "STOP 或故障（DEFECT）：存储器子模块测试错误",
    ),
    e(0x4933, "Checksum error", "校验和错误"),
    e(
        0x4934,
        "DEFECTIVE: memory not available",
        "故障（DEFECT）：存储器不可用",
    ),
    e(
        0x4935,
        "DEFECTIVE: cancelled by watchdog/processor exceptions",
        "故障（DEFECT）：被看门狗／处理器异常中止",
    ),
    e(
        0x4949,
        "STOP caused by continuous hardware interrupt",
        "持续的硬件中断导致 STOP",
    ),
    e(0x494D, "STOP caused by I/O error", "I/O 错误导致 STOP"),
    r(
        0x494E,
        "STOP caused by power failure",
        "电源故障导致 STOP",
        "Check the CPU's power supply.",
        "检查 CPU 的电源。",
    ),
    e(
        0x494F,
        "STOP caused by configuration error",
        "组态错误导致 STOP",
    ),
    e(
        0x4959,
        "One or more modules not ready for operation",
        "一个或多个模块未就绪",
    ),
    e(
        0x49A0,
        "STOP caused by parameter assignment error or impermissible difference between expected and actual configuration: startup blocked",
        "参数分配错误或预设组态与实际组态存在不允许的差异导致 STOP：禁止启动",
    ),
    e(
        0x49A1,
        "STOP caused by parameter assignment error: memory reset request",
        "参数分配错误导致 STOP：请求存储器复位",
    ),
    e(
        0x49A2,
        "STOP caused by error in parameter modification: startup disabled",
        "参数修改错误导致 STOP：禁止启动",
    ),
    e(
        0x49A3,
        "STOP caused by error in parameter modification: memory reset request",
        "参数修改错误导致 STOP：请求存储器复位",
    ),
    e(
        0x49A4,
        "STOP: inconsistency in configuration data",
        "STOP：组态数据不一致",
    ),
    e(
        0x49A5,
        "STOP: distributed I/O: inconsistency in the loaded configuration information",
        "STOP：分布式 I/O：已下载的组态信息不一致",
    ),
    e(
        0x49A6,
        "STOP: distributed I/O: invalid configuration information",
        "STOP：分布式 I/O：组态信息无效",
    ),
    e(
        0x49A7,
        "STOP: distributed I/O: no configuration information",
        "STOP：分布式 I/O：无组态信息",
    ),
    e(
        0x49A8,
        "STOP: error indicated by the interface module for the distributed I/O",
        "STOP：分布式 I/O 接口模块报告错误",
    ),
    // Class 5: mode run-time events (§34.6).
    e(
        0x530D,
        "New startup information in STOP mode",
        "STOP 模式下有新的启动信息",
    ),
    e(
        0x5311,
        "Startup despite Not Ready message from module(s)",
        "尽管有模块报告未就绪，仍然启动",
    ),
    e(
        0x5380,
        "Diagnostic buffer entries of interrupt and asynchronous errors disabled",
        "已禁止中断和异步错误的诊断缓冲区条目",
    ),
    e(
        0x5395,
        "Distributed I/O: reset of a DP master",
        "分布式 I/O：DP 主站复位",
    ),
    e(0x53FF, "Reset to factory setting", "恢复出厂设置"),
    e(
        0x5481,
        "All licenses for runtime software are complete again",
        "运行时软件的许可证已全部恢复",
    ),
    e(
        0x5581,
        "One or several licenses for runtime software are missing",
        "缺少一个或多个运行时软件许可证",
    ),
    e(
        0x558A,
        "Difference between the order number of the configured and the inserted CPU",
        "组态的 CPU 与插入的 CPU 订货号不同",
    ),
    e(
        0x558B,
        "Difference in the firmware version of the configured and the inserted CPU",
        "组态的 CPU 与插入的 CPU 固件版本不同",
    ),
    e(
        0x5879,
        "Diagnostic message from DP interface: EXTF LED off",
        "DP 接口诊断消息：EXTF 指示灯熄灭",
    ),
    e(0x5961, "Parameter assignment error", "参数分配错误"),
    e(
        0x5962,
        "Parameter assignment error preventing startup",
        "参数分配错误，禁止启动",
    ),
    e(
        0x5963,
        "Parameter assignment error with memory reset request",
        "参数分配错误，请求存储器复位",
    ),
    e(
        0x596A,
        "PROFINET IO: IP address of an IO device already present",
        "PROFINET IO：IO 设备的 IP 地址已存在",
    ),
    e(
        0x596B,
        "IP address of an Ethernet interface already exists",
        "以太网接口的 IP 地址已存在",
    ),
    e(
        0x596C,
        "Name of an Ethernet interface already exists",
        "以太网接口的名称已存在",
    ),
    e(
        0x5979,
        "Diagnostic message from DP interface: EXTF LED on",
        "DP 接口诊断消息：EXTF 指示灯点亮",
    ),
    // Class 6: communication events (§34.7).
    e(
        0x6316,
        "Interface error when starting the programmable controller",
        "启动可编程控制器时接口错误",
    ),
    e(
        0x6390,
        "Formatting of Micro Memory Card complete",
        "微存储卡（MMC）格式化完成",
    ),
    e(
        0x6500,
        "Connection ID exists twice on the module",
        "模块上连接 ID 重复",
    ),
    e(0x6501, "Connection resources inadequate", "连接资源不足"),
    e(
        0x6502,
        "Error in the connection description",
        "连接描述错误",
    ),
    e(
        0x6514,
        "GD packet number exists twice on the module",
        "模块上 GD 包编号重复",
    ),
    e(
        0x6515,
        "Inconsistent length specifications in GD configuration information",
        "GD 组态信息中的长度规定不一致",
    ),
    e(
        0x6521,
        "No memory submodule and no internal memory available",
        "无存储器子模块，也无内部存储器",
    ),
    e(
        0x6522,
        "Illegal memory submodule: replace submodule and reset memory",
        "非法存储器子模块：请更换子模块并复位存储器",
    ),
    e(
        0x6523,
        "Memory reset request due to error accessing the submodule",
        "访问子模块出错，请求存储器复位",
    ),
    e(
        0x6524,
        "Memory reset request due to error in block header",
        "块头错误，请求存储器复位",
    ),
    e(
        0x6526,
        "Memory reset request due to memory replacement",
        "更换了存储器，请求存储器复位",
    ),
    e(
        0x6527,
        "Memory replaced, therefore restart not possible",
        "已更换存储器，因此无法重启",
    ),
    e(
        0x6528,
        "Object handling function in STOP/HOLD mode, no restart possible",
        "在 STOP/HOLD 模式下执行对象处理功能，无法重启",
    ),
    e(
        0x6529,
        "No startup possible during the \"load user program\" function",
        "执行“下载用户程序”功能期间无法启动",
    ),
    e(
        0x652A,
        "No startup because a block exists twice in user memory",
        "用户存储器中存在重复的块，无法启动",
    ),
    e(
        0x652B,
        "No startup because a block is too long for the submodule: replace submodule",
        "块对于子模块过长，无法启动：请更换子模块",
    ),
    e(
        0x652C,
        "No startup due to illegal OB on submodule",
        "子模块上有非法 OB，无法启动",
    ),
    e(
        0x6532,
        "No startup because of illegal configuration information on submodule",
        "子模块上的组态信息非法，无法启动",
    ),
    e(
        0x6533,
        "Memory reset request because of invalid submodule content",
        "子模块内容无效，请求存储器复位",
    ),
    e(
        0x6534,
        "No startup: block exists more than once on submodule",
        "无法启动：子模块上存在重复的块",
    ),
    e(
        0x6535,
        "No startup: not enough memory to transfer block from submodule",
        "无法启动：存储器不足，无法从子模块传送块",
    ),
    e(
        0x6536,
        "No startup: submodule contains an illegal block number",
        "无法启动：子模块包含非法块编号",
    ),
    e(
        0x6537,
        "No startup: submodule contains a block with an illegal length",
        "无法启动：子模块包含长度非法的块",
    ),
    e(
        0x6538,
        "Local data or write-protection ID (for DB) of a block illegal for the CPU",
        "块的局部数据或（DB 的）写保护标识对该 CPU 非法",
    ),
    e(
        0x6539,
        "Illegal command in block (detected by compiler)",
        "块中有非法指令（编译器检测到）",
    ),
    e(
        0x653A,
        "Memory reset request because local OB data on submodule too short",
        "子模块上的 OB 局部数据过短，请求存储器复位",
    ),
    e(
        0x6543,
        "No startup: illegal block type",
        "无法启动：非法块类型",
    ),
    e(
        0x6544,
        "No startup: attribute \"relevant for processing\" illegal",
        "无法启动：“与执行相关”属性非法",
    ),
    e(0x6545, "Source language illegal", "源语言非法"),
    e(
        0x6546,
        "Maximum amount of configuration information reached",
        "已达到组态信息的最大数量",
    ),
    e(
        0x6547,
        "Parameter assignment error assigning parameters to modules (not on P bus, download cancelled)",
        "为模块分配参数时出错（不在 P 总线上，下载取消）",
    ),
    e(
        0x6548,
        "Plausibility error during block check",
        "块检查时合理性错误",
    ),
    e(0x6549, "Structure error in block", "块结构错误"),
    e(
        0x6550,
        "A block has an error in the CRC",
        "某个块的 CRC 错误",
    ),
    e(0x6551, "A block has no CRC", "某个块没有 CRC"),
    e(0x6560, "SCAN overflow", "SCAN 溢出"),
    e(
        0x6805,
        "Resource problem on configured connections, eliminated",
        "组态连接的资源问题，已排除",
    ),
    e(
        0x6881,
        "Interface error, leaving state",
        "接口错误（离开状态）",
    ),
    r(
        0x6905,
        "Resource problem on configured connections",
        "组态连接的资源问题",
        "Check the number of configured and used S7 connections against the CPU's connection resources.",
        "对照 CPU 的连接资源检查已组态和已使用的 S7 连接数。",
    ),
    e(
        0x6981,
        "Interface error, entering state",
        "接口错误（进入状态）",
    ),
    // Class 7: H/F events (§34.8).
    e(
        0x72A2,
        "Failure of a DP master or a DP master system",
        "DP 主站或 DP 主站系统故障",
    ),
    e(
        0x72A3,
        "Redundancy restored on the DP slave",
        "DP 从站的冗余已恢复",
    ),
    e(
        0x7301,
        "Loss of redundancy (1 of 2) due to failure of a CPU",
        "CPU 故障导致冗余丢失（2 选 1）",
    ),
    e(
        0x7302,
        "Loss of redundancy (1 of 2) due to STOP on the standby triggered by the user",
        "用户触发备用 CPU STOP 导致冗余丢失（2 选 1）",
    ),
    e(
        0x7303,
        "H system (1 of 2) changed to redundant mode",
        "H 系统（2 选 1）已切换到冗余模式",
    ),
    e(
        0x7331,
        "Standby-master switchover due to master failure",
        "主 CPU 故障导致主备切换",
    ),
    e(
        0x73A3,
        "Loss of redundancy on the DP slave",
        "DP 从站冗余丢失",
    ),
    e(0x7950, "Synchronization module missing", "缺少同步模块"),
    e(0x7952, "SYNC module removed", "同步模块已拔出"),
    e(0x7955, "SYNC module error", "同步模块错误"),
];

/// Standardised module diagnostics (class 8) and predefined user events (class 9), looked
/// up with `id & 0xF0FF` (reference s7.md §0, §4). Sorted by id.
pub(crate) static MODULE_EVENTS: &[Row] = &[
    e(0x8000, "Module fault/OK", "模块故障／正常"),
    e(0x8001, "Internal error", "内部错误"),
    e(0x8002, "External error", "外部错误"),
    e(0x8003, "Channel error", "通道错误"),
    e(0x8004, "No external auxiliary voltage", "无外部辅助电压"),
    e(0x8005, "No front connector", "无前连接器"),
    e(0x8006, "No parameter assignment", "未分配参数"),
    e(0x8007, "Incorrect parameters in module", "模块参数错误"),
    e(
        0x8030,
        "User submodule incorrect/not found",
        "用户子模块错误／未找到",
    ),
    e(0x8031, "Communication problem", "通信故障"),
    e(
        0x8032,
        "Operating mode RUN/STOP (STOP: entering state, RUN: leaving state)",
        "运行模式 RUN/STOP（STOP：进入状态，RUN：离开状态）",
    ),
    e(
        0x8033,
        "Time monitoring responded (watchdog)",
        "时间监视已响应（看门狗）",
    ),
    e(0x8034, "Internal module power failure", "模块内部电源故障"),
    e(0x8035, "BATTF: battery exhausted", "BATTF：电池耗尽"),
    e(0x8036, "Total backup failed", "全部后备失效"),
    e(0x8040, "Expansion rack failed", "扩展机架故障"),
    e(0x8041, "Processor failure", "处理器故障"),
    e(0x8042, "EPROM error", "EPROM 错误"),
    e(0x8043, "RAM error", "RAM 错误"),
    e(0x8044, "ADC/DAC error", "ADC/DAC 错误"),
    e(0x8045, "Fuse blown", "熔断器熔断"),
    e(0x8046, "Hardware interrupt lost", "硬件中断丢失"),
    e(
        0x8050,
        "Analog input: configuration/parameter assignment error",
        "模拟量输入：组态／参数分配错误",
    ),
    e(
        0x8051,
        "Analog input: common mode error",
        "模拟量输入：共模错误",
    ),
    e(
        0x8052,
        "Analog input: short circuit to phase",
        "模拟量输入：对相线短路",
    ),
    e(
        0x8053,
        "Analog input: short circuit to ground",
        "模拟量输入：对地短路",
    ),
    e(0x8054, "Analog input: wire break", "模拟量输入：断线"),
    e(
        0x8055,
        "Analog input: reference channel error",
        "模拟量输入：参考通道错误",
    ),
    e(
        0x8056,
        "Analog input: below measuring range",
        "模拟量输入：低于测量范围",
    ),
    e(
        0x8057,
        "Analog input: above measuring range",
        "模拟量输入：超出测量范围",
    ),
    e(
        0x8060,
        "Analog output: configuration/parameter assignment error",
        "模拟量输出：组态／参数分配错误",
    ),
    e(
        0x8061,
        "Analog output: common mode error",
        "模拟量输出：共模错误",
    ),
    e(
        0x8062,
        "Analog output: short circuit to phase",
        "模拟量输出：对相线短路",
    ),
    e(
        0x8063,
        "Analog output: short circuit to ground",
        "模拟量输出：对地短路",
    ),
    e(0x8064, "Analog output: wire break", "模拟量输出：断线"),
    e(
        0x8066,
        "Analog output: no load voltage",
        "模拟量输出：无负载电压",
    ),
    e(
        0x8070,
        "Digital input: configuration/parameter assignment error",
        "数字量输入：组态／参数分配错误",
    ),
    e(
        0x8071,
        "Digital input: chassis ground fault",
        "数字量输入：机壳接地故障",
    ),
    e(
        0x8072,
        "Digital input: short circuit to phase (sensor)",
        "数字量输入：对相线短路（传感器）",
    ),
    e(
        0x8073,
        "Digital input: short circuit to ground (sensor)",
        "数字量输入：对地短路（传感器）",
    ),
    e(0x8074, "Digital input: wire break", "数字量输入：断线"),
    e(
        0x8075,
        "Digital input: no sensor power supply",
        "数字量输入：无传感器电源",
    ),
    e(
        0x8080,
        "Digital output: configuration/parameter assignment error",
        "数字量输出：组态／参数分配错误",
    ),
    e(
        0x8081,
        "Digital output: chassis ground fault",
        "数字量输出：机壳接地故障",
    ),
    e(
        0x8082,
        "Digital output: short circuit to phase",
        "数字量输出：对相线短路",
    ),
    e(
        0x8083,
        "Digital output: short circuit to ground",
        "数字量输出：对地短路",
    ),
    e(0x8084, "Digital output: wire break", "数字量输出：断线"),
    e(
        0x8085,
        "Digital output: fuse tripped",
        "数字量输出：熔断器跳闸",
    ),
    e(
        0x8086,
        "Digital output: no load voltage",
        "数字量输出：无负载电压",
    ),
    e(
        0x8087,
        "Digital output: excess temperature",
        "数字量输出：温度过高",
    ),
    e(
        0x80B0,
        "Counter module: signal A faulty",
        "计数器模块：信号 A 故障",
    ),
    e(
        0x80B1,
        "Counter module: signal B faulty",
        "计数器模块：信号 B 故障",
    ),
    e(
        0x80B2,
        "Counter module: signal N faulty",
        "计数器模块：信号 N 故障",
    ),
    e(
        0x80B3,
        "Counter module: incorrect value passed between the channels",
        "计数器模块：通道间传递的值不正确",
    ),
    e(
        0x80B4,
        "Counter module: 5.2 V sensor supply faulty",
        "计数器模块：5.2 V 传感器电源故障",
    ),
    e(
        0x80B5,
        "Counter module: 24 V sensor supply faulty",
        "计数器模块：24 V 传感器电源故障",
    ),
    e(
        0x9001,
        "Automatic/manual mode (entering = manual, leaving = automatic)",
        "自动／手动模式（进入 = 手动，离开 = 自动）",
    ),
    e(0x9002, "OPEN/CLOSED, ON/OFF", "打开／关闭，接通／断开"),
    e(0x9003, "Manual command enable", "手动命令使能"),
    e(
        0x9004,
        "Unit protective command (OPEN/CLOSED)",
        "单元保护命令（打开／关闭）",
    ),
    e(0x9005, "Process enable", "过程使能"),
    e(0x9006, "System protection command", "系统保护命令"),
    e(
        0x9007,
        "Process value monitoring responded",
        "过程值监视已响应",
    ),
    e(
        0x9008,
        "Manipulated variable monitoring responded",
        "操纵变量监视已响应",
    ),
    e(
        0x9009,
        "System deviation greater than permitted",
        "系统偏差超出允许值",
    ),
    e(0x900A, "Limit position error", "限位位置错误"),
];
