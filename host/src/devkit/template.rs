//! `wasmdesk plugin new NAME [--lang rust|python|javascript]`: a new plugin
//! project from the template (examples/plugin-template) or from the Python
//! or JavaScript example, carried in the binary with the contract it builds
//! against (a Rust project: with the guest SDK, sdk/rust, which holds the
//! contract), so it works without the wasmdesk sources.

use std::path::{Path, PathBuf};

use crate::error::Error;

/// (path in the project, contents) with `plugin-template` and
/// `plugin_template` standing for the name.
const FILES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../../examples/plugin-template/Cargo.toml"),
    ),
    (
        "Cargo.lock",
        include_str!("../../../examples/plugin-template/Cargo.lock"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../examples/plugin-template/src/lib.rs"),
    ),
    (
        "wasmdesk-test.json",
        include_str!("../../../examples/plugin-template/wasmdesk-test.json"),
    ),
    (
        "README.md",
        include_str!("../../../examples/plugin-template/README.md"),
    ),
    (
        ".gitignore",
        include_str!("../../../examples/plugin-template/.gitignore"),
    ),
    ("wit/plugin.wit", include_str!("../../../wit/plugin.wit")),
];

/// The guest SDK, which a Rust project builds on, copied into it as
/// `wasmdesk-plugin/` (the SDK is not on crates.io).
const SDK: &[(&str, &str)] = &[
    (
        "wasmdesk-plugin/Cargo.toml",
        include_str!("../../../sdk/rust/Cargo.toml"),
    ),
    (
        "wasmdesk-plugin/README.md",
        include_str!("../../../sdk/rust/README.md"),
    ),
    (
        "wasmdesk-plugin/src/lib.rs",
        include_str!("../../../sdk/rust/src/lib.rs"),
    ),
    (
        "wasmdesk-plugin/src/args.rs",
        include_str!("../../../sdk/rust/src/args.rs"),
    ),
    (
        "wasmdesk-plugin/src/manifest.rs",
        include_str!("../../../sdk/rust/src/manifest.rs"),
    ),
    (
        "wasmdesk-plugin/src/privacy.rs",
        include_str!("../../../sdk/rust/src/privacy.rs"),
    ),
    (
        "wasmdesk-plugin/src/store.rs",
        include_str!("../../../sdk/rust/src/store.rs"),
    ),
    (
        "wasmdesk-plugin/wit/plugin.wit",
        include_str!("../../../sdk/rust/wit/plugin.wit"),
    ),
    (
        "wasmdesk-plugin/wit/exports.wit",
        include_str!("../../../sdk/rust/wit/exports.wit"),
    ),
];

/// Where the template's Cargo.toml finds the SDK in the wasmdesk sources,
/// and where a new project has its copy.
const SDK_IN_SOURCES: &str = "path = \"../../sdk/rust\"";
const SDK_IN_PROJECT: &str = "path = \"wasmdesk-plugin\"";

/// The languages `plugin new` writes a project in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
    Python,
    #[value(alias = "js")]
    Javascript,
}

/// The Python project: the example with its name replaced, a build script
/// and the contract. `py-notes`/`py_notes` stand for the name.
const PYTHON_FILES: &[(&str, &str)] = &[
    (
        "app.py",
        include_str!("../../../examples/python-plugin/app.py"),
    ),
    (
        "wasmdesk.py",
        include_str!("../../../examples/python-plugin/wasmdesk.py"),
    ),
    (
        "wasmdesk-test.json",
        include_str!("../../../examples/python-plugin/wasmdesk-test.json"),
    ),
    (
        "build.sh",
        "#!/bin/sh\n\
         # Build py_notes.wasm from app.py with componentize-py 0.25.1: the one in\n\
         # $COMPONENTIZE_PY if set, else one installed on first use in .venv.\n\
         set -e\n\
         cd \"$(dirname \"$0\")\"\n\
         tool=\"${COMPONENTIZE_PY:-.venv/bin/componentize-py}\"\n\
         if [ ! -x \"$tool\" ]; then\n\
         \x20 python3 -m venv .venv\n\
         \x20 .venv/bin/pip install --quiet componentize-py==0.25.1\n\
         fi\n\
         \"$tool\" -d wit -w plugin componentize app -o py_notes.wasm\n\
         echo \"built py_notes.wasm; test it: wasmdesk plugin test py_notes.wasm\"\n",
    ),
    (
        "README.md",
        "# py-notes\n\n\
         A wasmdesk plugin in Python, made by `wasmdesk plugin new py-notes --lang python`.\n\n\
         ```sh\n./build.sh                            # py_notes.wasm (componentize-py, in .venv)\n\
         wasmdesk plugin test py_notes.wasm    # the test kit, with wasmdesk-test.json\n\
         cp py_notes.wasm $SITE/plugins/py-notes.wasm\n```\n\n\
         `app.py` is the plugin; `wasmdesk.py` turns every failure of an export into an error\n\
         the host reports (decorate each export with it); `wit/plugin.wit` is the contract.\n\
         See docs/plugin-guide.md in the wasmdesk sources.\n",
    ),
    (".gitignore", ".venv/\n*.wasm\n__pycache__/\n"),
    ("wit/plugin.wit", include_str!("../../../wit/plugin.wit")),
];

