//! The hash chain: each entry's hash covers its fields and the previous
//! entry's hash, so an edited, deleted or reordered entry breaks the chain
//! from there on. Pruning old entries leaves a checkpoint entry that commits
//! to what it removed, so the rest still verifies.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Draft, action};

/// The `prev` of the very first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The file next to `site.db` that remembers a recent head of the chain, so
/// that deleting the newest entries is noticed too.
pub const ANCHOR_FILE: &str = "audit.head";

/// The newest entry: its number and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
}

/// The hash of one entry: SHA-256 over a JSON array of its fields, in a
/// fixed order (docs/audit.md gives the recipe for auditors).
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    seq: i64,
    at_ms: i64,
    actor: &str,
    action: &str,
    plugin: Option<&str>,
    operation: Option<&str>,
    outcome: &str,
    duration_us: i64,
    rows_read: i64,
    rows_written: i64,
    tables_json: &str,
    subjects: &[String],
    detail_json: &str,
    prev: &str,
) -> String {
    // A tuple serializes as the JSON array the recipe describes, without
    // building a serde_json::Value first.
    let canonical = serde_json::to_vec(&(
        seq,
        at_ms,
        actor,
        action,
        plugin,
        operation,
        outcome,
        duration_us,
        rows_read,
        rows_written,
        tables_json,
        subjects,
        detail_json,
        prev,
    ))
    .expect("strings and numbers serialize");
    hex(&Sha256::digest(&canonical))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The statements `append` runs, prepared once per connection and cached,
/// also on plugins' connections: each carries the host's tag
/// ([`crate::database::plugin_db::host_tag`]).
struct AppendSql {
    head: String,
    insert: String,
    insert_subject: String,
}

fn append_sql() -> &'static AppendSql {
    static SQL: std::sync::OnceLock<AppendSql> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let tag = crate::database::plugin_db::host_tag();
        AppendSql {
            head: format!(
                "{tag}SELECT seq, hash, at FROM wasmdesk__audit ORDER BY seq DESC LIMIT 1"
            ),
            insert: format!(
                "{tag}INSERT INTO wasmdesk__audit (seq, at, actor, action, plugin, operation, \
                 outcome, duration_us, rows_read, rows_written, subjects, tables, detail, prev, \
                 hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
            ),
            // OR IGNORE: a row left behind by an entry deleted behind the
            // host's back must not stop the site (verify reports it).
            insert_subject: format!(
                "{tag}INSERT OR IGNORE INTO wasmdesk__audit_subjects (subject, seq) VALUES (?1, ?2)"
            ),
        }
    })
}

/// Append one entry. Call inside a write transaction (the chain's head is
/// read and extended under SQLite's write lock).
pub fn append(conn: &Connection, draft: &Draft) -> rusqlite::Result<Head> {
    let head = append_all(conn, std::iter::once(draft))?;
    Ok(head.expect("one entry was appended"))
}

/// Append entries in order, reading the chain's head once. Call inside a
/// write transaction. Returns the new head (none for no entries).
pub fn append_all<'a>(
    conn: &Connection,
    drafts: impl IntoIterator<Item = &'a Draft>,
) -> rusqlite::Result<Option<Head>> {
    let sql = append_sql();
    let mut last: Option<(i64, String, i64)> = conn
        .prepare_cached(&sql.head)?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    for draft in drafts {
        last = Some(write_entry(conn, sql, last, draft)?);
    }
    Ok(last.map(|(seq, hash, _)| Head { seq, hash }))
}

/// Write one entry after `last` (seq, hash, at); returns its own.
fn write_entry(
    conn: &Connection,
    sql: &AppendSql,
    last: Option<(i64, String, i64)>,
    draft: &Draft,
) -> rusqlite::Result<(i64, String, i64)> {
    // `at` never goes back, even when the clock does: time ranges are
    // then ranges of seq.
    let (seq, prev, at_ms) = match last {
        Some((seq, hash, at)) => (seq + 1, hash, draft.at_ms.max(at)),
        None => (1, GENESIS.to_string(), draft.at_ms),
    };
    let mut subjects = draft.subjects.clone();
    subjects.sort();
    subjects.dedup();
    let rows_read: i64 = draft.tables.iter().filter_map(|t| t.read).sum::<u64>() as i64;
    let rows_written: i64 = draft.tables.iter().filter_map(|t| t.written).sum::<u64>() as i64;
    let tables_json = serde_json::to_string(&draft.tables).expect("tables serialize");
    let detail_json = draft.detail.to_string();
    let hash = entry_hash(
        seq,
        at_ms,
        &draft.actor,
        draft.action,
        draft.plugin.as_deref(),
        draft.operation.as_deref(),
        &draft.outcome,
        draft.duration_us,
        rows_read,
        rows_written,
        &tables_json,
        &subjects,
        &detail_json,
        &prev,
    );
    conn.prepare_cached(&sql.insert)?.execute(params![
        seq,
        at_ms,
        draft.actor,
        draft.action,
        draft.plugin,
        draft.operation,
        draft.outcome,
        draft.duration_us,
        rows_read,
        rows_written,
        subjects.join(" "),
        tables_json,
        detail_json,
        prev,
        hash
    ])?;
    if !subjects.is_empty() {
        let mut insert = conn.prepare_cached(&sql.insert_subject)?;
        for subject in &subjects {
            insert.execute(params![subject, seq])?;
        }
    }
    Ok((seq, hash, at_ms))
}

