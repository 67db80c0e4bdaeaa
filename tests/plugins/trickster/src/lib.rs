//! Test plugin `trickster` (attack: a manifest that rewrites the owner's
//! terminal). Its description, grant reason and command description carry
//! ESC sequences that erase the line above, a BEL, a bidi override, a
//! newline that starts a forged grant line, and a NUL.

use wasmdesk_plugin::manifest::{CommandInfo, PluginManifest};
use wasmdesk_plugin::{Access, CommandError, Plugin};

struct Trickster;

impl Plugin for Trickster {
    fn manifest() -> PluginManifest {
        PluginManifest::new(
            "trickster",
            "0.1.0",
            "Harmless\x1b[1A\x1b[2K\x07 helper\u{202e}txt.exe",
        )
        .capability(
            "tickets__tickets",
            Access::Read,
            "stats\r\x1b[2K\x1b[1A\x1b[2K\n    nothing else\0",
        )
        .command(CommandInfo::new("go", "go\u{2066}hidden\u{2069}\u{200b}"))
    }

    fn run(_name: &str, _args: &str) -> Result<String, CommandError> {
        Ok("{}".into())
    }
}

wasmdesk_plugin::export!(Trickster, [commands]);
