//! For plugin authors: `wasmdesk plugin new` (the template) and
//! `wasmdesk plugin test` (the test kit), on real builds.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::{artifact, run_in, run_in_folder as wasmdesk_in};

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
        tested.stdout.contains("kit-notes: all 16 checks passed"),
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

#[test]
fn a_plugin_written_in_python_passes_the_test_kit() {
    // Built once per run from `plugin new py-notes --lang python`, which is
    // the example file for file (support::python_example).
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/python-plugin");
    let out = crate::support::python_example();
    let tested = wasmdesk_in(&example, &["plugin", "test", out.to_str().unwrap()]);
    assert_eq!(tested.code, 0, "{tested:?}");
    assert!(
        tested.stdout.contains("py-notes: all 16 checks passed"),
        "{tested:?}"
    );
    assert!(tested.stdout.contains(
        "ok   privacy: export hands over the subject's data: 2 item(s); the data sits in py_notes__notes.email"
    ));
}

#[test]
fn a_plugin_written_in_javascript_passes_the_test_kit() {
    // Built once per run from `plugin new js-notes --lang javascript`, the
    // example file for file (support::javascript_example).
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/javascript-plugin");
    let out = crate::support::javascript_example();
    let tested = wasmdesk_in(&example, &["plugin", "test", out.to_str().unwrap()]);
    assert_eq!(tested.code, 0, "{tested:?}");
    assert!(
        tested.stdout.contains("js-notes: all 16 checks passed"),
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
        "sloppy: 2 of 16 checks failed",
    ] {
        assert!(run.stdout.contains(line), "{line}\n{run:?}");
    }
}

/// A seed file in `dir`, for `--seed`.
fn seed_file(dir: &Path, name: &str, seed: Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, seed.to_string()).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn the_test_kit_fails_a_plugin_that_logs_the_subject_and_names_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_file(
        dir.path(),
        "seed.json",
        json!({"seed": [
            {"command": "add", "args": {"email": "{subject}", "text": "likes tea"}},
            {"command": "add", "args": {"email": "{other}", "text": "likes coffee"}},
        ]}),
    );
    let run = wasmdesk_in(
        dir.path(),
        &["plugin", "test", artifact("chatty"), "--seed", &seed],
    );
    assert_eq!(run.code, 10, "{run:?}");
    assert!(
        run.stdout.contains(
            "FAIL privacy: no personal data in the site's files (logs/ included): \
             kit-subject@example.com is in logs/chatty.log (1 time(s)): a plugin wrote it there"
        ),
        "{run:?}"
    );
    // Everything else about it is right: the log is the one defect.
    assert!(run.stdout.contains("chatty: 1 of "), "{run:?}");
    assert!(
        run.stdout
            .contains("ok   privacy: erasure leaves no trace (every table and byte searched)"),
        "{run:?}"
    );
}

#[test]
fn the_test_kit_fails_a_declared_column_the_seed_leaves_empty_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let person = |email: &str, phone: Option<&str>| match phone {
        Some(phone) => json!({"command": "add", "args": {"email": email, "phone": phone}}),
        None => json!({"command": "add", "args": {"email": email}}),
    };
    let without_phone = seed_file(
        dir.path(),
        "without.json",
        json!({"seed": [person("{subject}", None), person("{other}", Some("+44 20 7946 0000"))]}),
    );
    let run = wasmdesk_in(
        dir.path(),
        &[
            "plugin",
            "test",
            artifact("hollow"),
            "--seed",
            &without_phone,
        ],
    );
    assert_eq!(run.code, 10, "{run:?}");
    assert!(
        run.stdout.contains(
            "FAIL privacy: every declared personal column holds the subject's data: \
             hollow__people.phone holds none of kit-subject@example.com's data after seeding: \
             seed it with a step in wasmdesk-test.json"
        ),
        "{run:?}"
    );
    assert!(run.stdout.contains("hollow: 1 of "), "{run:?}");

    // Seeded, the same plugin passes.
    let with_phone = seed_file(
        dir.path(),
        "with.json",
        json!({"seed": [person("{subject}", Some("+44 20 7946 0001")), person("{other}", None)]}),
    );
    let run = wasmdesk_in(
        dir.path(),
        &["plugin", "test", artifact("hollow"), "--seed", &with_phone],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(
            "ok   privacy: every declared personal column holds the subject's data: 2 column(s)"
        ),
        "{run:?}"
    );
}

