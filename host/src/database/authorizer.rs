//! SQLite's authorizer callback, wired to a plugin's [`Policy`]. Runs as each
//! statement is prepared and records what it refused, for the caller to report.

use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};

use super::namespace::{self, Namespace};
use super::policy::{Denial, Object, Policy, Request, SchemaOp};

/// The authorizer's state, shared between the callback and the connection.
#[derive(Debug)]
pub struct AuthState {
    pub policy: Policy,
    /// The host's own statements on the plugin's connection pass unchecked.
    pub bypass: bool,
    /// The first denial while preparing the current statement.
    pub denial: Option<Denial>,
    /// The current statement creates or alters schema objects: the host
    /// verifies the schema after it runs (renames, foreign keys).
    pub changes_schema: bool,
    /// The current statement is DDL the policy allowed: SQLite's own nested
    /// statements that update the schema table may then read it.
    pub ddl_allowed: bool,
    /// SQLite's own nested bookkeeping of allowed DDL has begun: it writes
    /// the schema table (or renames, for ALTER TABLE) before it reads it.
    /// Reads of the schema table before that come from the plugin's own
    /// SQL (`CREATE TABLE t AS SELECT ... FROM sqlite_schema`) and are denied.
    pub bookkeeping: bool,
    /// Real tables and views outside every namespace (lower-cased); usually
    /// none. Any other un-namespaced name a statement reads is a CTE.
    pub unowned_tables: std::collections::HashSet<String>,
    /// The call may only read (a filter): every write is denied.
    pub read_only: bool,
    /// The authorizer ran while preparing the current statement (it does
    /// not run for a statement taken from the cache).
    pub authorized: bool,
    /// Tables the current statement may read (`false`) or write (`true`),
    /// for the audit log.
    pub touched: Vec<(String, bool)>,
}

#[derive(Debug, Clone)]
pub struct SharedAuth(Arc<Mutex<AuthState>>);

impl SharedAuth {
    pub fn new(policy: Policy) -> SharedAuth {
        SharedAuth(Arc::new(Mutex::new(AuthState {
            policy,
            bypass: false,
            denial: None,
            changes_schema: false,
            ddl_allowed: false,
            bookkeeping: false,
            unowned_tables: Default::default(),
            read_only: false,
            authorized: false,
            touched: Vec::new(),
        })))
    }

