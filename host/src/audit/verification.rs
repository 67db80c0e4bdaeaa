//! `audit verify`: the whole chain walked from its oldest entry, against
//! the prune checkpoints, the anchor (`audit.head`), the subject index and
//! the append-only guards.

use std::path::Path;

use rusqlite::{Connection, Statement};
use serde::Serialize;

use super::chain::{ANCHOR_FILE, GENESIS, Head, entry_hash, read_anchor};
use super::{action, query};

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
    let anchor = match read_anchor(root) {
        Ok(anchor) => anchor,
        Err(problem) => {
            report.warnings.push(problem);
            None
        }
    };
    let listed_subjects = walk(conn, anchor.as_ref(), &mut report)?;
    if report.broken.is_none() {
        report.broken = anchor_ahead(anchor.as_ref(), report.head.as_ref());
    }
    report.anchor = anchor;
    if report.broken.is_none() {
        report
            .warnings
            .extend(index_surplus(conn, listed_subjects)?);
    }
    report.warnings.extend(missing_guards(conn)?);
    report.ok = report.broken.is_none() && report.warnings.is_empty();
    Ok(report)
}

/// Walk the entries in order until the first break, into `report`; returns
/// how many subjects the entries list.
fn walk(
    conn: &Connection,
    anchor: Option<&Head>,
    report: &mut Verification,
) -> rusqlite::Result<u64> {
    let checkpoints = prune_checkpoints(conn)?;
    let mut in_index = conn.prepare(
        "SELECT count(*) > 0 FROM wasmdesk__audit_subjects WHERE subject = ?1 AND seq = ?2",
    )?;
    let mut listed_subjects = 0u64;
    query::for_each_entry(conn, |stored| {
        let entry = &stored.entry;
        report.entries += 1;
        listed_subjects += entry.subjects.len() as u64;
        if report.broken.is_some() {
            return Ok(());
        }
        let broken = match expected_prev(entry.seq, &checkpoints, report) {
            Err(broken) => Some(broken),
            Ok(expected) => check_entry(stored, &expected, anchor, &mut in_index)?,
        };
        match broken {
            Some(broken) => report.broken = Some(broken),
            None => {
                report.head = Some(Head {
                    seq: entry.seq,
                    hash: entry.hash.clone(),
                });
            }
        }
        Ok(())
    })?;
    Ok(listed_subjects)
}

/// The hash entry `seq` must link to: the previous entry's, the genesis,
/// or the last pruned entry's as a checkpoint records it. Notes in
/// `report` where the log starts and what pruning removed.
fn expected_prev(
    seq: i64,
    checkpoints: &[Checkpoint],
    report: &mut Verification,
) -> Result<String, Broken> {
    if let Some(head) = &report.head {
        if seq != head.seq + 1 {
            let which = if seq == head.seq + 2 {
                format!("entry {} is", head.seq + 1)
            } else {
                format!("entries {} to {} are", head.seq + 1, seq - 1)
            };
            return Err(Broken {
                seq: head.seq + 1,
                problem: format!("{which} missing: deleted behind wasmdesk's back"),
            });
        }
        return Ok(head.hash.clone());
    }
    report.first_seq = Some(seq);
    if seq == 1 {
        return Ok(GENESIS.to_string());
    }
    match checkpoints.iter().find(|c| c.through == seq - 1) {
        Some(checkpoint) => {
            report.pruned_through = Some(checkpoint.through);
            Ok(checkpoint.last_hash.clone())
        }
        None => Err(Broken {
            seq: seq - 1,
            problem: format!(
                "entries up to {} are missing and no prune checkpoint \
                 accounts for them: deleted behind wasmdesk's back",
                seq - 1
            ),
        }),
    }
}

/// One entry against the anchor, its link, its hash and the subject index.
fn check_entry(
    stored: &query::Stored,
    expected_prev: &str,
    anchor: Option<&Head>,
    in_index: &mut Statement<'_>,
) -> rusqlite::Result<Option<Broken>> {
    let entry = &stored.entry;
    let broken = |problem: String| {
        Ok(Some(Broken {
            seq: entry.seq,
            problem,
        }))
    };
    if let Some(anchor) = anchor.filter(|a| a.seq == entry.seq)
        && anchor.hash != entry.hash
    {
        return broken(format!(
            "it is not the entry {ANCHOR_FILE} remembers with this number: entries \
                 were deleted and others written in their place"
        ));
    }
    if entry.prev != expected_prev {
        return broken(
            "its link to the previous entry is wrong: an entry before it was \
             replaced, or the entries were reordered"
                .into(),
        );
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
        return broken(
            "its content does not match its hash: it was edited after it was written".into(),
        );
    }
    for subject in &entry.subjects {
        let indexed: bool =
            in_index.query_row(rusqlite::params![subject, entry.seq], |r| r.get(0))?;
        if !indexed {
            return broken(
                "a subject it lists is missing from the subject index: the index was \
                 edited, so searches by --subject would miss this entry"
                    .into(),
            );
        }
    }
    Ok(None)
}

/// An anchor that remembers an entry past the end of the log: the newest
/// entries were deleted.
fn anchor_ahead(anchor: Option<&Head>, head: Option<&Head>) -> Option<Broken> {
    let anchor = anchor?;
    let head_seq = head.map_or(0, |h| h.seq);
    (anchor.seq > head_seq).then(|| Broken {
        seq: head_seq + 1,
        problem: format!(
            "{ANCHOR_FILE} remembers entry {} but the log ends at {head_seq}: \
                 the newest entries were deleted",
            anchor.seq
        ),
    })
}

/// Rows of the subject index that no entry lists.
fn index_surplus(conn: &Connection, listed_subjects: u64) -> rusqlite::Result<Option<String>> {
    let indexed: i64 =
        conn.query_row("SELECT count(*) FROM wasmdesk__audit_subjects", [], |r| {
            r.get(0)
        })?;
    Ok((indexed as u64 > listed_subjects).then(|| {
        format!(
            "the subject index holds {} row(s) that no entry lists: rows were added or left \
             behind outside wasmdesk",
            indexed as u64 - listed_subjects
        )
    }))
}

/// A warning for each append-only guard that was dropped.
fn missing_guards(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut warnings = Vec::new();
    for trigger in GUARD_TRIGGERS {
        let present: bool = conn.query_row(
            "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'trigger' AND name = ?1",
            [trigger],
            |r| r.get(0),
        )?;
        if !present {
            warnings.push(format!(
                "the append-only guard {trigger} was dropped: someone edited the database \
                 outside wasmdesk (run any wasmdesk command to restore it)"
            ));
        }
    }
    Ok(warnings)
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
