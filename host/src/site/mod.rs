//! A site: a folder with `site.db`, `plugins/`, `cache/` and `logs/`. The
//! one entry point for callers (CLI, bridge): lifecycle and plugin calls.

mod hooks;
mod registry_cache;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Instant, SystemTime};

use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::audit::{self, Actor, Draft, action};
use crate::error::{Error, ErrorCode};
use crate::registry::{self, Manifest, PluginEntry, Status, records};
use crate::runtime::call::{self, Call, CallError, FailureKind};
use crate::runtime::{Guest, Limits, LoadError, LoadedPlugin, Outcome, Runtime};
use crate::store::namespace::Namespace;
use crate::store::{CallAccess, Capability, PluginDb, db, grants, schema};

/// The paths of a site's parts.
#[derive(Debug, Clone)]
pub struct SitePaths {
    pub root: PathBuf,
    pub db: PathBuf,
    pub plugins: PathBuf,
    pub cache: PathBuf,
    pub logs: PathBuf,
}

impl SitePaths {
    pub fn new(root: &Path) -> SitePaths {
        SitePaths {
            root: root.to_path_buf(),
            db: root.join("site.db"),
            plugins: root.join("plugins"),
            cache: root.join("cache").join("components"),
            logs: root.join("logs"),
        }
    }
}

/// A loaded plugin and the file state it was loaded from.
struct Loaded {
    stamp: (u64, Option<SystemTime>),
    result: Result<Rc<LoadedPlugin>, Rc<LoadError>>,
    sha256: String,
}

pub struct Site {
    paths: SitePaths,
    db: Connection,
    runtime: Runtime,
    loaded: HashMap<String, Loaded>,
    plugin_dbs: HashMap<String, PluginDb>,
    registry: registry_cache::RegistryCache,
    /// The site's secret: keys the pseudonyms of data subjects.
    site_key: std::sync::Arc<[u8]>,
    /// Who is acting, for the audit log.
    actor: Actor,
    /// Off only in benchmarks that measure what the audit log costs.
    audit_calls: bool,
    /// Off only when a benchmark measures what the sandbox checks cost.
    sandbox_checks: bool,
    /// The newest audit entry this process wrote, not yet in `audit.head`,
    /// and when that file was last written.
    anchor: (Option<audit::Head>, Option<Instant>),
    /// Entries of successful read-only calls not yet written, and since
    /// when: written with the next call that writes, or within
    /// `AUDIT_FLUSH_DELAY`, or `AUDIT_FLUSH_ENTRIES` at a time, or when the
    /// bridge answers, or when the site closes.
    pending: Vec<Draft>,
    pending_since: Option<Instant>,
    /// The last `flush_audit` failed and its caller got the error.
    audit_failure_reported: bool,
}

/// How long the host's own connection waits for another process's write
/// lock before its write fails with `busy`.
const HOST_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The largest plugin file, in bytes: 64 MiB, or `WASMDESK_MAX_PLUGIN_MIB`.
fn max_plugin_bytes() -> u64 {
    std::env::var("WASMDESK_MAX_PLUGIN_MIB")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(64)
        * 1024
        * 1024
}

/// How long a read-only call's audit entry may wait to be written.
const AUDIT_FLUSH_DELAY: std::time::Duration = std::time::Duration::from_millis(250);
/// How many read-only calls' entries are written in one transaction.
const AUDIT_FLUSH_ENTRIES: usize = 64;

impl Drop for Site {
    fn drop(&mut self) {
        // Entries of calls that failed were already answered with their
        // error: a failure to record them is not printed a second time.
        // Nor is a failure the caller already got from `flush_audit`.
        let only_failures = self.pending.iter().all(|d| d.outcome != "ok");
        let reported = self.audit_failure_reported;
        // Entries of failed calls that could not be written a moment ago
        // (a held lock, a full disk) are not waited for a second time.
        if reported && only_failures {
            self.pending.clear();
        }
        if let Err(e) = self.flush_audit()
            && !only_failures
            && !reported
        {
            let _ = std::io::Write::write_fmt(
                &mut std::io::stderr(),
                format_args!("wasmdesk: error[internal]: {e}\n"),
            );
        }
        self.plugin_dbs.clear();
        db::checkpoint_if_large(&self.db, &self.paths.db);
        if let Some(head) = self.anchor.0.take() {
            audit::chain::write_anchor(&self.paths.root, &head, false);
        }
    }
}

/// How a plugin call runs, beyond the plugin's own limits.
#[derive(Clone)]
pub(crate) struct CallOptions {
    /// Grants other than those in force (setup runs with the ones about to
    /// be approved).
    grants: Option<Vec<(String, crate::store::Access)>>,
    access: CallAccess,
    /// A deadline the call gets at least, whatever the plugin's limit.
    min_deadline_ms: u32,
}

impl CallOptions {
    /// Commands and action handlers.
    pub(crate) const WRITE: CallOptions = CallOptions {
        grants: None,
        access: CallAccess::ReadWrite,
        min_deadline_ms: 0,
    };
    /// Filters: read-only, never committed.
    pub(crate) const READ_ONLY: CallOptions = CallOptions {
        grants: None,
        access: CallAccess::ReadOnly,
        min_deadline_ms: 0,
    };

    /// `setup` migrates tables once per approval, which can take long on a
    /// big site: ten minutes at least.
    fn setup(grants: Vec<(String, crate::store::Access)>) -> CallOptions {
        CallOptions {
            grants: Some(grants),
            access: CallAccess::ReadWrite,
            min_deadline_ms: 600_000,
        }
    }
}

