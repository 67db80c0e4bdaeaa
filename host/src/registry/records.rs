//! The registry's rows in the site database: which plugins the site owner
//! approved (the binary's hash and its manifest), their state and limits.

use rusqlite::{Connection, OptionalExtension, params};

use super::manifest::Manifest;
use crate::database::DatabaseError;
use crate::runtime::{LimitChange, Limits};

/// An approved plugin: enabled or disabled.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub enabled: bool,
    pub sha256: String,
    pub manifest: Manifest,
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<Record>, DatabaseError> {
    let row = conn
        .prepare_cached("SELECT id, state, sha256, manifest FROM wasmdesk__plugins WHERE id = ?1")?
        .query_row([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .optional()?;
    Ok(row.and_then(|(id, state, sha256, manifest)| {
        // A manifest this host cannot read back is treated as not approved.
        let manifest = serde_json::from_str(&manifest).ok()?;
        Some(Record {
            id,
            enabled: state == "enabled",
            sha256,
            manifest,
        })
    }))
}

/// Every enabled plugin's record, by id.
pub fn enabled(conn: &Connection) -> Result<Vec<Record>, DatabaseError> {
    let mut records = Vec::new();
    for id in ids(conn)? {
        if let Some(record) = get(conn, &id)?.filter(|r| r.enabled) {
            records.push(record);
        }
    }
    Ok(records)
}

pub fn ids(conn: &Connection) -> Result<Vec<String>, DatabaseError> {
    let mut stmt = conn.prepare_cached("SELECT id FROM wasmdesk__plugins ORDER BY id")?;
    let ids = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

/// Record the approval of this binary and enable it.
pub fn approve(
    conn: &Connection,
    id: &str,
    sha256: &str,
    manifest: &Manifest,
    now: i64,
) -> Result<(), DatabaseError> {
    let manifest = serde_json::to_string(manifest).expect("a manifest always serializes");
    conn.execute(
        "INSERT INTO wasmdesk__plugins (id, state, sha256, manifest, approved_at, updated_at)
         VALUES (?1, 'enabled', ?2, ?3, ?4, ?4)
         ON CONFLICT (id) DO UPDATE SET state = 'enabled', sha256 = excluded.sha256,
             manifest = excluded.manifest, approved_at = excluded.approved_at,
             updated_at = excluded.updated_at",
        params![id, sha256, manifest, now],
    )?;
    Ok(())
}

pub fn set_enabled(
    conn: &Connection,
    id: &str,
    enabled: bool,
    now: i64,
) -> Result<bool, DatabaseError> {
    let state = if enabled { "enabled" } else { "disabled" };
    let n = conn.execute(
        "UPDATE wasmdesk__plugins SET state = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, state, now],
    )?;
    Ok(n > 0)
}

pub fn delete(conn: &Connection, id: &str) -> Result<(), DatabaseError> {
    conn.execute("DELETE FROM wasmdesk__plugins WHERE id = ?1", [id])?;
    conn.execute("DELETE FROM wasmdesk__limits WHERE plugin = ?1", [id])?;
    Ok(())
}

/// The plugin's limits: the site owner's settings over the defaults.
pub fn limits(conn: &Connection, id: &str) -> Result<Limits, DatabaseError> {
    let row: Option<(Option<u32>, Option<u32>)> = conn
        .prepare_cached("SELECT memory_mib, deadline_ms FROM wasmdesk__limits WHERE plugin = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (memory, deadline) = row.unwrap_or((None, None));
    Ok(Limits {
        memory_mib: memory.unwrap_or(Limits::DEFAULT.memory_mib),
        deadline_ms: deadline.unwrap_or(Limits::DEFAULT.deadline_ms),
    })
}

/// Set, reset to the default (a NULL) or keep each limit.
pub fn set_limits(
    conn: &Connection,
    id: &str,
    memory_mib: LimitChange,
    deadline_ms: LimitChange,
) -> Result<(), DatabaseError> {
    conn.execute(
        "INSERT OR IGNORE INTO wasmdesk__limits (plugin) VALUES (?1)",
        [id],
    )?;
    for (column, change) in [("memory_mib", memory_mib), ("deadline_ms", deadline_ms)] {
        let value = match change {
            LimitChange::Keep => continue,
            LimitChange::Reset => None,
            LimitChange::Set(n) => Some(n),
        };
        conn.execute(
            &format!("UPDATE wasmdesk__limits SET {column} = ?2 WHERE plugin = ?1"),
            params![id, value],
        )?;
    }
    Ok(())
}
