//! plcdiag-melsec: Mitsubishi MELSEC diagnostics over the MC protocol / SLMP (binary 3E and
//! 4E frames, TCP or UDP): CPU self-diagnosis from SM/SD, CC-Link master station health from
//! the link special relays and registers (SB/SW), and tag reads.
//!
//! The key design choice: **"the CPU said no" is kept apart from "we could not talk"**.
//! Every read returns `Result<Reply<T>, Error>`: an end code ≠ 0 (e.g. `C059` "wrong command
//! or subcommand") is a [`Reply::EndCode`], an answer from a live CPU; only connect
//! failures, timeouts, resets and malformed or mismatched frames (a 4E serial number that
//! does not match) are an [`Error`], after which the caller drops the [`Client`] and
//! reconnects.
//!
//! The second choice: **register maps are data**. Most CC-Link SB/SW meanings beyond the
//! station bitmap SW0080–SW0083 and the retry counters are not confirmed by public sources
//! (`melsec-cclink.md` §2.4); [`RegisterMap`] holds every offset as a plain field with the
//! best-known default and says in its docs which are unconfirmed, so a site can override
//! any of them.
//!
//! **The crate is read-only.** It writes no devices, sends no remote RUN/STOP/PAUSE and no
//! other control command; the client sends only batch read (`0401`), random read (`0403`)
//! and read type name (`0101`). The simulator in [`sim`] is the only server side.
//!
//! Layers (STYLE.md practice 1):
//!
//! * [`frame`]: plain data types with pure encode/decode for both directions (3E/4E, device
//!   codes, end codes);
//! * [`codec`]: 3E/4E framing for tokio-util;
//! * [`client`]: the async client over TCP/UDP ([`Client::connect`]) or any byte stream
//!   ([`Client::attach`]);
//! * [`address`] and [`mod@plan`]: tag addresses, values and read planning;
//! * [`cpu`] and [`errors`]: CPU self-diagnosis (SM/SD, §7) and SD0 error texts (EN/zh-CN);
//! * [`cclink`]: the CC-Link master model, station decoding and troubleshooting findings;
//! * [`sim`]: an MC/SLMP CPU simulator for tests and the demo.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use plcdiag_melsec::{CcLinkMaster, Client, ConnectOptions, NetworkKind, Reply};
//!
//! let mut client = Client::connect("192.168.0.39:5007".parse()?, &ConnectOptions::default()).await?;
//! if let Reply::Ok(cpu) = client.cpu_diagnosis().await? {
//!     println!("CPU {} error code {}", cpu.run_state, cpu.error_code);
//! }
//! let master = CcLinkMaster::new("line 1", NetworkKind::CcLink);
//! if let Reply::Ok(net) = client.cclink(&master).await? {
//!     for f in net.findings {
//!         println!("{}", f.text_en);
//!     }
//! }
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod address;
pub mod cclink;
pub mod client;
pub mod codec;
pub mod cpu;
pub mod errors;
pub mod frame;
pub mod plan;
pub mod sim;

pub use address::{AddressError, TagAddress, TagError, TagValue, WordType};
pub use cclink::{
    CcLinkMaster, Finding, FindingKind, LinkScan, LinkScanMap, NetworkKind, NetworkStatus,
    RegisterMap, StationConfig, StationState, StationStatus, diagnose,
};
pub use client::{Client, ConnectOptions, Error, Reply, Transport};
pub use cpu::{CpuDiagnosis, RunState};
pub use errors::{ErrorText, Lang};
pub use frame::{
    DecodeError, Device, DeviceCode, EndCode, FrameKind, ParseDeviceError, Route, Series,
};
pub use plan::ReadPlan;
