//! A plugin's life in a site: what is there and where each plugin
//! stands, approval (enable), disable, remove, grants and limits. Every
//! change is committed with its audit entry ([`Site::audited`]).

use rusqlite::Connection;
use serde::Serialize;

use super::{CallOptions, Site};
use crate::audit::{Draft, action};
use crate::database::namespace::Namespace;
use crate::database::{Capability, grants};
use crate::error::Error;
use crate::registry::{self, PluginEntry, Status, records};
use crate::runtime::{LimitChange, Limits};

/// What `enable` did.
#[derive(Debug, Serialize)]
pub struct EnableReport {
    pub id: String,
    pub version: String,
    pub already_enabled: bool,
    pub granted: Vec<Capability>,
    /// Grants the plugin held that its manifest no longer asks for.
    pub revoked: Vec<Capability>,
}

/// What `remove` did.
#[derive(Debug, Serialize)]
pub struct RemoveReport {
    pub id: String,
    pub file_deleted: bool,
    /// Tables dropped with `--purge-data`.
    pub dropped_tables: Vec<String>,
    /// Tables left in place (without `--purge-data`).
    pub kept_tables: Vec<String>,
}

/// Drop every view and table in the plugin's namespace (virtual tables
/// first: their shadow tables go with them).
fn drop_namespace(conn: &Connection, id: &str) -> Result<(), Error> {
    let prefix = Namespace::of(id).prefix().to_string();
    let objects: Vec<(String, String)> = {
        let mut stmt = conn.prepare(
            "SELECT type, name FROM sqlite_schema WHERE type IN ('view', 'table') \
                 AND lower(substr(name, 1, length(?1))) = ?1 \
                 ORDER BY type = 'table', sql NOT LIKE 'CREATE VIRTUAL TABLE%', name",
        )?;
        let rows = stmt.query_map([&prefix], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (kind, name) in objects {
        let quoted = name.replace('"', "\"\"");
        let sql = if kind == "view" {
            format!("DROP VIEW IF EXISTS \"{quoted}\"")
        } else {
            format!("DROP TABLE IF EXISTS \"{quoted}\"")
        };
        conn.execute_batch(&sql)?;
    }
    Ok(())
}

fn sort_grants(
    mut grants: Vec<(String, crate::database::Access)>,
) -> Vec<(String, crate::database::Access)> {
    grants.sort_by_key(|(t, _)| t.to_ascii_lowercase());
    grants
}

impl Site {
    /// Every plugin: the files in `plugins/` and the approved ones whose file
    /// is gone, by id.
    pub fn plugins(&mut self) -> Result<Vec<PluginEntry>, Error> {
        let files = registry::plugin_files(&self.paths.plugins)
            .map_err(|e| Error::io(format!("cannot read {}", self.paths.plugins.display()), e))?;
        let mut ids: Vec<String> = files.iter().map(|(id, _)| id.clone()).collect();
        for id in records::ids(&self.db)? {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids.sort();
        ids.iter().map(|id| self.evaluate(id)).collect()
    }

    /// One plugin, as `plugins` shows it.
    pub fn inspect(&mut self, id: &str) -> Result<PluginEntry, Error> {
        let entry = self.evaluate(id)?;
        if entry.file.is_none() && entry.status != Status::Missing {
            return Err(self.unknown_plugin(id));
        }
        Ok(entry)
    }

    /// Approve and enable a plugin: grant exactly the capabilities its
    /// manifest asks for and run its `setup`. `reviewed_sha256`, when given,
    /// is the binary the site owner reviewed: a file swapped since is refused.
    pub fn enable(
        &mut self,
        id: &str,
        reviewed_sha256: Option<&str>,
    ) -> Result<EnableReport, Error> {
        let entry = self.inspect(id)?;
        match entry.status {
            Status::Rejected => {
                return Err(Error::Rejected {
                    id: id.into(),
                    reason: entry.note.unwrap_or_default(),
                });
            }
            Status::Missing => return Err(self.unknown_plugin(id)),
            Status::Pending | Status::Enabled | Status::Disabled => {}
        }
        let sha256 = entry.sha256.clone().unwrap_or_default();
        if reviewed_sha256.is_some_and(|r| r != sha256) {
            return Err(Error::Conflict(format!(
                "plugins/{id}.wasm changed while you reviewed it: inspect it again, then enable it"
            )));
        }
        let manifest = entry
            .manifest
            .clone()
            .expect("a pending or approved plugin has a manifest");
        let previous = records::get(&self.db, id)?;
        let requested: Vec<Capability> = manifest
            .capabilities
            .iter()
            .map(|c| c.capability())
            .collect();
        let revoked = self.grants_not_asked_for(id, &requested)?;
        if entry.status == Status::Enabled {
            return Ok(EnableReport {
                id: id.into(),
                version: manifest.version,
                already_enabled: true,
                granted: vec![],
                revoked: vec![],
            });
        }

        // Set up on first approval and whenever the approved binary changes
        // (setup must be idempotent; an update may migrate tables).
        if previous.as_ref().map(|r| r.sha256.as_str()) != Some(sha256.as_str()) {
            let previous_version = previous.as_ref().map(|r| r.manifest.version.as_str());
            self.run_setup(id, &requested, previous_version)?;
        }

        let now = crate::now_ms();
        let draft = self
            .act(
                action::PLUGIN_ENABLE,
                serde_json::json!({
                    "version": manifest.version,
                    "sha256": sha256,
                    "granted": requested.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
                }),
            )
            .plugin(id);
        self.audited(draft, |tx| {
            grants::revoke_all(tx, id)?;
            for cap in &requested {
                grants::grant(tx, id, cap, now)?;
            }
            Ok(records::approve(tx, id, &sha256, &manifest, now)?)
        })?;
        Ok(EnableReport {
            id: id.into(),
            version: manifest.version,
            already_enabled: false,
            granted: requested,
            revoked,
        })
    }

    /// The capabilities the plugin holds that its manifest no longer asks
    /// for: approval takes them back.
    fn grants_not_asked_for(
        &self,
        id: &str,
        requested: &[Capability],
    ) -> Result<Vec<Capability>, Error> {
        Ok(grants::list(&self.db, id)?
            .into_iter()
            .map(|(table, access)| Capability { table, access })
            .filter(|c| {
                !requested
                    .iter()
                    .any(|r| r.table.eq_ignore_ascii_case(&c.table))
            })
            .collect())
    }

    /// Run the plugin's `setup` (if it exports one) with the grants about to
    /// be approved.
    fn run_setup(
        &mut self,
        id: &str,
        requested: &[Capability],
        previous_version: Option<&str>,
    ) -> Result<(), Error> {
        let plugin = self.load(id)?;
        if plugin.exports.lifecycle.is_none() {
            return Ok(());
        }
        let grants: Vec<_> = requested
            .iter()
            .map(|c| (c.table.clone(), c.access))
            .collect();
        self.run_with_db(
            id,
            &plugin,
            "setup",
            CallOptions::setup(sort_grants(grants)),
            |guest| guest.setup(previous_version),
        )?;
        Ok(())
    }

    /// Stop calling a plugin; its grants and data stay.
    pub fn disable(&mut self, id: &str) -> Result<(), Error> {
        let draft = self
            .act(action::PLUGIN_DISABLE, serde_json::json!({}))
            .plugin(id);
        let disabled = self.audited(draft, |tx| {
            if records::set_enabled(tx, id, false, crate::now_ms())? {
                Ok(())
            } else {
                Err(Error::Conflict(format!(
                    "plugin \"{id}\" is not enabled, so it cannot be disabled"
                )))
            }
        });
        if let Err(Error::Conflict(_)) = &disabled {
            // No such plugin is the better answer.
            self.inspect(id)?;
        }
        disabled
    }

    /// Remove a plugin: its file, approval, grants and limits; with
    /// `purge_data`, also every table in its namespace.
    pub fn remove(&mut self, id: &str, purge_data: bool) -> Result<RemoveReport, Error> {
        let entry = self.evaluate(id)?;
        if entry.file.is_none() && entry.status != Status::Missing {
            return Err(self.unknown_plugin(id));
        }
        let tables = self.namespace_tables(id)?;
        let draft = self
            .act(
                action::PLUGIN_REMOVE,
                serde_json::json!({"purge_data": purge_data, "tables": tables}),
            )
            .plugin(id);
        self.audited(draft, |tx| {
            if purge_data {
                drop_namespace(tx, id)?;
            }
            grants::revoke_all(tx, id)?;
            Ok(records::delete(tx, id)?)
        })?;
        self.plugin_dbs.remove(id);
        self.loaded.remove(id);
        let file_deleted = match &entry.file {
            Some(path) => {
                std::fs::remove_file(path)
                    .map_err(|e| Error::io(format!("cannot delete {}", path.display()), e))?;
                true
            }
            None => false,
        };
        let (dropped_tables, kept_tables) = if purge_data {
            (tables, vec![])
        } else {
            (vec![], tables)
        };
        Ok(RemoveReport {
            id: id.into(),
            file_deleted,
            dropped_tables,
            kept_tables,
        })
    }

    /// Grant capabilities outside the plugin's namespace.
    pub fn grant(&mut self, id: &str, caps: &[Capability]) -> Result<(), Error> {
        self.inspect(id)?;
        let refusals: Vec<String> = caps.iter().filter_map(|c| c.refusal(id)).collect();
        if !refusals.is_empty() {
            return Err(Error::BadRequest(format!(
                "cannot grant {}",
                refusals.join("; ")
            )));
        }
        let now = crate::now_ms();
        let names: Vec<String> = caps.iter().map(|c| c.to_string()).collect();
        let draft = self
            .act(
                action::GRANT_ADD,
                serde_json::json!({"capabilities": names}),
            )
            .plugin(id);
        self.audited(draft, |tx| {
            for cap in caps {
                grants::grant(tx, id, cap, now)?;
            }
            Ok(())
        })
    }

    /// Take capabilities back; returns those that were held.
    pub fn revoke(&mut self, id: &str, caps: &[Capability]) -> Result<Vec<Capability>, Error> {
        self.inspect(id)?;
        let actor = self.actor.clone();
        self.audited_with(|tx| {
            let mut revoked = Vec::new();
            for cap in caps {
                if grants::revoke(tx, id, cap)? {
                    revoked.push(cap.clone());
                }
            }
            let names: Vec<String> = revoked.iter().map(|c| c.to_string()).collect();
            let draft = Draft::act(
                &actor,
                action::GRANT_REVOKE,
                serde_json::json!({"capabilities": names}),
            )
            .plugin(id);
            Ok((revoked, draft))
        })
    }

    pub fn grants(&self, id: &str) -> Result<Vec<Capability>, Error> {
        Ok(grants::list(&self.db, id)?
            .into_iter()
            .map(|(table, access)| Capability { table, access })
            .collect())
    }

    /// Set, reset or keep each limit; the limits in force afterwards.
    pub fn set_limits(
        &mut self,
        id: &str,
        memory_mib: LimitChange,
        deadline_ms: LimitChange,
    ) -> Result<Limits, Error> {
        self.inspect(id)?;
        let check = |name: &str, value: LimitChange, max: u32| match value {
            LimitChange::Set(n) if n == 0 || n > max => Err(Error::BadRequest(format!(
                "{name} must be between 1 and {max}, not {n}"
            ))),
            _ => Ok(()),
        };
        check("--memory-mib", memory_mib, Limits::MAX.memory_mib)?;
        check("--deadline-ms", deadline_ms, Limits::MAX.deadline_ms)?;
        if memory_mib == LimitChange::Keep && deadline_ms == LimitChange::Keep {
            return Ok(records::limits(&self.db, id)?);
        }
        let actor = self.actor.clone();
        self.audited_with(|tx| {
            records::set_limits(tx, id, memory_mib, deadline_ms)?;
            let limits = records::limits(tx, id)?;
            let detail = serde_json::json!({
                "memory_mib": limits.memory_mib,
                "deadline_ms": limits.deadline_ms,
            });
            Ok((
                limits,
                Draft::act(&actor, action::LIMITS_SET, detail).plugin(id),
            ))
        })
    }

    /// Tables in the plugin's namespace.
    pub(super) fn namespace_tables(&self, id: &str) -> Result<Vec<String>, Error> {
        let prefix = Namespace::of(id).prefix().to_string();
        let mut stmt = self.db.prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' \
                 AND lower(substr(name, 1, length(?1))) = ?1 ORDER BY name",
        )?;
        let names = stmt.query_map([&prefix], |r| r.get(0))?;
        names
            .collect::<rusqlite::Result<Vec<String>>>()
            .map_err(Error::from)
    }

    pub(super) fn unknown_plugin(&self, id: &str) -> Error {
        Error::UnknownPlugin {
            id: id.to_string(),
            dir: self.paths.plugins.clone(),
        }
    }
}
