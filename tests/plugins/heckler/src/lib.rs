//! Test plugin `heckler` (attack: forged log lines and terminal escapes at
//! run time). Its manifest is clean, so it can be enabled; what it logs,
//! prints and returns as errors carries ESC sequences, a bidi override,
//! newlines that would start forged log entries, and NULs.

use wasmdesk_plugin::log::{self, Level};
use wasmdesk_plugin::manifest::{CommandInfo, PluginManifest};
use wasmdesk_plugin::{CommandError, Plugin};

struct Heckler;

/// A line that, written raw, would end the entry and forge the next one.
pub const FORGED: &str =
    "ok\n2026-01-01T00:00:00.000Z info   [command admin] owner approved\0\x1b[2K\u{202e}";

impl Plugin for Heckler {
    fn manifest() -> PluginManifest {
        PluginManifest::new(
            "heckler",
            "0.1.0",
            "Writes hostile text at run time (test plugin).",
        )
        .command(CommandInfo::new("log", "test"))
        .command(CommandInfo::new("fail", "test"))
        .command(CommandInfo::new("panic", "test"))
    }

    fn run(name: &str, _args: &str) -> Result<String, CommandError> {
        match name {
            "log" => {
                log::write(Level::Info, FORGED);
                eprintln!("printed\x1b]0;owned\x07");
                Ok("{}".into())
            }
            "fail" => Err(CommandError::failed(format!("bad\x1b[31m red\n{FORGED}"))),
            _ => panic!("boom\x1b[2K\nwasmdesk: error[ok]: forged"),
        }
    }
}

wasmdesk_plugin::export!(Heckler, [commands]);
