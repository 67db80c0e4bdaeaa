//! `wasmdesk retention ...`: list the plugins' retention rules, change how
//! long one keeps data, and apply them all (from cron).

use serde_json::json;

use super::args::RetentionCommand;
use super::output;
use crate::error::Error;
use crate::site::Site;

/// Run a retention subcommand on the open site.
pub fn run(site: &mut Site, command: RetentionCommand, json: bool) -> Result<(), Error> {
    match command {
        RetentionCommand::List => {
            let rules = site.retention_rules()?;
            output::print(json, json!({"rules": rules}), || {
                output::retention_rules(&rules)
            });
        }
        RetentionCommand::Set {
            plugin,
            rule,
            days,
            default,
        } => {
            let rule = site.set_retention(&plugin, &rule, if default { None } else { days })?;
            output::print(json, json!(rule), || {
                output::retention_rules(std::slice::from_ref(&rule))
            });
        }
        RetentionCommand::Run { dry_run } => {
            let applied = site.run_retention(dry_run)?;
            output::print(
                json,
                json!({"dry_run": dry_run, "applied": applied}),
                || output::retention_run(&applied, dry_run),
            );
        }
    }
    Ok(())
}
