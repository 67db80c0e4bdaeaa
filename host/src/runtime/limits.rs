//! Per-plugin limits (memory cap, deadline) with their defaults, and the
//! resource limiter that enforces the memory cap.

use std::time::Duration;

/// Limits that apply to every call of one plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Limits {
    pub memory_mib: u32,
    pub deadline_ms: u32,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        memory_mib: 64,
        deadline_ms: 5_000,
    };
    /// The largest values a site owner may set.
    pub const MAX: Limits = Limits {
        memory_mib: 4_096,
        deadline_ms: 600_000,
    };

    pub fn memory_bytes(&self) -> usize {
        self.memory_mib as usize * 1024 * 1024
    }

    pub fn deadline(&self) -> Duration {
        Duration::from_millis(u64::from(self.deadline_ms))
    }

    /// The most bytes one statement's result may carry into the guest: a
    /// quarter of its memory, so that decoding it cannot exhaust the rest.
    pub fn result_cap(&self) -> usize {
        self.memory_bytes() / 4
    }
}

/// Refuses memory growth past the cap and remembers that it did, so a trap
/// that follows can be reported as "out of memory" rather than as a crash.
pub struct MemoryLimiter {
    max_bytes: usize,
    /// The size the plugin asked for when it was refused.
    pub refused: Option<usize>,
}

impl MemoryLimiter {
    pub fn new(max_bytes: usize) -> MemoryLimiter {
        MemoryLimiter {
            max_bytes,
            refused: None,
        }
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.refused = Some(desired);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}
