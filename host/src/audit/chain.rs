//! The hash chain: each entry's hash covers its fields and the previous
//! entry's hash, so an edited, deleted or reordered entry breaks the chain
//! from there on. Pruning old entries leaves a checkpoint entry that commits
//! to what it removed, so the rest still verifies.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Draft, action, query};

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
    let canonical = serde_json::json!([
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
        prev
    ]);
    hex(&Sha256::digest(canonical.to_string().as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Append one entry. Call inside a write transaction (the chain's head is
/// read and extended under SQLite's write lock).
pub fn append(conn: &Connection, draft: &Draft) -> rusqlite::Result<Head> {
    let last: Option<(i64, String)> = conn
        .query_row(
            "SELECT seq, hash FROM wasmdesk__audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    // Subjects of entries deleted behind the host's back must not attach
    // to a new entry: number past them (verify then reports the gap).
    let last_subject_seq: i64 = conn
        .prepare_cached("SELECT coalesce(max(seq), 0) FROM wasmdesk__audit_subjects")?
        .query_row([], |r| r.get(0))?;
    let (seq, prev) = match last {
        Some((seq, hash)) => (seq.max(last_subject_seq) + 1, hash),
        None => (last_subject_seq + 1, GENESIS.to_string()),
    };
    let at_ms = crate::now_ms();
    let mut subjects = draft.subjects.clone();
    subjects.sort();
    subjects.dedup();
    let rows_read: i64 = draft.tables.iter().map(|t| t.rows_read as i64).sum();
    let rows_written: i64 = draft.tables.iter().map(|t| t.rows_written as i64).sum();
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
    conn.prepare_cached(
        "INSERT INTO wasmdesk__audit (seq, at, actor, action, plugin, operation, outcome, \
         duration_us, rows_read, rows_written, subjects, tables, detail, prev, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
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
        subjects.len() as i64,
        tables_json,
        detail_json,
        prev,
        hash
    ])?;
    if !subjects.is_empty() {
        let mut insert = conn.prepare_cached(
            "INSERT INTO wasmdesk__audit_subjects (seq, subject) VALUES (?1, ?2)",
        )?;
        for subject in &subjects {
            insert.execute(params![seq, subject])?;
        }
    }
    Ok(Head { seq, hash })
}

/// Append in a transaction of its own.
pub fn append_now(conn: &Connection, draft: &Draft) -> rusqlite::Result<Head> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match append(conn, draft) {
        Ok(head) => {
            conn.execute_batch("COMMIT")?;
            Ok(head)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Remember `head` in `SITE/audit.head` (written whole, then renamed).
/// A failure here is not fatal: the entry is committed; verify will say
/// the anchor is behind.
pub fn write_anchor(root: &Path, head: &Head) {
    let temp = root.join(format!(".{ANCHOR_FILE}.{}", std::process::id()));
    let line = format!("{} {}\n", head.seq, head.hash);
    if std::fs::write(&temp, line).is_ok() {
        let _ = std::fs::rename(&temp, root.join(ANCHOR_FILE));
    }
}

fn read_anchor(root: &Path) -> Result<Option<Head>, String> {
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

/// The first thing found wrong.
#[derive(Debug, Clone, Serialize)]
pub struct Broken {
    /// The entry where the chain breaks (for a deleted entry: its number).
    pub seq: i64,
    pub problem: String,
}

/// What `audit verify` found.
#[derive(Debug, Serialize)]
pub struct Verification {
    pub ok: bool,
    pub entries: u64,
    pub first_seq: Option<i64>,
    pub head: Option<Head>,
    /// The head remembered in `audit.head`.
    pub anchor: Option<Head>,
    /// Entries removed by pruning, as the newest checkpoint records them.
    pub pruned_through: Option<i64>,
    pub broken: Option<Broken>,
    /// Problems that do not point at one entry (a missing guard trigger,
    /// an anchor ahead of the log).
    pub warnings: Vec<String>,
}

/// Walk the whole chain from the oldest entry.
pub fn verify(conn: &Connection, root: &Path) -> rusqlite::Result<Verification> {
    let mut report = Verification {
        ok: true,
        entries: 0,
        first_seq: None,
        head: None,
        anchor: None,
        pruned_through: None,
        broken: None,
        warnings: vec![],
    };
    let checkpoints = prune_checkpoints(conn)?;
    let mut previous: Option<(i64, String)> = None;
    let anchor = match read_anchor(root) {
        Ok(anchor) => anchor,
        Err(problem) => {
            report.warnings.push(problem);
            None
        }
    };
    query::for_each_entry(conn, |stored| {
        let entry = &stored.entry;
        report.entries += 1;
        if report.broken.is_some() {
            return;
        }
        let expected_prev = match &previous {
            Some((seq, hash)) => {
                if entry.seq != seq + 1 {
                    let which = if entry.seq == seq + 2 {
                        format!("entry {} is", seq + 1)
                    } else {
                        format!("entries {} to {} are", seq + 1, entry.seq - 1)
                    };
                    report.broken = Some(Broken {
                        seq: seq + 1,
                        problem: format!("{which} missing: deleted behind wasmdesk's back"),
                    });
                    return;
                }
                hash.clone()
            }
            None => {
                report.first_seq = Some(entry.seq);
                if entry.seq == 1 {
                    GENESIS.to_string()
                } else {
                    match checkpoints.iter().find(|c| c.through == entry.seq - 1) {
                        Some(checkpoint) => {
                            report.pruned_through = Some(checkpoint.through);
                            checkpoint.last_hash.clone()
                        }
                        None => {
                            report.broken = Some(Broken {
                                seq: entry.seq - 1,
                                problem: format!(
                                    "entries up to {} are missing and no prune checkpoint \
                                     accounts for them: deleted behind wasmdesk's back",
                                    entry.seq - 1
                                ),
                            });
                            return;
                        }
                    }
                }
            }
        };
        if let Some(anchor) = anchor.as_ref().filter(|a| a.seq == entry.seq)
            && anchor.hash != entry.hash
        {
            report.broken = Some(Broken {
                seq: entry.seq,
                problem: format!(
                    "it is not the entry {ANCHOR_FILE} remembers with this number: entries \
                         were deleted and others written in their place"
                ),
            });
            return;
        }
        if entry.prev != expected_prev {
            report.broken = Some(Broken {
                seq: entry.seq,
                problem: "its link to the previous entry is wrong: an entry before it was \
                          replaced, or the entries were reordered"
                    .into(),
            });
            return;
        }
        let recomputed = entry_hash(
            entry.seq,
            entry.at_ms,
            &entry.actor,
            &entry.action,
            entry.plugin.as_deref(),
            entry.operation.as_deref(),
            &entry.outcome,
            entry.duration_us,
            entry.rows_read,
            entry.rows_written,
            &stored.tables_json,
            &entry.subjects,
            &stored.detail_json,
            &entry.prev,
        );
        if recomputed != entry.hash {
            report.broken = Some(Broken {
                seq: entry.seq,
                problem: "its content does not match its hash: it was edited after it was written"
                    .into(),
            });
            return;
        }
        previous = Some((entry.seq, entry.hash.clone()));
    })?;
    report.head = previous.map(|(seq, hash)| Head { seq, hash });
    if report.broken.is_none()
        && let Some(anchor) = &anchor
    {
        let head_seq = report.head.as_ref().map_or(0, |h| h.seq);
        if anchor.seq > head_seq {
            report.broken = Some(Broken {
                seq: head_seq + 1,
                problem: format!(
                    "{ANCHOR_FILE} remembers entry {} but the log ends at {head_seq}: \
                         the newest entries were deleted",
                    anchor.seq
                ),
            });
        }
    }
    report.anchor = anchor;
    for trigger in GUARD_TRIGGERS {
        let present: bool = conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'trigger' AND name = ?1",
            [trigger],
            |r| r.get(0),
        )?;
        if !present {
            report.warnings.push(format!(
                "the append-only guard {trigger} was dropped: someone edited the database \
                 outside wasmdesk (run any wasmdesk command to restore it)"
            ));
        }
    }
    report.ok = report.broken.is_none() && report.warnings.is_empty();
    Ok(report)
}

/// The triggers that refuse updates and deletes (schema.rs creates them).
pub const GUARD_TRIGGERS: &[&str] = &[
    "wasmdesk__audit_no_update",
    "wasmdesk__audit_no_delete",
    "wasmdesk__audit_subjects_no_update",
    "wasmdesk__audit_subjects_no_delete",
];

/// A prune checkpoint: entries up to `through` were removed; the last of
/// them had `last_hash`.
struct Checkpoint {
    through: i64,
    last_hash: String,
}

fn prune_checkpoints(conn: &Connection) -> rusqlite::Result<Vec<Checkpoint>> {
    let mut stmt = conn.prepare(
        "SELECT detail FROM wasmdesk__audit WHERE action = ?1 AND outcome = 'ok' ORDER BY seq",
    )?;
    let rows = stmt.query_map([action::AUDIT_PRUNE], |r| r.get::<_, String>(0))?;
    let mut checkpoints = Vec::new();
    for detail in rows {
        let detail: serde_json::Value = serde_json::from_str(&detail?).unwrap_or_default();
        if let (Some(through), Some(last_hash)) = (
            detail["pruned_through"].as_i64(),
            detail["last_pruned_hash"].as_str(),
        ) {
            checkpoints.push(Checkpoint {
                through,
                last_hash: last_hash.to_string(),
            });
        }
    }
    Ok(checkpoints)
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
    actor: &str,
    cutoff_ms: i64,
    dry_run: bool,
) -> rusqlite::Result<(Pruned, Option<Head>)> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
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
        let draft = Draft {
            actor: actor.to_string(),
            action: action::AUDIT_PRUNE,
            plugin: None,
            operation: None,
            outcome: "ok".into(),
            duration_us: 0,
            tables: vec![],
            subjects: vec![],
            detail: serde_json::json!({
                "cutoff_ms": cutoff_ms,
                "pruned_from": first,
                "pruned_through": through,
                "pruned_entries": count,
                "last_pruned_hash": last_hash,
                "pruned_digest": hex(&digest.finalize()),
            }),
        };
        let head = append(conn, &draft)?;
        Ok((
            Pruned {
                entries: count,
                through: Some(through),
            },
            Some(head),
        ))
    })();
    match result {
        Ok(done) => {
            conn.execute_batch(if dry_run { "ROLLBACK" } else { "COMMIT" })?;
            Ok(done)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}
