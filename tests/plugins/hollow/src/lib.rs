//! Test plugin `hollow`: declares two personal columns, `email` and
//! `phone`; its `add` command fills `phone` only when given one, so a seed
//! that never gives one leaves a declared column the test kit cannot prove.

use wasmdesk_plugin::manifest::{CommandInfo, DataPolicy, PluginManifest, Processing};
use wasmdesk_plugin::privacy::{ErasePage, ExportItem, ExportPage, RetentionReport, Subject};
use wasmdesk_plugin::{CommandError, Plugin, Value, store};

struct Hollow;

impl Plugin for Hollow {
    fn manifest() -> PluginManifest {
        PluginManifest::new(
            "hollow",
            "0.1.0",
            "Keeps addresses and phone numbers (test plugin).",
        )
        .command(CommandInfo::new("add", "{email, phone?}"))
        .processing(
            Processing::new("testing")
                .data_categories(["contact"])
                .data_subjects(["customers"])
                .retention("none")
                .personal_field("hollow__people", "email", "contact", DataPolicy::Delete)
                .personal_field("hollow__people", "phone", "contact", DataPolicy::Delete),
        )
    }

    fn setup(_previous: Option<&str>) -> Result<(), String> {
        store::execute(
            "CREATE TABLE IF NOT EXISTS hollow__people (id INTEGER PRIMARY KEY, email TEXT, phone TEXT)",
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
        let phone: Value = args["phone"].as_str().into();
        store::execute(
            "INSERT INTO hollow__people (email, phone) VALUES (?1, ?2)",
            &[email.into(), phone],
        )?;
        Ok("{}".into())
    }

    fn export_data(subject: Subject, _cursor: Option<String>) -> Result<ExportPage, String> {
        let r = store::execute(
            "SELECT id, coalesce(phone, '') FROM hollow__people WHERE email = ?1",
            &[(&subject.email).into()],
        )?;
        let items = r
            .rows
            .iter()
            .filter_map(|row| match row.as_slice() {
                [Value::Integer(id), Value::Text(phone)] => Some(
                    ExportItem::new("people", "Contact details", id.to_string())
                        .field("Email", &subject.email)
                        .field("Phone", phone),
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
                "DELETE FROM hollow__people WHERE email = ?1",
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

wasmdesk_plugin::export!(Hollow, [lifecycle, commands, privacy]);
