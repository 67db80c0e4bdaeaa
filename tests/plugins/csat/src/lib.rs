//! Test plugin `csat`: when a ticket's status changes, it reads the
//! ticket's customer from the tickets plugin's tables (through read
//! grants) and records a satisfaction survey for them. It cannot work
//! without the tickets plugin: the test kit passes it only `--with tickets`.

use wasmdesk_plugin::manifest::{DataPolicy, PluginManifest, Processing};
use wasmdesk_plugin::privacy::{ErasePage, ExportItem, ExportPage, RetentionReport, Subject};
use wasmdesk_plugin::{Access, Plugin, StoreError, Value, store};

struct Csat;

fn fail(e: StoreError) -> String {
    format!("csat: {e:?}")
}

impl Plugin for Csat {
    fn manifest() -> PluginManifest {
        const REASON: &str = "to find whom to ask about a ticket";
        PluginManifest::new(
            "csat",
            "0.1.0",
            "Asks customers how their ticket went (test plugin).",
        )
        .capability("tickets__tickets", Access::Read, REASON)
        .capability("tickets__customers", Access::Read, REASON)
        .action("ticket.status-changed")
        .processing(
            Processing::new("customer satisfaction surveys")
                .data_categories(["contact"])
                .data_subjects(["customers"])
                .retention("until erased")
                .personal_field("csat__surveys", "email", "contact", DataPolicy::Delete),
        )
    }

    fn setup(_previous: Option<&str>) -> Result<(), String> {
        store::execute(
            "CREATE TABLE IF NOT EXISTS csat__surveys (id INTEGER PRIMARY KEY, ticket_id INTEGER, email TEXT)",
            &[],
        )
        .map_err(fail)?;
        Ok(())
    }

    fn on_action(_event: &str, payload: &str) -> Result<(), String> {
        let payload: serde_json::Value =
            serde_json::from_str(payload).map_err(|e| format!("csat: {e}"))?;
        let ticket: Value = payload["ticket_id"]
            .as_i64()
            .or_else(|| payload["id"].as_i64())
            .into();
        store::execute(
            "INSERT INTO csat__surveys (ticket_id, email)
             SELECT t.id, c.email FROM tickets__tickets t
             JOIN tickets__customers c ON c.id = t.customer_id WHERE t.id = ?1",
            &[ticket],
        )
        .map_err(fail)?;
        Ok(())
    }

    fn apply_filter(_filter: &str, value: String) -> Result<String, String> {
        Ok(value)
    }

    fn export_data(subject: Subject, _cursor: Option<String>) -> Result<ExportPage, String> {
        let r = store::execute(
            "SELECT id, ticket_id FROM csat__surveys WHERE email = ?1",
            &[(&subject.email).into()],
        )
        .map_err(fail)?;
        let items = r
            .rows
            .iter()
            .filter_map(|row| match row.as_slice() {
                [Value::Integer(id), Value::Integer(ticket)] => Some(
                    ExportItem::new("surveys", "Surveys", id.to_string())
                        .field("Email", &subject.email)
                        .field("Ticket", ticket.to_string()),
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
                "DELETE FROM csat__surveys WHERE email = ?1",
                &[subject.email.into()],
            )
            .map_err(fail)?
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

wasmdesk_plugin::export!(Csat, [lifecycle, hooks, privacy]);
