//! GDPR requests about one data subject: export (Art. 15, 20) through every
//! plugin's exporter, erasure (Art. 17) through every eraser, then proof:
//! a residue scan of the rows and raw pages the erasure touched, or of every
//! column and every byte of the database.

pub mod archive;
pub mod backup;
pub mod paged;
pub mod register;
pub mod requests;
pub mod residue;
pub mod retention;

use std::path::Path;

use serde::Serialize;

use crate::contract::privacy as wit;
use crate::error::Error;
use crate::registry::records;
use crate::runtime::{CallError, CallErrorKind, FailureKind};
use crate::site::{CallOptions, Site};
use crate::store::namespace::Namespace;
use residue::WalPages;
use wasmdesk_identifiers::Person;

/// The audit log's name for an eraser's call.
pub(crate) const ERASE_OPERATION: &str = "privacy erase";

/// The most pages one plugin may return for one request: a plugin that
/// keeps saying "more" is stopped, not followed forever.
const MAX_PAGES: usize = 100_000;

/// Most pages one plugin's eraser may return for one subject: a subject's
/// data is a small part of a site, so more means an eraser that loops.
const MAX_ERASE_PAGES: usize = 10_000;

/// The person a request is about.
#[derive(Debug, Clone)]
pub struct Subject {
    /// Lower-cased.
    pub email: String,
    /// Other identifiers, such as ("name", "Ada Lovelace").
    pub identifiers: Vec<(String, String)>,
}

/// Why `email` (trimmed, lower-cased) is not an address a person can have,
/// by RFC 5321's limits: one `@`, a local part of 1 to 64 bytes, a domain
/// of dotted labels of 1 to 63 bytes, 254 bytes in all, no spaces or
/// control characters.
fn address_problem(email: &str) -> Option<&'static str> {
    if email.len() > 254 {
        return Some("it is longer than 254 bytes");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("it contains spaces or control characters");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Some("it has no @");
    };
    if domain.contains('@') {
        return Some("it has more than one @");
    }
    if local.is_empty() || local.len() > 64 {
        return Some("the part before the @ must be 1 to 64 bytes");
    }
    if !domain.contains('.')
        || domain
            .split('.')
            .any(|label| label.is_empty() || label.len() > 63)
    {
        return Some("the part after the @ must be a domain such as example.org");
    }
    None
}

impl Subject {
    pub fn new(email: &str, name: Option<&str>) -> Result<Subject, Error> {
        let email = email.trim().to_lowercase();
        if let Some(problem) = address_problem(&email) {
            let shown: String = email.chars().take(80).collect();
            let more = if email.chars().count() > 80 {
                "..."
            } else {
                ""
            };
            return Err(Error::BadRequest(format!(
                "\"{}{more}\" is not an e-mail address: {problem}",
                crate::text::single_line(&shown)
            )));
        }
        let identifiers = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| vec![("name".to_string(), n.to_string())])
            .unwrap_or_default();
        Ok(Subject { email, identifiers })
    }

    /// Another identifier the site owner knows (a phone number, a street):
    /// searched for and anonymised like the name.
    pub fn add_identifier(&mut self, kind: &str, value: &str) -> Result<(), Error> {
        let (kind, value) = (kind.trim(), value.trim());
        if kind.is_empty() || value.chars().count() < 3 || value.len() > 256 {
            return Err(Error::BadRequest(format!(
                "identifier {:?}={:?}: give a kind and a value of 3 to 256 characters",
                crate::text::single_line(kind),
                crate::text::single_line(value)
            )));
        }
        self.identifiers.push((kind.to_string(), value.to_string()));
        Ok(())
    }

    pub(crate) fn wit(&self) -> wit::Subject {
        wit::Subject {
            email: self.email.clone(),
            identifiers: self.identifiers.clone(),
        }
    }

    /// The subject as the proof searches for them: the address in every
    /// spelling of the same mailbox and every identifier, compared by the
    /// rules of [`wasmdesk_identifiers`].
    fn person(&self) -> Person {
        Person::new(
            Some(&self.email),
            self.identifiers.iter().map(|(_, value)| value.as_str()),
        )
    }
}

