//! The `tickets` plugin: the helpdesk's core. Customers identified by
//! e-mail, tickets, and their message threads, in the `tickets__` namespace.

wit_bindgen::generate!({
    inline: r#"
        package wasmdesk-plugins:tickets;
        world tickets {
            include wasmdesk:plugin/base@1.1.0;
            export wasmdesk:plugin/lifecycle@1.1.0;
            export wasmdesk:plugin/commands@1.1.0;
            export wasmdesk:plugin/privacy@1.1.0;
        }
    "#,
    path: "../../wit",
    generate_all,
});

mod attachments;
mod commands;
mod db;
mod plugin_manifest;
mod privacy;
mod schema;
mod settings;

use exports::wasmdesk::plugin::commands::{CommandError, Guest as Commands};
use exports::wasmdesk::plugin::lifecycle::Guest as Lifecycle;
use exports::wasmdesk::plugin::manifest::{Guest as ManifestExport, PluginManifest};

struct Tickets;

impl ManifestExport for Tickets {
    fn get() -> PluginManifest {
        plugin_manifest::manifest()
    }
}

impl Lifecycle for Tickets {
    fn setup(previous: Option<String>) -> Result<(), String> {
        schema::setup(previous.as_deref())
    }
}

impl Commands for Tickets {
    fn run(name: String, args: String) -> Result<String, CommandError> {
        let args: serde_json::Value = serde_json::from_str(&args)
            .map_err(|e| CommandError::BadRequest(format!("arguments are not JSON: {e}")))?;
        let result = match name.as_str() {
            "create" => commands::create(&args)?,
            "get" => commands::get(&args)?,
            "list" => commands::list(&args)?,
            "reply" => commands::reply(&args)?,
            "note" => commands::note(&args)?,
            "assign" => commands::assign(&args)?,
            "tag" => commands::tag(&args)?,
            "set-status" => commands::set_status(&args)?,
            "delete" => commands::delete(&args)?,
            "restore" => commands::restore(&args)?,
            "purge-trash" => commands::purge_trash(&args)?,
            "attachment" => attachments::get(&args)?,
            "settings" => settings::command(&args)?,
            other => {
                return Err(CommandError::BadRequest(format!(
                    "tickets has no command {other:?}"
                )));
            }
        };
        Ok(result.to_string())
    }
}

impl exports::wasmdesk::plugin::privacy::Guest for Tickets {
    fn export_data(
        subject: exports::wasmdesk::plugin::privacy::Subject,
        cursor: Option<String>,
    ) -> Result<exports::wasmdesk::plugin::privacy::ExportPage, String> {
        privacy::export(subject, cursor)
    }

    fn erase_data(
        subject: exports::wasmdesk::plugin::privacy::Subject,
        cursor: Option<String>,
        dry_run: bool,
    ) -> Result<exports::wasmdesk::plugin::privacy::ErasePage, String> {
        privacy::erase(subject, cursor, dry_run)
    }

    fn apply_retention(
        rule: String,
        cutoff_ms: i64,
        dry_run: bool,
    ) -> Result<exports::wasmdesk::plugin::privacy::RetentionReport, String> {
        privacy::retention(&rule, cutoff_ms, dry_run)
    }
}

export!(Tickets);
