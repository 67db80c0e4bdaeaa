//! `sloppy` is the plugin template with two privacy bugs, made from the
//! template's source here so the two can never drift apart: its exporter
//! hands over everyone's notes, and its eraser deletes everyone's.

use std::path::PathBuf;

fn main() {
    let template = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap())
        .join("../../../examples/plugin-template/src/lib.rs");
    println!("cargo:rerun-if-changed={}", template.display());
    // Its inner doc comment (`//!`) cannot stand in an included file.
    let mut source: String = std::fs::read_to_string(&template)
        .expect("read the template")
        .lines()
        .filter(|line| !line.starts_with("//!"))
        .map(|line| format!("{line}\n"))
        .collect();
    for (from, to) in [
        ("plugin-template", "sloppy"),
        ("plugin_template", "sloppy"),
        // The first bug: the export is not limited to the subject.
        (
            "SELECT id, text, created_at FROM {NOTES} WHERE email = ?1 ORDER BY id\"),\n            &[subject.email.as_str().into()],",
            "SELECT id, text || ' (' || email || ')' AS text, created_at FROM {NOTES} ORDER BY id\"),\n            &[],",
        ),
        // The second bug: the erasure deletes every note.
        (
            "store::exec(&format!(\"DELETE FROM {NOTES} WHERE email = ?1\"), &[email])",
            "store::exec(&format!(\"DELETE FROM {NOTES}\"), &{ drop(email); [] })",
        ),
    ] {
        assert!(
            source.contains(from),
            "the template no longer contains {from:?}: update tests/plugins/sloppy/build.rs"
        );
        source = source.replace(from, to);
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("sloppy.rs");
    std::fs::write(out, source).expect("write sloppy.rs");
}
