//! The breach register (GDPR Art. 33/34): when a breach was detected, its
//! 72-hour notification deadline, whom it touched (from the audit log), and
//! when the authority was notified.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::query::{self, Filter};

/// The supervisory authority must hear of a breach within this long.
pub const NOTIFY_WITHIN_MS: i64 = 72 * 60 * 60 * 1000;

#[derive(Debug, Clone, Serialize)]
pub struct Breach {
    pub id: i64,
    pub summary: String,
    pub detected_at_ms: i64,
    pub recorded_at_ms: i64,
    pub deadline_at_ms: i64,
    pub recorded_by: String,
    /// `open` until the notification is recorded, then `notified`.
    pub status: String,
    /// Subjects found by the last `breach affected`, and that query.
    pub affected: Option<i64>,
    pub scope: Option<serde_json::Value>,
    pub notified_at_ms: Option<i64>,
    pub notification: Option<String>,
}

const COLUMNS: &str = "id, summary, detected_at, recorded_at, deadline_at, recorded_by, status, \
                       affected, scope, notified_at, notification";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Breach> {
    let scope: Option<String> = r.get(8)?;
    Ok(Breach {
        id: r.get(0)?,
        summary: r.get(1)?,
        detected_at_ms: r.get(2)?,
        recorded_at_ms: r.get(3)?,
        deadline_at_ms: r.get(4)?,
        recorded_by: r.get(5)?,
        status: r.get(6)?,
        affected: r.get(7)?,
        scope: scope.and_then(|s| serde_json::from_str(&s).ok()),
        notified_at_ms: r.get(9)?,
        notification: r.get(10)?,
    })
}

pub fn record(
    conn: &Connection,
    summary: &str,
    detected_at_ms: i64,
    recorded_by: &str,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO wasmdesk__breaches (summary, detected_at, recorded_at, deadline_at, recorded_by, status) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'open')",
        params![
            summary,
            detected_at_ms,
            crate::now_ms(),
            detected_at_ms + NOTIFY_WITHIN_MS,
            recorded_by
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<Breach>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM wasmdesk__breaches WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<Breach>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM wasmdesk__breaches ORDER BY status = 'notified', deadline_at, id"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    rows.collect()
}

pub fn set_affected(
    conn: &Connection,
    id: i64,
    affected: usize,
    scope: &serde_json::Value,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE wasmdesk__breaches SET affected = ?2, scope = ?3 WHERE id = ?1",
        params![id, affected as i64, scope.to_string()],
    )?;
    Ok(())
}

pub fn close(
    conn: &Connection,
    id: i64,
    notified_at_ms: i64,
    notification: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE wasmdesk__breaches SET status = 'notified', notified_at = ?2, notification = ?3 \
         WHERE id = ?1",
        params![id, notified_at_ms, notification],
    )?;
    Ok(())
}

/// One data subject whose data was touched in the breach window.
#[derive(Debug, Clone, Serialize)]
pub struct Affected {
    /// The e-mail address, while the site still holds it.
    pub email: Option<String>,
    /// The keyed hash the audit log knows them by.
    pub subject_hash: String,
    /// `present` (the site still holds the address), `erased` (an erasure
    /// request for them was carried out) or `unknown` (only the hash is
    /// left, such as an address mentioned in someone else's message).
    pub status: &'static str,
    pub accesses: u64,
    pub first_at_ms: i64,
    pub last_at_ms: i64,
    /// Every table those accesses touched.
    pub tables: Vec<String>,
}

/// Subjects touched by the entries `filter` selects, with where they stand.
/// `known` maps keyed hashes to the addresses the site still holds;
/// `erased` lists the hashes of subjects erased on request.
pub fn affected(
    conn: &Connection,
    filter: &Filter,
    known: &HashMap<String, String>,
    erased: &std::collections::HashSet<String>,
) -> rusqlite::Result<Vec<Affected>> {
    let mut by_subject: BTreeMap<String, Affected> = BTreeMap::new();
    for entry in query::entries(conn, filter)? {
        for subject in &entry.subjects {
            let a = by_subject
                .entry(subject.clone())
                .or_insert_with(|| Affected {
                    email: known.get(subject).cloned(),
                    subject_hash: subject.clone(),
                    status: if known.contains_key(subject) {
                        "present"
                    } else if erased.contains(subject) {
                        "erased"
                    } else {
                        "unknown"
                    },
                    accesses: 0,
                    first_at_ms: entry.at_ms,
                    last_at_ms: entry.at_ms,
                    tables: vec![],
                });
            a.accesses += 1;
            a.first_at_ms = a.first_at_ms.min(entry.at_ms);
            a.last_at_ms = a.last_at_ms.max(entry.at_ms);
            for table in &entry.tables {
                if !a.tables.contains(&table.table) {
                    a.tables.push(table.table.clone());
                }
            }
        }
    }
    let mut list: Vec<Affected> = by_subject.into_values().collect();
    list.sort_by(|a, b| {
        (a.email.is_none(), &a.email, &a.subject_hash).cmp(&(
            b.email.is_none(),
            &b.email,
            &b.subject_hash,
        ))
    });
    Ok(list)
}
