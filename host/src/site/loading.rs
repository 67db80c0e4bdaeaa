//! Reading a plugin file: loading (or reusing) its compiled component,
//! reading its manifest, and working out where the plugin stands.

use std::rc::Rc;
use std::time::{Instant, SystemTime};

use sha2::{Digest, Sha256};

use super::Site;
use crate::error::Error;
use crate::registry::{self, Manifest, PluginEntry, Status, records};
use crate::runtime::call::{Call, CallError};
use crate::runtime::{Limits, LoadError, LoadedPlugin};

/// A loaded plugin and the file state it was loaded from.
/// What says a plugin file changed since it was loaded.
#[derive(PartialEq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
}

pub(super) struct Loaded {
    stamp: FileStamp,
    result: Result<Rc<LoadedPlugin>, Rc<LoadError>>,
    sha256: String,
}

/// The largest plugin file, in bytes: 64 MiB, or `WASMDESK_MAX_PLUGIN_MIB`.
fn max_plugin_bytes() -> u64 {
    std::env::var("WASMDESK_MAX_PLUGIN_MIB")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(64)
        * 1024
        * 1024
}

impl Site {
    /// Load (or reuse) the component in `plugins/ID.wasm`.
    pub(super) fn load(&mut self, id: &str) -> Result<Rc<LoadedPlugin>, Error> {
        match self.load_file(id)? {
            Some((_, Ok(plugin))) => Ok(plugin),
            Some((_, Err(e))) => Err(Error::Rejected {
                id: id.into(),
                reason: e.to_string(),
            }),
            None => Err(self.unknown_plugin(id)),
        }
    }

    /// The file's hash and what loading it gave; `None` when there is no file.
    #[allow(clippy::type_complexity)]
    pub(super) fn load_file(
        &mut self,
        id: &str,
    ) -> Result<Option<(String, Result<Rc<LoadedPlugin>, Rc<LoadError>>)>, Error> {
        let path = self.paths.plugins.join(format!("{id}.wasm"));
        let unusable = |reason: String| {
            Ok(Some((
                String::new(),
                Err(Rc::new(LoadError::Unusable(reason))),
            )))
        };
        let Ok(link) = std::fs::symlink_metadata(&path) else {
            return Ok(None);
        };
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(_) => {
                return unusable(format!(
                    "plugins/{id}.wasm is a link to nothing: remove it, or copy the plugin file there"
                ));
            }
        };
        if !meta.is_file() {
            return unusable(format!(
                "plugins/{id}.wasm is not a file (a directory?): a plugin is one .wasm file"
            ));
        }
        if link.file_type().is_symlink() {
            // A link may point anywhere: only a file inside the site folder
            // is the site owner's to approve.
            let inside = std::fs::canonicalize(&path)
                .ok()
                .zip(std::fs::canonicalize(&self.paths.root).ok())
                .is_some_and(|(target, root)| target.starts_with(root));
            if !inside {
                return unusable(format!(
                    "plugins/{id}.wasm is a link to a file outside the site folder: copy the file \
                     into plugins/ instead, so that what you approve stays what runs"
                ));
            }
        }
        let cap = max_plugin_bytes();
        if meta.len() > cap {
            return unusable(format!(
                "plugins/{id}.wasm is {} MiB, more than the {} MiB a plugin may be \
                 (WASMDESK_MAX_PLUGIN_MIB sets another cap)",
                meta.len() / (1024 * 1024),
                cap / (1024 * 1024)
            ));
        }
        let stamp = FileStamp {
            len: meta.len(),
            modified: meta.modified().ok(),
        };
        if let Some(loaded) = self.loaded.get(id).filter(|l| l.stamp == stamp) {
            return Ok(Some((loaded.sha256.clone(), loaded.result.clone())));
        }
        let wasm = std::fs::read(&path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        let sha256 = format!("{:x}", Sha256::digest(&wasm));
        let result = self
            .runtime
            .load(&wasm, &sha256)
            .map(Rc::new)
            .map_err(Rc::new);
        self.loaded.insert(
            id.to_string(),
            Loaded {
                stamp,
                result: result.clone(),
                sha256: sha256.clone(),
            },
        );
        Ok(Some((sha256, result)))
    }

