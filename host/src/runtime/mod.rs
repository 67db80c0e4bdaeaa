//! Running plugins: the linker (built once), loading components, and one
//! fresh store per call with a memory cap, a deadline and no WASI grants.

pub mod call;
pub mod guest;
pub mod imports;
pub mod limits;
pub mod log;
pub mod plugin;
mod sleep;
pub mod state;

use std::path::PathBuf;

use wasmtime::Engine;
use wasmtime::component::{HasSelf, Linker};

pub use call::{CallError, CallErrorKind};
pub use guest::{FailureKind, Guest, Outcome};
pub use limits::{LimitChange, Limits};
pub use plugin::{LoadError, LoadedPlugin};
pub use state::{Action, HostState};

/// The engine, the linker with every import a plugin may use, and where
/// compiled plugins are cached.
pub struct Runtime {
    pub engine: Engine,
    linker: Linker<HostState>,
    cache_dir: PathBuf,
}

impl Runtime {
    pub fn new(cache_dir: PathBuf) -> Runtime {
        let engine = crate::engine::engine().clone();
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .expect("WASI links once into a fresh linker");
        sleep::cap_timers(&mut linker).expect("WASI's timers are there to be replaced");
        crate::contract::Plugin::add_to_linker::<HostState, HasSelf<HostState>>(
            &mut linker,
            |state| state,
        )
        .expect("the contract's imports link once into a fresh linker");
        Runtime {
            engine,
            linker,
            cache_dir,
        }
    }

    /// Compile (or load from the cache) and link a plugin's bytes.
    pub fn load(&self, wasm: &[u8], sha256: &str) -> Result<LoadedPlugin, LoadError> {
        plugin::load(&self.engine, &self.linker, &self.cache_dir, wasm, sha256)
    }
}
