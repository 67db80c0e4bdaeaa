//! A plugin reaches only its own namespace and what the site owner granted,
//! enforced by SQLite's authorizer; a denial rolls back the whole call.

use serde_json::json;

use crate::support::TestSite;

/// probe and notes enabled, with one note stored.
fn site() -> TestSite {
    let site = TestSite::with(&["probe", "notes"]);
    site.call("notes.add", json!({"text": "secret"})).ok();
    site
}

#[track_caller]
fn assert_denied(site: &TestSite, sql: &str, needle: &str) {
    let (code, error) = site.call_err("probe.exec", json!({ "sql": sql }));
    assert_eq!(error["code"], "capability_denied", "{sql}: {error}");
    assert_eq!(code, 5, "{sql}: exit status for capability_denied");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("plugin \"probe\""), "{message}");
    assert!(
        message.contains(needle),
        "{sql}: {message:?} should mention {needle:?}"
    );
}

#[test]
fn reading_another_plugins_table_without_a_grant_is_denied() {
    let site = site();
    assert_denied(
        &site,
        "SELECT text FROM notes__notes",
        "may not read table notes__notes: grant it with: wasmdesk plugin grant probe read:notes__notes",
    );
}

#[test]
fn writes_and_drops_without_a_grant_leave_the_database_unchanged() {
    let site = site();
    assert_denied(
        &site,
        "INSERT INTO notes__notes (text) VALUES ('forged')",
        "may not write table notes__notes",
    );
    assert_denied(&site, "UPDATE notes__notes SET text = 'x'", "notes__notes");
    assert_denied(&site, "DELETE FROM notes__notes", "notes__notes");
    assert_denied(
        &site,
        "DROP TABLE notes__notes",
        "may not drop table notes__notes",
    );
    let text: String = site
        .sqlite()
        .query_row("SELECT text FROM notes__notes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(text, "secret");
    assert_eq!(site.count("notes__notes"), 1);
}

#[test]
fn a_denial_does_not_reveal_whether_the_table_exists() {
    let site = site();
    let (_, existing) = site.call_err("probe.exec", json!({"sql": "SELECT * FROM notes__notes"}));
    let (_, missing) = site.call_err("probe.exec", json!({"sql": "SELECT * FROM notes__nothing"}));
    assert_eq!(existing["code"], missing["code"]);
    let shape = |e: &serde_json::Value| e["message"].as_str().unwrap().replace("nothing", "notes");
    assert_eq!(shape(&existing), shape(&missing));
}

#[test]
fn a_read_grant_reads_but_cannot_write() {
    let site = site();
    site.run(&["plugin", "grant", "probe", "read:notes__notes"])
        .ok();
    let rows = site.probe("SELECT text FROM notes__notes").ok().json();
    assert_eq!(rows["rows"], json!([["secret"]]));
    assert_denied(
        &site,
        "UPDATE notes__notes SET text = 'changed'",
        "may not write table notes__notes",
    );
    assert_eq!(site.count("notes__notes"), 1);

    site.run(&["plugin", "grant", "probe", "write:notes__notes"])
        .ok();
    site.probe("UPDATE notes__notes SET text = 'changed'").ok();
    site.run(&["plugin", "revoke", "probe", "write:notes__notes"])
        .ok();
    assert_denied(&site, "DELETE FROM notes__notes", "may not write");
    site.run(&["plugin", "revoke", "probe", "read:notes__notes"])
        .ok();
    assert_denied(&site, "SELECT * FROM notes__notes", "may not read");
}

#[test]
fn a_denied_statement_rolls_back_the_calls_earlier_writes_even_if_the_plugin_ignores_it() {
    let site = site();
    let (_, error) = site.call_err(
        "probe.batch",
        json!({"swallow": true, "statements": [
            "INSERT INTO probe__items (v) VALUES ('written before the denial')",
            "SELECT * FROM notes__notes",
            "INSERT INTO probe__items (v) VALUES ('written after the denial')",
        ]}),
    );
    assert_eq!(error["code"], "capability_denied");
    assert!(error["message"].as_str().unwrap().contains("rolled back"));
    assert_eq!(site.count("probe__items"), 0);
}

#[test]
fn attach_pragma_writes_load_extension_and_transactions_are_always_denied() {
    let site = site();
    assert_denied(
        &site,
        "ATTACH DATABASE 'other.db' AS other",
        "may not ATTACH",
    );
    assert_denied(
        &site,
        "PRAGMA journal_mode = DELETE",
        "may not run PRAGMA journal_mode",
    );
    assert_denied(&site, "PRAGMA foreign_keys = OFF", "PRAGMA foreign_keys");
    assert_denied(
        &site,
        "PRAGMA writable_schema = ON",
        "PRAGMA writable_schema",
    );
    assert_denied(
        &site,
        "SELECT load_extension('/tmp/evil.so')",
        "may not call load_extension()",
    );
    assert_denied(&site, "COMMIT", "may not BEGIN, COMMIT or ROLLBACK");
    assert_denied(
        &site,
        "SELECT name FROM sqlite_schema",
        "SQLite's internal tables",
    );
    assert_denied(&site, "CREATE TEMP TABLE probe__t (x)", "TEMP");
    let mode: String = site
        .sqlite()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn schema_changes_stay_inside_the_namespace() {
    let site = site();
    site.probe("CREATE TABLE probe__t (a UNIQUE, b)").ok();
    site.probe("CREATE INDEX probe__t_b ON probe__t (b)").ok();
    site.probe("ALTER TABLE probe__t ADD COLUMN c TEXT").ok();
    site.probe("CREATE VIRTUAL TABLE probe__fts USING fts5(body)")
        .ok();
    site.probe("CREATE TABLE probe__seq (id INTEGER PRIMARY KEY AUTOINCREMENT)")
        .ok();
    assert_denied(
        &site,
        "CREATE TABLE notes__planted (x)",
        "may not create table notes__planted",
    );
    assert_denied(
        &site,
        "CREATE INDEX probe__i ON notes__notes (text)",
        "notes__notes",
    );
    assert_denied(
        &site,
        "ALTER TABLE probe__t RENAME TO notes__stolen",
        "outside its namespace",
    );
    assert_denied(
        &site,
        "CREATE TABLE probe__fk (n REFERENCES notes__notes (id))",
        "foreign key",
    );
    assert!(site.table_exists("probe__t"));
    assert!(!site.table_exists("notes__planted"));
    assert!(!site.table_exists("notes__stolen"));
    assert!(!site.table_exists("probe__fk"));
}

#[test]
fn triggers_and_views_cannot_reach_outside_their_creators_namespace() {
    let site = site();
    site.run(&["plugin", "grant", "probe", "read:notes__notes"])
        .ok();
    site.probe("CREATE VIEW probe__v AS SELECT text FROM notes__notes")
        .ok();
    assert_denied(&site, "SELECT * FROM probe__v", "through probe__v");
    site.probe(
        "CREATE TRIGGER probe__copy AFTER INSERT ON probe__items \
         BEGIN INSERT INTO probe__items (v) SELECT text FROM notes__notes; END",
    )
    .ok();
    assert_denied(
        &site,
        "INSERT INTO probe__items (v) VALUES ('x')",
        "through probe__copy",
    );
    assert_denied(
        &site,
        "CREATE TRIGGER probe__spy AFTER INSERT ON notes__notes BEGIN SELECT 1; END",
        "notes__notes",
    );
    assert_eq!(site.count("probe__items"), 0);
}

#[test]
fn host_tables_can_be_neither_read_nor_granted() {
    let site = site();
    assert_denied(
        &site,
        "SELECT * FROM wasmdesk__grants",
        "belongs to the host",
    );
    assert_denied(
        &site,
        "INSERT INTO wasmdesk__grants VALUES ('probe', 'notes__notes', 'write', 0)",
        "belongs to the host",
    );
    let run = site.run(&[
        "--json",
        "plugin",
        "grant",
        "probe",
        "write:wasmdesk__grants",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.error()["message"]
            .as_str()
            .unwrap()
            .contains("cannot be granted")
    );
    let grants: i64 = site
        .sqlite()
        .query_row("SELECT count(*) FROM wasmdesk__grants", [], |r| r.get(0))
        .unwrap();
    assert_eq!(grants, 0);
}

#[test]
fn common_table_expressions_work_but_tables_outside_every_namespace_stay_closed() {
    let site = site();
    let rows = site
        .probe("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 3) SELECT sum(x) FROM c")
        .ok()
        .json();
    assert_eq!(rows["rows"], json!([[6]]));
    // A table made behind the host's back, outside every namespace.
    site.sqlite()
        .execute_batch("CREATE TABLE legacy (secret TEXT); INSERT INTO legacy VALUES ('s');")
        .unwrap();
    assert_denied(&site, "SELECT * FROM legacy", "may not read table legacy");
    assert_denied(&site, "SELECT * FROM dbstat", "dbstat");
    assert_denied(
        &site,
        "SELECT * FROM pragma_table_info('notes__notes')",
        "pragma_table_info",
    );
}

#[test]
fn a_revoke_takes_effect_in_a_long_running_host() {
    // One Site, as the bridge keeps it: cached statements were authorized
    // under the old grants and must be checked again.
    let site = site();
    let mut host = wasmdesk::Site::open(&site.root).unwrap();
    let read = json!({"sql": "SELECT text FROM notes__notes"}).to_string();
    let cap = |s: &str| s.parse::<wasmdesk::Capability>().unwrap();
    host.grant("probe", &[cap("read:notes__notes")]).unwrap();
    assert_eq!(
        host.call("probe", "exec", &read).unwrap().result["rows"],
        json!([["secret"]])
    );
    host.revoke("probe", &[cap("read:notes__notes")]).unwrap();
    let error = host.call("probe", "exec", &read).unwrap_err();
    assert_eq!(
        error.code(),
        wasmdesk::ErrorCode::CapabilityDenied,
        "{error}"
    );
}

/// A bridge keeps what it read of the registry between calls; a grant
/// revoked or a plugin disabled from another process must still count
/// from the very next call.
#[test]
fn a_running_bridge_obeys_a_revoke_and_a_disable_made_by_another_process() {
    use std::io::{BufRead, BufReader, Write};
    let site = site();
    site.run(&["plugin", "grant", "probe", "read:notes__notes"])
        .ok();
    let mut bridge = std::process::Command::new(env!("CARGO_BIN_EXE_wasmdesk"))
        .arg("--site")
        .arg(&site.root)
        .arg("bridge")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the bridge");
    let mut stdin = bridge.stdin.take().unwrap();
    let mut stdout = BufReader::new(bridge.stdout.take().unwrap());
    let mut ask = |id: u32| -> serde_json::Value {
        let request = json!({"id": id, "op": "probe.exec",
                             "args": {"sql": "SELECT text FROM notes__notes"}});
        writeln!(stdin, "{request}").unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap()
    };
    // Twice, so the second call is answered from what the first read.
    assert_eq!(ask(1)["result"]["rows"], json!([["secret"]]));
    assert_eq!(ask(2)["result"]["rows"], json!([["secret"]]));
    site.run(&["plugin", "revoke", "probe", "read:notes__notes"])
        .ok();
    let denied = ask(3);
    assert_eq!(denied["error"]["code"], "capability_denied", "{denied}");
    site.run(&["plugin", "disable", "probe"]).ok();
    let disabled = ask(4);
    assert_eq!(disabled["error"]["code"], "unknown_op", "{disabled}");
    assert!(
        disabled["error"]["message"]
            .as_str()
            .unwrap()
            .contains("disabled"),
        "{disabled}"
    );
    drop(stdin);
    assert!(bridge.wait().unwrap().success());
}
