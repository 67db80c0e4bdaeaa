//! Limits and isolation: traps roll back, deadlines and memory caps stop a
//! plugin, and WASI grants nothing.

use serde_json::json;

use crate::support::TestSite;

#[test]
fn a_plugin_that_traps_halfway_through_its_writes_leaves_no_row_behind() {
    let site = TestSite::with(&["probe"]);
    let (code, error) = site.call_err(
        "probe.batch",
        json!({"statements": [
            "INSERT INTO probe__items (v) VALUES ('one')",
            "INSERT INTO probe__items (v) VALUES ('two')",
        ], "then": "panic"}),
    );
    assert_eq!(error["code"], "plugin_fault");
    assert_eq!(code, 6);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("plugin \"probe\" crashed in command batch"),
        "{message}"
    );
    assert!(
        message.contains("panicking after its writes"),
        "the panic message is reported: {message}"
    );
    assert!(
        message.contains("(its backtrace and log: logs/probe.log)"),
        "{message}"
    );
    assert_eq!(site.count("probe__items"), 0);
    let log = std::fs::read_to_string(site.root.join("logs/probe.log")).unwrap();
    assert!(log.contains("panicking after its writes"), "{log}");
    // The wasm backtrace follows, frame by frame, with the plugin's own
    // function names (the name section is kept).
    let frames: Vec<&str> = log.lines().filter(|l| l.contains(" trap ")).collect();
    assert!(frames.len() >= 2, "{log}");
    assert!(
        frames.iter().any(|f| f.contains("probe")),
        "a frame names the plugin's code: {log}"
    );
}

#[test]
fn a_command_that_returns_an_error_leaves_no_row_behind() {
    let site = TestSite::with(&["probe"]);
    let (_, error) = site.call_err(
        "probe.batch",
        json!({"statements": ["INSERT INTO probe__items (v) VALUES ('x')"], "then": "fail"}),
    );
    assert_eq!(error["code"], "plugin_fault");
    assert_eq!(site.count("probe__items"), 0);
    site.call(
        "probe.batch",
        json!({"statements": ["INSERT INTO probe__items (v) VALUES ('x')"]}),
    )
    .ok();
    assert_eq!(site.count("probe__items"), 1);
}

#[test]
fn an_infinite_loop_is_stopped_at_its_deadline_and_the_host_answers_the_next_call() {
    let site = TestSite::with(&["spinner"]);
    site.run(&["plugin", "limits", "spinner", "--deadline-ms", "300"])
        .ok();
    let started = std::time::Instant::now();
    let (code, error) = site.call_err("spinner.loop", json!({}));
    assert_eq!(error["code"], "deadline_exceeded");
    assert_eq!(code, 7);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("deadline of 300 ms")
    );
    assert!(
        started.elapsed().as_secs() < 30,
        "stopped, not run to the test's end"
    );
    assert_eq!(
        site.count("spinner__marks"),
        0,
        "the write before the loop was rolled back"
    );
    assert_eq!(
        site.call("spinner.ping", json!({})).ok().json(),
        json!({"pong": true})
    );
}

#[test]
fn a_runaway_query_is_interrupted_at_the_deadline() {
    let site = TestSite::with(&["spinner"]);
    site.run(&["plugin", "limits", "spinner", "--deadline-ms", "300"])
        .ok();
    let (_, error) = site.call_err("spinner.slow-sql", json!({}));
    assert_eq!(error["code"], "deadline_exceeded");
    assert_eq!(site.count("spinner__marks"), 0);
}

#[test]
fn a_plugin_sleeping_on_a_wasi_timer_is_stopped_at_its_deadline() {
    let site = TestSite::with(&["spinner"]);
    site.run(&["plugin", "limits", "spinner", "--deadline-ms", "300"])
        .ok();
    let started = std::time::Instant::now();
    let (code, error) = site.call_err("spinner.sleep", json!({}));
    assert_eq!(
        (code, error["code"].as_str()),
        (7, Some("deadline_exceeded")),
        "{error}"
    );
    assert!(
        started.elapsed().as_secs() < 20,
        "woken at the deadline, not after its minute: {:?}",
        started.elapsed()
    );
    assert_eq!(site.count("spinner__marks"), 0, "the write was rolled back");
    assert_eq!(
        site.call("spinner.ping", json!({})).ok().json(),
        json!({"pong": true})
    );
}

#[test]
fn a_plugin_that_grows_memory_past_its_cap_is_stopped() {
    let site = TestSite::with(&["hog"]);
    site.run(&["plugin", "limits", "hog", "--memory-mib", "16"])
        .ok();
    let (code, error) = site.call_err("hog.grow", json!({"mib": 64}));
    assert_eq!(error["code"], "plugin_fault");
    assert_eq!(code, 6);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("memory cap of 16 MiB"),
        "{error}"
    );
    // Within its cap it runs.
    let ok = site.call("hog.grow", json!({"mib": 4})).ok().json();
    assert_eq!(ok["allocated_mib"], 4);
}

