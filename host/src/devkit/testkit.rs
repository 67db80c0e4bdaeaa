//! `wasmdesk plugin test FILE.wasm`: the test kit for plugin authors. It
//! installs the plugins the one under test depends on (`--with`), then the
//! plugin itself, into a throw-away site, grants what the manifests ask,
//! seeds a data subject through the seed steps, calls every command, filter
//! and hook, then proves its privacy duties: no personal data in logs or
//! other files, every declared column seeded, the exporter hands over the
//! subject's data and nobody else's, the eraser leaves no trace (a full
//! residue scan) and follows each column's declared policy while keeping
//! other people's data, and the retention rules run.

mod privacy;
mod seed;

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::json;

pub use seed::{Seed, Step};

use crate::database::namespace::Namespace;
use crate::error::{Error, ErrorCode};
use crate::registry::Status;
use crate::runtime::Action;
use crate::site::Site;

/// The data subject the kit seeds, erases and looks for.
pub const SUBJECT: &str = "kit-subject@example.com";
/// Another person, whose data must survive the subject's erasure and stay
/// out of the subject's export.
pub const OTHER: &str = "kit-other@example.com";

/// What to run the kit with, besides the plugin.
#[derive(Debug, Default)]
pub struct Options {
    /// The parsed `wasmdesk-test.json`, or none for the default seeding
    /// (each command called with the subject's address as `email`, each
    /// action fired with it in the payload).
    pub seed: Option<Seed>,
    /// Plugins installed and enabled first, in this order: a path to a
    /// `.wasm`, or the name of a plugin shipped with wasmdesk
    /// ([`find_plugin`]).
    pub with: Vec<String>,
    /// Leave the throw-away site on disk.
    pub keep: bool,
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
    /// The plugins installed first (`--with`), by id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub with: Vec<String>,
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

/// What a call's error says about the plugin: a refusal of bad arguments is
/// fine; a crash, a fault or a denial is not.
fn is_defect(e: &Error) -> bool {
    !matches!(
        e.code(),
        ErrorCode::BadRequest | ErrorCode::NotFound | ErrorCode::Conflict
    )
}

/// The `.wasm` of `--with PLUGIN`: a path (it has a `/` or ends in
/// `.wasm`), or the name of a plugin shipped with wasmdesk, found where an
/// install keeps them: `plugins/NAME.wasm` next to the `wasmdesk` binary (a
/// release, as `cargo xtask dist` lays it out), else the build of a source
/// checkout, `target/wasm32-wasip2/release/NAME.wasm` next to
/// `target/{debug,release}/wasmdesk`.
pub fn find_plugin(plugin: &str) -> Result<PathBuf, Error> {
    let as_path = Path::new(plugin);
    if plugin.contains(std::path::MAIN_SEPARATOR)
        || plugin.contains('/')
        || plugin.ends_with(".wasm")
    {
        return if as_path.is_file() {
            Ok(as_path.to_path_buf())
        } else {
            Err(Error::NotFound(format!(
                "--with {plugin}: {} does not exist: give the path of a built plugin or the name \
                 of one shipped with wasmdesk (tickets, consent, redact, reports)",
                as_path.display()
            )))
        };
    }
    if !crate::registry::manifest::valid_id(plugin) {
        return Err(Error::BadRequest(format!(
            "--with {plugin:?}: give the path of a .wasm or the name of a plugin shipped with \
             wasmdesk (tickets, consent, redact, reports)"
        )));
    }
    let exe = std::env::current_exe()
        .map_err(|e| Error::io("cannot tell where the wasmdesk binary is", e))?;
    let bin_dir = exe.parent().unwrap_or(Path::new("."));
    let mut tried = vec![bin_dir.join("plugins").join(format!("{plugin}.wasm"))];
    if let Some(target) = bin_dir.parent() {
        tried.push(
            target
                .join("wasm32-wasip2/release")
                .join(format!("{}.wasm", plugin.replace('-', "_"))),
        );
    }
    tried.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        Error::NotFound(format!(
            "--with {plugin}: no plugin {plugin} ships with this wasmdesk: looked for {}; give \
             the path of its .wasm instead (first-party plugins build with: cargo build --release \
             --target wasm32-wasip2 -p {plugin})",
            tried
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" and ")
        ))
    })
}