#[test]
fn a_plugin_that_declares_and_stores_nothing_passes_and_says_so() {
    // `elder` declares no personal data, and an empty seed stores none.
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_file(dir.path(), "seed.json", json!({"seed": []}));
    let run = wasmdesk_in(
        dir.path(),
        &["plugin", "test", artifact("elder"), "--seed", &seed],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(
            "ok   privacy: personal data: the manifest declares none and the plugin stored no \
             trace of kit-subject@example.com: nothing to export or erase"
        ),
        "{run:?}"
    );
}

/// Tickets opened and resolved for both people, the ticket ids carried
/// from `create` to `set-status` by `save` and `{NAME.id}`.
fn tickets_seed() -> Value {
    json!({"seed": [
        {"plugin": "tickets", "command": "create", "save": "t",
         "args": {"email": "{subject}", "subject": "Broken", "body": "It broke"}},
        {"plugin": "tickets", "command": "create", "save": "u",
         "args": {"email": "{other}", "subject": "Also broken", "body": "Mine too"}},
        {"plugin": "tickets", "command": "set-status", "args": {"id": "{t.id}", "status": "resolved"}},
        {"plugin": "tickets", "command": "set-status", "args": {"id": "{u.id}", "status": "resolved"}},
    ]})
}

#[test]
fn a_plugin_that_reads_the_tickets_tables_fails_without_them_and_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    // No seed: the kit fires its action itself; the hook finds no tables.
    let run = wasmdesk_in(dir.path(), &["plugin", "test", artifact("csat")]);
    assert_eq!(run.code, 10, "{run:?}");
    assert!(
        run.stdout.contains(
            "FAIL action ticket.status-changed: plugin \"csat\" failed: csat: \
             StoreError::Sql(\"no such table: tickets__tickets\"); the test site has no table \
             tickets__tickets: it belongs to plugin tickets; run the kit with --with tickets\n"
        ),
        "{run:?}"
    );
    assert!(
        !run.stdout.contains("ticket.status-changed: action"),
        "said twice: {run:?}"
    );
    // A seed that calls the tickets plugin says the same.
    let seed = seed_file(dir.path(), "seed.json", tickets_seed());
    let run = wasmdesk_in(
        dir.path(),
        &["plugin", "test", artifact("csat"), "--seed", &seed],
    );
    assert_eq!(run.code, 10, "{run:?}");
    assert!(
        run.stdout.contains(
            "FAIL seed: command tickets.create: plugin tickets is not in the test site: run the \
             kit with --with tickets"
        ),
        "{run:?}"
    );
    assert!(
        run.stdout.contains(
            "FAIL seed: command tickets.set-status: plugin tickets is not in the test site"
        ),
        "{run:?}"
    );
    // With nothing seeded, the seeding check says so, and the export and
    // erasure checks do not repeat it.
    assert!(
        run.stdout.contains(
            "FAIL privacy: every declared personal column holds the subject's data: \
             csat__surveys.email holds none of kit-subject@example.com's data after seeding"
        ),
        "{run:?}"
    );
    assert!(!run.stdout.contains("privacy: export"), "{run:?}");
}

