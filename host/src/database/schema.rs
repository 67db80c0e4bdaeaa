//! The host's own tables (namespace `wasmdesk__`), created and migrated by
//! `migrate`. Plugins can never read or write them.

use rusqlite::Connection;

use super::DatabaseError;

/// Bumped with every change below; stored in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 4;

const V1: &str = "
CREATE TABLE wasmdesk__plugins (
    id          TEXT PRIMARY KEY,
    state       TEXT NOT NULL CHECK (state IN ('enabled', 'disabled')),
    sha256      TEXT NOT NULL,      -- the binary the site owner approved
    manifest    TEXT NOT NULL,      -- its manifest, as JSON
    approved_at INTEGER NOT NULL,   -- ms since the epoch
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE wasmdesk__grants (
    plugin     TEXT NOT NULL,
    tbl        TEXT NOT NULL COLLATE NOCASE,
    access     TEXT NOT NULL CHECK (access IN ('read', 'write')),
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (plugin, tbl)
) STRICT;

CREATE TABLE wasmdesk__limits (
    plugin      TEXT PRIMARY KEY,
    memory_mib  INTEGER,
    deadline_ms INTEGER
) STRICT;
";

const V2: &str = "
CREATE TABLE wasmdesk__retention (
    plugin TEXT NOT NULL,
    rule   TEXT NOT NULL,
    days   INTEGER NOT NULL CHECK (days >= 0),  -- the site owner's override
    PRIMARY KEY (plugin, rule)
) STRICT;
";

const V3: &str = "
CREATE TABLE wasmdesk__site (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Data-subject requests. A request's e-mail and name are kept only until it
-- is done (an erasure) or its archive expires (an export); its keyed hash
-- stays, so the request can still be matched to the person.
CREATE TABLE wasmdesk__requests (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('export', 'erase')),
    email        TEXT,
    name         TEXT,
    subject_hash TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    status       TEXT NOT NULL CHECK (status IN ('awaiting-confirmation', 'confirmed', 'done')),
    received_at  INTEGER NOT NULL,
    deadline_at  INTEGER NOT NULL,
    confirmed_at INTEGER,
    completed_at INTEGER,
    archive      TEXT,
    report       TEXT
) STRICT;
CREATE INDEX wasmdesk__requests_open ON wasmdesk__requests (status, deadline_at);
";

const V4: &str = "
-- The audit log (host/src/audit): append-only, hash-chained. An entry
-- lists the keyed hashes of the data subjects it touched; the index
-- wasmdesk__audit_subjects finds a subject's entries. No other index: each
-- one is another page written per call. `at` never decreases with `seq`,
-- so a time range is a range of seq (found by binary search).
CREATE TABLE wasmdesk__audit (
    seq          INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,   -- ms since the epoch, never less than the previous entry's
    actor        TEXT NOT NULL,      -- cli:USER, bridge:CALLER, host
    action       TEXT NOT NULL,      -- plugin.call, plugin.enable, ...
    plugin       TEXT,
    operation    TEXT,               -- for plugin.call: command NAME, privacy export-data, ...
    outcome      TEXT NOT NULL,      -- ok, or the error code
    duration_us  INTEGER NOT NULL,
    rows_read    INTEGER NOT NULL,
    rows_written INTEGER NOT NULL,
    subjects     TEXT NOT NULL,      -- keyed hashes (HMAC-SHA256 of the e-mail address, site secret), sorted, space-separated
    tables       TEXT NOT NULL,      -- JSON: [{table, read?: rows, written?: rows}]
    detail       TEXT NOT NULL,      -- JSON object
    prev         TEXT NOT NULL,
    hash         TEXT NOT NULL
) STRICT;
CREATE TABLE wasmdesk__audit_subjects (
    subject TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    PRIMARY KEY (subject, seq)
) STRICT, WITHOUT ROWID;

-- Personal-data breaches (GDPR Art. 33): notify within 72 hours.
CREATE TABLE wasmdesk__breaches (
    id           INTEGER PRIMARY KEY,
    summary      TEXT NOT NULL,
    detected_at  INTEGER NOT NULL,
    recorded_at  INTEGER NOT NULL,
    deadline_at  INTEGER NOT NULL,
    recorded_by  TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'notified')),
    affected     INTEGER,            -- subjects found by the last `breach affected`
    scope        TEXT,               -- that query, as JSON
    notified_at  INTEGER,
    notification TEXT
) STRICT;
";

/// Triggers that keep the audit log append-only (pruning sets a marker in
/// wasmdesk__site inside its own transaction). Created when missing, each
/// time the site is opened.
const GUARDS: &[(&str, &str)] = &[
    (
        "wasmdesk__audit_no_update",
        "CREATE TRIGGER wasmdesk__audit_no_update BEFORE UPDATE ON wasmdesk__audit \
         BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    ),
    (
        "wasmdesk__audit_no_delete",
        "CREATE TRIGGER wasmdesk__audit_no_delete BEFORE DELETE ON wasmdesk__audit \
         WHEN NOT EXISTS (SELECT 1 FROM wasmdesk__site WHERE key = 'audit_pruning') \
         BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: old entries go with wasmdesk retention run'); END",
    ),
    (
        "wasmdesk__audit_subjects_no_update",
        "CREATE TRIGGER wasmdesk__audit_subjects_no_update BEFORE UPDATE ON wasmdesk__audit_subjects \
         BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    ),
    (
        "wasmdesk__audit_subjects_no_delete",
        "CREATE TRIGGER wasmdesk__audit_subjects_no_delete BEFORE DELETE ON wasmdesk__audit_subjects \
         WHEN NOT EXISTS (SELECT 1 FROM wasmdesk__site WHERE key = 'audit_pruning') \
         BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    ),
];

/// The names of audit guards that are missing (dropped behind the host's
/// back); `restore_guards` puts them back.
pub fn missing_guards(conn: &Connection) -> Result<Vec<&'static str>, DatabaseError> {
    let present: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND name LIKE 'wasmdesk\\_\\_audit%' ESCAPE '\\'",
        [],
        |r| r.get(0),
    )?;
    if present as usize == GUARDS.len() {
        return Ok(vec![]);
    }
    let mut missing = Vec::new();
    for (name, _) in GUARDS {
        let here: bool = conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'trigger' AND name = ?1",
            [name],
            |r| r.get(0),
        )?;
        if !here {
            missing.push(*name);
        }
    }
    Ok(missing)
}

/// Create the named guards (inside the caller's transaction).
pub fn restore_guards(conn: &Connection, names: &[&str]) -> Result<(), DatabaseError> {
    for (name, sql) in GUARDS {
        if names.contains(name) {
            conn.execute_batch(sql)?;
        }
    }
    Ok(())
}

/// Bring the host tables to the current version.
pub fn migrate(conn: &mut Connection) -> Result<(), DatabaseError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(DatabaseError::TooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Another process may have migrated while we waited for the lock.
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version < 1 {
        tx.execute_batch(V1)?;
    }
    if version < 2 {
        tx.execute_batch(V2)?;
    }
    if version < 3 {
        tx.execute_batch(V3)?;
        // The key for hashing subjects' identifiers (audit, requests,
        // erasure journal): never leaves the site.
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| DatabaseError::Secret(e.to_string()))?;
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        tx.execute(
            "INSERT INTO wasmdesk__site (key, value) VALUES ('secret', ?1)",
            [hex],
        )?;
    }
    if version < 4 {
        tx.execute_batch(V4)?;
        for (_, sql) in GUARDS {
            tx.execute_batch(sql)?;
        }
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}
