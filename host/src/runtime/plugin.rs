//! Loading a plugin file into a ready-to-instantiate component: contract
//! version check, import linking, and discovery of the optional exports.

use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, InstancePre, Linker};

use super::bindings::{commands, hooks, lifecycle, manifest, privacy};
use super::state::HostState;

/// The contract versions this host speaks, as `major.minor`.
pub const CONTRACT: &str = "0.1";
const PACKAGE: &str = "wasmdesk:plugin/";

/// A compiled plugin, linked and ready to instantiate once per call.
pub struct LoadedPlugin {
    pub sha256: String,
    pub pre: InstancePre<HostState>,
    pub exports: Exports,
}

/// Which of the contract's interfaces the component exports.
pub struct Exports {
    pub manifest: manifest::GuestIndices,
    pub lifecycle: Option<lifecycle::GuestIndices>,
    pub commands: Option<commands::GuestIndices>,
    pub hooks: Option<hooks::GuestIndices>,
    pub privacy: Option<privacy::GuestIndices>,
}

impl Exports {
    /// Names of the exported interfaces, for `plugin inspect`.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = vec!["manifest"];
        for (name, present) in [
            ("lifecycle", self.lifecycle.is_some()),
            ("commands", self.commands.is_some()),
            ("hooks", self.hooks.is_some()),
            ("privacy", self.privacy.is_some()),
        ] {
            if present {
                names.push(name);
            }
        }
        names
    }
}

/// Why a file is not a usable plugin. Shown to the site owner as the reason
/// a plugin is *rejected*.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not a WebAssembly file (it does not start with \\0asm)")]
    NotWasm,
    #[error(
        "a core WebAssembly module, not a component: build plugins for wasm32-wasip2 \
         (cargo build --target wasm32-wasip2), or wrap a module with `wasm-tools component new`"
    )]
    CoreModule,
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
    #[error(
        "built against {found}; this host speaks wasmdesk:plugin@{CONTRACT}.x: rebuild the plugin against this contract"
    )]
    UnsupportedContract { found: String },
    #[error(
        "exports no wasmdesk:plugin/manifest@{CONTRACT}.x: every plugin must export the manifest \
         interface (include the world wasmdesk:plugin/base)"
    )]
    NoManifest,
    #[error(
        "cannot be linked: {0}; plugins may import only wasmdesk:plugin/{{store,log,clock}} and WASI 0.2"
    )]
    Link(String),
}

/// Compile (or load from the cache) and link a plugin.
pub fn load(
    engine: &Engine,
    linker: &Linker<HostState>,
    cache_dir: &std::path::Path,
    wasm: &[u8],
    sha256: &str,
) -> Result<LoadedPlugin, LoadError> {
    match wasm.get(..8) {
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => return Err(LoadError::CoreModule),
        Some([0, b'a', b's', b'm', ..]) => {}
        _ => return Err(LoadError::NotWasm),
    }
    let component = crate::engine::cache::load(cache_dir, engine, wasm, sha256)
        .map_err(|e| LoadError::Invalid(first_line(&e)))?;
    check_contract(engine, &component)?;
    let pre = linker
        .instantiate_pre(&component)
        .map_err(|e| LoadError::Link(first_line(&e)))?;
    let exports = Exports {
        manifest: manifest::GuestIndices::new(&pre).map_err(|_| LoadError::NoManifest)?,
        lifecycle: lifecycle::GuestIndices::new(&pre).ok(),
        commands: commands::GuestIndices::new(&pre).ok(),
        hooks: hooks::GuestIndices::new(&pre).ok(),
        privacy: privacy::GuestIndices::new(&pre).ok(),
    };
    Ok(LoadedPlugin {
        sha256: sha256.to_string(),
        pre,
        exports,
    })
}

/// Refuse components built against a contract version this host does not
/// speak, naming the version they target.
fn check_contract(engine: &Engine, component: &Component) -> Result<(), LoadError> {
    let ty = component.component_type();
    let mut found = None;
    for (name, item) in ty.exports(engine) {
        if !matches!(item.ty, ComponentItem::ComponentInstance(_)) {
            continue;
        }
        let Some(rest) = name.strip_prefix(PACKAGE) else {
            continue;
        };
        let version = rest.split_once('@').map(|(_, v)| v).unwrap_or("");
        let supported = version
            .strip_prefix(CONTRACT)
            .is_some_and(|patch| patch.starts_with('.') && !patch[1..].is_empty());
        if !supported {
            found = Some(format!("wasmdesk:plugin@{version}"));
        }
    }
    match found {
        Some(found) => Err(LoadError::UnsupportedContract { found }),
        None => Ok(()),
    }
}

fn first_line(error: &wasmtime::Error) -> String {
    let text = format!("{error:#}");
    text.lines()
        .next()
        .unwrap_or("")
        .trim_end_matches(':')
        .to_string()
}
