//! Test plugin `notes`: a well-behaved plugin whose table `notes__notes`
//! other plugins try to reach.

wit_bindgen::generate!({
    inline: r#"
        package test:notes;
        world notes {
            include wasmdesk:plugin/base@1.1.0;
            export wasmdesk:plugin/lifecycle@1.1.0;
            export wasmdesk:plugin/commands@1.1.0;
        }
    "#,
    path: "../../../wit",
    generate_all,
});

use exports::wasmdesk::plugin::commands::{self, CommandError};
use exports::wasmdesk::plugin::{lifecycle, manifest};
use serde_json::{Value as Json, json};
use wasmdesk::plugin::store;
use wasmdesk::plugin::types::Value;

struct Notes;

impl manifest::Guest for Notes {
    fn get() -> manifest::PluginManifest {
        manifest::PluginManifest {
            id: "notes".into(),
            version: "1.0.0".into(),
            description: "Keeps short notes (test plugin).".into(),
            capabilities: vec![],
            commands: vec![
                manifest::CommandInfo {
                    name: "add".into(),
                    description: "Add a note: {\"text\"}".into(),
                    argument_filters: vec![],
                    result_filter: None,
                },
                manifest::CommandInfo {
                    name: "list".into(),
                    description: "List notes".into(),
                    argument_filters: vec![],
                    result_filter: None,
                },
            ],
            actions: vec![],
            filters: vec![],
            processing: None,
        }
    }
}

impl lifecycle::Guest for Notes {
    fn setup(_previous: Option<String>) -> Result<(), String> {
        store::execute(
            "CREATE TABLE IF NOT EXISTS notes__notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)",
            &[],
        )
        .map(drop)
        .map_err(|e| format!("{e:?}"))
    }
}

impl commands::Guest for Notes {
    fn run(name: String, args: String) -> Result<String, CommandError> {
        let args: Json =
            serde_json::from_str(&args).map_err(|e| CommandError::BadRequest(e.to_string()))?;
        match name.as_str() {
            "add" => {
                let text = args["text"]
                    .as_str()
                    .ok_or_else(|| CommandError::BadRequest("text is required".into()))?;
                let r = store::execute(
                    "INSERT INTO notes__notes (text) VALUES (?)",
                    &[Value::Text(text.into())],
                )
                .map_err(CommandError::Store)?;
                Ok(json!({"id": r.last_insert_rowid, "text": text}).to_string())
            }
            "list" => {
                let r = store::execute("SELECT id, text FROM notes__notes ORDER BY id", &[])
                    .map_err(CommandError::Store)?;
                let notes: Vec<Json> = r
                    .rows
                    .iter()
                    .map(|row| match (&row[0], &row[1]) {
                        (Value::Integer(id), Value::Text(t)) => json!({"id": id, "text": t}),
                        _ => Json::Null,
                    })
                    .collect();
                Ok(json!({"notes": notes}).to_string())
            }
            other => Err(CommandError::BadRequest(format!("unknown command {other}"))),
        }
    }
}

export!(Notes);
