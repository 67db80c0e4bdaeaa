//! The tickets plugin through `wasmdesk call`: threads, status flow, tags,
//! assignment, attachments, search, paging, trash.

use serde_json::{Value, json};

use crate::support::TestSite;

fn create(site: &TestSite, email: &str, subject: &str, extra: Value) -> Value {
    let mut args = json!({"email": email, "subject": subject, "body": format!("About {subject}")});
    if let (Some(args), Some(extra)) = (args.as_object_mut(), extra.as_object()) {
        args.extend(extra.clone());
    }
    site.call("tickets.create", args).ok().json()
}

#[test]
fn a_ticket_goes_through_its_thread_and_status_flow() {
    let site = TestSite::with(&["tickets"]);
    let t = create(
        &site,
        "Ada@Example.com",
        "Invoice",
        json!({"name": "Ada", "priority": "high", "tags": ["Billing"]}),
    );
    let id = t["id"].as_i64().unwrap();
    assert_eq!(
        (
            t["email"].as_str(),
            t["status"].as_str(),
            t["priority"].as_str()
        ),
        (Some("ada@example.com"), Some("open"), Some("high"))
    );
    assert_eq!(t["tags"], json!(["billing"]));

    let t = site
        .call("tickets.reply", json!({"id": id, "body": "We are on it"}))
        .ok()
        .json();
    assert_eq!(
        t["status"], "pending",
        "an agent's reply waits for the customer"
    );
    let t = site
        .call(
            "tickets.reply",
            json!({"id": id, "body": "Thanks", "from": "customer"}),
        )
        .ok()
        .json();
    assert_eq!(t["status"], "open", "the customer's reply reopens it");
    let t = site
        .call(
            "tickets.note",
            json!({"id": id, "body": "Check the ledger"}),
        )
        .ok()
        .json();
    let authors: Vec<(&str, bool)> = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["author"].as_str().unwrap(),
                m["internal"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        authors,
        [
            ("customer", false),
            ("agent", false),
            ("customer", false),
            ("agent", true)
        ]
    );

    let t = site
        .call("tickets.assign", json!({"id": id, "assignee": "grace"}))
        .ok()
        .json();
    assert_eq!(t["assignee"], "grace");
    let t = site
        .call(
            "tickets.tag",
            json!({"id": id, "add": ["urgent", "vip"], "remove": ["billing"]}),
        )
        .ok()
        .json();
    assert_eq!(t["tags"], json!(["urgent", "vip"]));
    let t = site
        .call(
            "tickets.set-status",
            json!({"id": id, "status": "resolved"}),
        )
        .ok()
        .json();
    assert_eq!(t["status"], "resolved");
    let t = site
        .call("tickets.assign", json!({"id": id, "assignee": null}))
        .ok()
        .json();
    assert_eq!(t["assignee"], Value::Null);

    let messages: i64 = site
        .sqlite()
        .query_row(
            "SELECT count(*) FROM tickets__messages WHERE ticket_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(messages, 4);
}

#[test]
fn list_filters_and_pages_with_a_stable_cursor() {
    let site = TestSite::with(&["tickets"]);
    for i in 0..7 {
        let email = if i % 2 == 0 {
            "even@example.com"
        } else {
            "odd@example.com"
        };
        let tags = if i < 3 { json!(["early"]) } else { json!([]) };
        create(
            &site,
            email,
            &format!("Printer number {i} jammed"),
            json!({"tags": tags}),
        );
    }
    site.call("tickets.set-status", json!({"id": 2, "status": "closed"}))
        .ok();
    site.call("tickets.assign", json!({"id": 3, "assignee": "grace"}))
        .ok();
    site.call(
        "tickets.reply",
        json!({"id": 5, "body": "the toner cartridge is empty", "from": "customer"}),
    )
    .ok();

    let ids = |args: Value| -> Vec<i64> {
        let page = site.call("tickets.list", args).ok().json();
        page["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(json!({})), [7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(ids(json!({"email": "EVEN@example.com"})), [7, 5, 3, 1]);
    assert_eq!(ids(json!({"status": "closed"})), [2]);
    assert_eq!(ids(json!({"tag": "early"})), [3, 2, 1]);
    assert_eq!(ids(json!({"assignee": "grace"})), [3]);
    assert_eq!(ids(json!({"text": "toner"})), [5]);
    assert_eq!(ids(json!({"text": "number 3"})), [4]);
    assert_eq!(
        ids(json!({"text": "\" OR 1=1 --"})),
        Vec::<i64>::new(),
        "user text is never search syntax"
    );
    assert_eq!(
        ids(json!({"email": "odd@example.com", "text": "printer"})),
        [6, 4, 2]
    );

    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let page = site
            .call("tickets.list", json!({"limit": 3, "cursor": cursor}))
            .ok()
            .json();
        seen.extend(
            page["tickets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_i64().unwrap()),
        );
        cursor = page["next_cursor"].clone();
        if cursor.is_null() {
            break;
        }
        // A ticket created between pages does not shift the next page.
        create(&site, "late@example.com", "Late", json!({}));
    }
    assert_eq!(seen, [7, 6, 5, 4, 3, 2, 1]);
}

#[test]
fn deleted_tickets_wait_in_the_trash_until_restored_or_purged() {
    let site = TestSite::with(&["tickets"]);
    let id = create(&site, "a@example.com", "Old", json!({}))["id"]
        .as_i64()
        .unwrap();
    create(&site, "b@example.com", "Keep", json!({}));
    let deleted = site.call("tickets.delete", json!({"id": id})).ok().json();
    assert!(deleted["purge_after"].as_i64().unwrap() > deleted["deleted_at"].as_i64().unwrap());
    let page = site.call("tickets.list", json!({})).ok().json();
    assert_eq!(page["tickets"].as_array().unwrap().len(), 1);
    let trash = site
        .call("tickets.list", json!({"trash": true}))
        .ok()
        .json();
    assert_eq!(trash["tickets"][0]["id"], id);

    let (code, error) = site.call_err("tickets.reply", json!({"id": id, "body": "hello?"}));
    assert_eq!((code, error["code"].as_str().unwrap()), (8, "conflict"));
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("restore it first")
    );
    site.call("tickets.restore", json!({"id": id})).ok();
    let (_, error) = site.call_err("tickets.restore", json!({"id": id}));
    assert_eq!(error["code"], "conflict");

    site.call("tickets.delete", json!({"id": id})).ok();
    let purged = site
        .call("tickets.purge-trash", json!({"older_than_days": 30}))
        .ok()
        .json();
    assert_eq!(purged["purged"], 0, "deleted just now: kept for 30 days");
    let purged = site
        .call("tickets.purge-trash", json!({"older_than_days": 0}))
        .ok()
        .json();
    assert_eq!(purged["purged"], 1);
    assert_eq!(site.count("tickets__tickets"), 1);
    assert_eq!(site.count("tickets__messages"), 1);
    let search_rows: i64 = site
        .sqlite()
        .query_row("SELECT count(*) FROM tickets__search", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        search_rows, 1,
        "the purged ticket's search document left the index"
    );
    let (_, error) = site.call_err("tickets.get", json!({"id": id}));
    assert_eq!(error["code"], "not_found");
}

#[test]
fn attachments_are_stored_up_to_the_configured_limit() {
    let site = TestSite::with(&["tickets"]);
    let content = "SGVsbG8sIHdvcmxkIQ=="; // "Hello, world!"
    let t = create(
        &site,
        "a@example.com",
        "Log",
        json!({"attachments": [{"name": "log.txt", "type": "text/plain", "content_base64": content}]}),
    );
    let file = &t["messages"][0]["attachments"][0];
    assert_eq!(
        (file["name"].as_str(), file["size"].as_i64()),
        (Some("log.txt"), Some(13))
    );
    let fetched = site
        .call("tickets.attachment", json!({"id": file["id"]}))
        .ok()
        .json();
    assert_eq!(fetched["content_base64"], content);

    site.call("tickets.settings", json!({"max_attachment_bytes": 8}))
        .ok();
    let before = site.count("tickets__tickets");
    let (code, error) = site.call_err(
        "tickets.create",
        json!({"email": "a@example.com", "subject": "Big", "body": "x", "attachments": [{"name": "big.bin", "content_base64": content}]}),
    );
    assert_eq!((code, error["code"].as_str().unwrap()), (2, "bad_request"));
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("the limit is 8")
    );
    assert_eq!(
        site.count("tickets__tickets"),
        before,
        "nothing of the refused ticket was written"
    );
    assert_eq!(site.count("tickets__attachments"), 1);
}

#[test]
fn bad_arguments_are_refused_with_a_reason_and_write_nothing() {
    let site = TestSite::with(&["tickets"]);
    create(&site, "a@example.com", "One", json!({}));
    let cases = [
        (
            "tickets.create",
            json!({"email": "not-an-email", "subject": "s", "body": "b"}),
            "not an e-mail address",
        ),
        (
            "tickets.create",
            json!({"email": "a@example.com", "body": "b"}),
            "subject is required",
        ),
        (
            "tickets.create",
            json!({"email": "a@example.com", "subject": "s", "body": "b", "priority": "meh"}),
            "priority must be one of",
        ),
        (
            "tickets.create",
            json!({"email": "a@example.com", "subject": "s", "body": "b", "tags": ["no spaces"]}),
            "tag",
        ),
        (
            "tickets.set-status",
            json!({"id": 1, "status": "done"}),
            "status must be one of",
        ),
        ("tickets.list", json!({"limit": 0}), "limit must be"),
        ("tickets.list", json!({"cursor": "x"}), "cursor"),
        ("tickets.tag", json!({"id": 1}), "add or remove"),
        ("tickets.get", json!({}), "id is required"),
    ];
    for (op, args, needle) in cases {
        let (code, error) = site.call_err(op, args.clone());
        assert_eq!(
            (code, error["code"].as_str().unwrap()),
            (2, "bad_request"),
            "{op} {args}"
        );
        assert!(
            error["message"].as_str().unwrap().contains(needle),
            "{op}: {error}"
        );
    }
    assert_eq!(site.count("tickets__tickets"), 1);
    let (code, _) = site.call_err("tickets.reply", json!({"id": 99, "body": "x"}));
    assert_eq!(code, 3);
}

#[test]
fn a_ticket_id_is_never_given_twice_even_after_an_erasure() {
    let site = TestSite::with(&["tickets"]);
    let create = |email: &str| {
        site.call(
            "tickets.create",
            json!({"email": email, "subject": "S", "body": "B"}),
        )
        .ok()
        .json()["id"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(create("first@example.com"), 1);
    assert_eq!(create("gone@example.com"), 2);
    site.run(&["privacy", "erase", "--email", "gone@example.com", "--yes"])
        .ok();
    // Ticket 2 is gone; its id is not given to the next customer.
    assert_eq!(create("next@example.com"), 3);
    let (code, error) = site.call_err("tickets.get", json!({"id": 2}));
    assert_eq!(error["code"], "not_found", "{code}: {error}");
}

#[test]
fn every_field_has_a_limit_named_in_its_error_and_long_searches_never_reach_the_index() {
    let site = TestSite::with(&["tickets"]);
    let too_long = |field: &str, value: Value, needle: &str| {
        let mut args = json!({"email": "a@example.com", "subject": "S", "body": "B"});
        args[field] = value;
        let (code, error) = site.call_err("tickets.create", args);
        assert_eq!(error["code"], "bad_request", "{field}: {error}");
        assert_eq!(code, 2);
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(needle), "{field}: {message}");
        assert!(message.len() < 400, "the message does not echo the value");
    };
    too_long(
        "subject",
        json!("s".repeat(501)),
        "subject is 501 characters long; at most 500",
    );
    too_long(
        "name",
        json!("n".repeat(201)),
        "name is 201 characters long; at most 200",
    );
    // Too big for a command line: through the bridge.
    let response = site.bridge_one(json!({"id": 1, "op": "tickets.create", "args":
        {"email": "a@example.com", "subject": "S", "body": "b".repeat(1_000_001)}}));
    assert_eq!(
        response["error"]["code"], "bad_request",
        "{}",
        response["error"]
    );
    assert!(
        response["error"]["message"]
            .as_str()
            .unwrap()
            .contains("body is 1000001 characters long; at most 1000000")
    );
    too_long(
        "email",
        json!(format!("{}@example.com", "a".repeat(65))),
        "at most 64 bytes",
    );
    too_long(
        "email",
        json!("a b@example.com"),
        "is not an e-mail address",
    );
    too_long("email", json!("a@@example.com"), "is not an e-mail address");
    let tags: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
    too_long("tags", json!(tags), "51 tags; at most 50");
    assert_eq!(site.count("tickets__tickets"), 0);

    let words = vec!["word"; 33].join(" ");
    let (_, error) = site.call_err("tickets.list", json!({"text": words}));
    assert_eq!(error["code"], "bad_request");
    assert!(
        error["message"].as_str().unwrap().contains("at most 32"),
        "{error}"
    );
    let (_, error) = site.call_err("tickets.list", json!({"text": "x".repeat(64_000)}));
    assert!(
        error["message"].as_str().unwrap().contains("at most 500"),
        "{error}"
    );
}
