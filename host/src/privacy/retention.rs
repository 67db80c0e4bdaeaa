//! Retention (GDPR Art. 5(1)(e)): each plugin's manifest declares rules
//! (data older than N days is deleted or anonymised); the site owner may
//! change N; `wasmdesk retention run` applies them, meant for cron.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::error::Error;
use crate::registry::records;
use crate::site::{CallOptions, Site};

const MS_PER_DAY: i64 = 24 * 60 * 60 * 1000;

/// The host's own rule: export archives are deleted this many days after
/// the request was done, and the request forgets the address.
const HOST: &str = "host";
const EXPORT_ARCHIVES: &str = "export-archives";
const EXPORT_ARCHIVE_DAYS: u32 = 7;
/// The host's rule for its own audit log: entries older than this are
/// pruned, leaving a checkpoint entry so the rest still verifies.
const AUDIT_LOG: &str = "audit-log";
const AUDIT_LOG_DAYS: u32 = 730;

/// A rule with the days in force.
#[derive(Debug, Serialize)]
pub struct Rule {
    pub plugin: String,
    pub rule: String,
    pub description: String,
    pub days: u32,
    /// The manifest's default, when the site owner changed it.
    pub default_days: u32,
}

/// What applying one rule did (or, on a dry run, would do).
#[derive(Debug, Serialize)]
pub struct Applied {
    pub plugin: String,
    pub rule: String,
    pub days: u32,
    pub cutoff_ms: i64,
    pub items_removed: u64,
    pub messages: Vec<String>,
}

impl Site {
    /// Every enabled plugin's retention rules with the days in force.
    pub fn retention_rules(&self) -> Result<Vec<Rule>, Error> {
        let mut rules = vec![Rule {
            plugin: HOST.into(),
            rule: EXPORT_ARCHIVES.into(),
            description: "Delete export archives made for requests this long after they were done"
                .into(),
            days: self
                .override_days(HOST, EXPORT_ARCHIVES)?
                .unwrap_or(EXPORT_ARCHIVE_DAYS),
            default_days: EXPORT_ARCHIVE_DAYS,
        }];
        rules.push(Rule {
            plugin: HOST.into(),
            rule: AUDIT_LOG.into(),
            description:
                "Prune audit log entries older than this (a checkpoint keeps the chain verifiable)"
                    .into(),
            days: self
                .override_days(HOST, AUDIT_LOG)?
                .unwrap_or(AUDIT_LOG_DAYS),
            default_days: AUDIT_LOG_DAYS,
        });
        for record in records::enabled(self.db())? {
            for rule in record
                .manifest
                .processing
                .iter()
                .flat_map(|p| &p.retention_rules)
            {
                let days = self.override_days(&record.id, &rule.name)?;
                rules.push(Rule {
                    plugin: record.id.clone(),
                    rule: rule.name.clone(),
                    description: rule.description.clone(),
                    days: days.unwrap_or(rule.days),
                    default_days: rule.days,
                });
            }
        }
        Ok(rules)
    }

    fn override_days(&self, plugin: &str, rule: &str) -> Result<Option<u32>, Error> {
        self.db()
            .query_row(
                "SELECT days FROM wasmdesk__retention WHERE plugin = ?1 AND rule = ?2",
                params![plugin, rule],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| Error::Database(e.into()))
    }