#[derive(Debug, Serialize)]
pub struct ExportReport {
    pub subject: String,
    pub out: String,
    pub plugins: Vec<String>,
    pub items: usize,
    pub files: u64,
}

#[derive(Debug, Serialize)]
pub struct ErasureReport {
    pub subject: String,
    pub dry_run: bool,
    pub plugins: Vec<PluginErasure>,
    /// Columns that still hold an identifier after the erasure.
    pub residue: Vec<PluginResidue>,
    /// Occurrences of the e-mail address in the raw bytes of site.db and
    /// site.db-wal after the erasure (not measured on a dry run).
    pub raw_bytes: Option<RawBytes>,
    /// What was searched for residue.
    pub verification: Verification,
    pub clean: bool,
    pub summary: String,
}

impl ErasureReport {
    /// The error of an erasure whose eraser failed in some plugin (every
    /// other eraser ran), naming each and ending with `what_next`.
    pub fn incomplete(&self, what_next: &str) -> Option<Error> {
        let failed: Vec<&PluginErasure> =
            self.plugins.iter().filter(|p| p.error.is_some()).collect();
        if failed.is_empty() {
            return None;
        }
        let removed: u64 = self.plugins.iter().map(|p| p.items_removed).sum();
        let plugins = failed
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        Some(Error::Call(CallError::named(
            &plugins,
            "privacy erasure",
            CallErrorKind::Failed {
                kind: FailureKind::Fault,
                message: format!(
                    "its eraser failed, so the erasure is incomplete ({}); the other plugins' \
                     erasers ran ({removed} item(s) removed in all); {what_next}",
                    failed
                        .iter()
                        .map(|p| p.error.as_deref().unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            },
        )))
    }
}

#[derive(Debug, Serialize)]
pub struct PluginErasure {
    pub id: String,
    pub items_removed: u64,
    pub items_retained: Vec<Retained>,
    pub messages: Vec<String>,
    /// Why this plugin's eraser did not finish (`code: message`); the
    /// erasure is then incomplete and can be run again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Retained {
    pub item: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct PluginResidue {
    /// The plugin whose namespace holds the table, or "host".
    pub plugin: String,
    pub table: String,
    pub column: String,
    pub rows: u64,
    /// Whether the owning plugin's personal-data map declares the column (a
    /// shadow table of a declared virtual table counts as declared). Residue
    /// in an undeclared column means the map is incomplete too.
    pub declared: bool,
}

#[derive(Debug, Serialize)]
pub struct RawBytes {
    pub database: u64,
    pub wal: u64,
    /// Files under the site folder (exports, logs, backups, anything left
    /// there) whose bytes hold the subject, in any of the forms searched.
    pub files: Vec<residue::FileResidue>,
    /// Database pages searched: the whole file, or those the erasure rewrote.
    #[serde(skip)]
    pub pages: u64,
}

/// How far the search for residue after an erasure reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The database pages the erasure rewrote, byte by byte, and the tables
    /// the audit log ties to the subject that no eraser wrote since, row by
    /// row: the cost follows the subject's data, not the site's size.
    Subject,
    /// Every row of every table and every byte of the file.
    Full,
}

/// What the search for residue covered.
#[derive(Debug, Serialize)]
pub struct Verification {
    pub scope: Scope,
    /// Tables searched row by row (with their full-text shadow tables).
    pub tables_searched: Vec<String>,
    /// Database pages searched byte by byte (none on a dry run).
    pub pages_searched: u64,
    /// On a dry run in subject scope: the tables the audit log ties to the
    /// subject that no erasure has written since (not searched).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tables_awaiting_erasure: Vec<String>,
}

impl Site {
    /// Enabled plugins that export the privacy interface, by id.
    pub(crate) fn privacy_plugins(&mut self) -> Result<Vec<(String, String)>, Error> {
        let mut found = Vec::new();
        for record in records::enabled(self.db())? {
            let (_, plugin) = self.ready(&record.id)?;
            if plugin.exports.privacy.is_some() {
                found.push((record.id, record.manifest.version));
            }
        }
        Ok(found)
    }

    /// Export everything every plugin holds about `subject` into a zip at `out`.
    pub fn export_subject(&mut self, subject: &Subject, out: &Path) -> Result<ExportReport, Error> {
        self.export_subject_with_progress(subject, out, &mut |_, _| {})
    }

    /// As `export_subject`, telling `progress` (plugin, items so far) after
    /// every page.
    pub fn export_subject_with_progress(
        &mut self,
        subject: &Subject,
        out: &Path,
        progress: &mut dyn FnMut(&str, usize),
    ) -> Result<ExportReport, Error> {
        let mut exported = 0usize;
        let wit_subject = subject.wit();
        let mut plugins = Vec::new();
        for (id, version) in self.privacy_plugins()? {
            let (_, plugin) = self.ready(&id)?;
            let mut groups: Vec<archive::Group> = Vec::new();
            let mut cursor: Option<String> = None;
            for page_number in 0.. {
                if page_number == MAX_PAGES {
                    return Err(too_many_pages(&id, "export", MAX_PAGES));
                }
                let (page, _) = self.run_with_db(
                    &id,
                    &plugin,
                    "privacy export",
                    CallOptions::READ_ONLY,
                    |guest| guest.export_data(&wit_subject, cursor.as_deref()),
                )?;
                exported += page.items.len();
                for item in page.items {
                    let files: Vec<(String, Vec<u8>)> = item
                        .files
                        .into_iter()
                        .map(|f| {
                            (
                                archive::file_path(&id, &item.group_id, &item.item_id, &f.name),
                                f.content,
                            )
                        })
                        .collect();
                    let entry = archive::Item {
                        id: item.item_id,
                        data: item
                            .data
                            .into_iter()
                            .map(|(name, value)| archive::Field { name, value })
                            .collect(),
                        files: files.iter().map(|(path, _)| path.clone()).collect(),
                        contents: files,
                    };
                    match groups.iter_mut().find(|g| g.id == item.group_id) {
                        Some(group) => group.items.push(entry),
                        None => groups.push(archive::Group {
                            id: item.group_id,
                            label: item.group_label,
                            items: vec![entry],
                        }),
                    }
                }
                progress(&id, exported);
                cursor = page.next;
                if cursor.is_none() {
                    break;
                }
            }
            plugins.push(archive::PluginExport {
                id,
                version,
                groups,
            });
        }
        let export = archive::Export {
            format: "wasmdesk-export",
            version: 1,
            generated_at_ms: crate::now_ms(),
            subject: subject.email.clone(),
            plugins,
        };
        let items = export
            .plugins
            .iter()
            .flat_map(|p| &p.groups)
            .map(|g| g.items.len())
            .sum();
        let files = archive::write(&export, out)
            .map_err(|e| Error::io(format!("cannot write {}", out.display()), e))?;
        let detail = serde_json::json!({
            "out": crate::emails::scrub(&out.display().to_string()),
            "items": items,
            "files": files,
            "plugins": export.plugins.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        });
        let draft = self
            .act(crate::audit::action::EXPORT_DOWNLOAD, detail)
            .subject(self.subject_hash(&subject.email)?);
        self.audit(draft)?;
        Ok(ExportReport {
            subject: subject.email.clone(),
            out: out.display().to_string(),
            plugins: export.plugins.iter().map(|p| p.id.clone()).collect(),
            items,
            files,
        })
    }

    /// Erase `subject` through every plugin's eraser, checkpoint the WAL,
    /// and search for what remains: in `Scope::Subject`, the database pages
    /// the erasure rewrote and the tables the audit log ties to the subject
    /// that no eraser touched; in `Scope::Full`, every table and every byte.
    /// A dry run changes nothing and reports what would be done.
    pub fn erase_subject(
        &mut self,
        subject: &Subject,
        dry_run: bool,
        scope: Scope,
    ) -> Result<ErasureReport, Error> {
        let report = self.erase_subject_keeping(subject, dry_run, scope, None)?;
        match report.incomplete("fix it and erase again") {
            Some(error) => Err(error),
            None => Ok(report),
        }
    }

    /// [`Site::erase_subject`] for the erasure request `keep_request`: its
    /// row is not closed like the subject's other requests, and forgets the
    /// address only once every eraser finished, so that a run interrupted
    /// before then can be run again.
    pub(crate) fn erase_subject_keeping(
        &mut self,
        subject: &Subject,
        dry_run: bool,
        scope: Scope,
        keep_request: Option<i64>,
    ) -> Result<ErasureReport, Error> {
        let wit_subject = subject.wit();
        let db_path = self.paths().db.clone();
        let io = |e| Error::io(format!("cannot read the WAL of {}", db_path.display()), e);
        // A dry run writes nothing: no pages to follow.
        let mut rewritten = if dry_run {
            None
        } else {
            Some(WalPages::from_end(&db_path).map_err(io)?)
        };
        let mut plugins = Vec::new();
        // Every plugin's eraser runs, whatever another one did: one failing
        // plugin must not keep the subject in all the others.
        for (id, _) in self.privacy_plugins()? {
            let mut report = PluginErasure {
                id: id.clone(),
                items_removed: 0,
                items_retained: vec![],
                messages: vec![],
                error: None,
            };
            if let Err(e) = self.run_eraser(&id, &wit_subject, dry_run, &mut rewritten, &mut report)
            {
                report.error = Some(format!("{}: {e}", e.code().as_str()));
            }
            plugins.push(report);
        }
        let failed: Vec<&str> = plugins
            .iter()
            .filter(|p| p.error.is_some())
            .map(|p| p.id.as_str())
            .collect();
        if !dry_run {
            self.journal_erasure(subject)?;
            if failed.is_empty() {
                self.forget_host_copies(subject, keep_request)?;
            }
        }
        let awaiting = match scope {
            Scope::Full => None,
            Scope::Subject => {
                self.flush_audit()?;
                let hash = self.subject_hash(&subject.email)?;
                Some(
                    crate::audit::query::tables_awaiting_erasure(self.db(), &hash, ERASE_OPERATION)
                        .map_err(|e| Error::Store(e.into()))?,
                )
            }
        };
        let raw_bytes = match &rewritten {
            Some(rewritten) => Some(self.checkpoint_and_count(subject, scope, rewritten)?),
            None => None,
        };
        // A dry run in subject scope searches no rows: the tables awaiting
        // erasure hold the data by definition, and searching them would cost
        // what the site weighs, not what the subject does.
        let (found, tables_searched) = if dry_run && scope == Scope::Subject {
            (vec![], vec![])
        } else {
            residue::scan(self.db(), &subject.person(), awaiting.as_ref())?
        };
        let owners = self.namespace_owners()?;
        let declared = self.declared_personal_data()?;
        let residue: Vec<PluginResidue> = found
            .into_iter()
            .map(|r| PluginResidue {
                plugin: owner_of(&owners, &r.table),
                declared: declared.iter().any(|(table, column)| {
                    (r.table.eq_ignore_ascii_case(table) && r.column.eq_ignore_ascii_case(column))
                        || r.table
                            .to_ascii_lowercase()
                            .starts_with(&format!("{}_", table.to_ascii_lowercase()))
                }),
                table: r.table,
                column: r.column,
                rows: r.rows,
            })
            .collect();
        let raw_clean = raw_bytes
            .as_ref()
            .is_none_or(|r| r.database == 0 && r.wal == 0 && r.files.is_empty());
        let clean = residue.is_empty() && raw_clean && failed.is_empty();
        let verification = Verification {
            scope,
            tables_searched,
            pages_searched: raw_bytes.as_ref().map_or(0, |r| r.pages),
            tables_awaiting_erasure: awaiting
                .filter(|_| dry_run)
                .map(|tables| tables.into_iter().collect())
                .unwrap_or_default(),
        };
        let removed: u64 = plugins.iter().map(|p| p.items_removed).sum();
        let searched = match scope {
            Scope::Full => {
                " (every table, every byte of site.db and its WAL, every file under the site folder searched)"
            }
            Scope::Subject => {
                " in what the quick scan searched: the pages the erasure rewrote, the tables the \
                 audit log ties to this person and the files under the site folder; it skipped \
                 the other tables and pages (run without --quick to search everything)"
            }
        };
        let summary = match (dry_run, removed, clean) {
            _ if !failed.is_empty() => format!(
                "the erasure is incomplete: the eraser of {} failed (see plugins); the others \
                 ran; fix it and erase again (erasers may run twice)",
                failed.join(", ")
            ),
            (true, 0, true) => format!(
                "no personal data of {} was found; nothing would change",
                subject.email
            ),
            (true, n, _) => {
                format!("{n} item(s) would be removed or anonymised; nothing was changed (dry run)")
            }
            (false, 0, true) => format!(
                "no personal data of {} was found; nothing was changed",
                subject.email
            ),
            (false, n, true) => format!(
                "{n} item(s) removed or anonymised; no trace of {} remains{searched}",
                subject.email
            ),
            (false, n, false) => {
                let mut places = Vec::new();
                if !residue.is_empty() {
                    places.push("rows (see residue)".to_string());
                }
                if let Some(raw) = &raw_bytes {
                    if raw.database + raw.wal > 0 {
                        places.push(
                            "the raw bytes of site.db or its WAL (see raw_bytes)".to_string(),
                        );
                    }
                    for file in &raw.files {
                        places.push(format!("the file {}", file.path));
                    }
                }
                format!(
                    "{n} item(s) removed or anonymised, but traces of {} remain in {}",
                    subject.email,
                    places.join(", ")
                )
            }
        };
        if !dry_run {
            let detail = serde_json::json!({
                "plugins": plugins.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
                "failed": failed,
                "items_removed": removed,
                "clean": clean,
                "scope": scope,
            });
            let draft = self
                .act(crate::audit::action::ERASURE_DONE, detail)
                .subject(self.subject_hash(&subject.email)?);
            self.audit(draft)?;
        }
        Ok(ErasureReport {
            subject: subject.email.clone(),
            dry_run,
            plugins,
            residue,
            raw_bytes,
            verification,
            clean,
            summary,
        })
    }

    /// Run one plugin's eraser page by page into `report`.
    fn run_eraser(
        &mut self,
        id: &str,
        wit_subject: &wit::Subject,
        dry_run: bool,
        rewritten: &mut Option<WalPages>,
        report: &mut PluginErasure,
    ) -> Result<(), Error> {
        let db_path = self.paths().db.clone();
        let io = |e| Error::io(format!("cannot read the WAL of {}", db_path.display()), e);
        let (_, plugin) = self.ready(id)?;
        let options = if dry_run {
            CallOptions::READ_ONLY
        } else {
            CallOptions::WRITE
        };
        let mut cursor: Option<String> = None;
        for page_number in 0.. {
            if page_number == MAX_ERASE_PAGES {
                return Err(too_many_pages(id, "erasure", MAX_ERASE_PAGES));
            }
            let (page, _) =
                self.run_with_db(id, &plugin, ERASE_OPERATION, options.clone(), |guest| {
                    guest.erase_data(wit_subject, cursor.as_deref(), dry_run)
                })?;
            // Before the next transaction can restart the WAL.
            if let Some(rewritten) = rewritten.as_mut() {
                rewritten.observe().map_err(io)?;
            }
            report.items_removed += page.items_removed;
            report
                .items_retained
                .extend(page.items_retained.into_iter().map(|r| Retained {
                    item: r.item,
                    reason: r.reason,
                }));
            report.messages.extend(page.messages);
            if page.next.is_some() && page.next == cursor && page.items_removed == 0 {
                return Err(Error::Call(CallError::named(
                    id,
                    "privacy erasure",
                    CallErrorKind::Failed {
                        kind: FailureKind::Fault,
                        message: "returned the same cursor again without removing anything; \
                                  it was stopped (a loop)"
                            .into(),
                    },
                )));
            }
            cursor = page.next;
            if cursor.is_none() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The host's own copies of the subject: the address, name and report
    /// of their requests, the archives of their export requests (in
    /// `exports/` or wherever they were written), half-written archives, and
    /// the plugins' log lines; `keep` (the erasure request being run) only
    /// forgets the address.
    fn forget_host_copies(&mut self, subject: &Subject, keep: Option<i64>) -> Result<(), Error> {
        let hash = self.subject_hash(&subject.email)?;
        let rows: Vec<(i64, Option<String>)> = {
            let mut stmt = self
                .db()
                .prepare(
                    "SELECT id, archive FROM wasmdesk__requests WHERE (subject_hash = ?1 OR lower(email) = ?2) \
                     AND id IS NOT ?3",
                )
                .map_err(|e| Error::Store(e.into()))?;
            stmt.query_map(rusqlite::params![hash, subject.email, keep], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(|e| Error::Store(e.into()))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| Error::Store(e.into()))?
        };
        for (id, archive) in rows {
            if let Some(archive) = archive {
                let path = self.paths().root.join(&archive);
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(Error::io(
                            format!("cannot delete the export archive {}", path.display()),
                            e,
                        ));
                    }
                }
            }
            // An open request of an erased person cannot be carried out any
            // more: it is closed, naming no one.
            self.db()
                .execute(
                    "UPDATE wasmdesk__requests SET email = NULL, name = NULL, archive = NULL, \
                     report = json_object('closed', 'the subject was erased'), status = 'done', \
                     completed_at = coalesce(completed_at, ?2) WHERE id = ?1",
                    rusqlite::params![id, crate::now_ms()],
                )
                .map_err(|e| Error::Store(e.into()))?;
        }
        if let Some(running) = keep {
            // The request being run forgets the address now that every
            // eraser finished; run again, it completes from here.
            self.db()
                .execute(
                    "UPDATE wasmdesk__requests SET email = NULL, name = NULL WHERE id = ?1",
                    [running],
                )
                .map_err(|e| Error::Store(e.into()))?;
        }
        self.scrub_logs(subject)?;
        // Half-written archives of interrupted exports may hold anyone.
        if let Ok(entries) = std::fs::read_dir(self.paths().root.join("exports")) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(".tmp") {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }

    /// Plugins' logs may have written the subject (a payload, an error):
    /// each appearance the proof's search would find is replaced by
    /// `[erased]`, and a line that still holds the subject in a form that
    /// cannot be replaced in place (inside base64) is replaced whole.
    fn scrub_logs(&self, subject: &Subject) -> Result<(), Error> {
        let person = subject.person();
        let mut search = wasmdesk_identifiers::ByteSearch::new(&person);
        let dir = self.paths().logs.clone();
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            if search.count(&bytes) == 0 {
                continue;
            }
            let mut text = Vec::with_capacity(bytes.len());
            for line in bytes.split_inclusive(|b| *b == b'\n') {
                if search.count(line) == 0 {
                    text.extend_from_slice(line);
                    continue;
                }
                let redacted = person.redact(&String::from_utf8_lossy(line), "[erased]");
                if search.count(redacted.as_bytes()) == 0 {
                    text.extend_from_slice(redacted.as_bytes());
                } else {
                    text.extend_from_slice(LINE_ERASED);
                }
            }
            let tmp = path.with_extension("log.erasing");
            std::fs::write(&tmp, &text)
                .and_then(|()| std::fs::rename(&tmp, &path))
                .map_err(|e| Error::io(format!("cannot rewrite {}", path.display()), e))?;
        }
        Ok(())
    }

    /// Move the WAL into the database and truncate it, then count the
    /// e-mail address in the raw bytes of the WAL and of the database: the
    /// whole file, or the pages `rewritten` saw written.
    fn checkpoint_and_count(
        &mut self,
        subject: &Subject,
        scope: Scope,
        rewritten: &WalPages,
    ) -> Result<RawBytes, Error> {
        self.db()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|e| Error::Store(e.into()))?;
        let db = &self.paths().db;
        let wal = db.with_extension("db-wal");
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |e| Error::io(format!("cannot read {path}"), e)
        };
        let person = subject.person();
        let (database, pages) = match scope {
            Scope::Full => {
                let page_size: i64 = self
                    .db()
                    .query_row("PRAGMA page_size", [], |r| r.get(0))
                    .map_err(|e| Error::Store(e.into()))?;
                let page_size = page_size.max(1) as u64;
                let len = std::fs::metadata(db).map_err(io(db))?.len();
                (
                    residue::count_in_file(db, &person).map_err(io(db))?,
                    len / page_size,
                )
            }
            Scope::Subject => (
                residue::count_in_pages(db, rewritten.page_size(), rewritten.pages(), &person)
                    .map_err(io(db))?,
                rewritten.pages().len() as u64,
            ),
        };
        // Every other file under the site folder, in both scopes: they
        // weigh little next to the database.
        let root = self.paths().root.clone();
        let skip = [db.clone(), wal.clone(), db.with_extension("db-shm")];
        let files = residue::scan_files(&root, &skip, &person).map_err(io(&root))?;
        Ok(RawBytes {
            database,
            wal: residue::count_in_file(&wal, &person).map_err(io(&wal))?,
            files,
            pages,
        })
    }

