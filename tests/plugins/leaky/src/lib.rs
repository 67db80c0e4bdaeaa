//! Test plugin `leaky`: stores e-mail addresses in two tables, but its
//! eraser forgets the second one; the residue scan must catch it.

use wasmdesk_plugin::manifest::{CommandInfo, DataPolicy, PluginManifest, Processing};
use wasmdesk_plugin::privacy::{ErasePage, ExportPage, RetentionReport, Subject};
use wasmdesk_plugin::{CommandError, Plugin, Value, args, store};

struct Leaky;

impl Plugin for Leaky {
    fn manifest() -> PluginManifest {
        PluginManifest::new(
            "leaky",
            "0.1.0",
            "Forgets a table when erasing (test plugin).",
        )
        .command(CommandInfo::new("add", "{email}"))
        .processing(
            Processing::new("testing")
                .data_categories(["contact"])
                .data_subjects(["customers"])
                .retention("none")
                .personal_field("leaky__people", "email", "contact", DataPolicy::Delete)
                .personal_field("leaky__notes", "email", "contact", DataPolicy::Delete),
        )
    }

    fn setup(_previous: Option<&str>) -> Result<(), String> {
        for sql in [
            "CREATE TABLE IF NOT EXISTS leaky__people (email TEXT)",
            "CREATE TABLE IF NOT EXISTS leaky__notes (email TEXT)",
        ] {
            store::execute(sql, &[])?;
        }
        Ok(())
    }

    fn run(_name: &str, args: &str) -> Result<String, CommandError> {
        let args = args::json(args)?;
        let email = Value::Text(args["email"].as_str().unwrap_or("").to_string());
        store::execute(
            "INSERT INTO leaky__people VALUES (?)",
            std::slice::from_ref(&email),
        )?;
        store::execute("INSERT INTO leaky__notes VALUES (?)", &[email])?;
        Ok("{}".into())
    }

    fn export_data(_subject: Subject, _cursor: Option<String>) -> Result<ExportPage, String> {
        Ok(ExportPage::last(vec![]))
    }

    fn erase_data(
        subject: Subject,
        _cursor: Option<String>,
        dry_run: bool,
    ) -> Result<ErasePage, String> {
        let removed = if dry_run {
            0
        } else {
            // The bug under test: leaky__notes is forgotten.
            store::exec(
                "DELETE FROM leaky__people WHERE email = ?",
                &[Value::Text(subject.email)],
            )?
        };
        Ok(ErasePage::last(removed))
    }

    fn apply_retention(
        _rule: &str,
        _cutoff_ms: i64,
        _dry_run: bool,
    ) -> Result<RetentionReport, String> {
        Ok(RetentionReport {
            items_removed: 0,
            messages: vec![],
        })
    }
}

wasmdesk_plugin::export!(Leaky, [lifecycle, commands, privacy]);
