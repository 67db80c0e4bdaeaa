//! The fast seeder writes exactly the rows the tickets plugin writes for
//! the same tickets (timestamps aside), so benchmarks on seeded sites
//! measure the data the plugin would have.

use std::path::Path;

use rusqlite::Connection;
use rusqlite::types::ValueRef;
use wasmdesk::Site;
use wasmdesk_bench::seed;

const TICKETS: i64 = 60;

fn site_with_tickets(root: &Path) -> Site {
    let mut site = Site::init(root).expect("init");
    let tickets = test_artifacts::ALL
        .iter()
        .find(|(name, _)| *name == "tickets")
        .expect("tickets is built")
        .1;
    std::fs::copy(tickets, root.join("plugins/tickets.wasm")).expect("copy tickets.wasm");
    site.enable("tickets", None).expect("enable tickets");
    site
}

/// Every row that the plugin's commands decide, without timestamps.
fn dump(db: &Path) -> Vec<String> {
    let conn = Connection::open(db).expect("open site.db");
    let queries = [
        "SELECT id, email, name FROM tickets__customers ORDER BY id",
        "SELECT id, customer_id, subject, status, priority, assignee, deleted_at FROM tickets__tickets ORDER BY id",
        "SELECT id, ticket_id, author, internal, customer_id, body FROM tickets__messages ORDER BY id",
        "SELECT ticket_id, tag FROM tickets__tags ORDER BY ticket_id, tag",
        "SELECT id, ticket_id, message_id, name, mime_type, size, hex(content) FROM tickets__attachments ORDER BY id",
        "SELECT rowid, text FROM tickets__search ORDER BY rowid",
        "SELECT rowid FROM tickets__search WHERE tickets__search MATCH 'refund OR photo' ORDER BY rowid",
    ];
    let mut rows = Vec::new();
    for sql in queries {
        let mut stmt = conn.prepare(sql).expect(sql);
        let n = stmt.column_count();
        let mut result = stmt.query([]).expect(sql);
        while let Some(row) = result.next().expect(sql) {
            let values: Vec<String> = (0..n)
                .map(|i| match row.get_ref(i).expect("a value") {
                    ValueRef::Text(t) => format!("'{}'", String::from_utf8_lossy(t)),
                    other => format!("{other:?}"),
                })
                .collect();
            rows.push(format!("{sql} | {}", values.join(" | ")));
        }
    }
    rows
}

#[test]
fn the_sql_seeder_writes_what_the_plugin_writes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let now = 1_800_000_000_000;

    let by_plugin = dir.path().join("by-plugin");
    let mut site = site_with_tickets(&by_plugin);
    for id in 1..=TICKETS {
        for (command, args) in seed::ticket(id, TICKETS, now).commands() {
            site.call("tickets", command, &args.to_string())
                .unwrap_or_else(|e| panic!("tickets.{command} {args}: {e}"));
        }
    }
    drop(site);

    let by_sql = dir.path().join("by-sql");
    drop(site_with_tickets(&by_sql));
    let conn = Connection::open(by_sql.join("site.db")).expect("open");
    seed::write_sql(&conn, 1, TICKETS, TICKETS, now).expect("seed by SQL");
    drop(conn);

    let (plugin_rows, sql_rows) = (
        dump(&by_plugin.join("site.db")),
        dump(&by_sql.join("site.db")),
    );
    assert!(
        plugin_rows.len() > 4 * TICKETS as usize,
        "{} rows",
        plugin_rows.len()
    );
    // The sample covers what a benchmark needs: threads, notes, every
    // status, assignees, tags and an attachment.
    let all = plugin_rows.join("\n");
    for needle in [
        "'pending'",
        "'closed'",
        "'resolved'",
        "Integer(1) | Integer",
        "agent-",
        "image/jpeg",
    ] {
        assert!(all.contains(needle), "the sample has no {needle}");
    }
    // The subject benchmarks export and erase owns 20 of them.
    let owned = plugin_rows
        .iter()
        .filter(|r| r.starts_with("SELECT id, customer_id,") && r.contains("| Integer(1) | 'My "))
        .count();
    assert!(all.contains(seed::SUBJECT));
    assert_eq!(owned, 20, "{} owns {owned} tickets", seed::SUBJECT);
    // The subject with a long history owns some here too (the rest of
    // their 5 000 tickets needs a site of 100 000).
    assert!(
        all.contains(seed::HEAVY),
        "the sample has no {}",
        seed::HEAVY
    );
    for (a, b) in plugin_rows.iter().zip(&sql_rows) {
        assert_eq!(a, b, "the plugin and the seeder disagree");
    }
    assert_eq!(plugin_rows.len(), sql_rows.len());
}

#[test]
fn the_two_subjects_own_what_the_benchmarks_say_on_the_bench_sites() {
    for total in [1_000, 10_000, 100_000, 1_000_000] {
        let mut owned = std::collections::HashMap::new();
        for id in 1..=total {
            *owned.entry(seed::owner(id, total)).or_insert(0) += 1;
        }
        assert_eq!(owned[&seed::Owner::Subject], 20, "{total} tickets");
        assert_eq!(
            owned[&seed::Owner::Heavy],
            seed::heavy_tickets(total),
            "{total} tickets"
        );
    }
    assert_eq!(seed::heavy_tickets(100_000), 5_000);
    assert_eq!(seed::heavy_tickets(1_000_000), 5_000);
}

/// The native floor of the export benchmark exports what wasmdesk exports
/// for the same customer: the same tickets, messages and files.
#[test]
fn the_export_floor_exports_what_wasmdesk_exports() {
    let dir = tempfile::tempdir().expect("temp dir");
    let now = 1_800_000_000_000;
    let total = 1_000;
    let root = dir.path().join("site");
    drop(site_with_tickets(&root));
    let conn = Connection::open(root.join("site.db")).expect("open");
    seed::write_sql(&conn, 1, total, total, now).expect("seed by SQL");
    drop(conn);
    let mut site = Site::open(&root).expect("open the site");
    for email in [seed::SUBJECT, seed::HEAVY] {
        let ours = dir.path().join("ours.zip");
        let report = site
            .export_subject(
                &wasmdesk::Subject::new(email, None).expect("an address"),
                &ours,
            )
            .expect("export");
        let floor = seed_floor(&root, email, &dir.path().join("floor.zip"));
        assert_eq!(
            (report.items, report.files),
            (1 + floor.tickets + floor.messages, floor.files as u64),
            "{email}: {report:?} against {floor:?}"
        );
        assert!(
            floor.tickets >= 20,
            "{email} owns {} tickets",
            floor.tickets
        );
    }
    // Some of the tickets have files, for both to carry.
    let heavy = seed_floor(&root, seed::HEAVY, &dir.path().join("floor.zip"));
    let subject = seed_floor(&root, seed::SUBJECT, &dir.path().join("floor.zip"));
    assert!(heavy.files + subject.files > 0, "no attachments exported");
}

fn seed_floor(root: &Path, email: &str, out: &Path) -> wasmdesk_bench::floor::Exported {
    let counts = wasmdesk_bench::floor::export(&root.join("site.db"), email, out)
        .expect("the floor exports");
    let archive =
        zip::ZipArchive::new(std::fs::File::open(out).expect("the archive")).expect("a zip");
    assert_eq!(archive.len(), 1 + counts.files, "export.json and the files");
    counts
}