    /// (table, column) of every enabled plugin's personal-data map.
    fn declared_personal_data(&self) -> Result<Vec<(String, String)>, Error> {
        Ok(records::enabled(self.db())?
            .into_iter()
            .flat_map(|r| {
                r.manifest
                    .processing
                    .into_iter()
                    .flat_map(|p| p.personal_data)
            })
            .map(|f| (f.table, f.column))
            .collect())
    }

    /// (table prefix, plugin id) for every approved plugin.
    fn namespace_owners(&self) -> Result<Vec<(Namespace, String)>, Error> {
        Ok(records::ids(self.db())?
            .into_iter()
            .map(|id| (Namespace::of(&id), id))
            .collect())
    }
}

fn owner_of(owners: &[(Namespace, String)], table: &str) -> String {
    if crate::store::namespace::is_host_table(table) {
        return "host".into();
    }
    owners
        .iter()
        .find(|(ns, _)| ns.owns(table))
        .map(|(_, id)| id.clone())
        .unwrap_or_else(|| "no plugin".into())
}

fn too_many_pages(id: &str, what: &str, max: usize) -> Error {
    Error::Call(CallError::named(
        id,
        &format!("privacy {what}"),
        CallErrorKind::Failed {
            kind: FailureKind::Fault,
            message: format!("returned more than {max} pages; it was stopped"),
        },
    ))
}

/// What replaces a log line that named an erased person in a form that
/// could not be replaced in place.
const LINE_ERASED: &[u8] = b"[line erased: it held an erased person's data]\n";
