//! The parts of `wasmdesk-bench` its tests use: the data generator and the
//! native floors of the privacy rows.

pub mod floor;
pub mod seed;
