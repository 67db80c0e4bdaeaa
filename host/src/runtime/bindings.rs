//! Rust types and traits generated from `wit/` (package wasmdesk:plugin@1.1.0).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "wasmdesk:plugin/plugin",
});

pub use self::wasmdesk::plugin::{clock, events, identity, log, store, types};
pub use exports::wasmdesk::plugin::{commands, hooks, lifecycle, manifest, privacy};
