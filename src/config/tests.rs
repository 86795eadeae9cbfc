use super::*;

fn errors(text: &str) -> Vec<Problem> {
    match parse(text, Path::new("/etc/plcdiag")) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(p) => p,
    }
}

const VALID: &str = r#"
[gateway]
listen = "127.0.0.1:9090"
database = "history.db"
retention = "7d"

[defaults]
interval = "500ms"
timeout = "200ms"

[[devices]]
name = "boiler"
kind = "modbus"
address = "tcp://10.0.0.5"
unit_id = 3
demote_after = 5

[[devices.tags]]
name = "temperature"
address = "hr:100"
type = "f32"
word_order = "low_first"
scale = 0.1
unit = "°C"
deadband = 0.5

[[devices.tags]]
name = "pump_running"
address = "coil:7"

[[devices]]
name = "line-2"
kind = "modbus"
address = "rtu:///dev/ttyUSB0"
baud_rate = 19200
parity = "even"
interval = "2s"
"#;

#[test]
fn a_valid_config_resolves_defaults_and_paths() {
    let cfg = parse(VALID, Path::new("/etc/plcdiag")).unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(cfg.gateway.listen, "127.0.0.1:9090".parse().unwrap());
    assert_eq!(
        cfg.gateway.database,
        PathBuf::from("/etc/plcdiag/history.db")
    );
    assert_eq!(cfg.gateway.retention, Duration::from_secs(7 * 86400));
    assert_eq!(cfg.devices.len(), 2);
    let boiler = &cfg.devices[0];
    assert_eq!(&*boiler.name, "boiler");
    assert_eq!(boiler.poll.interval, Duration::from_millis(500));
    assert_eq!(boiler.poll.timeout, Duration::from_millis(200));
    assert_eq!(boiler.poll.demote_after, 5);
    assert_eq!(boiler.tags[0].deadband, 0.5);
    let DeviceKind::Modbus(m) = &boiler.kind else {
        panic!("modbus expected")
    };
    assert_eq!(
        m.transport,
        ModbusTransport::Tcp {
            host: "10.0.0.5".into(),
            port: 502
        }
    );
    assert_eq!(m.unit_id, 3);
    assert_eq!(m.points[0].encoding.data_type, DataType::F32);
    assert_eq!(m.points[0].encoding.word_order, WordOrder::LowFirst);
    assert_eq!(m.points[1].encoding.data_type, DataType::Bool);
    assert_eq!(boiler.tags[0].scaling.scale, 0.1);
    let line2 = &cfg.devices[1];
    assert_eq!(line2.poll.interval, Duration::from_secs(2));
    let DeviceKind::Modbus(m) = &line2.kind else {
        panic!("modbus expected")
    };
    let ModbusTransport::Rtu(s) = &m.transport else {
        panic!("expected rtu")
    };
    assert_eq!(s.path, "/dev/ttyUSB0");
    assert_eq!(s.baud_rate, 19200);
    assert_eq!(s.parity, Parity::Even);
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
}

#[test]
fn an_empty_file_is_a_gateway_with_no_devices() {
    let cfg = parse("", Path::new(".")).unwrap_or_else(|p| panic!("{p:?}"));
    assert!(cfg.devices.is_empty());
    assert_eq!(cfg.gateway.listen.to_string(), DEFAULT_LISTEN);
    assert_eq!(cfg.gateway.retention, DEFAULT_RETENTION);
}

#[test]
fn unknown_key_names_the_key_line_and_column_and_the_expected_ones() {
    let text =
        "[[devices]]\nname = \"a\"\nkind = \"modbus\"\naddress = \"h:502\"\nintervall = \"1s\"\n";
    let p = errors(text);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!((p[0].line, p[0].column), (5, 1));
    assert!(
        p[0].message.contains("unknown field `intervall`"),
        "{}",
        p[0].message
    );
    assert!(p[0].message.contains("interval"), "{}", p[0].message);
    assert_eq!(p[0].source_line.as_deref(), Some("intervall = \"1s\""));
}