/// What a command returned, and what went wrong after it committed (an
/// action handler that failed): reported, never undoing the command.
#[derive(Debug, Serialize)]
pub struct CallOutput {
    pub result: serde_json::Value,
    pub warnings: Vec<String>,
}

/// What `enable` did.
#[derive(Debug, Serialize)]
pub struct EnableReport {
    pub id: String,
    pub version: String,
    pub already_enabled: bool,
    pub granted: Vec<Capability>,
    /// Grants the plugin held that its manifest no longer asks for.
    pub revoked: Vec<Capability>,
}

/// What `remove` did.
#[derive(Debug, Serialize)]
pub struct RemoveReport {
    pub id: String,
    pub file_deleted: bool,
    /// Tables dropped with `--purge-data`.
    pub dropped_tables: Vec<String>,
    /// Tables left in place (without `--purge-data`).
    pub kept_tables: Vec<String>,
}

impl Site {
    /// Create a site in `root` (or bring an existing one up to date).
    pub fn init(root: &Path) -> Result<Site, Error> {
        let paths = SitePaths::new(root);
        for dir in [&paths.root, &paths.plugins, &paths.cache, &paths.logs] {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        }
        Site::open_paths(paths)
    }

    /// Open the site in `root`.
    pub fn open(root: &Path) -> Result<Site, Error> {
        let paths = SitePaths::new(root);
        if !paths.db.is_file() {
            return Err(Error::NoSite(root.to_path_buf()));
        }
        // SQLite would take an empty file for a new database: a site whose
        // database was truncated must not quietly become a new empty site.
        let size = std::fs::metadata(&paths.db)
            .map(|m| m.len())
            .map_err(|e| Error::io(format!("cannot read {}", paths.db.display()), e))?;
        if size == 0 {
            return Err(Error::io(
                format!("{} is empty (0 bytes)", paths.db.display()),
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the site's data is gone from this file; move it away, then restore a \
                     backup (wasmdesk init, then wasmdesk restore FILE --yes) or start a new \
                     site (wasmdesk init)",
                ),
            ));
        }
        Site::open_paths(paths)
    }

    fn open_paths(paths: SitePaths) -> Result<Site, Error> {
        let mut conn = db::open_connection(&paths.db)?;
        // The host's own writes (its audit entries, admin acts) wait for
        // another process's lock as long as a plugin call may by default.
        conn.busy_timeout(HOST_BUSY_TIMEOUT).map_err(store_err)?;
        schema::migrate(&mut conn)?;
        let runtime = Runtime::new(paths.cache.clone());
        let site_key = read_site_key(&conn)?;
        let mut site = Site {
            paths,
            db: conn,
            runtime,
            loaded: HashMap::new(),
            plugin_dbs: HashMap::new(),
            registry: Default::default(),
            site_key,
            actor: Actor::host(),
            audit_calls: true,
            sandbox_checks: true,
            anchor: (None, None),
            pending: Vec::new(),
            pending_since: None,
            audit_failure_reported: false,
        };
        site.check_audit_guards()?;
        Ok(site)
    }

    /// Say who acts from now on (the CLI user, a bridge caller).
    pub fn set_actor(&mut self, actor: Actor) {
        self.actor = actor.pseudonymised(&self.site_key);
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Stop recording plugin calls in the audit log, for this process only.
    /// Exists so that `cargo xtask bench` can measure what the log costs;
    /// the CLI and the bridge never call it.
    #[doc(hidden)]
    pub fn unaudited_for_benchmarks(&mut self) {
        self.audit_calls = false;
        self.plugin_dbs.clear();
    }

    /// Skip the per-statement sandbox checks (is the call's transaction
    /// still open, host checks free of the deadline), for this process
    /// only. Exists so that `cargo xtask
    /// bench` can measure what they cost; the CLI and the bridge never call it.
    #[doc(hidden)]
    pub fn unchecked_for_benchmarks(&mut self) {
        self.sandbox_checks = false;
        self.plugin_dbs.clear();
    }

    /// Put back append-only guards dropped behind the host's back, and
    /// record in the log that they were missing.
    fn check_audit_guards(&mut self) -> Result<(), Error> {
        let missing = schema::missing_guards(&self.db)?;
        if missing.is_empty() {
            return Ok(());
        }
        let tx = self
            .db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(store_err)?;
        schema::restore_guards(&tx, &missing)?;
        let draft = Draft::act(
            &Actor::host(),
            action::AUDIT_GUARDS_RESTORED,
            serde_json::json!({"missing": missing}),
        );
        let head = audit::append(&tx, &draft).map_err(store_err)?;
        tx.commit().map_err(store_err)?;
        self.note_head(head);
        Ok(())
    }

    /// Remember the newest entry this process appended, for `audit.head`:
    /// written at most once a second (a file rename per call would cost
    /// more than the entry) and when the site closes.
    pub(crate) fn note_head(&mut self, head: audit::Head) {
        let due = self
            .anchor
            .1
            .is_none_or(|at| at.elapsed() >= std::time::Duration::from_secs(1));
        if due {
            audit::chain::write_anchor(&self.paths.root, &head, false);
            self.anchor = (None, Some(Instant::now()));
        } else {
            self.anchor.0 = Some(head);
        }
    }

    /// After a restore the log is the backup's, shorter than the one the
    /// anchor remembers: start the anchor again from its head.
    pub(crate) fn reset_anchor(&mut self) -> Result<(), Error> {
        let head: Option<(i64, String)> = self
            .db
            .query_row(
                "SELECT seq, hash FROM wasmdesk__audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(store_err)?;
        if let Some((seq, hash)) = head {
            audit::chain::write_anchor(&self.paths.root, &audit::Head { seq, hash }, true);
        }
        self.anchor = (None, Some(Instant::now()));
        Ok(())
    }

    /// Record an admin act in the audit log (after any entries still
    /// pending), in a transaction of its own.
    pub(crate) fn audit(&mut self, draft: Draft) -> Result<(), Error> {
        self.pending.push(draft);
        self.flush_audit()
    }

    /// Write the entries of read-only calls that are still pending. The
    /// bridge calls it before it answers; the site calls it when it closes.
    pub fn flush_audit(&mut self) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let db = &self.db;
        let pending = &self.pending;
        let written = (|| {
            db.execute_batch("BEGIN IMMEDIATE")?;
            match audit::chain::append_all(db, pending) {
                Ok(head) => match db.execute_batch("COMMIT") {
                    Ok(()) => Ok(head),
                    Err(e) => {
                        // A full disk can fail the COMMIT itself: nothing
                        // stays half-open, and no head is noted.
                        let _ = db.execute_batch("ROLLBACK");
                        Err(e)
                    }
                },
                Err(e) => {
                    let _ = db.execute_batch("ROLLBACK");
                    Err(e)
                }
            }
        })();
        let head = written.map_err(|e| {
            self.audit_failure_reported = true;
            Error::Store(crate::store::StoreError::Audit(e))
        })?;
        self.audit_failure_reported = false;
        self.pending.clear();
        self.pending_since = None;
        if let Some(head) = head {
            self.note_head(head);
        }
        Ok(())
    }

    /// An admin act by the current actor.
    pub(crate) fn act(&self, action: &'static str, detail: serde_json::Value) -> Draft {
        Draft::act(&self.actor, action, detail)
    }

    /// Overwrite the site database with `source` (a backup), page by page,
    /// dropping the plugins' cached connections first.
    pub(crate) fn replace_database(&mut self, source: &Connection) -> Result<(), Error> {
        self.plugin_dbs.clear();
        {
            let backup = rusqlite::backup::Backup::new(source, &mut self.db).map_err(store_err)?;
            backup
                .run_to_completion(256, std::time::Duration::from_millis(5), None)
                .map_err(store_err)?;
        }
        schema::migrate(&mut self.db)?;
        // A backup of this site carries the same secret; keep in step anyway.
        self.site_key = read_site_key(&self.db)?;
        self.check_audit_guards()?;
        Ok(())
    }

    pub(crate) fn site_key(&self) -> &[u8] {
        &self.site_key
    }

    pub(crate) fn db(&self) -> &Connection {
        &self.db
    }

    pub fn paths(&self) -> &SitePaths {
        &self.paths
    }

    /// Every plugin: the files in `plugins/` and the approved ones whose file
    /// is gone, by id.
    pub fn plugins(&mut self) -> Result<Vec<PluginEntry>, Error> {
        let files = registry::plugin_files(&self.paths.plugins)
            .map_err(|e| Error::io(format!("cannot read {}", self.paths.plugins.display()), e))?;
        let mut ids: Vec<String> = files.iter().map(|(id, _)| id.clone()).collect();
        for id in records::ids(&self.db)? {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids.sort();
        ids.iter().map(|id| self.evaluate(id)).collect()
    }

    /// One plugin, as `plugins` shows it.
    pub fn inspect(&mut self, id: &str) -> Result<PluginEntry, Error> {
        let entry = self.evaluate(id)?;
        if entry.file.is_none() && entry.status != Status::Missing {
            return Err(self.unknown_plugin(id));
        }
        Ok(entry)
    }

    /// Approve and enable a plugin: grant exactly the capabilities its
    /// manifest asks for and run its `setup`. `reviewed_sha256`, when given,
    /// is the binary the site owner reviewed: a file swapped since is refused.
    pub fn enable(
        &mut self,
        id: &str,
        reviewed_sha256: Option<&str>,
    ) -> Result<EnableReport, Error> {
        let entry = self.inspect(id)?;
        match entry.status {
            Status::Rejected => {
                return Err(Error::Rejected {
                    id: id.into(),
                    reason: entry.note.unwrap_or_default(),
                });
            }
            Status::Missing => return Err(self.unknown_plugin(id)),
            Status::Pending | Status::Enabled | Status::Disabled => {}
        }
        let sha256 = entry.sha256.clone().unwrap_or_default();
        if reviewed_sha256.is_some_and(|r| r != sha256) {
            return Err(Error::Conflict(format!(
                "plugins/{id}.wasm changed while you reviewed it: inspect it again, then enable it"
            )));
        }
        let manifest = entry
            .manifest
            .clone()
            .expect("a pending or approved plugin has a manifest");
        let previous = records::get(&self.db, id)?;
        let requested: Vec<Capability> = manifest
            .capabilities
            .iter()
            .map(|c| c.capability())
            .collect();
        let current = grants::list(&self.db, id)?;
        let revoked: Vec<Capability> = current
            .iter()
            .map(|(table, access)| Capability {
                table: table.clone(),
                access: (*access).into(),
            })
            .filter(|c| {
                !requested
                    .iter()
                    .any(|r| r.table.eq_ignore_ascii_case(&c.table))
            })
            .collect();
        if entry.status == Status::Enabled {
            return Ok(EnableReport {
                id: id.into(),
                version: manifest.version,
                already_enabled: true,
                granted: vec![],
                revoked: vec![],
            });
        }

        let previous_version = previous.as_ref().map(|r| r.manifest.version.clone());
        // Set up on first approval and whenever the approved binary changes
        // (setup must be idempotent; an update may migrate tables).
        let binary_changed = previous.as_ref().map(|r| r.sha256.as_str()) != Some(sha256.as_str());
        let plugin = self.load(id)?;
        if plugin.exports.lifecycle.is_some() && binary_changed {
            let grants: Vec<_> = requested
                .iter()
                .map(|c| (c.table.clone(), c.access.into()))
                .collect();
            self.run_with_db(
                id,
                &plugin,
                "setup",
                CallOptions::setup(sort_grants(grants)),
                |guest| guest.setup(previous_version.as_deref()),
            )?;
        }

        let now = crate::now_ms();
        let draft = self
            .act(
                action::PLUGIN_ENABLE,
                serde_json::json!({
                    "version": manifest.version,
                    "sha256": sha256,
                    "granted": requested.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
                }),
            )
            .plugin(id);
        let tx = self
            .db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(store_err)?;
        grants::revoke_all(&tx, id)?;
        for cap in &requested {
            grants::grant(&tx, id, cap, now)?;
        }
        records::approve(&tx, id, &sha256, &manifest, now)?;
        let head = audit::append(&tx, &draft).map_err(store_err)?;
        tx.commit().map_err(store_err)?;
        self.note_head(head);
        Ok(EnableReport {
            id: id.into(),
            version: manifest.version,
            already_enabled: false,
            granted: requested,
            revoked,
        })
    }

    /// Stop calling a plugin; its grants and data stay.
    pub fn disable(&mut self, id: &str) -> Result<(), Error> {
        if !records::set_enabled(&self.db, id, false, crate::now_ms())? {
            self.inspect(id)?;
            return Err(Error::Conflict(format!(
                "plugin \"{id}\" is not enabled, so it cannot be disabled"
            )));
        }
        self.audit(
            self.act(action::PLUGIN_DISABLE, serde_json::json!({}))
                .plugin(id),
        )
    }

    /// Remove a plugin: its file, approval, grants and limits; with
    /// `purge_data`, also every table in its namespace.
    pub fn remove(&mut self, id: &str, purge_data: bool) -> Result<RemoveReport, Error> {
        let entry = self.evaluate(id)?;
        if entry.file.is_none() && entry.status != Status::Missing {
            return Err(self.unknown_plugin(id));
        }
        let tables = self.namespace_tables(id)?;
        let draft = self
            .act(
                action::PLUGIN_REMOVE,
                serde_json::json!({"purge_data": purge_data, "tables": tables}),
            )
            .plugin(id);
        let tx = self
            .db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(store_err)?;
        if purge_data {
            drop_namespace(&tx, id)?;
        }
        grants::revoke_all(&tx, id)?;
        records::delete(&tx, id)?;
        let head = audit::append(&tx, &draft).map_err(store_err)?;
        tx.commit().map_err(store_err)?;
        self.note_head(head);
        self.plugin_dbs.remove(id);
        self.loaded.remove(id);
        let file_deleted = match &entry.file {
            Some(path) => {
                std::fs::remove_file(path)
                    .map_err(|e| Error::io(format!("cannot delete {}", path.display()), e))?;
                true
            }
            None => false,
        };
        let (dropped_tables, kept_tables) = if purge_data {
            (tables, vec![])
        } else {
            (vec![], tables)
        };
        Ok(RemoveReport {
            id: id.into(),
            file_deleted,
            dropped_tables,
            kept_tables,
        })
    }

    /// Grant capabilities outside the plugin's namespace.
    pub fn grant(&mut self, id: &str, caps: &[Capability]) -> Result<(), Error> {
        self.inspect(id)?;
        let refusals: Vec<String> = caps.iter().filter_map(|c| c.refusal(id)).collect();
        if !refusals.is_empty() {
            return Err(Error::BadRequest(format!(
                "cannot grant {}",
                refusals.join("; ")
            )));
        }
        let now = crate::now_ms();
        let names: Vec<String> = caps.iter().map(|c| c.to_string()).collect();
        let draft = self
            .act(
                action::GRANT_ADD,
                serde_json::json!({"capabilities": names}),
            )
            .plugin(id);
        let tx = self
            .db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(store_err)?;
        for cap in caps {
            grants::grant(&tx, id, cap, now)?;
        }
        let head = audit::append(&tx, &draft).map_err(store_err)?;
        tx.commit().map_err(store_err)?;
        self.note_head(head);
        Ok(())
    }

    /// Take capabilities back; returns those that were held.
    pub fn revoke(&mut self, id: &str, caps: &[Capability]) -> Result<Vec<Capability>, Error> {
        self.inspect(id)?;
        let actor = self.actor.clone();
        let tx = self
            .db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(store_err)?;
        let mut revoked = Vec::new();
        for cap in caps {
            if grants::revoke(&tx, id, cap)? {
                revoked.push(cap.clone());
            }
        }
        let names: Vec<String> = revoked.iter().map(|c| c.to_string()).collect();
        let draft = Draft::act(
            &actor,
            action::GRANT_REVOKE,
            serde_json::json!({"capabilities": names}),
        )
        .plugin(id);
        let head = audit::append(&tx, &draft).map_err(store_err)?;
        tx.commit().map_err(store_err)?;
        self.note_head(head);
        Ok(revoked)
    }

    pub fn grants(&self, id: &str) -> Result<Vec<Capability>, Error> {
        Ok(grants::list(&self.db, id)?
            .into_iter()
            .map(|(table, access)| Capability {
                table,
                access: access.into(),
            })
            .collect())
    }

    /// Set limits (`Some(Some(n))`), reset them (`Some(None)`) or leave them.
    pub fn set_limits(
        &mut self,
        id: &str,
        memory_mib: Option<Option<u32>>,
        deadline_ms: Option<Option<u32>>,
    ) -> Result<Limits, Error> {
        self.inspect(id)?;
        let check = |name: &str, value: Option<Option<u32>>, max: u32| match value {
            Some(Some(n)) if n == 0 || n > max => Err(Error::BadRequest(format!(
                "{name} must be between 1 and {max}, not {n}"
            ))),
            _ => Ok(()),
        };
        check("--memory-mib", memory_mib, Limits::MAX.memory_mib)?;
        check("--deadline-ms", deadline_ms, Limits::MAX.deadline_ms)?;
        records::set_limits(&self.db, id, memory_mib, deadline_ms)?;
        let limits = records::limits(&self.db, id)?;
        if memory_mib.is_some() || deadline_ms.is_some() {
            let detail = serde_json::json!({
                "memory_mib": limits.memory_mib,
                "deadline_ms": limits.deadline_ms,
            });
            self.audit(self.act(action::LIMITS_SET, detail).plugin(id))?;
        }
        Ok(limits)
    }

    /// Run `command` of an enabled plugin with JSON `args`, in one
    /// transaction: argument filters first, then the command, then the
    /// actions it emitted (after it committed), then its result filter.
    pub fn call(&mut self, id: &str, command: &str, args: &str) -> Result<CallOutput, Error> {
        let mut args: serde_json::Value = serde_json::from_str(args).map_err(|e| {
            Error::BadRequest(format!(
                "the arguments of {id}.{command} are not valid JSON: {e}"
            ))
        })?;
        // As the bridge: a command takes an object, never `"x"`, `[1]` or
        // `null` read as `{}`.
        if !args.is_object() {
            return Err(Error::BadRequest(format!(
                "the arguments of {id}.{command} must be a JSON object such as {{\"id\": 1}}, not {}",
                crate::text::single_line(&args.to_string().chars().take(80).collect::<String>())
            )));
        }
        let (record, plugin) = self.ready(id)?;
        let Some(info) = record
            .manifest
            .commands
            .iter()
            .find(|c| c.name == command)
            .cloned()
        else {
            let offered: Vec<&str> = record
                .manifest
                .commands
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            return Err(Error::UnknownOp(format!(
                "plugin \"{id}\" has no command \"{command}\"; it offers: {}",
                if offered.is_empty() {
                    "none".to_string()
                } else {
                    offered.join(", ")
                }
            )));
        };
        if plugin.exports.commands.is_none() {
            return Err(Error::UnknownOp(format!(
                "plugin \"{id}\" exports no commands"
            )));
        };
        for filter in &info.argument_filters {
            if let Some(value) = args.get(&filter.argument).cloned() {
                args[&filter.argument] = self.apply_filters(&filter.filter, value)?;
            }
        }
        let operation = format!("command {command}");
        let args = serde_json::to_string(&args).expect("a JSON value serializes");
        let (output, emitted) =
            self.run_with_db(id, &plugin, &operation, CallOptions::WRITE, |guest| {
                guest.run_command(command, &args)
            })?;
        let result: serde_json::Value = serde_json::from_str(&output).map_err(|e| {
            Error::Call(CallError::Failed {
                plugin: id.into(),
                operation,
                kind: FailureKind::Fault,
                message: format!("returned invalid JSON ({e}); its writes were kept"),
            })
        })?;
        let warnings = self.fire_emitted(emitted);
        let result = match &info.result_filter {
            Some(filter) => self.apply_filters(filter, result)?,
            None => result,
        };
        Ok(CallOutput { result, warnings })
    }

    /// An enabled plugin whose file is the approved one, loaded.
    pub(crate) fn ready(
        &mut self,
        id: &str,
    ) -> Result<(Rc<records::Record>, Rc<LoadedPlugin>), Error> {
        let record = self.registry.get(&self.db, id)?.record.clone();
        let Some(record) = record.filter(|r| r.enabled) else {
            let entry = self.inspect(id).map_err(|e| match e {
                Error::UnknownPlugin { .. } => Error::UnknownOp(format!("{e}")),
                other => other,
            })?;
            let hint = match entry.status {
                Status::Pending => format!(
                    "review it with: wasmdesk plugin inspect {id}, then: wasmdesk plugin enable {id}"
                ),
                Status::Disabled => format!("enable it with: wasmdesk plugin enable {id}"),
                _ => entry.note.clone().unwrap_or_default(),
            };
            return Err(Error::UnknownOp(format!(
                "plugin \"{id}\" is {}: {hint}",
                entry.status.as_str()
            )));
        };
        let plugin = self.load(id)?;
        if plugin.sha256 != record.sha256 {
            return Err(Error::UnknownOp(format!(
                "plugins/{id}.wasm changed since it was approved, so it is not run: review it with: \
                 wasmdesk plugin inspect {id}, then: wasmdesk plugin enable {id}"
            )));
        }
        Ok((record, plugin))
    }

    /// Run one export of `plugin` inside a transaction on its connection.
    /// `f` returns the export's own result: an error there rolls back.
    /// Returns what `f` returned and the actions the call emitted (none
    /// unless it committed). A read-only call never commits.
    pub(crate) fn run_with_db<R>(
        &mut self,
        id: &str,
        plugin: &LoadedPlugin,
        operation: &str,
        options: CallOptions,
        f: impl Fn(&mut Guest<'_>) -> Outcome<R>,
    ) -> Result<(R, hooks::Emitted), Error> {
        // The grants in force, unless the caller runs it with others (setup
        // runs with the grants about to be approved).
        let started = Instant::now();
        let registered = self.registry.get(&self.db, id)?;
        let grants = match options.grants {
            Some(grants) => grants,
            None => registered.grants.clone(),
        };
        let mut limits = registered.limits;
        limits.deadline_ms = limits.deadline_ms.max(options.min_deadline_ms);
        let access = options.access;
        let deadline = Instant::now() + limits.deadline();
        // Run once; run again with the write lock from the start if a write
        // lost its snapshot to another process (nothing of the first run
        // was kept or recorded).
        let mut immediate = false;
        let (call, result, mut state) = loop {
            let mut db = match self.plugin_dbs.remove(id) {
                Some(db) => db,
                None => PluginDb::open(&self.paths.db, id, grants.clone())?,
            };
            db.track_usage = self.audit_calls;
            db.sandbox_checks = self.sandbox_checks;
            db.begin_call(grants.clone(), deadline, limits.result_cap(), access)?;
            db.set_immediate(immediate);
            let call = Call {
                site_key: self.site_key.clone(),
                plugin: id,
                operation,
                limits,
                deadline,
            };
            // A panic in the host while it serves the plugin (a bug the
            // plugin's input reached) fails this call, not the process: the
            // connection goes down with the store, and SQLite rolls its
            // transaction back.
            let invoked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.runtime.invoke(plugin, &call, Some(db), &f)
            }));
            let (result, mut state) = match invoked {
                Ok(invoked) => invoked,
                Err(panic) => return Err(self.host_panicked(&call, started, panic)),
            };
            if !immediate && state.db.as_ref().is_some_and(PluginDb::snapshot_conflict) {
                let mut db = state.db.take().expect("the store kept its connection");
                let _ = db.finish_call(false);
                let _ = db.take_usage();
                self.plugin_dbs.insert(id.to_string(), db);
                immediate = true;
                continue;
            }
            break (call, result, state);
        };
        let mut outcome = match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err((kind, message))) => Err(CallError::failed(&call, kind, message)),
            Err(e) => Err(e),
        };
        if let Some(doom) = call::doomed(&call, &state) {
            outcome = Err(doom);
        }
        let mut db = state
            .db
            .take()
            .expect("run_with_db gave the store a connection");
        // The audit entry of a call that writes is committed with its
        // writes: no change without its record.
        let (mut draft, wrote) = self.call_draft(id, operation, &outcome, started, &mut db);
        // The tables the call touched decide who may see its actions' payloads.
        let call_tables: Vec<String> = if state.events.0.is_empty() {
            vec![]
        } else {
            draft.tables.iter().map(|t| t.table.clone()).collect()
        };
        let mut head = None;
        let writes =
            wrote && outcome.is_ok() && access == CallAccess::ReadWrite && self.audit_calls;
        if writes {
            // Entries still pending go first, in the same transaction.
            let pending = &self.pending;
            let appended = db.in_call_transaction(|c| {
                audit::chain::append_all(c, pending.iter().chain(std::iter::once(&draft)))
            });
            match appended {
                Ok(written) => head = written,
                Err(e) => {
                    outcome = Err(CallError::failed(
                        &call,
                        FailureKind::Fault,
                        format!("its audit entry could not be written, so nothing was kept: {e}"),
                    ))
                }
            }
        }
        let finished = db.finish_call(outcome.is_ok() && access == CallAccess::ReadWrite);
        // The entry went in with the call's writes; a call that wrote
        // nothing (a get, a list) has its entry wait like a read's.
        let entry_committed = writes && matches!(finished, Ok(true));
        state.log.append_to(&self.paths.logs, id, operation);
        self.plugin_dbs.insert(id.to_string(), db);
        if entry_committed {
            self.pending.clear();
            self.pending_since = None;
        }
        if !entry_committed && self.audit_calls {
            // Read-only, failed or rolled back: recorded on its own. A
            // successful read waits a little to share a transaction with
            // others; a failure (a denial, a crash) is written at once.
            draft.outcome = match (&outcome, &finished) {
                (Ok(_), Ok(_)) => "ok".into(),
                (Ok(_), Err(_)) => ErrorCode::PluginFault.as_str().into(),
                (Err(e), _) => ErrorCode::of_call(e).as_str().into(),
            };
            let failed = draft.outcome != "ok";
            self.pending.push(draft);
            let since = *self.pending_since.get_or_insert_with(Instant::now);
            if failed
                || self.pending.len() >= AUDIT_FLUSH_ENTRIES
                || since.elapsed() >= AUDIT_FLUSH_DELAY
            {
                // A failed call keeps its own error (the caller learns why
                // it failed); its entry stays pending and is tried again.
                if let (Err(e), Ok(_)) = (self.flush_audit(), &outcome) {
                    return Err(e);
                }
            }
        }
        // Only a head that committed: noting one whose transaction rolled
        // back would make `audit verify` see tampering that never happened.
        if let Some(head) = head.filter(|_| entry_committed) {
            self.note_head(head);
        }
        match (outcome, finished) {
            // The host's failure, not the plugin's: a full disk is
            // `storage_full`, a held lock `busy`.
            (Ok(_), Err(e)) if e.sqlite_code().is_some() => Err(Error::Store(e)),
            (Ok(_), Err(e)) => Err(Error::Call(CallError::failed(
                &call,
                FailureKind::Fault,
                format!("its changes could not be committed and were rolled back: {e}"),
            ))),
            (Ok(value), Ok(committed)) => {
                let actions = if committed {
                    std::mem::take(&mut state.events.0)
                } else {
                    vec![]
                };
                let emitted = hooks::Emitted {
                    source: hooks::Source {
                        plugin: Some(id.to_string()),
                        tables: call_tables,
                    },
                    actions,
                };
                Ok((value, emitted))
            }
            (Err(e), _) => Err(Error::Call(e)),
        }
    }

    /// A call during which the host panicked: recorded as a plugin fault,
    /// with nothing the call did kept.
    fn host_panicked(
        &mut self,
        call: &Call<'_>,
        started: Instant,
        panic: Box<dyn std::any::Any + Send>,
    ) -> Error {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_string());
        let error = CallError::failed(
            call,
            FailureKind::Fault,
            format!(
                "made the host fail ({}); nothing the call did was kept, and the host \
                 goes on serving: please report this with logs/{}.log",
                crate::text::single_line(&what),
                call.plugin
            ),
        );
        if self.audit_calls {
            self.pending.push(Draft {
                plugin: Some(call.plugin.to_string()),
                operation: Some(call.operation.to_string()),
                outcome: ErrorCode::of_call(&error).as_str().into(),
                duration_us: started.elapsed().as_micros() as i64,
                ..self.act(action::PLUGIN_CALL, serde_json::json!({}))
            });
            if let Err(e) = self.flush_audit() {
                return e;
            }
        }
        Error::Call(error)
    }

    /// The audit entry for a plugin call: what it touched, whose data, how
    /// it ended (never the error text: it may name a person); and whether
    /// it may have changed the database.
    fn call_draft<R>(
        &self,
        id: &str,
        operation: &str,
        outcome: &Result<R, CallError>,
        started: Instant,
        db: &mut PluginDb,
    ) -> (Draft, bool) {
        let usage = db.take_usage();
        let mut subjects: Vec<String> = usage
            .emails
            .iter()
            .map(|email| crate::pseudonym::keyed_hash(&self.site_key, email))
            .collect();
        subjects.sort();
        let detail = match db.denial() {
            Some(denial) => serde_json::json!({
                "denied": {"action": denial.action, "target": denial.target}
            }),
            None => serde_json::json!({}),
        };
        let draft = Draft {
            at_ms: crate::now_ms(),
            actor: self.actor.as_str().to_string(),
            action: action::PLUGIN_CALL,
            plugin: Some(id.to_string()),
            operation: Some(operation.to_string()),
            outcome: match outcome {
                Ok(_) => "ok".into(),
                Err(e) => ErrorCode::of_call(e).as_str().into(),
            },
            duration_us: started.elapsed().as_micros() as i64,
            tables: usage.tables.into_values().collect(),
            subjects,
            detail,
        };
        (draft, usage.wrote)
    }

    /// Load (or reuse) the component in `plugins/ID.wasm`.
    fn load(&mut self, id: &str) -> Result<Rc<LoadedPlugin>, Error> {
        match self.load_file(id)? {
            Some((_, Ok(plugin))) => Ok(plugin),
            Some((_, Err(e))) => Err(Error::Rejected {
                id: id.into(),
                reason: e.to_string(),
            }),
            None => Err(self.unknown_plugin(id)),
        }
    }

    /// The file's hash and what loading it gave; `None` when there is no file.
    #[allow(clippy::type_complexity)]
    fn load_file(
        &mut self,
        id: &str,
    ) -> Result<Option<(String, Result<Rc<LoadedPlugin>, Rc<LoadError>>)>, Error> {
        let path = self.paths.plugins.join(format!("{id}.wasm"));
        let unusable = |reason: String| {
            Ok(Some((
                String::new(),
                Err(Rc::new(LoadError::Unusable(reason))),
            )))
        };
        let Ok(link) = std::fs::symlink_metadata(&path) else {
            return Ok(None);
        };
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(_) => {
                return unusable(format!(
                    "plugins/{id}.wasm is a link to nothing: remove it, or copy the plugin file there"
                ));
            }
        };
        if !meta.is_file() {
            return unusable(format!(
                "plugins/{id}.wasm is not a file (a directory?): a plugin is one .wasm file"
            ));
        }
        if link.file_type().is_symlink() {
            // A link may point anywhere: only a file inside the site folder
            // is the site owner's to approve.
            let inside = std::fs::canonicalize(&path)
                .ok()
                .zip(std::fs::canonicalize(&self.paths.root).ok())
                .is_some_and(|(target, root)| target.starts_with(root));
            if !inside {
                return unusable(format!(
                    "plugins/{id}.wasm is a link to a file outside the site folder: copy the file \
                     into plugins/ instead, so that what you approve stays what runs"
                ));
            }
        }
        let cap = max_plugin_bytes();
        if meta.len() > cap {
            return unusable(format!(
                "plugins/{id}.wasm is {} MiB, more than the {} MiB a plugin may be \
                 (WASMDESK_MAX_PLUGIN_MIB sets another cap)",
                meta.len() / (1024 * 1024),
                cap / (1024 * 1024)
            ));
        }
        let stamp = (meta.len(), meta.modified().ok());
        if let Some(loaded) = self.loaded.get(id).filter(|l| l.stamp == stamp) {
            return Ok(Some((loaded.sha256.clone(), loaded.result.clone())));
        }
        let wasm = std::fs::read(&path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        let sha256 = format!("{:x}", Sha256::digest(&wasm));
        let result = self
            .runtime
            .load(&wasm, &sha256)
            .map(Rc::new)
            .map_err(Rc::new);
        self.loaded.insert(
            id.to_string(),
            Loaded {
                stamp,
                result: result.clone(),
                sha256: sha256.clone(),
            },
        );
        Ok(Some((sha256, result)))
    }

    /// Ask the plugin for its manifest (no database, the plugin's limits).
    fn read_manifest(
        &self,
        id: &str,
        plugin: &LoadedPlugin,
        limits: Limits,
    ) -> Result<Manifest, CallError> {
        let site_key = self.site_key.clone();
        let call = Call {
            site_key,
            plugin: id,
            operation: "manifest",
            limits,
            deadline: Instant::now() + limits.deadline(),
        };
        let (result, state) = self
            .runtime
            .invoke(plugin, &call, None, |guest| guest.manifest());
        state.log.append_to(&self.paths.logs, id, "manifest");
        result.map(Manifest::from)
    }

    /// Work out where a plugin stands.
    fn evaluate(&mut self, id: &str) -> Result<PluginEntry, Error> {
        let record = records::get(&self.db, id)?;
        let grants = self.grants(id)?;
        let limits = records::limits(&self.db, id)?;
        let file = self.paths.plugins.join(format!("{id}.wasm"));
        let mut entry = PluginEntry {
            id: id.to_string(),
            status: Status::Rejected,
            note: None,
            file: None,
            sha256: None,
            manifest: None,
            exports: vec![],
            contract: None,
            grants,
            limits,
        };
        let Some((sha256, loaded)) = self.load_file(id)? else {
            if let Some(record) = record {
                entry.status = Status::Missing;
                entry.note = Some(format!(
                    "approved, but {} is gone: copy it back, or run: wasmdesk plugin remove {id}",
                    file.display()
                ));
                entry.manifest = Some(record.manifest);
                entry.sha256 = Some(record.sha256);
            }
            return Ok(entry);
        };
        entry.file = Some(file);
        entry.sha256 = (!sha256.is_empty()).then(|| sha256.clone());
        if !registry::manifest::valid_id(id) {
            entry.note = Some(format!(
                "{id}.wasm is not a valid plugin file name: plugin ids use lower-case letters, \
                 digits and single dashes"
            ));
            return Ok(entry);
        }
        let plugin = match loaded {
            Ok(plugin) => plugin,
            Err(e) => {
                entry.note = Some(e.to_string());
                return Ok(entry);
            }
        };
        entry.exports = plugin.exports.names();
        entry.contract = Some(plugin.contract.clone()).filter(|c| !c.is_empty());
        let manifest = match &record {
            Some(record) if record.sha256 == sha256 => record.manifest.clone(),
            _ => match self.read_manifest(id, &plugin, limits) {
                Ok(manifest) => manifest,
                Err(e) => {
                    entry.note = Some(format!("its manifest could not be read: {e}"));
                    return Ok(entry);
                }
            },
        };
        let problems = manifest.problems(id, &plugin.exports);
        entry.manifest = Some(manifest);
        if !problems.is_empty() {
            entry.note = Some(problems.join("; "));
            return Ok(entry);
        }
        entry.status = match &record {
            Some(record) if record.sha256 == sha256 => {
                if record.enabled {
                    Status::Enabled
                } else {
                    Status::Disabled
                }
            }
            Some(record) => {
                entry.note = Some(format!(
                    "the file changed since it was approved (was {}); review it and enable it again",
                    if record.enabled {
                        "enabled"
                    } else {
                        "disabled"
                    }
                ));
                Status::Pending
            }
            None => Status::Pending,
        };
        Ok(entry)
    }

    /// Tables in the plugin's namespace.
    fn namespace_tables(&self, id: &str) -> Result<Vec<String>, Error> {
        let prefix = Namespace::of(id).prefix().to_string();
        let mut stmt = self
            .db
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'table' \
                 AND lower(substr(name, 1, length(?1))) = ?1 ORDER BY name",
            )
            .map_err(store_err)?;
        let names = stmt.query_map([&prefix], |r| r.get(0)).map_err(store_err)?;
        names
            .collect::<rusqlite::Result<Vec<String>>>()
            .map_err(store_err)
    }

    fn unknown_plugin(&self, id: &str) -> Error {
        Error::UnknownPlugin {
            id: id.to_string(),
            dir: self.paths.plugins.clone(),
        }
    }
}

