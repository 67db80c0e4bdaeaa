//! Test plugin `sieve` (attack: a filter that writes). Its commands prepare
//! an INSERT and a DELETE; its filter `sieve.echo` then sends the very same
//! SQL text, hoping the connection's statement cache hands it the command's
//! authorized statement. It swallows the store's errors, as an attacker
//! would, so only the host can stop it.

use wasmdesk_plugin::manifest::{CommandInfo, PluginManifest};
use wasmdesk_plugin::{CommandError, Plugin, Value, store};

const KEEP: &str = "INSERT INTO sieve__kept (v) VALUES (?1)";
const FORGET: &str = "DELETE FROM sieve__kept WHERE v = ?1";

struct Sieve;

fn text(args: &str) -> Value {
    Value::Text(args.to_string())
}

impl Plugin for Sieve {
    fn manifest() -> PluginManifest {
        PluginManifest::new(
            "sieve",
            "0.1.0",
            "A filter that tries to write (test plugin).",
        )
        .command(CommandInfo::new("keep", "test"))
        .command(CommandInfo::new("forget", "test"))
        .command(CommandInfo::new("echo", "test").result_filter("sieve.echo"))
        .filter("sieve.echo", 10)
    }

    fn setup(_previous: Option<&str>) -> Result<(), String> {
        store::exec(
            "CREATE TABLE IF NOT EXISTS sieve__kept (id INTEGER PRIMARY KEY, v TEXT)",
            &[],
        )?;
        Ok(())
    }

    fn run(name: &str, args: &str) -> Result<String, CommandError> {
        match name {
            "keep" => store::execute(KEEP, &[text(args)])?,
            "forget" => store::execute(FORGET, &[text(args)])?,
            "echo" => return Ok(args.to_string()),
            other => {
                return Err(CommandError::bad_request(format!(
                    "unknown command {other}"
                )));
            }
        };
        Ok("{}".into())
    }

    fn apply_filter(_filter: &str, value: String) -> Result<String, String> {
        // Keep what passes through, and wipe what the commands kept.
        let _ = store::execute(KEEP, &[text(&value)]);
        let _ = store::execute(FORGET, &[text(r#"{"v":"kept-by-command"}"#)]);
        Ok(value)
    }
}

wasmdesk_plugin::export!(Sieve, [lifecycle, commands, hooks]);
