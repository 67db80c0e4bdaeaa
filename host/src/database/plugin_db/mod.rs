//! A plugin's own connection to the site database: its authorizer, its
//! statement cache, its deadline, and the one transaction of each call.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use rusqlite::{Connection, ErrorCode};

use super::authorizer::SharedAuth;
use super::policy::{Access, Denial, Policy};
use super::watchdog::{Deadline, Watchdog};
use super::{DatabaseError, db};
use crate::contract::store::QueryResult;
use crate::contract::types::{self as wit, Value};

mod errors;
mod execute;
mod schema_check;
#[cfg(test)]
mod tests;
mod values;

use errors::deadline_error;
use schema_check::unowned_tables_sql;
use values::{to_wit, value_size};

/// Prepared statements kept per plugin connection (a plugin's commands
/// use dozens; the host's audit statements share the cache).
const STATEMENT_CACHE: usize = 128;

/// The most schema SQL (`CREATE` statements, in bytes) one plugin's
/// namespace may hold. The tickets plugin needs about 4 KiB.
pub const MAX_SCHEMA_BYTES: i64 = 256 * 1024;

/// How many SQLite VM steps run between two deadline checks.
const PROGRESS_STEPS: i32 = 1000;

/// Whether a call may write (commands, actions, setup) or only read (filters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallAccess {
    ReadWrite,
    ReadOnly,
}

/// Grants as the registry hands them over: (table, access), sorted.
pub type Grants = Vec<(String, Access)>;

/// How many statements' table lists are remembered before the list and
/// the statement cache are both emptied (dynamic SQL must not grow it).
const MAX_REMEMBERED_STATEMENTS: usize = 1024;

pub struct PluginDb {
    /// Declared before the connection: its thread stops first.
    _watchdog: Watchdog,
    conn: Connection,
    auth: SharedAuth,
    grants: Grants,
    deadline: Arc<Deadline>,
    call: CallState,
    /// The tables each statement reads or writes, as the authorizer saw
    /// them when it was prepared: a statement reused from the cache is not
    /// authorized again.
    statement_tables: HashMap<String, StatementTables>,
    /// Record usage for the audit log (off only when a benchmark measures
    /// what the audit log costs).
    pub(crate) track_usage: bool,
    /// The per-statement sandbox checks (off only when a benchmark measures
    /// what they cost).
    pub(crate) sandbox_checks: bool,
}

/// The tables a statement reads (`false`) or writes (`true`).
type StatementTables = Arc<[(String, bool)]>;

/// What a call did with the store, for the audit log.
#[derive(Debug, Default)]
pub struct CallUsage {
    /// By table name (lower-case).
    pub tables: BTreeMap<String, TableUse>,
    /// E-mail addresses (lower-case) in the values the plugin sent to the
    /// store or got back from it: whose data the call touched.
    pub emails: HashSet<String>,
    /// A statement that may change the database ran (a write or DDL).
    pub wrote: bool,
}

/// One table's use during a call.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableUse {
    pub table: String,
    /// Rows returned by statements that read the table; absent when none did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<u64>,
    /// Rows inserted, updated or deleted by statements that write it;
    /// absent when none did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written: Option<u64>,
}

/// What happened during the current call.
#[derive(Debug, Default)]
struct CallState {
    /// Largest result, in bytes, one statement may hand to the guest.
    result_cap: usize,
    /// The first denial: it dooms the whole call.
    denial: Option<Denial>,
    deadline_hit: bool,
    /// The store failed under the call in a way that dooms it (a full disk
    /// rolled its transaction back, a check the host runs after DDL could
    /// not run): what happened, for the caller.
    fault: Option<String>,
    /// The call's transaction ended before the host ended it: no statement
    /// runs any more in this call (it would run in autocommit and stay).
    transaction_lost: bool,
    /// SQLite's code for the last statement that failed.
    last_failure: Option<ErrorCode>,
    /// A write waited for another process's write lock until the call's
    /// deadline.
    busy: bool,
    /// A statement failed because the disk is full.
    disk_full: bool,
    /// Begin with the write lock (a call run again after a snapshot
    /// conflict).
    immediate: bool,
    /// Statements of the call that ran to the end.
    statements: u32,
    /// How many bytes SQLite may add to its heap during the call, counted
    /// from `heap_baseline` and enforced around each plugin statement:
    /// what the plugin's memory cap leaves beside its wasm memories. `None`:
    /// only the process-wide limit.
    heap_budget: Option<usize>,
    /// What SQLite held when the call began: the budget counts from here,
    /// so what the call's statements keep between them counts too.
    heap_baseline: i64,
    /// A plugin statement ran out of its heap budget.
    memory_exceeded: bool,
    /// A write of a deferred transaction found the lock taken or its
    /// snapshot stale (SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT).
    snapshot_conflict: bool,
    /// Between `begin_call` and `finish_call`.
    in_call: bool,
    access: Option<CallAccess>,
    /// The call's transaction, begun by its first statement: a call that
    /// never touches the store (a pure filter, a trivial command) costs
    /// SQLite nothing.
    in_transaction: bool,
    usage: CallUsage,
}

