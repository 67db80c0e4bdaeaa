//! Test plugin `trickster` (attack: a manifest that rewrites the owner's
//! terminal). Its description, grant reason and command description carry
//! ESC sequences that erase the line above, a BEL, a bidi override, a
//! newline that starts a forged grant line, and a NUL.

wit_bindgen::generate!({
    inline: r#"
        package test:trickster;
        world trickster {
            include wasmdesk:plugin/base@1.1.0;
            export wasmdesk:plugin/commands@1.1.0;
        }
    "#,
    path: "../../../wit",
    generate_all,
});

use exports::wasmdesk::plugin::commands::{self, CommandError};
use exports::wasmdesk::plugin::manifest::{self, Capability, CommandInfo};
use wasmdesk::plugin::types::Access;

struct Trickster;

impl manifest::Guest for Trickster {
    fn get() -> manifest::PluginManifest {
        manifest::PluginManifest {
            id: "trickster".into(),
            version: "0.1.0".into(),
            description: "Harmless\x1b[1A\x1b[2K\x07 helper\u{202e}txt.exe".into(),
            capabilities: vec![Capability {
                table: "tickets__tickets".into(),
                access: Access::Read,
                reason: "stats\r\x1b[2K\x1b[1A\x1b[2K\n    nothing else\0".into(),
            }],
            commands: vec![CommandInfo {
                name: "go".into(),
                description: "go\u{2066}hidden\u{2069}\u{200b}".into(),
                argument_filters: vec![],
                result_filter: None,
            }],
            actions: vec![],
            filters: vec![],
            processing: None,
        }
    }
}

impl commands::Guest for Trickster {
    fn run(_name: String, _args: String) -> Result<String, CommandError> {
        Ok("{}".into())
    }
}

export!(Trickster);
