//! The test kit's privacy proofs on a seeded site: no personal data in
//! files, every declared column seeded, the export, the erasure (full scan,
//! the declared policy of every column) and the retention rules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;
use wasmdesk_identifiers::{ByteSearch, Person};

use super::{OTHER, Report, SUBJECT};
use crate::database::namespace::Namespace;
use crate::error::Error;
use crate::privacy::residue::{self, Residue};
use crate::privacy::{ErasureReport, Scope, Subject};
use crate::registry::Manifest;
use crate::registry::manifest::{DataPolicy, PersonalField};
use crate::site::Site;

const FILES: &str = "privacy: no personal data in the site's files (logs/ included)";
const SEEDED: &str = "privacy: every declared personal column holds the subject's data";
const UNDECLARED: &str = "privacy: the manifest declares every column that holds the subject";
const EXPORTED: &str = "privacy: export hands over the subject's data";
const EXPORT_OTHERS: &str = "privacy: export holds nobody else's data";
const NO_TRACE: &str = "privacy: erasure leaves no trace (every table and byte searched)";
const POLICIES: &str = "privacy: erasure follows the declared policies";
const OTHERS_KEPT: &str = "privacy: erasure keeps other people's data";
const RETENTION: &str = "privacy: retention rules run (dry run, then for real)";

