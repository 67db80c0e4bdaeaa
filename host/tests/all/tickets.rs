//! The tickets plugin through `wasmdesk call`: threads, status flow, tags,
//! assignment, attachments, search, paging, trash; and its data contract
//! (the tables and action payloads docs/tickets.md promises other plugins).

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

/// docs/tickets.md, as a plugin author reads it.
const TICKETS_DOC: &str = include_str!("../../../docs/tickets.md");

/// Data contracts already published, with their schema fingerprints: a
/// row of docs/tickets.md that must never change. Add the newest row of
/// the docs' table here when a tickets plugin with it is released.
const PUBLISHED_CONTRACTS: &[(&str, &str)] = &[("1.0", "5faabdb46cbdc002")];

/// The text under `## heading` in docs/tickets.md, up to the next `## `.
fn doc_section(heading: &str) -> &'static str {
    let start = TICKETS_DOC
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("docs/tickets.md has no section {heading:?}"));
    let rest = &TICKETS_DOC[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    &rest[..end]
}

/// The `### ` subsections of `section`: (title, text).
fn subsections(section: &str) -> Vec<(String, String)> {
    section
        .split("\n### ")
        .skip(1)
        .map(|part| {
            let (title, body) = part.split_once('\n').unwrap_or((part, ""));
            (title.trim().trim_matches('`').to_string(), body.to_string())
        })
        .collect()
}

/// The rows of the first Markdown table in `text` after its header, each
/// a list of trimmed cells (backticks around a whole cell removed).
fn table_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|cell| {
                    let cell = cell.trim();
                    match cell.strip_prefix('`').and_then(|c| c.strip_suffix('`')) {
                        Some(inner) if !inner.contains('`') => inner.to_string(),
                        _ => cell.to_string(),
                    }
                })
                .collect()
        })
        .collect()
}

