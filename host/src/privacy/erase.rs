//! Erasure of one subject: every plugin's eraser page by page, the host's
//! own copies forgotten, the logs scrubbed, the WAL checkpointed, and the
//! proof: a search for what remains, and a report that says exactly what
//! was searched.

use super::*;

impl Site {
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
        let plugins = self.run_erasers(&wit_subject, dry_run, &mut rewritten)?;
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
                        .map_err(|e| Error::Database(e.into()))?,
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
        let residue = self.attribute(found)?;
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
        let summary = summary(Outcome {
            subject: &subject.email,
            dry_run,
            scope,
            removed,
            clean,
            failed: &failed,
            residue: &residue,
            raw_bytes: raw_bytes.as_ref(),
        });
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

    /// Every plugin's eraser, whatever another one did: one failing plugin
    /// must not keep the subject in all the others. A plugin's failure is
    /// in its report.
    fn run_erasers(
        &mut self,
        wit_subject: &wit::Subject,
        dry_run: bool,
        rewritten: &mut Option<WalPages>,
    ) -> Result<Vec<PluginErasure>, Error> {
        let mut plugins = Vec::new();
        for (id, _) in self.privacy_plugins()? {
            let mut report = PluginErasure {
                id: id.clone(),
                items_removed: 0,
                items_retained: vec![],
                messages: vec![],
                error: None,
            };
            if let Err(e) = self.run_eraser(&id, wit_subject, dry_run, rewritten, &mut report) {
                report.error = Some(format!("{}: {e}", e.code().as_str()));
            }
            plugins.push(report);
        }
        Ok(plugins)
    }

    /// Name the plugin that owns each place the proof found the subject,
    /// and whether its personal-data map declares it.
    fn attribute(&self, found: Vec<residue::Residue>) -> Result<Vec<PluginResidue>, Error> {
        let owners = self.namespace_owners()?;
        let declared = self.declared_personal_data()?;
        Ok(found
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
            .collect())
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
                .map_err(|e| Error::Database(e.into()))?;
            stmt.query_map(rusqlite::params![hash, subject.email, keep], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(|e| Error::Database(e.into()))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| Error::Database(e.into()))?
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
                .map_err(|e| Error::Database(e.into()))?;
        }
        if let Some(running) = keep {
            // The request being run forgets the address now that every
            // eraser finished; run again, it completes from here.
            self.db()
                .execute(
                    "UPDATE wasmdesk__requests SET email = NULL, name = NULL WHERE id = ?1",
                    [running],
                )
                .map_err(|e| Error::Database(e.into()))?;
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
            .map_err(|e| Error::Database(e.into()))?;
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
                    .map_err(|e| Error::Database(e.into()))?;
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
    if crate::database::namespace::is_host_table(table) {
        return "host".into();
    }
    owners
        .iter()
        .find(|(ns, _)| ns.owns(table))
        .map(|(_, id)| id.clone())
        .unwrap_or_else(|| "no plugin".into())
}

/// How an erasure ended, for its summary.
struct Outcome<'a> {
    subject: &'a str,
    dry_run: bool,
    scope: Scope,
    removed: u64,
    clean: bool,
    failed: &'a [&'a str],
    residue: &'a [PluginResidue],
    raw_bytes: Option<&'a RawBytes>,
}

/// The one sentence an erasure report ends with: what changed, and exactly
/// what was searched.
fn summary(o: Outcome<'_>) -> String {
    let searched = match o.scope {
        Scope::Full => {
            " (every table, every byte of site.db and its WAL, every file under the site folder searched)"
        }
        Scope::Subject => {
            " in what the quick scan searched: the pages the erasure rewrote, the tables the \
             audit log ties to this person and the files under the site folder; it skipped \
             the other tables and pages (run without --quick to search everything)"
        }
    };
    match (o.dry_run, o.removed, o.clean) {
        _ if !o.failed.is_empty() => format!(
            "the erasure is incomplete: the eraser of {} failed (see plugins); the others \
             ran; fix it and erase again (erasers may run twice)",
            o.failed.join(", ")
        ),
        (true, 0, true) => format!(
            "no personal data of {} was found; nothing would change",
            o.subject
        ),
        (true, n, _) => {
            format!("{n} item(s) would be removed or anonymised; nothing was changed (dry run)")
        }
        (false, 0, true) => format!(
            "no personal data of {} was found; nothing was changed",
            o.subject
        ),
        (false, n, true) => format!(
            "{n} item(s) removed or anonymised; no trace of {} remains{searched}",
            o.subject
        ),
        (false, n, false) => {
            let mut places = Vec::new();
            if !o.residue.is_empty() {
                places.push("rows (see residue)".to_string());
            }
            if let Some(raw) = o.raw_bytes {
                if raw.database + raw.wal > 0 {
                    places.push("the raw bytes of site.db or its WAL (see raw_bytes)".to_string());
                }
                for file in &raw.files {
                    places.push(format!("the file {}", file.path));
                }
            }
            format!(
                "{n} item(s) removed or anonymised, but traces of {} remain in {}",
                o.subject,
                places.join(", ")
            )
        }
    }
}

/// What replaces a log line that named an erased person in a form that
/// could not be replaced in place.
const LINE_ERASED: &[u8] = b"[line erased: it held an erased person's data]\n";
