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

use wasmdesk_plugin::manifest::{CommandInfo, PluginManifest};
use wasmdesk_plugin::{CommandError, Plugin, Value, store};

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

impl Plugin for Hook {
    fn manifest() -> PluginManifest {
        let manifest = PluginManifest::new(ID, "0.1.0", "Benchmark hook plugin.").command(
            CommandInfo::new("ping", "Answers {} without touching the store"),
        );
        if is_filter() {
            manifest.filter("message.body", 50)
        } else {
            manifest.action("ticket.created")
        }
    }

    fn setup(_previous: Option<&str>) -> Result<(), String> {
        if is_filter() {
            return Ok(());
        }
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} (id INTEGER PRIMARY KEY, event TEXT, payload TEXT)",
            table()
        );
        store::exec(&sql, &[])?;
        Ok(())
    }

    fn run(name: &str, _args: &str) -> Result<String, CommandError> {
        match name {
            "ping" => Ok("{}".into()),
            other => Err(CommandError::bad_request(format!(
                "unknown command {other}"
            ))),
        }
    }

    fn on_action(event: &str, payload: &str) -> Result<(), String> {
        let sql = format!("INSERT INTO {} (event, payload) VALUES (?1, ?2)", table());
        store::exec(&sql, &[Value::from(event), Value::from(payload)])?;
        Ok(())
    }

    fn apply_filter(_filter: &str, value: String) -> Result<String, String> {
        // The value is a JSON string; trailing spaces sit inside its quotes.
        Ok(match value.strip_suffix('"') {
            Some(inner) => format!("{}\"", inner.trim_end()),
            None => value,
        })
    }
}

wasmdesk_plugin::export!(Hook, [lifecycle, commands, hooks]);
