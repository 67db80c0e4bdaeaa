//! Retention (GDPR Art. 5(1)(e)): each plugin's manifest declares rules
//! (data older than N days is deleted or anonymised); the site owner may
//! change N; `wasmdesk retention run` applies them, meant for cron.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::error::Error;
use crate::registry::records;
use crate::runtime::FailureKind;
use crate::site::{CallOptions, Site};

const MS_PER_DAY: i64 = 24 * 60 * 60 * 1000;

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
        let mut rules = Vec::new();
        for record in records::enabled(self.db())? {
            for rule in record
                .manifest
                .processing
                .iter()
                .flat_map(|p| &p.retention_rules)
            {
                let days: Option<u32> = self
                    .db()
                    .query_row(
                        "SELECT days FROM wasmdesk__retention WHERE plugin = ?1 AND rule = ?2",
                        params![record.id, rule.name],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(|e| Error::Store(e.into()))?;
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
        result.map_err(|e| Error::Store(e.into()))?;
        let rule = self
            .retention_rules()?
            .into_iter()
            .find(|r| r.plugin == plugin && r.rule == rule);
        Ok(rule.expect("the rule exists, checked above"))
    }

    /// Apply every rule; idempotent. A dry run reports and changes nothing.
    pub fn run_retention(&mut self, dry_run: bool) -> Result<Vec<Applied>, Error> {
        let mut applied = Vec::new();
        let now = crate::now_ms();
        for rule in self.retention_rules()? {
            let (_, plugin) = self.ready(&rule.plugin)?;
            let Some(privacy) = plugin.exports.privacy.as_ref() else {
                continue;
            };
            let cutoff_ms = now - i64::from(rule.days) * MS_PER_DAY;
            let options = if dry_run {
                CallOptions::READ_ONLY
            } else {
                CallOptions::ERASE
            };
            let name = rule.rule.clone();
            let (report, _) = self.run_with_db(
                &rule.plugin,
                &plugin,
                "retention",
                options,
                |store, instance| {
                    let result = privacy.load(&mut *store, instance)?.call_apply_retention(
                        &mut *store,
                        &name,
                        cutoff_ms,
                        dry_run,
                    )?;
                    Ok(result.map_err(|message| (FailureKind::Fault, message)))
                },
            )?;
            applied.push(Applied {
                plugin: rule.plugin,
                rule: rule.rule,
                days: rule.days,
                cutoff_ms,
                items_removed: report.items_removed,
                messages: report.messages,
            });
        }
        Ok(applied)
    }
}
