//! Modbus TCP/RTU polling for plcdiag: typed values, a read planner, a read-only client with
//! typed errors, and a simulator with fault injection.
//!
//! The key design choice: **"the device said no" is kept apart from "we could not talk"**.
//! [`Client::read`] returns `Result<Reply<RawData>, Error>`: a Modbus exception (Modbus
//! Application Protocol Specification V1.1b3 §7) is a [`Reply::Exception`], an answer from a
//! live device; only timeouts, resets and malformed frames are an [`Error`], after which the
//! caller drops the client and reconnects.
//!
//! The layers:
//!
//! * [`value`]: tables, data types, byte and word order, pure decode/encode;
//! * [`point`]: addresses (`hr:100`, Modicon `40101`) and points;
//! * [`mod@plan`]: merges points into few reads within the specification's limits;
//! * [`client`]: the async client over tokio-modbus (TCP, RTU); it never writes;
//! * [`sim`]: a TCP/RTU server simulator for tests, benchmarks and the demo.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use plcdiag_modbus::{plan, Client, DataType, Encoding, PlanLimits, Point};
//!
//! let points = [Point::new("40101".parse()?, Encoding::new(DataType::F32))];
//! let requests = plan(&points, &PlanLimits::default());
//! let mut client =
//!     Client::connect_tcp("127.0.0.1:502".parse()?, 1, Duration::from_secs(1)).await?;
//! for (index, value) in client.read_points(&requests, &points).await? {
//!     println!("point {index}: {value:?}");
//! }
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod client;
mod exception;
pub mod plan;
pub mod point;
pub mod sim;
pub mod value;

pub use client::{
    Client, Error, ExceptionCode, Parity, PointError, ProtocolError, RawData, Reply,
    SerialSettings, TcpTarget,
};
pub use plan::{PlanLimits, PlannedItem, ReadRequest, plan};
pub use point::{Address, AddressError, Point};
pub use sim::{Fault, Sim, SimBuilder, SimHandle};
pub use value::{
    ByteOrder, DataType, Encoding, ParseNameError, Scaling, Table, Value, ValueError, WordOrder,
};