#[test]
fn wrong_type_is_reported_at_the_value() {
    let text = "[[devices]]\nname = \"a\"\nkind = \"modbus\"\naddress = \"h:502\"\ndemote_after = \"three\"\n";
    let p = errors(text);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!((p[0].line, p[0].column), (5, 16));
    assert!(p[0].message.contains("invalid type"), "{}", p[0].message);
}

#[test]
fn duplicate_device_name_points_at_the_second_and_names_the_first() {
    let text = "[[devices]]\nname = \"press\"\nkind = \"modbus\"\naddress = \"h:502\"\n\n[[devices]]\nname = \"press\"\nkind = \"modbus\"\naddress = \"h:503\"\n";
    let p = errors(text);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!((p[0].line, p[0].column), (7, 8));
    assert!(
        p[0].message
            .contains("duplicate device name `press` (first defined on line 2)"),
        "{}",
        p[0].message
    );
}

#[test]
fn bad_address_is_reported_with_what_is_expected() {
    let text = "[[devices]]\nname = \"a\"\nkind = \"modbus\"\naddress = \"tcp://plc:99999\"\n";
    let p = errors(text);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!((p[0].line, p[0].column), (4, 11));
    assert!(
        p[0].message.contains("`99999` is not a port number"),
        "{}",
        p[0].message
    );
}

#[test]
fn bad_tag_address_and_type_are_reported() {
    let text = "[[devices]]\nname = \"a\"\nkind = \"modbus\"\naddress = \"h\"\n[[devices.tags]]\nname = \"x\"\naddress = \"zz:1\"\n[[devices.tags]]\nname = \"y\"\naddress = \"hr:1\"\ntype = \"f33\"\n";
    let p = errors(text);
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(p[0].line, 7);
    assert!(p[0].message.contains("tag `x`"), "{}", p[0].message);
    assert_eq!(p[1].line, 11);
    assert!(p[1].message.contains("tag `y`"), "{}", p[1].message);
}

#[test]
fn all_problems_in_a_file_are_reported_at_once() {
    let text = r#"
[gateway]
listen = "localhost"
retention = "forever"

[[devices]]
name = "a"
kind = "modbus"
address = "h:1"
timeout = "soon"

[[devices]]
name = "b"
kind = "profinet"
address = "h:1"

[[devices]]
name = "c"
kind = "modbus"
address = "h:1"
colour = "red"
"#;
    let p = errors(text);
    let lines: Vec<usize> = p.iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![3, 4, 10, 14, 21], "{p:#?}");
    assert!(
        p[3].message
            .contains("unknown variant `profinet`, expected one of `modbus`, `s7`, `melsec`"),
        "{}",
        p[3].message
    );
}

#[test]
fn syntax_errors_have_a_position() {
    let p = errors("[gateway\nlisten = 1\n");
    assert!(!p.is_empty());
    assert_eq!(p[0].line, 1);
}

#[test]
fn unknown_section_is_an_error() {
    let p = errors("[alarms]\nx = 1\n");
    assert_eq!(p[0].line, 1);
    assert!(
        p[0].message.contains("unknown section `alarms`"),
        "{}",
        p[0].message
    );
}

#[test]
fn timeout_not_shorter_than_interval_is_a_warning_not_an_error() {
    let text = "[[devices]]\nname = \"a\"\nkind = \"modbus\"\naddress = \"h\"\ninterval = \"1s\"\ntimeout = \"2s\"\n";
    let cfg = parse(text, Path::new(".")).unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(cfg.warnings.len(), 1);
    assert_eq!(cfg.warnings[0].line, 6);
}

#[test]
fn serial_settings_on_a_tcp_device_are_an_error() {
    let p =
        errors("[[devices]]\nname = \"a\"\nkind = \"modbus\"\naddress = \"h\"\nbaud_rate = 9600\n");
    assert_eq!(p[0].line, 5);
    assert!(
        p[0].message
            .contains("baud_rate applies to rtu:// addresses only")
    );
}

