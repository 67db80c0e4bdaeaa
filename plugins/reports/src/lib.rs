//! The `reports` plugin: counts of tickets by status, read through a grant
//! on the tickets plugin's table (it stores nothing itself).

wit_bindgen::generate!({
    inline: r#"
        package wasmdesk-plugins:reports;
        world reports {
            include wasmdesk:plugin/base@1.1.0;
            export wasmdesk:plugin/commands@1.1.0;
        }
    "#,
    path: "../../wit",
    generate_all,
});

use exports::wasmdesk::plugin::commands::{self, CommandError};
use exports::wasmdesk::plugin::manifest;
use serde_json::{Map, json};
use wasmdesk::plugin::store;
use wasmdesk::plugin::types::{Access, Value};

struct Reports;

impl manifest::Guest for Reports {
    fn get() -> manifest::PluginManifest {
        manifest::PluginManifest {
            id: "reports".into(),
            version: "0.1.0".into(),
            description: "Ticket statistics for the dashboard.".into(),
            capabilities: vec![manifest::Capability {
                table: "tickets__tickets".into(),
                access: Access::Read,
                reason: "counts tickets by status; reads no customer data".into(),
            }],
            commands: vec![manifest::CommandInfo {
                name: "summary".into(),
                description: "Number of tickets in each status".into(),
                argument_filters: vec![],
                result_filter: None,
            }],
            actions: vec![],
            filters: vec![],
            processing: None,
        }
    }
}

impl commands::Guest for Reports {
    fn run(name: String, _args: String) -> Result<String, CommandError> {
        match name.as_str() {
            "summary" => {
                let result = store::execute(
                    "SELECT status, count(*) FROM tickets__tickets GROUP BY status ORDER BY status",
                    &[],
                )
                .map_err(CommandError::Store)?;
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
            other => Err(CommandError::BadRequest(format!(
                "reports has no command {other:?}"
            ))),
        }
    }
}

export!(Reports);
