//! Backups that remember erasures: `backup` copies site.db with SQLite's
//! online backup; every erasure appends a keyed hash of the address to
//! `SITE/erasures.journal` (outside the database); `restore` copies a backup
//! back and replays every erasure made since it was taken.

use std::io::{BufRead, Write};
use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};

use super::{Scope, Subject};
use crate::error::Error;
use crate::registry::records;
use crate::site::Site;

/// One line of the erasure journal.
#[derive(Debug, Serialize, Deserialize)]
struct Erased {
    at_ms: i64,
    /// HMAC-SHA256 of the address with the site's secret: never the address.
    subject_hash: String,
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

fn store_err(e: rusqlite::Error) -> Error {
    Error::Store(e.into())
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
            let mut copy = Connection::open(out).map_err(store_err)?;
            let backup = rusqlite::backup::Backup::new(self.db(), &mut copy).map_err(store_err)?;
            backup
                .run_to_completion(256, std::time::Duration::from_millis(5), None)
                .map_err(store_err)?;
            drop(backup);
            // The copy knows when it was taken: restore replays what came after.
            copy.execute(
                "INSERT INTO wasmdesk__site (key, value) VALUES ('backup_taken_at', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [taken_at_ms.to_string()],
            )
            .map_err(store_err)?;
        }
        let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
        let detail = serde_json::json!({
            "out": crate::audit::emails::scrub(&out.display().to_string()),
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
                .map_err(store_err)
        };
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
        for erased in later {
            match self.find_subject(&erased.subject_hash)? {
                Some(email) => {
                    // A full scan: restore already costs what the site
                    // weighs, and a backup may carry free pages from before
                    // deletions were overwritten.
                    let report =
                        self.erase_subject(&Subject::new(&email, None)?, false, Scope::Full)?;
                    clean &= report.clean;
                    replayed += 1;
                }
                None => not_present += 1,
            }
        }
        let detail = serde_json::json!({
            "from": crate::audit::emails::scrub(&from.display().to_string()),
            "backup_taken_at_ms": backup_taken_at_ms,
            "audit_entries_lost": audit_lost,
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

    /// The address whose keyed hash is `hash`, looked up among the values of
    /// the columns the plugins declare as personal data.
    fn find_subject(&self, hash: &str) -> Result<Option<String>, Error> {
        for record in records::enabled(self.db())? {
            for field in record
                .manifest
                .processing
                .iter()
                .flat_map(|p| &p.personal_data)
            {
                let sql = format!(
                    "SELECT DISTINCT \"{}\" FROM \"{}\" WHERE typeof(\"{0}\") = 'text' AND instr(\"{0}\", '@') > 0 AND length(\"{0}\") <= 320",
                    field.column.replace('"', "\"\""),
                    field.table.replace('"', "\"\"")
                );
                let Ok(mut stmt) = self.db().prepare(&sql) else {
                    continue;
                };
                let values = stmt
                    .query_map([], |r| r.get::<_, String>(0))
                    .map_err(store_err)?;
                for value in values {
                    let value = value.map_err(store_err)?;
                    if self.subject_hash(&value)? == hash {
                        return Ok(Some(value.trim().to_lowercase()));
                    }
                }
            }
        }
        Ok(None)
    }
}
