//! Opening the site database with the settings every connection needs:
//! WAL, a busy timeout, foreign keys, and SQLite's defensive mode.

use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::limits::Limit;
use rusqlite::{Connection, OpenFlags};

use super::DatabaseError;

/// How long a connection waits for another process's write lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// SQLite's own checkpoint after a commit, as a safety net only: see
/// [`checkpoint_if_large`], which does the work.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 4096;

/// The WAL size past which [`checkpoint_if_large`] empties it.
pub const WAL_TRUNCATE_BYTES: u64 = 1024 * 1024;

/// Largest string or blob a plugin may create or store.
pub const MAX_VALUE_BYTES: i32 = 64 * 1024 * 1024;

/// Largest SQL text a plugin may send in one statement.
pub const MAX_SQL_BYTES: i32 = 1024 * 1024;

/// The most heap SQLite may use in this process: a statement that would
/// need more (a pathological full-text query, a huge sort) fails with
/// "out of memory" instead of taking the machine's memory. A plugin's own
/// statements get less: see [`HeapBudget`].
pub const SQLITE_HEAP_LIMIT: i64 = 512 * 1024 * 1024;

fn limit_sqlite_heap() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| set_heap_limit(SQLITE_HEAP_LIMIT));
}

/// Set SQLite's hard and soft heap limits to `bytes`. Both: lowering the
/// hard limit lowers the soft one with it, and raising it does not raise
/// the soft one back (a soft limit left low would keep the page cache
/// from growing for every later statement).
fn set_heap_limit(bytes: i64) {
    // SAFETY: plain setters of process-wide limits, callable at any time.
    unsafe {
        rusqlite::ffi::sqlite3_hard_heap_limit64(bytes);
        rusqlite::ffi::sqlite3_soft_heap_limit64(bytes);
    }
}

/// While it lives, SQLite may hold at most `bytes` more than it held when
/// the call began (what the plugin's memory cap leaves SQLite); dropping
/// it brings back [`SQLITE_HEAP_LIMIT`]. The limit is process-wide: this
/// is right because a process runs one plugin statement at a time and no
/// other SQLite work meanwhile (the CLI and the bridge serve one call at a
/// time, on one thread; the epoch and watchdog threads never allocate
/// through SQLite).
pub struct HeapBudget {
    /// The budget is lower than what the process-wide limit leaves.
    binding: bool,
}

/// Bytes SQLite holds in this process now.
pub fn sqlite_memory_used() -> i64 {
    // SAFETY: reads a process-wide counter.
    unsafe { rusqlite::ffi::sqlite3_memory_used() }
}

impl HeapBudget {
    /// `bytes` more than SQLite held at `baseline` (what it held when the
    /// call began: what the call's earlier statements still hold counts).
    pub fn new(baseline: i64, bytes: usize) -> HeapBudget {
        let limit = baseline
            .saturating_add(i64::try_from(bytes).unwrap_or(i64::MAX))
            .max(1);
        let binding = limit < SQLITE_HEAP_LIMIT;
        if binding {
            set_heap_limit(limit);
        }
        HeapBudget { binding }
    }

    /// Whether an "out of memory" meanwhile was the budget's doing (and not
    /// the process-wide limit's).
    pub fn binding(&self) -> bool {
        self.binding
    }
}

impl Drop for HeapBudget {
    fn drop(&mut self) {
        if self.binding {
            set_heap_limit(SQLITE_HEAP_LIMIT);
        }
    }
}

/// Open an existing site database (or create it, for `init`).
pub fn open_connection(path: &Path) -> Result<Connection, DatabaseError> {
    limit_sqlite_heap();
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| DatabaseError::Open {
        path: path.to_path_buf(),
        source: e,
    })?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Defensive mode forbids writable_schema and direct writes to shadow
    // tables; an untrusted schema stops SQL functions with side effects from
    // running inside views and triggers.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    // One plan per statement, whatever its bound values. Without it SQLite
    // marks a statement whose plan looked at a parameter (any `col = ?1`
    // on an indexed column) for re-preparing when the parameter is bound
    // anew, and rusqlite's statement cache clears the bindings of every
    // statement it takes back: every cached statement was compiled and
    // authorized again on every call.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    // Bridge processes are short-lived and each writes at least its audit
    // entry: the last one to close would checkpoint the WAL (fsyncs) on
    // its way out, a cost paid by every PHP request. Instead the WAL is
    // emptied once it passes 1 MiB (checkpoint_if_large); erasure
    // checkpoints explicitly.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Deleted content is overwritten with zeros on every connection, not
    // only during an erasure: a ticket purged from the trash, a pruned
    // audit entry or a merged full-text segment leaves no readable bytes in
    // free pages, so an erasure only has to prove the pages it rewrites.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
    Ok(conn)
}

/// Empty the WAL into the database when it has grown past
/// [`WAL_TRUNCATE_BYTES`]. A process that opens the database while no other
/// has it open rebuilds the WAL's index by reading the whole WAL, and then
/// counts every frame as not yet checkpointed: so the WAL must be emptied
/// (TRUNCATE), not merely checkpointed, or every later process pays for it
/// again. Never waits: when readers are busy it is left to the next call.
pub fn checkpoint_if_large(conn: &Connection, db_path: &Path) {
    let wal = db_path.with_extension("db-wal");
    let large = std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_TRUNCATE_BYTES);
    if !large || conn.busy_timeout(Duration::ZERO).is_err() {
        return;
    }
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    let _ = conn.busy_timeout(BUSY_TIMEOUT);
}

/// Tighten SQLite's own limits on a connection that runs plugin SQL.
pub fn restrict_for_plugin(conn: &Connection) {
    // These only fail for an out-of-range limit id, which these are not.
    let _ = conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0);
    let _ = conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES);
    let _ = conn.set_limit(Limit::SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_BYTES);
    let _ = conn.set_limit(Limit::SQLITE_LIMIT_TRIGGER_DEPTH, 32);
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::*;

    /// How often a cached `SELECT ... WHERE k = ?1` was compiled again over
    /// three uses with different values.
    fn reprepares(conn: &Connection) -> i32 {
        // The shape of the tickets plugin's tags: two indexes to choose
        // between, so the plan looks at the bound value.
        conn.execute_batch(
            "CREATE TABLE t (k INTEGER, tag TEXT, PRIMARY KEY (k, tag)) WITHOUT ROWID;
             CREATE INDEX t_tag ON t (tag, k);
             INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');",
        )
        .unwrap();
        let sql = "SELECT tag FROM t WHERE k = ?1 ORDER BY tag";
        for k in [1, 2, 3] {
            let mut stmt = conn.prepare_cached(sql).unwrap();
            let _: String = stmt.query_row([k], |r| r.get(0)).unwrap();
        }
        conn.prepare_cached(sql)
            .unwrap()
            .get_status(StatementStatus::RePrepare)
    }

    #[test]
    fn cached_statements_are_not_compiled_again_for_new_values() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_connection(&dir.path().join("site.db")).unwrap();
        assert_eq!(reprepares(&conn), 0);
        // Without the planner's stability guarantee (SQLite's default),
        // each rebinding recompiles it: what every call paid before.
        let plain = Connection::open(dir.path().join("plain.db")).unwrap();
        assert!(reprepares(&plain) >= 2);
    }
}
