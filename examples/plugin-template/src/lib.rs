//! A wasmdesk plugin, from the template (`wasmdesk plugin new NAME`).
//!
//! It keeps notes about customers in one table, `plugin_template__notes`:
//! - the command `add` stores a note: `wasmdesk call plugin-template.add
//!   '{"email": "ada@example.com", "text": "Prefers e-mail"}'`;
//! - the command `list` lists them (`{"email"?}`);
//! - the action hook `ticket.created` notes every new ticket's customer;
//! - the privacy exporter and eraser hand over and delete a customer's
//!   notes: every plugin that stores personal data must do both.
//!
//! Build: `cargo build --release --target wasm32-wasip2`; test against the
//! host: `wasmdesk plugin test target/wasm32-wasip2/release/plugin_template.wasm`
//! (see README.md).

wit_bindgen::generate!({
    inline: r#"
        package local:plugin;
        world plugin {
            include wasmdesk:plugin/base@1.1.0;
            export wasmdesk:plugin/lifecycle@1.1.0;
            export wasmdesk:plugin/commands@1.1.0;
            export wasmdesk:plugin/hooks@1.1.0;
            export wasmdesk:plugin/privacy@1.1.0;
        }
    "#,
    path: "wit",
    generate_all,
});

use exports::wasmdesk::plugin::commands::{self, CommandError};
use exports::wasmdesk::plugin::manifest::{
    self, CommandInfo, DataPolicy, PersonalField, PluginManifest, Processing,
};
use exports::wasmdesk::plugin::privacy::{
    self, ErasePage, ExportItem, ExportPage, RetentionReport, Subject,
};
use exports::wasmdesk::plugin::{hooks, lifecycle};
use serde_json::{Value as Json, json};
use wasmdesk::plugin::types::Value;
use wasmdesk::plugin::{clock, store};

/// The plugin's id: its file must be called `plugin-template.wasm`.
const ID: &str = "plugin-template";
/// Its one table. Every table a plugin creates starts with its namespace,
/// the id with dashes as underscores and two underscores.
const NOTES: &str = "plugin_template__notes";

struct Plugin;

impl manifest::Guest for Plugin {
    fn get() -> PluginManifest {
        let command = |name: &str, description: &str| CommandInfo {
            name: name.into(),
            description: description.into(),
            argument_filters: vec![],
            result_filter: None,
        };
        let field = |column: &str, category: &str| PersonalField {
            table: NOTES.into(),
            column: column.into(),
            category: category.into(),
            policy: DataPolicy::Delete,
        };
        PluginManifest {
            id: ID.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Notes about customers.".into(),
            // Tables outside the namespace this plugin needs, with a reason
            // the site owner reads: none.
            capabilities: vec![],
            commands: vec![
                command("add", "Add a note: {email, text}"),
                command("list", "Notes, newest first: {email?}"),
            ],
            actions: vec!["ticket.created".into()],
            filters: vec![],
            processing: Some(Processing {
                purpose: "Remembering what customers asked for".into(),
                data_categories: vec!["contact details".into(), "notes".into()],
                data_subjects: vec!["customers".into()],
                retention: "until the customer asks for erasure".into(),
                personal_data: vec![field("email", "contact details"), field("text", "notes")],
                retention_rules: vec![],
            }),
        }
    }
}

fn sql_error(e: impl std::fmt::Debug) -> String {
    format!("{ID}: {e:?}")
}

fn text(value: &str) -> Value {
    Value::Text(value.to_string())
}

/// Insert one note; the e-mail address is stored lower-cased, as the host
/// hands it to the exporter and the eraser.
fn add_note(email: &str, text_: &str) -> Result<i64, store::StoreError> {
    let result = store::execute(
        &format!("INSERT INTO {NOTES} (email, text, created_at) VALUES (?1, ?2, ?3)"),
        &[
            text(&email.trim().to_lowercase()),
            text(text_),
            Value::Integer(clock::now_ms()),
        ],
    )?;
    Ok(result.last_insert_rowid)
}

impl lifecycle::Guest for Plugin {
    /// Runs when the plugin is first enabled and after every approved
    /// update: it must be safe to run twice.
    fn setup(_previous_version: Option<String>) -> Result<(), String> {
        for sql in [
            format!(
                "CREATE TABLE IF NOT EXISTS {NOTES} (
                    id INTEGER PRIMARY KEY,
                    email TEXT NOT NULL,
                    text TEXT NOT NULL,
                    created_at INTEGER NOT NULL)"
            ),
            format!("CREATE INDEX IF NOT EXISTS {NOTES}_email ON {NOTES} (email)"),
        ] {
            store::execute(&sql, &[]).map_err(sql_error)?;
        }
        Ok(())
    }
}

