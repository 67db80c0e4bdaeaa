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
//! It is built on the `wasmdesk-plugin` crate (the SDK), which carries the
//! contract with the host and the `Plugin` trait implemented below.
//!
//! Build: `cargo build --release --target wasm32-wasip2`; test against the
//! host: `wasmdesk plugin test target/wasm32-wasip2/release/plugin_template.wasm`
//! (see README.md).

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use wasmdesk_plugin::manifest::{CommandInfo, DataPolicy, PluginManifest, Processing};
use wasmdesk_plugin::privacy::{ErasePage, ExportItem, ExportPage, Subject};
use wasmdesk_plugin::{CommandError, Email, Plugin, StoreError, Value, args, clock, store};

/// The plugin's id: its file must be called `plugin-template.wasm`.
const ID: &str = "plugin-template";
/// Its one table. Every table a plugin creates starts with its namespace,
/// the id with dashes as underscores and two underscores.
const NOTES: &str = "plugin_template__notes";

struct Notes;

/// The arguments of `add`: a missing or malformed field is refused as
/// `bad_request`, naming the field.
#[derive(Deserialize)]
struct Add {
    email: Email,
    text: String,
}

/// The arguments of `list`.
#[derive(Deserialize)]
struct List {
    email: Option<Email>,
}

/// A note as `list` shows it; the fields are the query's columns.
#[derive(Deserialize, Serialize)]
struct Note {
    id: i64,
    email: String,
    text: String,
}

/// A note as the exporter hands it over.
#[derive(Deserialize)]
struct Exported {
    id: i64,
    text: String,
    created_at: i64,
}

/// Insert one note; the e-mail address is stored lower-cased, as the host
/// hands it to the exporter and the eraser.
fn add_note(email: &str, text: &str) -> Result<i64, StoreError> {
    let result = store::execute(
        &format!("INSERT INTO {NOTES} (email, text, created_at) VALUES (?1, ?2, ?3)"),
        &[
            email.trim().to_lowercase().into(),
            text.into(),
            clock::now_ms().into(),
        ],
    )?;
    Ok(result.last_insert_rowid)
}

impl Plugin for Notes {
    fn manifest() -> PluginManifest {
        PluginManifest::new(ID, env!("CARGO_PKG_VERSION"), "Notes about customers.")
            // Tables outside the namespace this plugin needs would be asked
            // for here, with a reason the site owner reads: it needs none.
            .command(CommandInfo::new("add", "Add a note: {email, text}"))
            .command(CommandInfo::new("list", "Notes, newest first: {email?}"))
            .action("ticket.created")
            .processing(
                Processing::new("Remembering what customers asked for")
                    .data_categories(["contact details", "notes"])
                    .data_subjects(["customers"])
                    .retention("until the customer asks for erasure")
                    .personal_field(NOTES, "email", "contact details", DataPolicy::Delete)
                    .personal_field(NOTES, "text", "notes", DataPolicy::Delete),
            )
    }

    /// Runs when the plugin is first enabled and after every approved
    /// update: it must be safe to run twice.
    fn setup(_previous_version: Option<&str>) -> Result<(), String> {
        store::exec_all(&[
            format!(
                "CREATE TABLE IF NOT EXISTS {NOTES} (
                    id INTEGER PRIMARY KEY,
                    email TEXT NOT NULL,
                    text TEXT NOT NULL,
                    created_at INTEGER NOT NULL)"
            ),
            format!("CREATE INDEX IF NOT EXISTS {NOTES}_email ON {NOTES} (email)"),
        ])?;
        Ok(())
    }

    fn run(command: &str, json: &str) -> Result<String, CommandError> {
        match command {
            "add" => {
                let add: Add = args::parse(json)?;
                let id = add_note(&add.email, &add.text)?;
                Ok(json!({ "id": id }).to_string())
            }
            "list" => {
                let list: List = args::parse(json)?;
                let notes: Vec<Note> = match list.email {
                    Some(email) => store::query_as(
                        &format!(
                            "SELECT id, email, text FROM {NOTES} WHERE email = ?1 ORDER BY id DESC"
                        ),
                        &[email.as_str().into()],
                    )?,
                    None => store::query_as(
                        &format!("SELECT id, email, text FROM {NOTES} ORDER BY id DESC LIMIT 100"),
                        &[],
                    )?,
                };
                Ok(json!({ "notes": notes }).to_string())
            }
            other => Err(CommandError::bad_request(format!(
                "unknown command {other}: try add or list"
            ))),
        }
    }

    /// Runs after a command elsewhere commits and emits an action this
    /// plugin lists in its manifest, in its own transaction.
    fn on_action(event: &str, payload: &str) -> Result<(), String> {
        if event != "ticket.created" {
            return Ok(());
        }
        let ticket: Json = serde_json::from_str(payload).map_err(|e| e.to_string())?;
        // The payload is whole only if the site owner let this plugin read
        // the tickets plugin's tables; otherwise it holds the ids and a
        // `withheld` list, and there is no address to note.
        if let Some(email) = ticket["email"].as_str() {
            add_note(email, &format!("opened ticket {}", ticket["id"]))?;
        }
        Ok(())
    }

    /// Everything stored about the subject, in one page (a plugin with a lot
    /// per person returns pages and a cursor).
    fn export_data(subject: Subject, _cursor: Option<String>) -> Result<ExportPage, String> {
        let notes: Vec<Exported> = store::query_as(
            &format!("SELECT id, text, created_at FROM {NOTES} WHERE email = ?1 ORDER BY id"),
            &[subject.email.as_str().into()],
        )?;
        let items = notes
            .into_iter()
            .map(|note| {
                ExportItem::new("notes", "Notes about you", note.id.to_string())
                    .field("Email", subject.email.clone())
                    .field("Note", note.text)
                    .field("Written at (ms)", note.created_at.to_string())
            })
            .collect();
        Ok(ExportPage::last(items))
    }

    /// Delete everything stored about the subject. Every table that holds
    /// their data must be covered: `wasmdesk plugin test` fails when one is
    /// not.
    fn erase_data(
        subject: Subject,
        _cursor: Option<String>,
        dry_run: bool,
    ) -> Result<ErasePage, String> {
        let email = Value::from(subject.email);
        let removed = if dry_run {
            let result = store::execute(
                &format!("SELECT count(*) FROM {NOTES} WHERE email = ?1"),
                &[email],
            )?;
            result.scalar().and_then(Value::as_i64).unwrap_or(0) as u64
        } else {
            store::exec(&format!("DELETE FROM {NOTES} WHERE email = ?1"), &[email])?
        };
        Ok(ErasePage::last(removed))
    }
}

// The manifest is always exported; these are the interfaces implemented
// above. The host calls only what a plugin exports.
wasmdesk_plugin::export!(Notes, [lifecycle, commands, hooks, privacy]);
