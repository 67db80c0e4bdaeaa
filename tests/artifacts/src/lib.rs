//! Paths of the guest plugins built for wasm32-wasip2 by `build.rs`: the
//! first-party plugins and the test-only ones (one per attack).

include!(concat!(env!("OUT_DIR"), "/guests.rs"));
