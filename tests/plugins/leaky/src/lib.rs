//! Test plugin `leaky`: stores e-mail addresses in two tables, but its
//! eraser forgets the second one; the residue scan must catch it.

wit_bindgen::generate!({
    inline: r#"
        package test:leaky;
        world leaky {
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

struct Leaky;

impl manifest::Guest for Leaky {
    fn get() -> manifest::PluginManifest {
        let field = |table: &str| PersonalField {
            table: table.into(),
            column: "email".into(),
            category: "contact".into(),
            policy: DataPolicy::Delete,
        };
        manifest::PluginManifest {
            id: "leaky".into(),
            version: "0.1.0".into(),
            description: "Forgets a table when erasing (test plugin).".into(),
            capabilities: vec![],
            commands: vec![CommandInfo {
                name: "add".into(),
                description: "{email}".into(),
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
                personal_data: vec![field("leaky__people"), field("leaky__notes")],
                retention_rules: vec![],
            }),
        }
    }
}

impl lifecycle::Guest for Leaky {
    fn setup(_previous: Option<String>) -> Result<(), String> {
        for sql in [
            "CREATE TABLE IF NOT EXISTS leaky__people (email TEXT)",
            "CREATE TABLE IF NOT EXISTS leaky__notes (email TEXT)",
        ] {
            store::execute(sql, &[]).map_err(|e| format!("{e:?}"))?;
        }
        Ok(())
    }
}

impl commands::Guest for Leaky {
    fn run(_name: String, args: String) -> Result<String, CommandError> {
        let args: serde_json::Value =
            serde_json::from_str(&args).map_err(|e| CommandError::BadRequest(e.to_string()))?;
        let email = Value::Text(args["email"].as_str().unwrap_or("").to_string());
        store::execute("INSERT INTO leaky__people VALUES (?)", &[email.clone()])
            .map_err(CommandError::Store)?;
        store::execute("INSERT INTO leaky__notes VALUES (?)", &[email])
            .map_err(CommandError::Store)?;
        Ok("{}".into())
    }
}

impl privacy::Guest for Leaky {
    fn export_data(_subject: Subject, _cursor: Option<String>) -> Result<ExportPage, String> {
        Ok(ExportPage {
            items: vec![],
            next: None,
        })
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
            store::execute(
                "DELETE FROM leaky__people WHERE email = ?",
                &[Value::Text(subject.email)],
            )
            .map_err(|e| format!("{e:?}"))?
            .rows_changed
        };
        Ok(ErasePage {
            items_removed: removed,
            items_retained: vec![],
            messages: vec![],
            next: None,
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

export!(Leaky);
