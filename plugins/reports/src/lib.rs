//! The `reports` plugin: counts of tickets by status, read through a grant
//! on the tickets plugin's table (it stores nothing itself).

use serde_json::{Map, json};
use wasmdesk_plugin::manifest::{CommandInfo, PluginManifest};
use wasmdesk_plugin::{Access, CommandError, Plugin, Value, store};

struct Reports;

impl Plugin for Reports {
    fn manifest() -> PluginManifest {
        PluginManifest::new("reports", "0.1.0", "Ticket statistics for the dashboard.")
            .capability(
                "tickets__tickets",
                Access::Read,
                "counts tickets by status; reads no customer data",
            )
            .command(CommandInfo::new(
                "summary",
                "Number of tickets in each status",
            ))
    }

    fn run(name: &str, _args: &str) -> Result<String, CommandError> {
        match name {
            "summary" => {
                let result = store::execute(
                    "SELECT status, count(*) FROM tickets__tickets GROUP BY status ORDER BY status",
                    &[],
                )?;
                let mut by_status = Map::new();
                let mut total = 0;
                for row in &result.rows {
                    if let [Value::Text(status), Value::Integer(n)] = row.as_slice() {
                        by_status.insert(status.clone(), json!(n));
                        total += n;
                    }
                }
                Ok(json!({"total": total, "by_status": by_status}).to_string())
            }
            other => Err(CommandError::bad_request(format!(
                "reports has no command {other:?}"
            ))),
        }
    }
}

wasmdesk_plugin::export!(Reports, [commands]);
