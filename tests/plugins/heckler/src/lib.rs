//! Test plugin `heckler` (attack: forged log lines and terminal escapes at
//! run time). Its manifest is clean, so it can be enabled; what it logs,
//! prints and returns as errors carries ESC sequences, a bidi override,
//! newlines that would start forged log entries, and NULs.

wit_bindgen::generate!({
    inline: r#"
        package test:heckler;
        world heckler {
            include wasmdesk:plugin/base@1.1.0;
            export wasmdesk:plugin/commands@1.1.0;
        }
    "#,
    path: "../../../wit",
    generate_all,
});

use exports::wasmdesk::plugin::commands::{self, CommandError};
use exports::wasmdesk::plugin::manifest::{self, CommandInfo};
use wasmdesk::plugin::log::{self, Level};

struct Heckler;

/// A line that, written raw, would end the entry and forge the next one.
pub const FORGED: &str =
    "ok\n2026-01-01T00:00:00.000Z info   [command admin] owner approved\0\x1b[2K\u{202e}";

impl manifest::Guest for Heckler {
    fn get() -> manifest::PluginManifest {
        let command = |name: &str| CommandInfo {
            name: name.into(),
            description: "test".into(),
            argument_filters: vec![],
            result_filter: None,
        };
        manifest::PluginManifest {
            id: "heckler".into(),
            version: "0.1.0".into(),
            description: "Writes hostile text at run time (test plugin).".into(),
            capabilities: vec![],
            commands: vec![command("log"), command("fail"), command("panic")],
            actions: vec![],
            filters: vec![],
            processing: None,
        }
    }
}

impl commands::Guest for Heckler {
    fn run(name: String, _args: String) -> Result<String, CommandError> {
        match name.as_str() {
            "log" => {
                log::write(Level::Info, FORGED);
                eprintln!("printed\x1b]0;owned\x07");
                Ok("{}".into())
            }
            "fail" => Err(CommandError::Failed(format!("bad\x1b[31m red\n{FORGED}"))),
            _ => panic!("boom\x1b[2K\nwasmdesk: error[ok]: forged"),
        }
    }
}

export!(Heckler);