/// Run every privacy check on the plugin `id`, seeded.
pub(super) fn checks(
    site: &mut Site,
    report: &mut Report,
    id: &str,
    manifest: &Manifest,
) -> Result<(), Error> {
    let subject_person = Person::new(Some(SUBJECT), []);
    let other_person = Person::new(Some(OTHER), []);

    // Before the erasure: it rewrites the plugins' logs, so a plugin that
    // logs addresses would pass a search made after it.
    let files = files_holding(site, &subject_person)?;
    report.check(
        FILES,
        files.is_empty(),
        if files.is_empty() {
            String::new()
        } else {
            format!(
                "{SUBJECT} is in {}: a plugin wrote it there (log::write, or a print); a log is \
                 copied and backed up beyond any eraser's reach: log an id or the pseudonym \
                 (identity.pseudonym) instead",
                files
                    .iter()
                    .map(|f| format!("{} ({} time(s))", f.path, f.occurrences))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    );

    let declared: Vec<PersonalField> = manifest
        .processing
        .iter()
        .flat_map(|p| p.personal_data.clone())
        .collect();
    let stored = holdings(site, id, SUBJECT)?;
    let has_privacy = site.privacy_plugins()?.iter().any(|(p, _)| p == id);
    if declared.is_empty() && stored.is_empty() {
        report.check(
            "privacy: personal data",
            true,
            format!(
                "the manifest declares none and the plugin stored no trace of {SUBJECT}: \
                 nothing to export or erase"
            ),
        );
        retention(site, report, id, manifest, has_privacy);
        return Ok(());
    }
    if !has_privacy {
        report.check(
            "privacy: exporter and eraser",
            false,
            format!(
                "stores {SUBJECT} in {} but exports no privacy interface: declare the columns \
                 in processing.personal-data and export wasmdesk:plugin/privacy",
                listed(&stored)
            ),
        );
        return Ok(());
    }
    let others_before = holdings(site, id, OTHER)?;
    let tables: BTreeSet<String> = declared.iter().map(|f| f.table.clone()).collect();
    let before: BTreeMap<String, Result<Rows, String>> = tables
        .iter()
        .map(|t| (t.clone(), Rows::read(site.db(), t)))
        .collect();

    let subject = Subject::new(SUBJECT, None)?;
    let archive_dir =
        tempfile::tempdir().map_err(|e| Error::io("cannot create a temporary folder", e))?;
    let archive = archive_dir.path().join("export.zip");
    let export = site
        .export_subject(&subject, &archive)
        .map(|_| exported_items(&archive, id));
    let erasure = site.erase_subject(&subject, false, Scope::Full);
    let after: BTreeMap<String, Rows> = match &erasure {
        Ok(_) => tables
            .iter()
            .filter_map(|t| Rows::read(site.db(), t).ok().map(|rows| (t.clone(), rows)))
            .collect(),
        Err(_) => BTreeMap::new(),
    };
    // The subject's rows: those that name them, and those the erasure
    // deleted or changed that name nobody else.
    let mut mine: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (table, rows) in &before {
        let Ok(rows) = rows else { continue };
        let after = after.get(table);
        let keys = rows
            .rows
            .iter()
            .filter(|(key, values)| {
                let touched =
                    erasure.is_ok() && after.is_none_or(|a| a.rows.get(*key) != Some(values));
                mentions(values, &subject_person) || (touched && !mentions(values, &other_person))
            })
            .map(|(key, _)| key.clone())
            .collect();
        mine.insert(table.clone(), keys);
    }

    // (a) Each declared column holds something of the subject's.
    let mut empty = Vec::new();
    for field in &declared {
        let name = format!("{}.{}", field.table, field.column);
        match &before[&field.table] {
            Err(why) => empty.push(format!("{name} ({why})")),
            Ok(rows) => match rows.column(&field.column) {
                None => empty.push(format!("{name} (the table has no such column)")),
                Some(c) => {
                    let filled = mine[&field.table]
                        .iter()
                        .any(|key| !is_empty(&rows.rows[key][c]));
                    if !filled {
                        empty.push(name);
                    }
                }
            },
        }
    }
    report.check(
        SEEDED,
        empty.is_empty(),
        if empty.is_empty() {
            format!("{} column(s)", declared.len())
        } else {
            format!(
                "{} {} none of {SUBJECT}'s data after seeding: seed it with a step in \
                 wasmdesk-test.json that stores it, so the kit can prove its export and erasure",
                empty.join(", "),
                if empty.len() == 1 { "holds" } else { "hold" }
            )
        },
    );

    let undeclared: Vec<&Residue> = stored
        .iter()
        .filter(|r| !is_declared(&declared, &r.table, &r.column))
        .collect();
    report.check(
        UNDECLARED,
        undeclared.is_empty(),
        if undeclared.is_empty() {
            String::new()
        } else {
            format!(
                "{SUBJECT} is in {}, which processing.personal-data does not list: declare each \
                 with its policy (delete, anonymise or retain)",
                undeclared
                    .iter()
                    .map(|r| format!("{}.{} ({} row(s))", r.table, r.column, r.rows))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    );

    // Nothing of the subject's to hand over or erase: (a) said why, and
    // the export and erasure checks would only repeat it.
    if stored.is_empty() && mine.values().all(BTreeSet::is_empty) {
        retention(site, report, id, manifest, has_privacy);
        return Ok(());
    }
    match export {
        Ok(Ok(items)) => {
            report.check(
                EXPORTED,
                items > 0,
                format!("{items} item(s); the data sits in {}", listed(&stored)),
            );
            let leaked = zip_mentions(&archive, OTHER)?;
            report.check(
                EXPORT_OTHERS,
                leaked == 0,
                if leaked == 0 {
                    String::new()
                } else {
                    format!("{OTHER} appears in the export of {SUBJECT}")
                },
            );
        }
        Ok(Err(e)) | Err(e) => report.check(EXPORTED, false, e.to_string()),
    }

    let erasure = match erasure {
        Ok(erasure) => erasure,
        Err(e) => {
            report.check(NO_TRACE, false, format!("the erasure failed: {e}"));
            return Ok(());
        }
    };
    let retained_items: Vec<String> = erasure
        .plugins
        .iter()
        .filter(|p| p.id == id)
        .flat_map(|p| &p.items_retained)
        .map(|r| format!("{} ({})", r.item, r.reason))
        .collect();
    let policies = policy_outcomes(&declared, &before, &after, &mine, &retained_items);
    // Columns kept on purpose: the residue there is what `retain` means.
    let kept: Vec<&PersonalField> = policies
        .kept_as_declared
        .iter()
        .map(|i| &declared[*i])
        .collect();
    no_trace(report, id, &erasure, &kept);
    if !policies.lines.is_empty() {
        let failed: Vec<&String> = policies
            .lines
            .iter()
            .filter(|(ok, _)| !ok)
            .map(|(_, l)| l)
            .collect();
        report.check(
            POLICIES,
            failed.is_empty(),
            if failed.is_empty() {
                policies
                    .lines
                    .iter()
                    .map(|(_, l)| l.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            } else {
                failed
                    .iter()
                    .map(|l| l.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            },
        );
    }
    let others_after = holdings(site, id, OTHER)?;
    report.check(
        OTHERS_KEPT,
        others_before.is_empty() || !others_after.is_empty(),
        if !others_before.is_empty() && others_after.is_empty() {
            format!("erasing {SUBJECT} also removed {OTHER}")
        } else {
            String::new()
        },
    );
    retention(site, report, id, manifest, has_privacy);
    Ok(())
}

/// The verdict of the full residue search after the erasure: rows, the
/// raw bytes of the database, every file under the site folder.
fn no_trace(report: &mut Report, id: &str, erasure: &ErasureReport, kept: &[&PersonalField]) {
    let is_kept = |table: &str, column: &str| {
        kept.iter()
            .any(|f| f.table.eq_ignore_ascii_case(table) && f.column.eq_ignore_ascii_case(column))
    };
    let left: Vec<String> = erasure
        .residue
        .iter()
        .filter(|r| !is_kept(&r.table, &r.column))
        .map(|r| {
            if r.plugin == id {
                format!("{}.{} ({} row(s))", r.table, r.column, r.rows)
            } else {
                format!(
                    "{}.{} ({} row(s), a table of {})",
                    r.table, r.column, r.rows, r.plugin
                )
            }
        })
        .collect();
    let mut problems = Vec::new();
    if !left.is_empty() {
        problems.push(format!(
            "{SUBJECT} is still in {}: the eraser misses it",
            left.join(", ")
        ));
    }
    if let Some(raw) = &erasure.raw_bytes {
        for file in &raw.files {
            problems.push(format!(
                "{SUBJECT} is still in the file {} ({} time(s)) after the erasure",
                file.path, file.occurrences
            ));
        }
        // Retained rows hold the subject by design, and rows left behind
        // are named above: the raw bytes then say nothing more.
        if left.is_empty() && kept.is_empty() && raw.database + raw.wal > 0 {
            problems.push(format!(
                "{SUBJECT} is still in the raw bytes of site.db or its WAL ({} time(s)): in a \
                 free page or an index the eraser left",
                raw.database + raw.wal
            ));
        }
    }
    let detail = if !problems.is_empty() {
        problems.join("; ")
    } else if !kept.is_empty() {
        format!(
            "kept as declared: {}",
            kept.iter()
                .map(|f| format!("{}.{} (retain)", f.table, f.column))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        String::new()
    };
    report.check(NO_TRACE, problems.is_empty(), detail);
}

/// What the erasure did to each declared column, against its policy.
struct Policies {
    /// (followed, text) per declared column with the subject's rows.
    lines: Vec<(bool, String)>,
    /// Indexes of `retain` columns kept and reported as retained.
    kept_as_declared: Vec<usize>,
}

fn policy_outcomes(
    declared: &[PersonalField],
    before: &BTreeMap<String, Result<Rows, String>>,
    after: &BTreeMap<String, Rows>,
    mine: &BTreeMap<String, BTreeSet<String>>,
    retained_items: &[String],
) -> Policies {
    let mut out = Policies {
        lines: vec![],
        kept_as_declared: vec![],
    };
    for (i, field) in declared.iter().enumerate() {
        let Ok(rows) = &before[&field.table] else {
            continue;
        };
        let Some(c) = rows.column(&field.column) else {
            continue;
        };
        let keys = &mine[&field.table];
        if keys.is_empty() {
            continue;
        }
        let name = format!("{}.{}", field.table, field.column);
        let after = after.get(&field.table);
        let now = |key: &String| after.and_then(|a| a.rows.get(key));
        let kept: Vec<&String> = keys.iter().filter(|k| now(k).is_some()).collect();
        let deleted = keys.len() - kept.len();
        // Values of kept rows that still hold what they held before.
        let unchanged = kept
            .iter()
            .filter(|k| {
                let was = &rows.rows[**k][c];
                !is_empty(was)
                    && after
                        .and_then(|a| a.column(&field.column))
                        .and_then(|ac| now(k).map(|v| &v[ac]))
                        == Some(was)
            })
            .count();
        let line = match &field.policy {
            DataPolicy::Delete => {
                // A row cannot be both deleted and kept: in a table that
                // also declares a column kept, a `delete` column is cleared.
                let row_kept = declared
                    .iter()
                    .any(|f| f.table == field.table && !matches!(f.policy, DataPolicy::Delete));
                if kept.is_empty() {
                    (true, format!("{name} (delete): {deleted} row(s) deleted"))
                } else if row_kept && unchanged == 0 {
                    (true, format!("{name} (delete): cleared in kept rows"))
                } else {
                    (
                        false,
                        format!(
                            "{name} is declared delete, but {} of the subject's {} row(s) are \
                             still there: delete them, or declare the column anonymise",
                            kept.len(),
                            keys.len()
                        ),
                    )
                }
            }
            DataPolicy::Anonymise => {
                if deleted > 0 {
                    (
                        false,
                        format!(
                            "{name} is declared anonymise, but the eraser deleted {deleted} of \
                             the subject's {} row(s): keep the row and replace the value, or \
                             declare the column delete",
                            keys.len()
                        ),
                    )
                } else if unchanged > 0 {
                    (
                        false,
                        format!(
                            "{name} is declared anonymise, but its value is unchanged in \
                             {unchanged} of the subject's row(s): replace it"
                        ),
                    )
                } else {
                    (
                        true,
                        format!(
                            "{name} (anonymise): {} row(s) kept, value replaced",
                            kept.len()
                        ),
                    )
                }
            }
            DataPolicy::Retain { reason, .. } => {
                if deleted > 0 {
                    (
                        false,
                        format!(
                            "{name} is declared retain ({reason}), but the eraser deleted \
                             {deleted} of the subject's {} row(s)",
                            keys.len()
                        ),
                    )
                } else if retained_items.is_empty() {
                    (
                        false,
                        format!(
                            "{name} is declared retain and the row is kept, but the eraser \
                             reports no retained item: list what it keeps in items-retained \
                             with the reason ({reason})"
                        ),
                    )
                } else {
                    out.kept_as_declared.push(i);
                    (
                        true,
                        format!(
                            "{name} (retain): {} row(s) kept; the eraser reports {}",
                            kept.len(),
                            retained_items.join(", ")
                        ),
                    )
                }
            }
        };
        out.lines.push(line);
    }
    out
}

/// `retention-rules` of the manifest, through the host's retention run:
/// a dry run, then for real. They run on a site that still holds the
/// other person's data.
fn retention(site: &mut Site, report: &mut Report, id: &str, manifest: &Manifest, privacy: bool) {
    let rules: Vec<String> = manifest
        .processing
        .iter()
        .flat_map(|p| &p.retention_rules)
        .map(|r| r.name.clone())
        .collect();
    if rules.is_empty() {
        report.check(RETENTION, true, "the manifest declares no retention rules");
        return;
    }
    if !privacy {
        report.check(
            RETENTION,
            false,
            format!(
                "declares the rule(s) {} but exports no privacy interface, so they never run",
                rules.join(", ")
            ),
        );
        return;
    }
    let dry = match site.run_retention(true) {
        Ok(applied) => applied,
        Err(e) => {
            report.check(RETENTION, false, format!("the dry run failed: {e}"));
            return;
        }
    };
    let real = match site.run_retention(false) {
        Ok(applied) => applied,
        Err(e) => {
            report.check(RETENTION, false, format!("the real run failed: {e}"));
            return;
        }
    };
    let mut lines = Vec::new();
    let mut missing = Vec::new();
    for rule in &rules {
        let find = |applied: &[crate::privacy::retention::Applied]| {
            applied
                .iter()
                .find(|a| a.plugin == id && &a.rule == rule)
                .map(|a| (a.days, a.items_removed))
        };
        match (find(&dry), find(&real)) {
            (Some((days, would)), Some((_, removed))) => lines.push(format!(
                "{rule} ({days} days): the dry run would remove {would} item(s), the run removed \
                 {removed}"
            )),
            _ => missing.push(rule.clone()),
        }
    }
    if missing.is_empty() {
        report.check(RETENTION, true, lines.join("; "));
    } else {
        report.check(
            RETENTION,
            false,
            format!("the host did not run {}", missing.join(", ")),
        );
    }
}

/// Files under the site folder (not the database) that hold the person.
fn files_holding(site: &Site, person: &Person) -> Result<Vec<residue::FileResidue>, Error> {
    let paths = site.paths();
    let skip = [
        paths.db.clone(),
        paths.db.with_extension("db-wal"),
        paths.db.with_extension("db-shm"),
    ];
    residue::scan_files(&paths.root, &skip, person)
        .map_err(|e| Error::io(format!("cannot search {}", paths.root.display()), e))
}

/// Where in the plugin's own tables an address occurs.
fn holdings(site: &Site, id: &str, email: &str) -> Result<Vec<Residue>, Error> {
    let ns = Namespace::of(id);
    let tables: BTreeSet<String> = site
        .db()
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .and_then(|mut stmt| {
            stmt.query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(|e| Error::Database(e.into()))?;
    let mine: BTreeSet<String> = tables.into_iter().filter(|t| ns.owns(t)).collect();
    if mine.is_empty() {
        return Ok(vec![]);
    }
    let person = Person::new(Some(email), []);
    let (found, _) = residue::scan(site.db(), &person, Some(&mine))?;
    Ok(found)
}

fn listed(found: &[Residue]) -> String {
    found
        .iter()
        .map(|r| format!("{}.{} ({} row(s))", r.table, r.column, r.rows))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the personal-data map covers `table.column` (the shadow tables
/// of a declared virtual table count as declared, as in the host's scan).
fn is_declared(declared: &[PersonalField], table: &str, column: &str) -> bool {
    declared.iter().any(|f| {
        (f.table.eq_ignore_ascii_case(table) && f.column.eq_ignore_ascii_case(column))
            || table
                .to_ascii_lowercase()
                .starts_with(&format!("{}_", f.table.to_ascii_lowercase()))
    })
}

/// One table's rows by key: the rowid, or the primary key of a table
/// without one, so a row changed in place is told from one deleted.
struct Rows {
    columns: Vec<String>,
    rows: BTreeMap<String, Vec<SqlValue>>,
}

impl Rows {
    fn read(db: &Connection, table: &str) -> Result<Rows, String> {
        let info: Vec<(String, i64)> = db
            .prepare("SELECT name, pk FROM pragma_table_info(?1) ORDER BY cid")
            .and_then(|mut stmt| {
                stmt.query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()
            })
            .map_err(|e| e.to_string())?;
        if info.is_empty() {
            return Err(format!("the table {table} does not exist"));
        }
        let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
        let list: Vec<String> = info.iter().map(|(name, _)| quote(name)).collect();
        let mut pk: Vec<&(String, i64)> = info.iter().filter(|(_, pk)| *pk > 0).collect();
        pk.sort_by_key(|(_, n)| *n);
        let by_pk = format!(
            "json_array({})",
            pk.iter()
                .map(|(name, _)| quote(name))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut stmt = None;
        for key in ["rowid", by_pk.as_str()] {
            let sql = format!("SELECT {key}, {} FROM {}", list.join(", "), quote(table));
            if let Ok(prepared) = db.prepare(&sql) {
                stmt = Some(prepared);
                break;
            }
        }
        let mut stmt = stmt.ok_or_else(|| format!("the table {table} cannot be read"))?;
        let width = info.len();
        let rows = stmt
            .query_map([], |r| {
                let key: SqlValue = r.get(0)?;
                let values = (1..=width)
                    .map(|i| r.get::<_, SqlValue>(i))
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok((format!("{key:?}"), values))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<BTreeMap<_, _>>>())
            .map_err(|e| e.to_string())?;
        Ok(Rows {
            columns: info.into_iter().map(|(name, _)| name).collect(),
            rows,
        })
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }
}

fn is_empty(value: &SqlValue) -> bool {
    match value {
        SqlValue::Null => true,
        SqlValue::Text(s) => s.trim().is_empty(),
        SqlValue::Blob(b) => b.is_empty(),
        _ => false,
    }
}

/// Whether any value of a row holds the person, read as bytes.
fn mentions(values: &[SqlValue], person: &Person) -> bool {
    let mut search = ByteSearch::new(person);
    values.iter().any(|v| match v {
        SqlValue::Text(s) => search.count(s.as_bytes()) > 0,
        SqlValue::Blob(b) => search.count(b) > 0,
        _ => false,
    })
}

/// The plugin's items in the export archive (`export.json`).
fn exported_items(archive: &Path, id: &str) -> Result<usize, Error> {
    let text = zip_entry(archive, "export.json")?;
    let export: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| Error::BadRequest(format!("the export's export.json is not JSON: {e}")))?;
    Ok(export["plugins"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["id"] == id)
        .flat_map(|p| p["groups"].as_array().into_iter().flatten())
        .map(|g| g["items"].as_array().map_or(0, Vec::len))
        .sum())
}

fn open_zip(archive: &Path) -> Result<zip::ZipArchive<std::fs::File>, Error> {
    let file = std::fs::File::open(archive).map_err(|e| Error::io("cannot open the export", e))?;
    zip::ZipArchive::new(file)
        .map_err(|e| Error::BadRequest(format!("the export is not a zip archive: {e}")))
}

fn zip_entry(archive: &Path, name: &str) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let mut zip = open_zip(archive)?;
    let mut entry = zip
        .by_name(name)
        .map_err(|e| Error::BadRequest(format!("the export has no {name}: {e}")))?;
    let mut bytes = Vec::new();
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read the export", e))?;
    Ok(bytes)
}

/// Occurrences of `needle` inside the archive's entries (compressed on
/// disk, so the raw file says little).
fn zip_mentions(archive: &Path, needle: &str) -> Result<u64, Error> {
    use std::io::Read;
    let mut zip = open_zip(archive)?;
    let mut count = 0;
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| Error::BadRequest(format!("the export cannot be read: {e}")))?;
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("cannot read the export", e))?;
        let text = String::from_utf8_lossy(&bytes).to_ascii_lowercase();
        count += text.matches(needle).count() as u64;
    }
    Ok(count)
}
