//! What site owners ask of the audit log, on a [`Site`]: queries, verify,
//! export, anomalies, and the breach register.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Serialize;

use crate::audit::anomalies::{self, Anomaly, Thresholds};
use crate::audit::breach::{self, Affected, Breach};
use crate::audit::query::{self, Filter};
use crate::audit::{Entry, Verification, action, archive};
use crate::error::Error;
use crate::registry::records;
use crate::site::Site;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// How far back `audit anomalies` looks for each actor's baseline.
const BASELINE_DAYS: i64 = 30;

/// One anomaly with its evidence entries.
#[derive(Debug, Serialize)]
pub struct Finding {
    #[serde(flatten)]
    pub anomaly: Anomaly,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Serialize)]
pub struct AnomalyReport {
    pub since_ms: i64,
    pub baseline_from_ms: i64,
    pub thresholds: Thresholds,
    pub findings: Vec<Finding>,
}

/// What `breach affected` found.
#[derive(Debug, Serialize)]
pub struct AffectedReport {
    pub breach: Breach,
    pub scope: serde_json::Value,
    pub subjects: Vec<Affected>,
}

impl Site {
    /// Entries matching `filter`; `subject` is an e-mail address here.
    pub fn audit_log(
        &mut self,
        filter: &Filter,
        subject: Option<&str>,
    ) -> Result<Vec<Entry>, Error> {
        self.flush_audit()?;
        let mut filter = filter.clone();
        if let Some(email) = subject {
            filter.subject = Some(self.subject_hash(email)?);
        }
        query::entries(self.db(), &filter).map_err(Error::from)
    }

    pub fn audit_verify(&mut self) -> Result<Verification, Error> {
        self.flush_audit()?;
        crate::audit::verification::verify(self.db(), &self.paths().root).map_err(Error::from)
    }

    /// Write the log to a zip for an auditor; the export is itself logged.
    pub fn audit_export(&mut self, out: &Path) -> Result<archive::ExportReport, Error> {
        let verification = self.audit_verify()?;
        let report = archive::write(self.db(), &verification, out).map_err(Error::BadRequest)?;
        let detail = serde_json::json!({
            "out": crate::emails::scrub(&report.out),
            "entries": report.entries,
            "sha256": report.sha256,
            "verified": report.verified,
        });
        self.audit(self.act(action::AUDIT_EXPORT, detail))?;
        Ok(report)
    }

    /// Look for unusual access since `since_ms`, each actor judged against
    /// its own previous 30 days.
    pub fn audit_anomalies(&mut self, since_ms: i64) -> Result<AnomalyReport, Error> {
        self.flush_audit()?;
        let baseline_from_ms = since_ms - BASELINE_DAYS * DAY_MS;
        let filter = Filter {
            since_ms: Some(baseline_from_ms),
            ..Filter::default()
        };
        let entries = query::entries(self.db(), &filter)?;
        let thresholds = Thresholds::default();
        let found = anomalies::detect(&entries, since_ms, &thresholds);
        let by_seq: HashMap<i64, &Entry> = entries.iter().map(|e| (e.seq, e)).collect();
        let findings = found
            .into_iter()
            .map(|anomaly| {
                let entries = anomaly
                    .evidence
                    .iter()
                    .filter_map(|seq| by_seq.get(seq).map(|e| (*e).clone()))
                    .collect();
                Finding { anomaly, entries }
            })
            .collect();
        Ok(AnomalyReport {
            since_ms,
            baseline_from_ms,
            thresholds,
            findings,
        })
    }

    /// Open a breach: its notification deadline is 72 hours after detection.
    pub fn breach_record(&mut self, summary: &str, detected_at_ms: i64) -> Result<Breach, Error> {
        if summary.trim().is_empty() {
            return Err(Error::BadRequest(
                "a breach needs a --summary: what happened, as far as you know".into(),
            ));
        }
        if detected_at_ms > crate::now_ms() + 60_000 {
            return Err(Error::BadRequest(
                "--detected-at is in the future: give when the breach was detected".into(),
            ));
        }
        let actor = self.actor().clone();
        let id = self.audited_with(|tx| {
            let id = breach::record(tx, summary.trim(), detected_at_ms, actor.as_str())?;
            let detail = serde_json::json!({"breach": id, "detected_at_ms": detected_at_ms});
            Ok((
                id,
                crate::audit::Draft::act(&actor, action::BREACH_RECORD, detail),
            ))
        })?;
        self.breach(id)
    }

    pub fn breach(&self, id: i64) -> Result<Breach, Error> {
        breach::get(self.db(), id)?.ok_or_else(|| {
            Error::NotFound(format!(
                "no breach {id}: list them with: wasmdesk breach list"
            ))
        })
    }

