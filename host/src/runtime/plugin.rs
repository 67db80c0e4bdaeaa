//! Loading a plugin file into a ready-to-instantiate component: contract
//! version check, import linking, and discovery of the optional exports.

use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, InstancePre, Linker};

use super::state::HostState;
use crate::contract::{CONTRACT_MAJOR, CONTRACT_MINOR, Exports, IMPORTS, PACKAGE};

/// A compiled plugin, linked and ready to instantiate once per call.
pub struct LoadedPlugin {
    pub sha256: String,
    pub pre: InstancePre<HostState>,
    pub exports: Exports,
    /// The contract version the component was built against (the newest
    /// among the versions of the contract interfaces it imports and exports).
    pub contract: String,
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
        "built against wasmdesk:plugin@{found}; this host speaks wasmdesk:plugin@{CONTRACT_MAJOR}.0 to \
         {CONTRACT_MAJOR}.{CONTRACT_MINOR}: {fix}"
    )]
    UnsupportedContract { found: String, fix: &'static str },
    #[error(
        "exports no wasmdesk:plugin/manifest@{CONTRACT_MAJOR}.x: every plugin must export the manifest \
         interface (include the world wasmdesk:plugin/base)"
    )]
    NoManifest,
    #[error("too large a component: {0}")]
    Shape(String),
    /// Not a regular file inside the site, or over the size cap.
    #[error("{0}")]
    Unusable(String),
    #[error("cannot be linked: {0}; plugins may import only {IMPORTS} and WASI 0.2")]
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
    let shape = super::limits::Shape::of(wasm).map_err(LoadError::Invalid)?;
    if let Some(problem) = shape.problem() {
        return Err(LoadError::Shape(problem));
    }
    let component = crate::engine::cache::load(cache_dir, engine, wasm, sha256)
        .map_err(|e| LoadError::Invalid(first_line(&e)))?;
    let contract = check_contract(engine, &component)?;
    let pre = linker
        .instantiate_pre(&component)
        .map_err(|e| LoadError::Link(first_line(&e)))?;
    let exports = Exports::of(&pre).ok_or(LoadError::NoManifest)?;
    Ok(LoadedPlugin {
        sha256: sha256.to_string(),
        pre,
        exports,
        contract,
    })
}

/// The contract version a component was built against, read from the
/// names of the contract interfaces it imports and exports
/// (`wasmdesk:plugin/store@1.0.0`); refused, naming both versions, when this
/// host does not speak it. A component that names none (no manifest) is
/// left to the manifest check.
fn check_contract(engine: &Engine, component: &Component) -> Result<String, LoadError> {
    let ty = component.component_type();
    let mut newest: Option<(u64, u64, u64, String)> = None;
    let exported = ty
        .exports(engine)
        .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentInstance(_)))
        .map(|(name, _)| name.to_string());
    let imported = ty
        .imports(engine)
        .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentInstance(_)))
        .map(|(name, _)| name.to_string());
    let names: Vec<String> = exported
        .chain(imported)
        .filter_map(|name| name.strip_prefix(PACKAGE).map(str::to_string))
        .collect();
    for rest in names {
        let text = rest
            .split_once('@')
            .map(|(_, v)| v)
            .unwrap_or("")
            .to_string();
        let Some(version) = parse_version(&text) else {
            return Err(LoadError::UnsupportedContract {
                found: text,
                fix: "rebuild the plugin against the contract in this release's wit/",
            });
        };
        if newest.as_ref().is_none_or(|n| (n.0, n.1, n.2) < version) {
            newest = Some((version.0, version.1, version.2, text));
        }
    }
    let Some((major, minor, _, text)) = newest else {
        return Ok(String::new());
    };
    if major != CONTRACT_MAJOR {
        return Err(LoadError::UnsupportedContract {
            found: text,
            fix: if major < CONTRACT_MAJOR {
                "rebuild the plugin against the contract in this release's wit/"
            } else {
                "it needs a newer wasmdesk"
            },
        });
    }
    if minor > CONTRACT_MINOR {
        return Err(LoadError::UnsupportedContract {
            found: text,
            fix: "it needs a newer wasmdesk (or rebuild it against this release's wit/)",
        });
    }
    Ok(text)
}

/// `major.minor.patch`, without pre-release or build parts.
fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.split('.').map(|p| p.parse::<u64>().ok());
    let version = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(version)
}

fn first_line(error: &wasmtime::Error) -> String {
    let text = format!("{error:#}");
    text.lines()
        .next()
        .unwrap_or("")
        .trim_end_matches(':')
        .to_string()
}
