//! The capability check: may this plugin do this to that table? A small pure
//! type, fed by the SQLite authorizer (`authorizer.rs`), unit-tested here.

use std::collections::HashMap;
use std::fmt;

use super::namespace::{self, Namespace};

/// What a grant allows on one table (`read` or `write` in manifests,
/// on the command line and in JSON).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Read,
    /// Insert, update and delete rows; implies read.
    Write,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }

    pub fn parse(s: &str) -> Option<Access> {
        match s {
            "read" => Some(Access::Read),
            "write" => Some(Access::Write),
            _ => None,
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A statement part the plugin was refused. Mirrors the WIT `denial` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// `read`, `write`, `create`, `drop`, `alter`, `attach`, `pragma`, ...
    pub action: String,
    /// The table, pragma or function refused; empty when none.
    pub target: String,
    /// Names the plugin, what it tried and what the site owner can do.
    pub message: String,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Schema objects a plugin may create, drop or alter in its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    Table,
    Index,
    Trigger,
    View,
}

impl Object {
    fn noun(self) -> &'static str {
        match self {
            Object::Table => "table",
            Object::Index => "index",
            Object::Trigger => "trigger",
            Object::View => "view",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaOp {
    Create,
    Drop,
    Alter,
}

impl SchemaOp {
    fn verb(self) -> &'static str {
        match self {
            SchemaOp::Create => "create",
            SchemaOp::Drop => "drop",
            SchemaOp::Alter => "alter",
        }
    }
}

/// One thing a statement wants to do, as the authorizer reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    Read {
        table: &'a str,
    },
    Write {
        table: &'a str,
    },
    /// A change to the schema table that always comes with a `Schema`
    /// request for the object itself, which decides.
    SchemaTableWrite,
    Schema {
        op: SchemaOp,
        object: Object,
        name: &'a str,
        on_table: Option<&'a str>,
    },
    /// CREATE VIRTUAL TABLE ... USING module
    VirtualTable {
        op: SchemaOp,
        name: &'a str,
        module: &'a str,
    },
    TempObject {
        name: &'a str,
    },
    Pragma {
        name: &'a str,
        arg: Option<&'a str>,
    },
    Function {
        name: &'a str,
    },
    Attach,
    Detach,
    Transaction,
    Savepoint,
    Select,
    Recursive,
    /// Anything else (REINDEX, ANALYZE, codes newer than this host).
    Other {
        what: &'a str,
    },
}

/// Read-only PRAGMAs about one of the plugin's own tables or indexes.
const SCHEMA_PRAGMAS: &[&str] = &[
    "table_info",
    "table_xinfo",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
];

/// SQL functions no plugin may call.
const DENIED_FUNCTIONS: &[&str] = &["load_extension", "fts3_tokenizer"];

/// Virtual table modules a plugin may use in its namespace.
const ALLOWED_MODULES: &[&str] = &["fts5", "rtree"];

/// Whether SQLite named this index itself (for a UNIQUE or PRIMARY KEY).
pub fn is_auto_index(name: &str) -> bool {
    name.len() > 17 && namespace::starts_with_ignore_case(name, "sqlite_autoindex_")
}

/// What one plugin may do: its own namespace plus the grants the site owner
/// approved.
#[derive(Debug, Clone)]
pub struct Policy {
    plugin: String,
    namespace: Namespace,
    /// Lower-cased table name -> access.
    grants: HashMap<String, Access>,
}

impl Policy {
    pub fn new(plugin: &str, grants: impl IntoIterator<Item = (String, Access)>) -> Policy {
        let mut map: HashMap<String, Access> = HashMap::new();
        for (table, access) in grants {
            let entry = map.entry(table.to_ascii_lowercase()).or_insert(access);
            *entry = (*entry).max(access);
        }
        Policy {
            plugin: plugin.to_string(),
            namespace: Namespace::of(plugin),
            grants: map,
        }
    }

    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// Whether the plugin may read (or write) `table` by namespace or grant.
    pub fn allows(&self, table: &str, access: Access) -> bool {
        if self.namespace.owns(table) {
            return true;
        }
        if namespace::is_host_table(table) {
            return false;
        }
        match self.grants.get(&table.to_ascii_lowercase()) {
            Some(granted) => *granted >= access,
            None => false,
        }
    }

