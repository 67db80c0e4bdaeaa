//! Compiled plugins cached on disk under the site, keyed by the wasm's hash
//! and the engine's compatibility fingerprint, so a cold process deserializes
//! (~0.2 ms) instead of compiling (~40 ms and more).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// Components from this size up get a line on stderr while they compile.
const LARGE_COMPONENT: usize = 4 * 1024 * 1024;

/// Where a component with this wasm hash is cached for this engine.
pub fn path(dir: &Path, engine: &Engine, wasm_sha256: &str) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    dir.join(format!("{wasm_sha256}-{:016x}.cwasm", hasher.finish()))
}

/// Load the compiled component from the cache, or compile and cache it.
/// A cache file that cannot be used is replaced; a cache that cannot be
/// written only costs speed.
pub fn load(
    dir: &Path,
    engine: &Engine,
    wasm: &[u8],
    wasm_sha256: &str,
) -> wasmtime::Result<Component> {
    let cached = path(dir, engine, wasm_sha256);
    if cached.is_file() {
        // SAFETY: only the host writes this directory, with bytes produced by
        // `Engine::precompile_component` for this engine fingerprint.
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &cached) } {
            return Ok(component);
        }
    }
    if wasm.len() >= LARGE_COMPONENT {
        // A Python or JavaScript plugin carries its interpreter: compiling
        // it takes half a minute, once. Say so rather than seem to hang.
        eprintln!(
            "wasmdesk: compiling a {:.0} MB plugin for this machine; this takes a while once, \
             then it loads from {} in milliseconds",
            wasm.len() as f64 / 1e6,
            dir.display()
        );
    }
    let compiled = engine.precompile_component(wasm)?;
    let _ = write_atomically(&cached, &compiled);
    // SAFETY: these bytes were produced just now by this engine.
    unsafe { Component::deserialize(engine, &compiled) }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
