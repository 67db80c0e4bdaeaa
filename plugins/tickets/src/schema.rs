//! The tickets plugin's tables and indexes, created and migrated by `setup`.
//! Every list the helpdesk shows is served by an index, so commands stay
//! fast at a million tickets.

use crate::db;

/// The version of the tables other plugins may be granted, as documented in
/// docs/tickets.md ("Tables other plugins may read"): the minor grows when a
/// table or column is added, the major when anything a reader relies on is
/// renamed, removed or changed. `host/tests/all/tickets.rs` fails when the
/// schema changes and this does not.
pub const DATA_CONTRACT_VERSION: &str = "1.0";

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS tickets__customers (
        id         INTEGER PRIMARY KEY,
        email      TEXT NOT NULL UNIQUE,
        name       TEXT,
        created_at INTEGER NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS tickets__tickets (
        id          INTEGER PRIMARY KEY,
        customer_id INTEGER NOT NULL REFERENCES tickets__customers (id),
        subject     TEXT NOT NULL,
        status      TEXT NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'pending', 'resolved', 'closed')),
        priority    TEXT NOT NULL DEFAULT 'normal'
                    CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
        assignee    TEXT,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        deleted_at  INTEGER
    )",
    "CREATE INDEX IF NOT EXISTS tickets__tickets_customer ON tickets__tickets (customer_id, id)",
    "CREATE INDEX IF NOT EXISTS tickets__tickets_status ON tickets__tickets (status, id)",
    "CREATE INDEX IF NOT EXISTS tickets__tickets_assignee ON tickets__tickets (assignee, id) WHERE assignee IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS tickets__tickets_trash ON tickets__tickets (deleted_at) WHERE deleted_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS tickets__tickets_closed ON tickets__tickets (updated_at) WHERE status = 'closed'",
    "CREATE TABLE IF NOT EXISTS tickets__messages (
        id         INTEGER PRIMARY KEY,
        ticket_id  INTEGER NOT NULL REFERENCES tickets__tickets (id),
        author     TEXT NOT NULL CHECK (author IN ('customer', 'agent')),
        internal   INTEGER NOT NULL DEFAULT 0 CHECK (internal IN (0, 1)),
        -- The customer who wrote it (the ticket's, or another participant);
        -- none for agents' messages.
        customer_id INTEGER REFERENCES tickets__customers (id),
        body       TEXT NOT NULL,
        created_at INTEGER NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS tickets__messages_ticket ON tickets__messages (ticket_id, id)",
    "CREATE TABLE IF NOT EXISTS tickets__tags (
        ticket_id INTEGER NOT NULL REFERENCES tickets__tickets (id),
        tag       TEXT NOT NULL,
        PRIMARY KEY (ticket_id, tag)
    ) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS tickets__tags_tag ON tickets__tags (tag, ticket_id)",
    "CREATE TABLE IF NOT EXISTS tickets__attachments (
        id         INTEGER PRIMARY KEY,
        ticket_id  INTEGER NOT NULL REFERENCES tickets__tickets (id),
        message_id INTEGER NOT NULL REFERENCES tickets__messages (id),
        name       TEXT NOT NULL,
        mime_type  TEXT NOT NULL,
        size       INTEGER NOT NULL,
        content    BLOB NOT NULL,
        created_at INTEGER NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS tickets__attachments_message ON tickets__attachments (message_id)",
    "CREATE INDEX IF NOT EXISTS tickets__attachments_ticket ON tickets__attachments (ticket_id)",
    // Full-text search: one document per ticket (rowid = ticket id) with
    // its subject and every message, so a search walks ticket ids newest
    // first and stops after a page.
    "CREATE VIRTUAL TABLE IF NOT EXISTS tickets__search USING fts5 (text)",
    // The words of each attachment (rowids from attachment id * 2^20, one
    // row per part of a long file; `attachments::PARTS`): its name and its
    // bytes as the host's proof reads them (`SearchableText`), so that
    // erasure finds an attachment that names a person in time that follows
    // the person, not the site. It keeps its text (not contentless), so
    // that the erasure proof can read it row by row like any other column
    // of personal data, and it is declared as such. A deleted attachment's
    // words leave with it, by the trigger.
    "CREATE VIRTUAL TABLE IF NOT EXISTS tickets__attachment_words USING fts5 (text)",
    "CREATE TRIGGER IF NOT EXISTS tickets__attachments_unindex AFTER DELETE ON tickets__attachments
     BEGIN
         DELETE FROM tickets__attachment_words
         WHERE rowid >= old.id * 1048576 AND rowid < (old.id + 1) * 1048576;
     END",
    "CREATE TABLE IF NOT EXISTS tickets__settings (
        key   TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    )",
    // The highest ticket id ever given, so that an erased or purged
    // ticket's id is never given again (a link or an e-mail that named it
    // must not open someone else's ticket). Kept by a trigger on every
    // insert; `create` gives the next id after it.
    "CREATE TABLE IF NOT EXISTS tickets__id_floor (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        max_ticket INTEGER NOT NULL
    )",
    "INSERT OR IGNORE INTO tickets__id_floor (id, max_ticket)
     VALUES (1, coalesce((SELECT max(id) FROM tickets__tickets), 0))",
    "CREATE TRIGGER IF NOT EXISTS tickets__tickets_id_floor AFTER INSERT ON tickets__tickets
     BEGIN
         UPDATE tickets__id_floor SET max_ticket = max(max_ticket, new.id) WHERE id = 1;
     END",
];

