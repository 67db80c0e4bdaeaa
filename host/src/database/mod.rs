//! The site database: host schema, plugin namespaces, grants, and the
//! authorizer that enforces them on every plugin statement.

pub mod authorizer;
pub mod db;
pub mod grants;
pub mod namespace;
pub mod plugin_db;
pub mod policy;
pub mod schema;
pub mod watchdog;

#[cfg(test)]
mod fuzz;

use std::path::PathBuf;

pub use grants::Capability;
pub use plugin_db::{CallAccess, PluginDb};
pub use policy::{Access, Denial, Policy};

/// Failures of the site database itself (not of a plugin's statements,
/// which the plugin receives as WIT `store-error` values).
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("cannot open the site database {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "the site database has schema version {found}, newer than this wasmdesk understands \
         ({supported}): upgrade wasmdesk"
    )]
    TooNew { found: i64, supported: i64 },
    #[error("site database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "the audit log could not record the call, so its result is withheld: {0}; \
         check that site.db is writable and not full"
    )]
    Audit(rusqlite::Error),
    #[error("cannot make the site's secret key: {0}")]
    Secret(String),
    #[error("cannot start the thread that stops a plugin's SQL at its deadline: {0}")]
    Watchdog(std::io::Error),
}

impl DatabaseError {
    /// SQLite's code for the failure underneath, if there is one.
    pub fn sqlite_code(&self) -> Option<rusqlite::ErrorCode> {
        match self {
            DatabaseError::Open { source, .. }
            | DatabaseError::Sqlite(source)
            | DatabaseError::Audit(source) => source.sqlite_error_code(),
            _ => None,
        }
    }
}