    /// Decide one request. `accessor` is the innermost trigger or view the
    /// request comes from: views and triggers never widen access, so what
    /// they touch must also lie in the namespace of the plugin that made them.
    pub fn check(&self, request: Request<'_>, accessor: Option<&str>) -> Result<(), Denial> {
        if let Some(object) = accessor {
            self.check_definer(request, object)?;
        }
        match request {
            Request::Read { table } => self.check_table(table, Access::Read),
            Request::Write { table } => self.check_table(table, Access::Write),
            Request::SchemaTableWrite
            | Request::Select
            | Request::Recursive
            | Request::Savepoint => Ok(()),
            Request::Schema {
                op,
                object,
                name,
                on_table,
            } => {
                // UNIQUE and PRIMARY KEY constraints make indexes SQLite names
                // itself; the table they are on decides.
                let auto_index =
                    object == Object::Index && on_table.is_some() && is_auto_index(name);
                // AUTOINCREMENT makes SQLite create its shared counter table.
                let sequence = object == Object::Table
                    && op == SchemaOp::Create
                    && name.eq_ignore_ascii_case("sqlite_sequence");
                if !auto_index && !sequence && !self.namespace.owns(name) {
                    return Err(self.outside_namespace(op, object.noun(), name));
                }
                match on_table {
                    Some(table) if !self.namespace.owns(table) => Err(self.outside_namespace(
                        op,
                        &format!("{} on table", object.noun()),
                        table,
                    )),
                    _ => Ok(()),
                }
            }
            Request::VirtualTable { op, name, module } => {
                if !self.namespace.owns(name) {
                    return Err(self.outside_namespace(op, "virtual table", name));
                }
                if ALLOWED_MODULES
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(module))
                {
                    Ok(())
                } else {
                    Err(self.deny(
                        "create",
                        module,
                        format!(
                            "may not use the virtual table module {module:?}: the host allows {}",
                            ALLOWED_MODULES.join(", ")
                        ),
                    ))
                }
            }
            Request::TempObject { name } => Err(self.deny(
                "create",
                name,
                "may not create TEMP objects: they would outlive the call on a shared \
                 connection; use a table in the plugin's namespace"
                    .to_string(),
            )),
            Request::Pragma { name, arg } => {
                let schema_pragma = SCHEMA_PRAGMAS.iter().any(|p| p.eq_ignore_ascii_case(name));
                match arg {
                    Some(object) if schema_pragma && self.namespace.owns(object) => Ok(()),
                    // FTS5 reads it to notice other connections' writes.
                    None if name.eq_ignore_ascii_case("data_version") => Ok(()),
                    _ => Err(self.deny(
                        "pragma",
                        name,
                        format!(
                            "may not run PRAGMA {name}: the host owns the database settings; \
                             plugins may only read the schema of their own tables ({})",
                            SCHEMA_PRAGMAS.join(", ")
                        ),
                    )),
                }
            }
            Request::Function { name } => {
                if DENIED_FUNCTIONS
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case(name))
                {
                    Err(self.deny("function", name, format!("may not call {name}()")))
                } else {
                    Ok(())
                }
            }
            Request::Attach | Request::Detach => Err(self.deny(
                "attach",
                "",
                "may not ATTACH or DETACH databases: a plugin reaches only the site database, \
                 through its namespace and its grants"
                    .to_string(),
            )),
            Request::Transaction => Err(self.deny(
                "transaction",
                "",
                "may not BEGIN, COMMIT or ROLLBACK: the host runs each call in one transaction; \
                 use SAVEPOINT for a partial rollback"
                    .to_string(),
            )),
            Request::Other { what } => {
                Err(self.deny("other", what, format!("may not run {what} statements")))
            }
        }
    }

    fn check_table(&self, table: &str, access: Access) -> Result<(), Denial> {
        // The plugin's own namespace comes first: a plugin whose id starts
        // with `pragma` owns `pragma_x__*` tables, which are no pragma.
        if self.namespace.owns(table) {
            return Ok(());
        }
        if let Some(pragma) = table
            .get(7..)
            .filter(|_| namespace::starts_with_ignore_case(table, "pragma_"))
        {
            return Err(self.deny(
                "pragma",
                table,
                format!(
                    "may not use {table}(): run PRAGMA {pragma}(TABLE) on one of its own tables instead"
                ),
            ));
        }
        if namespace::is_sqlite_internal(table) {
            return Err(self.deny(
                access.as_str(),
                table,
                format!("may not {access} {table}: SQLite's internal tables are the host's"),
            ));
        }
        if self.allows(table, access) {
            return Ok(());
        }
        let message = if namespace::is_host_table(table) {
            format!("may not {access} table {table}: it belongs to the host and cannot be granted")
        } else {
            format!(
                "may not {access} table {table}: grant it with: wasmdesk plugin grant {} {access}:{table}",
                self.plugin
            )
        };
        Err(self.deny(access.as_str(), table, message))
    }

    /// Views and triggers act only inside their creator's namespace.
    fn check_definer(&self, request: Request<'_>, object: &str) -> Result<(), Denial> {
        let table = match request {
            Request::Read { table } | Request::Write { table } => table,
            _ => return Ok(()),
        };
        match Namespace::containing(object) {
            Some(owner) if owner.owns(table) && !namespace::is_host_table(object) => Ok(()),
            _ => Err(self.deny(
                "read",
                table,
                format!(
                    "may not reach table {table} through {object}: views and triggers may only \
                     touch tables in the namespace of the plugin that created them"
                ),
            )),
        }
    }

    /// A filter (a read-only call) tried to write.
    pub fn write_in_filter(&self, target: &str) -> Denial {
        self.deny(
            "write",
            target,
            "may not write while applying a filter: filters only transform values".to_string(),
        )
    }

    /// A statement ended the call's transaction (a conflict clause such as
    /// `OR ROLLBACK`, `RAISE(ROLLBACK)` in a trigger).
    pub fn ended_transaction(&self) -> Denial {
        self.deny(
            "rollback",
            "",
            "may not end the host's transaction (ROLLBACK through a conflict clause or \
             RAISE(ROLLBACK) in a trigger): the call failed and nothing it wrote was kept; \
             use OR ABORT, OR FAIL or RAISE(ABORT) to undo one statement"
                .to_string(),
        )
    }

    fn outside_namespace(&self, op: SchemaOp, what: &str, name: &str) -> Denial {
        self.deny(
            op.verb(),
            name,
            format!(
                "may not {} {what} {name}: a plugin changes the schema only in its own namespace ({}*)",
                op.verb(),
                self.namespace.prefix()
            ),
        )
    }

    fn deny(&self, action: &str, target: &str, reason: String) -> Denial {
        Denial {
            action: action.to_string(),
            target: target.to_string(),
            message: format!("plugin \"{}\" {reason}", self.plugin),
        }
    }
}

#[cfg(test)]
mod tests;
