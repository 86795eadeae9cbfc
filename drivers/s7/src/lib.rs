//! plcdiag-s7: Siemens S7comm over ISO-on-TCP (SZL reads, diagnostic buffer, read-var).
//!
//! Not yet implemented: the issue "Siemens S7 diagnostics driver" fills this crate.
#![deny(missing_docs)]
