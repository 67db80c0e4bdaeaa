//! What every plugin call reads from the registry (the plugin's record, its
//! grants and its limits), kept between calls for as long as the database
//! has not changed. A warm call used to run three queries and parse the
//! manifest's JSON for these.

use std::collections::HashMap;
use std::rc::Rc;

use rusqlite::Connection;

use crate::database::{Access, DatabaseError, grants};
use crate::registry::records::{self, Record};
use crate::runtime::Limits;

/// One plugin's registry entries as of one database version.
pub(crate) struct Registered {
    /// Shared, not cloned, by every call that reads it.
    pub record: Option<Rc<Record>>,
    pub grants: Vec<(String, Access)>,
    pub limits: Limits,
}

#[derive(Default)]
pub(crate) struct RegistryCache {
    /// The database version the entries were read at: `PRAGMA data_version`
    /// (moves when any other connection, in this process or another,
    /// commits) and this connection's own change count.
    version: Option<(i64, u64)>,
    entries: HashMap<String, Rc<Registered>>,
}

impl RegistryCache {
    pub fn get(&mut self, conn: &Connection, id: &str) -> Result<Rc<Registered>, DatabaseError> {
        let data_version: i64 = conn
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        let version = (data_version, conn.total_changes());
        if self.version != Some(version) {
            self.entries.clear();
            self.version = Some(version);
        }
        if let Some(entry) = self.entries.get(id) {
            return Ok(Rc::clone(entry));
        }
        let entry = Rc::new(Registered {
            record: records::get(conn, id)?.map(Rc::new),
            grants: grants::list(conn, id)?,
            limits: records::limits(conn, id)?,
        });
        self.entries.insert(id.to_string(), Rc::clone(&entry));
        Ok(entry)
    }
}
