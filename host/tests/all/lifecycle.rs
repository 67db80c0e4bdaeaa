//! The drop-in lifecycle: pending -> enabled -> disabled -> removed, and
//! rejected files that never crash the host.

use serde_json::{Value, json};

use crate::support::TestSite;

fn status(site: &TestSite, id: &str) -> (String, String) {
    let list = site.run(&["--json", "plugin", "list"]).ok().json();
    let entry = list["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("{id} not listed: {list}"))
        .clone();
    (
        entry["status"].as_str().unwrap().to_string(),
        entry["note"].as_str().unwrap_or("").to_string(),
    )
}

#[test]
fn a_dropped_in_plugin_is_pending_until_enabled_and_gets_exactly_what_it_asks_for() {
    let site = TestSite::new();
    site.install("tickets");
    site.install("reports");
    assert_eq!(status(&site, "reports").0, "pending");
    let inspect = site
        .run(&["--json", "plugin", "inspect", "reports"])
        .ok()
        .json();
    assert_eq!(
        inspect["manifest"]["capabilities"][0]["table"],
        "tickets__tickets"
    );
    assert_eq!(inspect["manifest"]["capabilities"][0]["access"], "read");
    assert_eq!(inspect["exports"], json!(["manifest", "commands"]));
    let (_, error) = site.call_err("reports.summary", json!({}));
    assert_eq!(error["code"], "unknown_op");
    assert!(error["message"].as_str().unwrap().contains("is pending"));

    site.run(&["plugin", "enable", "tickets", "--yes"]).ok();
    let report = site
        .run(&["--json", "plugin", "enable", "reports", "--yes"])
        .ok()
        .json();
    assert_eq!(
        report["granted"],
        json!([{"table": "tickets__tickets", "access": "read"}])
    );
    assert_eq!(status(&site, "reports").0, "enabled");
    site.call(
        "tickets.create",
        json!({"email": "a@example.com", "subject": "Hi", "body": "Help"}),
    )
    .ok();
    assert_eq!(
        site.call("reports.summary", json!({})).ok().json(),
        json!({"total": 1, "by_status": {"open": 1}})
    );
}

#[test]
fn enabling_asks_for_approval_unless_told_yes() {
    let site = TestSite::new();
    site.install("notes");
    let run = site.run(&["plugin", "enable", "notes"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("needs your approval"), "{run:?}");
    assert_eq!(status(&site, "notes").0, "pending");
}

#[test]
fn disable_stops_calls_and_enable_brings_them_back_with_the_data() {
    let site = TestSite::with(&["notes"]);
    site.call("notes.add", json!({"text": "kept"})).ok();
    site.run(&["plugin", "disable", "notes"]).ok();
    assert_eq!(status(&site, "notes").0, "disabled");
    let (code, error) = site.call_err("notes.list", json!({}));
    assert_eq!((code, error["code"].as_str().unwrap()), (4, "unknown_op"));
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("wasmdesk plugin enable notes")
    );
    site.run(&["plugin", "enable", "notes", "--yes"]).ok();
    assert_eq!(
        site.call("notes.list", json!({})).ok().json()["notes"][0]["text"],
        "kept"
    );
}

#[test]
fn remove_deletes_the_file_and_grants_and_keeps_or_purges_the_data() {
    let site = TestSite::with(&["notes", "probe"]);
    site.call("notes.add", json!({"text": "x"})).ok();
    site.run(&["plugin", "grant", "probe", "read:notes__notes"])
        .ok();
    let run = site.run(&["plugin", "remove", "notes"]);
    assert_eq!(run.code, 2, "remove asks for confirmation: {run:?}");
    let report = site
        .run(&["--json", "plugin", "remove", "notes", "--yes"])
        .ok()
        .json();
    assert_eq!(report["kept_tables"], json!(["notes__notes"]));
    assert!(!site.plugin_path("notes").exists());
    assert!(site.table_exists("notes__notes"));

    let report = site
        .run(&[
            "--json",
            "plugin",
            "remove",
            "probe",
            "--yes",
            "--purge-data",
        ])
        .ok()
        .json();
    assert_eq!(report["dropped_tables"], json!(["probe__items"]));
    assert!(!site.table_exists("probe__items"));
    let grants: i64 = site
        .sqlite()
        .query_row("SELECT count(*) FROM wasmdesk__grants", [], |r| r.get(0))
        .unwrap();
    assert_eq!(grants, 0);
    let list = site.run(&["--json", "plugin", "list"]).ok().json();
    assert_eq!(list["plugins"], json!([]));
}

#[test]
fn corrupt_and_foreign_files_are_rejected_with_a_reason_while_the_others_keep_working() {
    let site = TestSite::with(&["notes"]);
    std::fs::write(site.plugin_path("garbage"), b"this is not wasm").unwrap();
    let mut truncated = std::fs::read(crate::support::artifact("notes")).unwrap();
    truncated.truncate(truncated.len() / 2);
    std::fs::write(site.plugin_path("truncated"), truncated).unwrap();
    std::fs::write(site.plugin_path("core"), b"\0asm\x01\0\0\0").unwrap();
    site.install("future");
    site.install("newer");
    site.install("no-manifest");
    site.install_as("notes", "renamed");

    let expect = [
        ("garbage", "not a WebAssembly file"),
        ("truncated", "not a valid WebAssembly component"),
        ("core", "a core WebAssembly module, not a component"),
        (
            "future",
            "built against wasmdesk:plugin@2.0.0; this host speaks wasmdesk:plugin@1.0 to 1.1: \
             it needs a newer wasmdesk",
        ),
        (
            "newer",
            "built against wasmdesk:plugin@1.2.0; this host speaks wasmdesk:plugin@1.0 to 1.1: \
             it needs a newer wasmdesk (or rebuild it against this release's wit/)",
        ),
        ("no-manifest", "exports no wasmdesk:plugin/manifest"),
        ("renamed", "rename the file to notes.wasm"),
    ];
    for (id, reason) in expect {
        let (state, note) = status(&site, id);
        assert_eq!(state, "rejected", "{id}");
        assert!(
            note.contains(reason),
            "{id}: {note:?} should contain {reason:?}"
        );
    }
    let run = site.run(&["--json", "plugin", "enable", "garbage", "--yes"]);
    assert_eq!(run.code, 8, "{run:?}");
    assert!(
        run.error()["message"]
            .as_str()
            .unwrap()
            .contains("rejected")
    );
    assert_eq!(
        site.call("notes.add", json!({"text": "still works"}))
            .ok()
            .json()["id"],
        1
    );
    let human = site.run(&["plugin", "list"]).ok();
    assert!(human.stdout.contains("garbage") && human.stdout.contains("rejected"));
}

#[test]
fn a_plugin_built_against_an_older_minor_of_the_contract_still_runs() {
    // `elder` was built against wasmdesk:plugin@1.0.0 (a frozen copy of the
    // contract before 1.1.0 added `clock.today`); the host speaks 1.1.
    let site = TestSite::with(&["elder", "probe"]);
    let inspect = site
        .run(&["--json", "plugin", "inspect", "elder"])
        .ok()
        .json();
    assert_eq!(inspect["contract"], "1.0.0", "{inspect}");
    assert_eq!(inspect["status"], "enabled");
    let human = site.run(&["plugin", "inspect", "elder"]).ok();
    assert!(
        human
            .stdout
            .contains("built against: wasmdesk:plugin@1.0.0"),
        "{human:?}"
    );
    site.call("elder.remember", json!({"text": "first"})).ok();
    let recalled = site.call("elder.recall", json!({})).ok().json();
    assert_eq!(recalled["texts"], json!(["first"]));
    // A plugin built against 1.1 gets what 1.1 added.
    let probe = site
        .run(&["--json", "plugin", "inspect", "probe"])
        .ok()
        .json();
    assert_eq!(probe["contract"], "1.1.0");
    let today = site.call("probe.today", json!({})).ok().json();
    let expected = jiff::tz::Offset::UTC
        .to_datetime(jiff::Timestamp::now())
        .date()
        .to_string();
    assert_eq!(today["today"], expected, "{today}");
}

#[test]
fn a_changed_file_is_not_run_until_approved_again() {
    let site = TestSite::with(&["notes"]);
    // Same id, different bytes: the approval was for the old binary.
    let mut bytes = std::fs::read(crate::support::artifact("notes")).unwrap();
    // A custom section appended to a component is still a valid component.
    bytes.extend_from_slice(&[0, 6, 5, b'x', b'-', b'p', b'a', b'd']);
    std::fs::write(site.plugin_path("notes"), bytes).unwrap();
    let (state, note) = status(&site, "notes");
    assert_eq!(state, "pending");
    assert!(note.contains("changed since it was approved"), "{note}");
    let (_, error) = site.call_err("notes.list", json!({}));
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("changed since it was approved")
    );
    site.run(&["plugin", "enable", "notes", "--yes"]).ok();
    site.call("notes.list", json!({})).ok();
}

