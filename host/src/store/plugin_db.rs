//! A plugin's own connection to the site database: its authorizer, its
//! statement cache, its deadline, and the one transaction of each call.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, ToSql};

use super::authorizer::SharedAuth;
use super::policy::{Access, Denial, Policy};
use super::watchdog::{Deadline, Watchdog};
use super::{StoreError, db};
use crate::contract::store::QueryResult;
use crate::contract::types::{self as wit, Value};

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
    pub fn open(path: &Path, plugin: &str, grants: Grants) -> Result<PluginDb, StoreError> {
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
            Watchdog::start(&conn, Arc::clone(&deadline)).map_err(StoreError::Watchdog)?;
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
    ) -> Result<(), StoreError> {
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
    pub fn finish_call(&mut self, commit: bool) -> Result<bool, StoreError> {
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

    /// Run one plugin statement under the plugin's policy.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<QueryResult, wit::StoreError> {
        if !self.call.in_call {
            return Err(wit::StoreError::Sql(
                "the store is only open during a command, hook or privacy call".into(),
            ));
        }
        if let Some(doomed) = self.doomed_error() {
            return Err(doomed);
        }
        if self.deadline_passed() {
            self.call.deadline_hit = true;
            return Err(deadline_error());
        }
        if let Err(e) = self.open_transaction() {
            return Err(self.step_error(e));
        }
        let (changes_schema, tables) = self.prepare_checked(sql)?;
        let before = if changes_schema {
            Some(self.checked(Self::schema_names)?)
        } else {
            None
        };
        let result = self.run(sql, params);
        // Checked after every statement, whatever it was: a conflict clause
        // (`OR ROLLBACK`), `RAISE(ROLLBACK)` in a trigger, an interrupt or a
        // full disk can each end the transaction, and the statements after
        // it would run in autocommit and stay.
        self.check_transaction()?;
        if let Some(before) = before {
            self.checked(|db| db.verify_schema(&before))?;
        }
        if result.is_ok() {
            self.call.statements += 1;
        }
        if result.is_ok() && (changes_schema || tables.iter().any(|(_, write)| *write)) {
            self.call.usage.wrote = true;
        }
        if let Ok(result) = &result {
            // Always: the tables decide who may see the call's actions.
            self.note_usage(&tables, params, result);
        }
        result
    }

    /// Once the call's transaction is lost or the store failed under it
    /// (a full disk, a lock held past the deadline, a lost snapshot), no
    /// further statement runs: it would run in autocommit and stay, or wait
    /// for nothing. A plain denial lets the plugin go on (the call is rolled
    /// back all the same).
    fn doomed_error(&self) -> Option<wit::StoreError> {
        let call = &self.call;
        let message = if call.disk_full {
            "the disk holding the site database is full; the call failed"
        } else if call.memory_exceeded {
            return Some(memory_error());
        } else if call.busy {
            "another process holds the site database's write lock; the call failed"
        } else if call.snapshot_conflict {
            "another process wrote meanwhile; the host runs the call again"
        } else if call.transaction_lost || call.fault.is_some() {
            return Some(match (&call.denial, &call.fault) {
                (Some(denial), _) => wit::StoreError::AccessDenied(wit::Denial {
                    action: denial.action.clone(),
                    target: denial.target.clone(),
                    message: denial.message.clone(),
                }),
                (None, Some(fault)) => wit::StoreError::Sql(fault.clone()),
                (None, None) => deadline_error(),
            });
        } else {
            return None;
        };
        Some(wit::StoreError::Sql(message.into()))
    }

    /// After every plugin statement: is the call's transaction still open?
    /// SQLite's own flag says so (`sqlite3_get_autocommit`), whatever SQL
    /// ended it.
    fn check_transaction(&mut self) -> Result<(), wit::StoreError> {
        if !self.sandbox_checks || !self.call.in_transaction || !self.conn.is_autocommit() {
            return Ok(());
        }
        self.call.in_transaction = false;
        self.call.transaction_lost = true;
        let store_failed = matches!(
            self.call.last_failure,
            Some(
                ErrorCode::DiskFull
                    | ErrorCode::SystemIoFailure
                    | ErrorCode::OutOfMemory
                    | ErrorCode::DatabaseBusy
                    | ErrorCode::DatabaseLocked
                    | ErrorCode::DatabaseCorrupt
                    | ErrorCode::NotADatabase
                    | ErrorCode::ReadOnly
                    | ErrorCode::CannotOpen
            )
        );
        if self.call.deadline_hit || self.call.denial.is_some() || self.call.memory_exceeded {
            // SQLite rolls back a write interrupted inside a transaction,
            // and a transaction whose statement ran out of memory.
        } else if store_failed {
            self.call.fault = Some(
                "the site database failed during the call and rolled its transaction back \
                 (see the error before this one); nothing the call wrote was kept"
                    .to_string(),
            );
        } else {
            let denial = self.policy().ended_transaction();
            self.deny(denial);
        }
        Err(self.doomed_error().expect("the call is doomed"))
    }

    /// Run a check the host makes around a plugin's DDL. A check that fails
    /// for any reason other than a denial dooms the call: a plugin must not
    /// get past a check by making it fail.
    fn checked<T>(
        &mut self,
        check: impl FnOnce(&mut Self) -> Result<T, wit::StoreError>,
    ) -> Result<T, wit::StoreError> {
        let result = check(self);
        if let Err(e) = &result
            && !matches!(e, wit::StoreError::AccessDenied(_))
            && self.call.fault.is_none()
        {
            self.call.fault = Some(format!(
                "the host could not check the call's schema change ({}), so the call failed \
                 and nothing it wrote was kept",
                match e {
                    wit::StoreError::Sql(m) | wit::StoreError::LimitExceeded(m) => m.as_str(),
                    _ => "unexpected error",
                }
            ));
        }
        result
    }

    /// Prepare (or find in the cache) under the authorizer; returns whether
    /// the statement changes the schema and the tables it reads or writes.
    fn prepare_checked(&mut self, sql: &str) -> Result<(bool, StatementTables), wit::StoreError> {
        let checked = self.prepare_checked_once(sql, false)?;
        // A statement from the cache was authorized in the mode of the call
        // that prepared it: a filter must not reuse a command's write. SQLite
        // itself says whether the statement can write.
        if self.call.access == Some(CallAccess::ReadOnly) {
            let read_only = self
                .conn
                .prepare_cached(sql)
                .map(|stmt| stmt.readonly())
                .unwrap_or(false);
            if !read_only {
                let denial = self.policy().write_in_filter("");
                return Err(self.deny(denial));
            }
        }
        Ok(checked)
    }

    /// `fresh`: the statement cache was just flushed, so SQLite compiles the
    /// statement anew and consults the authorizer for everything it touches.
    fn prepare_checked_once(
        &mut self,
        sql: &str,
        fresh: bool,
    ) -> Result<(bool, StatementTables), wit::StoreError> {
        {
            let mut state = self.auth.lock();
            state.denial = None;
            state.changes_schema = false;
            state.ddl_allowed = false;
            state.bookkeeping = false;
            state.authorized = false;
            state.touched.clear();
        }
        let prepared = self.under_budget(|db| db.conn.prepare_cached(sql).map(drop));
        let (denial, changes_schema, authorized, touched) = {
            let mut state = self.auth.lock();
            (
                state.denial.take(),
                state.changes_schema,
                state.authorized,
                std::mem::take(&mut state.touched),
            )
        };
        if let Err(e) = prepared {
            return Err(self.prepare_error(e, denial));
        }
        // A statement SQLite compiles without consulting the authorizer at
        // all touches no table: `CREATE INDEX IF NOT EXISTS` of an index
        // that exists compiles to nothing (a plugin's setup re-run after an
        // update does that).
        let tables = if authorized || fresh {
            if self.statement_tables.len() >= MAX_REMEMBERED_STATEMENTS {
                self.statement_tables.clear();
                self.conn.flush_prepared_statement_cache();
            }
            let tables: StatementTables = touched
                .into_iter()
                .map(|(t, w)| (t.to_ascii_lowercase(), w))
                .collect();
            self.statement_tables
                .insert(sql.to_string(), Arc::clone(&tables));
            tables
        } else {
            match self.statement_tables.get(sql) {
                Some(tables) => Arc::clone(tables),
                None => {
                    // Cached before its tables were remembered: authorize it again.
                    self.conn.flush_prepared_statement_cache();
                    return self.prepare_checked_once(sql, true);
                }
            }
        };
        Ok((changes_schema, tables))
    }

    /// Add one statement's tables, row counts and e-mail addresses to the
    /// call's usage.
    fn note_usage(&mut self, tables: &[(String, bool)], params: &[Value], result: &QueryResult) {
        let usage = &mut self.call.usage;
        for (table, write) in tables {
            // Names are lower-cased when the statement is first prepared.
            if !usage.tables.contains_key(table) {
                usage.tables.insert(
                    table.clone(),
                    TableUse {
                        table: table.clone(),
                        ..TableUse::default()
                    },
                );
            }
            let entry = usage.tables.get_mut(table).expect("inserted above");
            if *write {
                *entry.written.get_or_insert(0) += result.rows_changed;
            } else {
                *entry.read.get_or_insert(0) += result.rows.len() as u64;
            }
        }
        if !self.track_usage {
            return;
        }
        let texts = params
            .iter()
            .chain(result.rows.iter().flatten())
            .filter_map(|v| match v {
                Value::Text(t) => Some(t.as_str()),
                _ => None,
            });
        for text in texts {
            crate::emails::collect(text, &mut usage.emails);
        }
    }

    fn run(&mut self, sql: &str, params: &[Value]) -> Result<QueryResult, wit::StoreError> {
        let cap = self.call.result_cap;
        let outcome = self.under_budget(|db| {
            let mut stmt = db.conn.prepare_cached(sql)?;
            let expected = stmt.parameter_count();
            if params.len() != expected {
                return Ok(Err(wit::StoreError::InvalidParameter(format!(
                    "the statement has {expected} placeholder(s) but {} value(s) were given",
                    params.len()
                ))));
            }
            for (i, value) in params.iter().enumerate() {
                stmt.raw_bind_parameter(i + 1, value)?;
            }
            let columns: Vec<String> = stmt.column_names().map(str::to_string).collect();
            let mut rows_out = Vec::new();
            let mut size = 0usize;
            let mut rows = stmt.raw_query();
            while let Some(row) = rows.next()? {
                let mut values = Vec::with_capacity(columns.len());
                for i in 0..columns.len() {
                    let value = to_wit(row.get_ref(i)?);
                    size += value_size(&value);
                    values.push(value);
                }
                if size > cap {
                    return Ok(Err(wit::StoreError::LimitExceeded(format!(
                        "the result is larger than the plugin's result cap of {cap} bytes: \
                         select fewer rows or columns, or page with LIMIT"
                    ))));
                }
                rows_out.push(values);
            }
            drop(rows);
            Ok(Ok(QueryResult {
                columns,
                rows: rows_out,
                rows_changed: db.conn.changes(),
                last_insert_rowid: db.conn.last_insert_rowid(),
            }))
        });
        match outcome {
            Ok(result) => result,
            Err(e) => Err(self.step_error(e)),
        }
    }

    fn prepare_error(&mut self, error: rusqlite::Error, denial: Option<Denial>) -> wit::StoreError {
        if let Some(denial) = denial {
            return self.deny(denial);
        }
        // A missing table the plugin could not see anyway is reported exactly
        // like an existing one it may not read: denials reveal nothing.
        let message = sqlite_message(&error);
        if let Some(name) = message.strip_prefix("no such table: ") {
            let table = name.rsplit('.').next().unwrap_or(name);
            let policy = self.policy();
            if !policy.allows(table, Access::Read)
                && let Err(denial) = policy.check(super::policy::Request::Read { table }, None)
            {
                return self.deny(denial);
            }
        }
        self.step_error(error)
    }

    fn step_error(&mut self, error: rusqlite::Error) -> wit::StoreError {
        self.call.last_failure = error.sqlite_error_code();
        if let rusqlite::Error::SqliteFailure(e, _) = &error
            && matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        {
            if self.call.immediate || self.call.statements == 0 {
                // Waited for the write lock as long as the deadline allows
                // (a first statement waits, like BEGIN IMMEDIATE).
                self.call.busy = true;
            } else {
                // A deferred transaction that read cannot wait for the
                // write lock (SQLite refuses at once, or its snapshot is
                // stale): the host runs the call again, IMMEDIATE.
                self.call.snapshot_conflict = true;
            }
        }
        if self.call.last_failure == Some(ErrorCode::DiskFull) {
            // The host's condition: the call fails as `storage_full`,
            // whatever the plugin makes of the error.
            self.call.disk_full = true;
        }
        // Re-preparing an expired statement runs the authorizer again.
        let denial = self.auth.lock().denial.take();
        if let Some(denial) = denial {
            return self.deny(denial);
        }
        // Past the deadline, any failure is the deadline's: the watchdog's
        // interrupt may land inside SQLite's own nested work (the schema
        // re-parse of an ALTER TABLE RENAME), which reports it as a plain
        // error ("error in table X: interrupted").
        if self.deadline_passed() {
            self.call.deadline_hit = true;
            return deadline_error();
        }
        match error.sqlite_error_code() {
            Some(ErrorCode::OperationInterrupted) => {
                self.call.deadline_hit = true;
                deadline_error()
            }
            Some(ErrorCode::OutOfMemory) if self.call.memory_exceeded => memory_error(),
            Some(ErrorCode::TooBig) => wit::StoreError::LimitExceeded(format!(
                "{}: a string or blob is larger than the host allows",
                sqlite_message(&error)
            )),
            _ => match error {
                rusqlite::Error::InvalidParameterName(_)
                | rusqlite::Error::InvalidParameterCount(..)
                | rusqlite::Error::ToSqlConversionFailure(_) => {
                    wit::StoreError::InvalidParameter(error.to_string())
                }
                other => wit::StoreError::Sql(sqlite_message(&other)),
            },
        }
    }

    fn deny(&mut self, denial: Denial) -> wit::StoreError {
        self.call.denial.get_or_insert_with(|| denial.clone());
        wit::StoreError::AccessDenied(wit::Denial {
            action: denial.action,
            target: denial.target,
            message: denial.message,
        })
    }

    /// Every schema object as (name, table it belongs to), for comparing
    /// around a DDL statement.
    fn schema_names(&mut self) -> Result<BTreeSet<(String, String)>, wit::StoreError> {
        self.host(|c| {
            let mut stmt =
                c.prepare("SELECT lower(name), lower(tbl_name) FROM main.sqlite_schema")?;
            let names =
                stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            names.collect::<rusqlite::Result<BTreeSet<(String, String)>>>()
        })
        .map_err(|e| wit::StoreError::Sql(sqlite_message(&e)))
    }

    /// After DDL: every new object lies in the namespace (ALTER TABLE RENAME
    /// is not visible to the authorizer), and foreign keys of the plugin's
    /// tables point only at tables it may read (a foreign key check would
    /// otherwise reveal another table's rows).
    fn verify_schema(
        &mut self,
        before: &BTreeSet<(String, String)>,
    ) -> Result<(), wit::StoreError> {
        let policy = self.policy();
        let prefix = policy.namespace().prefix().to_string();
        let after = self.schema_names()?;
        let ns = policy.namespace();
        let outside = |(name, table): &&(String, String)| {
            let own = ns.owns(name) && ns.owns(table);
            let auto_index = super::policy::is_auto_index(name) && ns.owns(table);
            !(own || auto_index || name == "sqlite_sequence")
        };
        if let Some((name, _)) = after.difference(before).find(outside) {
            let denial = Denial {
                action: "alter".into(),
                target: name.clone(),
                message: format!(
                    "plugin \"{}\" may not create or rename objects outside its namespace \
                     ({prefix}*): {name}",
                    policy.plugin()
                ),
            };
            return Err(self.deny(denial));
        }
        let foreign = self
            .host(|c| {
                let mut stmt = c.prepare(
                    "SELECT m.name, f.\"table\" FROM main.sqlite_schema AS m, \
                     pragma_foreign_key_list(m.name) AS f \
                     WHERE m.type = 'table' AND lower(substr(m.name, 1, length(?1))) = ?1",
                )?;
                let pairs = stmt.query_map([&prefix], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?;
                pairs.collect::<rusqlite::Result<Vec<(String, String)>>>()
            })
            .map_err(|e| wit::StoreError::Sql(sqlite_message(&e)))?;
        if let Some((table, target)) = foreign.iter().find(|(_, t)| !ns.owns(t)) {
            let denial = Denial {
                action: "reference".into(),
                target: target.clone(),
                message: format!(
                    "plugin \"{}\" may not reference table {target} from {table}: a foreign key \
                     into another namespace would block that table's deletes (and so erasure); \
                     keep the id in a plain column instead",
                    policy.plugin()
                ),
            };
            return Err(self.deny(denial));
        }
        let size: i64 = self
            .host(|c| {
                c.query_row(
                    "SELECT coalesce(sum(length(sql)), 0) FROM main.sqlite_schema \
                     WHERE lower(substr(tbl_name, 1, length(?1))) = ?1",
                    [&prefix],
                    |r| r.get(0),
                )
            })
            .map_err(|e| wit::StoreError::Sql(sqlite_message(&e)))?;
        if size > MAX_SCHEMA_BYTES {
            let denial = Denial {
                action: "create".into(),
                target: prefix.clone(),
                message: format!(
                    "plugin \"{}\" may not keep more than {} KiB of schema SQL in its namespace \
                     ({prefix}*): this change would make it {} KiB; every process parses the \
                     whole schema, so a bloated one slows every plugin",
                    policy.plugin(),
                    MAX_SCHEMA_BYTES / 1024,
                    size / 1024
                ),
            };
            return Err(self.deny(denial));
        }
        Ok(())
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

    /// Prepare or step a plugin statement with SQLite's heap limited to the
    /// call's budget; an "out of memory" under it dooms the call. Never
    /// around host statements: they run under the process-wide limit.
    fn under_budget<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let baseline = self.call.heap_baseline;
        let budget = self
            .call
            .heap_budget
            .map(|bytes| db::HeapBudget::new(baseline, bytes));
        let result = f(self);
        // Dropped here: the process-wide limit is back.
        let binding = budget.is_some_and(|b| b.binding());
        if binding
            && let Err(e) = &result
            && e.sqlite_error_code() == Some(ErrorCode::OutOfMemory)
        {
            self.call.memory_exceeded = true;
        }
        result
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

/// Tables and views outside every plugin namespace (no `__` in the name).
fn unowned_tables_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "{}SELECT lower(name) FROM main.sqlite_schema \
             WHERE type IN ('table', 'view') AND instr(name, '__') < 2 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
            host_tag()
        )
    })
}

