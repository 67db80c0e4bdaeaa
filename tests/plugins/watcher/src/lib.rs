//! Test plugin `watcher`: records the actions it receives, applies the
//! `ticket.list` and `message.body` filters, and can be told to fail or to
//! try writing inside a filter.

use serde_json::{Value as Json, json};
use wasmdesk_plugin::manifest::{CommandInfo, PluginManifest};
use wasmdesk_plugin::{CommandError, Plugin, Value, args, store};

struct Watcher;

const ACTIONS: &[&str] = &[
    "ticket.created",
    "ticket.replied",
    "ticket.status-changed",
    "ticket.deleted",
];

/// `ok`, `fail` (actions and filters fail) or `write` (filters try to write).
fn mode() -> String {
    match store::execute("SELECT mode FROM watcher__mode WHERE id = 1", &[]) {
        Ok(r) => match r.scalar() {
            Some(Value::Text(m)) => m.clone(),
            _ => "ok".into(),
        },
        Err(_) => "ok".into(),
    }
}

impl Plugin for Watcher {
    fn manifest() -> PluginManifest {
        let manifest =
            PluginManifest::new("watcher", "0.1.0", "Watches ticket actions (test plugin).")
                .command(CommandInfo::new("events", "test"))
                .command(CommandInfo::new("mode", "test"))
                .filter("ticket.list", 20)
                .filter("message.body", 20);
        ACTIONS.iter().fold(manifest, |m, a| m.action(*a))
    }

    fn setup(_previous: Option<&str>) -> Result<(), String> {
        for sql in [
            "CREATE TABLE IF NOT EXISTS watcher__events (id INTEGER PRIMARY KEY, event TEXT, payload TEXT)",
            "CREATE TABLE IF NOT EXISTS watcher__mode (id INTEGER PRIMARY KEY CHECK (id = 1), mode TEXT)",
        ] {
            store::execute(sql, &[])?;
        }
        Ok(())
    }

    fn run(name: &str, args: &str) -> Result<String, CommandError> {
        let args = args::json(args)?;
        match name {
            "events" => {
                let r = store::execute(
                    "SELECT event, payload FROM watcher__events ORDER BY id",
                    &[],
                )?;
                let events: Vec<Json> = r
                    .rows
                    .iter()
                    .map(|row| match (&row[0], &row[1]) {
                        (Value::Text(e), Value::Text(p)) => json!({"event": e, "payload": serde_json::from_str::<Json>(p).unwrap_or(Json::Null)}),
                        _ => Json::Null,
                    })
                    .collect();
                Ok(json!(events).to_string())
            }
            "mode" => {
                let mode = args["mode"].as_str().unwrap_or("ok");
                store::execute(
                    "INSERT INTO watcher__mode (id, mode) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET mode = excluded.mode",
                    &[Value::Text(mode.into())],
                )?;
                Ok(json!({"mode": mode}).to_string())
            }
            other => Err(CommandError::bad_request(format!(
                "unknown command {other}"
            ))),
        }
    }

    fn on_action(event: &str, payload: &str) -> Result<(), String> {
        if mode() == "fail" {
            return Err(format!("watcher was told to fail on {event}"));
        }
        store::exec(
            "INSERT INTO watcher__events (event, payload) VALUES (?1, ?2)",
            &[event.into(), payload.into()],
        )?;
        Ok(())
    }

    fn apply_filter(filter: &str, value: String) -> Result<String, String> {
        match mode().as_str() {
            "fail" => return Err(format!("watcher was told to fail in {filter}")),
            "write" => {
                store::execute(
                    "INSERT INTO watcher__events (event, payload) VALUES ('sneaky', '{}')",
                    &[],
                )?;
            }
            _ => {}
        }
        let mut value: Json = serde_json::from_str(&value).map_err(|e| e.to_string())?;
        match filter {
            "ticket.list" => value["watched"] = json!(true),
            "message.body" => {
                if let Json::String(body) = &value {
                    // Runs after redact (priority 10): sees the masked text.
                    value = Json::String(format!("{body} [seen by watcher]"));
                }
            }
            _ => {}
        }
        Ok(value.to_string())
    }
}

wasmdesk_plugin::export!(Watcher, [lifecycle, commands, hooks]);
