//! A plugin's statement, from the store import to SQLite and back: the
//! call's transaction checked, the statement prepared under the authorizer
//! (and its schema changes verified), stepped under the heap budget and the
//! deadline, its result capped, and its use of tables and addresses noted.

use super::*;

impl PluginDb {
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

    /// After every plugin statement: is the call's transaction still open?
    /// SQLite's own flag says so (`sqlite3_get_autocommit`), whatever SQL
    /// ended it.
    pub(super) fn check_transaction(&mut self) -> Result<(), wit::StoreError> {
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
    pub(super) fn checked<T>(
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
    pub(super) fn prepare_checked(
        &mut self,
        sql: &str,
    ) -> Result<(bool, StatementTables), wit::StoreError> {
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
    pub(super) fn prepare_checked_once(
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
    pub(super) fn note_usage(
        &mut self,
        tables: &[(String, bool)],
        params: &[Value],
        result: &QueryResult,
    ) {
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

    pub(super) fn run(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> Result<QueryResult, wit::StoreError> {
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

    /// Prepare or step a plugin statement with SQLite's heap limited to the
    /// call's budget; an "out of memory" under it dooms the call. Never
    /// around host statements: they run under the process-wide limit.
    pub(super) fn under_budget<T>(
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