impl CallState {
    /// Something the call did or met fails it, whatever the plugin returns.
    fn doomed(&self) -> bool {
        self.denial.is_some()
            || self.deadline_hit
            || self.fault.is_some()
            || self.transaction_lost
            || self.busy
            || self.disk_full
            || self.snapshot_conflict
            || self.memory_exceeded
    }
}

impl PluginDb {
    /// Open the plugin's connection to `path` with the given grants.
    pub fn open(path: &Path, plugin: &str, grants: Grants) -> Result<PluginDb, DatabaseError> {
        let mut conn = db::open_connection(path)?;
        db::restrict_for_plugin(&conn);
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        let auth = SharedAuth::new(Policy::new(plugin, grants.iter().cloned()));
        auth.install(&mut conn)?;
        let deadline = Arc::new(Deadline::default());
        let watch = Arc::clone(&deadline);
        conn.progress_handler(PROGRESS_STEPS, Some(move || watch.passed()))?;
        // The backstop for work that never reaches the progress handler.
        let watchdog =
            Watchdog::start(&conn, Arc::clone(&deadline)).map_err(DatabaseError::Watchdog)?;
        Ok(PluginDb {
            _watchdog: watchdog,
            conn,
            auth,
            grants,
            deadline,
            call: CallState::default(),
            statement_tables: HashMap::new(),
            track_usage: true,
            sandbox_checks: true,
        })
    }

    pub fn policy(&self) -> Policy {
        self.auth.lock().policy.clone()
    }

    /// Start a call: bring the grants up to date; its transaction begins
    /// with its first statement.
    pub fn begin_call(
        &mut self,
        grants: Grants,
        deadline: Instant,
        result_cap: usize,
        access: CallAccess,
    ) -> Result<(), DatabaseError> {
        if grants != self.grants {
            // Statements cached under the old grants must be authorized again.
            self.conn.flush_prepared_statement_cache();
            self.statement_tables.clear();
            let plugin = self.auth.lock().policy.plugin().to_string();
            self.auth.lock().policy = Policy::new(&plugin, grants.iter().cloned());
            self.auth.install(&mut self.conn)?;
            self.grants = grants;
        }
        self.call = CallState {
            result_cap,
            heap_baseline: db::sqlite_memory_used(),
            in_call: true,
            access: Some(access),
            ..CallState::default()
        };
        {
            let mut auth = self.auth.lock();
            auth.touched.clear();
            auth.read_only = access == CallAccess::ReadOnly;
        }
        self.set_deadline(Some(deadline));
        // A write waits for another process's lock at most until the
        // call's deadline, never the connection's default 30 s.
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .min(db::BUSY_TIMEOUT);
        self.conn.busy_timeout(wait)?;
        Ok(())
    }

    /// Take the write lock when the call's transaction begins, not at its
    /// first write: for a call run again after it lost its snapshot.
    pub fn set_immediate(&mut self, immediate: bool) {
        self.call.immediate = immediate;
    }

    /// How many bytes SQLite may add to its heap while the call's next
    /// statements run (the plugin's memory cap less its wasm memories): an
    /// "out of memory" under it fails the call as the plugin's.
    pub fn set_memory_budget(&mut self, bytes: usize) {
        self.call.heap_budget = Some(bytes);
    }

    /// Whether the call failed because a statement needed more memory than
    /// its budget.
    pub fn memory_exceeded(&self) -> bool {
        self.call.memory_exceeded
    }

    /// Whether a write of the call failed because another process committed
    /// after the call had read (`SQLITE_BUSY_SNAPSHOT`): run it again with
    /// [`PluginDb::set_immediate`].
    pub fn snapshot_conflict(&self) -> bool {
        self.call.snapshot_conflict
    }