#[test]
fn an_updated_plugin_runs_its_setup_again_over_its_existing_schema() {
    let site = TestSite::with(&["tickets"]);
    site.call(
        "tickets.create",
        json!({"email": "ada@example.com", "subject": "Hi", "body": "Before the update"}),
    )
    .ok();
    // A new build of the same plugin: its setup runs again with the
    // previous version, and its `CREATE INDEX IF NOT EXISTS` statements
    // find the indexes there (SQLite compiles them to nothing, without
    // asking the authorizer: this once recursed until the stack overflowed).
    let mut bytes = std::fs::read(crate::support::artifact("tickets")).unwrap();
    bytes.extend_from_slice(&[0, 6, 5, b'x', b'-', b'p', b'a', b'd']);
    std::fs::write(site.plugin_path("tickets"), bytes).unwrap();
    site.run(&["plugin", "enable", "tickets", "--yes"]).ok();
    let ticket = site.call("tickets.get", json!({"id": 1})).ok().json();
    assert_eq!(ticket["messages"][0]["body"], "Before the update");
}

#[test]
fn a_missing_file_is_reported_and_can_be_removed() {
    let site = TestSite::with(&["notes"]);
    std::fs::remove_file(site.plugin_path("notes")).unwrap();
    let (state, note) = status(&site, "notes");
    assert_eq!(state, "missing");
    assert!(note.contains("plugin remove notes"));
    site.run(&["plugin", "remove", "notes", "--yes"]).ok();
    let list: Value = site.run(&["--json", "plugin", "list"]).ok().json();
    assert_eq!(list["plugins"], json!([]));
}

