//! The audit log: an append-only, hash-chained record of every plugin call
//! (which tables it read and wrote, how many rows, whose data) and every
//! admin act, kept by the host in `wasmdesk__audit`. Plugins can never read
//! or write it. Data subjects appear only as keyed hashes of their e-mail
//! addresses (the site secret), so the log survives an erasure without
//! undoing it and a request about one address can still be matched.

pub mod anomalies;
pub mod archive;
pub mod breach;
pub mod chain;
pub mod query;
pub mod time;
pub mod verification;

use serde::{Deserialize, Serialize};

pub use crate::database::plugin_db::TableUse;
pub use chain::Head;
pub use verification::Verification;

/// Who acted: `cli:USER`, `bridge:CALLER` (the id the CMS passes), or
/// `host` (the host on its own, such as the retention job's pruning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(String);

impl Actor {
    /// The site owner at the command line: their login name.
    pub fn cli() -> Actor {
        let user = ["USER", "LOGNAME", "USERNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
            .or_else(uid)
            .unwrap_or_else(|| "unknown".into());
        Actor(format!("cli:{}", clean(&user)))
    }

    /// A bridge caller, as named by the CMS (e.g. `wp:user:7`).
    pub fn bridge(caller: &str) -> Actor {
        Actor(format!("bridge:{}", clean(caller)))
    }

    pub fn host() -> Actor {
        Actor("host".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The actor with every e-mail address in its name (a bridge caller
    /// such as `ada@example.com`) replaced by `person:KEYED-HASH`: the log
    /// can still tell the same person's acts apart, without naming them.
    pub fn pseudonymised(self, key: &[u8]) -> Actor {
        Actor(crate::emails::replace_addresses(&self.0, |email| {
            format!("person:{}", crate::pseudonym::keyed_hash(key, email))
        }))
    }
}

/// `uid:N` of this process (Linux), when no login name is in the
/// environment (cron, containers).
fn uid() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    Some(format!("uid:{}", line.split_whitespace().nth(1)?))
}

/// Keep an actor name printable and short.
fn clean(name: &str) -> String {
    let name: String = name.chars().filter(|c| !c.is_control()).take(128).collect();
    if name.trim().is_empty() {
        "unknown".into()
    } else {
        name
    }
}

/// Admin acts and calls, as stored in the `action` column. Stable names.
pub mod action {
    pub const PLUGIN_CALL: &str = "plugin.call";
    pub const PLUGIN_ENABLE: &str = "plugin.enable";
    pub const PLUGIN_DISABLE: &str = "plugin.disable";
    pub const PLUGIN_REMOVE: &str = "plugin.remove";
    pub const GRANT_ADD: &str = "grant.add";
    pub const GRANT_REVOKE: &str = "grant.revoke";
    pub const LIMITS_SET: &str = "limits.set";
    pub const RETENTION_SET: &str = "retention.set";
    pub const RETENTION_RUN: &str = "retention.run";
    pub const REQUEST_OPEN: &str = "request.open";
    pub const REQUEST_CONFIRM: &str = "request.confirm";
    pub const EXPORT_DOWNLOAD: &str = "export.download";
    pub const ERASURE_DONE: &str = "erasure.done";
    pub const BACKUP: &str = "site.backup";
    pub const RESTORE: &str = "site.restore";
    pub const AUDIT_EXPORT: &str = "audit.export";
    pub const AUDIT_PRUNE: &str = "audit.prune";
    pub const AUDIT_GUARDS_RESTORED: &str = "audit.guards-restored";
    pub const BREACH_RECORD: &str = "breach.record";
    pub const BREACH_AFFECTED: &str = "breach.affected";
    pub const BREACH_CLOSE: &str = "breach.close";
}

/// The outcome of an entry whose act or call succeeded.
pub const OUTCOME_OK: &str = "ok";

/// An entry about to be appended.
#[derive(Debug, Clone)]
pub struct Draft {
    /// When it happened (ms since the epoch); stored as at least the
    /// previous entry's time, so `at` never decreases along the chain.
    pub at_ms: i64,
    pub actor: String,
    pub action: &'static str,
    pub plugin: Option<String>,
    pub operation: Option<String>,
    /// `ok`, or the error code the caller got.
    pub outcome: String,
    pub duration_us: i64,
    pub tables: Vec<TableUse>,
    /// Keyed hashes of the data subjects touched.
    pub subjects: Vec<String>,
    pub detail: serde_json::Value,
}

impl Draft {
    /// Whether the act or call it records succeeded (its outcome is `ok`).
    pub fn succeeded(&self) -> bool {
        self.outcome == OUTCOME_OK
    }

    /// An admin act that succeeded.
    pub fn act(actor: &Actor, action: &'static str, detail: serde_json::Value) -> Draft {
        Draft {
            at_ms: crate::now_ms(),
            actor: actor.as_str().to_string(),
            action,
            plugin: None,
            operation: None,
            outcome: OUTCOME_OK.into(),
            duration_us: 0,
            tables: vec![],
            subjects: vec![],
            detail,
        }
    }

    pub fn plugin(mut self, plugin: &str) -> Draft {
        self.plugin = Some(plugin.to_string());
        self
    }

    pub fn subject(mut self, subject_hash: String) -> Draft {
        self.subjects.push(subject_hash);
        self
    }
}

/// An entry as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub plugin: Option<String>,
    pub operation: Option<String>,
    pub outcome: String,
    pub duration_us: i64,
    pub rows_read: i64,
    pub rows_written: i64,
    pub tables: Vec<TableUse>,
    /// Keyed hashes (HMAC-SHA256 of the lower-cased e-mail address).
    pub subjects: Vec<String>,
    pub detail: serde_json::Value,
    pub prev: String,
    pub hash: String,
}