#[test]
fn host_port_parsing_accepts_names_ipv4_and_ipv6() {
    assert_eq!(parse_host_port("plc-7", 502), Ok(("plc-7".into(), 502)));
    assert_eq!(
        parse_host_port("10.1.2.3:1502", 502),
        Ok(("10.1.2.3".into(), 1502))
    );
    assert_eq!(parse_host_port("[::1]:5020", 502), Ok(("::1".into(), 5020)));
    assert_eq!(
        parse_host_port("[fe80::1]", 502),
        Ok(("fe80::1".into(), 502))
    );
    assert!(parse_host_port(":502", 502).is_err());
    assert!(parse_host_port("a b", 502).is_err());
    assert!(parse_host_port("h:0", 502).is_err());
}

#[test]
fn the_shipped_example_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/plcdiag.toml");
    let cfg = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(!cfg.devices.is_empty());
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_text_gives_a_config_or_positioned_problems(text in "\\PC{0,400}") {
            if let Err(problems) = parse(&text, Path::new(".")) {
                prop_assert!(!problems.is_empty());
            }
        }

        #[test]
        fn any_edit_of_a_valid_config_gives_a_config_or_problems(at in 0usize..2000, insert in "[ -~\\n]{0,12}") {
            let mut text = VALID.to_owned();
            let mut at = at.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.insert_str(at, &insert);
            if let Err(problems) = parse(&text, Path::new(".")) {
                prop_assert!(!problems.is_empty());
                for p in problems {
                    prop_assert!(p.line <= text.lines().count() + 1);
                }
            }
        }
    }
}

#[test]
fn bad_defaults_are_reported_once_at_defaults() {
    let text = "[defaults]\ninterval = \"1ms\"\n[[devices]]\nname = \"a\"\nkind = \"modbus\"\naddress = \"h\"\n[[devices]]\nname = \"b\"\nkind = \"modbus\"\naddress = \"h\"\n";
    let p = errors(text);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!((p[0].line, p[0].column), (2, 12));
    assert!(p[0].message.starts_with("defaults.interval"));
}

#[test]
fn the_built_in_defaults_give_no_warning() {
    let cfg = parse(
        "[[devices]]\nname = \"a\"\nkind = \"modbus\"\naddress = \"h\"\n",
        Path::new("."),
    )
    .unwrap_or_else(|p| panic!("{p:?}"));
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
}

#[test]
fn an_s7_device_takes_rack_slot_connection_type_and_step7_addresses() {
    let text = "[[devices]]\nname = \"cpu\"\nkind = \"s7\"\naddress = \"10.0.0.9\"\nrack = 0\nslot = 3\nconnection_type = \"basic\"\npdu_size = 240\ntimeout = \"300ms\"\nstatus_interval = \"30s\"\n\
                [[devices.tags]]\nname = \"t\"\naddress = \"DB10.DBD4:REAL\"\n[[devices.tags]]\nname = \"m\"\naddress = \"M12.3\"\n";
    let cfg = parse(text, Path::new(".")).unwrap_or_else(|p| panic!("{p:?}"));
    let DeviceKind::S7(s) = &cfg.devices[0].kind else {
        panic!("s7 expected")
    };
    assert_eq!((s.host.as_str(), s.port), ("10.0.0.9", 102));
    assert_eq!(
        (s.options.rack, s.options.slot, s.options.pdu_size),
        (0, 3, 240)
    );
    assert_eq!(s.options.connection_type, plcdiag_s7::ConnectionType::Basic);
    assert_eq!(s.options.timeout, Duration::from_millis(300));
    assert_eq!(s.status_interval, Duration::from_secs(30));
    assert!(s.diagnostics);
    assert_eq!(s.addresses.len(), 2);
    assert_eq!(s.addresses[0].to_string(), "DB10.DBD4:REAL");
}

