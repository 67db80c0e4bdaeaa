//! The threat model of docs/capabilities.md, one attack class per test:
//! hostile SQL and hostile components, each checked for the typed error,
//! the call's writes all gone (rows and schema), a truthful audit entry, a
//! host that answers the next call, an intact database, and the other
//! plugins' rows and schema unchanged.

use serde_json::{Value, json};

use crate::support::TestSite;

/// probe and notes enabled, one note stored.
fn site() -> TestSite {
    let site = TestSite::with(&["probe", "notes"]);
    site.call("notes.add", json!({"text": "secret"})).ok();
    site
}

/// What an attack must leave behind: notes untouched, its schema too,
/// the file intact, and the host answering the attacker's next call.
#[track_caller]
fn assert_unharmed(site: &TestSite, schema_before: &[(String, String)]) {
    let conn = site.sqlite();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let text: String = conn
        .query_row("SELECT text FROM notes__notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(text, "secret");
    assert_eq!(site.count("notes__notes"), 1);
    assert_eq!(schema(site), schema_before, "the schema is unchanged");
    site.probe("SELECT count(*) FROM probe__items").ok();
}

/// Every schema object as (name, sql).
fn schema(site: &TestSite) -> Vec<(String, String)> {
    let conn = site.sqlite();
    let mut stmt = conn
        .prepare("SELECT name, coalesce(sql, '') FROM sqlite_schema ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// The audit entries of probe's calls of `command`, oldest first.
fn probe_calls(site: &TestSite, command: &str) -> Vec<Value> {
    site.plugin_calls("probe")
        .into_iter()
        .filter(|e| e["operation"] == format!("command {command}"))
        .collect()
}

/// Run statements through probe.batch, swallowing every store error as an
/// attacker would, and end as `then` says (`ok`, `fail`, `panic`).
fn batch(site: &TestSite, statements: &[&str], then: &str) -> crate::support::Run {
    site.run(&[
        "--json",
        "call",
        "probe.batch",
        &json!({"statements": statements, "swallow": true, "then": then}).to_string(),
    ])
}

#[test]
fn no_statement_can_end_the_hosts_transaction() {
    let site = site();
    site.probe("CREATE TABLE probe__k (id INTEGER PRIMARY KEY, v TEXT)")
        .ok();
    site.probe("INSERT INTO probe__k VALUES (1, 'seed')").ok();
    site.probe(
        "CREATE TRIGGER probe__rb BEFORE INSERT ON probe__k WHEN new.v = 'boom' \
         BEGIN SELECT RAISE(ROLLBACK, 'rolled back by a trigger'); END",
    )
    .ok();
    let before = schema(&site);
    let enders = [
        "INSERT OR ROLLBACK INTO probe__k VALUES (1, 'dup')",
        "INSERT INTO probe__k (v) VALUES ('boom')",
        "UPDATE OR ROLLBACK probe__k SET id = 1 WHERE id = 2",
    ];
    let mut calls = probe_calls(&site, "batch").len();
    for ender in enders {
        for then in ["ok", "fail", "panic"] {
            let run = batch(
                &site,
                &[
                    "INSERT INTO probe__k VALUES (2, 'two')",
                    "INSERT INTO probe__items (v) VALUES ('before')",
                    ender,
                    "INSERT INTO probe__items (v) VALUES ('after')",
                    "SAVEPOINT again",
                    "INSERT INTO probe__items (v) VALUES ('after a savepoint')",
                    "CREATE TABLE probe__after (x)",
                ],
                then,
            );
            let error = run.error();
            assert_eq!(
                error["code"], "capability_denied",
                "{ender} then {then}: {error}"
            );
            assert!(
                error["message"]
                    .as_str()
                    .unwrap()
                    .contains("may not end the host's transaction"),
                "{error}"
            );
            assert_eq!(site.count("probe__items"), 0, "{ender} then {then}");
            assert_eq!(site.count("probe__k"), 1, "{ender} then {then}");
            assert!(!site.table_exists("probe__after"));
            let entries = probe_calls(&site, "batch");
            assert_eq!(entries.len(), calls + 1, "one audit entry per call");
            calls += 1;
            assert_eq!(entries.last().unwrap()["outcome"], "capability_denied");
            assert_unharmed(&site, &before);
        }
    }
    // The same conflict clause is harmless when it does not fire.
    site.probe("INSERT OR ROLLBACK INTO probe__k VALUES (3, 'three')")
        .ok();
    assert_eq!(site.count("probe__k"), 2);
}

#[test]
fn a_filter_cannot_write_through_a_statement_a_command_prepared() {
    let site = TestSite::with(&["sieve"]);
    let request =
        |id: u32, op: &str, args: Value| json!({"id": id, "op": op, "args": args}).to_string();
    // One bridge process: one connection, one statement cache.
    let responses = site.bridge(vec![
        request(1, "sieve.keep", json!({"v": "kept-by-command"})),
        request(2, "sieve.forget", json!({"v": "nothing"})),
        request(3, "sieve.echo", json!({"v": "passing through"})),
        request(4, "sieve.echo", json!({"v": "again"})),
        request(5, "sieve.keep", json!({"v": "second"})),
    ]);
    assert_eq!(responses[0]["ok"], true, "{}", responses[0]);
    for echo in &responses[2..4] {
        assert_eq!(echo["ok"], false, "{echo}");
        assert_eq!(echo["error"]["code"], "capability_denied", "{echo}");
        assert!(
            echo["error"]["message"]
                .as_str()
                .unwrap()
                .contains("may not write while applying a filter"),
            "{echo}"
        );
    }
    assert_eq!(responses[4]["ok"], true, "the next command works");
    let kept: Vec<String> = {
        let conn = site.sqlite();
        let mut stmt = conn
            .prepare("SELECT v FROM sieve__kept ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    assert_eq!(kept, [r#"{"v":"kept-by-command"}"#, r#"{"v":"second"}"#]);
}

#[test]
fn the_schema_of_other_namespaces_cannot_be_read_in_any_form() {
    let site = site();
    site.run(&["plugin", "grant", "probe", "read:notes__notes"])
        .ok();
    site.probe("CREATE TABLE probe__seq (id INTEGER PRIMARY KEY AUTOINCREMENT)")
        .ok();
    site.probe("CREATE VIEW probe__v AS SELECT name, sql FROM sqlite_master")
        .ok();
    site.probe("CREATE TABLE probe__loot (a, b)").ok();
    site.probe(
        "CREATE TRIGGER probe__t AFTER INSERT ON probe__items \
         BEGIN INSERT INTO probe__loot SELECT name, sql FROM sqlite_master; END",
    )
    .ok();
    let before = schema(&site);
    for sql in [
        "CREATE TABLE probe__s AS SELECT name, sql FROM sqlite_master",
        "CREATE TABLE probe__s AS SELECT * FROM sqlite_schema",
        "CREATE TABLE probe__s AS SELECT * FROM main.sqlite_master",
        "CREATE TABLE probe__s AS SELECT * FROM sqlite_temp_master",
        "CREATE TABLE probe__s AS SELECT name FROM sqlite_sequence",
        "CREATE TABLE probe__s AS WITH m AS (SELECT sql FROM sqlite_master) SELECT * FROM m",
        "CREATE TABLE probe__s AS SELECT (SELECT group_concat(sql) FROM sqlite_master) AS s",
        "CREATE TABLE probe__s AS SELECT * FROM probe__v",
        "INSERT INTO probe__loot SELECT name, sql FROM sqlite_master",
        "INSERT INTO probe__items (v) VALUES ('fire the trigger')",
        "SELECT * FROM probe__v",
        "SELECT * FROM pragma_table_list",
        "SELECT * FROM pragma_table_info('notes__notes')",
        "CREATE TABLE probe__s AS SELECT * FROM pragma_table_list",
        "CREATE TABLE probe__s AS SELECT * FROM pragma_index_list('notes__notes')",
        "PRAGMA table_info(notes__notes)",
    ] {
        let (code, error) = site.call_err("probe.exec", json!({ "sql": sql }));
        assert_eq!(error["code"], "capability_denied", "{sql}: {error}");
        assert_eq!(code, 5);
        assert!(!site.table_exists("probe__s"), "{sql}");
        assert_eq!(site.count("probe__loot"), 0, "{sql}");
        assert_unharmed(&site, &before);
    }
}

#[test]
fn schema_changes_inside_the_namespace_still_work() {
    let site = site();
    for sql in [
        "CREATE TABLE probe__a (id INTEGER PRIMARY KEY AUTOINCREMENT, b UNIQUE, c CHECK (c > 0))",
        "CREATE INDEX probe__a_c ON probe__a (c) WHERE c > 1",
        "CREATE VIEW probe__av AS SELECT b FROM probe__a",
        "CREATE TRIGGER probe__at AFTER INSERT ON probe__a BEGIN INSERT INTO probe__items (v) VALUES (new.b); END",
        "INSERT INTO probe__a (b, c) VALUES ('x', 1)",
        "ALTER TABLE probe__a ADD COLUMN d TEXT",
        "ALTER TABLE probe__a RENAME COLUMN d TO e",
        "ALTER TABLE probe__a RENAME TO probe__b",
        "CREATE TABLE probe__copy AS SELECT b, c FROM probe__b",
        "CREATE VIRTUAL TABLE probe__fts USING fts5(body)",
        "INSERT INTO probe__fts VALUES ('hello world')",
        "CREATE TABLE probe__child (n INTEGER REFERENCES probe__b (id) ON DELETE CASCADE)",
        "DROP VIEW probe__av",
        "DROP TABLE probe__child",
        "DROP TABLE probe__b",
        "DROP TABLE probe__fts",
    ] {
        site.probe(sql).ok();
    }
    assert_eq!(site.count("probe__copy"), 1);
    assert!(!site.table_exists("probe__b"));
}

#[test]
fn a_foreign_key_into_another_namespace_is_refused() {
    let site = site();
    site.run(&["plugin", "grant", "probe", "write:notes__notes"])
        .ok();
    site.probe("CREATE TABLE probe__p (id INTEGER PRIMARY KEY)")
        .ok();
    let before = schema(&site);
    for sql in [
        "CREATE TABLE probe__fk (n REFERENCES notes__notes (id))",
        "CREATE TABLE probe__fk (n, FOREIGN KEY (n) REFERENCES NOTES__NOTES)",
        "ALTER TABLE probe__p ADD COLUMN n INTEGER REFERENCES notes__notes (id)",
        "CREATE TABLE probe__fk (n REFERENCES tickets__tickets (id))",
    ] {
        let (_, error) = site.call_err("probe.exec", json!({ "sql": sql }));
        assert_eq!(error["code"], "capability_denied", "{sql}: {error}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("may not reference table"),
            "{error}"
        );
        assert_unharmed(&site, &before);
    }
    // notes can still delete its rows.
    site.sqlite()
        .execute("DELETE FROM notes__notes", [])
        .unwrap();
}

#[test]
fn a_namespace_cannot_bloat_the_schema_every_process_parses() {
    let site = site();
    let before = schema(&site);
    let padding = format!("'{}'", "x".repeat(60_000));
    let views: Vec<String> = (0..6)
        .map(|i| format!("CREATE VIEW probe__v{i} AS SELECT {padding} AS pad"))
        .collect();
    let batch = |views: &[String]| {
        let request =
            json!({"id": 1, "op": "probe.batch", "args": {"statements": views, "swallow": true}});
        site.bridge(vec![request.to_string()]).remove(0)
    };
    let response = batch(&views);
    let error = &response["error"];
    assert_eq!(error["code"], "capability_denied", "{response}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("KiB of schema SQL"),
        "{error}"
    );
    assert_unharmed(&site, &before);
    // Two of them fit.
    assert_eq!(batch(&views[..2])["ok"], true);
}

#[test]
fn names_that_are_not_ascii_get_an_error_not_a_crash() {
    let site = site();
    let before = schema(&site);
    let request = |id: usize, sql: &str| {
        json!({"id": id, "op": "probe.exec", "args": {"sql": sql}}).to_string()
    };
    let attacks = [
        "SELECT * FROM notes_é",
        "SELECT * FROM pragma_é",
        "SELECT * FROM \"pragmaé\"",
        "SELECT * FROM \"sqliteé\"",
        "SELECT * FROM \"sqlite_autoé\"",
        "CREATE TABLE \"é__x\" (a)",
        "CREATE TABLE \"probe__é\" (a)",
        "CREATE INDEX \"sqlite_autoindex_é\" ON probe__items (v)",
        "SELECT * FROM \"ñ__ñ\"",
        "SELECT * FROM \"\u{1F600}\u{1F600}\u{1F600}\u{1F600}__x\"",
    ];
    let mut lines: Vec<String> = attacks
        .iter()
        .enumerate()
        .map(|(i, sql)| request(i, sql))
        .collect();
    lines.push(request(99, "SELECT 1"));
    let responses = site.bridge(lines);
    assert_eq!(
        responses.len(),
        attacks.len() + 1,
        "the bridge kept serving"
    );
    assert_eq!(responses.last().unwrap()["ok"], true);
    for response in &responses[..attacks.len()] {
        if response["ok"] == false {
            let code = response["error"]["code"].as_str().unwrap();
            assert!(
                ["capability_denied", "plugin_fault"].contains(&code),
                "{response}"
            );
        }
    }
    site.probe("DROP TABLE IF EXISTS \"probe__é\"").ok();
    assert_unharmed(&site, &before);
}

#[test]
fn action_fan_out_stops_at_its_limits_with_a_warning_naming_the_loop() {
    let site = TestSite::with(&["swarm"]);
    let started = std::time::Instant::now();
    let run = site
        .run(&["--json", "call", "swarm.start", r#"{"n":100}"#])
        .ok();
    assert!(started.elapsed().as_secs() < 120, "it stopped");
    let warning = run
        .stderr
        .lines()
        .find(|l| l.contains("actions stopped after 256 handler calls"))
        .unwrap_or_else(|| panic!("a warning names the loop: {}", run.stderr));
    assert!(warning.starts_with("wasmdesk: warning: "), "{warning}");
    assert!(warning.contains("swarm.ping"), "{warning}");
    assert!(warning.contains("WASMDESK_MAX_ACTION_CALLS"), "{warning}");
    assert_eq!(site.count("swarm__calls"), 256);
    let log = std::fs::read_to_string(site.root.join("logs/swarm.log")).unwrap();
    assert!(log.contains("actions stopped after 256"), "{log}");

    // Both limits are the site owner's to set.
    let run = crate::support::wasmdesk_with_env(
        &site.root,
        &["--json", "call", "swarm.start", r#"{"n":3}"#],
        &[
            ("WASMDESK_MAX_ACTION_DEPTH", "2"),
            ("WASMDESK_MAX_ACTION_CALLS", "1000"),
        ],
    )
    .ok();
    // Depth 0, 1 and 2 run: 3 + 9 + 27 handlers; depth 2's actions are dropped.
    assert_eq!(site.count("swarm__calls"), 256 + 39);
    assert!(run.stderr.contains("2 levels deep"), "{}", run.stderr);
    assert!(
        run.stderr.contains("WASMDESK_MAX_ACTION_DEPTH"),
        "{}",
        run.stderr
    );
}

/// A component whose core module has one 64 MiB memory, instantiated
/// `instances` times (twenty memories of 64 MiB reached 1.3 GB before).
fn many_memories(instances: usize) -> Vec<u8> {
    use wasm_encoder::{
        Component, InstanceSection, MemorySection, MemoryType, Module, ModuleArg, ModuleSection,
    };
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 1024,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut module = Module::new();
    module.section(&memories);
    let mut component = Component::new();
    component.section(&ModuleSection(&module));
    let mut section = InstanceSection::new();
    for _ in 0..instances {
        section.instantiate(0, Vec::<(&str, ModuleArg)>::new());
    }
    component.section(&section);
    component.finish()
}

#[test]
fn a_component_with_too_many_memories_is_refused_at_inspect_with_the_reason() {
    let site = TestSite::new();
    std::fs::write(site.plugin_path("hydra"), many_memories(20)).unwrap();
    let run = site.run(&["plugin", "inspect", "hydra"]);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("rejected"), "{all}");
    assert!(
        all.contains("it creates 20 linear memories per call, more than the 4 a plugin may have"),
        "{all}"
    );
    let run = site.run(&["plugin", "enable", "hydra", "--yes"]);
    assert_ne!(run.code, 0, "{run:?}");
    // The host goes on serving.
    site.run(&["plugin", "list"]).ok();
}

#[test]
fn an_action_carries_personal_data_only_to_plugins_that_may_read_it() {
    let site = TestSite::with(&["tickets", "watcher"]);
    let inspect = site.run(&["plugin", "inspect", "watcher"]).ok().stdout;
    assert!(
        inspect.contains("subscribes to actions: ticket.created"),
        "{inspect}"
    );
    let id = site
        .call(
            "tickets.create",
            json!({"email": "private@example.com", "subject": "My debts", "body": "Details"}),
        )
        .ok()
        .json()["id"]
        .clone();
    let seen = site.call("watcher.events", json!({})).ok().json();
    let created = &seen[0];
    assert_eq!(created["event"], "ticket.created");
    let payload = &created["payload"];
    assert_eq!(payload["id"], id, "ids still arrive: {payload}");
    let withheld = payload["withheld"].to_string();
    assert!(withheld.contains("email"), "{payload}");
    let stored = site
        .sqlite()
        .query_row(
            "SELECT group_concat(payload) FROM watcher__events",
            [],
            |r| r.get::<_, String>(0),
        )
        .unwrap();
    for secret in ["private@example.com", "My debts", "Details"] {
        assert!(
            !stored.contains(secret),
            "{secret} reached watcher: {stored}"
        );
    }
    // With read grants on the tables the command touched, the payload is whole.
    crate::hooks::grant_all_ticket_tables(&site, "watcher");
    site.call(
        "tickets.create",
        json!({"email": "second@example.com", "subject": "S", "body": "B"}),
    )
    .ok();
    let seen = site.call("watcher.events", json!({})).ok().json();
    let last = seen
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["event"] == "ticket.created")
        .unwrap();
    assert!(
        last["payload"].to_string().contains("second@example.com"),
        "{last}"
    );
}

#[test]
fn the_deadline_cannot_cut_the_namespace_check_after_a_rename() {
    let site = site();
    site.run(&["plugin", "limits", "probe", "--deadline-ms", "40"])
        .ok();
    let columns: Vec<String> = (0..200).map(|i| format!("c{i}")).collect();
    let table = format!("CREATE TABLE probe__r ({})", columns.join(", "));
    let views: Vec<String> = (0..40)
        .map(|i| format!("CREATE VIEW probe__v{i} AS SELECT * FROM probe__r"))
        .collect();
    let before = schema(&site);
    // Busy work of growing length moves the rename across the deadline.
    for n in 0..30 {
        let busy = format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT {}) \
             SELECT count(*) FROM c",
            n * 3000
        );
        let mut statements: Vec<&str> = vec![&table];
        statements.extend(views.iter().map(String::as_str));
        statements.push(&busy);
        statements.push("ALTER TABLE probe__r RENAME TO notes__planted");
        let error = batch(&site, &statements, "ok").error();
        assert!(
            ["capability_denied", "deadline_exceeded"].contains(&error["code"].as_str().unwrap()),
            "{error}"
        );
        assert!(!site.table_exists("notes__planted"), "attempt {n}");
        assert!(!site.table_exists("probe__r"), "attempt {n}");
    }
    site.run(&["plugin", "limits", "probe", "--deadline-ms", "5000"])
        .ok();
    assert_unharmed(&site, &before);
}

#[test]
fn sqlite_memory_counts_against_the_plugins_memory_cap() {
    // A 20 MB string built in SQLite's heap, not in the plugin's memory.
    const HUNGRY: &str = "SELECT length(group_concat(hex(randomblob(1000)))) FROM \
                          (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                          WHERE x < 10000) SELECT x FROM c)";
    let site = site();
    let before = schema(&site);
    site.run(&["plugin", "limits", "probe", "--memory-mib", "16"])
        .ok();
    // A write first; the plugin swallows the statement's error.
    let run = batch(
        &site,
        &["INSERT INTO probe__items (v) VALUES ('kept?')", HUNGRY],
        "ok",
    );
    assert_eq!(run.code, 6, "{run:?}");
    let error = run.error();
    assert_eq!(error["code"], "plugin_fault");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("plugin \"probe\" exceeded its memory cap of 16 MiB")
            && message.contains("wasmdesk plugin limits probe --memory-mib N"),
        "{message}"
    );
    assert_eq!(site.count("probe__items"), 0, "the call was rolled back");
    let entries = probe_calls(&site, "batch");
    assert_eq!(entries.len(), 1, "one audit entry");
    assert_eq!(entries[0]["outcome"], "plugin_fault");
    assert_unharmed(&site, &before);
    // Under the default cap of 64 MiB the same statement runs.
    site.run(&["plugin", "limits", "probe", "--reset"]).ok();
    let out = site.probe(HUNGRY).ok().json();
    assert_eq!(out["rows"][0][0], 20_009_999);
}
