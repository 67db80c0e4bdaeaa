//! Benchmark plugin for the hook-dispatch row of `cargo xtask bench`. Its
//! id comes from `BENCH_HOOK_ID` at build time, so one crate yields the
//! seven distinct plugins the bench enables (a plugin's id must match its
//! file name):
//! - `hook-action-N` queues every `ticket.created` event in its own table,
//!   as a notifier or a webhook plugin would;
//! - `hook-filter-N` rewrites `message.body` (trims trailing spaces), as a
//!   signature or a redaction filter would.
//!
//! Every one also has the command `ping`, which answers `{}` without
//! touching the store: the cost of a call itself.

wit_bindgen::generate!({
    inline: r#"
        package wasmdesk-bench:hook;
        world hook {
            include wasmdesk:plugin/base@1.1.0;
            export wasmdesk:plugin/lifecycle@1.1.0;
            export wasmdesk:plugin/commands@1.1.0;
            export wasmdesk:plugin/hooks@1.1.0;
        }
    "#,
    path: "../../wit",
    generate_all,
});

use exports::wasmdesk::plugin::commands::{self, CommandError};
use exports::wasmdesk::plugin::manifest::{self, CommandInfo, FilterInfo, PluginManifest};
use exports::wasmdesk::plugin::{hooks, lifecycle};
use wasmdesk::plugin::store;
use wasmdesk::plugin::types::Value;

const ID: &str = match option_env!("BENCH_HOOK_ID") {
    Some(id) => id,
    None => "hook-action-1",
};

fn is_filter() -> bool {
    ID.starts_with("hook-filter-")
}

/// This plugin's queue table, in its namespace.
fn table() -> String {
    format!("{}__queue", ID.replace('-', "_"))
}

struct Hook;

impl manifest::Guest for Hook {
    fn get() -> PluginManifest {
        PluginManifest {
            id: ID.into(),
            version: "0.1.0".into(),
            description: "Benchmark hook plugin.".into(),
            capabilities: vec![],
            commands: vec![CommandInfo {
                name: "ping".into(),
                description: "Answers {} without touching the store".into(),
                argument_filters: vec![],
                result_filter: None,
            }],
            actions: if is_filter() {
                vec![]
            } else {
                vec!["ticket.created".into()]
            },
            filters: if is_filter() {
                vec![FilterInfo {
                    name: "message.body".into(),
                    priority: 50,
                }]
            } else {
                vec![]
            },
            processing: None,
        }
    }
}

impl lifecycle::Guest for Hook {
    fn setup(_previous: Option<String>) -> Result<(), String> {
        if is_filter() {
            return Ok(());
        }
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} (id INTEGER PRIMARY KEY, event TEXT, payload TEXT)",
            table()
        );
        store::execute(&sql, &[])
            .map(drop)
            .map_err(|e| format!("{e:?}"))
    }
}

impl commands::Guest for Hook {
    fn run(name: String, _args: String) -> Result<String, CommandError> {
        match name.as_str() {
            "ping" => Ok("{}".into()),
            other => Err(CommandError::BadRequest(format!("unknown command {other}"))),
        }
    }
}

impl hooks::Guest for Hook {
    fn on_action(event: String, payload: String) -> Result<(), String> {
        let sql = format!("INSERT INTO {} (event, payload) VALUES (?1, ?2)", table());
        store::execute(&sql, &[Value::Text(event), Value::Text(payload)])
            .map(drop)
            .map_err(|e| format!("{e:?}"))
    }

    fn apply_filter(_filter: String, value: String) -> Result<String, String> {
        // The value is a JSON string; trailing spaces sit inside its quotes.
        Ok(match value.strip_suffix('"') {
            Some(inner) => format!("{}\"", inner.trim_end()),
            None => value,
        })
    }
}

export!(Hook);
