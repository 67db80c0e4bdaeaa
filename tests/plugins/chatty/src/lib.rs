//! Test plugin `chatty`: keeps notes about people and exports and erases
//! them correctly, but writes each person's address to its log; the test
//! kit must fail it, naming logs/chatty.log.

use wasmdesk_plugin::log::{self, Level};
use wasmdesk_plugin::manifest::{CommandInfo, DataPolicy, PluginManifest, Processing};
use wasmdesk_plugin::privacy::{ErasePage, ExportItem, ExportPage, RetentionReport, Subject};
use wasmdesk_plugin::{CommandError, Plugin, Value, store};

struct Chatty;

impl Plugin for Chatty {
    fn manifest() -> PluginManifest {
        PluginManifest::new(
            "chatty",
            "0.1.0",
            "Logs the addresses it stores (test plugin).",
        )
        .command(CommandInfo::new("add", "{email, text}"))
        .processing(
            Processing::new("testing")
                .data_categories(["contact"])
                .data_subjects(["customers"])
                .retention("none")
                .personal_field("chatty__notes", "email", "contact", DataPolicy::Delete),
        )
    }

    fn setup(_previous: Option<&str>) -> Result<(), String> {
        store::execute(
            "CREATE TABLE IF NOT EXISTS chatty__notes (id INTEGER PRIMARY KEY, email TEXT, text TEXT)",
            &[],
        )?;
        Ok(())
    }

    fn run(_name: &str, args: &str) -> Result<String, CommandError> {
        let args: serde_json::Value =
            serde_json::from_str(args).map_err(|e| CommandError::bad_request(e.to_string()))?;
        let Some(email) = args["email"].as_str() else {
            return Err(CommandError::bad_request("email is required"));
        };
        let text = args["text"].as_str().unwrap_or("");
        store::execute(
            "INSERT INTO chatty__notes (email, text) VALUES (?1, ?2)",
            &[email.into(), text.into()],
        )?;
        // The bug under test: the address goes to the log.
        log::write(Level::Info, &format!("added a note for {email}"));
        Ok("{}".into())
    }

    fn export_data(subject: Subject, _cursor: Option<String>) -> Result<ExportPage, String> {
        let r = store::execute(
            "SELECT id, text FROM chatty__notes WHERE email = ?1",
            &[(&subject.email).into()],
        )?;
        let items = r
            .rows
            .iter()
            .filter_map(|row| match row.as_slice() {
                [Value::Integer(id), Value::Text(text)] => Some(
                    ExportItem::new("notes", "Notes", id.to_string())
                        .field("Email", &subject.email)
                        .field("Text", text),
                ),
                _ => None,
            })
            .collect();
        Ok(ExportPage::last(items))
    }

    fn erase_data(
        subject: Subject,
        _cursor: Option<String>,
        dry_run: bool,
    ) -> Result<ErasePage, String> {
        let removed = if dry_run {
            0
        } else {
            store::exec(
                "DELETE FROM chatty__notes WHERE email = ?1",
                &[subject.email.into()],
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

wasmdesk_plugin::export!(Chatty, [lifecycle, commands, privacy]);
