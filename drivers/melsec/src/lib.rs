//! plcdiag-melsec: Mitsubishi MC protocol (SLMP), CPU self-diagnosis and the CC-Link master model.
//!
//! Not yet implemented: the issue "MELSEC and CC-Link diagnostics driver" fills this crate.
#![deny(missing_docs)]