#[test]
fn limits_are_validated_and_can_be_reset() {
    let site = TestSite::with(&["notes"]);
    let run = site.run(&["--json", "plugin", "limits", "notes", "--memory-mib", "0"]);
    assert_eq!(run.code, 2);
    let limits = site
        .run(&[
            "--json",
            "plugin",
            "limits",
            "notes",
            "--deadline-ms",
            "250",
        ])
        .ok()
        .json();
    assert_eq!(
        limits["limits"],
        json!({"memory_mib": 64, "deadline_ms": 250})
    );
    let limits = site
        .run(&["--json", "plugin", "limits", "notes", "--reset"])
        .ok()
        .json();
    assert_eq!(
        limits["limits"],
        json!({"memory_mib": 64, "deadline_ms": 5000})
    );
}

#[test]
fn the_wal_is_emptied_once_it_grows_past_a_mebibyte() {
    // Each short-lived process writes (at least its audit entry) and skips
    // SQLite's checkpoint on close; the site empties the WAL instead once
    // it passes 1 MiB, so the next cold process does not rebuild a big one.
    let site = TestSite::with(&["tickets"]);
    let wal = site.root.join("site.db-wal");
    let body = "x".repeat(100_000);
    let mut largest = 0;
    for i in 0..25 {
        site.call(
            "tickets.create",
            serde_json::json!({"email": format!("c{i}@example.com"), "subject": "Big", "body": body}),
        )
        .ok();
        largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
    }
    // 25 tickets of 100 KB wrote far more than 2 MiB through the WAL.
    assert!(site.count("tickets__tickets") == 25);
    assert!(largest < 2 * 1024 * 1024, "the WAL reached {largest} bytes");
}

#[test]
fn anything_in_plugins_that_is_not_a_file_of_the_site_is_listed_as_rejected_with_the_reason() {
    let site = TestSite::new();
    let plugins = site.root.join("plugins");
    std::fs::create_dir(plugins.join("folder.wasm")).unwrap();
    std::os::unix::fs::symlink(plugins.join("nowhere.bin"), plugins.join("ghost.wasm")).unwrap();
    let outside = site.root.parent().unwrap().join("probe.wasm");
    std::fs::copy(crate::support::artifact("probe"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, plugins.join("probe.wasm")).unwrap();
    std::fs::write(plugins.join("huge.wasm"), vec![0u8; 2 * 1024 * 1024]).unwrap();
    let run = crate::support::wasmdesk_with_env(
        &site.root,
        &["--json", "plugin", "list"],
        &[("WASMDESK_MAX_PLUGIN_MIB", "1")],
    )
    .ok();
    let list = run.json();
    let note = |id: &str| -> String {
        let entry = list["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap_or_else(|| panic!("{id} is listed: {list}"));
        assert_eq!(entry["status"], "rejected", "{entry}");
        entry["note"].as_str().unwrap().to_string()
    };
    assert!(note("folder").contains("is not a file"));
    assert!(note("ghost").contains("a link to nothing"));
    assert!(note("probe").contains("outside the site folder"));
    assert!(note("huge").contains("more than the 1 MiB"));
    let run = site.run(&["plugin", "enable", "probe", "--yes"]);
    assert_ne!(run.code, 0, "a link out of the site is not run: {run:?}");
}

#[test]
fn an_empty_site_database_is_an_error_not_a_new_site() {
    let site = TestSite::with(&["probe"]);
    std::fs::write(site.db_path(), b"").unwrap();
    let run = site.run(&["--json", "plugin", "list"]);
    assert_ne!(run.code, 0, "{run:?}");
    let message = run.error()["message"].as_str().unwrap().to_string();
    assert!(message.contains("is empty (0 bytes)"), "{message}");
    assert_eq!(
        std::fs::metadata(site.db_path()).unwrap().len(),
        0,
        "left as it was"
    );
}
