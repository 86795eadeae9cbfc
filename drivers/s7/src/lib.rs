//! plcdiag-s7: Siemens S7comm (classic, ISO-on-TCP, RFC 1006 port 102) diagnostics for
//! S7-300/400 CPUs and S7-1200/1500 CPUs with PUT/GET enabled.
//!
//! The key design choice: **"the CPU said no" is kept apart from "we could not talk"**.
//! Every diagnostic read returns `Result<Reply<T>, Error>`: an S7 error (header error class,
//! parameter error such as `D402` "SZL not available", data return code such as `0A`
//! "object does not exist") is a [`Reply::Refused`], an answer from a live CPU, and
//! [`Reply::unsupported`] tells the gateway to show "unsupported" rather than an error. Only
//! timeouts, resets and malformed or mismatched frames are an [`Error`], after which the
//! caller drops the [`Client`] and reconnects.
//!
//! SZL answers longer than one PDU are reassembled from fragments with follow-up requests
//! (`s7.md` §2.4), which no existing Rust crate does through a public API.
//!
//! **The crate is read-only.** It has no write-var, no run/stop, no download, no PLC control
//! of any kind; it only reads SZL lists and variables. The simulator in [`sim`] is the only
//! server side.
//!
//! Layers (STYLE.md practice 1):
//!
//! * [`frame`]: plain data types with pure encode/decode for every message, both directions;
//! * [`codec`]: TPKT framing for tokio-util;
//! * [`client`]: the async client over any byte stream ([`Client::attach`]) or TCP
//!   ([`Client::connect`]);
//! * [`address`] and [`mod@plan`]: STEP 7 addresses, values, read-var planning;
//! * [`catalog`]: event texts; [`sim`]: an S7 CPU simulator for tests and the demo.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use plcdiag_s7::{Client, ConnectOptions, Reply};
//!
//! let mut client = Client::connect("192.168.0.10:102".parse()?, &ConnectOptions::default()).await?;
//! if let Reply::Ok(mode) = client.cpu_mode().await? {
//!     println!("CPU is in {}", mode.mode);
//! }
//! if let Reply::Ok(entries) = client.diag_buffer(0).await? {
//!     for e in entries {
//!         println!("{} {:?}", e.event_id, e.timestamp);
//!     }
//! }
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod address;
pub mod catalog;
pub mod client;
pub mod codec;
pub mod frame;
pub mod plan;
pub mod sim;

pub use address::{AddressError, Area, ItemError, VarAddress, VarType, VarValue};
pub use client::{
    Client, ConnectOptions, ConnectionType, Error, ParseConnectionTypeError, Refusal, Reply,
};
pub use frame::{
    CpuMode, CycleTimes, DecodeError, DiagEntry, EventId, HeaderError, Identity, KeySwitch,
    ModeStatus, ModuleStatus, ParamErrorCode, Protection, ReturnCode, SzlId, SzlList, TimeStatus,
};
pub use plan::ReadPlan;