    pub fn breaches(&self) -> Result<Vec<Breach>, Error> {
        breach::list(self.db()).map_err(Error::from)
    }

    /// Whose data the given plugin or caller touched in the window: e-mail
    /// addresses where the site still holds them, hashes where not.
    pub fn breach_affected(
        &mut self,
        id: i64,
        plugin: Option<&str>,
        caller: Option<&str>,
        since_ms: i64,
        until_ms: Option<i64>,
    ) -> Result<AffectedReport, Error> {
        self.breach(id)?;
        self.flush_audit()?;
        if plugin.is_none() && caller.is_none() {
            return Err(Error::BadRequest(
                "say whose access to investigate: --plugin ID, --caller CALLER, or both".into(),
            ));
        }
        if until_ms.is_some_and(|until| until <= since_ms) {
            return Err(Error::BadRequest(
                "--until is not after --since: the window would be empty".into(),
            ));
        }
        let filter = Filter {
            since_ms: Some(since_ms),
            until_ms,
            plugin: plugin.map(str::to_string),
            actor: caller.map(str::to_string),
            ..Filter::default()
        };
        let known = self.known_subjects()?;
        let erased = self.erased_subjects()?;
        let subjects = breach::affected(self.db(), &filter, &known, &erased)?;
        let scope = serde_json::json!({
            "plugin": plugin,
            "caller": caller,
            "since_ms": since_ms,
            "until_ms": until_ms,
        });
        let detail = serde_json::json!({"breach": id, "scope": scope, "affected": subjects.len()});
        let draft = self.act(action::BREACH_AFFECTED, detail);
        self.audited(draft, |tx| {
            Ok(breach::set_affected(tx, id, subjects.len(), &scope)?)
        })?;
        Ok(AffectedReport {
            breach: self.breach(id)?,
            scope,
            subjects,
        })
    }

    /// Record that the authority (and, where needed, the people) were notified.
    pub fn breach_close(
        &mut self,
        id: i64,
        notified_at_ms: i64,
        notification: &str,
    ) -> Result<Breach, Error> {
        let breach = self.breach(id)?;
        if breach.status == "notified" {
            return Err(Error::Conflict(format!(
                "breach {id} was already closed: notified at {}",
                breach
                    .notified_at_ms
                    .map(crate::audit::time::format_ms)
                    .unwrap_or_default()
            )));
        }
        if notification.trim().is_empty() {
            return Err(Error::BadRequest(
                "say how and whom you notified with --note (e.g. \"authority report 2026-114, customers e-mailed\")"
                    .into(),
            ));
        }
        let late = notified_at_ms > breach.deadline_at_ms;
        let detail =
            serde_json::json!({"breach": id, "notified_at_ms": notified_at_ms, "late": late});
        let draft = self.act(action::BREACH_CLOSE, detail);
        self.audited(draft, |tx| {
            Ok(breach::close(tx, id, notified_at_ms, notification.trim())?)
        })?;
        self.breach(id)
    }

    /// Keyed hash -> e-mail address, for every address the site still holds
    /// in a column a plugin declared as personal data (and in open requests).
    fn known_subjects(&self) -> Result<HashMap<String, String>, Error> {
        let mut emails = HashSet::new();
        let mut columns: Vec<(String, String)> =
            vec![("wasmdesk__requests".into(), "email".into())];
        for id in records::ids(self.db())? {
            if let Some(record) = records::get(self.db(), &id)? {
                for field in record
                    .manifest
                    .processing
                    .iter()
                    .flat_map(|p| &p.personal_data)
                {
                    columns.push((field.table.clone(), field.column.clone()));
                }
            }
        }
        for (table, column) in columns {
            let sql = format!(
                "SELECT \"{}\" FROM \"{}\" WHERE typeof(\"{}\") = 'text' AND instr(\"{}\", '@') > 0",
                column.replace('"', "\"\""),
                table.replace('"', "\"\""),
                column.replace('"', "\"\""),
                column.replace('"', "\"\""),
            );
            // A declared table that does not exist (yet) holds nobody.
            let Ok(mut stmt) = self.db().prepare(&sql) else {
                continue;
            };
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let text: String = row.get(0)?;
                crate::emails::collect(&text, &mut emails);
            }
        }
        emails
            .into_iter()
            .map(|email| Ok((self.subject_hash(&email)?, email)))
            .collect()
    }

    /// Hashes of subjects erased on request.
    fn erased_subjects(&self) -> Result<HashSet<String>, Error> {
        let mut stmt = self.db().prepare(
            "SELECT subject_hash FROM wasmdesk__requests WHERE kind = 'erase' AND status = 'done'",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<rusqlite::Result<HashSet<String>>>()
            .map_err(Error::from)
    }
}
