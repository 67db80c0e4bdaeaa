//! WordPress-style hooks: actions fire after the command committed,
//! filters run before it (read-only, in priority order), and failures are
//! reported without losing the ticket.

use serde_json::{Value, json};

use crate::support::TestSite;

fn events(site: &TestSite) -> Vec<Value> {
    site.call("watcher.events", json!({}))
        .ok()
        .json()
        .as_array()
        .unwrap()
        .clone()
}

/// Let `plugin` read every table of the tickets plugin: it then receives
/// the full payloads of the tickets plugin's actions.
pub fn grant_all_ticket_tables(site: &TestSite, plugin: &str) {
    let tables: Vec<String> = {
        let conn = site.sqlite();
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE 'tickets\\_\\_%' ESCAPE '\\'")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    assert!(!tables.is_empty());
    for table in tables {
        site.run(&["plugin", "grant", plugin, &format!("read:{table}")])
            .ok();
    }
}

#[test]
fn actions_fire_after_the_ticket_committed_with_their_payloads() {
    let site = TestSite::with(&["tickets", "watcher"]);
    grant_all_ticket_tables(&site, "watcher");
    let id = site
        .call(
            "tickets.create",
            json!({"email": "a@example.com", "subject": "S", "body": "B"}),
        )
        .ok()
        .json()["id"]
        .clone();
    site.call("tickets.reply", json!({"id": id, "body": "R"}))
        .ok();
    site.call("tickets.delete", json!({"id": id})).ok();
    let seen = events(&site);
    let names: Vec<&str> = seen.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "ticket.created",
            "ticket.status-changed",
            "ticket.replied",
            "ticket.deleted"
        ]
    );
    assert_eq!(seen[0]["payload"]["id"], id);
    assert_eq!(seen[0]["payload"]["customer_id"], 1);
    assert_eq!(
        seen[1]["payload"],
        json!({"ticket_id": id, "customer_id": 1, "from": "open", "to": "pending",
               "email": "a@example.com", "subject": "S"})
    );
    assert_eq!(seen[2]["payload"]["from"], "agent");
    assert_eq!(seen[2]["payload"]["customer_id"], 1);
    assert_eq!(
        seen[3]["payload"],
        json!({"ticket_id": id, "customer_id": 1})
    );
}

#[test]
fn a_failing_action_handler_is_reported_and_logged_but_the_ticket_stays() {
    let site = TestSite::with(&["tickets", "watcher"]);
    site.call(
        "tickets.create",
        json!({"email": "a@example.com", "subject": "S", "body": "B"}),
    )
    .ok();
    assert_eq!(site.count("watcher__events"), 1);

    site.call("watcher.mode", json!({"mode": "fail"})).ok();
    let run = site.run(&[
        "call",
        "tickets.set-status",
        &json!({"id": 1, "status": "closed"}).to_string(),
    ]);
    assert_eq!(run.code, 0, "the command succeeded: {run:?}");
    assert!(
        run.stderr
            .contains("wasmdesk: warning: action ticket.status-changed: plugin \"watcher\""),
        "{run:?}"
    );
    assert!(run.stderr.contains("told to fail"), "{run:?}");
    let status: String = site
        .sqlite()
        .query_row(
            "SELECT status FROM tickets__tickets WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(status, "closed");
    let log = std::fs::read_to_string(site.root.join("logs/watcher.log")).unwrap();
    assert!(
        log.contains("[action ticket.status-changed]") && log.contains("told to fail"),
        "{log}"
    );
}

#[test]
fn redact_masks_card_numbers_and_ibans_before_anything_is_stored() {
    let site = TestSite::with(&["tickets", "redact"]);
    let t = site
        .call("tickets.create", json!({"email": "a@example.com", "subject": "Refund",
            "body": "My card 4111 1111 1111 1111 was charged twice, refund to DE89 3704 0044 0532 0130 00"}))
        .ok()
        .json();
    let body = t["messages"][0]["body"].as_str().unwrap();
    assert_eq!(
        body,
        "My card **** **** **** 1111 was charged twice, refund to DE** **** **** **** **30 00"
    );
    let id = t["id"].clone();
    site.call(
        "tickets.reply",
        json!({"id": id, "body": "Card 5500-0000-0000-0004 noted"}),
    )
    .ok();
    site.call(
        "tickets.note",
        json!({"id": id, "body": "customer said 378282246310005"}),
    )
    .ok();
    // The raw database never saw the numbers, not even in the search index.
    let bytes = std::fs::read(site.db_path()).unwrap();
    let wal = std::fs::read(site.root.join("site.db-wal")).unwrap_or_default();
    for secret in [
        "4111 1111 1111 1111",
        "3704 0044 0532",
        "5500-0000-0000",
        "378282246310005",
    ] {
        for file in [&bytes, &wal] {
            assert!(
                !file.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} reached the database"
            );
        }
    }
}

