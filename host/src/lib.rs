//! wasmdesk: an on-premises helpdesk core. Sandboxed WebAssembly component
//! plugins reach a local SQLite store only through capabilities the site
//! owner granted.
//!
//! Data flows one way: caller ([`cli`]) -> [`site::Site`] -> [`runtime`]
//! calls a plugin export -> the plugin calls the `store` import ->
//! [`store`]'s authorizer checks its grants -> SQLite.

pub mod audit;
pub mod bridge;
pub mod cli;
pub mod contract;
pub mod engine;
pub mod error;
pub mod privacy;
pub mod pseudonym;
pub mod registry;
pub mod runtime;
pub mod site;
pub mod store;
pub mod template;
pub mod testkit;
pub mod text;

pub use error::{Error, ErrorCode};
pub use site::Site;

/// Milliseconds since the Unix epoch, as stored in the site database.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
