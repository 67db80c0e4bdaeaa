//! Test plugin `elder`: built against the contract as released at 1.0.0
//! (its own frozen copy in `wit/`), before `clock.today` existed. The host,
//! at a newer minor, must still enable and run it.

wit_bindgen::generate!({
    inline: r#"
        package test:elder;
        world elder {
            include wasmdesk:plugin/base@1.0.0;
            export wasmdesk:plugin/lifecycle@1.0.0;
            export wasmdesk:plugin/commands@1.0.0;
        }
    "#,
    path: "wit",
    generate_all,
});

use exports::wasmdesk::plugin::commands::{self, CommandError};
use exports::wasmdesk::plugin::{lifecycle, manifest};
use serde_json::json;
use wasmdesk::plugin::types::Value;
use wasmdesk::plugin::{clock, store};

struct Elder;

impl manifest::Guest for Elder {
    fn get() -> manifest::PluginManifest {
        let command = |name: &str, description: &str| manifest::CommandInfo {
            name: name.into(),
            description: description.into(),
            argument_filters: vec![],
            result_filter: None,
        };
        manifest::PluginManifest {
            id: "elder".into(),
            version: "1.0.0".into(),
            description: "Built against contract 1.0.0 (test plugin).".into(),
            capabilities: vec![],
            commands: vec![
                command("remember", "Store {\"text\"} with the time"),
                command("recall", "Everything stored"),
            ],
            actions: vec![],
            filters: vec![],
            processing: None,
        }
    }
}

impl lifecycle::Guest for Elder {
    fn setup(_previous: Option<String>) -> Result<(), String> {
        store::execute(
            "CREATE TABLE IF NOT EXISTS elder__memories (text TEXT NOT NULL, at INTEGER NOT NULL)",
            &[],
        )
        .map(drop)
        .map_err(|e| format!("{e:?}"))
    }
}

impl commands::Guest for Elder {
    fn run(name: String, args: String) -> Result<String, CommandError> {
        match name.as_str() {
            "remember" => {
                let args: serde_json::Value = serde_json::from_str(&args)
                    .map_err(|e| CommandError::BadRequest(e.to_string()))?;
                let text = args["text"].as_str().unwrap_or_default().to_string();
                store::execute(
                    "INSERT INTO elder__memories (text, at) VALUES (?1, ?2)",
                    &[Value::Text(text), Value::Integer(clock::now_ms())],
                )
                .map_err(CommandError::Store)?;
                Ok("{}".into())
            }
            "recall" => {
                let rows = store::execute("SELECT text FROM elder__memories ORDER BY rowid", &[])
                    .map_err(CommandError::Store)?;
                let texts: Vec<String> = rows
                    .rows
                    .iter()
                    .filter_map(|row| match row.first() {
                        Some(Value::Text(t)) => Some(t.clone()),
                        _ => None,
                    })
                    .collect();
                Ok(json!({ "texts": texts }).to_string())
            }
            other => Err(CommandError::BadRequest(format!("unknown command {other}"))),
        }
    }
}

export!(Elder);