/// Run the kit on `wasm`.
pub fn run(wasm: &Path, options: Options) -> Result<Report, Error> {
    let bytes = std::fs::read(wasm).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound(format!(
            "{} does not exist: build the plugin first (cargo build --release --target wasm32-wasip2)",
            wasm.display()
        )),
        _ => Error::io(format!("cannot read {}", wasm.display()), e),
    })?;
    let mut dependencies = Vec::new();
    for plugin in &options.with {
        let path = find_plugin(plugin)?;
        if std::fs::canonicalize(&path).ok() == std::fs::canonicalize(wasm).ok() {
            return Err(Error::BadRequest(format!(
                "--with {plugin} is the plugin under test: --with names the plugins it depends on"
            )));
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        dependencies.push((plugin.clone(), path, bytes));
    }
    let dir = tempfile::Builder::new()
        .prefix("wasmdesk-plugin-test-")
        .tempdir()
        .map_err(|e| Error::io("cannot create a temporary site", e))?;
    let root = dir.path().join("site");
    share_compiled_cache(&root);
    let mut site = Site::init(&root)?;
    let mut report = Report {
        plugin: wasm
            .file_stem()
            .map(|s| s.to_string_lossy().replace('_', "-"))
            .unwrap_or_default(),
        with: vec![],
        checks: vec![],
        passed: false,
        site: None,
    };

    // The plugins it depends on first, approving what they ask, as a site
    // owner would.
    for (asked, path, bytes) in &dependencies {
        let (dep, entry) = install(&mut site, path, bytes)?;
        if report.with.contains(&dep) {
            return Err(Error::BadRequest(format!(
                "--with {asked}: plugin {dep} is given twice"
            )));
        }
        let name = format!("with {dep}");
        if entry.status != Status::Pending {
            report.check(name, false, entry.note.unwrap_or_default());
            return Ok(finish(report, dir, options.keep));
        }
        match site.enable(&dep, entry.sha256.as_deref()) {
            Ok(_) => report.check(name, true, format!("enabled ({})", path.display())),
            Err(e) => {
                report.check(name, false, e.to_string());
                return Ok(finish(report, dir, options.keep));
            }
        }
        report.with.push(dep);
    }

    let (id, entry) = install(&mut site, wasm, &bytes)?;
    report.plugin = id.clone();
    if report.with.contains(&id) {
        return Err(Error::BadRequest(format!(
            "plugin {id} is both under test and given with --with: --with names the plugins it \
             depends on"
        )));
    }
    report.check(
        "manifest",
        entry.status == Status::Pending,
        entry.note.clone().unwrap_or_default(),
    );
    if entry.status != Status::Pending {
        return Ok(finish(report, dir, options.keep));
    }
    let mut kit = Kit {
        site,
        id: id.clone(),
        with: report.with.clone(),
    };
    match kit.site.enable(&id, entry.sha256.as_deref()) {
        Ok(_) => report.check("enable (setup ran, capabilities granted)", true, ""),
        Err(e) => {
            let detail = kit.explain(&e.to_string());
            report.check("enable (setup ran, capabilities granted)", false, detail);
            return Ok(finish(report, dir, options.keep));
        }
    }
    let manifest = kit
        .site
        .inspect(&id)?
        .manifest
        .expect("an enabled plugin has a manifest");

    match options.seed {
        Some(seed) => kit.seed(&mut report, seed),
        None => kit.guess_seed(&mut report, &manifest),
    }

    for command in &manifest.commands {
        let name = format!("command {} with {{}}", command.name);
        match kit.site.call(&id, &command.name, "{}") {
            Ok(_) => report.check(name, true, "answered"),
            Err(e) if !is_defect(&e) => {
                report.check(name, true, format!("refused: {}", e.code().as_str()));
            }
            Err(e) => {
                let detail = kit.explain(&said_once_of(&e, &format!("command {}", command.name)));
                report.check(name, false, detail);
            }
        }
    }
    for filter in &manifest.filters {
        let name = format!("filter {}", filter.name);
        let sample = json!(format!("sample text for {}", filter.name));
        match kit.site.apply_filters(&filter.name, sample) {
            Ok(_) => report.check(name, true, ""),
            Err(e) => {
                let detail = kit.explain(&e.to_string());
                report.check(name, false, detail);
            }
        }
    }

    privacy::checks(&mut kit.site, &mut report, &id, &manifest)?;
    report.passed = report.checks.iter().all(|c| c.ok);
    drop(kit);
    Ok(finish(report, dir, options.keep))
}

