//! What the owner reads cannot be forged by a plugin: every string a plugin
//! supplies reaches the terminal and the log with control, bidi and
//! invisible characters escaped, one line per entry; the manifest is
//! refused naming the field; JSON keeps the exact text.

use serde_json::json;

use crate::support::TestSite;

/// No raw control, bidi or zero-width character in `text` (newlines aside).
#[track_caller]
fn assert_plain(text: &str) {
    for c in text.chars() {
        assert!(
            c == '\n' || !(c.is_control() || ('\u{200b}'..='\u{206f}').contains(&c)),
            "raw {c:?} in {text:?}"
        );
    }
}

#[test]
fn a_hostile_manifest_is_shown_escaped_and_refused_naming_the_field() {
    let site = TestSite::new();
    site.install("trickster");
    let run = site.run(&["plugin", "inspect", "trickster"]);
    let out = format!("{}{}", run.stdout, run.stderr);
    assert_plain(&out);
    assert!(
        out.contains(r"  description: Harmless\x1b[1A\x1b[2K\x07 helper\u{202e}txt.exe"),
        "{out}"
    );
    assert!(
        out.contains(
            r"    read:tickets__tickets  (reason given: stats\r\x1b[2K\x1b[1A\x1b[2K\n    nothing else\x00)"
        ),
        "{out}"
    );
    assert!(
        out.contains("asks for 1 grant(s) outside its own tables:"),
        "{out}"
    );
    assert!(out.contains(r"go\u{2066}hidden\u{2069}\u{200b}"), "{out}");
    assert!(out.contains("trickster (rejected)"), "{out}");
    assert!(
        out.contains(r"description contains the control or invisible character \x1b"),
        "{out}"
    );
    assert!(
        out.contains(r"capabilities[0].reason contains the control or invisible character \r"),
        "{out}"
    );
    // Every line of the grant list is the host's: none begins as the
    // plugin's forged "    nothing else" would.
    assert!(
        !out.lines()
            .any(|l| l.trim_start().starts_with("nothing else"))
    );

    let list = site.run(&["plugin", "list"]);
    assert_plain(&list.stdout);
    assert_plain(&list.stderr);
    let trickster = list
        .stdout
        .lines()
        .find(|l| l.starts_with("trickster"))
        .unwrap_or_else(|| panic!("{list:?}"));
    assert!(trickster.contains("rejected"), "{trickster}");

    let run = site.run(&["plugin", "enable", "trickster", "--yes"]);
    assert_ne!(run.code, 0);
    assert_plain(&run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{:?}", run.stderr);

    // JSON keeps the exact text, escaped by JSON itself.
    let json = site
        .run(&["--json", "plugin", "inspect", "trickster"])
        .json();
    assert_eq!(
        json["manifest"]["description"],
        "Harmless\x1b[1A\x1b[2K\x07 helper\u{202e}txt.exe"
    );
}

/// heckler's forged log line (tests/plugins/heckler).
const FORGED: &str =
    "ok\n2026-01-01T00:00:00.000Z info   [command admin] owner approved\0\x1b[2K\u{202e}";
const FORGED_SHOWN: &str =
    r"ok\n2026-01-01T00:00:00.000Z info   [command admin] owner approved\x00\x1b[2K\u{202e}";

#[test]
fn what_a_plugin_logs_prints_and_fails_with_stays_one_escaped_line() {
    let site = TestSite::with(&["heckler"]);
    site.call("heckler.log", json!({})).ok();
    let log = std::fs::read_to_string(site.root.join("logs/heckler.log")).unwrap();
    assert_plain(&log);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[0].ends_with(&format!("info   [command log] {FORGED_SHOWN}")),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].ends_with(r"stderr [command log] printed\x1b]0;owned\x07"),
        "{}",
        lines[1]
    );
    assert!(!log.lines().any(|l| l.starts_with("2026-01-01")));

    let run = site.run(&["call", "heckler.fail", "{}"]);
    assert_eq!(
        run.stderr,
        format!(
            "wasmdesk: error[plugin_fault]: plugin \"heckler\" command fail: bad\\x1b[31m red\\n{FORGED_SHOWN}\n"
        )
    );
    let json = site.run(&["--json", "call", "heckler.fail", "{}"]).error();
    assert_eq!(
        json["message"],
        format!("plugin \"heckler\" command fail: bad\x1b[31m red\n{FORGED}")
    );

    let run = site.run(&["call", "heckler.panic", "{}"]);
    assert_plain(&run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{:?}", run.stderr);
    assert!(run.stderr.contains(r"boom\x1b[2K"), "{}", run.stderr);
    let log = std::fs::read_to_string(site.root.join("logs/heckler.log")).unwrap();
    assert_plain(&log);
    assert!(!log.lines().any(|l| l.starts_with("wasmdesk: error")));
}