/// Drop every view and table in the plugin's namespace (virtual tables
/// first: their shadow tables go with them).
fn drop_namespace(conn: &Connection, id: &str) -> Result<(), Error> {
    let prefix = Namespace::of(id).prefix().to_string();
    let objects: Vec<(String, String)> = {
        let mut stmt = conn
            .prepare(
                "SELECT type, name FROM sqlite_schema WHERE type IN ('view', 'table') \
                 AND lower(substr(name, 1, length(?1))) = ?1 \
                 ORDER BY type = 'table', sql NOT LIKE 'CREATE VIRTUAL TABLE%', name",
            )
            .map_err(store_err)?;
        let rows = stmt
            .query_map([&prefix], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(store_err)?;
        rows.collect::<rusqlite::Result<_>>().map_err(store_err)?
    };
    for (kind, name) in objects {
        let quoted = name.replace('"', "\"\"");
        let sql = if kind == "view" {
            format!("DROP VIEW IF EXISTS \"{quoted}\"")
        } else {
            format!("DROP TABLE IF EXISTS \"{quoted}\"")
        };
        conn.execute_batch(&sql).map_err(store_err)?;
    }
    Ok(())
}

fn sort_grants(
    mut grants: Vec<(String, crate::store::Access)>,
) -> Vec<(String, crate::store::Access)> {
    grants.sort_by_key(|(t, _)| t.to_ascii_lowercase());
    grants
}

fn read_site_key(conn: &Connection) -> Result<std::sync::Arc<[u8]>, Error> {
    let secret: String = conn
        .query_row(
            "SELECT value FROM wasmdesk__site WHERE key = 'secret'",
            [],
            |r| r.get(0),
        )
        .map_err(store_err)?;
    Ok(secret.into_bytes().into())
}

fn store_err(e: rusqlite::Error) -> Error {
    Error::Store(e.into())
}