    pub fn lock(&self) -> MutexGuard<'_, AuthState> {
        // A panic while holding this lock would already have aborted the
        // call; the state is plain data, so a poisoned lock is still usable.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Install the callback on `conn`. Installing expires the connection's
    /// prepared statements, so they are authorized again on next use.
    pub fn install(&self, conn: &mut Connection) -> rusqlite::Result<()> {
        let shared = self.clone();
        conn.authorizer(Some(move |ctx: AuthContext<'_>| shared.decide(ctx)))
    }

    fn decide(&self, ctx: AuthContext<'_>) -> Authorization {
        let mut state = self.lock();
        if state.bypass {
            return Authorization::Allow;
        }
        state.authorized = true;
        let request = match to_request(&ctx) {
            Some(request) => request,
            None => Request::Other {
                what: "TEMP-schema or attached-database",
            },
        };
        if matches!(
            request,
            Request::Schema {
                op: SchemaOp::Create | SchemaOp::Alter,
                ..
            } | Request::VirtualTable { .. }
        ) {
            state.changes_schema = true;
        }
        if state.read_only {
            let target = match request {
                Request::Write { table } => Some(table),
                Request::Schema { name, .. } | Request::VirtualTable { name, .. } => Some(name),
                Request::SchemaTableWrite | Request::TempObject { .. } => Some(""),
                _ => None,
            };
            if let Some(target) = target {
                let denial = state.policy.write_in_filter(target);
                state.denial.get_or_insert(denial);
                return Authorization::Deny;
            }
        }
        if let Request::Read { table } = request {
            // Only SQLite's nested statements, never a view or a trigger:
            // those carry the plugin's own SQL.
            if is_bookkeeping_table(table) && state.bookkeeping && ctx.accessor.is_none() {
                return Authorization::Allow;
            }
            if is_cte(table, &state.unowned_tables) {
                return Authorization::Allow;
            }
        }
        if let Request::Write { table } = request
            && state.ddl_allowed
            && ctx.accessor.is_none()
            && table.eq_ignore_ascii_case("sqlite_sequence")
        {
            // ALTER TABLE RENAME renames the table's AUTOINCREMENT row,
            // DROP TABLE deletes it.
            state.bookkeeping = true;
            return Authorization::Allow;
        }
        match state.policy.check(request, ctx.accessor) {
            Ok(()) => {
                state.note_touched(request);
                match request {
                    Request::Schema { op, .. } | Request::VirtualTable { op, .. } => {
                        state.ddl_allowed = true;
                        // ALTER TABLE has no SELECT of the plugin's own: what
                        // it reads of the schema is SQLite's rewriting.
                        if op == SchemaOp::Alter {
                            state.bookkeeping = true;
                        }
                    }
                    Request::SchemaTableWrite if state.ddl_allowed && ctx.accessor.is_none() => {
                        state.bookkeeping = true;
                    }
                    _ => {}
                }
                Authorization::Allow
            }
            Err(denial) => {
                state.denial.get_or_insert(denial);
                Authorization::Deny
            }
        }
    }
}

impl AuthState {
    /// Remember a real table an allowed statement reads or writes.
    fn note_touched(&mut self, request: Request<'_>) {
        let (table, write) = match request {
            Request::Read { table } => (table, false),
            Request::Write { table } => (table, true),
            _ => return,
        };
        if namespace::is_sqlite_internal(table) {
            return;
        }
        let known = self
            .touched
            .iter()
            .any(|(t, w)| *w == write && t.eq_ignore_ascii_case(table));
        if !known {
            self.touched.push((table.to_string(), write));
        }
    }
}

const SCHEMA_TABLES: &[&str] = &[
    "sqlite_master",
    "sqlite_schema",
    "sqlite_temp_master",
    "sqlite_temp_schema",
];

fn is_schema_table(name: &str) -> bool {
    SCHEMA_TABLES.iter().any(|t| t.eq_ignore_ascii_case(name))
}

/// Tables SQLite's own nested statements read during allowed DDL.
fn is_bookkeeping_table(name: &str) -> bool {
    is_schema_table(name) || name.eq_ignore_ascii_case("sqlite_sequence")
}

/// Table-valued functions that reveal other tables; never a CTE.
const REVEALING_FUNCTIONS: &[&str] = &["dbstat", "sqlite_dbpage", "sqlite_stmt"];

/// SQLite reports reads of a common table expression as reads of a table
/// with the CTE's name. Plugins can only create namespaced tables, so a name
/// outside every namespace that is no real table is a CTE.
fn is_cte(name: &str, unowned_tables: &std::collections::HashSet<String>) -> bool {
    let lower = name.to_ascii_lowercase();
    Namespace::containing(name).is_none()
        && !namespace::is_sqlite_internal(name)
        && !lower.starts_with("pragma_")
        && !REVEALING_FUNCTIONS.contains(&lower.as_str())
        && !unowned_tables.contains(&lower)
}

/// Translate SQLite's action codes into policy requests. `None` for an
/// action on a database other than `main` (TEMP, or anything attached).
fn to_request<'a>(ctx: &AuthContext<'a>) -> Option<Request<'a>> {
    use AuthAction as A;
    use Object as O;
    use SchemaOp as S;
    let schema = |op, object, name, on_table| Request::Schema {
        op,
        object,
        name,
        on_table,
    };
    let on_main = matches!(ctx.database_name, None | Some("main"));
    let request = match ctx.action {
        A::Read { table_name, .. } => Request::Read { table: table_name },
        A::Insert { table_name } | A::Delete { table_name } | A::Update { table_name, .. } => {
            if is_schema_table(table_name) {
                Request::SchemaTableWrite
            } else {
                Request::Write { table: table_name }
            }
        }
        A::CreateTable { table_name } => schema(S::Create, O::Table, table_name, None),
        A::DropTable { table_name } => schema(S::Drop, O::Table, table_name, None),
        A::AlterTable { table_name, .. } => schema(S::Alter, O::Table, table_name, None),
        A::CreateIndex {
            index_name,
            table_name,
        } => schema(S::Create, O::Index, index_name, Some(table_name)),
        A::DropIndex {
            index_name,
            table_name,
        } => schema(S::Drop, O::Index, index_name, Some(table_name)),
        A::CreateTrigger {
            trigger_name,
            table_name,
        } => schema(S::Create, O::Trigger, trigger_name, Some(table_name)),
        A::DropTrigger {
            trigger_name,
            table_name,
        } => schema(S::Drop, O::Trigger, trigger_name, Some(table_name)),
        A::CreateView { view_name } => schema(S::Create, O::View, view_name, None),
        A::DropView { view_name } => schema(S::Drop, O::View, view_name, None),
        A::CreateVtable {
            table_name,
            module_name,
        } => Request::VirtualTable {
            op: S::Create,
            name: table_name,
            module: module_name,
        },
        A::DropVtable {
            table_name,
            module_name,
        } => Request::VirtualTable {
            op: S::Drop,
            name: table_name,
            module: module_name,
        },
        A::CreateTempTable { table_name: name }
        | A::DropTempTable { table_name: name }
        | A::CreateTempView { view_name: name }
        | A::DropTempView { view_name: name }
        | A::CreateTempIndex {
            index_name: name, ..
        }
        | A::DropTempIndex {
            index_name: name, ..
        }
        | A::CreateTempTrigger {
            trigger_name: name, ..
        }
        | A::DropTempTrigger {
            trigger_name: name, ..
        } => Request::TempObject { name },
        A::Pragma {
            pragma_name,
            pragma_value,
        } => Request::Pragma {
            name: pragma_name,
            arg: pragma_value,
        },
        A::Function { function_name } => Request::Function {
            name: function_name,
        },
        A::Attach { .. } => Request::Attach,
        A::Detach { .. } => Request::Detach,
        A::Transaction { .. } => Request::Transaction,
        A::Savepoint { .. } => Request::Savepoint,
        A::Select => Request::Select,
        A::Recursive => Request::Recursive,
        // CREATE INDEX rebuilds the new index: allowed in the namespace.
        A::Reindex { index_name } => schema(S::Alter, O::Index, index_name, None),
        A::Analyze { .. } => Request::Other { what: "ANALYZE" },
        _ => Request::Other {
            what: "unrecognised",
        },
    };
    // TEMP and attached schemas are never a plugin's; pragmas and functions
    // carry no database name of their own that matters here.
    // SQLite's own schema bookkeeping (ALTER TABLE updates the TEMP schema
    // table too) is allowed on any schema; the DDL request decides.
    let schema_bookkeeping = match request {
        Request::Read { table } => is_schema_table(table),
        Request::SchemaTableWrite => true,
        _ => false,
    };
    let needs_main = !schema_bookkeeping
        && !matches!(
            request,
            Request::Pragma { .. }
                | Request::Function { .. }
                | Request::Select
                | Request::Recursive
                | Request::Transaction
                | Request::Savepoint
                | Request::Attach
                | Request::Detach
                | Request::TempObject { .. }
        );
    if needs_main && !on_main {
        return None;
    }
    Some(request)
}
