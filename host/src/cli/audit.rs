//! `wasmdesk audit ...` and `wasmdesk breach ...`: investigating who
//! touched whose data, and the breach register.

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::json;

use super::output;
use crate::audit::query::{self, Filter};
use crate::audit::time;
use crate::error::Error;
use crate::site::Site;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Show audit entries, oldest first (the newest --limit of those that match).
    Log {
        /// From this time: 2026-11-23T08:00:00Z, 2026-11-23, or an age: 90m, 24h, 7d.
        #[arg(long)]
        since: Option<String>,
        /// Before this time (same forms as --since).
        #[arg(long)]
        until: Option<String>,
        /// Only calls of this plugin (and acts about it).
        #[arg(long)]
        plugin: Option<String>,
        /// Only entries that touched this person's data (matched by keyed hash).
        #[arg(long, value_name = "EMAIL")]
        subject: Option<String>,
        /// Only this action: plugin.call, plugin.enable, grant.add, export.download, ...
        #[arg(long)]
        action: Option<String>,
        /// Only this actor: a bridge caller id (wp:user:7) or cli:USER.
        #[arg(long)]
        caller: Option<String>,
        /// Show at most this many (the newest); 0 shows all.
        #[arg(long, default_value_t = 200)]
        limit: u32,
    },
    /// Check the hash chain; names the first edited, deleted or reordered entry.
    Verify,
    /// Write the whole log to a zip for an auditor (with checksums and the hash recipe).
    Export {
        #[arg(long)]
        out: PathBuf,
    },
    /// Flag unusual access since --since: bulk reads, volume spikes, odd hours, bulk exports.
    Anomalies {
        /// The window to examine (default 24h); the 30 days before it are the baseline.
        #[arg(long, default_value = "24h")]
        since: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BreachCommand {
    /// Open a breach; the authority must be notified within 72 hours of detection.
    Record {
        #[arg(long)]
        summary: String,
        /// When it was detected (default: now).
        #[arg(long)]
        detected_at: Option<String>,
    },
    /// Every breach with its deadline and status, open ones first.
    List,
    /// Whose data a plugin or caller touched in a window: e-mails where they
    /// still exist, hashes where they were erased.
    Affected {
        id: i64,
        #[arg(long)]
        plugin: Option<String>,
        /// A bridge caller id (wp:user:7) or cli:USER.
        #[arg(long)]
        caller: Option<String>,
        #[arg(long)]
        since: String,
        #[arg(long)]
        until: Option<String>,
    },
    /// Record that the notification was sent (closes the breach).
    Close {
        id: i64,
        /// How and whom you notified, with references.
        #[arg(long)]
        note: String,
        /// When it was sent (default: now).
        #[arg(long)]
        notified_at: Option<String>,
    },
}

fn when(text: &str, flag: &str) -> Result<i64, Error> {
    time::parse(text, crate::now_ms()).map_err(|e| Error::BadRequest(format!("{flag}: {e}")))
}

pub fn run_audit(site: &mut Site, command: AuditCommand, json: bool) -> Result<(), Error> {
    match command {
        AuditCommand::Log {
            since,
            until,
            plugin,
            subject,
            action,
            caller,
            limit,
        } => {
            let filter = Filter {
                since_ms: since.map(|s| when(&s, "--since")).transpose()?,
                until_ms: until.map(|s| when(&s, "--until")).transpose()?,
                plugin,
                subject: None,
                action,
                actor: caller,
                limit: (limit > 0).then_some(limit),
            };
            let entries = site.audit_log(&filter, subject.as_deref())?;
            output::print(json, json!({"entries": entries}), || {
                query::render(&entries)
            });
        }
        AuditCommand::Verify => {
            let report = site.audit_verify()?;
            output::print(json, json!(report), || verification_text(&report));
            if !report.ok {
                return Err(Error::Tampered(match &report.broken {
                    Some(b) => format!("the audit log is broken at entry {}: {}", b.seq, b.problem),
                    None => report.warnings.join("; "),
                }));
            }
        }
        AuditCommand::Export { out } => {
            let report = site.audit_export(&out)?;
            output::print(json, json!(report), || {
                format!(
                    "{} entries written to {}{}\nsha256 of the archive: {}",
                    report.entries,
                    report.out,
                    if report.verified {
                        " (the chain verified)"
                    } else {
                        " (WARNING: the chain did not verify; see verification.json)"
                    },
                    report.sha256
                )
            });
        }
        AuditCommand::Anomalies { since } => {
            let report = site.audit_anomalies(when(&since, "--since")?)?;
            output::print(json, json!(report), || {
                if report.findings.is_empty() {
                    return format!(
                        "no anomalies since {} UTC",
                        time::format_ms(report.since_ms)
                    );
                }
                report
                    .findings
                    .iter()
                    .map(|f| {
                        format!(
                            "{} by {}: {}\n{}",
                            f.anomaly.kind,
                            f.anomaly.who,
                            f.anomaly.message,
                            query::render(&f.entries)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n\n")
            });
        }
    }
    Ok(())
}

fn verification_text(report: &crate::audit::Verification) -> String {
    let mut lines = vec![match (&report.broken, &report.head) {
        (Some(b), _) => format!("BROKEN at entry {}: {}", b.seq, b.problem),
        (None, Some(head)) => format!(
            "ok: {} entries, {} to {}, chain intact; head {}",
            report.entries,
            report.first_seq.unwrap_or(1),
            head.seq,
            head.hash
        ),
        (None, None) => "ok: the audit log is empty".into(),
    }];
    if let Some(through) = report.pruned_through {
        lines.push(format!(
            "entries up to {through} were pruned; a checkpoint entry accounts for them"
        ));
    }
    for warning in &report.warnings {
        lines.push(format!("WARNING: {warning}"));
    }
    lines.join("\n")
}

pub fn run_breach(site: &mut Site, command: BreachCommand, json: bool) -> Result<(), Error> {
    match command {
        BreachCommand::Record {
            summary,
            detected_at,
        } => {
            let detected = match detected_at {
                Some(t) => when(&t, "--detected-at")?,
                None => crate::now_ms(),
            };
            let breach = site.breach_record(&summary, detected)?;
            output::print(json, json!(breach), || {
                format!(
                    "breach {} recorded; notify the supervisory authority by {} UTC (72 hours after detection)\n\
                     next: wasmdesk breach affected {} --plugin ID --since TIME",
                    breach.id,
                    time::format_ms(breach.deadline_at_ms),
                    breach.id
                )
            });
        }
        BreachCommand::List => {
            let breaches = site.breaches()?;
            output::print(json, json!({"breaches": breaches}), || {
                breach_table(&breaches)
            });
        }
        BreachCommand::Affected {
            id,
            plugin,
            caller,
            since,
            until,
        } => {
            let since = when(&since, "--since")?;
            let until = until.map(|u| when(&u, "--until")).transpose()?;
            let report =
                site.breach_affected(id, plugin.as_deref(), caller.as_deref(), since, until)?;
            output::print(json, json!(report), || {
                let mut out = format!(
                    "breach {}: {} subject(s) touched\n",
                    id,
                    report.subjects.len()
                );
                for s in &report.subjects {
                    out.push_str(&format!(
                        "{:<40}  {:<8}  {:>4} access(es)  {} .. {}  {}\n",
                        s.email.clone().unwrap_or_else(|| s.subject_hash.clone()),
                        s.status,
                        s.accesses,
                        time::format_ms(s.first_at_ms),
                        time::format_ms(s.last_at_ms),
                        s.tables.join(" ")
                    ));
                }
                out.pop();
                out
            });
        }
        BreachCommand::Close {
            id,
            note,
            notified_at,
        } => {
            let at = match notified_at {
                Some(t) => when(&t, "--notified-at")?,
                None => crate::now_ms(),
            };
            let breach = site.breach_close(id, at, &note)?;
            output::print(json, json!(breach), || {
                breach_table(std::slice::from_ref(&breach))
            });
        }
    }
    Ok(())
}

fn breach_table(breaches: &[crate::audit::breach::Breach]) -> String {
    if breaches.is_empty() {
        return "no breaches recorded".into();
    }
    let now = crate::now_ms();
    let mut out = format!(
        "{:>4}  {:<9}  {:<19}  {:<19}  {:<22}  {:>8}  summary\n",
        "id", "status", "detected (UTC)", "deadline (UTC)", "", "affected"
    );
    for b in breaches {
        let left = match b.notified_at_ms {
            Some(at) if at > b.deadline_at_ms => {
                format!("notified {}h late", (at - b.deadline_at_ms) / 3_600_000)
            }
            Some(_) => "notified in time".into(),
            None if now > b.deadline_at_ms => {
                format!("OVERDUE by {}h", (now - b.deadline_at_ms) / 3_600_000)
            }
            None => format!("{}h left", (b.deadline_at_ms - now) / 3_600_000),
        };
        out.push_str(&format!(
            "{:>4}  {:<9}  {:<19}  {:<19}  {:<22}  {:>8}  {}\n",
            b.id,
            b.status,
            time::format_ms(b.detected_at_ms),
            time::format_ms(b.deadline_at_ms),
            left,
            b.affected
                .map(|a| a.to_string())
                .unwrap_or_else(|| "-".into()),
            b.summary
        ));
    }
    out.pop();
    out
}