#[test]
fn filters_run_in_priority_order_and_the_result_filter_shapes_the_list() {
    let site = TestSite::with(&["tickets", "redact", "watcher"]);
    let t = site
        .call(
            "tickets.create",
            json!({"email": "a@example.com", "subject": "S", "body": "card 4111111111111111"}),
        )
        .ok()
        .json();
    // redact (priority 10) ran before watcher (priority 20), which saw the masked body.
    assert_eq!(
        t["messages"][0]["body"],
        "card ************1111 [seen by watcher]"
    );
    let list = site.call("tickets.list", json!({})).ok().json();
    assert_eq!(list["watched"], true);
}

#[test]
fn a_failing_filter_fails_the_command_and_nothing_is_written() {
    let site = TestSite::with(&["tickets", "watcher"]);
    site.call("watcher.mode", json!({"mode": "fail"})).ok();
    let (code, error) = site.call_err(
        "tickets.create",
        json!({"email": "a@example.com", "subject": "S", "body": "B"}),
    );
    assert_eq!((code, error["code"].as_str().unwrap()), (6, "plugin_fault"));
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("plugin \"watcher\" filter message.body"),
        "{message}"
    );
    assert_eq!(site.count("tickets__tickets"), 0);
    assert_eq!(
        site.count("watcher__events"),
        0,
        "no action fired for a command that never ran"
    );
}

#[test]
fn a_filter_may_not_write() {
    let site = TestSite::with(&["tickets", "watcher"]);
    site.call("watcher.mode", json!({"mode": "write"})).ok();
    let (_, error) = site.call_err(
        "tickets.create",
        json!({"email": "a@example.com", "subject": "S", "body": "B"}),
    );
    assert_eq!(error["code"], "capability_denied");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("may not write while applying a filter"),
        "{error}"
    );
    assert_eq!(site.count("tickets__tickets"), 0);
    let sneaky: i64 = site
        .sqlite()
        .query_row(
            "SELECT count(*) FROM watcher__events WHERE event = 'sneaky'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sneaky, 0);
}

#[test]
fn a_filter_plugin_whose_file_changed_fails_closed() {
    let site = TestSite::with(&["tickets", "redact"]);
    let mut bytes = std::fs::read(crate::support::artifact("redact")).unwrap();
    bytes.extend_from_slice(&[0, 6, 5, b'x', b'-', b'p', b'a', b'd']);
    std::fs::write(site.plugin_path("redact"), bytes).unwrap();
    let (_, error) = site.call_err(
        "tickets.create",
        json!({"email": "a@example.com", "subject": "S", "body": "4111111111111111"}),
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("filter message.body: cannot run"),
        "{error}"
    );
    assert_eq!(
        site.count("tickets__tickets"),
        0,
        "an unredacted body was not stored"
    );
}

#[test]
fn the_bridge_reports_action_failures_as_warnings() {
    let site = TestSite::with(&["tickets", "watcher"]);
    site.call(
        "tickets.create",
        json!({"email": "a@example.com", "subject": "S", "body": "B"}),
    )
    .ok();
    site.call("watcher.mode", json!({"mode": "fail"})).ok();
    let response = site.bridge_one(json!({"id": 1, "op": "tickets.delete", "args": {"id": 1}}));
    assert_eq!(response["ok"], true, "{response}");
    assert!(
        response["warnings"][0]
            .as_str()
            .unwrap()
            .contains("ticket.deleted"),
        "{response}"
    );
}