    /// Delete export archives of requests done before `cutoff_ms`; the
    /// requests keep only the keyed hash of the address.
    fn expire_exports(&mut self, cutoff_ms: i64, dry_run: bool) -> Result<Applied, Error> {
        let expired: Vec<(i64, Option<String>)> = {
            let mut stmt = self
                .db()
                .prepare(
                    "SELECT id, archive FROM wasmdesk__requests WHERE kind = 'export' AND status = 'done'
                     AND completed_at <= ?1 AND (archive IS NOT NULL OR email IS NOT NULL)",
                )
                .map_err(|e| Error::Database(e.into()))?;
            let rows = stmt
                .query_map([cutoff_ms], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| Error::Database(e.into()))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| Error::Database(e.into()))?
        };
        if !dry_run {
            for (id, archive) in &expired {
                if let Some(path) = archive {
                    // Older rows may hold a path relative to the site.
                    match std::fs::remove_file(self.paths().root.join(path)) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(Error::io(
                                format!("cannot delete the export archive {path}"),
                                e,
                            ));
                        }
                    }
                }
                self.db()
                    .execute("UPDATE wasmdesk__requests SET archive = NULL, email = NULL, name = NULL, report = json_object('archive', 'deleted on expiry') WHERE id = ?1", [id])
                    .map_err(|e| Error::Database(e.into()))?;
            }
        }
        let days = self
            .override_days(HOST, EXPORT_ARCHIVES)?
            .unwrap_or(EXPORT_ARCHIVE_DAYS);
        Ok(Applied {
            plugin: HOST.into(),
            rule: EXPORT_ARCHIVES.into(),
            days,
            cutoff_ms,
            items_removed: expired.len() as u64,
            messages: vec![],
        })
    }

    /// Override the days of one rule (`None` goes back to the manifest's).
    pub fn set_retention(
        &mut self,
        plugin: &str,
        rule: &str,
        days: Option<u32>,
    ) -> Result<Rule, Error> {
        let exists = self
            .retention_rules()?
            .into_iter()
            .any(|r| r.plugin == plugin && r.rule == rule);
        if !exists {
            let known: Vec<String> = self
                .retention_rules()?
                .iter()
                .map(|r| format!("{} {}", r.plugin, r.rule))
                .collect();
            return Err(Error::BadRequest(format!(
                "no retention rule {rule:?} of an enabled plugin {plugin:?}; the rules are: {}",
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            )));
        }
        let result = match days {
            Some(days) => self.db().execute(
                "INSERT INTO wasmdesk__retention (plugin, rule, days) VALUES (?1, ?2, ?3)
                 ON CONFLICT (plugin, rule) DO UPDATE SET days = excluded.days",
                params![plugin, rule, days],
            ),
            None => self.db().execute(
                "DELETE FROM wasmdesk__retention WHERE plugin = ?1 AND rule = ?2",
                params![plugin, rule],
            ),
        };
        result.map_err(|e| Error::Database(e.into()))?;
        let rule = self
            .retention_rules()?
            .into_iter()
            .find(|r| r.plugin == plugin && r.rule == rule)
            .expect("the rule exists, checked above");
        let detail = serde_json::json!({"rule": rule.rule, "days": rule.days});
        self.audit(
            self.act(crate::audit::action::RETENTION_SET, detail)
                .plugin(&rule.plugin),
        )?;
        Ok(rule)
    }

    /// Prune the audit log (the host's `audit-log` rule).
    fn prune_audit(
        &mut self,
        rule: &Rule,
        cutoff_ms: i64,
        dry_run: bool,
    ) -> Result<Applied, Error> {
        let actor = self.actor().clone();
        let (pruned, head) = crate::audit::chain::prune(self.db(), &actor, cutoff_ms, dry_run)
            .map_err(|e| Error::Database(e.into()))?;
        if let Some(head) = head {
            self.note_head(head);
        }
        let messages = match pruned.through {
            Some(through) => vec![format!(
                "audit entries up to {through} {}; a checkpoint entry commits to them",
                if dry_run { "would be pruned" } else { "pruned" }
            )],
            None => vec![],
        };
        Ok(Applied {
            plugin: HOST.into(),
            rule: rule.rule.clone(),
            days: rule.days,
            cutoff_ms,
            items_removed: pruned.entries,
            messages,
        })
    }

    /// Apply every rule; idempotent. A dry run reports and changes nothing.
    pub fn run_retention(&mut self, dry_run: bool) -> Result<Vec<Applied>, Error> {
        let mut applied = Vec::new();
        let now = crate::now_ms();
        for rule in self.retention_rules()? {
            let cutoff_ms = now - i64::from(rule.days) * MS_PER_DAY;
            if rule.plugin == HOST {
                let done = if rule.rule == AUDIT_LOG {
                    self.prune_audit(&rule, cutoff_ms, dry_run)?
                } else {
                    self.expire_exports(cutoff_ms, dry_run)?
                };
                applied.push(done);
                continue;
            }
            let (_, plugin) = self.ready(&rule.plugin)?;
            if plugin.exports.privacy.is_none() {
                continue;
            }
            let options = if dry_run {
                CallOptions::READ_ONLY
            } else {
                CallOptions::WRITE
            };
            let name = rule.rule.clone();
            let (report, _) =
                self.run_with_db(&rule.plugin, &plugin, "retention", options, |guest| {
                    guest.apply_retention(&name, cutoff_ms, dry_run)
                })?;
            applied.push(Applied {
                plugin: rule.plugin,
                rule: rule.rule,
                days: rule.days,
                cutoff_ms,
                items_removed: report.items_removed,
                messages: report.messages,
            });
        }
        let detail = serde_json::json!({
            "dry_run": dry_run,
            "applied": applied.iter().map(|a| serde_json::json!({
                "plugin": a.plugin, "rule": a.rule, "days": a.days, "items_removed": a.items_removed,
            })).collect::<Vec<_>>(),
        });
        self.audit(self.act(crate::audit::action::RETENTION_RUN, detail))?;
        Ok(applied)
    }
}
