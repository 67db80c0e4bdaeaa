//! The tickets plugin's tables and indexes, created by `setup`.

use crate::db;

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
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS tickets__tickets_customer ON tickets__tickets (customer_id, id)",
    "CREATE INDEX IF NOT EXISTS tickets__tickets_status ON tickets__tickets (status, id)",
    "CREATE TABLE IF NOT EXISTS tickets__messages (
        id         INTEGER PRIMARY KEY,
        ticket_id  INTEGER NOT NULL REFERENCES tickets__tickets (id),
        author     TEXT NOT NULL CHECK (author IN ('customer', 'agent')),
        body       TEXT NOT NULL,
        created_at INTEGER NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS tickets__messages_ticket ON tickets__messages (ticket_id, id)",
];

pub fn setup(_previous: Option<&str>) -> Result<(), String> {
    for sql in SCHEMA {
        db::exec(sql, &[]).map_err(|e| format!("creating the tickets tables failed: {e:?}"))?;
    }
    Ok(())
}
