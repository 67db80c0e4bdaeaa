//! Backups that remember erasures: `backup` copies site.db with SQLite's
//! online backup; every erasure appends a keyed hash of the address to
//! `SITE/erasures.journal` (outside the database); `restore` copies a backup
//! back and replays every erasure made since it was taken.

use std::io::{BufRead, Write};
use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::{Scope, Subject};
use crate::error::Error;
use crate::site::Site;

/// One line of the erasure journal.
#[derive(Debug, Serialize, Deserialize)]
struct Erased {
    at_ms: i64,
    /// HMAC-SHA256 of the address with the site's secret: never the address.
    subject_hash: String,
    /// Keyed hashes of the other identifiers erased with the address (the
    /// name, `--identifier` values), normalised: a restore finds them in
    /// the restored text without the journal holding them in clear.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    identifiers: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct BackupReport {
    pub out: String,
    pub taken_at_ms: i64,
    pub bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct RestoreReport {
    pub from: String,
    pub backup_taken_at_ms: i64,
    /// Erasures made after the backup and replayed now.
    pub replayed: usize,
    /// Journal entries after the backup whose subject the backup did not hold.
    pub not_present: usize,
    pub clean: bool,
}

impl Site {
    fn journal_path(&self) -> std::path::PathBuf {
        self.paths().root.join("erasures.journal")
    }

    /// Remember an erasure of `subject` (called after it succeeded).
    pub(crate) fn journal_erasure(&self, subject: &Subject) -> Result<(), Error> {
        let line = Erased {
            at_ms: crate::now_ms(),
            subject_hash: self.subject_hash(&subject.email)?,
            identifiers: subject
                .identifiers
                .iter()
                .map(|(_, v)| self.subject_hash(&normalise(v)))
                .collect::<Result<_, _>>()?,
        };
        let path = self.journal_path();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        writeln!(
            file,
            "{}",
            serde_json::to_string(&line).expect("a journal line serializes")
        )
        .and_then(|()| file.sync_data())
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
    }

    /// Copy the site database to `out` while the site keeps running.
    pub fn backup(&mut self, out: &Path) -> Result<BackupReport, Error> {
        if out.exists() {
            return Err(Error::Conflict(format!(
                "{} exists: choose another file",
                out.display()
            )));
        }
        let taken_at_ms = crate::now_ms();
        {
            let mut copy = Connection::open(out)?;
            let backup = rusqlite::backup::Backup::new(self.db(), &mut copy)?;
            backup.run_to_completion(256, std::time::Duration::from_millis(5), None)?;
            drop(backup);
            // The copy knows when it was taken: restore replays what came after.
            copy.execute(
                "INSERT INTO wasmdesk__site (key, value) VALUES ('backup_taken_at', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [taken_at_ms.to_string()],
            )?;
        }
        let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
        let detail = serde_json::json!({
            "out": crate::emails::scrub(&out.display().to_string()),
            "bytes": bytes,
        });
        self.audit(self.act(crate::audit::action::BACKUP, detail))?;
        Ok(BackupReport {
            out: out.display().to_string(),
            taken_at_ms,
            bytes,
        })
    }