#[test]
fn keys_of_another_device_kind_are_errors() {
    let text = "[[devices]]\nname = \"cpu\"\nkind = \"s7\"\naddress = \"h\"\nunit_id = 3\n[[devices.tags]]\nname = \"t\"\naddress = \"MW2\"\ntype = \"f32\"\n\
                [[devices]]\nname = \"meter\"\nkind = \"modbus\"\naddress = \"h\"\nslot = 2\n";
    let p = errors(text);
    let lines: Vec<usize> = p.iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![5, 9, 14], "{p:#?}");
    assert!(
        p[0].message
            .contains("unit_id applies to kind = \"modbus\" only"),
        "{}",
        p[0].message
    );
    assert!(
        p[1].message
            .contains("S7 tags carry their type in the address"),
        "{}",
        p[1].message
    );
    assert!(
        p[2].message.contains("slot applies to kind = \"s7\" only"),
        "{}",
        p[2].message
    );
}

#[test]
fn bad_s7_tag_addresses_and_limits_are_reported() {
    let text = "[[devices]]\nname = \"cpu\"\nkind = \"s7\"\naddress = \"h\"\npdu_size = 100\nconnection_type = \"hmi\"\n[[devices.tags]]\nname = \"t\"\naddress = \"DB10.DBQ4\"\n";
    let p = errors(text);
    let lines: Vec<usize> = p.iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![5, 6, 9], "{p:#?}");
    assert!(p[2].message.contains("tag `t`"), "{}", p[2].message);
}

#[test]
fn text_s7_tags_are_refused_until_tags_can_hold_text() {
    let p = errors(
        "[[devices]]\nname = \"cpu\"\nkind = \"s7\"\naddress = \"h\"\n[[devices.tags]]\nname = \"t\"\naddress = \"DB1.DBB0:STRING[10]\"\n",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].message.contains("text values"), "{}", p[0].message);
}

#[test]
fn a_melsec_device_takes_transport_frame_route_and_cclink_masters() {
    let text = r#"
[[devices]]
name = "plc"
kind = "melsec"
address = "192.168.3.39:5007"
transport = "udp"
frame = "4e"
series = "l"
pc_number = 0xFF

[[devices.cclink]]
name = "line 3"
sb_base = 0x200
sw_base = 0x200

[[devices.cclink.stations]]
number = 1
model = "AJ65SBTB1-16D"

[[devices.cclink.stations]]
number = 3
occupies = 4
name = "inverter"

[devices.cclink.map]
link_scan_current = 0x6E

[[devices.tags]]
name = "count"
address = "D100:INT"
"#;
    let cfg = parse(text, Path::new(".")).unwrap_or_else(|p| panic!("{p:?}"));
    let DeviceKind::Melsec(m) = &cfg.devices[0].kind else {
        panic!("melsec expected")
    };
    assert_eq!((m.host.as_str(), m.port), ("192.168.3.39", 5007));
    assert_eq!(m.options.transport, plcdiag_melsec::Transport::Udp);
    assert_eq!(m.options.frame, plcdiag_melsec::FrameKind::E4);
    assert_eq!(m.options.series, plcdiag_melsec::Series::L);
    let master = &m.masters[0];
    assert_eq!((master.sb_base, master.sw_base), (0x200, 0x200));
    assert_eq!(master.stations.len(), 2);
    assert_eq!(master.stations[0].name, "station 1");
    assert_eq!(master.stations[1].occupies, 4);
    assert_eq!(master.map.link_scan.map(|l| l.current), Some(0x6E));
    assert_eq!(m.addresses.len(), 1);
}

#[test]
fn melsec_needs_a_port_and_station_numbers_that_fit_without_overlap() {
    let text = "[[devices]]\nname = \"plc\"\nkind = \"melsec\"\naddress = \"plc\"\n\
                [[devices.cclink]]\nname = \"n\"\n\
                [[devices.cclink.stations]]\nnumber = 3\noccupies = 2\n\
                [[devices.cclink.stations]]\nnumber = 4\n\
                [[devices.cclink.stations]]\nnumber = 63\noccupies = 4\n";
    let p = errors(text);
    let lines: Vec<usize> = p.iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![4, 11, 13], "{p:#?}");
    assert!(
        p[0].message.contains("needs the MC protocol port"),
        "{}",
        p[0].message
    );
    assert!(
        p[1].message
            .contains("station number 4 is also taken by station 3"),
        "{}",
        p[1].message
    );
    assert!(
        p[2].message.contains("does not fit in 1 to 64"),
        "{}",
        p[2].message
    );
}

