//! A site: a folder with `site.db`, `plugins/`, `cache/` and `logs/`. The
//! one entry point for callers (CLI, bridge): lifecycle and plugin calls.

mod audit_writer;
mod call;
mod hooks;
mod lifecycle;
mod loading;
mod registry_cache;

pub(crate) use call::CallOptions;
pub use call::CallOutput;
pub use lifecycle::{EnableReport, RemoveReport};

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};

use crate::audit::{self, Actor, Draft, action};
use crate::database::{PluginDb, db, schema};
use crate::error::Error;
use crate::runtime::Runtime;

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

pub struct Site {
    paths: SitePaths,
    db: Connection,
    runtime: Runtime,
    loaded: HashMap<String, loading::Loaded>,
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
    /// Audit entries not yet written, and the anchor.
    audit_log: audit_writer::AuditWriter,
}

/// How long the host's own connection waits for another process's write
/// lock before its write fails with `busy`.
const HOST_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl Drop for Site {
    fn drop(&mut self) {
        self.audit_log.close(&self.db);
        self.plugin_dbs.clear();
        db::checkpoint_if_large(&self.db, &self.paths.db);
    }
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
        let root = paths.root.clone();
        let mut conn = db::open_connection(&paths.db)?;
        // The host's own writes (its audit entries, admin acts) wait for
        // another process's lock as long as a plugin call may by default.
        conn.busy_timeout(HOST_BUSY_TIMEOUT)?;
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
            audit_log: audit_writer::AuditWriter::new(root),
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
        let draft = Draft::act(
            &Actor::host(),
            action::AUDIT_GUARDS_RESTORED,
            serde_json::json!({"missing": missing}),
        );
        self.audited(draft, |tx| Ok(schema::restore_guards(tx, &missing)?))
    }

    /// Remember the newest entry this process appended, for `audit.head`.
    pub(crate) fn note_head(&mut self, head: audit::Head) {
        self.audit_log.note_head(head);
    }

    /// After a restore the log is the backup's, shorter than the one the
    /// anchor remembers: start the anchor again from its head.
    pub(crate) fn reset_anchor(&mut self) -> Result<(), Error> {
        let head = self
            .db
            .query_row(
                "SELECT seq, hash FROM wasmdesk__audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| {
                    Ok(audit::Head {
                        seq: r.get(0)?,
                        hash: r.get(1)?,
                    })
                },
            )
            .optional()?;
        self.audit_log.reset_anchor(head);
        Ok(())
    }

    /// Record an admin act in the audit log (after any entries still
    /// pending), in a transaction of its own.
    pub(crate) fn audit(&mut self, draft: Draft) -> Result<(), Error> {
        self.audited(draft, |_| Ok(()))
    }

    /// How many audit entries wait to be written (those of successful
    /// read-only calls, and of failed calls whose entry could not be
    /// written yet).
    pub fn pending_audit_entries(&self) -> usize {
        self.audit_log.pending().len()
    }

    /// Write the entries of read-only calls that are still pending. The
    /// bridge calls it before it answers; the site calls it when it closes.
    pub fn flush_audit(&mut self) -> Result<(), Error> {
        self.audit_log.flush(&self.db)
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
            let backup = rusqlite::backup::Backup::new(source, &mut self.db)?;
            backup.run_to_completion(256, std::time::Duration::from_millis(5), None)?;
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
}

fn read_site_key(conn: &Connection) -> Result<std::sync::Arc<[u8]>, Error> {
    let secret: String = conn.query_row(
        "SELECT value FROM wasmdesk__site WHERE key = 'secret'",
        [],
        |r| r.get(0),
    )?;
    Ok(secret.into_bytes().into())
}
