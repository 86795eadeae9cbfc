//! Smoke test: the crate's own client against the simulator, 3E over TCP and 4E over UDP.
//! The simulator is checked by independent clients in `sim_python_clients.rs`; this pins
//! that the driver's decoders read the simulator's CC-Link and CPU images the same way.

use plcdiag_melsec::cclink::{CcLinkMaster, NetworkKind, StationConfig, StationState};
use plcdiag_melsec::cpu::RunState;
use plcdiag_melsec::frame::{FrameKind, Series};
use plcdiag_melsec::sim::{McSim, SimStation};
use plcdiag_melsec::{Client, ConnectOptions, Transport};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_reads_a_dropped_station_a_cable_break_and_a_stopped_cpu() {
    let sim = McSim::builder()
        .cclink(
            0,
            0,
            [
                SimStation::remote_io(1, "in"),
                SimStation::remote_io(5, "out"),
                SimStation::remote_device(9, 2, "valves"),
                SimStation::remote_io(12, "tail"),
            ],
        )
        .words("D100", &[7, 8])
        .spawn("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("binds");
    sim.drop_station(0, 5, true);
    sim.cable_break_after(0, Some(10));
    sim.set_cpu_error(Some(5000));
    sim.set_run_state(false);

    let mut master = CcLinkMaster::new("line 1", NetworkKind::CcLink);
    master.stations = vec![
        StationConfig::new(1, "in"),
        StationConfig::new(5, "out"),
        StationConfig {
            occupies: 2,
            ..StationConfig::new(9, "valves")
        },
        StationConfig::new(12, "tail"),
    ];

    for (frame, transport) in [
        (FrameKind::E3, Transport::Tcp),
        (FrameKind::E4, Transport::Udp),
    ] {
        let opts = ConnectOptions {
            frame,
            transport,
            series: Series::Q,
            ..ConnectOptions::default()
        };
        let mut client = Client::connect(sim.addr(), &opts).await.expect("connects");
        let status = client
            .cclink(&master)
            .await
            .expect("no transport error")
            .ok()
            .expect("no end code");
        let states: Vec<(u8, StationState)> = status
            .stations
            .iter()
            .map(|s| (s.number, s.state))
            .collect();
        assert_eq!(
            states,
            [
                (1, StationState::Ok),
                (5, StationState::Faulty),
                (9, StationState::Ok),
                (12, StationState::Faulty),
            ],
            "{frame:?}/{transport:?}"
        );
        assert!(status.line_ok);

        let cpu = client
            .cpu_diagnosis()
            .await
            .expect("no transport error")
            .ok()
            .expect("no end code");
        assert_eq!(cpu.error_code, 5000);
        assert!(cpu.error && cpu.self_diagnosis_error);
        assert!(cpu.error_time.is_some());
        assert_eq!(cpu.run_state, RunState::Stop);
        assert_eq!(cpu.stop_cause, Some(4));

        let words = client
            .read_words("D100".parse().expect("device"), 2)
            .await
            .expect("no transport error")
            .ok()
            .expect("no end code");
        assert_eq!(words, [7, 8]);
    }
    sim.stop().await;
}
