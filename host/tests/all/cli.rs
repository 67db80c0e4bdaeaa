//! The command line's contract: exit statuses, error shapes, --site.

use serde_json::json;

use crate::support::{TestSite, run_in};

#[test]
fn commands_outside_a_site_say_how_to_create_one() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(dir.path(), &["plugin", "list"]);
    assert_eq!(run.code, 3);
    assert!(
        run.stderr
            .starts_with("wasmdesk: error[not_found]: no wasmdesk site at"),
        "{run:?}"
    );
    assert!(run.stderr.contains("init"));
}

#[test]
fn call_reports_bad_input_with_stable_codes_and_exit_statuses() {
    let site = TestSite::with(&["tickets"]);
    let cases = [
        (vec!["--json", "call", "tickets"], "bad_request", 2),
        (
            vec!["--json", "call", "tickets.get", "{not json"],
            "bad_request",
            2,
        ),
        (
            vec!["--json", "call", "tickets.nope", "{}"],
            "unknown_op",
            4,
        ),
        (vec!["--json", "call", "nobody.get", "{}"], "unknown_op", 4),
        (
            vec!["--json", "call", "tickets.get", "{\"id\": 42}"],
            "not_found",
            3,
        ),
        (
            vec!["--json", "call", "tickets.create", "{\"subject\": \"x\"}"],
            "bad_request",
            2,
        ),
    ];
    for (args, code, status) in cases {
        let run = site.run(&args);
        assert_eq!(run.code, status, "{args:?}: {run:?}");
        assert_eq!(run.error()["code"], code, "{args:?}");
        assert_eq!(run.stdout, "", "errors go to stderr only");
    }
}

#[test]
fn the_site_defaults_to_the_environment_variable() {
    let site = TestSite::with(&["notes"]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_wasmdesk"))
        .args(["call", "notes.add", &json!({"text": "via env"}).to_string()])
        .env("WASMDESK_SITE", &site.root)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(site.count("notes__notes"), 1);
}

#[test]
fn a_second_process_reuses_the_compiled_plugin_cache() {
    use std::os::unix::fs::MetadataExt;
    let site = TestSite::with(&["notes"]);
    let cache = site.root.join("cache/components");
    let files: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one compiled component for one plugin");
    // A compile writes a new file (a new inode, a new time) in its place:
    // the same file afterwards means the second process read it.
    let stamp = |path: &std::path::Path| {
        let m = std::fs::metadata(path).unwrap();
        (m.ino(), m.mtime(), m.mtime_nsec())
    };
    let before = stamp(&files[0]);
    site.call("notes.list", json!({})).ok();
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1);
    assert_eq!(
        stamp(&files[0]),
        before,
        "the compiled plugin was compiled again"
    );
    // And a cache file that is gone is compiled and written again.
    std::fs::remove_file(&files[0]).unwrap();
    site.call("notes.list", json!({})).ok();
    assert!(files[0].is_file());
}