    /// Begin the call's transaction, once, before its first statement.
    fn open_transaction(&mut self) -> rusqlite::Result<()> {
        if self.call.in_transaction {
            return Ok(());
        }
        // Read before the transaction begins: a deferred transaction takes
        // its snapshot at its first read, the plugin's.
        let unowned = self.host(|c| {
            let mut stmt = c.prepare_cached(unowned_tables_sql())?;
            let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
            names.collect::<rusqlite::Result<std::collections::HashSet<String>>>()
        })?;
        self.auth.lock().unowned_tables = unowned;
        // Deferred: a call that only reads never takes the write lock, so it
        // never waits for a writer (WAL readers do not). Its first write
        // takes the lock, waiting for it up to the deadline; if another
        // process committed after the call read, that write fails with
        // SQLITE_BUSY_SNAPSHOT and the host runs the call again, IMMEDIATE.
        let begin = match (self.call.access, self.call.immediate) {
            (Some(CallAccess::ReadWrite), true) => "BEGIN IMMEDIATE",
            _ => "BEGIN",
        };
        self.host(|c| c.execute_batch(begin))?;
        self.call.in_transaction = true;
        Ok(())
    }

    /// End the call: commit if asked to and nothing doomed it, else roll back.
    /// Returns whether it committed.
    pub fn finish_call(&mut self, commit: bool) -> Result<bool, DatabaseError> {
        self.set_deadline(None);
        self.auth.lock().read_only = false;
        let was_in_call = std::mem::take(&mut self.call.in_call);
        let commit = commit && !self.call.doomed();
        if !self.call.in_transaction {
            // Nothing to commit: the call never touched the store.
            return Ok(commit && was_in_call);
        }
        self.call.in_transaction = false;
        let sql = if commit { "COMMIT" } else { "ROLLBACK" };
        match self.host(|c| c.execute_batch(sql)) {
            Ok(()) => Ok(commit),
            Err(e) => {
                // A failed COMMIT (a deferred constraint) leaves the
                // transaction open: roll it back so nothing is half-written.
                let _ = self.host(|c| c.execute_batch("ROLLBACK"));
                Err(e.into())
            }
        }
    }

    /// What the call did with the store so far; leaves it empty.
    pub fn take_usage(&mut self) -> CallUsage {
        std::mem::take(&mut self.call.usage)
    }

    /// Run host statements inside the call's open transaction (the audit
    /// entry of a call that writes is committed with its writes).
    pub(crate) fn in_call_transaction<T>(
        &mut self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        if !self.call.in_transaction || self.conn.is_autocommit() {
            // Written now, it would be committed on its own.
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ABORT),
                Some("the call's transaction is no longer open".into()),
            ));
        }
        self.host(f)
    }

    /// The first denial of the current call, if any.
    pub fn denial(&self) -> Option<&Denial> {
        self.call.denial.as_ref()
    }

    pub fn deadline_hit(&self) -> bool {
        self.call.deadline_hit
    }

    /// Whether the call waited for the write lock until its deadline.
    pub fn busy(&self) -> bool {
        self.call.busy
    }

    /// Whether a statement of the call failed on a full disk.
    pub fn disk_full(&self) -> bool {
        self.call.disk_full
    }

    /// How the store failed under the current call, if it did.
    pub fn fault(&self) -> Option<&str> {
        self.call.fault.as_deref()
    }

    /// Run host statements on this connection without the plugin's checks.
    /// Never uses the statement cache, so a plugin cannot reuse a statement
    /// the host prepared.
    /// The plugin's deadline does not interrupt them: a host check cut off
    /// halfway would let the plugin's change through unchecked.
    fn host<T>(
        &mut self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let deadline = if self.sandbox_checks {
            self.deadline.take()
        } else {
            None
        };
        self.auth.lock().bypass = true;
        let result = f(&self.conn);
        self.auth.lock().bypass = false;
        if deadline.is_some() {
            self.set_deadline(deadline);
        }
        result
    }

    fn set_deadline(&self, deadline: Option<Instant>) {
        self.deadline.set(deadline);
    }

    /// Leave the deadline to the watchdog alone, as for SQLite work that
    /// never reaches the progress handler.
    #[cfg(test)]
    fn remove_progress_handler(&mut self) {
        self.conn
            .progress_handler(0, None::<fn() -> bool>)
            .expect("the progress handler can be removed");
    }

    fn deadline_passed(&self) -> bool {
        self.deadline.passed()
    }
}

/// A comment that starts every statement the host caches on a plugin's
/// connection: rusqlite's statement cache is keyed by the SQL text, so a
/// plugin sending the host's exact text would otherwise be handed the
/// host's cached statement, authorized under the host's bypass. The tag
/// is random per process, so no plugin can know it.
pub fn host_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        let mut nonce = [0u8; 16];
        // Without randomness, fall back to the address of this static: the
        // tag is only needed to be unguessable from inside the sandbox.
        if getrandom::fill(&mut nonce).is_err() {
            nonce[..8].copy_from_slice(&(&TAG as *const _ as u64).to_le_bytes());
        }
        let hex: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        format!("/* wasmdesk host {hex} */ ")
    })
}
