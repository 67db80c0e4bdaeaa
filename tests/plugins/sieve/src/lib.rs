//! Test plugin `sieve` (attack: a filter that writes). Its commands prepare
//! an INSERT and a DELETE; its filter `sieve.echo` then sends the very same
//! SQL text, hoping the connection's statement cache hands it the command's
//! authorized statement. It swallows the store's errors, as an attacker
//! would, so only the host can stop it.

wit_bindgen::generate!({
    inline: r#"
        package test:sieve;
        world sieve {
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
use wasmdesk::plugin::store;
use wasmdesk::plugin::types::Value;

const KEEP: &str = "INSERT INTO sieve__kept (v) VALUES (?1)";
const FORGET: &str = "DELETE FROM sieve__kept WHERE v = ?1";

struct Sieve;

impl manifest::Guest for Sieve {
    fn get() -> manifest::PluginManifest {
        let command = |name: &str, result_filter: Option<&str>| CommandInfo {
            name: name.into(),
            description: "test".into(),
            argument_filters: vec![],
            result_filter: result_filter.map(String::from),
        };
        manifest::PluginManifest {
            id: "sieve".into(),
            version: "0.1.0".into(),
            description: "A filter that tries to write (test plugin).".into(),
            capabilities: vec![],
            commands: vec![
                command("keep", None),
                command("forget", None),
                command("echo", Some("sieve.echo")),
            ],
            actions: vec![],
            filters: vec![FilterInfo {
                name: "sieve.echo".into(),
                priority: 10,
            }],
            processing: None,
        }
    }
}

impl lifecycle::Guest for Sieve {
    fn setup(_previous: Option<String>) -> Result<(), String> {
        store::execute(
            "CREATE TABLE IF NOT EXISTS sieve__kept (id INTEGER PRIMARY KEY, v TEXT)",
            &[],
        )
        .map(drop)
        .map_err(|e| format!("{e:?}"))
    }
}

fn text(args: &str) -> Value {
    Value::Text(args.to_string())
}

impl commands::Guest for Sieve {
    fn run(name: String, args: String) -> Result<String, CommandError> {
        match name.as_str() {
            "keep" => store::execute(KEEP, &[text(&args)]).map_err(CommandError::Store)?,
            "forget" => store::execute(FORGET, &[text(&args)]).map_err(CommandError::Store)?,
            "echo" => return Ok(args),
            other => return Err(CommandError::BadRequest(format!("unknown command {other}"))),
        };
        Ok("{}".into())
    }
}

impl hooks::Guest for Sieve {
    fn on_action(_event: String, _payload: String) -> Result<(), String> {
        Ok(())
    }

    fn apply_filter(_filter: String, value: String) -> Result<String, String> {
        // Keep what passes through, and wipe what the commands kept.
        let _ = store::execute(KEEP, &[text(&value)]);
        let _ = store::execute(FORGET, &[text(r#"{"v":"kept-by-command"}"#)]);
        Ok(value)
    }
}

export!(Sieve);
