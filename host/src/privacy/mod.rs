//! GDPR requests about one data subject: export (Art. 15, 20) through every
//! plugin's exporter, erasure (Art. 17) through every eraser, then proof:
//! a residue scan of the rows and raw pages the erasure touched, or of every
//! column and every byte of the database.

pub mod archive;
pub mod backup;
mod erase;
pub mod paged;
pub mod register;
pub mod requests;
pub mod residue;
pub mod retention;

use std::path::Path;

use serde::Serialize;

use crate::contract::privacy as wit;
use crate::database::namespace::Namespace;
use crate::error::Error;
use crate::registry::records;
use crate::runtime::{CallError, CallErrorKind, FailureKind};
use crate::site::{CallOptions, Site};
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