#[test]
fn link_scan_overrides_need_all_three_registers_where_the_kind_has_no_default() {
    let base = "[[devices]]\nname = \"plc\"\nkind = \"melsec\"\naddress = \"h:5000\"\n[[devices.cclink]]\nname = \"ie\"\nkind = \"cc-link-ie-field\"\n[devices.cclink.map]\n";
    let ie_has_no_default = match parse(base, Path::new(".")) {
        Ok(cfg) => match &cfg.devices[0].kind {
            DeviceKind::Melsec(m) => m.masters[0].map.link_scan.is_none(),
            _ => false,
        },
        Err(p) => panic!("{p:?}"),
    };
    let one = format!("{base}link_scan_current = 0x6E\n");
    let all =
        format!("{base}link_scan_current = 0x6E\nlink_scan_min = 0x6F\nlink_scan_max = 0x6D\n");
    assert!(parse(&all, Path::new(".")).is_ok());
    if ie_has_no_default {
        let p = errors(&one);
        assert!(
            p[0].message
                .contains("give all of link_scan_current, link_scan_min and link_scan_max"),
            "{}",
            p[0].message
        );
    } else {
        assert!(parse(&one, Path::new(".")).is_ok());
    }
}

const RULES_BASE: &str = r#"
[[devices]]
name = "boiler"
kind = "modbus"
address = "tcp://10.0.0.5"

[[devices.tags]]
name = "temperature"
address = "hr:100"

[[devices.tags]]
name = "pump_running"
address = "coil:7"

[[devices]]
name = "press-cpu"
kind = "s7"
address = "10.0.0.7"
"#;

#[test]
fn rules_compile_for_every_device_they_name() {
    let text = format!(
        "{RULES_BASE}{}",
        r#"
[[rules]]
name = "hot"
device = "boiler"
when = "temperature > 90 && pump_running"
priority = "high"
on_delay = "5s"
deadband = 2.0
re_alarm = "30m"
ack = "auto"

[[rules]]
name = "offline"
when = "offline()"

[[rules]]
name = "stop"
devices = ["press-*"]
when = 'cpu_mode() == "STOP"'

[[rules.schedule]]
days = ["mon-fri"]
from = "06:00"
to = "22:00"
"#
    );
    let cfg = parse(&text, Path::new(".")).unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(cfg.rules.len(), 3);
    let hot = &cfg.rules[0];
    assert_eq!(hot.settings.priority, crate::rules::Priority::High);
    assert_eq!(hot.settings.on_delay, Duration::from_secs(5));
    assert_eq!(hot.settings.re_alarm, Some(Duration::from_secs(1800)));
    assert_eq!(hot.settings.ack, crate::rules::AckMode::Auto);
    assert_eq!(hot.deadband, 2.0);
    assert!(
        hot.suppress_when_offline,
        "a value rule is suppressed offline"
    );
    let offline = &cfg.rules[1];
    assert_eq!(offline.targets.len(), 2, "no device given: every device");
    assert!(
        !offline.suppress_when_offline,
        "a health rule must not be suppressed by what it watches"
    );
    assert!(cfg.rules[2].schedule.is_some());
    assert_eq!(&*cfg.rules[2].targets[0].device, "press-cpu");
}

#[test]
fn a_wrong_tag_in_a_condition_points_inside_the_condition_and_suggests_the_name() {
    let text = format!(
        "{RULES_BASE}{}",
        "\n[[rules]]\nname = \"hot\"\ndevice = \"boiler\"\nwhen = \"temprature > 90\"\n"
    );
    let p = errors(&text);
    assert_eq!(p.len(), 1, "{p:#?}");
    let line = text
        .lines()
        .position(|l| l.starts_with("when"))
        .unwrap_or(0)
        + 1;
    assert_eq!((p[0].line, p[0].column), (line, 9), "{p:#?}");
    assert!(p[0].message.contains("rule `hot`"), "{}", p[0].message);
    assert!(p[0].message.contains("temperature"), "{}", p[0].message);
}