/// The `CHECK (...)` constraints in a `CREATE TABLE` statement, with their
/// white space normalised.
fn checks(sql: &str) -> Vec<String> {
    let upper = sql.to_ascii_uppercase();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = upper[from..].find("CHECK") {
        let open = from + at + sql[from + at..].find('(').expect("CHECK (");
        let mut depth = 0;
        let mut end = open;
        for (i, c) in sql[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let clause: Vec<&str> = sql[open + 1..end].split_whitespace().collect();
        found.push(clause.join(" "));
        from = end;
    }
    found.sort();
    found
}

/// Each column of `table` as docs/tickets.md writes it: (name, `TYPE` or
/// `TYPE NOT NULL`).
fn columns(conn: &rusqlite::Connection, table: &str) -> Vec<(String, String)> {
    let mut stmt = conn
        .prepare("SELECT name, type, \"notnull\" FROM pragma_table_info(?1)")
        .unwrap();
    let mut columns: Vec<(String, String)> = stmt
        .query_map([table], |r| {
            let kind: String = r.get(1)?;
            let not_null: bool = r.get(2)?;
            Ok((
                r.get(0)?,
                if not_null {
                    format!("{kind} NOT NULL")
                } else {
                    kind
                },
            ))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    columns.sort();
    columns
}

/// The first 16 hex digits of a SHA-256 over what a reader of `tables`
/// relies on: each column's name, type, NOT NULL, default and primary-key
/// position, the foreign keys, and the UNIQUE and CHECK constraints. Columns are taken
/// by name, not position (an upgraded site has them in another order).
fn schema_fingerprint(conn: &rusqlite::Connection, tables: &[String]) -> String {
    use sha2::Digest;
    let mut tables = tables.to_vec();
    tables.sort();
    let mut text = String::new();
    for table in &tables {
        text.push_str(&format!("table {table}\n"));
        let mut lines: Vec<String> = conn
            .prepare("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1)")
            .unwrap()
            .query_map([table], |r| {
                Ok(format!(
                    "column {} {} notnull={} default={} pk={}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<String>>(3)?.unwrap_or("NULL".into()),
                    r.get::<_, i64>(4)?
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let keys: Vec<String> = conn
            .prepare("SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?1)")
            .unwrap()
            .query_map([table], |r| {
                Ok(format!(
                    "foreign key {} -> {}.{}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?.unwrap_or("rowid".into())
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        lines.extend(keys);
        // UNIQUE constraints (not the indexes kept for speed: no reader
        // relies on those).
        let unique: Vec<String> = conn
            .prepare(
                "SELECT group_concat(c.name, ', ') FROM pragma_index_list(?1) i, \
                 pragma_index_info(i.name) c WHERE i.origin = 'u' GROUP BY i.name",
            )
            .unwrap()
            .query_map([table], |r| {
                Ok(format!("unique ({})", r.get::<_, String>(0)?))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        lines.extend(unique);
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap();
        lines.extend(checks(&sql).into_iter().map(|c| format!("check {c}")));
        lines.sort();
        for line in lines {
            text.push_str(&line);
            text.push('\n');
        }
    }
    let digest = sha2::Sha256::digest(text.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_data_contract_in_the_docs_matches_the_schema() {
    let site = TestSite::with(&["tickets"]);
    let conn = site.sqlite();
    let section = doc_section("Tables other plugins may read");

    // Every tickets table is in the contract or listed as internal.
    let mut documented: Vec<(String, Vec<Vec<String>>)> = Vec::new();
    let mut internal: Vec<String> = Vec::new();
    for (title, body) in subsections(section) {
        if title == "Internal tables" {
            internal = body
                .split('`')
                .filter(|word| word.starts_with("tickets__"))
                .map(String::from)
                .collect();
        } else {
            documented.push((title, table_rows(&body)));
        }
    }
    let contract: Vec<String> = documented.iter().map(|(t, _)| t.clone()).collect();
    let mut in_docs: Vec<String> = contract.iter().chain(&internal).cloned().collect();
    in_docs.sort();
    let mut in_schema: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' \
             AND name LIKE 'tickets\\_\\_%' ESCAPE '\\' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    in_schema.sort();
    assert_eq!(
        in_docs, in_schema,
        "every tickets__ table must be in docs/tickets.md, under \"Tables other plugins may \
         read\": as a `### table` of the data contract (a new one is a new minor version), or \
         named under \"Internal tables\""
    );

    // Every column, with its type, and exactly the personal data of the
    // plugin's own map.
    let manifest = site
        .run(&["--json", "plugin", "inspect", "tickets"])
        .ok()
        .json()["manifest"]
        .clone();
    let personal = manifest["processing"]["personal_data"].as_array().unwrap();
    for (table, rows) in &documented {
        let mut in_docs: Vec<(String, String)> = rows
            .iter()
            .map(|row| (row[0].clone(), row[1].clone()))
            .collect();
        in_docs.sort();
        assert_eq!(
            in_docs,
            columns(&conn, table),
            "docs/tickets.md documents {table} with other columns or types than the schema \
             has: document every column (and bump the data contract's version)"
        );
        for row in rows {
            let declared = personal
                .iter()
                .any(|f| f["table"] == table.as_str() && f["column"] == row[0].as_str());
            assert_eq!(
                row[3].starts_with("yes"),
                declared,
                "{table}.{}: docs/tickets.md says personal data {:?}, the plugin's \
                 personal-data map says {declared}",
                row[0],
                row[3]
            );
        }
    }

    // The schema's fingerprint is the one recorded for the version the
    // plugin declares.
    let fingerprint = schema_fingerprint(&conn, &contract);
    let description = manifest["description"].as_str().unwrap();
    let declared = description
        .split("data contract ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("the tickets manifest names no data contract: {description}"));
    let history = table_rows(section);
    let rows: Vec<(&str, &str)> = history
        .iter()
        .map(|row| (row[0].as_str(), row[2].as_str()))
        .collect();
    for (version, published) in PUBLISHED_CONTRACTS {
        assert!(
            rows.contains(&(version, published)),
            "data contract {version} was published with fingerprint {published}: keep its row \
             in docs/tickets.md as it is; a changed schema is a new version"
        );
    }
    let mut versions: Vec<&str> = rows.iter().map(|(v, _)| *v).collect();
    versions.dedup();
    assert_eq!(versions.len(), rows.len(), "a version twice: {rows:?}");
    let (current, recorded) = *rows.last().expect("docs/tickets.md lists a data contract");
    let bump = format!(
        "bump DATA_CONTRACT_VERSION in plugins/tickets/src/schema.rs (the minor for an added \
         table or column, the major for anything renamed, removed or changed), add a row for \
         it with fingerprint `{fingerprint}` to the contract table in docs/tickets.md (\"Tables \
         other plugins may read\"), and document what changed there"
    );
    assert_eq!(
        declared, current,
        "the tickets plugin declares data contract {declared}, but the last row in \
         docs/tickets.md is {current}: {bump}"
    );
    assert_eq!(
        fingerprint, recorded,
        "the tickets tables changed: their fingerprint is {fingerprint}, but docs/tickets.md \
         records {recorded} for data contract {current}: {bump}"
    );
}

#[test]
fn every_ticket_action_carries_the_fields_the_docs_list() {
    let site = TestSite::with(&["tickets", "watcher"]);
    let section = doc_section("Actions and filters");
    // (field, delivered without grants)
    let documented = |event: &str| -> Vec<(String, bool)> {
        let (_, body) = subsections(section)
            .into_iter()
            .find(|(title, _)| title == event)
            .unwrap_or_else(|| panic!("docs/tickets.md does not document {event}"));
        table_rows(&body)
            .into_iter()
            .map(|row| (row[0].clone(), row[3] == "yes"))
            .collect()
    };
    let run_through_every_action = |email: &str| {
        let id = site
            .call(
                "tickets.create",
                json!({"email": email, "subject": "Invoice", "body": "Where is it?"}),
            )
            .ok()
            .json()["id"]
            .clone();
        site.call("tickets.reply", json!({"id": id, "body": "On it"}))
            .ok();
        site.call(
            "tickets.set-status",
            json!({"id": id, "status": "resolved"}),
        )
        .ok();
        site.call("tickets.delete", json!({"id": id})).ok();
    };
    let events = || -> Vec<Value> {
        site.call("watcher.events", json!({}))
            .ok()
            .json()
            .as_array()
            .unwrap()
            .clone()
    };

    run_through_every_action("ada@example.com");
    let withheld = events();
    crate::hooks::grant_all_ticket_tables(&site, "watcher");
    run_through_every_action("grace@example.com");
    let whole: Vec<Value> = events().split_off(withheld.len());
    let names = |seen: &[Value]| -> Vec<String> {
        seen.iter()
            .map(|e| e["event"].as_str().unwrap().to_string())
            .collect()
    };
    let expected = [
        "ticket.created",
        "ticket.status-changed",
        "ticket.replied",
        "ticket.status-changed",
        "ticket.deleted",
    ];
    assert_eq!(names(&withheld), expected);
    assert_eq!(names(&whole), expected);

    for (without, with) in withheld.iter().zip(&whole) {
        let event = with["event"].as_str().unwrap();
        let fields = documented(event);
        let mut keys: Vec<&String> = with["payload"].as_object().unwrap().keys().collect();
        keys.sort();
        let mut listed: Vec<&String> = fields.iter().map(|(f, _)| f).collect();
        listed.sort();
        assert_eq!(
            keys, listed,
            "{event}: the payload has other fields than docs/tickets.md lists"
        );
        let payload = without["payload"].as_object().unwrap();
        let held: Vec<&str> = payload["withheld"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        for (field, delivered) in &fields {
            let arrived = payload.get(field.as_str());
            if *delivered {
                assert!(
                    arrived.is_some_and(|v| v.is_number() || v.is_null()),
                    "{event}.{field} is documented as delivered without grants: {payload:?}"
                );
            } else {
                assert!(
                    held.contains(&field.as_str()) || arrived.is_some_and(Value::is_null),
                    "{event}.{field} is documented as withheld without grants: {payload:?}"
                );
            }
        }
    }

    // The status change tells whom to tell, whatever the handler's grants.
    assert_eq!(
        withheld[1]["payload"],
        json!({"ticket_id": 1, "customer_id": 1, "withheld": ["email", "from", "subject", "to"]})
    );
    assert_eq!(
        whole[3]["payload"],
        json!({"ticket_id": 2, "customer_id": 2, "from": "pending", "to": "resolved",
               "email": "grace@example.com", "subject": "Invoice"})
    );
}