#[test]
fn a_plugin_that_reads_the_tickets_tables_passes_with_tickets_and_chained_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_file(dir.path(), "seed.json", tickets_seed());
    let run = wasmdesk_in(
        dir.path(),
        &[
            "--json",
            "plugin",
            "test",
            artifact("csat"),
            "--seed",
            &seed,
            "--with",
            artifact("tickets"),
            "--keep",
        ],
    );
    let report = run.json();
    let site = std::path::PathBuf::from(report["site"].as_str().unwrap());
    let failed: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] != true)
        .collect();
    assert_eq!(run.code, 0, "{failed:?}\n{run:?}");
    assert_eq!(report["with"], json!(["tickets"]));
    let detail = |name: &str| {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no check {name}: {report}"))["detail"]
            .clone()
    };
    // Only the plugin's own items count, not the tickets plugin's.
    assert_eq!(
        detail("privacy: export hands over the subject's data"),
        "1 item(s); the data sits in csat__surveys.email (1 row(s))"
    );
    // The survey of the other person's ticket is still there, for the
    // ticket id `{u.id}` gave `set-status` as a number.
    let db = rusqlite::Connection::open(site.join("site.db")).unwrap();
    let surveys: Vec<(i64, String)> = db
        .prepare("SELECT ticket_id, email FROM csat__surveys")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let other_ticket: i64 = db
        .query_row(
            "SELECT t.id FROM tickets__tickets t JOIN tickets__customers c ON c.id = t.customer_id \
             WHERE c.email = 'kit-other@example.com'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        surveys,
        [(other_ticket, "kit-other@example.com".to_string())]
    );
    drop(db);
    std::fs::remove_dir_all(site.parent().unwrap()).unwrap();
}

#[test]
fn with_finds_a_first_party_plugin_by_name_next_to_the_binary() {
    // A release as `cargo xtask dist` lays it out: bin/wasmdesk and
    // bin/plugins/tickets.wasm.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(bin.join("plugins")).unwrap();
    let exe = bin.join("wasmdesk");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_wasmdesk"), &exe).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_wasmdesk"), &exe).unwrap();
    }
    std::fs::copy(artifact("tickets"), bin.join("plugins/tickets.wasm")).unwrap();
    let seed = seed_file(dir.path(), "seed.json", tickets_seed());
    let kit = |with: &str| {
        Command::new(&exe)
            .args([
                "plugin",
                "test",
                artifact("csat"),
                "--seed",
                &seed,
                "--with",
                with,
            ])
            .env_remove("WASMDESK_SITE")
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let found = kit("tickets");
    let stdout = String::from_utf8_lossy(&found.stdout);
    assert_eq!(found.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "ok   with tickets: enabled ({})",
            bin.join("plugins/tickets.wasm").display()
        )),
        "{stdout}"
    );
    let missing = kit("nosuch");
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("--with nosuch: no plugin nosuch ships with this wasmdesk: looked for"),
        "{stderr}"
    );
    assert!(stderr.contains("plugins/nosuch.wasm"), "{stderr}");
}

#[test]
fn the_test_kit_refuses_unknown_keys_unknown_placeholders_and_a_site() {
    let dir = tempfile::tempdir().unwrap();
    let kit = |seed: Value| {
        let seed = seed_file(dir.path(), "seed.json", seed);
        wasmdesk_in(
            dir.path(),
            &[
                "--json",
                "plugin",
                "test",
                artifact("notes"),
                "--seed",
                &seed,
            ],
        )
    };
    let top = kit(json!({"seed": [], "plugins": ["tickets"]}));
    assert_eq!(top.code, 2, "{top:?}");
    assert_eq!(top.error()["code"], "bad_request");
    let message = top.error()["message"].as_str().unwrap().to_string();
    assert!(
        message.contains(
            "is not a seed file: unknown key \"plugins\" at the top; the keys allowed there: seed"
        ),
        "{message}"
    );
    let step = kit(json!({"seed": [{"command": "add", "args": {}, "plugins": "tickets"}]}));
    assert_eq!(step.code, 2, "{step:?}");
    assert_eq!(step.error()["code"], "bad_request");
    let message = step.error()["message"].as_str().unwrap().to_string();
    assert!(
        message.contains(
            "step 1 has an unknown key \"plugins\"; the keys allowed in a step: command, args, \
             plugin, save (a command), action, payload (an action)"
        ),
        "{message}"
    );
    let placeholder = kit(json!({"seed": [
        {"command": "add", "args": {"email": "{subject}"}, "save": "t"},
        {"command": "add", "args": {"email": "{u.email}"}},
    ]}));
    assert_eq!(placeholder.code, 2, "{placeholder:?}");
    let message = placeholder.error()["message"].as_str().unwrap().to_string();
    assert!(
        message.contains(
            "step 2 uses {u.email}, but no earlier step saved a result as \"u\"; the names it \
             can use: subject, other, t"
        ),
        "{message}"
    );

    // `--site` would be ignored: it is refused.
    let site = run_in(dir.path(), &["plugin", "test", artifact("notes")]);
    assert_eq!(site.code, 2, "{site:?}");
    assert!(
        site.stderr
            .contains("plugin test runs in a throw-away site and never touches a real one"),
        "{site:?}"
    );
}

