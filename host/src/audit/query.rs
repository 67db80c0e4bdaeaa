//! Reading the audit log: every entry in order (for verify and export) and
//! filtered queries (`wasmdesk audit log`).

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row};
use serde::Serialize;

use super::Entry;

const COLUMNS: &str = "a.seq, a.at, a.actor, a.action, a.plugin, a.operation, a.outcome, \
     a.duration_us, a.rows_read, a.rows_written, a.tables, a.detail, a.prev, a.hash, a.subjects";

/// An entry with its JSON columns as stored (hashes are over these bytes).
pub struct Stored {
    pub entry: Entry,
    pub tables_json: String,
    pub detail_json: String,
}

fn stored(row: &Row<'_>) -> rusqlite::Result<Stored> {
    let tables_json: String = row.get(10)?;
    let detail_json: String = row.get(11)?;
    let subjects: String = row.get(14)?;
    Ok(Stored {
        entry: Entry {
            seq: row.get(0)?,
            at_ms: row.get(1)?,
            actor: row.get(2)?,
            action: row.get(3)?,
            plugin: row.get(4)?,
            operation: row.get(5)?,
            outcome: row.get(6)?,
            duration_us: row.get(7)?,
            rows_read: row.get(8)?,
            rows_written: row.get(9)?,
            tables: serde_json::from_str(&tables_json).unwrap_or_default(),
            subjects: subjects.split_whitespace().map(str::to_string).collect(),
            detail: serde_json::from_str(&detail_json).unwrap_or_default(),
            prev: row.get(12)?,
            hash: row.get(13)?,
        },
        tables_json,
        detail_json,
    })
}

/// Call `f` with every entry, oldest first.
pub fn for_each_entry(
    conn: &Connection,
    mut f: impl FnMut(&Stored) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM wasmdesk__audit a ORDER BY a.seq"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        f(&stored(row)?)?;
    }
    Ok(())
}

/// The first seq whose entry is at or after `ms` (one past the newest when
/// none is), by binary search: `at` never decreases with seq.
fn first_seq_from(conn: &Connection, ms: i64) -> rusqlite::Result<i64> {
    let mut first_from = conn.prepare_cached(
        "SELECT seq, at FROM wasmdesk__audit WHERE seq >= ?1 ORDER BY seq LIMIT 1",
    )?;
    let (mut lo, mut hi): (i64, i64) = conn.query_row(
        "SELECT coalesce(min(seq), 1), coalesce(max(seq), 0) + 1 FROM wasmdesk__audit",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    // Entries before lo are older than ms; entries from hi on are not.
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let found: Option<(i64, i64)> = first_from
            .query_row([mid], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match found {
            Some((seq, at)) if seq < hi && at < ms => lo = seq + 1,
            _ => hi = mid,
        }
    }
    Ok(lo)
}

/// What `audit log` selects. Every field narrows; none set means all.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Filter {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub plugin: Option<String>,
    /// Keyed hash of the subject's e-mail address.
    pub subject: Option<String>,
    pub action: Option<String>,
    /// An actor (`bridge:wp:user:7`, `cli:alice`), or a bridge caller id or
    /// login name alone (`wp:user:7`, `alice`).
    pub actor: Option<String>,
    /// Newest entries first when set; oldest first otherwise.
    pub limit: Option<u32>,
}

