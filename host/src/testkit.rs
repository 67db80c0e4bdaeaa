//! `wasmdesk plugin test FILE.wasm`: the test kit for plugin authors. It
//! loads the plugin into a throw-away site, grants what its manifest asks,
//! seeds a data subject through its own commands and hooks, calls every
//! command, filter and hook, then checks its privacy duties: the exporter
//! hands over the subject's data and nobody else's, and the eraser leaves no
//! trace of the subject anywhere in the file (a full residue scan) while
//! keeping other people's data.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Error, ErrorCode};
use crate::privacy::{Scope, Subject, residue};
use crate::registry::Status;
use crate::site::Site;
use crate::store::namespace::Namespace;

/// The data subject the kit seeds, erases and looks for.
pub const SUBJECT: &str = "kit-subject@example.com";
/// Another person, whose data must survive the subject's erasure and stay
/// out of the subject's export.
pub const OTHER: &str = "kit-other@example.com";

/// How to put the subject's data into the plugin: `wasmdesk-test.json`.
/// `{subject}` and `{other}` in arguments and payloads are replaced with
/// the two addresses.
#[derive(Debug, Default, Deserialize)]
pub struct Seed {
    #[serde(default)]
    pub seed: Vec<SeedStep>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum SeedStep {
    Command { command: String, args: Value },
    Action { action: String, payload: Value },
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub plugin: String,
    pub checks: Vec<Check>,
    pub passed: bool,
    /// The throw-away site, when kept for a look.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

impl Report {
    fn check(&mut self, name: impl Into<String>, ok: bool, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.into(),
            ok,
            detail: detail.into(),
        });
    }

    /// Plain text, one line per check.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            out.push_str(&format!("{mark} {}", c.name));
            if !c.detail.is_empty() {
                out.push_str(&format!(": {}", c.detail));
            }
            out.push('\n');
        }
        let failed = self.checks.iter().filter(|c| !c.ok).count();
        out.push_str(&if failed == 0 {
            format!("{}: all {} checks passed", self.plugin, self.checks.len())
        } else {
            format!(
                "{}: {failed} of {} checks failed",
                self.plugin,
                self.checks.len()
            )
        });
        if let Some(site) = &self.site {
            out.push_str(&format!("\nthe test site is kept in {site}"));
        }
        out
    }
}

fn fill(value: &Value) -> Value {
    let text = value
        .to_string()
        .replace("{subject}", SUBJECT)
        .replace("{other}", OTHER);
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// What a call's error says about the plugin: a refusal of bad arguments is
/// fine; a crash, a fault or a denial is not.
fn is_defect(e: &Error) -> bool {
    !matches!(
        e.code(),
        ErrorCode::BadRequest | ErrorCode::NotFound | ErrorCode::Conflict
    )
}

/// Run the kit on `wasm`. `seed` is the parsed `wasmdesk-test.json`, or
/// none for the default seeding (each command called with the subject's
/// address as `email`, each action fired with it in the payload). `keep`
/// leaves the throw-away site on disk.
pub fn run(wasm: &Path, seed: Option<Seed>, keep: bool) -> Result<Report, Error> {
    let bytes = std::fs::read(wasm).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound(format!(
            "{} does not exist: build the plugin first (cargo build --release --target wasm32-wasip2)",
            wasm.display()
        )),
        _ => Error::io(format!("cannot read {}", wasm.display()), e),
    })?;
    let dir = tempfile::Builder::new()
        .prefix("wasmdesk-plugin-test-")
        .tempdir()
        .map_err(|e| Error::io("cannot create a temporary site", e))?;
    let root = dir.path().join("site");
    let mut site = Site::init(&root)?;
    let (id, entry) = install(&mut site, wasm, &bytes)?;
    let mut report = Report {
        plugin: id.clone(),
        checks: vec![],
        passed: false,
        site: None,
    };
    report.check(
        "manifest",
        entry.status == Status::Pending,
        entry.note.clone().unwrap_or_default(),
    );
    if entry.status != Status::Pending {
        report.passed = false;
        return Ok(finish(report, dir, keep));
    }
    match site.enable(&id, entry.sha256.as_deref()) {
        Ok(_) => report.check("enable (setup ran, capabilities granted)", true, ""),
        Err(e) => {
            report.check(
                "enable (setup ran, capabilities granted)",
                false,
                e.to_string(),
            );
            return Ok(finish(report, dir, keep));
        }
    }
    let manifest = site
        .inspect(&id)?
        .manifest
        .expect("an enabled plugin has a manifest");

    seed_subjects(&mut site, &mut report, &id, &manifest, seed);

    for command in &manifest.commands {
        let name = format!("command {} with {{}}", command.name);
        match site.call(&id, &command.name, "{}") {
            Ok(_) => report.check(name, true, "answered"),
            Err(e) if !is_defect(&e) => {
                report.check(name, true, format!("refused: {}", e.code().as_str()))
            }
            Err(e) => report.check(name, false, e.to_string()),
        }
    }
    for filter in &manifest.filters {
        let name = format!("filter {}", filter.name);
        let sample = json!(format!("sample text for {}", filter.name));
        match site.apply_filters(&filter.name, sample) {
            Ok(_) => report.check(name, true, ""),
            Err(e) => report.check(name, false, e.to_string()),
        }
    }

    privacy_checks(&mut site, &mut report, &id)?;
    report.passed = report.checks.iter().all(|c| c.ok);
    drop(site);
    Ok(finish(report, dir, keep))
}

