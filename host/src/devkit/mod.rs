//! For plugin authors: `wasmdesk plugin new` (a project to start from, in
//! Rust, Python or JavaScript) and `wasmdesk plugin test` (the test kit that
//! runs a plugin through a real site and the privacy checks).

pub mod template;
pub mod testkit;
