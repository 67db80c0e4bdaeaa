//! wasmdesk: an on-premises helpdesk core. Sandboxed WebAssembly component
//! plugins reach a local SQLite store only through capabilities the site
//! owner granted.
//!
//! Data flows one way: caller (the CLI, or the bridge) -> [`Site`] -> the
//! runtime calls a plugin export -> the plugin calls the `store` import ->
//! the store's authorizer checks its grants -> SQLite. ARCHITECTURE.md at
//! the root of the repository has the map.

mod audit;
mod bridge;
mod cli;
mod contract;
mod database;
mod devkit;
mod emails;
mod engine;
mod error;
mod investigate;
mod privacy;
mod pseudonym;
mod registry;
mod runtime;
mod site;
mod text;

// What the binary, the benchmarks and the tests use; everything else is
// the crate's own.
pub use bridge::serve as serve_bridge;
pub use cli::main;
pub use database::Capability;
pub use error::{Error, ErrorCode};
pub use privacy::Subject;
pub use site::Site;

/// Milliseconds since the Unix epoch, as stored in the site database.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