/// The entries that match, oldest first.
pub fn entries(conn: &Connection, filter: &Filter) -> rusqlite::Result<Vec<Entry>> {
    let mut clauses: Vec<String> = Vec::new();
    let mut params: Vec<SqlValue> = Vec::new();
    let mut bind = |clause: &str, value: SqlValue| {
        params.push(value);
        clauses.push(clause.replace('?', &format!("?{}", params.len())));
    };
    // Time ranges become seq ranges (no index on `at`: one fewer page
    // written per call); `at` is still compared for exactness.
    if let Some(since) = filter.since_ms {
        bind("a.seq >= ?", first_seq_from(conn, since)?.into());
        bind("a.at >= ?", since.into());
    }
    if let Some(until) = filter.until_ms {
        bind("a.seq < ?", first_seq_from(conn, until)?.into());
        bind("a.at < ?", until.into());
    }
    if let Some(plugin) = &filter.plugin {
        bind("a.plugin = ?", plugin.clone().into());
    }
    if let Some(action) = &filter.action {
        bind("a.action = ?", action.clone().into());
    }
    if let Some(actor) = &filter.actor {
        bind(
            "(a.actor = ? OR a.actor = 'bridge:' || ? OR a.actor = 'cli:' || ?)",
            actor.clone().into(),
        );
    }
    if let Some(subject) = &filter.subject {
        bind(
            "a.seq IN (SELECT seq FROM wasmdesk__audit_subjects WHERE subject = ?)",
            subject.clone().into(),
        );
    }
    let mut sql = format!("SELECT {COLUMNS} FROM wasmdesk__audit a");
    if !clauses.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&clauses.join(" AND "));
    }
    match filter.limit {
        Some(limit) => sql.push_str(&format!(" ORDER BY a.seq DESC LIMIT {limit}")),
        None => sql.push_str(" ORDER BY a.seq"),
    }
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| {
        stored(r).map(|s| s.entry)
    })?;
    let mut entries = rows.collect::<rusqlite::Result<Vec<Entry>>>()?;
    if filter.limit.is_some() {
        entries.reverse();
    }
    Ok(entries)
}

/// One line per entry, for people.
pub fn render(entries: &[Entry]) -> String {
    if entries.is_empty() {
        return "no audit entries match".into();
    }
    let mut out = format!(
        "{:>6}  {:<19}  {:<18}  {:<21}  {:<28}  {:<17}  {:>8}  tables\n",
        "seq", "time (UTC)", "actor", "action", "plugin/operation", "outcome", "subjects"
    );
    for e in entries {
        let target = match (&e.plugin, &e.operation) {
            (Some(p), Some(o)) => format!("{p}: {o}"),
            (Some(p), None) => p.clone(),
            _ => String::new(),
        };
        let tables: Vec<String> = e
            .tables
            .iter()
            .map(|t| {
                let mut parts = Vec::new();
                if let Some(rows) = t.read {
                    parts.push(format!("r{rows}"));
                }
                if let Some(rows) = t.written {
                    parts.push(format!("w{rows}"));
                }
                format!("{}({})", t.table, parts.join(" "))
            })
            .collect();
        out.push_str(&format!(
            "{:>6}  {:<19}  {:<18}  {:<21}  {:<28}  {:<17}  {:>8}  {}\n",
            e.seq,
            super::time::format_ms(e.at_ms),
            e.actor,
            e.action,
            target,
            e.outcome,
            e.subjects.len(),
            tables.join(" ")
        ));
    }
    out.pop();
    out
}

/// Tables where `subject`'s data may still be, as the log tells it: each
/// table that a call tied to the subject wrote rows to, unless a call of
/// `erase_operation` for the subject wrote rows to it later. A table filled
/// outside the host (or before its entries were pruned) is not known here.
pub fn tables_awaiting_erasure(
    conn: &Connection,
    subject_hash: &str,
    erase_operation: &str,
) -> rusqlite::Result<std::collections::BTreeSet<String>> {
    use std::collections::BTreeMap;
    let mut stmt = conn.prepare_cached(
        "SELECT a.operation, a.tables FROM wasmdesk__audit_subjects s \
         JOIN wasmdesk__audit a ON a.seq = s.seq \
         WHERE s.subject = ?1 AND a.rows_written > 0 ORDER BY s.seq",
    )?;
    // Per table: whether its latest write tied to the subject was an erasure.
    let mut erased_last: BTreeMap<String, bool> = BTreeMap::new();
    let mut rows = stmt.query([subject_hash])?;
    while let Some(row) = rows.next()? {
        let operation: Option<String> = row.get(0)?;
        let tables: String = row.get(1)?;
        let erasing = operation.as_deref() == Some(erase_operation);
        let uses: Vec<super::TableUse> = serde_json::from_str(&tables).unwrap_or_default();
        for table in uses.into_iter().filter(|t| t.written.unwrap_or(0) > 0) {
            erased_last.insert(table.table.to_ascii_lowercase(), erasing);
        }
    }
    Ok(erased_last
        .into_iter()
        .filter(|(_, erased)| !erased)
        .map(|(table, _)| table)
        .collect())
}
