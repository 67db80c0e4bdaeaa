//! Test plugin `fragile`: erases one row per page and traps when a set
//! number of rows remain, so an erasure can be interrupted halfway and then
//! run again.

wit_bindgen::generate!({
    inline: r#"
        package test:fragile;
        world fragile {
            include wasmdesk:plugin/base@1.1.0;
            export wasmdesk:plugin/lifecycle@1.1.0;
            export wasmdesk:plugin/commands@1.1.0;
            export wasmdesk:plugin/privacy@1.1.0;
        }
    "#,
    path: "../../../wit",
    generate_all,
});

use exports::wasmdesk::plugin::commands::{self, CommandError};
use exports::wasmdesk::plugin::lifecycle;
use exports::wasmdesk::plugin::manifest::{
    self, CommandInfo, DataPolicy, PersonalField, Processing,
};
use exports::wasmdesk::plugin::privacy::{self, ErasePage, ExportPage, RetentionReport, Subject};
use wasmdesk::plugin::store;
use wasmdesk::plugin::types::Value;

struct Fragile;

fn count(sql: &str, params: &[Value]) -> i64 {
    match store::execute(sql, params)
        .ok()
        .and_then(|r| r.rows.into_iter().next())
        .map(|r| r[0].clone())
    {
        Some(Value::Integer(n)) => n,
        _ => 0,
    }
}

impl manifest::Guest for Fragile {
    fn get() -> manifest::PluginManifest {
        manifest::PluginManifest {
            id: "fragile".into(),
            version: "0.1.0".into(),
            description: "Traps halfway through an erasure (test plugin).".into(),
            capabilities: vec![],
            commands: vec![CommandInfo {
                name: "seed".into(),
                description: "{email, rows, trap_when_left}".into(),
                argument_filters: vec![],
                result_filter: None,
            }],
            actions: vec![],
            filters: vec![],
            processing: Some(Processing {
                purpose: "testing".into(),
                data_categories: vec!["contact".into()],
                data_subjects: vec!["customers".into()],
                retention: "none".into(),
                personal_data: vec![PersonalField {
                    table: "fragile__rows".into(),
                    column: "email".into(),
                    category: "contact".into(),
                    policy: DataPolicy::Delete,
                }],
                retention_rules: vec![],
            }),
        }
    }
}

impl lifecycle::Guest for Fragile {
    fn setup(_previous: Option<String>) -> Result<(), String> {
        for sql in [
            "CREATE TABLE IF NOT EXISTS fragile__rows (id INTEGER PRIMARY KEY, email TEXT)",
            "CREATE TABLE IF NOT EXISTS fragile__config (trap_when_left INTEGER)",
        ] {
            store::execute(sql, &[]).map_err(|e| format!("{e:?}"))?;
        }
        Ok(())
    }
}

impl commands::Guest for Fragile {
    fn run(_name: String, args: String) -> Result<String, CommandError> {
        let args: serde_json::Value =
            serde_json::from_str(&args).map_err(|e| CommandError::BadRequest(e.to_string()))?;
        let email = Value::Text(args["email"].as_str().unwrap_or("").into());
        for _ in 0..args["rows"].as_i64().unwrap_or(0) {
            store::execute(
                "INSERT INTO fragile__rows (email) VALUES (?)",
                &[email.clone()],
            )
            .map_err(CommandError::Store)?;
        }
        store::execute("DELETE FROM fragile__config", &[]).map_err(CommandError::Store)?;
        if let Some(n) = args["trap_when_left"].as_i64() {
            store::execute(
                "INSERT INTO fragile__config VALUES (?)",
                &[Value::Integer(n)],
            )
            .map_err(CommandError::Store)?;
        }
        Ok("{}".into())
    }
}

impl privacy::Guest for Fragile {
    fn export_data(_subject: Subject, _cursor: Option<String>) -> Result<ExportPage, String> {
        Ok(ExportPage {
            items: vec![],
            next: None,
        })
    }

    fn erase_data(
        subject: Subject,
        _cursor: Option<String>,
        _dry_run: bool,
    ) -> Result<ErasePage, String> {
        let email = Value::Text(subject.email);
        let left = count(
            "SELECT count(*) FROM fragile__rows WHERE email = ?",
            &[email.clone()],
        );
        let trap_at = count(
            "SELECT coalesce(max(trap_when_left), -1) FROM fragile__config",
            &[],
        );
        let removed = store::execute(
            "DELETE FROM fragile__rows WHERE id = (SELECT min(id) FROM fragile__rows WHERE email = ?)",
            &[email],
        )
        .map_err(|e| format!("{e:?}"))?
        .rows_changed;
        if left == trap_at {
            panic!("fragile: trapping with {left} rows left, as configured");
        }
        let next = (left > 1).then(|| "more".to_string());
        Ok(ErasePage {
            items_removed: removed,
            items_retained: vec![],
            messages: vec![],
            next,
        })
    }

    fn apply_retention(
        _rule: String,
        _cutoff_ms: i64,
        _dry_run: bool,
    ) -> Result<RetentionReport, String> {
        Ok(RetentionReport {
            items_removed: 0,
            messages: vec![],
        })
    }
}

export!(Fragile);
