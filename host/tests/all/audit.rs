//! The audit log and breach register, through the real binary: every call
//! and admin act is recorded with who, what and whose data; raw edits of
//! site.db are caught by `audit verify`; subjects survive erasure only as
//! keyed hashes; anomalies and breaches are investigated from the CLI.

use std::io::Read;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::TestSite;

/// `wasmdesk --json audit log ARGS...`: the entries.
fn log(site: &TestSite, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["--json", "audit", "log", "--limit", "0"];
    all.extend_from_slice(args);
    site.run(&all).ok().json()["entries"]
        .as_array()
        .expect("entries")
        .clone()
}

/// `wasmdesk --json audit verify`: (exit code, report).
fn verify(site: &TestSite) -> (i32, Value) {
    let run = site.run(&["--json", "audit", "verify"]);
    (run.code, run.json())
}

/// Tickets and probe; probe may read the customers table.
fn site_with_reader() -> TestSite {
    let site = TestSite::with(&["tickets", "probe"]);
    site.run(&["plugin", "grant", "probe", "read:tickets__customers"])
        .ok();
    site
}

fn create_ticket(site: &TestSite, email: &str) {
    site.call(
        "tickets.create",
        json!({"email": email, "subject": "Help", "body": "Please help"}),
    )
    .ok();
}