#[test]
fn the_test_kit_checks_each_columns_erasure_policy_and_runs_the_retention_rules() {
    let dir = tempfile::tempdir().unwrap();
    let steps = |bugs: &[&str]| {
        let mut steps: Vec<Value> = bugs
            .iter()
            .map(|kind| json!({"command": "bug", "args": {"kind": kind}}))
            .collect();
        for who in ["{subject}", "{other}"] {
            steps.push(json!({"command": "invoice", "args": {"email": who, "amount": 120}}));
            steps.push(json!({"command": "comment", "args": {"email": who, "body": "thanks"}}));
        }
        json!({ "seed": steps })
    };
    let good = seed_file(dir.path(), "good.json", steps(&[]));
    let run = wasmdesk_in(
        dir.path(),
        &["plugin", "test", artifact("ledger"), "--seed", &good],
    );
    assert_eq!(run.code, 0, "{run:?}");
    for line in [
        "ok   privacy: erasure leaves no trace (every table and byte searched): kept as declared: \
         ledger__invoices.email (retain)",
        "ok   privacy: erasure follows the declared policies: ledger__invoices.email (retain): 1 \
         row(s) kept; the eraser reports invoice 1 (invoices: commercial code, 10 years); \
         ledger__comments.author (anonymise): 1 row(s) kept, value replaced",
        "ok   privacy: retention rules run (dry run, then for real): old-comments (365 days): the \
         dry run would remove 0 item(s), the run removed 0",
    ] {
        assert!(run.stdout.contains(line), "{line}\n{run:?}");
    }

    let bad = seed_file(
        dir.path(),
        "bad.json",
        steps(&["delete-anonymised", "silent-retain", "retention"]),
    );
    let run = wasmdesk_in(
        dir.path(),
        &["plugin", "test", artifact("ledger"), "--seed", &bad],
    );
    assert_eq!(run.code, 10, "{run:?}");
    let line = |prefix: &str| {
        run.stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix}: {run:?}"))
            .to_string()
    };
    let policies = line("FAIL privacy: erasure follows the declared policies: ");
    for part in [
        "ledger__invoices.email is declared retain and the row is kept, but the eraser reports \
         no retained item: list what it keeps in items-retained with the reason (invoices: \
         commercial code, 10 years)",
        "ledger__comments.author is declared anonymise, but the eraser deleted 1 of the \
         subject's 1 row(s): keep the row and replace the value, or declare the column delete",
    ] {
        assert!(policies.contains(part), "{part}\n{run:?}");
    }
    assert_eq!(
        line("FAIL privacy: retention rules run"),
        "FAIL privacy: retention rules run (dry run, then for real): the dry run failed: plugin \
         \"ledger\" retention: ledger: rule old-comments broke (as asked)"
    );
    // Without a retained item, the invoice's address is residue.
    assert!(
        run.stdout.contains(
            "FAIL privacy: erasure leaves no trace (every table and byte searched): \
             kit-subject@example.com is still in ledger__invoices.email (1 row(s))"
        ),
        "{run:?}"
    );
}
