//! The `tickets` plugin: the helpdesk's core. Customers identified by
//! e-mail, tickets, and their message threads, in the `tickets__` namespace.

mod attachments;
mod commands;
mod db;
mod plugin_manifest;
mod privacy;
mod schema;
mod settings;

use wasmdesk_plugin::manifest::PluginManifest;
use wasmdesk_plugin::privacy::{ErasePage, ExportPage, RetentionReport, Subject};
use wasmdesk_plugin::{CommandError, Plugin, args};

struct Tickets;

impl Plugin for Tickets {
    fn manifest() -> PluginManifest {
        plugin_manifest::manifest()
    }

    fn setup(previous: Option<&str>) -> Result<(), String> {
        schema::setup(previous)
    }

    fn run(name: &str, args: &str) -> Result<String, CommandError> {
        let mut args = args::json(args)?;
        let result = match name {
            "create" => commands::create(&mut args)?,
            "get" => commands::get(&args)?,
            "list" => commands::list(&args)?,
            "reply" => commands::reply(&mut args)?,
            "note" => commands::note(&args)?,
            "assign" => commands::assign(&args)?,
            "tag" => commands::tag(&args)?,
            "set-status" => commands::set_status(&args)?,
            "delete" => commands::delete(&args)?,
            "restore" => commands::restore(&args)?,
            "purge-trash" => commands::purge_trash(&args)?,
            "attachment" => attachments::get(commands::id_arg(&args)?)?,
            "settings" => settings::command(&args)?,
            other => {
                return Err(CommandError::bad_request(format!(
                    "tickets has no command {other:?}"
                )));
            }
        };
        Ok(result.to_string())
    }

    fn export_data(subject: Subject, cursor: Option<String>) -> Result<ExportPage, String> {
        privacy::export(subject, cursor)
    }

    fn erase_data(
        subject: Subject,
        cursor: Option<String>,
        dry_run: bool,
    ) -> Result<ErasePage, String> {
        privacy::erase(subject, cursor, dry_run)
    }

    fn apply_retention(
        rule: &str,
        cutoff_ms: i64,
        dry_run: bool,
    ) -> Result<RetentionReport, String> {
        privacy::retention(rule, cutoff_ms, dry_run)
    }
}

wasmdesk_plugin::export!(Tickets, [lifecycle, commands, privacy]);
