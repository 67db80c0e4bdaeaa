//! The parts of `wasmdesk-bench` its tests use: the data generator.

pub mod seed;