fn memory_error() -> wit::StoreError {
    wit::StoreError::LimitExceeded(
        "out of memory: the statement needed more memory than the plugin's memory cap leaves \
         it; the call failed"
            .into(),
    )
}

fn deadline_error() -> wit::StoreError {
    wit::StoreError::LimitExceeded(
        "the call ran past its deadline; the statement was interrupted".into(),
    )
}

/// SQLite's own message, without rusqlite's decoration.
fn sqlite_message(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(e, Some(message)) => {
            if e.code == ErrorCode::AuthorizationForStatementDenied {
                "not authorized".to_string()
            } else {
                message.clone()
            }
        }
        other => other.to_string(),
    }
}

fn to_wit(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

fn value_size(value: &Value) -> usize {
    16 + match value {
        Value::Text(t) => t.len(),
        Value::Blob(b) => b.len(),
        _ => 0,
    }
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Integer(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn db_in_call(dir: &Path, deadline: Instant) -> PluginDb {
        let mut db = PluginDb::open(&dir.join("site.db"), "probe", vec![]).unwrap();
        db.begin_call(vec![], deadline, 1 << 20, CallAccess::ReadWrite)
            .unwrap();
        db
    }

    const SLOW: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                        LIMIT 300000) SELECT count(*) FROM c";

    #[test]
    fn the_plugins_deadline_does_not_interrupt_the_hosts_own_checks() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = db_in_call(dir.path(), Instant::now() - Duration::from_secs(1));
        let counted: i64 = db.host(|c| c.query_row(SLOW, [], |r| r.get(0))).unwrap();
        assert_eq!(counted, 300_000);
        // ... while the plugin's own statements stop at it.
        db.set_deadline(Some(Instant::now() + Duration::from_millis(20)));
        std::thread::sleep(Duration::from_millis(30));
        assert!(db.execute(SLOW, &[]).is_err());
        assert!(db.deadline_hit());
    }

    /// Counts to a billion: minutes, unless something stops it.
    const ENDLESS: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                           WHERE x < 1000000000) SELECT count(*) FROM c";

    /// Interrupts `db`'s statement after `after` unless dropped first: a
    /// test without a working watchdog fails instead of hanging.
    fn referee(db: &PluginDb, after: Duration) -> std::sync::mpsc::Sender<()> {
        let (cancel, cancelled) = std::sync::mpsc::channel::<()>();
        let handle = db.conn.get_interrupt_handle();
        std::thread::spawn(move || {
            if cancelled.recv_timeout(after) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                handle.interrupt();
            }
        });
        cancel
    }

    #[test]
    fn the_watchdog_stops_sql_the_progress_handler_never_sees_but_not_the_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = db_in_call(dir.path(), Instant::now() + Duration::from_millis(100));
        db.remove_progress_handler();
        let referee = referee(&db, Duration::from_secs(10));
        let started = Instant::now();
        let result = db.execute(ENDLESS, &[]);
        let took = started.elapsed();
        assert!(
            matches!(&result, Err(wit::StoreError::LimitExceeded(m)) if m.contains("deadline")),
            "{result:?}"
        );
        assert!(db.deadline_hit());
        assert!(
            took < Duration::from_secs(2),
            "stopped after {took:?}, not by the watchdog"
        );
        // The passed deadline stays set, so the watchdog keeps interrupting,
        // but never a host statement (this one runs for many of its rounds).
        let counted: i64 = db
            .host(|c| {
                c.query_row(
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                     WHERE x < 2000000) SELECT count(*) FROM c",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap();
        assert_eq!(counted, 2_000_000);
        assert!(!db.finish_call(true).unwrap());
        drop(referee);
        // Dropping the connection stops and joins its watchdog.
        let started = Instant::now();
        drop(db);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    /// A plugin statement that builds a 20 MB string in SQLite's heap
    /// (10 000 hex strings of 2 000 characters and 9 999 commas).
    const HUNGRY: &str = "SELECT length(group_concat(hex(randomblob(1000)))) FROM \
                          (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                          WHERE x < 10000) SELECT x FROM c)";

    const MIB: usize = 1024 * 1024;

    #[test]
    fn sqlite_memory_over_the_plugins_budget_fails_the_call_and_the_next_call_works() {
        // SQLite's heap limit is process-wide and the other tests of this
        // binary run on threads beside this one: run it in a process alone.
        let name = "store::plugin_db::tests::heap_budget_alone";
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--ignored", "--test-threads=1"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    #[ignore = "run in a process of its own by \
                sqlite_memory_over_the_plugins_budget_fails_the_call_and_the_next_call_works"]
    fn heap_budget_alone() {
        let limits = || unsafe {
            (
                rusqlite::ffi::sqlite3_hard_heap_limit64(-1),
                rusqlite::ffi::sqlite3_soft_heap_limit64(-1),
            )
        };
        let dir = tempfile::tempdir().unwrap();
        let mut db = db_in_call(dir.path(), Instant::now() + Duration::from_secs(60));
        db.set_memory_budget(16 * MIB);
        db.execute("CREATE TABLE probe__t (a)", &[]).unwrap();
        let result = db.execute(HUNGRY, &[]);
        assert!(
            matches!(&result, Err(wit::StoreError::LimitExceeded(m)) if m.contains("out of memory")),
            "{result:?}"
        );
        assert!(db.memory_exceeded());
        assert!(!db.deadline_hit() && db.fault().is_none() && db.denial().is_none());
        // The host's statements run under the process-wide limit again.
        assert_eq!(limits(), (db::SQLITE_HEAP_LIMIT, db::SQLITE_HEAP_LIMIT));
        // No further statement runs, and nothing commits.
        assert!(db.execute("INSERT INTO probe__t VALUES (1)", &[]).is_err());
        assert!(!db.finish_call(true).unwrap());
        // The next call works; with room, the same statement runs.
        db.begin_call(
            vec![],
            Instant::now() + Duration::from_secs(60),
            1 << 20,
            CallAccess::ReadWrite,
        )
        .unwrap();
        db.set_memory_budget(64 * MIB);
        db.execute("CREATE TABLE probe__t (a)", &[]).unwrap();
        let result = db.execute(HUNGRY, &[]).unwrap();
        assert!(
            matches!(result.rows.as_slice(), [row] if matches!(row.as_slice(), [Value::Integer(20_009_999)])),
            "{:?}",
            result.rows
        );
        assert!(db.finish_call(true).unwrap());
        assert_eq!(limits(), (db::SQLITE_HEAP_LIMIT, db::SQLITE_HEAP_LIMIT));
        let ok: String = db
            .host(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get(0)))
            .unwrap();
        assert_eq!(ok, "ok");
    }

    #[test]
    fn a_check_that_fails_dooms_the_call() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = db_in_call(dir.path(), Instant::now() + Duration::from_secs(60));
        db.execute("CREATE TABLE probe__t (a)", &[]).unwrap();
        let failed: Result<(), wit::StoreError> =
            db.checked(|_| Err(wit::StoreError::Sql("interrupted".into())));
        assert!(failed.is_err());
        assert!(db.fault().unwrap().contains("interrupted"));
        // No statement runs after it, and nothing commits.
        assert!(db.execute("INSERT INTO probe__t VALUES (1)", &[]).is_err());
        assert!(!db.finish_call(true).unwrap());
        drop(db);
        let conn = rusqlite::Connection::open(dir.path().join("site.db")).unwrap();
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'probe__t'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0);
    }
}