    /// Ask the plugin for its manifest (no database, the plugin's limits).
    pub(super) fn read_manifest(
        &self,
        id: &str,
        plugin: &LoadedPlugin,
        limits: Limits,
    ) -> Result<Manifest, CallError> {
        let site_key = self.site_key.clone();
        let call = Call {
            site_key,
            plugin: id,
            operation: "manifest",
            limits,
            deadline: Instant::now() + limits.deadline(),
        };
        let (result, state) = self
            .runtime
            .invoke(plugin, &call, None, |guest| guest.manifest());
        state.log.append_to(&self.paths.logs, id, "manifest");
        result.map(Manifest::from)
    }

    /// Work out where a plugin stands.
    pub(super) fn evaluate(&mut self, id: &str) -> Result<PluginEntry, Error> {
        let record = records::get(&self.db, id)?;
        let grants = self.grants(id)?;
        let limits = records::limits(&self.db, id)?;
        let file = self.paths.plugins.join(format!("{id}.wasm"));
        let mut entry = PluginEntry {
            id: id.to_string(),
            status: Status::Rejected,
            note: None,
            file: None,
            sha256: None,
            manifest: None,
            exports: vec![],
            contract: None,
            grants,
            limits,
        };
        let Some((sha256, loaded)) = self.load_file(id)? else {
            if let Some(record) = record {
                entry.status = Status::Missing;
                entry.note = Some(format!(
                    "approved, but {} is gone: copy it back, or run: wasmdesk plugin remove {id}",
                    file.display()
                ));
                entry.manifest = Some(record.manifest);
                entry.sha256 = Some(record.sha256);
            }
            return Ok(entry);
        };
        entry.file = Some(file);
        entry.sha256 = (!sha256.is_empty()).then(|| sha256.clone());
        if !registry::manifest::valid_id(id) {
            entry.note = Some(format!(
                "{id}.wasm is not a valid plugin file name: plugin ids use lower-case letters, \
                 digits and single dashes"
            ));
            return Ok(entry);
        }
        let plugin = match loaded {
            Ok(plugin) => plugin,
            Err(e) => {
                entry.note = Some(e.to_string());
                return Ok(entry);
            }
        };
        entry.exports = plugin.exports.names();
        entry.contract = Some(plugin.contract.clone()).filter(|c| !c.is_empty());
        let manifest = match &record {
            Some(record) if record.sha256 == sha256 => record.manifest.clone(),
            _ => match self.read_manifest(id, &plugin, limits) {
                Ok(manifest) => manifest,
                Err(e) => {
                    entry.note = Some(format!("its manifest could not be read: {e}"));
                    return Ok(entry);
                }
            },
        };
        let problems = manifest.problems(id, &plugin.exports);
        entry.manifest = Some(manifest);
        if !problems.is_empty() {
            entry.note = Some(problems.join("; "));
            return Ok(entry);
        }
        (entry.status, entry.note) = approval(record.as_ref(), &sha256);
        Ok(entry)
    }
}

/// Where a valid plugin file stands against its approval, and why.
fn approval(record: Option<&records::Record>, sha256: &str) -> (Status, Option<String>) {
    match record {
        Some(record) if record.sha256 == sha256 => {
            let status = if record.enabled {
                Status::Enabled
            } else {
                Status::Disabled
            };
            (status, None)
        }
        Some(record) => (
            Status::Pending,
            Some(format!(
                "the file changed since it was approved (was {}); review it and enable it again",
                if record.enabled {
                    "enabled"
                } else {
                    "disabled"
                }
            )),
        ),
        None => (Status::Pending, None),
    }
}
