//! `wasmdesk backup` and `wasmdesk restore`: copy the site database out
//! while the site runs, and put a copy back (replaying erasures made since).

use std::path::Path;

use serde_json::json;

use super::{Confirmation, confirm, output};
use crate::error::Error;
use crate::site::Site;

pub fn backup(site: &mut Site, out: &Path, json: bool) -> Result<(), Error> {
    let report = site.backup(out)?;
    output::print(json, json!(report), || {
        format!("backup written to {} ({} bytes)", report.out, report.bytes)
    });
    Ok(())
}

/// Ask (unless `yes`), then replace the site database with `file`.
pub fn restore(site: &mut Site, file: &Path, yes: bool, json: bool) -> Result<(), Error> {
    if !yes {
        confirm(
            json,
            Confirmation {
                details: None,
                question: format!("Replace the site database with {}?", file.display()),
                unattended:
                    "restoring replaces the site database: run it in a terminal, or pass --yes"
                        .into(),
                refused: "not restored: you did not confirm".into(),
            },
        )?;
    }
    let report = site.restore(file)?;
    output::print(json, json!(report), || {
        format!(
            "restored {}; replayed {} erasure(s) made since the backup ({} subject(s) were not in it){}",
            report.from,
            report.replayed,
            report.not_present,
            if report.clean {
                ""
            } else {
                "; WARNING: residue remains, run wasmdesk privacy erase again"
            }
        )
    });
    Ok(())
}