/// Copy the plugin into the site under its id (the file stem, or the stem
/// with dashes for underscores, as cargo names a crate's artifact).
fn install(
    site: &mut Site,
    wasm: &Path,
    bytes: &[u8],
) -> Result<(String, crate::registry::PluginEntry), Error> {
    let stem = wasm
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("plugin")
        .to_string();
    let mut failures = Vec::new();
    let mut names = vec![stem.replace('_', "-")];
    if stem != names[0] {
        names.push(stem);
    }
    for id in names {
        let path = site.paths().plugins.join(format!("{id}.wasm"));
        std::fs::write(&path, bytes)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        let entry = site.inspect(&id)?;
        if entry.status == Status::Pending {
            return Ok((id, entry));
        }
        let _ = std::fs::remove_file(&path);
        failures.push((id, entry));
    }
    // Report what is wrong with the plugin, not with a name tried for it.
    let about_the_name = |entry: &crate::registry::PluginEntry| {
        entry
            .note
            .as_deref()
            .is_some_and(|n| n.contains("file name") || n.contains("rename the file"))
    };
    let pick = failures
        .iter()
        .position(|(_, entry)| !about_the_name(entry))
        .unwrap_or(0);
    Ok(failures.swap_remove(pick))
}

fn seed_subjects(
    site: &mut Site,
    report: &mut Report,
    id: &str,
    manifest: &crate::registry::Manifest,
    seed: Option<Seed>,
) {
    match seed {
        Some(seed) => {
            for step in seed.seed {
                match step {
                    SeedStep::Command { command, args } => {
                        let name = format!("seed: command {command}");
                        match site.call(id, &command, &fill(&args).to_string()) {
                            Ok(_) => report.check(name, true, ""),
                            Err(e) => report.check(name, false, e.to_string()),
                        }
                    }
                    SeedStep::Action { action, payload } => {
                        let name = format!("seed: action {action}");
                        let warnings = site.fire(vec![(action, fill(&payload).to_string())]);
                        report.check(name, warnings.is_empty(), warnings.join("; "));
                    }
                }
            }
        }
        None => {
            // No seed file: guess. A command that refuses these arguments is
            // not a defect; its data just is not seeded.
            for email in [SUBJECT, OTHER] {
                let args = json!({"email": email, "name": "Kit Person", "text": format!("a note about {email}"),
                                  "subject": "Kit ticket", "body": format!("written by {email}")});
                for command in &manifest.commands {
                    let _ = site.call(id, &command.name, &args.to_string());
                }
                for action in &manifest.actions {
                    let payload = json!({"id": 1, "email": email, "subject": "Kit ticket"});
                    let warnings = site.fire(vec![(action.clone(), payload.to_string())]);
                    report.check(
                        format!("action {action}"),
                        warnings.is_empty(),
                        warnings.join("; "),
                    );
                }
            }
        }
    }
}

