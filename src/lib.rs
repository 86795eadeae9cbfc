//! plcdiag: an industrial PLC diagnostics gateway.
//!
//! Devices are polled by one task each (`devices`), which publish [`model::Observation`]s to the
//! [`hub`]. Everything downstream subscribes to the hub: the SQLite history (`store`), the live
//! view that the HTTP API serves (`live`, `web`) and the Prometheus counters (`metrics`).
//! Nothing downstream talks to a device. The one design choice that shapes the rest: device
//! health is a pure state machine ([`health::DeviceHealth`]) driven with `now` passed in, so
//! what the gateway claims about a device is tested without sockets or clocks.
#![warn(unreachable_pub)]

pub mod bench;
pub mod config;
pub mod demo;
pub mod devices;
pub mod gateway;
pub mod health;
pub mod hub;
pub mod live;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod probe;
pub mod rules;
pub mod store;
pub mod web;