/// Remember `head` in `SITE/audit.head`.
/// A failure here is not fatal: the entry is committed and the anchor only
/// lags behind. [`crate::site::Site`] writes it at most once a second and
/// when it closes.
///
/// The anchor never moves back (unless `force`d, after a restore): a head
/// behind the remembered one means entries were deleted, and that evidence
/// must not be overwritten by the next entry.
pub fn write_anchor(root: &Path, head: &Head, force: bool) {
    use std::os::unix::fs::FileExt;
    if !force
        && read_anchor(root)
            .ok()
            .flatten()
            .is_some_and(|a| a.seq >= head.seq)
    {
        return;
    }
    // One fixed-width write at offset 0: the file is never seen shorter or
    // half-written (a rename would cost more than the entry itself).
    let line = format!("{:020} {}\n", head.seq, head.hash);
    if let Ok(file) = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(root.join(ANCHOR_FILE))
    {
        let _ = file.write_all_at(line.as_bytes(), 0);
    }
}

pub(super) fn read_anchor(root: &Path) -> Result<Option<Head>, String> {
    let text = match std::fs::read_to_string(root.join(ANCHOR_FILE)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{ANCHOR_FILE} cannot be read: {e}")),
    };
    let mut parts = text.split_whitespace();
    match (
        parts.next().and_then(|s| s.parse::<i64>().ok()),
        parts.next(),
    ) {
        (Some(seq), Some(hash)) => Ok(Some(Head {
            seq,
            hash: hash.to_string(),
        })),
        _ => Err(format!("{ANCHOR_FILE} is not \"SEQ HASH\"")),
    }
}

/// What pruning removed.
#[derive(Debug, Serialize)]
pub struct Pruned {
    pub entries: u64,
    pub through: Option<i64>,
}

/// Remove entries older than `cutoff_ms` (never the newest one), leaving a
/// checkpoint entry that commits to them: the last removed entry's hash and
/// a digest of every removed hash. Runs in its own transaction.
pub fn prune(
    conn: &Connection,
    actor: &super::Actor,
    cutoff_ms: i64,
    dry_run: bool,
) -> rusqlite::Result<(Pruned, Option<Head>)> {
    // Rolled back when it drops: on an error, and for a dry run.
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    let conn: &Connection = &tx;
    let result: rusqlite::Result<(Pruned, Option<Head>)> = (|| {
        let mut stmt = conn.prepare(
            "SELECT seq, hash FROM wasmdesk__audit WHERE at < ?1 \
             AND seq < (SELECT max(seq) FROM wasmdesk__audit) ORDER BY seq",
        )?;
        let rows = stmt.query_map([cutoff_ms], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut digest = Sha256::new();
        let mut count = 0u64;
        let mut first = None;
        let mut last: Option<(i64, String)> = None;
        for row in rows {
            let (seq, hash) = row?;
            // Only a run of entries from the oldest one can go.
            if last.as_ref().is_some_and(|(s, _)| *s + 1 != seq) {
                break;
            }
            first.get_or_insert(seq);
            digest.update(hash.as_bytes());
            count += 1;
            last = Some((seq, hash));
        }
        drop(stmt);
        let Some((through, last_hash)) = last else {
            return Ok((
                Pruned {
                    entries: 0,
                    through: None,
                },
                None,
            ));
        };
        if dry_run {
            return Ok((
                Pruned {
                    entries: count,
                    through: Some(through),
                },
                None,
            ));
        }
        conn.execute(
            "INSERT OR REPLACE INTO wasmdesk__site (key, value) VALUES ('audit_pruning', '1')",
            [],
        )?;
        conn.execute(
            "DELETE FROM wasmdesk__audit_subjects WHERE seq <= ?1",
            [through],
        )?;
        conn.execute("DELETE FROM wasmdesk__audit WHERE seq <= ?1", [through])?;
        conn.execute("DELETE FROM wasmdesk__site WHERE key = 'audit_pruning'", [])?;
        let draft = Draft::act(
            actor,
            action::AUDIT_PRUNE,
            serde_json::json!({
                "cutoff_ms": cutoff_ms,
                "pruned_from": first,
                "pruned_through": through,
                "pruned_entries": count,
                "last_pruned_hash": last_hash,
                "pruned_digest": hex(&digest.finalize()),
            }),
        );
        let head = append(conn, &draft)?;
        Ok((
            Pruned {
                entries: count,
                through: Some(through),
            },
            Some(head),
        ))
    })();
    let done = result?;
    if !dry_run {
        tx.commit()?;
    }
    Ok(done)
}