#[test]
fn rule_mistakes_are_all_reported_with_their_rule() {
    let text = format!(
        "{RULES_BASE}{}",
        r#"
[[rules]]
name = "a"
device = "nothing-*"
when = "true"

[[rules]]
name = "b"
device = "boiler"
when = "cpu_mode() == \"STOP\""

[[rules]]
name = "c"
device = "boiler"
when = "temperature > 1"
priority = "urgent"
ack = "sometimes"

[[rules]]
name = "c"
when = "true"

[[rules]]
name = "d"
device = "boiler"
kind = "reaction"
trigger = "pump_running"

[[rules]]
name = "e"
device = "press-cpu"
when = "event(0x4304)"
on_delay = "5s"
"#
    );
    let p = errors(&text);
    let text_of = |needle: &str| p.iter().any(|p| p.message.contains(needle));
    assert!(text_of("rule `a`: matches no enabled device"), "{p:#?}");
    assert!(text_of("rule `b`, when on device `boiler`"), "{p:#?}");
    assert!(text_of("priority \"urgent\""), "{p:#?}");
    assert!(text_of("ack \"sometimes\""), "{p:#?}");
    assert!(text_of("duplicate rule name `c`"), "{p:#?}");
    assert!(text_of("needs `expect`"), "{p:#?}");
    assert!(text_of("needs `within`"), "{p:#?}");
    assert!(text_of("on_delay cannot apply to event()"), "{p:#?}");
}

#[test]
fn receivers_and_tokens_validate_and_never_print_their_secrets() {
    let text = format!(
        "{RULES_BASE}{}",
        r#"
[[receivers]]
name = "maintenance"
kind = "dingtalk"
url = "https://robot.example/send?access_token=SECRET-TOKEN"
secret = "SEC0123456789"
priorities = ["high", "critical"]
devices = ["press-*"]

[[receivers]]
name = "scada"
kind = "webhook"
url = "http://127.0.0.1:9000/hook"
group_wait = "1s"

[[auth.tokens]]
name = "scada"
token = "0123456789abcdef0123"
role = "admin"
"#
    );
    let cfg = parse(&text, Path::new(".")).unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(cfg.receivers.len(), 2);
    let ding = &cfg.receivers[0];
    assert_eq!(ding.rate_per_minute, 20, "the robot's documented limit");
    assert_eq!(ding.priorities.len(), 2);
    assert_eq!(cfg.receivers[1].group_wait, Duration::from_secs(1));
    assert_eq!(cfg.auth.tokens.len(), 1);
    assert_eq!(cfg.auth.tokens[0].role, Role::Admin);
    let shown = format!("{cfg:?}");
    assert!(!shown.contains("SECRET-TOKEN"), "{shown}");
    assert!(!shown.contains("SEC0123456789"));
    assert!(!shown.contains("0123456789abcdef0123"));
}

#[test]
fn bad_receivers_and_tokens_are_reported() {
    let text = r#"
[[receivers]]
name = "x"
kind = "pager"
url = "http://a"

[[receivers]]
name = "y"
kind = "webhook"
url = "ftp://a"

[[receivers]]
name = "z"
kind = "wecom"
url_env = "PLCDIAG_TEST_SURELY_UNSET_VARIABLE"

[[auth.tokens]]
name = "short"
token = "abc"

[[auth.tokens]]
name = "who"
token = "0123456789abcdef0123"
role = "root"
"#;
    let p = errors(text);
    let text_of = |needle: &str| p.iter().any(|p| p.message.contains(needle));
    assert!(text_of("kind \"pager\""), "{p:#?}");
    assert!(text_of("must start with http:// or https://"), "{p:#?}");
    assert!(
        text_of("PLCDIAG_TEST_SURELY_UNSET_VARIABLE is not set"),
        "{p:#?}"
    );
    assert!(text_of("at least 16 characters"), "{p:#?}");
    assert!(text_of("role \"root\""), "{p:#?}");
}