    /// Replace the site database with the backup in `from`, then erase again
    /// everyone erased since the backup was taken.
    pub fn restore(&mut self, from: &Path) -> Result<RestoreReport, Error> {
        let source =
            Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| {
                Error::BadRequest(format!("cannot open {} as a backup: {e}", from.display()))
            })?;
        let taken: Option<String> = source
            .query_row(
                "SELECT value FROM wasmdesk__site WHERE key = 'backup_taken_at'",
                [],
                |r| r.get(0),
            )
            .ok();
        let Some(backup_taken_at_ms) = taken.and_then(|t| t.parse::<i64>().ok()) else {
            return Err(Error::BadRequest(format!(
                "{} is not a wasmdesk backup (made with: wasmdesk backup --out FILE)",
                from.display()
            )));
        };
        // The log since the backup goes with the database it describes; the
        // restore entry says how many entries that was.
        let newest_entry = |site: &Site| -> Result<i64, Error> {
            site.db()
                .query_row(
                    "SELECT coalesce(max(seq), 0) FROM wasmdesk__audit",
                    [],
                    |r| r.get(0),
                )
                .map_err(Error::from)
        };
        let backup_head: i64 = source.query_row(
            "SELECT coalesce(max(seq), 0) FROM wasmdesk__audit",
            [],
            |r| r.get(0),
        )?;
        // The log written since the backup outlives the restore: its entries
        // are appended again after it (their subjects are keyed hashes).
        let carried = later_entries(self.db(), backup_head)?;
        let head_now = newest_entry(self)?;
        self.replace_database(&source)?;
        let audit_lost = (head_now - newest_entry(self)?).max(0);
        let journal = self.read_journal()?;
        let later: Vec<&Erased> = journal
            .iter()
            .filter(|e| e.at_ms > backup_taken_at_ms)
            .collect();
        let mut replayed = 0;
        let mut not_present = 0;
        let mut clean = true;
        if !later.is_empty() {
            // Every address and short word sequence in the restored text,
            // by keyed hash: a person only mentioned in someone else's
            // message, or known only by a name, is found too.
            let found = self.restored_identifiers(&later)?;
            for erased in later {
                let email = found.get(&erased.subject_hash).cloned();
                let identifiers: Vec<String> = erased
                    .identifiers
                    .iter()
                    .filter_map(|h| found.get(h).cloned())
                    .collect();
                if email.is_none() && identifiers.is_empty() {
                    not_present += 1;
                    continue;
                }
                // Known only by identifiers: erase those under an address
                // no one has.
                let mut subject = Subject::new(
                    email
                        .as_deref()
                        .unwrap_or("erased-subject@wasmdesk.invalid"),
                    None,
                )?;
                for value in identifiers {
                    subject.identifiers.push(("identifier".into(), value));
                }
                let report = self.erase_subject(&subject, false, Scope::Full)?;
                clean &= report.clean;
                replayed += 1;
            }
        }
        let mut digest = sha2::Sha256::new();
        for (_, hash) in &carried {
            digest.update(hash.as_bytes());
        }
        let carried_count = carried.len();
        for (draft, _) in carried {
            self.audit(draft)?;
        }
        let detail = serde_json::json!({
            "from": crate::emails::scrub(&from.display().to_string()),
            "backup_taken_at_ms": backup_taken_at_ms,
            "audit_entries_lost": audit_lost,
            "audit_entries_carried_over": carried_count,
            "carried_over_sha256": format!("{:x}", digest.finalize()),
            "erasures_replayed": replayed,
        });
        self.audit(self.act(crate::audit::action::RESTORE, detail))?;
        self.reset_anchor()?;
        Ok(RestoreReport {
            from: from.display().to_string(),
            backup_taken_at_ms,
            replayed,
            not_present,
            clean,
        })
    }

