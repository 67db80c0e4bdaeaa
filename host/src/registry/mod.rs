//! Plugins of a site: the files dropped into `plugins/`, what each is
//! (pending, enabled, disabled, rejected, missing) and why.

pub mod manifest;
pub mod records;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use manifest::Manifest;

use crate::database::Capability;
use crate::runtime::Limits;

/// Where a plugin stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Dropped in, valid, waiting for the site owner's approval (also a
    /// plugin whose file changed since it was approved).
    Pending,
    Enabled,
    Disabled,
    /// Not a usable plugin; `note` says why.
    Rejected,
    /// Approved, but its file is gone from `plugins/`.
    Missing,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Enabled => "enabled",
            Status::Disabled => "disabled",
            Status::Rejected => "rejected",
            Status::Missing => "missing",
        }
    }
}

/// Everything the site owner needs to decide about one plugin.
#[derive(Debug, Clone, Serialize)]
pub struct PluginEntry {
    pub id: String,
    pub status: Status,
    /// Why it is rejected or missing, or that it changed since approval.
    pub note: Option<String>,
    pub file: Option<PathBuf>,
    pub sha256: Option<String>,
    pub manifest: Option<Manifest>,
    /// The contract interfaces the component exports.
    pub exports: Vec<&'static str>,
    /// The contract version it was built against (`1.0.0`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract: Option<String>,
    pub grants: Vec<Capability>,
    pub limits: Limits,
}

/// The plugin files in `dir`, as (id from the file name, path), by id.
pub fn plugin_files(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        // Anything named NAME.wasm is listed, also a directory or a link:
        // loading it says why it cannot be run.
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "wasm")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            files.push((stem.to_string(), path.clone()));
        }
    }
    files.sort();
    Ok(files)
}
