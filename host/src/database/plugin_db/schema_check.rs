//! After a plugin changed the schema: what it made stays in its namespace
//! and under the schema cap.

use std::collections::BTreeSet;

use super::errors::sqlite_message;
use super::{MAX_SCHEMA_BYTES, PluginDb, host_tag};
use crate::contract::types as wit;
use crate::database::policy::Denial;

impl PluginDb {
    /// Every schema object as (name, table it belongs to), for comparing
    /// around a DDL statement.
    pub(super) fn schema_names(&mut self) -> Result<BTreeSet<(String, String)>, wit::StoreError> {
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
    pub(super) fn verify_schema(
        &mut self,
        before: &BTreeSet<(String, String)>,
    ) -> Result<(), wit::StoreError> {
        let policy = self.policy();
        let prefix = policy.namespace().prefix().to_string();
        let after = self.schema_names()?;
        let ns = policy.namespace();
        let outside = |(name, table): &&(String, String)| {
            let own = ns.owns(name) && ns.owns(table);
            let auto_index = crate::database::policy::is_auto_index(name) && ns.owns(table);
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
}

/// Tables and views outside every plugin namespace (no `__` in the name).
pub(super) fn unowned_tables_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "{}SELECT lower(name) FROM main.sqlite_schema \
             WHERE type IN ('table', 'view') AND instr(name, '__') < 2 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
            host_tag()
        )
    })
}
