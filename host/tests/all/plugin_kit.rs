//! For plugin authors: `wasmdesk plugin new` (the template) and
//! `wasmdesk plugin test` (the test kit), on real builds.

use std::path::Path;
use std::process::Command;

use crate::support::{artifact, run_in_folder as wasmdesk_in};

#[test]
fn a_new_plugin_builds_with_one_command_and_passes_the_test_kit() {
    let dir = tempfile::tempdir().unwrap();
    let created = wasmdesk_in(dir.path(), &["plugin", "new", "kit-notes"]).ok();
    assert!(
        created
            .stdout
            .contains("cargo build --release --target wasm32-wasip2")
    );
    let project = dir.path().join("kit-notes");
    let lib = std::fs::read_to_string(project.join("src/lib.rs")).unwrap();
    assert!(lib.contains("const ID: &str = \"kit-notes\";"));
    assert!(lib.contains("const NOTES: &str = \"kit_notes__notes\";"));
    assert!(!lib.contains("plugin-template") && !lib.contains("plugin_template"));
    let contract = std::fs::read_to_string(project.join("wit/plugin.wit")).unwrap();
    assert!(contract.contains("package wasmdesk:plugin@1.1.0;"));

    // The one command from its README, offline, with the template's lock
    // file (a target folder kept between runs: the first build compiles
    // wit-bindgen).
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("template-build");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--offline",
        ])
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("run cargo");
    assert!(status.success(), "the new plugin does not build");
    let wasm = target.join("wasm32-wasip2/release/kit_notes.wasm");

    // From the project folder the kit finds wasmdesk-test.json.
    let tested = wasmdesk_in(&project, &["plugin", "test", wasm.to_str().unwrap()]);
    assert_eq!(tested.code, 0, "{tested:?}");
    assert!(
        tested.stdout.contains("kit-notes: all 11 checks passed"),
        "{tested:?}"
    );
    assert!(tested.stdout.contains("ok   seed: action ticket.created"));
    assert!(
        tested
            .stdout
            .contains("ok   privacy: erasure leaves no trace (every table and byte searched)")
    );
}

#[test]
fn plugin_new_refuses_a_bad_name_and_an_existing_folder_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = wasmdesk_in(dir.path(), &["--json", "plugin", "new", "Bad_Name"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert_eq!(bad.error()["code"], "bad_request");
    std::fs::create_dir(dir.path().join("taken")).unwrap();
    let taken = wasmdesk_in(dir.path(), &["--json", "plugin", "new", "taken"]);
    assert_eq!(taken.code, 8, "{taken:?}");
    assert!(
        taken.error()["message"]
            .as_str()
            .unwrap()
            .contains("exists")
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["taken"], "no staging folder left behind");
    assert_eq!(
        std::fs::read_dir(dir.path().join("taken")).unwrap().count(),
        0
    );
}

#[test]
fn the_test_kit_fails_an_eraser_that_forgets_a_table_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = wasmdesk_in(dir.path(), &["plugin", "test", artifact("leaky")]);
    assert_eq!(run.code, 10, "{run:?}");
    assert!(run.stderr.contains("error[test_failed]"), "{run:?}");
    assert!(
        run.stdout.contains(
            "FAIL privacy: erasure leaves no trace (every table and byte searched): \
             kit-subject@example.com is still in leaky__notes.email (1 row(s)): the eraser misses it"
        ),
        "{run:?}"
    );
    // Its exporter returns nothing although it stores the address.
    assert!(
        run.stdout
            .contains("FAIL privacy: export hands over the subject's data: 0 item(s)"),
        "{run:?}"
    );
    let json = wasmdesk_in(dir.path(), &["--json", "plugin", "test", artifact("leaky")]);
    let report = json.json();
    assert_eq!(report["plugin"], "leaky");
    assert_eq!(report["passed"], false);
}