#[test]
fn base_paths_are_normalized_and_checked() {
    assert_eq!(normalize_base_path("/plcdiag/"), Ok("/plcdiag".to_owned()));
    assert_eq!(normalize_base_path("/"), Ok(String::new()));
    assert_eq!(normalize_base_path(""), Ok(String::new()));
    assert_eq!(normalize_base_path("/a/b-c"), Ok("/a/b-c".to_owned()));
    assert!(normalize_base_path("plcdiag").is_err());
    assert!(normalize_base_path("/a//b").is_err());
    assert!(normalize_base_path("/a?b").is_err());
    let p = errors("[gateway]\nbase_path = \"ui\"\n");
    assert!(p[0].message.contains("must start with `/`"), "{p:?}");
}

#[test]
fn rule_times_are_bounded_and_a_reaction_needs_time_to_react() {
    let text = format!(
        "{RULES_BASE}{}",
        r#"
[[rules]]
name = "forever"
device = "boiler"
when = "temperature > 1"
max_shelve = "400d"

[[rules]]
name = "instant"
device = "boiler"
kind = "reaction"
trigger = "pump_running"
expect = "temperature > 1"
within = "0s"
"#
    );
    let p = errors(&text);
    assert!(
        p.iter()
            .any(|p| p.message.contains("max_shelve may be at most 366 days")),
        "{p:#?}"
    );
    assert!(
        p.iter()
            .any(|p| p.message.contains("within must be longer than zero")),
        "{p:#?}"
    );
}

/// Issue 12, finding 5: each of these passed `check-config` and then misbehaved at run time.
#[test]
fn settings_that_misbehaved_at_run_time_are_refused_with_their_position() {
    // A retention past chrono's range panicked the alarm pruner at start.
    let p = errors("[gateway]\nretention = \"500000000d\"\n");
    assert_eq!((p[0].line, p[0].column), (2, 13), "{p:?}");
    assert!(p[0].message.contains("longer than 100 years"), "{p:?}");

    // nan and inf scaled every value to null with quality good.
    let tags = |extra: &str| {
        format!(
            "[[devices]]\nname = \"m\"\nkind = \"modbus\"\naddress = \"tcp://10.0.0.1\"\n\n\
             [[devices.tags]]\nname = \"t\"\naddress = \"hr:0\"\n{extra}\n"
        )
    };
    for bad in ["scale = nan", "offset = inf", "scale = -inf"] {
        let p = errors(&tags(bad));
        assert!(p[0].message.contains("finite"), "{bad}: {p:?}");
        assert_eq!(p[0].line, 7, "{bad}: {p:?}");
    }

    // Control characters in names forged log lines.
    for name in ["\\u001b[31mboiler", "boiler\\nERROR forged", "a\\tb"] {
        let text = format!(
            "[[devices]]\nname = \"{name}\"\nkind = \"modbus\"\naddress = \"tcp://10.0.0.1\"\n"
        );
        let p = errors(&text);
        assert!(p[0].message.contains("control character"), "{name}: {p:?}");
        assert_eq!((p[0].line, p[0].column), (2, 8), "{name}: {p:?}");
    }
    let p = errors(&tags("unit = \"°C\\r\""));
    assert!(p[0].message.contains("control character"), "{p:?}");
}

#[test]
fn a_file_that_is_not_utf8_is_reported_at_the_first_bad_byte() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("plcdiag.toml");
    let mut bytes =
        b"[gateway]\nlisten = \"127.0.0.1:8080\"\n\n[[devices]]\nname = \"ofen-".to_vec();
    bytes.push(0xFC); // ü in Latin-1
    bytes.extend_from_slice(b"\"\n");
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
    let e = load(&path)
        .err()
        .unwrap_or_else(|| panic!("loaded a Latin-1 file"));
    let p = &e.problems[0];
    assert_eq!((p.line, p.column), (5, 14), "{p:?}");
    assert!(
        p.message.contains("0xFC") && p.message.contains("UTF-8"),
        "{p:?}"
    );
}
