//! Test plugin `watcher`: records the actions it receives, applies the
//! `ticket.list` and `message.body` filters, and can be told to fail or to
//! try writing inside a filter.

wit_bindgen::generate!({
    inline: r#"
        package test:watcher;
        world watcher {
            include wasmdesk:plugin/base@1.1.0;
            export wasmdesk:plugin/lifecycle@1.1.0;
            export wasmdesk:plugin/commands@1.1.0;
            export wasmdesk:plugin/hooks@1.1.0;
        }
    "#,
    path: "../../../wit",
    generate_all,
});

use exports::wasmdesk::plugin::commands::{self, CommandError};
use exports::wasmdesk::plugin::manifest::{self, CommandInfo, FilterInfo};
use exports::wasmdesk::plugin::{hooks, lifecycle};
use serde_json::{Value as Json, json};
use wasmdesk::plugin::store;
use wasmdesk::plugin::types::Value;

struct Watcher;

const ACTIONS: &[&str] = &[
    "ticket.created",
    "ticket.replied",
    "ticket.status-changed",
    "ticket.deleted",
];

impl manifest::Guest for Watcher {
    fn get() -> manifest::PluginManifest {
        let command = |name: &str| CommandInfo {
            name: name.into(),
            description: "test".into(),
            argument_filters: vec![],
            result_filter: None,
        };
        manifest::PluginManifest {
            id: "watcher".into(),
            version: "0.1.0".into(),
            description: "Watches ticket actions (test plugin).".into(),
            capabilities: vec![],
            commands: vec![command("events"), command("mode")],
            actions: ACTIONS.iter().map(|a| a.to_string()).collect(),
            filters: vec![
                FilterInfo {
                    name: "ticket.list".into(),
                    priority: 20,
                },
                FilterInfo {
                    name: "message.body".into(),
                    priority: 20,
                },
            ],
            processing: None,
        }
    }
}

impl lifecycle::Guest for Watcher {
    fn setup(_previous: Option<String>) -> Result<(), String> {
        for sql in [
            "CREATE TABLE IF NOT EXISTS watcher__events (id INTEGER PRIMARY KEY, event TEXT, payload TEXT)",
            "CREATE TABLE IF NOT EXISTS watcher__mode (id INTEGER PRIMARY KEY CHECK (id = 1), mode TEXT)",
        ] {
            store::execute(sql, &[]).map_err(|e| format!("{e:?}"))?;
        }
        Ok(())
    }
}

/// `ok`, `fail` (actions and filters fail) or `write` (filters try to write).
fn mode() -> String {
    match store::execute("SELECT mode FROM watcher__mode WHERE id = 1", &[]) {
        Ok(r) => match r.rows.first().map(|row| &row[0]) {
            Some(Value::Text(m)) => m.clone(),
            _ => "ok".into(),
        },
        Err(_) => "ok".into(),
    }
}

impl commands::Guest for Watcher {
    fn run(name: String, args: String) -> Result<String, CommandError> {
        let args: Json =
            serde_json::from_str(&args).map_err(|e| CommandError::BadRequest(e.to_string()))?;
        match name.as_str() {
            "events" => {
                let r = store::execute(
                    "SELECT event, payload FROM watcher__events ORDER BY id",
                    &[],
                )
                .map_err(CommandError::Store)?;
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
                )
                .map_err(CommandError::Store)?;
                Ok(json!({"mode": mode}).to_string())
            }
            other => Err(CommandError::BadRequest(format!("unknown command {other}"))),
        }
    }
}

impl hooks::Guest for Watcher {
    fn on_action(event: String, payload: String) -> Result<(), String> {
        if mode() == "fail" {
            return Err(format!("watcher was told to fail on {event}"));
        }
        store::execute(
            "INSERT INTO watcher__events (event, payload) VALUES (?1, ?2)",
            &[Value::Text(event), Value::Text(payload)],
        )
        .map(drop)
        .map_err(|e| format!("{e:?}"))
    }

    fn apply_filter(filter: String, value: String) -> Result<String, String> {
        match mode().as_str() {
            "fail" => return Err(format!("watcher was told to fail in {filter}")),
            "write" => {
                store::execute(
                    "INSERT INTO watcher__events (event, payload) VALUES ('sneaky', '{}')",
                    &[],
                )
                .map_err(|e| format!("{e:?}"))?;
            }
            _ => {}
        }
        let mut value: Json = serde_json::from_str(&value).map_err(|e| e.to_string())?;
        match filter.as_str() {
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

export!(Watcher);
