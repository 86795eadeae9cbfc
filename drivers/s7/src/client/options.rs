//! Connection options: rack/slot or explicit TSAPs, connection type, PDU size, timeout
//! (`s7.md` §1.2, §1.4, §6.3).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// S7 connection type, the high byte of the remote TSAP (`s7.md` §1.2, Snap7
/// `s7_micro_client.h` CONNTYPE_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConnectionType {
    /// 0x01 PG (programming device): uses the CPU's reserved PG resource.
    Pg,
    /// 0x02 OP (operator panel). The default: leaves the PG slot free for engineering
    /// (`s7.md` §6.3).
    #[default]
    Op,
    /// 0x03 S7 basic.
    Basic,
}

impl ConnectionType {
    /// The TSAP high byte.
    pub fn code(self) -> u8 {
        match self {
            ConnectionType::Pg => 0x01,
            ConnectionType::Op => 0x02,
            ConnectionType::Basic => 0x03,
        }
    }
}

impl fmt::Display for ConnectionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectionType::Pg => "pg",
            ConnectionType::Op => "op",
            ConnectionType::Basic => "basic",
        })
    }
}

/// An unknown connection type name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown S7 connection type {0:?} (expected pg, op or basic)")]
pub struct ParseConnectionTypeError(pub String);

impl FromStr for ConnectionType {
    type Err = ParseConnectionTypeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "pg" => Ok(ConnectionType::Pg),
            "op" => Ok(ConnectionType::Op),
            "basic" => Ok(ConnectionType::Basic),
            _ => Err(ParseConnectionTypeError(s.to_string())),
        }
    }
}

/// How to connect to a CPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Rack (0..7). S7-300/400 CPU: 0.
    pub rack: u8,
    /// Slot (0..31). S7-300: 2; S7-1200/1500 onboard: 0 or 1 (`s7.md` §1.2).
    pub slot: u8,
    /// Connection type (default OP).
    pub connection_type: ConnectionType,
    /// Explicit local TSAP; default 0x0100 (Snap7 default, `s7.md` §1.2).
    pub local_tsap: Option<u16>,
    /// Explicit remote TSAP, overriding rack/slot/type (LOGO!, S7-200).
    pub remote_tsap: Option<u16>,
    /// Requested PDU size (default 480, as Snap7, `s7.md` §1.4).
    pub pdu_size: u16,
    /// Timeout of each connect step and each request (default 2 s).
    pub timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            rack: 0,
            slot: 2,
            connection_type: ConnectionType::Op,
            local_tsap: None,
            remote_tsap: None,
            pdu_size: 480,
            timeout: Duration::from_secs(2),
        }
    }
}

impl ConnectOptions {
    /// Remote TSAP: explicit, else `(type << 8) | (rack << 5) | slot` (`s7.md` §1.2).
    pub fn remote_tsap(&self) -> u16 {
        self.remote_tsap.unwrap_or_else(|| {
            u16::from(self.connection_type.code()) << 8
                | u16::from(self.rack & 0x07) << 5
                | u16::from(self.slot & 0x1F)
        })
    }

    /// Local TSAP: explicit, else 0x0100 (`s7.md` §1.2).
    pub fn local_tsap(&self) -> u16 {
        self.local_tsap.unwrap_or(0x0100)
    }
}