impl commands::Guest for Plugin {
    fn run(name: String, args: String) -> Result<String, CommandError> {
        let args: Json = serde_json::from_str(&args)
            .map_err(|e| CommandError::BadRequest(format!("arguments are not JSON: {e}")))?;
        match name.as_str() {
            "add" => {
                let (Some(email), Some(note)) = (args["email"].as_str(), args["text"].as_str())
                else {
                    return Err(CommandError::BadRequest(
                        "add needs {\"email\": \"...\", \"text\": \"...\"}".into(),
                    ));
                };
                if !email.contains('@') {
                    return Err(CommandError::BadRequest(format!(
                        "{email:?} is not an e-mail address"
                    )));
                }
                let id = add_note(email, note).map_err(CommandError::Store)?;
                Ok(json!({ "id": id }).to_string())
            }
            "list" => {
                let result = match args["email"].as_str() {
                    Some(email) => store::execute(
                        &format!(
                            "SELECT id, email, text FROM {NOTES} WHERE email = ?1 ORDER BY id DESC"
                        ),
                        &[text(&email.to_lowercase())],
                    ),
                    None => store::execute(
                        &format!("SELECT id, email, text FROM {NOTES} ORDER BY id DESC LIMIT 100"),
                        &[],
                    ),
                }
                .map_err(CommandError::Store)?;
                let notes: Vec<Json> = result
                    .rows
                    .iter()
                    .map(|row| match row.as_slice() {
                        [Value::Integer(id), Value::Text(email), Value::Text(note)] => {
                            json!({"id": id, "email": email, "text": note})
                        }
                        _ => Json::Null,
                    })
                    .collect();
                Ok(json!({ "notes": notes }).to_string())
            }
            other => Err(CommandError::BadRequest(format!(
                "unknown command {other}: try add or list"
            ))),
        }
    }
}

impl hooks::Guest for Plugin {
    /// Runs after a command elsewhere commits and emits an action this
    /// plugin lists in its manifest, in its own transaction.
    fn on_action(event: String, payload: String) -> Result<(), String> {
        if event != "ticket.created" {
            return Ok(());
        }
        let ticket: Json = serde_json::from_str(&payload).map_err(|e| e.to_string())?;
        // The payload is whole only if the site owner let this plugin read
        // the tickets plugin's tables; otherwise it holds the ids and a
        // `withheld` list, and there is no address to note.
        if let Some(email) = ticket["email"].as_str() {
            let note = format!("opened ticket {}", ticket["id"]);
            add_note(email, &note).map_err(sql_error)?;
        }
        Ok(())
    }

    fn apply_filter(_filter: String, value: String) -> Result<String, String> {
        // No filters in the manifest: the host never calls this.
        Ok(value)
    }
}

impl privacy::Guest for Plugin {
    /// Everything stored about the subject, in one page (a plugin with a lot
    /// per person returns pages and a cursor).
    fn export_data(subject: Subject, _cursor: Option<String>) -> Result<ExportPage, String> {
        let result = store::execute(
            &format!("SELECT id, text, created_at FROM {NOTES} WHERE email = ?1 ORDER BY id"),
            &[text(&subject.email)],
        )
        .map_err(sql_error)?;
        let items = result
            .rows
            .iter()
            .filter_map(|row| match row.as_slice() {
                [Value::Integer(id), Value::Text(note), Value::Integer(at)] => Some(ExportItem {
                    group_id: "notes".into(),
                    group_label: "Notes about you".into(),
                    item_id: id.to_string(),
                    data: vec![
                        ("Email".into(), subject.email.clone()),
                        ("Note".into(), note.clone()),
                        ("Written at (ms)".into(), at.to_string()),
                    ],
                    files: vec![],
                }),
                _ => None,
            })
            .collect();
        Ok(ExportPage { items, next: None })
    }

    /// Delete everything stored about the subject. Every table that holds
    /// their data must be covered: `wasmdesk plugin test` fails when one is
    /// not.
    fn erase_data(
        subject: Subject,
        _cursor: Option<String>,
        dry_run: bool,
    ) -> Result<ErasePage, String> {
        let email = text(&subject.email);
        let removed = if dry_run {
            let result = store::execute(
                &format!("SELECT count(*) FROM {NOTES} WHERE email = ?1"),
                &[email],
            )
            .map_err(sql_error)?;
            match result.rows.first().and_then(|row| row.first()) {
                Some(Value::Integer(n)) => *n as u64,
                _ => 0,
            }
        } else {
            store::execute(&format!("DELETE FROM {NOTES} WHERE email = ?1"), &[email])
                .map_err(sql_error)?
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
        // No retention rules in the manifest: the host never calls this.
        Ok(RetentionReport {
            items_removed: 0,
            messages: vec![],
        })
    }
}

export!(Plugin);
