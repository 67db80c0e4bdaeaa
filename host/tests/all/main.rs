//! End-to-end tests: the real `wasmdesk` binary, real plugins built for
//! wasm32-wasip2 (tests/artifacts), real SQLite files. One test binary,
//! a module per area, because every test binary links wasmtime.

// Test helpers, not only #[test] functions, may unwrap: a panic is the
// failure report.
#![allow(clippy::unwrap_used)]

mod audit;
mod bridge;
mod capabilities;
mod cli;
mod docs;
mod faults;
mod guest_errors;
mod hooks;
mod lifecycle;
mod owner_text;
mod plugin_kit;
mod privacy;
mod sandbox;
mod support;
mod threats;
mod tickets;
