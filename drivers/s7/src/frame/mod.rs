//! Plain data types for every S7comm message the crate speaks, in both directions, with pure
//! `encode`/`decode` functions and no I/O (STYLE.md practice 1 and 3).
//!
//! Layers, outermost first:
//!
//! * [`cotp`]: TPKT (`s7.md` §1.1) and COTP (`s7.md` §1.2): [`Cotp`] =
//!   [`Cotp::ConnectRequest`] / [`Cotp::ConnectConfirm`] ([`CotpConnect`] with [`CotpParam`]
//!   TLVs in any order), [`Cotp::Data`] ([`CotpData`], EOT flag), [`Cotp::DisconnectRequest`]
//!   ([`CotpDisconnect`]). [`Cotp::encode`] writes the whole TPKT frame; [`Cotp::decode`]
//!   reads one; [`tpkt_length`] checks a TPKT header.
//! * [`s7`]: the S7 header (`s7.md` §1.3) as a raw [`S7Pdu`] ([`Rosctr`], PDU reference,
//!   [`HeaderError`], parameter and data bytes) and the typed [`S7Message`]:
//!   [`SetupJob`]/[`SetupAck`] ([`SetupCommunication`], `s7.md` §1.4),
//!   [`ReadVarJob`]/[`ReadVarAck`], [`SzlRequest`]/[`SzlResponse`], `Other`.
//! * [`szl`]: userdata read SZL (`s7.md` §2): [`SzlRequest`] with [`SzlRequestKind::First`] /
//!   [`SzlRequestKind::FollowUp`], [`SzlResponse`] (sequence number, data unit reference,
//!   `more` = last-data-unit flag, [`ParamErrorCode`], [`ReturnCode`], payload),
//!   [`SzlResponse::fragments`] and [`SzlResponse::refusal`] for servers, [`SzlId`],
//!   [`SzlHeader`], [`SzlList`] (`encode_payload` / `decode_payload`).
//! * [`var`]: read-var (function 0x04): [`AnyItem`] (S7ANY addressing), [`DataItem`]
//!   (return code, transport size; bit vs byte lengths per `s7.md` §6.8).
//! * [`diag`]: [`DiagEntry`] (20-byte diagnostic buffer record, `s7.md` §3.2), [`EventId`]
//!   (`s7.md` §4), BCD timestamps ([`decode_bcd_time`], [`encode_bcd_time`]).
//! * [`records`]: decoders for the other SZL records: [`ModeStatus`]/[`CpuMode`] (§3.3),
//!   [`Identity`] (§3.4, §3.5), [`ModuleStatus`] (§3.6), [`Protection`]/[`KeySwitch`],
//!   [`TimeStatus`] (§3.7), [`CycleTimes`] (§3.8).
//! * [`error`]: [`DecodeError`], [`HeaderError`], [`ParamErrorCode`], [`ReturnCode`] (§7).
//!
//! A server (the simulator) decodes requests with [`Cotp::decode`] + [`S7Message::decode`]
//! and encodes responses with [`S7Message::encode`] wrapped in [`Cotp::data`].

pub mod cotp;
pub mod diag;
pub mod error;
pub mod records;
pub mod s7;
pub mod szl;
pub mod var;

pub use cotp::{
    COTP_CC, COTP_CR, COTP_DR, COTP_DT, Cotp, CotpConnect, CotpData, CotpDisconnect, CotpParam,
    TPKT_MAX_LEN, TPKT_MIN_LEN, tpkt_length,
};
pub use diag::{DiagEntry, EventId, decode_bcd_time, encode_bcd_time};
pub use error::{DecodeError, HeaderError, ParamErrorCode, ReturnCode};
pub use records::{
    CpuMode, CycleTimes, Identity, KeySwitch, ModeStatus, ModuleStatus, Protection, TimeStatus,
};
pub use s7::{Rosctr, S7Message, S7Pdu, SetupAck, SetupCommunication, SetupJob};
pub use szl::{SzlHeader, SzlId, SzlList, SzlRequest, SzlRequestKind, SzlResponse};
pub use var::{AnyItem, DataItem, ReadVarAck, ReadVarJob};