/// The JavaScript project. `js-notes`/`js_notes` stand for the name.
const JAVASCRIPT_FILES: &[(&str, &str)] = &[
    (
        "app.js",
        include_str!("../../../examples/javascript-plugin/app.js"),
    ),
    (
        "wasmdesk-test.json",
        include_str!("../../../examples/javascript-plugin/wasmdesk-test.json"),
    ),
    (
        "build.sh",
        "#!/bin/sh\n\
         # Build js_notes.wasm from app.js with componentize-js 0.23.0: the one in\n\
         # $COMPONENTIZE_JS if set, else one installed with npm on first use.\n\
         set -e\n\
         cd \"$(dirname \"$0\")\"\n\
         tool=\"${COMPONENTIZE_JS:-node_modules/.bin/componentize-js}\"\n\
         if [ ! -x \"$tool\" ]; then\n\
         \x20 npm install --silent --no-save @bytecodealliance/componentize-js@0.23.0\n\
         fi\n\
         \"$tool\" app.js --wit wit --world-name plugin --disable http fetch-event -o js_notes.wasm\n\
         echo \"built js_notes.wasm; test it: wasmdesk plugin test js_notes.wasm\"\n",
    ),
    (
        "README.md",
        "# js-notes\n\n\
         A wasmdesk plugin in JavaScript, made by `wasmdesk plugin new js-notes --lang javascript`.\n\n\
         ```sh\n./build.sh                            # js_notes.wasm (componentize-js, from npm)\n\
         wasmdesk plugin test js_notes.wasm    # the test kit, with wasmdesk-test.json\n\
         cp js_notes.wasm $SITE/plugins/js-notes.wasm\n```\n\n\
         `app.js` is the plugin (wrap each export in `textErrors` or `commandErrors`);\n\
         `wit/plugin.wit` is the contract. See docs/plugin-guide.md in the wasmdesk sources.\n",
    ),
    (".gitignore", "node_modules/\n*.wasm\n"),
    ("wit/plugin.wit", include_str!("../../../wit/plugin.wit")),
];

/// Write the project for plugin `name`, in `lang`, into `parent/name`.
pub fn create_in(name: &str, parent: &Path, lang: Lang) -> Result<PathBuf, Error> {
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
    let (files, stands_for) = match lang {
        Lang::Rust => (FILES, "plugin-template"),
        Lang::Python => (PYTHON_FILES, "py-notes"),
        Lang::Javascript => (JAVASCRIPT_FILES, "js-notes"),
    };
    let sdk = if lang == Lang::Rust { SDK } else { &[] };
    for (path, contents) in files.iter().chain(sdk) {
        let text = contents
            .replace(stands_for, name)
            .replace(&stands_for.replace('-', "_"), &snake)
            .replace(SDK_IN_SOURCES, SDK_IN_PROJECT);
        let target = staging.path().join(path);
        if let Some(folder) = target.parent() {
            std::fs::create_dir_all(folder)
                .map_err(|e| Error::io(format!("cannot create {}", folder.display()), e))?;
        }
        std::fs::write(&target, text)
            .map_err(|e| Error::io(format!("cannot write {}", target.display()), e))?;
        #[cfg(unix)]
        if path.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).map_err(
                |e| Error::io(format!("cannot make {} executable", target.display()), e),
            )?;
        }
    }
    let staged = staging.keep();
    std::fs::rename(&staged, &dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    Ok(dir)
}

#[cfg(test)]
mod sdk_tests {
    use super::*;

    /// The guest SDK carries its own copy of the contract (so that it builds
    /// on its own, from crates.io or inside a new project); the host builds
    /// against wit/. They must be the same file.
    #[test]
    fn the_sdk_carries_the_contract_the_host_speaks() {
        assert!(
            include_str!("../../../sdk/rust/wit/plugin.wit")
                == include_str!("../../../wit/plugin.wit"),
            "sdk/rust/wit/plugin.wit differs from wit/plugin.wit: copy wit/plugin.wit over it"
        );
    }

    #[test]
    fn a_new_rust_project_builds_on_its_copy_of_the_sdk() {
        assert!(FILES[0].1.contains(SDK_IN_SOURCES), "{}", FILES[0].1);
        let dir = tempfile::tempdir().unwrap();
        let project = create_in("kit-notes", dir.path(), Lang::Rust).unwrap();
        let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
        assert!(manifest.contains(SDK_IN_PROJECT), "{manifest}");
        for (path, contents) in SDK {
            let written = std::fs::read_to_string(project.join(path)).unwrap();
            assert!(&written == contents, "{path} is not the SDK's");
        }
    }
}