#[test]
fn every_call_and_admin_act_is_recorded_with_who_what_and_whose_data() {
    let site = TestSite::with(&["tickets"]);
    create_ticket(&site, "ada@example.com");
    let responses = site.bridge(vec![
        json!({"id": 1, "op": "tickets.get", "args": {"id": 1}, "caller": "wp:user:7"}).to_string(),
        json!({"id": 2, "op": "tickets.get", "args": {"id": 99}}).to_string(),
    ]);
    assert_eq!(responses[0]["ok"], true);
    assert_eq!(responses[1]["error"]["code"], "not_found");

    let entries = log(&site, &[]);
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "plugin.call",
            "plugin.enable",
            "plugin.call",
            "plugin.call",
            "plugin.call"
        ],
        "{entries:#?}"
    );
    let (setup, enable, create, get, missing) = (
        &entries[0],
        &entries[1],
        &entries[2],
        &entries[3],
        &entries[4],
    );
    assert_eq!(setup["operation"], "setup");
    assert!(enable["actor"].as_str().unwrap().starts_with("cli:"));
    assert_eq!(enable["plugin"], "tickets");
    assert_eq!(enable["detail"]["version"], "0.2.0");

    // The create wrote the customer and the ticket, for one subject.
    assert_eq!(create["operation"], "command create");
    assert_eq!(create["outcome"], "ok");
    let written: Vec<&str> = create["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["written"].is_u64())
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    for table in [
        "tickets__customers",
        "tickets__tickets",
        "tickets__messages",
    ] {
        assert!(written.contains(&table), "{written:?}");
    }
    assert_eq!(create["subjects"].as_array().unwrap().len(), 1);

    // The bridge caller is named; a request without one gets --caller's default.
    assert_eq!(get["actor"], "bridge:wp:user:7");
    let customers = get["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "tickets__customers")
        .expect("get read the customer");
    assert!(customers["read"].as_i64().unwrap() >= 1);
    assert_eq!(get["subjects"], create["subjects"]);
    assert_eq!(missing["actor"], "bridge:unknown");
    assert_eq!(missing["outcome"], "not_found");

    // Filters: by action, by caller, by plugin.
    assert_eq!(log(&site, &["--action", "plugin.enable"]).len(), 1);
    assert_eq!(log(&site, &["--caller", "wp:user:7"]).len(), 1);
    assert_eq!(log(&site, &["--plugin", "tickets"]).len(), 5);
    let run = site.run(&["audit", "log", "--since", "yesterday"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--since"), "{}", run.stderr);

    let (code, report) = verify(&site);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["entries"], 5);
}

#[test]
fn a_denied_call_is_recorded_with_what_it_tried() {
    let site = TestSite::with(&["tickets", "probe"]);
    site.call_err(
        "probe.exec",
        json!({"sql": "SELECT email FROM tickets__customers"}),
    );
    let entries = log(&site, &["--plugin", "probe", "--action", "plugin.call"]);
    let denied = entries.last().unwrap();
    assert_eq!(denied["outcome"], "capability_denied");
    assert_eq!(denied["detail"]["denied"]["target"], "tickets__customers");
}

/// Drop the guard triggers, as someone editing site.db by hand would.
fn raw_edit(site: &TestSite, sql: &str) {
    let conn = site.sqlite();
    conn.execute_batch(&format!(
        "DROP TRIGGER wasmdesk__audit_no_update; DROP TRIGGER wasmdesk__audit_no_delete; {sql}"
    ))
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A site with tickets and six audit entries (setup, enable, four creates).
fn logged_site() -> TestSite {
    let site = TestSite::with(&["tickets"]);
    for who in [
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "d@example.com",
    ] {
        create_ticket(&site, who);
    }
    assert_eq!(verify(&site).0, 0);
    site
}

#[track_caller]
fn assert_broken_at(site: &TestSite, seq: i64, words: &str) {
    let (code, report) = verify(site);
    assert_eq!(code, 9, "{report}");
    assert_eq!(report["ok"], false);
    assert_eq!(report["broken"]["seq"], seq, "{report}");
    let problem = report["broken"]["problem"].as_str().unwrap();
    assert!(problem.contains(words), "{problem}");
}

#[test]
fn the_log_refuses_edits_and_verify_names_the_first_tampered_entry() {
    // The guard triggers refuse edits made without dropping them first.
    let site = logged_site();
    let refused = site.sqlite().execute(
        "UPDATE wasmdesk__audit SET actor = 'cli:eve' WHERE seq = 4",
        [],
    );
    assert!(refused.unwrap_err().to_string().contains("append-only"));

    // An edited row.
    raw_edit(
        &site,
        "UPDATE wasmdesk__audit SET actor = 'cli:eve' WHERE seq = 4",
    );
    assert_broken_at(&site, 4, "edited");
    // Opening the site put the guards back, and said so in the log.
    assert_eq!(log(&site, &["--action", "audit.guards-restored"]).len(), 1);

    // A deleted row in the middle.
    let site = logged_site();
    raw_edit(&site, "DELETE FROM wasmdesk__audit WHERE seq = 3");
    assert_broken_at(&site, 3, "missing");

    // Two rows swapped.
    let site = logged_site();
    raw_edit(
        &site,
        "UPDATE wasmdesk__audit SET seq = 100 WHERE seq = 3; \
         UPDATE wasmdesk__audit SET seq = 3 WHERE seq = 4; \
         UPDATE wasmdesk__audit SET seq = 4 WHERE seq = 100;",
    );
    assert_broken_at(&site, 3, "reordered");

    // The newest rows cut off: the anchor file remembers entry 6. (The
    // guards' restoration took number 5 again, and says so.)
    let site = logged_site();
    raw_edit(&site, "DELETE FROM wasmdesk__audit WHERE seq >= 5");
    assert_broken_at(&site, 6, "newest entries were deleted");

    // A subject taken out of the index, to hide an access from --subject.
    let site = logged_site();
    site.sqlite()
        .execute_batch(
            "DROP TRIGGER wasmdesk__audit_subjects_no_delete; \
             DELETE FROM wasmdesk__audit_subjects WHERE seq = 4",
        )
        .unwrap();
    assert_broken_at(&site, 4, "subject index");

    // A rewritten chain (hashes recomputed by the forger) still disagrees
    // with the anchor: rewrite the newest entry's actor and hash.
    let site = logged_site();
    raw_edit(
        &site,
        "UPDATE wasmdesk__audit SET actor = 'cli:eve', hash = 'f00d' WHERE seq = 6",
    );
    assert_broken_at(&site, 6, "");
}

#[test]
fn a_plugin_reading_another_plugins_table_shows_up_for_the_subject() {
    let site = site_with_reader();
    create_ticket(&site, "ada@example.com");
    create_ticket(&site, "grace@example.com");
    site.probe("SELECT email FROM tickets__customers WHERE email LIKE 'ada%'")
        .ok();

    let history = log(&site, &["--subject", "ADA@example.com"]);
    let by_probe: Vec<&Value> = history.iter().filter(|e| e["plugin"] == "probe").collect();
    assert_eq!(by_probe.len(), 1, "{history:#?}");
    assert_eq!(by_probe[0]["tables"][0]["table"], "tickets__customers");
    assert_eq!(by_probe[0]["tables"][0]["read"], 1);
    // Grace's history has her own ticket only, not probe's read.
    let grace = log(&site, &["--subject", "grace@example.com"]);
    assert!(grace.iter().all(|e| e["plugin"] != "probe"), "{grace:#?}");
    assert_eq!(grace.len(), 1);
}

#[test]
fn after_an_erasure_the_log_holds_no_identifier_yet_still_finds_the_history() {
    let site = site_with_reader();
    create_ticket(&site, "ada@example.com");
    site.call("tickets.get", json!({"id": 1})).ok();
    site.run(&["privacy", "erase", "--email", "ada@example.com", "--yes"])
        .ok();

    // No clear identifier in any audit column.
    let conn = site.sqlite();
    let mut stmt = conn
        .prepare(
            "SELECT actor || action || coalesce(plugin, '') || coalesce(operation, '') || tables || detail \
             FROM wasmdesk__audit UNION ALL SELECT subject FROM wasmdesk__audit_subjects",
        )
        .unwrap();
    let texts: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!texts.is_empty());
    for text in &texts {
        assert!(!text.to_lowercase().contains("ada@"), "{text}");
    }

    let history = log(&site, &["--subject", "ada@example.com"]);
    let ops: Vec<String> = history
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["action"].as_str().unwrap(),
                e["operation"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(
        ops.contains(&"plugin.call command create".to_string()),
        "{ops:?}"
    );
    assert!(
        ops.contains(&"plugin.call command get".to_string()),
        "{ops:?}"
    );
    assert!(
        ops.contains(&"plugin.call privacy erase".to_string()),
        "{ops:?}"
    );
    assert_eq!(ops.last().unwrap().trim(), "erasure.done", "{ops:?}");
}

#[test]
fn anomalies_flag_a_bulk_read_and_stay_quiet_on_normal_work() {
    let site = site_with_reader();
    // Normal work: 600 customers open tickets through the bridge; agents
    // read and list them a page at a time.
    let mut lines: Vec<String> = (0..600)
        .map(|i| {
            json!({"op": "tickets.create", "caller": "wp:shop",
                   "args": {"email": format!("customer{i}@example.com"), "subject": "Order", "body": "Where is it?"}})
            .to_string()
        })
        .collect();
    for id in 1..=20 {
        lines.push(
            json!({"op": "tickets.get", "caller": "wp:user:2", "args": {"id": id}}).to_string(),
        );
    }
    lines.push(
        json!({"op": "tickets.list", "caller": "wp:user:2", "args": {"limit": 50}}).to_string(),
    );
    let responses = site.bridge(lines);
    assert!(responses.iter().all(|r| r["ok"] == true));
    // Pipelined reads share transactions, but every one is recorded, in order.
    let agent = log(&site, &["--caller", "wp:user:2"]);
    let ops: Vec<&str> = agent
        .iter()
        .map(|e| e["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops.len(), 21, "{ops:?}");
    assert_eq!(ops[20], "command list");
    assert!(
        agent
            .windows(2)
            .all(|w| w[0]["seq"].as_i64() < w[1]["seq"].as_i64())
    );
    let quiet = site.run(&["--json", "audit", "anomalies"]).ok().json();
    assert_eq!(quiet["findings"], json!([]), "{quiet:#}");

    // A plugin that reads every customer's address at once.
    site.probe("SELECT email FROM tickets__customers").ok();
    let report = site.run(&["--json", "audit", "anomalies"]).ok().json();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report:#}");
    assert_eq!(findings[0]["kind"], "bulk-read");
    assert_eq!(findings[0]["who"], "plugin:probe");
    let evidence = &findings[0]["entries"][0];
    assert_eq!(evidence["plugin"], "probe");
    assert_eq!(evidence["subjects"].as_array().unwrap().len(), 600);
    let text = site.run(&["audit", "anomalies"]).ok().stdout;
    assert!(text.contains("bulk-read by plugin:probe"), "{text}");
}

#[test]
fn a_breach_is_investigated_from_the_command_line() {
    let site = site_with_reader();
    create_ticket(&site, "ada@example.com");
    create_ticket(&site, "grace@example.com");
    create_ticket(&site, "linus@example.com");
    // The leak: probe reads Ada's and Grace's addresses, never Linus's.
    site.probe("SELECT email FROM tickets__customers WHERE email < 'h'")
        .ok();
    // Grace has since been erased on request.
    let token = site
        .run(&[
            "--json",
            "privacy",
            "request",
            "erase",
            "--email",
            "grace@example.com",
        ])
        .ok()
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    site.run(&["privacy", "confirm", &token]).ok();
    site.run(&["privacy", "run", "1"]).ok();

    let bad = site.run(&["breach", "record", "--summary", " "]);
    assert_eq!(bad.code, 2, "{bad:?}");
    let breach = site
        .run(&[
            "--json",
            "breach",
            "record",
            "--summary",
            "probe leaked addresses",
            "--detected-at",
            "30m",
        ])
        .ok()
        .json();
    assert_eq!(breach["status"], "open");
    let detected = breach["detected_at_ms"].as_i64().unwrap();
    assert_eq!(
        breach["deadline_at_ms"].as_i64().unwrap() - detected,
        72 * 3_600_000
    );

    let none = site.run(&["breach", "affected", "1", "--since", "1h"]);
    assert_eq!(none.code, 2, "{none:?}");
    let backwards = site.run(&[
        "breach", "affected", "1", "--plugin", "probe", "--since", "1h", "--until", "2h",
    ]);
    assert_eq!(backwards.code, 2, "{backwards:?}");
    assert!(backwards.stderr.contains("--until"), "{}", backwards.stderr);
    let report = site
        .run(&[
            "--json", "breach", "affected", "1", "--plugin", "probe", "--since", "1h",
        ])
        .ok()
        .json();
    let subjects = report["subjects"].as_array().unwrap();
    assert_eq!(subjects.len(), 2, "{report:#}");
    assert_eq!(subjects[0]["email"], "ada@example.com");
    assert_eq!(subjects[0]["status"], "present");
    assert_eq!(subjects[1]["email"], Value::Null);
    assert_eq!(subjects[1]["status"], "erased");
    assert_eq!(subjects[1]["subject_hash"].as_str().unwrap().len(), 64);

    let list = site.run(&["breach", "list"]).ok().stdout;
    assert!(
        list.contains("probe leaked addresses") && list.contains("h left"),
        "{list}"
    );
    let closed = site
        .run(&[
            "--json",
            "breach",
            "close",
            "1",
            "--note",
            "authority ref 2026-114; customers e-mailed",
        ])
        .ok()
        .json();
    assert_eq!(closed["status"], "notified");
    assert_eq!(closed["affected"], 2);
    let again = site.run(&["breach", "close", "1", "--note", "again"]);
    assert_eq!(again.code, 8, "{again:?}");
    let missing = site.run(&["breach", "close", "7", "--note", "x"]);
    assert_eq!(missing.code, 3, "{missing:?}");
    // The investigation itself is in the log.
    for action in ["breach.record", "breach.affected", "breach.close"] {
        assert_eq!(log(&site, &["--action", action]).len(), 1, "{action}");
    }
}

#[test]
fn pruning_leaves_a_checkpoint_and_the_rest_still_verifies() {
    let site = logged_site();
    site.run(&["retention", "set", "host", "audit-log", "0"])
        .ok();
    let applied = site.run(&["--json", "retention", "run"]).ok().json();
    let audit = applied["applied"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["rule"] == "audit-log")
        .unwrap()
        .clone();
    // Everything but the newest entry went.
    assert_eq!(audit["items_removed"], 6, "{applied:#}");
    let (code, report) = verify(&site);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["pruned_through"], 6);
    let checkpoint = &log(&site, &["--action", "audit.prune"])[0];
    assert_eq!(checkpoint["detail"]["pruned_entries"], 6);

    // The oldest remaining entry deleted: no checkpoint accounts for it.
    raw_edit(&site, "DELETE FROM wasmdesk__audit WHERE seq = 7");
    assert_broken_at(&site, 7, "no prune checkpoint");
}

#[test]
fn the_export_for_an_auditor_is_checksummed_and_its_hashes_recompute() {
    let site = logged_site();
    let out = site.root.join("audit.zip");
    let report = site
        .run(&["--json", "audit", "export", "--out", out.to_str().unwrap()])
        .ok()
        .json();
    assert_eq!(report["entries"], 6);
    assert_eq!(report["verified"], true);
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(report["sha256"], format!("{:x}", Sha256::digest(&bytes)));

    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut read = |name: &str| {
        let mut text = String::new();
        zip.by_name(name)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    };
    let jsonl = read("audit.jsonl");
    let sums = read("SHA256SUMS");
    assert!(read("README.txt").contains("SHA-256 over the compact JSON array"));
    assert!(sums.contains(&format!(
        "{:x}  audit.jsonl",
        Sha256::digest(jsonl.as_bytes())
    )));

    // The recipe in README.txt recomputes every hash and link.
    let mut prev = "0".repeat(64);
    for line in jsonl.lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        let canonical = json!([
            e["seq"],
            e["at"],
            e["actor"],
            e["action"],
            e["plugin"],
            e["operation"],
            e["outcome"],
            e["duration_us"],
            e["rows_read"],
            e["rows_written"],
            e["tables"],
            e["subjects"],
            e["detail"],
            e["prev"]
        ]);
        assert_eq!(e["prev"], prev.as_str());
        let hash = format!("{:x}", Sha256::digest(canonical.to_string().as_bytes()));
        assert_eq!(e["hash"], hash.as_str(), "{line}");
        prev = hash;
    }
    // The export is itself recorded.
    assert_eq!(log(&site, &["--action", "audit.export"]).len(), 1);
}

#[test]
fn a_result_the_log_cannot_record_is_never_printed_and_no_false_tampering_follows() {
    let site = TestSite::with(&["tickets"]);
    create_ticket(&site, "ada@example.com");
    // The audit log stops taking entries, as on a full disk.
    site.sqlite()
        .execute_batch(
            "CREATE TRIGGER test_full BEFORE INSERT ON wasmdesk__audit \
             BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;",
        )
        .unwrap();
    let run = site.run(&["call", "tickets.get", r#"{"id": 1}"#]);
    assert_ne!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "", "nothing of the ticket is printed");
    assert_eq!(
        run.stderr.lines().count(),
        1,
        "one error, once: {}",
        run.stderr
    );
    assert!(run.stderr.contains("withheld"), "{}", run.stderr);

    let run = site.run(&["--json", "call", "tickets.get", r#"{"id": 1}"#]);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.error()["message"]
            .as_str()
            .unwrap()
            .contains("withheld")
    );

    let run = site.run(&[
        "--json",
        "call",
        "tickets.create",
        r#"{"email": "b@example.com", "subject": "S", "body": "B"}"#,
    ]);
    assert_ne!(run.code, 0);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr.lines().count(),
        1,
        "printed once: {}",
        run.stderr
    );
    assert_eq!(
        site.count("tickets__tickets"),
        1,
        "the create was rolled back"
    );

    site.sqlite()
        .execute_batch("DROP TRIGGER test_full")
        .unwrap();
    let (code, report) = verify(&site);
    assert_eq!(code, 0, "no tampering happened: {report}");
}
