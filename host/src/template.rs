//! `wasmdesk plugin new NAME`: a new plugin project from the template in
//! examples/plugin-template, carried in the binary with the contract it
//! builds against, so it works without the wasmdesk sources.

use std::path::{Path, PathBuf};

use crate::error::Error;

/// (path in the project, contents) with `plugin-template` and
/// `plugin_template` standing for the name.
const FILES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../examples/plugin-template/Cargo.toml"),
    ),
    (
        "Cargo.lock",
        include_str!("../../examples/plugin-template/Cargo.lock"),
    ),
    (
        "src/lib.rs",
        include_str!("../../examples/plugin-template/src/lib.rs"),
    ),
    (
        "wasmdesk-test.json",
        include_str!("../../examples/plugin-template/wasmdesk-test.json"),
    ),
    (
        "README.md",
        include_str!("../../examples/plugin-template/README.md"),
    ),
    (
        ".gitignore",
        include_str!("../../examples/plugin-template/.gitignore"),
    ),
    ("wit/plugin.wit", include_str!("../../wit/plugin.wit")),
];

/// Write the project for plugin `name` into `parent/name`; returns its path.
pub fn create(name: &str, parent: &Path) -> Result<PathBuf, Error> {
    if !crate::registry::manifest::valid_id(name) {
        return Err(Error::BadRequest(format!(
            "{name:?} is not a plugin id: use lower-case letters, digits and single dashes, \
             starting with a letter (for example: customer-notes)"
        )));
    }
    let dir = parent.join(name);
    if dir.exists() {
        return Err(Error::Conflict(format!(
            "{} exists: choose another name or folder (--dir)",
            dir.display()
        )));
    }
    let snake = name.replace('-', "_");
    // Written into a temporary folder first, so a failure leaves nothing
    // half-made under the chosen name.
    std::fs::create_dir_all(parent)
        .map_err(|e| Error::io(format!("cannot create {}", parent.display()), e))?;
    let staging = tempfile::Builder::new()
        .prefix(".wasmdesk-new-")
        .tempdir_in(parent)
        .map_err(|e| Error::io(format!("cannot write in {}", parent.display()), e))?;
    for (path, contents) in FILES {
        let text = contents
            .replace("plugin-template", name)
            .replace("plugin_template", &snake);
        let target = staging.path().join(path);
        if let Some(folder) = target.parent() {
            std::fs::create_dir_all(folder)
                .map_err(|e| Error::io(format!("cannot create {}", folder.display()), e))?;
        }
        std::fs::write(&target, text)
            .map_err(|e| Error::io(format!("cannot write {}", target.display()), e))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, &dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    Ok(dir)
}
