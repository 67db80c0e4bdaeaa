//! The JSON-lines bridge for PHP/CMS callers: protocol, error shapes,
//! concurrent writers, and the PHP client run by the real php-cli.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::support::TestSite;

#[test]
fn each_request_line_gets_one_response_line_in_order_with_its_id_and_version() {
    let site = TestSite::with(&["tickets"]);
    let responses = site.bridge(vec![
            json!({"id": "a", "op": "tickets.create", "args": {"email": "ada@example.com", "subject": "Hi", "body": "Help"}}).to_string(),
            json!({"id": 2, "op": "tickets.get", "args": {"id": 1}}).to_string(),
            json!({"id": [3], "op": "site.info"}).to_string(),
            json!({"id": 4, "op": "plugin.list"}).to_string(),
        ],
    );
    assert_eq!(responses.len(), 4);
    for r in &responses {
        assert_eq!(r["v"], 1, "{r}");
        assert_eq!(r["ok"], true, "{r}");
    }
    assert_eq!(responses[0]["id"], "a");
    assert_eq!(responses[0]["result"]["email"], "ada@example.com");
    assert_eq!(responses[1]["result"]["messages"][0]["body"], "Help");
    assert_eq!(responses[2]["id"], json!([3]));
    assert_eq!(responses[2]["result"]["protocol"], 1);
    assert_eq!(responses[2]["result"]["plugins"], json!(["tickets"]));
    let commands = responses[3]["result"][0]["commands"].as_array().unwrap();
    assert_eq!(
        commands[..3],
        [json!("create"), json!("get"), json!("list")]
    );
}

#[test]
fn malformed_lines_get_bad_request_and_the_bridge_goes_on() {
    let site = TestSite::with(&["tickets"]);
    let responses = site.bridge(vec![
        "this is not json".to_string(),
        r#"{"id": 7, "args": {}}"#.to_string(),
        r#"{"id": 8, "op": "tickets.get", "args": [1]}"#.to_string(),
        json!({"id": 9, "op": "tickets.list"}).to_string(),
    ]);
    assert_eq!(responses.len(), 4);
    assert_eq!(responses[0]["id"], Value::Null);
    for r in &responses[..3] {
        assert_eq!(r["ok"], false);
        assert_eq!(r["error"]["code"], "bad_request", "{r}");
    }
    assert_eq!(responses[1]["id"], 7);
    assert_eq!(responses[3]["ok"], true);
}

