//! `wasmdesk privacy ...`: a data subject's GDPR requests, their export and
//! erasure, and the register of processing activities.

use std::path::Path;

use serde_json::json;

use super::args::{KindArg, PrivacyCommand, SubjectArgs};
use super::{Confirmation, confirm, output};
use crate::error::Error;
use crate::privacy::requests::RequestKind;
use crate::privacy::{Scope, Subject};
use crate::site::Site;

impl SubjectArgs {
    fn subject(&self) -> Result<Subject, Error> {
        let mut subject = Subject::new(&self.email, self.name.as_deref())?;
        for pair in &self.identifiers {
            let (kind, value) = pair.split_once('=').ok_or_else(|| {
                Error::BadRequest(format!(
                    "--identifier {pair:?} is not KIND=VALUE (e.g. phone=+44 20 7946 0000)"
                ))
            })?;
            subject.add_identifier(kind, value)?;
        }
        Ok(subject)
    }
}

/// Run a privacy subcommand on the open site.
pub fn run(site: &mut Site, command: PrivacyCommand, json: bool) -> Result<(), Error> {
    match command {
        PrivacyCommand::Export { subject, out } => export(site, &subject.subject()?, &out, json),
        PrivacyCommand::Request { kind, subject } => request(site, kind, &subject, json),
        PrivacyCommand::Confirm { token } => {
            let request = site.confirm_request(&token)?;
            output::print(json, json!(request), || output::request_line(&request));
            Ok(())
        }
        PrivacyCommand::Requests { overdue } => requests(site, overdue, json),
        PrivacyCommand::Run { id, out } => {
            let request = site.run_request(id, out.as_deref())?;
            output::print(json, json!(request), || output::request_line(&request));
            Ok(())
        }
        PrivacyCommand::Show { id } => {
            let request = site.request(id)?;
            let pretty = serde_json::to_string_pretty(&request).expect("a request serializes");
            output::print(json, json!(request), || pretty);
            Ok(())
        }
        PrivacyCommand::Register { html } => {
            let register = site.register()?;
            output::print(json, json!(register), || {
                crate::privacy::register::render(&register, html)
            });
            Ok(())
        }
        PrivacyCommand::Erase {
            subject,
            dry_run,
            full_scan,
            quick,
            yes,
        } => {
            // Everything by default; a preview searches no rows unless asked.
            let scope = if quick || (dry_run && !full_scan) {
                Scope::Subject
            } else {
                Scope::Full
            };
            erase(site, &subject, dry_run, scope, yes, json)
        }
    }
}

/// `privacy export`: everything about the person into a zip archive, with
/// a spinner on a terminal.
fn export(site: &mut Site, subject: &Subject, out: &Path, json: bool) -> Result<(), Error> {
    // A spinner on a terminal; nothing when stderr is a pipe or file.
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let report = site.export_subject_with_progress(subject, out, &mut |plugin, items| {
        bar.set_message(format!(
            "exporting {}: {items} item(s) from {plugin}",
            subject.email
        ));
    });
    bar.finish_and_clear();
    let report = report?;
    output::print(json, json!(report), || {
        format!(
            "exported {} item(s) and {} file(s) about {} from {} to {}",
            report.items,
            report.files,
            report.subject,
            if report.plugins.is_empty() {
                "no plugin".to_string()
            } else {
                report.plugins.join(", ")
            },
            report.out
        )
    });
    Ok(())
}

/// `privacy request`: record it; print the token the customer confirms with.
fn request(site: &mut Site, kind: KindArg, subject: &SubjectArgs, json: bool) -> Result<(), Error> {
    let subject = subject.subject()?;
    let kind = match kind {
        KindArg::Export => RequestKind::Export,
        KindArg::Erase => RequestKind::Erase,
    };
    let created = site.create_request(kind, &subject)?;
    output::print(json, json!(created), || {
        format!(
            "request {} ({}) recorded; due by {} ms\nsend the customer this confirmation token: {}\n\
             then: wasmdesk privacy confirm TOKEN; wasmdesk privacy run {}",
            created.request.id,
            created.request.kind,
            created.request.deadline_at_ms,
            created.token,
            created.request.id
        )
    });
    Ok(())
}

fn requests(site: &mut Site, overdue: bool, json: bool) -> Result<(), Error> {
    let requests = site.requests(overdue)?;
    output::print(json, json!({"requests": requests}), || {
        if requests.is_empty() {
            "no requests".to_string()
        } else {
            requests
                .iter()
                .map(output::request_line)
                .collect::<Vec<_>>()
                .join("\n")
        }
    });
    Ok(())
}

/// `privacy erase`: ask (unless a dry run or `--yes`), erase, report the
/// residue search.
fn erase(
    site: &mut Site,
    subject: &SubjectArgs,
    dry_run: bool,
    scope: Scope,
    yes: bool,
    json: bool,
) -> Result<(), Error> {
    let subject = subject.subject()?;
    if !dry_run && !yes {
        let email = &subject.email;
        confirm(
            json,
            Confirmation {
                details: None,
                question: format!(
                    "Erase every trace of {email} from this site? This cannot be undone."
                ),
                unattended: format!(
                    "erasing {email} cannot be undone: run it in a terminal, or pass --yes (preview with --dry-run)"
                ),
                refused: format!("not erased: you did not confirm erasing {email}"),
            },
        )?;
    }
    let report = site.erase_subject(&subject, dry_run, scope)?;
    output::print(json, json!(report), || output::erasure_report(&report));
    Ok(())
}
