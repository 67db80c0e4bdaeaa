//! The host's own tables (namespace `wasmdesk__`), created and migrated by
//! `migrate`. Plugins can never read or write them.

use rusqlite::Connection;

use super::StoreError;

/// Bumped with every change below; stored in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 2;

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
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}
