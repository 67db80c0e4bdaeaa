//! Plugins in Python and JavaScript (the examples, built with their real
//! toolchains): a store error in any export arrives as an error the plugin
//! can catch, and the examples turn it into an error the host reports with
//! its text, never a crash. (Hooks and setup are wrapped the same way in
//! the examples; a hook of theirs only reaches the store with a payload
//! it may read.)

use std::path::Path;

use serde_json::json;

use crate::support::{TestSite, javascript_example, python_example};

/// A site with the example enabled, one note added, then its table dropped
/// behind its back: every store call of the plugin now fails.
fn site_with_broken_table(wasm: &Path, id: &str, table: &str) -> TestSite {
    let site = TestSite::new();
    std::fs::copy(wasm, site.plugin_path(id)).unwrap();
    site.run(&["plugin", "enable", id, "--yes"]).ok();
    site.call(
        &format!("{id}.add"),
        json!({"email": "ada@example.com", "text": "likes tea"}),
    )
    .ok();
    site.sqlite()
        .execute_batch(&format!("DROP TABLE {table}"))
        .unwrap();
    site
}

fn store_errors_are_reported_not_crashes(wasm: &Path, id: &str, table: &str) {
    let site = site_with_broken_table(wasm, id, table);
    let (code, error) = site.call_err(&format!("{id}.list"), json!({"email": "ada@example.com"}));
    assert_eq!(code, 6, "{error}");
    assert_eq!(error["code"], "plugin_fault");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("no such table: {table}")) && !message.contains("crashed"),
        "{message}"
    );
    let out = site.root.parent().unwrap().join("ada.zip");
    let export = site.run(&[
        "--json",
        "privacy",
        "export",
        "--email",
        "ada@example.com",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(export.code, 6, "{export:?}");
    let message = export.error()["message"].as_str().unwrap().to_string();
    assert_eq!(
        message,
        format!("plugin \"{id}\" privacy export: sql: no such table: {table}")
    );
    let erase = site.run(&[
        "--json",
        "privacy",
        "erase",
        "--email",
        "ada@example.com",
        "--yes",
    ]);
    assert_eq!(erase.code, 6, "{erase:?}");
    let message = erase.error()["message"].as_str().unwrap().to_string();
    assert!(
        message.contains(&format!(
            "plugin \"{id}\" privacy erase: sql: no such table: {table}"
        )),
        "{message}"
    );
}

#[test]
fn python_store_errors_are_reported_not_crashes() {
    store_errors_are_reported_not_crashes(python_example(), "py-notes", "py_notes__notes");
}

#[test]
fn javascript_store_errors_are_reported_not_crashes() {
    store_errors_are_reported_not_crashes(javascript_example(), "js-notes", "js_notes__notes");
}

#[test]
fn a_new_python_and_javascript_project_pass_the_test_kit() {
    // Built outside the workspace from `plugin new --lang`, by their own
    // build.sh; each is tested with its own seed file.
    for (wasm, id) in [
        (python_example(), "py-notes"),
        (javascript_example(), "js-notes"),
    ] {
        let project = wasm.parent().unwrap();
        for file in [
            "wit/plugin.wit",
            "wasmdesk-test.json",
            "README.md",
            ".gitignore",
        ] {
            assert!(project.join(file).is_file(), "{id}: {file}");
        }
        let tested =
            crate::support::run_in_folder(project, &["plugin", "test", wasm.to_str().unwrap()]);
        assert_eq!(tested.code, 0, "{tested:?}");
        assert!(tested.stdout.contains(&format!("{id}: all ")), "{tested:?}");
    }
}