/// The throw-away site with the plugin under test and those it depends on.
struct Kit {
    site: Site,
    id: String,
    with: Vec<String>,
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

impl Kit {
    /// Run the seed file's steps in order, each its own check.
    fn seed(&mut self, report: &mut Report, seed: Seed) {
        let mut saved = seed::Saved::new();
        for step in seed.steps {
            match step {
                Step::Command {
                    plugin,
                    command,
                    args,
                    save,
                } => {
                    let plugin = plugin.unwrap_or_else(|| self.id.clone());
                    let name = if plugin == self.id {
                        format!("seed: command {command}")
                    } else {
                        format!("seed: command {plugin}.{command}")
                    };
                    let (value, problem) = self.seed_command(&plugin, &command, &args, &saved);
                    if let Some(save) = save {
                        saved.insert(save, value);
                    }
                    report.check(name, problem.is_none(), problem.unwrap_or_default());
                }
                Step::Action { action, payload } => {
                    let name = format!("seed: action {action}");
                    match seed::fill(&payload, &saved) {
                        Ok(payload) => {
                            let warnings = self.site.fire(vec![Action {
                                name: action.clone(),
                                payload: payload.to_string(),
                            }]);
                            let detail = self.warnings(&warnings, Some(&action));
                            report.check(name, warnings.is_empty(), detail);
                        }
                        Err(e) => report.check(name, false, e),
                    }
                }
            }
        }
    }

    /// One command step: its result, if the command ran, and what went
    /// wrong, if anything.
    fn seed_command(
        &mut self,
        plugin: &str,
        command: &str,
        args: &serde_json::Value,
        saved: &seed::Saved,
    ) -> (Option<serde_json::Value>, Option<String>) {
        if plugin != self.id && !self.with.iter().any(|w| w == plugin) {
            let problem = format!(
                "plugin {plugin} is not in the test site: run the kit with --with {plugin}"
            );
            return (None, Some(problem));
        }
        let args = match seed::fill(args, saved) {
            Ok(args) => args,
            Err(e) => return (None, Some(e)),
        };
        match self.site.call(plugin, command, &args.to_string()) {
            // The command committed, but a handler of an action it emitted
            // failed: a hook's defect, most likely the plugin under test's.
            Ok(out) if !out.warnings.is_empty() => {
                let problem = self.warnings(&out.warnings, None);
                (Some(out.result), Some(problem))
            }
            Ok(out) => (Some(out.result), None),
            Err(e) => {
                let detail = said_once_of(&e, &format!("command {command}"));
                (None, Some(self.explain(&detail)))
            }
        }
    }

