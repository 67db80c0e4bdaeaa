//! `wasmdesk audit ...` and `wasmdesk breach ...`: investigating who
//! touched whose data, and the breach register.

use serde_json::json;

use super::args::{AuditCommand, BreachCommand};
use super::output;
use crate::audit::query::{self, Filter};
use crate::audit::time;
use crate::error::Error;
use crate::site::Site;

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
            output::print(json, json!(report), || anomalies_text(&report));
        }
    }
    Ok(())
}

fn anomalies_text(report: &crate::investigate::AnomalyReport) -> String {
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
