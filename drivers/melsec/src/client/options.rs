//! Connection options (`melsec-cclink.md` §1.1, §1.2, §1.10).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::frame::{FrameKind, Route, Series};

/// MC over TCP (one request in flight) or UDP (one datagram per frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Transport {
    /// TCP (default; §0.1).
    #[default]
    Tcp,
    /// UDP (reported more reliable on some sites with 4E, §1.10; the gateway's IP may need
    /// to be configured in the PLC).
    Udp,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        })
    }
}

/// An unknown transport name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown MC transport {0:?} (expected tcp or udp)")]
pub struct ParseTransportError(pub String);

impl FromStr for Transport {
    type Err = ParseTransportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "tcp" => Ok(Transport::Tcp),
            "udp" => Ok(Transport::Udp),
            _ => Err(ParseTransportError(s.to_owned())),
        }
    }
}

/// How to talk to a MELSEC CPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// 3E (default) or 4E (serial numbers, §1.2).
    pub frame: FrameKind,
    /// TCP (default) or UDP.
    pub transport: Transport,
    /// Access route (default own station `00 FF 03FF 00`, §1.1).
    pub route: Route,
    /// Timeout of the connect and of each request (default 2 s).
    pub timeout: Duration,
    /// Monitoring timer in 250 ms units (default `0x0010` = 4 s; 0 = wait forever; FX5
    /// requires 0, §1.10).
    pub monitoring_timer: u16,
    /// CPU series: device-specification form and SD0/time layout (§1.3, §7.3).
    pub series: Series,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            frame: FrameKind::E3,
            transport: Transport::Tcp,
            route: Route::default(),
            timeout: Duration::from_secs(2),
            monitoring_timer: 0x0010,
            series: Series::Q,
        }
    }
}
