//! Test plugin `fragile`: erases one row per page and traps when a set
//! number of rows remain, so an erasure can be interrupted halfway and then
//! run again.

use wasmdesk_plugin::manifest::{CommandInfo, DataPolicy, PluginManifest, Processing};
use wasmdesk_plugin::privacy::{ErasePage, ExportPage, RetentionReport, Subject};
use wasmdesk_plugin::{CommandError, Plugin, Value, args, store};

struct Fragile;

fn count(sql: &str, params: &[Value]) -> i64 {
    store::execute(sql, params)
        .ok()
        .and_then(|r| r.scalar().and_then(Value::as_i64))
        .unwrap_or(0)
}

impl Plugin for Fragile {
    fn manifest() -> PluginManifest {
        PluginManifest::new(
            "fragile",
            "0.1.0",
            "Traps halfway through an erasure (test plugin).",
        )
        .command(CommandInfo::new("seed", "{email, rows, trap_when_left}"))
        .processing(
            Processing::new("testing")
                .data_categories(["contact"])
                .data_subjects(["customers"])
                .retention("none")
                .personal_field("fragile__rows", "email", "contact", DataPolicy::Delete),
        )
    }

    fn setup(_previous: Option<&str>) -> Result<(), String> {
        for sql in [
            "CREATE TABLE IF NOT EXISTS fragile__rows (id INTEGER PRIMARY KEY, email TEXT)",
            "CREATE TABLE IF NOT EXISTS fragile__config (trap_when_left INTEGER)",
        ] {
            store::execute(sql, &[])?;
        }
        Ok(())
    }

    fn run(_name: &str, args: &str) -> Result<String, CommandError> {
        let args = args::json(args)?;
        let email = Value::Text(args["email"].as_str().unwrap_or("").into());
        for _ in 0..args["rows"].as_i64().unwrap_or(0) {
            store::execute(
                "INSERT INTO fragile__rows (email) VALUES (?)",
                std::slice::from_ref(&email),
            )?;
        }
        store::execute("DELETE FROM fragile__config", &[])?;
        if let Some(n) = args["trap_when_left"].as_i64() {
            store::execute(
                "INSERT INTO fragile__config VALUES (?)",
                &[Value::Integer(n)],
            )?;
        }
        Ok("{}".into())
    }

    fn export_data(_subject: Subject, _cursor: Option<String>) -> Result<ExportPage, String> {
        Ok(ExportPage::last(vec![]))
    }

    fn erase_data(
        subject: Subject,
        _cursor: Option<String>,
        _dry_run: bool,
    ) -> Result<ErasePage, String> {
        let email = Value::Text(subject.email);
        let left = count(
            "SELECT count(*) FROM fragile__rows WHERE email = ?",
            std::slice::from_ref(&email),
        );
        let trap_at = count(
            "SELECT coalesce(max(trap_when_left), -1) FROM fragile__config",
            &[],
        );
        let removed = store::exec(
            "DELETE FROM fragile__rows WHERE id = (SELECT min(id) FROM fragile__rows WHERE email = ?)",
            &[email],
        )?;
        if left == trap_at {
            panic!("fragile: trapping with {left} rows left, as configured");
        }
        let next = (left > 1).then(|| "more".to_string());
        Ok(ErasePage {
            next,
            ..ErasePage::last(removed)
        })
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

wasmdesk_plugin::export!(Fragile, [lifecycle, commands, privacy]);
