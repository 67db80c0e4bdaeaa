//! The one wasmtime `Engine` of the process, configured in one place, and the
//! on-disk cache of compiled plugins.

pub mod cache;

use std::sync::OnceLock;
use std::time::Duration;

use wasmtime::{Config, Engine};

/// How often the epoch advances; deadlines are counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The process-wide engine. Its epoch is advanced by a background thread
/// started on first use, so that deadlines interrupt running plugins.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let engine = Engine::new(&config()).expect("the engine configuration is valid");
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

fn config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.wasm_backtrace_details(wasmtime::WasmBacktraceDetails::Enable);
    config
}

/// Epoch ticks for a deadline of `duration` from now (rounded up, plus the
/// tick already under way).
pub fn deadline_ticks(duration: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos();
    (duration.as_nanos().div_ceil(tick) as u64).saturating_add(1)
}