    /// No seed file: guess. A command that refuses these arguments is not a
    /// defect; its data just is not seeded.
    fn guess_seed(&mut self, report: &mut Report, manifest: &crate::registry::Manifest) {
        for email in [SUBJECT, OTHER] {
            let args = json!({"email": email, "name": "Kit Person", "text": format!("a note about {email}"),
                              "subject": "Kit ticket", "body": format!("written by {email}")});
            for command in &manifest.commands {
                let _ = self.site.call(&self.id, &command.name, &args.to_string());
            }
            for action in &manifest.actions {
                let payload = json!({"id": 1, "email": email, "subject": "Kit ticket"});
                let warnings = self.site.fire(vec![Action {
                    name: action.clone(),
                    payload: payload.to_string(),
                }]);
                let detail = self.warnings(&warnings, Some(action));
                report.check(format!("action {action}"), warnings.is_empty(), detail);
            }
        }
    }

    /// Action handlers' warnings, each said once, with advice.
    fn warnings(&self, warnings: &[String], event: Option<&str>) -> String {
        self.explain(&said_once(warnings, event))
    }

    fn explain(&self, detail: &str) -> String {
        explain(detail, &self.id, &self.with)
    }
}

/// The fan-out writes a failed handler as `action EVENT: plugin "P" action
/// EVENT: MESSAGE`; within a check named for `EVENT` that is `plugin "P"
/// failed: MESSAGE`, and within another `its action EVENT: plugin "P"
/// failed: MESSAGE`. Other warnings are kept as they are.
fn said_once(warnings: &[String], event: Option<&str>) -> String {
    let lines: Vec<String> = warnings
        .iter()
        .map(|w| {
            let Some((fired, rest)) = w.strip_prefix("action ").and_then(|r| r.split_once(": "))
            else {
                return w.clone();
            };
            let rest = match rest
                .strip_prefix("plugin \"")
                .and_then(|r| r.split_once('"'))
                .and_then(|(p, r)| {
                    r.strip_prefix(&format!(" action {fired}: "))
                        .map(|m| (p, m))
                }) {
                Some((plugin, message)) => format!("plugin \"{plugin}\" failed: {message}"),
                None => rest.to_string(),
            };
            if event == Some(fired) {
                rest
            } else {
                format!("its action {fired}: {rest}")
            }
        })
        .collect();
    lines.join("; ")
}

/// A failed call's error within a check that already names `operation`:
/// the plugin's message with the error code, not `plugin "P" OPERATION:`
/// again; other errors whole.
fn said_once_of(e: &Error, operation: &str) -> String {
    match e {
        Error::Call(crate::runtime::CallError {
            operation: failed,
            kind: crate::runtime::CallErrorKind::Failed { message, .. },
            ..
        }) if failed == operation => format!("{}: {message}", e.code().as_str()),
        other => other.to_string(),
    }
}

/// `detail` with advice for what the kit can explain: a table the test
/// site lacks, because the plugin that owns it (not `id`, not one of
/// `with`) is not installed.
fn explain(detail: &str, id: &str, with: &[String]) -> String {
    let mut out = detail.to_string();
    let mut seen = Vec::new();
    let mut rest = detail;
    while let Some(at) = rest.find("no such table: ") {
        rest = &rest[at + "no such table: ".len()..];
        let table: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        let table = table.rsplit('.').next().unwrap_or_default().to_string();
        if table.is_empty() || seen.contains(&table) {
            continue;
        }
        seen.push(table.clone());
        if crate::database::namespace::is_host_table(&table) {
            continue;
        }
        let Some(ns) = Namespace::containing(&table) else {
            continue;
        };
        let owner = ns.prefix().trim_end_matches('_').replace('_', "-");
        let advice = if owner == id {
            format!("the test site has no table {table}: the plugin's own setup does not create it")
        } else if with.contains(&owner) {
            format!(
                "the test site has no table {table}, although plugin {owner} is installed: its \
                 setup does not create it"
            )
        } else {
            format!(
                "the test site has no table {table}: it belongs to plugin {owner}; run the kit \
                 with --with {owner}"
            )
        };
        out.push_str("; ");
        out.push_str(&advice);
    }
    out
}

fn finish(mut report: Report, dir: tempfile::TempDir, keep: bool) -> Report {
    if keep {
        let path: PathBuf = dir.keep().join("site");
        report.site = Some(path.display().to_string());
    }
    report
}

/// Compiled components outlive the throw-away site: its cache is a link to
/// `$XDG_CACHE_HOME/wasmdesk/components` (or `~/.cache/wasmdesk/components`),
/// whose files are named by the wasm's hash and the engine's fingerprint, so
/// a Python plugin compiles once, not on every run. Without a home for it,
/// each run compiles afresh.
fn share_compiled_cache(root: &Path) {
    let Some(home) = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
    else {
        return;
    };
    let shared = home.join("wasmdesk").join("components");
    let link = crate::site::SitePaths::new(root).cache;
    #[cfg(unix)]
    if std::fs::create_dir_all(&shared).is_ok()
        && let Some(parent) = link.parent()
        && std::fs::create_dir_all(parent).is_ok()
    {
        let _ = std::os::unix::fs::symlink(&shared, &link);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSAT: &str = "action ticket.status-changed: plugin \"csat\" action ticket.status-changed: \
                        csat: DatabaseError::Sql(\"no such table: tickets__tickets\")";

    #[test]
    fn a_failed_handler_is_said_once_with_what_to_do() {
        let detail = explain(
            &said_once(&[CSAT.to_string()], Some("ticket.status-changed")),
            "csat",
            &[],
        );
        assert_eq!(
            detail,
            "plugin \"csat\" failed: csat: DatabaseError::Sql(\"no such table: tickets__tickets\"); \
             the test site has no table tickets__tickets: it belongs to plugin tickets; run the \
             kit with --with tickets"
        );
        assert_eq!(detail.matches("ticket.status-changed").count(), 0);
        // Under a command step, the action is named once.
        let under_command = said_once(&[CSAT.to_string()], None);
        assert!(
            under_command
                .starts_with("its action ticket.status-changed: plugin \"csat\" failed: csat:")
        );
        assert_eq!(under_command.matches("ticket.status-changed").count(), 1);
        // Other warnings are kept whole.
        let depth = "plugin \"a\" handling x.y emitted x.z (and 0 more) 4 levels deep".to_string();
        assert_eq!(said_once(std::slice::from_ref(&depth), Some("x.y")), depth);
    }

    #[test]
    fn a_failed_command_is_said_once() {
        let failed = Error::Call(crate::runtime::CallError::named(
            "tickets",
            "command create",
            crate::runtime::CallErrorKind::Failed {
                kind: crate::runtime::FailureKind::BadRequest,
                message: "body is required".into(),
            },
        ));
        assert_eq!(
            said_once_of(&failed, "command create"),
            "bad_request: body is required"
        );
        assert_eq!(
            said_once_of(&failed, "command get"),
            "plugin \"tickets\" command create: body is required"
        );
    }

    #[test]
    fn a_missing_table_is_explained_by_its_owner() {
        let with = vec!["tickets".to_string()];
        let own = explain("no such table: csat__surveys", "csat", &with);
        assert!(
            own.ends_with("the plugin's own setup does not create it"),
            "{own}"
        );
        let installed = explain("no such table: main.tickets__tickets", "csat", &with);
        assert!(
            installed.contains("although plugin tickets is installed"),
            "{installed}"
        );
        let dashed = explain("no such table: crm_sync__people", "csat", &[]);
        assert!(
            dashed.ends_with("run the kit with --with crm-sync"),
            "{dashed}"
        );
        assert_eq!(
            explain("no such table: wasmdesk__grants", "csat", &[]),
            "no such table: wasmdesk__grants"
        );
        assert_eq!(
            explain("no such table: plain", "csat", &[]),
            "no such table: plain"
        );
    }
}