#[test]
fn the_test_kit_reports_a_plugin_it_cannot_load_and_a_bad_seed_file() {
    let dir = tempfile::tempdir().unwrap();
    let future = wasmdesk_in(dir.path(), &["plugin", "test", artifact("future")]);
    assert_eq!(future.code, 10, "{future:?}");
    assert!(
        future
            .stdout
            .contains("FAIL manifest: built against wasmdesk:plugin@2.0.0"),
        "{future:?}"
    );
    std::fs::write(dir.path().join("seed.json"), "{\"seed\": 3}").unwrap();
    let bad = wasmdesk_in(
        dir.path(),
        &["plugin", "test", artifact("notes"), "--seed", "seed.json"],
    );
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(
        bad.stderr.contains("seed.json is not a seed file"),
        "{bad:?}"
    );
    let no_seed = wasmdesk_in(
        dir.path(),
        &[
            "plugin",
            "test",
            artifact("notes"),
            "--seed",
            "missing.json",
        ],
    );
    assert_eq!(no_seed.code, 3, "{no_seed:?}");
    let no_plugin = wasmdesk_in(dir.path(), &["--json", "plugin", "test", "nothing.wasm"]);
    assert_eq!(no_plugin.code, 3, "{no_plugin:?}");
    assert!(
        no_plugin.error()["message"]
            .as_str()
            .unwrap()
            .contains("nothing.wasm does not exist: build the plugin first"),
        "{no_plugin:?}"
    );
}

/// componentize-py, as `cargo xtask test` installs it.
fn componentize_py() -> std::path::PathBuf {
    let path = std::env::var_os("WASMDESK_COMPONENTIZE_PY")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("../py-venv/bin/componentize-py")
        });
    assert!(
        path.is_file(),
        "componentize-py not found at {}: run the tests with `cargo xtask test`, which installs it",
        path.display()
    );
    path
}

#[test]
fn a_plugin_written_in_python_passes_the_test_kit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let example = root.join("examples/python-plugin");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("py_notes.wasm");
    let built = Command::new(componentize_py())
        .arg("-d")
        .arg(root.join("wit"))
        .args(["-w", "plugin", "componentize", "-p"])
        .arg(&example)
        .arg("app")
        .arg("-o")
        .arg(&out)
        .output()
        .expect("run componentize-py");
    assert!(
        built.status.success(),
        "componentize-py failed: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let tested = wasmdesk_in(&example, &["plugin", "test", out.to_str().unwrap()]);
    assert_eq!(tested.code, 0, "{tested:?}");
    assert!(
        tested.stdout.contains("py-notes: all 11 checks passed"),
        "{tested:?}"
    );
    assert!(tested.stdout.contains(
        "ok   privacy: export hands over the subject's data: 2 item(s); the data sits in py_notes__notes.email"
    ));
}

#[test]
fn a_plugin_written_in_javascript_passes_the_test_kit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let example = root.join("examples/javascript-plugin");
    let componentize_js = std::env::var_os("WASMDESK_COMPONENTIZE_JS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join("../js-tools/node_modules/.bin/componentize-js")
        });
    assert!(
        componentize_js.is_file(),
        "componentize-js not found at {}: run the tests with `cargo xtask test`, which installs it",
        componentize_js.display()
    );
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("js_notes.wasm");
    let built = Command::new(&componentize_js)
        .arg(example.join("app.js"))
        .arg("--wit")
        .arg(root.join("wit"))
        .args([
            "--world-name",
            "plugin",
            "--disable",
            "http",
            "fetch-event",
            "-o",
        ])
        .arg(&out)
        .output()
        .expect("run componentize-js");
    assert!(
        built.status.success(),
        "componentize-js failed: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let tested = wasmdesk_in(&example, &["plugin", "test", out.to_str().unwrap()]);
    assert_eq!(tested.code, 0, "{tested:?}");
    assert!(
        tested.stdout.contains("js-notes: all 11 checks passed"),
        "{tested:?}"
    );
}

#[test]
fn the_test_kit_fails_an_exporter_that_hands_over_others_and_an_eraser_that_deletes_them() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.json");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/plugin-template/wasmdesk-test.json"),
        &seed,
    )
    .unwrap();
    let run = wasmdesk_in(
        dir.path(),
        &[
            "plugin",
            "test",
            artifact("sloppy"),
            "--seed",
            seed.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 10, "{run:?}");
    for line in [
        "FAIL privacy: export holds nobody else's data: kit-other@example.com appears in the export of kit-subject@example.com",
        "FAIL privacy: erasure keeps other people's data: erasing kit-subject@example.com also removed kit-other@example.com",
        "ok   privacy: erasure leaves no trace (every table and byte searched)",
        "sloppy: 2 of 11 checks failed",
    ] {
        assert!(run.stdout.contains(line), "{line}\n{run:?}");
    }
}