/// Where in the plugin's own tables an address occurs, as `table.column`.
fn holdings(site: &Site, id: &str, email: &str) -> Result<Vec<String>, Error> {
    let ns = Namespace::of(id);
    let tables: BTreeSet<String> = site
        .db()
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .and_then(|mut stmt| {
            stmt.query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(|e| Error::Store(e.into()))?;
    let mine: BTreeSet<String> = tables.into_iter().filter(|t| ns.owns(t)).collect();
    if mine.is_empty() {
        return Ok(vec![]);
    }
    let person = wasmdesk_identifiers::Person::new(Some(email), []);
    let (found, _) = residue::scan(site.db(), &person, Some(&mine))?;
    Ok(found
        .into_iter()
        .map(|r| format!("{}.{} ({} row(s))", r.table, r.column, r.rows))
        .collect())
}

fn privacy_checks(site: &mut Site, report: &mut Report, id: &str) -> Result<(), Error> {
    let stored = holdings(site, id, SUBJECT)?;
    let others_before = holdings(site, id, OTHER)?;
    let has_privacy = site.privacy_plugins()?.iter().any(|(p, _)| p == id);
    if stored.is_empty() {
        report.check(
            "privacy: seeded data",
            true,
            format!(
                "no trace of {SUBJECT} in the plugin's tables after seeding, so export and erasure \
                 had nothing to prove (add a wasmdesk-test.json that stores it)"
            ),
        );
        return Ok(());
    }
    if !has_privacy {
        report.check(
            "privacy: exporter and eraser",
            false,
            format!(
                "stores {SUBJECT} in {} but exports no privacy interface",
                stored.join(", ")
            ),
        );
        return Ok(());
    }
    let subject = Subject::new(SUBJECT, None)?;
    let archive_dir =
        tempfile::tempdir().map_err(|e| Error::io("cannot create a temporary folder", e))?;
    let archive = archive_dir.path().join("export.zip");
    let export = site.export_subject(&subject, &archive)?;
    report.check(
        "privacy: export hands over the subject's data",
        export.items > 0,
        format!(
            "{} item(s); the data sits in {}",
            export.items,
            stored.join(", ")
        ),
    );
    let leaked = zip_mentions(&archive, OTHER)?;
    report.check(
        "privacy: export holds nobody else's data",
        leaked == 0,
        if leaked == 0 {
            String::new()
        } else {
            format!("{OTHER} appears in the export of {SUBJECT}")
        },
    );
    let erasure = site.erase_subject(&subject, false, Scope::Full)?;
    let left: Vec<String> = erasure
        .residue
        .iter()
        .filter(|r| r.plugin == id)
        .map(|r| format!("{}.{} ({} row(s))", r.table, r.column, r.rows))
        .collect();
    report.check(
        "privacy: erasure leaves no trace (every table and byte searched)",
        left.is_empty() && erasure.clean,
        if left.is_empty() && erasure.clean {
            String::new()
        } else if left.is_empty() {
            erasure.summary.clone()
        } else {
            format!(
                "{SUBJECT} is still in {}: the eraser misses it",
                left.join(", ")
            )
        },
    );
    let others_after = holdings(site, id, OTHER)?;
    report.check(
        "privacy: erasure keeps other people's data",
        others_before.is_empty() || !others_after.is_empty(),
        if !others_before.is_empty() && others_after.is_empty() {
            format!("erasing {SUBJECT} also removed {OTHER}")
        } else {
            String::new()
        },
    );
    Ok(())
}

/// Occurrences of `needle` inside the archive's entries (compressed on
/// disk, so the raw file says little).
fn zip_mentions(archive: &Path, needle: &str) -> Result<u64, Error> {
    use std::io::Read;
    let file = std::fs::File::open(archive).map_err(|e| Error::io("cannot open the export", e))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| Error::BadRequest(format!("the export is not a zip archive: {e}")))?;
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

fn finish(mut report: Report, dir: tempfile::TempDir, keep: bool) -> Report {
    if keep {
        let path: PathBuf = dir.keep().join("site");
        report.site = Some(path.display().to_string());
    }
    report
}
