//! The host's own tables (namespace `wasmdesk__`), created and migrated by
//! `migrate`. Plugins can never read or write them.

use rusqlite::Connection;

use super::StoreError;

/// Bumped with every change below; stored in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 3;

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

/// Bring the host tables to the current version.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
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
        getrandom::fill(&mut secret).map_err(|e| StoreError::Secret(e.to_string()))?;
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        tx.execute(
            "INSERT INTO wasmdesk__site (key, value) VALUES ('secret', ?1)",
            [hex],
        )?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}