    fn read_journal(&self) -> Result<Vec<Erased>, Error> {
        let path = self.journal_path();
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
        };
        let mut entries = Vec::new();
        for line in std::io::BufReader::new(file).lines() {
            let line = line.map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
            if let Ok(entry) = serde_json::from_str(&line) {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// Values in the restored database whose keyed hash one of `erased`
    /// names: e-mail addresses (also `%40`) anywhere in any text column,
    /// and word sequences of up to six words (names, streets, phone
    /// numbers), by hash.
    fn restored_identifiers(
        &self,
        erased: &[&Erased],
    ) -> Result<std::collections::HashMap<String, String>, Error> {
        use std::collections::{HashMap, HashSet};
        let wanted: HashSet<&str> = erased
            .iter()
            .flat_map(|e| {
                std::iter::once(e.subject_hash.as_str())
                    .chain(e.identifiers.iter().map(String::as_str))
            })
            .collect();
        let any_identifiers = erased.iter().any(|e| !e.identifiers.is_empty());
        let mut found: HashMap<String, String> = HashMap::new();
        let tables: Vec<String> = {
            let mut stmt = self.db().prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
                     AND name NOT LIKE 'wasmdesk\\_\\_audit%' ESCAPE '\\' \
                     AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'",
            )?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        for table in tables {
            let columns: Vec<String> = {
                let mut stmt = self
                    .db()
                    .prepare("SELECT name FROM pragma_table_info(?1)")?;
                stmt.query_map([&table], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?
            };
            for column in columns {
                let sql = format!(
                    "SELECT \"{c}\" FROM \"{t}\" WHERE typeof(\"{c}\") = 'text'",
                    c = column.replace('"', "\"\""),
                    t = table.replace('"', "\"\"")
                );
                let mut stmt = self.db().prepare(&sql)?;
                let mut rows = stmt.query([])?;
                while let Some(row) = rows.next()? {
                    let text: String = row.get(0)?;
                    let mut emails = HashSet::new();
                    crate::emails::collect(&text.replace("%40", "@"), &mut emails);
                    for email in emails {
                        let hash = self.subject_hash(&email)?;
                        if wanted.contains(hash.as_str()) {
                            found.insert(hash, email);
                        }
                    }
                    if any_identifiers {
                        let words: Vec<&str> = text.split_whitespace().collect();
                        for start in 0..words.len() {
                            for len in 1..=6.min(words.len() - start) {
                                let phrase = words[start..start + len]
                                    .join(" ")
                                    .trim_matches(|c: char| c.is_ascii_punctuation())
                                    .to_string();
                                let hash = self.subject_hash(&normalise(&phrase))?;
                                if wanted.contains(hash.as_str()) {
                                    found.insert(hash, phrase);
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(found)
    }
}

/// An identifier as the journal hashes it: trimmed, lower-cased, inner
/// spaces collapsed.
fn normalise(value: &str) -> String {
    value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// One audit row after the backup's head: a draft to append again, and the
/// row's original hash (for the digest the restore entry records).
type Carried = (crate::audit::Draft, String);

/// Audit entries after `seq`, as drafts to append again.
fn later_entries(db: &Connection, seq: i64) -> Result<Vec<Carried>, Error> {
    let mut stmt = db.prepare(
        "SELECT seq, at, actor, action, plugin, operation, outcome, duration_us, subjects, \
             tables, detail, hash FROM wasmdesk__audit WHERE seq > ?1 ORDER BY seq",
    )?;
    let mut rows = stmt.query([seq])?;
    let mut drafts = Vec::new();
    while let Some(r) = rows.next()? {
        let old_seq: i64 = r.get(0)?;
        let action: String = r.get(3)?;
        let subjects: String = r.get(8)?;
        let tables: String = r.get(9)?;
        let detail: String = r.get(10)?;
        let mut detail: serde_json::Value =
            serde_json::from_str(&detail).unwrap_or_else(|_| serde_json::json!({}));
        if let Some(map) = detail.as_object_mut() {
            map.insert("carried_over_from_seq".into(), old_seq.into());
            map.insert("original_action".into(), action.clone().into());
        }
        let draft = crate::audit::Draft {
            at_ms: r.get(1)?,
            actor: r.get(2)?,
            action: static_action(&action),
            plugin: r.get(4)?,
            operation: r.get(5)?,
            outcome: r.get(6)?,
            duration_us: r.get(7)?,
            tables: serde_json::from_str(&tables).unwrap_or_default(),
            subjects: subjects.split_whitespace().map(String::from).collect(),
            detail,
        };
        drafts.push((draft, r.get(11)?));
    }
    Ok(drafts)
}

/// The stable action name for `name`, or `audit.carried-over`.
fn static_action(name: &str) -> &'static str {
    use crate::audit::action as a;
    [
        a::PLUGIN_CALL,
        a::PLUGIN_ENABLE,
        a::PLUGIN_DISABLE,
        a::PLUGIN_REMOVE,
        a::GRANT_ADD,
        a::GRANT_REVOKE,
        a::LIMITS_SET,
        a::RETENTION_SET,
        a::RETENTION_RUN,
        a::REQUEST_OPEN,
        a::REQUEST_CONFIRM,
        a::EXPORT_DOWNLOAD,
        a::ERASURE_DONE,
        a::BACKUP,
        a::RESTORE,
        a::AUDIT_EXPORT,
        a::AUDIT_PRUNE,
        a::AUDIT_GUARDS_RESTORED,
        a::BREACH_RECORD,
        a::BREACH_AFFECTED,
        a::BREACH_CLOSE,
    ]
    .into_iter()
    .find(|known| *known == name)
    .unwrap_or("audit.carried-over")
}
