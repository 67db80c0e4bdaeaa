//! Opening the site database with the settings every connection needs:
//! WAL, a busy timeout, foreign keys, and SQLite's defensive mode.

use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::limits::Limit;
use rusqlite::{Connection, OpenFlags};

use super::StoreError;

/// How long a connection waits for another process's write lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Pages in the WAL before a writer checkpoints it (see open_connection).
const WAL_AUTOCHECKPOINT_PAGES: i64 = 256;

/// Largest string or blob a plugin may create or store.
pub const MAX_VALUE_BYTES: i32 = 64 * 1024 * 1024;

/// Largest SQL text a plugin may send in one statement.
pub const MAX_SQL_BYTES: i32 = 1024 * 1024;

/// Open an existing site database (or create it, for `init`).
pub fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| StoreError::Open {
        path: path.to_path_buf(),
        source: e,
    })?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Defensive mode forbids writable_schema and direct writes to shadow
    // tables; an untrusted schema stops SQL functions with side effects from
    // running inside views and triggers.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    // Bridge processes are short-lived: the last one to close would
    // checkpoint the WAL (two fsyncs) on its way out, a cost paid by a
    // PHP request. The WAL is checkpointed as it grows instead, and
    // erasure checkpoints explicitly.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // A process that opens the database when no other has it open reads
    // the whole WAL to rebuild its index: keep the WAL near 1 MiB rather
    // than SQLite's 4 MiB, so a cold bridge call stays cheap.
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
    Ok(conn)
}

/// Tighten SQLite's own limits on a connection that runs plugin SQL.
pub fn restrict_for_plugin(conn: &Connection) {
    // These only fail for an out-of-range limit id, which these are not.
    let _ = conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0);
    let _ = conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES);
    let _ = conn.set_limit(Limit::SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_BYTES);
    let _ = conn.set_limit(Limit::SQLITE_LIMIT_TRIGGER_DEPTH, 32);
}