/// The version 0.1.0 schema lacked these columns.
const ADD_COLUMNS: &[(&str, &str)] = &[
    (
        "assignee",
        "ALTER TABLE tickets__tickets ADD COLUMN assignee TEXT",
    ),
    (
        "deleted_at",
        "ALTER TABLE tickets__tickets ADD COLUMN deleted_at INTEGER",
    ),
];

pub fn setup(_previous: Option<&str>) -> Result<(), String> {
    let fail = |e| format!("creating the tickets tables failed: {e:?}");
    // An earlier layout kept one search row per message: rebuild it.
    let old_search = db::exec("PRAGMA table_info(tickets__search)", &[]).map_err(fail)?;
    let old_layout = db::objects(&old_search)
        .iter()
        .any(|c| c["name"] == "ticket_id");
    if old_layout {
        db::exec("DROP TABLE tickets__search", &[]).map_err(fail)?;
    }
    db::exec(SCHEMA[0], &[]).map_err(fail)?;
    db::exec(SCHEMA[1], &[]).map_err(fail)?;
    let columns = db::exec("PRAGMA table_info(tickets__tickets)", &[]).map_err(fail)?;
    let names: Vec<String> = db::objects(&columns)
        .iter()
        .filter_map(|c| c["name"].as_str().map(String::from))
        .collect();
    for (column, sql) in ADD_COLUMNS {
        if !names.iter().any(|n| n == column) {
            db::exec(sql, &[]).map_err(fail)?;
        }
    }
    let words_existed = !db::exec("PRAGMA table_info(tickets__attachment_words)", &[])
        .map_err(fail)?
        .rows
        .is_empty();
    for sql in &SCHEMA[2..] {
        db::exec(sql, &[]).map_err(fail)?;
    }
    let fail = |e| format!("migrating messages failed: {e:?}");
    let columns = db::exec("PRAGMA table_info(tickets__messages)", &[]).map_err(fail)?;
    if !db::objects(&columns)
        .iter()
        .any(|c| c["name"] == "internal")
    {
        db::exec(
            "ALTER TABLE tickets__messages ADD COLUMN internal INTEGER NOT NULL DEFAULT 0",
            &[],
        )
        .map_err(fail)?;
    }
    if !db::objects(&columns)
        .iter()
        .any(|c| c["name"] == "customer_id")
    {
        db::exec("ALTER TABLE tickets__messages ADD COLUMN customer_id INTEGER REFERENCES tickets__customers (id)", &[])
            .map_err(fail)?;
        db::exec(
            "UPDATE tickets__messages SET customer_id = (SELECT customer_id FROM tickets__tickets WHERE id = ticket_id)
             WHERE author = 'customer'",
            &[],
        )
        .map_err(fail)?;
    }
    db::exec(
        "CREATE INDEX IF NOT EXISTS tickets__messages_customer ON tickets__messages (customer_id) WHERE customer_id IS NOT NULL",
        &[],
    )
    .map_err(fail)?;
    // Deleted documents leave the index at once (no stale terms of an
    // erased customer waiting for a merge).
    db::exec(
        "INSERT INTO tickets__search (tickets__search, rank) VALUES ('secure-delete', 1)",
        &[],
    )
    .map_err(|e| format!("configuring the search index failed: {e:?}"))?;
    db::exec(
        "INSERT INTO tickets__attachment_words (tickets__attachment_words, rank) VALUES ('secure-delete', 1)",
        &[],
    )
    .map_err(|e| format!("configuring the attachments' index failed: {e:?}"))?;
    if !words_existed {
        crate::attachments::index_all()
            .map_err(|e| format!("indexing the attachments failed: {e:?}"))?;
    }
    if old_layout {
        db::exec(
            "INSERT INTO tickets__search (rowid, text)
             SELECT t.id, t.subject || char(10) || coalesce((SELECT group_concat(body, char(10))
                 FROM tickets__messages WHERE ticket_id = t.id), '')
             FROM tickets__tickets t",
            &[],
        )
        .map_err(|e| format!("rebuilding the search index failed: {e:?}"))?;
    }
    Ok(())
}
