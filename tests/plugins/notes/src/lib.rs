//! Test plugin `notes`: a well-behaved plugin whose table `notes__notes`
//! other plugins try to reach.

use serde_json::json;
use wasmdesk_plugin::manifest::{CommandInfo, PluginManifest};
use wasmdesk_plugin::{CommandError, Plugin, Value, args, store};

struct Notes;

#[derive(serde::Deserialize)]
struct Note {
    id: i64,
    text: String,
}

impl Plugin for Notes {
    fn manifest() -> PluginManifest {
        PluginManifest::new("notes", "1.0.0", "Keeps short notes (test plugin).")
            .command(CommandInfo::new("add", "Add a note: {\"text\"}"))
            .command(CommandInfo::new("list", "List notes"))
    }

    fn setup(_previous: Option<&str>) -> Result<(), String> {
        store::exec(
            "CREATE TABLE IF NOT EXISTS notes__notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)",
            &[],
        )?;
        Ok(())
    }

    fn run(name: &str, args: &str) -> Result<String, CommandError> {
        let args = args::json(args)?;
        match name {
            "add" => {
                let text = args["text"]
                    .as_str()
                    .ok_or_else(|| CommandError::bad_request("text is required"))?;
                let r = store::execute(
                    "INSERT INTO notes__notes (text) VALUES (?)",
                    &[Value::Text(text.into())],
                )?;
                Ok(json!({"id": r.last_insert_rowid, "text": text}).to_string())
            }
            "list" => {
                let notes: Vec<Note> =
                    store::query_as("SELECT id, text FROM notes__notes ORDER BY id", &[])?;
                let notes: Vec<_> = notes
                    .iter()
                    .map(|n| json!({"id": n.id, "text": n.text}))
                    .collect();
                Ok(json!({"notes": notes}).to_string())
            }
            other => Err(CommandError::bad_request(format!(
                "unknown command {other}"
            ))),
        }
    }
}

wasmdesk_plugin::export!(Notes, [lifecycle, commands]);
