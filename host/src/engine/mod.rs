//! The one wasmtime `Engine` of the process, configured in one place, and the
//! on-disk cache of compiled plugins.

pub mod cache;

use std::sync::OnceLock;
use std::time::Duration;

/// The largest memory cap a site owner may give a plugin, in MiB: the
/// engine sizes its memory pool for it.
pub const MAX_MEMORY_MIB: u32 = 4_096;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The process-wide engine. Its epoch is advanced by a background thread
/// started on first use, so that deadlines interrupt running plugins.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        // The pool reserves its address space up front; where a process may
        // not reserve that much (a `ulimit -v`), instances are allocated on
        // demand instead, as before: slower, otherwise the same.
        let engine = Engine::new(&config(Some(pooling())))
            .or_else(|_| Engine::new(&config(None)))
            .expect("the engine configuration is valid");
        let ticker = engine.clone();
        std::thread::Builder::new()
            .name("wasmdesk-epoch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(EPOCH_TICK);
                    ticker.increment_epoch();
                }
            })
            .expect("the epoch thread can start");
        engine
    })
}

fn config(pool: Option<PoolingAllocationConfig>) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.wasm_backtrace_details(wasmtime::WasmBacktraceDetails::Enable);
    if let Some(pool) = pool {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// Plugin instances alive at once in one process. Every call instantiates
/// its plugin and drops it when done, so a site has one or two alive at a
/// time (a command and the filter it runs); the rest is headroom.
const POOL_INSTANCES: u32 = 32;

/// Every call gets a fresh instance (no state leaks between calls); the
/// pooling allocator makes that cheap: memory slots are reserved once and
/// reused, with the plugin's initial memory image kept mapped in the slot,
/// instead of mapped and unmapped per call. (Keeping a slot's first MiB
/// resident, zeroed with memset, measured slower here than letting the
/// kernel zero the pages: a call touches little of it.)
fn pooling() -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(POOL_INSTANCES)
        // A component holds several core instances (its module and the
        // shims around it) and tables; a language runtime may hold more.
        .total_core_instances(POOL_INSTANCES * 8)
        .total_memories(POOL_INSTANCES * 2)
        .total_tables(POOL_INSTANCES * 8)
        .max_memories_per_module(2)
        // Calls are synchronous (no fibers): the default 1000 async stacks,
        // each with its guard page set up by mprotect, cost every cold
        // process milliseconds.
        .total_stacks(0)
        .max_memory_size(MAX_MEMORY_MIB as usize * 1024 * 1024);
    pool
}

/// Epoch ticks for a deadline of `duration` from now (rounded up, plus the
/// tick already under way).
pub fn deadline_ticks(duration: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos();
    (duration.as_nanos().div_ceil(tick) as u64).saturating_add(1)
}