#[test]
fn a_plugin_gets_no_files_no_environment_no_arguments_and_no_network() {
    let site = TestSite::with(&["snoop"]);
    let secret = site.root.join("site.db");
    let out = site
        .call("snoop.escape", json!({"path": secret.to_str().unwrap()}))
        .ok()
        .json();
    assert_eq!(out["file_ok"], false, "{out}");
    assert_eq!(out["dir_ok"], false);
    assert_eq!(out["write_ok"], false);
    assert_eq!(out["env"], json!([]));
    assert_eq!(out["args"], json!([]));
    assert_eq!(out["tcp_ok"], false, "{out}");
    assert!(!site.root.join("escaped.txt").exists());
    let log = std::fs::read_to_string(site.root.join("logs/snoop.log")).unwrap();
    assert!(
        log.contains("stdout") && log.contains("snoop was here"),
        "{log}"
    );
    assert!(log.contains("snoop on stderr"), "{log}");
}

#[test]
fn a_held_write_lock_makes_a_write_wait_at_most_its_deadline_then_busy() {
    let site = TestSite::with(&["probe"]);
    site.run(&["plugin", "limits", "probe", "--deadline-ms", "300"])
        .ok();
    // A backup script, say, holding the write lock.
    let holder = site.sqlite();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = std::time::Instant::now();
    let (code, error) = site.call_err(
        "probe.exec",
        json!({"sql": "INSERT INTO probe__items (v) VALUES ('x')"}),
    );
    let waited = started.elapsed();
    assert_eq!(error["code"], "busy", "{error}");
    assert_eq!(code, 12);
    assert!(
        error["message"].as_str().unwrap().contains("retry"),
        "{error}"
    );
    assert!(
        waited.as_secs() < 10,
        "waited {waited:?}, not the default 30 s"
    );
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(site.count("probe__items"), 0);
    site.probe("INSERT INTO probe__items (v) VALUES ('y')").ok();
    assert_eq!(site.count("probe__items"), 1);
}

/// probe with a long deadline, and another connection to the site with a
/// table of its own to write.
fn probe_and_another_writer() -> (TestSite, rusqlite::Connection) {
    let site = TestSite::with(&["probe"]);
    site.run(&["plugin", "limits", "probe", "--deadline-ms", "30000"])
        .ok();
    let writer = site.sqlite();
    writer
        .execute_batch("CREATE TABLE side (x INTEGER)")
        .unwrap();
    (site, writer)
}

/// A query that keeps SQLite busy for a while (about a second here).
const SLOW_READ: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                         LIMIT 3000000) SELECT count(*) FROM c";

#[test]
fn a_plugin_call_that_only_reads_never_holds_the_write_lock() {
    let (site, writer) = probe_and_another_writer();
    let slow = json!({ "sql": SLOW_READ });
    let mut reader = site.spawn(&["call", "probe.exec", &slow.to_string()]);
    std::thread::sleep(std::time::Duration::from_millis(400));
    let still_reading = reader.try_wait().unwrap().is_none();
    // Another process writes meanwhile, waiting at most 200 ms (the read
    // lasts longer; the call's own audit entry takes the lock for a moment).
    writer
        .busy_timeout(std::time::Duration::from_millis(200))
        .unwrap();
    writer
        .execute_batch("BEGIN IMMEDIATE; INSERT INTO side VALUES (1); COMMIT;")
        .unwrap();
    let output = reader.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("3000000"));
    if !still_reading {
        eprintln!("note: the read finished within 400 ms; the overlap was not exercised");
    }
}

#[test]
fn a_write_that_lost_its_snapshot_to_another_process_is_run_again_not_failed() {
    let (site, writer) = probe_and_another_writer();
    // Read, read for a while, then write.
    let batch = json!({"statements": [
        "SELECT count(*) FROM probe__items",
        SLOW_READ,
        "INSERT INTO probe__items (v) VALUES ('after reading')",
    ]});
    let call = site.spawn(&["--json", "call", "probe.batch", &batch.to_string()]);
    std::thread::sleep(std::time::Duration::from_millis(400));
    // Another process commits while the call is reading.
    writer.execute_batch("INSERT INTO side VALUES (1)").unwrap();
    let output = call.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(site.count("probe__items"), 1, "written once");
    let batches = site
        .plugin_calls("probe")
        .iter()
        .filter(|e| e["operation"] == "command batch")
        .count();
    assert_eq!(batches, 1, "one call, one entry");
}