#[test]
fn bad_bytes_blank_lines_arrays_huge_ids_and_overlong_lines_are_answered_and_the_bridge_goes_on() {
    let site = TestSite::with(&["tickets"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasmdesk"))
        .arg("--site")
        .arg(&site.root)
        .arg("bridge")
        .env("WASMDESK_BRIDGE_MAX_LINE", "1000")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input: Vec<u8> = Vec::new();
    input.extend_from_slice(
        b"{\"id\": 1, \"op\": \"tickets.list\", \"args\": {\"text\": \"\xff\xfe\"}}\n",
    );
    input.extend_from_slice(b"\n");
    input.extend_from_slice(b"   \r\n");
    input.extend_from_slice(b"[1, \"site.info\"]\n");
    input.extend_from_slice(b"{\"id\": 184467440737095516160, \"op\": \"site.info\"}\n");
    input.extend_from_slice(
        format!(
            "{{\"id\": 6, \"op\": \"site.info\", \"caller\": \"{}\"}}\n",
            "x".repeat(5000)
        )
        .as_bytes(),
    );
    input.extend_from_slice(b"{\"id\": 7, \"op\": \"site.info\"}\n");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let responses: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(responses.len(), 7, "one answer per line: {responses:?}");
    let messages = [
        "not valid UTF-8",
        "empty line",
        "empty line",
        "not an object",
        "within 64 bits",
        "longer than 1000 bytes",
    ];
    for (response, needle) in responses.iter().zip(messages) {
        assert_eq!(response["ok"], false, "{response}");
        assert_eq!(response["error"]["code"], "bad_request", "{response}");
        assert!(
            response["error"]["message"]
                .as_str()
                .unwrap()
                .contains(needle),
            "{needle}: {response}"
        );
    }
    assert_eq!(responses[6]["id"], 7);
    assert_eq!(responses[6]["ok"], true);
}

#[test]
fn the_cli_refuses_arguments_that_are_not_an_object() {
    let site = TestSite::with(&["tickets"]);
    site.call(
        "tickets.create",
        json!({"email": "a@example.com", "subject": "S", "body": "B"}),
    )
    .ok();
    site.call("tickets.delete", json!({"id": 1})).ok();
    for args in ["\"x\"", "[1]", "null", "3"] {
        let run = site.run(&["--json", "call", "tickets.purge-trash", args]);
        assert_eq!(run.code, 2, "{args}: {run:?}");
        assert_eq!(run.error()["code"], "bad_request");
        assert!(
            run.error()["message"]
                .as_str()
                .unwrap()
                .contains("must be a JSON object")
        );
    }
    assert_eq!(site.count("tickets__tickets"), 1, "nothing was purged");
}

#[test]
fn errors_carry_the_stable_codes() {
    let site = TestSite::with(&["tickets", "reports"]);
    site.run(&["plugin", "revoke", "reports", "read:tickets__tickets"])
        .ok();
    let responses = site.bridge(vec![
        json!({"id": 1, "op": "nope"}).to_string(),
        json!({"id": 2, "op": "tickets.nope"}).to_string(),
        json!({"id": 3, "op": "tickets.get", "args": {"id": 404}}).to_string(),
        json!({"id": 4, "op": "reports.summary"}).to_string(),
        json!({"id": 5, "op": "tickets.create", "args": {"email": "x"}}).to_string(),
    ]);
    let codes: Vec<&str> = responses
        .iter()
        .map(|r| r["error"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "unknown_op",
            "unknown_op",
            "not_found",
            "capability_denied",
            "bad_request"
        ]
    );
}

#[test]
fn eight_concurrent_bridges_never_see_a_locked_database_and_lose_no_write() {
    let site = TestSite::with(&["tickets"]);
    // One shared ticket everybody answers, so writers collide on it too.
    site.call(
        "tickets.create",
        json!({"email": "shared@example.com", "subject": "Shared", "body": "start"}),
    )
    .ok();
    const WORKERS: usize = 8;
    const EACH: usize = 25;
    let handles: Vec<_> = (0..WORKERS)
        .map(|w| {
            let root = site.root.clone();
            std::thread::spawn(move || {
                let mut child = Command::new(env!("CARGO_BIN_EXE_wasmdesk"))
                    .arg("--site")
                    .arg(&root)
                    .arg("bridge")
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap();
                let mut stdin = child.stdin.take().unwrap();
                for i in 0..EACH {
                    let create = json!({"id": i, "op": "tickets.create", "args": {
                        "email": format!("worker{w}@example.com"), "subject": format!("#{i}"), "body": "concurrent"}});
                    let reply = json!({"id": i, "op": "tickets.reply", "args": {"id": 1, "body": format!("worker {w} reply {i}")}});
                    writeln!(stdin, "{create}").unwrap();
                    writeln!(stdin, "{reply}").unwrap();
                    writeln!(stdin, "{}", json!({"id": i, "op": "tickets.list", "args": {"limit": 5}})).unwrap();
                }
                drop(stdin);
                let output = child.wait_with_output().unwrap();
                String::from_utf8(output.stdout).unwrap()
            })
        })
        .collect();
    for handle in handles {
        let out = handle.join().unwrap();
        assert_eq!(out.lines().count(), EACH * 3);
        for line in out.lines() {
            let r: Value = serde_json::from_str(line).unwrap();
            assert_eq!(r["ok"], true, "{r}");
        }
    }
    assert_eq!(site.count("tickets__tickets"), (1 + WORKERS * EACH) as i64);
    assert_eq!(site.count("tickets__customers"), (1 + WORKERS) as i64);
    let replies: i64 = site
        .sqlite()
        .query_row(
            "SELECT count(*) FROM tickets__messages WHERE ticket_id = 1 AND author = 'agent'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(replies, (WORKERS * EACH) as i64, "every reply was kept");
}

#[test]
fn the_php_client_turns_error_responses_into_exceptions() {
    let php = which_php();
    let site = TestSite::with(&["tickets"]);
    let client = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/php/WasmdeskClient.php"
    );
    let script = format!(
        r#"<?php
require {client:?};
$w = new WasmdeskClient({bin:?}, {site:?});
$w->setCaller('wp:user:5');
$t = $w->call('tickets.create', ['email' => 'php@example.com', 'subject' => 'From PHP', 'body' => 'Hello']);
$info = $w->call('site.info');
try {{
    $w->call('tickets.get', ['id' => 999]);
    $caught = 'none';
}} catch (WasmdeskException $e) {{
    $caught = $e->errorCode;
}}
echo json_encode(['id' => $t['id'], 'subject' => $t['subject'], 'protocol' => $info['protocol'], 'caught' => $caught]);
"#,
        bin = env!("CARGO_BIN_EXE_wasmdesk"),
        site = site.root.display().to_string(),
    );
    let output = Command::new(php)
        .arg("-r")
        .arg(script.trim_start_matches("<?php\n"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "php failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "php printed {:?} ({e})",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    assert_eq!(
        result,
        json!({"id": 1, "subject": "From PHP", "protocol": 1, "caught": "not_found"})
    );
    assert_eq!(site.count("tickets__tickets"), 1);
    // The caller PHP named is in the audit log.
    let entries = site
        .run(&["--json", "audit", "log", "--caller", "wp:user:5"])
        .ok()
        .json();
    assert_eq!(
        entries["entries"].as_array().unwrap().len(),
        2,
        "{entries:#}"
    );
}

/// The php command line; `cargo xtask test` installs php-cli when missing.
fn which_php() -> &'static str {
    let found = Command::new("php")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "php-cli is not installed: run `cargo xtask test` (it installs php-cli), or: apt-get install php-cli"
    );
    "php"
}

#[test]
fn the_php_examples_are_valid_php() {
    let php = which_php();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let files = [
        "php/WasmdeskClient.php",
        "wordpress/wasmdesk-helpdesk.php",
        "wordpress/wasmdesk-privacy.php",
    ];
    for file in files {
        let output = Command::new(php)
            .arg("-l")
            .arg(examples.join(file))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

#[test]
fn the_wordpress_exporter_and_eraser_return_wordpress_shapes_page_by_page() {
    let php = which_php();
    let site = TestSite::with(&["tickets", "consent"]);
    // More tickets than one page of the tickets plugin's exporter (50).
    let lines: Vec<String> = (0..60)
        .map(|i| json!({"op": "tickets.create", "args": {"email": "ada@example.com", "subject": format!("T{i}"), "body": "b"}}).to_string())
        .chain([json!({"op": "tickets.create", "args": {"email": "grace@example.com", "subject": "G", "body": "b"}}).to_string()])
        .chain([json!({"op": "consent.record", "args": {"email": "ada@example.com", "purpose": "newsletter", "given": false, "channel": "web"}}).to_string()])
        .collect();
    site.bridge(lines);
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    let script = format!(
        r#"
define('ABSPATH', '/');
define('HOUR_IN_SECONDS', 3600);
// Stand-ins for WordPress's transients (a key-value cache), the only
// WordPress API these callbacks use.
$GLOBALS['transients'] = [];
function get_transient($k) {{ return $GLOBALS['transients'][$k] ?? false; }}
function set_transient($k, $v, $ttl) {{ $GLOBALS['transients'][$k] = $v; return true; }}
require {client:?};
function wasmdesk_client() {{ static $c = null; return $c ?? ($c = new WasmdeskClient({bin:?}, {site:?})); }}
require {privacy:?};
// As wp-admin/includes/privacy-tools.php does: page until done.
$export = []; $pages = 0;
for ($page = 1; ; $page++) {{
    $r = wasmdesk_privacy_exporter('ada@example.com', $page); $pages++;
    foreach ($r['data'] as $item) {{ $export[] = $item; }}
    if ($r['done']) break;
}}
$erase = [];
for ($page = 1; ; $page++) {{
    $r = wasmdesk_privacy_eraser('ada@example.com', $page);
    $erase[] = $r;
    if ($r['done']) break;
}}
echo json_encode(['export' => $export, 'export_pages' => $pages, 'erase' => $erase]);
"#,
        client = format!("{examples}/php/WasmdeskClient.php"),
        privacy = format!("{examples}/wordpress/wasmdesk-privacy.php"),
        bin = env!("CARGO_BIN_EXE_wasmdesk"),
        site = site.root.display().to_string(),
    );
    let output = Command::new(php).arg("-r").arg(&script).output().unwrap();
    assert!(
        output.status.success(),
        "php: {}{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    let export = result["export"].as_array().unwrap();
    assert!(
        result["export_pages"].as_i64().unwrap() >= 3,
        "tickets paged twice, then consent: {}",
        result["export_pages"]
    );
    for item in export {
        let keys: Vec<&String> = item.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["data", "group_id", "group_label", "item_id"],
            "{item}"
        );
        for field in item["data"].as_array().unwrap() {
            assert!(
                field["name"].is_string() && field["value"].is_string(),
                "{field}"
            );
        }
    }
    let tickets = export
        .iter()
        .filter(|i| i["group_id"] == "wasmdesk-tickets-tickets")
        .count();
    assert_eq!(tickets, 60);
    assert!(
        export
            .iter()
            .any(|i| i["group_id"] == "wasmdesk-consent-consent")
    );
    assert!(!serde_json::to_string(export).unwrap().contains("grace"));
    let erase = result["erase"].as_array().unwrap();
    for page in erase {
        assert!(
            page["items_removed"].is_boolean()
                && page["items_retained"].is_boolean()
                && page["done"].is_boolean()
        );
        assert!(page["messages"].is_array());
    }
    assert_eq!(erase.last().unwrap()["done"], true);
    assert!(
        erase.iter().any(|p| p["items_retained"] == true),
        "the consent withdrawal is kept, and said so"
    );
    assert_eq!(
        site.count("tickets__tickets"),
        1,
        "only Grace's ticket is left"
    );
    let bytes = std::fs::read(site.db_path()).unwrap();
    assert!(!bytes.windows(15).any(|w| w == b"ada@example.com"));
    // The audit log knows the export was handed over and the erasure done,
    // for Ada, by hash.
    for action in ["export.download", "erasure.done"] {
        let entries = site
            .run(&[
                "--json",
                "audit",
                "log",
                "--action",
                action,
                "--subject",
                "ada@example.com",
            ])
            .ok()
            .json();
        assert_eq!(
            entries["entries"].as_array().unwrap().len(),
            1,
            "{action}: {entries}"
        );
    }
}

#[test]
fn an_export_page_names_groups_as_the_archive_does_with_their_plugin() {
    let site = TestSite::with(&["tickets", "consent"]);
    site.call(
        "tickets.create",
        json!({"email": "ada@example.com", "subject": "Invoice", "body": "Where is it?"}),
    )
    .ok();
    site.call(
        "consent.record",
        json!({"email": "ada@example.com", "purpose": "newsletter", "given": false, "channel": "web"}),
    )
    .ok();
    let mut paged: Vec<(String, String, String)> = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let response = site.bridge_one(json!({"op": "privacy.export-page",
            "args": {"email": "ada@example.com", "cursor": cursor}}));
        assert_eq!(response["ok"], true, "{response}");
        let result = &response["result"];
        for item in result["items"].as_array().unwrap() {
            let field = |name: &str| item[name].as_str().unwrap().to_string();
            paged.push((field("plugin"), field("group_id"), field("item_id")));
        }
        cursor = result["next"].clone();
        if cursor.is_null() {
            break;
        }
    }
    let first = site.bridge_one(json!({"op": "privacy.export-page",
        "args": {"email": "ada@example.com"}}));
    let item = &first["result"]["items"][0];
    assert_eq!(
        (&item["plugin"], &item["group_id"], &item["group_label"]),
        (&json!("consent"), &json!("consent"), &json!("Consent")),
        "{item}"
    );

    let out = site.root.join("ada.zip");
    site.run(&[
        "privacy",
        "export",
        "--email",
        "ada@example.com",
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    let export: Value = serde_json::from_reader(zip.by_name("export.json").unwrap()).unwrap();
    let mut archived: Vec<(String, String, String)> = Vec::new();
    for plugin in export["plugins"].as_array().unwrap() {
        for group in plugin["groups"].as_array().unwrap() {
            for item in group["items"].as_array().unwrap() {
                archived.push((
                    plugin["id"].as_str().unwrap().to_string(),
                    group["id"].as_str().unwrap().to_string(),
                    item["id"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    assert!(
        paged.contains(&("tickets".into(), "tickets".into(), "1".into())),
        "{paged:?}"
    );
    paged.sort();
    archived.sort();
    assert_eq!(
        paged, archived,
        "the pages and the archive name the same groups"
    );
}

#[test]
fn answers_sent_together_leave_only_after_their_records() {
    use std::io::BufRead;
    let site = TestSite::with(&["notes"]);
    let audited = |site: &TestSite| -> i64 {
        site.sqlite()
            .query_row(
                "SELECT count(*) FROM wasmdesk__audit WHERE operation = 'command list'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    // Another process holds the write lock, so the records cannot be
    // written yet; it lets go a second later.
    let holder = site.sqlite();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut bridge = Command::new(env!("CARGO_BIN_EXE_wasmdesk"))
        .arg("--site")
        .arg(&site.root)
        .args(["bridge", "--caller", "test"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = bridge.stdin.take().unwrap();
    let lines: String = (0..3)
        .map(|i| format!("{}\n", json!({"id": i, "op": "notes.list"})))
        .collect();
    stdin.write_all(lines.as_bytes()).unwrap();
    stdin.flush().unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(1));
        holder.execute_batch("COMMIT").unwrap();
    });
    let mut stdout = std::io::BufReader::new(bridge.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    // By the time the first answer is out, all three calls are recorded.
    assert_eq!(audited(&site), 3, "{first}");
    let first: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["ok"], true, "{first}");
    release.join().unwrap();
    drop(stdin);
    assert!(bridge.wait().unwrap().success());
}
